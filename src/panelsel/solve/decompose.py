r"""Realise target probabilities exactly as a lottery over valid panels, without an LP.

Given a target probability per type (here: the LEXIMIN of the LP relaxation,
:mod:`panelsel.solve.relaxation`), we look for panels and weights whose weighted average count of
every type ``t`` is exactly ``|t| * target[t]`` and whose every panel meets the quotas.

Method
------
1. *Rational targets.*  Each target is recognised as a fraction (the smallest denominator
   within ``RATIONAL_TOLERANCE``); with ``D`` the common denominator, type ``t`` needs
   ``X_t = |t| * target_t * D`` expected seats in units of ``1/D``, an integer, and
   ``sum_t X_t = k * D``.
2. *Systematic design.*  Types are put in a serpentine order of their quota values (category
   by category, in a random category order, alternating direction in nested blocks, so that
   consecutive types are alike).  Type ``t`` owns the interval ``[C_{t-1}, C_t)`` of the
   cumulative sums of ``X``; the panel for the integer start ``u`` in ``[0, D)`` takes, of
   each type, as many seats as the points ``u + 1/2 + m D`` (``m = 0 .. k-1``) that fall in
   its interval.  Each type then gets ``floor`` or ``ceil`` of its expected count in every
   panel, and exactly ``X_t / D`` on average; the panel only changes where ``u`` crosses some
   ``C_t mod D``, so the design is at most ``T + 1`` panels, weighted by interval lengths.
   Because the order is sorted by quota values, every panel is close to proportional; it may
   still miss some quotas by a few seats.
3. *Repair by exchanges.*  While a panel ``a`` breaks a quota (or the household rule), look
   for another panel ``b`` and types ``i`` in ``a`` and ``j`` in ``b`` such that moving one
   seat of ``i`` from ``a`` to ``b`` and one seat of ``j`` from ``b`` to ``a`` lowers the
   total violation of the two panels.  If ``a`` and ``b`` have the same weight the exchange
   leaves every type's expected count unchanged; if not, the heavier panel is first split in
   two copies, one with the lighter panel's weight.  Each exchange lowers the weighted total
   violation by at least one unit, so repair ends; it gives up after ``MAX_REPAIR_FACTOR``
   exchanges per panel.

When repair succeeds the lottery is exact by construction (integer arithmetic throughout)
and every panel is checked again with :meth:`panelsel.inputs.model.Model.count_violations`.

4. *Quantised designs.*  When the common denominator is large (targets like 0.0433695...,
   ratios of large integers; every panel of the design then has its own weight and repair
   would have to split them over and over), or when exact repair fails, designs over
   ``QUANTISED_SLOTS`` equally likely panels are built with the targets rounded to whole
   seats along the order, and repaired the same way.  Their average is within rounding of
   the targets, not on them, so they are returned as starting columns for an LP that reaches
   the targets exactly (:func:`panelsel.solve.algorithms.leximin.leximin`).

Exchange gains are computed without building panels: a seat exchange moves each feature
count by at most one, so the change in violation is a sum of per-feature steps (one
matrix product per candidate partner).

Notes
-----
This is dependent rounding in the spirit of systematic sampling (Madow 1949) and of the
balanced sampling literature (Deville & Tillé 2004, "Efficient balanced sampling: the cube
method"); the exchange repair is specific to panelsel.  The design is deterministic given the
``numpy.random.Generator`` it is passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from panelsel.inputs.model import Model

RATIONAL_TOLERANCE = 1e-7
"""A target is replaced by the fraction of smallest denominator within this distance (LP
solvers return optimal values to about 1e-9 with HiGHS, 1e-8 with CBC)."""
MAX_DENOMINATOR = 10**6
"""Targets that are no fraction with a denominator up to this are rounded to multiples of
``1 / FALLBACK_DENOMINATOR`` instead."""
FALLBACK_DENOMINATOR = 2**30
MAX_EXACT_DENOMINATOR = 10_000
"""Exact designs are tried only when the targets' common denominator is at most this: with a
larger one the design's panels all have different weights and repair must split them."""
QUANTISED_SLOTS = 200
QUANTISED_PANELS_PER_TYPE = 1.5
MAX_QUANTISED_DESIGNS = 20
"""Otherwise designs of ``QUANTISED_SLOTS`` equally likely panels with the targets rounded to
whole seats, enough for about ``QUANTISED_PANELS_PER_TYPE`` panels per type (an LP needs at
least one column per type to hit every target), at most ``MAX_QUANTISED_DESIGNS``."""
DEADLINE_EVERY = 50
"""Repair checks the deadline every this many exchanges."""
MAX_REPAIR_FACTOR = 20
"""Repair gives up after this many exchanges per panel of the design (plus 1,000)."""

