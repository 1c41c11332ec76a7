r"""LEXIMIN: the lottery that maximises the smallest selection probability, then the next, ...

Algorithm
---------
Column generation as in Flanigan et al. (2021), over count vectors of interchangeable types
(:mod:`panelsel.inputs.model`).  At each level the restricted master LP

.. math::

    \max z \quad\text{s.t.}\quad \sum_r p_r = 1,\quad
    \sum_r \frac{c_{rt}}{|t|} p_r \ge z \ (t \notin F),\quad
    \sum_r \frac{c_{rt}}{|t|} p_r \ge \pi_t \ (t \in F),\quad p \ge 0

is solved over the panels ``r`` found so far, where ``F`` is the set of types whose
probability :math:`\pi_t` is already fixed.  Its row duals are the ``yhat`` (first row) and
``y_t`` of the dual LP in the paper.  Pricing looks for a valid panel with
``sum_t c_t y_t/|t| > yhat``: every round solves the pricing ILP, whose panel enters with
its one-swap neighbours and those of the lottery's heaviest panels
(:class:`panelsel.solve.colgen.ColumnSearch`).  When no such panel exists, ``z`` is the largest
probability all unfixed types can get together, and every unfixed type with positive dual
weight is fixed at ``z`` (complementary slackness: such types have probability exactly
``z`` in every optimal solution).  At least one type is fixed per level, so the loop ends;
the master's last solution is the lottery.  Types that no valid panel contains are fixed
at 0 first.

The LP relaxation: a shortcut and a bound per level
---------------------------------------------------
Before any column generation, the LEXIMIN of the LP relaxation of the quotas is computed
(:mod:`panelsel.solve.relaxation`).  :mod:`panelsel.solve.decompose` tries to realise it
exactly with a systematic design repaired by weight-neutral seat exchanges (no LP at all; method
``RELAXATION_METHOD``).  On pools whose quotas are loose enough this is the whole
computation.

Otherwise the designs' valid panels seed the master above, and the relaxation stays in use
as an upper bound *per level*: before level ``l`` its level LP is solved with the types the
lottery has fixed so far held at the lottery's values (:class:`RelaxedLevels`).  Every
lottery's expected counts lie in the relaxation's polytope, so its value ``u_l`` bounds the
lottery's level.  If the master reaches ``u_l`` (within ``LEVEL_BOUND_TOLERANCE``), the
level is proven without the pricing ILP's proof; every optimal lottery of the level is
then optimal for the relaxation's level LP too, so the types with a positive dual *there*
are at ``u_l`` in all of them and are fixed.  From the second level on, the columns that reach
``u_l`` are first looked for with a covering LP (:func:`reach_goal`); a lottery it finds
proves the level by itself, and only the last level's is re-solved by the master.  Where
the relaxation has a gap the level runs until the pricing ILP proves it.  Each round's
pricing value also gives the Lagrangian bound of
:meth:`panelsel.solve.colgen.RestrictedMaster.lagrangian_bound`; the smaller of the two
bounds is the level's certified gap, shown in the progress bar and recorded in a
``--best-effort`` lottery, which keeps every level proven so far (they are rows of the
master) and so is never less fair at the bottom than what is already proven.

References
----------
.. [1] B. Flanigan, P. Gölz, A. Gupta, B. Hennig, A. D. Procaccia, "Fair algorithms for
   selecting citizens' assemblies", Nature 596, 548-552 (2021), Methods: "Algorithm".

Notes
-----
Tolerances are those of :mod:`panelsel.solve.colgen`.  The probabilities reported to users are the
marginals of the final lottery, not the ``pi_t`` above; they differ from the exact LEXIMIN
optimum by at most the LP tolerances (tests check 1e-6 against brute force).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from panelsel.errors import SolverError, TimeLimitError
from panelsel.inputs.model import Model
from panelsel.lotteries import LevelProof, TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.backends import SolverConfig
from panelsel.solve.colgen import (
    COLUMNS_PER_ROUND,
    HEURISTIC_STARTS,
    PRICING_TOLERANCE,
    PRUNE_KEEP_BASE,
    PRUNE_KEEP_PER_TYPE,
    ColumnSearch,
    PricingILP,
    RestrictedMaster,
    SwapNeighbours,
    initial_columns,
    master_lottery,
    snapshot,
    types_to_fix,
)
from panelsel.solve.decompose import MAX_QUANTISED_DESIGNS, Decomposition, decompose
from panelsel.solve.interior import cover, fits
from panelsel.solve.protocol import Incumbent
from panelsel.solve.relaxation import Relaxation, RelaxedLevels, relaxed_leximin

RELAXATION_METHOD = "LP relaxation bound attained"
COLUMN_GENERATION_METHOD = "column generation"
INTERIOR_COLUMNS = 500
"""With more starting columns than this, or more new columns since its last solve, the
master's next solve uses the interior-point method with crossover (HiGHS): the LP is dense,
and simplex needs thousands of pivots."""
ATTAIN_TOLERANCE = 1e-7
"""The relaxation's LEXIMIN of the remaining types counts as attained when every one of them
gets at least ``1 - this`` times its bound."""
REST_START = 0.99
"""Reaching the relaxation's bound of all remaining types at once (:func:`reach_rest`) is
tried only if the starting columns already give every type this share of its bound."""
REST_ROUNDS = 5
"""Pricing rounds allowed for it before falling back to level-by-level column generation
(on pools with a gap it cannot succeed, and each round costs a full master solve)."""
DENSE_LEVEL_ROUNDS = 100
"""From the second level on, each level first looks for columns that reach the relaxation's
bound for it through the covering LP (:func:`reach_goal`), for at most this many pricing
rounds.  Where the covering LP's lottery reaches the bound, that lottery proves the level
and the master is not solved (``stats["levels_without_master"]``), except on the last level,
where the master's basic solution becomes the published lottery.  On a level with a gap the
bound is out of reach and the master's own column generation does the rest.
``stats["levels_covered"]`` counts the levels where the covering LP reached the bound."""
DENSE_NEIGHBOURS = 20
DENSE_STARTS = 30
"""Columns per round there: the pricing panel and this many one-swap neighbours of it and of
each of this many heaviest panels (an interior-point solve costs little more with more
columns, so rounds add many; on hard_1727's third level 20 x 30 needed 70 s where the
master's simplex needed 405 s)."""
DENSE_KEEP = 4
"""The covering LP's pool is cut to its ``DENSE_KEEP / 2 * types`` heaviest columns when it
holds more than ``DENSE_KEEP * types``."""
STALL_ROUNDS = 5
STALL_RATIO = 0.75
"""The covering LP of a level gives up when its shortfall (total - 1) is still above this
share of the smallest it was this many rounds before: on a level with a gap it never
reaches 0, and on hard_1727's sixth level it fell by 3% a round from round 20 on (100
rounds, 450 s), where levels without a gap fall 15-40% a round."""
LEVEL_BOUND_TOLERANCE = 1e-9
"""A level is proven once its value is within this of the relaxation's bound for it."""
DECOMPOSITION_SEED = 0
"""The decomposition's random category orders come from a generator with this seed, so the
lottery depends on the inputs only (the draw has its own, recorded seed)."""


def leximin(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    *,
    incumbent: Incumbent | None = None,
    use_relaxation: bool = True,
    prune_keep: int | None = None,
) -> TypeLottery:
    """Compute the LEXIMIN lottery of ``model``.

    Parameters
    ----------
    model
        The validated pool and quotas.
    config
        Solver choice and deadline.
    progress
        Called as ``progress(stage, done, total)``; ``stage`` names the level, how many types
        are fixed and the level's certified gap.
    use_relaxation
        First compute the LEXIMIN of the LP relaxation and try to realise it exactly
        (:mod:`panelsel.solve.relaxation`, :mod:`panelsel.solve.decompose`); fall back to column
        generation, seeded with the valid panels found, when that fails.  ``False`` goes
        straight to column generation (tests use it to cross-check the two paths).
    incumbent
        Offered each master solution, for ``--best-effort``.
    prune_keep
        Columns the master keeps when it prunes (default
        ``PRUNE_KEEP_PER_TYPE * types + PRUNE_KEEP_BASE``; tests make it tiny).

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
    keep = prune_keep if prune_keep is not None else PRUNE_KEEP_PER_TYPE * T + PRUNE_KEEP_BASE
    search = ColumnSearch(pricing, SwapNeighbours(model), keep, incumbent)
    master = RestrictedMaster(sizes, config)
    relaxation_levels = exchanges = 0
    known = None
    if use_relaxation:
        bound, attempt = relaxation_attempt(model, config, progress)
        relaxation_levels, exchanges = bound.levels, attempt.exchanges
        if attempt.exact:
            return exact_lottery(bound, attempt, levels=bound.proofs)
        if len(attempt.panels):
            known = np.array(attempt.panels, dtype=np.int64)
    cols, uncoverable = initial_columns(pricing, progress, known=known)
    for column in cols.columns:
        master.add(column)
    caps = RelaxedLevels(model, config)
    fixed = np.full(T, np.nan)
    proofs: list[LevelProof] = []
    if uncoverable.any():
        fixed[uncoverable] = 0.0
        master.fix(np.flatnonzero(uncoverable), 0.0)
        caps.fix(np.flatnonzero(uncoverable), 0.0)
        # weight 1 on each of their people: no valid panel has any, so the bound is 0
        none = np.where(uncoverable, sizes, 0).astype(np.float64)
        proofs.append(LevelProof(0.0, np.flatnonzero(uncoverable), none, 0.0))
    probs = np.zeros(0)
    levels = by_bound = reached_rest = by_cover = cover_only = 0
    interior = len(master.columns) > INTERIOR_COLUMNS
    while np.isnan(fixed).any():
        levels += 1
        unfixed = np.isnan(fixed)
        done = int((~unfixed).sum())
        cap, cap_duals = caps.level()
        search.context = proven_context(fixed, sizes, levels - 1)
        search.proven = list(proofs)
        progress(f"LEXIMIN · level {levels}, types fixed", done, T)

        def on_round(z: float, upper: float, level: int = levels, done: int = done) -> None:
            gap = max(0.0, upper - z)
            progress(f"LEXIMIN · level {level}, gap {gap:.1e}, types fixed", done, T)

        if levels > 1 and 0 < len(probs) <= len(master.columns):
            # the last level's lottery again, now that its level is proven: a time limit
            # during the covering LP below then keeps it with every proven level counted
            # (columns added since have probability 0)
            probs = np.r_[probs, np.zeros(len(master.columns) - len(probs))]
            share = np.maximum(probs, 0.0) / np.maximum(probs, 0.0).sum()
            used = np.flatnonzero(share)
            reached_now = sum(share[r] * master.columns[r] for r in used.tolist()) / sizes
            search.incumbent.offer(
                snapshot(
                    list(master.columns),
                    probs.copy(),
                    sizes,
                    {
                        **search.context,
                        "level_value": float(np.asarray(reached_now)[unfixed].min()),
                        "level_upper_bound": cap,
                    },
                    master.floors.copy(),
                    levels=search.levels_with(
                        float(np.asarray(reached_now)[unfixed].min()), cap, cap_duals
                    ),
                )
            )
        if levels > 1 and fits(T, len(master.columns)):
            # columns first, from the covering LP of the bound's goal: the fixed types at
            # their values, the others at the bound; the master then proves the level
            goal = np.where(unfixed, cap, fixed)

            def on_total(total: float, level: int = levels, done: int = done) -> None:
                short = max(0.0, 1.0 - 1.0 / total)
                progress(
                    f"LEXIMIN · level {level}, {short:.1e} to bound, types fixed",
                    done,
                    T,
                )

            pool, reached = reach_goal(
                model, config, search, master.columns, goal, on_round=on_total
            )
            by_cover += reached is not None
            added = sum(master.add(column) for column in pool)
            # the master's next solve meets many new columns (and, after levels proven by
            # the covering LP, new floors): on hard_1727's sixth level its first simplex
            # solve took 213 s from the old basis, 72 s by the interior-point method with
            # crossover
            interior = interior or added > INTERIOR_COLUMNS
            to_fix = types_to_fix(cap_duals, unfixed)
            if reached is not None and (unfixed & ~to_fix).any():
                # the covering LP's lottery reaches the relaxation's bound: the level is
                # proven without the master (whose simplex solve over the new columns cost
                # 30-50 s per level on hard_1727); the last level still goes to the master,
                # whose basic solution is the lottery published
                probs = master.align(pool, reached)
                achieved = master.achieved(probs)
                if achieved is None:
                    raise AssertionError("the covering LP's lottery lost its columns")
                value = min(1.0, max(0.0, min(float(achieved[unfixed].min()), cap)))
                by_bound += 1
                cover_only += 1
                on_round(value, cap)
                fixed[to_fix] = value
                master.fix(np.flatnonzero(to_fix), value, probs)
                caps.fix(np.flatnonzero(to_fix), value, achieved)
                proofs.append(LevelProof(value, np.flatnonzero(to_fix), cap_duals, cap))
                continue

        solved = search.run(
            master,
            stop_at=cap - LEVEL_BOUND_TOLERANCE,
            interior=interior,
            on_round=on_round,
            bound=cap,
            bound_weights=cap_duals,
        )
        interior = False
        probs = solved.probs
        if solved.reason == "target":
            # the lottery reached the relaxation's bound for this level, so every optimal
            # lottery is optimal for the relaxation's level LP too, and the types with a
            # positive dual there are at the level in all of them (complementary slackness)
            by_bound += 1
            to_fix = types_to_fix(cap_duals, unfixed)
            value = min(1.0, max(0.0, min(solved.z, cap)))
            proofs.append(LevelProof(value, np.flatnonzero(to_fix), cap_duals, cap))
        else:
            to_fix = types_to_fix(solved.y, unfixed)
            value = min(1.0, max(0.0, solved.z))
            proofs.append(LevelProof(value, np.flatnonzero(to_fix), solved.y, solved.z))
        fixed[to_fix] = value
        # both at what the level's own lottery achieves: no slack for later levels to use
        master.fix(np.flatnonzero(to_fix), value, probs)
        caps.fix(np.flatnonzero(to_fix), value, master.achieved(probs))
        if use_relaxation and levels == 1 and np.isnan(fixed).any():
            search.proven = list(proofs)
            rest = reach_rest(model, config, master, search, fixed, progress)
            if rest is not None:
                probs, fixed, rest_proofs = rest
                proofs += rest_proofs
                reached_rest = 1
    progress(f"LEXIMIN · {levels} level(s), types fixed", T, T)
    stats: dict[str, float] = {
        "levels": levels,
        "levels_at_bound": by_bound,
        "levels_covered": by_cover,
        "levels_without_master": cover_only,
        "rest_at_bound": reached_rest,
        "lp_solves": search.lp_solves + relaxation_levels + caps.solves,
        "exchanges": exchanges,
        **search.stats(master),
    }
    if len(probs) == 0:  # everyone was fixed before any level: no valid panel contains them
        probs = np.zeros(len(master.columns))
        probs[0] = 1.0
    lottery = master_lottery(master, probs, fixed, stats, COLUMN_GENERATION_METHOD)
    lottery.levels = proofs
    return lottery


def reach_rest(
    model: Model,
    config: SolverConfig,
    master: RestrictedMaster,
    search: ColumnSearch,
    fixed: npt.NDArray[np.float64],
    progress: ProgressFn,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[LevelProof]] | None:
    """After the first level, try to reach the relaxation's LEXIMIN of the other types
    (given the proven level) in one go.

    On pools without a gap this replaces all further levels by one column generation; the
    lottery it returns attains an upper bound on every LEXIMIN lottery, so it is optimal.
    Gives up, and leaves the master a plain level again, when the starting columns reach
    less than ``REST_START`` of the bound, once the pricing ILP's bound proves the goal out
    of reach, or after ``REST_ROUNDS`` rounds.  Returns the column probabilities (for the
    master's columns, which gain the columns found here), the per-type values and the
    relaxation's proofs of the levels, or None.

    Where the dense matrices fit (:func:`panelsel.solve.interior.fits`) the covering LP of
    :mod:`panelsel.solve.interior` decides it; otherwise the master does, aimed at the goal.
    """
    T = model.n_types
    unfixed = np.isnan(fixed)
    relaxed = relaxed_leximin(model, config, fixed=fixed)
    rest = relaxed.probabilities
    goal = np.where(unfixed, rest, fixed)
    search.context = proven_context(fixed, model.type_sizes, 1)
    progress(
        "LEXIMIN · the rest towards the relaxation's bound, types fixed", int((~unfixed).sum()), T
    )
    if fits(T, len(master.columns)):
        pool, probs = reach_goal(
            model,
            config,
            search,
            master.columns,
            goal,
            start_share=REST_START,
            max_rounds=REST_ROUNDS,
            neighbours=COLUMNS_PER_ROUND,
            starts=HEURISTIC_STARTS,
            keep=0,
        )
        for column in pool:
            master.add(column)
        if probs is not None:
            # the master holds the pool's columns in the pool's order (it started as them)
            if len(master.columns) != len(pool):
                raise AssertionError("the master lost track of the covering LP's columns")
            return probs, goal, relaxed.proofs
        return None
    reached = reach_by_master(model, config, master, search, rest, goal)
    return None if reached is None else (*reached, relaxed.proofs)


def reach_goal(
    model: Model,
    config: SolverConfig,
    search: ColumnSearch,
    columns: list[npt.NDArray[np.int64]],
    goal: npt.NDArray[np.float64],
    *,
    start_share: float = 0.0,
    max_rounds: int = DENSE_LEVEL_ROUNDS,
    neighbours: int = DENSE_NEIGHBOURS,
    starts: int = DENSE_STARTS,
    keep: int = DENSE_KEEP,
    on_round: Callable[[float], None] = lambda total: None,
) -> tuple[list[npt.NDArray[np.int64]], npt.NDArray[np.float64] | None]:
    """Look for a lottery that gives every type at least ``goal`` by column generation on
    the covering LP ``min sum(q)``, ``S q >= goal`` (:func:`panelsel.solve.interior.cover`).

    A total of at most ``1 / (1 - ATTAIN_TOLERANCE)`` means that the lottery ``q / sum(q)``
    reaches the goal (within that share).  Otherwise the duals ``y`` price new columns: the
    pricing ILP's panel with ``neighbours`` of its one-swap neighbours, and as many of each
    of the ``starts`` heaviest panels'.  For every ``y >= 0``, ``goal @ y / max_panel(y)``
    is a lower bound on the total over all valid panels (weak duality), so a bound above 1
    proves the goal out of reach.  Gives up then, when the first solve reaches less than
    ``start_share`` of the goal, after ``max_rounds`` rounds, or when the dense matrices
    would no longer fit (:func:`panelsel.solve.interior.fits`).  With ``keep``, the pool is cut to
    the ``keep / 2 * types`` heaviest columns whenever it holds more than ``keep * types``.

    Returns the pool of columns and the lottery's probabilities over it, or the pool and
    None.  No best-effort snapshot is offered on the way: until the goal is reached,
    ``q / sum(q)`` falls short of the proven levels by the share the total exceeds 1.
    """
    sizes = model.type_sizes
    T = len(sizes)
    enough = 1.0 / (1.0 - ATTAIN_TOLERANCE)
    pool = list(columns)
    seen = {c.tobytes() for c in pool}
    shortfalls: list[float] = []
    for rounds in range(max_rounds + 1):
        if not fits(T, len(pool)):
            return pool, None
        shares = (np.array(pool, dtype=np.float64) / sizes).T
        try:
            solution = cover(shares, goal, deadline=config.remaining)
        except TimeLimitError:
            raise
        except SolverError:  # did not converge: the columns found so far still help
            return pool, None
        search.lp_solves += 1
        total = solution.total
        on_round(total)
        if total <= enough:
            return pool, np.maximum(solution.q, 0.0) / total
        if (rounds == 0 and 1.0 / total < start_share) or rounds == max_rounds:
            return pool, None
        shortfalls.append(total - 1.0)
        if len(shortfalls) > STALL_ROUNDS and shortfalls[-1] > STALL_RATIO * min(
            shortfalls[:-STALL_ROUNDS]
        ):
            return pool, None  # stalled: a gap, most likely; the master takes over
        y = np.maximum(solution.y, 0.0)
        weights = y / sizes
        counts, value = search.pricing.best(weights)
        if value <= 1.0 + PRICING_TOLERANCE or float(goal @ y) > enough * value:
            return pool, None  # the covering LP over every valid panel has a total above 1
        found = [counts, *search.neighbours.find(counts, weights, 1.0, neighbours)]
        for r in np.argsort(-solution.q, kind="stable")[:starts].tolist():
            found += search.neighbours.find(pool[r], weights, 1.0, neighbours)
        if keep and len(pool) > keep * T:
            heaviest = np.argsort(-solution.q, kind="stable")[: keep * T // 2]
            pool = [pool[i] for i in sorted(heaviest.tolist())]
            seen = {c.tobytes() for c in pool}
        added = 0
        for column in found:
            key = column.tobytes()
            if key not in seen:
                seen.add(key)
                pool.append(column)
                added += 1
        if not added:
            return pool, None  # violated columns all present: round-off, give up
    return pool, None


def reach_by_master(
    model: Model,
    config: SolverConfig,
    master: RestrictedMaster,
    search: ColumnSearch,
    rest: npt.NDArray[np.float64],
    goal: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """:func:`reach_rest` by the master aimed at the goal: ``max z`` subject to
    ``x_t >= z * rest_t`` for the unfixed types."""
    T = model.n_types
    master.aim(rest)
    solved = search.run(
        master,
        stop_at=1.0 - ATTAIN_TOLERANCE,
        interior=len(master.columns) > INTERIOR_COLUMNS,
        give_up_below=1.0 - ATTAIN_TOLERANCE,
        max_rounds=0,
    )
    if solved.reason == "rounds" and solved.z >= REST_START:
        solved = search.run(
            master,
            stop_at=1.0 - ATTAIN_TOLERANCE,
            give_up_below=1.0 - ATTAIN_TOLERANCE,
            max_rounds=REST_ROUNDS,
        )
    master.aim(np.ones(T))
    if solved.reason != "target":
        return None
    return solved.probs, goal


def proven_context(
    fixed: npt.NDArray[np.float64], sizes: npt.NDArray[np.intp], levels: int
) -> dict[str, float]:
    """What a best-effort lottery taken during the next level still guarantees: the levels
    proven so far, and how many types and people they fix (the master keeps them).  The
    minimum is over the types some valid panel holds: the others are fixed at 0 before any
    level, and every output names them as never selectable."""
    done = ~np.isnan(fixed)
    chance = done & (fixed > 0)
    return {
        "proven_levels": levels,
        "proven_types": int(done.sum()),
        "proven_people": int(sizes[done].sum()),
        "proven_minimum": float(fixed[chance].min()) if chance.any() else float("nan"),
    }


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
    return bound, decomposition(model, bound.probabilities, config, progress, max_designs)


def decomposition(
    model: Model,
    targets: npt.NDArray[np.float64],
    config: SolverConfig,
    progress: ProgressFn,
    max_designs: int = MAX_QUANTISED_DESIGNS,
) -> Decomposition:
    """An attempt to realise ``targets`` (a relaxation's optimum) exactly, from the fixed
    ``DECOMPOSITION_SEED``, within the time limit."""
    progress("exact decomposition", 0, 1)
    return decompose(
        model,
        targets,
        np.random.default_rng(DECOMPOSITION_SEED),
        deadline=config.remaining,
        max_designs=max_designs,
    )


def exact_lottery(
    bound: Relaxation,
    attempt: Decomposition,
    *,
    method: str = RELAXATION_METHOD,
    stats: dict[str, float] | None = None,
    levels: list[LevelProof] | None = None,
) -> TypeLottery:
    """The lottery of an exact decomposition of the bound (``method``, with ``stats`` added
    to the decomposition's; LEXIMIN passes the relaxation's ``levels``)."""
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
            **(stats or {}),
        },
        method=method,
        weights=attempt.weights,
        denominator=attempt.denominator,
        levels=levels,
    )
