"""Re-derive and check a finished selection from its files alone (``panelsel audit``).

The audit trusts nothing written by the run except as a claim to check: it re-reads the
registrants and the quota file, recomputes what they imply, and compares.  Each check is
reported as passed or failed with the numbers behind it:

``inputs``
    The sha256 of the registrants and quota files equal the ones ``lottery.json`` recorded.
``panels``
    Every panel of the lottery has exactly ``k`` distinct members, all in the pool, and meets
    every quota and the household rule (counted here, independently of the code that made
    the lottery).
``probabilities``
    The panels' probabilities are non-negative and sum to 1.
``marginals``
    Each registrant's total probability over the panels that contain them equals
    ``probabilities.csv``, which lists every registrant once.
``selected``
    ``panel.csv`` holds exactly the recorded selected members, ``remaining.csv`` everybody
    else, and the recorded seed draws that panel again by the recorded draw rule.
``optimality``
    The certificate of the algorithm's claim (:mod:`panelsel.commands.certificates`): the
    maximin bound for leximin and maximin, the Nash gap for nash, none for legacy.

Legacy runs have no lottery of their own: their panels and frequencies are checked like a
lottery's, and the seed must reproduce the first run.

A uniform lottery for a public draw (``select --panels``) is checked instead by ``hash``
(``lottery.json`` against the published sha256, or ``lottery.sha256``), ``panels`` and
``uniform`` (panels numbered 1 to M, each 1/M), ``panels before rounding`` and
``probabilities before rounding`` (the optimal lottery it was rounded from), ``marginals``
and ``marginals before rounding`` (both columns of ``probabilities.csv``), ``rounding``
(every change within :func:`panelsel.lottery.rounding.uniform_bound`, recomputed from k, M and the
pool's types, and the recorded figures right), ``draw`` (``draw.json``'s random input gives
its number by :mod:`panelsel.commands.draw`'s rules, its members are that panel's and
``panel.csv``/``remaining.csv`` hold them; or nothing drawn yet), and the optimality
certificate of the lottery before rounding.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.commands.certificates import (
    Check,
    extremes_certificate,
    levels_by_person,
    leximin_certificate,
    maximin_certificate,
    nash_certificate,
)
from panelsel.defaults import (
    DEFAULT_GAMMA,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.digest import sha256_hex, sha256_of
from panelsel.errors import EXIT_VERIFICATION, BadInputError, PanelselError, VerificationError
from panelsel.inputs.load import ReadOptions, read_pool
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas
from panelsel.inputs.residual import Residual
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.expand import draw, draw_grouped, members_of
from panelsel.lottery.public import repeat_number
from panelsel.lottery.rounding import ROUNDING_TOLERANCE, uniform_bound
from panelsel.outputs.files import PLAIN_CSV, CsvFormat, unescape
from panelsel.outputs.names import (
    DRAW,
    DRAWN,
    PUBLIC_DRAW,
    PUBLIC_DRAW_ROUND,
    PUBLISHED,
    REPLACEMENT,
    workbook,
)
from panelsel.outputs.record import (
    published_hash,
    read_draw,
    read_record,
    recorded_contact_format,
)
from panelsel.outputs.tables import ROLE_COLUMN, WRITTEN_PROBABILITY_TOLERANCE
from panelsel.progress import ProgressFn, no_progress
from panelsel.runs.chain import chain_exclusions, locate_previous, read_previous
from panelsel.runs.loosen import loosened_spec, smallest_loosening
from panelsel.solve.algorithms import ALGORITHM_NAMES, ALGORITHMS
from panelsel.solve.algorithms.legacy import legacy_draw
from panelsel.solve.backends import SolverConfig
from panelsel.solve.protocol import Request
from panelsel.versions import differing_versions, matching_install

EXIT_AUDIT_FAILED = EXIT_VERIFICATION
SUM_TOLERANCE = 1e-9
"""How far the panel probabilities may sum from 1."""
MARGINAL_TOLERANCE = 1e-9
"""How far a marginal may be from ``probabilities.csv`` (written with 12 significant
digits)."""
SYMMETRY_TOLERANCE = 1e-9
"""How far the probabilities of two registrants of one type may differ (the lottery's
expansion makes them equal up to rounding of the panel probabilities)."""


@dataclass
class AuditReport:
    out: Path
    algorithm: str
    checks: list[Check]
    proven_optimal: bool = True
    """False where lottery.json says the lottery is not proven optimal (best effort): the
    verdict says so, whatever the checks found."""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def skipped(self) -> list[str]:
        return [c.name for c in self.checks if c.skipped]

    @property
    def inconclusive(self) -> list[str]:
        return [c.name for c in self.checks if c.inconclusive]

    @property
    def verified(self) -> bool:
        """Every check passed and none was inconclusive (a skipped check was asked for)."""
        return self.passed and not self.inconclusive

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "algorithm": self.algorithm,
            "passed": self.passed,
            "verified": self.verified,
            "proven_optimal": self.proven_optimal,
            "skipped": self.skipped,
            "inconclusive": self.inconclusive,
            "checks": [c.__dict__ for c in self.checks],
        }


def _read_csv(
    path: Path, safe: bool = False, fmt: CsvFormat = PLAIN_CSV
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV written in ``fmt``; ``safe``: undo the apostrophes of
    spreadsheet-safe writing."""
    if not path.is_file():
        raise BadInputError(
            "the selection folder lacks this file",
            file=str(path),
            hint="pass the folder that panelsel select wrote (its --out)",
        )
    encoding = "utf-8-sig" if fmt.encoding.lower() in {"utf-8", "utf8"} else fmt.encoding
    try:
        with path.open(encoding=encoding, newline="") as f:
            rows = list(csv.reader(f, delimiter=fmt.delimiter))
    except UnicodeDecodeError:
        raise VerificationError(
            f"the file is not {fmt.encoding} text, the encoding lottery.json records",
            hint="use the files panelsel wrote",
        ) from None
    if not rows:
        raise BadInputError("the file is empty", file=str(path))
    if safe:
        rows = [[unescape(c) for c in row] for row in rows]
    return rows[0], rows[1:]


# --------------------------------------------------------------------------- checks


