r"""GOLDILOCKS: neither too small nor too large a chance for anyone.

LEXIMIN and MAXIMIN look only at the bottom: they raise the smallest selection
probabilities and leave the top unchecked, so on hard pools someone can get a chance many
times the equal share ``k/n``, and a coalition that misreports its features can push its
own chances up (Flanigan, Liang, Procaccia & Wang 2024).  Baharav & Flanigan (2024) propose
to minimise

.. math::

    F(\pi) = \frac{n}{k} \max_i \pi_i + \gamma \, \frac{k/n}{\min_i \pi_i}

over lotteries of valid panels (``gamma = 1`` by default), which keeps both the largest and
the smallest chance close to ``k/n`` at once.  The minimum runs over the people some valid
panel contains (everybody else has probability 0 under every lottery); the maximum over
everyone.  MINIMAX (:mod:`panelsel.solve.algorithms.minimax`) is the same problem with the
weights ``(1, 0)``: the smallest possible largest probability.

Algorithm
---------
Over count vectors (types, :mod:`panelsel.inputs.model`) the problem is convex in the
column probabilities ``p``.  Three steps, each ending the run when it is certified:

1. **The LP relaxation** (:func:`panelsel.solve.relaxation.relaxed_extremes`): the same
   problem over fractional panels, a small LP in the ``T`` expected counts.  Every
   lottery's expected counts are a fractional panel, so its duals certify a lower bound for
   lotteries too (checked with the pricing ILP, below).
2. **Reaching it**: the relaxation's optimum ``pi*`` is decomposed into valid panels
   (:mod:`panelsel.solve.decompose`); if that is not exact, the dense covering LP of
   :mod:`panelsel.solve.interior` looks for a lottery that gives every type ``pi*``, with
   a few rounds of column generation (:func:`panelsel.solve.algorithms.leximin.reach_goal`,
   as LEXIMIN does for its relaxation's bound).  On pools whose relaxation has no gap this
   is the whole run.
3. **Column generation with tangent cuts** otherwise, on the columns found so far, with two
   kinds of generated objects in one loop:

   * **columns** (valid panels), by the pricing ILP of :mod:`panelsel.solve.colgen`;
   * **tangents** of ``1/l`` (Kelley's cutting planes): the master minimises
     ``a u + b s`` subject to ``sum_r p_r = 1``, ``l <= pi_t <= u`` and
     ``s >= 2/l_j - l/l_j^2`` for the tangent points ``l_j`` found so far (``a = n/k``,
     ``b = gamma k/n``).  Each round adds a tangent at the master's ``l`` when ``s`` is
     below ``1/l`` there.

   The lower bound is the best of the relaxation's and every round's.

Why this master
---------------
The objective is convex but not linear.  A convex solver over ``p`` (a second-order
cone or a smooth method) would need the columns up front; Kelley's tangents keep the
master an LP, whose duals price columns exactly as LEXIMIN's do and whose bound is linear
in them, and ``1/l`` is a function of one variable, for which a handful of tangents are
enough (the relaxation's optimum ``l`` is the first).  The masters' LPs are dense (a
panel touches up to ``k`` types) and degenerate: simplex from scratch took more than 120 s
on the 1,361-type master of a skewed 2,000-person pool, HiGHS's interior-point method 45 s,
the dense covering LP of step 2 3 s a round; hence step 2 before step 3.

Certificate
-----------
For any ``alpha, beta >= 0`` over people with ``sum(beta) <= a``, and every lottery,

.. math::

    a \max\pi + \frac{b}{\min\pi} \ \ge\ 2\sqrt{b \textstyle\sum_i \alpha_i}
    - \max_{P\ \mathrm{valid}} \sum_{i \in P} (\alpha_i - \beta_i)

(from ``a max pi >= sum beta_i pi_i`` and ``b/l + l sum alpha >= 2 sqrt(b sum alpha)``
with ``l sum alpha <= sum alpha_i pi_i``; for MINIMAX, ``b = 0``).  The maximum is the
pricing ILP at weights ``alpha - beta``; ``alpha`` and ``beta`` are the relaxation's or a
master's duals, whichever bound is higher.
The loop stops when this lower bound is within ``GOLDILOCKS_GAP_TOLERANCE`` (relative) of
the lottery's own ``F``: that is the optimality claim, and the audit checks it with its
own LP and MILP (:mod:`panelsel.audit.certificates`).

References
----------
.. [1] T. Baharav, B. Flanigan, "Fair, Manipulation-Robust, and Transparent Sortition",
   EC 2024, arXiv:2406.15009.
.. [2] B. Flanigan, J. Liang, A. D. Procaccia, S. Wang, "Manipulation-Robust Selection of
   Citizens' Assemblies", AAAI 2024.
.. [3] J. E. Kelley, "The cutting-plane method for solving convex programs", J. SIAM 8(4),
   703-712 (1960).

Notes
-----
``GOLDILOCKS_GAP_TOLERANCE`` bounds ``(F - lower bound) / F``.  ``TANGENT_TOLERANCE`` is
the relative shortfall of ``s`` below ``1/l`` that earns a new tangent.  A column enters
only if its weight exceeds the best in the master by ``PRICING_TOLERANCE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from panelsel.defaults import DEFAULT_GAMMA
from panelsel.errors import SolverError
from panelsel.inputs.model import Model
from panelsel.lotteries import TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.algorithms.leximin import (
    INTERIOR_COLUMNS,
    REST_ROUNDS,
    REST_START,
    decomposition,
    reach_goal,
)
from panelsel.solve.backends import INFINITY, SolverConfig
from panelsel.solve.colgen import (
    COLUMNS_PER_ROUND,
    HEURISTIC_STARTS,
    PRICING_TOLERANCE,
    ColumnSearch,
    PricingILP,
    SwapNeighbours,
    initial_columns,
    snapshot,
    type_shares,
)
from panelsel.solve.interior import fits
from panelsel.solve.protocol import Incumbent
from panelsel.solve.relaxation import (
    EXTREMES_TANGENT_TOLERANCE as TANGENT_TOLERANCE,
)
from panelsel.solve.relaxation import (
    POSITIVE_TOLERANCE,
    relaxed_extremes,
    relaxed_leximin,
)

GOLDILOCKS_METHOD = "column generation with tangent cuts"
RELAXED_METHOD = "the LP relaxation's optimum attained"
GOLDILOCKS_GAP_TOLERANCE = 1e-6
"""Stop when the certified lower bound is within this share of the lottery's objective."""
MAX_ROUNDS = 10_000
"""Rounds before giving up (a safeguard: each round adds a column or a tangent)."""
SUPPORT_FLOOR = 1e-12
"""Panel probabilities below this are dropped from the returned lottery (then renormalised)."""


