"""The nightly flow: one Prefect task per stage, a quality check after each, a run manifest.

    ingest (per source when the stage supports it) -> check -> link -> check -> events -> check
    -> pathways -> check -> indicators -> check -> report -> Data Docs

Wiring only; the work is in jobs/. Decisions worth knowing:

- One RunContext per run (jobs/run_context.py: run id, run date, full refresh, config), built
  here once from the flow's parameters and passed to every stage as `run(spark, ctx)`. The
  stages, their order and how each is called are the registry in jobs/stages.py. The config is
  loaded once per process: the CLI passes the Config it loaded (`cfg=`); a deployment run (only
  JSON parameters) names it by `env`, `lake` and `landing`, and the flow loads it.
- One SparkSession per flow run, built here by jobs.spark.build_spark and passed to every
  task. Tasks are called directly, so Prefect runs them one after the other in the flow's
  own thread (no task runner, no process boundary): the session is shared and never crosses
  a process. Task caching is off (a session cannot be hashed, and stages must really run).
- One run at a time per lake: the flow holds the lake lock (jobs/locks.py) from before the
  first write to after the last; a second run waits `orchestration.lock_timeout_seconds`
  (default 0) and is then refused with ConcurrentRunError naming the holder.
- Retries (`orchestration.retries`) only where a retry can help: not after a failed
  validation, a contract or config error, a missing table, a lock conflict, or an injected
  fault.
- A critical data-quality failure raises ValidationFailed in the stage's check: every table
  the stage wrote is restored to its version before the stage (RunTracker.rollback, so readers
  never see the failed version), the flow stops, nothing downstream is written, the manifest
  says `failed`, where, and what was restored, and the Data Docs show what failed. Warnings
  are logged and recorded; the flow goes on.
- What operators see (docs/orchestration.md, "In the Prefect UI"): runs named after their
  run date (`nightly-2025-03-01`), task runs after their stage (`ingest[police]`,
  `check-link`), the project's own log lines (flows/logs.py), artifacts of each run's
  deliveries, failed checks, report and Data Docs (flows/artifacts.py), and a webhook call
  when a run fails or crashes (flows/notify.py). Timeouts: `orchestration.flow_timeout_seconds`
  (applied by `for_config`, used by the CLI and `serve`) and `task_timeout_seconds` per task.
- Crash safety: every stage is idempotent (each writes with one atomic Delta commit per
  table, or re-derives what it writes from its inputs), so a run that died anywhere is
  simply started again, from the beginning; it ends with the tables an uninterrupted run
  would have written. `PATHWAYS_FAIL_AFTER_STAGE=<stage>` makes the flow raise InjectedFault
  right after that stage's writes, for tests and drills.
"""
from __future__ import annotations

import os
from typing import Any

from prefect import Flow, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_engine import TaskRunTimeoutError
from pyspark.sql import SparkSession

from flows import artifacts, logs, notify
from jobs import lake as pathways_lake
from jobs import locks, stages, zones
from jobs.config import Config, load_config
from jobs.errors import (
    ConcurrentRunError,
    ConfigError,
    ContractError,
    InjectedFault,
    MissingTableError,
    ValidationFailed,
)
from jobs.quality import check_stage, publish_docs
from jobs.run_context import RunContext, parse_run_date, start_run
from jobs.run_manifest import RunTracker
from jobs.spark import build_spark
from schemas.sources import SOURCES

logs.attach()  # jobs.* and flows.* log lines in the Prefect UI (flows/logs.py)

FAIL_AFTER_ENV = "PATHWAYS_FAIL_AFTER_STAGE"
NOT_RETRYABLE = (ValidationFailed, ContractError, ConfigError, MissingTableError, ConcurrentRunError, InjectedFault,
                 TaskRunTimeoutError)


def _retry_helps(task_, task_run, state) -> bool:
    try:
        state.result()
    except NOT_RETRYABLE:
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient (I/O, a lost executor)
        return True
    return False