def _check_inputs(document: dict[str, Any], registrants: Path, quotas: Path) -> Check:
    recorded = document.get("inputs", {})
    problems, figures = [], {}
    for role, path in (("registrants", registrants), ("quotas", quotas)):
        actual = sha256_of(path)
        expected = (recorded.get(role) or {}).get("sha256")
        figures[role] = {"recorded": expected, "actual": actual}
        if expected is None:
            problems.append(f"lottery.json records no sha256 for the {role} file")
        elif actual != expected:
            problems.append(
                f"{path}: sha256 {actual[:12]}… differs from the recorded {str(expected)[:12]}… "
                f"(the {role} file is not the one the selection used)"
            )
    if problems:
        return Check("inputs", False, "; ".join(problems), figures)
    return Check("inputs", True, "both files match the sha256 recorded in lottery.json", figures)


def _check_duplicates(pool: Pool, read: ReadOptions) -> Check | None:
    """The registrations the selection dropped as duplicates, shown in the report (no check
    when it dropped none)."""
    if read.drop_duplicates is None:
        return None
    shown = "; ".join(pool.dropped[:5]) + (" …" if len(pool.dropped) > 5 else "")
    return Check(
        "duplicates",
        True,
        f"{len(pool.dropped)} registration(s) dropped as duplicates by "
        f"{read.drop_duplicates!r} (keep {read.keep}){': ' + shown if shown else ''}",
        {"column": read.drop_duplicates, "keep": read.keep, "dropped": pool.dropped},
    )


