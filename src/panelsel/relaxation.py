r"""LEXIMIN over the LP relaxation of the quotas: an upper bound, and often the answer.

Letting a panel take fractions of people turns the set of *expected* panels (the count
vectors that lotteries over valid panels average to) into the polytope

.. math::

    P_{LP} = \{x : 0 \le x_t \le |t|,\ \textstyle\sum_t x_t = k,\
    lo_f \le \sum_{t \ni f} x_t \le hi_f,\ \sum_{t \in h} x_t \le m\}

(``t`` types, ``f`` quota values, ``h`` households the rule binds).  Every lottery over
valid panels has its expected counts in :math:`P_{LP}`, so the LEXIMIN of the per-person
probabilities :math:`x_t / |t|` over :math:`P_{LP}` is lexicographically at least as good as
the LEXIMIN over lotteries.  When some lottery over valid panels attains it
(:mod:`panelsel.decompose` looks for one), that lottery is LEXIMIN-optimal, with no
column generation and no pricing ILP.

The relaxation's LEXIMIN is computed level by level exactly like the lottery's
(:mod:`panelsel.algorithms.leximin`), but each level is one LP over ``T + 1`` variables:
maximise ``z`` subject to ``x_t >= |t| z`` for unfixed types and ``x_t >= |t| pi_t`` for
fixed ones; afterwards every unfixed type whose row has a positive dual is fixed at ``z``.

Tolerances
----------
``DUAL_FIX_TOLERANCE`` and ``FIX_SLACK`` of :mod:`panelsel.colgen`, with the same meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from panelsel.colgen import FIX_SLACK, types_to_fix
from panelsel.model import Model
from panelsel.solvers import INFINITY, SolverConfig

__all__ = ["Relaxation", "relaxed_leximin"]


@dataclass
class Relaxation:
    """The LEXIMIN of the LP relaxation.

    Attributes
    ----------
    probabilities : ndarray of float, shape (T,)
        Per-person selection probability of each type (the bound).
    levels : int
        How many level LPs were solved.
    """

    probabilities: npt.NDArray[np.float64]
    levels: int


def relaxed_leximin(
    model: Model, config: SolverConfig, max_levels: int | None = None
) -> Relaxation:
    """The LEXIMIN probabilities of ``model``'s LP relaxation, per type.

    With ``max_levels``, stop after that many levels; types not fixed by then keep NaN
    (``max_levels=1`` gives the relaxation's MAXIMIN value, an upper bound on any lottery's).

    Raises
    ------
    InfeasibleQuotasError
        Not even fractional panels meet the quotas.
    SolverError
        A solver failed or the deadline passed.
    """
    T = model.n_types
    sizes = model.type_sizes.astype(np.float64)
    lp = config.backend(maximize=True, name="LP relaxation", infeasible_means_quotas=True)
    lp.add_vars(np.zeros(T), sizes, np.zeros(T))
    z = T
    lp.add_vars([0.0], [1.0], [1.0])
    everyone = np.arange(T)
    lp.add_row(model.k, model.k, everyone, np.ones(T))
    tf = model.type_features
    for j, f in enumerate(model.features):
        members = np.flatnonzero(tf[:, j])
        lp.add_row(float(f.min), float(min(f.max, model.k)), members, np.ones(len(members)))
    for types in model.households:
        lp.add_row(-INFINITY, float(model.max_per_household), types, np.ones(len(types)))
    first = 1 + len(model.features) + len(model.households)
    for t in range(T):
        lp.add_row(0.0, INFINITY, [t, z], [1.0, -sizes[t]])

    fixed = np.full(T, np.nan)
    levels = 0
    while np.isnan(fixed).any() and (max_levels is None or levels < max_levels):
        levels += 1
        unfixed = np.isnan(fixed)
        _, value = lp.solve()
        y = np.maximum(-lp.row_duals[first : first + T], 0.0) * sizes  # per-probability units
        to_fix = types_to_fix(y, unfixed)
        level = min(1.0, max(0.0, value))
        fixed[to_fix] = level
        for t in np.flatnonzero(to_fix).tolist():
            lp.set_coeff(first + t, z, 0.0)
            lp.set_row_bounds(first + t, sizes[t] * (level - FIX_SLACK), INFINITY)
    return Relaxation(probabilities=fixed, levels=levels)
