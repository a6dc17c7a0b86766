"""The flow's wiring without running it: definitions load, stages are found and called by convention."""
import datetime as dt

import pytest

from flows import stages
from flows.backfill import date_range
from flows.manifest import error_text
from flows.nightly import _retry_helps, new_run_id, nightly, parse_run_date
from jobs.config import load_config
from jobs.errors import ConfigError, ContractError, ValidationFailed

pytestmark = pytest.mark.unit


def test_definitions_load():
    assert nightly.name == "nightly"
    assert set(stages.DATA_STAGES) == {"ingest", "link", "events", "pathways", "indicators"}


def test_missing_stage_is_not_available_with_a_reason():
    missing = stages.find("no_such_stage")
    assert not missing.ok and missing.why_not == "package jobs.no_such_stage does not exist"
    no_fn = stages.find("quality", "run")  # a package without that entry point
    assert not no_fn.ok and "has no run()" in no_fn.why_not


def test_optional_keywords_are_passed_only_when_declared():
    seen = {}

    def plain(spark, cfg, *, run_id, full_refresh=False):
        seen["plain"] = (run_id, full_refresh)
        return {"t": 1}

    def rich(spark, cfg, *, run_id, full_refresh=False, run_date=None, sources=None):
        seen["rich"] = (run_date, sources)
        return None

    day = dt.date(2025, 3, 1)
    assert stages.call(stages.Available("x", plain), None, None, run_id="r", full_refresh=True, run_date=day) == {"t": 1}
    assert stages.call(stages.Available("y", rich), None, None, run_id="r", full_refresh=False, run_date=day,
                       source="police") == {}
    assert seen == {"plain": ("r", True), "rich": (day, ("police",))}
    assert stages.Available("y", rich).accepts("sources") and not stages.Available("x", plain).accepts("sources")


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
