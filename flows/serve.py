"""Serve the nightly flow as a Prefect deployment on its cron schedule (`pathways serve`).

Needs a Prefect server: `prefect server start` and PREFECT_API_URL pointing at it (see
docs/orchestration.md). Blocks until stopped (Ctrl-C or SIGTERM); stop it before the server.
The deployment's parameters pin the environment, lake and landing zone it was served with.

Chosen on purpose (Prefect's defaults differ):
- `pause_on_shutdown=False`: stopping or restarting the serve process (a container restart,
  a deploy) leaves the schedule active. Prefect's default pauses it, and a restarted container
  would then serve a paused deployment: no night runs, and nothing says so.
- One run at a time: the deployment's own concurrency limit (`global_limit`, a
  ConcurrencyLimitConfig with `orchestration.deployment_concurrency_limit` = 1, collision
  strategy ENQUEUE: a second run waits in Prefect instead of starting and being refused by the
  lake lock), and `limit=1` for this runner. 0 switches the deployment limit off: Prefect
  holds it with a lease renewed every few minutes and ends the run when a renewal fails
  (seen on a heavily loaded machine, docs/orchestration.md); the lake lock still keeps one
  writer.
- The cron is `orchestration.cron` in `orchestration.timezone` (03:30 Europe/Copenhagen): not
  in 02:00-03:00, which the daylight-saving change skips in March and repeats in October.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

from flows.nightly import for_config
from jobs.config import Config

log = logging.getLogger(__name__)


def serve_options(cfg: Config) -> dict[str, Any]:
    """The arguments of `Flow.serve` for the nightly deployment."""
    orch = cfg.orchestration
    return dict(
        name=orch.deployment_name,
        schedule=Cron(orch.cron, timezone=orch.timezone),
        parameters={"env": cfg.env, "lake": str(cfg.paths.lake_dir()), "landing": str(cfg.paths.landing_dir())},
        tags=["coercion-pathways"],
        description="Nightly batch: ingest, link, events, pathways, indicators, report, Data Docs.",
        global_limit=ConcurrencyLimitConfig(limit=orch.deployment_concurrency_limit,
                                            collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
        if orch.deployment_concurrency_limit else None,
        limit=1,
        pause_on_shutdown=False,
    )


def serve_nightly(cfg: Config) -> None:
    orch = cfg.orchestration
    if not os.environ.get("PREFECT_API_URL"):
        log.warning("PREFECT_API_URL is not set: serving against a temporary local Prefect server that "
                    "lives only as long as this process (start one with `prefect server start`)")
    log.info("serving deployment nightly/%s, schedule %r (%s), lake %s", orch.deployment_name, orch.cron,
             orch.timezone, cfg.paths.lake_dir())
    for_config(cfg).serve(**serve_options(cfg))
