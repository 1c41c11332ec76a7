"""All-or-nothing output folders and the files written into them.

Files are written into a fresh temporary folder beside the destination and moved into place
only when every file is complete, so a failure (or an interrupt) leaves either the previous
state or the complete new output, never a partial folder.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from panelsel.errors import BadInputError


def check_destination(out: Path, *, force: bool) -> None:
    """Refuse a destination that is a file, or a non-empty folder without ``force``."""
    if out.exists() and not out.is_dir():
        raise BadInputError(
            "the output path exists and is not a folder", file=str(out), hint="choose another --out"
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BadInputError(
            "the output folder exists and is not empty",
            file=str(out),
            hint="choose another --out, or pass --force to replace it",
        )


@contextlib.contextmanager
def atomic_directory(out: Path, *, force: bool) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out`` in one rename."""
    out = Path(out).absolute()
    check_destination(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        check_destination(out, force=force)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "previous")
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Cell beginnings that spreadsheet programs read as a formula (OWASP, "CSV Injection")."""


def spreadsheet_safe(cell: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe, so that spreadsheet
    programs show it as text; anything else is returned unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def unescape(cell: str) -> str:
    """The inverse of :func:`spreadsheet_safe` (for reading panelsel's own outputs)."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterator[Sequence[Any]] | list[Any],
    *,
    safe: bool = True,
) -> None:
    """Write a UTF-8 CSV with a header row; with ``safe`` (the default) every cell, header
    included, goes through :func:`spreadsheet_safe`."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        if safe:
            writer.writerow([spreadsheet_safe(c) for c in header])
            writer.writerows([spreadsheet_safe(c) for c in row] for row in rows)
        else:
            writer.writerow(header)
            writer.writerows(rows)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON object one key per line, list items one per line, each item compact.

    Large lotteries stay readable line by line (one panel a line) without the size of fully
    indented JSON.
    """

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            inner = ",\n".join(f"  {dump(v)}" for v in value)
            lines.append(f" {dump(key)}: [\n{inner}\n ]")
        else:
            lines.append(f" {dump(key)}: {dump(value)}")
    with path.open("w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


@contextlib.contextmanager
def atomic_files(folder: Path, names: Sequence[str], *, force: bool) -> Iterator[Path]:
    """Yield a temporary folder inside ``folder``; on success the files ``names`` written
    there replace those of ``folder``.  An existing file is refused without ``force``."""
    folder = Path(folder).absolute()

    def refuse_existing() -> None:
        existing = [name for name in names if (folder / name).exists()]
        if existing and not force:
            raise BadInputError(
                f"{', '.join(existing)} already exist(s) beside the lottery",
                file=str(folder),
                hint="pass --force to replace them",
            )

    refuse_existing()
    tmp = Path(tempfile.mkdtemp(prefix=".panelsel-draw.tmp-", dir=folder))
    try:
        yield tmp
        refuse_existing()
        for name in names:
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
