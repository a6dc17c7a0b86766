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
    max_rounds: int = 30,
) -> list[int]:
    """Hidden quantities (indices into the model) whose LP range is narrower than one unit."""
    nnz = np.diff(model.a.indptr) > 0
    rows = model.row
    shown_q = np.flatnonzero(np.isin(rows, list(shown_rows)) & nnz)
    # a true zero is the zero vector of the exact model: it needs no protection (as in the elimination)
    hidden_q = np.flatnonzero(np.isin(rows, list(primary_rows | secondary_rows)) & nnz & (model.value > 0))
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
    share_rows = set(rows[model.part == "num"].tolist())
    for q in hidden_q:
        if rows[q] in primary_rows:
            if model.part[q] == "num":
                bound(q, None, small)
            elif model.part[q] == "den" and rows[q] in share_rows:
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

    a_ub_base = sparse.vstack(ub_rows).tocsr() if ub_rows else sparse.csr_matrix((0, model.a.shape[1]))
    b_ub_base = np.asarray(ub_rhs, dtype=float)

    def moved(objective_q: Sequence[int], up: bool) -> np.ndarray:
        """Which of `objective_q` one LP solution moves by >= 1 (up or down) from the truth.

        Capped objective: z_q <= a_q.y and z_q <= truth + 1 (up; mirrored down), maximise the
        sum of z: bounded, and it rewards moving as many quantities as possible by one."""
        k, n = len(objective_q), model.a.shape[1]
        sub = model.a[list(objective_q)]
        eye = sparse.identity(k, format="csr")
        link = sparse.hstack([-sub, eye]) if up else sparse.hstack([sub, -eye])  # z - a.y <= 0 | a.y - z <= 0
        a_ub = sparse.vstack([sparse.hstack([a_ub_base, sparse.csr_matrix((a_ub_base.shape[0], k))]), link]).tocsr()
        b_ub = np.concatenate([b_ub_base, np.zeros(k)])
        a_eq_z = sparse.hstack([a_eq, sparse.csr_matrix((a_eq.shape[0], k))]).tocsr() if len(shown_q) else None
        t = truth[list(objective_q)]
        z_bounds = [(None, v + 1) for v in t] if up else [(v - 1, None) for v in t]
        weights = rng.uniform(0.2, 1.0, k)  # unequal: moving one quantity is never a tie with not moving it
        c = np.concatenate([np.zeros(n), -weights if up else weights])
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq_z, b_eq=b_eq if len(shown_q) else None,
                      bounds=[(0, None)] * n + z_bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"interval check: LP failed ({res.message})")
        values = np.asarray(sub @ res.x[:n]).ravel()
        return values >= t + 1 - TOL if up else values <= t - 1 + TOL

    rng = np.random.default_rng(0)
    unresolved = list(hidden_q)
    idle = 0
    for _ in range(max_rounds):
        before = len(unresolved)
        for up in (True, False):
            if unresolved:
                ok = moved(unresolved, up)
                unresolved = [q for q, m in zip(unresolved, ok) if not m]
                log.debug("interval check: %d unresolved after a batch (%s)", len(unresolved), "up" if up else "down")
        progress = before - len(unresolved)
        idle = idle + 1 if progress == 0 or progress < before // 100 else 0
        if idle >= 2:
            break
    if log.isEnabledFor(logging.DEBUG):
        from collections import Counter
        kinds = Counter((model.qid[q].split("|")[0], model.qid[q].split("|")[2], rows[q] in primary_rows,
                         int(model.value[q])) for q in unresolved)
        log.debug("interval check: unresolved kinds %s", kinds.most_common(40))
    # what several batches cannot move is reported pinned (conservative: it gets a partner)
    pinned = unresolved
    log.info("interval check: %d hidden quantities, %d pinned", len(hidden_q), len(pinned))
    return sorted(set(pinned))
