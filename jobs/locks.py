"""One writer at a time: an exclusive lock file in the lake, `<lake>/_locks/<name>.lock`.

Every command that writes the lake takes the same lock: the nightly flow (and backfill),
`pathways ingest`, `link`, `report`, `validate` and `bench` (`command_lock`).

Taken with an atomic `os.open(O_CREAT | O_EXCL)`, so two processes can never both hold it,
on one machine or on several sharing the lake folder. The file says who holds it (nothing
about the data): pid, host, run id, start time, and the holder's identity beyond its pid,
the kernel's boot id (`/proc/sys/kernel/random/boot_id`) and the process's start time in
clock ticks since boot (`/proc/<pid>/stat`, field 22).

Why both: a container restarted with a pinned host name gets the same host and often the
same small pid as the run that died in it (and it shares the kernel, so the same boot id);
only the start time tells the new process from the dead one. After a reboot, pids and start
times restart from zero; the boot id tells. So a lock from this host is stale (its holder is
gone) when its boot id differs, its pid is dead, or that pid's start time differs; it is then
taken over. A lock held by another host is only taken over by hand (delete the file once
you know that run is gone). An unreadable lock file older than `EMPTY_LOCK_GRACE_SECONDS`
(a holder killed between creating and writing it) is stale too. A lock written without boot
id and start time (by an older version) is judged by its pid alone.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jobs.config import Config, PathsConfig
from jobs.errors import ConcurrentRunError
from jobs.run_context import new_run_id

log = logging.getLogger(__name__)

EMPTY_LOCK_GRACE_SECONDS = 30


def lock_path(paths: PathsConfig, name: str = "nightly") -> Path:
    return paths.locks_dir() / f"{name}.lock"


BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This kernel's boot id (changes at every boot; shared by the containers on one kernel)."""
    try:
        return BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def process_start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (`/proc/<pid>/stat` field 22); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
    try:
        return int(fields[19])  # field 22 overall; fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return None


def identity(pid: int | None = None) -> dict[str, Any]:
    """Who holds a lock: pid, host, boot id and the pid's start time."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": socket.gethostname(), "boot_id": boot_id(), "pid_start": process_start_ticks(pid)}


def _holder_gone(holder: dict[str, Any]) -> bool:
    """The holder (on this host) is not running any more: rebooted, dead, or its pid reused."""
    if holder.get("boot_id") is not None and holder["boot_id"] != boot_id():
        return True
    if not _pid_alive(holder["pid"]):
        return True
    return holder.get("pid_start") is not None and holder["pid_start"] != process_start_ticks(holder["pid"])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(path: Path) -> dict[str, Any] | None:
    try:
        holder: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return holder
    except (FileNotFoundError, ValueError):
        return None


def _is_stale(path: Path) -> bool:
    holder = read_holder(path)
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int) or holder["pid"] <= 0:
        try:
            return time.time() - path.stat().st_mtime > EMPTY_LOCK_GRACE_SECONDS
        except FileNotFoundError:
            return False
    return holder.get("host") == socket.gethostname() and _holder_gone(holder)


def _try_create(path: Path, holder: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(holder, fh)
    return True


def _break_stale(path: Path) -> None:
    """Move a stale lock aside atomically; if another process did it first, nothing happens."""
    aside = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(path, aside)
        log.warning("took over a stale lake lock left by %s", json.dumps(read_holder(aside)))
        aside.unlink(missing_ok=True)


def acquire(paths: PathsConfig, run_id: str, *, name: str = "nightly", timeout_seconds: float = 0,
            poll_seconds: float = 2.0) -> Path:
    """Take the lock for `run_id`, waiting up to `timeout_seconds` (0: refuse at once)."""
    path = lock_path(paths, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {**identity(), "run_id": run_id,
              "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    deadline = time.monotonic() + timeout_seconds
    while True:
        if _try_create(path, holder):
            log.info("lake lock %s taken by run %s", path, run_id)
            return path
        if _is_stale(path):
            _break_stale(path)
            continue
        if time.monotonic() >= deadline:
            other = read_holder(path) or {}
            raise ConcurrentRunError(
                f"the lake {paths.lake_dir()} is locked by run {other.get('run_id')!r} (pid {other.get('pid')} on "
                f"{other.get('host')}, started {other.get('started')}); run {run_id!r} was refused"
                + (f" after waiting {timeout_seconds:g} s" if timeout_seconds else "")
                + f". Wait for it to finish, or if that process is gone, delete {path}.")
        time.sleep(poll_seconds)


def release(path: Path, run_id: str) -> None:
    """Remove the lock if this run still holds it (never someone else's)."""
    holder = read_holder(path)
    if holder and holder.get("run_id") == run_id and holder.get("pid") == os.getpid() \
            and holder.get("pid_start") in (None, process_start_ticks(os.getpid())):
        path.unlink(missing_ok=True)
        log.info("lake lock released by run %s", run_id)


@contextlib.contextmanager
def lake_lock(paths: PathsConfig, run_id: str, *, name: str = "nightly", timeout_seconds: float = 0,
              poll_seconds: float = 2.0) -> Iterator[Path]:
    path = acquire(paths, run_id, name=name, timeout_seconds=timeout_seconds, poll_seconds=poll_seconds)
    try:
        yield path
    finally:
        release(path, run_id)


def command_lock(cfg: Config, command: str, run_id: str | None = None) -> contextlib.AbstractContextManager[Path]:
    """The lake lock for a writer command outside the flow (`pathways ingest`, `link`, ...).

    Same lock, same wait (`orchestration.lock_timeout_seconds`) as the nightly flow, so a
    command and a run never write the lake at the same time.
    """
    rid = run_id or new_run_id(command)
    orch = cfg.orchestration
    return lake_lock(cfg.paths, rid, timeout_seconds=orch.lock_timeout_seconds, poll_seconds=orch.lock_poll_seconds)
