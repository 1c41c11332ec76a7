"""Loading the registrants CSV: one row per person, raw cells kept as written.

Row numbers in messages are spreadsheet rows: the header is row 1 and every record after it
one row, however many text lines its cells span (a free-text answer with line breaks is one
row in Excel, several lines in the file), so the first registrant is row 2.  Values are
compared after :func:`normalise` (surrounding whitespace trimmed, case folded), as the
Sortition Foundation's tools do; outputs keep the raw cells.

Registrations that look like one person's (the same e-mail address, or every answer the
same but the id and the times) are warned about (:func:`duplicate_warnings`); one per
person is kept only when asked (:func:`drop_duplicates`).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING
from panelsel.digest import sha256_hex
from panelsel.encodings import check_text_encoding
from panelsel.errors import BadInputError

ID_DEFAULT_COLUMN = "id"

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u00ad\u200b\u200c\u200d\u2060\ufeff"  # soft hyphen, zero-width characters
        "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",  # bidi
    )
)
"""Characters that do not show but would make two equal-looking values differ."""


def normalise(value: str) -> str:
    """The form in which cell values, quota values and column names are compared: Unicode
    NFKC (a decomposed "é" equals the composed one, a non-breaking space a space), invisible
    characters removed (zero-width spaces and joiners, directional marks, soft hyphens), runs
    of white space made one space, ends trimmed, case folded."""
    return _normalised(value)


@functools.lru_cache(maxsize=1 << 16)
def _normalised(value: str) -> str:
    # cells repeat (a category has a few values), hence the cache; NFKC and the invisible
    # characters only concern non-ASCII text
    text = value if value.isascii() else unicodedata.normalize("NFKC", value).translate(_INVISIBLE)
    return " ".join(text.split()).casefold()


def household_key(value: str) -> str:
    r"""A household cell as the household rule compares it: :func:`normalise`\ d, without
    spaces or punctuation, so that ``CT10 5LD`` = ``ct105ld`` and ``12, Mill Lane`` =
    ``12 Mill Lane`` (``12 Mill Ln`` stays different: near-identical addresses are warned
    about, not merged)."""
    return "".join(ch for ch in normalise(value) if ch.isalnum())


def parse_delimiter(text: str) -> str:
    """Accept ``,``, ``;``, ``|`` or ``tab`` / ``\\t`` as a CSV delimiter."""
    if text.lower() in {"tab", "\\t", "\t"}:
        return "\t"
    if len(text) != 1:
        raise BadInputError(
            f"the delimiter {text!r} is not a single character",
            hint="use --delimiter ',' (default), --delimiter ';' or --delimiter tab",
        )
    if text in {'"', "\n", "\r"}:
        what = "the quote character of CSV files" if text == '"' else "a line break"
        raise BadInputError(
            f"the delimiter {text!r} is {what}, which cannot separate cells",
            hint="use --delimiter ',' (default), --delimiter ';' or --delimiter tab",
        )
    return text


@dataclass
class Pool:
    """The registrants as read: header, raw rows and a unique id per person.

    Attributes
    ----------
    path : Path
        The CSV file.
    columns : list of str
        The header, as written.
    rows : list of list of str
        One list of raw cells per registrant, in file order.
    ids : list of str
        One id per registrant (trimmed), unique even when case is ignored.
    id_column : str or None
        The column the ids came from, or None when they are 0-based row numbers.
    line_numbers : list of int
        For each registrant, its spreadsheet row (header = 1, one row per record) used in
        messages.
    sha256 : str
        Hex digest of the file's bytes.
    """

    path: Path
    columns: list[str]
    rows: list[list[str]]
    ids: list[str]
    id_column: str | None
    line_numbers: list[int]
    sha256: str
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    bom: bool = False
    """The file began with a UTF-8 byte-order mark (Excel's "CSV UTF-8"); the contact lists
    are written with one too, so that Excel reads them as UTF-8 again."""
    spreadsheet: bool = False
    """The file is an Excel workbook (``.xlsx``)."""
    sheet: str | None = None
    """The workbook's sheet read (its name); None for a CSV file."""
    sheet_given: bool = False
    """The sheet was chosen (``--sheet``), not the first one."""
    header_row: int = 1
    """The spreadsheet row of the header."""
    above_header: list[str] = field(default_factory=list)
    """The text of the title rows above the header, which were skipped (none usually)."""
    unsaved_formulas: set[tuple[int, int]] = field(default_factory=set)
    """A workbook's cells (spreadsheet row, 0-based column) holding a formula without a
    saved value: openpyxl reads them as blank, though Excel shows a value."""
    warnings: list[str] = field(default_factory=list)
    """What the reading noticed and the user should hear (registrations that look like
    duplicates); every command passes them on."""
    dropped: list[str] = field(default_factory=list)
    """Messages, one per registration removed by :func:`drop_duplicates`."""

    def __len__(self) -> int:
        return len(self.rows)

    def blank_cell(self, r: int, ci: int, hint: str) -> tuple[str, str]:
        """The message and hint for the blank cell of registrant ``r`` in column ``ci``:
        a formula without a saved value is named as one."""
        if (self.line_numbers[r], ci) in self.unsaved_formulas:
            return (
                "holds a formula whose value was never saved (the workbook was written by a "
                "program, not saved in Excel), so it reads as blank",
                "open the workbook in Excel and save it, so that the formulas' values are "
                "stored, or export it as CSV UTF-8",
            )
        return "is blank", hint

    @property
    def source(self) -> str:
        """The file as messages name it: with the sheet read, for a workbook."""
        return _source(self.path, self.sheet)

    def find_column(self, name: str, *, purpose: str, source: str | None = None) -> int:
        """Index of column ``name``; an exact match, else the one match ignoring case and spaces.

        Raises :class:`BadInputError` naming the closest columns when there is none.
        """
        if name in self._index:
            return self._index[name]
        loose = [i for i, c in enumerate(self.columns) if normalise(c) == normalise(name)]
        if len(loose) == 1:
            return loose[0]
        if len(loose) > 1:
            both = " and ".join(repr(self.columns[i]) for i in loose)
            raise BadInputError(
                f"the columns {both} both match {name!r} ({purpose}), so it is ambiguous",
                file=self.source,
                hint=f"rename or remove one of them, or write the column's exact name"
                f"{' in ' + source if source else ''}",
            )
        import difflib

        close = difflib.get_close_matches(name, self.columns, n=3, cutoff=0.5)
        suggestion = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        where = f" (named in {source})" if source else ""
        raise BadInputError(
            f"there is no column {name!r} for {purpose}{where}",
            file=self.source,
            hint=f"{suggestion}the columns are: {', '.join(repr(c) for c in self.columns)}",
        )

    def column(self, index: int) -> list[str]:
        """The raw cells of one column, one per registrant."""
        return [row[index] for row in self.rows]


def _record_of(data: bytes, offset: int, encoding: str, delimiter: str) -> int:
    """The spreadsheet row (1-based record number) holding byte ``offset``."""
    prefix = data[:offset].decode(encoding, errors="replace")
    try:
        return max(
            1, sum(1 for _ in csv.reader(io.StringIO(prefix, newline=""), delimiter=delimiter))
        )
    except csv.Error:
        return prefix.count("\n") + 1


def _decode(path: Path, data: bytes, encoding: str, delimiter: str) -> str:
    if data.startswith(_UTF16_BOMS) and not encoding.lower().startswith("utf-16"):
        raise BadInputError(
            "the file is UTF-16 encoded (an Excel 'Unicode text' export)",
            file=str(path),
            hint="save it from your spreadsheet as 'CSV UTF-8', or pass --encoding utf-16",
        )
    check_text_encoding(encoding, "--encoding")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.end]
        raise BadInputError(
            f"byte(s) {bad!r} are not valid {encoding}",
            file=str(path),
            row=_record_of(data, exc.start, encoding, delimiter),
            hint="re-save the file as UTF-8, or name its encoding with --encoding "
            "(for example --encoding cp1252 for a Windows Excel export)",
        ) from None
    if b"\n" in data and "\n" not in text and "\r" not in text:
        # a UTF-8 or single-byte file read as UTF-16/32: bytes pair up, lines vanish
        raise BadInputError(
            f"read as {encoding}, the file has no line breaks although its bytes have them: "
            f"it is not {encoding}",
            file=str(path),
            hint="leave out --encoding (UTF-8 is the default), or name the encoding the file "
            "was saved in",
        )
    return text


