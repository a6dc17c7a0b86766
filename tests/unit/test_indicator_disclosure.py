"""Disclosure control (outputs.md): primary and secondary suppression, markers, and the two
proofs the issue asks for: no suppressed value can be recovered by subtraction within any
group, and no count 1-4 is visible anywhere in the published table.

The realistic table comes from the naive reference (tests/reference_indicators.py) on a
random tiny lake, so this stays a pure-Python test."""
from __future__ import annotations

import csv
from functools import lru_cache

import pandas as pd
import pytest

from jobs.config import DisclosureConfig, load_config
from jobs.errors import DisclosureError
from jobs.indicators.checks import assert_publishable, missing_cells, recoverable_cells, visible_small_counts
from jobs.indicators.definitions import SPECS
from jobs.indicators.disclosure import apply_disclosure, format_value
from jobs.indicators.geography import Geography
from schemas.tables import MONITORING_INDICATORS
from tests.indicators_testdata import random_lake
from tests.reference_indicators import REFERENCE, compute_reference

pytestmark = pytest.mark.unit

CFG = DisclosureConfig()
COUNTS = ("persons", "episodes", "episodes_red", "episodes_yellow")


@lru_cache(maxsize=1)
def geo() -> Geography:
    return Geography.from_reference(load_config("ci").paths)


def table(rows) -> pd.DataFrame:
    """rows: (indicator_id, geo_level, geo_code, age_group, value/numerator, denominator, measure)."""
    recs = []
    for ident, level, code, age, num, den, measure in rows:
        value = (num / den if den else None) if measure == "share" else float(num)
        recs.append(dict(indicator_id=ident, year=2022, geo_level=level, geo_code=code, age_group=age,
                         measure=measure, value=value, numerator=num, denominator=den, per_100k=None,
                         suppressed=False, display_value=None, definition_version="t"))
    return pd.DataFrame(recs, columns=MONITORING_INDICATORS.columns).astype(
        {"value": "Float64", "numerator": "Int64", "denominator": "Int64", "per_100k": "Float64"})


def shown(df, ident, level, code, age="all", measure="persons"):
    row = df[(df.indicator_id == ident) & (df.geo_level == level) & (df.geo_code == code) & (df.age_group == age)
             & (df.measure == measure)]
    assert len(row) == 1
    return row.iloc[0]["display_value"]


def test_primary_suppresses_one_to_four_and_shows_zero_and_nulls_values():
    df = table([("1A", "national", "DK", "adult", 0, 1000, "persons"), ("1B", "national", "DK", "child", 4, 1000, "persons"),
                ("1AB", "national", "DK", "all", 4, 2000, "persons")])
    out = apply_disclosure(df, CFG, geo())
    assert list(out.display_value) == ["0", "<5", "<5"]
    hidden = out[out.suppressed]
    assert hidden[["value", "numerator", "denominator", "per_100k"]].isna().all().all()
    assert out.loc[0, "value"] == 0 and not out.loc[0, "suppressed"]


def test_share_numerator_or_denominator_triggers_primary():
    df = table([("8A", "national", "DK", "adult", 0, 3, "share"), ("8B", "national", "DK", "child", 2, 20, "share"),
                ("8AB", "national", "DK", "all", 2, 23, "share")])
    out = apply_disclosure(df, CFG, geo())
    assert list(out.display_value) == ["<5", "<5", "<5"]  # den 3; num 2; num 2


