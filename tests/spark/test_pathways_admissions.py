"""analytics.involuntary_admissions on the small scenario of tests/pathways_testdata.py.

Checked two ways: hand-written expectations for the rules' edge cases, and row for row
against the independent plain-Python computation in tests/pathways_reference.py.
"""
import pathways_reference as ref
import pytest
from pathways_testdata import (
    GEO,
    as_dicts,
    events_df,
    geo_df,
    persons_df,
    residence_df,
    scenario_events,
    scenario_persons,
    scenario_residence,
    ts,
)

from jobs.config import load_config
from jobs.events.episodes import build_coercion_episodes
from jobs.pathways.admissions import build_involuntary_admissions
from schemas.tables import INVOLUNTARY_ADMISSIONS

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def built(spark):
    cfg = load_config("ci")
    events = events_df(spark, scenario_events())
    episodes = build_coercion_episodes(events, cfg.episodes).cache()
    persons = persons_df(spark, scenario_persons())
    df = build_involuntary_admissions(episodes, events, persons, residence_df(spark, scenario_residence()),
                                      geo_df(spark), cfg)
    assert df.columns == INVOLUNTARY_ADMISSIONS.columns
    rows = as_dicts(df)
    episodes_rows = as_dicts(episodes)
    by_first = {e["episode_id"]: e["first_record_id"] for e in episodes_rows}
    return {by_first[r["admission_id"]]: r for r in rows}, episodes_rows


def test_discharge_duration_and_short(built):
    a, _ = built
    got = {k: (r["discharge_ts"], r["duration_hours"], r["is_short_24h"]) for k, r in a.items()}
    assert got == {
        "A1": (ts("2023-03-10 09:00"), 213.0, False),   # the contact's end
        "A2": (ts("2023-04-09 20:00"), 11.0, True),     # contact ongoing -> the measure's end
        "A3": (None, None, False),                      # open: not short
        "A4": (ts("2023-03-01 20:00"), 10.0, True),     # contact not found -> the measure's end
        "A5": (ts("2023-03-02 10:00"), 24.0, False),    # exactly 24 h is not short
        "A6": (ts("2020-01-02 00:00"), 24.0, False),
        "A7": (ts("2023-01-01 00:00"), 24.0, False),
    }


def test_person_facts_and_geography(built):
    a, _ = built
    got = {k: (r["papers"], r["age_at_start"], r["age_group"], r["residence_municipality_code"],
               r["residence_region_code"], r["health_cluster_code"]) for k, r in a.items()}
    assert got["A1"] == ("red", 42, "adult", "751", "1082", "SK09")   # moved on the admission day
    assert got["A2"] == ("yellow", 42, "adult", "751", "1082", "SK09")
    assert got["A4"] == ("yellow", 14, "child", None, None, None)      # no residence known
    assert got["A6"] == ("red", None, None, None, None, None)          # no register facts at all


def test_order_prior_and_readmission(built):
    a, _ = built
    got = {k: (r["admission_number_for_person"], r["prior_involuntary_admissions_3y"], r["readmitted_involuntary_30d"])
           for k, r in a.items()}
    assert (got["A1"], got["A2"], got["A3"]) == ((1, 0, True), (2, 1, False), (3, 2, False))  # 30 d vs 30 d + 1 min
    assert sorted([got["A4"][0], got["A5"][0]]) == [1, 2] and got["A4"][1:] == got["A5"][1:] == (0, False)
    assert (got["A6"], got["A7"]) == ((1, 0, False), (2, 1, False))    # exactly 1095 days before counts


def test_contacts_plans_and_coercion_during(built):
    a, _ = built
    got = {k: (r["psych_contact_90d_before"], r["days_since_last_psych_contact"], r["has_discharge_plan"],
               r["belt_episodes_during"], r["holding_episodes_during"], r["sedation_episodes_during"])
           for k, r in a.items()}
    assert got["A1"] == (True, 90.0, True, 2, 0, 2)        # own contact excluded; transfer holding dropped
    assert got["A2"][:3] == (True, pytest.approx(38 + 22 / 24), False)
    assert got["A3"][:4] == (True, pytest.approx(30 + (12 * 60 + 1) / 1440), False, 1)   # open: belt in 2024 counts
    assert got["A4"] == (False, None, False, 0, 0, 0)


def test_social_and_police(built):
    a, _ = built
    got = {k: (r["social_services_active_at_start"], r["social_force_use_365d_before"],
               r["police_events_365d_before"], r["police_assisted"]) for k, r in a.items()}
    assert got["A1"] == (["SEL85"], 1, 2, True)    # end date = start date is active; 366 d before is not counted
    assert got["A2"] == (["SEL99"], 1, 3, True)    # assistance exactly 24 h before
    assert got["A3"] == (["SEL99"], 1, 3, False)
    assert got["A4"] == ([], 0, 0, False)


def test_agrees_row_for_row_with_plain_python(spark, built):
    a, episodes = built
    expected = ref.admissions(episodes, scenario_events(), [dict(person_key=p, birth_date=b) for p, _, b in scenario_persons()],
                              scenario_residence(), GEO)
    got = sorted(a.values(), key=lambda r: r["admission_id"])
    expected = sorted(expected, key=lambda r: r["admission_id"])
    assert len(got) == len(expected) == 7
    for g, e in zip(got, expected):
        assert set(g) == set(e)
        for col in INVOLUNTARY_ADMISSIONS.columns:
            assert g[col] == pytest.approx(e[col]) if isinstance(e[col], float) else g[col] == e[col], col
