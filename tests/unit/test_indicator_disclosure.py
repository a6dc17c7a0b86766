"""Disclosure control (outputs.md "Disclosure control"; docs/disclosure.md).

Each hole named in issue 16, on a small hand-built table (tests/disclosure_testdata.py builds
the table and the inner cells from units without jobs/indicators code), is attacked with an
independent plain attack (tests/disclosure_check.py: exact rational rank, the singleton
owner's view, and LP bounds): nothing may be recovered or pinned. Then property tests on
random unit-level data do the same for many seeds."""
from __future__ import annotations

import dataclasses
import random
from functools import lru_cache

import numpy as np
import pytest

from jobs.config import load_config
from jobs.errors import DisclosureError
from jobs.indicators.checks import assert_publishable, visible_small_counts
from jobs.indicators.disclosure import apply_disclosure, format_value
from jobs.indicators.geography import Geography
from tests.disclosure_check import pinned, recoverable
from tests.disclosure_testdata import build, episodes

pytestmark = pytest.mark.unit

# the interval check is on in conf/base too (docs/disclosure.md, section 3); kept explicit here
CFG = dataclasses.replace(load_config("ci").disclosure, interval_check=True)
REGIONS = ("1081", "1082", "1083", "1084", "1085")
E3 = "episodes"


@lru_cache(maxsize=1)
def geo() -> Geography:
    return Geography.from_reference(load_config("ci").paths)


def region_episodes(counts: dict[str, int], ident="3AB", measure=E3) -> list:
    units = []
    for region, n in counts.items():
        units += episodes(n, (ident, "national", "DK", "all", measure), (ident, "region", region, "all", measure))
    return units


def shown(out, ident, level="national", code="DK", age="all", measure=E3):
    row = out[(out.indicator_id == ident) & (out.geo_level == level) & (out.geo_code == code)
              & (out.age_group == age) & (out.measure == measure)]
    assert len(row) == 1
    return row.iloc[0]["display_value"]


def protected(units, extra=(), inequalities=()):
    table, inner = build(units, extra)
    out = apply_disclosure(table, inner, CFG)
    assert recoverable(out, inner) == [], "a hidden value is a linear combination of shown ones"
    assert pinned(out, inner, table, inequalities) == [], "a hidden value is pinned by bounds"
    assert visible_small_counts(out, CFG) == []
    return out


def test_region_is_national_minus_the_other_regions_for_episodes():
    out = protected(region_episodes({"1081": 2, "1082": 10, "1083": 20, "1084": 30, "1085": 40}))
    assert shown(out, "3AB", "region", "1081") == "<5"
    assert shown(out, "3AB", "region", "1082") == "."  # the smallest other region, not the national total
    assert shown(out, "3AB") == "102"
    assert int(out.suppressed.sum()) == 2


def test_red_plus_yellow_is_the_episode_count():
    units = (episodes(3, ("3AB", "national", "DK", "all", E3), ("3AB", "national", "DK", "all", "episodes_red"))
             + episodes(50, ("3AB", "national", "DK", "all", E3), ("3AB", "national", "DK", "all", "episodes_yellow")))
    out = protected(units)
    assert shown(out, "3AB", measure="episodes_red") == "<5"
    assert shown(out, "3AB", measure="episodes_yellow") == "." and shown(out, "3AB") == "53"


def test_t1_is_belt_plus_holding_plus_sedation():
    units = []
    for ident, n in (("11CD", 3), ("12CD", 20), ("13CD", 30)):
        units += episodes(n, (ident, "national", "DK", "all", E3), ("T1", "national", "DK", "all", "rate"))
    out = protected(units)
    assert shown(out, "11CD") == "<5" and shown(out, "12CD") == "." and shown(out, "13CD") == "30"
    assert shown(out, "T1", measure="rate") != "."  # the national target stays shown


def test_s1_episodes_are_the_s1_share_numerator():
    units = []
    for region, short, long in (("1081", 3, 10), ("1082", 47, 30)):
        cells = [("S1", lv, c, "all") for lv, c in (("national", "DK"), ("region", region))]
        units += episodes(short, *[(*c, E3) for c in cells], *[(*c, "share", p) for c in cells for p in ("num", "den")])
        units += episodes(long, *[(*c, "share", "den") for c in cells])
    out = protected(units)
    assert shown(out, "S1", "region", "1081") == "<5" and shown(out, "S1", "region", "1081", measure="share") == "<5"
    # 1082's count = national - 1081 both as episodes and as the share's numerator: both hidden, or the totals
    assert out[out.geo_code == "1082"].suppressed.all() or out[out.geo_code == "DK"].suppressed.all()


