"""The flow's wiring without running it: definitions load, stages are found and called by convention."""
import dataclasses
import datetime as dt
import inspect
import sys
import types

import pytest

from flows.backfill import date_range
from flows.nightly import _retry_helps, nightly, resolve_config
from jobs import stages
from jobs.config import load_config
from jobs.errors import ConfigError, ContractError, SetupError, ValidationFailed
from jobs.run_context import RunContext, new_run_id, parse_run_date, start_run
from jobs.run_manifest import error_text

pytestmark = pytest.mark.unit


def test_definitions_load_and_the_stage_list_is_shared_with_the_benchmark():
    import jobs.bench

    assert nightly.name == "nightly"
    assert stages.STAGES == ("ingest", "link", "events", "pathways", "indicators")
    assert tuple(s.name for s in stages.PIPELINE) == stages.STAGES
    assert inspect.signature(jobs.bench.bench).parameters["stages"].default is stages.STAGES


def test_every_stage_has_its_entry_point_in_the_same_place():
    for name in stages.STAGES:
        assert stages.entry_point(name).__module__ == f"jobs.{name}.job"
    assert stages.entry_point(stages.REPORT).__name__ == "render"


def test_a_broken_or_unknown_stage_is_a_clear_error_not_a_skip(monkeypatch):
    with pytest.raises(ConfigError, match="unknown stage 'no_such_stage'; expected one of"):
        stages.entry_point("no_such_stage")
    monkeypatch.setitem(sys.modules, "jobs.events.job", types.ModuleType("jobs.events.job"))  # no run()
    with pytest.raises(SetupError, match=r"jobs.events.job has no run\(\) function"):
        stages.entry_point("events")
    monkeypatch.setitem(sys.modules, "jobs.link.job", None)  # a module that fails to import: its own error
    with pytest.raises(ImportError, match="jobs.link"):
        stages.entry_point("link")


def test_every_stage_is_called_with_the_run_context_and_only_ingest_per_source(monkeypatch):
    seen = []

    def run(spark, ctx, **options):
        seen.append((ctx.run_id, ctx.run_date, options))
        return {"t": 1}

    monkeypatch.setitem(sys.modules, "fake_stage", types.SimpleNamespace(run=run))
    ctx = RunContext(run_id="r", cfg=load_config("ci"), run_date=dt.date(2025, 3, 1))
    assert stages.Stage("plain", "fake_stage").run(None, ctx) == {"t": 1}
    assert stages.Stage("each", "fake_stage", per_source=True).run(None, ctx, source="police") == {"t": 1}
    assert seen == [("r", dt.date(2025, 3, 1), {}), ("r", dt.date(2025, 3, 1), {"sources": ("police",)})]
    with pytest.raises(ConfigError, match="does not run per source"):
        stages.Stage("plain", "fake_stage").run(None, ctx, source="police")
    assert [s.name for s in stages.PIPELINE if s.per_source] == ["ingest"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.run_id = "other"  # type: ignore[misc]


def test_run_dates_and_ids():
    cfg = load_config("ci")
    tz = cfg.orchestration.timezone
    assert parse_run_date("2025-03-01", tz) == dt.date(2025, 3, 1) == parse_run_date(dt.date(2025, 3, 1), tz)
    assert isinstance(parse_run_date(None, tz), dt.date)
    with pytest.raises(ConfigError, match="not a date"):
        parse_run_date("01/03/2025", tz)
    assert new_run_id(dt.date(2025, 3, 1)).startswith("20250301-")
    assert new_run_id(dt.date(2025, 3, 1)) != new_run_id(dt.date(2025, 3, 1))
    local = dt.datetime(2025, 3, 2, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert new_run_id("link", now=local).startswith("link-20250301T233000-")  # always UTC
    nightly_ctx = start_run(cfg, run_date="2025-03-01")
    assert nightly_ctx.run_date == dt.date(2025, 3, 1) and nightly_ctx.run_id.startswith("20250301-")
    assert start_run(cfg).run_date == parse_run_date(None, tz)  # the nightly flow: today, in the configured tz
    command = start_run(cfg, label="ingest", full_refresh=True)
    assert command.run_date is None and command.full_refresh and command.run_id.startswith("ingest-")
    assert start_run(cfg, label="link", run_id="mine").run_id == "mine"
    assert resolve_config(cfg, None, None, None) is cfg
    with pytest.raises(ConfigError, match="not both"):
        resolve_config(cfg, "ci", None, None)
    assert date_range("2025-02-27", "2025-03-01") == [dt.date(2025, 2, 27), dt.date(2025, 2, 28), dt.date(2025, 3, 1)]
    with pytest.raises(ConfigError, match="before"):
        date_range("2025-03-02", "2025-03-01")


def test_manifest_keeps_only_our_own_error_messages():
    assert error_text(ValidationFailed("stage link: 1 critical")) == "ValidationFailed: stage link: 1 critical"
    leaked = error_text(ValueError("cannot cast '0101901234' to date"))
    assert "0101901234" not in leaked and leaked.startswith("ValueError")


class _State:
    def __init__(self, exc):
        self.exc = exc

    def result(self):
        raise self.exc


def test_retries_only_where_they_can_help():
    assert not _retry_helps(None, None, _State(ValidationFailed("x")))
    assert not _retry_helps(None, None, _State(ContractError("x")))
    assert _retry_helps(None, None, _State(OSError("disk hiccup")))
