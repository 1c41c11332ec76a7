"""Rounding a lottery to a uniform lottery over ``m`` numbered panels, for a public draw.

A lottery over thousands of panels with irregular probabilities can only be drawn by a
computer.  A *uniform* lottery over ``m`` panels (repetition allowed) can be drawn in public
by picking a number from 1 to ``m`` with dice, balls or a public random beacon.  Flanigan,
Kehne and Procaccia [1]_ show that any lottery can be rounded to such an ``m``-uniform
lottery while every person's selection probability moves by little:

* at most ``k / m`` (their Beck-Fiala argument, ``k`` the panel size), and
* at most ``sqrt((1 + ln 2 / ln C) / 2) * sqrt(C ln C) / m + 1 / m`` where ``C`` is the
  number of distinct feature vectors (types) in the pool (rounding the lottery over types,
  then spreading each type's seats evenly over its members).

:func:`uniform_bound` is the smaller of the two.  For ``C = 1`` the second formula is
undefined; there every panel holds ``k`` people of the one type and only the spreading step
moves a probability, by less than ``1 / m``, which is the value used.

Method
------
The lottery is rounded at the level of types.  Two of the paper's methods are used:

*ilp* -- the integer program that minimises the largest change of any person's
probability (the paper's "ILP minimising the maximum change", made exact for people rather
than types)::

    minimise    Z
    subject to  sum_c x_c = m,                      x_c >= 0 integer, c in the lottery's support
                S_t = sum_c c_t x_c = n_t q_t + r_t,   0 <= r_t <= (n_t - 1) b_t,  b_t binary
                q_t       >= m pi_t - Z
                q_t + b_t <= m pi_t + Z

where ``c_t`` is how many members of type ``t`` (``n_t`` people, probability ``pi_t`` each
before rounding) count vector ``c`` takes, and ``x_c`` how many of the ``m`` panels use it.
``S_t`` seats go to type ``t``; spread round-robin over its members, each member gets
``q_t = floor(S_t / n_t)`` or ``q_t + 1`` of them (``b_t`` says whether anyone gets the
extra seat), so a person's probability after rounding is ``q_t / m`` or ``(q_t + 1) / m``
and ``Z / m`` is exactly the largest change.  Both of the paper's bounds come from
roundings that keep to the lottery's support, so the optimum is within them.  The program
starts from the pipage rounding below and may use ``ILP_MAX_NODES`` branch-and-bound nodes;
``lottery.json`` says whether the result was proven optimal or is the best found (never
worse than the start).

*pipage* -- for lotteries too large for the integer program: a vertex ``y`` of
``{y >= 0: sum_c y_c = m, sum_c c_t y_c = m sum_c p_c c_t}`` over the support (the paper's
panel LP; reached by Caratheodory's reduction, :func:`support_vertex`) has at most ``T + 1``
count vectors and the same seats per type; dependent
(pipage) rounding sends each ``y_c`` to its floor or ceiling, keeping ``sum = m`` and every
type's seats in expectation.  The best of ``PIPAGE_TRIES`` roundings drawn with the seed is
kept; should none be within the bound, the integer program above restricted to the floors
and ceilings of ``y`` decides.

``auto`` (the default) is *ilp* for lotteries of at most ``ILP_MAX_COLUMNS`` count vectors
over ``ILP_MAX_TYPES`` types, else *pipage*.  Every choice and limit counts size or work,
never time, so that the same inputs and seed give the same panels on any machine.
Whatever the method, the result is checked against :func:`uniform_bound`
(:class:`~panelsel.errors.SolverError` otherwise).

The ``m`` count vectors are then turned into panels of people: each type's members are put
in an order drawn with the recorded seed (so who gets an extra seat is decided by lot, not
by the order of the CSV) and hand out their seats round-robin, panel after panel.  A panel
takes at most ``n_t`` consecutive members of a type, so nobody sits twice in one panel, and
the panels keep their count vectors, so they meet the quotas.  Finally the panels are
sorted (lexicographically by their members' row numbers) and numbered 1 to ``m``.

Notes
-----
``ROUNDING_TOLERANCE`` absorbs the floating-point error of the optimal lottery's
probabilities when the change is compared with the bound.

References
----------
.. [1] B. Flanigan, G. Kehne and A. D. Procaccia, "Fair Sortition Made Transparent",
   Advances in Neural Information Processing Systems 34 (NeurIPS 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from panelsel.errors import BadInputError, SolverError
from panelsel.inputs.model import Model
from panelsel.lotteries import Lottery, TypeLottery
from panelsel.lottery.expand import LOTTERY_PRUNE, round_robin
from panelsel.solve.backends import INFINITY, SolverConfig

MAX_PANELS = 100_000
"""Largest ``--panels``: the numbered list is published, and a public draw needs a number
people can pick."""
ROUNDING_TOLERANCE = 1e-9
"""Slack when a probability change is compared with the bound."""
INTEGRALITY_TOLERANCE = 1e-6
ROUNDING_METHODS = ("auto", "ilp", "pipage")
ILP_MAX_COLUMNS = 1_000
ILP_MAX_TYPES = 100
"""``auto`` uses the integer program up to these sizes, pipage rounding beyond.  Measured:
the example (140 count vectors, 35 types) is proven optimal in 0.5 s; 78 vectors over 80
types use the 2,000 nodes in 7.6 s; 1,664 vectors over 106 types take 51 s (so not auto)."""
VERTEX_PIVOT = 1e-9
"""Entries of a null vector smaller than this (relative to its largest) are taken as 0 when
choosing which weight to move to 0 (avoids dividing by round-off)."""
ILP_MAX_NODES = 2_000
"""Branch-and-bound nodes the integer program may use (a limit of work, not of time)."""
PIPAGE_TRIES = 64
"""Dependent roundings drawn; the one with the smallest largest change is kept."""
REFERENCE = "Flanigan, Kehne & Procaccia, Fair Sortition Made Transparent, NeurIPS 2021"


def beck_fiala_bound(k: int, m: int) -> float:
    """``k / m``: the paper's bound from the Beck-Fiala theorem."""
    return k / m


