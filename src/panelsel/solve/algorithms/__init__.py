"""Lottery algorithms, one module each, all built on :mod:`panelsel.solve.colgen`."""

from __future__ import annotations

from collections.abc import Callable

from panelsel.inputs.model import Model
from panelsel.lotteries import TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.algorithms.leximin import leximin
from panelsel.solve.algorithms.maximin import maximin
from panelsel.solve.algorithms.nash import nash
from panelsel.solve.backends import SolverConfig

Algorithm = Callable[[Model, SolverConfig, ProgressFn], TypeLottery]

ALGORITHMS: dict[str, Algorithm] = {"leximin": leximin, "maximin": maximin, "nash": nash}

ALGORITHM_NAMES = [*ALGORITHMS, "legacy"]
"""Every ``--algorithm``: the lottery algorithms and the Monte-Carlo ``legacy`` procedure
(:mod:`panelsel.solve.algorithms.legacy`), which has no lottery of its own."""

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "Algorithm",
    "TypeLottery",
    "leximin",
    "maximin",
    "nash",
]
