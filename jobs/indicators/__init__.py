"""National monitoring indicators, 2030 target tracking and disclosure control (outputs.md).

Public entry: `run(spark, ctx)` (ctx: jobs.run_context.RunContext) writes
`restricted.monitoring_indicators_unsuppressed`, `published.monitoring_indicators` and
`published.target_progress`. Definitions: jobs/indicators/definitions.py (`SPECS`).
`run` is imported lazily, so that reading the definitions (the disclosure audit does) loads
neither the job nor its disclosure control.
"""
from __future__ import annotations

from typing import Any

__all__ = ["run"]


def __getattr__(name: str) -> Any:
    if name == "run":
        from jobs.indicators.job import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
