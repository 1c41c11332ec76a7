"""Reading and validating quotas: the native YAML schema and the Sortition Foundation CSV.

The result is a :class:`QuotaSpec`, independent of the pool.  Checking it against the
registrants (columns exist, every value has a quota) happens in :mod:`panelsel.inputs.model`.

YAML is read with a safe loader that refuses Python tags and aliases, keeps mapping keys as
written (so a value called ``Yes`` or ``2019`` stays a string) and rejects duplicate keys.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import itertools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from panelsel.digest import sha256_hex
from panelsel.errors import BadInputError
from panelsel.inputs.pool import normalise

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_INTEGER = re.compile(r"^\s*\d+\s*$")
MAX_INT_DIGITS = 30
"""Integers in a quota file longer than this are refused before they are converted."""
MAX_QUOTA_BYTES = 1_048_576
"""Quota files are a few kilobytes; a larger one is the wrong file (and would take minutes and
gigabytes to parse)."""
MAX_COUNT = 1_000_000_000
"""The largest panel size or quota bound accepted (larger ones are typing mistakes, and would
overflow the solvers' integers)."""

TOP_KEYS = ("panel_size", "id_column", "categories", "households")
CATEGORY_KEYS = ("column", "multi_value", "bands", "quotas")
RANGE_KEYS = ("min", "max")
HOUSEHOLD_KEYS = ("columns", "column", "max_per_household")
SF_VALUE_COLUMNS = ("feature", "name", "value")


@dataclass(frozen=True)
class ValueQuota:
    """Inclusive seat bounds for one value of a category."""

    value: str
    min: int
    max: int
    line: int | None = None


BLANK_VALUE = "(blank)"
"""The value of a blank cell in a column with ``bands`` (a quota for it is needed like any
other's)."""
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class Band:
    """One band of a numeric column: ``low <= x <= high`` (None: open on that side)."""

    label: str
    low: float | None
    high: float | None

    def holds(self, x: float) -> bool:
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)

    def text(self) -> str:
        if self.low is None:
            return f"{self.label}: up to {self.high:g}"
        if self.high is None:
            return f"{self.label}: {self.low:g} or more"
        return f"{self.label}: {self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class Category:
    """One quota category: a CSV column and bounds per value; with ``bands``, a numeric
    column whose numbers count as their band's label (other answers as themselves)."""

    name: str
    column: str
    quotas: tuple[ValueQuota, ...]
    multi_value: str | None = None
    line: int | None = None
    bands: tuple[Band, ...] = ()

    def value_of(self, cell: str) -> str | None:
        """The value a cell counts as: with ``bands``, a number's band label (None when no
        band holds it), :data:`BLANK_VALUE` for a blank cell, any other answer as written;
        without bands, the cell (:data:`BLANK_VALUE` for a blank one when the category has
        a quota for it)."""
        if not self.bands:
            if not cell.strip() and any(q.value == BLANK_VALUE for q in self.quotas):
                return BLANK_VALUE
            return cell
        text = cell.strip()
        if not text:
            return BLANK_VALUE
        if not _NUMBER.match(text):
            return text
        x = float(text)
        return next((b.label for b in self.bands if b.holds(x)), None)


@dataclass(frozen=True)
class Households:
    """At most ``max_per_household`` selected among people sharing all of ``columns``.

    ``room`` lowers the bound of some households (a replacement round: a household with kept
    members has that much less room); it maps a normalised address (the cells of
    ``columns``) to the seats it has left, and is never read from a quota file."""

    columns: tuple[str, ...]
    max_per_household: int
    room: tuple[tuple[tuple[str, ...], int], ...] = ()


@dataclass(frozen=True)
class QuotaSpec:
    """A validated quota file."""

    path: Path
    format: str  # "yaml" or "csv"
    panel_size: int
    categories: tuple[Category, ...]
    id_column: str | None = None
    households: Households | None = None
    sha256: str = ""
    warnings: tuple[str, ...] = ()
    """What the reading noticed but did not refuse (percentages that do not add up to 100%,
    a categories CSV's flex columns, which panelsel does not use)."""


# --------------------------------------------------------------------------- YAML loading


class _LineDict(dict[str, Any]):
    lines: dict[str, int]
    start_line: int


