"""The reader's model: every published protected quantity as a sum of unknown inner cells.

Built from the indicator definitions (jobs/indicators/definitions.py) and the reference
geography only, never from the suppression code, so that the identities a reader can use
come out of the definitions themselves rather than a hand-kept list of groups.

Quantities (one or two per published row):
- a count (`persons`, `episodes`, `episodes_red`, `episodes_yellow`): its value / numerator;
- a share: its numerator (flagged units) and its denominator (the cohort);
- a median: the number of episodes with an end it is taken over (`denominator` per
  outputs.md, `numerator` in older tables: either is accepted);
- the T1 rate: its numerator (episodes), also recoverable as rate x population / 100,000.

Inner cells (the unknowns, counts >= 0) are the finest classification the definitions
compute from. A *universe* is one set of counted things:
- episodes of one measure atom (the coarsest split of the coercion measures that every
  episode indicator is a union of: red, yellow, belt, ...) in one period atom (started in
  the year, ongoing into it, discharged in it; "started or ongoing" is the union of the
  first two, so 3's started episodes and S1's denominator are the same cells); cells by
  provider region x residence (municipality incl. `unknown`, or health cluster, at the
  finest level any indicator of that universe publishes) x age group x the flags used
  (S1 short, 10 plan, `ended` for medians);
- persons of one definition (source, measures, period, episode threshold): national
  placement cells by residence x age x flags, and separate region cells by provider region
  x age x flags (a person treated in two regions counts in both, so region person cells
  do not add up to the national cell; only inequalities link them, see `inequalities`).
Two further dimensions come from the specs: the duration band of an episode (`band`: one of
the configured bands, or `none` for an episode without an end, which is then in no band
and in no median), and the age range of a child (`age_range`) where split
rows exist. So bands sum to the median's episode count (and to the episode total only
when every episode has an end), and the age ranges add up to the child row, for every split measure.
Published rows are sums of such cells; `adult + child = all`, regions -> national for
episodes, municipalities -> health cluster -> national, red + yellow = 3, T1 = 11C/D +
12C/D + 13C/D, S1 episodes = S1 share numerator, 8's cohort = 9's cohort all follow.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
    RATE,
    REGION,
    SHARE,
    SPECS,
    STARTED,
    STARTED_OR_ONGOING,
    UNKNOWN_MUNICIPALITY,
    IndicatorSpec,
    is_count,
)
from jobs.indicators.geography import Geography

COUNT, NUMERATOR, DENOMINATOR = "count", "numerator", "denominator"
SHOWN, PRIMARY, SECONDARY = "shown", "primary", "secondary"
ENDED = "ended"  # pseudo flag: the episode has an end (what a median is taken over)
STARTED_ATOM, ONGOING_ATOM, DISCHARGED_ATOM = "started", "ongoing", "discharged"
PERIOD_ATOMS = {STARTED: (STARTED_ATOM,), STARTED_OR_ONGOING: (STARTED_ATOM, ONGOING_ATOM),
                DISCHARGED: (DISCHARGED_ATOM,)}
ROW_KEYS = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]
QUANTITY_COLUMNS = [*ROW_KEYS, "part", "spec_key", "status", "value", "source"]
NO_GEO, NO_CLUSTER = "*", "none"
INNER_AGES = (ADULT, CHILD)
NO_BAND, WHOLE = "none", "whole"  # an episode without an end; a child not split by age


def spec_of_row(specs: Iterable[IndicatorSpec]) -> dict[tuple[str, str], IndicatorSpec]:
    """(indicator_id, measure) of a published row -> its spec."""
    return {(spec.indicator_id(age), spec.measure): spec for spec in specs for age in spec.age_groups}


def band_label(spec: IndicatorSpec) -> str:
    """The `band` value of the inner cells a duration-band spec counts."""
    assert spec.duration_range is not None
    low, high = spec.duration_range
    return f"{low:g}-{'' if high is None else f'{high:g}'}"


def range_label(age_range: tuple[int, int] | None) -> str:
    return WHOLE if age_range is None else f"{age_range[0]}-{age_range[1]}"


def spec_measures(spec: IndicatorSpec) -> tuple[str, ...]:
    """The coercion measures a spec counts (an involuntary admission is a red or yellow episode)."""
    return IA if spec.source == ADMISSIONS_SOURCE else spec.measures


def parts(spec: IndicatorSpec) -> tuple[str, ...]:
    return (NUMERATOR, DENOMINATOR) if spec.measure == SHARE else (COUNT,)


def part_flag(spec: IndicatorSpec, part: str) -> str | None:
    """The flag a part of a spec counts only where true (None: every cell of the spec)."""
    if spec.measure in MEDIAN_SECONDS:
        return ENDED
    if part == NUMERATOR or spec.only_flagged:
        return spec.flag
    return None


@dataclass(frozen=True)
class Universe:
    """One set of inner cells: the cartesian product of its dimensions."""
    name: str
    regions: tuple[str, ...]
    resid: tuple[str, ...]  # municipality codes (+unknown), cluster codes (+none) or (NO_GEO,)
    resid_level: str | None  # MUNICIPALITY, HEALTH_CLUSTER or None
    flags: tuple[str, ...]
    bands: tuple[str, ...]  # (NO_BAND,) or NO_BAND and every band label; a band implies ENDED
    child_ranges: tuple[str, ...]  # (WHOLE,) or the split's age ranges

    def ages(self) -> list[tuple[str, str]]:
        return [(ADULT, WHOLE), *((CHILD, r) for r in self.child_ranges)]

    @property
    def size(self) -> int:
        flags = [f for f in self.flags if not (f == ENDED and len(self.bands) > 1)]
        return len(self.regions) * len(self.resid) * len(self.ages()) * len(self.bands) * (1 << len(flags))

    def cells(self, geo: Geography) -> pd.DataFrame:
        """Ordered resid-major (so cells of one municipality are neighbours: less fill-in)."""
        banded = len(self.bands) > 1
        flags = [f for f in self.flags if not (f == ENDED and banded)]
        bits = list(itertools.product((0, 1), repeat=len(flags)))
        rows = [(r, a, ar, g, band, *b) for r in self.resid for a, ar in self.ages() for g in self.regions
                for band in self.bands for b in bits]
        df = pd.DataFrame(rows, columns=["resid", "age", "age_range", "region", "band", *flags])
        if banded:
            df[ENDED] = (df["band"] != NO_BAND).astype(int)
        if self.resid_level == MUNICIPALITY:
            df["cluster"] = df["resid"].map(geo.municipality_cluster)
        elif self.resid_level == HEALTH_CLUSTER:
            df["cluster"] = df["resid"].where(df["resid"] != NO_CLUSTER)
        else:
            df["cluster"] = None
        df["cell"] = np.arange(len(df))
        return df


def _measure_atoms(specs: Sequence[IndicatorSpec]) -> dict[str, str]:
    """measure -> atom name: measures that every episode spec counts together form one atom."""
    episode_specs = [s for s in specs if s.unit == EPISODES_UNIT]
    measures = sorted({m for s in episode_specs for m in spec_measures(s)})
    signature = {m: tuple(m in spec_measures(s) for s in episode_specs) for m in measures}
    atoms: dict[tuple[Any, ...], list[str]] = {}
    for m in measures:
        atoms.setdefault(signature[m], []).append(m)
    return {m: "+".join(group) for group in atoms.values() for m in group}


def _resid(levels: set[str], geo: Geography) -> tuple[tuple[str, ...], str | None]:
    if MUNICIPALITY in levels:
        return (*geo.codes(MUNICIPALITY), UNKNOWN_MUNICIPALITY), MUNICIPALITY
    if HEALTH_CLUSTER in levels:
        return (*geo.codes(HEALTH_CLUSTER), NO_CLUSTER), HEALTH_CLUSTER
    return (NO_GEO,), None


def person_universe_key(spec: IndicatorSpec) -> str:
    return f"persons[{spec.source}|{'+'.join(spec_measures(spec))}|{spec.period}|{spec.min_episodes}]"


def universes_of(spec: IndicatorSpec, level: str, atoms: dict[str, str]) -> list[str]:
    """Names of the universes a spec's rows at a geography level sum over."""
    if spec.unit == EPISODES_UNIT:
        atom_names = sorted({atoms[m] for m in spec_measures(spec)})
        return [f"episodes[{a}|{p}]" for a in atom_names for p in PERIOD_ATOMS[spec.period]]
    return [person_universe_key(spec) + (":region" if level == REGION else ":national")]


