"""The shared column-generation core: pricing ILP, restricted master LPs, solver adapters.

Columns are *count vectors*: for each type of interchangeable registrants (see
:mod:`panelsel.model`), how many of its members a panel takes.  A count vector ``c`` is a
valid panel when ``sum(c) == k``, ``0 <= c[t] <= |type t|``, every feature count lies within
its bounds and no constrained household has more than ``max_per_household`` members selected.

Models are built with PuLP and solved by HiGHS (through highspy) or CBC.  Every solver status
is checked before values are read: an infeasible pricing problem raises
:class:`~panelsel.errors.InfeasibleQuotasError`, anything else that is not optimal raises
:class:`~panelsel.errors.SolverError`.

Tolerances
----------
``PRICING_TOLERANCE``
    A column enters the master only if its reduced value exceeds the master's bound by more
    than this (absolute, in probability units).
``DUAL_FIX_TOLERANCE``
    A type whose dual weight exceeds this is fixed at the current level (LEXIMIN).
``FIX_SLACK``
    In the LEXIMIN dual, fixed probabilities enter as ``value - FIX_SLACK`` so that solver
    round-off cannot make the restricted master unbounded.  The final fit uses the exact
    values, with explicit slack variables instead.
``MIP_REL_GAP``
    Relative optimality gap requested from the ILP solver; small, because pricing decides
    optimality of the LP.
``FINAL_SLACK_TOLERANCE``
    The largest total shortfall (summed over people) tolerated when the final lottery is
    fitted to the computed probabilities.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pulp

from panelsel.errors import InfeasibleQuotasError, SolverError
from panelsel.model import Model

PRICING_TOLERANCE = 1e-8
DUAL_FIX_TOLERANCE = 1e-7
FIX_SLACK = 1e-9
MIP_REL_GAP = 1e-9
FINAL_SLACK_TOLERANCE = 1e-6
INTEGRALITY_TOLERANCE = 1e-5

SOLVERS = ("highs", "cbc")

ProgressFn = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


_banner_silenced = False


@contextlib.contextmanager
def _stdout_fd_silenced() -> Iterator[None]:
    """Redirect file descriptor 1 to /dev/null (HiGHS prints its banner from C++)."""
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


def _silence_highs_banner() -> None:
    """highspy prints a copyright banner to stdout once per process; keep stdout clean."""
    global _banner_silenced
    if _banner_silenced:
        return
    _banner_silenced = True
    with contextlib.suppress(ImportError), _stdout_fd_silenced():
        import highspy

        highspy.Highs()  # type: ignore[no-untyped-call]


def highs_available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class SolverConfig:
    """Which solver to use and the overall deadline.

    ``name`` is ``"highs"`` (default) or ``"cbc"``.  When highspy is not importable, HiGHS
    falls back to CBC and ``fallback_note`` says so.
    """

    name: str = "highs"
    time_limit: float | None = None
    started: float = field(default_factory=time.monotonic)
    fallback_note: str | None = None

    def __post_init__(self) -> None:
        if self.name not in SOLVERS:
            from panelsel.errors import BadInputError

            raise BadInputError(
                f"unknown solver {self.name!r}", hint=f"choose one of: {', '.join(SOLVERS)}"
            )
        if self.name == "highs" and not highs_available():
            self.name = "cbc"
            self.fallback_note = "highspy is not installed; CBC was used instead of HiGHS"

    def remaining(self) -> float | None:
        if self.time_limit is None:
            return None
        left = self.time_limit - (time.monotonic() - self.started)
        if left <= 0:
            raise SolverError(
                f"the time limit of {self.time_limit:g} s ran out before the lottery was computed",
                hint="raise --time-limit, or simplify the quotas",
            )
        return left

    def pulp_solver(self, *, mip: bool) -> Any:
        left = self.remaining()
        if self.name == "highs":
            _silence_highs_banner()
            opts: dict[str, Any] = {"msg": False, "mip": mip, "threads": 1}
            if mip:
                opts.update(gapRel=MIP_REL_GAP, gapAbs=0.0)
            if left is not None:
                opts["timeLimit"] = left
            return pulp.HiGHS(**opts)
        opts = {
            "msg": False,
            "mip": mip,
            "timeLimit": left,
            "gapRel": MIP_REL_GAP if mip else None,
            "gapAbs": 0.0 if mip else None,
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


def solve(problem: pulp.LpProblem, config: SolverConfig, *, mip: bool, what: str) -> None:
    """Solve ``problem``; return only if it is optimal, else raise.

    Raises
    ------
    InfeasibleQuotasError
        The problem is infeasible and ``what`` is the pricing problem (no valid panel).
    SolverError
        Any other status than optimal (time limit, unbounded, numerical trouble).
    """
    solver = config.pulp_solver(mip=mip)
    try:
        with _stdout_fd_silenced():
            problem.solve(solver)
    except pulp.PulpSolverError as exc:
        raise SolverError(
            f"the {config.name} solver failed on the {what}: {exc}",
            hint="try the other solver with --solver",
        ) from None
    status = pulp.LpStatus.get(problem.status, str(problem.status))
    if problem.status == pulp.LpStatusOptimal and problem.sol_status == pulp.LpSolutionOptimal:
        return
    if problem.status == pulp.LpStatusInfeasible and what == "pricing problem":
        raise InfeasibleQuotasError(
            "no panel meets all the quotas together (each quota can be met on its own, but "
            "not all at once)",
            hint="loosen the quotas of categories whose values are strongly linked in the pool "
            "(run with fewer categories to find which)",
        )
    if config.time_limit is not None and time.monotonic() - config.started >= config.time_limit:
        raise SolverError(
            f"the time limit of {config.time_limit:g} s ran out in the {what}",
            hint="raise --time-limit",
        )
    raise SolverError(
        f"the {config.name} solver returned status {status!r} "
        f"(solution status {problem.sol_status}) for the {what}",
        hint="try the other solver with --solver",
    )


# --------------------------------------------------------------------------- pricing


class PricingILP:
    """Find a valid panel (count vector) of maximum weight ``sum_t w[t] * c[t]``.

    The model is built once; each call only replaces the objective.
    """

    def __init__(self, model: Model, config: SolverConfig) -> None:
        self.model = model
        self.config = config
        sizes = model.type_sizes
        prob = pulp.LpProblem("pricing", pulp.LpMaximize)
        x = [
            prob.add_variable(f"c{t}", lowBound=0, upBound=int(sizes[t]), cat=pulp.LpInteger)
            for t in range(model.n_types)
        ]
        prob += pulp.lpSum(x) == model.k, "panel_size"
        tf = model.type_features
        for j, f in enumerate(model.features):
            members = np.flatnonzero(tf[:, j])
            expr = pulp.lpSum(x[t] for t in members)
            if f.min > 0:
                prob += expr >= f.min, f"min_{j}"
            if f.max < min(model.k, f.pool_count):
                prob += expr <= f.max, f"max_{j}"
        for h, types in enumerate(model.households):
            prob += pulp.lpSum(x[t] for t in types) <= model.max_per_household, f"household_{h}"
        self.problem = prob
        self.x = x
        self.calls = 0

    def best(self, weights: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], float]:
        """The valid count vector of largest weight and that weight."""
        self.calls += 1
        self.problem.setObjective(
            pulp.lpSum(float(w) * v for w, v in zip(weights, self.x, strict=True) if w != 0.0)
            or pulp.lpSum(self.x)
        )
        solve(self.problem, self.config, mip=True, what="pricing problem")
        raw = np.array([v.varValue if v.varValue is not None else np.nan for v in self.x])
        if np.any(np.isnan(raw)) or np.any(np.abs(raw - np.round(raw)) > INTEGRALITY_TOLERANCE):
            raise SolverError(
                "the solver returned a fractional panel in the pricing problem",
                hint="try the other solver with --solver",
            )
        counts = np.round(raw).astype(np.int64)
        problems = self.model.count_violations(counts)
        if problems:
            raise SolverError(
                "the solver returned a panel that breaks the quotas: " + "; ".join(problems[:3]),
                hint="try the other solver with --solver",
            )
        return counts, float(weights @ counts)


# --------------------------------------------------------------------------- columns


class ColumnSet:
    """Distinct count vectors found so far, in order of discovery."""

    def __init__(self, n_types: int) -> None:
        self.columns: list[npt.NDArray[np.int64]] = []
        self._seen: set[bytes] = set()
        self.n_types = n_types

    def add(self, counts: npt.NDArray[np.int64]) -> bool:
        key = counts.tobytes()
        if key in self._seen:
            return False
        self._seen.add(key)
        self.columns.append(counts)
        return True

    def __len__(self) -> int:
        return len(self.columns)

    def matrix(self) -> npt.NDArray[np.int64]:
        return np.array(self.columns, dtype=np.int64).reshape(len(self.columns), self.n_types)


def initial_columns(
    pricing: PricingILP, progress: ProgressFn = _no_progress
) -> tuple[ColumnSet, npt.NDArray[np.bool_]]:
    """Greedy cover: panels that together contain every type that any valid panel contains.

    Returns the columns and a mask of the types that no valid panel contains (their
    selection probability is 0 under every lottery).  Raises
    :class:`~panelsel.errors.InfeasibleQuotasError` when there is no valid panel at all.
    """
    model = pricing.model
    sizes = model.type_sizes.astype(np.float64)
    cols = ColumnSet(model.n_types)
    covered = np.zeros(model.n_types, dtype=bool)
    while True:
        weights = np.where(covered, 0.0, 1.0 / sizes)
        counts, value = pricing.best(weights)
        newly = (counts > 0) & ~covered
        cols.add(counts)
        progress("covering types", int(covered.sum()), model.n_types)
        if not newly.any() or value <= PRICING_TOLERANCE:
            break
        covered |= newly
        if covered.all():
            break
    return cols, ~covered


# --------------------------------------------------------------------------- masters


def type_shares(
    columns: npt.NDArray[np.int64], sizes: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Each column's selection probability per member of each type: ``c[t] / |t|``."""
    return columns / sizes[None, :].astype(np.float64)


