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
