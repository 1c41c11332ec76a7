"""Lottery algorithms, one module each, all built on :mod:`panelsel.colgen`."""

from __future__ import annotations

from collections.abc import Callable

from panelsel.algorithms.leximin import TypeLottery, leximin
from panelsel.colgen import ProgressFn, SolverConfig
from panelsel.model import Model

Algorithm = Callable[[Model, SolverConfig, ProgressFn], TypeLottery]

ALGORITHMS: dict[str, Algorithm] = {"leximin": leximin}

__all__ = ["ALGORITHMS", "Algorithm", "TypeLottery", "leximin"]
