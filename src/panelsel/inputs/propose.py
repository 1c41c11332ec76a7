"""A starting quota file from the registrants alone (``panelsel init``).

Each column is classified from its name and its cells (:func:`classify`): the id column; a
category (few distinct answers), a multi-valued category (cells listing several answers
with one separator), a numeric column with bands (an age); an address or postcode column,
proposed for the household rule; and columns left out, each with the reason (names, e-mail
addresses, phone numbers, dates and times, free text).  :func:`proposed_spec` turns the
plan into quotas proportional to the pool's own shares, give or take ``slack``, and
:func:`quota_file_text` writes it as YAML with the pool's counts and shares in comments.
Writing the quota file is a convenor's hardest step; this makes it editing instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from panelsel.inputs.pool import Pool, normalise
from panelsel.inputs.quotas import BLANK_VALUE, Band, Category, QuotaSpec, ValueQuota

MAX_CATEGORY_VALUES = 12
"""A column with at most this many distinct answers is proposed as a category."""
MAX_MULTI_VALUES = 20
"""A column whose cells list at most this many distinct answers between them, separated by
one of :data:`SEPARATORS`, is proposed as a multi-valued category."""
MULTI_SHARE = 0.1
"""...when at least this share of its non-blank cells hold the separator."""
SEPARATORS = (";", ",", "\n")
NUMERIC_SHARE = 0.8
"""A column whose non-blank cells are numbers in at least this share (the rest are answers
such as "prefer not to say") is numeric."""
AGE_EDGES = (25, 35, 45, 55, 65, 75)
"""The band edges proposed for ages: under 25, 25-34, ..., 65-74, 75+ (empty bands merged
into their neighbours)."""
DEFAULT_SLACK = 0.2
"""Quotas allow the pool's share of the panel give or take this share (at least a seat)."""

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
    r"( \d{1,2}:\d{2}(:\d{2})?)?$|^\d{1,2}:\d{2}(:\d{2})?$"
)
_PHONE = re.compile(r"^\+?[\d\s()./-]{8,}$")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class ColumnPlan:
    """What ``init`` proposes for one column.

    ``kind``: ``id``, ``category``, ``multi`` (a multi-valued category, ``separator``),
    ``bands`` (numeric, with ``bands``), ``household`` (proposed for the household rule) or
    ``left out`` (``why`` says why).  ``values``: each value with its number of registrants
    (for ``multi``, of registrants holding it; for ``bands``, the band labels and the other
    answers, blanks as ``(blank)``)."""

    column: str
    kind: str
    why: str = ""
    values: tuple[tuple[str, int], ...] = ()
    separator: str | None = None
    bands: tuple[Band, ...] = ()


@dataclass
class Plan:
    """The columns of a pool as ``init`` reads them."""

    source: str
    n: int
    id_column: str | None
    columns: list[ColumnPlan] = field(default_factory=list)

    @property
    def quota_columns(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind in ("category", "multi", "bands")]

    @property
    def household_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.kind == "household"]

    @property
    def left_out(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind == "left out"]


def _words(name: str) -> set[str]:
    return set(_WORD.findall(normalise(name).replace("_", " ")))


def _share(cells: list[str], test: re.Pattern[str]) -> float:
    filled = [c.strip() for c in cells if c.strip()]
    return sum(1 for c in filled if test.match(c)) / len(filled) if filled else 0.0


def _counts(values: list[str]) -> list[tuple[str, int]]:
    """Each distinct value (compared as the model compares them: trimmed, case folded) as
    first written, with its count, most frequent first."""
    seen: dict[str, tuple[str, int]] = {}
    for v in values:
        key = normalise(v)
        first, count = seen.get(key, (v.strip(), 0))
        seen[key] = (first, count + 1)
    return sorted(seen.values(), key=lambda vc: (-vc[1], vc[0]))


def _separator(cells: list[str]) -> tuple[str, list[tuple[str, int]]] | None:
    """The separator a column's cells list several answers with, and each answer's number
    of registrants; None when the column is not multi-valued."""
    filled = [c for c in cells if c.strip()]
    for sep in SEPARATORS:
        holding = [c for c in filled if sep in c.strip().strip(sep)]
        if not filled or len(holding) < MULTI_SHARE * len(filled):
            continue
        per_person = [{normalise(p): p.strip() for p in c.split(sep) if p.strip()} for c in filled]
        parts: dict[str, tuple[str, int]] = {}
        for person in per_person:
            for key, first in person.items():
                parts[key] = (parts.get(key, (first, 0))[0], parts.get(key, (first, 0))[1] + 1)
        distinct_cells = len({normalise(c) for c in filled})
        if len(parts) <= MAX_MULTI_VALUES and len(parts) < distinct_cells:
            listed = sorted(parts.values(), key=lambda vc: (-vc[1], vc[0]))
            return sep, listed
    return None


