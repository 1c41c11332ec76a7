"""Lotteries over panels of people: expansion from types, marginals and the seeded draw.

Expansion
---------
A count vector says how many members of each type a panel takes, not which.  To turn a lottery
over count vectors into a lottery over panels of named people in which every member of a type
has the same probability, each count vector is split by *systematic sampling* with one shared
uniform number ``V`` in [0, 1): the members of type ``t`` (``n`` people in input order, ``c`` to
select) are those at positions ``floor((m + V) * n / c)`` for ``m = 0 .. c-1``.  Every member
is then selected for exactly a fraction ``c / n`` of the values of ``V``.  The selection of
type ``t`` only changes when ``V`` crosses a multiple of ``1 / d_t`` with
``d_t = n / gcd(n, c)``, so the count vector becomes one panel per interval between the
union of those breakpoints, with probability the interval's length (exact rational
arithmetic, no sampling).

Exact lotteries
---------------
When the algorithm gives integer weights in units of ``1/D`` (:mod:`panelsel.solve.decompose`), a
cheaper expansion is exact: lay the ``D`` units out in order (each count vector repeated as
many times as its weight) and let every type hand out its seats round-robin, each unit taking
the next ``c`` members of the type in cyclic order.  A type whose seats over all units are a
multiple ``q`` of its size then has every member selected in exactly ``q`` units, so every
member's probability is ``q / D``, and the lottery has at most ``D`` panels instead of up to
one per breakpoint per count vector.  It is used when that divisibility holds and ``D`` is
at most ``MAX_CYCLIC_UNITS``; otherwise the systematic expansion above.

The draw
--------
Panels are put in a canonical order (lexicographic by sorted member indices); the draw takes
``u = rng.random()`` from a :class:`numpy.random.Generator` seeded with the recorded seed and
picks the first panel whose cumulative probability exceeds ``u``.  Same lottery and seed, same
panel.

Large pools: a lottery over types
---------------------------------
The number of panels of people grows with the pool (one per breakpoint, per count vector): a
20,000-person pool gave 110,112 panels (19 MB), 200,000 people ten times that.  When
:func:`listed_size` says the expansion would list more than ``MAX_LISTED_PANELS`` panels, the
lottery is kept over count vectors instead (:class:`GroupedLottery`): the vectors in canonical
(lexicographic) order with their probabilities, and each type's members.  The draw takes
``u = rng.random()`` and picks a vector by the same rule, then, for each type in index order
with ``0 < c < size`` members to select, a uniformly random ``c`` of its members by a partial
Fisher-Yates shuffle of the positions ``0 .. size-1`` (step ``i``: swap position ``i`` with
``rng.integers(i, size)``), all with the same generator.  Every member of type ``t`` is then
selected with probability exactly ``sum_j p_j c_jt / size_t``, which is what is published.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from panelsel.inputs.model import Model
from panelsel.lotteries import GroupedLottery, Lottery, TypeLottery

LOTTERY_PRUNE = 1e-12
"""Panels with a smaller probability are dropped (and the rest renormalised)."""
MAX_LISTED_PANELS = 20_000
"""Above this many panels of people, a lottery is published over count vectors of types."""
MAX_CYCLIC_UNITS = 20_000
MAX_CYCLIC_SEATS = 5_000_000
"""The round-robin expansion is used up to this many units (``1/D`` slices of probability)
and seats in all units; beyond, systematic sampling per count vector."""


def _type_selection(size: int, count: int, interval: int, denom: int) -> npt.NDArray[np.intp]:
    """Positions selected in a type while ``V`` is in ``[interval, interval + 1) / denom``."""
    m = np.arange(count, dtype=np.int64)
    # floor((m + V) * n / c) with V = (2*interval + 1) / (2*denom), in integers
    num = ((2 * interval + 1) + 2 * m * denom) * size
    return (num // (2 * denom * count)).astype(np.intp)


def expand_counts(
    model: Model, counts: npt.NDArray[np.int64], probability: float
) -> list[tuple[npt.NDArray[np.intp], float]]:
    """Split one count vector into panels of people with equal chances within each type."""
    sizes = model.type_sizes
    full = [model.type_members[t] for t in np.flatnonzero(counts == sizes) if counts[t] > 0]
    split = [int(t) for t in np.flatnonzero((counts > 0) & (counts < sizes))]
    denoms = {t: int(sizes[t]) // math.gcd(int(sizes[t]), int(counts[t])) for t in split}
    points = sorted(
        {Fraction(i, d) for d in set(denoms.values()) for i in range(d)} | {Fraction(0)}
    )
    points.append(Fraction(1))
    out = []
    base = np.concatenate(full) if full else np.zeros(0, dtype=np.intp)
    for lo, hi in itertools.pairwise(points):
        mid = (lo + hi) / 2
        parts = [base]
        for t in split:
            d = denoms[t]
            pos = _type_selection(int(sizes[t]), int(counts[t]), math.floor(mid * d), d)
            parts.append(model.type_members[t][pos])
        members = np.sort(np.concatenate(parts)).astype(np.intp)
        out.append((members, probability * float(hi - lo)))
    return out


def _cyclic_applies(model: Model, type_lottery: TypeLottery) -> bool:
    """Whether the round-robin expansion of an exact lottery applies (module notes)."""
    weights, denom = type_lottery.weights, type_lottery.denominator
    if weights is None or denom is None:
        return False
    seats = weights @ type_lottery.columns  # seats of each type over all units
    return not (
        int(weights.sum()) != denom
        or denom > MAX_CYCLIC_UNITS
        or denom * model.k > MAX_CYCLIC_SEATS
        or np.any(seats % model.type_sizes.astype(np.int64))
    )


def _cyclic_panels(
    model: Model, type_lottery: TypeLottery
) -> list[tuple[npt.NDArray[np.intp], float]] | None:
    """The round-robin expansion of an exact lottery, or None where it does not apply."""
    if not _cyclic_applies(model, type_lottery):
        return None
    weights, denom = type_lottery.weights, type_lottery.denominator
    assert weights is not None and denom is not None
    panels = round_robin(model.type_members, type_lottery.columns, weights)
    return [(members, 1.0 / denom) for members in panels]


def round_robin(
    orders: list[npt.NDArray[np.intp]],
    columns: npt.NDArray[np.int64],
    copies: npt.ArrayLike,
) -> list[npt.NDArray[np.intp]]:
    """``copies[r]`` panels of people for each count vector ``columns[r]``, in order: each
    type's seats are handed out round-robin along ``orders[t]`` (its members in the order to
    use), continuing where the previous panel stopped, so that a type's members get seats as
    evenly as the counts allow.  Each panel's members are sorted."""
    sizes = np.array([len(o) for o in orders], dtype=np.int64)
    offset = np.zeros(len(orders), dtype=np.int64)
    out = []
    for counts, units in zip(columns, np.asarray(copies).tolist(), strict=True):
        taken = np.flatnonzero(counts)
        for _ in range(int(units)):
            parts = [
                orders[t][(offset[t] + np.arange(counts[t])) % sizes[t]] for t in taken.tolist()
            ]
            offset[taken] += counts[taken]
            out.append(np.sort(np.concatenate(parts)).astype(np.intp))
    return out