def _replacement_round(
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
    ``panel.csv`` holds."""
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
    round_spec, original_spec, loosening = _loosening(
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
        made = read_draw(out / "draw.json") or {}
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
        problems += _whole_panel_problems(out, document, previous.pool, kept, drawn)
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


def _stopped(check: Check, claims: dict[str, Any]) -> Check:
    """A failed certificate of a lottery that claims no optimality (stopped at its time
    limit) says so first, as the certificates that state a bound do."""
    if check.passed or not claims.get("best_effort"):
        return check
    check.detail = "not proven optimal (stopped at its time limit): " + check.detail
    return check


def _loosening(
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


def _panel_indices(
    document: dict[str, Any], pool: Pool, key: str = "panels"
) -> tuple[list[npt.NDArray[np.intp] | None], list[str]]:
    """Each panel's members as row indices (None when an id is unknown) and the problems."""
    index = {pid: i for i, pid in enumerate(pool.ids)}
    panels: list[npt.NDArray[np.intp] | None] = []
    problems = []
    for r, panel in enumerate(document[key]):
        members = panel.get("members", []) if isinstance(panel, dict) else []
        unknown = [m for m in members if str(m) not in index]
        if unknown:
            problems.append(f"panel {r + 1}: id {unknown[0]!r} is not in the pool")
            panels.append(None)
            continue
        panels.append(np.array([index[str(m)] for m in members], dtype=np.intp))
    return panels, problems


def recorded_gamma(document: dict[str, Any]) -> float:
    """Goldilocks' ``gamma`` as lottery.json records it (in its stats)."""
    stats = document.get("stats")
    value = stats.get("gamma") if isinstance(stats, dict) else None
    try:
        gamma = float(value) if value is not None else DEFAULT_GAMMA
    except (TypeError, ValueError):
        raise BadInputError(
            f"lottery.json records gamma {value!r}, which is not a number",
            hint="the file was edited: audit the lottery.json that panelsel wrote",
        ) from None
    if not (np.isfinite(gamma) and gamma > 0):
        raise BadInputError(
            f"lottery.json records gamma {value!r}, which is not a positive number",
            hint="the file was edited: audit the lottery.json that panelsel wrote",
        )
    return gamma


def _whole_panel_problems(
    out: Path, document: dict[str, Any], pool: Pool, kept: list[str], drawn: list[str]
) -> list[str]:
    """A round's ``panel.csv`` is the whole panel: every kept member and every replacement,
    each row as in the original pool, with the right ``panelsel_role``, and nobody else."""
    safe = bool(document.get("spreadsheet_safe"))
    fmt, _ = recorded_contact_format(document)
    header, rows = _read_csv(out / "panel.csv", safe, fmt)
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


def _drawn_file(document: dict[str, Any]) -> str:
    """The file of the drawn members: a replacement round's own draw is replacements.csv
    (its panel.csv is the whole panel)."""
    return "replacements.csv" if "replacement" in document else "panel.csv"


def _quota_problems(model: Model, members: npt.NDArray[np.intp]) -> list[str]:
    """Quota and household rules the panel breaks, counted from the feature matrix."""
    problems = []
    counts = model.person_features[members].sum(axis=0)
    for f, c in zip(model.features, counts.tolist(), strict=True):
        if c < f.min or c > f.max:
            problems.append(f"{f.category}={f.value} has {c}, quota {f.min}–{f.max}")
    if model.households:
        house = model.person_household[members]
        load: dict[int, int] = {}
        for h in house[house >= 0].tolist():
            load[h] = load.get(h, 0) + 1
        for h, count in load.items():
            if count > model.household_caps[h]:
                problems.append(
                    f"household {h} has {count} members, above {model.household_caps[h]}"
                )
    return problems


def _check_panels(
    model: Model,
    pool: Pool,
    panels: list[npt.NDArray[np.intp] | None],
    unknown: list[str],
    name: str = "panels",
) -> Check:
    problems = list(unknown)
    if not panels:
        problems.append("lottery.json lists no panels, so nothing says what the seed drew from")
    for r, members in enumerate(panels):
        if members is None:
            continue
        if len(members) != model.k or len(set(members.tolist())) != len(members):
            problems.append(
                f"panel {r + 1}: {len(set(members.tolist()))} distinct members, not {model.k}"
            )
            continue
        for problem in _quota_problems(model, members)[:2]:
            problems.append(f"panel {r + 1}: {problem}")
    figures = {"panels": len(panels), "invalid": len(problems), "panel_size": model.k}
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        return Check(name, False, f"{len(problems)} problem(s): {shown}", figures)
    return Check(
        name,
        True,
        f"all {len(panels)} panels have {model.k} distinct registrants and meet every quota",
        figures,
    )


def _check_probabilities(probs: npt.NDArray[np.float64], name: str = "probabilities") -> Check:
    total = float(probs.sum())
    negative = int((probs < 0).sum())
    figures = {"sum": total, "negative": negative, "min": float(probs.min(initial=0.0))}
    ok = negative == 0 and abs(total - 1.0) <= SUM_TOLERANCE and np.all(np.isfinite(probs))
    if ok:
        return Check(name, True, f"non-negative, sum {total:.12f}", figures)
    return Check(
        name,
        False,
        f"{negative} negative; they sum to {total:.12f}, not 1 (tolerance {SUM_TOLERANCE:g})",
        figures,
    )


def _check_marginals(
    out: Path,
    pool: Pool,
    marginals: npt.NDArray[np.float64],
    estimated: bool,
    safe: bool,
    column: str | None = None,
    name: str = "marginals",
) -> Check:
    path = out / "probabilities.csv"
    header, rows = _read_csv(path, safe)
    column = column or ("probability_estimate" if estimated else "probability")
    if column not in header:
        return Check(name, False, f"{path}: no column {column!r}")
    id_col = 0
    p_col = header.index(column)
    written: dict[str, float] = {}
    problems = []
    for line, row in enumerate(rows, start=2):
        try:
            written[row[id_col].strip()] = float(row[p_col])
        except (IndexError, ValueError):
            problems.append(f"{path}, row {line}: unreadable probability {row!r}")
    missing = [pid for pid in pool.ids if pid not in written]
    extra = len(written) - (len(pool.ids) - len(missing))
    if missing:
        problems.append(f"{len(missing)} registrant(s) missing, e.g. {missing[0]!r}")
    if extra or len(rows) != len(pool.ids):
        problems.append(f"{len(rows)} rows for {len(pool.ids)} registrants")
    worst, worst_id = 0.0, None
    for i, pid in enumerate(pool.ids):
        if pid in written:
            diff = abs(written[pid] - float(marginals[i]))
            if diff > worst:
                worst, worst_id = diff, pid
    if worst > WRITTEN_PROBABILITY_TOLERANCE and worst_id is not None:
        i = pool.ids.index(worst_id)
        problems.append(
            f"id {worst_id!r}: probabilities.csv says {written[worst_id]:.12g}, the lottery "
            f"gives {marginals[i]:.12g}"
        )
    figures = {"largest_difference": worst, "rows": len(rows)}
    if problems:
        return Check(name, False, "; ".join(problems), figures)
    return Check(
        name,
        True,
        f"probabilities.csv {column!r} equals the lottery's marginals for all {len(rows)} "
        f"registrants (largest difference {worst:.1e})",
        figures,
    )


def _rows_as_keys(
    path: Path, pool: Pool, safe: bool, fmt: CsvFormat = PLAIN_CSV
) -> tuple[list[str], Counter[str]]:
    """The registrants of a written panel.csv / remaining.csv as a multiset of keys: their
    ids, or (when the ids are row numbers, which those files do not carry) their whole rows;
    with the file's header."""
    header, rows = _read_csv(path, safe, fmt)
    if pool.id_column is not None and pool.id_column in header:
        col = header.index(pool.id_column)
        return header, Counter(row[col].strip() if len(row) > col else "" for row in rows)
    return header, Counter(json.dumps(row) for row in rows)


def _pool_keys(pool: Pool, indices: list[int], header: list[str]) -> Counter[str]:
    """The same keys for pool rows (whole rows cut to the columns of ``header``)."""
    if pool.id_column is not None and pool.id_column in header:
        return Counter(pool.ids[i] for i in indices)
    where = {name: c for c, name in enumerate(pool.columns)}
    cols = [where.get(name, -1) for name in header]
    return Counter(json.dumps([pool.rows[i][c] if c >= 0 else "" for c in cols]) for i in indices)


def _compare_files(
    out: Path,
    pool: Pool,
    chosen: list[int],
    others: list[int],
    document: dict[str, Any],
    record: str,
) -> list[str]:
    """Problems with ``panel.csv`` (should hold ``chosen``) and ``remaining.csv``, read in
    the recorded delimiter and encoding, and with the workbooks when they were written."""
    problems = []
    safe = bool(document.get("spreadsheet_safe"))
    fmt, xlsx = recorded_contact_format(document)
    if xlsx:
        problems += _compare_workbooks(out, fmt, safe, "replacement" in document)
    drawn_file = _drawn_file(document)
    header, in_panel_csv = _rows_as_keys(out / drawn_file, pool, safe, fmt)
    expected = _pool_keys(pool, chosen, header)
    if in_panel_csv != expected:
        extra = sorted((in_panel_csv - expected).elements())
        lacking = sorted((expected - in_panel_csv).elements())
        if pool.id_column is not None and pool.id_column in header:
            problems.append(
                f"{drawn_file} differs from {record}'s selected members (in {drawn_file} "
                f"only: {extra}; missing from {drawn_file}: {lacking})"
            )
        else:
            # without ids the keys are whole rows (names, e-mails): name pool rows instead
            missing = set(lacking)
            rows = sorted(
                pool.line_numbers[i]
                for i in chosen
                if next(iter(_pool_keys(pool, [i], header))) in missing
            )
            problems.append(
                f"{drawn_file} differs from {record}'s selected members: {len(extra)} of its "
                f"row(s) are not selected registrants, and the registrant(s) in pool row(s) "
                f"{rows} are missing from it (rows as a spreadsheet numbers them)"
            )
    header, in_remaining = _rows_as_keys(out / "remaining.csv", pool, safe, fmt)
    if in_remaining != _pool_keys(pool, others, header):
        problems.append(
            f"remaining.csv holds {in_remaining.total()} rows that are not exactly the other "
            f"{len(others)} registrants"
        )
    return problems


def _compare_workbooks(out: Path, fmt: CsvFormat, safe: bool, round_: bool = False) -> list[str]:
    """Problems with the contact lists' workbooks (``panel.xlsx``, ``remaining.xlsx``, and a
    round's ``replacements.xlsx``): each must hold what its CSV holds, cell for cell (the
    workbooks store every cell as text, without apostrophes)."""
    from openpyxl import load_workbook

    problems = []
    run = REPLACEMENT if round_ else DRAWN
    for csv_name in run.contacts:
        book_name = workbook(csv_name)
        path = out / book_name
        if not path.is_file():
            problems.append(f"lottery.json records {book_name}, which is missing")
            continue
        header, rows = _read_csv(out / csv_name, safe, fmt)
        try:
            book = load_workbook(path, read_only=True, data_only=True)
            cells = [
                ["" if v is None else str(v) for v in row]
                for row in book.worksheets[0].iter_rows(values_only=True)
            ]
            book.close()
        except Exception as exc:  # any unreadable workbook fails the check, never the audit
            problems.append(f"{book_name} cannot be read as a workbook ({type(exc).__name__})")
            continue
        width = len(header)
        cells = [(row + [""] * width)[:width] for row in cells]
        written = [[c.replace("\r\n", "\n") for c in row] for row in [header, *rows]]
        if cells != written:
            problems.append(f"{book_name} does not hold what {csv_name} holds")
    return problems


def _check_selected(
    out: Path,
    document: dict[str, Any],
    model: Model,
    pool: Pool,
    lottery: Lottery,
    panels: list[npt.NDArray[np.intp] | None],
    estimated: bool,
) -> Check:
    seed = int(document["seed"])
    recorded = sorted(str(m) for m in document["selected_members"])
    row_of = {pid: i for i, pid in enumerate(pool.ids)}
    chosen = [row_of[m] for m in recorded if m in row_of]
    others = sorted(set(range(model.n)) - set(chosen))
    problems = []
    if len(chosen) != len(recorded):
        problems.append("lottery.json's selected members include ids not in the pool")
    problems += _compare_files(out, pool, chosen, others, document, "lottery.json")
    selected = document.get("selected")
    if estimated:
        again = sorted(pool.ids[i] for i in legacy_draw(model, seed))
        rule = "the legacy procedure's first run"
    elif not panels:
        again, rule = [], "nothing (lottery.json lists no panels)"
    else:
        index = draw(lottery, np.random.default_rng(seed))
        members = panels[index] if 0 <= index < len(panels) else None
        again = sorted(pool.ids[i] for i in members) if members is not None else []
        rule = f"panel {index + 1} of the list"
        if index != selected:
            problems.append(
                f"the seed draws panel {index + 1} of the list ('selected': {index}, counted "
                f"from 0), lottery.json records 'selected': {selected}"
            )
    if again != recorded:
        problems.append(f"seed {seed} draws {rule}, whose members are not the recorded ones")
    if problems:
        return Check("selected", False, "; ".join(problems), {"seed": seed})
    return Check(
        "selected",
        True,
        f"{_drawn_file(document)} and remaining.csv match; seed {seed} draws {rule} again",
        {"seed": seed},
    )


def _check_method(document: dict[str, Any]) -> Check:
    """The recorded algorithm is one panelsel has, and ``estimated`` is what it implies: a
    file cannot opt out of the certificate by naming another method."""
    algorithm = document.get("algorithm")
    estimated = document.get("estimated")
    if algorithm not in ALGORITHM_NAMES:
        return Check(
            "method",
            False,
            f"lottery.json names the algorithm {algorithm!r}, which panelsel does not have "
            f"(it has {', '.join(ALGORITHM_NAMES)}): nothing vouches for this lottery",
        )
    if estimated is not (not ALGORITHMS[str(algorithm)].exact):
        return Check(
            "method",
            False,
            f"lottery.json says estimated={estimated!r} for {algorithm}; only legacy's "
            "probabilities are estimates",
        )
    return Check("method", True, f"{algorithm} is one of panelsel's algorithms")


def _check_order(
    panels: list[npt.NDArray[np.intp] | None], name: str, *, repeats: bool = False
) -> Check:
    """The panels are in the canonical order :mod:`panelsel.lottery.expand` promises (sorted member
    rows, panels in lexicographic order; each panel once, except in a uniform lottery), so
    that nobody can reorder them until the recorded seed draws a chosen panel."""
    keys = [tuple(sorted(p.tolist())) if p is not None else () for p in panels]
    for r, members in enumerate(panels):
        if members is not None and members.tolist() != list(keys[r]):
            return Check(name, False, f"panel {r + 1}'s members are not listed in pool order")
    for r in range(1, len(keys)):
        if keys[r] < keys[r - 1] or (keys[r] == keys[r - 1] and not repeats):
            what = "repeated" if keys[r] == keys[r - 1] else "out of the canonical order"
            return Check(
                name,
                False,
                f"panel {r + 1} is {what} (panels are sorted by their members' pool rows); a "
                "reordered lottery lets the recorded seed draw another panel",
            )
    return Check(name, True, f"the {len(keys)} panels are in the canonical order")


def _check_symmetry(
    types: Model, marginals: npt.NDArray[np.float64], slack: float, name: str
) -> Check:
    """Registrants of one type (the same quota values, no household rule binding them) are
    interchangeable, so every algorithm gives them the same probability (within ``slack``,
    which is 1/M after rounding to M panels); a swap of one for another breaks this."""
    worst, where = 0.0, -1
    for t, members in enumerate(types.type_members):
        if len(members) > 1:
            spread = float(marginals[members].max() - marginals[members].min())
            if spread > worst:
                worst, where = spread, t
    figures = {"types": types.n_types, "largest_spread": worst, "allowed": slack}
    if worst > slack + SYMMETRY_TOLERANCE:
        members = types.type_members[where]
        hi, lo = (
            int(members[np.argmax(marginals[members])]),
            int(members[np.argmin(marginals[members])]),
        )
        return Check(
            name,
            False,
            f"registrants in rows {hi + 2} and {lo + 2} have the same quota values but "
            f"probabilities {marginals[hi]:.9f} and {marginals[lo]:.9f}: the lottery treats "
            "interchangeable people differently (was a member swapped?)",
            figures,
        )
    return Check(
        name,
        True,
        f"registrants with the same quota values have the same probability (within "
        f"{max(slack, SYMMETRY_TOLERANCE):.1e}) across {types.n_types} types",
        figures,
    )


def _check_previous_run(
    folder: Path,
    registrants: Path,
    quotas: Path,
    options: dict[str, Any],
    chain: tuple[Path, ...],
) -> Check:
    """The run a replacement round continues passes its own audit, as fully as a run on its
    own (its draw re-derived from the recorded public input, its own previous run in turn):
    a round can be no more trustworthy than the chain under it."""
    name = "previous run"
    if folder.resolve() in chain:
        return Check(name, False, f"{folder}/ is a later round of this chain: the chain loops")
    report = audit(folder, registrants, quotas, **options, _chain=chain)
    failed = [c for c in report.checks if not c.passed]
    if failed:
        return Check(
            name,
            False,
            f"{folder}/ fails its own audit ({', '.join(c.name for c in failed)}: "
            f"{failed[0].detail[:300]}); a round is no better than the run it continues",
            {"failed": [c.name for c in failed]},
        )
    deeper = " and the runs before it" if any(c.name == name for c in report.checks) else ""
    if report.inconclusive:
        return Check(
            name,
            True,
            f"inconclusive: {folder}/{deeper} pass(es) every check, but "
            f"{', '.join(report.inconclusive)} was inconclusive there (audit it for the detail)",
            inconclusive=True,
        )
    skipped = f" (skipped there: {', '.join(report.skipped)})" if report.skipped else ""
    return Check(
        name,
        True,
        f"{folder}/{deeper} pass(es) its own audit, {len(report.checks)} checks{skipped}",
    )


def _check_files(out: Path, kind: str, document: dict[str, Any]) -> Check:
    """The folder holds every file its kind of run writes (:mod:`panelsel.outputs.names`)."""
    _, xlsx = recorded_contact_format(document)
    round_ = isinstance(document.get("replacement"), dict)
    runs = [PUBLISHED] if kind == "published" else [REPLACEMENT if round_ else DRAWN]
    if kind == "published" and (out / DRAW).exists():
        runs.append(PUBLIC_DRAW_ROUND if round_ else PUBLIC_DRAW)
    missing = [name for run in runs for name in run.missing(out, xlsx)]
    what = " and ".join(f"a {run.kind}" for run in runs)
    count = sum(len(run.names(xlsx)) for run in runs)
    if missing:
        return Check(
            "files",
            False,
            f"the folder lacks {', '.join(missing)}, which {what} writes (was it deleted or "
            "renamed?): the audit cannot go on",
            {"missing": missing},
        )
    return Check("files", True, f"the {count} files {what} writes are all present")


def _check_recompute(
    document: dict[str, Any], pool: Pool, spec: QuotaSpec, progress: ProgressFn
) -> Check:
    """Run the recorded algorithm again on the inputs with the recorded seed and options,
    and compare its lottery (and draw) with the file's, entry for entry: the strongest check,
    because it shows that these panels are the ones the method computes, not merely fair
    ones (any fair lottery could have been forged to draw a chosen panel)."""
    from panelsel.lottery.compute import Publish, compute
    from panelsel.outputs.record import listing

    name = "recompute"
    recorded_versions = document.get("versions")
    if not isinstance(recorded_versions, dict):
        recorded_versions = {"panelsel": str(document.get("version"))}
    differ = differing_versions(recorded_versions)
    weaker = "--no-recompute accepts the weaker audit explicitly"

    def inconclusive(reason: str) -> Check:
        return Check(name, True, f"inconclusive: {reason}", inconclusive=True)

    def versions_note() -> str:
        listed = ", ".join(f"{n} {was} (this install: {now})" for n, was, now in differ)
        return (
            f"the run was made with {listed}; the solver's choice among equally good lotteries "
            "may differ between versions, so the difference proves nothing either way: "
            f"install the recorded versions ({matching_install(recorded_versions)}) and audit "
            f"again, or {weaker}"
        )

    rounding = document.get("rounding")
    stopped = not document.get("proven_optimal", True) or (
        isinstance(rounding, dict) and "time limit" in str(rounding.get("method", ""))
    )
    if stopped:
        return inconclusive(
            "lottery.json says the run stopped at its time limit (--best-effort), which is "
            "measured in seconds, so a rerun need not stop at the same point: the lottery is "
            f"valid (the checks above) but not shown to be the recorded method's; {weaker}"
        )
    algorithm = str(document["algorithm"])
    model = build_model(pool, spec, values_must_exist="replacement" not in document)
    try:
        config = SolverConfig(name=str(document.get("solver", DEFAULT_SOLVER)))
        request = Request(
            int(document["seed"]),
            int(document.get("samples", DEFAULT_SAMPLES)),
            gamma=recorded_gamma(document),
        )
        publish = (
            Publish(int(rounding["panels"]), str(rounding.get("requested", "auto")))
            if isinstance(rounding, dict)
            else None
        )
        result = compute(model, algorithm, config, request, publish=publish, progress=progress)
    except (PanelselError, KeyError, TypeError, ValueError) as error:
        message = error.message if isinstance(error, PanelselError) else repr(error)
        if differ:
            return inconclusive(f"the rerun failed ({message}); {versions_note()}")
        return Check(name, False, f"the recorded run cannot be repeated: {message}")
    ids = pool.ids
    problems = []
    pairs = list(listing(result.lottery, ids, result.rounded).items())
    if result.kind != "published" and result.drawn is not None:
        again = [ids[i] for i in result.drawn]
        if again != list(document.get("selected_members") or []):
            problems.append("the rerun draws other members than lottery.json's")
        if result.selected != document.get("selected"):
            problems.append(
                f"the rerun draws 'selected': {result.selected} (counted from 0), lottery.json "
                f"records {document.get('selected')}"
            )
    for key, entries in pairs:
        recorded = document.get(key)
        if json.dumps(entries) != json.dumps(recorded):
            differ_entries = sum(
                1 for a, b in zip(entries, recorded or [], strict=False) if a != b
            ) + abs(len(entries) - len(recorded or []))
            problems.append(
                f"lottery.json's {key} differ from the rerun's in {differ_entries} of "
                f"{len(entries)} entries"
            )
    figures = {"panels": len(result.lottery), "algorithm": algorithm}
    if problems and differ:
        return inconclusive(f"{'; '.join(problems)}; {versions_note()}")
    if problems:
        return Check(name, False, "; ".join(problems), figures)
    what = "lottery and its draw" if rounding is None else "numbered panels and their source"
    return Check(
        name,
        True,
        f"{algorithm} rerun on the inputs with seed {document['seed']} gives the same "
        f"{what}, entry for entry",
        figures,
    )


def _audit_grouped(
    out: Path,
    document: dict[str, Any],
    model: Model,
    types: Model,
    pool: Pool,
    checks: list[Check],
) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.float64]]:
    """The checks of a lottery published over types (large pools, :mod:`panelsel.lottery.expand`);
    returns one panel of people per count vector and the marginals, for the certificate."""
    ids = pool.ids
    expected_types = [[ids[i] for i in members] for members in types.type_members]
    listed = document.get("types")
    if listed != expected_types:
        checks.append(
            Check(
                "types",
                False,
                "the types listed are not the pool's (every registrant once, grouped by their "
                "quota values, members of a household the rule binds each alone)",
            )
        )
        return [], np.zeros(model.n)
    checks.append(Check("types", True, f"{len(listed)} types, as the pool and quotas give them"))
    sizes = types.type_sizes
    vectors = document.get("count_vectors") or []
    columns = np.zeros((len(vectors), types.n_types), dtype=np.int64)
    problems = []
    for j, vector in enumerate(vectors):
        try:
            for t, c in vector["counts"]:
                if not (isinstance(t, int) and isinstance(c, int)) or not 0 < c <= sizes[t]:
                    raise ValueError(f"type {t} count {c}")
                columns[j, t] = c
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            problems.append(f"count vector {j}: unreadable or out of range ({exc})")
    representatives = [members_of(c, types.type_members, np.random.default_rng(0)) for c in columns]
    for j, members in enumerate(representatives):
        if len(members) != model.k:
            problems.append(f"count vector {j}: {len(members)} seats, not {model.k}")
            continue
        for problem in _quota_problems(model, members)[:2]:
            problems.append(f"count vector {j}: {problem}")
    if problems:
        checks.append(
            Check("panels", False, f"{len(problems)} problem(s): " + "; ".join(problems[:5]))
        )
    else:
        checks.append(
            Check(
                "panels",
                True,
                f"all {len(vectors)} count vectors have {model.k} seats and meet every quota",
            )
        )
    keys = [tuple(c.tolist()) for c in columns]
    if any(keys[j] <= keys[j - 1] for j in range(1, len(keys))):
        checks.append(
            Check("canonical order", False, "the count vectors are not in the canonical order")
        )
    else:
        checks.append(
            Check("canonical order", True, f"the {len(keys)} count vectors are in canonical order")
        )
    probs = np.array([float(v.get("probability", np.nan)) for v in vectors], dtype=np.float64)
    checks.append(_check_probabilities(probs))
    lottery = GroupedLottery(columns, probs, list(types.type_members))
    marginals = lottery.marginals(model.n)
    safe = bool(document.get("spreadsheet_safe"))
    checks.append(_check_marginals(out, pool, marginals, False, safe))
    seed = int(document["seed"])
    index, members = draw_grouped(lottery, np.random.default_rng(seed))
    recorded = [str(m) for m in document.get("selected_members") or []]
    problems = []
    if index != document.get("selected"):
        problems.append(
            f"the seed draws count vector {index + 1} of the list ('selected': {index}, counted "
            f"from 0), lottery.json records 'selected': {document.get('selected')}"
        )
    if [ids[i] for i in members] != recorded:
        problems.append(f"seed {seed} draws other members than lottery.json's selected ones")
    chosen = members.tolist()
    others = sorted(set(range(model.n)) - set(chosen))
    problems += _compare_files(out, pool, chosen, others, document, "the seed's draw")
    if problems:
        checks.append(Check("selected", False, "; ".join(problems), {"seed": seed}))
    else:
        checks.append(
            Check(
                "selected",
                True,
                f"{_drawn_file(document)} and remaining.csv match; seed {seed} draws count "
                f"vector {index + 1} and the same members again",
                {"seed": seed},
            )
        )
    checks.append(
        Check(
            "type symmetry",
            True,
            "by construction: the lottery is over the types checked above, and every member "
            "of a type has its probability",
        )
    )
    return representatives, marginals


