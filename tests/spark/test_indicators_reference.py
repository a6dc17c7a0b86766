"""The Spark indicators reproduce a naive, independent reference computation exactly
(every cell of every indicator, value, numerator, denominator, per_100k), and the
hand-made edge cases of outputs.md's precise rules give the numbers worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from jobs.indicators.job import compute
from jobs.reference import municipalities_df
from schemas.tables import (
    MONITORING_BREAKDOWNS,
    MONITORING_BREAKDOWNS_UNSUPPRESSED,
    MONITORING_INDICATORS,
    MONITORING_INDICATORS_UNSUPPRESSED,
)
from tests.indicators_compare import as_dict as _as_dict
from tests.indicators_compare import compare as _compare
from tests.indicators_testdata import BREAKDOWNS, frames, handmade, random_lake
from tests.reference_indicators import compute_reference

pytestmark = pytest.mark.spark


def _cfg(lake_cfg, focus=3, critical=6):
    # These tests check the counting (the unsuppressed table) against the naive reference. The
    # interval check is off here: on these random tables (the first year is one December) it
    # refuses to publish some years (DisclosureError, docs/disclosure.md section 3), which is
    # what it must do, but it is not what these tests are about; disclosure control has its
    # own tests (tests/unit/test_indicator_disclosure.py, test_disclosure_demo.py).
    return lake_cfg.with_overrides(pathways={"focus_episodes": focus, "critical_episodes": critical},
                                   disclosure={"interval_check": False}, indicators=BREAKDOWNS)


def _run(spark, cfg, data):
    return compute(frames(spark, data), cfg, municipalities_df(spark, cfg.paths))


def _unsuppressed(tables):
    """Every unsuppressed row: outputs.md's indicators and the breakdowns (written apart)."""
    return pd.concat([tables[MONITORING_INDICATORS_UNSUPPRESSED.name],
                      tables[MONITORING_BREAKDOWNS_UNSUPPRESSED.name]], ignore_index=True)


@pytest.mark.parametrize("seed", [7, 2024])
def test_random_lake_matches_naive_reference(spark, lake_cfg, seed):
    data = random_lake(seed)
    cfg = _cfg(lake_cfg)
    tables = _run(spark, cfg, data)
    got = _as_dict(_unsuppressed(tables))
    years = sorted({e["start_ts"].year for e in data["episodes"] if e["counts_as_coercion"]})
    want = compute_reference(data["episodes"], data["admissions"], data["persons"], data["residence"], years,
                             focus=3, critical=6, breakdowns=True)
    problems = _compare(got, want)
    assert not problems, f"{len(problems)} differences, first: {problems[:15]}"
    assert len(got) > 3000  # every indicator x year x geo x age present
    assert {k[0] for k in got} >= {"1A", "1B", "1AB", "3AB", "7CD", "11EF", "12EF", "S1", "F1", "F2", "T1"}


