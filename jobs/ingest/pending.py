"""The deliveries a nightly run would take, found without Spark.

Due by the run date (`landing.due`) and not `loaded` in the ingestion log (refused ones are tried
again, as ingest does). The flow asks this of ingest before it decides whether a night has
anything to do (jobs/stage_state.py, flows/nightly.py), before any JVM starts: the landing
folders are listed and the ingestion log is read from its Delta log by deltalake.
"""
from __future__ import annotations

from jobs.config import PathsConfig
from jobs.ingest import ingestion_log, landing
from jobs.ingest.result import LOADED
from jobs.run_context import RunContext
from schemas.sources import SOURCES


def loaded_deliveries(paths: PathsConfig) -> dict[str, set[str]]:
    """source -> the delivery ids the ingestion log records as loaded."""
    return {source: {d for d, (status, _) in logged.items() if status == LOADED}
            for source, logged in ingestion_log.logged_deliveries(paths).items()}


def pending(ctx: RunContext, *, sources: tuple[str, ...] | None = None) -> list[str]:
    """`<source>/<delivery_id>` of every delivery a run would take; everything on a full refresh."""
    cfg = ctx.cfg
    loaded = {} if ctx.full_refresh else loaded_deliveries(cfg.paths)
    out: list[str] = []
    for name in tuple(sources or cfg.ingest.sources or SOURCES):
        due = landing.due(landing.discover(cfg.paths.landing_dir(), name), ctx.run_date)
        out += [f"{name}/{d.delivery_id}" for d in due if d.delivery_id not in loaded.get(name, set())]
    return out
