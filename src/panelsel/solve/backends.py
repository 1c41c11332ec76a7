"""Solver backends: one small interface, HiGHS through highspy (kept alive) or PuLP + CBC.

Column generation changes a model a little and solves it again, hundreds of times.  PuLP
rebuilds and re-sends the whole model on every solve, so the solver restarts from scratch; a
profile of a 500-person pool showed 70% of the time in those cold LP solves.  The HiGHS
backend therefore talks to highspy directly and keeps one ``Highs`` object per model, so that
added rows and changed costs are re-solved from the previous basis (warm start).  The CBC
backend keeps the same data and builds a PuLP model on each solve (CBC has no persistent
API through PuLP); it is the alternative (``--solver cbc``) and the cross-check.

Every solve checks the model status before values are read.  Only the feasibility ILP
(:class:`panelsel.solve.feasibility.QuotaILP`, ``infeasible_means_quotas``) may turn
``infeasible`` into :class:`~panelsel.errors.InfeasibleQuotasError`: every other model is
solved after that ILP has shown the quotas feasible, so an ``infeasible`` status there is a
numerical failure.  HiGHS then solves the model again from scratch (presolve on, then off,
then, for an LP, by the interior-point method) and, failing that, the run ends with a
:class:`~panelsel.errors.SolverError` (exit 4) that says what happened, never with exit 3.
Anything else that is not optimal raises :class:`~panelsel.errors.SolverError` too.

Tolerances
----------
``FEASIBILITY_TOLERANCE``
    The primal feasibility tolerance asked of both solvers by default (absolute, in a row's
    own units; HiGHS's and CBC's own default).  A solution may break any row by this much,
    so a bound read off one solution and imposed on the next solve (a fixed LEXIMIN level)
    needs a slack of several times the tolerance, in the row's units, or the next solve is
    feasible only within round-off and may be called infeasible.
``TIGHT_FEASIBILITY_TOLERANCE``
    The tolerance HiGHS is given for models whose solutions feed such bounds (the LEXIMIN
    level LPs): the slack those bounds need is a multiple of it, and a later level can use
    the slack, so the tighter the tolerance, the more exact the levels.  CBC keeps its
    default: asked for 1e-8 or less it called a feasible LP relaxation infeasible (a
    generated 614-person pool of ``benchmarks/stress.py``), so :attr:`Backend.tolerance`
    says what a model really has.
``FIX_SLACK_FACTOR``
    A bound read off one solution is imposed on the next solve with a slack of this many
    times the model's :attr:`Backend.tolerance`, in the row's units.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from panelsel import signals
from panelsel.defaults import DEFAULT_SOLVER
from panelsel.errors import (
    BadInputError,
    InfeasibleQuotasError,
    NumericalInfeasibilityError,
    SolverError,
    TimeLimitError,
)

SOLVERS = ("highs", "cbc")
MIP_REL_GAP = 1e-9
"""Relative optimality gap asked of the ILP solver; small, because pricing decides whether
the LP is optimal."""
INFINITY = float("inf")
FEASIBILITY_TOLERANCE = 1e-7
"""The primal feasibility tolerance of a model unless it asks for another (module docstring)."""
TIGHT_FEASIBILITY_TOLERANCE = 1e-9
"""The primal feasibility tolerance of the LEXIMIN level LPs with HiGHS (module docstring)."""
FIX_SLACK_FACTOR = 10.0
"""A bound read off a solution gets this many times the model's tolerance as slack."""

_banner_silenced = False


