"""Run the checks of a stage: pin table versions, validate, record, publish, stop on critical.

`check_stage` is what the nightly flow calls after each stage (inside the flow's lake lock);
`validate_stage` is `pathways validate --stage S`: the same checks on the current tables,
under the lake lock, without raising.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake, locks
from jobs.config import Config
from jobs.errors import ValidationFailed
from jobs.quality import gx_run, results, scope
from jobs.quality.checks import Check, checks_for
from jobs.quality.publish import publish_docs, record_facts, record_stage
from jobs.quality.suites import load_suite
from jobs.run_context import new_run_id
from jobs.stages import STAGES
from schemas.tables import VALIDATION_FAILURES, VALIDATION_RESULTS

log = logging.getLogger(__name__)


def _labelled(columns: tuple[str, ...]) -> Column:
    """`col=value|col=value` (nulls shown as `null`); a null literal when there are no columns."""
    if not columns:
        return F.lit(None).cast("string")
    return F.concat_ws("|", *[F.concat(F.lit(f"{c}="), F.coalesce(F.col(c).cast("string"), F.lit("null")))
                              for c in columns])


def with_sample_columns(df: DataFrame, check: Check) -> DataFrame:
    return df.select("*", _labelled(check.row_keys).alias(gx_run.ROW_KEY), _labelled(check.where).alias(gx_run.WHERE))


def _pinned_read(spark: SparkSession, cfg: Config, table: lake.TableRef) -> tuple[DataFrame, int] | None:
    version = lake.log_version(cfg.paths, table)
    if version is None:
        return None
    return lake.read(spark, cfg.paths, table, version=version), version


def resolve(spark: SparkSession, cfg: Config, check: Check, stage: str, suite: Mapping[str, Any], *,
            since: Mapping[str, int] | None = None, last_full: Mapping[str, dt.datetime] | None = None,
            ) -> tuple[DataFrame, results.Pinned] | scope.Scope | None:
    """The frame to validate and what it was built from; None when its tables do not exist; the
    Scope alone for a table that did not move since its check passed (nothing to validate).
    `since`: the version of each table at the stage's last passing check (None: validate whole)."""
    if check.table is not None:
        version = lake.log_version(cfg.paths, check.table)
        if version is None:
            return None
        found, frame = scope.for_table(spark, cfg, check.table, suite, version, (since or {}).get(check.label),
                                    (last_full or {}).get(check.label))
        if found.kind == scope.UNCHANGED:
            return found
        if frame is None:
            frame = lake.read(spark, cfg.paths, check.table, version=version)
        return frame, results.Pinned(stage, check.label, version, {}, found)
    tables: list[lake.TableRef] = [*check.inputs, *lake.list_tables(cfg.paths, check.input_zones)]
    frames: dict[str, DataFrame] = {}
    versions: dict[str, int] = {}
    for table in tables:
        got = _pinned_read(spark, cfg, table)
        if got is not None:
            frames[f"{table.zone}.{table.name}"], versions[f"{table.zone}.{table.name}"] = got
    if not frames or any(r not in frames for r in check.required):
        return None
    assert check.derive is not None, "a check without a table derives its frame"
    return check.derive(frames), results.Pinned(stage, check.label, None, versions)


def _write(spark: SparkSession, cfg: Config, stage: str, run_id: str, result_rows: Sequence[Mapping[str, Any]],
           failure_rows: Sequence[Mapping[str, Any]]) -> None:
    condition = f"run_id = '{run_id}' AND stage = '{stage}'"
    for table, rows in ((VALIDATION_RESULTS, result_rows), (VALIDATION_FAILURES, failure_rows)):
        df = spark.createDataFrame([tuple(r.get(c) for c in table.columns) for r in rows], table.schema)
        lake.replace_where(df, cfg.paths, table, condition)


def _small(cfg: Config, check: Check, pin: results.Pinned) -> bool:
    """Whether the pinned version of a table check has at most `quality.cache_max_rows` rows (from
    its Delta log: no Spark job), so that its columns are cached for the passes of its suite."""
    if check.table is None or pin.version is None or cfg.quality.cache_max_rows <= 0:
        return False
    from deltalake.exceptions import DeltaError

    try:
        rows, _ = lake.snapshot_facts(cfg.paths, check.table, pin.version)
    except (DeltaError, OSError):  # a log deltalake cannot read: read by each pass, as a big table
        return False
    return rows <= cfg.quality.cache_max_rows


