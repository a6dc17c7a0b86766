"""The breakdowns are protected after the contract's rows (jobs/indicators/layers.py): the
contract table is the same with them as without them, and a breakdown family that cannot be
protected with the contract fixed is withheld.

Each problem is built by hand from units (tests/disclosure_testdata.py, no jobs/indicators
code) twice: with the breakdown cells and without them (the table a release with the
breakdowns off protects). The attack is the independent audit (jobs/disclosure_audit/).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from jobs.config import load_config
from jobs.disclosure_audit import Markers, attack
from jobs.indicators.assemble import split_breakdowns
from jobs.indicators.definitions import SPECS, specs
from jobs.indicators.disclosure import apply_disclosure
from jobs.indicators.geography import Geography
from jobs.indicators.layers import contract_inner, families
from jobs.indicators.model import build_model
from jobs.indicators.release import release
from tests.disclosure_testdata import build, episodes

pytestmark = pytest.mark.unit

CFG = load_config("ci")  # breakdowns on (conf/base), at national level
DISCLOSURE = dataclasses.replace(CFG.disclosure, interval_check=True)
MARKERS = Markers(min_count=DISCLOSURE.min_count, primary=DISCLOSURE.suppressed_marker,
                  secondary=DISCLOSURE.secondary_marker)
EVERY = specs(CFG.indicators)
KEY = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]
RUN_DATE = dt.date(2023, 6, 1)  # 2022 final
GEO = Geography.from_reference(CFG.paths)


def children(young: int, old: int, adults: int = 20) -> list[list[tuple]]:
    """Persons with coercion (indicator 1), national: `young` aged 0-14, `old` aged 15-17, adults."""
    units = episodes(adults, ("1A", "national", "DK", "adult", "persons"), ("1AB", "national", "DK", "all", "persons"))
    for split, n in (("persons_age_0_14", young), ("persons_age_15_17", old)):
        units += episodes(n, ("1B", "national", "DK", "child", "persons"), ("1AB", "national", "DK", "all", "persons"),
                          ("1B", "national", "DK", "child", split))
    return units


def belts(bands: dict[str, int]) -> tuple[list[list[tuple]], list[tuple]]:
    """Belt episodes, national all ages, each in 11CD, the median's count and its band; the
    bands not given are zero rows."""
    units = []
    for band, n in bands.items():
        units += episodes(n, ("11CD", "national", "DK", "all", "episodes"),
                          ("11EF", "national", "DK", "all", "median_hours", "den"),
                          ("11CD", "national", "DK", "all", band))
    every = [s.measure for s in EVERY if s.parent == "11CD:episodes" and s.duration_range]
    return units, [("11CD", "national", "DK", "all", b) for b in every if b not in bands]


def without_breakdowns(units: list[list[tuple]]) -> list[list[tuple]]:
    contract = {s.measure for s in SPECS}
    return [[c for c in unit if c[4] in contract] for unit in units]


def published(units: list[list[tuple]], zeros: list[tuple] = ()) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    """(contract rows, breakdown rows) as released with the breakdowns, and the protection."""
    table, inner = build(units, zeros)
    out, protection = release(table, inner, None, DISCLOSURE, RUN_DATE, GEO, specs=EVERY)
    contract, breakdowns = split_breakdowns(out)
    return contract, breakdowns, protection


def off(units: list[list[tuple]]) -> pd.DataFrame:
    """The contract rows as a release with the breakdowns off publishes them."""
    table, inner = build(without_breakdowns(units))
    out, _ = release(table, inner, None, DISCLOSURE, RUN_DATE, GEO, specs=SPECS)
    return out


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.sort_values(KEY).reset_index(drop=True), b.sort_values(KEY).reset_index(drop=True))


def audit(rows: pd.DataFrame):
    return attack(rows, None, MARKERS, GEO, CFG.indicators.baseline_years, specs=EVERY)


def test_a_singleton_age_row_is_withheld_with_its_family_instead_of_costing_the_contract():
    """One child aged 0-14 beside six aged 15-17: the 0-14 row is `<5`; hiding 15-17 with it does
    not help the one child, who knows their own 1 and reads 15-17 = 7 - 1 off the shown child
    count. Protected together, the contract paid for it (the child count hidden, and with it the
    adult or all-ages count); protected after the contract, the age family is withheld whole and
    the contract table is the one published without breakdowns. Fails without the withholding
    (DisclosureError) and without the contract-first step (contract rows hidden)."""
    units = children(young=1, old=6)
    table, inner = build(units)
    together = apply_disclosure(table, inner, DISCLOSURE, GEO, specs=EVERY)
    assert split_breakdowns(together)[0]["suppressed"].any()  # the cost this module removes
    contract, breakdowns, protection = published(units)
    same(contract, off(units))
    assert not contract["suppressed"].any()
    assert breakdowns.empty and protection.stats["withheld_rows"] == 2 and protection.stats["withheld_families"] == 1
    assert audit(contract).findings == []


def test_a_band_of_one_is_withheld_with_its_bands_and_the_median_count_stays_shown():
    """One belt episode under 1 h beside seven of 1-2 h: the 1-2 h band = the median's count - 1 for
    the one owner. The bands (zero rows included) are withheld; 11CD and the median are shown."""
    units, zeros = belts({"episodes_under_1h": 1, "episodes_1_2h": 7})
    contract, breakdowns, protection = published(units, zeros)
    same(contract, off(units))
    assert not contract["suppressed"].any()
    assert breakdowns.empty and protection.stats["withheld_rows"] == 6


def test_a_breakdown_that_can_be_protected_is_published_and_hides_no_contract_row():
    """Three children aged 0-14 and six aged 15-17: the 0-14 `<5` is protected by hiding 15-17,
    not withheld; the contract table is unchanged and the audit recovers nothing."""
    units = children(young=3, old=6)
    contract, breakdowns, protection = published(units)
    same(contract, off(units))
    shown = dict(zip(breakdowns["measure"], breakdowns["display_value"]))
    assert shown == {"persons_age_0_14": DISCLOSURE.suppressed_marker, "persons_age_15_17": DISCLOSURE.secondary_marker}
    assert protection.stats["withheld_rows"] == 0
    assert audit(pd.concat([contract, breakdowns])).findings == []


def test_mixed_problem_contract_unchanged_and_nothing_recovered():
    """Ages, bands and a region split together, a few of them small: whatever is withheld, the
    contract rows equal the release without breakdowns and the audit recovers nothing from both
    tables together."""
    units = children(young=2, old=9, adults=14)
    belt, zeros = belts({"episodes_under_1h": 3, "episodes_1_2h": 12, "episodes_4_24h": 1, "episodes_48h_plus": 6})
    units += belt
    units += episodes(2, ("1A", "region", "1084", "adult", "persons"))
    contract, breakdowns, _ = published(units, zeros)
    same(contract, off(units))
    assert len(breakdowns) > 0
    assert audit(pd.concat([contract, breakdowns])).findings == []


def test_families_group_the_rows_that_split_one_cell():
    units, zeros = belts({"episodes_under_1h": 2, "episodes_1_2h": 7})
    units += children(young=3, old=6)
    table, _ = build(units, zeros)
    fam = families(table, EVERY)
    groups = {}
    for f, m in zip(fam, table["measure"]):
        if f is not None:
            groups.setdefault(f, set()).add(m)
    assert sorted(map(sorted, groups.values())) == [
        sorted(s.measure for s in EVERY if s.parent == "11CD:episodes" and s.duration_range),
        ["persons_age_0_14", "persons_age_15_17"]]
    assert all(f is None for f, m in zip(fam, table["measure"]) if m in ("persons", "episodes", "median_hours"))


def test_contract_inner_merges_the_cells_the_breakdowns_split():
    units = children(young=3, old=6)
    _, inner = build(units)
    _, off_inner = build(without_breakdowns(units))
    merged = contract_inner(inner)
    assert sorted(map(tuple, merged["signature"])) == sorted(map(tuple, off_inner["signature"]))
    assert dict(zip(map(tuple, merged["signature"]), merged["units"])) == dict(zip(map(tuple, off_inner["signature"]),
                                                                                  off_inner["units"]))


def test_the_model_does_not_depend_on_the_order_spark_returns_the_cells_in():
    """build_model takes the inner cells by signature: a shuffled frame gives the same matrix, so
    the interval check's repairs (which follow the cell order) and the published pattern do not
    depend on Spark's partitions. Fails without the sort."""
    units = children(young=3, old=6) + belts({"episodes_under_1h": 2, "episodes_1_2h": 7})[0]
    table, inner = build(units)
    order = list(range(len(inner)))
    random.Random(7).shuffle(order)
    a = build_model(table, inner).a
    b = build_model(table, inner.iloc[order].reset_index(drop=True)).a
    assert order != sorted(order)
    np.testing.assert_array_equal(a.toarray(), b.toarray())


