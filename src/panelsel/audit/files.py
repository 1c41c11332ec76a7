"""The files of a selection folder read again: the inputs' sha256, the contact lists and
workbooks against the pool, the files each kind of run writes."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from panelsel.audit.certificates import (
    Check,
)
from panelsel.digest import sha256_of
from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.load import ReadOptions
from panelsel.inputs.pool import Pool
from panelsel.outputs.files import PLAIN_CSV, CsvFormat, unescape
from panelsel.outputs.names import (
    DRAW,
    DRAWN,
    PANEL,
    PUBLIC_DRAW,
    PUBLIC_DRAW_ROUND,
    PUBLISHED,
    REMAINING,
    REPLACEMENT,
    REPLACEMENTS,
    workbook,
)
from panelsel.outputs.record import (
    recorded_contact_format,
)


def read_csv(
    path: Path, safe: bool = False, fmt: CsvFormat = PLAIN_CSV
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV written in ``fmt``; ``safe``: undo the apostrophes of
    spreadsheet-safe writing."""
    if not path.is_file():
        raise BadInputError(
            "the selection folder lacks this file",
            file=str(path),
            hint="pass the folder that panelsel select wrote (its --out)",
        )
    encoding = "utf-8-sig" if fmt.encoding.lower() in {"utf-8", "utf8"} else fmt.encoding
    try:
        with path.open(encoding=encoding, newline="") as f:
            rows = list(csv.reader(f, delimiter=fmt.delimiter))
    except UnicodeDecodeError:
        raise VerificationError(
            f"the file is not {fmt.encoding} text, the encoding lottery.json records",
            hint="use the files panelsel wrote",
        ) from None
    if not rows:
        raise BadInputError("the file is empty", file=str(path))
    if safe:
        rows = [[unescape(c) for c in row] for row in rows]
    return rows[0], rows[1:]


def check_inputs(document: dict[str, Any], registrants: Path, quotas: Path) -> Check:
    recorded = document.get("inputs", {})
    problems, figures = [], {}
    for role, path in (("registrants", registrants), ("quotas", quotas)):
        actual = sha256_of(path)
        expected = (recorded.get(role) or {}).get("sha256")
        figures[role] = {"recorded": expected, "actual": actual}
        if expected is None:
            problems.append(f"lottery.json records no sha256 for the {role} file")
        elif actual != expected:
            problems.append(
                f"{path}: sha256 {actual[:12]}… differs from the recorded {str(expected)[:12]}… "
                f"(the {role} file is not the one the selection used)"
            )
    if problems:
        return Check("inputs", False, "; ".join(problems), figures)
    return Check("inputs", True, "both files match the sha256 recorded in lottery.json", figures)


def check_duplicates(pool: Pool, read: ReadOptions) -> Check | None:
    """The registrations the selection dropped as duplicates, shown in the report (no check
    when it dropped none)."""
    if read.drop_duplicates is None:
        return None
    shown = "; ".join(pool.dropped[:5]) + (" …" if len(pool.dropped) > 5 else "")
    return Check(
        "duplicates",
        True,
        f"{len(pool.dropped)} registration(s) dropped as duplicates by "
        f"{read.drop_duplicates!r} (keep {read.keep}){': ' + shown if shown else ''}",
        {"column": read.drop_duplicates, "keep": read.keep, "dropped": pool.dropped},
    )


def drawn_file_name(document: dict[str, Any]) -> str:
    """The file of the drawn members: a replacement round's own draw is replacements.csv
    (its panel.csv is the whole panel)."""
    return REPLACEMENTS if "replacement" in document else PANEL


def rows_as_keys(
    path: Path, pool: Pool, safe: bool, fmt: CsvFormat = PLAIN_CSV
) -> tuple[list[str], Counter[str]]:
    """The registrants of a written panel.csv / remaining.csv as a multiset of keys: their
    ids, or (when the ids are row numbers, which those files do not carry) their whole rows;
    with the file's header."""
    header, rows = read_csv(path, safe, fmt)
    if pool.id_column is not None and pool.id_column in header:
        col = header.index(pool.id_column)
        return header, Counter(row[col].strip() if len(row) > col else "" for row in rows)
    return header, Counter(json.dumps(row) for row in rows)


def pool_keys(pool: Pool, indices: list[int], header: list[str]) -> Counter[str]:
    """The same keys for pool rows (whole rows cut to the columns of ``header``)."""
    if pool.id_column is not None and pool.id_column in header:
        return Counter(pool.ids[i] for i in indices)
    where = {name: c for c, name in enumerate(pool.columns)}
    cols = [where.get(name, -1) for name in header]
    return Counter(json.dumps([pool.rows[i][c] if c >= 0 else "" for c in cols]) for i in indices)