def test_share_numerator_and_denominator_add_up_over_age():
    units = []
    for age, num, den in (("adult", 2, 20), ("child", 10, 30)):
        cells = [("8" + ("A" if age == "adult" else "B"), "national", "DK", age), ("8AB", "national", "DK", "all")]
        units += episodes(num, *[(*c, "share", p) for c in cells for p in ("num", "den")])
        units += episodes(den - num, *[(*c, "share", "den") for c in cells])
    out = protected(units)
    assert shown(out, "8A", age="adult", measure="share") == "<5"
    assert shown(out, "8B", age="child", measure="share") == "."
    assert shown(out, "8AB", measure="share") == "24.0%"


def test_a_person_in_two_regions_is_not_additive():
    # 10 persons nationally; 3 in 1081 and 9 in 1082, two of them in both: 1081 != national - 1082
    units = []
    for k in range(10):
        regions = ["1081", "1082"] if k < 2 else (["1081"] if k < 3 else ["1082"])
        units.append([("1AB", "national", "DK", "all", "persons")])  # the national placement is one unit
        units += [[("1AB", "region", r, "all", "persons")] for r in regions]  # each region placement another
    out = protected(units)
    assert shown(out, "1AB", "region", "1081", measure="persons") == "<5"
    assert int(out.suppressed.sum()) == 1  # no secondary needed: the regions do not add up to the nation


def test_person_inequalities_can_pin_a_region_and_are_respected():
    # 13 persons, 4 only in 1081, 9 only in 1082: national <= sum of regions gives 1081 >= 4, with <5: = 4
    units = [[("1AB", "national", "DK", "all", "persons")] for _ in range(13)]
    units += [[("1AB", "region", "1081", "all", "persons")] for _ in range(4)]
    units += [[("1AB", "region", "1082", "all", "persons")] for _ in range(9)]
    table, inner = build(units)
    pos = {code: i for i, code in enumerate(table.geo_code)}
    inequalities = [((pos["DK"], "n"), [(pos["1081"], "n"), (pos["1082"], "n")])]
    out = protected(units, inequalities=inequalities)
    assert int(out.suppressed.sum()) >= 2  # the primary alone would be pinned at 4


def test_singleton_cannot_subtract_itself():
    # 1081 holds one episode, 1082 three: the owner of the one would get 1082 = national - 1 - shown
    out = protected(region_episodes({"1081": 1, "1082": 3, "1083": 20, "1084": 30, "1085": 40}))
    assert shown(out, "3AB", "region", "1081") == "<5" and shown(out, "3AB", "region", "1082") == "<5"
    assert shown(out, "3AB", "region", "1083") == "."


def test_a_zero_cannot_protect():
    out = protected(region_episodes({"1081": 3, "1083": 20, "1084": 30, "1085": 40}),
                    extra=[("3AB", "region", "1082", "all", E3)])
    assert shown(out, "3AB", "region", "1082") == "0"  # a hidden zero would protect nothing
    assert shown(out, "3AB", "region", "1083") == "."


def test_interval_pinning_total_eight_in_two_hidden_cells():
    # 1081 = 4 and 1082 = 4 hidden alone: their sum 8 with both <= 4 pins both at 4
    out = protected(region_episodes({"1081": 4, "1082": 4, "1083": 20, "1084": 30, "1085": 40}))
    assert int(out.suppressed.sum()) == 3 and shown(out, "3AB", "region", "1083") == "."


def test_median_over_few_episodes_is_suppressed_and_its_count_is_in_denominator():
    units = []
    for region, n in (("1081", 3), ("1082", 30)):
        units += episodes(n, ("11CD", "national", "DK", "all", E3), ("11CD", "region", region, "all", E3),
                          ("11EF", "national", "DK", "all", "median_hours"),
                          ("11EF", "region", region, "all", "median_hours"))
    table, _ = build(units)
    assert table[table.measure == "median_hours"].numerator.isna().all()
    out = protected(units)
    assert shown(out, "11EF", "region", "1081", measure="median_hours") == "<5"
    assert shown(out, "11EF", "region", "1082", measure="median_hours") == "."


def test_primary_nulls_values_and_zero_is_shown():
    out = protected(region_episodes({"1081": 4, "1083": 20, "1084": 30, "1085": 40}),
                    extra=[("3AB", "region", "1082", "all", E3)])
    hidden = out[out.suppressed]
    assert hidden[["value", "numerator", "denominator", "per_100k"]].isna().all().all()
    assert shown(out, "3AB", "region", "1082") == "0"


def test_formatting_of_display_values():
    assert format_value("persons", 12.0, CFG) == "12"
    assert format_value("share", 0.3333, CFG) == "33.3%"
    assert format_value("median_hours", 1.75, CFG) == "1.8"
    assert format_value("rate", 123.456, CFG) == "123.5"
    assert format_value("share", None, CFG) == "-"


