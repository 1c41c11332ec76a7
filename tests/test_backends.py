"""Solver backends: status handling."""

from __future__ import annotations

from typing import Any

import highspy
import pytest

from panelsel.solve.backends import INFINITY, SolverConfig


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


def _hard_ilp(solver: str) -> Any:
    """min sum x over 0/1 x with 30 random covering rows: needs branching to prove."""
    import numpy as np

    rng = np.random.default_rng(3)
    ilp: Any = SolverConfig(solver).backend(maximize=False, name="test ILP")
    ilp.add_vars(np.zeros(40), np.ones(40), rng.integers(5, 20, 40).astype(float), integer=True)
    for _ in range(60):
        cols = rng.choice(40, size=4, replace=False)
        ilp.add_row(1.0, INFINITY, cols, np.ones(4))
    return ilp


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_node_limited_solve_keeps_the_start_and_reports_proof(solver: str) -> None:
    import numpy as np

    start = np.ones(40)  # feasible, and poor
    ilp = _hard_ilp(solver)
    cost = np.array(ilp.cost if solver == "cbc" else ilp.h.getLp().col_cost_)
    x, value, proven = ilp.solve_limited(start, 1)
    assert value <= float(cost @ start) + 1e-9
    assert np.all(np.abs(x - np.round(x)) < 1e-6)
    _, best_value, best_proven = _hard_ilp(solver).solve_limited(start, 1_000_000)
    assert best_proven
    assert value >= best_value - 1e-9
    if value > best_value + 1e-9:
        assert not proven  # stopped before the optimum, and says so


@pytest.mark.parametrize("quotas_verdict", [False, True])
def test_cbc_stopped_by_the_time_limit_is_a_time_limit_not_infeasibility(
    monkeypatch: pytest.MonkeyPatch, quotas_verdict: bool
) -> None:
    """PuLP reports CBC stopped by its time limit before any solution as "Infeasible"; a
    stress run (seed 630000, CBC, --time-limit 60) turned that into a numerical failure of
    the pricing problem (exit 4).  Past the deadline it is a time limit, and never a verdict
    that the quotas are infeasible."""
    import time

    import pulp

    from panelsel.errors import InfeasibleQuotasError, SolverError, TimeLimitError

    configs: list[SolverConfig] = []

    def stopped(self: Any, *args: Any, **kwargs: Any) -> int:
        if timed_out:  # the solve used up the time left
            configs[-1].started = time.monotonic() - 11.0
        self.status = pulp.LpStatusInfeasible
        self.sol_status = pulp.LpSolutionNoSolutionFound
        return int(self.status)

    monkeypatch.setattr(pulp.LpProblem, "solve", stopped)
    for timed_out in (True, False):
        config = SolverConfig("cbc", time_limit=10.0)
        configs.append(config)
        ilp: Any = config.backend(maximize=True, name="pricing problem")
        ilp.add_vars([0.0], [1.0], [1.0], integer=True)
        ilp.add_row(-INFINITY, 1.0, [0], [1.0])
        ilp.infeasible_means_quotas = quotas_verdict
        expected: type[Exception]
        if timed_out:
            expected = TimeLimitError
        elif quotas_verdict:
            expected = InfeasibleQuotasError
        else:
            expected = SolverError
        with pytest.raises(expected) as caught:
            ilp.solve()
        if timed_out:
            assert "time limit" in str(caught.value)
        elif not quotas_verdict:
            assert not isinstance(caught.value, TimeLimitError)
            assert "numerical" in str(caught.value) or "infeasible" in str(caught.value)


def test_each_backend_has_one_status_table_whose_entries_are_its_own() -> None:
    import highspy
    import pulp

    from panelsel.solve.backends import CBC_STATUS, HIGHS_STATUS, cbc_outcome, highs_outcome

    names = {m for m in dir(highspy.HighsModelStatus) if m.startswith("k")}
    assert set(HIGHS_STATUS) <= names
    assert highs_outcome("kOptimal", 0) == "optimal"
    assert highs_outcome("kSolutionLimit", 2) == "stopped with a solution"
    assert highs_outcome("kSolutionLimit", 0) == "other"  # no feasible point: not usable
    assert highs_outcome("kUnknown", 2) == "other" and highs_outcome("kInterrupt", 0) == "other"
    assert {
        (pulp.LpStatusOptimal, pulp.LpSolutionOptimal): "optimal",
        (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible): "stopped with a solution",
        (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible): "infeasible",
    } == CBC_STATUS
    assert cbc_outcome(pulp.LpStatusInfeasible, pulp.LpSolutionNoSolutionFound) == "infeasible"
    assert cbc_outcome(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound) == "other"
