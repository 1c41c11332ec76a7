"""From a model to the lottery over people a run publishes, and the panel its seed draws.

:func:`compute` runs an algorithm (:func:`panelsel.solve.algorithms.run_algorithm`), maps
its lottery over types back to people (:mod:`panelsel.lottery.expand`, the inverse of the
model's type compression), draws the panel with the seed, or rounds the lottery to ``m``
numbered panels for a public draw (:mod:`panelsel.lottery.rounding`), and checks every
panel against the quotas before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from panelsel.defaults import DEFAULT_ROUNDING
from panelsel.errors import InfeasibleQuotasError, SolverError, TimeLimitError
from panelsel.inputs.model import Model, cheap_infeasibility
from panelsel.inputs.quotas import QuotaSpec
from panelsel.lotteries import GroupedLottery, LevelProof, Lottery
from panelsel.lottery.expand import (
    MAX_LISTED_PANELS,
    draw,
    draw_grouped,
    expand,
    group,
    listed_size,
)
from panelsel.lottery.rounding import Rounded, round_lottery
from panelsel.progress import ProgressFn, no_progress
from panelsel.solve.algorithms import run_algorithm
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import (
    NO_CHANCE_BELOW,
    Exclusion,
    infeasible_error,
    no_chance,
    require_feasible,
)
from panelsel.solve.protocol import AlgorithmResult, Certificate, Finish, Request

RunKind = Literal["drawn", "estimated", "published"]
"""What a run produced (:mod:`panelsel.outputs.record` writes one variant of ``lottery.json``
per kind): an exact lottery and the panel its seed drew; legacy's Monte-Carlo estimates and
its first run's panel; or a uniform lottery over numbered panels, published for a later
public draw."""

MARGINAL_SUM_TOLERANCE = 1e-6
"""How far the sum of selection probabilities may be from k before the run is refused."""


@dataclass
class PeopleLottery:
    """One algorithm's lottery over people, with the panel the seed draws from it (or, for
    a public draw, the uniform lottery it was rounded to).

    For ``legacy`` (``exact`` False), ``lottery`` is the empirical distribution of its
    Monte-Carlo runs and ``probabilities`` are estimates with 99% intervals ``low`` and
    ``high``.
    """

    algorithm: str
    exact: bool
    certificate: Certificate
    finish: Finish
    lottery: Lottery | GroupedLottery
    probabilities: npt.NDArray[np.float64]
    selected: int | None
    method: str
    stats: dict[str, Any]
    seconds: float
    low: npt.NDArray[np.float64] | None = None
    high: npt.NDArray[np.float64] | None = None
    rounded: Rounded | None = None
    drawn: npt.NDArray[np.intp] | None = None
    """The members of the drawn panel (None for a public lottery, drawn later)."""
    solver_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds inside the solvers per model (:attr:`SolverConfig.seconds`); ``--json`` only."""
    proven_people: npt.NDArray[np.bool_] | None = None
    """For a best-effort LEXIMIN lottery: who is in a level proven before the time ran out
    (their probability is the optimal lottery's); the ``proven_optimal`` column."""
    excluded: list[Exclusion] = field(default_factory=list)
    """Who has no chance in the lottery the run publishes or draws from, and why
    (:func:`panelsel.solve.feasibility.no_chance`); every output says so."""
    certificate_weights: dict[str, Any] | None = None
    """Goldilocks' and MINIMAX's certificate weights per person id (``alpha``, ``beta``;
    only positive ones), or LEXIMIN's levels with theirs (:func:`level_certificate`), for
    lottery.json and the audit."""

    @property
    def final_probabilities(self) -> npt.NDArray[np.float64]:
        """The probabilities of the lottery the panel is drawn from: after rounding for a
        public draw, else :attr:`probabilities`."""
        return self.rounded.after if self.rounded is not None else self.probabilities

    @property
    def kind(self) -> RunKind:
        if self.rounded is not None:
            return "published"
        return "drawn" if self.exact else "estimated"

    @property
    def estimated(self) -> bool:
        """The probabilities are Monte-Carlo estimates (legacy), not a lottery's."""
        return not self.exact

    @property
    def proven_optimal(self) -> bool:
        return self.finish == "optimal"


