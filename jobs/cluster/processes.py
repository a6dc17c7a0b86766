"""Processes we start and stop ourselves, by pid: each in its own session (process group),
so a daemon and the children it spawns (a worker's executors and Python workers) are
stopped together, and never anything we did not start.

Before any signal the pid's `/proc/<pid>/cmdline` must still contain the words we expect
(class name, port), so a pid the kernel reused for another process is never touched.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def spawn(argv: Sequence[str], log_file: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `argv` in a new session, stdout and stderr appended to `log_file`."""
    with open(log_file, "ab") as out:
        return subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)


def runs(pid: int, markers: Sequence[str]) -> bool:
    """True when `pid` is alive and its command line contains every marker."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return alive(pid) and all(m.encode() in cmdline for m in markers)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def terminate_group(pid: int, markers: Sequence[str], timeout: float = 30.0) -> bool:
    """SIGTERM the group led by `pid` (if it still runs what `markers` say), SIGKILL after `timeout`.
    Returns True when something was stopped."""
    if not runs(pid, markers):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        kill_group(pid, sig)
        if wait_gone(pid, timeout):
            return True
    return not alive(pid)


def alive(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it when it is our child (the pytest fixture)
            os.waitpid(pid, os.WNOHANG)  # otherwise just watch /proc
        if not alive(pid):
            return True
        time.sleep(0.2)
    return False
