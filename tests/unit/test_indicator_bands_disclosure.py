"""Disclosure control of the new rows of issue 20 point 5: duration bands and the 0-14 / 15-17
split of the children.

The identities a reader gets from them (the bands of a form add up to the episodes with an
end, which the median's `denominator` publishes; 0-14 + 15-17 = 0-17) are derived from the
definitions by both models: the independent audit (jobs/disclosure_audit/) recovers a single
band or age cell hidden alone, and the suppression (jobs/indicators/disclosure.py) hides
enough that the same audit recovers nothing. Tables are built by hand from units
(tests/disclosure_testdata.py, no jobs/indicators code)."""
from __future__ import annotations

import dataclasses
from functools import lru_cache

import pandas as pd
import pytest

from jobs.config import load_config
from jobs.disclosure_audit import Markers, attack
from jobs.indicators.definitions import IndicatorSpec, specs
from jobs.indicators.disclosure import _candidate_order, apply_disclosure
from jobs.indicators.geography import Geography
from jobs.indicators.model import build_model
from tests.disclosure_testdata import build, episodes
from tests.indicators_testdata import BREAKDOWNS

pytestmark = pytest.mark.unit

CFG = load_config("ci").with_overrides(indicators=BREAKDOWNS)  # national and region (conf/base: national)
DISCLOSURE = dataclasses.replace(CFG.disclosure, interval_check=True)
MARKERS = Markers(min_count=DISCLOSURE.min_count, primary=DISCLOSURE.suppressed_marker,
                  secondary=DISCLOSURE.secondary_marker)
BELT = {"episodes_under_1h": 10, "episodes_1_2h": 3, "episodes_2_4h": 7, "episodes_4_24h": 6,
        "episodes_24_48h": 0, "episodes_48h_plus": 5}


@lru_cache(maxsize=1)
def geo() -> Geography:
    return Geography.from_reference(CFG.paths)


def every_spec() -> tuple[IndicatorSpec, ...]:
    return specs(CFG.indicators)


def belt_units(no_end: int = 0) -> list[list[tuple]]:
    """Belt episodes started in the year, national all ages: each in 11CD, its band and the
    median's count; `no_end` more without an end (in 11CD only)."""
    units = []
    for band, n in BELT.items():
        units += episodes(n, ("11CD", "national", "DK", "all", "episodes"), ("11CD", "national", "DK", "all", band),
                          ("11EF", "national", "DK", "all", "median_hours", "den"))
    units += episodes(no_end, ("11CD", "national", "DK", "all", "episodes"))
    zero_bands = [("11CD", "national", "DK", "all", b) for b, n in BELT.items() if n == 0]
    return units, zero_bands


def child_units() -> list[list[tuple]]:
    """Persons with coercion (indicator 1) who were children: 3 aged 0-14, 6 aged 15-17."""
    units = []
    for split, n in (("persons_age_0_14", 3), ("persons_age_15_17", 6)):
        units += episodes(n, ("1B", "national", "DK", "child", "persons"), ("1B", "national", "DK", "child", split))
    return units


def hide(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The table as published with only the `measure` row suppressed as primary (`<5`)."""
    out = table.copy()
    mask = out["measure"] == measure
    out.loc[mask, ["value", "numerator", "denominator", "per_100k"]] = pd.NA
    out["suppressed"] = mask
    out["display_value"] = out["numerator"].astype("string").fillna(DISCLOSURE.suppressed_marker)
    return out


def audit(published: pd.DataFrame):
    return attack(published, None, MARKERS, geo(), CFG.indicators.baseline_years, specs=every_spec())


def recovered(report) -> dict[str, int | None]:
    return {f.key[5]: f.value for f in report.findings}


def test_a_band_hidden_alone_is_recovered_from_the_median_count():
    """1_2h = median count (31) - the other bands: the audit knows bands sum to the episodes
    with an end. (Fails if the audit's model has no band dimension: then it recovers nothing.)"""
    units, zeros = belt_units()
    table, _ = build(units, zeros)
    assert recovered(audit(hide(table, "episodes_1_2h"))) == {"episodes_1_2h": 3}


def test_bands_do_not_sum_to_all_episodes_when_some_have_no_end():
    """With two episodes without an end and the median's count not published, 11CD (33) minus
    the other bands is not the hidden band: the model must not claim bands sum to the total."""
    units, zeros = belt_units(no_end=2)
    table, _ = build(units, zeros)
    table = table[table["measure"] != "median_hours"]
    assert audit(hide(table, "episodes_1_2h")).findings == []


def test_suppression_protects_a_small_band():
    units, zeros = belt_units(no_end=2)
    table, inner = build(units, zeros)
    out = apply_disclosure(table, inner, DISCLOSURE, geo(), specs=every_spec())
    status = dict(zip(out["measure"], out["display_value"]))
    assert status["episodes_1_2h"] == DISCLOSURE.suppressed_marker
    assert (out["display_value"] == DISCLOSURE.secondary_marker).sum() >= 1  # a partner is hidden too
    assert audit(out).findings == []


def test_an_age_range_hidden_alone_is_recovered_and_suppression_prevents_it():
    table, inner = build(child_units())
    assert recovered(audit(hide(table, "persons_age_0_14"))) == {"persons_age_0_14": 3}
    out = apply_disclosure(table, inner, DISCLOSURE, geo(), specs=every_spec())
    status = dict(zip(out["measure"], out["display_value"]))
    assert status["persons_age_0_14"] == DISCLOSURE.suppressed_marker
    assert status["persons_age_15_17"] == DISCLOSURE.secondary_marker or status["persons"] == DISCLOSURE.secondary_marker
    assert audit(out).findings == []


def test_breakdowns_are_published_nationally_unless_configured():
    """conf/base publishes the bands and the age split at national level only (region rows of
    them were mostly `<5` and cost contract rows); an overlay can add region."""
    base = load_config("ci").indicators
    on = dataclasses.replace(base, child_split_measures=("persons",), duration_bands=CFG.indicators.duration_bands)
    levels = {s.measure: s.levels for s in specs(on) if s.parent}
    assert base.breakdown_levels == ("national",)
    assert levels["episodes_48h_plus"] == ("national",) and levels["persons_age_0_14"] == ("national",)
    wide = {s.measure: s.levels for s in specs(CFG.indicators) if s.parent}
    assert wide["episodes_48h_plus"] == ("national", "region")


def test_every_contract_row_is_wanted_before_any_breakdown_row():
    """The national all-ages bands (the most wanted tier before) come after a region row of the
    contract, so the elimination hides a band before it hides a contract row (docs/indicators.md
    "Status": together they cost the national T1). Fails with the breakdowns ordered by level."""
    units, zeros = belt_units()
    units += episodes(2, ("11CD", "region", "1084", "all", "episodes"), ("11CD", "national", "DK", "all", "episodes"))
    table, inner = build(units, zeros)
    table = table.reset_index(drop=True)
    order = _candidate_order(table, build_model(table, inner), list(range(len(table))))
    size = pd.to_numeric(table["numerator"]).fillna(0).to_numpy()
    measures = [table.at[i, "measure"] for i in order if size[i] > 0]
    bands = [k for k, m in enumerate(measures) if m.startswith("episodes_")]
    contract = [k for k, m in enumerate(measures) if not m.startswith("episodes_")]
    assert max(contract) < min(bands), measures
