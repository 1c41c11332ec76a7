"""A replacement round whose seats no panel can fill within the quotas: the smallest
loosening of the round's bounds that can (``replace --loosen``), the quota file it gives,
and the note that says so.  ``replace`` takes it; the audit derives it again."""

from __future__ import annotations

from panelsel.inputs.model import Model
from panelsel.inputs.quotas import QuotaSpec, with_bounds
from panelsel.inputs.residual import Residual
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import QuotaChange, minimal_relaxation


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
