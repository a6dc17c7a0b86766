"""Coercion episode rules (jobs/events/episodes.py) on tiny cases, one person per case.

Each case's expected episodes are written out by hand; the whole set is also compared row
for row with the plain-Python re-computation in tests/pathways_reference.py.
"""
import dataclasses

import pathways_reference as ref
import pytest
from pathways_testdata import as_dicts, coercion, event, events_df, ts

from jobs.config import load_config
from jobs.events.episodes import build_coercion_episodes

pytestmark = pytest.mark.spark
EPISODES = load_config("ci").episodes  # the values production reads (conf/base + ci)

BELT, HOLD, SED, SHIELD = "belt_restraint", "physical_holding", "acute_sedation", "personal_shielding"
D = "2023-03-01 "

CASES = [
    coercion("overlap", BELT, D + "10:00", D + "11:00", "o1", contact_record_id="c1"),
    coercion("overlap", BELT, D + "10:30", D + "12:00", "o2", department_code="SOR000000009", contact_record_id="c2"),
    coercion("touch", BELT, D + "10:00", D + "11:00", "t1"),
    coercion("touch", BELT, D + "11:00", D + "12:00", "t2"),
    coercion("gap14", BELT, D + "10:00", D + "11:00", "g1"),
    coercion("gap14", BELT, D + "11:14", D + "12:00", "g2"),
    coercion("gap15", BELT, D + "10:00", D + "11:00", "h1"),
    coercion("gap15", BELT, D + "11:15", D + "12:00", "h2"),
    coercion("gap16", BELT, D + "10:00", D + "11:00", "i1"),
    coercion("gap16", BELT, D + "11:16", D + "12:00", "i2"),
    coercion("open", BELT, D + "10:00", None, "k1"),
    coercion("open", BELT, "2023-03-03 10:00", "2023-03-03 11:00", "k2"),
    coercion("openmid", BELT, D + "10:00", D + "11:00", "m1"),
    coercion("openmid", BELT, D + "10:30", None, "m2"),
    coercion("openmid", BELT, "2023-03-02 15:00", "2023-03-02 16:00", "m3"),
    coercion("contained", BELT, D + "10:00", D + "14:00", "n1"),
    coercion("contained", BELT, D + "10:30", D + "11:00", "n2"),
    coercion("contained", BELT, D + "14:10", D + "15:00", "n3"),
    coercion("dup", BELT, D + "10:00", D + "11:00", "d2"),
    coercion("dup", BELT, D + "10:00", D + "11:00", "d1"),
    coercion("hold", HOLD, D + "10:00", D + "10:05", "q1", holding_purpose="independent"),
    coercion("hold", HOLD, D + "10:10", D + "10:20", "q2", holding_purpose="transfer"),
    coercion("hold", HOLD, D + "10:28", D + "10:30", "q3", holding_purpose="independent"),
    coercion("hold", HOLD, D + "18:00", D + "18:01", "q4", holding_purpose=None),
    coercion("hold", HOLD, D + "20:00", D + "20:01", "q5", holding_purpose="part_of_other_measure"),
    coercion("shield23", SHIELD, "2023-01-01 00:00", "2023-01-01 23:00", "s1"),
    coercion("shield25", SHIELD, "2023-01-01 00:00", "2023-01-01 12:00", "s2"),
    coercion("shield25", SHIELD, "2023-01-01 12:10", "2023-01-02 01:00", "s3"),
    coercion("shield24", SHIELD, "2023-01-01 00:00", "2023-01-02 00:00", "s4"),
    coercion("shieldopen", SHIELD, "2023-01-01 00:00", None, "s5"),
    coercion("sed14", SED, D + "10:00", None, "e1"),
    coercion("sed14", SED, D + "10:14", D + "10:14", "e2"),
    coercion("sed16", SED, D + "10:00", None, "f1"),
    coercion("sed16", SED, D + "10:16", None, "f2"),
    coercion("sedend", SED, D + "10:00", D + "12:00", "j1"),
    coercion("sedend", SED, D + "10:20", None, "j2"),
    coercion("measures", BELT, D + "10:00", D + "11:00", "x1"),
    coercion("measures", HOLD, D + "10:30", D + "10:40", "x2", holding_purpose="independent"),
    coercion("personA", BELT, D + "10:00", D + "11:00", "y1"),
    coercion("personB", BELT, D + "10:00", D + "11:00", "y2"),
    event("personA", "police", "concern_report", D + "10:00", D + "10:00", "pol1"),  # not a registration
]


def _by_person(rows):
    out = {}
    for r in sorted(rows, key=lambda r: (r["person_key"], r["measure"], r["start_ts"])):
        out.setdefault(r["person_key"], []).append(r)
    return out


@pytest.fixture(scope="module")
def episodes_df(spark):
    return build_coercion_episodes(events_df(spark, CASES), EPISODES).cache()


