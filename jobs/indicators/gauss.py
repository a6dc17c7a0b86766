"""Secondary suppression by Gaussian elimination (Langsrud 2024; SSBtools `GaussSuppression`).

Anchor: Ø. Langsrud, "Secondary Cell Suppression by Gaussian Elimination: An Algorithm
Suitable for Handling Issues with Zeros and Singletons", Privacy in Statistical Databases
2024 (LNCS 14915); Statistics Norway's R implementation SSBtools::GaussSuppression.

Each published quantity is a vector over the inner cells (jobs/indicators/model.py). The
candidates are taken one by one in priority order (the cells we most want to show first).
A candidate is shown unless showing it would put a hidden quantity in the span of the shown
ones (then that hidden value would be a linear combination of published numbers); such a
candidate is suppressed instead and must itself stay out of the span from then on. At the
end no hidden quantity is a linear combination of shown ones, by construction.

Exact arithmetic: elimination modulo the prime 2^61 - 1 (no floating tolerance). A linear
dependence over the rationals is one modulo the prime as well, so nothing recoverable is
missed; the converse can fail only with negligible probability, and only by hiding more.

Zeros: a quantity with no inner cell (a true zero under the model) is the zero vector: it
is always derivable, protects nothing and needs no protection (as in the literature, zeros
are not suppression candidates of any use). Singletons: a primary cell with one unit is
known to that unit's owner, who can subtract themselves. As SSBtools' conservative
`subSpace` method, a second system runs in lockstep with every singleton inner cell treated
as known (its coordinate deleted); a candidate is shown only if it reveals nothing in
either system. This protects even against all singleton owners pooling what they know.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

PRIME = (1 << 61) - 1

Vec = dict[int, int]


class Span:
    """The span of the shown vectors (pivoted, in insertion order) and the residuals of the
    hidden ones reduced against it (a residual is zero iff the hidden vector is in the span)."""

    def __init__(self) -> None:
        self.basis: dict[int, tuple[int, Vec]] = {}  # pivot column -> (insertion order, vector with 1 at pivot)
        self.hidden: dict[object, Vec] = {}
        self.by_col: dict[int, set[Any]] = defaultdict(set)

    def reduce(self, vec: Vec) -> Vec:
        v = {k: x % PRIME for k, x in vec.items() if x % PRIME}
        heap = [(self.basis[c][0], c) for c in v if c in self.basis]
        heapq.heapify(heap)
        while heap:
            _, c = heapq.heappop(heap)
            a = v.get(c)
            if not a:
                continue
            for k, x in self.basis[c][1].items():
                new = (v.get(k, 0) - a * x) % PRIME
                if new:
                    if k not in v and k in self.basis:
                        heapq.heappush(heap, (self.basis[k][0], k))
                    v[k] = new
                else:
                    v.pop(k, None)
        return v

    def plan(self, residuals: Iterable[Vec]) -> list[tuple[int, Vec]]:
        """Echelon the (already reduced) residuals of a candidate's parts: [(pivot, vector)]."""
        out: list[tuple[int, Vec]] = []
        for residual in residuals:
            r = dict(residual)
            for p, w in out:
                a = r.get(p)
                if a:
                    _axpy(r, w, a)
            if r:
                pivot = min(r, key=lambda c: (len(self.by_col.get(c, ())), c))
                inv = pow(r[pivot], PRIME - 2, PRIME)
                out.append((pivot, {k: x * inv % PRIME for k, x in r.items()}))
        return out

    def reveals(self, plan: Sequence[tuple[int, Vec]]) -> bool:
        """Would adding the plan's vectors put any hidden residual in the span?"""
        touched = set().union(*(self.by_col.get(p, set()) for p, _ in plan)) if plan else set()
        for h in touched:
            r = dict(self.hidden[h])
            for p, w in plan:
                a = r.get(p)
                if a:
                    _axpy(r, w, a)
            if not r:
                return True
        return False

    def commit(self, plan: Sequence[tuple[int, Vec]]) -> None:
        for p, w in plan:
            for h in list(self.by_col.get(p, ())):
                r = self.hidden[h]
                before = set(r)
                _axpy(r, w, r[p])
                for c in before - set(r):
                    self.by_col[c].discard(h)
                for c in set(r) - before:
                    self.by_col[c].add(h)
            self.basis[p] = (len(self.basis), w)

    def hide(self, key: object, vec: Vec) -> bool:
        """Track a hidden quantity; False when it is already in the span (derivable)."""
        r = self.reduce(vec)
        if not r:
            return False
        self.hidden[key] = r
        for c in r:
            self.by_col[c].add(key)
        return True