def test_secondary_picks_smallest_nonzero_and_cascades_to_a_fixed_point():
    # region 1081: children Aalborg (851) 3, Jammerbugt (849) 6, Hjørring (860) 20; many adults everywhere
    rows = []
    muni = {"851": (50, 3), "849": (40, 6), "860": (10, 20)}
    for code in ["773", "787", "810", "813", "820", "825", "840", "846", "849", "851", "860"]:
        adult, child = muni.get(code, (0, 0))
        rows += [("2A", "municipality", code, "adult", adult, 100, "persons"),
                 ("2B", "municipality", code, "child", child, 100, "persons"),
                 ("2AB", "municipality", code, "all", adult + child, 200, "persons")]
    rows += [("2A", "region", "1081", "adult", 100, 1000, "persons"),
             ("2B", "region", "1081", "child", 29, 1000, "persons"),
             ("2AB", "region", "1081", "all", 129, 2000, "persons")]
    out = apply_disclosure(table(rows), CFG, geo())
    assert shown(out, "2B", "municipality", "851", "child") == "<5"
    assert shown(out, "2B", "municipality", "849", "child") == "."   # smallest non-zero other child of the region
    assert shown(out, "2B", "municipality", "860", "child") == "20"
    assert shown(out, "2A", "municipality", "851", "adult") == "."   # then adult + child = all, in both
    assert shown(out, "2A", "municipality", "849", "adult") == "."
    assert shown(out, "2A", "municipality", "860", "adult") == "10"  # two adults hidden: the region group holds
    assert shown(out, "2B", "municipality", "773", "child") == "0"
    assert shown(out, "2AB", "municipality", "851") == "53" and shown(out, "2AB", "region", "1081") == "129"
    assert (out.display_value == ".").sum() == 3
    _assert_no_recovery(out)


def test_formatting_of_display_values():
    assert format_value("persons", 12.0, CFG) == "12"
    assert format_value("share", 0.3333, CFG) == "33.3%"
    assert format_value("median_hours", 1.75, CFG) == "1.8"
    assert format_value("rate", 123.456, CFG) == "123.5"
    assert format_value("share", None, CFG) == "-"


@lru_cache(maxsize=2)
def reference_table(seed: int) -> pd.DataFrame:
    data = random_lake(seed, n_persons=60, n_episodes=260)
    years = sorted({e["start_ts"].year for e in data["episodes"] if e["counts_as_coercion"]})
    ref = compute_reference(data["episodes"], data["admissions"], data["persons"], data["residence"], years,
                            focus=3, critical=6)
    recs = [dict(indicator_id=k[0], year=k[1], geo_level=k[2], geo_code=k[3], age_group=k[4], measure=k[5],
                 value=v[0], numerator=v[1], denominator=v[2], per_100k=v[3], suppressed=False, display_value=None,
                 definition_version="t") for k, v in ref.items()]
    return pd.DataFrame(recs, columns=MONITORING_INDICATORS.columns).astype(
        {"value": "Float64", "numerator": "Int64", "denominator": "Int64", "per_100k": "Float64"})


@pytest.mark.parametrize("seed", [3, 19])
def test_no_suppressed_value_can_be_recovered_by_subtraction(seed):
    out = apply_disclosure(reference_table(seed), CFG, geo())
    assert out.suppressed.sum() > 50 and (out.display_value == ".").sum() > 5  # the test has teeth
    _assert_no_recovery(out)


@pytest.mark.parametrize("seed", [3, 19])
def test_no_count_between_one_and_four_is_visible(seed):
    unsuppressed = reference_table(seed)
    out = apply_disclosure(unsuppressed, CFG, geo())
    visible = out[~out.suppressed]
    for col in ("numerator", "denominator"):
        assert not visible[col].between(1, 4).fillna(False).any(), col
    counts = visible[visible.measure.isin(COUNTS)]
    assert not counts.value.between(1, 4).fillna(False).any()
    # per_100k x population gives the count back: it is hidden wherever the count is
    assert out[out.suppressed].per_100k.isna().all()
    # every unsuppressed row with a 1-4 count was suppressed
    small = (unsuppressed.numerator.between(1, 4) | ((unsuppressed.measure == "share")
                                                     & unsuppressed.denominator.between(1, 4))).fillna(False)
    assert out[small.to_numpy()].suppressed.all()
    assert (out[small.to_numpy()].display_value == "<5").all()
    # zero stays zero
    zero_counts = (unsuppressed.measure.isin(COUNTS) & (unsuppressed.numerator == 0)).fillna(False).to_numpy()
    assert (out[zero_counts & ~out.suppressed.to_numpy()].display_value == "0").all()


