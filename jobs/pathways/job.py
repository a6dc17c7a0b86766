"""The pathways stage's `run()`: reads events, episodes, persons and residence, writes the three analytics tables.

The stage is described in jobs/pathways/__init__.py; it is registered in jobs/stages.py.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from jobs import lake, reference
from jobs.config import Config, to_dict
from jobs.fingerprints import person_fingerprints
from jobs.incremental import plan_refresh, release, save_fingerprints, write_outputs
from jobs.pathways.admissions import build_involuntary_admissions
from jobs.pathways.focus import build_focus_persons
from jobs.pathways.summary import summarize_admissions
from jobs.pathways.timeline import build_admission_timeline
from jobs.person_facts import residence_by_person_key
from jobs.run_context import RunContext
from schemas.tables import (
    ADMISSION_TIMELINE,
    COERCION_EPISODES,
    EVENTS,
    FOCUS_PERSONS,
    INVOLUNTARY_ADMISSIONS,
    PERSONS,
    silver,
)

log = logging.getLogger(__name__)
STAGE = "pathways"
OUTPUTS = (INVOLUNTARY_ADMISSIONS, ADMISSION_TIMELINE, FOCUS_PERSONS)
RESIDENCE_COLUMNS = "record_id string, person_id string, municipality_code string, valid_from date, valid_to date, " \
                    "record_status string"


def context_hash(cfg: Config, municipalities_df: DataFrame) -> str:
    """What besides a person's own data decides their rows: configuration and reference geography."""
    geo = sorted(tuple(r) for r in municipalities_df.collect())  # ~100 reference rows, not person data
    payload = {"pathways": to_dict(cfg.pathways), "child_max_age": cfg.indicators.child_max_age, "geo": geo}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read(spark: SparkSession, cfg: Config, table: lake.TableRef) -> DataFrame:
    return lake.read(spark, cfg.paths, table)


def _residence(spark: SparkSession, cfg: Config) -> DataFrame:
    t = silver("residence")
    if lake.exists(spark, cfg.paths, t):
        return lake.read(spark, cfg.paths, t)
    log.warning("%s.%s not found: residence at admission start will be unknown", t.zone, t.name)
    return spark.createDataFrame([], RESIDENCE_COLUMNS)


def run(spark: SparkSession, ctx: RunContext) -> dict[str, int]:
    """Build and write the three analytics tables; rows written per table name."""
    cfg, run_id, full_refresh = ctx.cfg, ctx.run_id, ctx.full_refresh
    events, episodes, persons = _read(spark, cfg, EVENTS), _read(spark, cfg, COERCION_EPISODES), _read(spark, cfg, PERSONS)
    geo = reference.municipalities_df(spark, cfg.paths).select("municipality_code", "region_code", "health_cluster_code")
    residence = residence_by_person_key(_residence(spark, cfg), persons)
    keys = events.select("person_key").distinct()
    inputs = {
        "events": events, "episodes": episodes,
        "persons": persons.join(keys, "person_key", "left_semi"),
        "residence": residence.join(keys, "person_key", "left_semi"),
    }
    fingerprints = person_fingerprints(inputs, context_hash(cfg, geo)).persist()
    plan = plan_refresh(spark, cfg.paths, STAGE, fingerprints, full_refresh=full_refresh, outputs=OUTPUTS)
    log.info("pathways stage run %s: %s", run_id, plan.reason)
    try:
        scoped_events = plan.scope(events)
        scoped_episodes = plan.scope(episodes)
        admissions = build_involuntary_admissions(
            scoped_episodes, scoped_events, plan.scope(persons), plan.scope(residence), geo, cfg).persist()
        timeline = build_admission_timeline(admissions, scoped_events, cfg.pathways)
        focus = build_focus_persons(scoped_episodes, scoped_events, cfg.pathways)
        written = write_outputs(spark, cfg.paths, plan, [
            (INVOLUNTARY_ADMISSIONS, admissions), (ADMISSION_TIMELINE, timeline), (FOCUS_PERSONS, focus)])
        save_fingerprints(cfg.paths, fingerprints, stage=STAGE, run_id=run_id)
        admissions.unpersist()
    finally:
        release(plan)
        fingerprints.unpersist()
    log_summary(spark, cfg)
    return written


def summary_rows(spark: SparkSession, cfg: Config) -> list[Any]:
    """The admission distributions (metric, value, n, calibration) of the current lake."""
    return summarize_admissions(_read(spark, cfg, INVOLUNTARY_ADMISSIONS)).collect()


def log_summary(spark: SparkSession, cfg: Config) -> None:
    """Log the admission distributions (aggregates only) to compare with calibration.md."""
    for row in summary_rows(spark, cfg):
        value = "n/a" if row.value is None else f"{row.value:.3f}"
        log.info("pathways summary %-45s %8s  (n=%d; calibration %s)", row.metric, value, row.n, row.calibration)
