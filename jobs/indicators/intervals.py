"""Interval protection: no suppressed quantity may be pinned to one value by the bounds every
reader knows, checked with linear programs (HiGHS, through jobs/indicators/lp.py: linprog's model and answers).

What a reader knows, over the inner-cell counts y >= 0 of the disclosure model:
- every shown quantity: a.y = its value;
- a primary (`<5`) count or median count: 1 <= a.y <= min_count - 1; a primary share: its
  numerator <= min_count - 1 and its cohort >= 1 (one of the two is 1..min_count-1);
- a primary cell shown as `.` (jobs/indicators/disclosure.py `_remarks`: its `<5` would, with its
  neighbours' markers, pin values): any count >= 0, as a reader who knows such cells exist reads
  every `.`; recognised by its true value 1..min_count-1 under a `.`;
- a secondary (`.`) quantity is 0 or >= min_count: the LPs stay in the branch the true
  table is in (>= min_count), so an alternative they find is real; a quantity they leave
  pinned gets an exact search (`switch`: an integer program in which the `.` quantities near
  it may each be 0 or >= min_count, as a reader allows); only what that cannot move either is
  reported pinned (docs/disclosure.md section 7, "Convergence fix");
- the person inequalities of jobs/indicators/model.py.
A hidden quantity is safe when some solution moves it by at least 1 from its true value.
Many quantities are certified at once: one LP maximises (then minimises) the sum of the
unresolved quantities, each capped one above (below) its true value, repeated while it
certifies more. What is left is searched around each quantity alone (`_Around`: its nearby
cells free, every other cell held at the batch solution, so a point found is a whole table,
checked with `admits`); then, with `partner_rank`, a repair is searched there too (the shown
rows whose hiding frees it, `partners`), or the quantity is shown to be pinned by the markers
alone (`stuck`: no suppression can free it); the rest get the whole component's LPs. What is
left is reported pinned (conservative: it gets one more partner). The check is the LP
relaxation: a range the integers cannot fill is not detected (the independent audit's MILP is
the backstop, docs/disclosure.md section 7, "Convergence at small").
"""
from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from jobs.indicators import lp
from jobs.indicators.model import Model

log = logging.getLogger(__name__)
TOL = 1e-6
MAX_WITNESSES = 400  # feasible points kept per component between rounds
MAX_SWITCHES = 300  # `.` quantities one exact search may switch
SWITCH_SECONDS = 10.0  # time limit of one exact (binary `.`) search; no answer = pinned (conservative)
LOCAL_SPAN = 60  # quantities of at most this many cells widen the neighbourhood of a local search
LOCAL_HOPS = 3  # how many times the neighbourhood is widened
LOCAL_CELLS = 3000  # stop widening beyond this many cells
LOCAL_SECONDS = 2.0  # time limit of one local exact search
MAX_PARTNERS = 4  # rows one local repair may choose for one pinned quantity
STUCK_SPAN = 100  # hidden quantities of at most this many cells make the relaxation of `pinned_apart`
POOL_MIN_CELLS = 2000  # components of at least this many cells are checked in worker processes (`_solve_all`)
# worker processes for them (1: everything in this process): the cores this process may use, at most 8
WORKERS = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
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
    exact_limit: int | None = None,
    partner_rank: dict[int, tuple[Any, ...]] | None = None,
    partners: dict[int, set[int]] | None = None,
    stuck: set[int] | None = None,
    caps: dict[int, set[int]] | None = None,
) -> list[int]:
    """Hidden quantities (indices into the model) whose range is narrower than one unit
    (a `.` quantity that is 0: that cannot reach min_count). `model.a` is the reader's model
    (jobs/indicators/definitional.py: every possible cell, zeros included); `exempt`: hidden
    quantities that are published zeros (equal by definition to a zero shown by rule 1), not
    checked (they still constrain the others). The LPs run per connected component.

    `witnesses`: feasible points kept from earlier calls (the suppression's rounds), per
    component. Each is re-validated against today's constraints (`_Reader.admits`: the point
    is a table a reader cannot rule out) before it certifies anything, so reusing them is
    exact, not an assumption; new solutions are added. None: nothing kept (a from-scratch check).
    Components share nothing, so the large ones are checked in worker processes where there are
    cores for them (`_solve_all`): the same answers as one after another."""
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
    components: list[tuple[int, np.ndarray, _Job]] = []
    for lab in sorted(set(qlab[targets].tolist())):
        qs = np.flatnonzero(qlab == lab)
        cells = np.flatnonzero(clab == lab)
        sub = Model(model.a[qs][:, cells].tocsr(), rows[qs], model.part[qs], model.value[qs], model.units[:0], [])
        local = {int(q): k for k, q in enumerate(qs)}
        ineq = [(local[lhs], [local[r] for r in rhs]) for lhs, rhs in ineq_by_label.get(lab, [])]
        tq = [local[int(q)] for q in targets if qlab[q] == lab]
        kept = witnesses.get(int(lab), []) if witnesses is not None else []
        stuck_here = {local[q] for q in stuck if q in local} if stuck is not None else set()
        components.append((int(lab), qs, (sub, shown_rows, primary_rows, secondary_rows, ineq, min_count, tq, max_rounds,
                                    kept, exact_limit, partner_rank, stuck_here)))
    outcomes = _solve_all([job for _, _, job in components])
    for (lab, qs, _), (found, kept, held, mine, stuck_here, capped) in zip(components, outcomes):
        if witnesses is not None:
            witnesses[lab] = kept
        if caps is not None:
            caps.update({int(qs[k]): rows_ for k, rows_ in capped.items()})
        if stuck is not None:
            stuck.update(int(qs[k]) for k in stuck_here)
        pinned.extend(int(qs[k]) for k in found)
        if binding is not None:
            binding.update({int(qs[k]): rows_ for k, rows_ in held.items()})
        if partners is not None:
            partners.update({int(qs[k]): rows_ for k, rows_ in mine.items()})
    log.info("interval check: %d hidden quantities checked, %d pinned", len(targets), len(pinned))
    return sorted(set(pinned))


