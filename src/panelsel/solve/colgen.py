"""The shared column-generation core: the pricing ILP, neighbour columns and column sets.

Columns are *count vectors*: for each type of interchangeable registrants (see
:mod:`panelsel.inputs.model`), how many of its members a panel takes.  A count vector ``c`` is a
valid panel when ``sum(c) == k``, ``0 <= c[t] <= |type t|``, every feature count lies within
its bounds and no constrained household has more than ``max_per_household`` members selected.

Models go through the backends of :mod:`panelsel.solve.backends` (HiGHS kept alive between solves,
or CBC through PuLP), which check every status: the quotas have been shown feasible before
any of these models is built, so anything that is not optimal (an infeasible pricing problem
included) raises :class:`~panelsel.errors.SolverError`.

Tolerances
----------
``PRICING_TOLERANCE``
    A column enters the master only if its reduced value exceeds the master's bound by more
    than this (absolute, in probability units).
``DUAL_FIX_TOLERANCE``
    A type whose dual weight exceeds this is fixed at the current level (LEXIMIN).
``FIX_SLACK``
    In the LEXIMIN master, fixed probabilities are kept as ``>= value - slack`` so that
    solver round-off cannot make the restricted master infeasible.  A level is read off a
    solution that may break any row by the solver's feasibility tolerance (in the row's
    units: here probabilities), so the slack is the master's
    :attr:`~panelsel.solve.backends.Backend.fix_slack`, ten times its tolerance: at 1e-9
    with a tolerance of 1e-7, a later level's master was feasible only within round-off and
    CBC called it infeasible (a generated 191-person pool of ``benchmarks/stress.py``).  With
    HiGHS the master runs at :data:`~panelsel.solve.backends.TIGHT_FEASIBILITY_TOLERANCE`, so
    the slack is 1e-8; a later level can use it, so a fixed type may end that far below its
    level (a slack of 5e-7 moved a brute-force test's probabilities by 1.5e-6, and CBC's
    1e-6 by 6e-6: beyond the audit's ``CERTIFICATE_TOLERANCE``).  So LEXIMIN fixes each
    level at what the level's own lottery achieves (:meth:`RestrictedMaster.fix` with the
    column probabilities): an exact lottery meets every floor, and no slack is needed.
``INTEGRALITY_TOLERANCE``
    The largest distance from an integer accepted in a pricing solution before rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from panelsel.errors import SolverError
from panelsel.inputs.model import Model
from panelsel.lotteries import LevelProof, TypeLottery
from panelsel.progress import ProgressFn, no_progress
from panelsel.solve.backends import (
    FEASIBILITY_TOLERANCE,
    FIX_SLACK_FACTOR,
    INFINITY,
    MIP_REL_GAP,
    TIGHT_FEASIBILITY_TOLERANCE,
    SolverConfig,
)
from panelsel.solve.protocol import Incumbent
from panelsel.solve.quota_rows import add_household_rows, add_panel_size_row, add_value_rows

PRICING_TOLERANCE = 1e-8
DUAL_FIX_TOLERANCE = 1e-7
FIX_SLACK = FIX_SLACK_FACTOR * FEASIBILITY_TOLERANCE
INTEGRALITY_TOLERANCE = 1e-5
FLOOR_MARGIN = 1e-12
"""Round-off left below a fixed type's floor that an exact lottery meets (``fix``)."""
COLUMNS_PER_ROUND = 10
"""At most this many one-swap neighbours join each pricing round's best panel."""
HEURISTIC_STARTS = 5
"""Each round also adds violated columns one swap away from this many of the current
lottery's heaviest panels (cheap array arithmetic)."""

__all__ = [
    "PRUNE_KEEP_BASE",
    "PRUNE_KEEP_PER_TYPE",
    "ColumnSearch",
    "ColumnSet",
    "PricingILP",
    "RestrictedMaster",
    "Solved",
    "SolverConfig",
    "even_out",
    "initial_columns",
    "master_lottery",
    "type_shares",
    "types_to_fix",
]


