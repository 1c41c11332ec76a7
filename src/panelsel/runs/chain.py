"""The chain of runs a replacement round continues: the previous run found again (by the
sha256 its successor recorded), its inputs read as recorded, its final panel, and everyone
the chain left out.  ``replace``, ``draw`` (of a published round) and the audit use it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panelsel.digest import sha256_of
from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.load import ReadOptions, read_pool
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas
from panelsel.inputs.residual import Residual, residual_inputs
from panelsel.outputs.names import DRAW, LOTTERY
from panelsel.outputs.record import read_draw, read_record


@dataclass(frozen=True)
class PreviousRun:
    """The run a round continues: its record, inputs and final panel."""

    path: Path
    sha256: str
    document: dict[str, Any]
    pool: Pool
    spec: QuotaSpec
    read: ReadOptions
    panel: list[str]
    """The final panel of that run, as ids."""


def checked_input(path: Path, recorded: dict[str, Any], role: str, record: Path) -> Path:
    """``path``, refused when it is not there or its sha256 is not the one ``record``
    recorded for the ``role`` (``registrants`` or ``quotas``) file."""
    if not path.is_file():
        raise BadInputError(
            f"the {role} file recorded in {record} is not here",
            file=str(path),
            hint=f"pass it with --{role} FILE",
        )
    if sha256_of(path) != recorded.get("sha256"):
        raise VerificationError(
            f"{path} is not the {role} file the run used: its sha256 differs from the one "
            f"recorded in {record}",
            hint=f"pass the {role} file the selection was made from (--{role} FILE)",
        )
    return path


def locate_previous(link: dict[str, Any], folder: Path | None) -> Path:
    """The ``lottery.json`` of the run a round continues.  The round records its path as
    given on the command line (relative to the folder ``replace`` ran in); audited from
    elsewhere, the same path is tried relative to the round's folder (``folder``) and its
    parent, and the first with the recorded sha256 is the one (a file with another sha256 is
    never taken for it; without one, the recorded path is returned and the caller says what
    is wrong with it)."""
    recorded = Path(str(link.get("previous", "")))
    candidates = [recorded]
    if folder is not None and not recorded.is_absolute():
        candidates += [folder.parent / recorded, folder / recorded]
    for path in candidates:
        if path.is_file() and sha256_of(path) == link.get("previous_sha256"):
            return path
    return next((p for p in candidates if p.is_file()), recorded)


def round_pool(
    document: dict[str, Any],
    registrants: str | Path | None = None,
    folder: Path | None = None,
) -> Residual:
    """The residual problem of a recorded round in ``folder`` (for ``draw`` and the audit):
    the previous run read again, its chain checked, the kept members and the exclusions
    applied."""
    link = document["replacement"]
    excluded = chain_exclusions(document, folder)  # checks every link of the chain (sha256)
    previous_path = locate_previous(link, folder)
    previous = read_previous(previous_path, registrants, None)
    gone = {str(x).casefold() for x in link.get("dropouts", [])}
    kept = [pid for pid in previous.panel if pid.casefold() not in gone]
    return residual_inputs(previous.pool, previous.spec, kept, excluded, len(gone))


def chain_runs(document: dict[str, Any], folder: Path | None = None) -> list[Path]:
    """The ``lottery.json`` of every earlier run of the chain ending at ``document`` (of the
    run in ``folder``; not its own), back to the first selection; a link to a missing run
    ends the list."""
    runs: list[Path] = []
    link = document.get("replacement") or {}
    while link:
        path = locate_previous(link, folder)
        if not path.is_file() or path.resolve() in {p.resolve() for p in runs}:
            break
        runs.append(path)
        folder = path.parent
        link = read_record(path).document.get("replacement") or {}
    return runs


def chain_exclusions(document: dict[str, Any], folder: Path | None = None) -> set[str]:
    """Everyone the chain of rounds ending at ``document`` (the run in ``folder``) left out:
    every round's dropouts and unavailable, back to the first selection.  They stay out for
    the whole chain (a dropout of round 2 is not drawable in round 3).  Each earlier run is
    checked against the sha256 its successor recorded; ids are casefolded."""
    excluded: set[str] = set()
    link = document.get("replacement") or {}
    seen: set[Path] = set()
    while link:
        for key in ("dropouts", "unavailable"):
            excluded |= {str(x).casefold() for x in link.get(key, [])}
        path = locate_previous(link, folder)
        if not path.is_file():
            raise BadInputError(
                "an earlier run of this chain of replacement rounds is not here",
                file=str(path),
                hint="work from the folder the rounds were made in, with the earlier runs in place",
            )
        if sha256_of(path) != link.get("previous_sha256"):
            raise VerificationError(
                f"{path} is not the run the next round continued: its sha256 differs from "
                "the one that round records",
                hint="put back the earlier run's folder as it was",
            )
        if path.resolve() in seen:  # a chain that loops (only an edited record can)
            raise VerificationError(
                f"{path} appears twice in this chain of rounds",
                hint="audit the lottery.json files that panelsel wrote",
            )
        seen.add(path.resolve())
        folder = path.parent
        link = read_record(path).document.get("replacement") or {}
    return excluded


def read_previous(
    run: str | Path, registrants: str | Path | None, quotas: str | Path | None
) -> PreviousRun:
    """The run a round continues, its input files checked against their recorded sha256."""
    folder = Path(run)
    path = folder / LOTTERY if folder.is_dir() else folder
    record = read_record(path)
    document = record.document
    reg_record, quo_record = record.registrants, record.quotas
    reg = checked_input(
        Path(registrants or str(reg_record.get("path", ""))), reg_record, "registrants", path
    )
    quo = checked_input(Path(quotas or str(quo_record.get("path", ""))), quo_record, "quotas", path)
    link = record.link or {}
    panel_size = int(link.get("panel_size", record.panel_size))
    spec = load_quotas(
        quo,
        panel_size=panel_size if quo.suffix.lower() == ".csv" else None,
        id_column=record.id_column,
    )
    read = record.registrants_file.read_options()
    pool = read_pool(reg, spec, read)
    if record.kind == "published":
        drawn = read_draw(path.parent / DRAW)
        if not drawn:
            raise BadInputError(
                "this lottery was published for a public draw that has not been made",
                file=str(path),
                hint="draw first (panelsel draw); replacements are for a drawn panel",
            )
        members = [str(x) for x in drawn.get("members", [])]
    else:
        members = [str(x) for x in document.get("selected_members") or []]
    if link:
        # a round: its final panel, or (published, then drawn) the kept and the drawn
        final = link.get("final_members")
        kept = [str(x) for x in link.get("kept", [])]
        panel = [str(x) for x in final] if final is not None else final_members(pool, kept, members)
    else:
        panel = members
    return PreviousRun(path, sha256_of(path), document, pool, spec, read, panel)


def final_members(pool: Pool, kept: list[str], new: list[str]) -> list[str]:
    """The whole panel after a round: the kept members and the new ones, in file order."""
    chosen = set(kept) | set(new)
    return [pid for pid in pool.ids if pid in chosen]
