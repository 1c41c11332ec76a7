r"""LEXIMIN: the lottery that maximises the smallest selection probability, then the next, ...

Algorithm
---------
Column generation as in Flanigan et al. (2021), over count vectors of interchangeable types
(:mod:`panelsel.model`).  At each level the restricted master LP

.. math::

    \max z \quad\text{s.t.}\quad \sum_r p_r = 1,\quad
    \sum_r \frac{c_{rt}}{|t|} p_r \ge z \ (t \notin F),\quad
    \sum_r \frac{c_{rt}}{|t|} p_r \ge \pi_t \ (t \in F),\quad p \ge 0

is solved over the panels ``r`` found so far, where ``F`` is the set of types whose
probability :math:`\pi_t` is already fixed.  Its row duals are the ``yhat`` (first row) and
``y_t`` of the dual LP in the paper.  Pricing looks for a valid panel with
``sum_t c_t y_t/|t| > yhat``: first among one-swap neighbours of the heaviest panels of the
current solution (cheap), then by the pricing ILP, which alone may declare the level optimal.
When no such panel exists, ``z`` is the largest probability all unfixed types can get
together, and every unfixed type with positive dual weight is fixed at ``z``
(complementary slackness: such types have probability exactly ``z`` in every optimal
solution).  At least one type is fixed per level, so the loop ends; the master's last
solution is the lottery.  Types that no valid panel contains are fixed at 0 first.

The LP-relaxation shortcut
--------------------------
Before any column generation, the LEXIMIN of the LP relaxation of the quotas is computed
(:mod:`panelsel.relaxation`): it is lexicographically at least the LEXIMIN of any lottery,
so a lottery that attains it is optimal.  Then:

1. :mod:`panelsel.decompose` tries to realise it exactly with a systematic design repaired
   by weight-neutral seat exchanges (no LP at all; method ``RELAXATION_METHOD``).  On pools
   whose quotas are loose enough that everyone gets ``k/n`` this is the whole computation.
2. Otherwise the valid panels of quantised designs seed the master above with the bound as
   a fixed aim (rows ``sum_r c_rt/|t| p_r >= z * bound_t``), solved first by the
   interior-point method when it has many columns, and column generation adds panels until
   ``z >= 1 - ATTAIN_TOLERANCE`` (``RELAXATION_CG_METHOD``).
3. If the pricing ILP proves that ``z`` cannot reach 1, the bound is not attainable (the
   relaxation has a gap) and the level-by-level algorithm above runs on the same master,
   keeping its columns (``COLUMN_GENERATION_METHOD``).

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
    COLUMNS_PER_ROUND,
    FIX_SLACK,
    HEURISTIC_STARTS,
    PRICING_TOLERANCE,
    PricingILP,
    ProgressFn,
    SwapNeighbours,
    initial_columns,
    type_shares,
    types_to_fix,
)
from panelsel.decompose import decompose
from panelsel.model import Model
from panelsel.relaxation import relaxed_leximin
from panelsel.solvers import INFINITY, SolverConfig

RELAXATION_METHOD = "LP relaxation bound attained"
RELAXATION_CG_METHOD = "LP relaxation bound attained by column generation"
INTERIOR_COLUMNS = 500
"""With more starting columns than this, the first solve towards the bound uses the
interior-point method (HiGHS): the LP is dense, and simplex needs thousands of pivots."""
ATTAIN_TOLERANCE = 1e-7
"""The bound counts as attained when the master gives every type at least ``1 - this``
times its bound (so probabilities are within ``1e-7`` of it)."""
COLUMN_GENERATION_METHOD = "column generation"
DECOMPOSITION_SEED = 0
"""The decomposition's random category orders come from a generator with this seed, so the
lottery depends on the inputs only (the draw has its own, recorded seed)."""

PRUNE_KEEP_PER_TYPE = 2
PRUNE_KEEP_BASE = 100
"""When the master holds more than twice ``PRUNE_KEEP_PER_TYPE * types + PRUNE_KEEP_BASE``
columns, unused ones are dropped down to that number (a basis needs at most types + 1),
at most once per strict rise of the level's value (no cycling)."""


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
    method : str
        How optimality was reached: ``RELAXATION_METHOD`` (the LP relaxation's bound attained
        exactly) or ``COLUMN_GENERATION_METHOD``.
    weights, denominator : ndarray of int and int, or None
        For an exact lottery, ``probabilities == weights / denominator`` in integers.
    """

    columns: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    targets: npt.NDArray[np.float64]
    stats: dict[str, int] = field(default_factory=dict)
    method: str = COLUMN_GENERATION_METHOD
    weights: npt.NDArray[np.int64] | None = None
    denominator: int | None = None


class _RestrictedMaster:
    """The level's LP over the columns found so far, kept alive across levels.

    Primal form: variable 0 is ``z``, variable ``1 + r`` the probability of column ``r``.
    Row 0 is ``sum_r p_r = 1``; row ``1 + t`` is ``sum_r c_rt/|t| p_r - z >= 0`` while type
    ``t`` is unfixed and ``sum_r c_rt/|t| p_r >= pi_t - FIX_SLACK`` once fixed.  The duals of
    these rows are the ``yhat`` and ``y_t`` of the dual LP in the module notes.  Columns join
    as new variables, so with HiGHS every solve starts from the previous basis; a basis has
    one entry per type, not per column.
    """

    def __init__(self, sizes: npt.NDArray[np.intp], config: SolverConfig) -> None:
        self.sizes = sizes
        n_types = len(sizes)
        self.lp = config.backend(maximize=True, name="LEXIMIN master LP", primal_simplex=True)
        self.lp.add_vars([-INFINITY], [INFINITY], [1.0])
        self.lp.add_row(1.0, 1.0, np.zeros(0, dtype=np.intp), np.zeros(0))
        for _ in range(n_types):
            self.lp.add_row(0.0, INFINITY, [0], [-1.0])
        self.columns: list[npt.NDArray[np.int64]] = []
        self._active: set[bytes] = set()
        self.pruned = 0

    def add(self, counts: npt.NDArray[np.int64]) -> bool:
        """Add a column unless it is already in the master; say whether it was added."""
        key = counts.tobytes()
        if key in self._active:
            return False
        self._active.add(key)
        self.columns.append(counts)
        share_row = type_shares(counts[None, :], self.sizes)[0]
        nz = np.flatnonzero(share_row)
        self.lp.add_column(0.0, INFINITY, 0.0, np.r_[0, nz + 1], np.r_[1.0, share_row[nz]])
        return True

    def prune(
        self, probs: npt.NDArray[np.float64], y: npt.NDArray[np.float64], yhat: float, keep: int
    ) -> npt.NDArray[np.float64]:
        """Drop unused columns of most negative reduced cost until ``keep`` remain.

        Only columns with probability 0 in the current solution go, so the solution stays
        optimal; a dropped column that becomes useful again is found again by pricing.
        Returns ``probs`` for the remaining columns.
        """
        excess = len(self.columns) - keep
        if excess <= 0:
            return probs
        reduced = type_shares(np.array(self.columns), self.sizes) @ y - yhat
        unused = np.flatnonzero(probs <= 0.0)
        drop = unused[np.argsort(reduced[unused])[:excess]]
        if len(drop) == 0:
            return probs
        self.lp.delete_vars(drop + 1)
        mask = np.ones(len(self.columns), dtype=bool)
        mask[drop] = False
        self.columns = [c for c, k in zip(self.columns, mask, strict=True) if k]
        self._active = {c.tobytes() for c in self.columns}
        self.pruned += len(drop)
        return probs[mask]

    def aim(self, targets: npt.NDArray[np.float64]) -> None:
        """Make the master ``max z`` with ``sum_r c_rt/|t| p_r >= z * targets[t]`` for every
        type (all ones: the plain first level)."""
        for t, target in enumerate(targets.tolist()):
            self.lp.set_coeff(t + 1, 0, -target)
            self.lp.set_row_bounds(t + 1, 0.0, INFINITY)

    def fix(self, types: npt.NDArray[np.intp], value: float) -> None:
        for t in types:
            self.lp.set_coeff(int(t) + 1, 0, 0.0)
            self.lp.set_row_bounds(int(t) + 1, value - FIX_SLACK, INFINITY)

    def solve(
        self, interior: bool = False
    ) -> tuple[npt.NDArray[np.float64], float, float, npt.NDArray[np.float64]]:
        """Duals ``y`` (per type), ``yhat``, the optimum ``z`` and the column probabilities
        (``interior``: by the interior-point method, for a first solve of many columns)."""
        x, z = self.lp.solve_interior() if interior else self.lp.solve()
        duals = self.lp.row_duals
        return np.maximum(-duals[1:], 0.0), float(duals[0]), z, x[1:]


def leximin(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    *,
    use_relaxation: bool = True,
) -> TypeLottery:
    """Compute the LEXIMIN lottery of ``model``.

    Parameters
    ----------
    model
        The validated pool and quotas.
    config
        Solver choice and deadline.
    progress
        Called as ``progress(stage, done, total)``.
    use_relaxation
        First compute the LEXIMIN of the LP relaxation and try to realise it exactly
        (:mod:`panelsel.relaxation`, :mod:`panelsel.decompose`); fall back to column
        generation, seeded with the valid panels found, when that fails.  ``False`` goes
        straight to column generation (tests use it to cross-check the two paths).

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
    T = model.n_types
    pricing = PricingILP(model, config)
    search = _Search(pricing, SwapNeighbours(model), PRUNE_KEEP_PER_TYPE * T + PRUNE_KEEP_BASE)
    master = _RestrictedMaster(sizes, config)
    relaxation_levels = exchanges = 0
    if use_relaxation:
        progress("LP relaxation", 0, 1)
        bound = relaxed_leximin(model, config)
        progress("exact decomposition", 0, 1)
        attempt = decompose(
            model,
            bound.probabilities,
            np.random.default_rng(DECOMPOSITION_SEED),
            deadline=config.remaining,
        )
        relaxation_levels, exchanges = bound.levels, attempt.exchanges
        if attempt.exact:
            return TypeLottery(
                columns=attempt.panels,
                probabilities=attempt.probabilities,
                targets=bound.probabilities,
                stats={
                    "levels": bound.levels,
                    "columns": len(attempt.panels),
                    "exchanges": attempt.exchanges,
                    "lp_solves": bound.levels,
                    "pricing_calls": 0,
                },
                method=RELAXATION_METHOD,
                weights=attempt.weights,
                denominator=attempt.denominator,
            )
        # reach the bound with an LP over the designs' valid panels, adding columns as needed
        progress("reaching the LP bound", 0, 1)
        for column in attempt.panels:
            master.add(column)
        if not master.columns:
            master.add(pricing.best(np.zeros(T))[0])
        master.aim(bound.probabilities)
        _, _, z, probs = search.run(
            master, stop_at=1.0 - ATTAIN_TOLERANCE, interior=len(master.columns) > INTERIOR_COLUMNS
        )
        if z >= 1.0 - ATTAIN_TOLERANCE:
            return _lottery(
                master,
                probs,
                bound.probabilities,
                {
                    "levels": bound.levels,
                    "exchanges": exchanges,
                    "lp_solves": bound.levels + search.lp_solves,
                    **search.stats(master),
                },
                RELAXATION_CG_METHOD,
            )
        master.aim(np.ones(T))  # the bound is out of reach: plain levels, same columns
    cols, uncoverable = initial_columns(pricing, progress)
    for column in cols.columns:
        master.add(column)
    fixed = np.full(T, np.nan)
    if uncoverable.any():
        fixed[uncoverable] = 0.0
        master.fix(np.flatnonzero(uncoverable), 0.0)
    probs = np.zeros(0)
    levels = 0
    while np.isnan(fixed).any():
        levels += 1
        progress("LEXIMIN levels", int((~np.isnan(fixed)).sum()), T)
        unfixed = np.isnan(fixed)
        y, _, z, probs = search.run(master)
        to_fix = types_to_fix(y, unfixed)
        value_fixed = min(1.0, max(0.0, z))
        fixed[to_fix] = value_fixed
        master.fix(np.flatnonzero(to_fix), value_fixed)
    progress("LEXIMIN levels", T, T)
    if len(probs) == 0:  # everyone was fixed before any level: no valid panel contains them
        probs = np.zeros(len(master.columns))
        probs[0] = 1.0
    return _lottery(
        master,
        probs,
        fixed,
        {
            "levels": levels,
            "lp_solves": search.lp_solves + relaxation_levels,
            "exchanges": exchanges,
            **search.stats(master),
        },
        COLUMN_GENERATION_METHOD,
    )