# --------------------------------------------------------------------------- pricing


class PricingILP:
    """Find a valid panel (count vector) of maximum weight ``sum_t w[t] * c[t]``.

    The model is built once; each call only replaces the objective (with HiGHS the solver
    object is kept between calls).
    """

    def __init__(self, model: Model, config: SolverConfig) -> None:
        self.model = model
        sizes = model.type_sizes
        T = model.n_types
        lp = config.backend(maximize=True, name="pricing problem")
        lp.add_vars(np.zeros(T), sizes, np.zeros(T), integer=True)
        add_panel_size_row(lp, model)
        add_value_rows(lp, model, binding_only=True)
        add_household_rows(lp, model)
        self.lp = lp
        self.everyone = np.arange(T)

    @property
    def calls(self) -> int:
        return self.lp.solves

    def best(self, weights: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], float]:
        """The valid count vector of largest weight and that weight."""
        self.lp.set_costs(self.everyone, weights)
        raw, _ = self.lp.solve()
        if np.any(np.abs(raw - np.round(raw)) > INTEGRALITY_TOLERANCE):
            raise SolverError(
                "the solver returned a fractional panel in the pricing problem",
                hint="try the other solver with --solver",
            )
        counts = np.round(raw).astype(np.int64)
        problems = self.model.count_violations(counts)
        if problems:
            raise SolverError(
                "the solver returned a panel that breaks the quotas: " + "; ".join(problems[:3]),
                hint="try the other solver with --solver",
            )
        return counts, float(weights @ counts)


class SwapNeighbours:
    """More columns from one: valid panels one swap (one seat, type ``a`` -> type ``b``) away.

    After the pricing ILP has found the best panel for the current duals, the panels that
    differ from it by one swap and still violate the master's bound are good columns too;
    adding several per round cuts the number of pricing rounds.  Checking them is cheap
    array arithmetic over the feature counts.
    """

    def __init__(self, model: Model) -> None:
        self.tf = model.type_features.astype(np.int64)
        self.sizes = model.type_sizes
        self.lo = model.feature_min
        self.hi = model.feature_max
        self.household = model.type_household
        self.n_households = len(model.households)
        # each household's bound, and a last entry for "no household" that never binds
        self.cap = np.r_[model.household_cap, np.iinfo(np.int64).max]

    def find(
        self,
        counts: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float64],
        threshold: float,
        limit: int,
    ) -> list[npt.NDArray[np.int64]]:
        """Up to ``limit`` valid one-swap panels of weight above ``threshold``, best first."""
        if limit <= 0:
            return []
        feature_counts = counts @ self.tf
        value = float(weights @ counts)
        room = counts < self.sizes
        load = np.zeros(self.n_households + 1, dtype=np.int64)
        np.add.at(load, self.household, counts)  # index -1 collects people in no household
        gains, sources, targets = [], [], []
        for a in np.flatnonzero(counts > 0):
            gain = value + weights - weights[a]
            candidates = room & (gain > threshold)
            candidates[a] = False
            if not candidates.any():
                continue
            idx = np.flatnonzero(candidates)
            new = feature_counts[None, :] - self.tf[a][None, :] + self.tf[idx]
            ok = np.all((new >= self.lo) & (new <= self.hi), axis=1)
            hb = self.household[idx]
            if self.n_households:
                crowded = (hb >= 0) & (load[hb] + 1 - (hb == self.household[a]) > self.cap[hb])
                ok &= ~crowded
            if ok.any():
                gains.append(gain[idx[ok]])
                sources.append(np.full(int(ok.sum()), a))
                targets.append(idx[ok])
        if not gains:
            return []
        gain_all = np.concatenate(gains)
        src_all, dst_all = np.concatenate(sources), np.concatenate(targets)
        # the best `limit`, best first (ties in discovery order, as a stable sort gives)
        order = np.argsort(-gain_all, kind="stable")[:limit]
        out = []
        for i in order.tolist():
            c = counts.copy()
            c[src_all[i]] -= 1
            c[dst_all[i]] += 1
            out.append(c)
        return out


