"""The pipeline behind ``panelsel replace``: fill the seats of dropouts, fairly and within the
quotas, from the people still available, linked to the run it continues.

>>> from panelsel.commands.replace import replace
>>> result = replace("results", dropouts=["S1004", "S1016"], out="round-2",
...                  seed=7)                                          # doctest: +SKIP

The previous run's folder says everything: its ``lottery.json`` records the input files
(checked against their sha256), how they were read, and the drawn panel (or, for a public
draw, its ``draw.json``; for an earlier replacement round, its final panel).  The round is
then an ordinary selection on the residual problem (:mod:`panelsel.inputs.residual`), and
its ``lottery.json`` carries a ``replacement`` section that links it to the previous run.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panelsel.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_GAMMA,
    DEFAULT_OUT,
    DEFAULT_ROUNDING,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.digest import sha256_of
from panelsel.errors import BadInputError, InfeasibleQuotasError, VerificationError
from panelsel.inputs.load import ReadOptions, read_pool, recorded_header_row, recorded_sheet
from panelsel.inputs.model import Model, build_model, cheap_infeasibility
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas, with_bounds
from panelsel.inputs.residual import Residual, residual_inputs
from panelsel.lottery.compute import Publish, compute_or_explain
from panelsel.lottery.rounding import check_panels
from panelsel.outputs.files import CsvFormat, OutputFolder, write_csv, write_xlsx
from panelsel.outputs.names import PUBLISHED, REPLACEMENT
from panelsel.outputs.record import read_draw, read_record, recorded_contact_format
from panelsel.outputs.report import WholePanel
from panelsel.outputs.tables import (
    OutputOptions,
    RunFiles,
    contact_columns,
    contact_format,
    write_drawn,
    write_published,
)
from panelsel.progress import ProgressFn, no_progress
from panelsel.signals import checkpoint
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import (
    QuotaChange,
    QuotaILP,
    infeasibility_details,
    minimal_relaxation,
)
from panelsel.solve.protocol import Request

ROLE_COLUMN = "panelsel_role"
"""The column of the final ``panel.csv`` that says who was kept and who is new."""


@dataclass
class Replacement:
    """What a replacement round did; the CLI prints it."""

    out: Path
    files: dict[str, Path]
    seed: int
    seed_was_given: bool
    algorithm: str
    previous: Path
    previous_sha256: str
    kept: list[str]
    dropouts: list[str]
    unavailable: list[str]
    housemates: list[str]
    replacements: list[str]
    final: list[str]
    pool_size: int
    minimum: float
    held: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lottery_sha256: str | None = None
    """For ``panels``: the sha256 of the published lottery of the round (nothing drawn)."""
    household_room: list[dict[str, Any]] = field(default_factory=list)
    """Households with kept members and seats left: ``{"kept": ids, "room": seats}``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": {k: str(v) for k, v in self.files.items()},
            "seed": self.seed,
            "algorithm": self.algorithm,
            "previous": str(self.previous),
            "previous_sha256": self.previous_sha256,
            "kept": self.kept,
            "dropouts": self.dropouts,
            "unavailable": self.unavailable,
            "housemates_left_out": self.housemates,
            "household_room": self.household_room,
            "replacements": self.replacements,
            "final_panel": self.final,
            "pool_size": self.pool_size,
            "minimum_probability": self.minimum,
            "residual_quotas": self.held,
            "notes": self.notes,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "lottery_sha256": self.lottery_sha256,
        }


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


def _ids(text: str | None, what: str) -> list[str]:
    if not text:
        return []
    ids = [x.strip() for x in text.replace("\n", ",").split(",") if x.strip()]
    seen: set[str] = set()
    for pid in ids:
        if pid.casefold() in seen:
            raise BadInputError(f"the id {pid!r} is given twice in {what}", hint="give it once")
        seen.add(pid.casefold())
    return ids