def build_universes(specs: Sequence[IndicatorSpec], geo: Geography) -> dict[str, Universe]:
    atoms = _measure_atoms(specs)
    levels: dict[str, set[str]] = {}
    flags: dict[str, set[str]] = {}
    bands: dict[str, set[str]] = {}
    ranges = tuple(sorted({range_label(s.age_range) for s in specs if s.age_range is not None})) or (WHOLE,)
    for spec in specs:
        for level in spec.levels:
            for u in universes_of(spec, level, atoms):
                levels.setdefault(u, set()).add(level)
                flags.setdefault(u, set()).update(f for p in parts(spec) if (f := part_flag(spec, p)))
                if spec.duration_range is not None:
                    bands.setdefault(u, set()).add(band_label(spec))
    out = {}
    for name, lv in levels.items():
        resid, resid_level = _resid(lv, geo)
        regions = tuple(geo.codes(REGION)) if REGION in lv else (NO_GEO,)
        if name.endswith(":region"):  # person cells by provider region: no residence inside
            resid, resid_level = (NO_GEO,), None
        out[name] = Universe(name, regions, resid, resid_level, tuple(sorted(flags[name])),
                             (NO_BAND, *sorted(bands.get(name, ()))), ranges)
    return out


def incidence_template(specs: Sequence[IndicatorSpec], geo: Geography) -> tuple[pd.DataFrame, dict[str, Universe]]:
    """Per (spec_key, geo_level, geo_code, age_group, part): the inner cells it sums (no year yet)."""
    atoms = _measure_atoms(specs)
    universes = build_universes(specs, geo)
    cells = {name: u.cells(geo) for name, u in universes.items()}
    frames = []
    for spec in specs:
        for level in spec.levels:
            for u in universes_of(spec, level, atoms):
                c = cells[u]
                for part in parts(spec):
                    flag = part_flag(spec, part)
                    sel = c[c[flag] == 1] if flag else c
                    if spec.duration_range is not None:
                        sel = sel[sel["band"] == band_label(spec)]
                    if spec.age_range is not None:
                        sel = sel[sel["age_range"] == range_label(spec.age_range)]
                    code = {NATIONAL: pd.Series(NATIONAL_CODE, index=sel.index), REGION: sel["region"],
                            HEALTH_CLUSTER: sel["cluster"], MUNICIPALITY: sel["resid"]}[level]
                    base = pd.DataFrame({"geo_code": code, "age": sel["age"], "cell": sel["cell"]}).dropna()
                    for age in spec.age_groups:
                        rows = base if age == ALL else base[base["age"] == age]
                        frames.append(pd.DataFrame({
                            "spec_key": spec.key, "geo_level": level, "geo_code": rows["geo_code"].to_numpy(),
                            "age_group": age, "part": part, "universe": u, "cell": rows["cell"].to_numpy()}))
    return pd.concat(frames, ignore_index=True), universes