# one component's check: (sub-model, shown, primary, secondary rows, inequalities, min_count, targets,
# max_rounds, kept points, exact_limit, partner_rank, stuck) -> (pinned, kept points, binding, partners,
# stuck, caps), all in the component's own quantity numbers
_Job = tuple[Any, ...]
_Outcome = tuple[list[int], list[np.ndarray], dict[int, set[int]], dict[int, set[int]], set[int], dict[int, set[int]]]


def _solve_one(job: _Job) -> _Outcome:
    sub, shown, primary, secondary, ineq, min_count, targets, max_rounds, kept, exact_limit, rank, stuck = job
    held: dict[int, set[int]] = {}
    mine: dict[int, set[int]] = {}
    capped: dict[int, set[int]] = {}
    found = _pinned_component(sub, shown, primary, secondary, ineq, min_count, targets, max_rounds, kept, held,
                              exact_limit, rank, mine, stuck, capped)
    return found, kept, held, mine, stuck, capped


@functools.lru_cache(maxsize=1)
def _executor(workers: int) -> ProcessPoolExecutor:
    """Worker processes, started once (spawned: this process may hold a JVM gateway's threads)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def _solve_all(jobs: list[_Job]) -> list[_Outcome]:
    """Every component's check, in order. The components share nothing (each has its own LPs,
    random weights and kept points), so the answers do not depend on where they run: with more
    than one core, components of at least POOL_MIN_CELLS cells go to worker processes (spawned,
    kept for the life of this process), the largest first, while this process checks the small ones."""
    big = sorted((i for i, j in enumerate(jobs) if j[0].a.shape[1] >= POOL_MIN_CELLS),
                 key=lambda i: -jobs[i][0].a.nnz)
    if min(WORKERS, len(big)) < 2:
        return [_solve_one(j) for j in jobs]
    try:
        pool = _executor(WORKERS)
        futures = {i: pool.submit(_solve_one, jobs[i]) for i in big}
    except (OSError, BrokenProcessPool) as err:  # no processes to be had here: the same answers, in this process
        log.warning("interval check: no worker processes (%s); checking every component in this process", err)
        _executor.cache_clear()
        return [_solve_one(j) for j in jobs]
    done = {i: _solve_one(j) for i, j in enumerate(jobs) if i not in futures}
    for i, future in futures.items():
        try:
            done[i] = future.result()
        except BrokenProcessPool as err:  # a worker died (killed, out of memory): check it here instead
            log.warning("interval check: a worker process died (%s); checking its component in this process", err)
            _executor.cache_clear()
            done[i] = _solve_one(jobs[i])
    return [done[i] for i in range(len(jobs))]


class _Around:
    """The component's constraints with every cell held at a feasible point y0 except chosen ones:
    a small LP over those cells whose solutions, put back into y0, are whole tables."""

    def __init__(self, model: Model, eq_q: np.ndarray, a_ub: sparse.csr_matrix, b_ub: np.ndarray,
                 truth: np.ndarray, y0: np.ndarray) -> None:
        self.y0 = y0
        self.eq_q = eq_q
        self.a_eq = model.a[eq_q].tocsr()
        self.a_ub = a_ub
        self.eq_csc = self.a_eq.tocsc()
        self.ub_csc = a_ub.tocsc()
        self.b_eq = truth[eq_q] - np.asarray(self.a_eq @ y0).ravel()  # what the chosen cells must add
        self.b_ub = b_ub - np.asarray(a_ub @ y0).ravel()

    def restrict(self, cells: np.ndarray, drop_eq: frozenset[int] | set[int] = frozenset(),
                 drop_ub: frozenset[int] | set[int] = frozenset()) -> tuple[Any, ...]:
        """(eq rows, A_eq, b_eq, ub rows, A_ub, b_ub) over `cells`: the rows touching them, less
        the equations of `drop_eq` (quantities) and the inequalities `drop_ub` (row numbers)."""
        y = self.y0[cells]
        er = np.unique(self.eq_csc[:, cells].indices)
        if drop_eq:
            er = er[~np.isin(self.eq_q[er], list(drop_eq))]
        ur = np.unique(self.ub_csc[:, cells].indices) if self.a_ub.shape[0] else np.zeros(0, dtype=np.int64)
        if drop_ub:
            ur = ur[~np.isin(ur, list(drop_ub))]
        a_e = self.a_eq[er][:, cells]
        a_u = self.a_ub[ur][:, cells]
        return (er, a_e, self.b_eq[er] + a_e @ y, ur, a_u, self.b_ub[ur] + a_u @ y)


def _pinned_component(model: Model, shown_rows: set[int], primary_rows: set[int], secondary_rows: set[int],
                      inequalities: Sequence[tuple[int, list[int]]], min_count: int, targets: list[int],
                      max_rounds: int, kept: list[np.ndarray] | None = None,
                      held: dict[int, set[int]] | None = None, exact_limit: int | None = None,
                      partner_rank: dict[int, tuple[Any, ...]] | None = None,
                      partners: dict[int, set[int]] | None = None, stuck: set[int] | None = None,
                      caps: dict[int, set[int]] | None = None) -> list[int]:
    partners = {} if partners is None else partners
    caps = {} if caps is None else caps  # stuck quantity -> `<5` rows whose bounds hold it (nonzero duals)
    stuck = set() if stuck is None else stuck
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

    ub_owner: list[int] = []  # per row of a_ub: the `<5` row whose bound it is, else -1

    def bound(q: int, lo: float | None, hi: float | None) -> None:
        owner = int(rows[q]) if rows[q] in primary_rows else -1
        if hi is not None:
            ub_rows.append(model.a[q])
            ub_rhs.append(hi)
            ub_owner.append(owner)
        if lo is not None:
            ub_rows.append(-model.a[q])
            ub_rhs.append(-lo)
            ub_owner.append(owner)

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
        if 0 < model.value[q] < min_count:
            continue  # a primary shown as `.` (disclosure.py `_remarks`): any count >= 0, no branch
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
            ub_owner.append(-1)
    truth = model.value.astype(float)
    owner_of = np.asarray(ub_owner, dtype=np.int64)

    def capping(res: lp.Result, ub_index: np.ndarray | None = None) -> set[int]:
        """The `<5` rows whose bounds have a nonzero dual in an LP over a_ub[ub_index] (all: None)."""
        marg = res.ineq_duals
        if not len(owner_of) or not len(marg):
            return set()
        owners = owner_of if ub_index is None else owner_of[ub_index]
        hit = owners[np.abs(np.asarray(marg)) > TOL]
        return {int(r) for r in hit if r >= 0}

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
              free: Sequence[int] = ()) -> lp.Result:
        """min c.y over the component's constraints; `free`: `.` zeros released from = 0."""
        keep_q = [q for q in eq_q if q not in set(free)]
        a_eq = model.a[keep_q] if keep_q else None
        A_ub, B_ub = a_ub, b_ub
        if extra_ub is not None:
            A_ub = sparse.vstack([A_ub, extra_ub]).tocsr() if A_ub.shape[0] else extra_ub
            B_ub = np.concatenate([B_ub, extra_b])
        return lp.solve(c, A_ub if A_ub.shape[0] else None, B_ub if A_ub.shape[0] else None,
                        a_eq, truth[keep_q] if keep_q else None)

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
        lower = np.concatenate([np.zeros(n), np.full(k, -np.inf) if up else t - 1])
        upper = np.concatenate([np.full(n, np.inf), t + 1 if up else np.full(k, np.inf)])
        weights = rng.uniform(0.2, 1.0, k)
        c = np.concatenate([np.zeros(n), -weights if up else weights])
        keep_q = list(eq_q)
        a_eq = sparse.hstack([model.a[keep_q], sparse.csr_matrix((len(keep_q), k))]).tocsr() if keep_q else None
        res = lp.solve(c, A, np.concatenate([b_ub, np.zeros(k)]), a_eq, truth[keep_q] if keep_q else None,
                       lower, upper)
        if res.status != 0:
            raise RuntimeError(f"interval check: LP failed (status {res.status})")
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

    span = np.diff(model.a.indptr)
    dot_csc = a_dot.tocsc()

    def hood(q: int) -> np.ndarray:
        """The cells around q: its own, and those of every quantity of at most LOCAL_SPAN cells that
        shares a cell with them, LOCAL_HOPS times (a national total links everything; it stays a
        constraint, with the cells outside held at the batch point)."""
        cells = model.support(q)
        frontier = cells
        for _ in range(LOCAL_HOPS):
            touch = np.unique(csc[:, frontier].indices)
            touch = touch[span[touch] <= LOCAL_SPAN]
            grown = np.union1d(cells, np.unique(model.a[touch].indices))
            frontier = np.setdiff1d(grown, cells)
            cells = grown
            if len(cells) > LOCAL_CELLS or not len(frontier):
                break
        out: np.ndarray = cells
        return out

    def local_move(q: int, at: _Around) -> tuple[np.ndarray | None, set[int]]:
        """min and max of q over the cells around it (the others held at the batch point): a point
        found is a whole table (checked with `admits`); also the shown rows whose equations hold q."""
        cells = hood(q)
        er, a_e, b_e, ur, a_u, b_u = at.restrict(cells)
        target = np.asarray(model.a[q][:, cells].todense()).ravel()
        holding: set[int] = set()
        for sign in (1.0, -1.0):
            res = lp.solve(sign * target, a_u if len(ur) else None, b_u if len(ur) else None,
                           a_e if len(er) else None, b_e if len(er) else None)
            if res.status != 0:
                continue
            value = float(target @ res.x)
            if (value >= truth[q] + 1 - TOL) if sign < 0 else (value <= truth[q] - 1 + TOL):
                y = at.y0.copy()
                y[cells] = res.x
                if admits(y[:, None])[0]:
                    return y, holding
            if len(er):
                duals = np.abs(np.asarray(res.eq_duals)) > TOL
                holding |= {int(rows[e]) for e in eq_q[er[duals]] if int(rows[e]) in shown_rows}
        return None, holding

    def local_switch(q: int, at: _Around) -> np.ndarray | None:
        """`switch` over the cells around q: the `.` quantities touching them may each be 0 or
        >= min_count (a binary each), the others stay in their branch; the rest held at the batch point."""
        cells = hood(q)
        touching = dot[np.unique(dot_csc[:, cells].indices)] if len(dot) else np.zeros(0, dtype=np.int64)
        if not len(touching):
            return None
        own = set(model.support(q).tolist())
        near = sorted((int(z) for z in touching), key=lambda z: (not own & set(model.support(z).tolist()),
                                                                  len(model.support(z)), z))[:MAX_SWITCHES]
        free = set(near)
        er, a_e, b_e, ur, a_u, b_u = at.restrict(cells, drop_eq=free,
                                                 drop_ub={branch_row[z] for z in near if z in branch_row})
        m, k = len(near), len(cells)
        a_near = model.a[near][:, cells]
        off = np.asarray(model.a[near] @ at.y0).ravel() - np.asarray(a_near @ at.y0[cells]).ravel()
        big = 10.0 * (float(truth.sum()) + min_count)
        eye = sparse.identity(m, format="csr")
        blocks = [sparse.hstack([a_u, sparse.csr_matrix((len(ur), m))]), sparse.hstack([a_e, sparse.csr_matrix((len(er), m))]),
                  sparse.hstack([a_near, -min_count * eye]), sparse.hstack([a_near, -big * eye])]
        lo = [np.full(len(ur), -np.inf), b_e, -off, np.full(m, -np.inf)]
        hi = [b_u, b_e, np.full(m, np.inf), -off]
        target = model.a[q][:, cells]
        goal = max(truth[q] + 1, float(min_count)) if q in zero_set else truth[q] + 1
        for up in (True, False):
            res = milp(np.zeros(k + m), constraints=LinearConstraint(
                sparse.vstack(blocks + [sparse.hstack([target, sparse.csr_matrix((1, m))])]).tocsr(),
                np.concatenate(lo + [np.array([goal if up else -np.inf])]),
                np.concatenate(hi + [np.array([np.inf if up else truth[q] - 1])])),
                integrality=np.concatenate([np.zeros(k), np.ones(m)]),
                bounds=Bounds(np.zeros(k + m), np.concatenate([np.full(k, np.inf), np.ones(m)])),
                options={"time_limit": LOCAL_SECONDS})
            if res.x is None:
                continue
            y = at.y0.copy()
            y[cells] = res.x[:k]
            if admits(y[:, None])[0]:
                return y
        return None

    eq_rows = rows[eq_q]
    eq_all = model.a[eq_q].tocsr()
    eq_all_csc, ub_csc = eq_all.tocsc(), a_ub.tocsc()

    def pinned_apart(q: int) -> bool:
        """Whether q is pinned by the markers alone, shown on a relaxation: the cells of q and of the
        hidden quantities around it (two steps), with only the constraints lying wholly on them.
        Pinned there, and no open nonzero shown row with a nonzero dual: its certificate (the `<5`
        bounds, zeros, other hidden cells) holds in the whole table too and no suppression changes it."""
        assert partner_rank is not None
        cells = model.support(q)
        for _ in range(2):
            touch = np.unique(csc[:, cells].indices)
            touch = touch[is_hidden[touch] & (span[touch] <= STUCK_SPAN)]
            cells = np.union1d(cells, np.unique(model.a[touch].indices))
        er = np.unique(eq_all_csc[:, cells].indices)
        er = er[eq_all[er][:, cells].getnnz(axis=1) == eq_all[er].getnnz(axis=1)]
        ur = np.unique(ub_csc[:, cells].indices) if a_ub.shape[0] else np.zeros(0, dtype=np.int64)
        ur = ur[a_ub[ur][:, cells].getnnz(axis=1) == a_ub[ur].getnnz(axis=1)]
        target = np.asarray(model.a[q][:, cells].todense()).ravel()
        bounds = []
        holding: set[int] = set()
        for sign in (1.0, -1.0):
            res = lp.solve(sign * target, a_ub[ur][:, cells] if len(ur) else None, b_ub[ur] if len(ur) else None,
                           eq_all[er][:, cells] if len(er) else None, truth[eq_q[er]] if len(er) else None)
            if res.status != 0:
                return False
            bounds.append(sign * res.fun)
            if len(ur):
                holding |= capping(res, ur)
            if len(er):
                duals = np.abs(np.asarray(res.eq_duals)) > TOL
                if any(int(r) in partner_rank for r in eq_rows[er[duals]]):
                    return False
        if bounds[1] - bounds[0] < 1 - TOL:
            caps[q] = holding
            return True
        return False

    def local_repair(q: int, at: _Around, chosen: set[int]) -> set[int]:
        """Shown rows whose hiding lets q move, found around q: the least wanted (`partner_rank`) of
        the shown rows whose equations hold q (nonzero duals of its local min/max LPs), then again
        with that row hidden (a `.`: its nonzero quantities >= min_count), up to MAX_PARTNERS rows.
        `chosen`: rows already chosen in this component (hidden here too). Empty when none helps."""
        assert partner_rank is not None
        cells = hood(q)
        target = np.asarray(model.a[q][:, cells].todense()).ravel()
        mine: set[int] = set()
        for _ in range(MAX_PARTNERS):
            gone = chosen | mine
            # a hidden row's zero quantities stay 0 (the truth's branch), its others are >= min_count
            drop = {int(e) for e in eq_q[np.isin(eq_rows, list(gone))] if truth[e] >= min_count} if gone else set()
            er, a_e, b_e, ur, a_u, b_u = at.restrict(cells, drop_eq=drop)
            big = sorted(drop)
            if big:
                a_big = model.a[big][:, cells]
                off = np.asarray(model.a[big] @ at.y0).ravel() - np.asarray(a_big @ at.y0[cells]).ravel()
                a_u = sparse.vstack([a_u, -a_big]).tocsr()
                b_u = np.concatenate([b_u, off - min_count])
            holding: set[int] = set()
            free = False
            for sign in (1.0, -1.0):
                res = lp.solve(sign * target, a_u if a_u.shape[0] else None, b_u if a_u.shape[0] else None,
                               a_e if len(er) else None, b_e if len(er) else None)
                if res.status != 0:
                    return mine
                value = float(target @ res.x)
                if (value >= truth[q] + 1 - TOL) if sign < 0 else (value <= truth[q] - 1 + TOL):
                    free = True
                    break
                if len(er):
                    duals = np.abs(np.asarray(res.eq_duals)) > TOL
                    holding |= {int(r) for r in eq_rows[er[duals]]}
            if free:
                return mine
            options = [r for r in holding - gone if r in partner_rank and r in shown_rows and r != rows[q]]
            if not options:
                return mine
            mine.add(max(options, key=lambda r: partner_rank[r]))
        return mine

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
    clock = [time.monotonic()]
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
    pinned: list[int] = []
    switched = 0
    local_ok = 0
    apart = 0
    clock.append(time.monotonic())
    if unresolved:  # first around each quantity alone, the rest of the table held at this round's batch point
        y0 = kept[-1].copy()  # the last batch solution: meets every constraint in the truth's branch
        at = _Around(model, eq_q, a_ub, b_ub, truth, y0)
        pending = [q for q in unresolved if q not in stuck]
        pinned.extend(q for q in unresolved if q in stuck)  # pinned by the markers alone: for good (below)
        suspects: list[int] = []
        while pending:
            q = pending.pop(0)
            x, hold = local_move(q, at)
            if x is None:
                x = local_switch(q, at)
            if x is None:
                suspects.append(q)
                held[q] = hold
                continue
            keep(x)
            local_ok += 1
            still = moved_by(x[:, None], pending)
            pending = [p for p, m in zip(pending, still) if not m]
        if partner_rank is not None:  # a repair found around q: pinned now, and one more suppression frees it
            chosen: set[int] = set()  # rows chosen so far in this component: later searches see them hidden
            rest = []
            for q in suspects:
                mine = local_repair(q, at, chosen)
                if mine:
                    pinned.append(q)
                    partners[q] = held[q] = mine
                    chosen |= mine
                elif pinned_apart(q):
                    pinned.append(q)
                    stuck.add(q)
                    apart += 1
                else:
                    rest.append(q)
            suspects = rest
        unresolved = suspects
    clock.append(time.monotonic())
    pending = list(unresolved)
    searched = 0
    while pending:  # one at a time: its own min and max; each solution also certifies the others it moves
        q = pending.pop(0)
        lo_hi = []
        found = False
        holding: set[int] = set()
        holding_caps: set[int] = set()
        for sign in (1.0, -1.0):
            c = np.asarray(model.a[q].todense()).ravel() * sign
            res = solve(c)
            lo_hi.append(None if res.status != 0 else sign * res.fun)
            if res.status == 0:
                keep(res.x)
                duals = np.abs(np.asarray(res.eq_duals)) > TOL
                holding |= {int(rows[e]) for e in eq_q[duals] if int(rows[e]) in shown_rows}
                holding_caps |= capping(res)
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
        searched += 1
        for up in (True, False):  # the whole component's exact search: at most exact_limit per call
            if found or (exact_limit is not None and searched > exact_limit):
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
            if partner_rank is not None and lo is not None and hi is not None \
                    and not any(r in partner_rank for r in holding):
                # no open nonzero shown row holds it (LP duality: hiding rows whose duals are zero
                # cannot move its min or max): only `<5` bounds, zeros and other hidden cells pin it
                stuck.add(q)
                caps[q] = holding_caps
    held.update({q: held.get(q, set()) for q in pinned})
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
    clock.append(time.monotonic())
    log.debug("interval component: %d targets, %d certified by kept points, %d around themselves, %d by switching "
              "`.` cells, %d pinned (%d by the markers alone, found apart; %d repairs found; %d to the whole "
              "component's LPs); seconds: batch %.1f, local %.1f, whole component %.1f", len(targets) + reused,
              reused, local_ok, switched, len(pinned), apart, len(partners), len(unresolved), *np.diff(clock))
    return pinned
