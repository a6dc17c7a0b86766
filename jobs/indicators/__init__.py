"""National monitoring indicators, 2030 target tracking and disclosure control (outputs.md).

Public entry: `run(spark, cfg, *, run_id, full_refresh=False)` writes
`restricted.monitoring_indicators_unsuppressed`, `published.monitoring_indicators` and
`published.target_progress`. Definitions: jobs/indicators/definitions.py (`SPECS`).
"""
from jobs.indicators.job import run

__all__ = ["run"]
