"""Release policy across published versions (jobs/indicators/release.py, docs/disclosure.md):
a year is published only when final, then carried forward unchanged; corrections are held back."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from jobs.config import load_config
from jobs.indicators.release import final_years, first_publication, release
from tests.disclosure_check import recoverable
from tests.disclosure_testdata import build, episodes

pytestmark = pytest.mark.unit

CFG = dataclasses.replace(load_config("ci").disclosure, interval_check=True)  # final_after_months: 3


def year_table(year: int, counts: dict[str, int]):
    units = []
    for region, n in counts.items():
        units += episodes(n, ("3AB", "national", "DK", "all", "episodes"), ("3AB", "region", region, "all", "episodes"))
    return build(units, year=year)


def two_years(c2022, c2023):
    (t1, i1), (t2, i2) = year_table(2022, c2022), year_table(2023, c2023)
    return pd.concat([t1, t2], ignore_index=True), pd.concat([i1, i2], ignore_index=True)


REGIONS_2022 = {"1081": 2, "1082": 10, "1083": 20, "1084": 30, "1085": 40}
REGIONS_2023 = {"1081": 30, "1082": 3, "1083": 25, "1084": 9, "1085": 40}


def test_a_year_is_final_three_months_after_its_end():
    assert first_publication(2022, 3) == dt.date(2023, 4, 1)
    assert first_publication(2022, 15) == dt.date(2024, 4, 1)
    assert final_years([2022, 2023], dt.date(2023, 3, 31), 3) == []
    assert final_years([2022, 2023], dt.date(2023, 4, 1), 3) == [2022]
    assert final_years([2022, 2023], dt.date(2024, 4, 1), 3) == [2022, 2023]


def test_only_final_years_are_published():
    table, inner = two_years(REGIONS_2022, REGIONS_2023)
    out, protection = release(table, inner, None, CFG, dt.date(2023, 6, 1))
    assert sorted(out.year.unique()) == [2022] and protection.stats["not_final"] == [2023]
    out, _ = release(table, inner, None, CFG, dt.date(2023, 3, 31))
    assert len(out) == 0


def test_published_years_are_carried_forward_unchanged_and_corrections_held_back():
    table, inner = two_years(REGIONS_2022, REGIONS_2023)
    first, _ = release(table, inner, None, CFG, dt.date(2023, 6, 1))
    assert (first[first.geo_code == "1081"].display_value == "<5").all()
    # a late correction: 1081 now 9 (would be shown), 1082 3 (would be <5), national 103 instead of 102
    corrected = {**REGIONS_2022, "1081": 9, "1082": 3, "1083": 21}
    table2, inner2 = two_years(corrected, REGIONS_2023)
    second, protection = release(table2, inner2, first, CFG, dt.date(2024, 6, 1))
    old = second[second.year == 2022].sort_values("geo_code").reset_index(drop=True)
    pd.testing.assert_frame_equal(old, first.sort_values("geo_code").reset_index(drop=True))
    assert protection.stats["held_back"] >= 1 and protection.stats["carried_years"] == [2022]
    assert protection.stats["new_years"] == [2023]
    new = second[second.year == 2023].reset_index(drop=True)
    assert (new[new.geo_code == "1082"].display_value == "<5").all()
    assert recoverable(new, year_table(2023, REGIONS_2023)[1]) == []


def test_a_night_with_no_newly_final_year_runs_no_suppression_and_keeps_the_release(monkeypatch):
    """Most nights publish nothing new; with a late correction (1081 from 2 to 9, pinned `<5`
    before) suppression over the carried rows could not even be solved. It must not run."""
    table, inner = two_years(REGIONS_2022, REGIONS_2023)
    first, _ = release(table, inner, None, CFG, dt.date(2024, 6, 1))  # both years final
    corrected = {**REGIONS_2022, "1081": 9, "1083": 21}
    table2, inner2 = two_years(corrected, REGIONS_2023)

    def must_not_run(*args, **kwargs):
        raise AssertionError("protect() ran on a night with nothing new to publish")

    monkeypatch.setattr("jobs.indicators.release.protect_contract_first", must_not_run)
    second, protection = release(table2, inner2, first, CFG, dt.date(2024, 7, 1))
    pd.testing.assert_frame_equal(second.reset_index(drop=True), first.reset_index(drop=True))
    assert protection.stats["new_years"] == [] and protection.stats["held_back"] >= 1