@dataclass(frozen=True)
class Publish:
    """``--panels``: round the lottery to ``panels`` numbered panels by ``rounding``
    (``auto``, ``ilp`` or ``pipage``) for a public draw, instead of drawing with the seed."""

    panels: int
    rounding: str = DEFAULT_ROUNDING


@dataclass
class Solved:
    """Step 1's result (:func:`solve_lottery`): an algorithm's lottery over people, before
    anything is drawn, rounded or explained."""

    algorithm: str
    found: AlgorithmResult
    lottery: Lottery | GroupedLottery
    marginals: npt.NDArray[np.float64]
    method: str
    stats: dict[str, Any]
    low: npt.NDArray[np.float64] | None = None
    high: npt.NDArray[np.float64] | None = None
    proven_people: npt.NDArray[np.bool_] | None = None
    weights: dict[str, Any] | None = None


@dataclass
class Drawn:
    """Step 2's result (:func:`draw_or_publish`): the panel the seed draws (its place in
    the lottery and its members), or the numbered panels published for a public draw."""

    selected: int | None = None
    drawn: npt.NDArray[np.intp] | None = None
    rounded: Rounded | None = None


def solve_lottery(
    model: Model,
    algorithm: str,
    config: SolverConfig,
    request: Request,
    *,
    listed: bool = False,
    progress: ProgressFn = no_progress,
    ids: list[str] | None = None,
) -> Solved:
    """Step 1: run ``algorithm`` on ``model`` and map its lottery over types back to people
    (:mod:`panelsel.lottery.expand`); check it.  A pool too large to list every panel gets
    its lottery over count vectors of types, unless ``listed`` (a public draw lists its
    panels).  The feasibility ILP runs first: :class:`InfeasibleQuotasError` comes from it
    alone.  ``ids`` name the certificate's weights (default: 0-based row numbers)."""
    require_feasible(model, config)
    found = run_algorithm(algorithm, model, config, request, progress)
    if found.estimate is not None:
        est = found.estimate
        method = f"Monte-Carlo estimate over {est.samples} runs"
        solved = Solved(
            algorithm,
            found,
            est.lottery,
            est.probabilities,
            method,
            {"method": method, **est.stats},
            low=est.low,
            high=est.high,
        )
    else:
        type_lottery = found.lottery
        assert type_lottery is not None
        progress("expanding lottery", 0, 1)
        # the expansion counts against --time-limit too (with --best-effort the time is
        # already out, and the best lottery is expanded whatever it takes)
        check_time = (lambda: None) if not found.proven else config.remaining
        lottery: Lottery | GroupedLottery
        if not listed and listed_size(model, type_lottery) > MAX_LISTED_PANELS:
            lottery = group(model, type_lottery)
        else:
            lottery = expand(model, type_lottery, check_time)
        proven_people = None
        if not found.proven and type_lottery.floors is not None:
            proven_people = ~np.isnan(type_lottery.floors)[model.type_of]
        weights: dict[str, Any] | None = None
        if type_lottery.duals is not None:
            weights = person_weights(model, type_lottery.duals, ids)
        elif type_lottery.levels is not None:
            by_type = isinstance(lottery, GroupedLottery)
            weights = level_certificate(model, type_lottery.levels, ids, by_type=by_type)
        solved = Solved(
            algorithm,
            found,
            lottery,
            lottery.marginals(model.n),
            type_lottery.method,
            {"types": model.n_types, "method": type_lottery.method, **type_lottery.stats},
            proven_people=proven_people,
            weights=weights,
        )
    _check_lottery(model, solved.lottery, solved.marginals)
    solved.stats["panels"] = len(solved.lottery)
    solved.stats["proven_optimal"] = found.proven
    return solved


