"""The ingestion log: one row per delivery looked at, loaded or refused, with counts.

Columns the data-quality suites can rely on (schemas.tables.INGESTION_LOG): `status`
(loaded | refused), `reason` (the refusal sentence, null when loaded), `rows_manifest`,
`rows_bronze`, `rows_quarantined` (distinct data rows), `reconciled` (rows_manifest =
rows_bronze + rows_quarantined; null when refused), `cpr_flagged`, `files` (JSON list of
{name, rows, sha256} as found), `ingest_run_id`, `started_at`, `finished_at`.
"""
from __future__ import annotations

import json
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from jobs import lake
from jobs.config import PathsConfig
from jobs.ingest.landing import DeliveryCheck
from jobs.ingest.result import LOADED, REFUSED, BatchCounts, DeliveryResult
from schemas.tables import INGESTION_LOG


def logged_deliveries(paths: PathsConfig) -> dict[str, dict[str, tuple[str, str | None]]]:
    """source -> delivery_id -> (status, reason) as the log records them. Loaded deliveries are
    never re-read; refused ones are checked again on every run (a provider may fix them in place).
    Read from the Delta log by `deltalake` (a small table: no Spark job per source)."""
    out: dict[str, dict[str, tuple[str, str | None]]] = {}
    for r in lake.read_rows(paths, INGESTION_LOG, columns=("source", "delivery_id", "status", "reason")):
        out.setdefault(r["source"], {})[r["delivery_id"]] = (r["status"], r["reason"])
    return out


def delivery_result(check: DeliveryCheck, counts: BatchCounts) -> DeliveryResult:
    d = check.delivery
    if not check.ok:
        return DeliveryResult(d.source, d.delivery_id, REFUSED, check.reason, check.rows_manifest, 0, 0, None,
                              check.cpr_rows > 0)
    in_bronze = counts.bronze.get(d.delivery_id, 0)
    quarantined = counts.quarantined_rows.get(d.delivery_id, 0)
    return DeliveryResult(d.source, d.delivery_id, LOADED, None, check.rows_manifest, in_bronze, quarantined,
                          check.rows_manifest == in_bronze + quarantined, check.cpr_rows > 0)


def build_log_frame(spark: SparkSession, deliveries: list[DeliveryResult], checks: list[DeliveryCheck],
                    run_id: str, started: datetime) -> DataFrame:
    finished = datetime.now()
    rows = [
        (d.source, d.delivery_id, d.status, d.reason, d.rows_manifest, d.rows_bronze, d.rows_quarantined,
         d.reconciled, d.cpr_flagged, json.dumps(list(c.files)), run_id, started, finished)
        for d, c in zip(deliveries, checks)
    ]
    return spark.createDataFrame(rows, INGESTION_LOG.schema).select(*INGESTION_LOG.columns)