@contextlib.contextmanager
def _stdout_fd_silenced() -> Iterator[None]:
    """Redirect file descriptor 1 to /dev/null (solvers print from C/C++)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def check_time_limit(time_limit: float | None) -> None:
    """Refuse a time limit that is not a positive, finite number of seconds (``nan`` would
    silently mean no limit)."""
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise BadInputError(
            f"the time limit must be a positive number of seconds, not {time_limit}",
            hint="leave out --time-limit for no limit",
        )


def require_highs() -> None:
    """Import highspy, or fail: a run never switches solvers by itself, because another
    solver may find another optimal lottery and so draw another panel for the same seed.

    A signal that arrives during the import can surface as an ``ImportError`` (pybind11
    converts the handler's exception); that ends the run as an interrupt, not as a missing
    solver.
    """
    try:
        import highspy  # noqa: F401
    except ImportError as exc:
        if signals.was_interrupted():
            raise signals.last_signal() from None
        raise SolverError(
            f"the HiGHS solver could not be loaded ({exc})",
            hint="reinstall panelsel's dependencies (pip install highspy), or pass --solver cbc",
        ) from None


@dataclass
class SolverConfig:
    """Which solver to use and the overall deadline.

    ``name`` is ``"highs"`` (default) or ``"cbc"``; HiGHS that cannot be loaded is a
    :class:`~panelsel.errors.SolverError`, never a silent switch to CBC.
    """

    name: str = DEFAULT_SOLVER
    time_limit: float | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: dict[str, float] = field(default_factory=dict)
    """Seconds spent inside the solver, per model name (``"LEXIMIN master LP"``, ``"pricing
    problem"``, ...), for benchmarks; never written to ``lottery.json`` (timings differ between
    identical runs)."""

    def __post_init__(self) -> None:
        if self.name not in SOLVERS:
            raise BadInputError(
                f"unknown solver {self.name!r}", hint=f"choose one of: {', '.join(SOLVERS)}"
            )
        check_time_limit(self.time_limit)
        if self.name == "highs":
            require_highs()

    def remaining(self) -> float | None:
        """Seconds left, or None without a limit; raises once the limit has passed."""
        if self.time_limit is None:
            return None
        left = self.time_limit - (time.monotonic() - self.started)
        if left <= 0:
            raise TimeLimitError(
                f"the time limit of {self.time_limit:g} s ran out before the lottery was computed",
                hint="raise --time-limit, or simplify the quotas",
            )
        return left

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Add the time spent in the block to :attr:`seconds` under ``name``."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started

    def timed_out(self) -> bool:
        return self.time_limit is not None and (time.monotonic() - self.started >= self.time_limit)

    def backend(
        self,
        *,
        maximize: bool,
        name: str,
        infeasible_means_quotas: bool = False,
        primal_simplex: bool = False,
        tolerance: float = FEASIBILITY_TOLERANCE,
    ) -> Backend:
        """A new model; ``primal_simplex`` suits LPs that grow by columns (HiGHS only);
        ``tolerance`` is its primal feasibility tolerance."""
        if self.name == "highs":
            return HighsBackend(
                self,
                maximize=maximize,
                name=name,
                infeasible_means_quotas=infeasible_means_quotas,
                primal_simplex=primal_simplex,
                tolerance=tolerance,
            )
        return PulpBackend(
            self,
            maximize=maximize,
            name=name,
            infeasible_means_quotas=infeasible_means_quotas,
            tolerance=tolerance,
        )


Outcome = Literal["optimal", "infeasible", "time limit", "stopped with a solution", "other"]
"""What a solve ended in, in panelsel's words (each backend maps its own statuses here,
through one table): ``optimal``; ``infeasible``; ``time limit`` without a usable solution;
``stopped with a solution`` (a node or solution limit reached with a feasible point, for
the bounded pricing ILP); ``other``: anything else (a stall, a numerical error), which the
HiGHS LP path retries afresh and every other path reports as a solver failure."""

HIGHS_STATUS: dict[str, Outcome] = {
    "kOptimal": "optimal",
    "kInfeasible": "infeasible",
    "kTimeLimit": "time limit",
    "kSolutionLimit": "stopped with a solution",
}
"""HiGHS's model statuses (``HighsModelStatus`` member names) by outcome; every other
status (``kUnknown``, ``kIterationLimit``, ``kSolveError``, ``kInterrupt``, ...) is
``other``.  ``kSolutionLimit`` counts only with :data:`HIGHS_PRIMAL_FEASIBLE`."""

HIGHS_PRIMAL_FEASIBLE = 2
"""HiGHS's ``primal_solution_status`` of a feasible point (``kSolutionStatusFeasible``)."""

