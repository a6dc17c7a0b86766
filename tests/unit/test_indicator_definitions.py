"""The indicator definitions table follows outputs.md's id and age-group rules."""
from __future__ import annotations

import pytest

from jobs.indicators.definitions import GEO_LEVELS, SPECS, SPECS_BY_KEY
from schemas.codes import MEASURES

pytestmark = pytest.mark.unit


def test_ids_age_groups_and_measures_follow_the_precise_rules():
    rows = {(spec.indicator_id(age), age, spec.measure) for spec in SPECS for age in spec.age_groups}
    for stem in ("1", "2", "3", "4", "5", "7", "8", "9", "10", "11", "12", "13", "14"):
        a, b = "A", "B"
        assert any(r[0] == f"{stem}{a}" and r[1] == "adult" for r in rows)
        assert any(r[0] == f"{stem}{b}" and r[1] == "child" for r in rows)
        assert any(r[0] == f"{stem}{a}{b}" and r[1] == "all" for r in rows)
    for ident in ("7C", "7D", "7CD", "11C", "11D", "11CD", "11E", "11F", "11EF", "12CD", "12EF", "13CD"):
        assert any(r[0] == ident for r in rows), ident
    for ident in ("S1", "F1", "F2"):
        assert {r[1] for r in rows if r[0] == ident} == {"adult", "child", "all"}
    assert {(r[1], r[2]) for r in rows if r[0] == "T1"} == {("all", "rate")}
    assert {r[2] for r in rows if r[0] in ("3A", "3B", "3AB")} == {"episodes", "episodes_red", "episodes_yellow"}
    assert {r[2] for r in rows if r[0] == "S1"} == {"episodes", "share"}
    assert {r[2] for r in rows if r[0] == "11EF"} == {"median_hours"}
    assert {r[2] for r in rows if r[0] == "12EF"} == {"median_minutes"}
    assert len(SPECS_BY_KEY) == len(SPECS)  # one spec per (all-ages id, measure)


def test_levels_and_measures_are_known():
    for spec in SPECS:
        assert set(spec.levels) <= set(GEO_LEVELS) and spec.levels[0] == "national"
        assert set(spec.measures) <= set(MEASURES)
    levels = {spec.ids[2]: spec.levels for spec in SPECS}
    assert levels["2AB"] == levels["3AB"] == ("national", "region", "health_cluster", "municipality")
    assert levels["5AB"] == levels["9AB"] == levels["10AB"] == ("national", "region", "health_cluster")
    assert levels["S1"] == ("national", "region", "municipality")
    assert levels["T1"] == levels["F1"] == levels["14AB"] == ("national", "region")
