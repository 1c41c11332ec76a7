"""The CLI's words for the page: an error's message and fix name command-line options
(``pass --delimiter ';'``); the page names its own fields instead (set "Separator of a CSV
file" to ';').  Only the wording changes: the message is the CLI's, produced by the same
code.  Options the page has no field for (``--out``, ``--pool``) are left as they are."""

from __future__ import annotations

import re
from dataclasses import dataclass

from panelsel.solve.algorithms import ALGORITHM_NAMES


@dataclass(frozen=True)
class Field:
    """A page field standing for a CLI option."""

    label: str
    """The field's label, as the page shows it."""
    where: str
    """Which page (or part of it) has the field."""
    name: str
    """The form field's name (its element's id)."""
    switch: bool = False
    """A tick box (the option takes no value)."""
    choices: tuple[str, ...] = ()
    """The words the option takes as values (a lower-case word after another option's name
    is the sentence's own: "--number must be ...")."""


FIELDS = {
    "delimiter": Field(
        "Separator of a CSV file", "on the first page, under How to read it", "delimiter"
    ),
    "sheet": Field("Sheet of a workbook", "on the first page, under How to read it", "sheet"),
    "header-row": Field(
        "Row of the column names", "on the first page, under How to read it", "header_row"
    ),
    "drop-duplicates": Field(
        "Drop repeated registrations by this column",
        "on the first page, under How to read it",
        "drop_duplicates",
    ),
    "id-column": Field(
        "Column that identifies each person", "on the first page, under How to read it", "id_column"
    ),
    "samples": Field("Runs of legacy", "on the quota page, under More options", "samples"),
    "keep": Field(
        "Of repeated registrations, keep",
        "on the first page, under How to read it",
        "keep",
        choices=("first", "last"),
    ),
    "encoding": Field(
        "Text encoding of a CSV file", "on the first page, under How to read it", "encoding"
    ),
    "panel-size": Field("Seats on the panel", "on the quota page", "panel_size"),
    "algorithm": Field(
        "the algorithm", "on the quota page", "algorithm", choices=tuple(ALGORITHM_NAMES)
    ),
    "seed": Field("Seed of the draw", "on the quota page", "seed"),
    "panels": Field("publish this many numbered panels", "on the quota page", "panels"),
    "solver": Field(
        "Solver", "on the quota page, under More options", "solver", choices=("highs", "cbc")
    ),
    "time-limit": Field("Time limit", "on the quota page, under More options", "time_limit"),
    "gamma": Field(
        "Goldilocks' weight of the smallest chance",
        "on the quota page, under More options",
        "gamma",
    ),
    "rounding": Field(
        "Rounding of a public draw's panels",
        "on the quota page, under More options",
        "rounding",
        choices=("auto", "ilp", "pipage"),
    ),
    "best-effort": Field(
        "use the best lottery found so far",
        "on the quota page, under More options",
        "best_effort",
        True,
    ),
    "loosen": Field("loosen the quotas", "in the dropout form", "loosen", True),
    "unavailable": Field(
        "Registrants who cannot be drawn now", "in the dropout form", "unavailable"
    ),
    "number": Field("A panel number", "in the draw form", "number"),
    "random-hex": Field("a randomness beacon's value", "in the draw form", "beacon"),
    "dice": Field("dice rolls", "in the draw form", "dice"),
    "dice-sides": Field("Sides of the dice", "in the draw form", "sides"),
}
"""The CLI options the page has a field for, by option name."""

_VERBS = r"(?:(?P<verb>pass|use|add|try|set|raise|drop|leave out)\s+)?"
_VALUE = (
    r"(?:\s+(?:(?P<value>'[^']*'|\"[^\"]*\"|\d[\w.,]*|[a-z][\w-]*(?=[\s,;)]|$))"
    r"|(?P<placeholder>[A-Z][A-Z.]*(?=[\s,;)]|$))))?"
)
_OPTION = re.compile(_VERBS + r"--(?P<name>[a-z][a-z-]*)" + _VALUE)


def _takes(field: Field, value: str) -> bool:
    """Whether ``value``, right after the option's name, is its value."""
    if not value[0].isalpha():
        return True  # quoted, or a number
    if field.name == "encoding":
        return any(c.isdigit() for c in value)  # utf-16, cp1252, latin-1
    return value in field.choices


def _phrase(match: re.Match[str]) -> str:
    name, verb, value = match["name"], match["verb"], match["value"]
    field = FIELDS.get(name)
    if field is None:
        return match[0]
    label = f"“{field.label}” ({field.where})"
    # a placeholder such as SECONDS or COLUMN is the field itself: it is left out
    tail = ""
    if value is not None and (field.switch or not _takes(field, value)):
        tail, value = f" {value}", None  # the next word is the sentence's, not a value
    if verb in ("pass", "add") and not field.switch and value is None:
        verb = "fill in"
    if verb in ("drop", "leave out"):
        return ("untick " if field.switch else "empty ") + label + tail
    if verb == "raise":
        return f"raise {label}" + tail
    if field.switch:
        return ("tick " if verb else "") + label + tail
    if value is not None:
        return f"set {label} to {value}" if verb else f"“{field.label}: {value}” ({field.where})"
    return (f"{verb} " if verb else "") + label + tail


def page_words(text: str) -> str:
    """``text`` with each CLI option the page has a field for named by that field."""
    return _OPTION.sub(_phrase, text)


def field_named(*texts: str) -> str | None:
    """The form field of the first CLI option named in ``texts`` that the page has a field
    for (an error that names ``--gamma`` concerns the gamma field)."""
    for text in texts:
        for match in _OPTION.finditer(text):
            field = FIELDS.get(match["name"])
            if field is not None:
                return field.name
    return None
