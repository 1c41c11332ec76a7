"""The public draw: a published uniform lottery, a public random input, one numbered panel.

``panelsel select --panels M`` publishes ``lottery.json`` (the panels numbered 1 to ``M``)
and its sha256.  :func:`draw_public` checks the file against the published hash, turns a
public random input into a panel number by the rules of :mod:`panelsel.lottery.public`,
and writes ``panel.csv``, ``remaining.csv`` and ``draw.json`` beside ``lottery.json``.
Anyone holding the published files can repeat every step (``panelsel audit`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panelsel import __version__
from panelsel.defaults import DEFAULT_DICE_SIDES
from panelsel.errors import BadInputError, VerificationError
from panelsel.lottery.public import PickedNumber, pick_number
from panelsel.outputs.files import OutputFolder, write_json
from panelsel.outputs.files import read_record as read_folder_record
from panelsel.outputs.names import (
    DRAW,
    PUBLIC_DRAW,
    PUBLIC_DRAW_ROUND,
)
from panelsel.outputs.record import (
    HASH_FILE,
    draw_document,
    published_hash,
    read_draw,
    read_uniform_lottery,
    recorded_contact_format,
)
from panelsel.outputs.tables import write_contact_lists, write_final_panel
from panelsel.runs.chain import locate_previous, read_previous, round_pool
from panelsel.runs.recorded import recorded_pool

DRAW_FILES = tuple(dict.fromkeys(PUBLIC_DRAW.names(xlsx=True) + PUBLIC_DRAW_ROUND.names(xlsx=True)))
"""The files a draw may add beside the published lottery (the workbooks only when the
lottery records them)."""


# --------------------------------------------------------------------------- the published file


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
        A missing file or a malformed input (exit 2); the lottery has been drawn already
        (a ``draw.json`` beside it, whatever ``force`` says); ``panel.csv`` or
        ``remaining.csv`` exist and not ``force``.
    VerificationError
        The lottery or the pool is not what was published or recorded (exit 5).
    """
    path = Path(lottery)
    warnings: list[str] = []
    _refuse_a_second_draw(path)
    folder = OutputFolder(path.parent, force=force, command="draw", inputs=(path,), adds=DRAW_FILES)
    with folder:
        return _draw_into(
            folder.staging, path, warnings, number, dice, sides, random_hex, sha256, pool
        )


def _refuse_a_second_draw(lottery: Path) -> None:
    """A public draw happens once: with a ``draw.json`` beside the lottery, another draw
    would replace a result people have seen (even with ``--force``).  Deleting
    ``draw.json`` does not make a lottery undrawn: the folder's ``.panelsel`` record still
    lists it."""
    folder = lottery.parent
    beside = folder / DRAW
    # panelsel's record lists draw.json from the draw on, whatever was deleted since
    listed = DRAW in (read_folder_record(folder) or {}).get("files", [])
    if not (beside.exists() or listed):
        return
    try:
        earlier = read_draw(beside) or {}
    except ValueError:
        earlier = {}
    number = earlier.get("number")
    said = f" (panel {number})" if isinstance(number, int) else ""
    if not beside.exists():
        said = " (its draw.json is gone, but panelsel's record of the folder lists it)"
    raise BadInputError(
        f"this lottery has been drawn already{said}: a public draw happens once, and "
        "panelsel never replaces its result, even with --force",
        file=str(beside),
        hint="to draw again, publish a new lottery (panelsel select --panels M into a new "
        "folder) and announce why; the audit checks the draw that was made",
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
    link = document.get("replacement")
    if isinstance(link, dict):
        # a replacement round's lottery: drawn from the people still available
        residual = round_pool(document, pool, path.parent)
        the_pool = residual.pool
    else:
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
    fmt, xlsx = recorded_contact_format(document)
    write_contact_lists(tmp, the_pool, contact, chosen, safe=safe, fmt=fmt, xlsx=xlsx)
    if isinstance(link, dict):
        previous = read_previous(locate_previous(link, path.parent), pool, None)
        write_final_panel(
            tmp,
            previous.pool,
            residual.kept,
            members,
            columns=tuple(header_names),
            fmt=fmt,
            safe=safe,
        )
    write_json(tmp / DRAW, draw_document(digest, checked_against, m, picked, members))
    run = PUBLIC_DRAW_ROUND if isinstance(link, dict) else PUBLIC_DRAW
    missing = run.missing(tmp, xlsx)
    assert not missing, f"the {run.kind} did not write {missing}"  # the registry is the truth
    files = {name: path.parent / name for name in run.names(xlsx)}
    return DrawResult(path, digest, checked_against, picked, m, members, files, warnings)