@dataclass(frozen=True)
class Markers:
    """What the published table says about a hidden cell (from cfg.disclosure)."""
    min_count: int
    primary: str
    secondary: str


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(round(float(v)))


def _shown_value(row: Any, part: str, population: dict[tuple[Any, ...], int]) -> int | None:
    """What a reader can read of a quantity in a shown row (None: nothing)."""
    measure = row.measure
    if measure == SHARE:
        return _int(row.numerator if part == NUMERATOR else row.denominator)
    if measure in MEDIAN_SECONDS:
        n = _int(row.denominator)
        return n if n is not None else _int(row.numerator)
    n = _int(row.numerator)
    if n is None and is_count(measure):
        n = _int(row.value)
    if n is None and not pd.isna(row.per_100k):
        pop = _int(row.denominator)
        pop = pop if pop is not None else population.get((row.year, row.geo_level, row.geo_code, row.age_group))
        n = None if pop is None else _int(float(row.per_100k) * pop / 100_000)
    return n


def populations(published: pd.DataFrame) -> dict[tuple[Any, ...], int]:
    """(year, level, code, age) -> population, from any shown count or rate row's denominator."""
    counts = published["measure"].map(is_count).astype(bool) | (published["measure"] == RATE)
    rows = published[counts & published["denominator"].notna()]
    return {k: int(v) for k, v in zip(zip(rows["year"], rows["geo_level"], rows["geo_code"], rows["age_group"]),
                                      rows["denominator"])}


def status_of(row: Any, markers: Markers) -> str:
    if not bool(row.suppressed):
        return SHOWN
    return SECONDARY if row.display_value == markers.secondary else PRIMARY


def quantities(published: pd.DataFrame, markers: Markers, specs: Sequence[IndicatorSpec] = SPECS) -> pd.DataFrame:
    """One row per protected quantity of the published table (QUANTITY_COLUMNS); `specs`: every
    spec the reader knows (definitions.specs(cfg.indicators): SPECS, bands, age split)."""
    population = populations(published)
    of_row = spec_of_row(specs)
    out = []
    row: Any  # an itertuples row
    for row in published.itertuples(index=False):
        spec = of_row.get((row.indicator_id, row.measure))
        if spec is None:
            continue  # an indicator this model does not know: nothing to attack with or for
        status = status_of(row, markers)
        for part in parts(spec):
            value = _shown_value(row, part, population) if status == SHOWN else None
            if status == SHOWN and value is None:
                continue
            out.append((row.indicator_id, int(row.year), row.geo_level, row.geo_code, row.age_group, row.measure,
                        part, spec.key, status, value, "published"))
    df = pd.DataFrame(out, columns=QUANTITY_COLUMNS)
    return pd.concat([df, _absent_unknown(df, specs)], ignore_index=True)


