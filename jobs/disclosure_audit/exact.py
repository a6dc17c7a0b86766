"""Exact recovery: is a hidden quantity a linear combination of shown ones?

A hidden quantity q (row t of inner cells) is determined by the shown equations A x = b
exactly when t lies in the row space of A; its value is then the same combination of b.
The test runs in exact arithmetic modulo the prime 2^61 - 1 (sparse Gaussian elimination
per connected component of the cell graph). Counts are whole numbers far below the prime,
so a combination's residue is the count itself; a false "determined" needs the prime to
divide a minor of a 0/1 matrix, which does not happen at these sizes (and every recovered
value is checked against the restricted table when it is readable).
"""
from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from jobs.disclosure_audit.model import SHOWN, Model

log = logging.getLogger(__name__)
PRIME = (1 << 61) - 1


@dataclass
class Echelon:
    """Rows in semi-echelon form over GF(PRIME): each row has a distinct leading column (its
    smallest in `rank` order) with coefficient 1; rhs carries the same combination of values."""
    rank: dict[int, int]  # column -> position in the elimination order
    pivots: dict[int, tuple[dict[int, int], int]] = field(default_factory=dict)

    def reduce(self, row: dict[int, int], rhs: int) -> tuple[dict[int, int], int]:
        """Subtract pivot rows until no pivot column is left; returns the remainder and its rhs."""
        row = {c: v % PRIME for c, v in row.items() if v % PRIME}
        rank = self.rank
        heap = [(rank[c], c) for c in row]
        heapq.heapify(heap)
        rest: dict[int, int] = {}
        while heap:
            _, c = heapq.heappop(heap)
            v = row.pop(c, 0)
            if not v:
                continue
            pivot = self.pivots.get(c)
            if pivot is None:
                rest[c] = v
                continue
            prow, prhs = pivot
            for c2, v2 in prow.items():
                if c2 == c:
                    continue
                old = row.get(c2)
                new = ((old or 0) - v * v2) % PRIME
                if new:
                    row[c2] = new
                    if old is None:
                        heapq.heappush(heap, (rank[c2], c2))
                elif old is not None:
                    del row[c2]
            rhs = (rhs - v * prhs) % PRIME
        return rest, rhs

    def add(self, row: dict[int, int], rhs: int) -> bool:
        """Insert a shown equation; False when it was already implied (consistent or not)."""
        rest, rhs = self.reduce(row, rhs)
        if not rest:
            return rhs == 0
        lead = min(rest, key=self.rank.__getitem__)
        inv = pow(rest[lead], PRIME - 2, PRIME)
        self.pivots[lead] = ({c: v * inv % PRIME for c, v in rest.items()}, rhs * inv % PRIME)
        return True


def signed(residue: int) -> int:
    return residue - PRIME if residue > PRIME // 2 else residue


@dataclass
class ExactResult:
    recovered: dict[int, int]  # qid -> value
    inconsistent: int  # shown equations that contradict the model (the model or the table is wrong)
    components: int


def components(model: Model) -> np.ndarray:
    """Component label of every quantity (quantities sharing inner cells, transitively)."""
    inc = model.incidence
    n_q = len(model.quantities)
    graph = coo_matrix((np.ones(len(inc)), (inc["qid"].to_numpy(), inc["col"].to_numpy() + n_q)),
                       shape=(n_q + model.n_cols, n_q + model.n_cols))
    _, labels = connected_components(graph, directed=False)
    out: np.ndarray = labels[:n_q]
    return out


def rows_of(model: Model) -> dict[int, list[int]]:
    """qid -> its inner columns."""
    inc = model.incidence.sort_values("qid")
    qids, starts = np.unique(inc["qid"].to_numpy(), return_index=True)
    parts = np.split(inc["col"].to_numpy(), starts[1:])
    return {int(q): p.tolist() for q, p in zip(qids, parts)}


def exact_attack(model: Model, labels: np.ndarray) -> ExactResult:
    q = model.quantities
    rows = rows_of(model)
    hidden = q[q["status"] != SHOWN]
    recovered, inconsistent = {}, 0
    comp_ids = sorted(set(labels[hidden["qid"].to_numpy()]))
    for comp in comp_ids:
        members = q[labels == comp]
        shown = members[members["status"] == SHOWN]
        cols = sorted({c for qid in members["qid"] for c in rows.get(qid, ())},
                      key=lambda c: (int(model.col_order[c]), c))
        ech = Echelon({c: i for i, c in enumerate(cols)})
        order = sorted(shown.itertuples(index=False), key=lambda r: len(rows.get(r.qid, ())))
        for r in order:
            if r.qid not in rows:
                continue
            before = len(ech.pivots)
            ok = ech.add(dict.fromkeys(rows[r.qid], 1), int(r.value))
            if len(ech.pivots) == before and not ok:
                inconsistent += 1
        for r in members[members["status"] != SHOWN].itertuples(index=False):
            if r.qid not in rows:
                continue
            rest, rhs = ech.reduce(dict.fromkeys(rows[r.qid], 1), 0)
            if not rest:
                recovered[int(r.qid)] = signed(-rhs % PRIME)
    log.info("exact attack: %d components with hidden quantities, %d recovered, %d inconsistent equations",
             len(comp_ids), len(recovered), inconsistent)
    return ExactResult(recovered, inconsistent, len(comp_ids))