XLSX_SUFFIXES = (".xlsx", ".xlsm")
DAMAGED_SHEET_ERRORS: tuple[type[Exception], ...] = (
    SyntaxError,  # xml.etree.ElementTree.ParseError: broken XML
    IndexError,  # a shared-string index out of range
    KeyError,
    ValueError,  # a number or date cell that is not one
    TypeError,
    OverflowError,
    OSError,  # a truncated or damaged zip member
    EOFError,
)
"""What openpyxl raises while it reads a damaged sheet's rows."""
_ZIP_MAGIC = b"PK\x03\x04"
MAX_WORKBOOK_UNPACKED = 512 * 2**20
"""The most a workbook may unpack to (its XML): a few kilobytes of zip can unpack to
gigabytes, which openpyxl would parse for minutes."""
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""An OLE compound file: an encrypted workbook, or an old .xls."""


def load_pool(
    path: str | Path,
    *,
    id_column: str | None = None,
    delimiter: str = DEFAULT_DELIMITER,
    encoding: str = DEFAULT_ENCODING,
    sheet: str | None = None,
    header_row: int | None = None,
    expect: Sequence[str] = (),
    drop: tuple[str, str] | None = None,
) -> Pool:
    """Read the registrants: a CSV file, or a sheet of an Excel workbook (``.xlsx``).

    Parameters
    ----------
    path
        The file, one row per registrant, with a header row.
    id_column
        The column holding unique ids.  When None, a column called ``id`` (in any case:
        ``ID``, ``Id``) is used if there is one, otherwise the 0-based row number of each
        registrant becomes its id.
    delimiter
        The CSV field separator (``,`` by default; not used for a workbook).
    encoding
        The CSV text encoding; the default accepts UTF-8 with or without a byte-order mark.
    sheet
        The workbook's sheet, by name or 1-based number (default: the first).
    header_row
        The spreadsheet row of the header (default: the first row that is not blank).
    expect
        Columns the header must have (the quota columns).  Without ``header_row``, a header
        below one or more title rows is found by them (:func:`_find_header`); without
        ``sheet``, a first sheet without them is refused when another sheet has them.
    drop
        ``(column, keep)``: keep one registration per value of ``column`` (``keep``:
        ``last`` or ``first``) before ids are checked, so that a person who registered twice
        under one id is not refused as a duplicate id (:func:`_without_duplicates`).

    Raises
    ------
    BadInputError
        For a missing, empty, undecodable or ragged file, duplicate column names, or missing,
        blank or duplicate ids.
    """
    path = Path(path)
    if not path.exists():
        raise BadInputError(
            "the registrants file does not exist",
            file=str(path),
            hint="check the path (it is relative to the current folder)",
        )
    if path.is_dir():
        raise BadInputError("this is a folder, not a registrants CSV file", file=str(path))
    data = path.read_bytes()
    digest = sha256_hex(data)
    if header_row is not None and header_row < 1:
        raise BadInputError(
            f"--header-row {header_row} is not a row number",
            file=str(path),
            hint="give the spreadsheet row of the header (1 is the first row)",
        )
    if path.suffix.lower() in XLSX_SUFFIXES or data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        title, records, unsaved = _xlsx_records(path, data, sheet, expect)
        pool = _pool_of(
            path, records, digest, delimiter, header_row=header_row, expect=expect, sheet=title
        )
        pool.unsaved_formulas = unsaved
        pool.spreadsheet = True
        pool.sheet_given = sheet is not None
    else:
        if sheet is not None:
            raise BadInputError(
                f"--sheet {sheet!r} applies to a workbook (.xlsx), and this is a text (CSV) file",
                file=str(path),
                hint="drop --sheet",
            )
        text = _decode(path, data, encoding, delimiter)
        if not text.strip():
            raise BadInputError(
                "the registrants file is empty",
                file=str(path),
                hint="export the registrants with a header row and one row per person",
            )
        lines = _csv_records(path, text, delimiter)
        pool = _pool_of(
            path, lines, digest, delimiter, header_row=header_row, expect=expect, sheet=None
        )
        pool.bom = data.startswith(b"\xef\xbb\xbf")
    dropped: list[tuple[int, int, str]] = []
    lines_before = pool.line_numbers
    rows_before = pool.rows
    if drop is not None:
        pool, dropped = _without_duplicates(pool, *drop)
    _assign_ids(pool, id_column)
    if dropped:
        col = pool.columns.index(pool.id_column) if pool.id_column is not None else None
        pool.dropped = [
            _dropped_text(
                lines_before[r],
                rows_before[r][col].strip() if col is not None else None,
                name,
                line,
            )
            for r, line, name in dropped
        ]
    pool.warnings = duplicate_warnings(pool)
    if pool.above_header and header_row is None:
        titles = "; ".join(repr(t[:60]) for t in pool.above_header[:3])
        pool.warnings.insert(
            0,
            f"{pool.source}: the header is row {pool.header_row}, below {titles}, which "
            f"panelsel left out as title row(s); if that is wrong, pass --header-row",
        )
    return pool


def _csv_records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV text with their spreadsheet rows (one per record, however many
    lines its cells span; a blank line is a row too)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    record = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BadInputError(
                f"the row cannot be read as CSV: {exc}",
                file=str(path),
                row=record + 1,
                hint="check the quoting of this row",
            ) from None
        record += 1
        yield record, row


_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')
_HIDDEN_ROW_REVERSED = re.compile(rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"')


def _hidden_rows(data: bytes, member: str | None) -> list[int]:
    """The row numbers the sheet's XML marks hidden (openpyxl's read-only mode does not
    say); empty when the sheet cannot be found."""
    import zipfile

    if not member:
        return []
    try:
        xml = zipfile.ZipFile(io.BytesIO(data)).read(member)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return []
    found = {int(m) for m in _HIDDEN_ROW.findall(xml)} | {
        int(m) for m in _HIDDEN_ROW_REVERSED.findall(xml)
    }
    return sorted(found)


def _has_cells(sheet: Any) -> bool:
    """Whether a (read-only) worksheet has a non-blank cell in its first rows."""
    try:
        for values in sheet.iter_rows(max_row=50, values_only=True):
            if any(v is not None and str(v).strip() for v in values):
                return True
    except Exception:  # a damaged sheet is not where the data are
        return False
    return False


def _xlsx_records(
    path: Path, data: bytes, sheet_asked: str | None, expect: Sequence[str]
) -> tuple[str, list[tuple[int, list[str]]], set[tuple[int, int]]]:
    """The name of the sheet read (``sheet_asked``, by name or 1-based number, or the
    first) and its rows as text, with their row numbers: as Excel shows them where their
    number format says so independently of the computer (:func:`shown_as`: ``00123``,
    ``50%``, ``05/12/2026``), else whole numbers without a decimal point (``12``, not
    ``12.0``) and dates as ISO dates; formulas as their last computed values, empty cells
    as blank; and the cells with a formula but no saved value."""
    import datetime as dt
    import zipfile
    import zlib

    from openpyxl import load_workbook

    if data.startswith(_OLE_MAGIC):
        # an encrypted .xlsx is an OLE container, as is the old .xls format
        raise BadInputError(
            "this workbook is password-protected (encrypted), or in the old .xls format, "
            "which panelsel cannot open",
            file=str(path),
            hint="open it in Excel, remove the password (File > Info > Protect Workbook) and "
            "save it as 'Excel Workbook (.xlsx)', or export it as CSV UTF-8",
        )
    try:
        unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        unpacked = 0  # load_workbook below says what is wrong
    if unpacked > MAX_WORKBOOK_UNPACKED:
        raise BadInputError(
            f"the workbook unpacks to {unpacked / 2**20:,.0f} MB, more than the "
            f"{MAX_WORKBOOK_UNPACKED / 2**20:,.0f} MB panelsel reads (a pool of 100,000 "
            "registrants with 50 columns is about a tenth of that)",
            file=str(path),
            hint="export the registrants as CSV UTF-8, or remove sheets and columns that are "
            "not needed",
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BadInputError(
            f"this is not an Excel workbook panelsel can read ({type(exc).__name__})",
            file=str(path),
            hint="save it from Excel as 'Excel Workbook (.xlsx)', or export it as CSV UTF-8",
        ) from None
    if not book.worksheets:
        raise BadInputError(
            "the workbook has no worksheet",
            file=str(path),
            hint="save it from Excel as 'Excel Workbook (.xlsx)', or export it as CSV UTF-8",
        )
    sheet = (
        _pick_sheet(path, book.worksheets, sheet_asked)
        if sheet_asked is not None
        else book.worksheets[0]
    )
    if sheet_asked is None and getattr(sheet, "sheet_state", "visible") != "visible":
        # Excel shows another sheet: the convenor would check rows panelsel does not read
        raise BadInputError(
            f"the workbook's first sheet ({sheet.title!r}) is hidden in Excel; panelsel reads "
            "the first sheet, which is not the one Excel shows",
            file=str(path),
            hint="unhide it (right-click a sheet tab > Unhide) or move the registrants' sheet "
            "to the front, and save, or name the sheet to read with --sheet",
        )
    source = _source(path, sheet.title)

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, dt.datetime):
            return (
                value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
            )
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    rows: list[tuple[int, list[str]]] = []
    damaged: tuple[type[Exception], ...] = (*DAMAGED_SHEET_ERRORS, zipfile.BadZipFile, zlib.error)
    try:
        for number, row in enumerate(sheet.iter_rows(), start=1):
            cells = [
                shown_as(c.value, getattr(c, "number_format", None)) or text(c.value) for c in row
            ]
            while cells and not cells[-1].strip():
                cells.pop()  # Excel's empty cells right of the data
            rows.append((number, cells))
    except damaged as exc:
        # the sheet's XML is parsed row by row: a damaged file shows here, not on opening
        raise BadInputError(
            f"the workbook's sheet is damaged after row {len(rows)} and cannot be read "
            f"({type(exc).__name__}: {str(exc)[:120]})",
            file=source,
            row=len(rows) + 1,
            hint="open it in Excel and save it again as 'Excel Workbook (.xlsx)', or export "
            "it as CSV UTF-8",
        ) from None
    finally:
        others = []
        if sheet_asked is None and not any(any(c.strip() for c in cells) for _, cells in rows):
            others = [ws.title for ws in book.worksheets[1:] if _has_cells(ws)]
        elsewhere = None
        if sheet_asked is None and expect and not others and _header_among(rows, expect) is None:
            elsewhere = next(
                (
                    ws.title
                    for ws in book.worksheets[1:]
                    if getattr(ws, "sheet_state", "visible") == "visible"
                    and _header_among(_first_rows(ws), expect) is not None
                ),
                None,
            )
        no_table = None
        if sheet_asked is None and not expect and not others and not _has_table(rows):
            # nothing to look for (panelsel init), and the first sheet is notes: a sheet
            # with a table is the registrants'
            no_table = next(
                (
                    ws.title
                    for ws in book.worksheets[1:]
                    if getattr(ws, "sheet_state", "visible") == "visible"
                    and _has_table(_first_rows(ws))
                ),
                None,
            )
        book.close()
    member = getattr(sheet, "_worksheet_path", None)
    hidden = _hidden_rows(data, member)
    if hidden:
        shown = ", ".join(map(str, hidden[:10])) + (" …" if len(hidden) > 10 else "")
        raise BadInputError(
            f"{len(hidden)} row(s) of the sheet are hidden in Excel (rows {shown}; a "
            "filter?): panelsel would read them as registrants, though they are not shown",
            file=source,
            row=hidden[0],
            hint="delete the rows of people who should not be in the pool, or unhide them "
            "(Home > Format > Hide & Unhide, or clear the filter), and save",
        )
    if others:
        raise BadInputError(
            f"the workbook's first sheet ({sheet.title!r}) is empty; panelsel reads the first "
            f"sheet, and the data seem to be on {', '.join(repr(o) for o in others[:3])}",
            file=str(path),
            hint=f"pass --sheet {others[0]!r}, or move the sheet with the registrants to the "
            "front in Excel and save",
        )
    if no_table is not None:
        raise BadInputError(
            f"the workbook's first sheet ({sheet.title!r}) holds no table (no row of more than "
            f"{TITLE_CELLS} cells), and the sheet {no_table!r} has one",
            file=str(path),
            hint=f"pass --sheet {no_table!r}, or move that sheet to the front in Excel and save",
        )
    if elsewhere is not None:
        raise BadInputError(
            f"the workbook's first sheet ({sheet.title!r}) has none of the header rows panelsel "
            f"looks for (the quota columns {', '.join(map(repr, expect[:4]))}), and the sheet "
            f"{elsewhere!r} has them",
            file=str(path),
            hint=f"pass --sheet {elsewhere!r}, or move that sheet to the front in Excel and save",
        )
    return sheet.title, rows, _unsaved_formulas(data, member)


_UNSAVED_FORMULA = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)


def _unsaved_formulas(data: bytes, member: str | None) -> set[tuple[int, int]]:
    """The cells (row, 0-based column) of a sheet's XML with a formula and no saved value
    (``<f>...</f>`` with an empty or no ``<v>``); empty when the sheet cannot be found."""
    import zipfile

    if not member:
        return set()
    try:
        xml = zipfile.ZipFile(io.BytesIO(data)).read(member)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return set()
    out = set()
    for letters, row in _UNSAVED_FORMULA.findall(xml):
        column = 0
        for ch in letters.decode():
            column = column * 26 + ord(ch) - ord("A") + 1
        out.add((int(row), column - 1))
    return out


_LOCALE = re.compile(r"\[[^\]]*\]|\\|\"")
_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|[-/. ,]")
_DATE_CODES = {
    "yyyy": "%Y", "yy": "%y", "mmmm": "%B", "mmm": "%b", "mm": "%m", "dd": "%d",
    "dddd": "%A", "ddd": "%a",
}  # fmt: skip


LOCAL_SHORT_DATE = "mm-dd-yy"
"""openpyxl's name of Excel's built-in format 14, the short date of the computer's settings
(05/12/2026 in the UK, 12/5/2026 in the US): read as an ISO date."""


def shown_as(value: object, number_format: str | None) -> str | None:
    """A workbook cell as Excel shows it under its number format, for the formats whose
    display does not depend on the computer's settings: zero-padded whole numbers
    (``00123``), fixed decimals (``0.00``), percentages (``0%``) and dates written out in
    day, month and year (``dd/mm/yyyy``).  None for any other (the cell's value is then read
    as :func:`_xlsx_records` says: ``12`` for 12.0, ISO dates), so that ids and answers
    compare as the spreadsheet shows them."""
    import datetime as dt

    if not number_format or number_format in ("General", "@", LOCAL_SHORT_DATE):
        return None
    fmt = _LOCALE.sub("", number_format.split(";")[0]).strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if re.fullmatch(r"0+", fmt):
            return f"{round(value):0{len(fmt)}d}" if float(value).is_integer() else None
        if m := re.fullmatch(r"0\.(0+)", fmt):
            return f"{value:.{len(m.group(1))}f}"
        if m := re.fullmatch(r"0(?:\.(0+))?%", fmt):
            return f"{100 * value:.{len(m.group(1) or '')}f}%"
        return None
    if isinstance(value, (dt.datetime, dt.date)) and (
        not isinstance(value, dt.datetime) or value.time() == dt.time()
    ):
        tokens = _DATE_TOKENS.findall(fmt.lower())
        if "".join(tokens) != fmt.lower() or not any(t.startswith("y") for t in tokens):
            return None  # times, or letters that are not a date's: keep the ISO date
        out = []
        for t in tokens:
            if t in _DATE_CODES:
                out.append(value.strftime(_DATE_CODES[t]))
            elif t == "m":
                out.append(str(value.month))
            elif t == "d":
                out.append(str(value.day))
            else:
                out.append(t)
        return "".join(out)
    return None


def _pick_sheet(path: Path, sheets: list[Any], asked: str) -> Any:
    """The sheet ``--sheet`` names: by name (exactly, else ignoring case and spaces) or by
    1-based number."""
    names = [ws.title for ws in sheets]
    exact = [ws for ws in sheets if ws.title == asked]
    loose = [ws for ws in sheets if normalise(ws.title) == normalise(asked)]
    if exact or len(loose) == 1:
        return (exact or loose)[0]
    if asked.strip().isdigit() and 1 <= int(asked) <= len(sheets):
        return sheets[int(asked) - 1]
    raise BadInputError(
        f"the workbook has no sheet {asked!r}",
        file=str(path),
        hint=f"its sheets are {', '.join(map(repr, names))} (or give a number from 1 to "
        f"{len(names)})",
    )


def _first_rows(sheet: Any) -> list[tuple[int, list[str]]]:
    """The first :data:`HEADER_SEARCH_ROWS` rows of a (read-only) sheet, as text."""
    try:
        return [
            (n, ["" if v is None else str(v) for v in values])
            for n, values in enumerate(
                sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1
            )
        ]
    except Exception:  # a damaged sheet is not where the data are
        return []


HEADER_SEARCH_ROWS = 20
"""A header below title rows is looked for among this many first rows."""
TITLE_CELLS = 2
"""A row above the header with at most this many cells filled is a title (skipped); one
with more is data, and the header must then be named with ``--header-row``."""


def _has_table(records: list[tuple[int, list[str]]]) -> bool:
    """Whether some row among the first :data:`HEADER_SEARCH_ROWS` has more than
    :data:`TITLE_CELLS` cells."""
    return any(
        sum(1 for c in cells if c.strip()) > TITLE_CELLS
        for number, cells in records
        if number <= HEADER_SEARCH_ROWS
    )


def _header_among(records: list[tuple[int, list[str]]], expect: Sequence[str]) -> int | None:
    """The position in ``records`` of the first row (of the first
    :data:`HEADER_SEARCH_ROWS`) whose cells include every column of ``expect``."""
    wanted = {normalise(c) for c in expect}
    for position, (number, cells) in enumerate(records):
        if number > HEADER_SEARCH_ROWS:
            return None
        if wanted <= {normalise(c) for c in cells}:
            return position
    return None


def _pool_of(
    path: Path,
    records: Iterable[tuple[int, list[str]]],
    digest: str,
    delimiter: str,
    *,
    header_row: int | None,
    expect: Sequence[str],
    sheet: str | None,
) -> Pool:
    """The pool of header and rows, without ids yet (:func:`_assign_ids`); a workbook's
    rows (``sheet``) are padded to the header's width."""
    source = _source(path, sheet)
    listed = list(records)
    filled = [(n, row) for n, row in listed if any(c.strip() for c in row)]
    if not filled:
        raise BadInputError(
            "the registrants file is empty",
            file=source,
            hint="export the registrants with a header row and one row per person",
        )
    above: list[str] = []
    if header_row is not None:
        at = next((i for i, (n, _) in enumerate(filled) if n == header_row), None)
        if at is None:
            raise BadInputError(
                f"--header-row {header_row} is blank or past the end of the file",
                file=source,
                hint=f"the first row with cells is row {filled[0][0]}",
            )
    else:
        at = _find_header(source, filled, expect, sheet is not None)
    header_line, header = filled[at]
    above = [" ".join(c.strip() for c in row if c.strip()) for _, row in filled[:at]]
    if sheet is not None:
        width = len(header)
        while width and not header[width - 1].strip():
            width -= 1
        header = header[:width]
        listed = [(n, row + [""] * max(0, width - len(row))) for n, row in listed]
    records = iter([(n, row) for n, row in listed if n > header_line])
    columns = [c.strip() for c in header]
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        if c in seen:
            raise BadInputError(
                f"the header has two columns called {c!r} (columns {seen[c] + 1} and {i + 1})",
                file=source,
                row=header_line,
                hint="rename one of them so that every column name is unique",
            )
        seen[c] = i
    if len(columns) == 1 and delimiter == "," and any(s in header[0] for s in ";\t"):
        sep = ";" if ";" in header[0] else "tab"
        raise BadInputError(
            f"the header has a single column {header[0]!r}; the file seems to be separated "
            f"by {sep!r}, not commas",
            file=source,
            row=header_line,
            hint=f"pass --delimiter {sep!r}",
        )
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, row in records:
        if not row or not any(cell.strip() for cell in row):
            continue  # blank row
        if len(row) != len(columns):
            raise BadInputError(
                f"this row has {len(row)} cells but the header has {len(columns)} columns",
                file=source,
                row=number,
                hint="check for a missing or extra delimiter, or an unquoted "
                f"{delimiter!r} inside a cell; quote such cells with double quotes",
            )
        rows.append(row)
        lines.append(number)
    if not rows:
        raise BadInputError(
            "the registrants file has a header but no registrants",
            file=source,
            hint="add one row per registrant below the header",
        )
    return Pool(
        path=path,
        columns=columns,
        rows=rows,
        ids=[],
        id_column=None,
        line_numbers=lines,
        sha256=digest,
        _index=dict(seen),
        sheet=sheet,
        header_row=header_line,
        above_header=above,
    )


