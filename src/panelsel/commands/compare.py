"""``panelsel compare``: every algorithm on the same pool, side by side.

Each algorithm runs on the same validated model (with its own solver time limit); the
figures of :mod:`panelsel.outputs.report` summarise each one's selection probabilities, and the
folder written holds ``report.html`` (all curves in one plot), ``probabilities.csv`` (one
column per algorithm; legacy's estimates with their 99% intervals) and ``summary.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panelsel import __version__
from panelsel.defaults import DEFAULT_ENCODING, DEFAULT_SAMPLES, DEFAULT_SOLVER
from panelsel.inputs.load import ReadOptions
from panelsel.inputs.pool import Pool
from panelsel.lottery.compute import PeopleLottery
from panelsel.lottery.manipulation import (
    DEFAULT_CANDIDATES,
    Manipulation,
)
from panelsel.outputs.files import OutputFolder, write_csv, write_json
from panelsel.outputs.names import COMPARISON, PROBABILITIES, REPORT, SUMMARY
from panelsel.outputs.report import Curve, ReportPage, created_now, curve_of, render_html
from panelsel.outputs.tables import format_probability
from panelsel.progress import ProgressFn
from panelsel.runs.compare import check_compare
from panelsel.runs.compare import compare as compare_in_memory
from panelsel.runs.options import SolveOptions
from panelsel.solve.algorithms import ALGORITHM_NAMES


@dataclass
class Comparison:
    """The algorithms' results on one pool, in the order run."""

    out: Path
    files: dict[str, Path]
    n: int
    k: int
    seed: int
    seed_was_given: bool
    samples: int
    solver: str
    curves: list[Curve]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    manipulation: list[Manipulation] = field(default_factory=list)
    """Per exact algorithm, what a coalition reached by one common report (``--coalition``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": {k: str(v) for k, v in self.files.items()},
            "pool_size": self.n,
            "panel_size": self.k,
            "equal_share": self.k / self.n,
            "seed": self.seed,
            "samples": self.samples,
            "solver": self.solver,
            "algorithms": [c.summary.as_dict() for c in self.curves],
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
            "manipulation": [m.as_dict() for m in self.manipulation],
            "version": __version__,
        }


def _probability_table(
    pool: Pool, quota_columns: list[int], results: list[PeopleLottery]
) -> tuple[list[str], list[list[str]]]:
    names = [pool.columns[c] for c in quota_columns]
    header = ["id" if "id" not in names else "registrant_id"]
    for r in results:
        if r.estimated:
            header += [
                f"{r.algorithm}_estimate",
                f"{r.algorithm}_ci99_low",
                f"{r.algorithm}_ci99_high",
            ]
        else:
            header.append(r.algorithm)
    rows = []
    for i, pid in enumerate(pool.ids):
        row = [pid]
        for r in results:
            row.append(format_probability(r.probabilities[i]))
            if r.low is not None and r.high is not None:
                row += [format_probability(r.low[i]), format_probability(r.high[i])]
        rows.append(row + [pool.rows[i][c] for c in quota_columns])
    return header + names, rows


def compare(
    registrants: str | Path,
    quotas: str | Path,
    *,
    algorithms: Sequence[str] = tuple(ALGORITHM_NAMES),
    out: str | Path = "panelsel-compare",
    seed: int | None = None,
    samples: int = DEFAULT_SAMPLES,
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
    raw_csv: bool = False,
    gamma: float | None = None,
    coalition: int | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    best_effort: bool = False,
    progress: ProgressFn | None = None,
) -> Comparison:
    """Run ``algorithms`` on one pool and write the comparison.

    Parameters are those of :func:`panelsel.commands.select.select`, with ``algorithms``
    (each at most once) instead of one; ``time_limit`` applies to each algorithm
    separately, and ``seed`` drives legacy's Monte-Carlo runs (the lottery algorithms are
    deterministic).

    Raises
    ------
    BadInputError, InfeasibleQuotasError, SolverError
        Nothing is written in any of these cases.
    """
    started = time.monotonic()
    read = ReadOptions(
        delimiter, encoding, id_column, panel_size, drop_duplicates, keep, sheet, header_row
    )
    solve = SolveOptions(
        solver=solver,
        seed=seed,
        time_limit=time_limit,
        best_effort=best_effort,
        samples=samples,
        gamma=gamma,
    )
    algorithms = check_compare(algorithms, solve, coalition, candidates)
    out = Path(out)
    with OutputFolder(
        out, force=force, command="compare", inputs=(Path(registrants), Path(quotas))
    ) as folder:
        done = compare_in_memory(
            registrants,
            quotas,
            algorithms=algorithms,
            read=read,
            solve=solve,
            coalition=coalition,
            candidates=candidates,
            progress=progress,
        )
        pool, spec, model, results, notes = (
            done.pool,
            done.spec,
            done.model,
            done.results,
            done.notes,
        )
        seed = done.seed
        curves = [curve_of(r, model.k) for r in results]
        comparison = Comparison(
            out=out,
            files={},
            n=model.n,
            k=model.k,
            seed=seed,
            seed_was_given=done.seed_given,
            samples=samples,
            solver=solver,
            curves=curves,
            notes=notes,
            manipulation=done.manipulation,
        )
        header, rows = _probability_table(pool, model.quota_columns, results)
        tmp = folder.staging
        write_csv(tmp / PROBABILITIES, header, rows, safe=not raw_csv)
        (tmp / REPORT).write_text(
            render_html(
                ReportPage(
                    title="Selection probabilities compared: " + ", ".join(algorithms),
                    model=model,
                    curves=curves,
                    facts={
                        "solver": solver,
                        "seed (legacy runs)": str(seed),
                        "registrants sha256": pool.sha256,
                        "quotas sha256": spec.sha256,
                        "panelsel": __version__,
                        **{f"method ({r.algorithm})": r.method for r in results},
                    },
                    registrants=pool.path.name,
                    quotas=spec.path.name,
                    created=created_now(),
                    notes=notes,
                )
            ),
            encoding="utf-8",
        )
        comparison.files = {name: out / name for name in COMPARISON.files}
        comparison.seconds = time.monotonic() - started
        write_json(tmp / SUMMARY, comparison.as_dict())
    return comparison
