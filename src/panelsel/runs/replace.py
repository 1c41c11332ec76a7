"""A replacement round in memory: fill the seats of dropouts, fairly and within the quotas,
from the people still available, linked to the run it continues; returns the round's
:class:`~panelsel.outputs.selection.Selection` without touching the disk.

The previous run's folder says everything: its ``lottery.json`` records the input files
(checked against their sha256), how they were read, and the drawn panel (or, for a public
draw, its ``draw.json``; for an earlier replacement round, its final panel).  The round is
then an ordinary selection on the residual problem (:mod:`panelsel.inputs.residual`), and
its ``lottery.json`` carries a ``replacement`` section that links it to the previous run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panelsel.errors import BadInputError, InfeasibleQuotasError
from panelsel.inputs.model import Model, build_model, cheap_infeasibility
from panelsel.inputs.residual import Residual, residual_inputs
from panelsel.lottery.compute import compute_or_explain
from panelsel.outputs.record import recorded_contact_format
from panelsel.outputs.report import WholePanel
from panelsel.outputs.selection import OutputOptions, Selection
from panelsel.progress import ProgressFn, no_progress
from panelsel.runs.chain import (
    PreviousRun,
    chain_exclusions,
    final_members,
    read_previous,
)
from panelsel.runs.loosen import loosened_spec, loosening_note, smallest_loosening
from panelsel.runs.options import SolveOptions, seed_of
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import Exclusion, QuotaChange, QuotaILP, infeasibility_details
from panelsel.solve.protocol import Request


@dataclass(frozen=True)
class Round:
    """A round before it is computed: the run it continues, who dropped out and who is
    unavailable (as the pool spells them), and the residual problem."""

    previous: PreviousRun
    dropouts: list[str]
    unavailable: list[str]
    residual: Residual


def prepare_round(
    run: str | Path,
    *,
    dropouts: list[str],
    unavailable: list[str] | None = None,
    registrants: str | Path | None = None,
    quotas: str | Path | None = None,
) -> Round:
    """Read the run a round continues and check the ids (exit 2 for a wrong one; exit 5
    for an input file that is not the one recorded)."""
    previous = read_previous(run, registrants, quotas)
    gone, unavailable, kept = validate_ids(previous, dropouts, list(unavailable or []))
    # this round's dropouts and unavailable, and everyone earlier rounds left out
    excluded = (
        set(gone) | set(unavailable) | chain_exclusions(previous.document, previous.path.parent)
    )
    residual = residual_inputs(previous.pool, previous.spec, kept, excluded, len(gone))
    return Round(previous, gone, unavailable, residual)


def replace(
    run: str | Path,
    *,
    dropouts: list[str],
    unavailable: list[str] | None = None,
    registrants: str | Path | None = None,
    quotas: str | Path | None = None,
    solve: SolveOptions | None = None,
    loosen: bool = False,
    progress: ProgressFn | None = None,
) -> Selection:
    """Fill the seats of ``dropouts`` from the people still available, in memory.

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
    solve
        As for :func:`panelsel.runs.select.select`; with ``panels`` the round is
        published as numbered panels for a public draw.
    loosen
        When no panel can fill the seats within the round's quotas, take the smallest
        loosening of them that can, recorded in the round (``replacement.loosened``).
        Without it such a round is refused (exit 3), and the message shows that loosening.

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
    solve = solve or SolveOptions()
    solve.check()
    prepared = prepare_round(
        run, dropouts=dropouts, unavailable=unavailable, registrants=registrants, quotas=quotas
    )
    return fill_round(prepared, solve, loosen=loosen, progress=progress)