# --------------------------------------------------------------------------- public draws


def _check_hash(out: Path, sha256: str | None) -> tuple[Check, str]:
    """lottery.json against the published hash (``sha256``, else ``lottery.sha256``)."""
    digest = sha256_hex((out / "lottery.json").read_bytes())
    try:
        expected, source = published_hash(out / "lottery.json", sha256)
    except VerificationError as error:
        return Check("hash", False, error.message, {"sha256": digest}), digest
    figures = {"sha256": digest, "published": expected, "checked_against": source}
    if digest != expected:
        return (
            Check(
                "hash",
                False,
                f"lottery.json has sha256 {digest}, the published hash ({source}) is {expected}",
                figures,
            ),
            digest,
        )
    note = "" if source == "--sha256" else " (pass --sha256 to check against the public hash)"
    return Check("hash", True, f"lottery.json matches {source}{note}", figures), digest


def _check_uniform(document: dict[str, Any], probs: npt.NDArray[np.float64]) -> Check:
    """The panels are numbered 1 to M in order, each with probability 1/M."""
    m = document["rounding"].get("panels")
    numbers = [p.get("number") if isinstance(p, dict) else None for p in document["panels"]]
    problems = []
    if not isinstance(m, int) or numbers != list(range(1, len(numbers) + 1)) or len(numbers) != m:
        problems.append(f"the {len(numbers)} panels are not numbered 1 to {m} in order")
    elif np.any(np.abs(probs - 1.0 / m) > SUM_TOLERANCE):
        problems.append(f"not every panel has probability 1/{m}")
    if problems:
        return Check("uniform", False, "; ".join(problems), {"panels": len(numbers)})
    return Check("uniform", True, f"{m} panels numbered 1 to {m}, each 1/{m}", {"panels": m})


