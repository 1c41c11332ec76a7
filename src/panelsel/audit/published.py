"""The checks of a uniform lottery published for a public draw: its hash, the numbered
panels, the rounding from the optimal lottery, and the draw made from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.audit.certificates import (
    Check,
)
from panelsel.audit.files import compare_files, drawn_file_name
from panelsel.audit.lottery import (
    MARGINAL_TOLERANCE,
    SUM_TOLERANCE,
    check_marginals,
    check_order,
    check_panels,
    check_probabilities,
    check_symmetry,
    panel_indices,
)
from panelsel.digest import sha256_hex
from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.lotteries import Lottery
from panelsel.lottery.public import repeat_number
from panelsel.lottery.rounding import ROUNDING_TOLERANCE, uniform_bound
from panelsel.outputs.names import DRAW, LOTTERY, PANEL, REMAINING
from panelsel.outputs.record import (
    published_hash,
    read_draw,
)


def check_hash(out: Path, sha256: str | None) -> tuple[Check, str]:
    """lottery.json against the published hash (``sha256``, else ``lottery.sha256``)."""
    digest = sha256_hex((out / LOTTERY).read_bytes())
    try:
        expected, source = published_hash(out / LOTTERY, sha256)
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


def check_uniform(document: dict[str, Any], probs: npt.NDArray[np.float64]) -> Check:
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


def check_rounding(
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


def check_draw(
    out: Path,
    document: dict[str, Any],
    pool: Pool,
    panels: list[npt.NDArray[np.intp] | None],
    digest: str,
) -> Check:
    """draw.json's random input gives its number by the rule, its members are that panel's,
    and panel.csv / remaining.csv hold them; or nothing has been drawn yet."""
    try:
        found = read_draw(out / DRAW)
    except ValueError as exc:
        return Check("draw", False, str(exc))
    if found is None:
        stray = [name for name in (PANEL, REMAINING) if (out / name).exists()]
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
    problems += compare_files(out, pool, chosen, others, document, f"panel {again}")
    figures = {"number": again, "input": record.get("input")}
    if problems:
        return Check("draw", False, "; ".join(problems), figures)
    kind = (record.get("input") or {}).get("kind")
    return Check(
        "draw",
        True,
        f"the recorded {kind} input gives panel {again}; {drawn_file_name(document)} and "
        "remaining.csv hold it",
        figures,
    )


def audit_uniform(
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
    hash_check, digest = check_hash(out, sha256)
    checks.insert(0, hash_check)
    panels, unknown = panel_indices(document, pool)
    checks.append(check_panels(model, pool, panels, unknown))
    checks.append(check_order(panels, "canonical order", repeats=True))
    probs = np.array([float(p.get("probability", np.nan)) for p in document["panels"]])
    checks.append(check_uniform(document, probs))
    known = [p if p is not None else np.zeros(0, dtype=np.intp) for p in panels]
    after = Lottery(panels=known, probabilities=probs).marginals(model.n)
    earlier, unknown = panel_indices(document, pool, "panels_before_rounding")
    checks.append(check_panels(model, pool, earlier, unknown, "panels before rounding"))
    checks.append(check_order(earlier, "canonical order before rounding"))
    earlier_probs = np.array(
        [float(p.get("probability", np.nan)) for p in document["panels_before_rounding"]]
    )
    checks.append(check_probabilities(earlier_probs, "probabilities before rounding"))
    earlier_known = [p if p is not None else np.zeros(0, dtype=np.intp) for p in earlier]
    before = Lottery(panels=earlier_known, probabilities=earlier_probs).marginals(model.n)
    safe = bool(document.get("spreadsheet_safe"))
    checks.append(check_marginals(out, pool, after, False, safe))
    checks.append(
        check_marginals(
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
    checks.append(check_symmetry(types, before, 0.0, "type symmetry before rounding"))
    checks.append(check_symmetry(types, after, 1.0 / max(m, 1), "type symmetry"))
    checks.append(check_rounding(document, model.k, types.n_types, before, after, pool.ids))
    checks.append(check_draw(out, document, pool, panels, digest))
    return earlier_known, before
