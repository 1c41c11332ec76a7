"""What every algorithm is and returns: one protocol, one result type.

An :class:`Algorithm` turns a :class:`~panelsel.inputs.model.Model` into an
:class:`AlgorithmResult`: either an exact :class:`~panelsel.lotteries.TypeLottery`
(``leximin``, ``maximin``, ``nash``) or a Monte-Carlo :class:`Estimate` (``legacy``).  The
result says which it is, which optimality certificate the audit applies to it and how the
run finished, so that no caller tests algorithm names.

The best lottery found so far, for ``--best-effort``, is an explicit :class:`Incumbent`
passed to the algorithm, which offers a builder after each improving solve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from panelsel.defaults import DEFAULT_GAMMA, DEFAULT_SAMPLES
from panelsel.inputs.model import Model
from panelsel.lotteries import Lottery, TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.backends import SolverConfig

Certificate = Literal["levels", "maximin", "nash", "extremes", "none"]
"""The optimality certificate the audit checks (one checker per kind,
:data:`panelsel.audit.optimality.CHECKERS`): LEXIMIN's level-by-level weights (files without
them get the maximin bound of its first level), the maximin bound, the Nash gap, the dual
bound of an objective over the largest and smallest chance (Goldilocks, MINIMAX:
:attr:`Algorithm.extremes`), or none (legacy makes no optimality claim)."""
Finish = Literal["optimal", "time limit", "fewer samples"]
"""``optimal``: the algorithm finished.  ``time limit``: ``--best-effort`` used the incumbent
when the limit ran out.  ``fewer samples``: legacy stopped before ``--samples`` runs."""


class Incumbent:
    """The best lottery found so far: algorithms :meth:`offer` a builder after each improving
    solve; ``--best-effort`` builds it when the time limit runs out."""

    def __init__(self) -> None:
        self._build: Callable[[], TypeLottery] | None = None

    def offer(self, build: Callable[[], TypeLottery]) -> None:
        self._build = build

    def best(self) -> TypeLottery | None:
        """The lottery of the last offer, or None if nothing was offered."""
        return None if self._build is None else self._build()


@dataclass(frozen=True)
class Request:
    """What a run asks of an algorithm besides the model: the seed (legacy's runs), the
    number of legacy runs, whether a time limit may end it with the best found so far, and
    Goldilocks' ``gamma``."""

    seed: int
    samples: int = DEFAULT_SAMPLES
    best_effort: bool = False
    gamma: float = DEFAULT_GAMMA


@dataclass
class Estimate:
    """Monte-Carlo estimates of the legacy procedure's selection probabilities.

    Attributes
    ----------
    lottery : Lottery
        The empirical distribution of the sampled panels (its marginals are the estimates).
    probabilities, low, high : ndarray of float, shape (n,)
        Estimates and the bounds of their 99% Wilson intervals.
    samples, restarts : int
        Runs made and restarts they needed in all.
    drawn : ndarray of int
        The first run's panel: the selected panel.
    """

    lottery: Lottery
    probabilities: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    samples: int
    restarts: int
    drawn: npt.NDArray[np.intp]
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class AlgorithmResult:
    """One algorithm's answer on a model.

    Exactly one of ``lottery`` (an exact lottery over types) and ``estimate`` (legacy's
    Monte-Carlo estimates) is set.  ``proven`` is False when the run was cut short
    (``finish`` says how).
    """

    algorithm: str
    certificate: Certificate
    finish: Finish
    lottery: TypeLottery | None = None
    estimate: Estimate | None = None

    def __post_init__(self) -> None:
        assert (self.lottery is None) != (self.estimate is None), "one lottery or estimate"

    @property
    def exact(self) -> bool:
        return self.lottery is not None

    @property
    def proven(self) -> bool:
        return self.finish == "optimal"


class Solve(Protocol):
    def __call__(
        self,
        model: Model,
        config: SolverConfig,
        progress: ProgressFn,
        incumbent: Incumbent,
        request: Request,
        /,
    ) -> AlgorithmResult: ...


@dataclass(frozen=True)
class Algorithm:
    """One ``--algorithm``: its name, whether its probabilities are exact, its certificate
    and how to run it."""

    name: str
    exact: bool
    certificate: Certificate
    solve: Solve
    summary: str = ""
    """One line for a person choosing: what the lottery makes fair (help, report, web)."""
    colour: str = "#555555"
    """Its curve's colour in the reports (tests look for it in a screenshot)."""
    extremes: Callable[[int, int, float], tuple[float, float]] | None = None
    """For an objective ``a·max + b/min`` over the chances: ``(a, b)`` from ``n``, ``k``
    and ``gamma``, which the audit's certificate re-derives the bound with."""
