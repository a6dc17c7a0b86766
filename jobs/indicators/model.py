"""The disclosure model: every published protected quantity as a sum of inner cells.

Derived from the indicator definitions, never from a list of groups. The inner cells come
from the same spec explosion that computes the cells (jobs/indicators/cells.py
`build_inner_cells`): each counted unit (an episode; a person placed nationally and by
residence in a year; a person placed in one provider region in a year) increments a set of
published quantities, its signature; units with the same signature form one inner cell.
A quantity is then the sum of the inner cells whose signature holds it:

    quantity q = sum over inner cells j with q in signature(j) of units(j)

Every relation a reader can use follows from that: age (an episode or placed person is in
its age group and in `all`), region -> national for episodes, municipality (incl.
`unknown`) -> health cluster -> national, red + yellow = 3, T1 = 11C + 12C + 13C, the S1
count = the S1 share's numerator, 8's and 9's equal cohorts, the years an ongoing episode
is counted in, and whatever a new indicator adds. Person counts by region are not additive:
the region placement of a person is a unit of its own, so no national person cell is a
sum of region cells. What a reader may still use between person cells are inequalities,
returned by `person_inequalities` for the interval check:
region (all ages) <= national; national <= sum of regions (per age, not F1/F2);
persons <= episodes of the same measures and period (per cell); F2 <= F1 (per cell).

Conservative by construction: an inner cell that does not occur in the data is absent, as
if a reader knew it was empty. The elimination uses this model; the interval check uses the
reader's model of jobs/indicators/definitional.py (every possible cell, zeros included).

Protected quantities of a row (`parts`): a count's value (`n`; T1's episode numerator),
a share's numerator and cohort (`num`, `den`), the episode count behind a median (`den`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from jobs.indicators.definitions import (
    ALL,
    EPISODES_UNIT,
    MEDIAN_SECONDS,
    NATIONAL,
    PERSONS_UNIT,
    RATE,
    REGION,
    SHARE,
    SPECS,
    is_count,
    spec_key_of,
)

log = logging.getLogger(__name__)

SPECS_BY_KEY = {spec.key: spec for spec in SPECS}
INNER_CELL_COLUMNS = ("signature", "units")


def parts_of(measure: str) -> tuple[str, ...]:
    if is_count(measure) or measure == RATE:
        return ("n",)
    if measure == SHARE:
        return ("num", "den")
    if measure in MEDIAN_SECONDS:
        return ("den",)
    raise ValueError(f"no protected quantity defined for measure {measure!r}")


def part_value(row: Any, part: str) -> Any:
    """The published column that carries a part: n -> numerator, num -> numerator, den -> denominator."""
    return row["denominator"] if part == "den" else row["numerator"]


def row_keys(df: pd.DataFrame) -> list[str]:
    """`spec_key|year|geo_level|geo_code|age_group` per row (the quantity id without its part)."""
    spec = [spec_key_of(i, m) for i, m in zip(df["indicator_id"], df["measure"])]
    return [f"{s}|{int(y)}|{lv}|{c}|{a}" for s, y, lv, c, a in
            zip(spec, df["year"], df["geo_level"], df["geo_code"], df["age_group"])]


@dataclass(frozen=True)
class Model:
    """Quantities (rows of `a`) over inner cells (columns of `a`), with the table row each belongs to."""
    a: sparse.csr_matrix  # quantities x inner cells, 0/1
    row: np.ndarray  # table row position (0..len(df)-1) of each quantity
    part: np.ndarray  # 'n' | 'num' | 'den'
    value: np.ndarray  # the true value (int64)
    units: np.ndarray  # inner cell sizes (int64)
    qid: list[str]

    @property
    def n_quantities(self) -> int:
        n: int = self.a.shape[0]
        return n

    def support(self, q: int) -> np.ndarray:
        cells: np.ndarray = self.a.indices[self.a.indptr[q]:self.a.indptr[q + 1]]
        return cells


def build_model(table: pd.DataFrame, inner: pd.DataFrame) -> Model:
    """The model over the rows of `table` (positional), from the collected inner cells, taken
    in the order of their signatures (Spark returns them in the order of its partitions, and the
    interval check's repairs follow the cell order: the same cells give the same suppression).

    Checks the model against the table: each quantity must equal the sum of its inner cells
    (a mismatch means the model and the cells disagree; it is logged and raises)."""
    inner = sorted_cells(inner)
    keys = row_keys(table)
    qid, rows, parts, values = [], [], [], []
    measures = table["measure"].tolist()
    records = table[["numerator", "denominator"]].to_dict("records")
    for pos, (key, measure, rec) in enumerate(zip(keys, measures, records)):
        for part in parts_of(measure):
            v = part_value(rec, part)
            qid.append(f"{key}|{part}")
            rows.append(pos)
            parts.append(part)
            values.append(0 if v is None or pd.isna(v) else int(v))
    index = {q: i for i, q in enumerate(qid)}
    qi, cj, units = [], [], []
    for j, (signature, n) in enumerate(zip(inner["signature"], inner["units"])):
        units.append(int(n))
        for q in signature:
            i = index.get(q)
            if i is not None:
                qi.append(i)
                cj.append(j)
    a = sparse.csr_matrix((np.ones(len(qi), dtype=np.int64), (qi, cj)), shape=(len(qid), len(units)))
    model = Model(a, np.asarray(rows), np.asarray(parts), np.asarray(values, dtype=np.int64),
                  np.asarray(units, dtype=np.int64), qid)
    recomputed = np.asarray(a @ model.units).ravel()
    bad = np.flatnonzero(recomputed != model.value)
    if len(bad):
        raise ValueError(f"disclosure model disagrees with the table in {len(bad)} quantities, first "
                         f"{[model.qid[i] for i in bad[:3]]}")
    log.info("disclosure model: %d quantities over %d inner cells (%d units)", len(qid), len(units),
             int(model.units.sum()))
    return model


def sorted_cells(inner: pd.DataFrame) -> pd.DataFrame:
    """The inner cells in the order of their signatures (each a sorted list of quantity ids)."""
    signatures = [tuple(sig) for sig in inner["signature"].tolist()]
    order = sorted(range(len(inner)), key=signatures.__getitem__)
    return inner.iloc[order].reset_index(drop=True)


def person_definition(spec_key: str) -> tuple[Any, ...] | None:
    """The counting definition of a person spec (source, measures, period, threshold); None for
    episode specs. Specs with the same definition count the same persons (8's and 9's cohort)."""
    spec = SPECS_BY_KEY[spec_key]
    if spec.unit != PERSONS_UNIT:
        return None
    return (spec.source, spec.measures, spec.period, spec.min_episodes)


def person_inequalities(table: pd.DataFrame, model: Model) -> list[tuple[int, list[int]]]:
    """Inequalities a reader knows between person quantities: (q, [p1, p2, ...]) means
    q <= p1 + p2 + ... . Only those the definitions imply; each is also checked on the data."""
    index = {q: i for i, q in enumerate(model.qid)}
    out: list[tuple[int | None, list[int | None]]] = []
    regions = sorted(set(table.loc[table["geo_level"] == REGION, "geo_code"]))
    years = sorted(int(y) for y in table["year"].unique())
    levels = sorted(set(table["geo_level"]))
    codes = {lv: sorted(set(table.loc[table["geo_level"] == lv, "geo_code"])) for lv in levels}

    def q(spec_key: str, year: int, level: str, code: str, age: str, part: str = "n") -> int | None:
        return index.get(f"{spec_key}|{year}|{level}|{code}|{age}|{part}")

    person_specs = [s for s in SPECS if s.unit == PERSONS_UNIT and s.measure == "persons"]
    episode_specs = [s for s in SPECS if s.unit == EPISODES_UNIT and s.measure == "episodes"]
    for spec in person_specs:
        for year in years:
            national_all = q(spec.key, year, NATIONAL, "DK", ALL)
            for region in regions:
                out.append((q(spec.key, year, REGION, region, ALL), [national_all]))
            if spec.min_episodes is None:
                for age in spec.age_groups:
                    out.append((q(spec.key, year, NATIONAL, "DK", age),
                                [q(spec.key, year, REGION, r, age) for r in regions]))
        partners = [e for e in episode_specs if e.measures == spec.measures and e.period == spec.period
                    and e.source == spec.source and spec.min_episodes is None]
        if spec.min_episodes == "critical":
            partners += [s for s in person_specs if s.min_episodes == "focus"]
        for other in partners:
            for year in years:
                for level in spec.levels:
                    for code in codes.get(level, []):
                        for age in spec.age_groups:
                            out.append((q(spec.key, year, level, code, age), [q(other.key, year, level, code, age)]))
    kept: list[tuple[int, list[int]]] = []
    for lhs, maybe_rhs in out:
        rhs = [r for r in maybe_rhs if r is not None]
        if lhs is None or len(rhs) < len(maybe_rhs):
            continue
        if model.value[lhs] <= sum(model.value[r] for r in rhs):
            kept.append((lhs, rhs))
        else:
            log.warning("disclosure model: inequality %s <= %d terms does not hold in the data; not used",
                        model.qid[lhs], len(rhs))
    return kept
