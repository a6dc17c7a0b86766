"""An independent, deliberately plain attack for small tables (tests only; no jobs/indicators code).

Given the inner cells (units grouped by the quantities they count in) and a protected table,
it tries what a reader could: exact linear recovery (rank with Python Fractions, no
tolerance), the same once the owners of single-unit cells subtract themselves, and bounds
(scipy linprog over the inner cells: shown values fixed, `<5` in 1..4, `.` is 0 or >= 5 (the
branch the truth is in), counts >= 0, person inequalities supplied by the caller).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.optimize import linprog


def quantities(table, inner):
    """[(row position, part, value, support set of inner cells)] for the table's rows."""
    parts = {"share": ("num", "den"), "median_hours": ("den",), "median_minutes": ("den",)}
    index = {}
    out = []
    for pos, r in enumerate(table.itertuples(index=False)):
        for part in parts.get(r.measure, ("n",)):
            value = r.denominator if part == "den" else r.numerator
            key = f"{r.indicator_id}|{r.measure}|{r.geo_level}|{r.geo_code}|{r.age_group}|{part}"
            index[key] = len(out)
            out.append([pos, part, 0 if pd.isna(value) else int(value), set()])
    for j, sig in enumerate(inner["signature"]):
        for qid in sig:
            spec, _year, level, code, age, part = qid.split("|")
            ident, measure = _ident(spec, age), spec.split(":")[1]
            k = index.get(f"{ident}|{measure}|{level}|{code}|{age}|{part}")
            if k is not None:
                out[k][3].add(j)
    return out


def _ident(spec: str, age: str) -> str:
    every = spec.split(":")[0]
    if every in ("S1", "F1", "F2", "T1"):
        return every
    return every if age == "all" else every[:-2] + (every[-2] if age == "adult" else every[-1])


def _rank(rows: list[list[Fraction]]) -> int:
    m = [list(r) for r in rows]
    rank, cols = 0, len(m[0]) if m else 0
    for c in range(cols):
        pivot = next((i for i in range(rank, len(m)) if m[i][c] != 0), None)
        if pivot is None:
            continue
        m[rank], m[pivot] = m[pivot], m[rank]
        for i in range(len(m)):
            if i != rank and m[i][c] != 0:
                f = m[i][c] / m[rank][c]
                m[i] = [a - f * b for a, b in zip(m[i], m[rank])]
        rank += 1
    return rank


def recoverable(table, inner, *, singletons: bool = True) -> list[tuple[int, str]]:
    """Hidden (row, part) whose vector is a rational combination of shown vectors (optionally
    after deleting the inner cells of primary cells holding exactly one unit)."""
    qs = quantities(table, inner)
    n = len(inner)
    hidden = set(np.flatnonzero(table["suppressed"].to_numpy()))
    known = set()
    if singletons:
        units = inner["units"].tolist()
        for pos, _part, value, sup in qs:
            if pos in hidden and table.iloc[pos]["display_value"] == "<5" and value == 1:
                known |= sup
        assert all(units[j] == 1 for j in known)
    found = []
    for drop in ([set(), known] if known else [set()]):
        keep = [j for j in range(n) if j not in drop]
        vec = lambda sup: [Fraction(1 if j in sup else 0) for j in keep]  # noqa: E731, B023 - used in this iteration
        shown = [vec(sup) for pos, _p, _v, sup in qs if pos not in hidden and sup - drop]
        base = _rank(shown) if shown else 0
        for pos, part, _v, sup in qs:
            if pos in hidden and sup - drop and _rank(shown + [vec(sup)]) == base:
                found.append((pos, part))
    return sorted(set(found))


def pinned(table, inner, truth, inequalities=(), min_count: int = 5) -> list[tuple[int, str]]:
    """Hidden (row, part) whose LP range (min..max) is narrower than one unit. `truth` (the
    unsuppressed table, same rows) only says which branch of `.` (0 or >= min_count) is true."""
    qs = quantities(table, inner)
    true_values = {(pos, part): v for pos, part, v, _s in quantities(truth, inner)}
    n = len(inner)
    hidden = set(np.flatnonzero(table["suppressed"].to_numpy()))

    def row(sup):
        return np.array([1.0 if j in sup else 0.0 for j in range(n)])
    a_eq = [row(sup) for pos, _p, _v, sup in qs if pos not in hidden]
    b_eq = [v for pos, _p, v, _s in qs if pos not in hidden]
    a_ub, b_ub = [], []
    for pos, part, _v, sup in qs:
        if pos not in hidden or not sup:
            continue
        primary = table.iloc[pos]["display_value"] == "<5"
        is_share = table.iloc[pos]["measure"] == "share"
        if primary and part == "num":
            a_ub.append(row(sup)); b_ub.append(min_count - 1)  # noqa: E702
        elif primary and part == "den" and is_share:
            a_ub.append(-row(sup)); b_ub.append(-1)  # noqa: E702
        elif primary:
            a_ub += [row(sup), -row(sup)]; b_ub += [min_count - 1, -1]  # noqa: E702
        elif true_values[(pos, part)] >= min_count:
            a_ub.append(-row(sup)); b_ub.append(-min_count)  # noqa: E702
    key = {(pos, part): sup for pos, part, _v, sup in qs}
    for lhs, rhs in inequalities:  # ((pos, part), [(pos, part), ...]): lhs <= sum(rhs)
        a_ub.append(row(key[lhs]) - sum(row(key[r]) for r in rhs)); b_ub.append(0)  # noqa: E702
    out = []
    for pos, part, _v, sup in qs:
        if pos not in hidden or not sup:
            continue
        ranges = []
        for sign in (1.0, -1.0):
            res = linprog(sign * row(sup), A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None,
                          A_eq=np.array(a_eq) if a_eq else None, b_eq=b_eq or None, bounds=(0, None),
                          method="highs")
            ranges.append(np.inf if res.status == 3 else sign * res.fun)
        if ranges[1] - ranges[0] < 1 - 1e-6:
            out.append((pos, part))
    return out
