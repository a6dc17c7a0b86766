"""How the nightly flow finds and calls its stages. The stages themselves, and their order,
are listed once, in jobs/stages.py.

Each stage package `jobs.<stage>` exposes `run(spark, cfg, *, run_id, full_refresh=False)
-> dict[str, int]` (rows written per table); the report exposes `render(spark, cfg,
year=None) -> Path`. The flow imports them all before its first write
(jobs.stages.entry_point): a stage package that fails to import, or lacks its function,
fails the run there, recorded in the manifest against that stage; it is never skipped.

Two optional keywords are passed when a stage's `run` declares them: `run_date` (the run's
logical date, for stages that only take deliveries up to it) and `sources` (ingest: then the
flow runs one task per source, in contract order).
"""
from __future__ import annotations

import inspect
from datetime import date
from typing import Any, Callable

from pyspark.sql import SparkSession

from jobs.config import Config
from jobs.stages import REPORT, STAGES, entry_point

FAIL_AFTER_ENV = "PATHWAYS_FAIL_AFTER_STAGE"

__all__ = ["STAGES", "REPORT", "FAIL_AFTER_ENV", "entry_point", "accepts", "call"]


def accepts(fn: Callable[..., Any], keyword: str) -> bool:
    return keyword in inspect.signature(fn).parameters


def call(fn: Callable[..., Any], spark: SparkSession, cfg: Config, *, run_id: str, full_refresh: bool,
         run_date: date, source: str | None = None) -> dict[str, int]:
    kwargs: dict[str, Any] = {"run_id": run_id, "full_refresh": full_refresh}
    if accepts(fn, "run_date"):
        kwargs["run_date"] = run_date
    if source is not None:
        kwargs["sources"] = (source,)
    result = fn(spark, cfg, **kwargs)
    return result if isinstance(result, dict) else dict(result or {})  # ingest's IngestResult keeps its deliveries