def compare_files(
    out: Path,
    pool: Pool,
    chosen: list[int],
    others: list[int],
    document: dict[str, Any],
    record: str,
) -> list[str]:
    """Problems with ``panel.csv`` (should hold ``chosen``) and ``remaining.csv``, read in
    the recorded delimiter and encoding, and with the workbooks when they were written."""
    problems = []
    safe = bool(document.get("spreadsheet_safe"))
    fmt, xlsx = recorded_contact_format(document)
    if xlsx:
        problems += compare_workbooks(out, fmt, safe, "replacement" in document)
    drawn_file = drawn_file_name(document)
    header, in_panel_csv = rows_as_keys(out / drawn_file, pool, safe, fmt)
    expected = pool_keys(pool, chosen, header)
    if in_panel_csv != expected:
        extra = sorted((in_panel_csv - expected).elements())
        lacking = sorted((expected - in_panel_csv).elements())
        if pool.id_column is not None and pool.id_column in header:
            problems.append(
                f"{drawn_file} differs from {record}'s selected members (in {drawn_file} "
                f"only: {extra}; missing from {drawn_file}: {lacking})"
            )
        else:
            # without ids the keys are whole rows (names, e-mails): name pool rows instead
            missing = set(lacking)
            rows = sorted(
                pool.line_numbers[i]
                for i in chosen
                if next(iter(pool_keys(pool, [i], header))) in missing
            )
            problems.append(
                f"{drawn_file} differs from {record}'s selected members: {len(extra)} of its "
                f"row(s) are not selected registrants, and the registrant(s) in pool row(s) "
                f"{rows} are missing from it (rows as a spreadsheet numbers them)"
            )
    header, in_remaining = rows_as_keys(out / REMAINING, pool, safe, fmt)
    if in_remaining != pool_keys(pool, others, header):
        problems.append(
            f"remaining.csv holds {in_remaining.total()} rows that are not exactly the other "
            f"{len(others)} registrants"
        )
    return problems


def compare_workbooks(out: Path, fmt: CsvFormat, safe: bool, round_: bool = False) -> list[str]:
    """Problems with the contact lists' workbooks (``panel.xlsx``, ``remaining.xlsx``, and a
    round's ``replacements.xlsx``): each must hold what its CSV holds, cell for cell (the
    workbooks store every cell as text, without apostrophes)."""
    from openpyxl import load_workbook

    problems = []
    run = REPLACEMENT if round_ else DRAWN
    for csv_name in run.contacts:
        book_name = workbook(csv_name)
        path = out / book_name
        if not path.is_file():
            problems.append(f"lottery.json records {book_name}, which is missing")
            continue
        header, rows = read_csv(out / csv_name, safe, fmt)
        try:
            book = load_workbook(path, read_only=True, data_only=True)
            cells = [
                ["" if v is None else str(v) for v in row]
                for row in book.worksheets[0].iter_rows(values_only=True)
            ]
            book.close()
        except Exception as exc:  # any unreadable workbook fails the check, never the audit
            problems.append(f"{book_name} cannot be read as a workbook ({type(exc).__name__})")
            continue
        width = len(header)
        cells = [(row + [""] * width)[:width] for row in cells]
        written = [[c.replace("\r\n", "\n") for c in row] for row in [header, *rows]]
        if cells != written:
            problems.append(f"{book_name} does not hold what {csv_name} holds")
    return problems


def check_files(out: Path, kind: str, document: dict[str, Any]) -> Check:
    """The folder holds every file its kind of run writes (:mod:`panelsel.outputs.names`)."""
    _, xlsx = recorded_contact_format(document)
    round_ = isinstance(document.get("replacement"), dict)
    runs = [PUBLISHED] if kind == "published" else [REPLACEMENT if round_ else DRAWN]
    if kind == "published" and (out / DRAW).exists():
        runs.append(PUBLIC_DRAW_ROUND if round_ else PUBLIC_DRAW)
    missing = [name for run in runs for name in run.missing(out, xlsx)]
    what = " and ".join(f"a {run.kind}" for run in runs)
    count = sum(len(run.names(xlsx)) for run in runs)
    if missing:
        return Check(
            "files",
            False,
            f"the folder lacks {', '.join(missing)}, which {what} writes (was it deleted or "
            "renamed?): the audit cannot go on",
            {"missing": missing},
        )
    return Check("files", True, f"the {count} files {what} writes are all present")