__all__ = ["Decomposition", "decompose", "rational_counts"]


@dataclass
class Decomposition:
    """The outcome of one attempt.

    Attributes
    ----------
    panels : ndarray of int, shape (R, T)
        Valid count vectors (all of the design's panels when ``exact``, otherwise the valid
        ones only).
    weights : ndarray of int, shape (R,)
        Their weights in units of ``1 / denominator`` (summing to ``denominator`` when
        ``exact``).
    denominator : int
    exact : bool
        Whether every panel of the design is valid, so that the lottery attains the targets.
    exchanges : int
        Exchanges made by the repair.
    """

    panels: npt.NDArray[np.int64]
    weights: npt.NDArray[np.int64]
    denominator: int
    exact: bool
    exchanges: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def probabilities(self) -> npt.NDArray[np.float64]:
        return self.weights / float(self.denominator)


def _simple_fraction(value: float) -> Fraction | None:
    """The fraction of smallest denominator (up to MAX_DENOMINATOR) near ``value``."""
    exact = Fraction(value)
    limit = 10
    while limit <= MAX_DENOMINATOR:
        f = exact.limit_denominator(limit)
        if abs(float(f) - value) <= RATIONAL_TOLERANCE:
            return f
        limit *= 10
    return None


def rational_counts(
    sizes: npt.NDArray[np.intp], targets: npt.NDArray[np.float64], k: int
) -> tuple[npt.NDArray[np.int64], int]:
    """Integer expected seats ``X`` (units of ``1/D``) with ``sum(X) == k * D``, and ``D``."""
    fractions: dict[float, Fraction | None] = {}
    for v in np.unique(targets):
        fractions[float(v)] = _simple_fraction(float(v))
    if all(f is not None for f in fractions.values()):
        denom = math.lcm(*(f.denominator for f in fractions.values() if f is not None))
    else:
        denom = FALLBACK_DENOMINATOR
    if denom * k >= 2**62 // max(1, int(sizes.max(initial=1))):
        denom = FALLBACK_DENOMINATOR
    wanted = [
        Fraction(int(s)) * (fractions[float(v)] or Fraction(float(v))) * denom
        for s, v in zip(sizes, targets, strict=True)
    ]
    counts = np.array([math.floor(w + Fraction(1, 2)) for w in wanted], dtype=np.int64)
    caps_array = sizes.astype(np.int64) * denom
    counts = np.clip(counts, 0, caps_array)
    # make the total exact: move single units where rounding lost the most (enough when
    # the fractions are right, and what the results have always been then)
    short = k * denom - int(counts.sum())
    if short:
        error = np.array([float(w - int(c)) for w, c in zip(wanted, counts, strict=True)])
        order = np.argsort(-error) if short > 0 else np.argsort(error)
        step = 1 if short > 0 else -1
        for t in order:
            if short == 0:
                break
            if 0 <= counts[t] + step <= caps_array[t]:
                counts[t] += step
                short -= step
    if short == 0:
        return counts, denom
    # the fractions were off by more than a unit per type (a large common denominator
    # scales their error up): keep the total by scaled largest remainders instead
    caps = [int(s) * denom for s in sizes]
    wanted = [min(max(w, Fraction(0)), Fraction(c)) for w, c in zip(wanted, caps, strict=True)]
    return _keep_total(wanted, caps, k * denom), denom


