"""The events stage's `run()`: reads silver and person links, writes events and episodes.

The stage is described in jobs/events/__init__.py; it is registered in jobs/stages.py.
"""
from __future__ import annotations

import hashlib
import json
import logging

from pyspark.sql import DataFrame, SparkSession

from jobs import lake
from jobs.config import Config, PathsConfig, to_dict
from jobs.errors import MissingTableError
from jobs.events.conform import build_events
from jobs.events.episodes import build_coercion_episodes
from jobs.fingerprints import person_fingerprints
from jobs.incremental import plan_refresh, release, save_fingerprints, write_outputs
from jobs.run_context import RunContext
from schemas.sources import LINKED_SOURCES
from schemas.tables import COERCION_EPISODES, EVENTS, PERSON_LINKS, silver

log = logging.getLogger(__name__)
STAGE = "events"


def read_linked_silver(spark: SparkSession, paths: PathsConfig) -> dict[str, DataFrame]:
    """The silver tables of the linked sources that exist (a source never delivered has none)."""
    tables = {}
    for source in LINKED_SOURCES:
        t = silver(source)
        if lake.exists(spark, paths, t):
            tables[source] = lake.read(spark, paths, t)
        else:
            log.warning("%s.%s not found: no %s events this run", t.zone, t.name, source)
    if not tables:
        raise MissingTableError(f"none of the silver tables of {list(LINKED_SOURCES)} exist under "
                                f"{paths.zone_dir('restricted')}; run the ingest stage first")
    return tables


def context_hash(cfg: Config) -> str:
    """What besides the person's own events decides their episodes: the episode rules' config."""
    return hashlib.sha256(json.dumps(to_dict(cfg.episodes), sort_keys=True).encode()).hexdigest()[:16]


def run(spark: SparkSession, ctx: RunContext) -> dict[str, int]:
    """Build and write restricted.events and restricted.coercion_episodes; rows written per table."""
    cfg, run_id, full_refresh, paths = ctx.cfg, ctx.run_id, ctx.full_refresh, ctx.paths
    links = lake.read(spark, paths, PERSON_LINKS)
    events = build_events(read_linked_silver(spark, paths), links).persist()
    fingerprints = person_fingerprints({"events": events}, context_hash(cfg)).persist()
    plan = plan_refresh(spark, paths, STAGE, fingerprints, full_refresh=full_refresh,
                        outputs=(EVENTS, COERCION_EPISODES))
    log.info("events stage run %s: %s", run_id, plan.reason)
    try:
        scoped = plan.scope(events)
        episodes = build_coercion_episodes(scoped, cfg.episodes)
        written = write_outputs(spark, paths, plan, [(EVENTS, scoped), (COERCION_EPISODES, episodes)])
        save_fingerprints(paths, fingerprints, stage=STAGE, run_id=run_id)
    finally:
        release(plan)
        fingerprints.unpersist()
        events.unpersist()
    return written
