"""Solver backends: status handling."""

from __future__ import annotations

from typing import Any

import highspy
import pytest

from panelsel.solvers import INFINITY, SolverConfig


def test_highs_retries_a_solve_that_ends_with_status_unknown() -> None:
    lp: Any = SolverConfig("highs").backend(maximize=True, name="test LP")
    lp.add_vars([0.0, 0.0], [1.0, 1.0], [1.0, 2.0])
    lp.add_row(-INFINITY, 1.0, [0, 1], [1.0, 1.0])
    real = lp.h

    class Flaky:  # reports "Unknown" once, as a stalled warm start does
        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def getModelStatus(self) -> Any:
            self.calls += 1
            if self.calls == 1:
                return highspy.HighsModelStatus.kUnknown
            return real.getModelStatus()

    lp.h = Flaky()
    x, value = lp.solve()
    assert value == pytest.approx(2.0)
    assert list(x) == pytest.approx([0.0, 1.0])
    assert lp.restarts == 1
    assert real.getOptionValue("solver")[1] == "choose"  # options restored
    assert real.getOptionValue("simplex_strategy")[1] == 1
