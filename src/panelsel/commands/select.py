"""The pipeline behind ``panelsel select``: load -> validate -> lottery -> draw -> write.

>>> from panelsel.commands.select import select
>>> result = select("examples/wellbeing/registrants.csv", "examples/wellbeing/quotas.yaml",
...                 out="results", seed=12345)                        # doctest: +SKIP
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel import __version__
from panelsel.commands.draw import (
    HASH_FILE,
    PUBLIC_DRAW_RULE,
    dice_plan,
    hash_file_text,
    sha256_hex,
)
from panelsel.errors import BadInputError, InfeasibleQuotasError, SolverError, TimeLimitError
from panelsel.inputs.load import ReadOptions, load_inputs
from panelsel.inputs.model import Model, cheap_infeasibility
from panelsel.inputs.pool import DEFAULT_ENCODING, Pool
from panelsel.inputs.quotas import QuotaSpec
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.expand import (
    MAX_LISTED_PANELS,
    draw,
    draw_grouped,
    expand,
    group,
    listed_size,
)
from panelsel.lottery.rounding import Rounded, check_panels, round_lottery
from panelsel.outputs.files import OutputFolder, write_csv, write_json
from panelsel.outputs.report import Curve, render_html, summarise
from panelsel.progress import ProgressFn, no_progress
from panelsel.signals import checkpoint
from panelsel.solve.algorithms import ALGORITHM_NAMES, ALGORITHMS
from panelsel.solve.algorithms.legacy import DEFAULT_SAMPLES, estimate
from panelsel.solve.backends import SolverConfig, check_time_limit
from panelsel.solve.colgen import even_out
from panelsel.solve.feasibility import infeasible_error

LOTTERY_FORMAT = "panelsel-lottery/1"
LOTTERY_DRAW_RULE = (
    "u = numpy.random.default_rng(seed).random(); selected = first panel (in the order "
    "listed) whose cumulative probability exceeds u"
)
GROUPED_DRAW_RULE = (
    "rng = numpy.random.default_rng(seed); u = rng.random(); selected = first count vector "
    "(in the order listed) whose cumulative probability exceeds u; then for each type in "
    "index order with 0 < c < size members to select, positions = [0 .. size-1] and for "
    "i in 0 .. c-1: swap positions[i] with positions[rng.integers(i, size)]; the members at "
    "positions[0 .. c-1] of the type's list are selected"
)
LEGACY_DRAW_RULE = (
    "the first of the legacy procedure's runs, made with "
    "numpy.random.default_rng(numpy.random.SeedSequence(seed).spawn(samples)[0]); the panels "
    "listed are the distinct panels of all runs with their observed frequencies"
)
MARGINAL_SUM_TOLERANCE = 1e-6
"""How far the sum of selection probabilities may be from k before the run is refused."""

SEED_BITS = 63
EVEN_OUT_SHARE = 0.1
EVEN_OUT_MIN_SECONDS = 5.0
"""A best-effort run may take this share of --time-limit (at least this many seconds) more
to spread a stopped level's lottery so that nobody the quotas do not force is certain
(:func:`panelsel.solve.colgen.even_out`)."""
NOT_PROVEN_NOTE = (
    "NOT PROVEN OPTIMAL: the time limit of {limit:g} s ran out and --best-effort used the "
    "best lottery found by then; its probabilities are exact for this lottery, but a fairer "
    "one may exist"
)


def proven_note(stats: dict[str, Any]) -> str | None:
    """What a best-effort LEXIMIN lottery still guarantees (from its ``proven_*`` and
    ``level_*`` stats), or None when the run recorded nothing of the kind."""
    if "proven_levels" not in stats:
        return None
    levels = int(stats["proven_levels"])
    value, upper = float(stats["level_value"]), float(stats["level_upper_bound"])
    bound = (
        f"the optimal lottery's next level is at most {upper:.6f}, and this lottery gives "
        f"everyone else at least {value:.6f} (certified gap {max(0.0, upper - value):.2e})"
        if math.isfinite(upper)
        else f"this lottery gives everyone else at least {value:.6f}"
    )
    certain = int(stats.get("certain_unforced", 0))
    if certain:
        bound += (
            f"; {certain} type(s) of people remain selected for certain although the quotas "
            "do not force it (there was no time left to spread the lottery)"
        )
    if levels == 0:
        return f"no LEXIMIN level was proven yet; {bound}"
    return (
        f"proven: the first {levels} LEXIMIN level(s), {int(stats['proven_people'])} "
        f"people in {int(stats['proven_types'])} types, lowest probability "
        f"{float(stats['proven_minimum']):.6f} (the MAXIMIN optimum); {bound}"
    )


@dataclass
class FeatureSummary:
    """One quota row of the summary."""

    category: str
    value: str
    pool: int
    min: int
    max: int
    panel: int
    expected: float


@dataclass
class SelectionResult:
    """What a selection produced; everything the CLI prints comes from here."""

    out: Path
    files: dict[str, Path]
    seed: int
    seed_was_given: bool
    algorithm: str
    solver: str
    n: int
    k: int
    n_types: int
    selected_index: int | None
    panel: list[int]
    probabilities: npt.NDArray[np.float64]
    lottery: Lottery | GroupedLottery
    features: list[FeatureSummary]
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    estimated: bool = False
    samples: int = 0
    proven_optimal: bool = True
    rounded: Rounded | None = None
    sha256: str | None = None
    solver_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def equal_share(self) -> float:
        return self.k / self.n

    @property
    def grouped(self) -> bool:
        """The lottery is published over count vectors of types (a large pool)."""
        return isinstance(self.lottery, GroupedLottery)

    def probability_figures(self) -> dict[str, float]:
        p = self.probabilities
        return {
            "min": float(p.min()),
            "median": float(np.median(p)),
            "max": float(p.max()),
            "equal_share": self.equal_share,
        }

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``--json``."""
        return {
            "out": str(self.out),
            "files": {k: str(v) for k, v in self.files.items()},
            "seed": self.seed,
            "algorithm": self.algorithm,
            "solver": self.solver,
            "pool_size": self.n,
            "panel_size": self.k,
            "types": self.n_types,
            "panels_in_lottery": None if self.grouped else len(self.lottery),
            "count_vectors_in_lottery": len(self.lottery) if self.grouped else None,
            "selected": self.selected_index,
            "probability": self.probability_figures(),
            "probabilities_estimated": self.estimated,
            "proven_optimal": self.proven_optimal,
            "quotas": [f.__dict__ for f in self.features],
            "seconds": round(self.seconds, 3),
            "solver_seconds": {k: round(v, 3) for k, v in self.solver_seconds.items()},
            "stats": self.stats,
            "notes": self.notes,
            "version": __version__,
            **(
                {
                    "rounding": self.rounded.as_dict(),
                    "dice_plan": dice_plan(self.rounded.m),
                    "lottery_sha256": self.sha256,
                }
                if self.rounded is not None
                else {}
            ),
        }


