"""The pipeline behind ``panelsel replace``: fill the seats of dropouts, fairly and within the
quotas, from the people still available, linked to the run it continues.

>>> from panelsel.commands.replace import replace
>>> result = replace("results", dropouts=["S1004", "S1016"], out="round-2",
...                  seed=7)                                          # doctest: +SKIP

The round itself is computed in memory by :func:`panelsel.runs.replace.replace`; this
command prepares the output folder first, writes the round and says what it did.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panelsel.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_OUT,
    DEFAULT_ROUNDING,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.errors import BadInputError
from panelsel.outputs.files import OutputFolder
from panelsel.outputs.folder import write_into
from panelsel.outputs.selection import Selection
from panelsel.progress import ProgressFn
from panelsel.runs.chain import (
    chain_runs,
)
from panelsel.runs.options import SolveOptions
from panelsel.runs.replace import fill_round, prepare_round, unique_ids
from panelsel.signals import checkpoint


@dataclass
class Replacement:
    """What a replacement round did; the CLI prints it."""

    out: Path
    files: dict[str, Path]
    seed: int
    seed_was_given: bool
    algorithm: str
    previous: Path
    previous_sha256: str
    kept: list[str]
    dropouts: list[str]
    unavailable: list[str]
    housemates: list[str]
    replacements: list[str]
    final: list[str]
    pool_size: int
    minimum: float
    held: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lottery_sha256: str | None = None
    """For ``panels``: the sha256 of the published lottery of the round (nothing drawn)."""
    household_room: list[dict[str, Any]] = field(default_factory=list)
    """Households with kept members and seats left: ``{"kept": ids, "room": seats}``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": {k: str(v) for k, v in self.files.items()},
            "seed": self.seed,
            "algorithm": self.algorithm,
            "previous": str(self.previous),
            "previous_sha256": self.previous_sha256,
            "kept": self.kept,
            "dropouts": self.dropouts,
            "unavailable": self.unavailable,
            "housemates_left_out": self.housemates,
            "household_room": self.household_room,
            "replacements": self.replacements,
            "final_panel": self.final,
            "pool_size": self.pool_size,
            "minimum_probability": self.minimum,
            "residual_quotas": self.held,
            "notes": self.notes,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "lottery_sha256": self.lottery_sha256,
        }


def read_ids(values: str | None, file: str | Path | None, what: str) -> list[str]:
    """Ids from a comma-separated option and/or a file of one id per line (or a CSV whose
    first column holds them, header ``id`` skipped)."""
    text = values or ""
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise BadInputError(f"the {what} file does not exist", file=str(path))
        text_of_file = path.read_text(encoding="utf-8-sig")
        # one id per line, or a CSV (a copy of panel.csv, in whatever delimiter it was
        # written) whose first column holds them; a header row is left out where the pool
        # is known (its id column's name, see _validate)
        first = text_of_file.splitlines()[0] if text_of_file.strip() else ""
        delimiter = max(",;\t|", key=first.count) if first else ","
        lines = [
            row[0].strip()
            for row in csv.reader(io.StringIO(text_of_file), delimiter=delimiter)
            if row and row[0].strip()
        ]
        if lines and lines[0].casefold() in {"id", "ids"}:
            lines = lines[1:]
        text += "," + ",".join(lines)
    return unique_ids(text, what)


def replace(
    run: str | Path,
    *,
    dropouts: list[str],
    unavailable: list[str] | None = None,
    registrants: str | Path | None = None,
    quotas: str | Path | None = None,
    out: str | Path = DEFAULT_OUT,
    seed: int | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    samples: int = DEFAULT_SAMPLES,
    force: bool = False,
    panels: int | None = None,
    rounding: str = DEFAULT_ROUNDING,
    gamma: float | None = None,
    loosen: bool = False,
    progress: ProgressFn | None = None,
) -> Replacement:
    """Fill the seats of ``dropouts`` from the people still available, and write the round
    into ``out`` (all or nothing; a non-empty folder only with ``force``, never over an
    input file or a run of the chain).

    The other parameters, and the errors, are those of
    :func:`panelsel.runs.replace.replace` (with ``seed``, ``algorithm``, ``solver``,
    ``time_limit``, ``samples``, ``panels``, ``rounding`` and ``gamma`` as its
    :class:`~panelsel.runs.options.SolveOptions`); nothing is written when one is raised.
    """
    started = time.monotonic()
    solve = SolveOptions(
        algorithm, solver, seed, time_limit, False, samples, panels, rounding, gamma
    )
    solve.check()
    prepared = prepare_round(
        run, dropouts=dropouts, unavailable=unavailable, registrants=registrants, quotas=quotas
    )
    previous = prepared.previous
    out = Path(out)
    # the inputs and every run of the chain: a round is never written over one of them
    inputs = (
        Path(str(previous.document["inputs"]["registrants"]["path"])),
        previous.path,
        *chain_runs(previous.document, previous.path.parent),
    )
    with OutputFolder(out, force=force, command="replace", inputs=inputs) as folder:
        chosen = fill_round(prepared, solve, loosen=loosen, progress=progress)
        written, digest = write_into(folder.staging, chosen)
    checkpoint("committed")
    return round_summary(
        chosen,
        {name: out / name for name in written},
        out,
        digest,
        time.monotonic() - started,
    )


def round_summary(
    chosen: Selection, files: dict[str, Path], out: Path, digest: str | None, seconds: float
) -> Replacement:
    """What the CLI shows of a round written to ``out``."""
    link = chosen.replacement
    assert link is not None, "a replacement round"
    return Replacement(
        out=out,
        files=files,
        seed=chosen.seed,
        seed_was_given=chosen.seed_given,
        algorithm=chosen.algorithm,
        previous=Path(str(link["previous"])),
        previous_sha256=str(link["previous_sha256"]),
        kept=list(link["kept"]),
        dropouts=list(link["dropouts"]),
        unavailable=list(link["unavailable"]),
        housemates=list(link["housemates_left_out"]),
        replacements=chosen.members,
        final=list(link["final_members"] or []),
        pool_size=chosen.model.n,
        minimum=float(chosen.result.probabilities.min()),
        held=list(link["residual_quotas"]),
        notes=chosen.notes,
        warnings=chosen.warnings,
        seconds=seconds,
        lottery_sha256=digest,
        household_room=list(link["household_room"]),
    )
