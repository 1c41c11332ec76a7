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

import numpy as np

from panelsel.colgen import (
    PRUNE_KEEP_BASE,
    PRUNE_KEEP_PER_TYPE,
    ColumnSearch,
    PricingILP,
    ProgressFn,
    RestrictedMaster,
    SwapNeighbours,
    TypeLottery,
    initial_columns,
    master_lottery,
    types_to_fix,
)
from panelsel.decompose import MAX_QUANTISED_DESIGNS, Decomposition, decompose
from panelsel.model import Model
from panelsel.relaxation import Relaxation, relaxed_leximin
from panelsel.solvers import SolverConfig

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
    search = ColumnSearch(pricing, SwapNeighbours(model), PRUNE_KEEP_PER_TYPE * T + PRUNE_KEEP_BASE)
    master = RestrictedMaster(sizes, config)
    relaxation_levels = exchanges = 0
    if use_relaxation:
        bound, attempt = relaxation_attempt(model, config, progress)
        relaxation_levels, exchanges = bound.levels, attempt.exchanges
        if attempt.exact:
            return exact_lottery(bound, attempt)
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
            return master_lottery(
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
    return master_lottery(
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


def relaxation_attempt(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    max_designs: int = MAX_QUANTISED_DESIGNS,
) -> tuple[Relaxation, Decomposition]:
    """The LP relaxation's LEXIMIN and an attempt to realise it exactly (steps 1 and 2);
    ``max_designs`` caps the quantised designs tried when it is not exact."""
    progress("LP relaxation", 0, 1)
    bound = relaxed_leximin(model, config)
    progress("exact decomposition", 0, 1)
    attempt = decompose(
        model,
        bound.probabilities,
        np.random.default_rng(DECOMPOSITION_SEED),
        deadline=config.remaining,
        max_designs=max_designs,
    )
    return bound, attempt


def exact_lottery(bound: Relaxation, attempt: Decomposition) -> TypeLottery:
    """The lottery of an exact decomposition of the bound (``RELAXATION_METHOD``)."""
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