def test_last_gate_catches_a_visible_small_count():
    out = protected(region_episodes({"1081": 2, "1082": 10, "1083": 20, "1084": 30, "1085": 40}))
    assert_publishable(out, geo(), CFG)
    tampered = out.copy()
    i = tampered.index[tampered.display_value == "<5"][0]
    tampered.loc[i, ["suppressed", "numerator", "value"]] = [False, 2, 2.0]
    with pytest.raises(DisclosureError, match="disclosure problems"):
        assert_publishable(tampered, geo(), CFG)


# --- property tests: random unit-level data, seeded -------------------------------------------------

def random_units(seed: int):
    """Episodes of belt/holding/sedation (11C/12C/13C, T1) and involuntary admissions (3, red/yellow)
    by region and age, and persons (1) placed nationally and in each region they were treated in."""
    rng = random.Random(seed)
    weights = [rng.choice([0, 1, 2, 5, 12]) for _ in REGIONS]
    units = []
    for _ in range(rng.randint(60, 200)):
        region = rng.choices(REGIONS, weights=[w + 0.01 for w in weights])[0]
        age = rng.choice(["adult", "adult", "child"])
        ident = rng.choice(["11C", "12C", "13C", "3A"])
        pair = ident[:-1] + ("CD" if ident.endswith("C") else "AB")
        one = ident if age == "adult" else ident[:-1] + ("D" if ident.endswith("C") else "B")
        cells = [(x, lv, c, a, E3) for x, a in ((one, age), (pair, "all"))
                 for lv, c in (("national", "DK"), ("region", region))]
        if ident in ("11C", "12C", "13C"):
            cells += [("T1", lv, c, "all", "rate") for lv, c in (("national", "DK"), ("region", region))]
        if ident == "3A":
            paper = rng.choice(["episodes_red", "episodes_yellow"])
            cells += [(x, lv, c, a, paper) for x, a in ((one, age), (pair, "all"))
                      for lv, c in (("national", "DK"), ("region", region))]
        units.append(cells)
    for _ in range(rng.randint(10, 40)):  # persons, some in two regions
        age = rng.choice(["adult", "child"])
        one = "1A" if age == "adult" else "1B"
        units.append([(x, "national", "DK", a, "persons") for x, a in ((one, age), ("1AB", "all"))])
        for region in rng.sample(REGIONS, rng.choice([1, 1, 2])):
            units.append([(x, "region", region, a, "persons") for x, a in ((one, age), ("1AB", "all"))])
    return units


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_leak_nothing(seed):
    units = random_units(seed)
    table, inner = build(units)
    out = apply_disclosure(table, inner, CFG)
    assert recoverable(out, inner) == []
    assert pinned(out, inner, table) == []
    assert visible_small_counts(out, CFG) == []
    small = table.numerator.between(1, 4).fillna(False).to_numpy()
    assert out.display_value[small].isin(["<5", "."]).all()
    # a 1..4 cell shown as `.` only where its `<5` would pin values: as `<5` again, something is pinned
    dotted = np.flatnonzero(small & (out.display_value == ".").to_numpy())
    for i in dotted:
        back = out.copy()
        back.loc[i, "display_value"] = "<5"
        assert pinned(back, inner, table), f"row {i} shown as `.` without need"


def test_random_tables_have_teeth():
    """The property test would see a leak: primary suppression alone leaves recoverable cells."""
    table, inner = build(random_units(3))
    primary_only = table.copy()
    small = table.numerator.between(1, 4).fillna(False)
    primary_only["suppressed"] = small
    primary_only["display_value"] = ["<5" if s else "x" for s in small]
    assert recoverable(primary_only, inner) or pinned(primary_only, inner, table)


def test_four_regions_of_one_under_a_national_four_show_the_national_as_dot():
    # national 4 over four regions of 1 and a shown zero, all 1..4: with every `<5` read as 1..4 each
    # region is at least 1 and together at most 4, so each is exactly 1, whatever else is hidden.
    # No secondary suppression changes that: the national cell (the total that caps its parts) is
    # shown as `.` instead (outputs.md rule 3 yields to rule 2), and then nothing is pinned.
    units = region_episodes({"1081": 1, "1082": 1, "1083": 1, "1084": 1})
    table, inner = build(units, [("3AB", "region", "1085", "all", E3)])
    out = apply_disclosure(table, inner, CFG)
    assert shown(out, "3AB") == "."
    assert [shown(out, "3AB", "region", r) for r in REGIONS] == ["<5", "<5", "<5", "<5", "0"]
    assert recoverable(out, inner) == []
    assert pinned(out, inner, table) == []
    # the attack: with the national cell read as `<5` (1..4) the regions are pinned again
    as_primary = out.copy()
    as_primary.loc[as_primary["display_value"] == ".", "display_value"] = "<5"
    assert len(pinned(as_primary, inner, table)) == 5