@task(name="stage", cache_policy=NO_CACHE, retry_condition_fn=_retry_helps)
def run_stage(name: str, spark: SparkSession, ctx: RunContext, source: str | None = None) -> dict[str, int]:
    """Rows written per table (ingest: an IngestResult, which also lists its deliveries)."""
    result = stages.stage(name).run(spark, ctx, source=source)
    rows = result if isinstance(result, dict) else dict(result or {})  # an IngestResult keeps its deliveries
    written = ", ".join(f"{table}={n}" for table, n in sorted(rows.items())) or "nothing"
    get_run_logger().info("stage %s%s wrote %s", name, f" [{source}]" if source else "", written)
    return rows


@task(name="check", cache_policy=NO_CACHE)
def check(name: str, spark: SparkSession, ctx: RunContext, since: dict[str, int] | None = None) -> dict[str, int]:
    """The stage's checks; `since`: table versions of its last passing check (the changed rows are validated)."""
    report = check_stage(spark, ctx.cfg, name, run_id=ctx.run_id, since=since)  # logs what it validated
    return {"expectations": report.evaluated, "warnings": len(report.warnings)}


@task(name="report", cache_policy=NO_CACHE, retry_condition_fn=_retry_helps)
def render_report(spark: SparkSession, ctx: RunContext) -> str:
    path = stages.REPORT_STAGE.load()(spark, ctx.cfg, year=None)
    get_run_logger().info("report written: %s", path)
    return str(path)


@task(name="data-docs", task_run_name="data-docs", cache_policy=NO_CACHE)
def data_docs(cfg: Config, run_id: str) -> str:
    index = publish_docs(cfg, run_ids=[run_id])
    zones.open_for_readers(cfg)  # the published zone, reports, Data Docs: readable by all (conf/base/zones.yml)
    get_run_logger().info("data docs: %s", index)
    return str(index)


def run_name() -> str:
    """The flow run's name: `nightly-<run date>` (today in the configured timezone when the run_date
    parameter is empty). Prefect names the run before the flow's body runs, so a deployment run
    without a date (only JSON parameters, no `cfg`) reads the timezone from its config here."""
    params = flow_run.parameters or {}
    day = params.get("run_date")
    if not day:
        try:
            cfg = params.get("cfg") or load_config(params.get("env"), lake=params.get("lake"))
            day = parse_run_date(None, cfg.orchestration.timezone)
        except ConfigError:
            day = "today"
    return f"{flow_run.flow_name or 'nightly'}-{day}"


def _task_options(cfg: Config, name: str, retry: bool = True) -> dict[str, Any]:
    """Readable task run names (the stage, not `stage-3f1`), the configured timeout, and retries."""
    orch = cfg.orchestration
    opts: dict[str, Any] = dict(name=name, task_run_name=name, timeout_seconds=orch.task_timeout_seconds or None)
    if retry:
        opts.update(retries=orch.retries, retry_delay_seconds=orch.retry_delay_seconds)
    return opts


def for_config(cfg: Config) -> Flow:
    """The nightly flow with the configured flow timeout (`pathways run`, `serve`, `backfill`)."""
    return nightly.with_options(timeout_seconds=cfg.orchestration.flow_timeout_seconds or None)


def _fail_if_asked(stage: str) -> None:
    if os.environ.get(FAIL_AFTER_ENV) == stage:
        raise InjectedFault(f"{FAIL_AFTER_ENV}={stage}: failing on purpose after stage {stage}'s writes")


