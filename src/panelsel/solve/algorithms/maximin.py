"""MAXIMIN: the lottery that maximises the smallest selection probability, and nothing more.

Algorithm
---------
When the LP relaxation's LEXIMIN (:mod:`panelsel.solve.relaxation`) has a single level, every
MAXIMIN lottery gives everyone that level (the probabilities sum to k), and the exact
decomposition of :mod:`panelsel.solve.decompose` is returned as in LEXIMIN.  Otherwise this is
the first level of :mod:`panelsel.solve.algorithms.leximin` on the same column-generation core
(:mod:`panelsel.solve.colgen`), with the decomposition's valid panels among the starting columns:
types that no valid panel contains are fixed at 0, then the restricted master ``max z``
subject to every other type's probability being at least ``z`` is solved with pricing
until no panel can raise ``z``, or (when nobody is fixed at 0) until ``z`` reaches the
relaxation's MAXIMIN value, an upper bound.  The lottery is the master's optimal basic
solution at that point: it gives the worst-off the best possible chance and makes no
promise to anybody else, which is what Flanigan et al. (2021) compare LEXIMIN against.

References
----------
.. [1] B. Flanigan, P. Gölz, A. Gupta, B. Hennig, A. D. Procaccia, "Fair algorithms for
   selecting citizens' assemblies", Nature 596, 548-552 (2021).

Notes
-----
Tolerances are those of :mod:`panelsel.solve.colgen`; the bound counts as reached within
``BOUND_TOLERANCE``.
"""

from __future__ import annotations

import numpy as np

from panelsel.inputs.model import Model
from panelsel.lotteries import TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.algorithms.leximin import exact_lottery, relaxation_attempt
from panelsel.solve.backends import SolverConfig
from panelsel.solve.colgen import (
    PRUNE_KEEP_BASE,
    PRUNE_KEEP_PER_TYPE,
    ColumnSearch,
    PricingILP,
    RestrictedMaster,
    SwapNeighbours,
    initial_columns,
    master_lottery,
)
from panelsel.solve.protocol import Incumbent

MAXIMIN_METHOD = "column generation, one level"
BOUND_TOLERANCE = 1e-9
"""The level stops once ``z`` is within this of the relaxation's MAXIMIN value."""


def maximin(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    *,
    incumbent: Incumbent | None = None,
) -> TypeLottery:
    """Compute a MAXIMIN lottery of ``model``.

    Raises
    ------
    InfeasibleQuotasError
        No valid panel exists.
    SolverError
        A solver failed or the deadline passed.
    """
    T = model.n_types
    bound, attempt = relaxation_attempt(model, config, progress)
    first_level = float(bound.probabilities.min())
    if attempt.exact and bound.levels == 1:
        # one level: everyone gets the bound's MAXIMIN value, so every MAXIMIN lottery has
        # these probabilities (they sum to k) and this one is exact
        return exact_lottery(bound, attempt)
    pricing = PricingILP(model, config)
    keep = PRUNE_KEEP_PER_TYPE * T + PRUNE_KEEP_BASE
    search = ColumnSearch(pricing, SwapNeighbours(model), keep, incumbent)
    master = RestrictedMaster(model.type_sizes, config)
    # the designs' valid panels start the cover: only the types they miss cost pricing calls
    cols, uncoverable = initial_columns(pricing, progress, known=attempt.panels)
    for column in cols.columns:
        master.add(column)
    if uncoverable.any():
        master.fix(np.flatnonzero(uncoverable), 0.0)
    progress("MAXIMIN", 0, 1)
    if uncoverable.all():  # nobody can be selected beyond those forced: any panel will do
        probs = np.zeros(len(master.columns))
        probs[0] = 1.0
    else:
        # the relaxation bounds the minimum over everyone; with people fixed at 0 the level
        # is over the others only, which it does not bound
        stop_at = first_level - BOUND_TOLERANCE if not uncoverable.any() else np.inf
        probs = search.run(master, stop_at=stop_at).probs
    progress("MAXIMIN", 1, 1)
    # the targets are the lottery's own probabilities (one level fixes nobody)
    return master_lottery(
        master,
        probs,
        None,
        {"levels": 1, "lp_solves": search.lp_solves + bound.levels, **search.stats(master)},
        MAXIMIN_METHOD,
    )