def expand(
    model: Model, type_lottery: TypeLottery, check_time: Callable[[], object] = lambda: None
) -> Lottery:
    """Turn a lottery over count vectors into a canonical lottery over panels of people.

    ``check_time`` is called before each count vector is expanded (it raises when the time
    limit has run out)."""
    merged: dict[bytes, tuple[npt.NDArray[np.intp], float]] = {}
    cyclic = _cyclic_panels(model, type_lottery)
    if cyclic is not None:
        pieces = cyclic
    else:
        pieces = []
        for counts, p in zip(type_lottery.columns, type_lottery.probabilities, strict=True):
            if p > LOTTERY_PRUNE:
                check_time()
                pieces.extend(expand_counts(model, counts, float(p)))
    for members, q in pieces:
        key = members.tobytes()
        old = merged.get(key)
        merged[key] = (members, q + (old[1] if old else 0.0))
    items = [v for v in merged.values() if v[1] > LOTTERY_PRUNE]
    items.sort(key=lambda v: tuple(v[0].tolist()))
    probs = np.array([v[1] for v in items], dtype=np.float64)
    return Lottery(panels=[v[0] for v in items], probabilities=probs / probs.sum())


def draw(lottery: Lottery, rng: np.random.Generator) -> int:
    """Index of the panel drawn with ``rng`` (one ``rng.random()`` call, inverse CDF)."""
    u = rng.random()
    cumulative = np.cumsum(lottery.probabilities)
    index = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
    return min(index, len(lottery) - 1)


