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
Many quantities are certified at once: one LP maximises (then minimises) the sum of the
unresolved quantities, each capped one above (below) its true value, repeated while it
certifies more; what is left is reported pinned (conservative: it gets one more partner). The check is the LP relaxation: a
range the integers cannot fill is not detected (the independent audit's MILP is the
backstop, docs/disclosure.md).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

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
    max_rounds: int = 30,
    exempt: frozenset[int] | set[int] = frozenset(),
) -> list[int]:
    """Hidden quantities (indices into the model) whose range is narrower than one unit
    (a `.` quantity that is 0: that cannot reach min_count). `model.a` is the reader's model
    (jobs/indicators/definitional.py: every possible cell, zeros included); `exempt`: hidden
    quantities that are published zeros (equal by definition to a zero shown by rule 1), not
    checked (they still constrain the others). The LPs run per connected component."""
    rows = model.row
    hidden_mask = np.isin(rows, list(primary_rows | secondary_rows))
    targets = np.flatnonzero(hidden_mask & ~np.isin(np.arange(len(rows)), list(exempt)))
    if not len(targets):
        return []
    nq, nc = model.a.shape
    links = [(lhs, r) for lhs, rhs in inequalities for r in rhs]
    qq = sparse.csr_matrix((np.ones(len(links)), ([lhs for lhs, _ in links], [r for _, r in links])), shape=(nq, nq))
    graph = sparse.bmat([[qq, model.a], [model.a.T, None]]).tocsr()
    _, labels = connected_components(graph, directed=False)
    qlab, clab = labels[:nq], labels[nq:]
    pinned: list[int] = []
    ineq_by_label: dict[int, list[Any]] = {}
    for lhs, rhs in inequalities:
        ineq_by_label.setdefault(qlab[lhs], []).append((lhs, rhs))
    for lab in sorted(set(qlab[targets].tolist())):
        qs = np.flatnonzero(qlab == lab)
        cells = np.flatnonzero(clab == lab)
        sub = Model(model.a[qs][:, cells].tocsr(), rows[qs], model.part[qs], model.value[qs], model.units[:0], [])
        local = {int(q): k for k, q in enumerate(qs)}
        ineq = [(local[lhs], [local[r] for r in rhs]) for lhs, rhs in ineq_by_label.get(lab, [])]
        tq = [local[int(q)] for q in targets if qlab[q] == lab]
        found = _pinned_component(sub, shown_rows, primary_rows, secondary_rows, ineq, min_count, tq, max_rounds)
        pinned.extend(int(qs[k]) for k in found)
    log.info("interval check: %d hidden quantities checked, %d pinned", len(targets), len(pinned))
    return sorted(set(pinned))


