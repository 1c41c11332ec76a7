"""The pipeline behind ``panelsel select``: load -> validate -> lottery -> draw -> write.

>>> from panelsel.commands.select import select
>>> result = select("examples/wellbeing/registrants.csv", "examples/wellbeing/quotas.yaml",
...                 out="results", seed=12345)                        # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel import __version__
from panelsel.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_ENCODING,
    DEFAULT_OUT,
    DEFAULT_ROUNDING,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.inputs.load import ReadOptions
from panelsel.inputs.model import Model
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.compute import RunKind
from panelsel.lottery.public import dice_plan
from panelsel.lottery.rounding import Rounded
from panelsel.outputs.files import OutputFolder
from panelsel.outputs.folder import write_into
from panelsel.outputs.selection import OutputOptions, Selection
from panelsel.progress import ProgressFn, no_progress
from panelsel.runs.options import SolveOptions, contact_option
from panelsel.runs.select import select as select_in_memory
from panelsel.signals import checkpoint
from panelsel.solve.feasibility import Exclusion


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
    members: list[str]
    """The ids of the drawn panel, in file order (none for a public draw's numbered panels)."""
    probabilities: npt.NDArray[np.float64]
    lottery: Lottery | GroupedLottery
    features: list[FeatureSummary]
    kind: RunKind = "drawn"
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    samples: int = 0
    proven_optimal: bool = True
    rounded: Rounded | None = None
    sha256: str | None = None
    solver_seconds: dict[str, float] = field(default_factory=dict)
    excluded: list[Exclusion] = field(default_factory=list)
    """Who has no chance of a seat, and why (also the first of :attr:`notes`)."""
    warnings: list[str] = field(default_factory=list)
    """The notes that are warnings: who has no chance, registrations that look like one
    person's."""

    @property
    def equal_share(self) -> float:
        return self.k / self.n

    @property
    def estimated(self) -> bool:
        return self.kind == "estimated"

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
            "selected_members": self.members if self.kind != "published" else None,
            "probability": self.probability_figures(),
            "probabilities_estimated": self.estimated,
            "proven_optimal": self.proven_optimal,
            "quotas": [f.__dict__ for f in self.features],
            "seconds": round(self.seconds, 3),
            "solver_seconds": {k: round(v, 3) for k, v in self.solver_seconds.items()},
            "stats": self.stats,
            "notes": self.notes,
            "excluded": [e.as_dict() for e in self.excluded],
            "warnings": self.warnings,
            "version": __version__,
            **(
                {
                    "rounding": self.rounded.as_dict(),
                    "dice_plan": dice_plan(self.rounded.m),
                    "lottery_sha256": self.sha256,
                }
                if self.kind == "published" and self.rounded is not None
                else {}
            ),
        }


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


def select(
    registrants: str | Path,
    quotas: str | Path,
    *,
    out: str | Path = DEFAULT_OUT,
    seed: int | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    solver: str = DEFAULT_SOLVER,
    delimiter: str = ",",
    encoding: str = DEFAULT_ENCODING,
    id_column: str | None = None,
    panel_size: int | None = None,
    drop_duplicates: str | None = None,
    keep: str = "last",
    sheet: str | None = None,
    header_row: int | None = None,
    force: bool = False,
    time_limit: float | None = None,
    samples: int = DEFAULT_SAMPLES,
    raw_csv: bool = False,
    columns: list[str] | None = None,
    out_delimiter: str | None = None,
    out_encoding: str | None = None,
    xlsx: bool | None = None,
    best_effort: bool = False,
    panels: int | None = None,
    rounding: str = DEFAULT_ROUNDING,
    gamma: float | None = None,
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
        ``"leximin"`` (default), ``"maximin"``, ``"nash"``, ``"goldilocks"``, ``"minimax"``
        or ``"legacy"``.
    solver
        ``"highs"`` (default) or ``"cbc"``.
    delimiter, encoding
        How to read the registrants CSV.
    id_column, panel_size
        Override (or, for a categories CSV, supply) the quota file's values.
    drop_duplicates, keep
        A column identifying a person (an e-mail address): of registrations with the same
        value there, only the ``keep`` one (``"last"``, the latest in file order, or
        ``"first"``) stays in the pool; lottery.json records it and the audit shows who was
        dropped.
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
    out_delimiter, out_encoding
        The delimiter and encoding of ``panel.csv`` and ``remaining.csv`` (default: the
        registrants file's, with a byte-order mark if it had one; ``utf-8-sig`` writes one).
    xlsx
        Also write ``panel.xlsx`` and ``remaining.xlsx`` (default: when the registrants are a
        workbook).
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
    gamma
        Goldilocks' weight of the smallest chance (default 1; only with ``goldilocks``).
    progress
        Called as ``progress(stage, done, total)`` during long steps.

    Raises
    ------
    BadInputError, InfeasibleQuotasError, SolverError
        Nothing is written in any of these cases.
    """
    started = time.monotonic()
    progress = progress or no_progress
    read = ReadOptions(
        delimiter, encoding, id_column, panel_size, drop_duplicates, keep, sheet, header_row
    )
    solve = SolveOptions(
        algorithm, solver, seed, time_limit, best_effort, samples, panels, rounding, gamma
    )
    solve.check()
    output = OutputOptions(
        raw_csv,
        tuple(columns) if columns is not None else None,
        contact_option(out_delimiter, out_encoding, delimiter, encoding),
        xlsx,
    )
    out = Path(out)
    # the destination is checked (and a staging folder made) before anything is computed
    with OutputFolder(
        out, force=force, command="select", inputs=(Path(registrants), Path(quotas))
    ) as folder:
        chosen = select_in_memory(
            registrants, quotas, read=read, solve=solve, output=output, progress=progress
        )
        progress("writing outputs", 0, 1)
        written, digest = write_into(folder.staging, chosen)
    checkpoint("committed")
    return summary(
        chosen,
        {name: out / path.name for name, path in written.items()},
        out,
        digest,
        time.monotonic() - started,
        samples,
    )


def summary(
    chosen: Selection,
    files: dict[str, Path],
    out: Path,
    digest: str | None,
    seconds: float,
    samples: int,
) -> SelectionResult:
    """What the CLI shows of a selection written to ``out``."""
    model, result = chosen.model, chosen.result
    panel = chosen.panel
    published = result.rounded
    return SelectionResult(
        out=out,
        files=files,
        seed=chosen.seed,
        seed_was_given=chosen.seed_given,
        algorithm=chosen.algorithm,
        solver=chosen.solver,
        n=model.n,
        k=model.k,
        n_types=model.n_types,
        selected_index=result.selected,
        panel=panel,
        members=chosen.members,
        probabilities=chosen.probabilities,
        lottery=chosen.lottery,
        features=_feature_summary(model, panel, result.probabilities),
        kind=result.kind,
        stats=result.stats,
        seconds=seconds,
        notes=chosen.notes,
        samples=int(result.stats.get("samples", samples)) if result.kind == "estimated" else 0,
        proven_optimal=result.proven_optimal,
        rounded=published,
        sha256=digest,
        solver_seconds=result.solver_seconds,
        excluded=result.excluded,
        warnings=chosen.warnings,
    )
