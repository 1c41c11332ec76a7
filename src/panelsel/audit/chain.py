"""The checks of a replacement round: the link to the run it continues, the kept members,
the residual quotas, a recorded loosening and the whole panel."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from panelsel.audit.certificates import (
    Check,
)
from panelsel.audit.files import read_csv
from panelsel.defaults import (
    DEFAULT_SOLVER,
)
from panelsel.digest import sha256_of
from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.model import build_model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec
from panelsel.inputs.residual import Residual
from panelsel.outputs.names import DRAW, PANEL
from panelsel.outputs.record import (
    read_draw,
    recorded_contact_format,
)
from panelsel.outputs.tables import ROLE_COLUMN
from panelsel.runs.chain import chain_exclusions, read_previous
from panelsel.runs.loosen import loosened_spec, smallest_loosening
from panelsel.solve.backends import SolverConfig


def replacement_round(
    document: dict[str, Any],
    link: dict[str, Any],
    registrants: Path,
    quotas: Path,
    out: Path,
    previous_path: Path,
) -> tuple[Check, Pool, QuotaSpec]:
    """The ``replacement`` check of a replacement round, and the round's residual pool and
    quotas, derived again from the previous run (the rest of the audit runs on them).

    It checks the chain (the previous ``lottery.json`` has the recorded sha256), that the
    kept members are the previous panel minus the dropouts, that the recorded residual
    quotas are what the kept members leave, that nobody kept, dropped out or unavailable is
    drawn again, and that the final panel (kept and drawn) meets the original quotas and
    household rule, counted by the audit's model of the original pool, and is what
    ``panel.csv`` holds.

    Longer than most (about 130 lines): it is one ordered list of claims, each read against
    what the claims before it derived (the previous panel, then the kept members, then the
    residual problem, then the final panel), and splitting it would pass that state
    around."""
    from panelsel.inputs.residual import residual_inputs

    problems: list[str] = []
    if not previous_path.is_file():
        raise BadInputError(
            "the previous run's lottery.json that this replacement round records is not here",
            file=str(previous_path),
            hint="audit from the folder the rounds were made in, with the previous run's "
            "folder in place",
        )
    actual = sha256_of(previous_path)
    if actual != link.get("previous_sha256"):
        problems.append(
            f"{previous_path} has sha256 {actual[:12]}…, the round records "
            f"{str(link.get('previous_sha256'))[:12]}… (the previous run is not the one "
            "this round continued)"
        )
    previous = read_previous(previous_path, registrants, quotas)
    dropouts = [str(x) for x in link.get("dropouts", [])]
    unavailable = [str(x) for x in link.get("unavailable", [])]
    gone = set(dropouts)
    if not gone <= set(previous.panel):
        problems.append("a recorded dropout is not on the previous panel")
    known = {pid.casefold() for pid in previous.pool.ids}
    strangers = [pid for pid in previous.panel if pid.casefold() not in known]
    if strangers:
        problems.append(
            f"the previous run's panel names {strangers[0]!r}, who is not in the registrants file"
        )
    kept = [pid for pid in previous.panel if pid not in gone and pid not in strangers]
    on_panel = sorted({u for u in unavailable if u.casefold() in {p.casefold() for p in kept}})
    if on_panel:
        problems.append(
            f"the recorded unavailable list names {on_panel[0]!r}, a kept member of the panel"
        )
    if [str(x) for x in link.get("kept", [])] != kept:
        problems.append("the recorded kept members are not the previous panel minus the dropouts")
    # earlier rounds' dropouts and unavailable stay out for the whole chain
    try:
        earlier = chain_exclusions(previous.document, previous_path.parent)
    except VerificationError as error:  # an earlier run was changed after its next round
        problems.append(error.message)
        earlier = set()
    excluded = gone | set(unavailable) | earlier
    residual = residual_inputs(previous.pool, previous.spec, kept, excluded, len(dropouts))
    recorded = [
        (q.get("category"), q.get("value"), q.get("residual_min"), q.get("residual_max"))
        for q in link.get("residual_quotas", [])
        if isinstance(q, dict)
    ]
    derived = [(h.category, h.value, h.residual_min, h.residual_max) for h in residual.held]
    if recorded != derived:
        problems.append("the recorded residual quotas are not what the kept members leave")
    round_spec, original_spec, loosening = recorded_loosening(
        link.get("loosened"), residual, previous.spec, problems
    )
    rooms = [{"kept": ids, "room": room} for ids, room in residual.household_room]
    if (
        link.get("household_room", []) != rooms
        or link.get("housemates_left_out", []) != residual.housemates
    ):
        problems.append("the recorded household room is not what the kept members leave")
    drawn = [str(x) for x in document.get("selected_members") or []]
    published = "rounding" in document
    if published:  # a round published for a public draw: drawn by draw.json, if yet
        made = read_draw(out / DRAW) or {}
        drawn = [str(x) for x in made.get("members", [])]
    again = sorted(set(drawn) & (set(kept) | gone | set(unavailable)))
    if again:
        problems.append(f"{again[0]!r} is drawn again, though kept, dropped out or unavailable")
    original = build_model(previous.pool, original_spec, compress_types=False)
    index = {pid: i for i, pid in enumerate(previous.pool.ids)}
    final = [pid for pid in previous.pool.ids if pid in set(kept) | set(drawn)]
    recorded_final = link.get("final_members")
    if published and recorded_final is not None:
        problems.append("a published round records a final panel before its draw")
    elif not published and [str(x) for x in recorded_final or []] != final:
        problems.append("the recorded final panel is not the kept members and the drawn ones")
    if drawn or not published:
        broken = original.panel_violations([index[pid] for pid in final])
        if broken:
            problems.append(f"the final panel breaks the original quotas: {'; '.join(broken[:3])}")
        problems += whole_panel_problems(out, document, previous.pool, kept, drawn)
    figures = {
        "kept": len(kept),
        "dropouts": len(dropouts),
        "unavailable": unavailable,
        "final": len(final),
    }
    if problems:
        return (
            Check("replacement", False, "; ".join(problems), figures),
            residual.pool,
            round_spec,
        )
    verdict = (
        "not drawn yet"
        if published and not drawn
        else f"the final panel of {len(final)} meets the original quotas and household rule"
        + (f", loosened as the round records ({loosening})" if loosening else "")
    )
    return (
        Check(
            "replacement",
            True,
            f"continues {previous_path} (sha256 matches); {len(kept)} kept, "
            f"{len(dropouts)} dropout(s) to replace; "
            + (
                f"{len(unavailable)} given as unavailable and not drawable: "
                f"{', '.join(unavailable[:20])}{' …' if len(unavailable) > 20 else ''}; "
                if unavailable
                else "nobody given as unavailable; "
            )
            + verdict,
            figures,
        ),
        residual.pool,
        round_spec,
    )


def recorded_loosening(
    recorded: object, residual: Residual, original: QuotaSpec, problems: list[str]
) -> tuple[QuotaSpec, QuotaSpec, str]:
    """A round's recorded loosening (``replace --loosen``), checked: every change loosens a
    bound of the round's residual quotas (from the bound the kept members leave), the
    residual quotas admit no panel without it, and it moves no more seats of bounds than
    the smallest loosening (panelsel's minimal relaxation, re-derived).  Returns the
    round's quotas, the original quotas loosened by the same seats (for the final panel)
    and the change in words; a wrong loosening is added to ``problems``."""
    from panelsel.solve.feasibility import QuotaChange, QuotaILP

    if recorded is None:
        return residual.spec, original, ""
    held = {(h.category, h.value): h for h in residual.held}
    changes = []
    try:
        for entry in recorded:  # type: ignore[attr-defined]
            change = QuotaChange(**entry)
            h = held[(change.category, change.value)]
            if (change.old_min, change.old_max) != (h.residual_min, h.residual_max):
                raise ValueError("not from the bounds the kept members leave")
            if not 0 <= change.new_min <= change.old_min or change.new_max < change.old_max:
                raise ValueError("not a loosening")
            changes.append(change)
    except (TypeError, KeyError, ValueError) as error:
        problems.append(f"the recorded loosening of the round's quotas is malformed ({error})")
        return residual.spec, original, ""
    config = SolverConfig(name=DEFAULT_SOLVER)
    model = build_model(residual.pool, residual.spec, values_must_exist=False)
    if QuotaILP(model, config).feasible():
        problems.append("the round loosened its quotas although they could be met as they were")
    smallest = smallest_loosening(model, config)
    moved = sum(c.old_min - c.new_min + c.new_max - c.old_max for c in changes)
    least = (
        None
        if smallest is None
        else sum(c.old_min - c.new_min + c.new_max - c.old_max for c in smallest)
    )
    if least is not None and moved > least:
        problems.append(
            f"the round's loosening moves {moved} seat(s) of bounds, more than the smallest "
            f"that fills the seats ({least})"
        )
    deltas = {
        (c.category, c.value): (c.old_min - c.new_min, c.new_max - c.old_max) for c in changes
    }
    wider = [
        QuotaChange(
            q.category,
            q.value,
            q.min,
            q.max,
            q.min - deltas[(q.category, q.value)][0],
            q.max + deltas[(q.category, q.value)][1],
        )
        for q in (held[key] for key in deltas)
    ]
    words = "; ".join(c.diff() for c in wider)
    return loosened_spec(residual.spec, changes), loosened_spec(original, wider), words


def whole_panel_problems(
    out: Path, document: dict[str, Any], pool: Pool, kept: list[str], drawn: list[str]
) -> list[str]:
    """A round's ``panel.csv`` is the whole panel: every kept member and every replacement,
    each row as in the original pool, with the right ``panelsel_role``, and nobody else."""
    safe = bool(document.get("spreadsheet_safe"))
    fmt, _ = recorded_contact_format(document)
    header, rows = read_csv(out / PANEL, safe, fmt)
    if not header or header[-1] != ROLE_COLUMN:
        return [f"panel.csv has no {ROLE_COLUMN} column: it is not a round's whole panel"]
    where = {name: c for c, name in enumerate(pool.columns)}
    if any(name not in where for name in header[:-1]):
        return ["panel.csv has columns the registrants file does not have"]
    role = {pid: "kept" for pid in kept} | {pid: "replacement" for pid in drawn}
    cols = [where[name] for name in header[:-1]]
    expected = Counter(
        json.dumps([*(row[c] for c in cols), role[pid]])
        for pid, row in zip(pool.ids, pool.rows, strict=True)
        if pid in role
    )
    found = Counter(json.dumps(row) for row in rows)
    if found == expected:
        return []
    return [
        f"panel.csv is not the whole panel: {(found - expected).total()} of its rows are not "
        f"a kept member or a replacement as the pool has them (with their {ROLE_COLUMN}), "
        f"and {(expected - found).total()} of the {len(role)} members are missing from it"
    ]
