"""The stages the nightly flow runs, found by import, and called by one convention.

Each stage package `jobs.<stage>` exposes `run(spark, cfg, *, run_id, full_refresh=False)
-> dict[str, int]` (rows written per table); the report exposes `render(spark, cfg,
year=None) -> Path`. A package that does not exist yet, or has no such function yet, is
"not available": the flow skips it, and every stage after it (they need its tables), with
a log line, so the flow runs end to end with the stages that exist. A package that exists
but fails to import is an error, not a skip.

Two optional keywords are passed when a stage's `run` declares them: `run_date` (the run's
logical date, for stages that only take deliveries up to it) and `sources` (ingest: then the
flow runs one task per source, in contract order).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from pyspark.sql import SparkSession

from jobs.config import Config

DATA_STAGES = ("ingest", "link", "events", "pathways", "indicators")
REPORT = "report"
FAIL_AFTER_ENV = "PATHWAYS_FAIL_AFTER_STAGE"


@dataclass(frozen=True)
class Available:
    name: str
    fn: Callable[..., Any] | None
    why_not: str = ""

    @property
    def ok(self) -> bool:
        return self.fn is not None

    def accepts(self, keyword: str) -> bool:
        return self.ok and keyword in inspect.signature(self.fn).parameters


def find(name: str, attr: str = "run") -> Available:
    module_name = f"jobs.{name}"
    if importlib.util.find_spec(module_name) is None:
        return Available(name, None, f"package {module_name} does not exist")
    module = importlib.import_module(module_name)
    fn = getattr(module, attr, None)
    if not callable(fn):
        return Available(name, None, f"{module_name} has no {attr}()")
    return Available(name, fn)


def call(stage: Available, spark: SparkSession, cfg: Config, *, run_id: str, full_refresh: bool, run_date: date,
         source: str | None = None) -> dict[str, int]:
    kwargs: dict[str, Any] = {"run_id": run_id, "full_refresh": full_refresh}
    if stage.accepts("run_date"):
        kwargs["run_date"] = run_date
    if source is not None:
        kwargs["sources"] = (source,)
    return dict(stage.fn(spark, cfg, **kwargs) or {})
