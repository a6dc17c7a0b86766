"""Serve the nightly flow as a Prefect deployment on its cron schedule (`pathways serve`).

Needs a Prefect server: `prefect server start` and PREFECT_API_URL pointing at it (see
docs/orchestration.md). Blocks until stopped (Ctrl-C or SIGTERM); stop it before the server.
The deployment's parameters pin the environment, lake and landing zone it was served with.
"""
from __future__ import annotations

import logging
import os

from prefect.schedules import Cron

from flows.nightly import nightly
from jobs.config import Config

log = logging.getLogger(__name__)


def serve_nightly(cfg: Config) -> None:
    orch = cfg.orchestration
    if not os.environ.get("PREFECT_API_URL"):
        log.warning("PREFECT_API_URL is not set: serving against a temporary local Prefect server that "
                    "lives only as long as this process (start one with `prefect server start`)")
    log.info("serving deployment nightly/%s, schedule %r (%s), lake %s", orch.deployment_name, orch.cron,
             orch.timezone, cfg.paths.lake_dir())
    nightly.serve(
        name=orch.deployment_name,
        schedule=Cron(orch.cron, timezone=orch.timezone),
        parameters={"env": cfg.env, "lake": str(cfg.paths.lake_dir()), "landing": str(cfg.paths.landing_dir())},
        tags=["coercion-pathways"],
        description="Nightly batch: ingest, link, events, pathways, indicators, report, Data Docs.",
    )