def _find_header(
    source: str, filled: list[tuple[int, list[str]]], expect: Sequence[str], in_sheet: bool
) -> int:
    """The position in ``filled`` (the rows with cells) of the header: the first row, or,
    when it lacks columns of ``expect`` and a row below has them all, that row, if every
    row above it is a title (at most :data:`TITLE_CELLS` cells); rows of data above it are
    refused with the fix (``--header-row``).  Without ``expect``, the first row of more
    than :data:`TITLE_CELLS` cells (the rows above it are titles)."""
    at = _header_among(filled, expect) if expect else None
    if at is None:
        # nothing to look for (panelsel init), or no row has every column looked for (a
        # misspelt one, named later): a row of more than TITLE_CELLS cells below rows of
        # at most that many, all within the first rows, is the header
        def cells(row: list[str]) -> int:
            return sum(1 for c in row if c.strip())

        wide = next((i for i, (n, row) in enumerate(filled) if cells(row) > TITLE_CELLS), None)
        if wide is None or wide == 0 or filled[wide][0] > HEADER_SEARCH_ROWS:
            return 0
        # and every row below it as wide (a CSV) or no wider (a sheet: trailing blanks
        # are dropped), so that a ragged file is not read from a row of data
        width = len(filled[wide][1])
        below = [len(row) for _, row in filled[wide + 1 :]]
        fits = all(w <= width for w in below) if in_sheet else all(w == width for w in below)
        return wide if below and fits else 0
    if at == 0:
        return 0
    number = filled[at][0]
    for above, row in filled[:at]:
        if sum(1 for c in row if c.strip()) > TITLE_CELLS:
            raise BadInputError(
                f"row {number} looks like the header (it has the quota columns), but row "
                f"{above} above it holds {sum(1 for c in row if c.strip())} cells, which "
                "is not a title",
                file=source,
                row=above,
                hint=f"pass --header-row {number} to read the header from row {number} (the "
                "rows above it are then left out), or delete the rows above the header",
            )
    return at


