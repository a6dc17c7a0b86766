"""The pipeline's stages in order: one list, used by the nightly flow and the benchmark.

Each stage module exposes `run(spark, cfg, *, run_id, full_refresh=False) -> dict[str, int]`
(rows written per table). The report is rendered separately (jobs.report.render).
"""
from __future__ import annotations

import importlib
from typing import Callable

STAGES: tuple[str, ...] = ("ingest", "link", "events", "pathways", "indicators")


def stage_runner(stage: str) -> Callable | None:
    """The stage's run() function, or None when the stage package is not installed yet."""
    try:
        module = importlib.import_module(f"jobs.{stage}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"jobs.{stage}"):
            return None
        raise
    return getattr(module, "run", None)
