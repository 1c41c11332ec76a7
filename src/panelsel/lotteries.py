"""The three lotteries every stage passes on (the data types of the pipeline).

:class:`TypeLottery`
    What an algorithm computes: probabilities over count vectors (how many seats each type of
    interchangeable people gets).
:class:`Lottery`
    A distribution over panels of people, after :func:`panelsel.lottery.expand.expand`.
:class:`GroupedLottery`
    A distribution over count vectors with each type's members, for pools too large to list
    every panel of people (:func:`panelsel.lottery.expand.group`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class LevelProof:
    """One LEXIMIN level and the Lagrangian weights that prove it.

    For the types fixed before the level (``F``, held at their levels' values ``f``) and any
    ``y >= 0`` over types, every lottery ``x`` (per-type probabilities) that gives ``F`` at
    least ``f`` satisfies ``min over the other types of x <= (max over valid panels of
    sum_t y_t c_t/|t| - sum_F y_t f_t) / sum_(t not in F) y_t``.  When that bound is the
    level's ``value``, no lottery that keeps the earlier levels gives every other type more,
    and a type with ``y_t > 0`` gets exactly ``value`` in every lottery that gives every
    other type at least ``value`` (so it is fixed).  lottery.json records the weights per
    person and the audit checks the bound with its own MILP
    (:func:`panelsel.audit.certificates.leximin_certificate`).

    Attributes
    ----------
    value : float
        The level's probability: what the lottery gives ``types`` (for an unfinished level,
        the least it gives any type not yet fixed).
    types : ndarray of int
        The types fixed at this level (empty for the level a best-effort run stopped in).
    weights : ndarray of float, shape (T,)
        ``y`` per type (a type's total; each member carries ``1/|t|`` of it).
    bound : float
        What the weights prove at most for the level: ``value`` for a proven level, the
        stated upper bound for an unfinished one.
    """

    value: float
    types: npt.NDArray[np.intp]
    weights: npt.NDArray[np.float64]
    bound: float


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
        How the algorithm reached its optimum (the LEXIMIN module's ``*_METHOD`` names).
    weights, denominator : ndarray of int and int, or None
        For an exact lottery, ``probabilities == weights / denominator`` in integers.
    """

    columns: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    targets: npt.NDArray[np.float64]
    stats: dict[str, float] = field(default_factory=dict)
    method: str = "column generation"
    weights: npt.NDArray[np.int64] | None = None
    denominator: int | None = None
    floors: npt.NDArray[np.float64] | None = None
    """For a best-effort snapshot: the proven levels' values per type (NaN elsewhere)."""
    duals: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
    """For Goldilocks and MINIMAX: the certificate's weights ``alpha`` and ``beta`` per
    type (a type's total; each member has ``1/|t|`` of it), which lottery.json records and
    the audit checks (:mod:`panelsel.solve.algorithms.goldilocks`)."""
    levels: list[LevelProof] | None = None
    """For LEXIMIN: every level, in order, with the weights that prove it; a best-effort
    lottery's last entry is the level it stopped in, with the weights of its upper bound."""


@dataclass
class Lottery:
    """A probability distribution over panels of people.

    Attributes
    ----------
    panels : list of ndarray of int
        Each panel's members as sorted 0-based row indices into the pool.
    probabilities : ndarray of float
        One per panel, summing to 1.
    """

    panels: list[npt.NDArray[np.intp]]
    probabilities: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.panels)

    def marginals(self, n: int) -> npt.NDArray[np.float64]:
        """Each person's selection probability: the total probability of panels with them."""
        out = np.zeros(n, dtype=np.float64)
        for members, p in zip(self.panels, self.probabilities, strict=True):
            out[members] += p
        return out


@dataclass
class GroupedLottery:
    """A lottery over count vectors of types, for pools too large to list every panel of
    people (see the module notes).

    Attributes
    ----------
    columns : ndarray of int, shape (V, T)
        The count vectors, in canonical (lexicographic) order, each once.
    probabilities : ndarray of float, shape (V,)
        One per vector, summing to 1.
    type_members : list of ndarray of int
        Each type's members (pool rows, ascending).
    """

    columns: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    type_members: list[npt.NDArray[np.intp]]

    def __len__(self) -> int:
        return len(self.probabilities)

    def marginals(self, n: int) -> npt.NDArray[np.float64]:
        """Each person's exact selection probability: their type's expected seats over its
        size."""
        seats = self.probabilities @ self.columns
        out = np.zeros(n, dtype=np.float64)
        for t, members in enumerate(self.type_members):
            out[members] = seats[t] / len(members)
        return out
