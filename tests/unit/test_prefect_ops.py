"""What operators see of a run, without a server: names, timeouts, serve options, artifact
contents, the failure webhook's document, and our loggers' Prefect handler. The same pieces on
a live server: tests/integration/test_prefect_server.py."""
import json
import logging
import threading
import types
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.logging.handlers import APILogHandler
from prefect.task_engine import TaskRunTimeoutError

from flows import artifacts, logs, notify
from flows.nightly import _retry_helps, _task_options, for_config, nightly, run_stage
from flows.serve import serve_options
from jobs.config import load_config
from jobs.ingest.result import DeliveryResult

pytestmark = pytest.mark.unit


def test_timeouts_and_task_names_come_from_config():
    cfg = load_config("ci")
    orch = cfg.orchestration
    assert (orch.flow_timeout_seconds, orch.task_timeout_seconds) == (21600, 7200)  # conf/base/orchestration.yml
    assert for_config(cfg).timeout_seconds == 21600 and nightly.timeout_seconds is None
    task = run_stage.with_options(**_task_options(cfg, "ingest[police]"))
    assert (task.name, task.task_run_name, task.timeout_seconds, task.retries) == (
        "ingest[police]", "ingest[police]", 7200, orch.retries)
    assert _task_options(cfg, "check-link", retry=False).get("retries") is None
    off = cfg.with_overrides(orchestration={"flow_timeout_seconds": 0, "task_timeout_seconds": 0})
    assert for_config(off).timeout_seconds is None and _task_options(off, "link")["timeout_seconds"] is None


def test_a_timed_out_task_is_not_retried():
    state = types.SimpleNamespace(result=lambda: (_ for _ in ()).throw(TaskRunTimeoutError("7200 s")))
    assert not _retry_helps(None, None, state)


def test_runs_are_named_after_their_run_date(monkeypatch):
    from prefect.runtime import flow_run

    from flows import nightly as module

    monkeypatch.setitem(flow_run.FIELDS, "parameters", lambda: {"run_date": "2025-03-01", "env": "ci"})
    monkeypatch.setitem(flow_run.FIELDS, "flow_name", lambda: "nightly")
    assert module.run_name() == "nightly-2025-03-01"
    monkeypatch.setitem(flow_run.FIELDS, "parameters", lambda: {"env": "ci"})
    assert module.run_name() == f"nightly-{module.parse_run_date(None, load_config('ci').orchestration.timezone)}"
    monkeypatch.setitem(flow_run.FIELDS, "parameters", lambda: {"cfg": load_config("ci")})  # the CLI's run
    assert module.run_name() == f"nightly-{module.parse_run_date(None, 'Europe/Copenhagen')}"
    assert nightly.flow_run_name is module.run_name
    assert [h.__name__ for h in nightly.on_failure_hooks] == ["notify_failed"]
    assert [h.__name__ for h in nightly.on_crashed_hooks] == ["notify_crashed"]


def test_serve_keeps_its_schedule_on_shutdown_and_runs_one_at_a_time():
    opts = serve_options(load_config("ci"))
    assert opts["pause_on_shutdown"] is False and opts["limit"] == 1
    limit = opts["global_limit"]
    assert (limit.limit, limit.collision_strategy) == (1, ConcurrencyLimitStrategy.ENQUEUE)
    assert (opts["schedule"].cron, opts["schedule"].timezone) == ("30 3 * * *", "Europe/Copenhagen")
    off = load_config("ci").with_overrides(orchestration={"deployment_concurrency_limit": 0})
    assert serve_options(off)["global_limit"] is None and serve_options(off)["limit"] == 1


def test_the_cron_fires_once_a_day_at_0330_through_both_daylight_saving_changes():
    """By the Prefect server's own scheduler. (Its 02:00 schedule fires at 01:00 on 29 March 2026.)"""
    import asyncio
    import datetime as dt
    from zoneinfo import ZoneInfo

    from prefect.server.schemas.schedules import CronSchedule

    cfg = load_config("ci").orchestration
    tz = ZoneInfo(cfg.timezone)
    fires = asyncio.run(CronSchedule(cron=cfg.cron, timezone=cfg.timezone).get_dates(
        n=365, start=dt.datetime(2026, 1, 1, tzinfo=tz)))
    local = [f.astimezone(tz) for f in fires]
    assert len({f.date() for f in local}) == 365 and local[-1].date() == dt.date(2026, 12, 31)
    assert {(f.hour, f.minute) for f in local} == {(3, 30)}


def _delivery(source, delivery_id, status, reason=None, rows=(3, 2, 1)):
    return DeliveryResult(source, delivery_id, status, reason, rows[0] if status == "loaded" else None,
                          rows[1] if status == "loaded" else 0, rows[2] if status == "loaded" else 0,
                          True if status == "loaded" else None, False)


