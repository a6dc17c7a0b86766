"""Backfill: run the nightly flow for each date from D1 to D2, in order.

A date with a completed run in `restricted.run_manifest` is skipped; the first date whose
run fails stops the backfill (the error is raised). Starting the same backfill again skips
what completed and resumes at the failed date. Each date is a `nightly` subflow run, so
Prefect shows one run per date under the backfill run (`nightly-<date>`, under
`backfill-<from>-to-<to>`), each with the nightly flow's timeout, artifacts and failure hook.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger

from flows.nightly import for_config, resolve_config
from jobs.config import Config
from jobs.errors import ConfigError
from jobs.run_context import parse_run_date
from jobs.run_manifest import completed_dates
from jobs.spark import build_spark


def date_range(date_from: str, date_to: str) -> list[dt.date]:
    if not (date_from and date_to):
        raise ConfigError(f"backfill dates must be YYYY-MM-DD; got {date_from!r} and {date_to!r}")
    start, end = (parse_run_date(d, "UTC") for d in (date_from, date_to))  # never empty here: no "today"
    if end < start:
        raise ConfigError(f"backfill --to {date_to} is before --from {date_from}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


@flow(name="backfill", log_prints=False, flow_run_name="backfill-{date_from}-to-{date_to}")
def backfill(date_from: str, date_to: str, full_refresh: bool = False, env: str | None = None,
             lake: str | None = None, landing: str | None = None, cfg: Config | None = None) -> dict[str, Any]:
    """Run `nightly` for every date from `date_from` to `date_to` not completed yet. `cfg`: a config
    the caller loaded (the CLI), else `env`, `lake` and `landing` name it."""
    cfg = resolve_config(cfg, env, lake, landing)
    days = date_range(date_from, date_to)
    logger = get_run_logger()
    done = completed_dates(build_spark(cfg.spark), cfg)
    ran, skipped = [], []
    for day in days:
        if day in done:
            logger.info("run date %s already completed; skipped", day)
            skipped.append(day.isoformat())
            continue
        logger.info("backfill: running %s (%d of %d)", day, days.index(day) + 1, len(days))
        for_config(cfg)(run_date=day.isoformat(), full_refresh=full_refresh, cfg=cfg)
        ran.append(day.isoformat())
    logger.info("backfill %s..%s: ran %d, skipped %d (completed before)", date_from, date_to, len(ran), len(skipped))
    return {"ran": ran, "skipped": skipped}
