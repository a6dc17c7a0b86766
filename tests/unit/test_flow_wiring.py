"""The flow's wiring without running it: definitions load, stages are found and called by convention."""
import datetime as dt
import inspect
import sys
import types

import pytest

from flows import stages
from flows.backfill import date_range
from flows.manifest import error_text
from flows.nightly import _retry_helps, new_run_id, nightly, parse_run_date
from jobs.config import load_config
from jobs.errors import ConfigError, ContractError, SetupError, ValidationFailed

pytestmark = pytest.mark.unit


def test_definitions_load_and_the_stage_list_is_shared_with_the_benchmark():
    import jobs.bench
    import jobs.stages

    assert nightly.name == "nightly"
    assert stages.STAGES == ("ingest", "link", "events", "pathways", "indicators") == jobs.stages.STAGES
    assert inspect.signature(jobs.bench.bench).parameters["stages"].default is jobs.stages.STAGES


def test_every_stage_has_its_entry_point():
    for name in stages.STAGES:
        assert stages.entry_point(name).__module__.startswith(f"jobs.{name}")
    assert stages.entry_point(stages.REPORT).__name__ == "render"


def test_a_broken_or_unknown_stage_is_a_clear_error_not_a_skip(monkeypatch):
    with pytest.raises(ConfigError, match="unknown stage 'no_such_stage'; expected one of"):
        stages.entry_point("no_such_stage")
    monkeypatch.setitem(sys.modules, "jobs.events", types.ModuleType("jobs.events"))  # a package without run()
    with pytest.raises(SetupError, match=r"jobs.events has no run\(\) function"):
        stages.entry_point("events")
    monkeypatch.setitem(sys.modules, "jobs.link", None)  # a package that fails to import: its own error
    with pytest.raises(ImportError, match="jobs.link"):
        stages.entry_point("link")


def test_optional_keywords_are_passed_only_when_declared():
    seen = {}

    def plain(spark, cfg, *, run_id, full_refresh=False):
        seen["plain"] = (run_id, full_refresh)
        return {"t": 1}

    def rich(spark, cfg, *, run_id, full_refresh=False, run_date=None, sources=None):
        seen["rich"] = (run_date, sources)
        return None

    day = dt.date(2025, 3, 1)
    assert stages.call(plain, None, None, run_id="r", full_refresh=True, run_date=day) == {"t": 1}
    assert stages.call(rich, None, None, run_id="r", full_refresh=False, run_date=day, source="police") == {}
    assert seen == {"plain": ("r", True), "rich": (day, ("police",))}
    assert stages.accepts(rich, "sources") and not stages.accepts(plain, "sources")


def test_ingest_takes_the_run_date_and_one_source_per_task():
    ingest = stages.entry_point("ingest")
    assert stages.accepts(ingest, "run_date") and stages.accepts(ingest, "sources")


def test_run_dates_and_ids():
    cfg = load_config("ci")
    assert parse_run_date("2025-03-01", cfg) == dt.date(2025, 3, 1)
    assert isinstance(parse_run_date(None, cfg), dt.date)
    with pytest.raises(ConfigError, match="not a date"):
        parse_run_date("01/03/2025", cfg)
    assert new_run_id(dt.date(2025, 3, 1)).startswith("20250301-")
    assert new_run_id(dt.date(2025, 3, 1)) != new_run_id(dt.date(2025, 3, 1))
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
