"""Interval protection: no suppressed quantity may be pinned to one value by the bounds every
reader knows, checked with linear programs (scipy.optimize.linprog, HiGHS).

What a reader knows, over the inner-cell counts y >= 0 of the disclosure model:
- every shown quantity: a.y = its value;
- a primary (`<5`) count or median count: 1 <= a.y <= min_count - 1; a primary share: its
  numerator <= min_count - 1 and its cohort >= 1 (one of the two is 1..min_count-1);
- a secondary (`.`) quantity is 0 or >= min_count: the LPs stay in the branch the true
  table is in (>= min_count), so an alternative they find is real; a quantity they leave
  pinned gets an exact search (`switch`: an integer program in which the `.` quantities near
  it may each be 0 or >= min_count, as a reader allows); only what that cannot move either is
  reported pinned (docs/disclosure.md section 7, "Convergence fix");
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

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp
from scipy.sparse.csgraph import connected_components

from jobs.indicators.model import Model

log = logging.getLogger(__name__)
TOL = 1e-6
MAX_WITNESSES = 400  # feasible points kept per component between rounds
MAX_SWITCHES = 300  # `.` quantities one exact search may switch
SWITCH_SECONDS = 10.0  # time limit of one exact (binary `.`) search; no answer = pinned (conservative)
Witnesses = dict[int, list[np.ndarray]]


def pinned_quantities(
    model: Model,
    shown_rows: set[int],
    primary_rows: set[int],
    secondary_rows: set[int],
    inequalities: Sequence[tuple[int, list[int]]],
    min_count: int,
    max_rounds: int = 30,
    exempt: frozenset[int] | set[int] = frozenset(),
    witnesses: Witnesses | None = None,
    binding: dict[int, set[int]] | None = None,
) -> list[int]:
    """Hidden quantities (indices into the model) whose range is narrower than one unit
    (a `.` quantity that is 0: that cannot reach min_count). `model.a` is the reader's model
    (jobs/indicators/definitional.py: every possible cell, zeros included); `exempt`: hidden
    quantities that are published zeros (equal by definition to a zero shown by rule 1), not
    checked (they still constrain the others). The LPs run per connected component.

    `witnesses`: feasible points kept from earlier calls (the suppression's rounds), per
    component. Each is re-validated against today's constraints (`_Reader.admits`: the point
    is a table a reader cannot rule out) before it certifies anything, so reusing them is
    exact, not an assumption; new solutions are added. None: nothing kept (a from-scratch check)."""
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
    ineq_by_label: dict[int, list[tuple[int, list[int]]]] = {}
    for lhs, rhs in inequalities:
        ineq_by_label.setdefault(qlab[lhs], []).append((lhs, rhs))
    for lab in sorted(set(qlab[targets].tolist())):
        qs = np.flatnonzero(qlab == lab)
        cells = np.flatnonzero(clab == lab)
        sub = Model(model.a[qs][:, cells].tocsr(), rows[qs], model.part[qs], model.value[qs], model.units[:0], [])
        local = {int(q): k for k, q in enumerate(qs)}
        ineq = [(local[lhs], [local[r] for r in rhs]) for lhs, rhs in ineq_by_label.get(lab, [])]
        tq = [local[int(q)] for q in targets if qlab[q] == lab]
        kept = witnesses.setdefault(int(lab), []) if witnesses is not None else []
        held: dict[int, set[int]] = {}
        found = _pinned_component(sub, shown_rows, primary_rows, secondary_rows, ineq, min_count, tq, max_rounds,
                                  kept, held)
        pinned.extend(int(qs[k]) for k in found)
        if binding is not None:
            binding.update({int(qs[k]): rows_ for k, rows_ in held.items()})
    log.info("interval check: %d hidden quantities checked, %d pinned", len(targets), len(pinned))
    return sorted(set(pinned))


def _pinned_component(model: Model, shown_rows: set[int], primary_rows: set[int], secondary_rows: set[int],
                      inequalities: Sequence[tuple[int, list[int]]], min_count: int, targets: list[int],
                      max_rounds: int, kept: list[np.ndarray] | None = None,
                      held: dict[int, set[int]] | None = None) -> list[int]:
    kept = [] if kept is None else kept
    held = {} if held is None else held
    rows = model.row
    n = model.a.shape[1]
    shown_q = np.flatnonzero(np.isin(rows, list(shown_rows)))
    hidden_q = np.flatnonzero(np.isin(rows, list(primary_rows | secondary_rows)))
    ub_rows: list[sparse.csr_matrix] = []
    ub_rhs: list[float] = []
    branch_row: dict[int, int] = {}  # `.` quantity -> its `>= min_count` row in a_ub
    eq_extra = []

    def bound(q: int, lo: float | None, hi: float | None) -> None:
        if hi is not None:
            ub_rows.append(model.a[q])
            ub_rhs.append(hi)
        if lo is not None:
            ub_rows.append(-model.a[q])
            ub_rhs.append(-lo)

    small = min_count - 1
    share_rows = set(rows[model.part == "num"].tolist())
    secondary_zero = []
    dot_q = []  # every `.` quantity: 0 or >= min_count for a reader
    for q in hidden_q.tolist():  # Python ints
        if rows[q] in primary_rows:
            if model.part[q] == "num":
                bound(q, None, small)
            elif model.part[q] == "den" and rows[q] in share_rows:
                bound(q, 1, None)
            else:
                bound(q, 1, small)
            continue
        dot_q.append(int(q))
        if model.value[q] >= min_count:
            branch_row[int(q)] = len(ub_rows)
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
    core = np.ones(a_ub.shape[0], dtype=bool)  # a_ub without the `.` branch rows: what a reader knows for sure
    core[list(branch_row.values())] = False
    dot = np.asarray(dot_q, dtype=np.int64)
    a_shown = model.a[shown_q]
    a_core, b_core, a_dot = a_ub[core], b_ub[core], model.a[dot]

    def admits(ys: np.ndarray) -> np.ndarray:
        """Which columns of ys (cells x points) are tables a reader cannot rule out: cells >= 0,
        shown quantities at their values, primary bounds and inequalities, every `.` 0 or >= min_count."""
        ok = (ys >= -TOL).all(axis=0)
        if len(shown_q):
            ok &= (np.abs(a_shown @ ys - truth[shown_q][:, None]) <= 1e-5).all(axis=0)
        if a_core.shape[0]:
            ok &= (a_core @ ys <= b_core[:, None] + 1e-5).all(axis=0)
        if len(dot):
            v = a_dot @ ys
            ok &= ((v <= 1e-5) | (v >= min_count - 1e-5)).all(axis=0)
        return np.asarray(ok).ravel()

    def moved_by(ys: np.ndarray, qs: Sequence[int]) -> np.ndarray:
        """Which of qs some admissible column of ys moves by >= 1 from the truth."""
        if not len(qs) or not ys.shape[1]:
            return np.zeros(len(qs), dtype=bool)
        v = model.a[list(qs)] @ ys
        t = truth[list(qs)][:, None]
        return np.asarray(((v >= t + 1 - TOL) | (v <= t - 1 + TOL)).any(axis=1)).ravel()

    def keep(x: np.ndarray | None) -> None:
        if x is not None:
            kept.append(np.asarray(x[:n], dtype=float))
            if len(kept) > MAX_WITNESSES:
                del kept[0]

    def solve(c: np.ndarray, extra_ub: sparse.csr_matrix | None = None, extra_b: np.ndarray | None = None,
              free: Sequence[int] = ()) -> OptimizeResult:
        """min c.y over the component's constraints; `free`: `.` zeros released from = 0."""
        keep_q = [q for q in eq_q if q not in set(free)]
        a_eq = model.a[keep_q] if keep_q else None
        A_ub, B_ub = a_ub, b_ub
        if extra_ub is not None:
            A_ub = sparse.vstack([A_ub, extra_ub]).tocsr() if A_ub.shape[0] else extra_ub
            B_ub = np.concatenate([B_ub, extra_b])
        res = linprog(c, A_ub=A_ub if A_ub.shape[0] else None, b_ub=B_ub if A_ub.shape[0] else None,
                      A_eq=a_eq, b_eq=truth[keep_q] if keep_q else None,
                      bounds=[(0, None)] * n, method="highs")
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
        keep_q = list(eq_q)
        a_eq = sparse.hstack([model.a[keep_q], sparse.csr_matrix((len(keep_q), k))]).tocsr() if keep_q else None
        res = linprog(c, A_ub=A, b_ub=np.concatenate([b_ub, np.zeros(k)]), A_eq=a_eq,
                      b_eq=truth[keep_q] if keep_q else None, bounds=[(0, None)] * n + z_bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"interval check: LP failed ({res.message})")
        keep(res.x)
        values = np.asarray(sub @ res.x[:n]).ravel()
        return values >= t + 1 - TOL if up else values <= t - 1 + TOL

    csc = model.a.tocsc()
    is_hidden = np.zeros(len(rows), dtype=bool)
    is_hidden[hidden_q] = True

    def around(q: int) -> np.ndarray:
        """Quantities sharing a cell with q or with a hidden quantity that shares one with q."""
        touch = np.unique(csc[:, model.support(q)].indices)
        hops = np.append(touch[is_hidden[touch]], q)
        cells = np.unique(model.a[hops].indices)
        return np.unique(csc[:, cells].indices)

    zero_set = set(secondary_zero)
    dot_set = set(dot_q)

    def switch(q: int, up: bool) -> np.ndarray | None:
        """Exact search around q (what the audit's integer program does): the `.` quantities near q
        may each be 0 or >= min_count (a binary per quantity), not only in the truth's branch.
        A solution is a table a reader cannot rule out, with q moved by >= 1 (a `.` zero: to >= min_count).
        Near: the `.` quantities sharing a cell with q or with any quantity (shown or hidden) that
        shares one with q, at most MAX_SWITCHES of them, the closest first (others stay in their branch)."""
        touch = np.unique(csc[:, model.support(q)].indices)
        first = [int(z) for z in touch if int(z) in dot_set]
        seen = set(first)
        second = [int(z) for z in np.unique(csc[:, np.unique(model.a[touch].indices)].indices)
                  if int(z) in dot_set and int(z) not in seen]
        second.sort(key=lambda z: (len(model.support(z)), z))
        near = (first + second)[:MAX_SWITCHES]
        if not near:
            return None
        m = len(near)
        free = set(near)
        keep_q = [int(e) for e in eq_q if int(e) not in free]
        ub_keep = np.ones(a_ub.shape[0], dtype=bool)
        ub_keep[[branch_row[z] for z in near if z in branch_row]] = False
        big = 10.0 * (float(truth.sum()) + min_count)
        blocks = [sparse.hstack([a_ub[ub_keep], sparse.csr_matrix((int(ub_keep.sum()), m))])] if ub_keep.any() else []
        lo: list[np.ndarray] = [np.full(int(ub_keep.sum()), -np.inf)] if ub_keep.any() else []
        hi: list[np.ndarray] = [b_ub[ub_keep]] if ub_keep.any() else []
        if keep_q:
            blocks.append(sparse.hstack([model.a[keep_q], sparse.csr_matrix((len(keep_q), m))]))
            lo.append(truth[keep_q])
            hi.append(truth[keep_q])
        a_near = model.a[near]
        eye = sparse.identity(m, format="csr")
        blocks += [sparse.hstack([a_near, -min_count * eye]), sparse.hstack([a_near, -big * eye])]
        lo += [np.zeros(m), np.full(m, -np.inf)]
        hi += [np.full(m, np.inf), np.zeros(m)]
        target = sparse.hstack([model.a[q], sparse.csr_matrix((1, m))])
        blocks.append(target)
        goal = max(truth[q] + 1, float(min_count)) if q in zero_set else truth[q] + 1
        lo.append(np.array([goal if up else -np.inf]))
        hi.append(np.array([np.inf if up else truth[q] - 1]))
        res = milp(np.zeros(n + m), constraints=LinearConstraint(sparse.vstack(blocks).tocsr(), np.concatenate(lo),
                                                                np.concatenate(hi)),
                   integrality=np.concatenate([np.zeros(n), np.ones(m)]),
                   bounds=Bounds(np.zeros(n + m), np.concatenate([np.full(n, np.inf), np.ones(m)])),
                   options={"time_limit": SWITCH_SECONDS})
        if res.x is None or not admits(res.x[:n, None])[0]:
            return None
        return np.asarray(res.x[:n], dtype=float)

    # points kept from earlier rounds that are still admissible certify without any LP
    if kept:
        ys = np.column_stack(kept)
        ok = admits(ys)
        kept[:] = [y for y, good in zip(kept, ok) if good]
        ys = ys[:, ok]
    else:
        ys = np.zeros((n, 0))
    done = moved_by(ys, targets)
    reused = int(done.sum())
    targets = [q for q, d in zip(targets, done) if not d]
    movable = [q for q in targets if q not in zero_set]
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
    pinned = []
    switched = 0
    pending = list(unresolved)
    while pending:  # one at a time: its own min and max; each solution also certifies the others it moves
        q = pending.pop(0)
        lo_hi = []
        found = False
        holding: set[int] = set()
        for sign in (1.0, -1.0):
            c = np.asarray(model.a[q].todense()).ravel() * sign
            res = solve(c)
            lo_hi.append(None if res.status != 0 else sign * res.fun)
            if res.status == 0:
                keep(res.x)
                duals = np.abs(np.asarray(res.eqlin.marginals)) > TOL
                holding |= {int(rows[e]) for e in eq_q[duals] if int(rows[e]) in shown_rows}
                still = moved_by(res.x[:, None], pending)
                pending = [p for p, m in zip(pending, still) if not m]
        lo, hi = lo_hi
        if lo is not None and hi is not None and hi - lo >= 1 - TOL:
            continue
        # the other branch of the `.` zeros near q (sharing a cell with q or with a hidden quantity
        # touching q: 8B's numerator under a hidden 8AB whose 8A part is a `.` zero): all >= min_count
        near = [int(z) for z in around(q) if int(z) in zero_set]
        if near:
            ub = -model.a[near]
            for sign in (1.0, -1.0):
                c = np.asarray(model.a[q].todense()).ravel() * sign
                res = solve(c, extra_ub=ub, extra_b=np.full(len(near), -float(min_count)), free=near)
                if res.status == 0 and (sign * res.fun >= truth[q] + 1 - TOL if sign < 0
                                        else sign * res.fun <= truth[q] - 1 + TOL):
                    keep(res.x)
                    found = True
                    break
        for up in (True, False):
            if found:
                break
            x = switch(q, up)
            if x is not None:
                keep(x)
                switched += 1
                found = True
        if found:
            still = moved_by(kept[-1][:, None], pending)
            pending = [p for p, m in zip(pending, still) if not m]
        else:
            pinned.append(q)
            held[q] = holding
    # `.` zeros: can they reach min_count (all of a group at once is a real alternative)?
    zeros = [q for q in targets if q in zero_set]

    def lift(group: list[int]) -> None:
        ub = -model.a[group]
        res = solve(np.zeros(n), extra_ub=ub, extra_b=np.full(len(group), -float(min_count)), free=group)
        if res.status == 0:
            keep(res.x)
            return
        if len(group) == 1:
            x = switch(group[0], True)
            if x is None:
                pinned.append(group[0])
            else:
                keep(x)
            return
        half = len(group) // 2
        lift(group[:half])
        lift(group[half:])

    if zeros:
        lift(zeros)
    log.debug("interval component: %d targets, %d certified by kept points, %d by switching `.` cells, %d pinned",
              len(targets) + reused, reused, switched, len(pinned))
    return pinned
