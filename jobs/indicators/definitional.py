"""The reader's disclosure model: every published quantity over every *possible* inner cell.

The data model (jobs/indicators/model.py) has only the inner cells that occur in the data.
A reader does not know which cells are empty, so this model enumerates every unit the
definitions allow (SSBtools' `extend0`: the zero cells are added) and gives each its
signature, the set of published quantities it would increment. Quantities are then sums of
these hypothetical cells, and a zero quantity is no longer the zero vector: hiding it can
be protected like any other value, and the interval check no longer assumes a reader knows
which cells are empty (the data model pinned nearly every single-unit cell that way).

A hypothetical unit, per year (years are not linked: a reader does not know which episodes
run on from one year into the next):
- an episode: one coercion measure, one period atom (started in the year, ongoing into it,
  discharged in it: "started or ongoing" is the union of the first two), a provider region,
  a residence municipality (or `unknown`, no health cluster), an age group, and every flag
  the definitions read (S1 short, 10 plan, an end for the medians);
- a person of one counting definition (source, measures, period, episode threshold):
  placed nationally by residence municipality x age x flags (8's and 9's flags), and,
  as a separate unit, in one provider region x age x flags (a person treated in two regions
  counts in both: region person cells do not add up to national).
Duration bands and the children's age split are dimensions of the unit, not flags: an episode
of a measure with bands has exactly one band or none (no end: then it is in no median
either), so a reader knows bands sum to the median's episode count, and not to the episode
total unless every episode has an end; a child unit has exactly one age range of the split,
so the split rows sum to the child row (persons placed by the same first measure).
Its signature follows from the specs alone (which it qualifies for, at which levels and
ages, and which parts: a share's numerator only when flagged, a median's count only with an
end). Units with the same signature are one cell. Nothing here reads the data: the values
of the cells are unknown (the interval check and the elimination need only the incidence).
"""
from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from jobs.indicators.definitions import (
    ADMISSIONS_SOURCE,
    ADULT,
    ALL,
    CHILD,
    DISCHARGED,
    EPISODES_UNIT,
    HEALTH_CLUSTER,
    IA,
    MEDIAN_SECONDS,
    MUNICIPALITY,
    NATIONAL,
    NATIONAL_CODE,
    REGION,
    SHARE,
    SPECS,
    STARTED,
    STARTED_OR_ONGOING,
    UNKNOWN_MUNICIPALITY,
    IndicatorSpec,
)
from jobs.indicators.geography import Geography

log = logging.getLogger(__name__)
ENDED = "__ended"
BAND = "__band"  # the duration band of an episode (a spec's duration_range), None: no end
AgeCell = tuple[str, tuple[int, int] | None]  # age group, and the age range of the split (None: not split)
PERIODS_OF_ATOM = {"started": (STARTED, STARTED_OR_ONGOING), "ongoing": (STARTED_OR_ONGOING,),
                   "discharged": (DISCHARGED,)}


def _measures(spec: IndicatorSpec) -> tuple[str, ...]:
    return tuple(IA) if spec.source == ADMISSIONS_SOURCE and not spec.measures else tuple(spec.measures)


def _parts(spec: IndicatorSpec, flags: dict[str, object]) -> tuple[str, ...] | None:
    """The parts a unit with `flags` increments (None: the spec does not count it)."""
    if spec.only_flagged and not flags.get(spec.flag or ""):
        return None
    if spec.duration_range is not None and flags.get(BAND) != spec.duration_range:
        return None
    if spec.measure == SHARE:
        return ("num", "den") if flags.get(spec.flag or "") else ("den",)
    if spec.measure in MEDIAN_SECONDS:
        return ("den",) if flags.get(ENDED) else ()
    return ("n",)