def _lottery(
    master: _RestrictedMaster,
    probs: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64],
    stats: dict[str, int],
    method: str,
) -> TypeLottery:
    probs = np.maximum(probs, 0.0)
    probs = probs / probs.sum()
    matrix = np.array(master.columns, dtype=np.int64).reshape(len(master.columns), -1)
    return TypeLottery(
        columns=matrix, probabilities=probs, targets=targets, stats=stats, method=method
    )


class _Search:
    """Column generation on a restricted master: cheap neighbour columns first, the pricing
    ILP when they run out (it alone proves that no column can raise ``z``)."""

    def __init__(self, pricing: PricingILP, neighbours: SwapNeighbours, keep: int) -> None:
        self.pricing = pricing
        self.neighbours = neighbours
        self.keep = keep
        self.lp_solves = self.heuristic_rounds = self.found = 0

    def stats(self, master: _RestrictedMaster) -> dict[str, int]:
        return {
            "columns": len(master.columns) + master.pruned,
            "columns_pruned": master.pruned,
            "pricing_calls": self.pricing.calls,
            "heuristic_rounds": self.heuristic_rounds,
        }

    def run(
        self, master: _RestrictedMaster, stop_at: float = np.inf, interior: bool = False
    ) -> tuple[npt.NDArray[np.float64], float, float, npt.NDArray[np.float64]]:
        """Add columns until none can raise the master's ``z`` or ``z >= stop_at``; return
        the last solution's ``y``, ``yhat``, ``z`` and column probabilities (``interior``:
        the first solve by the interior-point method)."""
        sizes = master.sizes
        # prune only after the value rose since the last prune: finitely many prunes per
        # call, so dropped columns cannot cycle back forever
        pruned_at = -np.inf
        while True:
            y, yhat, z, probs = master.solve(interior)
            interior = False
            self.lp_solves += 1
            if z >= stop_at:
                return y, yhat, z, probs
            if len(master.columns) > 2 * self.keep and z > pruned_at + PRICING_TOLERANCE:
                probs = master.prune(probs, y, yhat, self.keep)
                pruned_at = z
            weights = y / sizes
            threshold = yhat + PRICING_TOLERANCE
            # cheap pricing first: one-swap neighbours of the lottery's heaviest panels
            found = []
            for r in np.argsort(-probs)[:HEURISTIC_STARTS]:
                found += self.neighbours.find(
                    master.columns[r], weights, threshold, COLUMNS_PER_ROUND
                )
            if found:
                self.heuristic_rounds += 1
            else:  # exact pricing decides optimality
                counts, value = self.pricing.best(weights)
                if value <= threshold:
                    return y, yhat, z, probs
                found = [
                    counts,
                    *self.neighbours.find(counts, weights, threshold, COLUMNS_PER_ROUND),
                ]
            added = sum(master.add(column) for column in found)
            self.found += added
            if not added:  # nothing new although violated: numerical trouble, stop here
                return y, yhat, z, probs