def fit_lottery(
    columns: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.intp],
    targets: npt.NDArray[np.float64],
    config: SolverConfig,
) -> npt.NDArray[np.float64]:
    """A distribution over ``columns`` giving every type at least its target probability.

    Solves ``min sum_t |t| s_t`` s.t. ``sum_r p_r = 1``, ``sum_r p_r c_rt/|t| + s_t >=
    target_t``, ``p, s >= 0`` and checks that the total shortfall is below
    ``FINAL_SLACK_TOLERANCE``.
    """
    shares = type_shares(columns, sizes)
    n_cols, n_types = shares.shape
    prob = pulp.LpProblem("fit_lottery", pulp.LpMinimize)
    p = [prob.add_variable(f"p{r}", lowBound=0) for r in range(n_cols)]
    s = [prob.add_variable(f"s{t}", lowBound=0) for t in range(n_types)]
    prob += pulp.lpSum(float(sizes[t]) * s[t] for t in range(n_types))
    prob += pulp.lpSum(p) == 1, "total"
    for t in range(n_types):
        nz = np.flatnonzero(shares[:, t])
        prob += (
            (pulp.lpSum(float(shares[r, t]) * p[r] for r in nz) + s[t] >= float(targets[t])),
            f"target_{t}",
        )
    solve(prob, config, mip=False, what="final lottery LP")
    shortfall = float(sum((v.varValue or 0.0) * sizes[t] for t, v in enumerate(s)))
    if shortfall > FINAL_SLACK_TOLERANCE:
        raise SolverError(
            f"the final lottery falls short of the computed probabilities by "
            f"{shortfall:.2e} in total",
            hint="try the other solver with --solver",
        )
    probs = np.array([max(0.0, v.varValue or 0.0) for v in p])
    total = probs.sum()
    if not total > 0:
        raise SolverError("the final lottery LP returned no probability mass")
    return np.asarray(probs / total, dtype=np.float64)