def _check_rounding(
    document: dict[str, Any],
    k: int,
    n_types: int,
    before: npt.NDArray[np.float64],
    after: npt.NDArray[np.float64],
    ids: list[str],
) -> Check:
    """Every probability within the paper's bound of the lottery it was rounded from, and the
    recorded figures right."""
    recorded = document["rounding"]
    m = int(recorded.get("panels", len(after)))
    bound = uniform_bound(k, n_types, m)
    change = after - before
    largest = float(np.abs(change).max())
    loss = float(max(0.0, -change.min()))
    figures = {
        "panels": m,
        "types": n_types,
        "bound": bound,
        "largest_change": largest,
        "worst_loss": loss,
    }
    problems = []
    if largest > bound + ROUNDING_TOLERANCE:
        worst = int(np.argmax(np.abs(change)))
        problems.append(
            f"registrant {ids[worst]!r} moves by {largest:.6f} ({before[worst]:.6f} -> "
            f"{after[worst]:.6f}), more than the bound {bound:.6f}"
        )
    for key, value in (("bound", bound), ("largest_change", largest), ("worst_loss", loss)):
        claimed = recorded.get(key)
        if not isinstance(claimed, int | float) or abs(float(claimed) - value) > MARGINAL_TOLERANCE:
            problems.append(f"lottery.json records {key} {claimed}, the files give {value:.9g}")
    if problems:
        return Check("rounding", False, "; ".join(problems), figures)
    return Check(
        "rounding",
        True,
        f"largest change {largest:.6f} ({largest * m:.2f}/m), worst loss {loss:.6f}, within "
        f"the bound {bound:.6f} ({bound * m:.2f}/m; {n_types} types, k {k})",
        figures,
    )