def _data_stage(stage: stages.Stage, spark: SparkSession, ctx: RunContext, tracker: RunTracker,
                deliveries: list[Any]) -> None:
    """Run one stage (a per-source stage: one task per source) and its check; ingest's deliveries go to
    `deliveries`. Skipped, with its check, when nothing it reads changed (jobs/stage_state.py)."""
    cfg, name = ctx.cfg, stage.name
    logger = get_run_logger()
    tracker.before(name)
    notify.note(stage=name)
    keys = stage.run_keys(ctx)
    decision = tracker.decide(name, pending=stage.pending_inputs(ctx), keys=keys)
    if not decision.run:
        logger.info("stage %s skipped, with its checks: %s", name, decision.reason)
        tracker.skip(name, decision.reason, keys=keys)
        return
    logger.info("stage %s runs: %s", name, decision.reason)
    if stage.per_source:
        rows: dict[str, int] = {}
        for source in cfg.ingest.sources or SOURCES:
            result = run_stage.with_options(**_task_options(cfg, f"{name}[{source}]"))(name, spark, ctx, source)
            deliveries.extend(getattr(result, "deliveries", ()))
            for table, n in result.items():
                rows[table] = rows.get(table, 0) + n
    else:
        rows = run_stage.with_options(**_task_options(cfg, name))(name, spark, ctx)
        deliveries.extend(getattr(rows, "deliveries", ()))
    tracker.after(name, rows)
    _fail_if_asked(name)
    unchanged = tracker.decide(name, keys=keys, after_run=True)
    if not unchanged.run:  # it moved no table: its checks passed on exactly these versions
        logger.info("checks of stage %s skipped: it changed no table (%s)", name, unchanged.reason)
    else:
        try:
            check.with_options(**_task_options(cfg, f"check-{name}", retry=False))(
                name, spark, ctx, tracker.checked_versions(name))
        except ValidationFailed:
            tracker.rollback(name)  # readers keep the stage's previous versions
            raise
    tracker.succeeded(name, decision.reason, keys=keys)


def _report_stage(spark: SparkSession, ctx: RunContext, tracker: RunTracker) -> str | None:
    """Render the report, unless no table changed since it was last rendered and its file is there."""
    tracker.before(stages.REPORT)
    notify.note(stage=stages.REPORT)
    decision = tracker.decide(stages.REPORT)
    if not decision.run:
        get_run_logger().info("report skipped: %s", decision.reason)
        tracker.skip(stages.REPORT, decision.reason)
        return tracker.files_of(stages.REPORT)
    path = render_report.with_options(**_task_options(ctx.cfg, stages.REPORT))(spark, ctx)
    tracker.after(stages.REPORT, {})
    _fail_if_asked(stages.REPORT)
    tracker.succeeded(stages.REPORT, decision.reason, files=(path,))
    return path


def _nothing_to_do(ctx: RunContext, flow_run_id: str | None) -> RunTracker | None:
    """Decide every stage before Spark starts (no JVM, no stage package imported): when each one
    would be skipped, a tracker holding the skips, to be finished without Spark; else None (the
    night has work: the caller starts Spark and decides again, stage by stage, as the stages move
    the lake). The rule is jobs/stage_state.decide through the same RunTracker.decide that
    `_data_stage` and `_report_stage` call, on the same evidence (stage records, Delta versions
    from the logs, code and config hashes, the registry's pending inputs and keys)."""
    if ctx.full_refresh:
        return None
    logger = get_run_logger()
    tracker = RunTracker(None, ctx, flow_run_id)
    tracker.start(write=False)
    for each in (*stages.PIPELINE, stages.REPORT_STAGE):
        if not each.importable():  # a stage package gone: the full path fails on it and records it
            return None
        tracker.before(each.name)
        keys = each.run_keys(ctx)
        decision = tracker.decide(each.name, pending=each.pending_inputs(ctx), keys=keys)
        if decision.run:
            logger.info("stage %s has work (%s): starting Spark", each.name, decision.reason)
            return None
        notify.note(stage=each.name)
        logger.info("stage %s skipped, with its checks: %s", each.name, decision.reason)
        tracker.skip(each.name, decision.reason, keys=keys)
    return tracker


def _record_failure(tracker: RunTracker, exc: BaseException, stage: str | None, deliveries: list[Any]) -> None:
    """Mark the run failed in the manifest, the Data Docs and the artifacts; never hide the original error."""
    notify.note(stage=stage)
    ctx = tracker.ctx
    try:
        tracker.finish(exc, failed_stage=stage)
        data_docs(ctx.cfg, ctx.run_id)
    except Exception:  # noqa: BLE001
        get_run_logger().exception("the failure could not be recorded in the manifest or the Data Docs")
    artifacts.publish(ctx.cfg, ctx.run_id, deliveries, status=f"failed at stage {stage}")


