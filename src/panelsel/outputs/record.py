"""The run record: ``lottery.json``, ``draw.json`` and ``lottery.sha256``, written and read
here only.

A run is one of three kinds (:data:`RunKind`), told apart by what its ``lottery.json``
holds and asked of a :class:`RunRecord` instead of tested key by key:

``drawn``
    An exact lottery and the panel the recorded seed drew from it (``panels``, or for large
    pools ``types`` and ``count_vectors``), with ``selected_members``.
``estimated``
    Legacy's Monte-Carlo runs: the distinct panels with their observed frequencies, the
    first run's panel selected, ``samples``.
``published``
    A uniform lottery over panels numbered 1 to M (``rounding``), the lottery it was rounded
    from (``panels_before_rounding``), nothing drawn; ``panelsel draw`` adds ``draw.json``.

The format is ``panelsel-lottery/1``; a new kind (replacements) adds a variant here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from panelsel import __version__
from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING
from panelsel.digest import sha256_hex
from panelsel.encodings import text_encoding_problem
from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.load import ReadOptions, recorded_header_row, recorded_sheet
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.compute import RunKind
from panelsel.lottery.public import PUBLIC_DRAW_RULE, PickedNumber, dice_plan
from panelsel.lottery.rounding import Rounded
from panelsel.outputs.files import PLAIN_CSV, CsvFormat
from panelsel.outputs.names import LOTTERY_HASH
from panelsel.versions import deciding_versions

DRAW_FORMAT = "panelsel-draw/1"


HASH_FILE = LOTTERY_HASH


def hash_file_text(digest: str) -> str:
    """``lottery.sha256`` in the format ``sha256sum -c`` reads."""
    return f"{digest}  lottery.json\n"


def _normal_hash(text: str, where: str) -> str:
    digest = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise BadInputError(
            f"{where} is not a sha256 (64 hex digits): {text.strip()[:80]!r}",
            hint="copy the hash exactly as it was published",
        )
    return digest


def published_hash(lottery_path: Path, given: str | None) -> tuple[str, str]:
    """The hash to check against and where it came from (``--sha256`` or the hash file)."""
    if given is not None:
        return _normal_hash(given, "--sha256"), "--sha256"
    beside = lottery_path.parent / HASH_FILE
    if not beside.is_file():
        raise VerificationError(
            f"no published hash to check {lottery_path} against: --sha256 was not given and "
            f"there is no {HASH_FILE} beside it",
            hint="pass --sha256 with the hash published before the draw",
        )
    first = beside.read_text(encoding="utf-8", errors="replace").split()
    return _normal_hash(first[0] if first else "", str(beside)), HASH_FILE


def read_uniform_lottery(path: Path, expected: str | None = None) -> tuple[dict[str, Any], str]:
    """Read a published ``lottery.json``; check its hash (when ``expected``) and that it is a
    uniform lottery with panels numbered 1 to M.  Returns the document and its sha256."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read the lottery: {exc.strerror}", file=str(path)) from None
    digest = sha256_hex(data)
    if expected is not None and digest != expected:
        raise VerificationError(
            f"{path} has sha256 {digest}, but the published hash is {expected}: this is not "
            "the file that was published",
            hint="draw only from the published lottery.json; get it again from where it was "
            "published",
        )
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"the lottery is not valid JSON ({exc})", file=str(path)) from None
    if not isinstance(document, dict) or not isinstance(document.get("rounding"), dict):
        raise BadInputError(
            "this lottery.json is not a uniform lottery over numbered panels",
            file=str(path),
            hint="make one with panelsel select ... --panels 1000",
        )
    panels = document.get("panels")
    m = document["rounding"].get("panels")
    if (
        not isinstance(panels, list)
        or not isinstance(m, int)
        or len(panels) != m
        or any(
            not isinstance(p, dict) or p.get("number") != j for j, p in enumerate(panels, start=1)
        )
    ):
        raise VerificationError(
            f"the panels of {path} are not numbered 1 to {m} in order",
            hint="draw only from a lottery.json written by panelsel select --panels",
        )
    problem = shape_problem(document)
    if problem is not None:
        raise VerificationError(
            f"{path}: {problem}, which panelsel never writes: the file was edited or damaged",
            hint="draw only from the published lottery.json; get it again from where it was "
            "published",
        )
    return document, digest


LOTTERY_FORMAT = "panelsel-lottery/1"


LOTTERY_DRAW_RULE = (
    "u = numpy.random.default_rng(seed).random(); selected = first panel (in the order "
    "listed) whose cumulative probability exceeds u"
)


