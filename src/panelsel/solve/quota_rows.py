"""The one builder of the panel rules over type counts ``c`` (one variable per type).

Every solver model states the same rules: ``sum_t c_t = k``; for each quota value ``j``,
``min_j <= sum_{t has j} c_t <= max_j``; for each household the rule binds, at most
``max_per_household`` of its (singleton) types.  The models differ only in which bounds
they keep (the pricing ILP drops those no panel can break; the quota ILP of ``check`` keeps
a minimum and a maximum as separate rows so that either can be dropped), so they share the
pieces here.  The audit deliberately builds its own rules over people
(:func:`panelsel.audit.certificates.quota_rows`), independently of these.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from panelsel.inputs.model import Feature, Model
from panelsel.solve.backends import INFINITY, Backend


def value_types(model: Model) -> list[npt.NDArray[np.intp]]:
    """For each quota value, the types whose members have it."""
    tf = model.type_features
    return [np.flatnonzero(tf[:, j]) for j in range(len(model.features))]


def min_binds(feature: Feature) -> bool:
    """A minimum of 0 can never be broken."""
    return feature.min > 0


def max_binds(model: Model, feature: Feature) -> bool:
    """A maximum at or above the panel size or the value's pool count can never be broken."""
    return feature.max < min(model.k, feature.pool_count)


def add_panel_size_row(lp: Backend, model: Model) -> None:
    """``sum_t c_t = k`` over the first ``T`` variables."""
    T = model.n_types
    lp.add_row(model.k, model.k, np.arange(T), np.ones(T))


def add_value_rows(lp: Backend, model: Model, *, binding_only: bool) -> int:
    """One row per quota value; returns how many were added.

    ``binding_only``: drop the bounds no panel can break (and a row with neither).
    Otherwise every value gets ``min_j <= . <= min(max_j, k)``, so that row ``j`` of the
    block is value ``j`` (the LP relaxation reads its duals by position).
    """
    added = 0
    for f, members in zip(model.features, value_types(model), strict=True):
        if binding_only:
            lo = float(f.min) if min_binds(f) else -INFINITY
            hi = float(f.max) if max_binds(model, f) else INFINITY
            if lo == -INFINITY and hi == INFINITY:
                continue
        else:
            lo, hi = float(f.min), float(min(f.max, model.k))
        lp.add_row(lo, hi, members, np.ones(len(members)))
        added += 1
    return added


def add_household_rows(lp: Backend, model: Model) -> None:
    """At most its bound (``Model.household_caps``) selected from each household the rule
    binds."""
    for types, cap in zip(model.households, model.household_caps, strict=True):
        lp.add_row(-INFINITY, float(cap), types, np.ones(len(types)))
