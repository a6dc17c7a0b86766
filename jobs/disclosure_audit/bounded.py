"""Bounded integer recovery: the range a hidden quantity can take, given everything a reader knows.

Per connected component: inner cells x >= 0 (whole numbers), shown quantities equal to their
values, a primary (`<5`) count in [1, min_count-1] (a primary share: numerator <= min_count-1,
cohort >= 1, since the numerator never exceeds the cohort), a secondary (`.`) quantity in
{0} U [min_count, M] (a binary switches between the two; M is the quantity's own LP maximum, a
bound no feasible value exceeds; a `.` whose true value is 1..min_count-1, a primary cell the
suppression showed as `.`, any count >= 0: `audit.attack`), and the model's inequalities
(persons <= episodes, region vs national persons). The LP relaxation (HiGHS through
scipy.optimize.linprog) gives min and max of each hidden quantity: one value there is one
value for the integer program too. A range holding a single whole number, and (where `.`
cells are involved: no LP sees the gap between 0 and min_count) every other hidden quantity
of the component, goes to the integer program (scipy.optimize.milp), asked a yes/no question
rather than an optimum: with v a value the quantity takes in a known solution, is there a whole-
number solution with it below v, or above? Pinned when HiGHS proves both infeasible; undecided
(reported, never counted as safe) when either search hits its time limit. Every solution found
is rounded and checked against every constraint exactly before it counts as a witness, and
quantities seen at two whole numbers are dropped without solving for them.
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, vstack

from jobs.disclosure_audit.model import DENOMINATOR, NUMERATOR, PRIMARY, SECONDARY, SHOWN, Model

log = logging.getLogger(__name__)
# upper bound of a `.` cell's switch (h <= M z) where its LP maximum is larger or unbounded. It keeps the
# switch honest: HiGHS accepts a binary within 1e-6 of 0, which with 10**8 let h reach 100 while "0" and so
# missed a `.` pinned to min_count (tests/unit/test_disclosure_audit.py); every M stays <= BIG
BIG = 10**5
TOL = 1e-6
MILP_SECONDS = 120.0  # a search that does not finish proves nothing (the quantity is then reported undecided);
# HiGHS spends ~13 s (small's largest component) to ~60 s (medium's) in root cuts whatever it is asked
FIRST_SECONDS = 900.0  # the first whole-number solution of a component, asked again with this limit when it
# takes longer than MILP_SECONDS (a loaded machine): without one, nothing in the component is decided
LOCAL_SECONDS = 10.0  # a search around one quantity, everything else held at a known solution
LOCAL_ROW_CELLS = 200  # quantities of at most this many cells around it are freed with it ...
LOCAL_MAX_CELLS = 400  # ... unless that frees more cells than this (a national total: no local search)
RANDOM_DIRECTIONS = 6  # solves in random directions before the per-quantity ones (each rules many out)
WITNESS_SECONDS = MILP_SECONDS  # a targeted integer program: any solution found by then is a witness
WITNESS_GAP = 0.5  # ... and it need not be optimal
TARGETED_ROUNDS = 20  # solves that push every undecided quantity away from its value at once ...
TARGETED_MIN_SHARE = 0.5  # ... while each opens at least this share of the quantities still undecided


@dataclass
class BoundedResult:
    pinned: dict[int, int]  # qid -> the only value it can take
    lp_solved: int
    milp_solved: int
    undecided: set[int] = field(default_factory=set)  # qids whose integer search hit MILP_SECONDS


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
    result = BoundedResult({}, 0, 0)
    hidden_all = q[(q["status"] != SHOWN) & ~q["qid"].isin(list(known))]
    for comp in sorted(set(labels[hidden_all["qid"].to_numpy()])):
        members = q[labels == comp]
        _component(model, members, min_count, known, result, any_count)
    log.info("bounded attack: %d LPs, %d MILPs, %d pinned, %d undecided", result.lp_solved, result.milp_solved,
             len(result.pinned), len(result.undecided))
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
    hidden = hidden[hidden["qid"].isin(inc["qid"])]
    if hidden.empty:
        return
    n_x, n_h = len(cols), len(hidden)
    A_eq = _rows(model, list(eq["qid"]), col_index)
    T = _rows(model, list(hidden["qid"]), col_index)
    # hidden quantities as auxiliary variables h = T x; secondary ones get a binary switch z (integer phase)
    secondary = [i for i, (s, qid) in enumerate(zip(hidden["status"], hidden["qid"]))
                 if s == SECONDARY and int(qid) not in any_count]
    n = n_x + n_h
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
    var_lo = np.zeros(n)
    var_hi = np.full(n, np.inf)
    for i, (status, part) in enumerate(zip(hidden["status"], hidden["part"])):
        var_lo[n_x + i], var_hi[n_x + i] = hidden_bounds(status, part, min_count)
    for i, qid in enumerate(hidden["qid"]):
        if int(qid) in known:
            var_lo[n_x + i] = var_hi[n_x + i] = known[int(qid)]
    lp = _Solver.of(vstack(blocks).tocsr(), np.array(lo), np.array(hi), integer=False)
    bounds = np.column_stack([var_lo, var_hi])
    cap = 10.0 * float(eq["value"].max()) + 10.0 if len(eq) else 1e6
    capped = np.column_stack([var_lo, np.minimum(var_hi, cap)])
    todo = [i for i, qid in enumerate(hidden["qid"]) if int(qid) not in known]
    confirm = []
    for i, (rmin, rmax) in _ranges(lp, bounds, capped, todo, n_x, n_h, result).items():
        imin, imax = math.ceil(rmin - TOL), math.floor(rmax + TOL)
        if imin == imax and rmax - rmin < TOL:  # the relaxation allows one value: so does the integer program
            result.pinned[int(hidden["qid"].iloc[i])] = imin
        elif imin == imax:
            confirm.append(i)
    if secondary:  # a `.` cell is 0 or >= min_count: no LP relaxation sees that gap, so search the integer program
        confirm = [i for i in todo if int(hidden["qid"].iloc[i]) not in result.pinned]
    if not confirm:
        return
    # the switch: min_count z <= h <= M z, M the `.` quantity's own LP maximum (no solution exceeds it)
    n_z = len(secondary)
    rows, cols_, vals = [], [], []
    for k, i in enumerate(secondary):
        value, _ = lp.solve(-_unit(n, n_x + i), bounds, result)
        big = BIG if value is None else min(BIG, math.floor(-value + TOL))
        rows += [2 * k, 2 * k, 2 * k + 1, 2 * k + 1]
        cols_ += [n_x + i, n + k, n_x + i, n + k]
        vals += [1.0, -float(min_count), 1.0, -float(big)]
    n_all = n + n_z
    A = vstack([_pad(lp.A, n_all), csr_matrix((vals, (rows, cols_)), shape=(2 * n_z, n_all))]).tocsr()
    mip = _Solver.of(A, np.concatenate([lp.lo, np.tile([0.0, -np.inf], n_z)]),
                     np.concatenate([lp.hi, np.tile([np.inf, 0.0], n_z)]), integer=True)
    z_bounds = np.tile([0.0, 1.0], (n_z, 1))
    search = _Search(mip, lp, np.vstack([bounds, z_bounds]), np.vstack([capped, z_bounds]), n_x, n_h,
                     np.array([n_x + i for i in secondary], dtype=int), min_count, result)
    search.run(confirm, hidden)
    log.debug("component: %d cells, %d hidden, %d pinned so far", n_x, n_h, len(result.pinned))


def _unit(n: int, i: int) -> np.ndarray:
    c = np.zeros(n)
    c[i] = 1.0
    return c


class _Seen:
    """The lowest and highest value each hidden quantity takes in the solutions found so far."""

    def __init__(self, n_x: int, n_h: int) -> None:
        self.n_x, self.n_h = n_x, n_h
        self.lo, self.hi = np.full(n_h, np.inf), np.full(n_h, -np.inf)

    def note(self, x: np.ndarray | None) -> None:
        if x is not None:
            h = x[self.n_x:self.n_x + self.n_h]
            np.minimum(self.lo, h, out=self.lo)
            np.maximum(self.hi, h, out=self.hi)

    def open_(self, i: int) -> bool:
        """Not yet seen at two whole numbers (so possibly pinned)."""
        if not (np.isfinite(self.lo[i]) and np.isfinite(self.hi[i])):
            return True
        return bool(math.floor(self.hi[i] + TOL) - math.ceil(self.lo[i] - TOL) < 1)


def _random_directions(solver: _Solver, capped: np.ndarray, todo: list[int], seen: _Seen,
                       result: BoundedResult) -> None:
    """Solutions in random directions (in a capped box: still feasible points), each of which
    shows where many quantities can be, until a round rules nothing more out."""
    rng = np.random.default_rng(0)
    n_x = seen.n_x
    for _ in range(RANDOM_DIRECTIONS):
        still = [i for i in todo if seen.open_(i)]
        if len(still) <= 2:
            break
        c = np.zeros(len(capped))
        c[[n_x + i for i in still]] = rng.choice((-1.0, 1.0), len(still)) * rng.random(len(still))
        for sign in (1.0, -1.0):
            seen.note(solver.solve(sign * c, capped, result)[1])
        if sum(seen.open_(i) for i in still) == len(still):
            break


def _ranges(solver: _Solver, bounds: np.ndarray, capped: np.ndarray, todo: list[int], n_x: int, n_h: int,
            result: BoundedResult) -> dict[int, tuple[float, float]]:
    """LP min and max of each hidden quantity in `todo` that could be pinned (not seen at two
    whole numbers in the random directions or in an earlier quantity's solutions)."""
    seen = _Seen(n_x, n_h)
    _random_directions(solver, capped, todo, seen, result)
    out: dict[int, tuple[float, float]] = {}
    for i in todo:
        if not seen.open_(i):
            continue
        ends: list[float | None] = []
        for sign in (1.0, -1.0):
            value, x = solver.solve(sign * _unit(len(bounds), n_x + i), bounds, result)
            seen.note(x)
            ends.append(None if value is None else sign * value)
            if not seen.open_(i):
                break
        lo_end, hi_end = (ends + [None, None])[:2]
        if seen.open_(i) and lo_end is not None and hi_end is not None:
            out[i] = (lo_end, hi_end)
    return out


@dataclass
class _Search:
    """The integer program's verdict on each quantity: with v its value in a known solution, a
    whole-number solution below v or above v shows two values; when neither exists (the LP
    relaxation infeasible, or HiGHS proves it) the quantity is pinned to v; when a search runs
    out of time it is undecided. A rounded LP solution that meets every constraint exactly is a
    witness too, so most questions never reach the integer program."""
    mip: _Solver
    lp: _Solver
    bounds: np.ndarray  # of the integer program's variables: x, h, then the `.` switches z
    capped: np.ndarray
    n_x: int
    n_h: int
    switched: np.ndarray  # columns of the `.` quantities that have a switch (in the order of z)
    min_count: int
    result: BoundedResult
    tally: Counter[str] = field(default_factory=Counter)  # how each side question was answered
    last: np.ndarray | None = None  # the latest witness

    def __post_init__(self) -> None:
        self._csc = self.mip.A.tocsc()  # which rows hold a column
        self._row_cells = np.diff(self.mip.A.indptr)
        self._z_of = {int(col): self.n_x + self.n_h + k for k, col in enumerate(self.switched)}  # h column -> its z

    def _note(self, seen: _Seen, witness: np.ndarray | None) -> None:
        if witness is not None:
            seen.note(witness)
            self.last = witness

    def run(self, todo: list[int], hidden: pd.DataFrame) -> None:
        seen = _Seen(self.n_x, self.n_h)
        outcome, first = self.mip.search(self.bounds, self.result)
        if outcome == TIMED_OUT:
            log.info("integer program of a component of %d hidden: no solution in %.0f s; asking again for up to "
                     "%.0f s", self.n_h, MILP_SECONDS, FIRST_SECONDS)
            outcome, first = self.mip.search(self.bounds, self.result, FIRST_SECONDS)
        if first is None:  # the true table is a solution, so HiGHS ran out of time (or the model broke: say so)
            log.warning("integer program of a component: %s with no bound on any quantity", outcome)
            self.result.undecided.update(int(hidden["qid"].iloc[i]) for i in todo)
            return
        self._note(seen, first)
        self._targeted(todo, seen)
        log.debug("component of %d hidden: %d open after the targeted solves", self.n_h,
                  sum(seen.open_(i) for i in todo))
        for i in todo:
            if not seen.open_(i):
                continue
            v = round(seen.lo[i])
            verdicts = []
            for side in ((self.bounds[self.n_x + i, 0], v - 1.0), (v + 1.0, self.bounds[self.n_x + i, 1])):
                verdict = self._side(i, side, seen)
                verdicts.append(verdict)
                if not seen.open_(i):
                    break
            qid = int(hidden["qid"].iloc[i])
            if seen.open_(i) and verdicts == [INFEASIBLE, INFEASIBLE]:
                self.result.pinned[qid] = v
            elif seen.open_(i):
                self.result.undecided.add(qid)
        log.debug("side questions: %s", dict(self.tally))

    def _side(self, i: int, side: tuple[float, float], seen: _Seen) -> str:
        """Is there a whole-number solution with quantity i within `side`?"""
        if side[0] > side[1]:  # outside the quantity's own bounds
            self.tally["out of bounds"] += 1
            return INFEASIBLE
        b = self.bounds.copy()
        b[self.n_x + i] = side
        n = self.lp.A.shape[1]
        _, x = self.lp.solve(np.zeros(n), b[:n], self.result)
        if x is None:  # not even the relaxation has a solution there
            self.tally["LP infeasible"] += 1
            return INFEASIBLE
        witness = self._lifted(x, b)
        if witness is None and self.last is not None:  # the LP again, each `.` held to 0 or >= min_count as last seen
            above = self.last[self.switched] > 0
            fixed = b[:n].copy()
            fixed[self.switched[~above], 1] = 0.0
            fixed[self.switched[above], 0] = np.maximum(fixed[self.switched[above], 0], self.min_count)
            if np.all(fixed[:, 0] <= fixed[:, 1]):
                _, x = self.lp.solve(np.zeros(n), fixed, self.result)
                witness = None if x is None else self._lifted(x, b)
        if witness is not None:
            self.tally["LP solution"] += 1
        elif (witness := self._local(i, b)) is not None:
            self.tally["local search"] += 1
        if witness is not None:
            self._note(seen, witness)
            return FOUND
        outcome, witness = self.mip.search(b, self.result)
        self.tally[f"integer program: {outcome}"] += 1
        self._note(seen, witness)
        return outcome

    def _local(self, i: int, bounds: np.ndarray) -> np.ndarray | None:
        """A whole-number solution within `bounds` that differs from the latest witness only near
        quantity i: its cells and those of every quantity of at most LOCAL_ROW_CELLS cells that
        shares one with it are free, every other variable stays at its witness value. A small
        integer program (HiGHS drops the fixed columns first); None when it finds nothing."""
        if self.last is None:
            return None
        A = self.mip.A
        cells = A.indices[A.indptr[i]:A.indptr[i + 1]]
        cells = cells[cells < self.n_x]
        rows = np.unique(self._csc[:, cells].indices)
        free = [cells] + [A.indices[A.indptr[r]:A.indptr[r + 1]] for r in rows if self._row_cells[r] <= LOCAL_ROW_CELLS]
        free_cells = np.unique(np.concatenate(free))
        free_cells = free_cells[free_cells < self.n_x]
        if len(free_cells) > LOCAL_MAX_CELLS:
            return None
        h_rows = np.unique(self._csc[:, free_cells].indices)
        h_cols = self.n_x + h_rows[h_rows < self.n_h]
        z_cols = [self._z_of[int(c)] for c in h_cols if int(c) in self._z_of]
        b = np.column_stack([self.last, self.last])
        keep = np.concatenate([free_cells, h_cols, np.array(z_cols, dtype=int)])
        b[keep] = bounds[keep]
        if np.any(b[:, 0] > b[:, 1]):
            return None
        return self.mip.search(b, self.result, LOCAL_SECONDS)[1]

    def _lifted(self, x: np.ndarray, bounds: np.ndarray) -> np.ndarray | None:
        """An LP solution with the switches set (z = 1 where the `.` quantity is > 0), if it is a
        whole-number solution of the integer program."""
        z = (np.round(x[self.switched]) > 0).astype(float)
        return self.mip.checked(np.concatenate([x, z]), bounds)

    def _targeted(self, todo: list[int], seen: _Seen) -> None:
        """Solutions that push every undecided quantity away from the value seen (down where it
        lies in the upper half of its range, up otherwise), LP first and its rounding if that is a
        solution, else the integer program, while a round opens TARGETED_MIN_SHARE of them."""
        rng = np.random.default_rng(0)
        n_x = self.n_x
        n = self.lp.A.shape[1]
        for _ in range(TARGETED_ROUNDS):
            still = [i for i in todo if seen.open_(i)]
            if len(still) <= 2:
                break
            c = np.zeros(len(self.capped))
            for i in still:
                lo, hi = self.capped[n_x + i]
                c[n_x + i] = (1.0 if seen.lo[i] - lo >= hi - seen.lo[i] else -1.0) * (0.5 + rng.random())
            x = self.lp.solve(c[:n], self.capped[:n], self.result)[1]
            witness = None if x is None else self._lifted(x, self.capped)
            if witness is None:
                witness = self.mip.solve(c, self.capped, self.result)[1]
            self._note(seen, witness)
            self.tally["targeted solve"] += 1
            if len(still) - sum(seen.open_(i) for i in still) < TARGETED_MIN_SHARE * len(still):
                break  # the rest one by one: each costs a local search, a round costs a whole integer program


FOUND, INFEASIBLE, TIMED_OUT = "found", "infeasible", "timed out"


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

    @classmethod
    def of(cls, A: csr_matrix, lo: np.ndarray, hi: np.ndarray, integer: bool) -> _Solver:
        eq_rows = lo == hi
        ub_rows = ~eq_rows
        A_ub = vstack([A[ub_rows & np.isfinite(hi)], -A[ub_rows & np.isfinite(lo)]]).tocsr()
        b_ub = np.concatenate([hi[ub_rows & np.isfinite(hi)], -lo[ub_rows & np.isfinite(lo)]])
        return cls(A, lo, hi, eq_rows, A_ub, b_ub, integer)

    def solve(self, c: np.ndarray, bounds: np.ndarray, result: BoundedResult) -> tuple[Any, Any]:
        """LP: min c.x, (objective, solution), or (None, None) when unbounded or infeasible. Integer
        program: a witness, any solution found within WITNESS_SECONDS heading for min c.x, optimal or not."""
        if self.integer:
            res = self._milp(c, bounds, {"time_limit": WITNESS_SECONDS, "mip_rel_gap": WITNESS_GAP}, result)
            x = self.checked(res.x, bounds)
            return (None, None) if x is None else (float(c @ x), x)
        has_ub = self.A_ub.shape[0] > 0
        res = linprog(c, A_ub=self.A_ub if has_ub else None, b_ub=self.b_ub if has_ub else None,
                      A_eq=self.A[self.eq_rows], b_eq=self.lo[self.eq_rows], bounds=bounds, method="highs")
        result.lp_solved += 1
        return (res.fun, res.x) if res.status == 0 else (None, None)

    def search(self, bounds: np.ndarray, result: BoundedResult,
               seconds: float = MILP_SECONDS) -> tuple[str, np.ndarray | None]:
        """Is there a whole-number solution within `bounds`? FOUND (with it), INFEASIBLE (proven)
        or TIMED_OUT."""
        res = self._milp(np.zeros(len(bounds)), bounds, {"time_limit": seconds}, result)
        x = self.checked(res.x, bounds)
        if x is not None:
            return FOUND, x
        return (INFEASIBLE if res.status == 2 else TIMED_OUT), None

    def _milp(self, c: np.ndarray, bounds: np.ndarray, options: dict[str, float], result: BoundedResult) -> Any:
        result.milp_solved += 1
        return milp(c, constraints=LinearConstraint(self.A, self.lo, self.hi), integrality=np.ones(len(c)),
                    bounds=Bounds(bounds[:, 0], bounds[:, 1]), options=options)

    def checked(self, x: np.ndarray | None, bounds: np.ndarray) -> np.ndarray | None:
        """x rounded to whole numbers, if that satisfies every constraint exactly (HiGHS works to a
        tolerance: a binary at 1e-6 would let a "0" `.` carry a count), else None."""
        if x is None:
            return None
        r = np.round(x)
        ax = self.A @ r
        ok = (np.all(r >= bounds[:, 0]) and np.all(r <= bounds[:, 1])
              and np.all(ax >= self.lo - 1e-9) and np.all(ax <= self.hi + 1e-9))
        return r if ok else None


def _pad(m: csr_matrix, n: int) -> csr_matrix:
    m = m.tocoo()
    return csr_matrix((m.data, (m.row, m.col)), shape=(m.shape[0], n))
