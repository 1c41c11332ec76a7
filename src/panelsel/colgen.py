"""The shared column-generation core: the pricing ILP, neighbour columns and column sets.

Columns are *count vectors*: for each type of interchangeable registrants (see
:mod:`panelsel.model`), how many of its members a panel takes.  A count vector ``c`` is a
valid panel when ``sum(c) == k``, ``0 <= c[t] <= |type t|``, every feature count lies within
its bounds and no constrained household has more than ``max_per_household`` members selected.

Models go through the backends of :mod:`panelsel.solvers` (HiGHS kept alive between solves,
or CBC through PuLP), which check every status: an infeasible pricing problem raises
:class:`~panelsel.errors.InfeasibleQuotasError`, anything else that is not optimal raises
:class:`~panelsel.errors.SolverError`.

Tolerances
----------
``PRICING_TOLERANCE``
    A column enters the master only if its reduced value exceeds the master's bound by more
    than this (absolute, in probability units).
``DUAL_FIX_TOLERANCE``
    A type whose dual weight exceeds this is fixed at the current level (LEXIMIN).
``FIX_SLACK``
    In the LEXIMIN master, fixed probabilities are kept as ``>= value - FIX_SLACK`` so that
    solver round-off cannot make the restricted master infeasible.
``INTEGRALITY_TOLERANCE``
    The largest distance from an integer accepted in a pricing solution before rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from panelsel.errors import SolverError
from panelsel.model import Model
from panelsel.solvers import INFINITY, SolverConfig

PRICING_TOLERANCE = 1e-8
DUAL_FIX_TOLERANCE = 1e-7
FIX_SLACK = 1e-9
INTEGRALITY_TOLERANCE = 1e-5
COLUMNS_PER_ROUND = 10
"""At most this many one-swap neighbours join each pricing round's best panel."""
HEURISTIC_STARTS = 5
"""Before the pricing ILP, look for violated columns one swap away from this many of the
current lottery's heaviest panels; the ILP runs only when none is found (and so still
decides that a level is optimal)."""

ProgressFn = Callable[[str, int, int], None]

__all__ = [
    "ColumnSet",
    "PricingILP",
    "ProgressFn",
    "SolverConfig",
    "initial_columns",
    "no_progress",
    "type_shares",
    "types_to_fix",
]


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that does nothing."""
    return None


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
        lp = config.backend(maximize=True, name="pricing problem", infeasible_means_quotas=True)
        lp.add_vars(np.zeros(T), sizes, np.zeros(T), integer=True)
        everyone = np.arange(T)
        lp.add_row(model.k, model.k, everyone, np.ones(T))
        tf = model.type_features
        for j, f in enumerate(model.features):
            members = np.flatnonzero(tf[:, j])
            lo = float(f.min) if f.min > 0 else -INFINITY
            hi = float(f.max) if f.max < min(model.k, f.pool_count) else INFINITY
            if lo > -INFINITY or hi < INFINITY:
                lp.add_row(lo, hi, members, np.ones(len(members)))
        for types in model.households:
            lp.add_row(-INFINITY, float(model.max_per_household), types, np.ones(len(types)))
        self.lp = lp
        self.everyone = everyone

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
        self.max_per_household = model.max_per_household

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
        found: list[tuple[float, int, int]] = []
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
                crowded = (hb >= 0) & (
                    load[hb] + 1 - (hb == self.household[a]) > self.max_per_household
                )
                ok &= ~crowded
            found.extend((float(gain[b]), int(a), int(b)) for b in idx[ok])
        found.sort(key=lambda item: -item[0])
        out = []
        for _, src, dst in found[:limit]:
            c = counts.copy()
            c[src] -= 1
            c[dst] += 1
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
    pricing: PricingILP, progress: ProgressFn = no_progress
) -> tuple[ColumnSet, npt.NDArray[np.bool_]]:
    """A first valid panel, then a greedy cover: panels that together contain every type
    that any valid panel contains.

    Returns the columns and a mask of the types that no valid panel contains (their
    selection probability is 0 under every lottery).  Raises
    :class:`~panelsel.errors.InfeasibleQuotasError` when there is no valid panel at all.
    """
    model = pricing.model
    sizes = model.type_sizes.astype(np.float64)
    cols = ColumnSet(model.n_types)
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
