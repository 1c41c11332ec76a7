"""LEXIMIN: the lottery that maximises the smallest selection probability, then the next, ...

Algorithm
---------
Column generation as in Flanigan et al. (2021), over count vectors of interchangeable types
(:mod:`panelsel.model`).  At each level the restricted *dual* LP

.. math::

    \\min\\ \\hat y - \\sum_{t \\in F} \\pi_t y_t \\quad\\text{s.t.}\\quad
    \\sum_{t \\notin F} y_t = 1,\\quad
    \\sum_t \\frac{c_{rt}}{|t|} y_t \\le \\hat y \\ \\ \\forall r,\\quad y \\ge 0

is solved over the panels ``r`` found so far, where ``F`` is the set of types whose
probability :math:`\\pi_t` is already fixed.  The pricing ILP then looks for a valid panel
violating a constraint (``sum_t c_t y_t/|t| > yhat``); if one exists it is added, otherwise the
dual is optimal for all panels, its value ``z`` is the largest probability that every unfixed
type can get together, and every unfixed type with positive dual weight is fixed at ``z``
(complementary slackness: such types have probability exactly ``z`` in every optimal primal
solution).  At least one type is fixed per level, so the loop ends.  Finally
:func:`~panelsel.colgen.fit_lottery` finds a distribution over the panels that realises the
fixed probabilities.

Types that no valid panel contains are fixed at 0 before the first level.

References
----------
.. [1] B. Flanigan, P. Gölz, A. Gupta, B. Hennig, A. D. Procaccia, "Fair algorithms for
   selecting citizens' assemblies", Nature 596, 548-552 (2021), Methods: "Algorithm".

Notes
-----
Tolerances are those of :mod:`panelsel.colgen`.  The probabilities reported to users are the
marginals of the final lottery, not the ``pi_t`` above; they differ from the exact LEXIMIN
optimum by at most the LP tolerances (tests check 1e-6 against brute force).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pulp

from panelsel.colgen import (
    DUAL_FIX_TOLERANCE,
    FIX_SLACK,
    PRICING_TOLERANCE,
    PricingILP,
    ProgressFn,
    SolverConfig,
    fit_lottery,
    initial_columns,
    solve,
    type_shares,
)
from panelsel.model import Model


@dataclass
class TypeLottery:
    """A lottery over count vectors (panels of types), before expansion to people.

    Attributes
    ----------
    columns : ndarray of int, shape (R, T)
        Count vectors.
    probabilities : ndarray of float, shape (R,)
        Their probabilities, summing to 1.
    targets : ndarray of float, shape (T,)
        The per-person probability the algorithm computed for each type.
    stats : dict
        Iteration counts for reports and benchmarks.
    """

    columns: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    targets: npt.NDArray[np.float64]
    stats: dict[str, int] = field(default_factory=dict)


class _RestrictedDual:
    """The level's dual LP over the columns found so far; columns are appended in place."""

    def __init__(
        self, shares: npt.NDArray[np.float64], fixed: npt.NDArray[np.float64], config: SolverConfig
    ) -> None:
        n_types = shares.shape[1]
        unfixed = np.isnan(fixed)
        self.config = config
        self.problem = pulp.LpProblem("leximin_dual", pulp.LpMinimize)
        self.yhat = self.problem.add_variable("yhat")
        self.y = [self.problem.add_variable(f"y{t}", lowBound=0) for t in range(n_types)]
        self.problem += self.yhat - pulp.lpSum(
            float(max(0.0, fixed[t] - FIX_SLACK)) * self.y[t]
            for t in np.flatnonzero(~unfixed)
            if fixed[t] > FIX_SLACK
        )
        self.problem += pulp.lpSum(self.y[t] for t in np.flatnonzero(unfixed)) == 1, "unfixed"
        self.n = 0
        for row in shares:
            self.add(row)

    def add(self, share_row: npt.NDArray[np.float64]) -> None:
        nz = np.flatnonzero(share_row)
        self.problem += (
            (pulp.lpSum(float(share_row[t]) * self.y[t] for t in nz) <= self.yhat),
            f"panel_{self.n}",
        )
        self.n += 1

    def solve(self) -> tuple[npt.NDArray[np.float64], float, float]:
        solve(self.problem, self.config, mip=False, what="LEXIMIN dual LP")
        y = np.array([max(0.0, v.varValue or 0.0) for v in self.y])
        return y, float(self.yhat.varValue or 0.0), float(pulp.value(self.problem.objective))


def leximin(model: Model, config: SolverConfig, progress: ProgressFn) -> TypeLottery:
    """Compute the LEXIMIN lottery of ``model``.

    Parameters
    ----------
    model
        The validated pool and quotas.
    config
        Solver choice and deadline.
    progress
        Called as ``progress(stage, done, total)``.

    Returns
    -------
    TypeLottery

    Raises
    ------
    InfeasibleQuotasError
        No valid panel exists.
    SolverError
        A solver failed or the deadline passed.
    """
    sizes = model.type_sizes
    pricing = PricingILP(model, config)
    cols, uncoverable = initial_columns(pricing, progress)
    fixed = np.full(model.n_types, np.nan)
    fixed[uncoverable] = 0.0
    levels = lp_solves = 0
    while np.isnan(fixed).any():
        levels += 1
        progress("LEXIMIN levels", int((~np.isnan(fixed)).sum()), model.n_types)
        unfixed = np.isnan(fixed)
        dual = _RestrictedDual(type_shares(cols.matrix(), sizes), fixed, config)
        while True:
            y, yhat, z = dual.solve()
            lp_solves += 1
            counts, value = pricing.best(y / sizes)
            if value <= yhat + PRICING_TOLERANCE or not cols.add(counts):
                break
            dual.add(type_shares(counts[None, :], sizes)[0])
        to_fix = unfixed & (y > DUAL_FIX_TOLERANCE)
        if not to_fix.any():  # numerically flat duals: fix the heaviest unfixed type
            to_fix = unfixed & (y >= y[unfixed].max())
        fixed[to_fix] = min(1.0, max(0.0, z))
    progress("LEXIMIN levels", model.n_types, model.n_types)
    matrix = cols.matrix()
    probs = fit_lottery(matrix, sizes, fixed, config)
    return TypeLottery(
        columns=matrix,
        probabilities=probs,
        targets=fixed,
        stats={
            "levels": levels,
            "columns": len(cols),
            "pricing_calls": pricing.calls,
            "lp_solves": lp_solves,
        },
    )