@dataclass(frozen=True)
class Extremes:
    """The objective ``a max pi + b / min pi`` (``b = 0``: MINIMAX)."""

    name: str
    a: float
    b: float

    def value(self, low: float, high: float) -> float:
        if self.b == 0.0:
            return self.a * high
        return self.a * high + (self.b / low if low > 0 else math.inf)

    def lower_bound(self, alpha_sum: float, pricing_value: float) -> float:
        """The certificate's bound from duals with ``sum alpha = alpha_sum`` and the pricing
        ILP's value at ``alpha - beta`` (``sum beta <= a``)."""
        return 2.0 * math.sqrt(self.b * max(alpha_sum, 0.0)) - pricing_value


def goldilocks_objective(model: Model, gamma: float) -> Extremes:
    return Extremes("goldilocks", model.n / model.k, gamma * model.k / model.n)


class ExtremesMaster:
    """The restricted LP over the columns found so far.

    Variables: 0 is ``u`` (the largest probability), 1 is ``l`` (the smallest, over
    counted types), 2 is ``s`` (at least ``1/l`` through the tangents), ``3 + r`` the
    probability of column ``r``.  Row 0 is ``sum_r p_r = 1``; row ``1 + t`` is
    ``pi_t - l >= 0`` (``pi_t >= 0`` for a type no valid panel contains); row ``1 + T + t``
    is ``u - pi_t >= 0``; later rows are the tangents.  The LP maximises ``-(a u + b s)``.
    """

    def __init__(
        self,
        sizes: npt.NDArray[np.intp],
        counted: npt.NDArray[np.bool_],
        objective: Extremes,
        config: SolverConfig,
    ) -> None:
        self.sizes = sizes
        self.T = len(sizes)
        self.objective = objective
        self.lp = config.backend(
            maximize=True, name=f"{objective.name} master LP", primal_simplex=True
        )
        # no upper bounds on u and l: a bound at 1 would take the duals that the rows give
        # the certificate (rows alone keep them within [0, 1])
        self.lp.add_vars([0.0, 0.0, 0.0], [INFINITY] * 3, [-objective.a, 0.0, -objective.b])
        self.lp.add_row(1.0, 1.0, np.zeros(0, dtype=np.intp), np.zeros(0))
        for t in range(self.T):
            if counted[t]:
                self.lp.add_row(0.0, INFINITY, [1], [-1.0])
            else:
                self.lp.add_row(0.0, INFINITY, np.zeros(0, dtype=np.intp), np.zeros(0))
        for _ in range(self.T):
            self.lp.add_row(0.0, INFINITY, [0], [1.0])
        self.columns: list[npt.NDArray[np.int64]] = []
        self._seen: set[bytes] = set()
        self.tangents: list[float] = []

    def add(self, counts: npt.NDArray[np.int64]) -> bool:
        key = counts.tobytes()
        if key in self._seen:
            return False
        self._seen.add(key)
        self.columns.append(counts)
        share = type_shares(counts[None, :], self.sizes)[0]
        nz = np.flatnonzero(share)
        rows = np.r_[0, 1 + nz, 1 + self.T + nz]
        self.lp.add_column(0.0, INFINITY, 0.0, rows, np.r_[1.0, share[nz], -share[nz]])
        return True

    def add_tangent(self, at: float) -> bool:
        """``s >= 2/at - l/at^2`` (only where ``1/l`` matters: ``b > 0``)."""
        if self.objective.b == 0.0 or at <= 0.0:
            return False
        if any(abs(at - x) <= 1e-12 * max(at, x) for x in self.tangents):
            return False
        self.tangents.append(at)
        self.lp.add_row(2.0 / at, INFINITY, [1, 2], [1.0 / at**2, 1.0])
        return True

    def solve(
        self, interior: bool = False
    ) -> tuple[
        npt.NDArray[np.float64], float, float, npt.NDArray[np.float64], npt.NDArray[np.float64]
    ]:
        """Column probabilities, the master's ``l`` and ``s``, and the duals ``alpha`` and
        ``beta`` per type (``beta`` scaled so that ``sum(beta) <= a``); ``interior``: by the
        interior-point method with crossover (for a first solve of many columns)."""
        x, _ = self.lp.solve_interior(crossover=True) if interior else self.lp.solve()
        duals = self.lp.row_duals
        alpha = np.maximum(-duals[1 : 1 + self.T], 0.0)
        beta = np.maximum(-duals[1 + self.T : 1 + 2 * self.T], 0.0)
        total = float(beta.sum())
        if total > self.objective.a:
            beta *= self.objective.a / total
        return x[3:], float(x[1]), float(x[2]), alpha, beta