def draw_or_publish(
    model: Model,
    solved: Solved,
    config: SolverConfig,
    request: Request,
    *,
    publish: Publish | None = None,
    progress: ProgressFn = no_progress,
) -> Drawn:
    """Step 2: draw the panel with ``request.seed`` (for legacy, its first run's panel),
    or, with ``publish``, round the lottery to a uniform lottery over numbered panels
    (:mod:`panelsel.lottery.rounding`, with the seed) and draw nothing.  With
    ``request.best_effort``, a rounding ILP the time limit stops gives way to pipage."""
    seed = request.seed
    estimate = solved.found.estimate
    if estimate is not None:
        assert isinstance(solved.lottery, Lottery)
        selected = next(
            i
            for i, members in enumerate(solved.lottery.panels)
            if np.array_equal(members, estimate.drawn)
        )
        return Drawn(selected, estimate.drawn)
    lottery = solved.lottery
    if isinstance(lottery, GroupedLottery):
        selected, drawn = draw_grouped(lottery, np.random.default_rng(seed))
        return Drawn(selected, drawn)
    if publish is None:
        selected = draw(lottery, np.random.default_rng(seed))
        return Drawn(selected, lottery.panels[selected])
    type_lottery = solved.found.lottery
    assert type_lottery is not None
    panels, rounding = publish.panels, publish.rounding
    progress(f"rounding to {panels} panels", 0, 1)
    rng_of_seed = np.random.default_rng
    marginals = solved.marginals
    try:
        rounded = round_lottery(
            model, type_lottery, marginals, panels, config, rng_of_seed(seed), rounding
        )
    except TimeLimitError:
        if not request.best_effort or rounding == "pipage":
            raise
        # the integer program needs the solver and the time is out: pipage needs neither
        rounded = round_lottery(
            *(model, type_lottery, marginals, panels, config, rng_of_seed(seed)),
            "pipage",
            requested=rounding,
            instead_because="the time limit ran out before the integer program",
        )
    _check_lottery(model, rounded.lottery, rounded.after)
    return Drawn(rounded=rounded)


def explain_exclusions(
    model: Model,
    config: SolverConfig,
    solved: Solved,
    made: Drawn,
    ids: list[str] | None = None,
) -> list[Exclusion]:
    """Step 3: who has no chance in the lottery drawn from (after any rounding), and why
    (:func:`panelsel.solve.feasibility.no_chance`): the quotas that exclude them, or the
    lottery or rounding that gives them none although valid panels contain them.  Past the
    time limit nothing more is solved just to name quotas."""
    marginals, rounded, estimate = solved.marginals, made.rounded, solved.found.estimate
    lottery_why = f"valid panels contain them, but {solved.algorithm} gives them none"
    why: str | Callable[[int], str] = lottery_why
    if rounded is not None:
        rounding_why = (
            f"left out by the rounding to {rounded.m} numbered panels, although the lottery "
            "gave them a chance; more --panels gives them one"
        )

        def why(i: int) -> str:
            return rounding_why if marginals[i] >= NO_CHANCE_BELOW else lottery_why

    elif estimate is not None:
        why = f"no run of the legacy procedure chose them in {estimate.samples} runs"
    final = rounded.after if rounded is not None else marginals
    return no_chance(
        *(model, config, ids or [str(i) for i in range(model.n)], final),
        selectable_reason=why,
        explain_until=(
            config.started + config.time_limit if config.time_limit is not None else None
        ),
    )


def compute(
    model: Model,
    algorithm: str,
    config: SolverConfig,
    request: Request,
    *,
    publish: Publish | None = None,
    progress: ProgressFn = no_progress,
    ids: list[str] | None = None,
    explain: bool = True,
) -> PeopleLottery:
    """The three steps in turn: :func:`solve_lottery`, :func:`draw_or_publish` and (unless
    not ``explain``: the audit's recompute compares lotteries only)
    :func:`explain_exclusions`.

    With ``request.best_effort``, when the time limit runs out the best lottery found so far
    is used (``proven_optimal`` is then False); without one yet, the
    :class:`TimeLimitError` stands.
    """
    started = time.monotonic()
    solved = solve_lottery(
        model, algorithm, config, request, listed=publish is not None, progress=progress, ids=ids
    )
    made = draw_or_publish(model, solved, config, request, publish=publish, progress=progress)
    excluded: list[Exclusion] = []
    if explain:
        progress("who has no chance", 0, 1)
        excluded = explain_exclusions(model, config, solved, made, ids)
    found = solved.found
    return PeopleLottery(
        algorithm=algorithm,
        exact=found.exact,
        certificate=found.certificate,
        finish=found.finish,
        lottery=solved.lottery,
        probabilities=solved.marginals,
        selected=made.selected,
        method=solved.method,
        stats=solved.stats,
        seconds=time.monotonic() - started,
        low=solved.low,
        high=solved.high,
        rounded=made.rounded,
        drawn=made.drawn,
        solver_seconds=dict(config.seconds),
        proven_people=solved.proven_people,
        excluded=excluded,
        certificate_weights=solved.weights,
    )