def _geo_cells(spec: IndicatorSpec, region: str | None, muni: str | None,
               cluster: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for level, code in ((NATIONAL, NATIONAL_CODE if muni is not None or region is None else None),
                        (REGION, region), (HEALTH_CLUSTER, cluster), (MUNICIPALITY, muni)):
        if code is not None and level in spec.levels:
            out.append((level, code))
    return out


def _ages_of(spec: IndicatorSpec, age: AgeCell) -> tuple[str, ...]:
    """The age groups of `spec`'s rows a unit of `age` is counted in."""
    group, within = age
    if spec.age_range is not None:  # a split row: children of exactly that range
        return (CHILD,) if group == CHILD and within == spec.age_range else ()
    return tuple(a for a in (group, ALL) if a in spec.age_groups)


def _signature(specs: Sequence[IndicatorSpec], flags: dict[str, object], age: AgeCell, region: str | None,
               muni: str | None, cluster: str | None) -> tuple[str, ...]:
    """Year-free quantity ids (`spec_key|{y}|level|code|age|part`) a unit increments."""
    out: list[str] = []
    for spec in specs:
        parts = _parts(spec, flags)
        if not parts:
            continue
        for level, code in _geo_cells(spec, region, muni, cluster):
            for a in _ages_of(spec, age):
                out.extend(f"{spec.key}|{{y}}|{level}|{code}|{a}|{p}" for p in parts)
    return tuple(sorted(out))


def _flag_combos(flags: list[str]) -> Iterator[dict[str, object]]:
    for bits in itertools.product((0, 1), repeat=len(flags)):
        yield dict(zip(flags, bits))


def _band_combos(counting: Sequence[IndicatorSpec], flags: list[str]) -> Iterator[dict[str, object]]:
    """Flag combinations of an episode, with its duration band where the counting specs have
    bands: one band (then it has an end) or none (no end: no band, not in a median)."""
    bands = sorted({s.duration_range for s in counting if s.duration_range is not None},
                   key=lambda r: r[0])
    if not bands:
        yield from _flag_combos(flags)
        return
    rest = [f for f in flags if f != ENDED]
    for fl in _flag_combos(rest):
        yield {**fl, ENDED: 0, BAND: None}
        for band in bands:
            yield {**fl, ENDED: 1, BAND: band}


def inner_ages(specs: Sequence[IndicatorSpec]) -> tuple[AgeCell, ...]:
    """Adults, and children whole or by the age ranges of the split specs."""
    ranges = sorted({s.age_range for s in specs if s.age_range is not None})
    return ((ADULT, None), *(((CHILD, r) for r in ranges) if ranges else ((CHILD, None),)))


def templates(geo: Geography, specs: Sequence[IndicatorSpec] = SPECS) -> tuple[tuple[str, ...], ...]:
    """Every distinct signature (year as `{y}`) a hypothetical unit can have."""
    return _templates(geo, tuple(specs))


@functools.lru_cache(maxsize=4)  # one release protects its contract rows, then its breakdowns up to a few times
def _templates(geo: Geography, specs: tuple[IndicatorSpec, ...]) -> tuple[tuple[str, ...], ...]:
    munis = [*geo.codes(MUNICIPALITY), UNKNOWN_MUNICIPALITY]
    regions = geo.codes(REGION)
    out: set[tuple[str, ...]] = set()
    ages = inner_ages(specs)
    episode_specs = [s for s in specs if s.unit == EPISODES_UNIT]
    measures = sorted({m for s in episode_specs for m in _measures(s)})
    for measure, atom in itertools.product(measures, PERIODS_OF_ATOM):
        counting = [s for s in episode_specs if measure in _measures(s) and s.period in PERIODS_OF_ATOM[atom]]
        if not counting:
            continue
        flags = sorted({s.flag for s in counting if s.flag} | ({ENDED} if any(
            s.measure in MEDIAN_SECONDS for s in counting) else set()))
        for fl, age, region, muni in itertools.product(list(_band_combos(counting, flags)), ages, regions, munis):
            cluster = geo.municipality_cluster.get(muni)
            sig = _signature(counting, fl, age, region, muni, cluster)
            if sig:
                out.add(sig)
    definitions: dict[tuple[object, ...], list[IndicatorSpec]] = {}
    for s in specs:
        if s.unit != EPISODES_UNIT:
            definitions.setdefault((s.source, _measures(s), s.period, s.min_episodes), []).append(s)
    for group in definitions.values():
        flags = sorted({s.flag for s in group if s.flag})
        for fl, age in itertools.product(list(_flag_combos(flags)), ages):
            for muni in munis:  # national placement by residence
                sig = _signature(group, fl, age, None, muni, geo.municipality_cluster.get(muni))
                if sig:
                    out.add(sig)
            for region in regions:  # region placement: a unit of its own
                sig = _signature([s for s in group if REGION in s.levels], fl, age, region, None, None)
                sig = tuple(q for q in sig if f"|{REGION}|" in q)
                if sig:
                    out.add(sig)
    return tuple(sorted(out))


@dataclass(frozen=True)
class ReaderModel:
    """Quantities (the rows of the data Model, same order) over the hypothetical cells."""
    a: sparse.csr_matrix

    def support(self, q: int) -> np.ndarray:
        cells: np.ndarray = self.a.indices[self.a.indptr[q]:self.a.indptr[q + 1]]
        return cells


def reader_model(qid: Sequence[str], geo: Geography, specs: Sequence[IndicatorSpec] = SPECS) -> ReaderModel:
    """The incidence of the quantities `qid` (`spec_key|year|level|code|age|part`) over every
    hypothetical cell of their years; cells no quantity of the table holds are dropped, and
    cells holding the very same quantities are merged (one unknown to a reader). Cached by value:
    a release's breakdown attempts ask for the same model (read only: nothing writes into `a`)."""
    return _reader_model(tuple(qid), geo, tuple(specs))


@functools.lru_cache(maxsize=2)
def _reader_model(qid: tuple[str, ...], geo: Geography, specs: tuple[IndicatorSpec, ...]) -> ReaderModel:
    index = {q: i for i, q in enumerate(qid)}
    years = sorted({q.split("|", 2)[1] for q in qid})
    cols: dict[tuple[Any, ...], int] = {}
    qi: list[int] = []
    cj: list[int] = []
    for sig in templates(geo, specs):
        for y in years:
            rows = tuple(sorted({index[k] for q in sig if (k := q.replace("{y}", y)) in index}))
            if not rows:
                continue
            j = cols.get(rows)
            if j is None:
                j = cols[rows] = len(cols)
                qi.extend(rows)
                cj.extend([j] * len(rows))
    a = sparse.csr_matrix((np.ones(len(qi), dtype=np.int64), (qi, cj)), shape=(len(qid), len(cols)))
    log.info("reader model: %d quantities over %d possible cells", len(qid), len(cols))
    return ReaderModel(a)