# --------------------------------------------------------------------------- columns


class ColumnSet:
    """Distinct count vectors found so far, in order of discovery."""

    def __init__(self, n_types: int) -> None:
        self.columns: list[npt.NDArray[np.int64]] = []
        self._seen: set[bytes] = set()
        self.n_types = n_types

    def add(self, counts: npt.NDArray[np.int64]) -> bool:
        key = counts.tobytes()
        if key in self._seen:
            return False
        self._seen.add(key)
        self.columns.append(counts)
        return True

    def __len__(self) -> int:
        return len(self.columns)

    def matrix(self) -> npt.NDArray[np.int64]:
        return np.array(self.columns, dtype=np.int64).reshape(len(self.columns), self.n_types)


def initial_columns(
    pricing: PricingILP,
    progress: ProgressFn = no_progress,
    known: npt.NDArray[np.int64] | None = None,
) -> tuple[ColumnSet, npt.NDArray[np.bool_]]:
    """A first valid panel, then a greedy cover: panels that together contain every type
    that any valid panel contains.

    ``known`` (valid count vectors, one per row) start the cover, so that only the types
    they miss cost pricing calls.  Returns the columns and a mask of the types that no
    valid panel contains (their selection probability is 0 under every lottery).  Callers
    have shown the quotas feasible first (:func:`panelsel.solve.feasibility.require_feasible`),
    so a pricing ILP that finds no panel is a :class:`~panelsel.errors.SolverError`.
    """
    model = pricing.model
    sizes = model.type_sizes.astype(np.float64)
    cols = ColumnSet(model.n_types)
    for counts in known if known is not None else []:
        cols.add(counts)
    if not len(cols):
        first, _ = pricing.best(np.zeros(model.n_types))
        cols.add(first)
    covered = cols.matrix().max(axis=0) > 0
    while not covered.all():
        weights = np.where(covered, 0.0, 1.0 / sizes)
        counts, value = pricing.best(weights)
        newly = (counts > 0) & ~covered
        cols.add(counts)
        progress("covering types", int(covered.sum()), model.n_types)
        if not newly.any() or value <= PRICING_TOLERANCE:
            break
        covered |= newly
    return cols, ~covered


# --------------------------------------------------------------------------- masters