def _check_draw(
    out: Path,
    document: dict[str, Any],
    pool: Pool,
    panels: list[npt.NDArray[np.intp] | None],
    digest: str,
) -> Check:
    """draw.json's random input gives its number by the rule, its members are that panel's,
    and panel.csv / remaining.csv hold them; or nothing has been drawn yet."""
    try:
        found = read_draw(out / "draw.json")
    except ValueError as exc:
        return Check("draw", False, str(exc))
    if found is None:
        stray = [name for name in ("panel.csv", "remaining.csv") if (out / name).exists()]
        if stray:
            return Check("draw", False, f"{', '.join(stray)} exist(s) without draw.json")
        return Check("draw", True, "not drawn yet (no draw.json)")
    record = found
    m = len(panels)
    problems = []
    if record.get("lottery_sha256") != digest:
        problems.append("draw.json was made from a lottery.json with another sha256")
    try:
        again = repeat_number(record.get("input") or {}, m).number
    except (BadInputError, KeyError, TypeError, ValueError) as exc:
        return Check("draw", False, f"draw.json's random input does not give a number: {exc}")
    number = record.get("number")
    if again != number:
        problems.append(f"the recorded random input gives panel {again}, draw.json says {number}")
    members = panels[again - 1]
    expected = sorted(pool.ids[i] for i in members) if members is not None else []
    if sorted(str(x) for x in record.get("members", [])) != expected:
        problems.append(f"draw.json's members are not those of panel {again}")
    chosen = [int(i) for i in members] if members is not None else []
    others = sorted(set(range(len(pool.ids))) - set(chosen))
    problems += _compare_files(out, pool, chosen, others, document, f"panel {again}")
    figures = {"number": again, "input": record.get("input")}
    if problems:
        return Check("draw", False, "; ".join(problems), figures)
    kind = (record.get("input") or {}).get("kind")
    return Check(
        "draw",
        True,
        f"the recorded {kind} input gives panel {again}; {_drawn_file(document)} and "
        "remaining.csv hold it",
        figures,
    )


