"""The recompute check: the recorded algorithm run again on the inputs, its lottery
compared with the file's."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from panelsel.audit.certificates import (
    Check,
)
from panelsel.defaults import (
    DEFAULT_GAMMA,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.errors import BadInputError, PanelselError
from panelsel.inputs.model import build_model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec
from panelsel.progress import ProgressFn
from panelsel.solve.backends import SolverConfig
from panelsel.solve.protocol import Request
from panelsel.versions import differing_versions, matching_install


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


def recompute_skipped() -> Check:
    """The ``recompute`` check when the audit was asked not to run it."""
    return Check(
        "recompute",
        True,
        "skipped (--no-recompute): the checks above show that this lottery is valid "
        "and fair, not that it is the one the recorded algorithm and seed give",
        skipped=True,
    )


def check_recompute(
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
        # the lottery and its draw (or rounding), compared below; who has no chance is
        # not explained again
        result = compute(
            model, algorithm, config, request, publish=publish, progress=progress, explain=False
        )
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
