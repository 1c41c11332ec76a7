"""Lottery algorithms, one module each, all built on :mod:`panelsel.colgen`."""

from __future__ import annotations

from collections.abc import Callable

from panelsel.algorithms.leximin import leximin
from panelsel.algorithms.maximin import maximin
from panelsel.algorithms.nash import nash
from panelsel.colgen import ProgressFn, TypeLottery
from panelsel.model import Model
from panelsel.solvers import SolverConfig

Algorithm = Callable[[Model, SolverConfig, ProgressFn], TypeLottery]

ALGORITHMS: dict[str, Algorithm] = {"leximin": leximin, "maximin": maximin, "nash": nash}

ALGORITHM_NAMES = [*ALGORITHMS, "legacy"]
"""Every ``--algorithm``: the lottery algorithms and the Monte-Carlo ``legacy`` procedure
(:mod:`panelsel.algorithms.legacy`), which has no lottery of its own."""

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "Algorithm",
    "TypeLottery",
    "leximin",
    "maximin",
    "nash",
]
