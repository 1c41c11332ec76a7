"""The optimality check: each algorithm's certificate, checked by the audit's own solves.

One checker per kind of certificate (:data:`CHECKERS`, keyed by
:data:`panelsel.solve.protocol.Certificate`); an algorithm's registry entry names its kind
(and, for an objective over the extremes, its coefficients), so that a new algorithm with
a known kind of certificate needs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.audit.certificates import (
    Check,
    extremes_certificate,
    levels_by_person,
    leximin_certificate,
    maximin_certificate,
    nash_certificate,
)
from panelsel.audit.recompute import recorded_gamma
from panelsel.inputs.model import Model
from panelsel.solve.protocol import Algorithm


@dataclass(frozen=True)
class Evidence:
    """What a certificate is checked against: the audit's model of the pool, the lottery's
    panels (as pool rows) and marginals, the ids, the record, and what it claims (``best_effort``:
    stopped at its time limit; ``claimed``: a recorded lower bound)."""

    model: Model
    panels: list[npt.NDArray[np.intp]]
    marginals: npt.NDArray[np.float64]
    ids: list[str]
    document: dict[str, Any]
    claims: dict[str, Any]


def claims_of(document: dict[str, Any]) -> dict[str, Any]:
    """What a lottery claims of itself: ``best_effort`` (stopped at its time limit, so no
    optimality claimed) and ``claimed`` (a recorded lower bound of its objective)."""
    stats = document.get("stats")
    return {
        "best_effort": document.get("proven_optimal", True) is False,
        "claimed": stats.get("lower_bound") if isinstance(stats, dict) else None,
    }


def stopped(check: Check, claims: dict[str, Any]) -> Check:
    """A failed certificate of a lottery that claims no optimality (stopped at its time
    limit) says so first, as the certificates that state a bound do."""
    if check.passed or not claims.get("best_effort"):
        return check
    check.detail = "not proven optimal (stopped at its time limit): " + check.detail
    return check


def _levels(e: Evidence, algorithm: Algorithm) -> Check:
    """LEXIMIN: every recorded level; a file without levels (older runs) gets the maximin
    bound of its first level."""
    recorded = levels_by_person(e.document.get("certificate"), e.document.get("types") or [])
    check = leximin_certificate(e.model, e.marginals, recorded, e.ids, e.claims["best_effort"])
    return check if check is not None else _maximin(e, algorithm)


def _maximin(e: Evidence, _: Algorithm) -> Check:
    return stopped(maximin_certificate(e.model, e.panels, e.marginals, e.ids), e.claims)


def _nash(e: Evidence, _: Algorithm) -> Check:
    return stopped(nash_certificate(e.model, e.marginals), e.claims)


def _extremes(e: Evidence, algorithm: Algorithm) -> Check:
    assert algorithm.extremes is not None, f"{algorithm.name} names no objective"
    a, b = algorithm.extremes(e.model.n, e.model.k, recorded_gamma(e.document))
    return extremes_certificate(
        *(e.model, e.panels, e.marginals, algorithm.name, a, b),
        ids=e.ids,
        recorded=e.document.get("certificate"),
        **e.claims,
    )


def _none(_: Evidence, __: Algorithm) -> Check:
    return Check(
        "optimality",
        True,
        "not applicable: legacy makes no optimality claim (its probabilities are "
        "Monte-Carlo estimates; the recompute check repeats its runs)",
    )


CHECKERS: dict[str, Callable[[Evidence, Algorithm], Check]] = {
    "levels": _levels,
    "maximin": _maximin,
    "nash": _nash,
    "extremes": _extremes,
    "none": _none,
}
"""The checker of each kind of certificate."""


def optimality(
    evidence: Evidence, algorithm: Algorithm | None, name: str, structure_ok: bool
) -> Check:
    """The ``optimality`` check of a lottery made by ``algorithm`` (None: a name panelsel
    does not know), when its panels and probabilities passed (``structure_ok``)."""
    if algorithm is None or algorithm.certificate not in CHECKERS:
        return Check("optimality", False, f"no certificate exists for {name!r}")
    if algorithm.certificate != "none" and not structure_ok:
        return Check("optimality", False, "not checked: the lottery itself failed a check above")
    return CHECKERS[algorithm.certificate](evidence, algorithm)
