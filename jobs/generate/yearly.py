"""Yearly totals of restrictive measures on the trend line: variance reduction for small samples.

Why: a year's restrictive-measure episodes come from few persons with a heavy-tailed
propensity (calibration.md: a few hundred persons a year nationally above the focus threshold,
tens above the critical one). Drawn independently per stay (Poisson), a 2 % sample's yearly T1 count scatters by
±20-35 % (one focus person carried 72 episodes in 2025), so the demo report's trend chart
jumped where the model has no jump. So, per measure, after the model's Poisson draw
(coercion.py `_on_trend_line`):

- `targets`: the draw's own total over the period, spread over the calendar years in
  proportion to population exposure (person-days alive, `exposure`) x the calibrated secular
  trend (1 + trend_per_year) ** (year - 2023). Each year's total is the trend line up to
  rounding; the level (and so the calibration) is the draw's, unchanged at every scale.
- A year below its target gets registrations added: `allocate` shares the shortfall out over
  that year's stay-year `segments` by multinomial, probability = the stay's Poisson mean x the
  share of its placement density inside the year, so who gets them (heavy tail, focus persons,
  children, regions) follows the model; `place` puts each inside its segment with the model's
  Beta(1, PLACEMENT_BETA) shape (measures early in a stay), truncated to the segment.
- A year above its target loses the surplus at random (coercion.py).

Pure numpy; every draw comes from the caller's generator, so a seed gives the same output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jobs.generate.arrays import DAY, parse_day
from jobs.generate.params import Params
from jobs.generate.persons import People

PLACEMENT_BETA = 2.5  # Beta(1, b) shape of a measure's position inside its stay (early in the stay)
TREND_YEAR = 2023     # trend_per_year is relative to this year (generate.yml)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Segments:
    """The parts of stays inside one calendar year of the period (one row per stay-year)."""
    stay: Ints    # row in the stay table
    year: Ints    # index into `years`
    lo: Floats    # segment start as a fraction of the stay (0 = admission, 1 = discharge)
    hi: Floats    # segment end, same scale
    mass: Floats  # share of the stay's placement density inside the segment


def period_years(start_day: int, end_day: int) -> Ints:
    """Calendar years the period touches, in order."""
    first = int(str(np.datetime64(start_day, "D"))[:4])
    last = int(str(np.datetime64(end_day, "D"))[:4])
    return np.arange(first, last + 1, dtype=np.int64)


def year_bounds(years: Ints, start_day: int, end_day: int) -> tuple[Ints, Ints]:
    """First day and day after the last of each year, clipped to the period (epoch days)."""
    lo = np.array([max(parse_day(f"{y}-01-01"), start_day) for y in years], np.int64)
    hi = np.array([min(parse_day(f"{y + 1}-01-01"), end_day + 1) for y in years], np.int64)
    return lo, hi


def exposure(birth: Ints, alive_to: Ints, registered: npt.NDArray[np.bool_], years: Ints,
             start_day: int, end_day: int) -> Floats:
    """Person-days alive per year of the period, registered persons only (the indicators'
    population denominator counts them)."""
    lo, hi = year_bounds(years, start_day, end_day)
    b, d = birth[registered], alive_to[registered] + 1
    return np.array([np.clip(np.minimum(d, h) - np.maximum(b, lo_), 0, None).sum() for lo_, h in zip(lo, hi)],
                    np.float64)


def _placement_cdf(x: Floats) -> Floats:
    """CDF of Beta(1, PLACEMENT_BETA)."""
    return 1.0 - (1.0 - x) ** PLACEMENT_BETA


def segments(start_ts: Ints, end_ts: Ints, years: Ints, start_day: int, end_day: int) -> Segments:
    """Split each stay [start_ts, end_ts) (seconds) by calendar year, inside the period only."""
    lo_day, hi_day = year_bounds(years, start_day, end_day)
    span = np.maximum(end_ts - start_ts, 1).astype(np.float64)
    parts: list[tuple[Ints, Ints, Floats, Floats]] = []
    for k in range(years.size):  # a handful of years, never rows
        a = np.maximum(start_ts, lo_day[k] * DAY)
        b = np.minimum(end_ts, hi_day[k] * DAY)
        rows = np.flatnonzero(b > a)
        parts.append((rows, np.full(rows.size, k, np.int64), (a[rows] - start_ts[rows]) / span[rows],
                      (b[rows] - start_ts[rows]) / span[rows]))
    stay = np.concatenate([p[0] for p in parts]).astype(np.int64)
    year = np.concatenate([p[1] for p in parts]).astype(np.int64)
    lo = np.concatenate([p[2] for p in parts]).astype(np.float64)
    hi = np.concatenate([p[3] for p in parts]).astype(np.float64)
    return Segments(stay, year, lo, hi, _placement_cdf(hi) - _placement_cdf(lo))


def targets(total: int, exposure_by_year: Floats, growth: float, years: Ints) -> Ints:
    """Registrations per year: `total` spread in proportion to exposure x trend, rounded per year."""
    weight = exposure_by_year * growth ** (years - TREND_YEAR).astype(np.float64)
    if weight.sum() <= 0:
        return np.zeros(years.size, np.int64)
    out: Ints = np.rint(total * weight / weight.sum()).astype(np.int64)
    return out


def allocate(gen: np.random.Generator, need: Ints, seg: Segments, weight: Floats) -> Ints:
    """Registrations per segment: for each year a multinomial of `need[year]` over that year's
    segments, probability proportional to `weight` (a year without weight gets none)."""
    out = np.zeros(seg.stay.size, np.int64)
    for k in np.flatnonzero(need > 0):
        rows = np.flatnonzero((seg.year == k) & (weight > 0))
        if rows.size == 0:
            continue
        w = weight[rows]
        out[rows] = gen.multinomial(int(need[k]), w / w.sum())
    return out


def place(gen: np.random.Generator, seg: Segments, rows: Ints) -> Floats:
    """Position (fraction of the stay) of one registration per entry of `rows` (segment
    indices): Beta(1, PLACEMENT_BETA) truncated to the segment, by inverting the CDF."""
    u = gen.random(rows.size)
    tail_lo = (1.0 - seg.lo[rows]) ** PLACEMENT_BETA
    tail = tail_lo - u * seg.mass[rows]
    x: Floats = 1.0 - np.maximum(tail, 0.0) ** (1.0 / PLACEMENT_BETA)
    return np.clip(x, seg.lo[rows], seg.hi[rows])


@dataclass(frozen=True)
class YearStrata:
    """What every measure's stratified draw shares: the period's years, their exposure and
    the stays split by year."""
    years: Ints
    exposure: Floats
    segments: Segments
    first_ts: Ints  # first second of each year inside the period
    end_ts: int     # first second after the period

    def year_of(self, ts: Ints) -> Ints:
        """Index into `years` of each timestamp (seconds); -1 outside the period."""
        k = np.searchsorted(self.first_ts, ts, side="right") - 1
        return np.where((ts < self.end_ts) & (k >= 0), k, -1).astype(np.int64)

    def count(self, ts: Ints) -> Ints:
        """Timestamps per year of the period (those outside it are not counted)."""
        return np.bincount(self.year_of(ts) + 1, minlength=self.years.size + 1)[1:].astype(np.int64)


def strata(params: Params, people: People, start_ts: Ints, end_ts: Ints) -> YearStrata:
    """Years, exposure and year segments of the stays [start_ts, end_ts) for one run."""
    years = period_years(params.start_day, params.end_day)
    alive_to = people.alive_to(params.end_day).astype(np.int64)
    lo, _ = year_bounds(years, params.start_day, params.end_day)
    return YearStrata(years, exposure(people.birth.astype(np.int64), alive_to, people.registered, years,
                                      params.start_day, params.end_day),
                      segments(start_ts, end_ts, years, params.start_day, params.end_day),
                      lo * DAY, (params.end_day + 1) * DAY)
