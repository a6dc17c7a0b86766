"""The interval check (jobs/indicators/intervals.py) on hand-built models of two or three cells.

The case diagnosed in issue 16 at `small` (docs/disclosure.md, section 7, "Convergence fix"):
a hidden `.` quantity whose only alternative needs another `.` quantity to switch branch
(from >= min_count to 0) was reported pinned by the LP search, which keeps every `.` in the
branch of the truth. No partner row can change that, so the suppression added rows round
after round without removing the problem. A reader knows only that a `.` is 0 or >= min_count;
both branches are real alternatives."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from jobs.indicators import intervals
from jobs.indicators.intervals import Witnesses, pinned_quantities
from jobs.indicators.model import Model

pytestmark = pytest.mark.unit
MIN_COUNT = 5


def model(a: list[list[int]], values: list[int]) -> Model:
    """One quantity per row (quantity k is table row k), counts (`n`) only."""
    k = len(values)
    return Model(sparse.csr_matrix(np.asarray(a, dtype=np.int64)), np.arange(k), np.asarray(["n"] * k),
                 np.asarray(values, dtype=np.int64), np.ones(len(a[0]), dtype=np.int64), [f"q{i}" for i in range(k)])


def test_two_secondary_fives_under_a_shown_ten_are_not_pinned() -> None:
    # total 10 = a + b, both `.` (truth 5 and 5): a reader cannot tell 5+5 from 0+10 or 10+0.
    # The LP search alone (each `.` kept >= 5) pinned both at 5, whatever partner was added elsewhere.
    m = model([[1, 1], [1, 0], [0, 1]], [10, 5, 5])
    assert pinned_quantities(m, {0}, set(), {1, 2}, [], MIN_COUNT) == []


def test_a_secondary_five_beside_a_primary_one_stays_pinned() -> None:
    # total 6 = a (`.`, 5) + b (`<5`, 1): a = 0 would need b = 6 > 4, so a = 5 and b = 1 are pinned;
    # switching the `.` branch must not invent an alternative the bounds rule out
    m = model([[1, 1], [1, 0], [0, 1]], [6, 5, 1])
    assert pinned_quantities(m, {0}, {2}, {1}, [], MIN_COUNT) == [1, 2]


def test_a_secondary_zero_that_can_reach_min_count_by_switching_a_neighbour() -> None:
    # total 7 = a (`.`, 0) + b (`.`, 7): a reader cannot tell 0+7 from 7+0; keeping b >= 5 pinned a at 0
    m = model([[1, 1], [1, 0], [0, 1]], [7, 0, 7])
    assert pinned_quantities(m, {0}, set(), {1, 2}, [], MIN_COUNT) == []


def test_a_kept_point_is_used_only_while_a_reader_could_not_rule_it_out() -> None:
    m = model([[1, 1], [1, 0], [0, 1]], [6, 5, 1])
    # a point from an earlier round: it keeps the shown total 6 and moves both, but a = 2 is neither
    # 0 nor >= 5 (a `.`), so it certifies nothing and is dropped
    bogus: Witnesses = {0: [np.array([2.0, 4.0])]}
    assert pinned_quantities(m, {0}, {2}, {1}, [], MIN_COUNT, witnesses=bogus) == [1, 2]
    assert bogus[0] == [] or all(not np.allclose(w, [2.0, 4.0]) for w in bogus[0])
    fair: Witnesses = {}
    m2 = model([[1, 1], [1, 0], [0, 1]], [10, 5, 5])
    assert pinned_quantities(m2, {0}, set(), {1, 2}, [], MIN_COUNT, witnesses=fair) == []
    kept = fair[0]
    assert kept and all(abs(w.sum() - 10) < 1e-6 for w in kept)  # every kept point keeps the shown total


def test_a_pinned_quantity_names_the_shown_equation_that_holds_it() -> None:
    # total 6 = a (`.`, 5) + b (`<5`, 1), and an unrelated shown 9 with a hidden 9 = c + d beside it:
    # only the total's row holds a and b (hiding it is the repair that widens them)
    m = model([[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]], [6, 5, 1, 9, 4])
    binding: dict[int, set[int]] = {}
    assert pinned_quantities(m, {0, 3}, {2, 4}, {1}, [], MIN_COUNT, binding=binding) == [1, 2]
    assert binding == {1: {0}, 2: {0}}


def test_a_pinned_quantity_gets_every_partner_it_needs_in_one_search() -> None:
    # total 12 = a (`<5`, 1) + b (5) + c (6), the total fixed (not open): hiding b alone leaves
    # a + b = 6 with b >= 5, so a is still 1; hiding b and c frees a (b + c >= 10, a <= 2).
    # The repair search names both rows at once (main's repair added one row per round, so a stayed
    # pinned a round longer for each partner it lacked).
    m = model([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], [12, 1, 5, 6])
    partners: dict[int, set[int]] = {}
    rank = {2: (2, 9), 3: (2, 8)}  # b least wanted, then c
    assert pinned_quantities(m, {0, 2, 3}, {1}, set(), [], MIN_COUNT, partner_rank=rank, partners=partners) == [1]
    assert partners == {1: {2, 3}}
    assert pinned_quantities(m, {0}, {1}, {2, 3}, [], MIN_COUNT) == []  # and hiding them does free it


def test_four_primary_parts_of_a_primary_total_are_pinned_by_the_markers_alone() -> None:
    # a `<5` total of 4 over four disjoint `<5` parts: each part >= 1 and the total <= 4, so every
    # part is exactly 1 and the total 4, whatever else is hidden. No open row holds them (the
    # shown 7 beside them is another sum), so they are reported as stuck: no repair can help.
    m = model([[1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0],
               [0, 0, 0, 0, 1]], [4, 1, 1, 1, 1, 0])
    stuck: set[int] = set()
    caps: dict[int, set[int]] = {}
    rank = {5: (2, 1)}  # even were the zero an open partner, it holds nothing
    m7 = model([[1, 1, 1, 1, 1, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0],
                [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 1, 1]], [4, 1, 1, 1, 1, 0, 7])
    assert pinned_quantities(m, {5}, {0, 1, 2, 3, 4}, set(), [], MIN_COUNT, partner_rank=rank, stuck=stuck,
                             caps=caps) == [0, 1, 2, 3, 4]
    assert stuck == {0, 1, 2, 3, 4}
    # what holds them: the total's `<5` bound (row 0) for every one of them (LP duals), so showing the
    # total as `.` is what frees them (disclosure.py `_remarks`); then nothing is pinned
    assert all(0 in caps[q] for q in range(5))
    assert pinned_quantities(m, {5}, {1, 2, 3, 4}, {0}, [], MIN_COUNT, partner_rank=rank) == []
    # a shown 7 that shares the zero's cell is no partner either (hiding it frees nothing)
    stuck7: set[int] = set()
    assert pinned_quantities(m7, {5, 6}, {0, 1, 2, 3, 4}, set(), [], MIN_COUNT, partner_rank={6: (2, 1)},
                             stuck=stuck7) == [0, 1, 2, 3, 4]
    assert stuck7 == {0, 1, 2, 3, 4}


def test_the_search_around_a_quantity_alone_certifies_the_switch_cases() -> None:
    # with no whole-component search at all (exact_limit 0), the local search's own `.` switch
    # still frees the cases of the first tests
    m = model([[1, 1], [1, 0], [0, 1]], [10, 5, 5])
    assert pinned_quantities(m, {0}, set(), {1, 2}, [], MIN_COUNT, exact_limit=0) == []
    m = model([[1, 1], [1, 0], [0, 1]], [7, 0, 7])
    assert pinned_quantities(m, {0}, set(), {1, 2}, [], MIN_COUNT, exact_limit=0) == []


def _tables(seed: int, shapes: list[tuple[int, int]]) -> tuple[Model, set[int], set[int], set[int]]:
    """Independent two-way tables side by side (one component each): cells, row and column totals,
    grand total; cells of 1-4 are `<5`, a few others `.`; every other quantity shown."""
    rng = np.random.default_rng(seed)
    rows_: list[list[int]] = []
    values: list[int] = []
    n_cells = sum(r * c for r, c in shapes)
    start = 0
    for r, c in shapes:
        counts = rng.choice([0, 1, 2, 3, 6, 8, 9, 12, 15], size=(r, c))
        index = start + np.arange(r * c).reshape(r, c)
        groups = [[int(j)] for j in index.ravel()] + [list(map(int, row)) for row in index] + \
                 [list(map(int, col)) for col in index.T] + [list(map(int, index.ravel()))]
        for g in groups:
            line = [0] * n_cells
            for j in g:
                line[j] = 1
            rows_.append(line)
            values.append(int(sum(counts.ravel()[j - start] for j in g)))
        start += r * c
    m = model(rows_, values)
    primary = {i for i, v in enumerate(values) if 0 < v < MIN_COUNT}
    secondary = {int(i) for i in rng.choice(len(values), size=len(values) // 8, replace=False)} - primary
    shown = set(range(len(values))) - primary - secondary
    return m, shown, primary, secondary


def test_components_checked_in_worker_processes_give_the_answers_of_one_process(monkeypatch) -> None:
    """Every output of the check (pinned, kept points, binding rows, partners, stuck, caps) is the
    same whether the components run here one after another or in spawned workers."""
    m, shown, primary, secondary = _tables(7, [(4, 5), (3, 6), (5, 5), (2, 7)])
    outputs = []
    for workers in (1, 2):
        monkeypatch.setattr(intervals, "WORKERS", workers)
        monkeypatch.setattr(intervals, "POOL_MIN_CELLS", 0)
        witnesses: Witnesses = {}
        binding: dict = {}
        partners: dict = {}
        stuck: set = set()
        caps: dict = {}
        pinned = pinned_quantities(m, shown, primary, secondary, [], MIN_COUNT, witnesses=witnesses, binding=binding,
                                   partner_rank={r: (1, r) for r in shown}, partners=partners, stuck=stuck, caps=caps)
        outputs.append((pinned, {k: [p.tolist() for p in v] for k, v in witnesses.items()}, binding, partners,
                        stuck, caps))
    assert intervals._executor.cache_info().currsize == 1  # the second pass did run in workers
    assert outputs[0][0] and outputs[0][1]  # something pinned, points kept: the comparison is not empty
    assert outputs[1] == outputs[0]