def types_to_fix(
    y: npt.NDArray[np.float64], unfixed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """The unfixed types to fix at the end of a LEXIMIN level: those with a positive dual
    (complementary slackness: they have the level's value in every optimal solution), or,
    when the duals are numerically flat, the heaviest ones, so that every level fixes one."""
    to_fix = unfixed & (y > DUAL_FIX_TOLERANCE)
    if not to_fix.any():
        to_fix = unfixed & (y >= y[unfixed].max())
    return to_fix


def type_shares(
    columns: npt.NDArray[np.int64], sizes: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Each column's selection probability per member of each type: ``c[t] / |t|``."""
    return columns / sizes[None, :].astype(np.float64)


# --------------------------------------------------------------------------- masters and search

PRUNE_KEEP_PER_TYPE = 2
PRUNE_KEEP_BASE = 100
"""When the master holds more than twice ``PRUNE_KEEP_PER_TYPE * types + PRUNE_KEEP_BASE``
columns, unused ones are dropped down to that number (a basis needs at most types + 1),
at most once per strict rise of the level's value (no cycling)."""


class RestrictedMaster:
    """The level's LP over the columns found so far, kept alive across levels.

    Primal form: variable 0 is ``z``, variable ``1 + r`` the probability of column ``r``.
    Row 0 is ``sum_r p_r = 1``; row ``1 + t`` is ``sum_r c_rt/|t| p_r - z >= 0`` while type
    ``t`` is unfixed and ``sum_r c_rt/|t| p_r >= pi_t - slack`` once fixed.  The duals of
    these rows are the ``yhat`` and ``y_t`` of the dual LP in the module notes.  Columns join
    as new variables, so with HiGHS every solve starts from the previous basis; a basis has
    one entry per type, not per column.
    """

    def __init__(self, sizes: npt.NDArray[np.intp], config: SolverConfig) -> None:
        self.sizes = sizes
        self.config = config
        n_types = len(sizes)
        self.lp = config.backend(
            maximize=True,
            name="LEXIMIN master LP",
            primal_simplex=True,
            tolerance=TIGHT_FEASIBILITY_TOLERANCE,
        )
        self.lp.add_vars([-INFINITY], [INFINITY], [1.0])
        self.lp.add_row(1.0, 1.0, np.zeros(0, dtype=np.intp), np.zeros(0))
        for _ in range(n_types):
            self.lp.add_row(0.0, INFINITY, [0], [-1.0])
        self.columns: list[npt.NDArray[np.int64]] = []
        self._active: set[bytes] = set()
        self.pruned = 0
        self.aims = np.ones(n_types)
        """Row ``1 + t`` reads ``x_t >= z * aims[t]`` while type ``t`` is unfixed."""
        self.floors = np.full(n_types, np.nan)
        """The right-hand side of a fixed type's row (NaN while unfixed)."""

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
        # one column at a time: a dense (columns x types) matrix can take gigabytes
        weights = y / self.sizes
        reduced = np.fromiter((float(c @ weights) for c in self.columns), float) - yhat
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

    def align(
        self, columns: list[npt.NDArray[np.int64]], probs: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """The lottery ``probs`` over ``columns`` (all of them in the master) as
        probabilities of the master's columns."""
        index = {c.tobytes(): r for r, c in enumerate(self.columns)}
        aligned = np.zeros(len(self.columns))
        for column, p in zip(columns, probs.tolist(), strict=True):
            aligned[index[column.tobytes()]] += p
        return aligned

    def aim(self, targets: npt.NDArray[np.float64]) -> None:
        """Make the master ``max z`` with ``sum_r c_rt/|t| p_r >= z * targets[t]`` for every
        unfixed type (all ones: a plain level); fixed types keep their rows."""
        for t in np.flatnonzero(np.isnan(self.floors)).tolist():
            self.lp.set_coeff(t + 1, 0, -float(targets[t]))
            self.aims[t] = float(targets[t])

    def achieved(self, probs: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64] | None:
        """Each type's probability under the lottery ``probs`` over the master's columns,
        clipped at 0 and scaled to sum 1 (an exact lottery over valid panels); None without
        ``probs`` or when they do not match the columns."""
        if probs is None or len(probs) != len(self.columns):
            return None
        p = np.maximum(probs, 0.0)
        p = p / p.sum()
        achieved: npt.NDArray[np.float64] = (
            p @ np.array(self.columns, dtype=np.float64)
        ) / self.sizes
        return achieved

    def fix(
        self,
        types: npt.NDArray[np.intp],
        value: float,
        probs: npt.NDArray[np.float64] | None = None,
    ) -> None:
        """Keep ``types`` at ``value`` or more from now on.

        With ``probs``, the column probabilities of the solve that found ``value``, every
        fixed type's floor is at most what the lottery ``probs`` (clipped at 0 and summing
        to 1: an exact lottery over valid panels) gives it.  That lottery meets every floor
        exactly, so the next master is feasible without a slack the next levels could use
        (``FIX_SLACK`` in the module notes); only :data:`FLOOR_MARGIN` of round-off is left.
        Without ``probs`` the floors are ``value`` less the model's ``fix_slack``.
        """
        floors = np.full(len(self.sizes), value - self.lp.fix_slack)
        achieved = self.achieved(probs)
        if achieved is not None:
            floors = np.minimum(value, achieved) - FLOOR_MARGIN
            for t in np.flatnonzero(~np.isnan(self.floors)).tolist():
                if floors[t] < self.floors[t]:
                    self.lp.set_row_bounds(t + 1, float(floors[t]), INFINITY)
                    self.floors[t] = floors[t]
        for t in types.tolist():
            self.lp.set_coeff(t + 1, 0, 0.0)
            self.lp.set_row_bounds(t + 1, float(floors[t]), INFINITY)
            self.floors[t] = floors[t]

    def lagrangian_bound(self, y: npt.NDArray[np.float64], value: float) -> float:
        r"""An upper bound on this master's ``z`` over *every* valid panel, from any
        ``y >= 0`` and ``value = max over valid panels of sum_t y_t c_t/|t|`` (the pricing
        ILP's optimum at ``y``).

        For every lottery, :math:`\sum_t y_t x_t \le` ``value``, and its rows give
        :math:`\sum_t y_t x_t \ge z \sum_{t \notin F} y_t a_t + \sum_{t \in F} y_t f_t`
        (``a`` the aims, ``f`` the floors), so
        :math:`z \le (value - \sum_F y_t f_t) / \sum_{t \notin F} y_t a_t`.
        Infinite when the denominator vanishes.  ``value`` is raised by the pricing ILP's
        relative gap (:data:`~panelsel.solve.backends.MIP_REL_GAP`), within which the true
        maximum may lie above it: where the duals of fixed types are large, the difference
        above loses that much (a bound computed from duals of 2e7 came out 0.009 below the
        level a lottery reached, in a brute-force stress of a covering-LP variant).
        """
        fixed = ~np.isnan(self.floors)
        denominator = float(y[~fixed] @ self.aims[~fixed])
        if denominator <= 0.0:
            return np.inf
        value += MIP_REL_GAP * abs(value)
        return (value - float(y[fixed] @ self.floors[fixed])) / denominator

    def solve(
        self, interior: bool = False
    ) -> tuple[npt.NDArray[np.float64], float, float, npt.NDArray[np.float64]]:
        """Duals ``y`` (per type), ``yhat``, the optimum ``z`` and the column probabilities
        (``interior``: by the interior-point method with crossover, for a solve that meets
        many new columns; later solves start from the basis crossover finds)."""
        x, z = self.lp.solve_interior(crossover=True) if interior else self.lp.solve()
        duals = self.lp.row_duals
        return np.maximum(-duals[1:], 0.0), float(duals[0]), z, x[1:]


def master_lottery(
    master: RestrictedMaster,
    probs: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64] | None,
    stats: dict[str, float],
    method: str,
) -> TypeLottery:
    """The master's lottery; ``targets`` None means the lottery's own probabilities."""
    probs = np.maximum(probs, 0.0)
    probs = probs / probs.sum()
    matrix = np.array(master.columns, dtype=np.int64).reshape(len(master.columns), -1)
    if targets is None:
        targets = (probs @ matrix) / master.sizes
    return TypeLottery(
        columns=matrix, probabilities=probs, targets=targets, stats=stats, method=method
    )


BEST_EFFORT_METHOD = "best lottery found before the time limit (not proven optimal)"


CERTAIN = 1.0 - 1e-9
"""A probability at least this counts as certain selection (for :func:`even_out`)."""


def snapshot(
    columns: list[npt.NDArray[np.int64]],
    probs: npt.NDArray[np.float64],
    sizes: npt.NDArray[np.intp],
    stats: dict[str, float] | None = None,
    floors: npt.NDArray[np.float64] | None = None,
    duals: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    levels: list[LevelProof] | None = None,
) -> Callable[[], TypeLottery]:
    """A builder of the lottery of one master solution, for ``--best-effort`` (built only
    if the time limit runs out: every column is a valid panel, so it is a valid lottery).
    ``floors`` (per type, NaN while unfixed) are the proven levels the master kept;
    ``duals`` the weights of a lower bound it states (Goldilocks', MINIMAX's); ``levels``
    LEXIMIN's proven levels and the one it stopped in, with their weights."""

    def build() -> TypeLottery:
        p = np.maximum(probs, 0.0)
        p = p / p.sum()
        matrix = np.array(columns, dtype=np.int64).reshape(len(columns), len(sizes))
        return TypeLottery(
            columns=matrix,
            probabilities=p,
            targets=(p @ matrix) / sizes,
            stats=dict(stats or {}),
            method=BEST_EFFORT_METHOD,
            floors=floors,
            duals=duals,
            levels=levels,
        )

    return build


def even_out(model: Model, lottery: TypeLottery, config: SolverConfig) -> TypeLottery:
    """Spread a best-effort lottery so that nobody is selected for certain unless every
    valid panel contains them.

    A master solution stopped in the middle of a level maximises only the level's value,
    and its basic solution can put an unfixed type at probability 1.  Over the same panels,
    this LP minimises the largest probability of the unfixed types that some valid panel
    leaves out (one pricing ILP per certain type finds them, and a panel without them joins
    the lottery's panels), keeping every proven level
    (``floors``) and the level value the snapshot reached: the lottery stays as fair at the
    bottom and is no longer certain for anybody the quotas do not force.  ``config`` holds
    the (short) time for it; on any solver failure the lottery is returned unchanged, with
    ``stats["certain_unforced"]`` saying how many types remain certain.
    """
    floors = lottery.floors
    sizes = model.type_sizes
    certain = np.flatnonzero(lottery.targets >= CERTAIN)
    if floors is None or len(certain) == 0:
        return lottery
    unfixed = np.isnan(floors)
    forced: set[int] = set()
    try:
        pricing = PricingILP(model, config)
        extra = []
        # the panels that leave a certain type out favour the people with low probability
        favour = 1.0 / np.maximum(lottery.targets, 1e-3) / sizes
        for t in certain.tolist():
            weights = favour.copy()
            weights[t] = -float(favour.sum()) - 1.0
            counts, _ = pricing.best(weights)
            if counts[t] >= sizes[t]:  # even then all of type t: every valid panel takes it
                forced.add(t)
            else:
                extra.append(counts)
        spread = [t for t in np.flatnonzero(unfixed).tolist() if t not in forced]
        if not any(t in spread for t in certain.tolist()):
            return lottery
        known = {c.tobytes() for c in lottery.columns}
        new = [c for c in extra if c.tobytes() not in known]
        lottery = TypeLottery(
            columns=np.vstack([lottery.columns, *new]) if new else lottery.columns,
            probabilities=np.r_[lottery.probabilities, np.zeros(len(new))],
            targets=lottery.targets,
            stats=lottery.stats,
            method=lottery.method,
            floors=floors,
            levels=lottery.levels,
        )
        R = len(lottery.columns)
        # the shares by type, sparse (a dense columns x types matrix can take gigabytes)
        panel, kind = np.nonzero(lottery.columns)
        share = lottery.columns[panel, kind] / sizes[kind]
        order = np.argsort(kind, kind="stable")
        panel, kind, share = panel[order], kind[order], share[order]
        starts = np.searchsorted(kind, np.arange(model.n_types + 1))
        level = float(lottery.stats.get("level_value", 0.0))
        # the types not fixed yet keep the level the snapshot states and at least the
        # highest proven level, or what the snapshot gives them if that is less (so that
        # the snapshot itself is feasible): with the level less FIX_SLACK, the spread lottery
        # fell 1e-6 below the level lottery.json states, and the level certificate's audit
        # failed (stress seeds 670001 and 670008)
        top = float(np.max(floors[~unfixed])) if (~unfixed).any() else -np.inf
        rest_low = np.minimum(max(level, top), lottery.targets)
        lp = config.backend(maximize=False, name="best-effort spread LP")
        lp.add_vars(np.zeros(R), np.full(R, INFINITY), np.zeros(R))
        lp.add_vars([0.0], [1.0], [1.0])
        lp.add_row(1.0, 1.0, np.arange(R), np.ones(R))
        for t in range(model.n_types):
            part = slice(starts[t], starts[t + 1])
            low = float(floors[t]) if not unfixed[t] else float(rest_low[t])
            lp.add_row(low, INFINITY, panel[part], share[part])
        for t in spread:
            part = slice(starts[t], starts[t + 1])
            lp.add_row(-INFINITY, 0.0, np.r_[panel[part], R], np.r_[share[part], -1.0])
        x, _ = lp.solve()
    except SolverError:
        lottery.stats["certain_unforced"] = len([t for t in certain if t not in forced])
        return lottery
    p = np.maximum(x[:R], 0.0)
    p = p / p.sum()
    keep = p > 0.0
    columns = lottery.columns[keep]
    probabilities = p[keep]
    targets = (probabilities @ columns) / sizes
    stats = dict(lottery.stats)
    stats["certain_unforced"] = int(sum(1 for t in spread if targets[t] >= CERTAIN))
    return TypeLottery(
        columns=columns,
        probabilities=probabilities,
        targets=targets,
        stats=stats,
        method=lottery.method,
        floors=floors,
        levels=lottery.levels,
    )


@dataclass
class Solved:
    """How :meth:`ColumnSearch.run` left the master.

    Attributes
    ----------
    y, yhat, z, probs
        The last master solution's type duals, first-row dual, value and column
        probabilities.
    upper : float
        The best upper bound on ``z`` over every valid panel seen during the run (from the
        pricing ILP through :meth:`RestrictedMaster.lagrangian_bound`); ``z`` itself when the
        pricing proved the master optimal.
    reason : str
        ``"optimal"`` (the pricing ILP found no column that raises ``z``), ``"target"``
        (``z`` reached ``stop_at``), ``"stalled"`` (violated columns that were all in the
        master already: round-off; the last solution stands), or, when asked to give up,
        ``"out of reach"`` and ``"rounds"``.
    """

    y: npt.NDArray[np.float64]
    yhat: float
    z: float
    probs: npt.NDArray[np.float64]
    upper: float
    reason: str


RoundFn = Callable[[float, float], None]
"""Called after every master solve with the value ``z`` and the best upper bound so far."""


def no_round(z: float, upper: float) -> None:
    return None


class ColumnSearch:
    """Column generation on a restricted master.

    Every round solves the pricing ILP at the master's duals: its panel enters (with its
    one-swap neighbours and those of the lottery's heaviest panels, which are cheap and cut
    the number of rounds), and its value gives a Lagrangian upper bound on the level, so that
    progress and a time-limited run can say how far from optimal the level still is.  Only
    the ILP can prove a level optimal.
    """

    def __init__(
        self,
        pricing: PricingILP,
        neighbours: SwapNeighbours,
        keep: int,
        incumbent: Incumbent | None = None,
    ) -> None:
        self.pricing = pricing
        self.neighbours = neighbours
        self.keep = keep
        self.incumbent = incumbent if incumbent is not None else Incumbent()
        """Where each master solution is offered for ``--best-effort``."""
        self.lp_solves = self.heuristic_rounds = 0
        self.context: dict[str, float] = {}
        """Facts about the proven part of the lottery, copied into every best-effort
        snapshot's stats (set by the algorithm before each level)."""
        self.proven: list[LevelProof] = []
        """The levels proven so far with their weights, copied into every best-effort
        snapshot (set by the algorithm, like ``context``)."""

    def levels_with(
        self, value: float, upper: float, weights: npt.NDArray[np.float64] | None
    ) -> list[LevelProof]:
        """The proven levels and, when ``weights`` prove ``upper``, the unfinished one."""
        if weights is None or not np.isfinite(upper):
            return list(self.proven)
        empty = np.zeros(0, dtype=np.intp)
        return [*self.proven, LevelProof(value, empty, weights.copy(), upper)]

    def stats(self, master: RestrictedMaster) -> dict[str, int]:
        return {
            "columns": len(master.columns) + master.pruned,
            "columns_pruned": master.pruned,
            "pricing_calls": self.pricing.calls,
            "heuristic_rounds": self.heuristic_rounds,
        }

    def run(
        self,
        master: RestrictedMaster,
        stop_at: float = np.inf,
        interior: bool = False,
        on_round: RoundFn = no_round,
        bound: float = np.inf,
        give_up_below: float = -np.inf,
        max_rounds: int | None = None,
        bound_weights: npt.NDArray[np.float64] | None = None,
    ) -> Solved:
        """Add columns until the pricing ILP proves that none can raise the master's ``z``,
        or ``z >= stop_at`` (``interior``: the first solve by the interior-point method;
        ``bound``: an upper bound on ``z`` known beforehand, such as the relaxation's, and
        ``bound_weights`` the weights that prove it, for the best-effort snapshots).
        With ``give_up_below``, stop (reason ``"out of reach"``) once the upper bound proves
        that ``z`` stays below it, or after ``max_rounds`` pricing rounds (``"rounds"``)."""
        sizes = master.sizes
        upper = bound
        upper_weights = bound_weights
        rounds = 0
        # prune only after the value rose since the last prune: finitely many prunes per
        # call, so dropped columns cannot cycle back forever
        pruned_at = -np.inf
        unfixed = np.isnan(master.floors)
        # aimed at other goals than a plain level (x_t >= z a_t), z is a scale: the least
        # probability of the unfixed types is then z min(a), and no upper bound is stated
        plain = bool(np.all(master.aims[unfixed] == 1.0))
        least = 1.0 if plain else float(master.aims[unfixed].min(initial=1.0))
        while True:
            y, yhat, z, probs = master.solve(interior)
            interior = False
            self.lp_solves += 1
            stated = upper if plain else np.inf
            self.incumbent.offer(
                snapshot(
                    list(master.columns),
                    probs.copy(),
                    sizes,
                    {**self.context, "level_value": z * least, "level_upper_bound": stated},
                    master.floors.copy(),
                    levels=self.levels_with(z * least, stated, upper_weights),
                )
            )
            on_round(z, upper)
            if z >= stop_at:
                return Solved(y, yhat, z, probs, upper, "target")
            if len(master.columns) > 2 * self.keep and z > pruned_at + PRICING_TOLERANCE:
                probs = master.prune(probs, y, yhat, self.keep)
                pruned_at = z
            weights = y / sizes
            threshold = yhat + PRICING_TOLERANCE
            counts, value = self.pricing.best(weights)
            candidate = master.lagrangian_bound(y, value)
            if candidate < upper:
                upper, upper_weights = candidate, y
            rounds += 1
            if value <= threshold:
                return Solved(y, yhat, z, probs, z, "optimal")
            if upper < give_up_below:
                return Solved(y, yhat, z, probs, upper, "out of reach")
            if max_rounds is not None and rounds > max_rounds:
                return Solved(y, yhat, z, probs, upper, "rounds")
            found = [counts, *self.neighbours.find(counts, weights, threshold, COLUMNS_PER_ROUND)]
            for r in np.argsort(-probs)[:HEURISTIC_STARTS]:
                found += self.neighbours.find(
                    master.columns[r], weights, threshold, COLUMNS_PER_ROUND
                )
            self.heuristic_rounds += 1
            added = sum(master.add(column) for column in found)
            if not added:  # nothing new although violated: numerical trouble, stop here
                return Solved(y, yhat, z, probs, upper, "stalled")
