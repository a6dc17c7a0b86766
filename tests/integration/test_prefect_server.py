"""The nightly flow as operators see it, on a real Prefect server that this module starts
(`prefect server start` on 127.0.0.1, a free port, its own PREFECT_HOME; stopped at the end).

- A nightly run that fails right after ingestion (PATHWAYS_FAIL_AFTER_STAGE, cheap: one small
  delivery and one refused folder), read back through Prefect's client: its name from the run
  date, readable task run names, the artifacts (deliveries loaded / refused with counts and
  reasons, failed checks, Data Docs link), our own `jobs.*` / `flows.*` log lines (without
  PREFECT_LOGGING_EXTRA_LOGGERS), and the failure hook's POST to a listener on 127.0.0.1.
- `pathways serve` against the same server: the deployment has a concurrency limit of 1 and
  the 03:30 Copenhagen cron; after SIGTERM its schedule is still active (not paused).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flow_landing import P
from landing_kit import sample_row, write_delivery

from jobs.config import PROJECT_ROOT, load_config
from jobs.errors import InjectedFault

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = "2024-02-02"
STARTUP_SECONDS = 240  # a busy 2-core machine: ~45 s seen under load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, seconds: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended with {proc.returncode}")
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen, seconds: float = 60) -> int:
    """SIGTERM the process group we started, then SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server of our own; the test process talks to it through temporary settings."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("prefect_server_home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        _wait(lambda: _healthy(url), STARTUP_SECONDS, "the Prefect server", proc)
        with temporary_settings({PREFECT_API_URL: url}):
            yield {"url": url, "home": home}
    finally:
        _stop(proc)
        log.close()


@pytest.fixture()
def webhook():
    """An HTTP listener on 127.0.0.1 that records every POSTed JSON document."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/hooks/pathways?token=not-a-real-secret", received
    httpd.shutdown()


def _client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def test_a_failed_nightly_shows_its_name_artifacts_logs_and_calls_the_webhook(server, webhook, tmp_path,
                                                                               monkeypatch):
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    from flows.nightly import for_config

    url, received = webhook
    lake = tmp_path / "lake"
    write_delivery(lake / "landing", "police", "2024-02-01", [sample_row("police", "p1", person_id=P[1])])
    (lake / "landing" / "police" / "latest").mkdir()  # not a delivery id: refused, with its reason
    conf = tmp_path / "conf"  # two sources instead of seven: a cheaper run, the same code
    shutil.copytree(PROJECT_ROOT / "conf", conf)
    (conf / "ci" / "zz_test.yml").write_text(json.dumps({"ingest": {"sources": ["population", "police"]}}))
    monkeypatch.setenv("PATHWAYS_CONF_DIR", str(conf))
    monkeypatch.setenv("PATHWAYS_FAIL_AFTER_STAGE", "ingest")
    monkeypatch.setenv("PATHWAYS_FAILURE_WEBHOOK_URL", url)
    monkeypatch.delenv("PREFECT_LOGGING_EXTRA_LOGGERS", raising=False)
    cfg = load_config("ci", lake=str(lake))
    assert cfg.orchestration.failure_webhook_url == url

    state = for_config(cfg)(run_date=DAY, env="ci", lake=str(lake), return_state=True)
    assert state.is_failed()
    with pytest.raises(InjectedFault):
        state.result()
    flow_run_id = state.state_details.flow_run_id

    with _client() as client:
        run = client.read_flow_run(flow_run_id)
        assert run.name == f"nightly-{DAY}"
        tasks = {t.name for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[
            flow_run_id])))}
        assert {"ingest[population]", "ingest[police]", "data-docs"} <= tasks

        arts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))) if a.key}
        assert set(arts) == {"nightly-deliveries", "nightly-failed-checks", "nightly-data-docs"}  # no report: failed
        deliveries = json.loads(arts["nightly-deliveries"].data)
        by_id = {d["delivery"]: d for d in deliveries}
        assert by_id["2024-02-01"] == {"source": "police", "delivery": "2024-02-01", "status": "loaded", "reason": "",
                                       "rows_in": 1, "accepted": 1, "quarantined": 0, "reconciled": True}
        assert by_id["latest"]["status"] == "refused" and "not a delivery id" in by_id["latest"]["reason"]
        assert len(deliveries) == 2 and P[1] not in arts["nightly-deliveries"].data  # counts, not persons
        assert "No check failed" in arts["nightly-failed-checks"].data
        docs = arts["nightly-data-docs"].data
        assert docs.startswith("[Data Docs, run 20240202-") and "file://" in docs and "/runs/20240202-" in docs

        def our_logs():
            lines = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            found = {(line.name, line.message) for line in lines}
            return found if any(n == "flows.notify" for n, _ in found) else None

        lines = _wait(our_logs, 60, "the run's log lines on the server")
    names = {n for n, _ in lines}
    assert {"jobs.locks", "flows.notify"} <= names and any(n.startswith("jobs.ingest") for n in names)
    assert any("lake lock" in m and "taken by run 20240202-" in m for n, m in lines if n == "jobs.locks")
    assert any(m.startswith("failure notification sent to 127.0.0.1") for n, m in lines if n == "flows.notify")
    assert not any("token" in m for _, m in lines)  # the webhook URL is not logged

    (call,) = received
    assert call.pop("run_id").startswith("20240202-") and call.pop("flow_run_id") == str(flow_run_id)
    assert call == {"event": "failed", "flow": "nightly", "flow_run_name": f"nightly-{DAY}", "run_date": DAY,
                    "failed_stage": "ingest", "error": "InjectedFault", "state": "Failed"}


def test_serve_limits_the_deployment_to_one_run_and_keeps_its_schedule_after_shutdown(server, tmp_path):
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    env = {**os.environ, "PREFECT_API_URL": server["url"], "PREFECT_HOME": str(server["home"])}
    serve = subprocess.Popen([sys.executable, "-m", "flows.cli", "--env", "ci", "--lake", str(tmp_path / "lake"),
                              "serve"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(tmp_path / "serve.log", "w"), start_new_session=True)
    try:
        def deployment():
            from prefect.exceptions import ObjectNotFound

            try:
                with _client() as client:
                    return client.read_deployment_by_name("nightly/nightly")
            except ObjectNotFound:
                return None

        # polled = the runner has started (and installed its SIGTERM handler; the deployment exists before)
        served = _wait(lambda: (d := deployment()) and d.last_polled and d, STARTUP_SECONDS,
                       "the served deployment, polled by its runner", serve)
        assert served.global_concurrency_limit.limit == 1 and not served.paused
        assert served.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE
        (schedule,) = served.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
            "30 3 * * *", "Europe/Copenhagen", True)
    finally:
        assert _stop(serve) is not None
    stopped = deployment()
    assert not stopped.paused and stopped.schedules[0].active  # Prefect's default would pause it here
