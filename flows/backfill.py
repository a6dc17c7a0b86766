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

from flows.manifest import completed_dates
from flows.nightly import for_config
from jobs.config import load_config
from jobs.errors import ConfigError
from jobs.spark import build_spark


def date_range(date_from: str, date_to: str) -> list[dt.date]:
    try:
        start, end = dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)
    except ValueError as exc:
        raise ConfigError(f"backfill dates must be YYYY-MM-DD; got {date_from!r} and {date_to!r}") from exc
    if end < start:
        raise ConfigError(f"backfill --to {date_to} is before --from {date_from}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


@flow(name="backfill", log_prints=False, flow_run_name="backfill-{date_from}-to-{date_to}")
def backfill(date_from: str, date_to: str, full_refresh: bool = False, env: str | None = None,
             lake: str | None = None, landing: str | None = None) -> dict[str, Any]:
    """Run `nightly` for every date from `date_from` to `date_to` not completed yet."""
    cfg = load_config(env, lake=lake, landing=landing)
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
        for_config(cfg)(run_date=day.isoformat(), full_refresh=full_refresh, env=cfg.env,
                        lake=str(cfg.paths.lake_dir()), landing=str(cfg.paths.landing_dir()))
        ran.append(day.isoformat())
    logger.info("backfill %s..%s: ran %d, skipped %d (completed before)", date_from, date_to, len(ran), len(skipped))
    return {"ran": ran, "skipped": skipped}