def read_ids(values: str | None, file: str | Path | None, what: str) -> list[str]:
    """Ids from a comma-separated option and/or a file of one id per line (or a CSV whose
    first column holds them, header ``id`` skipped)."""
    text = values or ""
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise BadInputError(f"the {what} file does not exist", file=str(path))
        text_of_file = path.read_text(encoding="utf-8-sig")
        # one id per line, or a CSV (a copy of panel.csv, in whatever delimiter it was
        # written) whose first column holds them; a header row is left out where the pool
        # is known (its id column's name, see _validate)
        first = text_of_file.splitlines()[0] if text_of_file.strip() else ""
        delimiter = max(",;\t|", key=first.count) if first else ","
        lines = [
            row[0].strip()
            for row in csv.reader(io.StringIO(text_of_file), delimiter=delimiter)
            if row and row[0].strip()
        ]
        if lines and lines[0].casefold() in {"id", "ids"}:
            lines = lines[1:]
        text += "," + ",".join(lines)
    return _ids(text, what)


def _checked(path: Path, recorded: dict[str, Any], role: str, record: Path) -> Path:
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
    path = folder / "lottery.json" if folder.is_dir() else folder
    record = read_record(path)
    document = record.document
    inputs = document.get("inputs", {})
    reg_record = inputs.get("registrants") or {}
    quo_record = inputs.get("quotas") or {}
    reg = _checked(
        Path(registrants or str(reg_record.get("path", ""))), reg_record, "registrants", path
    )
    quo = _checked(Path(quotas or str(quo_record.get("path", ""))), quo_record, "quotas", path)
    link = document.get("replacement") or {}
    panel_size = int(link.get("panel_size", document["panel_size"]))
    spec = load_quotas(
        quo,
        panel_size=panel_size if quo.suffix.lower() == ".csv" else None,
        id_column=document.get("id_column"),
    )
    read = ReadOptions(
        delimiter=str(reg_record.get("delimiter", ",")),
        encoding=str(reg_record.get("encoding", "utf-8-sig")),
        drop_duplicates=reg_record.get("drop_duplicates"),
        keep=str(reg_record.get("keep", "last")),
        sheet=recorded_sheet(reg_record),
        header_row=recorded_header_row(reg_record),
    )
    pool = read_pool(reg, spec, read)
    if record.kind == "published":
        drawn = read_draw(path.parent / "draw.json")
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


def replace(
    run: str | Path,
    *,
    dropouts: list[str],
    unavailable: list[str] | None = None,
    registrants: str | Path | None = None,
    quotas: str | Path | None = None,
    out: str | Path = DEFAULT_OUT,
    seed: int | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    samples: int = DEFAULT_SAMPLES,
    force: bool = False,
    panels: int | None = None,
    rounding: str = DEFAULT_ROUNDING,
    gamma: float | None = None,
    loosen: bool = False,
    progress: ProgressFn | None = None,
) -> Replacement:
    """Fill the seats of ``dropouts`` from the people still available.

    Parameters
    ----------
    run
        The folder (or ``lottery.json``) of the run whose panel lost members: a selection,
        a public draw that has been made, or an earlier replacement round.
    dropouts
        Ids of panel members who dropped out; one seat each to fill.
    unavailable
        Ids of registrants who must not be selected now (declined, unreachable).
    registrants, quotas
        The input files, when they are no longer at the recorded paths (checked against
        the recorded sha256).
    out, seed, algorithm, solver, time_limit, samples, force, panels, rounding, gamma
        As for :func:`panelsel.commands.select.select`; with ``panels`` the round is
        published as numbered panels for a public draw (``panelsel draw`` then writes the
        final panel).
    loosen
        When no panel can fill the seats within the round's quotas, take the smallest
        loosening of them that can (:func:`loosened_spec`), recorded in the round
        (``replacement.loosened``) and shown by the audit and the report.  Without it such a
        round is refused (exit 3), and the message shows that loosening.

    Raises
    ------
    BadInputError
        An unknown id, a dropout not on the panel, an id given twice, every member
        dropping out, an unavailable panel member (exit 2).
    InfeasibleQuotasError
        The seats cannot be filled within the quotas (exit 3), with what the kept members
        already hold.
    VerificationError
        An input file is not the one the run recorded (exit 5).
    """
    started = time.monotonic()
    progress = progress or no_progress
    from panelsel.commands.select import check_options

    check_options([algorithm], samples, seed, time_limit, gamma)
    check_panels(panels)
    previous = read_previous(run, registrants, quotas)
    unavailable = list(unavailable or [])
    dropouts, unavailable, kept = _validate(previous, dropouts, unavailable)
    # this round's dropouts and unavailable, and everyone earlier rounds left out
    excluded = (
        set(dropouts) | set(unavailable) | chain_exclusions(previous.document, previous.path.parent)
    )
    residual = residual_inputs(previous.pool, previous.spec, kept, excluded, len(dropouts))
    out = Path(out)
    # the inputs and every run of the chain: a round is never written over one of them
    inputs = (
        Path(str(previous.document["inputs"]["registrants"]["path"])),
        previous.path,
        *chain_runs(previous.document, previous.path.parent),
    )
    with OutputFolder(out, force=force, command="replace", inputs=inputs) as folder:
        result = _round(folder.staging, previous, residual, dropouts, unavailable,
                        algorithm, solver, time_limit, samples, seed, progress,
                        None if panels is None else Publish(panels, rounding),
                        DEFAULT_GAMMA if gamma is None else gamma, loosen)  # fmt: skip
    checkpoint("committed")
    result.out = out
    result.files = {name: out / name for name in result.files}
    result.seconds = time.monotonic() - started
    return result