def age_bands(numbers: list[float]) -> tuple[Band, ...]:
    """Bands for ages: under 25, 25-34, ..., 75+, with bands nobody is in merged into the
    band below (the first into the one above), the first open below and the last above."""
    edges = [-math.inf, *AGE_EDGES, math.inf]
    spans = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    counts = [sum(1 for x in numbers if lo <= x < hi) for lo, hi in spans]
    merged: list[list[float]] = []
    for (lo, hi), count in zip(spans, counts, strict=True):
        if merged and (count == 0 or merged[-1][2] == 0):
            merged[-1][1], merged[-1][2] = hi, merged[-1][2] + count
        else:
            merged.append([lo, hi, count])
    bands = []
    for lo, hi, _ in merged:
        if lo == -math.inf and hi == math.inf:
            label, low, high = "all ages", None, None
        elif lo == -math.inf:
            label, low, high = f"under {hi:g}", None, hi - 1
        elif hi == math.inf:
            label, low, high = f"{lo:g}+", lo, None
        else:
            label, low, high = f"{lo:g}-{hi - 1:g}", lo, hi - 1
        bands.append(Band(label, low, high))
    if len(bands) == 1:  # one band holds everyone: no quota to speak of
        return ()
    return tuple(bands)


def _numeric_plan(name: str, cells: list[str]) -> ColumnPlan | None:
    """A numeric column: bands for an age, None (left out by the caller) otherwise."""
    numbers = [float(c.strip()) for c in cells if _NUMBER.match(c.strip())]
    is_age = "age" in _words(name) or "aged" in _words(name)
    if not is_age or not numbers or not all(0 <= x <= 130 for x in numbers):
        return None
    bands = age_bands(numbers)
    if not bands:
        return None
    others = [(BLANK_VALUE if not c.strip() else c) for c in cells if not _NUMBER.match(c.strip())]
    values = [(b.label, sum(1 for x in numbers if b.holds(x))) for b in bands] + _counts(others)
    return ColumnPlan(name, "bands", values=tuple(values), bands=bands)


ID_WORDS = {"id", "identifier", "number", "no", "ref", "reference", "code", "urn", "nhs"}


def _id_column(pool: Pool) -> str | None:
    """A column that names registrants uniquely (every cell filled and different) and is
    called like an id (``student_id``, ``Registration number``, ``Ref``), or None."""
    for ci, name in enumerate(pool.columns):
        words = _words(name)
        like_id = bool(words & ID_WORDS) or normalise(name).endswith("id")
        cells = [c.strip().casefold() for c in pool.column(ci)]
        if like_id and all(cells) and len(set(cells)) == len(cells):
            return name
    return None


def classify(pool: Pool) -> Plan:
    """What each column of ``pool`` is, for a quota file (see the module notes)."""
    n = len(pool)
    plan = Plan(pool.source, n, pool.id_column or _id_column(pool))
    for ci, name in enumerate(pool.columns):
        cells = pool.column(ci)
        words = _words(name)
        filled = [c for c in cells if c.strip()]
        distinct = len({normalise(c) for c in filled})
        if name == plan.id_column:
            plan.columns.append(ColumnPlan(name, "id"))
        elif not filled:
            plan.columns.append(ColumnPlan(name, "left out", "every cell is blank"))
        elif words & {"mail", "email"} or sum("@" in c for c in filled) > len(filled) / 2:
            plan.columns.append(ColumnPlan(name, "left out", "e-mail addresses"))
        elif words & {"phone", "mobile", "telephone", "tel", "cell"} or (
            _share(cells, _PHONE) >= NUMERIC_SHARE and _share(cells, _NUMBER) < NUMERIC_SHARE
        ):
            plan.columns.append(ColumnPlan(name, "left out", "phone numbers"))
        elif words & {"address", "postcode", "zip", "street", "house", "household"} or (
            "post" in words and "code" in words
        ):
            plan.columns.append(ColumnPlan(name, "household"))
        elif words & {"name", "surname", "forename", "firstname", "lastname"}:
            plan.columns.append(ColumnPlan(name, "left out", "names"))
        elif words & {
            "time", "date", "timestamp", "submitted", "completed", "completion", "started",
            "start", "modified", "dob", "birth",
        } or _share(cells, _DATE) >= NUMERIC_SHARE:  # fmt: skip
            plan.columns.append(ColumnPlan(name, "left out", "dates or times"))
        elif _share(cells, _NUMBER) >= NUMERIC_SHARE and distinct > MAX_CATEGORY_VALUES:
            numeric = _numeric_plan(name, cells)
            plan.columns.append(
                numeric
                if numeric is not None
                else ColumnPlan(
                    name,
                    "left out",
                    f"numbers ({distinct} different): add bands by hand if this should be a quota",
                )
            )
        elif distinct == 1 and len(filled) == n:
            plan.columns.append(ColumnPlan(name, "left out", "everyone gave the same answer"))
        elif (multi := _separator(cells)) is not None:
            sep, values = multi
            plan.columns.append(ColumnPlan(name, "multi", values=tuple(values), separator=sep))
        elif distinct <= MAX_CATEGORY_VALUES and distinct < max(2, n / 2):
            values = _counts([c if c.strip() else BLANK_VALUE for c in cells])
            plan.columns.append(ColumnPlan(name, "category", values=tuple(values)))
        else:
            plan.columns.append(
                ColumnPlan(name, "left out", f"free text ({distinct} different answers)")
            )
    return plan