def _groups_from_reference_files(df):
    """Additive groups built independently from shared/reference: (total key, member keys)."""
    with open(REFERENCE / "municipalities.csv", encoding="utf-8") as fh:
        mun_region = {r["municipality_code"]: r["region_code"] for r in csv.DictReader(fh)}
    with open(REFERENCE / "health_clusters.csv", encoding="utf-8") as fh:
        cluster_region = {r["health_cluster_code"]: r["region_code"] for r in csv.DictReader(fh)}
    groups: dict = {}
    for r in df.itertuples():
        fam = (_pair_family(r.indicator_id), r.measure, r.year)
        if r.age_group in ("adult", "child"):
            groups.setdefault((fam, r.geo_level, r.geo_code, "all"), []).append(r.Index)
        if r.geo_level == "municipality":
            groups.setdefault((fam, "national", "DK", r.age_group), []).append(r.Index)
            if r.geo_code in mun_region:
                groups.setdefault((fam, "region", mun_region[r.geo_code], r.age_group, "m"), []).append(r.Index)
        if r.geo_level == "health_cluster":
            groups.setdefault((fam, "region", cluster_region[r.geo_code], r.age_group, "h"), []).append(r.Index)
    return groups


def _pair_family(ident):
    """'2A', '2B', '2AB' -> '2'; '7C', '7D', '7CD' -> '7C'; S1/F1/F2/T1 -> themselves."""
    if ident in ("S1", "F1", "F2", "T1"):
        return ident
    stem = ident.rstrip("ABCDEF")
    letters = ident[len(stem):]
    return stem + {"A": "A", "B": "A", "AB": "A", "C": "C", "D": "C", "CD": "C", "E": "E", "F": "E", "EF": "E"}[letters]


def _assert_no_recovery(out):
    """Try total - (sum of the shown members) in every group: it must never isolate one hidden member."""
    index = {(_pair_family(r.indicator_id), r.measure, r.year, r.geo_level, r.geo_code, r.age_group): r.Index
             for r in out.itertuples()}
    for key, members in _groups_from_reference_files(out).items():
        fam, level, code, age = key[0], key[1], key[2], key[3]
        total = index.get((fam[0], fam[1], fam[2], level, code, age))
        if total is None or out.loc[total, "suppressed"]:
            continue
        hidden = [m for m in members if out.loc[m, "suppressed"]]
        assert len(hidden) != 1, (
            f"{out.loc[hidden[0], ['indicator_id', 'year', 'geo_level', 'geo_code', 'age_group', 'measure']].tolist()} "
            f"= {out.loc[total, 'indicator_id']} total - shown members")


def test_invariant_checks_pass_on_protected_table_and_catch_tampering():

    out = apply_disclosure(reference_table(3), CFG, geo())
    assert_publishable(out, geo(), CFG)
    tampered = out.copy()
    i = tampered.index[(tampered.display_value == "<5")][0]
    tampered.loc[i, ["suppressed", "numerator", "value"]] = [False, 3, 3.0]
    assert visible_small_counts(tampered, CFG)
    with pytest.raises(DisclosureError, match="disclosure problems"):
        assert_publishable(tampered, geo(), CFG)
    lone = out.copy()
    j = lone.index[(lone.display_value == ".") & (lone.geo_level == "municipality")][0]
    lone.loc[j, "suppressed"] = False  # undo one secondary suppression: its partner becomes recoverable
    assert any("recoverable" in p for p in recoverable_cells(lone, geo(), CFG.groups))
    years = sorted(out.year.unique())
    assert missing_cells(out, SPECS, years, geo()) == []
    assert missing_cells(out[out.geo_code != "SK01"], SPECS, years, geo())