def _absent_unknown(q: pd.DataFrame, specs: Sequence[IndicatorSpec]) -> pd.DataFrame:
    """outputs.md: an `unknown` municipality cell appears only when it is not zero, so an
    absent one is a published zero."""
    out = []
    spec_by_key = {s.key: s for s in specs}
    present = set(zip(q.loc[q["geo_code"] == UNKNOWN_MUNICIPALITY, "spec_key"],
                      q.loc[q["geo_code"] == UNKNOWN_MUNICIPALITY, "year"]))
    for spec_key, year in sorted(set(zip(q["spec_key"], q["year"]))):
        spec = spec_by_key[spec_key]
        if MUNICIPALITY not in spec.levels or (spec_key, year) in present:
            continue
        for age in spec.age_groups:
            for part in parts(spec):
                out.append((spec.indicator_id(age), year, MUNICIPALITY, UNKNOWN_MUNICIPALITY, age, spec.measure,
                            part, spec_key, SHOWN, 0, "absent unknown cell = 0"))
    return pd.DataFrame(out, columns=QUANTITY_COLUMNS)


def target_quantities(target: pd.DataFrame | None, published: pd.DataFrame, baseline_years: Sequence[int]) -> pd.DataFrame:
    """National T1 numerators a reader gets from `target_progress`: rate x population / 100,000,
    and a baseline year's rate from the baseline (their mean) and the other baseline years."""
    if target is None or target.empty:
        return pd.DataFrame(columns=QUANTITY_COLUMNS)
    spec = next(s for s in SPECS if s.measure == RATE)
    population = populations(published)
    rates = {int(y): float(r) for y, r in zip(target["year"], target["rate_per_100k"]) if not pd.isna(r)}
    sources = {y: "target_progress rate" for y in rates}
    baselines = [float(b) for b in target["baseline_rate"] if not pd.isna(b)]
    missing = [y for y in baseline_years if y not in rates]
    if baselines and len(missing) == 1:
        rates[missing[0]] = baselines[0] * len(baseline_years) - sum(rates[y] for y in baseline_years if y in rates)
        sources[missing[0]] = "target_progress baseline"
    out = []
    for year, rate in rates.items():
        pop = population.get((year, NATIONAL, NATIONAL_CODE, ALL))
        if pop is None:
            continue
        out.append((spec.ids[2], year, NATIONAL, NATIONAL_CODE, ALL, spec.measure, COUNT, spec.key, SHOWN,
                    _int(rate * pop / 100_000), sources[year]))
    return pd.DataFrame(out, columns=QUANTITY_COLUMNS)


@dataclass
class Model:
    """Quantities (qid = row position) and their inner-cell incidence (qid, col), plus inequalities
    between quantities (rows of coefficients meaning sum(coef x quantity) <= 0)."""
    quantities: pd.DataFrame
    incidence: pd.DataFrame  # qid, col
    n_cols: int
    inequalities: list[dict[int, int]]
    col_order: np.ndarray  # a sort key per column (elimination order)


def build_model(q: pd.DataFrame, geo: Geography, specs: Sequence[IndicatorSpec] = SPECS) -> Model:
    q = q.reset_index(drop=True)
    q["qid"] = np.arange(len(q))
    present = set(q["spec_key"])
    template, universes = incidence_template(tuple(s for s in specs if s.key in present), geo)
    sizes = {name: u.size for name, u in universes.items()}
    years = sorted(q["year"].unique())
    offsets: dict[tuple[str, Any], int] = {}
    start = 0
    for name in sorted(universes):
        for year in years:
            offsets[(name, year)] = start
            start += sizes[name]
    keys = ["spec_key", "geo_level", "geo_code", "age_group", "part"]
    inc = q[[*keys, "year", "qid"]].merge(template, on=keys, how="inner")
    off = pd.DataFrame([(u, y, o) for (u, y), o in offsets.items()], columns=["universe", "year", "offset"])
    inc = inc[["universe", "year", "qid", "cell"]].merge(off, on=["universe", "year"], how="left")
    inc = pd.DataFrame({"qid": inc["qid"].to_numpy(np.int64),
                        "col": inc["offset"].to_numpy(np.int64) + inc["cell"].to_numpy(np.int64)})
    order = np.empty(start, dtype=np.int64)
    for (name, _year), first in offsets.items():
        order[first:first + sizes[name]] = np.arange(sizes[name])  # resid-major inside a universe
    inc, n_cols, order = merge_columns(inc, order)
    return Model(q, inc, n_cols, inequalities(q, specs), order)