def _source(path: Path, sheet: str | None) -> str:
    return f"{path} (sheet {sheet!r})" if sheet is not None else str(path)


def _assign_ids(pool: Pool, id_column: str | None) -> None:
    """Each registrant's id, from ``id_column`` (or a column called id in any case), else
    their 0-based row number; refused when blank or not unique."""
    path, columns, rows, lines = pool.source, pool.columns, pool.rows, pool.line_numbers
    if id_column is None:
        # a column called id, ID or Id is the id column ("ID" is Microsoft Forms' name)
        named = [c for c in columns if normalise(c) == ID_DEFAULT_COLUMN]
        if len(named) == 1:
            id_column = named[0]
    if id_column is None:
        pool.ids = [str(i) for i in range(len(rows))]
        return
    col = pool.find_column(id_column, purpose="the registrants' ids")
    pool.id_column = columns[col]
    first_seen: dict[str, int] = {}
    ids: list[str] = []
    for r, row in enumerate(rows):
        value = row[col].strip()
        if not value:
            message, hint = pool.blank_cell(
                r, col, "give every registrant a unique id, or remove the row"
            )
            raise BadInputError(
                "the id is blank" if message == "is blank" else f"the id {message}",
                file=path,
                row=lines[r],
                column=columns[col],
                hint=hint,
            )
        key = value.casefold()
        if key in first_seen:
            other = first_seen[key]
            same = (
                "is the same id as"
                if ids[other] == value
                else "differs only in case or surrounding spaces from the id of"
            )
            raise BadInputError(
                f"{same} row {lines[other]} ({ids[other]!r})",
                file=path,
                row=lines[r],
                column=columns[col],
                value=value,
                hint="ids must be unique (ignoring case and surrounding spaces); fix or remove "
                "the duplicate, or, if one person registered twice, pass --drop-duplicates "
                "with the column that identifies a person (such as the e-mail address) to "
                "keep one registration each",
            )
        first_seen[key] = r
        ids.append(value)
    pool.ids = ids