def test_handmade_edge_cases(spark, lake_cfg):
    data = handmade()
    tables = _run(spark, _cfg(lake_cfg, focus=1, critical=3), data)
    got = _as_dict(_unsuppressed(tables))
    want = compute_reference(data["episodes"], data["admissions"], data["persons"], data["residence"],
                             [2021, 2022, 2023], focus=1, critical=3, breakdowns=True)
    assert not _compare(got, want)

    def v(ident, year, level="national", code="DK", age=None, measure="persons"):
        age = age or ("adult" if ident.endswith(("A", "C", "E")) and not ident.endswith(("AB", "CD", "EF"))
                      else "child" if ident.endswith(("B", "D", "F")) and not ident.endswith(("AB", "CD", "EF"))
                      else "all")
        return got[(ident, year, level, code, age, measure)][0]

    # e01 started 2021-12-31 and ended after 1 Jan 2022: ongoing in 2022 (11A persons), not an episode of 2022 (11C)
    assert v("11A", 2022) == 1 and v("11C", 2022, measure="episodes") == 1  # only e02 started in 2022
    # e05 ended exactly at 1 Jan 2022 00:00: not ongoing in 2022; person 3's e10 is the 2022 admission
    assert v("3AB", 2022, measure="episodes") == 1 and v("3AB", 2021, measure="episodes") == 3
    # person 2: child at the admission in 1081 (2023-06-01), adult at the belt in 1084 (2023-06-11)
    assert v("1B", 2023, "region", "1081") == 1 and v("1A", 2023, "region", "1084") == 1
    assert v("1B", 2023) == 1 and v("1A", 2023) == 1  # nationally placed by the first measure (child)
    # person 5 has no birth date: left out everywhere, so adult + child = all
    assert v("12AB", 2023) == 1 and v("12A", 2023) == 0 and v("12B", 2023) == 1
    # person 3 has no residence, person 6 lives in a code outside the reference: `unknown` municipality
    assert v("2AB", 2022, "municipality", "unknown") == 1 and v("2AB", 2021, "municipality", "unknown") == 1
    assert ("S1", 2023, "municipality", "unknown", "all", "share") in got
    assert ("S1", 2023, "municipality", "unknown", "all", "episodes") not in got  # zero: absent
    # shielding under 24 h does not count: person 4 has only a detention in 2022
    assert v("1AB", 2022, "region", "1083") == 2
    # acute sedation is a point event: e04 (no end) is not ongoing in 2023
    assert v("4AB", 2023) == 2  # p2 and p6 (p5 has no birth date)
    # populations: died on 1 Jan 2023 still counted; touching intervals: the later one (751) wins
    assert got[("1AB", 2023, "region", "1083", "all", "persons")][2] == 1
    assert got[("1AB", 2022, "region", "1082", "all", "persons")][2] == 1
    assert got[("1AB", 2022, "region", "1084", "all", "persons")][2] == 0
    # medians: belt 2021 = 6.5 h (e01), 2023 = mean of 12 h and 4 h; holding minutes 2022 = 7
    assert v("11EF", 2021, measure="median_hours") == pytest.approx(6.5)
    assert v("11EF", 2023, measure="median_hours") == pytest.approx(8.0)
    assert v("12EF", 2022, measure="median_minutes") == pytest.approx(7.0)
    # outputs.md "Medians": the episode count behind a median is in `denominator`, `numerator` is null
    assert got[("11EF", 2023, "national", "DK", "all", "median_hours")][1:3] == (None, 2)
    # 8: 2021 cohort p1 (no readmission) and p6 (first admission e14 readmitted)
    assert got[("8AB", 2021, "national", "DK", "all", "share")][:3] == (0.5, 1, 2)
    assert got[("8AB", 2021, "region", "1085", "all", "share")][:3] == (1.0, 1, 1)
    # 10: discharged 2022 = e05 (plan) and e10 (none) -> 1/2
    assert got[("10AB", 2022, "national", "DK", "all", "share")][:3] == (0.5, 1, 2)
    # S1 2021: e14 short of e05, e14, e15
    assert got[("S1", 2021, "national", "DK", "all", "share")][:3] == (pytest.approx(1 / 3), 1, 3)
    # F1 (> 1 episode started in the year): p1 (3) and p3 (2) in 2022; p1 has none in 1084 in 2022
    assert v("F1", 2022, age="all") == 2 and v("F1", 2022, "region", "1082", "all") == 1
    assert v("F1", 2022, "region", "1084", "all") == 0
    # T1 2022: e02, e03, e04 over the 4 persons alive and resident on 1 Jan 2022
    assert got[("T1", 2022, "national", "DK", "all", "rate")] == (75_000.0, 3, 4, 75_000.0)


def test_published_table_has_contract_columns(spark, lake_cfg):
    tables = _run(spark, _cfg(lake_cfg), random_lake(11, n_persons=15, n_episodes=60))
    for name in (MONITORING_INDICATORS.name, MONITORING_INDICATORS_UNSUPPRESSED.name, MONITORING_BREAKDOWNS.name,
                 MONITORING_BREAKDOWNS_UNSUPPRESSED.name):
        assert list(tables[name].columns) == MONITORING_INDICATORS.columns
    assert not tables[MONITORING_INDICATORS_UNSUPPRESSED.name]["suppressed"].any()


