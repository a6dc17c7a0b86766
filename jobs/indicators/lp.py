"""One linear program solved by HiGHS, without scipy.optimize.linprog's per-call overhead.

The interval check (jobs/indicators/intervals.py) solves thousands of small LPs. linprog spends
a third of that time outside the solver: it re-validates its inputs (bounds given as a list of
pairs), and reads the bound marginals of every variable in a Python loop, which the check never
uses. `solve` hands HiGHS the same model linprog would (the same CSC matrix, row bounds, column
bounds and options: presolve on, dual simplex, no output), so its solutions are linprog's
bit for bit, and applies linprog's own acceptance test (`_check_result`: an "optimal" point
outside the constraints by more than sqrt(1e-9) * 10 is status 4, as linprog reports it).

The solver is HiGHS as built into scipy (`scipy.optimize._highspy._core`, the module linprog
itself calls; scipy is pinned in requirements.in): the same binary, so the same answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize._highspy import _core as highs  # linprog's own HiGHS (see module docstring)

CHECK_TOL = float(np.sqrt(1e-9) * 10)  # linprog's _check_result tolerance for its default tol 1e-9
OPTIONS = {"presolve": "on", "output_flag": False, "log_to_console": False}  # linprog(method="highs")


@dataclass(frozen=True)
class Result:
    """status: 0 optimal, else no point (linprog's codes 2-4 collapse to 2 or 4: x and the duals
    empty, fun nan); fun: c.x; ineq_duals / eq_duals: the row duals of A_ub's and A_eq's rows
    (linprog's `ineqlin.marginals` and `eqlin.marginals`)."""

    status: int
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fun: float = float("nan")
    ineq_duals: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eq_duals: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _finite(v: np.ndarray) -> np.ndarray:
    out = np.array(v, dtype=float, copy=True)
    inf = np.isinf(out)
    out[inf] = np.sign(out[inf]) * highs.kHighsInf
    return out


def solve(c: np.ndarray, a_ub: Any = None, b_ub: np.ndarray | None = None, a_eq: Any = None,
          b_eq: np.ndarray | None = None, lower: np.ndarray | float = 0.0,
          upper: np.ndarray | float = np.inf) -> Result:
    """min c.x subject to a_ub x <= b_ub, a_eq x = b_eq, lower <= x <= upper (sparse or None)."""
    c = np.asarray(c, dtype=float).ravel()
    n = c.size
    lb = np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy()
    ub = np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy()
    b_ub = np.zeros(0) if a_ub is None else np.asarray(b_ub, dtype=float).ravel()
    b_eq = np.zeros(0) if a_eq is None else np.asarray(b_eq, dtype=float).ravel()
    blocks = [sparse.coo_array((0, n) if m is None else m, dtype=float) for m in (a_ub, a_eq)]
    a = sparse.csc_array(sparse.vstack(blocks))
    n_ub = b_ub.size
    rhs = np.concatenate([b_ub, b_eq])
    lhs = np.concatenate([np.full(n_ub, -np.inf), b_eq])

    h = highs._Highs()
    for key, value in OPTIONS.items():
        h.setOptionValue(key, value)
    status = h.passModel(n, rhs.size, a.nnz, int(highs.MatrixFormat.kColwise), int(highs.ObjSense.kMinimize), 0.0,
                         c, _finite(lb), _finite(ub), _finite(lhs), _finite(rhs),
                         a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, np.zeros(n, dtype=np.int32))
    if status == highs.HighsStatus.kError:
        return Result(status=4)
    if h.run() == highs.HighsStatus.kError or h.getModelStatus() != highs.HighsModelStatus.kOptimal:
        return Result(status=2)
    solution = h.getSolution()
    x = np.array(solution.col_value)
    row = np.array(solution.row_value)
    fun = float(h.getInfo().objective_function_value)
    slack = rhs - row  # linprog's residuals (on rhs before infinities become kHighsInf)
    feasible = not (np.isnan(x).any() or np.isnan(fun) or np.isnan(slack).any())
    feasible = feasible and bool(np.all((x >= lb - CHECK_TOL) & (x <= ub + CHECK_TOL)))
    feasible = feasible and not (slack[:n_ub] < -CHECK_TOL).any() and not (np.abs(slack[n_ub:]) > CHECK_TOL).any()
    if not feasible:
        return Result(status=4)
    duals = np.array(solution.row_dual)
    return Result(status=0, x=x, fun=fun, ineq_duals=duals[:n_ub], eq_duals=duals[n_ub:])