_EMAIL = re.compile(r"e-?mail")
_TIMING = re.compile(r"\b(time|date|timestamp|submitted|completed|completion|started|start)\b")
"""Column names of when a form was filled in, which differ between two registrations of one
person (Microsoft Forms: "Start time", "Completion time", "Last modified time")."""
KEEP_CHOICES = ("last", "first")


def _same_person_keys(pool: Pool) -> list[tuple[str, list[int], str]]:
    """Groups of rows that look like one person: (why, rows, shown value)."""
    id_col = pool._index.get(pool.id_column) if pool.id_column else None
    found: list[tuple[str, list[int], str]] = []
    grouped: set[tuple[int, ...]] = set()
    for c, name in enumerate(pool.columns):
        if not _EMAIL.search(normalise(name)):
            continue
        by_value: dict[str, list[int]] = {}
        for r, row in enumerate(pool.rows):
            value = normalise(row[c])
            if value:
                by_value.setdefault(value, []).append(r)
        for rows in by_value.values():
            if len(rows) > 1:
                # the value itself is not named: warnings reach lottery.json, which may be
                # published, and an e-mail address must not
                found.append((f"the same {name}", rows, name))
                grouped.add(tuple(rows))
    answers = [
        c
        for c, name in enumerate(pool.columns)
        if c != id_col and not _TIMING.search(normalise(name))
    ]
    # rows alike in quota answers alone are different people; only a column that tells
    # people apart (a name: three values in four distinct, or more) makes equal rows one
    # person's
    n = len(pool.rows)
    telling = [c for c in answers if len({normalise(row[c]) for row in pool.rows}) >= 0.75 * n]
    if len(answers) >= 2 and telling:
        by_answers: dict[tuple[str, ...], list[int]] = {}
        for r, row in enumerate(pool.rows):
            by_answers.setdefault(tuple(normalise(row[c]) for c in answers), []).append(r)
        for rows in by_answers.values():
            if len(rows) > 1 and tuple(rows) not in grouped:
                found.append(("every answer the same", rows, ""))
    return found