def test_duration_bands_and_age_split_handmade(spark, lake_cfg):
    """The new rows (issue 20 point 5) on the hand-made edge cases, worked out by hand: band
    limits are inclusive below and exclusive above (e02 lasts exactly 1 h: `1_2h`; e17 exactly
    4 h: `4_24h`), and a person is split 0-14 / 15-17 by the age at the measure that places them."""
    data = handmade()
    tables = _run(spark, _cfg(lake_cfg, focus=1, critical=3), data)
    got = _as_dict(_unsuppressed(tables))

    def n(ident, year, measure, age="all", level="national", code="DK"):
        return got[(ident, year, level, code, age, measure)][1]

    # belt: 2021 e01 (6.5 h), 2022 e02 (1 h exactly), 2023 e07 (12 h, adult) and e17 (4 h exactly)
    assert n("11CD", 2021, "episodes_4_24h") == 1 and n("11CD", 2021, "episodes_under_1h") == 0
    assert n("11CD", 2022, "episodes_1_2h") == 1 and n("11CD", 2022, "episodes_under_1h") == 0
    assert n("11CD", 2023, "episodes_4_24h") == 2 and n("11CD", 2023, "episodes_2_4h") == 0
    assert n("11C", 2023, "episodes_4_24h", "adult") == 2
    # holding: e03 7 min (2022), e08 3 min (2023; p2 a child then); e13 (p5, no birth date) nowhere
    assert n("12CD", 2022, "episodes_2_30min") == 1 and n("12CD", 2023, "episodes_2_30min") == 1
    assert n("12D", 2023, "episodes_2_30min", "child") == 1 and n("12CD", 2023, "episodes_under_2min") == 0
    # written apart: the contract tables hold exactly outputs.md's measures, the breakdown tables the rest
    contract = {"persons", "episodes", "episodes_red", "episodes_yellow", "share", "rate", "median_hours",
                "median_minutes"}
    breakdowns = {"episodes_under_2min", "episodes_2_30min", "episodes_30min_plus", "episodes_under_1h",
                  "episodes_1_2h", "episodes_2_4h", "episodes_4_24h", "episodes_24_48h", "episodes_48h_plus",
                  "persons_age_0_14", "persons_age_15_17", "episodes_age_0_14", "episodes_age_15_17"}
    for name in (MONITORING_INDICATORS.name, MONITORING_INDICATORS_UNSUPPRESSED.name):
        assert set(tables[name]["measure"]) == contract, name
    for name in (MONITORING_BREAKDOWNS.name, MONITORING_BREAKDOWNS_UNSUPPRESSED.name):
        assert set(tables[name]["measure"]) == breakdowns, name
    assert len(tables[MONITORING_BREAKDOWNS.name]) == len(tables[MONITORING_BREAKDOWNS_UNSUPPRESSED.name])
    # every band row of a year sums to the median's episode count (all have an end here)
    for year in (2021, 2022, 2023):
        bands = sum(v[1] for k, v in got.items() if k[0] == "11CD" and k[1] == year and k[2] == "national"
                    and k[5].startswith("episodes_"))  # 11CD (all ages) has no age-split rows
        assert bands == got[("11EF", year, "national", "DK", "all", "median_hours")][2]
    # age split: p3 (born 2010) is 12 in 2022, p2 (born 2005-06-10) 17 at the 2023 admission
    assert n("1B", 2022, "persons_age_0_14", "child") == 1 and n("1B", 2022, "persons_age_15_17", "child") == 0
    assert n("2B", 2023, "persons_age_15_17", "child") == 1 and n("2B", 2023, "persons_age_0_14", "child") == 0
    assert n("3B", 2022, "episodes_age_0_14", "child", "region", "1083") == 1
    for (ident, year, level, code, age, measure), values in got.items():
        if measure.endswith("_age_0_14"):
            other = got[(ident, year, level, code, age, measure.replace("_0_14", "_15_17"))][1]
            assert values[1] + other == got[(ident, year, level, code, age, measure[:-len("_age_0_14")])][1]