@dataclass
class Computed:
    """One algorithm's lottery on a model, with the panel the seed draws from it.

    For ``legacy``, ``lottery`` is the empirical distribution of its Monte-Carlo runs and
    ``probabilities`` are estimates with 99% intervals ``low`` and ``high``.
    """

    algorithm: str
    lottery: Lottery | GroupedLottery
    probabilities: npt.NDArray[np.float64]
    selected: int | None
    method: str
    stats: dict[str, Any]
    seconds: float
    low: npt.NDArray[np.float64] | None = None
    high: npt.NDArray[np.float64] | None = None
    proven_optimal: bool = True
    rounded: Rounded | None = None
    drawn: npt.NDArray[np.intp] | None = None
    """The members of the drawn panel (None for a public lottery, drawn later)."""
    solver_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds inside the solvers per model (:attr:`SolverConfig.seconds`); ``--json`` only."""
    proven_people: npt.NDArray[np.bool_] | None = None
    """For a best-effort LEXIMIN lottery: who is in a level proven before the time ran out
    (their probability is the optimal lottery's); the ``proven_optimal`` column."""

    @property
    def estimated(self) -> bool:
        return self.low is not None

    def curve(self, k: int) -> Curve:
        """The report's view of this result."""
        summary = summarise(
            self.algorithm,
            self.probabilities,
            k,
            self.seconds,
            estimated=self.estimated,
            method=self.method,
        )
        return Curve(self.algorithm, self.probabilities, summary, self.low, self.high)


def compute(
    model: Model,
    algorithm: str,
    config: SolverConfig,
    seed: int,
    *,
    samples: int = DEFAULT_SAMPLES,
    progress: ProgressFn = no_progress,
    best_effort: bool = False,
    panels: int | None = None,
    rounding: str = "auto",
) -> Computed:
    """Run ``algorithm`` on ``model``, check its lottery and draw from it with ``seed``.

    With ``best_effort``, when the time limit runs out the best lottery found so far is used
    (``proven_optimal`` is then False); without one yet, the :class:`TimeLimitError` stands.
    With ``panels``, the lottery is also rounded to a uniform lottery over that many
    numbered panels (:mod:`panelsel.lottery.rounding`, with ``seed``) and nothing is drawn.
    """
    started = time.monotonic()
    proven = True
    rounded: Rounded | None = None
    selected: int | None = None
    if algorithm == "legacy":
        est = estimate(
            model,
            seed,
            samples,
            progress,
            deadline=None if best_effort else config.remaining,
            should_stop=config.timed_out if best_effort else None,
        )
        proven = est.samples == samples
        lottery: Lottery | GroupedLottery = est.lottery
        marginals = est.probabilities
        selected = next(
            i for i, members in enumerate(est.lottery.panels) if np.array_equal(members, est.drawn)
        )
        drawn: npt.NDArray[np.intp] | None = est.drawn
        method = f"Monte-Carlo estimate over {est.samples} runs"
        stats: dict[str, Any] = {"method": method, **est.stats}
        low: npt.NDArray[np.float64] | None = est.low
        high: npt.NDArray[np.float64] | None = est.high
    else:
        try:
            type_lottery = ALGORITHMS[algorithm](model, config, progress)
        except TimeLimitError:
            if not best_effort or config.incumbent is None:
                raise
            type_lottery = config.incumbent()
            proven = False
            if type_lottery.floors is not None and config.time_limit is not None:
                # a little more time, to spread anyone a stopped level left certain
                spread = SolverConfig(
                    config.name,
                    time_limit=max(EVEN_OUT_MIN_SECONDS, EVEN_OUT_SHARE * config.time_limit),
                )
                type_lottery = even_out(model, type_lottery, spread)
                config.seconds.update(
                    {k: config.seconds.get(k, 0.0) + v for k, v in spread.seconds.items()}
                )
        progress("expanding lottery", 0, 1)
        # the expansion counts against --time-limit too (with --best-effort the time is
        # already out, and the best lottery is expanded whatever it takes)
        check_time = (lambda: None) if not proven else config.remaining
        drawn = None
        if panels is None and listed_size(model, type_lottery) > MAX_LISTED_PANELS:
            grouped = group(model, type_lottery)
            selected, drawn = draw_grouped(grouped, np.random.default_rng(seed))
            lottery = grouped
        else:
            lottery = expand(model, type_lottery, check_time)
        marginals = lottery.marginals(model.n)
        method = type_lottery.method
        stats = {"types": model.n_types, "method": method, **type_lottery.stats}
        low = high = None
        if panels is None and isinstance(lottery, Lottery):
            selected = draw(lottery, np.random.default_rng(seed))
            drawn = lottery.panels[selected]
        elif panels is not None and isinstance(lottery, Lottery):
            progress(f"rounding to {panels} panels", 0, 1)

            def rounded_by(method: str) -> Rounded:
                rng = np.random.default_rng(seed)
                return round_lottery(model, type_lottery, marginals, panels, config, rng, method)

            try:
                rounded = rounded_by(rounding)
            except TimeLimitError:
                if not best_effort or rounding == "pipage":
                    raise
                # the integer program needs the solver and the time is out: pipage needs neither
                rounded = rounded_by("pipage")
                rounded.scope += " (the time limit ran out before the integer program)"
                rounded.requested = rounding
            _check_lottery(model, rounded.lottery, rounded.after)
    _check_lottery(model, lottery, marginals)
    stats["panels"] = len(lottery)
    stats["proven_optimal"] = proven
    proven_people = None
    if not proven and algorithm != "legacy" and type_lottery.floors is not None:
        proven_people = ~np.isnan(type_lottery.floors)[model.type_of]
    return Computed(
        algorithm,
        lottery,
        marginals,
        selected,
        method,
        stats,
        time.monotonic() - started,
        low,
        high,
        proven,
        rounded,
        drawn,
        dict(config.seconds),
        proven_people,
    )


def compute_explained(
    model: Model,
    spec: QuotaSpec,
    algorithm: str,
    config: SolverConfig,
    seed: int,
    *,
    samples: int = DEFAULT_SAMPLES,
    progress: ProgressFn = no_progress,
    best_effort: bool = False,
    panels: int | None = None,
    rounding: str = "auto",
) -> Computed:
    """:func:`compute` after the cheap feasibility checks; infeasible quotas raise an error
    that names the conflict and the smallest change that would work, not just "infeasible"
    (:func:`panelsel.solve.feasibility.infeasible_error`)."""
    reasons = cheap_infeasibility(model, spec)
    if reasons:
        raise infeasible_error(model, spec, config, reasons)
    try:
        return compute(
            model,
            algorithm,
            config,
            seed,
            samples=samples,
            progress=progress,
            best_effort=best_effort,
            panels=panels,
            rounding=rounding,
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


def _feature_summary(
    model: Model, panel: list[int], marginals: npt.NDArray[np.float64]
) -> list[FeatureSummary]:
    in_panel = model.person_features[panel].sum(axis=0)
    expected = marginals @ model.person_features
    return [
        FeatureSummary(
            f.category,
            f.value,
            f.pool_count,
            f.min,
            min(f.max, model.k),
            int(in_panel[j]),
            float(expected[j]),
        )
        for j, f in enumerate(model.features)
    ]


@dataclass(frozen=True)
class _Run:
    """What the output files of one selection are written from."""

    pool: Pool
    spec: QuotaSpec
    model: Model
    result: Computed
    seed: int
    solver: str
    notes: list[str]
    read_as: tuple[str, str]
    options: OutputOptions


def _id_and_quota_header(pool: Pool, model: Model) -> tuple[str, list[str]]:
    """The id column's name in ``probabilities.csv`` and the quota columns after it."""
    quota_cols = [pool.columns[c] for c in model.quota_columns]
    return ("id" if "id" not in quota_cols else "registrant_id"), quota_cols


def _write(tmp: Path, run: _Run) -> dict[str, Path]:
    pool, spec, model, result = run.pool, run.spec, run.model, run.result
    options, notes, seed, solver = run.options, run.notes, run.seed, run.solver
    safe = not options.raw_csv
    lottery, marginals, selected = result.lottery, result.probabilities, result.selected
    assert selected is not None and result.drawn is not None, "a drawn selection"
    chosen = set(result.drawn.tolist())
    contact = contact_columns(pool, options.columns)
    files = {
        name: tmp / name
        for name in (
            "panel.csv",
            "remaining.csv",
            "probabilities.csv",
            "lottery.json",
            "report.html",
        )
    }
    header = [pool.columns[c] for c in contact]
    for name, wanted in (("panel.csv", True), ("remaining.csv", False)):
        write_csv(
            files[name],
            header,
            [
                [row[c] for c in contact]
                for i, row in enumerate(pool.rows)
                if (i in chosen) == wanted
            ],
            safe=safe,
        )
    share = model.k / model.n
    id_header, quota_cols = _id_and_quota_header(pool, model)
    if result.low is not None and result.high is not None:
        low, high = result.low, result.high
        estimate_header = ["probability_estimate", "ci99_low", "ci99_high"]

        def probability_cells(i: int) -> list[str]:
            return [_num(marginals[i]), _num(low[i]), _num(high[i])]
    else:
        estimate_header = ["probability"]

        def probability_cells(i: int) -> list[str]:
            return [_num(marginals[i])]

    proven = [] if result.proven_optimal else ["proven_optimal"]
    write_csv(
        files["probabilities.csv"],
        [id_header, *estimate_header, "equal_share", "selected", *proven, *quota_cols],
        (
            [
                pool.ids[i],
                *probability_cells(i),
                _num(share),
                int(i in chosen),
                *([_proven_cell(result, i)] if proven else []),
                *(pool.rows[i][c] for c in model.quota_columns),
            ]
            for i in range(model.n)
        ),
        safe=safe,
    )
    ids = pool.ids
    document = _base_document(run, safe)
    document.update(
        {
            "contact_columns": header,
            "draw_rule": LEGACY_DRAW_RULE if result.estimated else LOTTERY_DRAW_RULE,
            "selected": selected,
            "selected_members": [ids[i] for i in result.drawn],
            "stats": result.stats,
            "notes": notes,
        }
    )
    if isinstance(lottery, GroupedLottery):
        document["draw_rule"] = GROUPED_DRAW_RULE
        document.update(grouped_entries(lottery, ids))
    else:
        document["panels"] = lottery_entries(lottery, ids)
    if result.estimated:
        document["samples"] = int(result.stats["samples"])
    write_json(files["lottery.json"], document)
    files["report.html"].write_text(
        render_html(
            f"Selection probabilities: {result.algorithm}",
            model,
            [result.curve(model.k)],
            {
                **({"warning": _warning(notes, result)} if not result.proven_optimal else {}),
                "algorithm": result.algorithm,
                "method": result.method,
                "solver": solver,
                "seed": str(seed),
                "registrants sha256": pool.sha256,
                "quotas sha256": spec.sha256,
                **(
                    {"count vectors in lottery": f"{len(lottery)} (over {model.n_types} types)"}
                    if isinstance(lottery, GroupedLottery)
                    else {"panels in lottery": str(len(lottery))}
                ),
                "panelsel": __version__,
            },
        ),
        encoding="utf-8",
    )
    return files


def _write_uniform(tmp: Path, run: _Run) -> tuple[dict[str, Path], str]:
    """The files published before a public draw: ``lottery.json`` (the numbered panels, the
    lottery they were rounded from, the rounding's figures), ``lottery.sha256``,
    ``panels.csv``, ``probabilities.csv`` (before and after rounding) and ``report.html``.
    Returns the files and the sha256 of ``lottery.json``."""
    pool, spec, model, result = run.pool, run.spec, run.model, run.result
    options, notes, seed, solver = run.options, run.notes, run.seed, run.solver
    rounded, before = result.rounded, result.lottery
    assert rounded is not None and isinstance(before, Lottery)
    safe = not options.raw_csv
    ids = pool.ids
    names = ("lottery.json", HASH_FILE, "panels.csv", "probabilities.csv", "report.html")
    files = {name: tmp / name for name in names}
    write_csv(
        files["panels.csv"],
        ["number", *(f"member_{j}" for j in range(1, model.k + 1))],
        (
            [number, *(ids[i] for i in members)]
            for number, members in enumerate(rounded.lottery.panels, start=1)
        ),
        safe=safe,
    )
    id_header, quota_cols = _id_and_quota_header(pool, model)
    proven = [] if result.proven_optimal else ["proven_optimal"]
    write_csv(
        files["probabilities.csv"],
        [
            id_header,
            "probability",
            "probability_before_rounding",
            "change",
            "equal_share",
            *proven,
            *quota_cols,
        ],
        (
            [
                ids[i],
                _num(rounded.after[i]),
                _num(rounded.before[i]),
                _num(rounded.change[i]),
                _num(model.k / model.n),
                *([_proven_cell(result, i)] if proven else []),
                *(pool.rows[i][c] for c in model.quota_columns),
            ]
            for i in range(model.n)
        ),
        safe=safe,
    )
    document = _base_document(run, safe)
    contact = contact_columns(pool, options.columns)
    document.update(
        {
            "contact_columns": [pool.columns[c] for c in contact],
            "draw_rule": PUBLIC_DRAW_RULE,
            "dice_plan": dice_plan(rounded.m),
            "selected": None,
            "rounding": rounded.as_dict(),
            "stats": result.stats,
            "notes": notes,
            "panels": numbered_entries(rounded, ids),
            "panels_before_rounding": lottery_entries(before, ids),
        }
    )
    write_json(files["lottery.json"], document)
    digest = sha256_hex(files["lottery.json"].read_bytes())
    files[HASH_FILE].write_text(hash_file_text(digest), encoding="utf-8")
    name = f"{result.algorithm}, {rounded.m} panels"
    after = Curve(
        name, rounded.after, summarise(name, rounded.after, model.k, float("nan")), dashed=True
    )
    files["report.html"].write_text(
        render_html(
            f"Selection probabilities: {result.algorithm}, rounded to {rounded.m} panels",
            model,
            [result.curve(model.k), after],
            {
                **({"warning": _warning(notes, result)} if not result.proven_optimal else {}),
                "algorithm": result.algorithm,
                "method": result.method,
                "rounding": rounded.scope,
                "largest change": f"{rounded.largest_change:.6f} (bound {rounded.bound:.6f})",
                "solver": solver,
                "seed": str(seed),
                "registrants sha256": pool.sha256,
                "quotas sha256": spec.sha256,
                "lottery.json sha256": digest,
                "panelsel": __version__,
            },
        ),
        encoding="utf-8",
    )
    return files, digest


def _warning(notes: list[str], result: Computed) -> str:
    """The report's warning for an unproven run: the NOT PROVEN note, and what is proven."""
    part = proven_note(result.stats)
    return notes[0] + (f". {part[0].upper()}{part[1:]}." if part else "")


def _proven_cell(result: Computed, person: int) -> int:
    """1 for a person whose probability a best-effort run proved optimal, else 0."""
    return int(result.proven_people is not None and bool(result.proven_people[person]))


def lottery_entries(lottery: Lottery, ids: list[str]) -> list[dict[str, Any]]:
    """The ``panels`` of ``lottery.json``: each panel's member ids and probability."""
    return [
        {"members": [ids[i] for i in members], "probability": float(p)}
        for members, p in zip(lottery.panels, lottery.probabilities, strict=True)
    ]


def grouped_entries(lottery: GroupedLottery, ids: list[str]) -> dict[str, Any]:
    """A lottery over types in ``lottery.json``: ``types`` (each type's member ids, in pool
    order) and ``count_vectors`` (each vector's ``[type, count]`` pairs and probability)."""
    return {
        "types": [[ids[i] for i in members] for members in lottery.type_members],
        "count_vectors": [
            {
                "counts": [[t, int(counts[t])] for t in np.flatnonzero(counts).tolist()],
                "probability": float(p),
            }
            for counts, p in zip(lottery.columns, lottery.probabilities, strict=True)
        ],
    }


def numbered_entries(rounded: Rounded, ids: list[str]) -> list[dict[str, Any]]:
    """The ``panels`` of a published uniform lottery: numbered 1 to M, each 1/M."""
    return [
        {"number": number, "members": [ids[i] for i in members], "probability": 1 / rounded.m}
        for number, members in enumerate(rounded.lottery.panels, start=1)
    ]


def _base_document(run: _Run, safe: bool) -> dict[str, Any]:
    """The facts every ``lottery.json`` starts with: what was run on which inputs."""
    pool, model, result, read_as = run.pool, run.model, run.result, run.read_as
    return {
        "format": LOTTERY_FORMAT,
        "version": __version__,
        "algorithm": result.algorithm,
        "solver": run.solver,
        "seed": run.seed,
        "estimated": result.estimated,
        "proven_optimal": result.proven_optimal,
        "spreadsheet_safe": safe,
        "panel_size": model.k,
        "pool_size": model.n,
        "id_column": pool.id_column,
        "inputs": {
            "registrants": {
                "path": str(pool.path),
                "sha256": pool.sha256,
                "delimiter": read_as[0],
                "encoding": read_as[1],
            },
            "quotas": {"path": str(run.spec.path), "sha256": run.spec.sha256},
        },
    }


@dataclass(frozen=True)
class OutputOptions:
    """How the CSV outputs are written.

    ``raw_csv``: write cells exactly as read, without the apostrophe that keeps
    spreadsheet programs from running cells that start like a formula.  ``columns``: the
    pool columns ``panel.csv`` and ``remaining.csv`` carry (default: all; the id column is
    always included).
    """

    raw_csv: bool = False
    columns: tuple[str, ...] | None = None


def contact_columns(pool: Pool, names: tuple[str, ...] | None) -> list[int]:
    """Indices of the pool columns for ``panel.csv``/``remaining.csv`` (``--columns``)."""
    if names is None:
        return list(range(len(pool.columns)))
    out = []
    if pool.id_column is not None:
        out.append(pool.find_column(pool.id_column, purpose="the ids"))
    for name in names:
        index = pool.find_column(name, purpose="--columns")
        if index not in out:
            out.append(index)
    return out


def _num(x: float) -> str:
    return format(float(x), ".12g")




def check_options(
    algorithms: list[str], samples: int, seed: int | None, time_limit: float | None
) -> None:
    """Refuse option values no run can use (exit 2)."""
    for algorithm in algorithms:
        if algorithm not in ALGORITHM_NAMES:
            raise BadInputError(
                f"unknown algorithm {algorithm!r}",
                hint=f"choose one of: {', '.join(ALGORITHM_NAMES)}",
            )
    if samples < 1:
        raise BadInputError(f"--samples must be at least 1, not {samples}")
    if seed is not None and seed < 0:
        raise BadInputError(f"the seed must be 0 or more, not {seed}")
    check_time_limit(time_limit)


def select(
    registrants: str | Path,
    quotas: str | Path,
    *,
    out: str | Path = "panelsel-out",
    seed: int | None = None,
    algorithm: str = "leximin",
    solver: str = "highs",
    delimiter: str = ",",
    encoding: str = DEFAULT_ENCODING,
    id_column: str | None = None,
    panel_size: int | None = None,
    force: bool = False,
    time_limit: float | None = None,
    samples: int = DEFAULT_SAMPLES,
    raw_csv: bool = False,
    columns: list[str] | None = None,
    best_effort: bool = False,
    panels: int | None = None,
    rounding: str = "auto",
    progress: ProgressFn | None = None,
) -> SelectionResult:
    """Select a panel: compute the fair lottery, draw from it and write the outputs.

    Parameters
    ----------
    registrants, quotas
        The pool CSV and the quota file (YAML or Sortition Foundation categories CSV).
    out
        The output folder; written all at once, refused if non-empty unless ``force``.
    seed
        Seed of the draw; a fresh one is made (and recorded) when None.
    algorithm
        ``"leximin"`` (default), ``"maximin"``, ``"nash"`` or ``"legacy"``.
    solver
        ``"highs"`` (default) or ``"cbc"``.
    delimiter, encoding
        How to read the registrants CSV.
    id_column, panel_size
        Override (or, for a categories CSV, supply) the quota file's values.
    force
        Replace a non-empty output folder.
    time_limit
        Seconds allowed to the solvers in total.
    samples
        Runs of the legacy procedure for its Monte-Carlo estimates.
    raw_csv
        Write CSV cells exactly as read (no apostrophe before cells that start like a
        spreadsheet formula: ``=``, ``+``, ``-``, ``@``, tab, carriage return).
    columns
        The pool columns of ``panel.csv`` and ``remaining.csv`` (default all; the id
        column is always kept).
    best_effort
        When ``time_limit`` runs out, use the best lottery found so far instead of failing;
        every output then says that it is not proven optimal.
    panels
        Round the lottery to a uniform lottery over this many numbered panels for a public
        draw (:mod:`panelsel.lottery.rounding`) and write it with its sha256, without drawing:
        ``lottery.json``, ``lottery.sha256``, ``panels.csv``, ``probabilities.csv`` and
        ``report.html``; :func:`panelsel.commands.draw.draw_public` draws later.
    rounding
        ``"auto"``, ``"ilp"`` or ``"pipage"`` (with ``panels``).
    progress
        Called as ``progress(stage, done, total)`` during long steps.

    Raises
    ------
    BadInputError, InfeasibleQuotasError, SolverError
        Nothing is written in any of these cases.
    """
    started = time.monotonic()
    progress = progress or no_progress
    check_options([algorithm], samples, seed, time_limit)
    if best_effort and time_limit is None:
        raise BadInputError(
            "--best-effort needs --time-limit", hint="add --time-limit SECONDS, or drop it"
        )
    check_panels(panels)
    if panels is not None and algorithm == "legacy":
        raise BadInputError(
            "--panels needs an exact lottery, and legacy only has Monte-Carlo estimates",
            hint="use --algorithm leximin, maximin or nash with --panels",
        )
    out = Path(out)
    # the destination is checked (and a staging folder made) before anything is computed
    with OutputFolder(
        out, force=force, command="select", inputs=(Path(registrants), Path(quotas))
    ) as folder:
        run, written, digest, seed_given = _selected(
            folder.staging,
            registrants,
            quotas,
            seed=seed,
            algorithm=algorithm,
            solver=solver,
            delimiter=delimiter,
            encoding=encoding,
            id_column=id_column,
            panel_size=panel_size,
            time_limit=time_limit,
            samples=samples,
            raw_csv=raw_csv,
            columns=columns,
            best_effort=best_effort,
            panels=panels,
            rounding=rounding,
            progress=progress,
        )
    checkpoint("committed")
    model, result, seed, notes = run.model, run.result, run.seed, run.notes
    files = {name: out / path.name for name, path in written.items()}
    panel = [] if result.drawn is None else sorted(result.drawn.tolist())
    return SelectionResult(
        out=out,
        files=files,
        seed=seed,
        seed_was_given=seed_given,
        algorithm=algorithm,
        solver=run.solver,
        n=model.n,
        k=model.k,
        n_types=model.n_types,
        selected_index=result.selected,
        panel=panel,
        probabilities=result.rounded.after if result.rounded is not None else result.probabilities,
        lottery=result.rounded.lottery if result.rounded is not None else result.lottery,
        features=_feature_summary(model, panel, result.probabilities),
        stats=result.stats,
        seconds=time.monotonic() - started,
        notes=notes,
        estimated=result.estimated,
        samples=samples if result.estimated else 0,
        proven_optimal=result.proven_optimal,
        rounded=result.rounded,
        sha256=digest,
        solver_seconds=result.solver_seconds,
    )


def _selected(
    tmp: Path,
    registrants: str | Path,
    quotas: str | Path,
    *,
    seed: int | None,
    algorithm: str,
    solver: str,
    delimiter: str,
    encoding: str,
    id_column: str | None,
    panel_size: int | None,
    time_limit: float | None,
    samples: int,
    raw_csv: bool,
    columns: list[str] | None,
    best_effort: bool,
    panels: int | None,
    rounding: str,
    progress: ProgressFn,
) -> tuple[_Run, dict[str, Path], str | None, bool]:
    """The work of :func:`select` inside its prepared output folder: load, compute, write
    every file into ``tmp``.  Returns the run, its files, the sha256 of a published
    ``lottery.json`` and whether the seed was given."""
    spec, pool, model = load_inputs(
        registrants, quotas, ReadOptions(delimiter, encoding, id_column, panel_size)
    )

    contact_columns(pool, tuple(columns) if columns is not None else None)  # fail early
    config = SolverConfig(name=solver, time_limit=time_limit)
    seed_given = seed is not None
    if seed is None:
        seed = secrets.randbits(SEED_BITS)
    checkpoint("computing")
    result = compute_explained(
        model,
        spec,
        algorithm,
        config,
        seed,
        samples=samples,
        progress=progress,
        best_effort=best_effort,
        panels=panels,
        rounding=rounding,
    )
    notes: list[str] = list(model.warnings)
    if not result.proven_optimal:
        notes.insert(0, NOT_PROVEN_NOTE.format(limit=time_limit))
        proven_part = proven_note(result.stats)
        if proven_part:
            notes.insert(1, proven_part)
    if result.estimated:
        notes.append(
            f"legacy has no exact lottery: probabilities are Monte-Carlo estimates over "
            f"{samples} runs, with 99% confidence intervals in probabilities.csv"
        )

    if result.rounded is not None and any("@" in pid for pid in pool.ids):
        notes.append(
            "some ids contain '@': lottery.json and panels.csv are meant to be published, so "
            "use opaque registration numbers as ids, not e-mail addresses"
        )
    progress("writing outputs", 0, 1)
    options = OutputOptions(raw_csv, tuple(columns) if columns is not None else None)
    digest = None
    run = _Run(pool, spec, model, result, seed, config.name, notes, (delimiter, encoding), options)
    if result.rounded is not None:
        written, digest = _write_uniform(tmp, run)
    else:
        written = _write(tmp, run)
    checkpoint("written")
    return run, written, digest, seed_given
