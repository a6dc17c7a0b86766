"""Bounded integer recovery: the range a hidden quantity can take, given everything a reader knows.

Per connected component: inner cells x >= 0 (whole numbers), shown quantities equal to their
values, a primary (`<5`) count in [1, min_count-1] (a primary share: numerator <= min_count-1,
cohort >= 1, since the numerator never exceeds the cohort), a secondary (`.`) quantity in
{0} U [min_count, inf) (a binary switches between the two; a `.` whose true value is
1..min_count-1, a primary cell the suppression showed as `.`, any count >= 0: `audit.attack`), and the model's inequalities
(persons <= episodes, region vs national persons). The LP relaxation (HiGHS through
scipy.optimize.linprog) gives min and max of each hidden quantity: one value there is one
value for the integer program too. A range holding a single whole number, and (where `.`
cells are involved: no LP sees the gap between 0 and min_count) every other hidden quantity
of the component, goes to the integer program (scipy.optimize.milp): pinned when the
integer min equals the integer max. Every solution is a feasible point, so quantities seen at
two whole numbers are dropped without solving for them.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, vstack

from jobs.disclosure_audit.model import DENOMINATOR, NUMERATOR, PRIMARY, SECONDARY, SHOWN, Model

log = logging.getLogger(__name__)
# upper bound of any hidden count (a `.` cell's switch: h <= BIG z). No published count comes near it,
# and it keeps the switch honest: HiGHS accepts a binary within 1e-6 of 0, which with 10**8 let h reach 100
# while "0" and so missed a `.` pinned to min_count (tests/unit/test_disclosure_audit.py)
BIG = 10**5
TOL = 1e-6
MILP_SECONDS = 20.0  # a MILP that does not finish proves nothing (the quantity is then not reported)
RANDOM_DIRECTIONS = 6  # LPs in random directions before the per-quantity ones (each rules many out)


@dataclass
class BoundedResult:
    ranges: dict[int, tuple[int, int]]  # qid -> (integer min, integer max), for every hidden quantity tried
    pinned: dict[int, int]  # qid -> the only value it can take
    lp_solved: int
    milp_solved: int


def hidden_bounds(status: str, part: str, min_count: int) -> tuple[float, float]:
    if status == PRIMARY:
        return {NUMERATOR: (0.0, min_count - 1.0), DENOMINATOR: (1.0, np.inf)}.get(part, (1.0, min_count - 1.0))
    return 0.0, np.inf


def _rows(model: Model, qids: list[int], col_index: Any) -> csr_matrix:
    inc = model.incidence[model.incidence["qid"].isin(qids) & model.incidence["col"].isin(col_index)]
    pos = {q: i for i, q in enumerate(qids)}
    r = inc["qid"].map(pos).to_numpy()
    c = inc["col"].map(col_index).to_numpy()
    return csr_matrix((np.ones(len(inc)), (r, c)), shape=(len(qids), len(col_index)))


def bounded_attack(model: Model, labels: np.ndarray, min_count: int, known: dict[int, int],
                   any_count: frozenset[int] | set[int] = frozenset()) -> BoundedResult:
    """`known`: hidden quantities already recovered exactly (fixed to their value, not tried again);
    `any_count`: `.` quantities read as any count >= 0 rather than 0 or >= min_count (primary cells
    the suppression showed as `.`, recognised from the restricted table: `audit.attack`)."""
    q = model.quantities
    result = BoundedResult({}, {}, 0, 0)
    hidden_all = q[(q["status"] != SHOWN) & ~q["qid"].isin(list(known))]
    for comp in sorted(set(labels[hidden_all["qid"].to_numpy()])):
        members = q[labels == comp]
        _component(model, members, min_count, known, result, any_count)
    log.info("bounded attack: %d LPs, %d MILPs, %d pinned", result.lp_solved, result.milp_solved, len(result.pinned))
    return result


def _component(model: Model, members: pd.DataFrame, min_count: int, known: dict[int, int], result: BoundedResult,
               any_count: frozenset[int] | set[int] = frozenset()) -> None:
    inc = model.incidence[model.incidence["qid"].isin(members["qid"])]
    shown = members[members["status"] == SHOWN]
    zero_qids = set(shown.loc[shown["value"] == 0, "qid"])
    zero_cols = set(inc.loc[inc["qid"].isin(zero_qids), "col"])  # x >= 0 under a shown zero: all zero
    cols = sorted(set(inc["col"]) - zero_cols)
    col_index = {c: i for i, c in enumerate(cols)}
    inc = inc[inc["col"].isin(col_index)]
    eq = shown[~shown["qid"].isin(zero_qids) & shown["qid"].isin(inc["qid"])]
    hidden = members[members["status"] != SHOWN]
    for qid in hidden.loc[~hidden["qid"].isin(inc["qid"]), "qid"]:
        if int(qid) not in known:  # every cell lies under a shown zero
            result.pinned[int(qid)] = 0
            result.ranges[int(qid)] = (0, 0)
    hidden = hidden[hidden["qid"].isin(inc["qid"])]
    if hidden.empty:
        return
    n_x, n_h = len(cols), len(hidden)
    A_eq = _rows(model, list(eq["qid"]), col_index)
    T = _rows(model, list(hidden["qid"]), col_index)
    # hidden quantities as auxiliary variables h = T x; secondary ones get a binary switch z
    secondary = [i for i, (s, qid) in enumerate(zip(hidden["status"], hidden["qid"]))
                 if s == SECONDARY and int(qid) not in any_count]
    n_z = len(secondary)
    n = n_x + n_h + n_z
    blocks, lo, hi = [], [], []
    ident = csr_matrix((np.ones(n_h), (np.arange(n_h), n_x + np.arange(n_h))), shape=(n_h, n))
    blocks.append(_pad(T, n) - ident)
    lo += [0.0] * n_h
    hi += [0.0] * n_h
    if len(eq):
        blocks.append(_pad(A_eq, n))
        lo += list(eq["value"].astype(float))
        hi += list(eq["value"].astype(float))
    in_comp = set(members["qid"])
    for ineq in model.inequalities:
        if not set(ineq) <= in_comp:
            continue
        row = _rows(model, list(ineq), col_index)
        coefs = np.array(list(ineq.values()), dtype=float)
        blocks.append(_pad(csr_matrix(coefs @ row.toarray()), n))
        lo.append(-np.inf)
        hi.append(0.0)
    if n_z:
        hz = np.zeros((2 * n_z, n))
        for k, i in enumerate(secondary):
            hz[2 * k, n_x + i], hz[2 * k, n_x + n_h + k] = 1, -min_count     # h >= min_count z
            hz[2 * k + 1, n_x + i], hz[2 * k + 1, n_x + n_h + k] = 1, -BIG   # h <= BIG z
        blocks.append(csr_matrix(hz))
        lo += [0.0, -np.inf] * n_z
        hi += [np.inf, 0.0] * n_z
    A = vstack(blocks).tocsr()
    lo_a, hi_a = np.array(lo), np.array(hi)
    var_lo = np.zeros(n)
    var_hi = np.full(n, np.inf)
    for i, (status, part) in enumerate(zip(hidden["status"], hidden["part"])):
        var_lo[n_x + i], var_hi[n_x + i] = hidden_bounds(status, part, min_count)
    for i, qid in enumerate(hidden["qid"]):
        if int(qid) in known:
            var_lo[n_x + i] = var_hi[n_x + i] = known[int(qid)]
    var_hi[n_x + n_h:] = 1.0
    eq_rows = lo_a == hi_a
    ub_rows = ~eq_rows
    A_ub = vstack([A[ub_rows & np.isfinite(hi_a)], -A[ub_rows & np.isfinite(lo_a)]]).tocsr()
    b_ub = np.concatenate([hi_a[ub_rows & np.isfinite(hi_a)], -lo_a[ub_rows & np.isfinite(lo_a)]])
    bounds = np.column_stack([var_lo, var_hi])
    cap = 10.0 * float(eq["value"].max()) + 10.0 if len(eq) else 1e6
    capped = np.column_stack([var_lo, np.minimum(var_hi, cap)])
    todo = [i for i, qid in enumerate(hidden["qid"]) if int(qid) not in known]
    lp = _Solver(A, lo_a, hi_a, eq_rows, A_ub, b_ub, integer=False)
    confirm = []
    for i, (rmin, rmax) in _ranges(lp, bounds, capped, todo, n_x, n_h, result).items():
        imin, imax = math.ceil(rmin - TOL), math.floor(rmax + TOL)
        if imin == imax and rmax - rmin < TOL:  # the relaxation allows one value: so does the integer program
            result.pinned[int(hidden["qid"].iloc[i])] = imin
        elif imin == imax:
            confirm.append(i)
    if n_z:  # a `.` cell is 0 or >= min_count: no LP relaxation sees that gap, so search the integer program
        confirm = [i for i in todo if int(hidden["qid"].iloc[i]) not in result.pinned]
    if confirm:
        mip = _Solver(A, lo_a, hi_a, eq_rows, A_ub, b_ub, integer=True)
        for i, (rmin, rmax) in _ranges(mip, bounds, capped, confirm, n_x, n_h, result).items():
            if round(rmin) == round(rmax):
                result.pinned[int(hidden["qid"].iloc[i])] = round(rmin)
    log.debug("component: %d cells, %d hidden, %d pinned so far", n_x, n_h, len(result.pinned))


def _ranges(solver: _Solver, bounds: np.ndarray, capped: np.ndarray, todo: list[int], n_x: int, n_h: int,
            result: BoundedResult) -> dict[int, tuple[float, float]]:
    """min and max of each hidden quantity in `todo` that could be pinned. Every solution is a
    feasible point that shows where all the others can be: random directions first (in a capped
    box: still feasible points), then min and max of each quantity not yet seen at two whole numbers."""
    n = len(bounds)
    seen_lo, seen_hi = np.full(n_h, np.inf), np.full(n_h, -np.inf)

    def note(x: np.ndarray | None) -> None:
        if x is not None:
            np.minimum(seen_lo, x[n_x:n_x + n_h], out=seen_lo)
            np.maximum(seen_hi, x[n_x:n_x + n_h], out=seen_hi)

    def open_(i: int) -> bool:
        if not (np.isfinite(seen_lo[i]) and np.isfinite(seen_hi[i])):
            return True
        return bool(math.floor(seen_hi[i] + TOL) - math.ceil(seen_lo[i] - TOL) < 1)

    rng = np.random.default_rng(0)
    for _ in range(RANDOM_DIRECTIONS):  # until a round rules nothing more out
        still = [i for i in todo if open_(i)]
        if len(still) <= 2:
            break
        c = np.zeros(n)
        c[[n_x + i for i in still]] = rng.choice((-1.0, 1.0), len(still)) * rng.random(len(still))
        for sign in (1.0, -1.0):
            note(solver.solve(sign * c, capped, result)[1])
        if sum(open_(i) for i in still) == len(still):
            break
    out: dict[int, tuple[float, float]] = {}
    for i in todo:
        if not open_(i):
            continue
        c = np.zeros(n)
        c[n_x + i] = 1.0
        ends: list[float | None] = []
        for sign in (1.0, -1.0):
            value, x = solver.solve(sign * c, bounds, result)
            note(x)
            ends.append(None if value is None else sign * value)
            if not open_(i):
                break
        lo_end, hi_end = (ends + [None, None])[:2]
        if open_(i) and lo_end is not None and hi_end is not None:
            out[i] = (lo_end, hi_end)
    return out


@dataclass
class _Solver:
    """The component's constraints, solved as an LP (HiGHS via linprog) or an integer program (milp)."""
    A: csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    eq_rows: np.ndarray
    A_ub: csr_matrix
    b_ub: np.ndarray
    integer: bool

    def solve(self, c: np.ndarray, bounds: np.ndarray, result: BoundedResult) -> tuple[Any, Any]:
        """min c.x: (objective, solution), or (None, None) when unbounded or infeasible."""
        if self.integer:
            res = milp(c, constraints=LinearConstraint(self.A, self.lo, self.hi), integrality=np.ones(len(c)),
                       bounds=Bounds(bounds[:, 0], bounds[:, 1]),
                       options={"time_limit": MILP_SECONDS, "mip_rel_gap": 0.0})  # proven optimum, not near it
            result.milp_solved += 1
            ok = res.status == 0
        else:
            has_ub = self.A_ub.shape[0] > 0
            res = linprog(c, A_ub=self.A_ub if has_ub else None, b_ub=self.b_ub if has_ub else None,
                          A_eq=self.A[self.eq_rows], b_eq=self.lo[self.eq_rows], bounds=bounds, method="highs")
            result.lp_solved += 1
            ok = res.status == 0
        return (res.fun, res.x) if ok else (None, None)


def _pad(m: csr_matrix, n: int) -> csr_matrix:
    m = m.tocoo()
    return csr_matrix((m.data, (m.row, m.col)), shape=(m.shape[0], n))
