"""Interval protection: no suppressed quantity may be pinned to one value by the bounds every
reader knows, checked with linear programs (scipy.optimize.linprog, HiGHS).

What a reader knows, over the inner-cell counts y >= 0 of the disclosure model:
- every shown quantity: a.y = its value;
- a primary (`<5`) count or median count: 1 <= a.y <= min_count - 1; a primary share: its
  numerator <= min_count - 1 and its cohort >= 1 (one of the two is 1..min_count-1);
- a secondary (`.`) quantity is 0 or >= min_count: the search stays in the branch the true
  table is in (>= min_count), so an alternative it finds is real; a quantity that could move
  only through another branch is reported pinned (conservative);
- the person inequalities of jobs/indicators/model.py.
A hidden quantity is safe when some solution moves it by at least 1 from its true value.
Many quantities are certified at once by maximising (then minimising) the sum of the
unresolved ones; the few left are solved one by one. The check is the LP relaxation: a
range the integers cannot fill is not detected (the independent audit's MILP is the
backstop, docs/disclosure.md).
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from jobs.indicators.model import Model

log = logging.getLogger(__name__)
TOL = 1e-6


def pinned_quantities(
    model: Model,
    shown_rows: set[int],
    primary_rows: set[int],
    secondary_rows: set[int],
    inequalities: Sequence[tuple[int, list[int]]],
    min_count: int,
    max_rounds: int = 6,
) -> list[int]:
    """Hidden quantities (indices into the model) whose LP range is narrower than one unit."""
    nnz = np.diff(model.a.indptr) > 0
    rows = model.row
    shown_q = np.flatnonzero(np.isin(rows, list(shown_rows)) & nnz)
    hidden_q = np.flatnonzero(np.isin(rows, list(primary_rows | secondary_rows)) & nnz)
    if not len(hidden_q):
        return []
    ub_rows, ub_rhs = [], []

    def bound(q: int, lo: float | None, hi: float | None) -> None:
        if hi is not None:
            ub_rows.append(model.a[q])
            ub_rhs.append(hi)
        if lo is not None:
            ub_rows.append(-model.a[q])
            ub_rhs.append(-lo)

    small = min_count - 1
    for q in hidden_q:
        if rows[q] in primary_rows:
            if model.part[q] == "num":
                bound(q, None, small)
            elif model.part[q] == "den" and _is_share(model, q):
                bound(q, 1, None)
            else:
                bound(q, 1, small)
    hidden_set = set(hidden_q.tolist())
    for lhs, rhs in inequalities:
        if lhs in hidden_set or any(r in hidden_set for r in rhs):
            row = model.a[lhs].copy()
            for r in rhs:
                row = row - model.a[r]
            ub_rows.append(row)
            ub_rhs.append(0.0)
    # `.` = 0 or >= min_count; searching only the branch the truth is in (every nonzero secondary
    # >= min_count) finds fewer alternatives, never a false one: conservative
    for q in hidden_q:
        if rows[q] in secondary_rows and model.value[q] >= min_count:
            bound(q, min_count, None)
    a_eq, b_eq = model.a[shown_q], model.value[shown_q].astype(float)
    truth = model.value.astype(float)

    def solve(objective_q: Sequence[int], sign: float) -> np.ndarray | None:
        a_ub = sparse.vstack(ub_rows).tocsr() if ub_rows else None
        b_ub = np.asarray(ub_rhs, dtype=float) if ub_rows else None
        c = sign * np.asarray(model.a[list(objective_q)].sum(axis=0)).ravel()
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq if len(shown_q) else None,
                      b_eq=b_eq if len(shown_q) else None, bounds=(0, None), method="highs")
        if res.status == 3:  # unbounded: every quantity in the objective can grow
            return None
        if res.status != 0:
            raise RuntimeError(f"interval check: LP failed ({res.message})")
        return np.asarray(model.a @ res.x).ravel()

    unresolved = list(hidden_q)
    for _ in range(max_rounds):
        before = len(unresolved)
        for sign in (-1.0, 1.0):  # maximise, then minimise
            if not unresolved:
                break
            values = solve(unresolved, sign)
            if values is None:
                values = _unbounded_probe(model, unresolved, solve)
            moved = (values >= truth + 1 - TOL) if sign < 0 else (values <= truth - 1 + TOL)
            unresolved = [q for q in unresolved if not moved[q]]
        if len(unresolved) == before:
            break
    pinned = []
    for q in unresolved:
        hi = solve([q], -1.0)
        if hi is None or hi[q] >= truth[q] + 1 - TOL:
            continue
        lo = solve([q], 1.0)
        if lo[q] <= truth[q] - 1 + TOL:
            continue
        pinned.append(q)
    log.info("interval check: %d hidden quantities, %d pinned", len(hidden_q), len(pinned))
    return sorted(set(pinned))


def _is_share(model: Model, q: int) -> bool:
    same_row = np.flatnonzero(model.row == model.row[q])
    return any(model.part[i] == "num" for i in same_row)


def _unbounded_probe(model: Model, unresolved: list[int], solve) -> np.ndarray:
    """When the summed objective is unbounded, split it: any quantity that can grow freely counts
    as moved; solve halves until each piece is bounded or a single quantity."""
    values = model.value.astype(float).copy()
    stack = [list(unresolved)]
    while stack:
        part = stack.pop()
        out = solve(part, -1.0)
        if out is None:
            if len(part) == 1:
                values[part[0]] = np.inf
            else:
                stack += [part[: len(part) // 2], part[len(part) // 2:]]
        else:
            for q in part:
                values[q] = max(values[q], out[q])
    return values