def fill_round(
    prepared: Round,
    solve: SolveOptions,
    *,
    loosen: bool = False,
    progress: ProgressFn | None = None,
) -> Selection:
    """Compute a prepared round: its lottery and draw (or, with ``solve.panels``, its
    numbered panels for a public draw), the notes and the link to the run it continues."""
    progress = progress or no_progress
    previous, residual = prepared.previous, prepared.residual
    dropouts = prepared.dropouts
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
    config = SolverConfig(name=solve.solver, time_limit=solve.time_limit)
    seed = seed_of(solve.seed)
    request = Request(seed, solve.samples, gamma=solve.request(seed).gamma)
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
            model, spec, solve.algorithm, config, request, progress=progress, ids=pool.ids,
            publish=solve.publish,
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
    notes = round_notes(prepared, result.excluded)
    loosened_text = loosening_note(loosened, residual) if loosened else ""
    if loosened_text:
        notes.insert(1, loosened_text)
    options = round_output_options(previous)
    new = [] if result.drawn is None else [pool.ids[i] for i in sorted(result.drawn.tolist())]
    final = final_members(previous.pool, residual.kept, new) if solve.panels is None else None
    link = round_link(prepared, final, loosened)
    whole = None
    if final is not None:
        index = {pid: i for i, pid in enumerate(previous.pool.ids)}
        whole = WholePanel(
            build_model(previous.pool, previous.spec, compress_types=False),
            [index[pid] for pid in final],
            len(residual.kept),
            loosened_text[:1].upper() + loosened_text[1:],
        )
    return Selection(
        pool,
        spec,
        model,
        result,
        seed,
        config.name,
        notes,
        previous.read,
        options,
        link,
        whole,
        previous_pool=previous.pool,
        seed_given=solve.seed is not None,
        warnings=warnings,
    )


def validate_ids(
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
    unique_ids(",".join(dropouts), "--dropouts")
    unique_ids(",".join(unavailable), "--unavailable")
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


def _held_text(residual: Residual) -> str:
    """What the kept members already hold, for an infeasibility message."""
    full = [h for h in residual.held if h.held and h.held >= h.max]
    needed = [h for h in residual.held if h.residual_min > 0]
    parts = [f"{h.category} = {h.value}: {h.held} of at most {h.max}" for h in full]
    parts += [f"{h.category} = {h.value} still needs {h.residual_min}" for h in needed]
    return f"the {len(residual.kept)} kept members already hold " + (
        "; ".join(parts) if parts else "no bound in full"
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


def unique_ids(text: str | None, what: str) -> list[str]:
    if not text:
        return []
    ids = [x.strip() for x in text.replace("\n", ",").split(",") if x.strip()]
    seen: set[str] = set()
    for pid in ids:
        if pid.casefold() in seen:
            raise BadInputError(f"the id {pid!r} is given twice in {what}", hint="give it once")
        seen.add(pid.casefold())
    return ids


def round_notes(prepared: Round, excluded: list[Exclusion]) -> list[str]:
    """A round's notes: what it replaces, who dropped out, who could not be drawn and why
    (given as unavailable, left out by earlier rounds, with no chance in this round, filling
    a kept member's household)."""
    previous, residual = prepared.previous, prepared.residual
    dropouts, unavailable = prepared.dropouts, prepared.unavailable
    earlier = chain_exclusions(previous.document, previous.path.parent)
    return [
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
        *(f"in this round, {e.text()}" for e in excluded),
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


def round_output_options(previous: PreviousRun) -> OutputOptions:
    """A round writes its contact lists as the run it continues did: the same columns,
    delimiter and encoding, spreadsheet-safe or raw, workbooks too if so."""
    parent = previous.document
    parent_files = parent.get("contact_files")
    recorded_columns = parent.get("contact_columns")
    return OutputOptions(
        raw_csv=parent.get("spreadsheet_safe") is False,
        columns=tuple(str(c) for c in recorded_columns)
        if isinstance(recorded_columns, list) and recorded_columns
        else None,
        contact=recorded_contact_format(parent)[0] if isinstance(parent_files, dict) else None,
        xlsx=bool((parent_files or {}).get("xlsx", previous.pool.spreadsheet)),
    )


def round_link(
    prepared: Round, final: list[str] | None, loosened: list[QuotaChange]
) -> dict[str, Any]:
    """The ``replacement`` section of a round's lottery.json: the run it continues (path
    and sha256), who was kept, dropped out, unavailable or left out, the residual quotas,
    the final panel (None until a published round is drawn) and any loosening."""
    previous, residual = prepared.previous, prepared.residual
    household_room = [{"kept": ids, "room": room} for ids, room in residual.household_room]
    residual_quotas = [
        {**h.__dict__, "residual_min": h.residual_min, "residual_max": h.residual_max}
        for h in residual.held
    ]
    return {
        "previous": str(previous.path),
        "previous_sha256": previous.sha256,
        "panel_size": int(previous.spec.panel_size),
        "kept": residual.kept,
        "dropouts": prepared.dropouts,
        "unavailable": prepared.unavailable,
        "housemates_left_out": residual.housemates,
        "household_room": household_room,
        "residual_quotas": residual_quotas,
        "final_members": final,
        **({"loosened": [c.__dict__ for c in loosened]} if loosened else {}),
    }