def _keep_total(wanted: list[Fraction], caps: list[int], total: int) -> npt.NDArray[np.int64]:
    """Integers within ``[0, caps]`` that sum to ``total`` exactly, as close to ``wanted``
    as the largest-remainder method gets.  ``wanted`` may miss the total by far more than
    one unit per type (each fraction is within ``RATIONAL_TOLERANCE`` of its target, and a
    large common denominator scales that error up), so it is first scaled to the total,
    then floored, and the units left go to the largest remainders; what a cap clips is
    handed on in the next pass."""
    counts = [0] * len(wanted)
    share = list(wanted)
    left = total
    for _ in range(len(wanted) + 1):
        room = [i for i in range(len(wanted)) if counts[i] < caps[i]]
        if left == 0 or not room:
            break
        mass = sum((share[i] for i in room), Fraction(0))
        if mass <= 0:  # nothing wanted where there is room: spread over the room
            share = [Fraction(caps[i] - counts[i]) for i in range(len(wanted))]
            mass = sum((share[i] for i in room), Fraction(0))
        scaled = {i: share[i] * left / mass for i in room}
        floors = {i: min(math.floor(x), caps[i] - counts[i]) for i, x in scaled.items()}
        given = sum(floors.values())
        for i, f in floors.items():
            counts[i] += f
        left -= given
        remainders = sorted(room, key=lambda i: scaled[i] - floors[i], reverse=True)
        for i in remainders:
            if left == 0:
                break
            if counts[i] < caps[i]:
                counts[i] += 1
                left -= 1
        share = [Fraction(0)] * len(wanted)  # a clipped type's rest goes to the others
        for i in room:
            share[i] = max(scaled[i] - floors[i], Fraction(0))
    if left != 0:
        raise AssertionError("rational_counts: the caps cannot hold the total")
    return np.array(counts, dtype=np.int64)


def _serpentine_order(model: Model, rng: np.random.Generator) -> npt.NDArray[np.intp]:
    """Types sorted by quota values, categories in random order, nested blocks alternating."""
    tf = model.type_features.astype(np.int64)
    categories = list(dict.fromkeys(f.category for f in model.features))
    keys = []
    for c in rng.permutation(len(categories)):
        cols = [j for j, f in enumerate(model.features) if f.category == categories[c]]
        bits = tf[:, cols] @ (np.int64(1) << np.arange(len(cols), dtype=np.int64))
        keys.append(np.unique(bits, return_inverse=True)[1])

    def arrange(ids: npt.NDArray[np.intp], level: int) -> list[int]:
        if level == len(keys) or len(ids) <= 1:
            return [int(i) for i in rng.permutation(ids)]
        values = keys[level][ids]
        out: list[int] = []
        for q, v in enumerate(np.unique(values)):
            block = arrange(ids[values == v], level + 1)
            out += block if q % 2 == 0 else block[::-1]
        return out

    return np.array(arrange(np.arange(model.n_types), 0), dtype=np.intp)