def duplicate_warnings(pool: Pool) -> list[str]:
    """A warning per group of registrations that look like one person registered more than
    once: the same e-mail address (a column whose name says e-mail), or every answer the
    same but the id and the times, where some column tells people apart (three values in four
    distinct or more, as names are).  Each extra registration is an extra ticket in the lottery."""
    out = []
    for why, rows, column in _same_person_keys(pool):
        shown = " and ".join(f"row {pool.line_numbers[r]} (id {pool.ids[r]})" for r in rows)
        how = (
            f"pass --drop-duplicates {column!r} to keep only the last registration"
            if column
            else "remove the extra rows, or pass --drop-duplicates COLUMN naming a column "
            "that identifies a person"
        )
        out.append(
            f"{pool.source}: {shown} look like one person registered {len(rows)} times ({why}); "
            f"each extra registration is an extra chance in the lottery: {how}"
        )
    return out


def _without_duplicates(
    pool: Pool, column: str, keep: str
) -> tuple[Pool, list[tuple[int, int, str]]]:
    """The pool with one registration per value of ``column`` (compared as cells are:
    trimmed, case folded), the ``last`` or the ``first``; blank cells are never duplicates.
    Also each dropped row's index in ``pool``, the spreadsheet row of the one kept instead,
    and the column's name."""
    if keep not in KEEP_CHOICES:
        raise BadInputError(
            f"--keep must be one of {', '.join(KEEP_CHOICES)}, not {keep!r}",
            hint="--keep last keeps the latest registration of each person",
        )
    c = pool.find_column(column, purpose="--drop-duplicates")
    chosen: dict[str, int] = {}
    for r, row in enumerate(pool.rows):
        key = normalise(row[c])
        if not key:
            continue
        if keep == "last" or key not in chosen:
            chosen[key] = r
    kept = [
        r
        for r, row in enumerate(pool.rows)
        if not normalise(row[c]) or chosen[normalise(row[c])] == r
    ]
    if len(kept) == len(pool.rows):
        return pool, []
    kept_set = set(kept)
    dropped = [
        (r, pool.line_numbers[chosen[normalise(row[c])]], pool.columns[c])
        for r, row in enumerate(pool.rows)
        if r not in kept_set
    ]
    result = dataclasses.replace(
        pool,
        rows=[pool.rows[r] for r in kept],
        ids=[pool.ids[r] for r in kept] if pool.ids else [],
        line_numbers=[pool.line_numbers[r] for r in kept],
    )
    return result, dropped


def _dropped_text(line: int, pid: str | None, name: str, kept_line: int) -> str:
    who = f" (id {pid})" if pid is not None else ""
    return f"row {line}{who} dropped: the same {name} as row {kept_line}, which is kept"


def drop_duplicates(pool: Pool, column: str, keep: str = "last") -> Pool:
    """The pool (ids assigned) with one registration per value of ``column``
    (:func:`_without_duplicates`); ids are kept, so a dropped registration's id simply does
    not appear.  :func:`load_pool` does the same before ids are checked (``drop``)."""
    result, dropped = _without_duplicates(pool, column, keep)
    if not dropped:
        return pool
    result.dropped = [
        _dropped_text(pool.line_numbers[r], pool.ids[r], name, line) for r, line, name in dropped
    ]
    result.warnings = duplicate_warnings(result)
    return result
