"""Loading the registrants CSV: one row per person, raw cells kept as written.

Row numbers in messages count the header as row 1, as a spreadsheet shows them, so the first
registrant is row 2.  Values are compared after :func:`normalise` (surrounding whitespace
trimmed, case folded), as the Sortition Foundation's tools do; outputs keep the raw cells.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING
from panelsel.digest import sha256_hex
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


def parse_delimiter(text: str) -> str:
    """Accept ``,``, ``;``, ``|`` or ``tab`` / ``\\t`` as a CSV delimiter."""
    if text.lower() in {"tab", "\\t", "\t"}:
        return "\t"
    if len(text) != 1 or text in {'"', "\n", "\r"}:
        raise BadInputError(
            f"the delimiter {text!r} is not a single character",
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
        For each registrant, the row number (header = 1) used in messages.
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

    def __len__(self) -> int:
        return len(self.rows)

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
                file=str(self.path),
                hint=f"rename or remove one of them, or write the column's exact name"
                f"{' in ' + source if source else ''}",
            )
        import difflib

        close = difflib.get_close_matches(name, self.columns, n=3, cutoff=0.5)
        suggestion = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        where = f" (named in {source})" if source else ""
        raise BadInputError(
            f"there is no column {name!r} for {purpose}{where}",
            file=str(self.path),
            hint=f"{suggestion}the columns are: {', '.join(repr(c) for c in self.columns)}",
        )

    def column(self, index: int) -> list[str]:
        """The raw cells of one column, one per registrant."""
        return [row[index] for row in self.rows]


def _decode(path: Path, data: bytes, encoding: str) -> str:
    if data.startswith(_UTF16_BOMS) and not encoding.lower().startswith("utf-16"):
        raise BadInputError(
            "the file is UTF-16 encoded (an Excel 'Unicode text' export)",
            file=str(path),
            hint="save it from your spreadsheet as 'CSV UTF-8', or pass --encoding utf-16",
        )
    try:
        return data.decode(encoding)
    except LookupError:
        raise BadInputError(
            f"unknown encoding {encoding!r}",
            hint="pass a Python codec name such as utf-8, cp1252 or latin-1 to --encoding",
        ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.end]
        raise BadInputError(
            f"byte(s) {bad!r} are not valid {encoding}",
            file=str(path),
            row=line,
            hint="re-save the file as UTF-8, or name its encoding with --encoding "
            "(for example --encoding cp1252 for a Windows Excel export)",
        ) from None


def load_pool(
    path: str | Path,
    *,
    id_column: str | None = None,
    delimiter: str = DEFAULT_DELIMITER,
    encoding: str = DEFAULT_ENCODING,
) -> Pool:
    """Read the registrants CSV.

    Parameters
    ----------
    path
        The CSV file, one row per registrant, with a header row.
    id_column
        The column holding unique ids.  When None, the column ``id`` is used if there is one,
        otherwise the 0-based row number of each registrant becomes its id.
    delimiter
        The field separator (``,`` by default).
    encoding
        The text encoding; the default accepts UTF-8 with or without a byte-order mark.

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
    text = _decode(path, data, encoding)
    if not text.strip():
        raise BadInputError(
            "the registrants file is empty",
            file=str(path),
            hint="export the registrants with a header row and one row per person",
        )

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        while not any(c.strip() for c in header):
            header = next(reader)
    except StopIteration:  # pragma: no cover - text.strip() was non-empty
        raise BadInputError("the registrants file has no header row", file=str(path)) from None
    except csv.Error as exc:
        raise BadInputError(
            f"the header cannot be read as CSV: {exc}", file=str(path), row=reader.line_num
        ) from None
    header_line = reader.line_num
    columns = [c.strip() for c in header]
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        if c in seen:
            raise BadInputError(
                f"the header has two columns called {c!r} (columns {seen[c] + 1} and {i + 1})",
                file=str(path),
                row=header_line,
                hint="rename one of them so that every column name is unique",
            )
        seen[c] = i
    if len(columns) == 1 and delimiter == "," and any(s in header[0] for s in ";\t"):
        sep = ";" if ";" in header[0] else "tab"
        raise BadInputError(
            f"the header has a single column {header[0]!r}; the file seems to be separated "
            f"by {sep!r}, not commas",
            file=str(path),
            row=header_line,
            hint=f"pass --delimiter {sep!r}",
        )

    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(columns):
                raise BadInputError(
                    f"this row has {len(row)} cells but the header has {len(columns)} columns",
                    file=str(path),
                    row=reader.line_num,
                    hint="check for a missing or extra delimiter, or an unquoted "
                    f"{delimiter!r} inside a cell; quote such cells with double quotes",
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise BadInputError(
            f"the row cannot be read as CSV: {exc}",
            file=str(path),
            row=reader.line_num,
            hint="check the quoting of this row",
        ) from None
    if not rows:
        raise BadInputError(
            "the registrants file has a header but no registrants",
            file=str(path),
            hint="add one row per registrant below the header",
        )

    pool = Pool(
        path=path,
        columns=columns,
        rows=rows,
        ids=[],
        id_column=None,
        line_numbers=lines,
        sha256=digest,
        _index=dict(seen),
    )
    if id_column is None and ID_DEFAULT_COLUMN in seen:
        id_column = ID_DEFAULT_COLUMN
    if id_column is None:
        pool.ids = [str(i) for i in range(len(rows))]
        return pool

    col = pool.find_column(id_column, purpose="the registrants' ids")
    pool.id_column = columns[col]
    first_seen: dict[str, int] = {}
    ids: list[str] = []
    for r, row in enumerate(rows):
        value = row[col].strip()
        if not value:
            raise BadInputError(
                "the id is blank",
                file=str(path),
                row=lines[r],
                column=columns[col],
                hint="give every registrant a unique id, or remove the row",
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
                file=str(path),
                row=lines[r],
                column=columns[col],
                value=value,
                hint="ids must be unique (ignoring case and surrounding spaces); fix or remove "
                "the duplicate",
            )
        first_seen[key] = r
        ids.append(value)
    pool.ids = ids
    return pool
