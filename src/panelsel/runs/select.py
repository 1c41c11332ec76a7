"""A selection in memory: read the inputs, compute the fair lottery, draw from it (or round
it for a public draw), and return the :class:`~panelsel.outputs.selection.Selection`
without touching the disk.

>>> from panelsel.runs.select import select
>>> from panelsel.runs.options import SolveOptions
>>> chosen = select("examples/wellbeing/registrants.csv", "examples/wellbeing/quotas.yaml",
...                 solve=SolveOptions(seed=12345))                    # doctest: +SKIP
>>> chosen.members, chosen.probabilities.min()                        # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from panelsel.inputs.load import ReadOptions, load_inputs
from panelsel.lottery.compute import compute_or_explain
from panelsel.outputs.selection import OutputOptions, Selection
from panelsel.outputs.tables import contact_columns
from panelsel.progress import ProgressFn, no_progress
from panelsel.runs.notes import selection_notes
from panelsel.runs.options import SolveOptions, seed_of
from panelsel.signals import checkpoint
from panelsel.solve.backends import SolverConfig


def select(
    registrants: str | Path,
    quotas: str | Path,
    *,
    read: ReadOptions | None = None,
    solve: SolveOptions | None = None,
    output: OutputOptions | None = None,
    progress: ProgressFn | None = None,
) -> Selection:
    """Select a panel in memory.

    Parameters
    ----------
    registrants, quotas
        The registrants file (CSV or workbook) and the quota file (YAML, or a Sortition
        Foundation categories CSV).
    read
        How to read them (delimiter, encoding, sheet, duplicates; default: a UTF-8 CSV).
    solve
        The algorithm, solver, seed, time limit, public-draw rounding (default: LEXIMIN on
        HiGHS, a fresh seed).
    output
        How the files will be written (:func:`panelsel.outputs.folder.write`); checked
        here against the pool so that a selection that could not be written is refused
        before any work.
    progress
        Called as ``progress(stage, done, total)`` during long steps.

    Raises
    ------
    BadInputError, InfeasibleQuotasError, SolverError
        With the messages the CLI shows.
    """
    read = read or ReadOptions()
    solve = solve or SolveOptions()
    output = output or OutputOptions()
    progress = progress or no_progress
    solve.check()
    spec, pool, model = load_inputs(registrants, quotas, read)
    contact_columns(pool, output.columns)  # fail early
    config = SolverConfig(name=solve.solver, time_limit=solve.time_limit)
    seed = seed_of(solve.seed)
    checkpoint("computing")
    result = compute_or_explain(
        *(model, spec, solve.algorithm, config, solve.request(seed)),
        publish=solve.publish,
        progress=progress,
        ids=pool.ids,
    )
    notes, warnings = selection_notes(
        result,
        pool,
        model,
        algorithm=solve.algorithm,
        time_limit=solve.time_limit,
        samples=solve.samples,
    )
    return Selection(
        pool,
        spec,
        model,
        result,
        seed,
        config.name,
        notes,
        read,
        output,
        seed_given=solve.seed is not None,
        warnings=warnings,
    )