def bounds(count: int, n: int, k: int, slack: float) -> tuple[int, int]:
    """The proposed quota of a value ``count`` of ``n`` registrants hold: its share of the
    ``k`` seats give or take ``slack`` of it (at least one seat), within ``[0, count]``.
    Over the values of a single-valued category the minimums add up to at most ``k`` and
    the maximums to at least ``k``."""
    target = count * k / n
    give = max(1.0, slack * target)
    low = max(0, math.floor(target - give + 1e-9))
    high = min(count, math.ceil(target + give - 1e-9))
    return low, high


def proposed_spec(pool: Pool, plan: Plan, k: int, slack: float, path: Path) -> QuotaSpec:
    """The quotas of ``plan`` for a panel of ``k`` (households left out: proposed only)."""
    n = len(pool)
    categories = []
    for c in plan.quota_columns:
        quotas = tuple(ValueQuota(v, *bounds(count, n, k, slack)) for v, count in c.values)
        categories.append(
            Category(
                name=c.column,
                column=c.column,
                quotas=quotas,
                multi_value=c.separator,
                bands=c.bands,
            )
        )
    return QuotaSpec(
        path=path,
        format="yaml",
        panel_size=k,
        categories=tuple(categories),
        id_column=plan.id_column,
        households=None,
    )


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def _number(x: float | None) -> str:
    return "null" if x is None else f"{x:g}"


def quota_file_text(pool: Pool, plan: Plan, spec: QuotaSpec, slack: float, made: str) -> str:
    """The quota file ``init`` writes: ``spec`` with the pool's counts and shares beside
    every quota, what was left out and why, and the household rule proposed in comments."""
    n, k = len(pool), spec.panel_size
    share = (
        [
            f"# Each quota is the pool's own share of the {k} seats, give or take {slack:.0%} (at",
            "# least one seat).",
        ]
        if math.isfinite(slack)
        else [
            "# The pool's own shares of the seats could not all be met together, so each quota",
            "# runs from 0 to the number of registrants with the value.",
        ]
    )
    out = [
        f"# Quotas proposed by panelsel init from {pool.path.name} ({n} registrants), {made}.",
        *share,
        "# Volunteers are never representative: replace the quotas with the shares the",
        "# panel should have (census figures, say), then run panelsel check.",
    ]
    if plan.left_out:
        out.append("# Left out (not quotas):")
        out += [f"#   {c.column}: {c.why}" for c in plan.left_out]
    out.append(f"panel_size: {k}   # the number of seats")
    if spec.id_column is not None:
        out.append(f"id_column: {_q(spec.id_column)}")
    else:
        out.append("# no id column found: registrants are numbered by row (0, 1, ...)")
    out.append("categories:")
    counts = {c.column: dict(c.values) for c in plan.quota_columns}
    for cat in spec.categories:
        out.append(f"  {_q(cat.name)}:")
        out.append(f"    column: {_q(cat.column)}")
        if cat.multi_value is not None:
            out.append(f"    multi_value: {_q(cat.multi_value)}   # a cell lists several answers")
        if cat.bands:
            out.append("    bands:   # [lowest, highest], null: open")
            for b in cat.bands:
                out.append(f"      {_q(b.label)}: [{_number(b.low)}, {_number(b.high)}]")
        out.append("    quotas:")
        for q in cat.quotas:
            count = counts[cat.column][q.value]
            out.append(
                f"      {_q(q.value)}: {{min: {q.min}, max: {q.max}}}   # pool {count} "
                f"({count / n:.1%})"
            )
    houses = plan.household_columns
    if houses:
        out += [
            "# The household rule, proposed from the address columns: at most one seat per",
            "# household (registrants with the same values in all these columns). Remove the",
            "# '# ' in front of the next three lines to use it.",
            "# households:",
            f"#   columns: [{', '.join(_q(c) for c in houses)}]",
            "#   max_per_household: 1",
        ]
    return "\n".join(out) + "\n"