def test_the_deliveries_table_has_counts_and_reasons_refused_first():
    rows = artifacts.delivery_rows([_delivery("police", "2025-03-01", "loaded"),
                                    _delivery("coercion", "latest", "refused", "folder name is not a delivery id")])
    assert rows == [
        {"source": "coercion", "delivery": "latest", "status": "refused", "reason": "folder name is not a delivery id",
         "rows_in": None, "accepted": 0, "quarantined": 0, "reconciled": None},
        {"source": "police", "delivery": "2025-03-01", "status": "loaded", "reason": "", "rows_in": 3,
         "accepted": 2, "quarantined": 1, "reconciled": True}]


def test_the_failed_checks_markdown_lists_failures_critical_first_and_no_values():
    base = {"stage": "link", "suite": "person_links", "table": "analytics.person_links", "table_version": 4,
            "column": "link_probability", "element_count": 1000, "detail": "observed 0101901234"}
    results = [{**base, "expectation": "values between", "severity": "warning", "success": False,
                "unexpected_count": 2},
               {**base, "expectation": "not null", "severity": "critical", "success": False, "unexpected_count": 7},
               {**base, "expectation": "unique", "severity": "critical", "success": True, "unexpected_count": 0}]
    text = artifacts.failed_checks_markdown("r1", results, "failed at stage link")
    assert "3 expectations evaluated: 1 critical failed, 1 warnings failed" in text
    table = [line for line in text.splitlines() if line.startswith("| link")]
    assert table == ["| link | **critical** | person_links | analytics.person_links (v4) | not null | link_probability "
                     "| 7 / 1,000 |",
                     "| link | warning | person_links | analytics.person_links (v4) | values between | "
                     "link_probability | 2 / 1,000 |"]
    assert "0101901234" not in text  # `detail` is never shown
    assert "No check failed." in artifacts.failed_checks_markdown("r2", results[2:], "completed")


@pytest.fixture()
def listener():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.headers["Content-Type"],
                             json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", received
    httpd.shutdown()


def _failed_state(exc):
    return types.SimpleNamespace(name="Failed", result=lambda raise_on_failure=True: exc)


def test_the_failure_hook_posts_who_failed_where_and_the_error_class_only(listener, monkeypatch, caplog):
    from jobs.errors import ValidationFailed

    url, received = listener
    run = types.SimpleNamespace(id=uuid.uuid4(), name="nightly-2025-03-01", parameters={"env": "ci"})
    notify._NOTES[str(run.id)] = {"run_id": "20250301-013000-9b0e11", "run_date": "2025-03-01", "stage": "link",
                                  "webhook": f"{url}/hook?token=s3cret"}
    with caplog.at_level(logging.INFO, "flows.notify"):
        notify.on_failure(types.SimpleNamespace(name="nightly"), run,
                          _failed_state(ValueError("cannot cast '0101901234' to date")))
    (path, content_type, doc), = received
    assert (path, content_type) == ("/hook?token=s3cret", "application/json")
    assert doc == {"event": "failed", "flow": "nightly", "flow_run_name": "nightly-2025-03-01",
                   "flow_run_id": str(run.id), "run_id": "20250301-013000-9b0e11", "run_date": "2025-03-01",
                   "failed_stage": "link", "error": "ValueError", "state": "Failed"}
    assert "s3cret" not in caplog.text and "failure notification sent to 127.0.0.1" in caplog.text
    assert str(run.id) not in notify._NOTES  # forgotten after the run

    # crashed before the flow noted anything: the URL comes from the config (here its env variable)
    monkeypatch.setenv(notify.URL_ENV, f"{url}/crash")
    notify.on_crashed(types.SimpleNamespace(name="nightly"), run, _failed_state(ValidationFailed("x")))
    assert received[1][2]["event"] == "crashed" and received[1][2]["run_id"] is None and received[1][0] == "/crash"


def test_no_webhook_configured_means_no_call(listener, monkeypatch):
    url, received = listener
    monkeypatch.delenv(notify.URL_ENV, raising=False)
    run = types.SimpleNamespace(id=uuid.uuid4(), name="n", parameters={"env": "ci"})
    assert load_config("ci").orchestration.failure_webhook_url == ""
    notify.on_failure(types.SimpleNamespace(name="nightly"), run, _failed_state(ValueError()))
    assert received == []


def test_our_loggers_carry_prefects_api_handler_once_and_stay_quiet_outside_a_run():
    jobs_logger = logging.getLogger("jobs")
    jobs_logger.addHandler(APILogHandler())  # as PREFECT_LOGGING_EXTRA_LOGGERS=jobs would
    logs.attach()
    logs.attach()
    for name in logs.PROJECT_LOGGERS:
        handlers = [h for h in logging.getLogger(name).handlers if isinstance(h, APILogHandler)]
        assert len(handlers) == 1 and isinstance(handlers[0], logs.RunLogHandler)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Prefect's own handler warns here: no flow run id
        logging.getLogger("jobs.ingest.job").warning("refused delivery police/latest")
