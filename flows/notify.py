"""Tell someone when a night fails: Prefect `on_failure` / `on_crashed` hooks that POST a small
JSON document to a webhook (chat, paging or ticketing system).

The URL is `orchestration.failure_webhook_url`; empty = off. It often carries a token, so it
can come from the environment instead of a file: PATHWAYS_FAILURE_WEBHOOK_URL. The document
says which run failed and where, never what was in the data:

    {"event": "failed", "flow": "nightly", "flow_run_name": "nightly-2025-03-01",
     "flow_run_id": "...", "run_id": "20250301-013000-9b0e11", "run_date": "2025-03-01",
     "failed_stage": "link", "error": "ValidationFailed", "state": "Failed"}

The error is its class name only (a Spark error message can quote a data value). A hook that
cannot reach the webhook logs a warning naming the host (not the URL) and the run's state
stays as it is. The flow tells the hooks its run id and the stage it was in (`note`), since a
hook sees only Prefect's flow run and final state.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.parse
import urllib.request
from typing import Any

from prefect.runtime import flow_run as current_flow_run

log = logging.getLogger(__name__)

URL_ENV = "PATHWAYS_FAILURE_WEBHOOK_URL"
TIMEOUT_SECONDS = 10
_NOTES: dict[str, dict[str, Any]] = {}  # flow run id -> what the flow told us (run id, stage, webhook)


def note(**facts: Any) -> None:
    """Remember facts about the current flow run for its hooks (run_id, stage, webhook)."""
    if current_flow_run.id:
        _NOTES.setdefault(str(current_flow_run.id), {}).update(facts)


def payload(flow_name: str, flow_run: Any, state: Any, event: str) -> dict[str, Any]:
    notes = _NOTES.get(str(flow_run.id), {})
    error = _exception(state)
    return {"event": event, "flow": flow_name, "flow_run_name": flow_run.name, "flow_run_id": str(flow_run.id),
            "run_id": notes.get("run_id"), "run_date": notes.get("run_date"), "failed_stage": notes.get("stage"),
            "error": type(error).__name__ if error is not None else None, "state": state.name}


def _exception(state: Any) -> BaseException | None:
    try:
        result = state.result(raise_on_failure=False)
    except BaseException as exc:  # noqa: BLE001 - a result that cannot be read is itself the answer
        return exc
    return result if isinstance(result, BaseException) else None


def webhook_url(flow_run: Any) -> str:
    noted = _NOTES.get(str(flow_run.id), {}).get("webhook")
    if noted is not None:
        return noted
    try:  # the flow failed before it loaded its config: load it as the flow would have
        from jobs.config import load_config

        params = flow_run.parameters or {}
        return load_config(params.get("env"), lake=params.get("lake"),
                           landing=params.get("landing")).orchestration.failure_webhook_url
    except Exception:  # noqa: BLE001
        return os.environ.get(URL_ENV, "")


def send(url: str, document: dict[str, Any]) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        log.warning("failure webhook not sent: the URL must be http(s), found %r", parts.scheme)
        return
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            log.info("failure notification sent to %s (HTTP %s)", parts.hostname, response.status)
    except OSError as exc:
        log.warning("failure notification to %s failed: %s", parts.hostname, type(exc).__name__)


def _hook(event: str):
    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        try:
            url = webhook_url(flow_run)
            if url:
                send(url, payload(flow.name, flow_run, state, event))
        finally:
            _NOTES.pop(str(flow_run.id), None)
    hook.__name__ = f"notify_{event}"
    return hook


on_failure = _hook("failed")
on_crashed = _hook("crashed")
