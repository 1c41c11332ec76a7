"""Several algorithms on one pool, in memory: their lotteries, who has no chance in each, and
how far a coalition can move each by one common report (the manipulation test).  The
``compare`` command writes what :func:`compare` returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from panelsel.errors import BadInputError
from panelsel.inputs.load import ReadOptions, load_inputs
from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec
from panelsel.lottery.compute import PeopleLottery, compute_or_explain, solve_lottery
from panelsel.lottery.manipulation import (
    DEFAULT_CANDIDATES,
    Manipulation,
    default_coalition,
    manipulation_test,
)
from panelsel.progress import ProgressFn, no_progress
from panelsel.runs.options import SolveOptions, check_options, seed_of
from panelsel.solve.algorithms import ALGORITHM_NAMES
from panelsel.solve.backends import SolverConfig


@dataclass
class Compared:
    """The algorithms' lotteries on one pool, in the order run."""

    pool: Pool
    spec: QuotaSpec
    model: Model
    results: list[PeopleLottery]
    seed: int
    seed_given: bool
    solve: SolveOptions
    notes: list[str] = field(default_factory=list)
    manipulation: list[Manipulation] = field(default_factory=list)
    """Per exact algorithm, what a coalition reached by one common report."""


def check_compare(
    algorithms: Sequence[str], solve: SolveOptions, coalition: int | None, candidates: int
) -> list[str]:
    """The algorithms to run (each once, in order); refuses what no comparison can do."""
    names = list(dict.fromkeys(algorithms))
    if not names:
        raise BadInputError(
            "no algorithm to compare", hint=f"list some of: {', '.join(ALGORITHM_NAMES)}"
        )
    check_options(names, solve.samples, solve.seed, solve.time_limit, solve.gamma)
    if coalition is not None and coalition < 0:
        raise BadInputError(f"--coalition must be 0 or more, not {coalition}")
    if candidates < 1:
        raise BadInputError(f"--candidates must be at least 1, not {candidates}")
    if solve.best_effort and solve.time_limit is None:
        raise BadInputError(
            "--best-effort needs --time-limit", hint="add --time-limit SECONDS, or drop it"
        )
    return names


def compare(
    registrants: str | Path,
    quotas: str | Path,
    *,
    algorithms: Sequence[str] = tuple(ALGORITHM_NAMES),
    read: ReadOptions | None = None,
    solve: SolveOptions | None = None,
    coalition: int | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    progress: ProgressFn | None = None,
) -> Compared:
    """Run ``algorithms`` on one pool, in memory (``solve.algorithm`` is not used;
    ``solve.time_limit`` applies to each algorithm separately, and ``solve.seed`` drives
    legacy's runs and the draws)."""
    solve = solve or SolveOptions()
    progress = progress or no_progress
    names = check_compare(algorithms, solve, coalition, candidates)
    spec, pool, model = load_inputs(registrants, quotas, read or ReadOptions())
    eligible = int((model.person_household < 0).sum())
    if coalition is not None and coalition > eligible:
        # the coalition is drawn from registrants outside a household the rule binds
        raise BadInputError(
            f"--coalition {coalition} is larger than the {eligible} registrant(s) who can "
            "form one (the pool has "
            f"{model.n}; members of households the rule binds are left out of it)",
            hint=f"pass --coalition {max(1, eligible // 100)} (1% of them) or any number "
            f"up to {eligible}",
        )
    seed = seed_of(solve.seed)
    request = solve.request(seed)
    results = []
    for algorithm in names:
        config = SolverConfig(name=solve.solver, time_limit=solve.time_limit)
        progress(f"running {algorithm}", 0, 1)
        results.append(
            compute_or_explain(
                *(model, spec, algorithm, config, request), progress=progress, ids=pool.ids
            )
        )
        progress(f"running {algorithm}", 1, 1)
    notes: list[str] = list(model.warnings)
    size = default_coalition(model.n) if coalition is None else coalition
    manipulation = []
    for r in results if size else []:
        if r.estimated:
            notes.append("the manipulation test is not run for legacy (Monte-Carlo)")
            continue
        progress(f"manipulation test: {r.algorithm}", 0, 1)

        def rerun(changed: Model, algorithm: str = r.algorithm) -> npt.NDArray[np.float64]:
            config = SolverConfig(name=solve.solver, time_limit=solve.time_limit)
            # the lottery alone: no draw, and no one's exclusion explained
            return solve_lottery(changed, algorithm, config, request).marginals

        manipulation.append(
            manipulation_test(
                r.algorithm, pool, spec, model, r.probabilities, rerun, size, candidates
            )
        )
    # who has no chance: once for the quotas' exclusions, per algorithm for its own
    said: list[str] = []
    for r in results:
        for e in r.excluded:
            text = e.text() if not e.selectable else f"{r.algorithm}: {e.text()}"
            if text not in said:
                said.append(text)
    notes[:0] = said
    if any(r.estimated for r in results):
        notes.append(
            f"legacy's probabilities are Monte-Carlo estimates over {solve.samples} runs "
            f"(seed {seed})"
        )
    return Compared(
        pool, spec, model, results, seed, solve.seed is not None, solve, notes, manipulation
    )