CBC_STATUS: dict[tuple[int, int], Outcome] = {
    (1, 1): "optimal",  # LpStatusOptimal, LpSolutionOptimal
    (1, 2): "stopped with a solution",  # LpStatusOptimal, LpSolutionIntegerFeasible
    (-1, -1): "infeasible",  # LpStatusInfeasible, LpSolutionInfeasible
}
"""PuLP's (``status``, ``sol_status``) pairs for CBC by outcome (PuLP's constants, checked
against :mod:`pulp` by the tests); an ``infeasible`` pair whatever its ``sol_status``
(PuLP also reports CBC stopped by its time limit before any solution so), every other
pair ``other``."""


def highs_outcome(status_name: str, primal_solution_status: int) -> Outcome:
    """A HiGHS model status (by name) as an :data:`Outcome`."""
    outcome = HIGHS_STATUS.get(status_name, "other")
    if outcome == "stopped with a solution" and primal_solution_status != HIGHS_PRIMAL_FEASIBLE:
        return "other"
    return outcome


def cbc_outcome(status: int, sol_status: int) -> Outcome:
    """PuLP's status pair of a CBC solve as an :data:`Outcome`."""
    if status == -1:
        return "infeasible"
    return CBC_STATUS.get((status, sol_status), "other")


def _numerical_infeasibility(solver: str, name: str, attempts: str) -> NumericalInfeasibilityError:
    return NumericalInfeasibilityError(
        f"the {solver} solver reported the {name} infeasible although the feasibility ILP had "
        f"shown that panels meeting every quota exist ({attempts}): a numerical failure of "
        "the solver, not a verdict on the quotas",
        hint="try the other solver with --solver; please report this with the input files",
    )


def _infeasible_quotas() -> InfeasibleQuotasError:
    return InfeasibleQuotasError(
        "no panel meets all the quotas together (each quota can be met on its own, but not "
        "all at once)",
        hint="loosen the quotas of categories whose values are strongly linked in the pool "
        "(run with fewer categories to find which)",
    )


class Backend:
    """A linear (or integer) program that can grow and be solved again.

    Variables and rows are numbered from 0 in the order they are added.
    """

    def __init__(
        self,
        config: SolverConfig,
        *,
        maximize: bool,
        name: str,
        infeasible_means_quotas: bool = False,
        tolerance: float = FEASIBILITY_TOLERANCE,
    ) -> None:
        self.config = config
        self.maximize = maximize
        self.name = name
        self.infeasible_means_quotas = infeasible_means_quotas
        self.tolerance = tolerance
        """The model's primal feasibility tolerance (CBC: always its default)."""
        self.solves = 0
        self._start()

    def _start(self) -> None:
        """Set up the empty model (for subclasses)."""

    @property
    def fix_slack(self) -> float:
        """The slack of a bound read off this model's solution (``FIX_SLACK_FACTOR``)."""
        return FIX_SLACK_FACTOR * self.tolerance

    def add_vars(
        self,
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
        cost: npt.ArrayLike,
        *,
        integer: bool = False,
    ) -> None:
        raise NotImplementedError

    def add_row(
        self, lower: float, upper: float, index: npt.ArrayLike, value: npt.ArrayLike
    ) -> None:
        raise NotImplementedError

    def add_column(
        self, lower: float, upper: float, cost: float, rows: npt.ArrayLike, values: npt.ArrayLike
    ) -> None:
        """A new variable with its coefficients in existing rows."""
        raise NotImplementedError

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        raise NotImplementedError

    def delete_vars(self, index: npt.NDArray[np.intp]) -> None:
        """Remove variables; later ones move down to keep the numbering dense."""
        raise NotImplementedError

    def set_costs(self, index: npt.ArrayLike, cost: npt.ArrayLike) -> None:
        raise NotImplementedError

    def set_coeff(self, row: int, col: int, value: float) -> None:
        raise NotImplementedError

    def solve(self) -> tuple[npt.NDArray[np.float64], float]:
        """Solve; return the variable values and the objective, or raise.

        After an LP solve, :attr:`row_duals` holds the rows' dual values (HiGHS's sign
        convention, which CBC through PuLP shares: for a maximisation, a binding ``>=`` row
        has a dual <= 0).
        """
        raise NotImplementedError

    row_duals: npt.NDArray[np.float64] = np.zeros(0)

    def solve_limited(
        self, start: npt.NDArray[np.float64] | None, max_nodes: int
    ) -> tuple[npt.NDArray[np.float64], float, bool]:
        """Solve an integer program from the feasible solution ``start`` with at most
        ``max_nodes`` branch-and-bound nodes (a limit that does not depend on the machine's
        speed); return the values, the objective and whether they are proven optimal."""
        raise NotImplementedError

    def solve_interior(self, crossover: bool = False) -> tuple[npt.NDArray[np.float64], float]:
        """Solve by an interior-point method where the backend has one (HiGHS); with
        ``crossover``, end at a basic solution that later simplex solves start from."""
        return self.solve()

    def _fail(self, status: str, time_limit: bool = False) -> SolverError:
        if time_limit or self.config.timed_out():
            return TimeLimitError(
                f"the time limit of {self.config.time_limit:g} s ran out in the {self.name}",
                hint="raise --time-limit",
            )
        return SolverError(
            f"the {self.config.name} solver returned status {status!r} for the {self.name}",
            hint="try the other solver with --solver",
        )


