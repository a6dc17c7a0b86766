"""`pathways bench --case empty-night`: a night with nothing new, timed as an operator sees it.

Issue 17's first target: a night with nothing new, at any scale, including session start, in 30 s
or less. Each run is a fresh `pathways run` process on the given lake (Python imports, config,
the Spark session, Prefect's start, the stage decisions, the manifest, the Data Docs), timed by
wall clock from outside, with the peak memory of the whole process tree (Python, JVM, Prefect's
server) sampled from /proc. A first run brings the lake up to date (it may have work: a lake
copied to another folder has another config hash) and is reported apart; the timed runs follow.
What each timed run skipped is read back from the run manifest (deltalake, no Spark). The runs
inherit the environment: with PREFECT_API_URL set they report to that server (as in production,
`pathways serve`), else each starts Prefect's temporary server; the result says which.
"""
from __future__ import annotations

import contextlib
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jobs.config import PROJECT_ROOT, Config

log = logging.getLogger(__name__)
PAGE_KB = 4  # /proc/<pid>/statm counts pages


@dataclass(frozen=True)
class NightResult:
    run: str                  # "first" (brings the lake up to date) or "1", "2", ...
    seconds: float
    status: str
    stages_completed: tuple[str, ...]
    stages_skipped: tuple[str, ...]
    peak_tree_mb: float
    log: str


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and every process below it."""
    tree, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        todo += tree.get(pid, [])
        with contextlib.suppress(OSError, IndexError, ValueError):  # a process gone meanwhile
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    return total


def timed(cmd: list[str], log_path: Path) -> tuple[float, float]:
    """Run `cmd` to its end (output to `log_path`); wall seconds and peak memory (MB) of its
    whole process tree, sampled every 0.2 s (scripts/peak_memory.py runs it on any command)."""
    peak = [0]
    with log_path.open("w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                peak[0] = max(peak[0], tree_rss_kb(child.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        child.wait()
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
    if child.returncode:
        log.error("run failed (exit %s); its log: %s", child.returncode, log_path)
    return seconds, peak[0] / 1024


def _last_run(cfg: Config) -> dict[str, Any]:
    from deltalake import DeltaTable

    from jobs import lake
    from schemas.tables import RUN_MANIFEST

    rows = DeltaTable(lake.table_path(cfg.paths, RUN_MANIFEST)).to_pyarrow_table(
        columns=["run_id", "started_at", "status", "stages_completed", "stages_skipped"]).to_pylist()
    return max(rows, key=lambda r: r["started_at"]) if rows else {}


def empty_night(cfg: Config, *, runs: int, env: str | None, out_dir: Path, first: bool = True,
                run_date: str | None = None) -> dict[str, Any]:
    """`first` untimed-for-the-target run, then `runs` timed ones; each a fresh `pathways run`
    (`--run-date run_date` when given, else today)."""
    cmd = [sys.executable, "-m", "flows.cli", *(["--env", env] if env else []), "--lake", str(cfg.paths.lake_dir()),
           "--landing", str(cfg.paths.landing_dir()), "run", *(["--run-date", run_date] if run_date else [])]
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[NightResult] = []
    for label in (["first"] if first else []) + [str(i) for i in range(1, runs + 1)]:
        log_path = out_dir / f"empty-night-{label}.log"
        seconds, peak = timed(cmd, log_path)
        last = _last_run(cfg)
        results.append(NightResult(label, round(seconds, 1), str(last.get("status")),
                                   tuple(last.get("stages_completed") or ()), tuple(last.get("stages_skipped") or ()),
                                   round(peak), str(log_path)))
        log.info("empty night %s: %.1f s, skipped %s", label, seconds, list(results[-1].stages_skipped))
    counted = [r.seconds for r in results if r.run != "first"]
    return {"case": "night with nothing new, including session start", "target_seconds": 30,
            "prefect_api": os.environ.get("PREFECT_API_URL") or "temporary server (no PREFECT_API_URL)",
            "median_seconds": statistics.median(counted) if counted else None, "runs": [asdict(r) for r in results]}
