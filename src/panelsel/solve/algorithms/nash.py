r"""NASH: the lottery that maximises the product of selection probabilities.

Maximising :math:`\sum_i \log \pi_i` (the *Nash welfare*, equivalently the geometric mean of
the probabilities) trades a little of the worst-off's chance for large gains to many others,
where LEXIMIN gives nothing away at the bottom; Flanigan et al. (2021) discuss it beside
LEXIMIN.  People whom no valid panel contains have probability 0 under every lottery and are
left out of the sum.

Algorithm
---------
Over count vectors (types, :mod:`panelsel.inputs.model`) with ``s_t = |t|`` and
``pi_t = sum_r p_r c_rt / s_t`` the problem is

.. math::

    \max_{p \ge 0,\ \sum_r p_r = 1}\ f(p) = \sum_t s_t \log \pi_t ,

concave in ``p``.  Its gradient is ``g_r = sum_t c_rt / pi_t`` and ``sum_r p_r g_r = n``
(the number of people counted) for every ``p``, so by concavity

.. math::

    f^* - f(p) \le \max_r g_r - n ,

where the maximum runs over **all** valid panels: that is the pricing ILP of
:mod:`panelsel.solve.colgen` with weights ``1 / pi_t``.  Column generation therefore alternates

1. the restricted problem over the panels found so far, solved as
   ``max_{p >= 0} f(p) - n sum_r p_r`` (the same optimum, since ``f`` grows by ``n log a``
   when ``p`` is scaled by ``a``: no simplex constraint is needed) with L-BFGS-B, then
   polished by the multiplicative (EM) update ``p_r <- p_r g_r / n``, which never lowers
   ``f``;
2. pricing: first one-swap neighbours (:class:`~panelsel.solve.colgen.SwapNeighbours`) of the
   heaviest panels with ``g > n (1 + NASH_GAP_TOLERANCE)``; when there are none, the
   pricing ILP's panel of largest ``g`` and its neighbours join the restricted problem,
   unless ``max g - n <= NASH_GAP_TOLERANCE * n``, which certifies that ``f`` is within that
   much of the optimum (only the ILP ends the loop).

The starting panels are a cover of every type any valid panel contains
(:func:`~panelsel.solve.colgen.initial_columns`) and the valid panels of the LEXIMIN bound's
designs (:mod:`panelsel.solve.decompose`).  When the LP relaxation's LEXIMIN gives everyone
``k / n`` and is realised exactly, that lottery is returned: it is Nash-optimal, since the
probabilities always sum to ``k`` and, for a fixed sum, the product is largest when all are
equal.

References
----------
.. [1] B. Flanigan, P. Gölz, A. Gupta, B. Hennig, A. D. Procaccia, "Fair algorithms for
   selecting citizens' assemblies", Nature 596, 548-552 (2021), Supplementary Information:
   other fairness objectives (Nash welfare).
.. [2] T. M. Cover, "An algorithm for maximizing expected log investment return", IEEE
   Trans. Inform. Theory 30(2), 369-373 (1984) (the multiplicative update).

Notes
-----
``NASH_GAP_TOLERANCE`` bounds the optimality gap of ``f`` relative to ``n``: the geometric
mean of the probabilities is within a factor ``exp(NASH_GAP_TOLERANCE)`` of the optimum.
Individual probabilities converge more slowly than ``f`` (as the square root of the gap).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from panelsel.errors import SolverError
from panelsel.inputs.model import Model
from panelsel.lotteries import TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.algorithms.leximin import exact_lottery, relaxation_attempt
from panelsel.solve.backends import SolverConfig
from panelsel.solve.colgen import (
    COLUMNS_PER_ROUND,
    HEURISTIC_STARTS,
    ColumnSet,
    PricingILP,
    SwapNeighbours,
    initial_columns,
    snapshot,
    type_shares,
)
from panelsel.solve.protocol import Incumbent

if TYPE_CHECKING:  # scipy costs 0.1 s to import; only a Nash run needs it
    import scipy.sparse as sp

NASH_METHOD = "column generation, convex master"
UNIFORM_METHOD = "LP relaxation bound attained (everyone k/n)"
NASH_GAP_TOLERANCE = 1e-7
"""Stop when no valid panel has ``g > n (1 + this)``: ``f`` is then within ``this * n`` of
the optimum."""
UNIFORM_TOLERANCE = 1e-9
"""The LEXIMIN bound counts as everyone-gets-``k/n`` within this."""
EM_STEPS = 200
"""Multiplicative updates after each L-BFGS-B solve of the restricted problem."""
STALL_POLISHES = 5
"""When the pricing ILP's best panel is already in the pool, the restricted problem was not
solved closely enough: it is solved again with ``STALL_EM_STEPS`` multiplicative updates,
at most this many times, before the run is given up."""
STALL_EM_STEPS = 20_000
MAX_ROUNDS = 10_000
"""Pricing rounds before giving up (a safeguard; each round adds at least one panel)."""
DEADLINE_EVERY = 100
"""Multiplicative steps between two looks at the time limit."""
SUPPORT_FLOOR = 1e-15
"""Panel weights below this are treated as 0 when the lottery is returned."""


def _restricted(
    shares: sp.csr_matrix,
    sizes: npt.NDArray[np.float64],
    p0: npt.NDArray[np.float64],
    em_steps: int = 0,
    deadline: Callable[[], object] = lambda: None,
) -> npt.NDArray[np.float64]:
    """Maximise ``sum_t s_t log (shares.T p)_t`` over the simplex, from ``p0``.

    ``shares`` is sparse (a panel holds at most ``k`` types), so each step costs ``R k``.
    ``deadline`` is called after every L-BFGS-B iteration and every ``DEADLINE_EVERY``
    multiplicative steps, and may raise (a solver configuration's ``remaining``): on
    10,000 registrants one solve took longer than the time left.
    """
    from scipy.optimize import minimize  # imported here: it costs ~0.3 s at every start

    n = float(sizes.sum())
    transposed = shares.T.tocsr()

    def probabilities(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(transposed @ p, dtype=np.float64)

    def negative(p: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        pi = probabilities(p)
        if np.any(pi <= 0):
            return np.inf, np.full_like(p, -n)
        g = shares @ (sizes / pi)
        return float(-(sizes @ np.log(pi)) + n * p.sum()), n - g

    # L-BFGS-B may stop at points where a type's probability is near 0 only if started there;
    # p0 gives every counted type a positive probability, and the objective keeps it so
    result = minimize(
        negative,
        p0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * len(p0),
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-12},
        callback=lambda _: deadline(),
    )
    p = np.maximum(result.x, 0.0)
    if not np.isfinite(result.fun) or p.sum() <= 0 or np.any(probabilities(p) <= 0):
        p = p0  # the solver wandered off the domain: polish from the start instead
    p = p / p.sum()
    for step in range(em_steps or EM_STEPS):
        if step % DEADLINE_EVERY == 0:
            deadline()
        g = shares @ (sizes / probabilities(p))
        p = p * g / n
        p /= p.sum()
    return np.asarray(p, dtype=np.float64)


def nash(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    *,
    incumbent: Incumbent | None = None,
) -> TypeLottery:
    """Compute a Nash-welfare-maximising lottery of ``model``.

    Raises
    ------
    InfeasibleQuotasError
        No valid panel exists.
    SolverError
        A solver failed, the deadline passed or the gap did not close.
    """
    from scipy.sparse import csr_matrix

    incumbent = incumbent if incumbent is not None else Incumbent()
    k_over_n = model.k / model.n
    bound, attempt = relaxation_attempt(model, config, progress)
    if attempt.exact and np.allclose(bound.probabilities, k_over_n, rtol=0, atol=UNIFORM_TOLERANCE):
        return exact_lottery(bound, attempt, method=UNIFORM_METHOD, stats={"nash_gap": 0})
    pricing = PricingILP(model, config)
    neighbours = SwapNeighbours(model)
    # the designs' valid panels start the cover: only the types they miss cost pricing calls
    cols, uncoverable = initial_columns(pricing, progress, known=attempt.panels)
    pool = ColumnSet(model.n_types)
    for column in cols.columns:
        pool.add(column)
    counted = ~uncoverable
    sizes = model.type_sizes.astype(np.float64)
    n = float(sizes[counted].sum())
    p = np.full(len(pool), 1.0 / len(pool))
    gap = np.inf
    rounds = heuristic_rounds = stalls = 0
    em_steps = EM_STEPS
    progress("Nash welfare", 0, 1)
    while True:
        rounds += 1
        config.remaining()  # raises when the time limit has passed
        shares = csr_matrix(type_shares(pool.matrix(), model.type_sizes)[:, counted])
        p = _restricted(shares, sizes[counted], p, em_steps, config.remaining)
        em_steps = EM_STEPS
        incumbent.offer(snapshot(list(pool.columns), p.copy(), model.type_sizes))
        pi = np.asarray(shares.T @ p, dtype=np.float64)
        weights = np.zeros(model.n_types)
        weights[counted] = 1.0 / pi
        threshold = n * (1.0 + NASH_GAP_TOLERANCE)
        before = len(pool)
        # cheap pricing first: one-swap neighbours of the heaviest panels; only the ILP
        # measures the gap, so it alone ends the loop
        for r in np.argsort(-p)[:HEURISTIC_STARTS].tolist():
            for column in neighbours.find(pool.columns[r], weights, threshold, COLUMNS_PER_ROUND):
                pool.add(column)
        if len(pool) > before:
            heuristic_rounds += 1
        else:
            counts, value = pricing.best(weights)
            gap = (value - n) / n
            if gap <= NASH_GAP_TOLERANCE:
                break
            for column in [counts, *neighbours.find(counts, weights, threshold, COLUMNS_PER_ROUND)]:
                pool.add(column)
            if len(pool) == before:  # the best panel is already in: polish, then give up
                stalls += 1
                if stalls > STALL_POLISHES:
                    raise SolverError(
                        f"the Nash welfare stalled at a gap of {gap:.2e}",
                        hint="try the other solver with --solver",
                    )
                em_steps = STALL_EM_STEPS
        if rounds >= MAX_ROUNDS:
            raise SolverError(
                f"the Nash welfare did not converge in {MAX_ROUNDS} rounds (gap {gap:.2e})",
                hint="try --algorithm leximin, or the other solver with --solver",
            )
        p = np.r_[p, np.full(len(pool) - before, 1e-3 / len(pool))]
        p /= p.sum()
    progress("Nash welfare", 1, 1)
    keep = p > SUPPORT_FLOOR
    matrix = pool.matrix()[keep]
    probs = p[keep] / p[keep].sum()
    targets = probs @ type_shares(matrix, model.type_sizes)
    return TypeLottery(
        columns=matrix,
        probabilities=probs,
        targets=targets,
        stats={
            "rounds": rounds,
            "columns": len(pool),
            "pricing_calls": pricing.calls,
            "heuristic_rounds": heuristic_rounds,
            "nash_gap": float(max(gap, 0.0)),
            "lp_solves": bound.levels,
        },
        method=NASH_METHOD,
    )