GROUPED_DRAW_RULE = (
    "rng = numpy.random.default_rng(seed); u = rng.random(); selected = first count vector "
    "(in the order listed) whose cumulative probability exceeds u; then for each type in "
    "index order with 0 < c < size members to select, positions = [0 .. size-1] and for "
    "i in 0 .. c-1: swap positions[i] with positions[rng.integers(i, size)]; the members at "
    "positions[0 .. c-1] of the type's list are selected"
)


LEGACY_DRAW_RULE = (
    "the first of the legacy procedure's runs, made with "
    "numpy.random.default_rng(numpy.random.SeedSequence(seed).spawn(samples)[0]); the panels "
    "listed are the distinct panels of all runs with their observed frequencies"
)


def lottery_entries(lottery: Lottery, ids: list[str]) -> list[dict[str, Any]]:
    """The ``panels`` of ``lottery.json``: each panel's member ids and probability."""
    return [
        {"members": [ids[i] for i in members], "probability": float(p)}
        for members, p in zip(lottery.panels, lottery.probabilities, strict=True)
    ]


def grouped_entries(lottery: GroupedLottery, ids: list[str]) -> dict[str, Any]:
    """A lottery over types in ``lottery.json``: ``types`` (each type's member ids, in pool
    order) and ``count_vectors`` (each vector's ``[type, count]`` pairs and probability)."""
    return {
        "types": [[ids[i] for i in members] for members in lottery.type_members],
        "count_vectors": [
            {
                "counts": [[t, int(counts[t])] for t in np.flatnonzero(counts).tolist()],
                "probability": float(p),
            }
            for counts, p in zip(lottery.columns, lottery.probabilities, strict=True)
        ],
    }