def _systematic_design(
    X: npt.NDArray[np.int64], denom: int, order: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The design's panels (count vectors) and integer weights, for types in ``order``."""
    cum = np.cumsum(X[order])
    prev = cum - X[order]
    starts = np.unique(np.r_[0, np.mod(cum, denom)])
    weights = np.diff(np.r_[starts, denom]).astype(np.int64)
    panels = np.zeros((len(starts), len(X)), dtype=np.int64)
    for r, u in enumerate(starts):
        # points u + 1/2 + m*denom in [prev, cum): ceil((cum-u)/D) - ceil((prev-u)/D)
        panels[r, order] = (-((u - cum) // denom)) - (-((u - prev) // denom))
    return panels, weights


class _Repair:
    """Exchange repair of a design (see the module notes)."""

    def __init__(self, model: Model) -> None:
        self.tf = model.type_features.astype(np.int64)
        self.tf_float = self.tf.astype(np.float64)
        self.sizes = model.type_sizes.astype(np.int64)
        self.lo = model.feature_min
        self.hi = model.feature_max
        # each household's bound; the last entry (people in no household, load 0) is unused
        self.cap = np.r_[model.household_cap, 0]
        self.house = model.type_household
        self.n_houses = len(model.households)

    def _steps(
        self, counts: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per feature, the change in violation when a panel gains / loses one seat of it."""
        up = np.where(counts < self.lo, -1.0, np.where(counts >= self.hi, 1.0, 0.0))
        down = np.where(counts > self.hi, -1.0, np.where(counts <= self.lo, 1.0, 0.0))
        return up, down

    def _feature_violation(self, counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        v: npt.NDArray[np.int64] = np.maximum(self.lo - counts, 0).sum(-1) + np.maximum(
            counts - self.hi, 0
        ).sum(-1)
        return v

    def _load(self, panel: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        load = np.zeros(self.n_houses + 1, dtype=np.int64)
        np.add.at(load, self.house, panel)  # index -1 collects people in no household
        load[-1] = 0
        return load

    def _violation(self, fc: npt.NDArray[np.int64], load: npt.NDArray[np.int64]) -> int:
        return int(self._feature_violation(fc)) + int(np.maximum(load - self.cap, 0).sum())

    def run(
        self,
        panels: npt.NDArray[np.int64],
        weights: npt.NDArray[np.int64],
        rng: np.random.Generator,
        deadline: Callable[[], object],
    ) -> tuple[list[npt.NDArray[np.int64]], list[int], list[int], int]:
        """Repair; return the panels, weights, each panel's remaining violation (0: valid)
        and the number of exchanges."""
        P = [p.copy() for p in panels]
        w = [int(x) for x in weights]
        # per panel, until it changes: its types and the steps of its feature counts
        self._cache: dict[
            int, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64]]
        ] = {}
        fc = [p @ self.tf for p in P]
        load = [self._load(p) for p in P]
        viol = [self._violation(f, h) for f, h in zip(fc, load, strict=True)]
        # the same violations as an array that grows with P: the worst panel is its argmax
        worst = np.zeros(2 * len(P) + 16, dtype=np.int64)
        worst[: len(viol)] = viol
        budget = MAX_REPAIR_FACTOR * len(P) + 1000
        exchanges = 0
        while exchanges < budget:
            if exchanges % DEADLINE_EVERY == 0:
                deadline()
            a = int(np.argmax(worst))  # the first panel of largest violation
            if worst[a] <= 0:
                return P, w, viol, exchanges
            move = self._find(a, P, fc, load, viol, rng)
            if move is None:
                return P, w, viol, exchanges
            b, i, j = move
            if w[a] != w[b]:  # split the heavier panel so that the exchange is weight-neutral
                heavy, light = (a, b) if w[a] > w[b] else (b, a)
                P.append(P[heavy].copy())
                w.append(w[heavy] - w[light])
                fc.append(fc[heavy].copy())
                load.append(load[heavy].copy())
                viol.append(viol[heavy])
                if len(viol) > len(worst):
                    worst = np.r_[worst, np.zeros(len(worst), dtype=np.int64)]
                worst[len(viol) - 1] = viol[heavy]
                w[heavy] = w[light]
            P[a][i] -= 1
            P[a][j] += 1
            P[b][j] -= 1
            P[b][i] += 1
            for r in (a, b):
                self._cache.pop(r, None)
                fc[r] = P[r] @ self.tf
                load[r] = self._load(P[r])
                viol[r] = self._violation(fc[r], load[r])
                worst[r] = viol[r]
            exchanges += 1
        return P, w, viol, exchanges

    def _find(
        self,
        a: int,
        P: list[npt.NDArray[np.int64]],
        fc: list[npt.NDArray[np.int64]],
        load: list[npt.NDArray[np.int64]],
        viol: list[int],
        rng: np.random.Generator,
    ) -> tuple[int, int, int] | None:
        """The first improving exchange for panel ``a`` over partners in random order."""
        in_a = np.flatnonzero(P[a] > 0)
        lacking = fc[a] < self.lo
        excess = fc[a] > self.hi
        crowded = np.zeros(self.n_houses + 1, dtype=bool)
        crowded[:-1] = load[a][:-1] > self.cap[:-1]
        # per type, computed once for all partners: whether a seat of it brings in a value
        # that a lacks / takes out one it has in excess (or leaves a crowded household),
        # and its share of the change in a's violation
        brings: npt.NDArray[np.bool_] = np.any(self.tf[:, lacking] > 0, axis=1)
        relieves: npt.NDArray[np.bool_] = (
            np.any(self.tf[:, excess] > 0, axis=1) | crowded[self.house]
        )
        room_a: npt.NDArray[np.bool_] = np.asarray(P[a] < self.sizes)
        a_up, a_down = self._steps(fc[a])
        into_a = self.tf_float @ a_up
        out_of_a = self.tf_float @ a_down
        load_a = load[a]
        in_house, cap_of = self.house >= 0, self.cap[self.house]
        house_into_a = (in_house & (load_a[self.house] >= cap_of)).astype(np.int64)
        house_from_a = (in_house & (load_a[self.house] > cap_of)).astype(np.int64)
        for b in rng.permutation(len(P)):
            if b == a:
                continue
            cached = self._cache.get(int(b))
            if cached is None:
                cached = (np.flatnonzero(P[b] > 0), *self._steps(fc[b]))
                self._cache[int(b)] = cached
            in_b, b_up, b_down = cached
            out = in_a[P[b][in_a] < self.sizes[in_a]]
            into = in_b[room_a[in_b]]
            # an exchange that helps a must bring in a lacking value or take out an excess one
            # (or leave a crowded household); try the smaller of those two blocks
            helpful_in = into[brings[into]]
            if len(helpful_in):
                out_set, in_set = out, helpful_in
            else:
                helpful_out = out[relieves[out]]
                if not len(helpful_out):
                    continue
                out_set, in_set = helpful_out, into
            if len(out_set) == 0 or len(in_set) == 0:
                continue
            # each feature moves by at most one seat, so the change in violation is a sum
            # over features of +1/-1 steps: matrix-vector products and one product (all
            # small integers, so splitting the sums changes no value)
            tf_out, tf_in = self.tf_float[out_set], self.tf_float[in_set]
            gain = (
                (into_a[in_set] + tf_in @ b_down)[None, :]
                + (out_of_a[out_set] + tf_out @ b_up)[:, None]
                - (tf_out * (a_up + a_down + b_up + b_down)) @ tf_in.T
            )
            if self.n_houses:
                # a seat moving out of a household at most at its cap changes nothing; into
                # one at or above it adds one; moving within a household changes nothing
                h_out, h_in = self.house[out_set], self.house[in_set]
                load_b = load[b]
                into_b = (h_out >= 0) & (load_b[h_out] >= self.cap[h_out])
                from_b = (h_in >= 0) & (load_b[h_in] > self.cap[h_in])
                change = (house_into_a[in_set] - from_b)[None, :] + (
                    into_b - house_from_a[out_set]
                )[:, None]
                gain = gain + np.where(h_out[:, None] == h_in[None, :], 0, change)
            gain = np.where(out_set[:, None] == in_set[None, :], 1, gain)
            best = np.unravel_index(int(np.argmin(gain)), gain.shape)
            if gain[best] < -0.5:  # integer-valued
                return int(b), int(out_set[best[0]]), int(in_set[best[1]])
        return None


def _quantised_counts(
    sizes: npt.NDArray[np.intp],
    targets: npt.NDArray[np.float64],
    k: int,
    slots: int,
    order: npt.NDArray[np.intp],
) -> npt.NDArray[np.int64]:
    """Seats per type over ``slots`` equally likely panels, rounded along ``order`` so that
    running totals stay within one seat of the targets and the total is ``k * slots``."""
    wanted = sizes[order] * targets[order] * slots
    running = np.round(np.cumsum(wanted) * (k * slots) / max(wanted.sum(), 1e-300))
    seats = np.diff(np.r_[0, running.astype(np.int64)])
    counts = np.zeros(len(sizes), dtype=np.int64)
    counts[order] = np.clip(seats, 0, sizes[order].astype(np.int64) * slots)
    return counts


def decompose(
    model: Model,
    targets: npt.NDArray[np.float64],
    rng: np.random.Generator,
    attempts: int = 3,
    deadline: Callable[[], object] = lambda: None,
    max_designs: int = MAX_QUANTISED_DESIGNS,
) -> Decomposition:
    """Try to realise ``targets`` (per-person probability of each type) exactly.

    When the targets have a common denominator of at most ``MAX_EXACT_DENOMINATOR``, up to
    ``attempts`` exact designs (different category orders) are built and repaired, and the
    first that repairs fully is returned with ``exact=True``.  Otherwise, or when none
    repairs, designs over ``QUANTISED_SLOTS`` equally likely panels
    whose seats are the targets rounded to whole seats are repaired instead, and their valid
    panels are returned with ``exact=False``: their average is within rounding of the
    targets, which makes them good starting columns for an LP that reaches the targets
    exactly (:func:`panelsel.solve.algorithms.leximin.leximin`).

    ``max_designs`` caps the quantised designs (callers that only want some valid panels
    use fewer).  ``deadline`` is called every ``DEADLINE_EVERY`` exchanges and may raise to
    stop (the solver configuration's ``remaining``, which raises ``SolverError`` once time
    is up).
    """
    X, denom = rational_counts(model.type_sizes, targets, model.k)
    repair = _Repair(model)
    valid: list[npt.NDArray[np.int64]] = []
    total_exchanges = 0
    for _ in range(attempts if denom <= MAX_EXACT_DENOMINATOR else 0):
        order = _serpentine_order(model, rng)
        panels, weights = _systematic_design(X, denom, order)
        P, w, viol, exchanges = repair.run(panels, weights, rng, deadline)
        total_exchanges += exchanges
        if not any(viol) and not any(model.count_violations(p) for p in P):
            realised = np.sum([p * wt for p, wt in zip(P, w, strict=True)], axis=0)
            if not np.array_equal(realised, X):  # exchanges keep this invariant
                raise AssertionError("the repaired design lost its expected counts")
            merged: dict[bytes, tuple[npt.NDArray[np.int64], int]] = {}
            for p, wt in zip(P, w, strict=True):
                key = p.tobytes()
                prior = merged.get(key)
                merged[key] = (p, wt + (prior[1] if prior else 0))
            keys = sorted(merged)
            return Decomposition(
                panels=np.array([merged[key][0] for key in keys], dtype=np.int64),
                weights=np.array([merged[key][1] for key in keys], dtype=np.int64),
                denominator=denom,
                exact=True,
                exchanges=total_exchanges,
            )
        valid += [p for p, v in zip(P, viol, strict=True) if v == 0]
    designs = math.ceil(QUANTISED_PANELS_PER_TYPE * model.n_types / QUANTISED_SLOTS)
    for _ in range(min(max(designs, 1), max_designs)):
        order = _serpentine_order(model, rng)
        seats = _quantised_counts(model.type_sizes, targets, model.k, QUANTISED_SLOTS, order)
        if int(seats.sum()) != model.k * QUANTISED_SLOTS:  # clipped at a type's size
            break
        panels, weights = _systematic_design(seats, QUANTISED_SLOTS, order)
        P, w, viol, exchanges = repair.run(panels, weights, rng, deadline)
        total_exchanges += exchanges
        valid += [p for p, v in zip(P, viol, strict=True) if v == 0]
    n_types = model.n_types
    return Decomposition(
        panels=np.array(valid, dtype=np.int64).reshape(len(valid), n_types),
        weights=np.zeros(len(valid), dtype=np.int64),
        denominator=denom,
        exact=False,
        exchanges=total_exchanges,
    )