def resolve_config(cfg: Config | None, env: str | None, lake: str | None, landing: str | None) -> Config:
    """The run's config: the one given (the CLI loaded it), else loaded from env / lake / landing."""
    if cfg is None:
        return load_config(env, lake=lake, landing=landing)
    if env or lake or landing:
        raise ConfigError("give the nightly flow either a loaded config (cfg) or env/lake/landing, not both")
    return cfg


@flow(name="nightly", log_prints=False, flow_run_name=run_name, on_failure=[notify.on_failure],
      on_crashed=[notify.on_crashed])
def nightly(run_date: str | None = None, full_refresh: bool = False, env: str | None = None,
            lake: str | None = None, landing: str | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Ingest, link, build events, pathways and indicators, render the report, publish Data Docs.

    `cfg`: a config the caller loaded (the CLI, backfill); else `env`, `lake` and `landing` name
    it (a deployment's JSON parameters)."""
    cfg = resolve_config(cfg, env, lake, landing)
    pathways_lake.use_retention(cfg.retention)  # every write sets the tables' retention (jobs/retention.py)
    ctx = start_run(cfg, run_date=run_date, full_refresh=full_refresh)
    assert ctx.run_date is not None  # a nightly run always has its date (start_run without a label)
    notify.note(run_id=ctx.run_id, run_date=ctx.run_date.isoformat(), webhook=cfg.orchestration.failure_webhook_url)
    logger = get_run_logger()
    logger.info("run %s for %s: lake %s, landing %s, env %s, full_refresh=%s", ctx.run_id, ctx.run_date,
                cfg.paths.lake_dir(), cfg.paths.landing_dir(), cfg.env, full_refresh)
    zones.guard(cfg)  # umask, zone owner/group/mode checked before the first write (ZoneAccessError)
    orch = cfg.orchestration
    flow_run_id = str(flow_run.id) if flow_run.id else None
    with locks.lake_lock(cfg.paths, ctx.run_id, timeout_seconds=orch.lock_timeout_seconds,
                         poll_seconds=orch.lock_poll_seconds):
        idle = _nothing_to_do(ctx, flow_run_id)
        if idle is not None:  # a night with nothing new: recorded without Spark (issue 17)
            idle.finish()  # its stage records, then its one manifest row (deltalake appends)
            data_docs(cfg, ctx.run_id)
            artifacts.publish(cfg, ctx.run_id, [], status="completed", report=idle.files_of(stages.REPORT))
            logger.info("run %s completed without Spark: nothing changed; skipped %s", ctx.run_id, idle.skipped)
            return {"run_id": ctx.run_id, "run_date": ctx.run_date.isoformat(), "stages_completed": [],
                    "stages_skipped": list(idle.skipped)}
        spark = build_spark(cfg.spark)
        tracker = RunTracker(spark, ctx, flow_run_id)
        tracker.start()
        current: str | None = None
        deliveries: list[Any] = []
        try:
            for each in (*stages.PIPELINE, stages.REPORT_STAGE):  # a broken stage package fails before any write
                current = each.name
                each.load()
            for each in stages.PIPELINE:
                current = each.name
                _data_stage(each, spark, ctx, tracker, deliveries)
            current = stages.REPORT
            report = _report_stage(spark, ctx, tracker)
        except BaseException as exc:
            _record_failure(tracker, exc, current, deliveries)
            raise
        tracker.finish()
        data_docs(cfg, ctx.run_id)
        artifacts.publish(cfg, ctx.run_id, deliveries, status="completed", report=report)
    logger.info("run %s completed: stages %s; skipped %s", ctx.run_id, tracker.completed or "none",
                tracker.skipped or "none")
    return {"run_id": ctx.run_id, "run_date": ctx.run_date.isoformat(), "stages_completed": list(tracker.completed),
            "stages_skipped": list(tracker.skipped)}
