"""jobs/bench_empty.py without Spark: the memory of a whole process tree (Python, JVM, Prefect's server)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs import bench_empty

pytestmark = pytest.mark.unit


def _own_kb(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * bench_empty.PAGE_KB


def test_tree_memory_counts_the_children() -> None:
    alone = bench_empty.tree_rss_kb(os.getpid()) - sum(
        _own_kb(c) for c in bench_empty._children().get(os.getpid(), []) if Path(f"/proc/{c}").exists())
    hog = subprocess.Popen([sys.executable, "-c", "b = bytearray(64 << 20); b[::4096] = b'x' * (len(b) // 4096); "
                            "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while _own_kb(hog.pid) < 60 << 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        with_child = bench_empty.tree_rss_kb(os.getpid())
        assert with_child - alone >= 60 << 10  # the 64 MB child is counted
    finally:
        hog.kill()
        hog.wait()
