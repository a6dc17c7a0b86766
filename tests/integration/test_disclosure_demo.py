"""The disclosure audit on the demo lake (issue 16, "Done when"): `pathways demo` then
`pathways disclosure-audit` recovers nothing, and the same audit does recover cells from a
deliberately weakened copy of the published table (it can fail).

The audit runs in memory on tables read with `deltalake` (no Spark), on the session's demo
lake (tests/conftest.py `demo_lake`), which it never writes."""
from __future__ import annotations

import time

import pytest

from jobs.config import load_config
from jobs.disclosure_audit import attack, markers_of, run_audit, truth_of
from jobs.disclosure_audit import read as lake
from jobs.indicators.definitions import specs
from jobs.indicators.geography import Geography

# the first test to ask for `demo_lake` pays for building it (`pathways demo`: ~10 min idle, 30 under
# load), inside its own timeout: pyproject's 1800 s default is too tight for that
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def setting(demo_lake):
    cfg = load_config("ci", lake=str(demo_lake))
    return cfg, markers_of(cfg), Geography.from_reference(cfg.paths)


def test_audit_recovers_nothing_on_the_demo_lake(demo_lake, setting):
    cfg, markers, geo = setting
    started = time.monotonic()
    report = run_audit(demo_lake, markers, geo, cfg.indicators.baseline_years, specs(cfg.indicators))
    assert report.hidden > 0, "the demo publishes suppressed cells: the audit must have something to attack"
    assert report.findings == [], report.summary()
    assert time.monotonic() - started < 600


def test_audit_catches_a_weakened_copy_of_the_demo(demo_lake, setting):
    """Show the secondary cells of one family again (as a too-weak suppression would): the
    primary cells behind them must be recovered, or the audit could never fail."""
    cfg, markers, geo = setting
    published = lake.read(demo_lake, lake.PUBLISHED, lake.INDICATORS)
    unsuppressed = lake.read(demo_lake, lake.RESTRICTED, lake.UNSUPPRESSED)
    key = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]
    secondary = published[published["display_value"] == markers.secondary]
    # the (indicator, year) with the most secondary cells: un-hide all of them
    target = secondary.groupby(["indicator_id", "year"]).size().idxmax()
    weak = published.copy()
    truth = unsuppressed.set_index(key)
    chosen = (weak["display_value"] == markers.secondary) & (weak["indicator_id"] == target[0]) & (
        weak["year"] == target[1])
    for i in weak.index[chosen]:
        row = truth.loc[tuple(weak.loc[i, key])]
        for col in ("value", "numerator", "denominator", "per_100k", "display_value"):
            weak.at[i, col] = row[col]
        weak.at[i, "suppressed"] = False
    assert chosen.sum() > 0
    weak = weak[weak["year"] == target[1]]  # years share no cell in the definitions: attack that year alone
    report = attack(weak, None, markers, geo, cfg.indicators.baseline_years,
                    truth_of(unsuppressed[unsuppressed["year"] == target[1]], markers))
    assert report.findings, f"un-hiding {int(chosen.sum())} secondary cells of {target} went unnoticed"
    assert all(f.check == "confirmed" for f in report.findings if f.value is not None)