def _option(h: Any, name: str) -> Any:
    """A HiGHS option's current value (highspy returns a (status, value) pair)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


class HighsBackend(Backend):
    """A persistent highspy model: changes are re-solved from the previous basis."""

    def __init__(
        self,
        config: SolverConfig,
        *,
        maximize: bool,
        name: str,
        infeasible_means_quotas: bool = False,
        primal_simplex: bool = False,
        tolerance: float = FEASIBILITY_TOLERANCE,
    ) -> None:
        super().__init__(
            config,
            maximize=maximize,
            name=name,
            infeasible_means_quotas=infeasible_means_quotas,
            tolerance=tolerance,
        )
        import highspy

        global _banner_silenced
        if not _banner_silenced:  # highspy prints a banner once per process
            with _stdout_fd_silenced():
                self.h = highspy.Highs()  # type: ignore[no-untyped-call]
            _banner_silenced = True
        else:
            self.h = highspy.Highs()  # type: ignore[no-untyped-call]
        self._hs = highspy
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", 1)
        self.h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        self.h.setOptionValue("mip_abs_gap", 0.0)
        self.h.setOptionValue("primal_feasibility_tolerance", tolerance)
        self.primal_simplex = primal_simplex
        self.restarts = 0
        self._strategy = _option(self.h, "simplex_strategy")
        self._solver = _option(self.h, "solver")
        if primal_simplex:  # added columns keep the basis primal feasible
            self.h.setOptionValue("simplex_strategy", 4)
        self.h.changeObjectiveSense(
            highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        )
        self.n_vars = 0
        self.integer = False

    def add_vars(
        self,
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
        cost: npt.ArrayLike,
        *,
        integer: bool = False,
    ) -> None:
        lo = np.asarray(lower, dtype=np.float64)
        up = np.asarray(upper, dtype=np.float64)
        c = np.asarray(cost, dtype=np.float64)
        n = len(lo)
        self.h.addCols(n, c, lo, up, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        if integer:
            idx = np.arange(self.n_vars, self.n_vars + n, dtype=np.int32)
            self.h.changeColsIntegrality(n, idx, np.full(n, self._hs.HighsVarType.kInteger))
            self.integer = True
        self.n_vars += n

    def add_row(
        self, lower: float, upper: float, index: npt.ArrayLike, value: npt.ArrayLike
    ) -> None:
        idx = np.asarray(index, dtype=np.int32)
        val = np.asarray(value, dtype=np.float64)
        self.h.addRow(lower, upper, len(idx), idx, val)

    def add_column(
        self, lower: float, upper: float, cost: float, rows: npt.ArrayLike, values: npt.ArrayLike
    ) -> None:
        idx = np.asarray(rows, dtype=np.int32)
        self.h.addCol(cost, lower, upper, len(idx), idx, np.asarray(values, dtype=np.float64))
        self.n_vars += 1

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        self.h.changeRowBounds(row, lower, upper)

    def delete_vars(self, index: npt.NDArray[np.intp]) -> None:
        idx = np.sort(np.asarray(index, dtype=np.int32))
        self.h.deleteCols(len(idx), idx)
        self.n_vars -= len(idx)

    def set_costs(self, index: npt.ArrayLike, cost: npt.ArrayLike) -> None:
        idx = np.asarray(index, dtype=np.int32)
        self.h.changeColsCost(len(idx), idx, np.asarray(cost, dtype=np.float64))

    def set_coeff(self, row: int, col: int, value: float) -> None:
        self.h.changeCoeff(row, col, value)

    def solve(self) -> tuple[npt.NDArray[np.float64], float]:
        left = self.config.remaining()
        # HiGHS measures its time limit on a clock that runs across the object's solves
        self.h.setOptionValue(
            "time_limit", INFINITY if left is None else self.h.getRunTime() + left
        )
        self.solves += 1
        with _stdout_fd_silenced(), self.config.timed(self.name):
            self.h.run()
        outcome = self._outcome()
        if outcome not in ("optimal", "infeasible", "time limit"):
            # a warm start can stall on a degenerate LP (status "Unknown"): solve afresh
            # with the dual simplex method, then, for an LP, with the interior-point method
            outcome = self._afresh(
                (("simplex_strategy", 1), ("solver", "ipm")),
                ends={"optimal", "infeasible", "time limit"},
            )
        if outcome == "infeasible" and not self.infeasible_means_quotas:
            # the quotas were shown feasible: this is round-off (a warm start, presolve)
            outcome = self._afresh(
                (("presolve", "on"), ("presolve", "off"), ("solver", "ipm")),
                ends={"optimal", "time limit"},
            )
            if outcome == "infeasible":
                raise _numerical_infeasibility(
                    "highs",
                    self.name,
                    "also when solved afresh, without presolve and by the interior-point method"
                    if not self.integer
                    else "also when solved afresh and without presolve",
                )
        if outcome == "optimal":
            solution = self.h.getSolution()
            x = np.array(solution.col_value, dtype=np.float64)
            if not self.integer:
                self.row_duals = np.array(solution.row_dual, dtype=np.float64)
            return x, float(self.h.getInfo().objective_function_value)
        if outcome == "infeasible" and self.infeasible_means_quotas:
            raise _infeasible_quotas()
        raise self._fail(self._status_text(), outcome == "time limit")

    def _outcome(self) -> Outcome:
        """The last solve's model status, through :data:`HIGHS_STATUS`."""
        status = self.h.getModelStatus()
        return highs_outcome(status.name, int(self.h.getInfo().primal_solution_status))

    def _status_text(self) -> str:
        return str(self.h.modelStatusToString(self.h.getModelStatus()))

    def _afresh(
        self, attempts: tuple[tuple[str, str | int], ...], *, ends: set[Outcome]
    ) -> Outcome:
        """Solve from scratch (no basis kept) with each option in turn, until the outcome is
        in ``ends``; each option is set back after its attempt."""
        outcome = self._outcome()
        for option, value in attempts:
            if option == "solver" and self.integer:
                break
            saved = _option(self.h, option)
            self.h.clearSolver()
            self.h.setOptionValue(option, value)
            try:
                with _stdout_fd_silenced(), self.config.timed(self.name):
                    self.h.run()
            finally:
                self.h.setOptionValue(option, saved)
            outcome = self._outcome()
            self.restarts += 1
            if outcome in ends:
                break
        return outcome

    def solve_limited(
        self, start: npt.NDArray[np.float64] | None, max_nodes: int
    ) -> tuple[npt.NDArray[np.float64], float, bool]:
        left = self.config.remaining()
        self.h.setOptionValue(
            "time_limit", INFINITY if left is None else self.h.getRunTime() + left
        )
        self.h.setOptionValue("mip_max_nodes", int(max_nodes))
        if start is not None:
            solution = self._hs.HighsSolution()
            solution.col_value = [float(v) for v in start]
            solution.value_valid = True
            self.h.setSolution(solution)
        self.solves += 1
        with _stdout_fd_silenced(), self.config.timed(self.name):
            self.h.run()
        outcome = self._outcome()
        if outcome in ("optimal", "stopped with a solution"):
            x = np.array(self.h.getSolution().col_value, dtype=np.float64)
            objective = float(self.h.getInfo().objective_function_value)
            return x, objective, outcome == "optimal"
        raise self._fail(self._status_text(), outcome == "time limit")

    def solve_interior(self, crossover: bool = False) -> tuple[npt.NDArray[np.float64], float]:
        """One solve by the interior-point method, then back to simplex.

        Much faster than simplex on a large, dense LP solved once from scratch (an interior
        solution spreads probability over more columns but is as valid).  Without
        ``crossover`` later solves start the simplex method afresh; with it, from the basis
        that crossover finds.
        """
        self.h.setOptionValue("solver", "ipm")
        self.h.setOptionValue("run_crossover", "on" if crossover else "off")
        try:
            return self.solve()
        finally:
            self.h.setOptionValue("solver", self._solver)
            self.h.setOptionValue("run_crossover", "on")


