"""The pipeline behind ``panelsel select``: load -> validate -> lottery -> draw -> write.

>>> from panelsel.select import select
>>> result = select("examples/wellbeing/registrants.csv", "examples/wellbeing/quotas.yaml",
...                 out="results", seed=12345)                        # doctest: +SKIP
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel import __version__
from panelsel.algorithms import ALGORITHMS
from panelsel.colgen import ProgressFn, no_progress
from panelsel.errors import BadInputError, SolverError
from panelsel.lottery import Lottery, draw, expand
from panelsel.model import Model, build_model, check_feasible_cheaply
from panelsel.outputs import atomic_directory, check_destination, write_csv, write_json
from panelsel.pool import DEFAULT_ENCODING, Pool, load_pool
from panelsel.quotas import QuotaSpec, load_quotas
from panelsel.solvers import SolverConfig

LOTTERY_FORMAT = "panelsel-lottery/1"
MARGINAL_SUM_TOLERANCE = 1e-6
"""How far the sum of selection probabilities may be from k before the run is refused."""

SEED_BITS = 63


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
    selected_index: int
    panel: list[int]
    probabilities: npt.NDArray[np.float64]
    lottery: Lottery
    features: list[FeatureSummary]
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def equal_share(self) -> float:
        return self.k / self.n

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
            "panels_in_lottery": len(self.lottery),
            "selected": self.selected_index,
            "probability": self.probability_figures(),
            "quotas": [f.__dict__ for f in self.features],
            "seconds": round(self.seconds, 3),
            "stats": self.stats,
            "notes": self.notes,
            "version": __version__,
        }


def _check_lottery(model: Model, lottery: Lottery, marginals: npt.NDArray[np.float64]) -> None:
    """Refuse to go on with a lottery that is not what it claims: never a wrong panel."""
    for members in lottery.panels:
        problems = model.panel_violations(members)
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


def _write(
    tmp: Path,
    pool: Pool,
    spec: QuotaSpec,
    model: Model,
    lottery: Lottery,
    marginals: npt.NDArray[np.float64],
    selected: int,
    seed: int,
    algorithm: str,
    solver: str,
    stats: dict[str, Any],
    notes: list[str],
) -> dict[str, Path]:
    chosen = set(lottery.panels[selected].tolist())
    files = {
        name: tmp / name
        for name in ("panel.csv", "remaining.csv", "probabilities.csv", "lottery.json")
    }
    write_csv(
        files["panel.csv"], pool.columns, [row for i, row in enumerate(pool.rows) if i in chosen]
    )
    write_csv(
        files["remaining.csv"],
        pool.columns,
        [row for i, row in enumerate(pool.rows) if i not in chosen],
    )
    share = model.k / model.n
    quota_cols = [pool.columns[c] for c in model.quota_columns]
    id_header = "id" if "id" not in quota_cols else "registrant_id"
    write_csv(
        files["probabilities.csv"],
        [id_header, "probability", "equal_share", "selected", *quota_cols],
        (
            [
                pool.ids[i],
                format(float(marginals[i]), ".12g"),
                format(share, ".12g"),
                int(i in chosen),
                *(pool.rows[i][c] for c in model.quota_columns),
            ]
            for i in range(model.n)
        ),
    )
    ids = pool.ids
    write_json(
        files["lottery.json"],
        {
            "format": LOTTERY_FORMAT,
            "version": __version__,
            "algorithm": algorithm,
            "solver": solver,
            "seed": seed,
            "draw_rule": "u = numpy.random.default_rng(seed).random(); selected = first panel "
            "(in the order listed) whose cumulative probability exceeds u",
            "panel_size": model.k,
            "pool_size": model.n,
            "id_column": pool.id_column,
            "inputs": {str(pool.path): pool.sha256, str(spec.path): spec.sha256},
            "selected": selected,
            "selected_members": [ids[i] for i in lottery.panels[selected]],
            "stats": stats,
            "notes": notes,
            "panels": [
                {"members": [ids[i] for i in members], "probability": float(p)}
                for members, p in zip(lottery.panels, lottery.probabilities, strict=True)
            ],
        },
    )
    return files


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
        ``"leximin"``.
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
    progress
        Called as ``progress(stage, done, total)`` during long steps.

    Raises
    ------
    BadInputError, InfeasibleQuotasError, SolverError
        Nothing is written in any of these cases.
    """
    started = time.monotonic()
    progress = progress or no_progress
    if algorithm not in ALGORITHMS:
        raise BadInputError(
            f"unknown algorithm {algorithm!r}", hint=f"choose one of: {', '.join(ALGORITHMS)}"
        )
    if seed is not None and seed < 0:
        raise BadInputError(f"the seed must be 0 or more, not {seed}")
    if time_limit is not None and time_limit <= 0:
        raise BadInputError(f"the time limit must be positive, not {time_limit}")
    out = Path(out)
    check_destination(out, force=force)
    spec = load_quotas(quotas, panel_size=panel_size, id_column=id_column)
    pool = load_pool(registrants, id_column=spec.id_column, delimiter=delimiter, encoding=encoding)
    model = build_model(pool, spec)
    check_feasible_cheaply(model, spec)

    config = SolverConfig(name=solver, time_limit=time_limit)
    type_lottery = ALGORITHMS[algorithm](model, config, progress)
    progress("expanding lottery", 0, 1)
    lottery = expand(model, type_lottery)
    marginals = lottery.marginals(model.n)
    _check_lottery(model, lottery, marginals)

    seed_given = seed is not None
    if seed is None:
        seed = secrets.randbits(SEED_BITS)
    selected = draw(lottery, np.random.default_rng(seed))
    panel = sorted(lottery.panels[selected].tolist())
    notes = [config.fallback_note] if config.fallback_note else []
    stats: dict[str, Any] = {
        "types": model.n_types,
        "method": type_lottery.method,
        **type_lottery.stats,
        "panels": len(lottery),
    }

    progress("writing outputs", 0, 1)
    with atomic_directory(out, force=force) as tmp:
        written = _write(
            tmp,
            pool,
            spec,
            model,
            lottery,
            marginals,
            selected,
            seed,
            algorithm,
            config.name,
            stats,
            notes,
        )
    files = {name: out / path.name for name, path in written.items()}
    return SelectionResult(
        out=out,
        files=files,
        seed=seed,
        seed_was_given=seed_given,
        algorithm=algorithm,
        solver=config.name,
        n=model.n,
        k=model.k,
        n_types=model.n_types,
        selected_index=selected,
        panel=panel,
        probabilities=marginals,
        lottery=lottery,
        features=_feature_summary(model, panel, marginals),
        stats=stats,
        seconds=time.monotonic() - started,
        notes=notes,
    )
