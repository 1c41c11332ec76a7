"""The public draw: a published uniform lottery, a public random input, one numbered panel.

``panelsel select --panels M`` publishes ``lottery.json`` (the panels numbered 1 to ``M``)
and its sha256.  :func:`draw_public` checks the file against the published hash, turns a
public random input into a panel number by the rules below, and writes ``panel.csv``,
``remaining.csv`` and ``draw.json`` beside ``lottery.json``.  Anyone holding the published
files can repeat every step (``panelsel audit`` does).

Rules from a random input to a panel number
-------------------------------------------
``--number N``
    Panel ``N`` (a number from 1 to ``M`` drawn in public, e.g. numbered balls).
``--dice R1,R2,...`` with ``--dice-sides S`` (default 6; faces numbered 1 to ``S``, so on
a ten-sided die marked 0-9 read 0 as 10)
    ``L`` is the fewest dice with ``S**L >= M``.  The rolls, in the order called out, are
    taken ``L`` at a time; a group is read as a base-``S`` number
    ``V = sum_j (R_j - 1) * S**(L - j)`` (first roll most significant).  If
    ``V < M * floor(S**L / M)`` the panel number is ``V mod M + 1``; otherwise the group is
    *rejected* and the next ``L`` rolls are used.  Rolls after the accepted group are
    refused, so that the record is unambiguous.  Every number from 1 to ``M`` is equally
    likely: the accepted values are ``floor(S**L / M)`` full rounds of ``M``.
``--random-hex HEX`` (e.g. a public randomness beacon's output value)
    ``V`` is ``HEX`` read as an unsigned big-endian integer of ``B = 4 * len(HEX)`` bits
    (a ``0x`` prefix, spaces and colons are ignored).  If ``V < M * floor(2**B / M)`` the
    panel number is ``V mod M + 1``; otherwise it is rejected, and the rule is to take the
    beacon's next value.  ``HEX`` must have ``2**B >= M``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panelsel import __version__
from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.pool import Pool, load_pool
from panelsel.outputs.files import OutputFolder, write_csv, write_json

DRAW_FORMAT = "panelsel-draw/1"
DEFAULT_DICE_SIDES = 6
HASH_FILE = "lottery.sha256"
DRAW_FILES = ("panel.csv", "remaining.csv", "draw.json")
PUBLIC_DRAW_RULE = (
    "panel number from a public random input (panelsel draw): --number N takes panel N; "
    "--dice with S-sided dice (faces 1..S) reads the rolls L at a time, L the fewest dice "
    "with S**L >= M, as V = sum (roll - 1) * S**(L - j), first roll most significant, and "
    "takes panel V mod M + 1 if V < M * floor(S**L / M), else rejects the group and reads "
    "the next L rolls; --random-hex reads the hex digits as an unsigned integer V of "
    "B = 4 * digits bits and takes panel V mod M + 1 if V < M * floor(2**B / M), else the "
    "beacon's next value is to be used"
)
_HEX = re.compile(r"^[0-9a-f]+$")
MAX_ROLL_DIGITS = 6
"""A die roll longer than this is a typing mistake (no die has a million faces)."""
MAX_DICE_SIDES = 120
"""The most faces of a fair die that is made (the d120)."""
MAX_HEX_DIGITS = 1024
"""The longest --random-hex accepted (4,096 bits; randomness beacons publish 256 or 512)."""


@dataclass
class PickedNumber:
    """A panel number and how the random input gave it (one line per step, for the record)."""

    number: int
    steps: list[str]
    source: dict[str, Any]


def number_from_number(number: int, m: int) -> PickedNumber:
    if not 1 <= number <= m:
        raise BadInputError(
            f"--number must be between 1 and {m} (the panels of this lottery), not {number}"
        )
    return PickedNumber(number, [f"number {number} given"], {"kind": "number", "number": number})


def dice_needed(sides: int, m: int) -> int:
    """``L``: the fewest ``sides``-sided dice whose combinations cover ``m`` numbers."""
    dice, reach = 1, sides
    while reach < m:
        dice += 1
        reach *= sides
    return dice


PLANNED_SIDES = (6, 10, 20)
"""Dice whose plan ``select --panels`` publishes with the lottery."""


def dice_plan(m: int, sides: tuple[int, ...] = PLANNED_SIDES) -> list[dict[str, int]]:
    """For each kind of die: how many to roll per group, how many values a group has, and
    below which value a group is accepted (the rest are rejected and rolled again)."""
    plans = []
    for s in sides:
        dice = dice_needed(s, m)
        plans.append(
            {"sides": s, "dice": dice, "values": s**dice, "accept_below": m * (s**dice // m)}
        )
    return plans


def parse_rolls(text: str) -> list[int]:
    rolls = []
    for position, part in enumerate(text.replace(" ", "").split(","), start=1):
        if not (part.isascii() and part.isdigit()) or len(part) > MAX_ROLL_DIGITS:
            raise BadInputError(
                f"--dice roll {position} is {part!r}, not a whole number",
                hint="give the rolls as numbers separated by commas, e.g. --dice 3,1,4,1",
            )
        rolls.append(int(part))
    return rolls


def number_from_dice(rolls: list[int], sides: int, m: int) -> PickedNumber:
    """The rule for dice in the module notes."""
    if not 2 <= sides <= MAX_DICE_SIDES:
        raise BadInputError(
            f"--dice-sides must be from 2 to {MAX_DICE_SIDES}, not {sides}",
            hint="give the number of faces of the dice used, e.g. 6, 10 or 20",
        )
    for position, roll in enumerate(rolls, start=1):
        if not 1 <= roll <= sides:
            raise BadInputError(
                f"--dice roll {position} is {roll}, but a {sides}-sided die shows 1 to {sides}",
                hint="set --dice-sides to the dice used (a ten-sided die marked 0-9: read 0 as 10)",
            )
    per_group = dice_needed(sides, m)
    span = sides**per_group
    accept_below = m * (span // m)
    steps = [
        f"{per_group} dice of {sides} sides per group: {span} values, values below "
        f"{accept_below} accepted"
    ]
    for start in range(0, len(rolls), per_group):
        group = rolls[start : start + per_group]
        if len(group) < per_group:
            break
        value = 0
        for roll in group:
            value = value * sides + (roll - 1)
        shown = ",".join(map(str, group))
        if value < accept_below:
            number = value % m + 1
            steps.append(f"rolls {shown}: V = {value}, panel {value} mod {m} + 1 = {number}")
            extra = len(rolls) - (start + per_group)
            if extra:
                raise BadInputError(
                    f"the rolls {shown} already give panel {number}; {extra} more roll(s) "
                    "were given after them",
                    hint="give exactly the rolls made, up to the first accepted group",
                )
            source = {"kind": "dice", "sides": sides, "rolls": rolls}
            return PickedNumber(number, steps, source)
        steps.append(f"rolls {shown}: V = {value} >= {accept_below}, rejected")
    missing = per_group - (len(rolls) % per_group)
    raise BadInputError(
        "the dice do not give a panel number yet: "
        + "; ".join(steps[1:] or ["no complete group"])
        + f" ({len(rolls)} roll(s) given, groups of {per_group})",
        hint=f"roll {missing} more dice and add them to --dice, in order",
    )


def number_from_hex(text: str, m: int) -> PickedNumber:
    """The rule for a hex value in the module notes."""
    cleaned = re.sub(r"[\s:]", "", text.strip().lower())
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    if len(cleaned) > MAX_HEX_DIGITS:
        raise BadInputError(
            f"--random-hex has {len(cleaned):,} digits, more than the {MAX_HEX_DIGITS:,} accepted",
            hint="give the beacon's output value (randomness beacons publish 64 or 128 digits)",
        )
    if not cleaned or not _HEX.match(cleaned):
        raise BadInputError(
            f"--random-hex {text[:80]!r} is not a hexadecimal number",
            hint="give the beacon's output value as hex digits 0-9 and a-f",
        )
    bits = 4 * len(cleaned)
    if 2**bits < m:
        raise BadInputError(
            f"--random-hex has {bits} bits, too few to pick one of {m} panels",
            hint="use the beacon's full output value",
        )
    value = int(cleaned, 16)
    accept_below = m * (2**bits // m)
    source = {"kind": "hex", "value": cleaned}
    if value >= accept_below:
        raise BadInputError(
            f"the value {cleaned} is rejected by the rule (it is at least {accept_below}, "
            "where the numbers 1 to M would no longer be equally likely)",
            hint="by the published rule, take the beacon's next value",
        )
    number = value % m + 1
    steps = [f"{bits}-bit value V = {value}: panel V mod {m} + 1 = {number}"]
    return PickedNumber(number, steps, source)


def pick_number(
    m: int,
    *,
    number: int | None = None,
    dice: str | None = None,
    sides: int = DEFAULT_DICE_SIDES,
    random_hex: str | None = None,
) -> PickedNumber:
    """Exactly one public random input, turned into a panel number from 1 to ``m``."""
    given = [
        name
        for name, v in (("--number", number), ("--dice", dice), ("--random-hex", random_hex))
        if v is not None
    ]
    if len(given) != 1:
        raise BadInputError(
            "give exactly one random input: --number, --dice or --random-hex"
            + (f" (got {', '.join(given)})" if given else ""),
        )
    if number is not None:
        return number_from_number(number, m)
    if dice is not None:
        return number_from_dice(parse_rolls(dice), sides, m)
    assert random_hex is not None
    return number_from_hex(random_hex, m)


def repeat_number(source: dict[str, Any], m: int) -> PickedNumber:
    """The number a recorded random input gives (for the audit)."""
    kind = source.get("kind")
    if kind == "number":
        return number_from_number(int(source["number"]), m)
    if kind == "dice":
        return number_from_dice([int(r) for r in source["rolls"]], int(source["sides"]), m)
    if kind == "hex":
        return number_from_hex(str(source["value"]), m)
    raise BadInputError(f"draw.json records an unknown kind of random input: {kind!r}")


# --------------------------------------------------------------------------- the published file


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    return document, digest


# --------------------------------------------------------------------------- the draw


@dataclass
class DrawResult:
    """What ``panelsel draw`` did; the CLI prints it."""

    lottery: Path
    sha256: str
    checked_against: str
    picked: PickedNumber
    m: int
    members: list[str]
    files: dict[str, Path]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lottery": str(self.lottery),
            "sha256": self.sha256,
            "checked_against": self.checked_against,
            "panels": self.m,
            "number": self.picked.number,
            "steps": self.picked.steps,
            "input": self.picked.source,
            "members": self.members,
            "files": {k: str(v) for k, v in self.files.items()},
            "warnings": self.warnings,
            "version": __version__,
        }


def recorded_pool(
    document: dict[str, Any], lottery_path: Path, pool_path: str | Path | None
) -> Pool:
    """The registrants the lottery was made from: ``pool_path`` or the recorded path, read as
    recorded, refused when its sha256 differs from the record."""
    record = document.get("inputs", {}).get("registrants", {})
    path = Path(pool_path) if pool_path is not None else Path(str(record.get("path", "")))
    if not path.is_file():
        raise BadInputError(
            f"the registrants file {path} recorded in the lottery is not here",
            file=str(lottery_path),
            hint="pass the registrants file with --pool FILE",
        )
    pool = load_pool(
        path,
        id_column=document.get("id_column"),
        delimiter=str(record.get("delimiter", ",")),
        encoding=str(record.get("encoding", "utf-8")),
    )
    if pool.sha256 != record.get("sha256"):
        raise VerificationError(
            f"the registrants file {path} has sha256 {pool.sha256}, but the lottery was made "
            f"from a file with sha256 {record.get('sha256')}",
            hint="use the registrants file the lottery was made from (--pool FILE)",
        )
    return pool


def draw_public(
    lottery: str | Path,
    *,
    number: int | None = None,
    dice: str | None = None,
    sides: int = DEFAULT_DICE_SIDES,
    random_hex: str | None = None,
    sha256: str | None = None,
    pool: str | Path | None = None,
    force: bool = False,
) -> DrawResult:
    """Draw the panel of a published uniform lottery from a public random input.

    Checks ``lottery`` against ``sha256`` (or, with a warning, the ``lottery.sha256``
    beside it), picks the panel number by the rules of the module notes, and writes
    ``panel.csv``, ``remaining.csv`` and ``draw.json`` beside ``lottery`` (all or none).

    Raises
    ------
    BadInputError
        A missing file or a malformed input (exit 2); outputs exist and not ``force``.
    VerificationError
        The lottery or the pool is not what was published or recorded (exit 5).
    """
    path = Path(lottery)
    warnings: list[str] = []
    folder = OutputFolder(path.parent, force=force, command="draw", inputs=(path,), adds=DRAW_FILES)
    with folder:
        return _draw_into(
            folder.staging, path, warnings, number, dice, sides, random_hex, sha256, pool
        )


def _draw_into(
    tmp: Path,
    path: Path,
    warnings: list[str],
    number: int | None,
    dice: str | None,
    sides: int,
    random_hex: str | None,
    sha256: str | None,
    pool: str | Path | None,
) -> DrawResult:
    """The work of :func:`draw_public`, writing its files into ``tmp``."""
    expected, checked_against = published_hash(path, sha256)
    if checked_against == HASH_FILE:
        warnings.append(
            f"the public hash was not given (--sha256): {path.name} was checked against the "
            f"{HASH_FILE} beside it, which whoever could change one could change too"
        )
    document, digest = read_uniform_lottery(path, expected)
    m = int(document["rounding"]["panels"])
    picked = pick_number(m, number=number, dice=dice, sides=sides, random_hex=random_hex)
    the_pool = recorded_pool(document, path, pool)
    members = [str(x) for x in document["panels"][picked.number - 1]["members"]]
    index = {pid: i for i, pid in enumerate(the_pool.ids)}
    unknown = [pid for pid in members if pid not in index]
    if unknown:
        raise VerificationError(
            f"panel {picked.number} names registrants not in the pool: {', '.join(unknown[:5])}",
            hint="the lottery and the registrants file do not belong together",
        )
    chosen = {index[pid] for pid in members}
    header_names = [str(c) for c in document.get("contact_columns") or the_pool.columns]
    contact = [the_pool.find_column(name, purpose="panel.csv") for name in header_names]
    safe = bool(document.get("spreadsheet_safe", True))
    for name, wanted in (("panel.csv", True), ("remaining.csv", False)):
        write_csv(
            tmp / name,
            [the_pool.columns[c] for c in contact],
            [
                [row[c] for c in contact]
                for i, row in enumerate(the_pool.rows)
                if (i in chosen) == wanted
            ],
            safe=safe,
        )
    write_json(
        tmp / "draw.json",
        {
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
        },
    )
    files = {name: path.parent / name for name in DRAW_FILES}
    return DrawResult(path, digest, checked_against, picked, m, members, files, warnings)
