"""Ingestion run(): landing zone -> bronze, quarantine, silver, record_state, ingestion_log.

Per source, all pending deliveries (not yet `loaded` in the ingestion log; refused ones
are tried again, since a provider may fix a delivery in place) dated on or before the run
date (`run_date`; None = every delivery) form one batch. Later deliveries stay pending for
the run of their date, so a backfill over past dates loads each date's deliveries in turn:
1. each delivery is judged whole (landing.py) and its files staged, CPR-masked, as parquet;
   a refused delivery blocks neither other sources nor later deliveries of its source
   (silver's updated_at ordering makes a late fix land correctly);
2. row rules (validate.py, departments.py) split rows into bronze and quarantine;
3. bronze and quarantine are written with replaceWhere on the batch's delivery ids, silver
   and record_state merged (silver.py), and the log written LAST. A run killed anywhere
   re-processes exactly the deliveries missing from the log, and replaceWhere + the
   ">= state" merge make that converge to the tables of one clean run.
Counts in the log are read back from the written tables (distinct source_file+row_number
for quarantine), so reconciliation is provable from the tables themselves.

Known limit: if a delivery loaded by a killed run is changed in the landing zone so that it
is refused on the re-run, its bronze/quarantine rows are removed with the next loaded batch,
but silver keeps what the killed run merged until a `full_refresh`.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.errors import ConfigError
from jobs.ingest import ingestion_log, landing, silver
from jobs.ingest.departments import expected_regions, with_department_violations
from jobs.ingest.result import LOADED, BatchCounts, IngestResult
from jobs.ingest.validate import RuleContext, build_bronze, build_quarantine, staged_schema, with_violations
from jobs.reference import municipalities
from jobs.run_context import RunContext
from schemas.sources import SOURCES, SourceContract
from schemas.tables import INGESTION_LOG, QUARANTINE, bronze, record_state
from schemas.tables import silver as silver_table

log = logging.getLogger(__name__)

FaultHook = Callable[[str], None]
DEPARTMENT_SOURCES = tuple(n for n, c in SOURCES.items() if "department_code" in c.column_names)


def run(spark: SparkSession, ctx: RunContext, *, sources: tuple[str, ...] | list[str] | None = None,
        fault_hook: FaultHook | None = None) -> IngestResult:
    """Ingest every pending delivery of `sources` (default: cfg.ingest.sources, else all)
    dated on or before `ctx.run_date` (None: whatever its date).

    `ctx.full_refresh` re-reads every delivery in the landing zone (up to `run_date`) and rebuilds
    the source's bronze, silver and record_state (and its quarantine and log rows) from scratch.
    `fault_hook(step)` is called after each table write (step = "<source>:<table>"); tests
    raise from it to simulate a crash.
    """
    cfg, run_id, full_refresh, run_date = ctx.cfg, ctx.run_id, ctx.full_refresh, ctx.run_date
    names = tuple(sources or cfg.ingest.sources or SOURCES)
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        raise ConfigError(f"unknown sources {unknown}; expected some of {list(SOURCES)}")
    result = IngestResult()
    logged = {} if full_refresh else ingestion_log.logged_deliveries(cfg.paths)
    for name in names:
        _ingest_source(spark, cfg, SOURCES[name], result, logged.get(name, {}), run_id=run_id,
                       full_refresh=full_refresh, run_date=run_date, hook=fault_hook or (lambda step: None))
    return result


def _ingest_source(spark: SparkSession, cfg: Config, contract: SourceContract, result: IngestResult,
                   logged: dict[str, tuple[str, str | None]], *, run_id: str, full_refresh: bool,
                   run_date: date | None, hook: FaultHook) -> None:
    """`logged`: this source's ingestion-log entries, delivery_id -> (status, reason)."""
    source, paths = contract.name, cfg.paths
    loaded = {d for d, (status, _) in logged.items() if status == LOADED}
    due = landing.due(landing.discover(paths.landing_dir(), source), run_date)
    pending = [d for d in due if d.delivery_id not in loaded]
    if not pending and not full_refresh:
        log.info("%s: no new deliveries%s", source, f" dated on or before {run_date}" if run_date else "")
        return
    started = datetime.now()
    staging = paths.staging_dir("ingest") / source
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of a killed run (CPR-masked already)
    try:
        checks = [landing.check_delivery(d, contract, staging, chunk_bytes=cfg.ingest.read_chunk_mb << 20,
                                         block_bytes=cfg.ingest.parse_block_mb << 20) for d in pending]
        for check in checks:
            if not check.ok:
                log.warning("refused %s", check.reason)
        accepted = [c for c in checks if c.ok]
        counts = BatchCounts()
        if accepted or full_refresh:
            counts = _load_batch(spark, cfg, contract, accepted, [c.delivery.delivery_id for c in checks], result,
                                 run_id=run_id, at=started, full_refresh=full_refresh, hook=hook)
        deliveries = [ingestion_log.delivery_result(c, counts) for c in checks]
        # A delivery refused again for the same reason keeps its log row (saves a commit a night).
        changed = [(d, c) for d, c in zip(deliveries, checks)
                   if logged.get(d.delivery_id) != (d.status, d.reason) or d.status == LOADED]
        if changed:
            log_df = ingestion_log.build_log_frame(spark, [d for d, _ in changed], [c for _, c in changed],
                                                   run_id, started)
            ids = [d.delivery_id for d, _ in changed]
            condition = f"source = '{source}'" + ("" if full_refresh else f" AND {_in('delivery_id', ids)}")
            lake.replace_where(log_df, paths, INGESTION_LOG, condition)
            hook(f"{source}:{INGESTION_LOG.name}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.add_rows(INGESTION_LOG.name, len(changed))
    result.deliveries.extend(deliveries)
    for d in deliveries:
        if d.status == LOADED:
            log.info("delivery %s/%s loaded: %s rows in manifest, %s to bronze, %s quarantined%s", source,
                     d.delivery_id, d.rows_manifest, d.rows_bronze, d.rows_quarantined,
                     "" if d.reconciled else " (NOT RECONCILED)")


def _load_batch(spark: SparkSession, cfg: Config, contract: SourceContract, accepted: list[Any], pending_ids: list[str],
                result: IngestResult, *, run_id: str, at: datetime, full_refresh: bool, hook: FaultHook) -> BatchCounts:
    """Rows of the accepted deliveries to bronze/quarantine (replacing whatever rows any pending
    delivery has there, e.g. from a killed run), then silver and record_state."""
    source, paths = contract.name, cfg.paths
    ids = [c.delivery.delivery_id for c in accepted]
    files = [f for c in accepted for f in c.staged]
    schema = staged_schema(contract)
    staged = spark.read.schema(schema).parquet(*files) if files else spark.createDataFrame([], schema)
    ctx = RuleContext(cfg.ingest.min_date, cfg.ingest.max_future_days,
                      tuple(m.municipality_code for m in municipalities(paths)))
    validated = with_violations(staged, contract, ctx)
    if source in DEPARTMENT_SOURCES:
        reference = _department_reference(spark, cfg, exclude=source if full_refresh else None)
        validated = with_department_violations(validated, expected_regions(validated, reference))
    validated = validated.persist()
    try:
        _write_bronze_quarantine(validated, cfg, contract, pending_ids, run_id=run_id, at=at,
                                 full_refresh=full_refresh, hook=hook)
    finally:
        validated.unpersist()
    bronze_t = bronze(source)
    batch_bronze = lake.read(spark, paths, bronze_t).where(_in("_delivery_id", ids))
    _write_silver(spark, cfg, source, batch_bronze, result, full_refresh=full_refresh, hook=hook)
    counts = _read_back_counts(spark, cfg, source, ids)
    result.add_rows(bronze_t.name, sum(counts.bronze.values()))
    result.add_rows(QUARANTINE.name, counts.quarantine_rule_rows)
    return counts


def _write_bronze_quarantine(validated: DataFrame, cfg: Config, contract: SourceContract, ids: list[str], *,
                             run_id: str, at: datetime, full_refresh: bool, hook: FaultHook) -> None:
    source, paths, bronze_t = contract.name, cfg.paths, bronze(contract.name)
    bronze_df = build_bronze(validated, contract, run_id, at)
    if full_refresh:
        lake.overwrite(bronze_df, paths, bronze_t)
    else:
        lake.replace_where(bronze_df, paths, bronze_t, _in("_delivery_id", ids))
    hook(f"{source}:{bronze_t.name}")
    quarantine_df = build_quarantine(validated, contract, run_id, at)
    condition = f"source = '{source}'" + ("" if full_refresh else f" AND {_in('delivery_id', ids)}")
    lake.replace_where(quarantine_df, paths, QUARANTINE, condition)
    hook(f"{source}:{QUARANTINE.name}")


def _write_silver(spark: SparkSession, cfg: Config, source: str, batch_bronze: DataFrame, result: IngestResult, *,
                  full_refresh: bool, hook: FaultHook) -> None:
    paths, silver_t, state_t = cfg.paths, silver_table(source), record_state(source)
    state = None
    if not full_refresh and lake.exists(spark, paths, state_t):
        state = lake.read(spark, paths, state_t)
    changed = silver.filter_not_older_than_state(silver.latest_versions(batch_bronze), state).persist()
    layout = silver.layout_properties(cfg.ingest.deletion_vectors)
    try:
        if full_refresh:
            lake.overwrite(silver.build_silver_changes(silver.filter_active(changed), source), paths,
                           silver_t, properties=layout)
        else:
            lake.merge_upsert(silver.build_silver_changes(changed, source), paths, silver_t,
                              ["record_id"], delete_condition=silver.DELETE_CONDITION, properties=layout)
        hook(f"{source}:{silver_t.name}")
        state_df = silver.build_record_state(changed, source)
        before = lake.log_version(paths, state_t)
        if full_refresh:
            lake.overwrite(state_df, paths, state_t, properties=layout)
        else:
            lake.merge_upsert(state_df, paths, state_t, ["record_id"], properties=layout)
        hook(f"{source}:{state_t.name}")
        # every changed record is one record_state row of that commit: no extra Spark job to count them.
        # Delta skips an empty MERGE commit: then nothing changed (not the previous commit's rows).
        committed = lake.log_version(paths, state_t) != before
        n_changed = lake.last_commit_rows(spark, paths, state_t) if committed else 0
    finally:
        changed.unpersist()
    result.add_rows(silver_t.name, n_changed)
    result.add_rows(state_t.name, n_changed)


def _read_back_counts(spark: SparkSession, cfg: Config, source: str, ids: list[str]) -> BatchCounts:
    """Counts per delivery from the tables as written (the auditor's proof)."""
    paths, bronze_t = cfg.paths, bronze(source)
    bronze_rows = (lake.read(spark, paths, bronze_t).where(_in("_delivery_id", ids))
                   .groupBy("_delivery_id").count().collect())
    quarantine = (lake.read(spark, paths, QUARANTINE)
                  .where((F.col("source") == source) & F.col("delivery_id").isin(ids)))
    q_rows = (quarantine.groupBy("delivery_id")
              .agg(F.countDistinct("source_file", "row_number").alias("rows"), F.count(F.lit(1)).alias("rules"))
              .collect())
    return BatchCounts({r["_delivery_id"]: r["count"] for r in bronze_rows},
                       {r["delivery_id"]: r["rows"] for r in q_rows}, sum(r["rules"] for r in q_rows))


def _department_reference(spark: SparkSession, cfg: Config, *, exclude: str | None) -> DataFrame | None:
    """department_code + provider_region_code of the current silver records (see departments.py)."""
    frames = []
    for name in DEPARTMENT_SOURCES:
        table = silver_table(name)
        if name != exclude and lake.exists(spark, cfg.paths, table):
            frames.append(lake.read(spark, cfg.paths, table)
                          .select("department_code", "provider_region_code"))
    if not frames:
        return None
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def _in(column: str, values: list[str]) -> str:
    """SQL `column IN (...)` over delivery ids (validated against DELIVERY_ID_RE or refused;
    quotes doubled anyway so a stray folder name cannot break the condition)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})" if values else "false"