class _StrictLoader(yaml.SafeLoader):
    """Safe loader: raw string keys, duplicate keys refused, aliases refused."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                "while reading the quotas",
                None,
                "YAML aliases (*name) are not supported in quota files",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> _LineDict:
    result = _LineDict()
    result.lines = {}
    result.start_line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.MarkedYAMLError(
                "while reading a mapping",
                node.start_mark,
                "a key must be a plain text",
                key_node.start_mark,
            )
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if key in result:
            raise _DuplicateKey(key, line, result.lines[key])
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    digits = str(node.value).lstrip("+-0").replace("_", "")
    if len(digits) > MAX_INT_DIGITS:
        raise yaml.MarkedYAMLError(
            "while reading a number",
            None,
            f"a number of {len(digits):,} digits is not a count of seats",
            node.start_mark,
        )
    return loader.construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _yaml_error(
    path: Path, message: str, line: int | None = None, hint: str | None = None
) -> BadInputError:
    where = f"{path}, line {line}" if line else str(path)
    return BadInputError(f"{where}: {message}", hint=hint)


def _load_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _DuplicateKey as exc:
        raise _yaml_error(
            path,
            f"the key {exc.key!r} appears twice (first on line {exc.first})",
            exc.line,
            "remove or merge one of the two entries",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "malformed YAML"
        hint = (
            "check the indentation and punctuation near that line; quote values "
            "that contain ':' or '#'"
        )
        if "could not determine a constructor" in problem:
            problem = "tags such as !!python/... are not allowed in a quota file"
            hint = "remove the tag: quota files hold only numbers, text, lists and mappings"
        elif "aliases" in problem:
            hint = "write each value out in full: anchors (&name) and aliases (*name) are refused"
        elif "is not a count of seats" in problem:
            hint = "write the number of seats, a few digits"
        raise _yaml_error(path, f"this is not valid quota YAML: {problem}", line, hint) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(path, f"this is not valid YAML: {exc}") from None


# --------------------------------------------------------------------------- helpers


def _line_of(mapping: Any, key: str) -> int | None:
    if isinstance(mapping, _LineDict):
        return mapping.lines.get(key, mapping.start_line)
    return None


def _check_keys(path: Path, mapping: Any, allowed: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _yaml_error(
                path,
                f"unknown key {key!r} in {where}",
                _line_of(mapping, key),
                f"{hint}the keys allowed there are: {', '.join(allowed)}",
            )


def _expect_mapping(path: Path, value: Any, where: str, line: int | None) -> _LineDict:
    if not isinstance(value, dict):
        raise _yaml_error(
            path, f"{where} must be a mapping (key: value lines), not {_describe(value)}", line
        )
    return value  # type: ignore[return-value]


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _parse_int(path: Path, value: Any, where: str, line: int | None, *, minimum: int = 0) -> int:
    if isinstance(value, str) and _INTEGER.match(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        hint = "write a whole number"
        if isinstance(value, float):
            hint = "seat counts are whole numbers; round it"
        raise _yaml_error(
            path, f"{where} must be a whole number, not {_describe(value)}", line, hint
        )
    if value < minimum:
        raise _yaml_error(
            path,
            f"{where} must be at least {minimum}, not {value}",
            line,
            "counts cannot be negative" if minimum == 0 else None,
        )
    if value > MAX_COUNT:
        raise _yaml_error(
            path,
            f"{where} is {_short(value)}, more than panelsel accepts ({MAX_COUNT:,})",
            line,
            "a count of seats has a few digits: check for a typing mistake",
        )
    return value


def _short(value: int) -> str:
    """A number for a message, or its length when it is too long to show."""
    if value.bit_length() <= 100:
        return str(value)
    return f"a number of about {int(value.bit_length() * math.log10(2))} digits"


def seats_of(value: str, k: int, rounding: str, where: str, source: str) -> int:
    """A bound typed as a count (``6``) or a percentage of the panel (``50%``), in seats:
    the quota file's rule (a minimum rounded down, a maximum up), for the quota form of
    ``panelsel serve`` (``source`` names it in a message)."""
    return _parse_bound(Path(source), value.strip(), where, None, k, rounding)


def _parse_bound(
    path: Path, value: Any, where: str, line: int | None, k: int, rounding: str
) -> int:
    """An int count, or a percentage of the panel size rounded down ("floor") or up."""
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if m:
            pct = Fraction(m.group(1))
            if pct > 100:
                raise _yaml_error(
                    path,
                    f"{where} is {value!r}, a percentage over 100",
                    line,
                    "percentages are of the panel size and at most 100%",
                )
            share = pct * k / 100
            return math.floor(share) if rounding == "floor" else math.ceil(share)
        if not _INTEGER.match(value):
            raise _yaml_error(
                path,
                f"{where} is {value!r}, which is neither a count nor a percentage",
                line,
                "write a whole number of seats (6) or a percentage of the panel ('50%')",
            )
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise _yaml_error(
            path, f"{where} is {value}, a negative count", line, "seat counts must be 0 or more"
        )
    return _parse_int(path, value, where, line)


def _parse_bands(path: Path, name: str, body: Any, sep: object) -> tuple[Band, ...]:
    """A category's ``bands``: ``label: [low, high]``, inclusive, ``null`` for an open end,
    not overlapping; not with ``multi_value``."""
    if "bands" not in body:
        return ()
    line = _line_of(body, "bands")
    if sep is not None:
        raise _yaml_error(
            path,
            f"category {name!r} has both bands and multi_value",
            line,
            "bands are for a column with one number per registrant (an age): drop one",
        )
    doc = _expect_mapping(path, body["bands"], f"the bands of {name!r}", line)
    if not doc:
        raise _yaml_error(path, f"the bands of {name!r} are empty", line)
    bands = []
    for label, bounds in doc.items():
        where = _line_of(doc, label)
        numbers = bounds if isinstance(bounds, list) else None
        if (
            numbers is None
            or len(numbers) != 2
            or not all(
                x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
                for x in numbers
            )
            or numbers == [None, None]
            or any(isinstance(x, float) and not math.isfinite(x) for x in numbers)
        ):
            raise _yaml_error(
                path,
                f"band {label!r} of {name!r} must be [lowest, highest], with null for an open "
                f"end, not {_describe(bounds)}",
                where,
                f"for example '{label}: [25, 34]' or '75+: [75, null]'",
            )
        low, high = (None if x is None else float(x) for x in numbers)
        if low is not None and high is not None and low > high:
            raise _yaml_error(
                path, f"band {label!r} of {name!r} runs from {low:g} down to {high:g}", where
            )
        bands.append(Band(str(label).strip(), low, high))
    ordered = sorted(bands, key=lambda b: -math.inf if b.low is None else b.low)
    for a, b in itertools.pairwise(ordered):
        a_high = math.inf if a.high is None else a.high
        b_low = -math.inf if b.low is None else b.low
        if b_low <= a_high:
            raise _yaml_error(
                path,
                f"bands {a.label!r} and {b.label!r} of {name!r} overlap ({a.text()}; {b.text()})",
                line,
                "make every number fall in one band at most",
            )
    return tuple(bands)


def _check_band_quotas(
    path: Path,
    name: str,
    bands: tuple[Band, ...],
    quotas: list[ValueQuota],
    line: int | None,
) -> None:
    """Every band needs a quota (a number in it is that band's value)."""
    have = {normalise(q.value) for q in quotas}
    missing = [b.label for b in bands if normalise(b.label) not in have]
    if missing:
        raise _yaml_error(
            path,
            f"the band(s) {', '.join(map(repr, missing))} of {name!r} have no quota",
            line,
            "add a quota for every band (min 0 where none is needed)",
        )


def _value_quota(
    path: Path, cat: str, value: str, spec: Any, line: int | None, k: int
) -> ValueQuota:
    where = f"the quota for {cat}: {value}"
    if isinstance(spec, dict):
        _check_keys(path, spec, RANGE_KEYS, where)
        lo = (
            _parse_bound(path, spec["min"], f"{where} min", _line_of(spec, "min"), k, "floor")
            if "min" in spec
            else 0
        )
        hi = (
            _parse_bound(path, spec["max"], f"{where} max", _line_of(spec, "max"), k, "ceil")
            if "max" in spec
            else max(k, lo)
        )  # a min above k is infeasible, not malformed
    elif isinstance(spec, str) and _PERCENT.match(spec):
        lo = _parse_bound(path, spec, where, line, k, "floor")
        hi = _parse_bound(path, spec, where, line, k, "ceil")
    elif spec is None:
        raise _yaml_error(
            path,
            f"{where} is empty",
            line,
            "give a count (6), a percentage ('50%') or {min: a, max: b}",
        )
    else:
        lo = hi = _parse_bound(path, spec, where, line, k, "floor")
    if lo > hi:
        raise _yaml_error(
            path, f"{where} has min {lo} above max {hi}", line, "make min at most max"
        )
    return ValueQuota(value=value, min=lo, max=hi, line=line)


def _check_unique_values(path: Path, cat: str, quotas: list[ValueQuota]) -> None:
    seen: dict[str, ValueQuota] = {}
    for q in quotas:
        key = normalise(q.value)
        if not key:
            raise _yaml_error(
                path,
                f"category {cat!r} has a quota for a blank value",
                q.line,
                "remove it; blank cells are not a category value",
            )
        if key in seen:
            raise _yaml_error(
                path,
                f"category {cat!r} lists {seen[key].value!r} and {q.value!r}, which are "
                "the same value once case and spaces are ignored",
                q.line,
                "keep one of them",
            )
        seen[key] = q


# --------------------------------------------------------------------------- YAML schema


def _parse_yaml(
    path: Path, text: str, panel_size: int | None, default_size: int | None = None
) -> QuotaSpec:
    doc = _load_yaml(path, text)
    if doc is None:
        raise _yaml_error(
            path, "the quota file is empty", hint="see the README for the quota file format"
        )
    doc = _expect_mapping(path, doc, "the quota file", 1)
    _check_keys(path, doc, TOP_KEYS, "the quota file")
    if panel_size is None and "panel_size" not in doc and default_size is not None:
        panel_size = default_size
    if panel_size is None:
        if "panel_size" not in doc:
            raise _yaml_error(
                path,
                "panel_size is missing",
                1,
                "add a line 'panel_size: 10' (the number of seats), or pass --panel-size",
            )
        k = _parse_int(
            path, doc["panel_size"], "panel_size", _line_of(doc, "panel_size"), minimum=1
        )
    else:
        k = panel_size
    id_column = doc.get("id_column")
    if id_column is not None and (not isinstance(id_column, str) or not id_column.strip()):
        raise _yaml_error(
            path,
            f"id_column must be a column name, not {_describe(id_column)}",
            _line_of(doc, "id_column"),
        )
    if "categories" not in doc:
        raise _yaml_error(
            path,
            "categories is missing",
            1,
            "add a 'categories:' mapping with at least one category",
        )
    cats_doc = _expect_mapping(path, doc["categories"], "categories", _line_of(doc, "categories"))
    if not cats_doc:
        raise _yaml_error(
            path,
            "categories is empty",
            _line_of(doc, "categories"),
            "add at least one category with its quotas",
        )
    categories = []
    warnings: list[str] = []
    for name, body in cats_doc.items():
        line = _line_of(cats_doc, name)
        body = _expect_mapping(path, body, f"category {name!r}", line)
        _check_keys(path, body, CATEGORY_KEYS, f"category {name!r}")
        column = body.get("column", name)
        if not isinstance(column, str) or not column.strip():
            raise _yaml_error(
                path,
                f"the column of category {name!r} must be a column name",
                _line_of(body, "column"),
            )
        sep = body.get("multi_value")
        if sep is not None and (not isinstance(sep, str) or len(sep) == 0):
            raise _yaml_error(
                path,
                f"multi_value of category {name!r} must be a separator such as ';'",
                _line_of(body, "multi_value"),
            )
        bands = _parse_bands(path, name, body, sep)
        if "quotas" not in body:
            raise _yaml_error(
                path,
                f"category {name!r} has no quotas",
                line,
                "add 'quotas:' with one entry per value",
            )
        qdoc = _expect_mapping(
            path, body["quotas"], f"the quotas of {name!r}", _line_of(body, "quotas")
        )
        if not qdoc:
            raise _yaml_error(path, f"category {name!r} has no quotas", line)
        quotas = [
            _value_quota(path, name, str(v), s, _line_of(qdoc, v), k) for v, s in qdoc.items()
        ]
        _check_unique_values(path, name, quotas)
        _check_band_quotas(path, name, bands, quotas, line)
        if sep is None:
            warnings.extend(_percent_warnings(path, str(name), qdoc, line, k))
        categories.append(
            Category(
                name=str(name),
                column=column.strip(),
                quotas=tuple(quotas),
                multi_value=sep,
                line=line,
                bands=bands,
            )
        )
    households = None
    if "households" in doc:
        households = _parse_households(path, doc["households"], _line_of(doc, "households"))
    return QuotaSpec(
        path=path,
        format="yaml",
        panel_size=k,
        categories=tuple(categories),
        id_column=id_column.strip() if id_column else None,
        households=households,
        warnings=tuple(warnings),
    )


def _percent_warnings(path: Path, cat: str, qdoc: Any, line: int | None, k: int) -> list[str]:
    """A warning when every value of a single-valued category has an exact percentage and
    they do not add up to 100% (65% + 45% passes unnoticed otherwise: 6 + 4 seats of 10)."""
    shares = []
    for value, spec in qdoc.items():
        match = _PERCENT.match(spec) if isinstance(spec, str) else None
        if match is None:
            return []
        shares.append((str(value), Fraction(match.group(1))))
    total = sum(share for _, share in shares)
    if total == 100:
        return []
    listed = " + ".join(f"{value} {float(share):g}%" for value, share in shares)
    return [
        f"{path}, line {line}: the percentages of category {cat!r} add up to "
        f"{float(total):g}%, not 100% ({listed}); each is a share of the {k} seats, rounded "
        "to whole seats: check them"
    ]


def _parse_households(path: Path, doc: Any, line: int | None) -> Households:
    doc = _expect_mapping(path, doc, "households", line)
    _check_keys(path, doc, HOUSEHOLD_KEYS, "households")
    if "columns" in doc and "column" in doc:
        raise _yaml_error(
            path, "households has both 'column' and 'columns'", line, "keep one of them"
        )
    cols: Any = doc.get("columns", doc.get("column"))
    if isinstance(cols, str):
        cols = [cols]
    if (
        not isinstance(cols, list)
        or not cols
        or not all(isinstance(c, str) and c.strip() for c in cols)
    ):
        raise _yaml_error(
            path, "households needs 'columns: [Address, Postcode]' (or 'column: Address')", line
        )
    if "max_per_household" not in doc:
        raise _yaml_error(
            path, "households needs max_per_household", line, "add 'max_per_household: 1'"
        )
    m = _parse_int(
        path,
        doc["max_per_household"],
        "max_per_household",
        _line_of(doc, "max_per_household"),
        minimum=1,
    )
    return Households(columns=tuple(c.strip() for c in cols), max_per_household=m)


# --------------------------------------------------------------------------- SF categories CSV


def _parse_sf_csv(path: Path, text: str, panel_size: int | None) -> QuotaSpec:
    if panel_size is None:
        raise BadInputError(
            "a categories CSV does not say the panel size",
            file=str(path),
            hint="pass --panel-size K (the number of seats)",
        )
    k = panel_size
    # Excel in many European locales saves CSV with ';' (the registrants file's --delimiter
    # is told; this file's is recognised from its header, which has no comma then)
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = next((d for d in (";", "\t") if d in first and "," not in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise BadInputError("the categories file is empty", file=str(path)) from None
    # the Sortition Foundation's current header is feature,value,min,max[,min_flex,max_flex]
    # (feature: the category); its older one category,feature,min,max (feature: the value)
    hint = "its header must be feature,value,min,max (or the older category,feature,min,max)"
    col = {}
    if "category" in header:
        col["category"] = header.index("category")
        value_cols = [c for c in SF_VALUE_COLUMNS if c in header]
        if not value_cols:
            raise BadInputError(
                "the categories CSV has no 'feature' (or 'name'/'value') column",
                file=str(path),
                row=1,
                hint=hint,
            )
        col["feature"] = header.index(value_cols[0])
    elif "feature" in header and "value" in header:
        col["category"], col["feature"] = header.index("feature"), header.index("value")
    else:
        raise BadInputError(
            "the categories CSV has neither 'feature' and 'value' columns nor "
            "'category' and 'feature' columns",
            file=str(path),
            row=1,
            hint=hint,
        )
    for key in ("min", "max"):
        if key not in header:
            raise BadInputError(
                f"the categories CSV has no {key!r} column", file=str(path), row=1, hint=hint
            )
        col[key] = header.index(key)
    flex = [c for c in ("min_flex", "max_flex") if c in header]
    grouped: dict[str, list[ValueQuota]] = {}
    for row in reader:
        if not row or not any(c.strip() for c in row):
            continue
        line = reader.line_num
        if len(row) <= max(col.values()):
            raise BadInputError(
                f"this row has {len(row)} cells, fewer than the header", file=str(path), row=line
            )
        cat = row[col["category"]].strip()
        value = row[col["feature"]].strip()
        if not cat or not value:
            raise BadInputError(
                "the category or the feature is blank",
                file=str(path),
                row=line,
                hint="fill both in, or remove the row",
            )
        bounds = []
        for key in ("min", "max"):
            cell = row[col[key]].strip()
            try:
                number = int(cell)
            except ValueError:
                raise BadInputError(
                    "is not a whole number",
                    file=str(path),
                    row=line,
                    column=key,
                    value=cell,
                    hint="min and max are whole numbers of seats",
                ) from None
            if number > MAX_COUNT:
                raise BadInputError(
                    f"is more than panelsel accepts ({MAX_COUNT:,})",
                    file=str(path),
                    row=line,
                    column=key,
                    value=cell[:30],
                    hint="min and max are whole numbers of seats",
                )
            if number < 0:
                raise BadInputError(
                    "is a negative count",
                    file=str(path),
                    row=line,
                    column=key,
                    value=cell,
                    hint="use 0 or more",
                )
            bounds.append(number)
        if bounds[0] > bounds[1]:
            raise BadInputError(
                f"min {bounds[0]} is above max {bounds[1]}",
                file=str(path),
                row=line,
                hint="make min at most max",
            )
        grouped.setdefault(cat, []).append(ValueQuota(value, bounds[0], bounds[1], line))
    if not grouped:
        raise BadInputError("the categories CSV has a header but no rows", file=str(path))
    categories = []
    for cat, quotas in grouped.items():
        _check_unique_values(path, cat, quotas)
        categories.append(Category(name=cat, column=cat, quotas=tuple(quotas)))
    warnings = (
        (
            f"{path}: the columns {' and '.join(flex)} are not used: panelsel keeps to min "
            "and max, and 'panelsel check' proposes the smallest change when they cannot be "
            "met",
        )
        if flex
        else ()
    )
    return QuotaSpec(
        path=path, format="csv", panel_size=k, categories=tuple(categories), warnings=warnings
    )


# --------------------------------------------------------------------------- entry point


def load_quotas(
    path: str | Path,
    *,
    panel_size: int | None = None,
    id_column: str | None = None,
    default_panel_size: int | None = None,
) -> QuotaSpec:
    """Read a quota file, YAML (``.yaml``/``.yml``) or Sortition Foundation CSV (``.csv``).

    Parameters
    ----------
    path
        The quota file.
    panel_size
        Overrides (YAML) or supplies (CSV, where it is required) the number of seats.
    id_column
        Overrides the YAML's ``id_column``.
    default_panel_size
        The number of seats where the file gives none (a categories CSV, a YAML without
        ``panel_size``); a file's own ``panel_size`` wins over it (``panel_size`` does not).

    Raises
    ------
    BadInputError
        With the file, line and key of the first problem and how to fix it.
    """
    path = Path(path)
    if not path.exists():
        raise BadInputError(
            "the quota file does not exist",
            file=str(path),
            hint="check the path (it is relative to the current folder)",
        )
    if path.is_dir():
        raise BadInputError("this is a folder, not a quota file", file=str(path))
    if panel_size is not None and not 1 <= panel_size <= MAX_COUNT:
        raise BadInputError(
            f"the panel size must be from 1 to {MAX_COUNT:,}, not {_short(panel_size)}",
            hint="pass the number of seats as --panel-size",
        )
    size = path.stat().st_size
    if size > MAX_QUOTA_BYTES:
        raise BadInputError(
            f"the quota file is {size / 1_048_576:.1f} MiB; quota files are a few kilobytes "
            f"(at most {MAX_QUOTA_BYTES // 1024:,} KiB)",
            file=str(path),
            hint="check that this is the quota file, not the registrants",
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInputError(
            "the quota file is not UTF-8 text", file=str(path), row=line, hint="save it as UTF-8"
        ) from None
    if not text.strip():
        raise BadInputError(
            "the quota file is empty",
            file=str(path),
            hint="see the README for the quota file format",
        )
    if path.suffix.lower() == ".csv":
        spec = _parse_sf_csv(
            path, text, panel_size if panel_size is not None else default_panel_size
        )
    else:
        spec = _parse_yaml(path, text, panel_size, default_panel_size)
    return QuotaSpec(
        path=spec.path,
        format=spec.format,
        panel_size=spec.panel_size,
        categories=spec.categories,
        id_column=id_column if id_column is not None else spec.id_column,
        households=spec.households,
        sha256=sha256_hex(data),
        warnings=spec.warnings,
    )


def with_bounds(spec: QuotaSpec, bounds: dict[tuple[str, str], tuple[int, int]]) -> QuotaSpec:
    """``spec`` with the (category, value) quotas ``bounds`` names set to its (min, max)."""
    categories = tuple(
        dataclasses.replace(
            cat,
            quotas=tuple(
                dataclasses.replace(q, min=bounds[key][0], max=bounds[key][1])
                if (key := (cat.name, q.value)) in bounds
                else q
                for q in cat.quotas
            ),
        )
        for cat in spec.categories
    )
    return dataclasses.replace(spec, categories=categories)