DEADLINE_CHECK_ROWS = 64
"""PuLP models check the deadline every this many rows while they are built."""


class PulpBackend(Backend):
    """The same model kept as arrays and handed to CBC through PuLP on each solve."""

    def _start(self) -> None:
        self.tolerance = FEASIBILITY_TOLERANCE  # CBC fails with tighter ones (module doc)
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.cost: list[float] = []
        self.integer: list[bool] = []
        self.rows: list[tuple[float, float, dict[int, float]]] = []

    def add_vars(
        self,
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
        cost: npt.ArrayLike,
        *,
        integer: bool = False,
    ) -> None:
        lo = np.asarray(lower, dtype=np.float64).tolist()
        self.lower += lo
        self.upper += np.asarray(upper, dtype=np.float64).tolist()
        self.cost += np.asarray(cost, dtype=np.float64).tolist()
        self.integer += [integer] * len(lo)

    def add_row(
        self, lower: float, upper: float, index: npt.ArrayLike, value: npt.ArrayLike
    ) -> None:
        coeffs = dict(
            zip(np.asarray(index).tolist(), np.asarray(value, float).tolist(), strict=True)
        )
        self.rows.append((float(lower), float(upper), coeffs))

    def add_column(
        self, lower: float, upper: float, cost: float, rows: npt.ArrayLike, values: npt.ArrayLike
    ) -> None:
        col = len(self.lower)
        self.add_vars([lower], [upper], [cost])
        for r, v in zip(np.asarray(rows).tolist(), np.asarray(values, float).tolist(), strict=True):
            self.rows[r][2][col] = v

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        self.rows[row] = (float(lower), float(upper), self.rows[row][2])

    def delete_vars(self, index: npt.NDArray[np.intp]) -> None:
        gone = set(np.asarray(index).tolist())
        keep = [i for i in range(len(self.lower)) if i not in gone]
        new_index = {old: new for new, old in enumerate(keep)}
        self.lower = [self.lower[i] for i in keep]
        self.upper = [self.upper[i] for i in keep]
        self.cost = [self.cost[i] for i in keep]
        self.integer = [self.integer[i] for i in keep]
        self.rows = [
            (lo, up, {new_index[i]: v for i, v in coeffs.items() if i in new_index})
            for lo, up, coeffs in self.rows
        ]

    def set_costs(self, index: npt.ArrayLike, cost: npt.ArrayLike) -> None:
        for i, c in zip(np.asarray(index).tolist(), np.asarray(cost, float).tolist(), strict=True):
            self.cost[i] = c

    def set_coeff(self, row: int, col: int, value: float) -> None:
        self.rows[row][2][col] = value

    def _solver(self, mip: bool, **extra: Any) -> Any:
        import pulp

        left = self.config.remaining()
        opts = {
            "msg": False,
            "mip": mip,
            "timeLimit": left,
            "gapRel": MIP_REL_GAP if mip else None,
            "gapAbs": 0.0 if mip else None,
            **extra,
        }
        # PuLP 3 ships a CBC binary (PULP_CBC_CMD); otherwise a cbc on the PATH (COIN_CMD)
        bundled = pulp.PULP_CBC_CMD(**opts, _skip_v4_deprecation=True)
        if bundled.available():
            return bundled
        on_path = pulp.COIN_CMD(**opts)
        if on_path.available():
            return on_path
        raise SolverError(
            "the CBC solver is not available",
            hint="reinstall PuLP 3 (it ships CBC), install cbc, or use --solver highs",
        )

    def solve(self) -> tuple[npt.NDArray[np.float64], float]:
        x, objective, _ = self._run()
        return x, objective

    def solve_limited(
        self, start: npt.NDArray[np.float64] | None, max_nodes: int
    ) -> tuple[npt.NDArray[np.float64], float, bool]:
        return self._run(start, max_nodes)

    def _run(
        self, start: npt.NDArray[np.float64] | None = None, max_nodes: int | None = None
    ) -> tuple[npt.NDArray[np.float64], float, bool]:
        import pulp

        prob = pulp.LpProblem(
            self.name.replace(" ", "_"), pulp.LpMaximize if self.maximize else pulp.LpMinimize
        )
        inf = INFINITY
        xs = [
            prob.add_variable(
                f"x{i}",
                lowBound=None if lo == -inf else lo,
                upBound=None if up == inf else up,
                cat=pulp.LpInteger if integer else pulp.LpContinuous,
            )
            for i, (lo, up, integer) in enumerate(
                zip(self.lower, self.upper, self.integer, strict=True)
            )
        ]
        prob.setObjective(
            pulp.lpSum(c * xs[i] for i, c in enumerate(self.cost) if c != 0.0)
            or pulp.LpAffineExpression()
        )
        names: list[list[str]] = []
        for r, (lo, up, coeffs) in enumerate(self.rows):
            if r % DEADLINE_CHECK_ROWS == 0:
                # building a large model in PuLP takes seconds (a best-effort spread LP on a
                # council pool: 6 s), which CBC's own time limit does not count
                self.config.remaining()
            expr = pulp.lpSum(v * xs[i] for i, v in coeffs.items() if v != 0.0)
            names.append([])
            if lo == up:
                prob += expr == lo, f"r{r}"
                names[-1].append(f"r{r}")
                continue
            if lo != -inf:
                prob += expr >= lo, f"r{r}_lo"
                names[-1].append(f"r{r}_lo")
            if up != inf:
                prob += expr <= up, f"r{r}_up"
                names[-1].append(f"r{r}_up")
        extra: dict[str, Any] = {}
        if start is not None:
            for var, value in zip(xs, start.tolist(), strict=True):
                var.setInitialValue(value)
            extra["warmStart"] = True
        if max_nodes is not None:
            extra["maxNodes"] = int(max_nodes)
        self.solves += 1
        try:
            with _stdout_fd_silenced(), self.config.timed(self.name):
                prob.solve(self._solver(mip=any(self.integer), **extra))
        except pulp.PulpSolverError as exc:
            raise SolverError(
                f"the CBC solver failed on the {self.name}: {exc}", hint="try --solver highs"
            ) from None
        outcome = cbc_outcome(prob.status, prob.sol_status)
        proven = outcome == "optimal"
        stopped_early = max_nodes is not None and outcome == "stopped with a solution"
        if proven or stopped_early:
            x = np.array([v.varValue if v.varValue is not None else 0.0 for v in xs])
            if not any(self.integer):
                self.row_duals = np.array(
                    [sum(prob.get_constraint_by_name(n).pi or 0.0 for n in ns) for ns in names]
                )
            return x, float(pulp.value(prob.objective) or 0.0), proven
        if outcome == "infeasible":
            if self.config.timed_out():
                # CBC stopped by the time limit before it found a solution: PuLP reports
                # that as "Infeasible" (a stress run took it for a numerical failure of the
                # pricing problem, exit 4); never a verdict on the quotas
                raise self._fail("stopped by the time limit", time_limit=True)
            if self.infeasible_means_quotas:
                raise _infeasible_quotas()
            raise _numerical_infeasibility("cbc", self.name, "solved from scratch, as always")
        raise self._fail(pulp.LpStatus.get(prob.status, str(prob.status)))
