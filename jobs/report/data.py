"""What the report reads: the published tables plus run metadata, never person-level data.

- published.monitoring_indicators, published.monitoring_breakdowns (duration bands, children by
  age; optional) and published.target_progress (after disclosure control);
- restricted.indicator_runs: the Delta versions the indicator run read and wrote (metadata);
- restricted.validation_results, if the data-quality stage wrote it: a per-suite summary of
  the expectations evaluated (no data values). Absent table = "not validated".
Everything here is small; it is collected to pandas.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.errors import MissingTableError
from jobs.indicators.assemble import join_breakdowns
from schemas.tables import (
    INDICATOR_RUNS,
    MONITORING_BREAKDOWNS,
    MONITORING_INDICATORS,
    TARGET_PROGRESS,
    VALIDATION_RESULTS,
)


@dataclass(frozen=True)
class ReportData:
    indicators: pd.DataFrame  # monitoring_indicators and monitoring_breakdowns rows
    target: pd.DataFrame
    year: int
    run: pd.DataFrame  # rows of restricted.indicator_runs of the latest run (empty if unknown)
    published_versions: dict[str, int | None]
    validation: pd.DataFrame | None  # per stage/suite summary; None = not validated
    validation_note: str


def load(spark: SparkSession, cfg: Config, year: int | None = None) -> ReportData:
    for table in (MONITORING_INDICATORS, TARGET_PROGRESS):
        if not lake.exists(spark, cfg.paths, table):
            raise MissingTableError(f"{table.zone}.{table.name} does not exist in {cfg.paths.lake_dir()}; "
                                    "run the indicators stage first (pathways run)")
    published = [t for t in (MONITORING_INDICATORS, MONITORING_BREAKDOWNS) if lake.exists(spark, cfg.paths, t)]
    frames = [lake.read(spark, cfg.paths, t).toPandas() for t in published]
    joined = join_breakdowns(frames)
    indicators = frames[0] if joined is None else joined
    target = lake.read(spark, cfg.paths, TARGET_PROGRESS).toPandas()
    years = sorted(int(y) for y in indicators["year"].unique())
    if year is None:
        year = years[-1] if years else 0
    elif year not in years:
        raise MissingTableError(f"no indicators for {year} in published.monitoring_indicators; years present: {years}")
    run = _latest_run(spark, cfg)
    versions = {t.name: lake.log_version(cfg.paths, t) for t in (*published, TARGET_PROGRESS)}
    validation, note = _validation(spark, cfg, run)
    return ReportData(indicators, target.sort_values("year"), year, run, versions, validation, note)


def _latest_run(spark: SparkSession, cfg: Config) -> pd.DataFrame:
    if not lake.exists(spark, cfg.paths, INDICATOR_RUNS):
        return pd.DataFrame(columns=INDICATOR_RUNS.columns)
    runs = lake.read(spark, cfg.paths, INDICATOR_RUNS)
    agg = runs.agg(F.max("computed_at")).first()
    assert agg is not None, "a global aggregate has one row"
    latest = agg[0]
    return runs.where(F.col("computed_at") == F.lit(latest)).toPandas()


def _validation(spark: SparkSession, cfg: Config, run: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """Summary per (stage, suite, table) of the validation run matching the indicator run,
    else of the latest validation per stage. Columns are read defensively."""
    if not lake.exists(spark, cfg.paths, VALIDATION_RESULTS):
        return None, "not validated: no restricted.validation_results table in this lake"
    results = lake.read(spark, cfg.paths, VALIDATION_RESULTS)
    cols = set(results.columns)
    if not {"stage", "success"} <= cols:
        return None, f"not validated: restricted.validation_results lacks stage/success (has {sorted(cols)})"
    summary = _summarise(results, cols).toPandas()
    run_id = run["run_id"].iloc[0] if len(run) else None
    if run_id is not None and "run_id" in summary and (summary["run_id"] == run_id).any():
        return summary[summary["run_id"] == run_id], f"validation of run {run_id} (the run these numbers came from)"
    if "evaluated_at" in summary:
        last = summary.groupby("stage")["evaluated_at"].transform("max")
        summary = summary[summary["evaluated_at"] == last]
    return summary, "latest validation per stage (not necessarily the run these numbers came from)"


def _summarise(results: DataFrame, cols: set[str]) -> DataFrame:
    keys = [c for c in ("run_id", "stage", "suite", "table", "table_version") if c in cols]
    aggs = [F.count(F.lit(1)).alias("expectations"),
            F.sum(F.when(~F.col("success"), 1).otherwise(0)).alias("failed")]
    if "severity" in cols:
        aggs.append(F.sum(F.when(~F.col("success") & (F.col("severity") == "critical"), 1).otherwise(0))
                    .alias("critical_failed"))
    if "evaluated_at" in cols:
        aggs.append(F.max("evaluated_at").alias("evaluated_at"))
    return results.groupBy(*keys).agg(*aggs)