def person_weights(
    model: Model,
    duals: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    ids: list[str] | None,
) -> dict[str, dict[str, float]]:
    """Per-type certificate weights spread evenly over each type's members, by id (only
    the positive ones: most people have none)."""
    names = ids or [str(i) for i in range(model.n)]
    out: dict[str, dict[str, float]] = {}
    for key, per_type in zip(("alpha", "beta"), duals, strict=True):
        each = per_type[model.type_of] / model.type_sizes[model.type_of]
        out[key] = {names[i]: float(each[i]) for i in np.flatnonzero(each > 0).tolist()}
    return out


def level_certificate(
    model: Model, levels: list[LevelProof], ids: list[str] | None, by_type: bool = False
) -> dict[str, Any]:
    """LEXIMIN's levels by person id, for lottery.json: each level's value, the bound its
    weights prove, its members (none for the level a best-effort run stopped in) and the
    positive weights, each type's spread evenly over its members.

    ``by_type`` (a lottery recorded over types, whose ``types`` list their members): the
    members are type numbers and the weights are per member of each type, keyed by type
    number, so that 20,000 registrants do not make the file grow by megabytes."""
    names = ids or [str(i) for i in range(model.n)]
    members = model.type_members
    out = []
    for level in levels:
        if by_type:
            each_type = level.weights / model.type_sizes
            out.append(
                {
                    "value": float(level.value),
                    "bound": float(level.bound),
                    "types": [int(t) for t in level.types.tolist()],
                    "weights": {
                        str(t): float(each_type[t]) for t in np.flatnonzero(each_type > 0).tolist()
                    },
                }
            )
            continue
        each = level.weights[model.type_of] / model.type_sizes[model.type_of]
        out.append(
            {
                "value": float(level.value),
                "bound": float(level.bound),
                "members": [names[int(i)] for t in level.types.tolist() for i in members[t]],
                "weights": {names[i]: float(each[i]) for i in np.flatnonzero(each > 0).tolist()},
            }
        )
    return {"levels": out}


def compute_or_explain(
    model: Model,
    spec: QuotaSpec,
    algorithm: str,
    config: SolverConfig,
    request: Request,
    *,
    publish: Publish | None = None,
    progress: ProgressFn = no_progress,
    ids: list[str] | None = None,
) -> PeopleLottery:
    """:func:`compute` after the cheap feasibility checks; infeasible quotas raise an error
    that names the conflict and the smallest change that would work, not just "infeasible"
    (:func:`panelsel.solve.feasibility.infeasible_error`)."""
    reasons = cheap_infeasibility(model, spec)
    if reasons:
        raise infeasible_error(model, spec, config, reasons)
    try:
        return compute(
            model, algorithm, config, request, publish=publish, progress=progress, ids=ids
        )
    except InfeasibleQuotasError:
        raise infeasible_error(model, spec, config, []) from None


def _check_lottery(
    model: Model, lottery: Lottery | GroupedLottery, marginals: npt.NDArray[np.float64]
) -> None:
    """Refuse to go on with a lottery that is not what it claims: never a wrong panel."""
    if isinstance(lottery, GroupedLottery):
        checks = [model.count_violations(counts) for counts in lottery.columns]
    else:
        checks = [model.panel_violations(members) for members in lottery.panels]
    for problems in checks:
        if problems:
            raise SolverError(
                "internal check failed: a panel of the lottery breaks the quotas "
                f"({'; '.join(problems[:3])})",
                hint="please report this; try the other solver with --solver",
            )
    if abs(marginals.sum() - model.k) > MARGINAL_SUM_TOLERANCE:
        raise SolverError(
            f"internal check failed: probabilities sum to {marginals.sum():.9f}, not {model.k}",
            hint="please report this",
        )
