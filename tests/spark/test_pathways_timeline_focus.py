"""analytics.admission_timeline and analytics.focus_persons on the small scenario.

Timeline: counts per (phase, sector) agree with tests/pathways_reference.py, plus hand
checks of window edges. Focus persons: every row agrees with the plain-Python computation,
plus hand checks of the thresholds and the frequent-admission rule.
"""
import dataclasses
from collections import Counter

import pathways_reference as ref
import pytest
from pathways_testdata import (
    as_dicts,
    events_df,
    geo_df,
    persons_df,
    residence_df,
    scenario_events,
    scenario_persons,
    scenario_residence,
)

from jobs.config import load_config
from jobs.events.episodes import build_coercion_episodes
from jobs.pathways.admissions import build_involuntary_admissions
from jobs.pathways.focus import build_focus_persons
from jobs.pathways.timeline import build_admission_timeline
from schemas.tables import ADMISSION_TIMELINE, FOCUS_PERSONS

pytestmark = pytest.mark.spark
CFG = load_config("ci")


@pytest.fixture(scope="module")
def inputs(spark):
    events = events_df(spark, scenario_events())
    episodes = build_coercion_episodes(events, CFG.episodes).cache()
    admissions = build_involuntary_admissions(episodes, events, persons_df(spark, scenario_persons()),
                                              residence_df(spark, scenario_residence()), geo_df(spark), CFG).cache()
    return events, episodes, admissions


@pytest.fixture(scope="module")
def timeline(inputs):
    events, _, admissions = inputs
    df = build_admission_timeline(admissions, events, CFG.pathways)
    assert df.columns == ADMISSION_TIMELINE.columns
    return as_dicts(df)


def test_timeline_counts_per_phase_and_sector_agree(inputs, timeline):
    _, _, admissions = inputs
    expected = ref.timeline_counts(as_dicts(admissions), scenario_events())
    assert Counter((r["phase"], r["sector"]) for r in timeline) == Counter(expected)
    assert sum(expected.values()) == len(timeline) > 0


def test_timeline_window_edges_and_phases(inputs, timeline):
    _, episodes, _ = inputs
    a1 = next(e["episode_id"] for e in as_dicts(episodes) if e["first_record_id"] == "A1")
    rows = {r["source_record_id"]: r for r in timeline if r["admission_id"] == a1}
    assert "po3" not in rows                               # 366 days before the start
    assert rows["po2"]["phase"] == "before" and rows["po2"]["offset_days"] == pytest.approx(-273 - 4 / 24)
    assert (rows["A1"]["phase"], rows["A1"]["offset_days"]) == ("during", 0.0)  # own registration kept
    assert rows["b2"]["phase"] == "during" and rows["b3"]["phase"] == "after"   # at / after discharge
    assert rows["h1"]["event_type"] == "physical_holding"  # every event, counting or not
    assert "ss1" not in rows                               # started 14 months before: outside the window
    assert (rows["ss2"]["sector"], rows["ss2"]["phase"], rows["ss2"]["link_method"]) == ("social", "during", "deterministic")
    a3 = next(e["episode_id"] for e in as_dicts(episodes) if e["first_record_id"] == "A3")
    open_rows = {r["source_record_id"]: r["phase"] for r in timeline if r["admission_id"] == a3}
    assert open_rows["b4"] == "during"                     # no discharge: everything after the start is during


@pytest.fixture(scope="module")
def focus(inputs):
    events, episodes, _ = inputs
    df = build_focus_persons(episodes, events, CFG.pathways)
    assert df.columns == FOCUS_PERSONS.columns
    return {(r["person_key"], r["year"]): r for r in as_dicts(df)}


def test_focus_rows_agree_with_plain_python(inputs, focus):
    _, episodes, _ = inputs
    expected = {(r["person_key"], r["year"]): r for r in ref.focus_persons(as_dicts(episodes), scenario_events())}
    assert focus == expected


def test_focus_counts_and_rules_by_hand(focus):
    assert sorted(focus) == [("P1", 2023), ("P1", 2024), ("P2", 2023), ("P3", 2020), ("P3", 2022), ("P3", 2023)]
    p1 = focus[("P1", 2023)]
    assert (p1["coercion_episodes"], p1["involuntary_admissions"], p1["belt_episodes"], p1["holding_episodes"],
            p1["sedation_episodes"], p1["police_events"], p1["social_force_use_events"]) == (8, 3, 3, 0, 2, 2, 1)
    assert (p1["sectors_involved"], p1["is_frequent_admission"]) == (3, True)
    assert (focus[("P1", 2024)]["sectors_involved"], focus[("P1", 2024)]["is_frequent_admission"]) == (2, False)
    assert focus[("P2", 2023)]["coercion_episodes"] == 2   # shielding of 1 h does not count
    assert not any(r["is_frequent_admission"] for k, r in focus.items() if k[0] == "P3")  # 2 within 3 years
    assert not any(r["is_focus_person"] for r in focus.values())


def test_focus_thresholds_come_from_config(inputs):
    events, episodes, _ = inputs
    pw = dataclasses.replace(CFG.pathways, focus_episodes=7, critical_episodes=8, frequent_admission_count=2)
    got = {(r["person_key"], r["year"]): r for r in as_dicts(build_focus_persons(episodes, events, pw))}
    assert (got[("P1", 2023)]["is_focus_person"], got[("P1", 2023)]["is_critical_course"]) == (True, False)
    assert got[("P3", 2022)]["is_frequent_admission"] and got[("P2", 2023)]["is_frequent_admission"]