def types_bound(n_types: int, m: int) -> float:
    """The paper's bound through the lottery over ``n_types`` types (``1 / m`` for one type)."""
    if n_types <= 1:
        return 1.0 / m
    c = float(n_types)
    return math.sqrt((1 + math.log(2) / math.log(c)) / 2) * math.sqrt(c * math.log(c)) / m + 1 / m


def uniform_bound(k: int, n_types: int, m: int) -> float:
    """The largest change of any probability the rounding to ``m`` panels may make."""
    return min(beck_fiala_bound(k, m), types_bound(n_types, m))


@dataclass
class Rounded:
    """A uniform lottery over ``m`` numbered panels and how far it is from the optimum.

    ``lottery.panels[j]`` is panel number ``j + 1``; every probability is ``1 / m``.
    """

    lottery: Lottery
    before: npt.NDArray[np.float64]
    after: npt.NDArray[np.float64]
    m: int
    n_types: int
    k: int
    method: str = "ilp"
    """How the counts were rounded (``ilp`` or ``pipage``, with why when it was not the one
    asked for)."""
    requested: str = "auto"
    """The ``--rounding`` asked for (``method`` says what was done), so a rerun can repeat
    it."""

    @property
    def change(self) -> npt.NDArray[np.float64]:
        return self.after - self.before

    @property
    def largest_change(self) -> float:
        return float(np.abs(self.change).max())

    @property
    def worst_loss(self) -> float:
        """The largest fall of anyone's probability (0 when nobody loses)."""
        return float(max(0.0, -self.change.min()))

    @property
    def bound(self) -> float:
        return uniform_bound(self.k, self.n_types, self.m)

    def as_dict(self) -> dict[str, float | int | str]:
        """The figures recorded in ``lottery.json`` and printed by ``--json``."""
        return {
            "panels": self.m,
            "method": self.method,
            "requested": self.requested,
            "reference": REFERENCE,
            "types": self.n_types,
            "bound": self.bound,
            "bound_beck_fiala": beck_fiala_bound(self.k, self.m),
            "bound_types": types_bound(self.n_types, self.m),
            "largest_change": self.largest_change,
            "worst_loss": self.worst_loss,
            "min_before": float(self.before.min()),
            "min_after": float(self.after.min()),
        }


MIN_PANELS = 2
"""The fewest numbered panels a public draw can choose among."""