def _axpy(r: Vec, w: Vec, a: int) -> None:
    """r -= a * w (mod PRIME), in place, dropping zeros."""
    for k, x in w.items():
        new = (r.get(k, 0) - a * x) % PRIME
        if new:
            r[k] = new
        else:
            r.pop(k, None)


def gauss_suppress(
    parts: Sequence[Sequence[Vec]],
    *,
    forced_shown: Sequence[int],
    hidden: Sequence[int],
    candidates: Sequence[int],
    singletons: set[int],
    reader_parts: Sequence[Sequence[Vec]] | None = None,
) -> tuple[set[int], list[tuple[int, int]]]:
    """Rows to suppress secondarily, and (row, part) of hidden quantities that are derivable
    from the shown ones all the same (a part equal to a shown quantity, or forced by `forced_shown`).

    parts[i]: the vectors (sparse, over inner cells) of row i's protected quantities;
    forced_shown: rows published whatever happens (carried forward as shown);
    hidden: rows suppressed from the start (primary, carried forward as hidden, repairs);
    candidates: every other row, the ones we most want to show first;
    singletons: inner cells known to their one owner (coordinates the second system drops);
    reader_parts: the same quantities over the reader's model (jobs/indicators/definitional.py,
    every possible cell, zeros included): a third system, so a hidden zero is protected too.
    """
    systems: list[tuple[Span, Sequence[Sequence[Vec]], set[int] | None]] = [(Span(), parts, None)]
    if singletons:
        systems.append((Span(), parts, singletons))
    if reader_parts is not None:
        systems.append((Span(), reader_parts, None))

    view = _view
    for i in forced_shown:
        for span, src, drop in systems:
            span.commit(span.plan(span.reduce(view(v, drop)) for v in src[i]))
    exposed: list[tuple[int, int]] = []
    for i in hidden:
        for span, src, drop in systems:
            for k, vec in enumerate(src[i]):
                v = view(vec, drop)
                if v and not span.hide((i, k), v):
                    exposed.append((i, k))
    secondary: set[int] = set()
    for i in candidates:
        plans: list[list[tuple[int, Vec]]] = []
        for span, src, drop in systems:
            vecs = [v for v in (view(x, drop) for x in src[i]) if v]
            plan = span.plan(span.reduce(v) for v in vecs) if vecs else []
            if plan and span.reveals(plan):
                break
            plans.append(plan)
        else:  # no system reveals anything: show the row
            for (span, _, _), plan in zip(systems, plans):
                if plan:
                    span.commit(plan)
            continue
        secondary.add(i)
        for span, src, drop in systems:
            for k, vec in enumerate(src[i]):
                v = view(vec, drop)
                if v and not span.hide((i, k), v):
                    exposed.append((i, k))
    return secondary, sorted(set(exposed))


def derivable(parts: Sequence[Sequence[Vec]], *, shown: Sequence[int], hidden: Sequence[int],
              singletons: set[int], reader_parts: Sequence[Sequence[Vec]] | None = None) -> list[tuple[int, int]]:
    """(row, part) of hidden quantities in the span of the shown ones, from scratch (the final
    check, independent of the order the suppression was decided in). With singletons, also
    those derivable once every singleton inner cell is known (unless made of singletons only);
    with reader_parts, also over the reader's model (zeros included)."""
    out = []
    systems = [(parts, None)] + ([(parts, singletons)] if singletons else []) + (
        [(reader_parts, None)] if reader_parts is not None else [])
    for src, drop in systems:
        span = Span()
        for i in shown:
            span.commit(span.plan(span.reduce(_view(v, drop)) for v in src[i]))
        for i in hidden:
            for k, vec in enumerate(src[i]):
                v = _view(vec, drop)
                if v and not span.reduce(v):
                    out.append((i, k))
    return sorted(set(out))


def _view(vec: Vec, drop: set[int] | None) -> Vec:
    return vec if not drop else {k: x for k, x in vec.items() if k not in drop}