def _pinned_component(model: Model, shown_rows: set[int], primary_rows: set[int], secondary_rows: set[int],
                      inequalities: Sequence[tuple[int, list[int]]], min_count: int,
                      targets: list[int], max_rounds: int) -> list[int]:
    rows = model.row
    n = model.a.shape[1]
    shown_q = np.flatnonzero(np.isin(rows, list(shown_rows)))
    hidden_q = np.flatnonzero(np.isin(rows, list(primary_rows | secondary_rows)))
    ub_rows, ub_rhs = [], []
    eq_extra = []

    def bound(q: int | np.integer[Any], lo: float | None, hi: float | None) -> None:
        if hi is not None:
            ub_rows.append(model.a[q])
            ub_rhs.append(hi)
        if lo is not None:
            ub_rows.append(-model.a[q])
            ub_rhs.append(-lo)

    small = min_count - 1
    share_rows = set(rows[model.part == "num"].tolist())
    secondary_zero = []
    q: int | np.integer[Any]  # numpy indices here, Python ints from `targets` below
    for q in hidden_q:
        if rows[q] in primary_rows:
            if model.part[q] == "num":
                bound(q, None, small)
            elif model.part[q] == "den" and rows[q] in share_rows:
                bound(q, 1, None)
            else:
                bound(q, 1, small)
        elif model.value[q] >= min_count:
            bound(q, min_count, None)  # `.` is 0 or >= min_count: search the branch the truth is in
        else:
            secondary_zero.append(int(q))
            eq_extra.append(q)  # a `.` zero stays 0 (its own branch), except when it is the one tested
    hidden_set = set(hidden_q.tolist())
    for lhs, rhs in inequalities:
        if lhs in hidden_set or any(r in hidden_set for r in rhs):
            row = model.a[lhs].copy()
            for r in rhs:
                row = row - model.a[r]
            ub_rows.append(row)
            ub_rhs.append(0.0)
    truth = model.value.astype(float)
    a_ub = sparse.vstack(ub_rows).tocsr() if ub_rows else sparse.csr_matrix((0, n))
    b_ub = np.asarray(ub_rhs, dtype=float)
    eq_q = np.concatenate([shown_q, np.asarray(eq_extra, dtype=np.int64)]).astype(np.int64)

    def solve(c: np.ndarray, extra_ub: Any = None, extra_b: np.ndarray | None = None, free: Sequence[int] = (), k: int = 0,
              z_bounds: Sequence[tuple[float | None, float | None]] = ()) -> Any:
        """min c.(y, z) over the component's constraints; `free`: `.` zeros released from = 0."""
        keep = [q for q in eq_q if q not in set(free)]
        a_eq = model.a[keep] if keep else None
        A_ub, B_ub = a_ub, b_ub
        if extra_ub is not None:
            A_ub = sparse.vstack([A_ub, extra_ub]).tocsr() if A_ub.shape[0] else extra_ub
            B_ub = np.concatenate([B_ub, extra_b])
        if k:
            A_ub = sparse.hstack([A_ub, sparse.csr_matrix((A_ub.shape[0], k))]).tocsr() if A_ub.shape[1] == n else A_ub
            if a_eq is not None:
                a_eq = sparse.hstack([a_eq, sparse.csr_matrix((a_eq.shape[0], k))]).tocsr()
        res = linprog(c, A_ub=A_ub if A_ub.shape[0] else None, b_ub=B_ub if A_ub.shape[0] else None,
                      A_eq=a_eq, b_eq=truth[keep] if keep else None,
                      bounds=[(0, None)] * n + list(z_bounds), method="highs")
        return res

    rng = np.random.default_rng(0)

    def moved(objective_q: Sequence[int], up: bool) -> np.ndarray:
        """Which of `objective_q` one LP solution moves by >= 1 from the truth (capped objective:
        maximise the sum of min(a_q.y, truth + 1), mirrored downwards)."""
        k = len(objective_q)
        sub = model.a[list(objective_q)]
        eye = sparse.identity(k, format="csr")
        link = sparse.hstack([-sub, eye]) if up else sparse.hstack([sub, -eye])
        base = sparse.hstack([a_ub, sparse.csr_matrix((a_ub.shape[0], k))]) if a_ub.shape[0] else None
        A = sparse.vstack([base, link]).tocsr() if base is not None else link.tocsr()
        t = truth[list(objective_q)]
        z_bounds = [(None, v + 1) for v in t] if up else [(v - 1, None) for v in t]
        weights = rng.uniform(0.2, 1.0, k)
        c = np.concatenate([np.zeros(n), -weights if up else weights])
        keep = list(eq_q)
        a_eq = sparse.hstack([model.a[keep], sparse.csr_matrix((len(keep), k))]).tocsr() if keep else None
        res = linprog(c, A_ub=A, b_ub=np.concatenate([b_ub, np.zeros(k)]), A_eq=a_eq,
                      b_eq=truth[keep] if keep else None, bounds=[(0, None)] * n + z_bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"interval check: LP failed ({res.message})")
        values = np.asarray(sub @ res.x[:n]).ravel()
        return values >= t + 1 - TOL if up else values <= t - 1 + TOL

    movable = [q for q in targets if q not in set(secondary_zero)]
    unresolved = list(movable)
    idle = 0
    for _ in range(max_rounds):
        before = len(unresolved)
        for up in (True, False):
            if unresolved:
                ok = moved(unresolved, up)
                unresolved = [q for q, m in zip(unresolved, ok) if not m]
        progress = before - len(unresolved)
        idle = idle + 1 if progress == 0 or progress < before // 100 else 0
        if idle >= 2 or not unresolved:
            break
    pinned: list[Any] = []  # model indices (numpy integers from the component's arrays)
    zero_set = set(secondary_zero)
    for q in unresolved:  # one at a time: its own min and max
        lo_hi = []
        for sign in (1.0, -1.0):
            c = np.asarray(model.a[q].todense()).ravel() * sign
            res = solve(c)
            lo_hi.append(None if res.status != 0 else sign * res.fun)
        lo, hi = lo_hi
        if lo is None or hi is None or hi - lo < 1 - TOL:
            # the other branch of the `.` zeros sharing a cell with q: all of them >= min_count
            # two hops: the `.` zeros touching q or a hidden quantity that touches q (8B's numerator
            # under a hidden 8AB whose 8A part is a `.` zero)
            cells = set(model.a[q].indices.tolist())
            hops = [h for h in hidden_q if cells & set(model.a[h].indices.tolist())]
            for h in hops:
                cells |= set(model.a[h].indices.tolist())
            near = [z for z in zero_set if cells & set(model.a[z].indices.tolist())]
            moved_other = False
            if near:
                ub = -model.a[near]
                for sign in (1.0, -1.0):
                    c = np.asarray(model.a[q].todense()).ravel() * sign
                    res = solve(c, extra_ub=ub, extra_b=np.full(len(near), -float(min_count)), free=near)
                    if res.status == 0 and (sign * res.fun >= truth[q] + 1 - TOL if sign < 0
                                            else sign * res.fun <= truth[q] - 1 + TOL):
                        moved_other = True
                        break
            if not moved_other:
                pinned.append(q)
    # `.` zeros: can they reach min_count (all of a group at once is a real alternative)?
    zeros = [q for q in targets if q in set(secondary_zero)]

    def lift(group: list[int]) -> None:
        ub = -model.a[group]
        res = solve(np.zeros(n), extra_ub=ub, extra_b=np.full(len(group), -float(min_count)), free=group)
        if res.status == 0:
            return
        if len(group) == 1:
            pinned.append(group[0])
            return
        half = len(group) // 2
        lift(group[:half])
        lift(group[half:])

    if zeros:
        lift(zeros)
    return pinned
