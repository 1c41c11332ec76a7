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

from panelsel.colgen import (
    DUAL_FIX_TOLERANCE,
    FIX_SLACK,
    PRICING_TOLERANCE,
    PricingILP,
    ProgressFn,
    fit_lottery,
    initial_columns,
    type_shares,
)
from panelsel.model import Model
from panelsel.solvers import INFINITY, SolverConfig


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
    """The dual LP over the columns found so far, kept alive across levels.

    Variable 0 is ``yhat``, variable ``1 + t`` is ``y_t``; row 0 is ``sum_{t unfixed} y_t = 1``
    and row ``1 + r`` is ``sum_t c_rt/|t| y_t - yhat <= 0`` for column ``r``.  Fixing a type
    changes its cost and drops it from row 0; with HiGHS the next solve starts from the
    previous basis.
    """

    def __init__(self, n_types: int, config: SolverConfig) -> None:
        self.n_types = n_types
        self.lp = config.backend(maximize=False, name="LEXIMIN dual LP")
        self.lp.add_vars([-INFINITY], [INFINITY], [1.0])
        self.lp.add_vars(np.zeros(n_types), np.full(n_types, INFINITY), np.zeros(n_types))
        self.lp.add_row(1.0, 1.0, np.arange(1, n_types + 1), np.ones(n_types))

    def add(self, share_row: npt.NDArray[np.float64]) -> None:
        nz = np.flatnonzero(share_row)
        self.lp.add_row(-INFINITY, 0.0, np.r_[0, nz + 1], np.r_[-1.0, share_row[nz]])

    def fix(self, types: npt.NDArray[np.intp], value: float) -> None:
        for t in types:
            self.lp.set_coeff(0, int(t) + 1, 0.0)
        if value > FIX_SLACK:
            self.lp.set_costs(types + 1, np.full(len(types), -(value - FIX_SLACK)))

    def solve(self) -> tuple[npt.NDArray[np.float64], float, float]:
        x, objective = self.lp.solve()
        return np.maximum(x[1:], 0.0), float(x[0]), objective


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
    dual = _RestrictedDual(model.n_types, config)
    for row in type_shares(cols.matrix(), sizes):
        dual.add(row)
    if uncoverable.any():
        fixed[uncoverable] = 0.0
        dual.fix(np.flatnonzero(uncoverable), 0.0)
    levels = lp_solves = 0
    while np.isnan(fixed).any():
        levels += 1
        progress("LEXIMIN levels", int((~np.isnan(fixed)).sum()), model.n_types)
        unfixed = np.isnan(fixed)
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
        value_fixed = min(1.0, max(0.0, z))
        fixed[to_fix] = value_fixed
        dual.fix(np.flatnonzero(to_fix), value_fixed)
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