def merge_columns(inc: pd.DataFrame, order: np.ndarray) -> tuple[pd.DataFrame, int, np.ndarray]:
    """Cells that lie in exactly the same published quantities are one unknown to a reader (their
    sum): merging them changes neither the row space nor the integer ranges, only the work."""
    rng = np.random.default_rng(0)  # two random 64-bit weights per quantity: a set hash per cell
    w = rng.integers(1, 2**62, size=(int(inc["qid"].max()) + 1, 2), dtype=np.int64).astype(np.uint64)
    cols = inc["col"].to_numpy()
    uniq, pos = np.unique(cols, return_inverse=True)
    h = np.zeros((len(uniq), 3), dtype=np.uint64)
    for k in range(2):
        np.add.at(h[:, k], pos, w[inc["qid"].to_numpy(), k])
    np.add.at(h[:, 2], pos, np.uint64(1))
    _, codes = np.unique(h, axis=0, return_inverse=True)
    codes = codes.ravel()
    merged = pd.DataFrame({"qid": inc["qid"].to_numpy(), "col": codes[pos]}).drop_duplicates()
    new_order = pd.Series(order[uniq]).groupby(codes).min().to_numpy()
    return merged.reset_index(drop=True), len(new_order), new_order


def inequalities(q: pd.DataFrame, specs: Sequence[IndicatorSpec] = SPECS) -> list[dict[int, int]]:
    """What a reader knows beyond sums (each a dict qid -> coef, meaning sum <= 0):
    - persons <= episodes of the same measures and period, cell by cell (a person is placed
      by their first qualifying episode, which lies in the same cell);
    - person cells: region <= national (all ages; children also child <= child, since a
      child in a region was a child at their first measure overall), and national <= sum of
      regions for each age (the first measure overall is the first in its region), the
      latter not for episode thresholds (F1/F2: more than the threshold in total is not more
      than it in a region);
    for shares, on the cohort (denominator). Duration bands are no partner of a person count;
    a split (age range) person count is bounded by the split episodes of the same range, and
    by national <= sum of regions, but not region <= national (a 15-year-old in a region may
    have been 14 at their first measure overall)."""
    key_of: dict[tuple[Any, ...], int] = {}
    region_rows: dict[tuple[Any, ...], list[int]] = {}
    row: Any  # an itertuples row, later a coefficient dict
    for row in q[q["source"] == "published"].itertuples(index=False):
        key_of[(row.spec_key, row.year, row.geo_level, row.geo_code, row.age_group, row.part)] = row.qid
        if row.geo_level == REGION:
            region_rows.setdefault((row.spec_key, row.year, row.age_group, row.part), []).append(row.qid)
    out: list[dict[int, int]] = []
    for p in specs:
        if p.unit == EPISODES_UNIT:
            continue
        cohort = DENOMINATOR if p.measure == SHARE else COUNT
        if p.flag is None and p.min_episodes is None:
            for e in specs:
                if (e.unit == EPISODES_UNIT and is_count(e.measure) and not e.only_flagged and e.flag is None
                        and e.duration_range is None and e.age_range == p.age_range and e.source == p.source
                        and set(spec_measures(e)) == set(spec_measures(p))
                        and e.period == p.period):
                    for (sk, y, lv, code, age, part), qid in key_of.items():
                        other = key_of.get((e.key, y, lv, code, age, COUNT))
                        if sk == p.key and part == COUNT and other is not None:
                            out.append({qid: 1, other: -1})
        if REGION not in p.levels or NATIONAL not in p.levels:
            continue
        for y in sorted({k[1] for k in key_of if k[0] == p.key}):
            nat = {age: key_of.get((p.key, y, NATIONAL, NATIONAL_CODE, age, cohort)) for age in p.age_groups}
            for age in p.age_groups:
                regs = region_rows.get((p.key, y, age, cohort), [])
                bound = nat.get(CHILD if age == CHILD else ALL)
                if p.age_range is None:
                    out.extend({r: 1, bound: -1} for r in regs if bound is not None)
                if p.min_episodes is None and nat.get(age) is not None and regs:
                    row = {r: -1 for r in regs}
                    row[nat[age]] = 1
                    out.append(row)
    return out
