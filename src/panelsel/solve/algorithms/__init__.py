"""The algorithms, one module each, behind one protocol (:mod:`panelsel.solve.protocol`).

:data:`ALGORITHMS` is the registry every command reads; :func:`run_algorithm` runs one and,
with ``--best-effort``, turns a time limit into the best lottery found so far.
"""

from __future__ import annotations

from panelsel.errors import TimeLimitError
from panelsel.inputs.model import Model
from panelsel.progress import ProgressFn
from panelsel.solve.algorithms.goldilocks import goldilocks
from panelsel.solve.algorithms.legacy import estimate
from panelsel.solve.algorithms.leximin import leximin
from panelsel.solve.algorithms.maximin import maximin
from panelsel.solve.algorithms.minimax import minimax
from panelsel.solve.algorithms.nash import nash
from panelsel.solve.backends import SolverConfig
from panelsel.solve.colgen import even_out
from panelsel.solve.protocol import Algorithm, AlgorithmResult, Finish, Incumbent, Request

EVEN_OUT_SHARE = 0.1
EVEN_OUT_MIN_SECONDS = 5.0
"""A best-effort run may end this share of --time-limit (at least this many seconds) after
the limit: the allowance for spreading a stopped level's lottery so that nobody the quotas
do not force is certain (:func:`panelsel.solve.colgen.even_out`), expanding it and writing."""
EVEN_OUT_PART = 0.7
"""The share of that allowance the spreading may use; the rest is for expanding the lottery
and writing (hard_1727 at --time-limit 400: the spread used all of a 40 s allowance, and the
run ended 2.7 s past it)."""


def _leximin(
    model: Model, config: SolverConfig, progress: ProgressFn, incumbent: Incumbent, _: Request
) -> AlgorithmResult:
    lottery = leximin(model, config, progress, incumbent=incumbent)
    return AlgorithmResult("leximin", "levels", "optimal", lottery=lottery)


def _maximin(
    model: Model, config: SolverConfig, progress: ProgressFn, incumbent: Incumbent, _: Request
) -> AlgorithmResult:
    lottery = maximin(model, config, progress, incumbent=incumbent)
    return AlgorithmResult("maximin", "maximin", "optimal", lottery=lottery)


def _nash(
    model: Model, config: SolverConfig, progress: ProgressFn, incumbent: Incumbent, _: Request
) -> AlgorithmResult:
    lottery = nash(model, config, progress, incumbent=incumbent)
    return AlgorithmResult("nash", "nash", "optimal", lottery=lottery)


def _goldilocks(
    model: Model, config: SolverConfig, progress: ProgressFn, incumbent: Incumbent, r: Request
) -> AlgorithmResult:
    lottery = goldilocks(model, config, progress, gamma=r.gamma, incumbent=incumbent)
    return AlgorithmResult("goldilocks", "extremes", "optimal", lottery=lottery)


def _minimax(
    model: Model, config: SolverConfig, progress: ProgressFn, incumbent: Incumbent, _: Request
) -> AlgorithmResult:
    lottery = minimax(model, config, progress, incumbent=incumbent)
    return AlgorithmResult("minimax", "extremes", "optimal", lottery=lottery)


def _legacy(
    model: Model, config: SolverConfig, progress: ProgressFn, _: Incumbent, request: Request
) -> AlgorithmResult:
    # with --best-effort the time limit ends the runs early instead of failing the run
    found = estimate(
        model,
        request.seed,
        request.samples,
        progress,
        deadline=None if request.best_effort else config.remaining,
        should_stop=config.timed_out if request.best_effort else None,
    )
    finish: Finish = "optimal" if found.samples == request.samples else "fewer samples"
    return AlgorithmResult("legacy", "none", finish, estimate=found)


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "leximin",
            True,
            "levels",
            _leximin,
            "the lowest chance as high as it can be, then the next lowest, and so on",
            "#1f77b4",
        ),
        Algorithm(
            "maximin",
            True,
            "maximin",
            _maximin,
            "the lowest chance as high as it can be",
            "#2ca02c",
        ),
        Algorithm(
            "nash",
            True,
            "nash",
            _nash,
            "the product of the chances as high as it can be (no one at zero who need not be)",
            "#9467bd",
        ),
        Algorithm(
            "goldilocks",
            True,
            "extremes",
            _goldilocks,
            "the lowest chance high and the highest low, together (--gamma weighs them)",
            "#bcbd22",
            extremes=lambda n, k, gamma: (n / k, gamma * k / n),
        ),
        Algorithm(
            "minimax",
            True,
            "extremes",
            _minimax,
            "the highest chance as low as it can be (some may get none)",
            "#17becf",
            extremes=lambda n, k, gamma: (1.0, 0.0),
        ),
        Algorithm(
            "legacy",
            False,
            "none",
            _legacy,
            "the Sortition Foundation's greedy procedure, its chances estimated by repeated runs",
            "#d62728",
        ),
    )
}
ALGORITHM_NAMES = list(ALGORITHMS)
"""Every ``--algorithm``: the lottery algorithms and the Monte-Carlo ``legacy`` procedure
(:mod:`panelsel.solve.algorithms.legacy`), which has no lottery of its own."""


def run_algorithm(
    name: str,
    model: Model,
    config: SolverConfig,
    request: Request,
    progress: ProgressFn,
) -> AlgorithmResult:
    """Run the algorithm ``name`` on ``model``.

    With ``request.best_effort``, when the time limit runs out the best lottery offered so
    far is used, spread by :func:`~panelsel.solve.colgen.even_out` in a little more time
    (``finish`` is then ``"time limit"``); without an offer yet, the
    :class:`~panelsel.errors.TimeLimitError` stands.
    """
    algorithm = ALGORITHMS[name]
    incumbent = Incumbent()
    try:
        return algorithm.solve(model, config, progress, incumbent, request)
    except TimeLimitError:
        best = incumbent.best() if request.best_effort else None
        if best is None:
            raise
    if best.floors is not None and config.time_limit is not None:
        # a little more time, to spread anyone a stopped level left certain
        spread = SolverConfig(
            config.name,
            time_limit=EVEN_OUT_PART
            * max(EVEN_OUT_MIN_SECONDS, EVEN_OUT_SHARE * config.time_limit),
        )
        best = even_out(model, best, spread)
        config.seconds.update(
            {k: config.seconds.get(k, 0.0) + v for k, v in spread.seconds.items()}
        )
    return AlgorithmResult(name, algorithm.certificate, "time limit", lottery=best)


__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "Algorithm",
    "AlgorithmResult",
    "leximin",
    "maximin",
    "nash",
    "run_algorithm",
]