def test_reproduce_reads_an_absent_breakdown_as_withheld_and_an_absent_contract_row_as_a_difference():
    from jobs.audit.reproduce import Outcome, _compare

    row = {"value": 3.0, "numerator": 3, "denominator": 1000, "per_100k": None, "suppressed": False,
           "display_value": "3", "definition_version": "t"}
    out = Outcome(cell=None, lineage=None, code_version_now="", config_hash_now="")  # type: ignore[arg-type]
    _compare(out, "persons_age_0_14", row, row, None, breakdown=True)
    assert out.identical and out.compared[0]["withheld"]
    _compare(out, "persons", row, row, None, breakdown=False)
    assert out.differences == ["persons: no published cell at the run's version"]


def test_a_year_carried_forward_keeps_its_withheld_family_out_and_the_next_year_is_protected_alike():
    """Release 1 (2022 final) withholds 2022's age family; release 2 (2023 final too) carries 2022
    verbatim, withheld rows still absent, and protects 2023 the same way."""
    first_units, second_units = children(young=1, old=6), children(young=1, old=6, adults=30)
    (t1, i1), (t2, i2) = build(first_units, year=2022), build(second_units, year=2023)
    table, inner = pd.concat([t1, t2], ignore_index=True), pd.concat([i1, i2], ignore_index=True)
    first, _ = release(table, inner, None, DISCLOSURE, RUN_DATE, GEO, specs=EVERY)
    second, protection = release(table, inner, first, DISCLOSURE, dt.date(2024, 6, 1), GEO, specs=EVERY)
    assert protection.stats["new_years"] == [2023] and protection.stats["withheld_rows"] == 2
    same(second[second["year"] == 2022], first)
    assert split_breakdowns(second)[1].empty  # neither year's age family is published
    assert not second["suppressed"].any()
