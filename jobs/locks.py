"""One writer at a time: an exclusive lock file in the lake, `<lake>/_locks/<name>.lock`.

Taken with an atomic `os.open(O_CREAT | O_EXCL)`, so two processes can never both hold it,
on one machine or on several sharing the lake folder. The file says who holds it (pid, host,
run id, start time: nothing about the data). A lock whose pid is dead on this host is stale
(the holder was killed) and is taken over; a lock held by another host is only taken over by
hand (delete the file once you know that run is gone). An unreadable lock file older than
`EMPTY_LOCK_GRACE_SECONDS` (a holder killed between creating and writing it) is stale too.
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
from pathlib import Path
from typing import Iterator

from jobs.config import PathsConfig
from jobs.errors import ConcurrentRunError

log = logging.getLogger(__name__)

EMPTY_LOCK_GRACE_SECONDS = 30


def lock_path(paths: PathsConfig, name: str = "nightly") -> Path:
    return paths.lake_dir() / "_locks" / f"{name}.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _is_stale(path: Path) -> bool:
    holder = read_holder(path)
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int) or holder["pid"] <= 0:
        try:
            return time.time() - path.stat().st_mtime > EMPTY_LOCK_GRACE_SECONDS
        except FileNotFoundError:
            return False
    return holder.get("host") == socket.gethostname() and not _pid_alive(holder["pid"])


def _try_create(path: Path, holder: dict) -> bool:
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
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id,
              "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
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
    if holder and holder.get("run_id") == run_id and holder.get("pid") == os.getpid():
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