def check_stage(spark: SparkSession, cfg: Config, stage: str, *, run_id: str,
                raise_on_critical: bool = True, since: Mapping[str, int] | None = None) -> results.StageReport:
    """Validate every table the stage wrote (and its cross-table checks); record and publish.

    `since`: `<zone>.<table>` -> the version the stage's last passing check validated (the flow
    passes it from the stage's record when code and config are unchanged): a table check then
    validates only the rows changed since (jobs/quality/scope.py). None: every table whole.
    Raises ValidationFailed when a critical expectation failed (after recording it), so
    that the caller writes nothing downstream.
    """
    if not cfg.quality.enabled:
        log.info("quality checks disabled (quality.enabled = false); stage %s not checked", stage)
        return results.StageReport(stage, run_id, 0, (), (), ())
    last_full = scope.last_full_validations(spark, cfg.paths) if since is not None and cfg.quality.incremental \
        and cfg.quality.full_every_days else {}
    batches, pins, skipped, unchanged = [], [], [], []
    for check in checks_for(stage):
        suite = load_suite(cfg, check.suite)
        got = resolve(spark, cfg, check, stage, suite, since=since, last_full=last_full)
        if got is None:
            skipped.append(check.label)
            continue
        if isinstance(got, scope.Scope):
            unchanged.append(f"{check.label}@v{got.since}")
            continue
        frame, pin = got
        version = "" if pin.version is None else f"@v{pin.version}"
        incremental = pin.scope is not None and pin.scope.kind == scope.INCREMENTAL
        if pin.scope is not None:
            log.info("%s%s: %s validation (%s)", check.label, version, pin.scope.kind, pin.scope.reason)
        # derived frames (joins), changed rows (the change feed joined to the table) and small
        # tables (the columns their suite reads) are computed once, by the first pass
        small = not incremental and _small(cfg, check, pin)
        # a suite naming no column (table-level expectations only) keeps every column
        first = frame.select(*(gx_run.suite_columns(suite, frame.columns) or frame.columns)) if small else frame
        batches.append(gx_run.Batch(f"{check.label}{version}", suite, first, with_sample_columns(frame, check),
                                    persist=check.table is None or incremental or small))
        pins.append(pin)
    if skipped:
        log.info("stage %s: %d check(s) skipped, tables not there yet: %s", stage, len(skipped), ", ".join(skipped))
    if unchanged:
        log.info("stage %s: %d table(s) unchanged since their check passed, not validated again: %s", stage,
                 len(unchanged), ", ".join(unchanged))
    validated = gx_run.validate(cfg, run_id, batches)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result_rows, failure_rows = results.rows(validated, pins, run_id, now)
    _write(spark, cfg, stage, run_id, result_rows, failure_rows)
    record_stage(cfg, run_id, stage, result_rows, failure_rows)
    publish_docs(cfg, run_ids=[run_id])
    report = results.summarise(stage, run_id, result_rows, skipped)
    log.info("stage %s checked: %d expectations, %d critical failures, %d warnings; tables: %s", stage,
             report.evaluated, len(report.critical), len(report.warnings), report.scopes or "none")
    for line in report.warnings:
        log.warning("data-quality warning: %s", line)
    if report.critical and raise_on_critical:
        raise ValidationFailed(report.message())
    return report


def validate_stage(spark: SparkSession, cfg: Config, stage: str = "all") -> bool:
    """Re-run the checks of one stage (or all) on the current tables; True when nothing critical failed."""
    stages = STAGES if stage == "all" else (stage,)
    started = dt.datetime.now(dt.UTC)
    run_id = new_run_id("validate", now=started)
    with locks.lake_lock(cfg.paths, run_id, timeout_seconds=cfg.orchestration.lock_timeout_seconds,
                         poll_seconds=cfg.orchestration.lock_poll_seconds):
        reports = [check_stage(spark, cfg, s, run_id=run_id, raise_on_critical=False) for s in stages]
        record_facts(cfg, run_id, {"status": "passed" if all(r.passed for r in reports) else "failed",
                                   "env": cfg.env, "started_at": started.replace(tzinfo=None),
                                   "finished_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)})
        publish_docs(cfg, run_ids=[run_id])
    for report in reports:
        for line in report.critical:
            log.error("critical: %s", line)
    log.info("validation %s: data docs at %s", run_id, cfg.paths.data_docs_dir() / "index.html")
    return all(r.passed for r in reports)