def check_panels(m: int | None) -> None:
    """Refuse a ``--panels`` value no public draw can use (exit 2)."""
    if m is None:
        return
    if m == 1:
        # one numbered panel is chosen by the rounding, which the private seed drives: the
        # "public" draw would have nothing left to decide
        raise BadInputError(
            "--panels 1 publishes a single panel, chosen by the private seed: the public draw "
            "would decide nothing",
            hint="publish at least 2 panels; 1000 is usual: three ten-sided dice pick a number "
            "from 1 to 1000",
        )
    if m < MIN_PANELS or m > MAX_PANELS:
        raise BadInputError(
            f"--panels must be between {MIN_PANELS} and {MAX_PANELS:,}, not {m}",
            hint="1000 is usual: three ten-sided dice pick a number from 1 to 1000",
        )


def support_vertex(
    columns: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64], m: int
) -> npt.NDArray[np.float64]:
    """A vertex ``y`` of ``{y >= 0 : sum y = m, y @ columns = m * p @ columns}`` over the
    lottery's support: the same seats per type as ``m * p`` with linearly independent count
    vectors, so at most ``T + 1`` of them (the paper's panel LP).

    Reached from ``m * p`` by Caratheodory's reduction rather than by an LP solver (an LP
    of 1,362 rows took 83 s where this takes about 4): take the null space of the support's
    constraint matrix (an SVD, with the usual rank cut-off), move along a null vector until
    a count vector's weight hits 0, drop it, and eliminate its row from the remaining null
    vectors, until none is left.
    """
    x = m * probabilities.astype(np.float64)
    matrix = np.vstack([np.ones(len(columns)), columns.T.astype(np.float64)])
    # V of the SVD; the full square U is only needed (and small) with fewer rows than columns
    _, singular, vt = np.linalg.svd(matrix, full_matrices=matrix.shape[0] < matrix.shape[1])
    cutoff = max(matrix.shape) * np.finfo(np.float64).eps * (singular.max(initial=0.0))
    rank = int((singular > cutoff).sum())
    null = vt[rank:].T
    alive = np.arange(len(x))
    while null.shape[1] > 0:
        v = null[:, -1]
        null = null[:, :-1]
        scale = np.abs(v).max()
        if scale == 0.0:
            continue
        if not np.any(v < -VERTEX_PIVOT * scale):
            v = -v
        down = np.flatnonzero(v < -VERTEX_PIVOT * scale)
        ratios = x[down] / -v[down]
        j = int(down[np.argmin(ratios)])
        x = x + ratios.min() * v
        x[j] = 0.0
        null = null - np.outer(v, null[j] / v[j])
        keep = np.arange(len(x)) != j
        x, null, alive = x[keep], null[keep], alive[keep]
    y = np.zeros(len(columns))
    y[alive] = np.clip(x, 0.0, None)
    return y


def round_counts(
    columns: npt.NDArray[np.int64],
    pi: npt.NDArray[np.float64],
    sizes: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    m: int,
    config: SolverConfig,
) -> tuple[npt.NDArray[np.int64], bool]:
    """Solve the integer program of the module notes from the rounding ``start`` (counts
    per count vector, summing to ``m``), with at most ``ILP_MAX_NODES`` branch-and-bound
    nodes.

    Returns how many of the ``m`` panels take each count vector, and whether that is proven
    to have the smallest largest change (else it is the best found, never worse than
    ``start``).
    """
    R, T = columns.shape
    target = m * pi
    ilp = config.backend(maximize=False, name="rounding to a uniform lottery")
    # variables: x (R), q (T), r (T), b (T), Z
    ilp.add_vars(np.zeros(R), np.full(R, float(m)), np.zeros(R), integer=True)
    ilp.add_vars(np.zeros(T), np.full(T, float(m)), np.zeros(T), integer=True)
    ilp.add_vars(np.zeros(T), (sizes - 1).astype(float), np.zeros(T), integer=True)
    ilp.add_vars(np.zeros(T), np.ones(T), np.zeros(T), integer=True)
    ilp.add_vars([0.0], [INFINITY], [1.0])
    x0, q0, r0, b0, z = 0, R, R + T, R + 2 * T, R + 3 * T
    ilp.add_row(m, m, np.arange(R), np.ones(R))
    for t in range(T):
        used = np.flatnonzero(columns[:, t])
        ilp.add_row(
            0.0,
            0.0,
            np.concatenate([x0 + used, [q0 + t, r0 + t]]),
            np.concatenate([columns[used, t], [-sizes[t], -1]]).astype(float),
        )
        ilp.add_row(-INFINITY, 0.0, [r0 + t, b0 + t], [1.0, -float(sizes[t] - 1)])
        ilp.add_row(float(target[t]), INFINITY, [q0 + t, z], [1.0, 1.0])
        ilp.add_row(-INFINITY, float(target[t]), [q0 + t, b0 + t, z], [1.0, 1.0, -1.0])
    start_change = largest_change(start, columns, pi, sizes, m)
    q, r = np.divmod(start @ columns, sizes)
    initial = np.concatenate([start, q, r, (r > 0).astype(np.int64), [start_change]]).astype(
        np.float64
    )
    values, _, proven = ilp.solve_limited(initial, ILP_MAX_NODES)
    raw = values[x0 : x0 + R]
    if np.any(np.abs(raw - np.round(raw)) > INTEGRALITY_TOLERANCE):
        raise SolverError(
            "the solver returned a fractional rounding of the lottery",
            hint="try the other solver with --solver",
        )
    counts = np.round(raw).astype(np.int64)
    if int(counts.sum()) != m:
        raise SolverError(
            f"the rounding of the lottery has {int(counts.sum())} panels, not {m}",
            hint="try the other solver with --solver",
        )
    if largest_change(counts, columns, pi, sizes, m) > start_change:
        return start, False  # a solver that lost the start: keep the better rounding
    return counts, proven