def _divisors(d: int) -> list[int]:
    small = [i for i in range(1, math.isqrt(d) + 1) if d % i == 0]
    return sorted({*small, *(d // i for i in small)})


def _totient(e: int) -> int:
    result, m, p = e, e, 2
    while p * p <= m:
        if m % p == 0:
            while m % p == 0:
                m //= p
            result -= result // p
        p += 1
    if m > 1:
        result -= result // m
    return result


def listed_size(model: Model, type_lottery: TypeLottery) -> int:
    """How many panels :func:`expand` would list, before merging equal panels (cheap: the
    breakpoints ``i / d`` of a count vector are the reduced fractions whose denominator
    divides some ``d``, counted with Euler's totient)."""
    if _cyclic_applies(model, type_lottery):
        return int(type_lottery.denominator or 0)
    sizes = model.type_sizes
    total = 0
    for counts, p in zip(type_lottery.columns, type_lottery.probabilities, strict=True):
        if p <= LOTTERY_PRUNE:
            continue
        split = np.flatnonzero((counts > 0) & (counts < sizes))
        denoms = {int(sizes[t]) // math.gcd(int(sizes[t]), int(counts[t])) for t in split}
        divisors = {e for d in denoms for e in _divisors(d)}
        total += sum(_totient(e) for e in divisors) if divisors else 1
    return total


def group(model: Model, type_lottery: TypeLottery) -> GroupedLottery:
    """The canonical :class:`GroupedLottery` of ``type_lottery``."""
    merged: dict[bytes, tuple[npt.NDArray[np.int64], float]] = {}
    for counts, p in zip(type_lottery.columns, type_lottery.probabilities, strict=True):
        if p > LOTTERY_PRUNE:
            c = np.asarray(counts, dtype=np.int64)
            old = merged.get(c.tobytes())
            merged[c.tobytes()] = (c, float(p) + (old[1] if old else 0.0))
    items = sorted(merged.values(), key=lambda v: tuple(v[0].tolist()))
    probs = np.array([v[1] for v in items], dtype=np.float64)
    columns = np.array([v[0] for v in items], dtype=np.int64).reshape(len(items), model.n_types)
    return GroupedLottery(columns, probs / probs.sum(), list(model.type_members))


def members_of(
    counts: npt.NDArray[np.int64],
    type_members: list[npt.NDArray[np.intp]],
    rng: np.random.Generator,
) -> npt.NDArray[np.intp]:
    """The members drawn for one count vector (the module notes' partial Fisher-Yates)."""
    parts = [np.zeros(0, dtype=np.intp)]
    for t in np.flatnonzero(counts).tolist():
        members, c = type_members[t], int(counts[t])
        if c >= len(members):
            parts.append(members)
            continue
        positions = np.arange(len(members))
        for i in range(c):
            j = int(rng.integers(i, len(members)))
            positions[i], positions[j] = positions[j], positions[i]
        parts.append(members[positions[:c]])
    return np.sort(np.concatenate(parts)).astype(np.intp)


def draw_grouped(
    lottery: GroupedLottery, rng: np.random.Generator
) -> tuple[int, npt.NDArray[np.intp]]:
    """The count vector drawn with ``rng`` (as :func:`draw`) and its members."""
    u = rng.random()
    cumulative = np.cumsum(lottery.probabilities)
    index = min(
        int(np.searchsorted(cumulative, u * cumulative[-1], side="right")), len(lottery) - 1
    )
    return index, members_of(lottery.columns[index], lottery.type_members, rng)
