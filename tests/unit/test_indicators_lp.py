"""jobs/indicators/lp.py solves what scipy.optimize.linprog(method="highs") solves, with the same
answers bit for bit: the interval check's suppression pattern must not depend on which of the two
ran it (checked against linprog itself, the independent computation, on random LPs of the shapes
the check builds: sparse 0/1 rows, equalities, `<=` rows, capped columns, infeasible ones)."""
import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from jobs.indicators import lp

pytestmark = pytest.mark.unit


def _random_lp(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    a = sparse.random(int(rng.integers(1, 30)), n, density=0.2, random_state=seed, format="csr")
    a.data[:] = 1.0
    truth = rng.integers(0, 12, n).astype(float)  # a table the constraints admit (unless made infeasible)
    m_eq = int(rng.integers(0, a.shape[0] + 1))
    a_eq, a_ub = a[:m_eq], a[m_eq:]
    b_eq = a_eq @ truth
    b_ub = a_ub @ truth + rng.integers(0, 3, a_ub.shape[0])
    if seed % 7 == 0 and m_eq:
        b_eq[0] += 0.5 + a_eq.shape[1]  # more than every cell could add within the caps below: infeasible
    upper = np.where(rng.random(n) < 0.3, truth + 1, np.inf)
    lower = np.where(rng.random(n) < 0.2, -np.inf, 0.0)
    return {"c": rng.normal(size=n), "a_ub": a_ub if a_ub.shape[0] else None, "b_ub": b_ub if a_ub.shape[0] else None,
            "a_eq": a_eq if m_eq else None, "b_eq": b_eq if m_eq else None,
            "lower": lower, "upper": np.where(np.isinf(upper), truth + 3, upper)}


@pytest.mark.parametrize("seed", range(40))
def test_solve_gives_linprogs_answer_bit_for_bit(seed: int) -> None:
    p = _random_lp(seed)
    ours = lp.solve(p["c"], p["a_ub"], p["b_ub"], p["a_eq"], p["b_eq"], p["lower"], p["upper"])
    ref = linprog(p["c"], A_ub=p["a_ub"], b_ub=p["b_ub"], A_eq=p["a_eq"], b_eq=p["b_eq"],
                  bounds=list(zip(p["lower"], p["upper"])), method="highs")
    assert (ours.status == 0) == (ref.status == 0), (ours.status, ref.status)
    if ref.status != 0:
        assert not len(ours.x) and np.isnan(ours.fun) and not len(ours.eq_duals)
        return
    assert ours.fun == ref.fun
    assert np.array_equal(ours.x, ref.x)
    assert np.array_equal(ours.ineq_duals, ref.ineqlin.marginals)
    assert np.array_equal(ours.eq_duals, ref.eqlin.marginals)


def test_an_infeasible_program_has_no_point() -> None:
    """x0 + x1 = 3 with both capped at 1: no point; status nonzero, nothing to read."""
    res = lp.solve(np.ones(2), a_eq=sparse.csr_matrix(np.ones((1, 2))), b_eq=np.array([3.0]), upper=1.0)
    assert res.status != 0 and not len(res.x) and not len(res.eq_duals)


def test_the_minimum_and_its_dual_on_a_small_table() -> None:
    """min x0 with x0 + x1 = 5, x1 <= 3, x >= 0: x0 = 2; the equation holds it (dual 1), the cap too (-1)."""
    res = lp.solve(np.array([1.0, 0.0]), a_ub=sparse.csr_matrix([[0.0, 1.0]]), b_ub=np.array([3.0]),
                   a_eq=sparse.csr_matrix([[1.0, 1.0]]), b_eq=np.array([5.0]))
    assert res.status == 0 and res.fun == pytest.approx(2.0)
    assert np.allclose(res.x, [2.0, 3.0])
    assert np.allclose(res.eq_duals, [1.0])
    assert np.allclose(res.ineq_duals, [-1.0])