def largest_change(
    counts: npt.NDArray[np.int64],
    columns: npt.NDArray[np.int64],
    pi: npt.NDArray[np.float64],
    sizes: npt.NDArray[np.int64],
    m: int,
) -> float:
    """``Z``: the largest change (in units of ``1 / m``) of a person's probability when
    ``counts[r]`` panels take count vector ``r`` and each type's seats are spread evenly."""
    seats = counts @ columns
    q, r = np.divmod(seats, sizes)
    target = m * pi
    return float(max(np.max(target - q), np.max(q + (r > 0) - target), 0.0))


def pipage(y: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Dependent (pipage) rounding of ``y``: each entry goes to its floor or ceiling, the
    ceiling with probability equal to its fractional part, and the sum is kept."""
    base = np.floor(y)
    frac = y - base
    frac[frac <= INTEGRALITY_TOLERANCE] = 0.0
    frac[frac >= 1 - INTEGRALITY_TOLERANCE] = 1.0
    open_ = [int(i) for i in np.flatnonzero((frac > 0) & (frac < 1))]
    while len(open_) >= 2:
        i, j = open_[-2], open_[-1]
        up_i = min(1 - frac[i], frac[j])  # i rises, j falls
        down_i = min(frac[i], 1 - frac[j])  # i falls, j rises
        if rng.random() < down_i / (up_i + down_i):
            frac[i] += up_i
            frac[j] -= up_i
        else:
            frac[i] -= down_i
            frac[j] += down_i
        for index in (j, i):
            if frac[index] <= INTEGRALITY_TOLERANCE or frac[index] >= 1 - INTEGRALITY_TOLERANCE:
                frac[index] = round(frac[index])
                open_.remove(index)
    if open_:  # the sum was not whole (rounding error): round the last one to nearest
        frac[open_[0]] = round(frac[open_[0]])
    return (base + frac).astype(np.int64)


def rounded_counts(
    model: Model,
    type_lottery: TypeLottery,
    m: int,
    config: SolverConfig,
    rng: np.random.Generator,
    method: str = "auto",
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], str]:
    """The count vectors of the ``m`` panels, how many panels take each, and the method.

    Pipage first, always: the lottery moved to a vertex of the panel LP (at most ``T + 1``
    count vectors, the same seats per type), then the best of ``PIPAGE_TRIES`` dependent
    roundings drawn with ``rng``.  ``"pipage"`` stops there.  ``"ilp"`` then solves the
    integer program over the whole support, started from that rounding, with at most
    ``ILP_MAX_NODES`` branch-and-bound nodes: the smallest largest change when proven,
    otherwise the best found.  ``"auto"``: ``"ilp"`` for supports of at most
    ``ILP_MAX_COLUMNS`` count vectors over at most ``ILP_MAX_TYPES`` types, else
    ``"pipage"``.  Every limit counts work, not time, so the same inputs and seed give the
    same panels on any machine.  Should a rounding be outside the bound (which the paper's
    theorems rule out for the optimum), the integer program is tried from it before
    :func:`round_lottery` refuses it.
    """
    if method not in ROUNDING_METHODS:
        raise BadInputError(
            f"unknown rounding method {method!r}",
            hint=f"choose one of: {', '.join(ROUNDING_METHODS)}",
        )
    keep = type_lottery.probabilities > LOTTERY_PRUNE
    columns = type_lottery.columns[keep].astype(np.int64)
    probabilities = type_lottery.probabilities[keep] / type_lottery.probabilities[keep].sum()
    sizes = model.type_sizes.astype(np.int64)
    pi = probabilities @ columns / sizes
    R = len(columns)
    if method == "auto":
        small = R <= ILP_MAX_COLUMNS and model.n_types <= ILP_MAX_TYPES
        method = "ilp" if small else "pipage"
    y = support_vertex(columns, probabilities, m)
    used = np.flatnonzero(y > INTEGRALITY_TOLERANCE)
    tries = [pipage(y[used], rng) for _ in range(PIPAGE_TRIES)]
    scores = [largest_change(c, columns[used], pi, sizes, m) for c in tries]
    counts = np.zeros(R, dtype=np.int64)
    counts[used] = tries[int(np.argmin(scores))]
    if int(counts.sum()) != m:
        raise SolverError(
            f"the rounding of the lottery has {int(counts.sum())} panels, not {m}",
            hint="try --rounding ilp, or the other solver with --solver",
        )
    scope = (
        f"pipage: best of {PIPAGE_TRIES} dependent roundings of a vertex of the panel LP "
        f"({len(used)} count vectors)"
    )
    bound = uniform_bound(model.k, model.n_types, m) * m
    outside = largest_change(counts, columns, pi, sizes, m) > bound + ROUNDING_TOLERANCE * m
    if method == "ilp" or outside:
        counts, proven = round_counts(columns, pi, sizes, counts, m, config)
        scope = (
            f"ilp: integer program over all {R} count vectors of the lottery, started from "
            + ("pipage" if not outside else "a pipage rounding outside the bound")
            + (
                "; proven the smallest largest change"
                if proven
                else f"; best found in {ILP_MAX_NODES:,} nodes, not proven the smallest"
            )
        )
    chosen = counts > 0
    return columns[chosen], counts[chosen], scope


def spread(
    model: Model,
    columns: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> list[npt.NDArray[np.intp]]:
    """Turn ``counts[r]`` copies of each count vector into panels of people, each type's
    seats handed out round-robin in an order drawn with ``rng``; sorted, not yet numbered."""
    sizes = model.type_sizes.astype(np.int64)
    order = [model.type_members[t][rng.permutation(int(sizes[t]))] for t in range(len(sizes))]
    panels = round_robin(order, columns, counts)
    panels.sort(key=lambda members: tuple(members.tolist()))
    return panels


def round_lottery(
    model: Model,
    type_lottery: TypeLottery,
    before: npt.NDArray[np.float64],
    m: int,
    config: SolverConfig,
    rng: np.random.Generator,
    method: str = "auto",
    *,
    requested: str | None = None,
    instead_because: str | None = None,
) -> Rounded:
    """Round ``type_lottery`` (whose people have probabilities ``before``) to ``m`` panels.

    ``requested`` is the ``--rounding`` asked for when ``method`` is used instead, and
    ``instead_because`` says why (both recorded in :attr:`Rounded.method`).

    Raises
    ------
    SolverError
        The solver failed, or (which the paper's theorems rule out) the rounding moved a
        probability by more than :func:`uniform_bound`.
    """
    if not 1 <= m <= MAX_PANELS:  # the options' own check (check_panels) is stricter
        raise BadInputError(f"the lottery cannot be rounded to {m} panels")
    columns, counts, scope = rounded_counts(model, type_lottery, m, config, rng, method)
    panels = spread(model, columns, counts, rng)
    lottery = Lottery(panels=panels, probabilities=np.full(m, 1.0 / m))
    if instead_because is not None:
        scope += f" ({instead_because})"
    rounded = Rounded(
        lottery,
        before,
        lottery.marginals(model.n),
        m,
        model.n_types,
        model.k,
        scope,
        requested if requested is not None else method,
    )
    if rounded.largest_change > rounded.bound + ROUNDING_TOLERANCE:
        raise SolverError(
            f"internal check failed: rounding to {m} panels moved a probability by "
            f"{rounded.largest_change:.6f}, more than the bound {rounded.bound:.6f}",
            hint="please report this; try the other solver with --solver",
        )
    return rounded
