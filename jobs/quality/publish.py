"""Write the Data Docs landing page and run pages (jobs/quality/docs.py renders them).

Reads `restricted.validation_results`, the `row_location` of `restricted.validation_failures`
and, where it exists, `restricted.run_manifest`; collects only per-run aggregates and the rows
of the runs being rendered.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.quality import docs
from jobs.quality.checks import STAGES
from schemas.tables import RUN_MANIFEST, VALIDATION_FAILURES, VALIDATION_RESULTS

log = logging.getLogger(__name__)

MANIFEST_FACTS = ("run_id", "run_date", "status", "env", "full_refresh", "started_at", "finished_at", "code_version",
                  "config_hash", "linkage_model_version", "failed_stage", "error")


def _table(spark: SparkSession, cfg: Config, table) -> DataFrame | None:
    if lake.log_version(cfg.paths, table.zone, table.name) is None:
        return None
    return lake.read(spark, cfg.paths, table.zone, table.name)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _run_summaries(results: DataFrame | None, manifest: DataFrame | None) -> list[dict]:
    failed = ~F.col("success")
    summary = None if results is None else results.groupBy("run_id").agg(
        F.min("evaluated_at").alias("first_checked"),
        F.concat_ws(", ", F.array_sort(F.collect_set("stage"))).alias("stages"),
        F.count(F.lit(1)).alias("evaluated"),
        F.sum((failed & (F.col("severity") == "critical")).cast("int")).alias("critical_failed"),
        F.sum((failed & (F.col("severity") == "warning")).cast("int")).alias("warnings_failed"))
    runs = None if manifest is None else manifest.select(
        "run_id", "run_date", F.col("status").alias("run_status"), "started_at")
    if summary is not None and runs is not None:
        joined = runs.join(summary, "run_id", "full")
    else:
        joined = summary if summary is not None else runs
    if joined is None:
        return []
    cols = set(joined.columns)
    order = F.coalesce(*[F.col(c) for c in ("started_at", "first_checked") if c in cols])
    return [r.asDict() for r in joined.orderBy(order.desc_nulls_last(), F.col("run_id").desc()).collect()]


def _run_page(run_id: str, results: DataFrame | None, failures: DataFrame | None,
              manifest: DataFrame | None) -> str:
    facts = {"run_id": run_id}
    if manifest is not None:
        row = manifest.where(F.col("run_id") == run_id).select(*MANIFEST_FACTS).first()
        facts = row.asDict() if row else facts
    stage_order = F.array_position(F.array(*[F.lit(s) for s in STAGES]), F.col("stage"))
    rows = [] if results is None else [
        r.asDict() for r in results.where(F.col("run_id") == run_id)
        .orderBy(stage_order, "suite", "expectation_index").collect()]
    locations: dict[tuple, list[str]] = {}
    if failures is not None:
        for r in (failures.where((F.col("run_id") == run_id) & F.col("row_location").isNotNull())
                  .select("suite", "expectation_index", "row_location").orderBy("row_location").collect()):
            locations.setdefault((r.suite, r.expectation_index), []).append(r.row_location)
    return docs.render_run(facts, rows, locations)


def publish_docs(spark: SparkSession, cfg: Config, run_ids: Sequence[str] | None = None) -> Path:
    """Rewrite index.html (every run) and the pages of `run_ids` (None: of every run)."""
    root = cfg.paths.data_docs_dir()
    results = _table(spark, cfg, VALIDATION_RESULTS)
    failures = _table(spark, cfg, VALIDATION_FAILURES)
    manifest = _table(spark, cfg, RUN_MANIFEST)
    runs = _run_summaries(results, manifest)
    for run_id in run_ids if run_ids is not None else [r["run_id"] for r in runs]:
        _write(root / "runs" / f"{run_id}.html", _run_page(run_id, results, failures, manifest))
    index = root / "index.html"
    _write(index, docs.render_index(runs))
    log.info("data docs: %s (%d runs)", index, len(runs))
    return index
