"""The lake lock: one holder at a time, across threads and processes; stale locks taken over."""
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from jobs import locks
from jobs.config import load_config
from jobs.errors import ConcurrentRunError

pytestmark = pytest.mark.unit


@pytest.fixture()
def paths(tmp_path):
    return load_config("ci", lake=str(tmp_path / "lake")).paths


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_second_run_is_refused_with_the_holder_named(paths):
    with locks.lake_lock(paths, "run-a") as path:
        holder = json.loads(path.read_text())
        assert holder["run_id"] == "run-a" and holder["pid"] == os.getpid()
        with pytest.raises(ConcurrentRunError, match="locked by run 'run-a'.*run 'run-b' was refused"):
            locks.acquire(paths, "run-b")
    assert not path.exists()
    with locks.lake_lock(paths, "run-b"):  # free again
        pass


def test_waiting_run_gets_the_lock_when_the_holder_finishes(paths):
    first = locks.acquire(paths, "run-a")
    threading.Timer(0.5, locks.release, args=(first, "run-a")).start()
    started = time.monotonic()
    second = locks.acquire(paths, "run-b", timeout_seconds=10, poll_seconds=0.1)
    assert 0.4 < time.monotonic() - started < 10
    assert json.loads(second.read_text())["run_id"] == "run-b"
    locks.release(second, "run-b")


def test_stale_lock_of_a_dead_process_is_taken_over(paths):
    path = locks.lock_path(paths)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "run_id": "killed"}))
    with locks.lake_lock(paths, "run-b") as got:
        assert json.loads(got.read_text())["run_id"] == "run-b"


def _me() -> dict:
    """This process as a lock holder, read from /proc here (not by the code under test)."""
    stat = open(f"/proc/{os.getpid()}/stat").read()
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "boot_id": open("/proc/sys/kernel/random/boot_id").read().strip(),
            "pid_start": int(stat.rsplit(")", 1)[1].split()[19])}


def _lock_file(paths, holder: dict):
    path = locks.lock_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": "before-restart", **holder}))
    return path


def test_the_holder_is_identified_by_boot_id_and_process_start_time(paths):
    with locks.lake_lock(paths, "run-a") as path:
        holder = json.loads(path.read_text())
    assert holder["boot_id"] == open("/proc/sys/kernel/random/boot_id").read().strip()
    ticks_since_boot = float(open("/proc/uptime").read().split()[0]) * os.sysconf("SC_CLK_TCK")
    assert 0 < holder["pid_start"] <= ticks_since_boot  # this process started after boot, before now
    assert holder["pid_start"] == locks.process_start_ticks(os.getpid()) != locks.process_start_ticks(1)


@pytest.mark.parametrize("changed", ["boot_id", "pid_start"])
def test_a_live_pid_of_the_same_host_is_stale_when_boot_id_or_start_time_differ(paths, changed):
    """A restarted container (pinned host name) whose new process got the dead run's pid; or a
    lock from before a reboot. Judged by pid and host alone (the old identity), this lock is held."""
    me = _me()
    other = {"boot_id": "00000000-0000-0000-0000-000000000000", "pid_start": me["pid_start"] + 1}[changed]
    _lock_file(paths, {**me, changed: other})
    with locks.lake_lock(paths, "after-restart") as got:
        assert json.loads(got.read_text())["run_id"] == "after-restart"


def test_the_same_live_holder_is_not_taken_over(paths):
    _lock_file(paths, _me())  # pid, host, boot id and start time all match: it is running
    with pytest.raises(ConcurrentRunError, match="before-restart"):
        locks.acquire(paths, "run-b")


def test_a_lock_of_an_older_version_is_judged_by_its_pid(paths):
    _lock_file(paths, {"pid": os.getpid(), "host": socket.gethostname()})  # no boot id, no start time
    with pytest.raises(ConcurrentRunError):
        locks.acquire(paths, "run-b")


def test_process_start_time_parses_names_with_spaces_and_parentheses(tmp_path):
    odd = tmp_path / "x) 1 2 (y"  # the command name in /proc/<pid>/stat is this file's name
    odd.symlink_to(shutil.which("sleep"))
    proc = subprocess.Popen([str(odd), "30"])
    try:
        time.sleep(0.2)
        stat = open(f"/proc/{proc.pid}/stat").read()
        assert "(x) 1 2 (y)" in stat
        expected = int(stat.rsplit(")", 1)[1].split()[19])
        assert locks.process_start_ticks(proc.pid) == expected >= locks.process_start_ticks(os.getpid())
    finally:
        proc.kill()
        proc.wait()
    assert locks.process_start_ticks(proc.pid) is None


def test_lock_of_another_host_is_not_taken_over(paths):
    path = locks.lock_path(paths)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": _dead_pid(), "host": "another-host", "run_id": "elsewhere"}))
    with pytest.raises(ConcurrentRunError, match="elsewhere.*another-host"):
        locks.acquire(paths, "run-b")


def test_unreadable_lock_is_stale_only_after_a_grace_period(paths):
    path = locks.lock_path(paths)
    path.parent.mkdir(parents=True)
    path.write_text("")  # holder killed between creating and writing the file
    with pytest.raises(ConcurrentRunError):
        locks.acquire(paths, "run-b")
    old = time.time() - locks.EMPTY_LOCK_GRACE_SECONDS - 5
    os.utime(path, (old, old))
    locks.release(locks.acquire(paths, "run-b"), "run-b")


def test_release_never_removes_someone_elses_lock(paths):
    path = locks.acquire(paths, "run-a")
    locks.release(path, "run-b")
    assert path.exists()
    locks.release(path, "run-a")
    assert not path.exists()


def _contend(lake: str, run_id: str, barrier, results) -> None:
    paths = load_config("ci", lake=lake).paths
    barrier.wait()
    try:
        locks.acquire(paths, run_id)
        results.put(run_id)
        time.sleep(1.0)  # hold it while the others try
    except ConcurrentRunError:
        results.put(None)


def test_exactly_one_of_several_processes_gets_the_lock(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(tmp_path / "lake"), f"run-{i}", barrier, results))
             for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    winners = [r for r in (results.get(timeout=5) for _ in procs) if r]
    assert len(winners) == 1
