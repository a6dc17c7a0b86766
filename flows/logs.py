"""The project's own log lines (`jobs.*`, `flows.*`) in the Prefect UI, with no setting to make.

Prefect sends to its API only what its run loggers write, plus the loggers named in
PREFECT_LOGGING_EXTRA_LOGGERS. Instead of asking every user (or compose file) to set that,
the `jobs` and `flows` loggers get Prefect's own API log handler here (`attach()`, called
when flows.nightly is imported: by `pathways run`, `serve`, `backfill` and by the
subprocess in which a served deployment runs its flow).

The handler is a thin `APILogHandler` that sends a record only inside a flow or task run:
the same loggers are used by commands outside any flow (`pathways ingest`, `validate`), where
Prefect's handler would warn at every line ("attempted to send logs to the API without a
flow run id"). Records still propagate to the root logger, so the console shows them as before.
A plain APILogHandler put on these loggers by PREFECT_LOGGING_EXTRA_LOGGERS is replaced, so a
line is never sent twice.
"""
from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

PROJECT_LOGGERS = ("jobs", "flows")


class RunLogHandler(APILogHandler):
    """Prefect's API log handler, for records written inside a flow or task run only."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "flow_run_id", None) or FlowRunContext.get() or TaskRunContext.get():
            super().emit(record)


def attach(names: tuple[str, ...] = PROJECT_LOGGERS) -> None:
    """Give each logger one RunLogHandler (idempotent). Where nothing lets INFO through (a served
    flow's subprocess: Prefect's root logger is at WARNING), the logger is set to INFO; a lower
    level (`pathways -v`) is kept."""
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, APILogHandler) and not isinstance(handler, RunLogHandler):
                logger.removeHandler(handler)
        if not any(isinstance(h, RunLogHandler) for h in logger.handlers):
            logger.addHandler(RunLogHandler())
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