def _audit_uniform(
    out: Path,
    document: dict[str, Any],
    model: Model,
    types: Model,
    pool: Pool,
    checks: list[Check],
    sha256: str | None,
) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.float64]]:
    """The checks of a uniform lottery for a public draw; returns the lottery it was rounded
    from (panels and marginals), for the optimality certificate."""
    hash_check, digest = _check_hash(out, sha256)
    checks.insert(0, hash_check)
    panels, unknown = _panel_indices(document, pool)
    checks.append(_check_panels(model, pool, panels, unknown))
    checks.append(_check_order(panels, "canonical order", repeats=True))
    probs = np.array([float(p.get("probability", np.nan)) for p in document["panels"]])
    checks.append(_check_uniform(document, probs))
    known = [p if p is not None else np.zeros(0, dtype=np.intp) for p in panels]
    after = Lottery(panels=known, probabilities=probs).marginals(model.n)
    earlier, unknown = _panel_indices(document, pool, "panels_before_rounding")
    checks.append(_check_panels(model, pool, earlier, unknown, "panels before rounding"))
    checks.append(_check_order(earlier, "canonical order before rounding"))
    earlier_probs = np.array(
        [float(p.get("probability", np.nan)) for p in document["panels_before_rounding"]]
    )
    checks.append(_check_probabilities(earlier_probs, "probabilities before rounding"))
    earlier_known = [p if p is not None else np.zeros(0, dtype=np.intp) for p in earlier]
    before = Lottery(panels=earlier_known, probabilities=earlier_probs).marginals(model.n)
    safe = bool(document.get("spreadsheet_safe"))
    checks.append(_check_marginals(out, pool, after, False, safe))
    checks.append(
        _check_marginals(
            out,
            pool,
            before,
            False,
            safe,
            "probability_before_rounding",
            "marginals before rounding",
        )
    )
    m = len(probs)
    checks.append(_check_symmetry(types, before, 0.0, "type symmetry before rounding"))
    checks.append(_check_symmetry(types, after, 1.0 / max(m, 1), "type symmetry"))
    checks.append(_check_rounding(document, model.k, types.n_types, before, after, pool.ids))
    checks.append(_check_draw(out, document, pool, panels, digest))
    return earlier_known, before


# --------------------------------------------------------------------------- certificates


# --------------------------------------------------------------------------- entry point


