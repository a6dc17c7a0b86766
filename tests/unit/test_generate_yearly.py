"""Yearly totals of restrictive measures on the calibrated trend line (jobs/generate/yearly.py).

The helpers are checked against plain arithmetic on small inputs; the demo-scale test runs the
generator's arrays (no files, ~2 s) and recounts per year independently: T1 registrations per
measure equal the draw's total spread by person-days x trend (±1 for rounding), and the heavy
tail the Task Force's focus rule looks for is still there. With `stratify_years: false` the
same demo draw is 32.8 % above the trend line in 2025 and the trend test fails.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jobs.config import load_config
from jobs.generate import coercion as coercion_model
from jobs.generate import health, yearly
from jobs.generate.arrays import DAY, NO_TIME, parse_day, year_of_day
from jobs.generate.coercion import M
from jobs.generate.params import Params, build_params
from jobs.generate.persons import Geography, build_people
from jobs.generate.places import build_departments
from schemas.codes import HOLDING_PURPOSES

pytestmark = pytest.mark.unit

YEARS = list(range(2019, 2026))
T1_MEASURES = ("belt_restraint", "physical_holding", "acute_sedation")


def test_targets_spread_the_total_by_exposure_and_trend():
    years = np.array([2022, 2023, 2024], np.int64)
    out = yearly.targets(1000, np.array([100.0, 100.0, 50.0]), 1.10, years)
    weights = [100 / 1.1, 100.0, 50 * 1.1]  # exposure x 1.1 ** (year - 2023)
    assert out.tolist() == [round(1000 * w / sum(weights)) for w in weights] == [370, 407, 224]
    assert yearly.targets(10, np.zeros(3), 1.0, years).tolist() == [0, 0, 0]


def test_exposure_counts_person_days_inside_each_year_of_the_period():
    start, end = parse_day("2022-07-01"), parse_day("2023-12-31")
    birth = np.array([parse_day("1990-01-01"), parse_day("2023-03-01"), parse_day("1950-01-01")], np.int64)
    alive_to = np.array([end, end, parse_day("2022-07-10")], np.int64)  # the third dies on 10 July 2022
    registered = np.array([True, True, True])
    years = yearly.period_years(start, end)
    assert years.tolist() == [2022, 2023]
    out = yearly.exposure(birth, alive_to, registered, years, start, end)
    assert out.tolist() == [184 + 10, 365 + (end - parse_day("2023-03-01") + 1)]
    out = yearly.exposure(birth, alive_to, np.array([True, False, False]), years, start, end)
    assert out.tolist() == [184, 365]


def test_segments_split_stays_at_new_year_and_placement_stays_inside():
    start, end = parse_day("2022-01-01"), parse_day("2023-12-31")
    years = yearly.period_years(start, end)
    s0 = parse_day("2022-12-22") * DAY          # 20-day stay: 10 days in 2022, 10 in 2023
    s1 = parse_day("2021-12-30") * DAY          # begins before the period: 2 days outside
    stay_start = np.array([s0, s1], np.int64)
    stay_end = np.array([s0 + 20 * DAY, s1 + 4 * DAY], np.int64)
    seg = yearly.segments(stay_start, stay_end, years, start, end)
    assert sorted(zip(seg.stay.tolist(), seg.year.tolist())) == [(0, 0), (0, 1), (1, 0)]
    first = np.flatnonzero((seg.stay == 0) & (seg.year == 0))[0]
    cdf = lambda x: 1 - (1 - x) ** 2.5  # noqa: E731  Beta(1, 2.5)
    assert seg.lo[first] == 0.0 and seg.hi[first] == pytest.approx(0.5)
    assert seg.mass[first] == pytest.approx(cdf(0.5))
    assert seg.mass[seg.stay == 0].sum() == pytest.approx(1.0)
    late = np.flatnonzero(seg.stay == 1)[0]
    assert seg.lo[late] == pytest.approx(0.5) and seg.mass[late] == pytest.approx(1 - cdf(0.5))
    gen = np.random.default_rng(3)
    rows = np.full(20_000, np.flatnonzero((seg.stay == 0) & (seg.year == 1))[0])
    x = yearly.place(gen, seg, rows)
    assert x.min() >= 0.5 and x.max() < 1.0
    grid = np.linspace(0.5, 1.0, 200_001)
    density = (1 - grid) ** 1.5  # Beta(1, 2.5) up to a constant, truncated to [0.5, 1)
    assert x.mean() == pytest.approx((grid * density).sum() / density.sum(), abs=0.005)


def test_allocate_gives_each_year_its_need_in_proportion_to_weight():
    seg = yearly.Segments(np.arange(4, dtype=np.int64), np.array([0, 0, 1, 1], np.int64),
                          np.zeros(4), np.ones(4), np.ones(4))
    out = yearly.allocate(np.random.default_rng(1), np.array([30_000, 5], np.int64), seg,
                          np.array([1.0, 2.0, 0.0, 4.0]))
    assert out[:2].sum() == 30_000 and out[2] == 0 and out[3] == 5
    assert out[1] / out[0] == pytest.approx(2.0, rel=0.05)


def _params(stratify: bool) -> Params:
    params = build_params(load_config("ci"), scale="demo", seed=20240402, start="2019-01-01", end="2025-12-31",
                          frequency="monthly")
    rates = dataclasses.replace(params.rates,
                                coercion=dataclasses.replace(params.rates.coercion, stratify_years=stratify))
    return dataclasses.replace(params, rates=rates)


def _demo_counts(params: Params) -> dict[str, object]:
    geo = Geography.load(params)
    people = build_people(params, geo)
    course, codes = health.build_course(params, people)
    contacts = health.build_contacts(params, people, geo, build_departments(params.seed), course, codes)
    regs, _ = coercion_model.build_coercion(params, people, geo, course, contacts)
    year = year_of_day(regs["start"] // DAY)
    counted = ~regs["overlap"] & ((regs["measure"] != M["physical_holding"])
                                  | (regs["purpose"] == HOLDING_PURPOSES.index("independent")))
    per_measure = {m: np.array([(counted & (year == y) & (regs["measure"] == M[m])).sum() for y in YEARS])
                   for m in T1_MEASURES}
    days = []  # person-days alive per year, registered persons: a plain loop, not yearly.exposure
    alive_to = np.where(people.death == NO_TIME, params.end_day, people.death)[people.registered]
    birth = people.birth[people.registered]
    for y in YEARS:
        lo, hi = parse_day(f"{y}-01-01"), parse_day(f"{y + 1}-01-01")
        days.append(float(np.clip(np.minimum(alive_to + 1, hi) - np.maximum(birth, lo), 0, None).sum()))
    persons_per_year = []
    for y in YEARS:
        _, n = np.unique(regs["person"][counted & (year == y)], return_counts=True)
        persons_per_year.append(n)
    return {"per_measure": per_measure, "days": np.array(days), "persons": persons_per_year}


@pytest.fixture(scope="module")
def demo() -> dict[str, object]:
    return _demo_counts(_params(stratify=True))


def test_demo_t1_per_year_is_the_trend_line_up_to_rounding(demo):
    trend = _params(stratify=True).rates.coercion.trend_per_year
    for m, counts in demo["per_measure"].items():
        growth = (1 + float(trend[m])) ** (np.array(YEARS) - 2023)
        line = counts.sum() * demo["days"] * growth / (demo["days"] * growth).sum()
        assert np.abs(counts - line).max() <= 1.0, (m, counts.tolist(), np.round(line, 1).tolist())


def test_demo_keeps_the_heavy_tail_of_focus_persons(demo):
    # calibration.md: a small group carries most coercion (focus > 10, critical > 50 episodes a year)
    over_10 = [int((n > 10).sum()) for n in demo["persons"]]
    over_50 = [int((n > 50).sum()) for n in demo["persons"]]
    assert min(over_10) >= 5, over_10
    assert sum(over_50) >= 3, over_50
    top_share = [np.sort(n)[::-1][:5].sum() / n.sum() for n in demo["persons"]]
    assert min(top_share) >= 0.2, np.round(top_share, 2).tolist()
