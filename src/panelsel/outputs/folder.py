"""A :class:`~panelsel.outputs.selection.Selection` written as a folder, all or nothing.

:func:`write` is the library's one way to put a selection on disk; :func:`write_into` writes
its files into a prepared staging folder (the commands prepare the
:class:`~panelsel.outputs.files.OutputFolder` before they compute, so that a destination
they would refuse is refused first).  Which files each kind of run writes is
:mod:`panelsel.outputs.names`' registry, checked here after every write.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from panelsel.outputs.files import OutputFolder
from panelsel.outputs.names import DRAWN, PUBLISHED, REPLACEMENT
from panelsel.outputs.selection import Selection
from panelsel.outputs.tables import (
    contact_format,
    write_drawn,
    write_final_panel,
    write_published,
)
from panelsel.signals import checkpoint


def write_into(tmp: Path, selection: Selection) -> tuple[dict[str, Path], str | None]:
    """Write every file of ``selection`` into the staging folder ``tmp``.  Returns the
    files (by name) and, for a lottery published for a public draw, the sha256 of its
    ``lottery.json``."""
    digest: str | None = None
    options = selection.options
    if selection.kind == "published":
        written, digest = write_published(tmp, selection)
        run, xlsx = PUBLISHED, False
    elif selection.replacement is not None:
        previous = selection.previous_pool
        assert previous is not None, "a drawn round writes the whole panel of the whole pool"
        written = write_drawn(tmp, selection)
        write_final_panel(
            tmp,
            previous,
            [str(x) for x in selection.replacement["kept"]],
            selection.members,
            columns=options.columns,
            fmt=contact_format(previous, selection.read, options)[0],
            safe=not options.raw_csv,
        )
        run, xlsx = REPLACEMENT, bool(options.xlsx)
    else:
        written = write_drawn(tmp, selection)
        run, xlsx = DRAWN, contact_format(selection.pool, selection.read, options)[1]
    missing = run.missing(tmp, xlsx)
    assert not missing, f"the {run.kind} did not write {missing}"  # the registry is the truth
    files = {name: tmp / name for name in run.names(xlsx)} if selection.replacement else written
    checkpoint("written")
    return files, digest


def write(
    selection: Selection,
    folder: str | Path,
    *,
    force: bool = False,
    protect: Sequence[Path] = (),
) -> dict[str, Path]:
    """Write ``selection`` into ``folder``, whole or not at all (see
    :class:`~panelsel.outputs.files.OutputFolder`: a non-empty folder is refused unless
    ``force``, and then only panelsel's own files are replaced).  The input files, and
    ``protect``, are never written over.  Returns the files written, by name."""
    out = Path(folder)
    inputs = (selection.pool.path, selection.spec.path, *protect)
    command = "replace" if selection.replacement is not None else "select"
    with OutputFolder(out, force=force, command=command, inputs=inputs) as prepared:
        written, _ = write_into(prepared.staging, selection)
    checkpoint("committed")
    return {name: out / path.name for name, path in written.items()}