def _validate(
    previous: PreviousRun, dropouts: list[str], unavailable: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """Check the ids; return the dropouts and unavailable as the pool spells them (ids are
    compared regardless of case) and the kept members."""
    """The kept members; refuses ids that are unknown, off the panel, repeated or both."""
    known = {pid.casefold(): pid for pid in previous.pool.ids}
    on_panel = {pid.casefold() for pid in previous.panel}
    # a file copied from panel.csv starts with its header: the id column's name
    header = (previous.pool.id_column or "").casefold()
    dropouts = [p for p in dropouts if not (p.casefold() == header and header not in known)]
    unavailable = [p for p in unavailable if not (p.casefold() == header and header not in known)]
    if not dropouts:
        raise BadInputError(
            "no dropouts given", hint="pass --dropouts ID,ID,... (the members who left)"
        )
    _ids(",".join(dropouts), "--dropouts")
    _ids(",".join(unavailable), "--unavailable")
    for pid in dropouts:
        if pid.casefold() not in known:
            raise BadInputError(
                f"the dropout {pid!r} is not a registrant of this pool",
                hint="give the ids as panel.csv shows them",
            )
        if pid.casefold() not in on_panel:
            raise BadInputError(
                f"the dropout {pid!r} is not on the panel: only panel members can drop out",
                hint=f"the panel is {', '.join(previous.panel)}; a registrant who is not on "
                "it and cannot serve goes in --unavailable",
            )
    for pid in unavailable:
        if pid.casefold() not in known:
            raise BadInputError(f"the unavailable registrant {pid!r} is not in this pool")
        if pid.casefold() in on_panel:
            raise BadInputError(
                f"{pid!r} is on the panel, so cannot be unavailable for this round",
                hint="a panel member who leaves is a dropout: pass them in --dropouts",
            )
    both = {p.casefold() for p in dropouts} & {p.casefold() for p in unavailable}
    if both:
        raise BadInputError(f"{sorted(both)[0]!r} is given as a dropout and as unavailable")
    gone = {p.casefold() for p in dropouts}
    if gone >= on_panel:
        raise BadInputError(
            "every panel member dropped out: there is nothing to keep",
            hint="select a new panel with panelsel select (leaving out the unavailable)",
        )
    kept = [pid for pid in previous.panel if pid.casefold() not in gone]
    return [known[p.casefold()] for p in dropouts], [known[p.casefold()] for p in unavailable], kept


def final_members(pool: Pool, kept: list[str], new: list[str]) -> list[str]:
    """The whole panel after a round: the kept members and the new ones, in file order."""
    chosen = set(kept) | set(new)
    return [pid for pid in pool.ids if pid in chosen]


def write_final_panel(
    tmp: Path,
    pool: Pool,
    kept: list[str],
    new: list[str],
    *,
    columns: tuple[str, ...] | None,
    fmt: CsvFormat,
    safe: bool,
) -> None:
    """Turn a round's ``panel.csv`` (its own draw) into ``replacements.csv``, and write
    ``panel.csv`` as the whole panel, kept members and new, with :data:`ROLE_COLUMN`
    (``kept`` or ``replacement``), in the contact lists' format (also for ``draw``); the
    same for ``panel.xlsx`` -> ``replacements.xlsx`` where the round wrote workbooks."""
    (tmp / "panel.csv").rename(tmp / "replacements.csv")
    workbook = (tmp / "panel.xlsx").is_file()
    if workbook:  # the contact lists came as workbooks too: the same for the whole panel
        (tmp / "panel.xlsx").rename(tmp / "replacements.xlsx")
    role = {pid: "kept" for pid in kept} | {pid: "replacement" for pid in new}
    contact = contact_columns(pool, columns)
    rows = [
        [*(row[c] for c in contact), role[pid]]
        for pid, row in zip(pool.ids, pool.rows, strict=True)
        if pid in role
    ]
    header = [*(pool.columns[c] for c in contact), ROLE_COLUMN]
    write_csv(tmp / "panel.csv", header, rows, fmt=fmt, safe=safe)
    if workbook:
        write_xlsx(tmp / "panel.xlsx", header, rows)


def _held_text(residual: Residual) -> str:
    """What the kept members already hold, for an infeasibility message."""
    full = [h for h in residual.held if h.held and h.held >= h.max]
    needed = [h for h in residual.held if h.residual_min > 0]
    parts = [f"{h.category} = {h.value}: {h.held} of at most {h.max}" for h in full]
    parts += [f"{h.category} = {h.value} still needs {h.residual_min}" for h in needed]
    return f"the {len(residual.kept)} kept members already hold " + (
        "; ".join(parts) if parts else "no bound in full"
    )


def smallest_loosening(model: Model, config: SolverConfig) -> list[QuotaChange] | None:
    """The smallest change of the round's quota bounds that admits a panel (every seat of
    bound moved counts one), or None when no change of quotas helps."""
    relaxation = minimal_relaxation(model, config, {})
    return None if relaxation is None else relaxation[0]


def loosened_spec(spec: QuotaSpec, changes: list[QuotaChange]) -> QuotaSpec:
    """``spec`` with the bounds ``changes`` name moved to their new values."""
    return with_bounds(spec, {(c.category, c.value): (c.new_min, c.new_max) for c in changes})


def loosening_note(changes: list[QuotaChange], residual: Residual) -> str:
    """The note of a round that loosened its quotas (``--loosen``), with what the whole
    panel then holds against the quota file."""
    held = {(h.category, h.value): h for h in residual.held}
    parts = []
    for c in changes:
        h = held[(c.category, c.value)]
        if c.new_min < c.old_min:
            parts.append(
                f"{c.category} = {c.value}: the seats left need {c.new_min} instead of "
                f"{c.old_min}, so the panel may hold {h.held + c.new_min} where the quota "
                f"file asks at least {h.min}"
            )
        if c.new_max > c.old_max:
            parts.append(
                f"{c.category} = {c.value}: the seats left may take {c.new_max} instead of "
                f"{c.old_max}, so the panel may hold {h.held + c.new_max} where the quota "
                f"file allows at most {h.max}"
            )
    return (
        "this round loosened the quotas (--loosen), by the smallest change that fills the "
        "seats: " + "; ".join(parts)
    )


def _unfillable(
    residual: Residual,
    dropouts: list[str],
    model: Model,
    config: SolverConfig,
    changes: list[QuotaChange] | None,
) -> InfeasibleQuotasError:
    """The exit-3 message of a round whose seats cannot be filled: the seats, what the
    kept members hold, the quotas that block, and the loosening ``--loosen`` would take."""
    _, conflict = infeasibility_details(model, config, {})
    cheap = cheap_infeasibility(model, residual.spec)
    blocking = (
        f"; among the {model.n} registrant(s) still available "
        + (f"{'; '.join(cheap)}" if cheap else "no panel meets all the quotas")
        + (f"; blocking: {conflict.explanation}" if conflict is not None else "")
    )
    if changes is None:
        return InfeasibleQuotasError(
            f"the {len(dropouts)} seat(s) cannot be filled: {_held_text(residual)}{blocking}; "
            "no loosening of the quotas helps (too few registrants left, or the household "
            "rule)",
            hint="recruit more registrants, or make fewer of them unavailable",
        )
    change = "; ".join(c.diff() for c in changes)
    return InfeasibleQuotasError(
        f"the {len(dropouts)} seat(s) cannot be filled within the quotas: "
        f"{_held_text(residual)}{blocking}; the smallest loosening that fills them: {change}",
        hint="pass --loosen to take that loosening (recorded in the round, and shown by the "
        "audit and the report), or recruit registrants who fit what the seats left must "
        "hold, or make fewer registrants unavailable",
    )


def _round(
    tmp: Path,
    previous: PreviousRun,
    residual: Residual,
    dropouts: list[str],
    unavailable: list[str],
    algorithm: str,
    solver: str,
    time_limit: float | None,
    samples: int,
    seed: int | None,
    progress: ProgressFn,
    publish: Publish | None = None,
    gamma: float = DEFAULT_GAMMA,
    loosen: bool = False,
) -> Replacement:
    """Compute and write the round into ``tmp`` (with ``publish``: a uniform lottery of the
    round for a public draw, nothing drawn; with ``loosen``, the smallest loosening of the
    round's quotas when they cannot be met)."""
    pool, spec = residual.pool, residual.spec
    if len(pool.ids) < len(dropouts):
        raise InfeasibleQuotasError(
            f"the {len(dropouts)} seat(s) cannot be filled within the quotas, because "
            f"{_held_text(residual)}, and only {len(pool.ids)} registrant(s) are still "
            "available (not on the panel, not unavailable, not sharing a kept member's "
            "household)",
            hint="recruit more registrants, or make fewer of them unavailable",
        )
    model = build_model(pool, spec, values_must_exist=False)
    config = SolverConfig(name=solver, time_limit=time_limit)
    seed_given = seed is not None
    from panelsel.commands.select import SEED_BITS

    seed = seed if seed is not None else secrets.randbits(SEED_BITS)
    request = Request(seed, samples, gamma=gamma)
    loosened: list[QuotaChange] = []
    if cheap_infeasibility(model, spec) or not QuotaILP(model, config).feasible():
        changes = smallest_loosening(model, config)
        if not loosen or changes is None:
            raise _unfillable(residual, dropouts, model, config, changes)
        loosened = changes
        spec = loosened_spec(spec, changes)
        model = build_model(pool, spec, values_must_exist=False)
    try:
        result = compute_or_explain(
            model, spec, algorithm, config, request, progress=progress, ids=pool.ids,
            publish=publish,
        )  # fmt: skip
    except InfeasibleQuotasError as error:
        raise InfeasibleQuotasError(
            f"the {len(dropouts)} seat(s) cannot be filled within the quotas: "
            f"{_held_text(residual)}, and among the {len(pool.ids)} registrant(s) still "
            f"available {error.message}",
            hint="recruit registrants who fit what the seats left must hold (above), or make "
            "fewer registrants unavailable",
        ) from None
    # who cannot fill these seats is expected in a round (the seats left are for few
    # kinds of people): said, as notes of the round
    warnings: list[str] = []
    earlier = chain_exclusions(previous.document, previous.path.parent)
    notes = [
        f"a replacement round for {len(dropouts)} dropout(s) of {previous.path} "
        f"(sha256 {previous.sha256}); {len(residual.kept)} member(s) kept",
        f"dropped out: {', '.join(dropouts)}",
        # who ran the round chose who could not be drawn: shown, never hidden
        (
            f"{len(unavailable)} registrant(s) were given as unavailable (--unavailable) and "
            f"could not be drawn: {', '.join(unavailable)}"
            if unavailable
            else "nobody was given as unavailable (--unavailable)"
        ),
        *(
            [
                f"{len(earlier)} registrant(s) left out by earlier rounds of this chain "
                "(their dropouts and unavailable) could not be drawn either"
            ]
            if earlier
            else []
        ),
        *(f"in this round, {e.text()}" for e in result.excluded),
        *(
            [
                f"{len(residual.housemates)} registrant(s) left out: kept members fill their "
                f"household ({', '.join(residual.housemates)})"
            ]
            if residual.housemates
            else []
        ),
        *(
            [
                "kept members share a household with other registrants, who may still be "
                "selected up to the household's seats left: "
                + ", ".join(
                    f"{'+'.join(ids)} ({room} left)" for ids, room in residual.household_room
                )
            ]
            if residual.household_room
            else []
        ),
    ]
    loosened_text = loosening_note(loosened, residual) if loosened else ""
    if loosened_text:
        notes.insert(1, loosened_text)
    household_room = [{"kept": ids, "room": room} for ids, room in residual.household_room]
    # a round writes its contact lists as the run it continues did: the same columns,
    # delimiter and encoding, spreadsheet-safe or raw, workbooks too if so
    parent = previous.document
    parent_files = parent.get("contact_files")
    recorded_columns = parent.get("contact_columns")
    options = OutputOptions(
        raw_csv=parent.get("spreadsheet_safe") is False,
        columns=tuple(str(c) for c in recorded_columns)
        if isinstance(recorded_columns, list) and recorded_columns
        else None,
        contact=recorded_contact_format(parent)[0] if isinstance(parent_files, dict) else None,
        xlsx=bool((parent_files or {}).get("xlsx", previous.pool.spreadsheet)),
    )
    new = [] if result.drawn is None else [pool.ids[i] for i in sorted(result.drawn.tolist())]
    final = final_members(previous.pool, residual.kept, new) if publish is None else None
    residual_quotas = [
        {**h.__dict__, "residual_min": h.residual_min, "residual_max": h.residual_max}
        for h in residual.held
    ]
    link: dict[str, Any] = {
        "previous": str(previous.path),
        "previous_sha256": previous.sha256,
        "panel_size": int(previous.spec.panel_size),
        "kept": residual.kept,
        "dropouts": dropouts,
        "unavailable": unavailable,
        "housemates_left_out": residual.housemates,
        "household_room": household_room,
        "residual_quotas": residual_quotas,
        "final_members": final,
        **({"loosened": [c.__dict__ for c in loosened]} if loosened else {}),
    }
    whole = None
    if final is not None:
        index = {pid: i for i, pid in enumerate(previous.pool.ids)}
        whole = WholePanel(
            build_model(previous.pool, previous.spec, compress_types=False),
            [index[pid] for pid in final],
            len(residual.kept),
            loosened_text[:1].upper() + loosened_text[1:],
        )
    run = RunFiles(
        pool, spec, model, result, seed, config.name, notes, previous.read, options, link, whole
    )
    digest = None
    if publish is None:
        write_drawn(tmp, run)
        write_final_panel(
            tmp,
            previous.pool,
            residual.kept,
            new,
            columns=options.columns,
            fmt=contact_format(previous.pool, previous.read, options)[0],
            safe=not options.raw_csv,
        )
        files = REPLACEMENT.names(xlsx=bool(options.xlsx))
        missing = REPLACEMENT.missing(tmp, bool(options.xlsx))
    else:
        _, digest = write_published(tmp, run)
        files = PUBLISHED.files
        missing = PUBLISHED.missing(tmp, False)
    assert not missing, f"the round did not write {missing}"  # the registry is the truth
    return Replacement(
        out=tmp,
        files={name: tmp / name for name in files},
        seed=seed,
        seed_was_given=seed_given,
        algorithm=algorithm,
        previous=previous.path,
        previous_sha256=previous.sha256,
        kept=residual.kept,
        dropouts=dropouts,
        unavailable=unavailable,
        housemates=residual.housemates,
        replacements=new,
        final=final or [],
        pool_size=len(pool.ids),
        minimum=float(result.probabilities.min()),
        held=residual_quotas,
        notes=notes,
        warnings=warnings,
        lottery_sha256=digest,
        household_room=household_room,
    )