@pytest.fixture(scope="module")
def episodes(episodes_df):
    return as_dicts(episodes_df)


def _spans(rows):
    return [(r["start_ts"], r["end_ts"], r["n_registrations"]) for r in rows]


def test_merging_rules_case_by_case(episodes):
    e = _by_person(episodes)
    at = lambda s: ts(D + s)  # noqa: E731
    assert _spans(e["overlap"]) == [(at("10:00"), at("12:00"), 2)]
    assert (e["overlap"][0]["department_code"], e["overlap"][0]["contact_record_id"]) == ("SOR000000001", "c1")
    assert _spans(e["touch"]) == [(at("10:00"), at("12:00"), 2)]
    assert _spans(e["gap14"]) == [(at("10:00"), at("12:00"), 2)]
    assert _spans(e["gap15"]) == [(at("10:00"), at("11:00"), 1), (at("11:15"), at("12:00"), 1)]
    assert _spans(e["gap16"]) == [(at("10:00"), at("11:00"), 1), (at("11:16"), at("12:00"), 1)]
    assert _spans(e["open"]) == [(at("10:00"), None, 2)]
    assert _spans(e["openmid"]) == [(at("10:00"), None, 3)]
    assert _spans(e["contained"]) == [(at("10:00"), at("15:00"), 3)]
    assert _spans(e["dup"]) == [(at("10:00"), at("11:00"), 2)] and e["dup"][0]["first_record_id"] == "d1"


def test_holding_purposes_dropped_before_merging(episodes):
    hold = _by_person(episodes)["hold"]
    # the transfer holding (10:10-10:20) would have bridged 10:05 -> 10:28; dropped first, it does not
    assert [(r["first_record_id"], r["n_registrations"]) for r in hold] == [("q1", 1), ("q3", 1), ("q4", 1)]


def test_shielding_judged_on_merged_episode(episodes):
    e = _by_person(episodes)
    assert [r["counts_as_coercion"] for r in e["shield23"]] == [False]
    assert [(r["n_registrations"], r["counts_as_coercion"]) for r in e["shield25"]] == [(2, True)]
    assert [r["counts_as_coercion"] for r in e["shield24"]] == [False]  # exactly 24 h is not "over 24 h"
    assert [(r["end_ts"], r["counts_as_coercion"]) for r in e["shieldopen"]] == [(None, True)]
    assert all(r["counts_as_coercion"] for r in episodes if r["measure"] != SHIELD)


def test_sedation_is_a_point_event(episodes):
    e = _by_person(episodes)
    assert _spans(e["sed14"]) == [(ts(D + "10:00"), ts(D + "10:14"), 2)]
    assert _spans(e["sed16"]) == [(ts(D + "10:00"), ts(D + "10:00"), 1), (ts(D + "10:16"), ts(D + "10:16"), 1)]
    assert len(e["sedend"]) == 2  # a provider end_ts of 12:00 is ignored: the "end" is the start


def test_measures_and_persons_never_merge(episodes):
    e = _by_person(episodes)
    assert sorted(r["measure"] for r in e["measures"]) == [BELT, HOLD]
    assert len(e["personA"]) == 1 and len(e["personB"]) == 1
    assert e["personA"][0]["episode_id"] != e["personB"][0]["episode_id"]


def test_agrees_with_plain_python_and_ids_are_deterministic(spark, episodes):
    key = lambda r: r["episode_id"]  # noqa: E731
    assert len(episodes) == 27
    assert sorted(episodes, key=key) == sorted(ref.episodes(CASES), key=key)
    again = as_dicts(build_coercion_episodes(events_df(spark, list(reversed(CASES))), EPISODES))
    assert sorted(r["episode_id"] for r in again) == sorted(r["episode_id"] for r in episodes)
    # the invariants the coercion_episodes suite checks in production (expectations/)
    assert all(r["end_ts"] is None or r["end_ts"] >= r["start_ts"] for r in episodes)
    assert all(r["n_registrations"] >= 1 and r["counts_as_coercion"] is not None for r in episodes)
    assert all(r["end_ts"] is not None for r in episodes if r["measure"] == "acute_sedation")


def test_configuration_changes_the_rules(spark):
    cfg = dataclasses.replace(EPISODES, merge_gap_minutes=20, holding_null_purpose_counts=False,
                              holding_purposes_counted=("independent", "transfer"))
    rows = [r for r in CASES if r["person_key"] in ("gap16", "hold")]
    got = _by_person(as_dicts(build_coercion_episodes(events_df(spark, rows), cfg)))
    assert _spans(got["gap16"]) == [(ts(D + "10:00"), ts(D + "12:00"), 2)]
    # transfer now counts and bridges q1-q3; the null-purpose q4 is dropped
    assert [(r["first_record_id"], r["n_registrations"]) for r in got["hold"]] == [("q1", 3)]
