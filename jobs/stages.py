"""The pipeline's stages in order: the one list, used by the nightly flow (flows/stages.py,
flows/nightly.py) and the benchmark (jobs/bench.py).

Each data stage package `jobs.<stage>` exposes `run(spark, cfg, *, run_id, full_refresh=False)
-> dict[str, int]` (rows written per table; ingest also takes `sources` and `run_date`). The
report, rendered after the data stages, exposes `jobs.report.render(spark, cfg, *, year=None)`.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from jobs.errors import ConfigError, SetupError

STAGES: tuple[str, ...] = ("ingest", "link", "events", "pathways", "indicators")
REPORT = "report"


def entry_point(stage: str) -> Callable[..., Any]:
    """`jobs.<stage>.run`, or `jobs.report.render` for the report. An unknown stage name is a
    ConfigError; a stage package that fails to import raises its own import error (never
    swallowed); one without the function raises SetupError."""
    if stage not in (*STAGES, REPORT):
        raise ConfigError(f"unknown stage {stage!r}; expected one of {[*STAGES, REPORT]}")
    attr = "render" if stage == REPORT else "run"
    fn = getattr(importlib.import_module(f"jobs.{stage}"), attr, None)
    if not callable(fn):
        raise SetupError(f"jobs.{stage} has no {attr}() function; every stage package must expose one "
                         "(see jobs/stages.py)")
    return fn