def audit(
    out: str | Path,
    registrants: str | Path,
    quotas: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    sha256: str | None = None,
    recompute: bool = True,
    progress: ProgressFn = no_progress,
    _chain: tuple[Path, ...] = (),
) -> AuditReport:
    """Check a selection folder against the registrants and quota files.

    Parameters
    ----------
    out
        The folder ``panelsel select`` wrote.
    registrants, quotas
        The files the selection claims to have used.
    delimiter, encoding
        How to read the registrants (default: as recorded in ``lottery.json``).
    sha256
        For a uniform lottery (``select --panels``): the hash of ``lottery.json`` as
        published (default: the ``lottery.sha256`` beside it).
    recompute
        Run the recorded algorithm again and compare its lottery with the file's (the
        ``recompute`` check; as slow as the selection itself).  Without it that check is
        reported as skipped.
    progress
        Called as ``progress(stage, done, total)`` after each check.
    _chain
        The rounds already being audited below this one (a replacement round audits the run
        it continues with this same function, down to the first selection).

    Returns
    -------
    AuditReport
        Every check with its outcome; ``passed`` is True only if all passed.

    Raises
    ------
    BadInputError
        A file is missing or unreadable, so that the audit cannot run.
    """
    out = Path(out)
    registrants, quotas = Path(registrants), Path(quotas)
    record = read_record(out / "lottery.json")
    document = record.document
    recorded_file = record.registrants_file
    delimiter = delimiter or recorded_file.delimiter
    encoding = encoding or recorded_file.encoding
    recorded_k = int(document["panel_size"])
    spec = load_quotas(
        quotas,
        panel_size=recorded_k if quotas.suffix.lower() == ".csv" else None,
        id_column=document.get("id_column"),
    )
    read = recorded_file.read_options(delimiter=delimiter, encoding=encoding)
    duplicates: Check | None
    try:
        pool = read_pool(registrants, spec, read)
        duplicates = _check_duplicates(pool, read)
    except BadInputError as error:
        if read.drop_duplicates is None:
            raise
        # the recorded way of dropping duplicates is refused (a forged or broken record):
        # the audit goes on over the whole pool, and fails
        pool = read_pool(
            registrants,
            spec,
            recorded_file.read_options(delimiter=delimiter, encoding=encoding, drop=False),
        )
        duplicates = Check(
            "duplicates",
            False,
            f"lottery.json says registrations were dropped as duplicates by "
            f"{read.drop_duplicates!r}, which panelsel refuses: {error.message}",
            {"column": read.drop_duplicates},
        )
    link = document.get("replacement")
    round_check: Check | None = None
    previous_check: Check | None = None
    if isinstance(link, dict):
        previous_path = locate_previous(link, out)  # one look for the run it continues
        round_check, pool, spec = _replacement_round(
            document, link, registrants, quotas, out, previous_path
        )
        previous_check = _check_previous_run(
            previous_path.parent,
            registrants,
            quotas,
            dict(delimiter=delimiter, encoding=encoding, recompute=recompute, progress=progress),
            (*_chain, out.resolve()),
        )
    strict = link is None
    model = build_model(pool, spec, compress_types=False, values_must_exist=strict)
    types = build_model(pool, spec, values_must_exist=strict)
    estimated = record.kind == "estimated"
    algorithm = str(document["algorithm"])
    known_algorithm = ALGORITHMS.get(algorithm)

    stage = "audit checks"
    progress(stage, 0, 6)
    files = _check_files(out, record.kind, document)
    if not files.passed:  # the other checks read these files
        return AuditReport(out=out, algorithm=str(document.get("algorithm")), checks=[files])
    checks = [
        files,
        _check_inputs(document, registrants, quotas),
        *([duplicates] if duplicates is not None else []),
        *([round_check] if round_check is not None else []),
        *([previous_check] if previous_check is not None else []),
        _check_method(document),
    ]
    if model.k != recorded_k:
        checks.append(
            Check(
                "panel size",
                False,
                f"the quota file asks for {model.k} seats, lottery.json records {recorded_k}",
            )
        )
    structure: tuple[str, ...]
    if record.kind == "published":
        known, marginals = _audit_uniform(out, document, model, types, pool, checks, sha256)
        structure = ("panels before rounding", "probabilities before rounding")
    elif record.grouped:
        known, marginals = _audit_grouped(out, document, model, types, pool, checks)
        structure = ("types", "panels", "probabilities")
    else:
        panels, unknown = _panel_indices(document, pool)
        checks.append(_check_panels(model, pool, panels, unknown))
        checks.append(_check_order(panels, "canonical order"))
        progress(stage, 2, 6)
        probs = np.array(
            [float(p.get("probability", np.nan)) for p in document["panels"]], dtype=np.float64
        )
        checks.append(_check_probabilities(probs))
        known = [p if p is not None else np.zeros(0, dtype=np.intp) for p in panels]
        lottery = Lottery(panels=known, probabilities=probs)
        marginals = lottery.marginals(model.n)
        safe = bool(document.get("spreadsheet_safe"))
        checks.append(_check_marginals(out, pool, marginals, estimated, safe))
        checks.append(_check_selected(out, document, model, pool, lottery, panels, estimated))
        if not estimated:
            checks.append(_check_symmetry(types, marginals, 0.0, "type symmetry"))
        structure = ("panels", "probabilities")
    progress(stage, 5, 6)
    # the certificate is about the lottery itself: its panels must be valid and its
    # probabilities a distribution; the other files do not matter to it
    structure_ok = all(c.passed for c in checks if c.name in structure)
    certificate = known_algorithm.certificate if known_algorithm is not None else None
    stats = document.get("stats")
    claims: dict[str, Any] = {
        "best_effort": document.get("proven_optimal", True) is False,
        "claimed": stats.get("lower_bound") if isinstance(stats, dict) else None,
    }
    levels = (
        leximin_certificate(
            model,
            marginals,
            levels_by_person(document.get("certificate"), document.get("types") or []),
            pool.ids,
            claims["best_effort"],
        )
        if certificate == "maximin" and structure_ok and algorithm == "leximin"
        else None
    )
    if levels is not None:
        checks.append(levels)
    elif certificate == "maximin" and structure_ok:
        checks.append(_stopped(maximin_certificate(model, known, marginals, pool.ids), claims))
    elif certificate == "nash" and structure_ok:
        checks.append(_stopped(nash_certificate(model, marginals), claims))
    elif certificate == "goldilocks" and structure_ok:
        a, b = model.n / model.k, recorded_gamma(document) * model.k / model.n
        checks.append(
            extremes_certificate(
                *(model, known, marginals, "goldilocks", a, b),
                ids=pool.ids,
                recorded=document.get("certificate"),
                **claims,
            )
        )
    elif certificate == "minimax" and structure_ok:
        checks.append(
            extremes_certificate(
                *(model, known, marginals, "minimax", 1.0, 0.0),
                ids=pool.ids,
                recorded=document.get("certificate"),
                **claims,
            )
        )
    elif certificate in ("maximin", "nash", "goldilocks", "minimax"):
        checks.append(
            Check("optimality", False, "not checked: the lottery itself failed a check above")
        )
    elif certificate == "none":
        checks.append(
            Check(
                "optimality",
                True,
                "not applicable: legacy makes no optimality claim (its probabilities are "
                "Monte-Carlo estimates; the recompute check repeats its runs)",
            )
        )
    else:
        checks.append(Check("optimality", False, f"no certificate exists for {algorithm!r}"))
    if not recompute:
        checks.append(
            Check(
                "recompute",
                True,
                "skipped (--no-recompute): the checks above show that this lottery is valid "
                "and fair, not that it is the one the recorded algorithm and seed give",
                skipped=True,
            )
        )
    elif known_algorithm is not None:
        progress("recomputing the lottery", 0, 1)
        checks.append(_check_recompute(document, pool, spec, progress))
    progress(stage, 6, 6)
    return AuditReport(
        out=out,
        algorithm=algorithm,
        checks=checks,
        proven_optimal=document.get("proven_optimal") is not False,
    )
