"""The rules from a public random input to a panel number of a uniform lottery.

``panelsel select --panels M`` publishes a lottery over panels numbered 1 to ``M``;
``panelsel draw`` (:mod:`panelsel.commands.draw`) turns a public random input into one of
those numbers by these rules, and ``panelsel audit`` repeats them.

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

import re
from dataclasses import dataclass
from typing import Any

from panelsel.defaults import DEFAULT_DICE_SIDES
from panelsel.errors import BadInputError

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