def numbered_entries(rounded: Rounded, ids: list[str]) -> list[dict[str, Any]]:
    """The ``panels`` of a published uniform lottery: numbered 1 to M, each 1/M."""
    return [
        {"number": number, "members": [ids[i] for i in members], "probability": 1 / rounded.m}
        for number, members in enumerate(rounded.lottery.panels, start=1)
    ]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BadInputError(
            "the selection has no lottery.json",
            file=str(path),
            hint="pass the folder that panelsel select wrote (its --out)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"not valid JSON ({exc})", file=str(path)) from None
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith(
        "panelsel-lottery/"
    ):
        raise BadInputError("not a panelsel lottery file (no 'format' key)", file=str(path))
    needed = ["seed", "panel_size", "algorithm"]
    needed += ["count_vectors", "types"] if "count_vectors" in data else ["panels"]
    needed += ["panels_before_rounding"] if "rounding" in data else ["selected_members"]
    for key in needed:
        if key not in data:
            raise BadInputError(f"the lottery file lacks the key {key!r}", file=str(path))
    problem = shape_problem(data)
    if problem is not None:
        raise VerificationError(
            f"{path}: {problem}, which panelsel never writes: the file was edited or damaged",
            hint="audit the folder panelsel wrote, or rerun the selection from its inputs",
        )
    return data


# --------------------------------------------------------------------------- its shape


def _whole(v: object, low: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _strings(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _text_or_none(v: object) -> bool:
    return v is None or isinstance(v, str)


def _entries(v: object, numbered: bool = False) -> bool:
    """A list of panels: ``members`` (ids) and ``probability``, and a ``number`` if
    ``numbered``."""
    return isinstance(v, list) and all(
        isinstance(e, dict)
        and _strings(e.get("members"))
        and _number(e.get("probability"))
        and (not numbered or _whole(e.get("number"), 1))
        for e in v
    )


def _vectors(v: object) -> bool:
    return isinstance(v, list) and all(
        isinstance(e, dict)
        and _number(e.get("probability"))
        and isinstance(e.get("counts"), list)
        and all(
            isinstance(c, list) and len(c) == 2 and all(_whole(x) for x in c) for c in e["counts"]
        )
        for e in v
    )


def _inputs(v: object) -> bool:
    if not isinstance(v, dict):
        return False
    for name in ("registrants", "quotas"):
        given = v.get(name)
        if given is None:
            continue
        if not isinstance(given, dict):
            return False
        for key, x in given.items():
            if key == "header_row":
                if not _whole(x, 1):
                    return False
            elif not _text_or_none(x):
                return False
    return True


def _link(v: object) -> bool:
    """The ``replacement`` record of a round."""
    return (
        isinstance(v, dict)
        and isinstance(v.get("previous"), str)
        and _text_or_none(v.get("previous_sha256"))
        and _whole(v.get("panel_size"), 1)
        and all(
            _strings(v.get(key, []))
            for key in ("kept", "dropouts", "unavailable", "housemates_left_out")
        )
        # None until a round published for a public draw is drawn
        and (v.get("final_members") is None or _strings(v["final_members"]))
        and isinstance(v.get("household_room", []), list)
        and isinstance(v.get("residual_quotas", []), list)
        and all(isinstance(q, dict) for q in v.get("residual_quotas", []))
    )


def _exclusions(v: object) -> bool:
    """The ``excluded`` record: who has no chance, and why (written only when someone
    has none)."""
    return isinstance(v, list) and all(
        isinstance(e, dict)
        and _strings(e.get("ids"))
        and isinstance(e.get("reason"), str)
        and e.get("selectable") in (True, False, None)
        for e in v
    )


def _rounding(v: object) -> bool:
    """The ``rounding`` record of a published lottery."""
    return (
        isinstance(v, dict)
        and _whole(v.get("panels"), 1)
        and all(isinstance(v.get(key, ""), str) for key in ("method", "requested", "reference"))
        and _whole(v.get("types", 0))
    )


SHAPES: dict[str, tuple[Any, str]] = {
    "format": (lambda v: isinstance(v, str), "text"),
    "version": (lambda v: isinstance(v, str), "text"),
    "versions": (lambda v: isinstance(v, dict), "a table of versions"),
    "algorithm": (lambda v: isinstance(v, str), "an algorithm's name"),
    "solver": (lambda v: isinstance(v, str), "a solver's name"),
    "seed": (_whole, "a whole number"),
    "estimated": (lambda v: isinstance(v, bool), "true or false"),
    "proven_optimal": (lambda v: isinstance(v, bool), "true or false"),
    "spreadsheet_safe": (lambda v: isinstance(v, bool), "true or false"),
    "panel_size": (lambda v: _whole(v, 1), "a whole number of seats"),
    "pool_size": (_whole, "a whole number"),
    "id_column": (_text_or_none, "a column name"),
    "inputs": (_inputs, "the recorded input files"),
    "contact_columns": (lambda v: v is None or _strings(v), "a list of column names"),
    "contact_files": (lambda v: v is None or isinstance(v, dict), "the contact lists' format"),
    "draw_rule": (lambda v: isinstance(v, str), "text"),
    "selected": (lambda v: v is None or _whole(v), "a panel's place in the list"),
    "selected_members": (_strings, "a list of ids"),
    "stats": (lambda v: isinstance(v, dict), "a table of figures"),
    "notes": (_strings, "a list of notes"),
    "panels": (lambda v: _entries(v), "a list of panels, each with members and a probability"),
    "panels_before_rounding": (_entries, "a list of panels, each with members and a probability"),
    "rounding": (_rounding, "the rounding's record (a whole number of panels, figures)"),
    "dice_plan": (lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v), "dice"),
    "samples": (lambda v: _whole(v, 1), "a whole number of runs"),
    "types": (lambda v: isinstance(v, list) and all(_strings(t) for t in v), "lists of ids"),
    "count_vectors": (_vectors, "a list of count vectors, each with counts and a probability"),
    "certificate": (lambda v: v is None or isinstance(v, dict), "a certificate's weights"),
    "excluded": (_exclusions, "a list of who has no chance, with ids and a reason"),
    "replacement": (_link, "a replacement round's record"),
}
"""What each key of ``lottery.json`` holds, as panelsel writes it: a check and its name in
words.  Values are still untrusted (the audit's checks decide); this only keeps a file of
the wrong shape from being read as if it were right."""


def shape_problem(data: dict[str, Any]) -> str | None:
    """The first key of a lottery document whose value has a shape panelsel never writes,
    described, or None."""
    for key, (fits, wanted) in SHAPES.items():
        if key not in data:
            continue
        value = data[key]
        if key == "panels" and "rounding" in data:
            ok = _entries(value, numbered=True)
        else:
            ok = bool(fits(value))
        if not ok:
            shown = json.dumps(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            return f"{key!r} is {shown}, not {wanted}"
    return None


# --------------------------------------------------------------------------- the record type


@dataclass(frozen=True)
class RunRecord:
    """A ``lottery.json`` as read back: its document (untrusted until the audit's checks
    have passed) and what kind of run wrote it."""

    path: Path
    document: dict[str, Any]

    @property
    def kind(self) -> RunKind:
        if "rounding" in self.document:
            return "published"
        return "estimated" if self.document.get("estimated") else "drawn"

    @property
    def grouped(self) -> bool:
        """Published over types and count vectors (a large pool), not over panels."""
        return "count_vectors" in self.document

    @property
    def algorithm(self) -> str:
        return str(self.document["algorithm"])

    @property
    def seed(self) -> int:
        return int(self.document["seed"])

    @property
    def panel_size(self) -> int:
        return int(self.document["panel_size"])

    @property
    def spreadsheet_safe(self) -> bool:
        return bool(self.document.get("spreadsheet_safe"))

    @property
    def registrants(self) -> dict[str, Any]:
        """The recorded registrants file: ``path``, ``sha256``, ``delimiter``, ``encoding``."""
        return dict(self.document.get("inputs", {}).get("registrants") or {})

    @property
    def registrants_file(self) -> RecordedRegistrants:
        """The recorded registrants file and how it was read, typed."""
        return RecordedRegistrants.of(self.document)

    @property
    def quotas(self) -> dict[str, Any]:
        """The recorded quota file: ``path`` and ``sha256``."""
        return dict(self.document.get("inputs", {}).get("quotas") or {})

    @property
    def id_column(self) -> str | None:
        value = self.document.get("id_column")
        return value if isinstance(value, str) else None

    @property
    def link(self) -> dict[str, Any] | None:
        """A replacement round's ``replacement`` section (None for any other run)."""
        link = self.document.get("replacement")
        return link if isinstance(link, dict) else None


@dataclass(frozen=True)
class RecordedRegistrants:
    """The registrants file a run recorded, and how it read it: the one place that turns
    ``inputs.registrants`` back into :class:`ReadOptions` (the audit, ``replace`` and
    ``draw`` read a recorded pool alike, with the same defaults for what an older or
    hand-made record leaves out)."""

    path: str
    sha256: str | None
    delimiter: str
    encoding: str
    drop_duplicates: str | None
    keep: str
    sheet: str | None
    header_row: int | None

    @classmethod
    def of(cls, document: dict[str, Any]) -> RecordedRegistrants:
        inputs = document.get("inputs")
        given = inputs.get("registrants") if isinstance(inputs, dict) else None
        record: dict[str, Any] = given if isinstance(given, dict) else {}
        drop = record.get("drop_duplicates")
        sha = record.get("sha256")
        return cls(
            path=str(record.get("path", "")),
            sha256=sha if isinstance(sha, str) else None,
            delimiter=str(record.get("delimiter") or DEFAULT_DELIMITER),
            encoding=str(record.get("encoding") or DEFAULT_ENCODING),
            drop_duplicates=str(drop) if drop else None,
            keep=str(record.get("keep") or "last"),
            sheet=recorded_sheet(record),
            header_row=recorded_header_row(record),
        )

    def read_options(
        self,
        *,
        id_column: str | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        drop: bool = True,
    ) -> ReadOptions:
        """How to read the file again: as recorded, with ``delimiter`` and ``encoding``
        where given instead; ``drop`` False reads the whole pool (the audit's reading when
        the recorded way of dropping duplicates is refused)."""
        return ReadOptions(
            delimiter=delimiter or self.delimiter,
            encoding=encoding or self.encoding,
            id_column=id_column,
            drop_duplicates=self.drop_duplicates if drop else None,
            keep=self.keep if drop and self.drop_duplicates else "last",
            sheet=self.sheet,
            header_row=self.header_row,
        )


def read_record(path: Path) -> RunRecord:
    """Read a selection's ``lottery.json`` and check that it has the keys of its kind."""
    return RunRecord(path, _read_json(path))


def lottery_document(
    *,
    kind: RunKind,
    algorithm: str,
    solver: str,
    seed: int,
    proven_optimal: bool,
    spreadsheet_safe: bool,
    panel_size: int,
    pool_size: int,
    id_column: str | None,
    registrants: dict[str, Any],
    quotas: dict[str, Any],
    contact_columns: list[str],
    stats: dict[str, Any],
    contact_files: dict[str, Any] | None = None,
    notes: list[str],
    ids: list[str],
    lottery: Lottery | GroupedLottery,
    selected: int | None = None,
    selected_members: list[str] | None = None,
    samples: int | None = None,
    rounded: Rounded | None = None,
    replacement: dict[str, Any] | None = None,
    certificate: dict[str, Any] | None = None,
    versions: dict[str, str] | None = None,
    excluded: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole ``lottery.json`` of one run, keys in the order of format 1 (Goldilocks and
    MINIMAX add their ``certificate`` weights after the lottery); a replacement
    round (``panelsel replace``) ends with its ``replacement`` section, the link to the run
    it continues."""
    document: dict[str, Any] = {
        "format": LOTTERY_FORMAT,
        "version": __version__,
        "versions": versions if versions is not None else deciding_versions(),
        "algorithm": algorithm,
        "solver": solver,
        "seed": seed,
        "estimated": kind == "estimated",
        "proven_optimal": proven_optimal,
        "spreadsheet_safe": spreadsheet_safe,
        "panel_size": panel_size,
        "pool_size": pool_size,
        "id_column": id_column,
        "inputs": {"registrants": registrants, "quotas": quotas},
        "contact_columns": contact_columns,
        **({"contact_files": contact_files} if contact_files is not None else {}),
    }
    if kind == "published":
        assert rounded is not None and isinstance(lottery, Lottery)
        document.update(
            {
                "draw_rule": PUBLIC_DRAW_RULE,
                "dice_plan": dice_plan(rounded.m),
                "selected": None,
                "rounding": rounded.as_dict(),
                "stats": stats,
                "notes": notes,
                **listing(lottery, ids, rounded),
            }
        )
        if excluded:
            document["excluded"] = excluded
        if certificate is not None:
            document["certificate"] = certificate
        if replacement is not None:
            document["replacement"] = replacement
        return _as_read_back(document)
    grouped = isinstance(lottery, GroupedLottery)
    rule = (
        LEGACY_DRAW_RULE
        if kind == "estimated"
        else GROUPED_DRAW_RULE
        if grouped
        else LOTTERY_DRAW_RULE
    )
    document.update(
        {
            "draw_rule": rule,
            "selected": selected,
            "selected_members": selected_members,
            "stats": stats,
            "notes": notes,
        }
    )
    document.update(listing(lottery, ids))
    if kind == "estimated":
        document["samples"] = samples
    if excluded:
        document["excluded"] = excluded
    if certificate is not None:
        document["certificate"] = certificate
    if replacement is not None:
        document["replacement"] = replacement
    return _as_read_back(document)


def _as_read_back(document: dict[str, Any]) -> dict[str, Any]:
    """``document``, after checking that reading it back would accept its shape: panelsel
    never writes a lottery.json that its own audit, replace or draw would refuse."""
    problem = shape_problem(document)
    if problem is not None:
        raise AssertionError(f"panelsel wrote a lottery.json it would refuse: {problem}")
    return document


def listing(
    lottery: Lottery | GroupedLottery, ids: list[str], rounded: Rounded | None = None
) -> dict[str, Any]:
    """The keys of ``lottery.json`` that list a lottery: ``panels`` (and, for a published
    lottery, its numbered panels as ``panels`` and the lottery they were rounded from as
    ``panels_before_rounding``), or for a large pool ``types`` and ``count_vectors``."""
    if rounded is not None:
        assert isinstance(lottery, Lottery)
        return {
            "panels": numbered_entries(rounded, ids),
            "panels_before_rounding": lottery_entries(lottery, ids),
        }
    if isinstance(lottery, GroupedLottery):
        return grouped_entries(lottery, ids)
    return {"panels": lottery_entries(lottery, ids)}


def draw_document(
    digest: str, checked_against: str, m: int, picked: PickedNumber, members: list[str]
) -> dict[str, Any]:
    """``draw.json``: which published lottery, the public input and the panel it gives."""
    return {
        "format": DRAW_FORMAT,
        "version": __version__,
        "lottery_sha256": digest,
        "checked_against": checked_against,
        "panels": m,
        "input": picked.source,
        "rule": PUBLIC_DRAW_RULE,
        "steps": picked.steps,
        "number": picked.number,
        "members": members,
    }


def recorded_contact_format(document: dict[str, Any]) -> tuple[CsvFormat, bool]:
    """How a run wrote (or a draw writes) ``panel.csv`` and ``remaining.csv``: the recorded
    delimiter and encoding, and whether the workbooks were written too (UTF-8 and commas,
    no workbooks, for a record that does not say)."""
    recorded = document.get("contact_files")
    if not isinstance(recorded, dict):
        return PLAIN_CSV, False
    delimiter = recorded.get("delimiter", ",")
    encoding = recorded.get("encoding", "utf-8")
    if not (isinstance(delimiter, str) and len(delimiter) == 1 and isinstance(encoding, str)):
        return PLAIN_CSV, False
    if text_encoding_problem(encoding) is not None:
        return PLAIN_CSV, False
    return CsvFormat(delimiter, encoding), bool(recorded.get("xlsx"))


def read_draw(path: Path) -> dict[str, Any] | None:
    """``draw.json`` beside a published lottery: None if there is none; a ValueError if it
    is not valid JSON."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"draw.json is not valid JSON ({exc})") from None
    return data if isinstance(data, dict) else {}
