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
(:mod:`panelsel.solve.decompose` looks for one), that lottery is LEXIMIN-optimal, with no
column generation and no pricing ILP.

The relaxation's LEXIMIN is computed level by level exactly like the lottery's
(:mod:`panelsel.solve.algorithms.leximin`), but each level is one LP over ``T + 1`` variables:
maximise ``z`` subject to ``x_t >= |t| z`` for unfixed types and ``x_t >= |t| pi_t`` for
fixed ones; afterwards every unfixed type whose row has a positive dual is fixed at ``z``.

Tolerances
----------
``DUAL_FIX_TOLERANCE`` of :mod:`panelsel.solve.colgen`, with the same meaning.
Fixed levels
------------
A fixed type's row is ``x_t >= |t| pi_t - slack``, in expected *counts*, the row's own
units, with the slack :attr:`~panelsel.solve.backends.Backend.fix_slack` (ten times the
model's feasibility tolerance).  The level ``pi_t`` is read off a solution that may break
any row by that tolerance, so it can overshoot the true level by about that much
(0.250000118 for a true 0.25 on a one-person type, at 1e-7).  The slack was ``1e-9 |t|``,
a hundredth of the tolerance for a one-person type, so the next level's LP was feasible
only within round-off and a warm-started HiGHS called it infeasible (``../shared/numerics``:
the run then said "Quotas cannot be met").  With HiGHS the level LPs run at
:data:`~panelsel.solve.backends.TIGHT_FEASIBILITY_TOLERANCE`, so the slack is 1e-8.  A
later level can use the slack (it only loosens the relaxation: every level stays an upper
bound), by about the slack per person: well inside the decomposition's
``RATIONAL_TOLERANCE`` with HiGHS; a slack of 1e-6 moved the levels enough to break exact
decompositions, which is what CBC's default tolerance costs (it is the cross-check).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from panelsel.errors import NumericalInfeasibilityError, SolverError
from panelsel.inputs.model import Model
from panelsel.lotteries import LevelProof
from panelsel.solve.backends import INFINITY, TIGHT_FEASIBILITY_TOLERANCE, SolverConfig
from panelsel.solve.colgen import FLOOR_MARGIN, types_to_fix
from panelsel.solve.quota_rows import add_household_rows, add_panel_size_row, add_value_rows

LOOSENINGS = 2
"""How often a level LP that came back infeasible is retried with looser fixed floors."""

__all__ = [
    "POSITIVE_TOLERANCE",
    "Relaxation",
    "RelaxedExtremes",
    "RelaxedLevels",
    "relaxed_extremes",
    "relaxed_leximin",
]


@dataclass
class Relaxation:
    """The LEXIMIN of the LP relaxation.

    Attributes
    ----------
    probabilities : ndarray of float, shape (T,)
        Per-person selection probability of each type (the bound).
    levels : int
        How many level LPs were solved.
    proofs : list of LevelProof
        Each level solved here, with its LP's type duals: they prove the level for real
        panels too, since every valid panel lies in the relaxation's polytope.
    """

    probabilities: npt.NDArray[np.float64]
    levels: int
    proofs: list[LevelProof] = field(default_factory=list)


class RelaxedLevels:
    """The relaxation's level LP, kept alive so that levels can be fixed from outside.

    :meth:`level` solves ``max z`` subject to ``x in P_LP``, ``x_t >= |t| z`` for unfixed
    types and ``x_t >= |t| pi_t`` for fixed ones, and returns ``z`` with the rows' duals in
    probability units.  :func:`relaxed_leximin` fixes the relaxation's own levels with it;
    :mod:`panelsel.solve.algorithms.leximin` fixes the *lottery's* levels, so that each level's
    value is an upper bound on the lottery's next level (every lottery's expected counts lie
    in ``P_LP``), and a lottery level that reaches it is proven optimal without a pricing
    proof.
    """

    def __init__(self, model: Model, config: SolverConfig) -> None:
        T = model.n_types
        self.sizes = model.type_sizes.astype(np.float64)
        lp = config.backend(
            maximize=True, name="LP relaxation", tolerance=TIGHT_FEASIBILITY_TOLERANCE
        )
        lp.add_vars(np.zeros(T), self.sizes, np.zeros(T))
        self.z = T
        lp.add_vars([0.0], [1.0], [1.0])
        add_panel_size_row(lp, model)
        values = add_value_rows(lp, model, binding_only=False)
        add_household_rows(lp, model)
        self.first = 1 + values + len(model.households)
        for t in range(T):
            lp.add_row(0.0, INFINITY, [t, self.z], [1.0, -self.sizes[t]])
        self.lp = lp
        self.solves = 0
        self.floors = np.full(T, np.nan)
        """Each fixed type's floor, in probability (NaN while unfixed)."""

    def level(self) -> tuple[float, npt.NDArray[np.float64]]:
        """The next level's value ``z`` and every type row's dual (per probability).

        Should the LP come back infeasible although earlier levels were fixed with the
        model's slack (CBC, whose level values were seen 1e-6 off on a generated pool of
        ``benchmarks/stress.py``), every fixed floor is lowered by ten times more slack and
        the LP solved again, at most :data:`LOOSENINGS` times; every level stays an upper
        bound, only a looser one.
        """
        for loosened in range(LOOSENINGS + 1):
            try:
                _, value = self.lp.solve()
                break
            except NumericalInfeasibilityError:
                if loosened == LOOSENINGS:
                    raise
                extra = self.lp.fix_slack * 10.0 ** (loosened + 1)
                for t in np.flatnonzero(~np.isnan(self.floors)).tolist():
                    self._floor(t, float(self.floors[t]) - extra / self.sizes[t])
        self.solves += 1
        T = len(self.sizes)
        duals = np.maximum(-self.lp.row_duals[self.first : self.first + T], 0.0) * self.sizes
        return float(value), duals

    def fix(
        self,
        types: npt.NDArray[np.intp],
        value: float,
        achieved: npt.NDArray[np.float64] | None = None,
    ) -> None:
        """Keep ``types`` at probability ``value`` or more from now on.

        Without ``achieved``, their expected counts stay at ``|t| value`` less the model's
        ``fix_slack`` (the module notes).  With ``achieved``, the per-type probabilities of
        an exact lottery over valid panels (whose expected counts lie in ``P_LP``), every
        fixed type's floor is at most what that lottery gives it, so the LP stays feasible
        with only ``FLOOR_MARGIN`` of round-off and no slack the next levels could use.
        """
        if achieved is None:
            floors = value - self.lp.fix_slack / self.sizes
        else:
            floors = np.minimum(value, achieved) - FLOOR_MARGIN
            for t in np.flatnonzero(~np.isnan(self.floors)).tolist():
                if floors[t] < self.floors[t]:
                    self._floor(t, float(floors[t]))
        for t in types.tolist():
            self.lp.set_coeff(self.first + t, self.z, 0.0)
            self._floor(t, float(floors[t]))

    def _floor(self, t: int, floor: float) -> None:
        self.lp.set_row_bounds(self.first + t, self.sizes[t] * floor, INFINITY)
        self.floors[t] = floor


def relaxed_leximin(
    model: Model,
    config: SolverConfig,
    max_levels: int | None = None,
    fixed: npt.NDArray[np.float64] | None = None,
) -> Relaxation:
    """The LEXIMIN probabilities of ``model``'s LP relaxation, per type.

    With ``max_levels``, stop after that many levels; types not fixed by then keep NaN
    (``max_levels=1`` gives the relaxation's MAXIMIN value, an upper bound on any lottery's).
    With ``fixed`` (per type, NaN where free), those types are held at their values first:
    the LEXIMIN of the rest given levels a lottery has already proven.

    Raises
    ------
    SolverError
        A solver failed (the quotas have been shown feasible, so an infeasible LP is one of
        these) or the deadline passed.
    """
    T = model.n_types
    levels_lp = RelaxedLevels(model, config)
    fixed = np.full(T, np.nan) if fixed is None else fixed.copy()
    for value in np.unique(fixed[~np.isnan(fixed)]).tolist():
        levels_lp.fix(np.flatnonzero(fixed == value), value)
    levels = 0
    proofs = []
    while np.isnan(fixed).any() and (max_levels is None or levels < max_levels):
        levels += 1
        unfixed = np.isnan(fixed)
        value, y = levels_lp.level()
        to_fix = types_to_fix(y, unfixed)
        level = min(1.0, max(0.0, value))
        fixed[to_fix] = level
        levels_lp.fix(np.flatnonzero(to_fix), level)
        proofs.append(LevelProof(level, np.flatnonzero(to_fix), y, value))
    return Relaxation(probabilities=fixed, levels=levels, proofs=proofs)


POSITIVE_TOLERANCE = 1e-7
"""A relaxed LEXIMIN probability above this counts as positive: the type is in some
fractional panel (levels are held a slack below their value, so a level of 0 can come back
as a few 1e-9)."""
EXTREMES_TANGENT_TOLERANCE = 1e-9
"""A tangent of ``1/l`` is added where an LP's ``s`` falls short of ``1/l`` by more than
this share (the relaxation here and the Goldilocks master)."""
MAX_TANGENTS = 200
"""Tangents the relaxation may add before giving up (Kelley's method in one variable
needs a few dozen at most)."""


@dataclass
class RelaxedExtremes:
    """The optimum of ``a max pi + b / min pi`` over the LP relaxation.

    Attributes
    ----------
    probabilities : ndarray of float, shape (T,)
        Per-person probability of each type at the optimum found.
    low, high : float
        Its smallest probability over the counted types and its largest.
    alpha, beta : ndarray of float, shape (T,)
        The duals of the rows ``pi_t >= l`` and ``u >= pi_t`` (per type, in probability
        units, ``sum(beta) <= a``): the certificate of
        :mod:`panelsel.solve.algorithms.goldilocks`, valid for lotteries too.
    solves : int
        LP solves (one per tangent).
    """

    probabilities: npt.NDArray[np.float64]
    low: float
    high: float
    alpha: npt.NDArray[np.float64]
    beta: npt.NDArray[np.float64]
    solves: int


def relaxed_extremes(
    model: Model,
    a: float,
    b: float,
    counted: npt.NDArray[np.bool_],
    config: SolverConfig,
    tangents: tuple[float, ...] = (),
) -> RelaxedExtremes:
    r"""Minimise ``a max_t pi_t + b / min_{t counted} pi_t`` over :math:`P_{LP}`.

    The same LP as the Goldilocks master (:mod:`panelsel.solve.algorithms.goldilocks`)
    with the expected counts ``x`` in place of a lottery's columns: minimise ``a u + b s``
    subject to ``x in P_LP``, ``l <= x_t/|t| <= u`` (the lower rows for ``counted``
    types only) and Kelley's tangents ``s >= 2/l_j - l/l_j^2``, starting from
    ``tangents`` and ``k/n`` and adding one at ``l`` while ``s`` falls short of ``1/l``.
    Because every lottery's expected counts lie in :math:`P_{LP}`, its duals certify a
    lower bound for lotteries too.

    Raises
    ------
    SolverError
        A solver failed (the quotas have been shown feasible, so an infeasible LP is one of
        these), the deadline passed or the tangents did not converge.
    """
    T = model.n_types
    sizes = model.type_sizes.astype(np.float64)
    lp = config.backend(maximize=True, name="LP relaxation")
    lp.add_vars(np.zeros(T), sizes, np.zeros(T))
    u, low, s = T, T + 1, T + 2
    lp.add_vars([0.0, 0.0, 0.0], [INFINITY] * 3, [-a, 0.0, -b])
    add_panel_size_row(lp, model)
    values = add_value_rows(lp, model, binding_only=False)
    add_household_rows(lp, model)
    first = 1 + values + len(model.households)
    for t in range(T):
        if counted[t]:
            lp.add_row(0.0, INFINITY, [t, low], [1.0 / sizes[t], -1.0])
        else:
            lp.add_row(0.0, INFINITY, np.zeros(0, dtype=np.intp), np.zeros(0))
    for t in range(T):
        lp.add_row(0.0, INFINITY, [t, u], [-1.0 / sizes[t], 1.0])
    added: list[float] = []

    def tangent(at: float) -> bool:
        if b == 0.0 or at <= 0.0 or any(abs(at - x) <= 1e-12 * max(at, x) for x in added):
            return False
        added.append(at)
        lp.add_row(2.0 / at, INFINITY, [low, s], [1.0 / at**2, 1.0])
        return True

    for at in (*tangents, model.k / model.n):  # one at least, so that l has a cost
        tangent(at)
    solves = 0
    while True:
        x, _ = lp.solve()
        solves += 1
        l_value, s_value = float(x[low]), float(x[s])
        short = b > 0.0 and l_value > 0.0 and s_value < (1.0 - EXTREMES_TANGENT_TOLERANCE) / l_value
        if not short or not tangent(l_value):
            break
        if len(added) > MAX_TANGENTS:
            raise SolverError(
                f"the LP relaxation's tangents did not converge in {MAX_TANGENTS} steps",
                hint="try the other solver with --solver",
            )
    pi = np.clip(x[:T] / sizes, 0.0, 1.0)
    duals = lp.row_duals
    alpha = np.where(counted, np.maximum(-duals[first : first + T], 0.0), 0.0)
    beta = np.maximum(-duals[first + T : first + 2 * T], 0.0)
    if float(beta.sum()) > a:
        beta *= a / float(beta.sum())
    return RelaxedExtremes(
        probabilities=pi,
        low=float(pi[counted].min()) if counted.any() else 1.0,
        high=float(pi.max()),
        alpha=alpha,
        beta=beta,
        solves=solves,
    )