def relative_gap(f: float, bound: float) -> float:
    """``(f - bound) / f``, the share by which a lottery of objective ``f`` may exceed the
    optimum given a certified lower ``bound`` (infinite while ``f`` is)."""
    return (f - bound) / f if math.isfinite(f) and f > 0 else math.inf


def solve_extremes(
    model: Model,
    objective: Extremes,
    config: SolverConfig,
    progress: ProgressFn,
    incumbent: Incumbent | None = None,
    context: dict[str, float] | None = None,
) -> TypeLottery:
    """Minimise ``objective`` over lotteries of valid panels (see the module notes);
    ``context`` (Goldilocks' ``gamma``) joins the lottery's stats, best-effort ones too.

    Raises
    ------
    InfeasibleQuotasError
        No valid panel exists.
    SolverError
        A solver failed, the deadline passed or the gap did not close.
    """
    incumbent = incumbent if incumbent is not None else Incumbent()
    extra = dict(context or {})
    sizes = model.type_sizes
    label = objective.name.upper()
    progress("LP relaxation", 0, 1)
    maximin = relaxed_leximin(model, config, max_levels=1)
    first_level = float(np.nanmax(maximin.probabilities))
    if first_level > POSITIVE_TOLERANCE:
        fractional = np.ones(model.n_types, dtype=np.bool_)
    else:  # some types are in no fractional panel: find which (a first guess at the
        # counted types: the cover below finds those in no valid panel)
        fractional = relaxed_leximin(model, config).probabilities > POSITIVE_TOLERANCE
    tangents = (first_level,) if first_level > POSITIVE_TOLERANCE else ()
    relaxed = relaxed_extremes(model, objective.a, objective.b, fractional, config, tangents)
    attempt = decomposition(model, relaxed.probabilities, config, progress)
    pricing = PricingILP(model, config)
    cols, uncoverable = initial_columns(
        pricing, progress, known=attempt.panels if len(attempt.panels) else None
    )
    counted = ~uncoverable
    if not np.array_equal(counted, fractional):  # a type in fractional panels only
        relaxed = relaxed_extremes(model, objective.a, objective.b, counted, config, tangents)
    alpha_r, beta_r = relaxed.alpha * counted, relaxed.beta
    _, value = pricing.best((alpha_r - beta_r) / sizes)
    relaxed_bound = objective.lower_bound(float(alpha_r.sum()), value)
    stats_r = {"relaxation_bound": relaxed_bound, **extra}

    def offer(
        columns: list[npt.NDArray[np.int64]],
        p: npt.NDArray[np.float64],
        f: float,
        bound: float,
        weights: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] = (alpha_r, beta_r),
    ) -> None:
        """For --best-effort: this lottery, with its objective, its gap to the best
        certified bound so far and that bound's ``weights`` (so that a lottery stopped
        early says how far it may be from optimal, and the audit can check it)."""
        stats = dict(stats_r)
        if math.isfinite(f):  # (someone counted at 0: no objective to state)
            stats |= {"objective": f, "lower_bound": bound}
            stats[f"{objective.name}_gap"] = relative_gap(f, bound)
        incumbent.offer(snapshot(columns, p, sizes, stats, duals=weights))

    def value_of(pi: npt.NDArray[np.float64]) -> float:
        """The objective at per-type probabilities ``pi`` (the minimum over counted types)."""
        return objective.value(float(pi[counted].min()) if counted.any() else 1.0, float(pi.max()))

    def offer_lottery(columns: list[npt.NDArray[np.int64]], p: npt.NDArray[np.float64]) -> None:
        shares = p @ type_shares(np.array(columns, dtype=np.int64), sizes)
        offer(columns, p, value_of(shares), relaxed_bound)

    if len(attempt.panels):
        # the valid panels of the designs, equally likely, average close to the
        # relaxation's optimum (each design's panels are equally likely)
        offer_lottery(list(attempt.panels), np.full(len(attempt.panels), 1 / len(attempt.panels)))

    def certified(
        columns: npt.NDArray[np.int64],
        probabilities: npt.NDArray[np.float64],
        method: str,
        stats: dict[str, float],
        duals: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
        bound: float,
        **exact: object,
    ) -> TypeLottery | None:
        """The lottery if its objective is within the tolerance of ``bound``."""
        keep = probabilities > SUPPORT_FLOOR
        columns, probabilities = columns[keep], probabilities[keep] / probabilities[keep].sum()
        targets = probabilities @ type_shares(columns, sizes)
        f = value_of(targets)
        gap = relative_gap(f, bound)
        if gap > GOLDILOCKS_GAP_TOLERANCE:
            return None
        return TypeLottery(
            columns=columns,
            probabilities=probabilities,
            targets=targets,
            stats={
                **stats,
                "columns": len(columns),
                "pricing_calls": pricing.calls,
                f"{objective.name}_gap": float(max(gap, 0.0)),
                "objective": f,
                "lower_bound": bound,
            },
            method=method,
            duals=duals,
            **exact,  # type: ignore[arg-type]
        )

    if attempt.exact:
        done = certified(
            attempt.panels,
            attempt.probabilities,
            RELAXED_METHOD,
            {"rounds": 0, "exchanges": attempt.exchanges, "lp_solves": relaxed.solves, **stats_r},
            (alpha_r, beta_r),
            relaxed_bound,
            weights=attempt.weights,
            denominator=attempt.denominator,
        )
        if done is not None and len(done.columns) == len(attempt.panels):
            return done
    pool = list(cols.columns)  # the decomposition's valid panels, then the cover's
    neighbours = SwapNeighbours(model)
    if fits(model.n_types, len(pool)):
        search = ColumnSearch(pricing, neighbours, keep=0)
        progress(f"{label} · towards the relaxation's bound", 0, 1)
        pool, probs = reach_goal(
            model,
            config,
            search,
            pool,
            np.where(counted, relaxed.probabilities, 0.0),
            start_share=REST_START,
            max_rounds=REST_ROUNDS,
            neighbours=COLUMNS_PER_ROUND,
            starts=HEURISTIC_STARTS,
            keep=0,
        )
        if probs is not None:
            matrix = np.array(pool, dtype=np.int64)
            stats = {"rounds": 0, "lp_solves": relaxed.solves + search.lp_solves, **stats_r}
            done = certified(matrix, probs, RELAXED_METHOD, stats, (alpha_r, beta_r), relaxed_bound)
            if done is not None:
                return done
            offer_lottery(list(pool), probs)
    master = ExtremesMaster(sizes, counted, objective, config)
    for column in pool:
        master.add(column)
    master.add_tangent(relaxed.low)  # the relaxation's optimum: often near the lottery's
    for at in (*tangents, model.k / model.n):
        master.add_tangent(at)
    progress(label, 0, 1)
    rounds = 0
    gap = math.inf
    f = low_bound = relaxed_bound
    duals = (alpha_r, beta_r)
    interior = len(master.columns) > INTERIOR_COLUMNS
    while True:
        rounds += 1
        config.remaining()  # raises when the time limit has passed
        probs, low_var, s, alpha, beta = master.solve(interior)
        interior = False
        p = np.maximum(probs, 0.0)
        p = p / p.sum()
        matrix = np.array(master.columns, dtype=np.int64)
        f = value_of(p @ type_shares(matrix, sizes))
        columns_now = list(master.columns)
        offer(columns_now, p.copy(), f, low_bound, duals)
        weights = (np.where(counted, alpha, 0.0) - beta) / sizes
        counts, value = pricing.best(weights)
        bound = objective.lower_bound(float(alpha[counted].sum()), value)
        if bound > low_bound:
            low_bound, duals = bound, (np.where(counted, alpha, 0.0), beta)
            offer(columns_now, p.copy(), f, low_bound, duals)
        gap = relative_gap(f, low_bound)
        progress(f"{label} · gap {gap:.1e}", 0, 1)
        if gap <= GOLDILOCKS_GAP_TOLERANCE:
            break
        if rounds >= MAX_ROUNDS:
            raise SolverError(
                f"{objective.name} did not converge in {MAX_ROUNDS} rounds (gap {gap:.2e})",
                hint="try --algorithm leximin, or the other solver with --solver",
            )
        added = False
        best_in_master = float((matrix @ weights).max())
        threshold = best_in_master + PRICING_TOLERANCE
        if value > threshold:
            found = [counts, *neighbours.find(counts, weights, threshold, COLUMNS_PER_ROUND)]
            for r in np.argsort(-p)[:HEURISTIC_STARTS].tolist():
                found += neighbours.find(master.columns[r], weights, threshold, COLUMNS_PER_ROUND)
            added = any([master.add(c) for c in found])
        if objective.b > 0.0 and s * low_var < 1.0 - TANGENT_TOLERANCE:
            # s falls short of 1/l: a tangent at l cuts the point off; where l is (nearly)
            # 0 a tangent there is useless (or infinitely steep), and one at 1/(2s) cuts it
            # off as well (it asks s >= 4s - 4s^2 l there, so l >= 3/(4s))
            at = max(low_var, 0.5 / s) if s > 0.0 else max(low_var, model.k / model.n)
            added = master.add_tangent(at) or added
        if not added:
            raise SolverError(
                f"{objective.name} stalled at a gap of {gap:.2e} (no new panel or tangent "
                "improves the master: round-off)",
                hint="try the other solver with --solver",
            )
    progress(label, 1, 1)
    keep = p > SUPPORT_FLOOR
    columns = matrix[keep]
    probabilities = p[keep] / p[keep].sum()
    targets = probabilities @ type_shares(columns, sizes)
    return TypeLottery(
        columns=columns,
        probabilities=probabilities,
        targets=targets,
        stats={
            "rounds": rounds,
            "tangents": len(master.tangents),
            "columns": len(master.columns),
            "pricing_calls": pricing.calls,
            f"{objective.name}_gap": float(max(gap, 0.0)),
            "objective": f,
            "lower_bound": low_bound,
            "lp_solves": rounds + relaxed.solves,
            **stats_r,
        },
        method=GOLDILOCKS_METHOD,
        duals=duals,
    )


def goldilocks(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    *,
    gamma: float = DEFAULT_GAMMA,
    incumbent: Incumbent | None = None,
) -> TypeLottery:
    """Compute a Goldilocks lottery: minimise ``(n/k) max pi + gamma (k/n) / min pi``."""
    if not (math.isfinite(gamma) and gamma > 0):
        raise ValueError("gamma must be a positive number")
    objective = goldilocks_objective(model, gamma)
    return solve_extremes(model, objective, config, progress, incumbent, {"gamma": gamma})
