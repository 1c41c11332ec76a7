"""The audit's optimality certificates, from its own scipy models of the quotas.

Nothing here uses the solver code that made the lottery: the panel rules are rebuilt from
the feature matrix (:func:`quota_rows`), panels are found by scipy's ``milp`` and bounds by
its ``linprog``.

``maximin`` (leximin, maximin)
    Dual weights ``y >= 0`` over people, summing to 1, from the maximin LP over the
    lottery's panels, and the largest ``y``-weight of any valid panel.  For every lottery,
    ``min_i pi_i <= sum_i y_i pi_i = E[y(panel)] <= max_panel y(panel)``, so that maximum
    bounds every lottery's minimum; the check passes when it is within
    ``CERTIFICATE_TOLERANCE`` of the lottery's minimum.  If a panel beats the bound, it joins
    the LP and the bound is recomputed (column generation, at most ``CERTIFICATE_ROUNDS``
    rounds), so a failure reports a lottery that does better.  The maximin value of the
    quotas' LP relaxation is tried first: where it is attained, it is the certificate.
``nash``
    No valid panel has ``sum_i 1/pi_i`` above ``n (1 + NASH_AUDIT_TOLERANCE)``, which bounds
    the gap of ``sum_i log pi_i`` to the optimum (:mod:`panelsel.solve.algorithms.nash`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from panelsel.errors import BadInputError
from panelsel.inputs.model import Model

CERTIFICATE_TOLERANCE = 1e-6
"""The maximin bound may exceed the lottery's minimum by this much."""
NASH_AUDIT_TOLERANCE = 1e-6
CERTIFICATE_ROUNDS = 200
MILP_INTEGRALITY = 1e-6


@dataclass
class Check:
    """One audit check: its name, outcome and what was measured."""

    name: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    """Not run (``--no-recompute``, or it cannot be); ``detail`` says why.  A skipped check
    does not fail the audit, and the report says that it was skipped."""


def quota_rows(model: Model) -> tuple[sp.csr_matrix, list[float], list[float]]:
    """The panel rules over people as ``lo <= A x <= hi``: the panel size, each value's
    quota and each household's bound (built here from the feature matrix, independently of
    the solvers' models)."""
    n = model.n
    lo: list[float] = [model.k, *(f.min for f in model.features)]
    hi: list[float] = [model.k, *(f.max for f in model.features)]
    house_rows, house_cols = [], []
    for h, types in enumerate(model.households):
        for t in types:
            house_cols.extend(model.type_members[t].tolist())
            house_rows.extend([h] * len(model.type_members[t]))
        lo.append(0)
        hi.append(model.household_caps[h])
    households = sp.csr_matrix(
        (np.ones(len(house_rows)), (house_rows, house_cols)), shape=(len(model.households), n)
    )
    matrix = sp.vstack(
        [
            sp.csr_matrix(np.ones((1, n))),
            sp.csr_matrix(model.person_features.T.astype(np.float64)),
            households,
        ]
    ).tocsr()
    return matrix, lo, hi


def panel_milp(model: Model, weights: npt.NDArray[np.float64]) -> tuple[float, list[int]]:
    """The valid panel of largest total weight, by scipy's MILP over people."""
    matrix, lo, hi = quota_rows(model)
    res = milp(
        -weights,
        constraints=[LinearConstraint(matrix, lo, hi)],
        integrality=np.ones(model.n),
        bounds=Bounds(0, 1),
    )
    if res.status != 0 or res.x is None:
        raise BadInputError(
            f"the quotas admit no panel in the audit's own model ({res.message})",
            hint="the quota file may have been edited since the selection",
        )
    chosen = np.flatnonzero(res.x > 1 - MILP_INTEGRALITY).tolist()
    return float(-res.fun), chosen


def identical_groups(model: Model) -> list[npt.NDArray[np.intp]]:
    """People with the same quota values and in no household the rule binds, grouped (by
    the audit itself, from the feature matrix): the LP relaxation treats them alike."""
    in_house = {int(p) for types in model.households for t in types for p in model.type_members[t]}
    groups: dict[bytes, list[int]] = {}
    for i in range(model.n):
        key = b"h%d" % i if i in in_house else model.person_features[i].tobytes()
        groups.setdefault(key, []).append(i)
    return [np.array(g, dtype=np.intp) for g in groups.values()]


def relaxation_bound(model: Model) -> float | None:
    """The maximin value of the quotas' LP relaxation (people may be selected fractionally):
    ``max z`` s.t. ``x`` meets the panel rules, ``0 <= x <= 1``, ``x_i >= z``.  Every
    lottery's marginals are such an ``x``, so no lottery's minimum exceeds it.  None if the
    LP fails.

    The LP is symmetric in people with the same quota values outside binding households,
    and it is convex, so averaging an optimum over each such group is optimal too: it is
    solved over the groups' totals ``X_g`` (``0 <= X_g <= |g|``, ``X_g >= |g| z``), which on
    20,000 registrants took 0.1 s instead of 20.9 s over people."""
    groups = identical_groups(model)
    g = len(groups)
    sizes = np.array([len(m) for m in groups], dtype=np.float64)
    matrix, lo, hi = quota_rows(model)
    # the groups' columns: a group's people have equal columns, so any one stands for all
    rules = matrix.tocsc()[:, [int(m[0]) for m in groups]].tocsr()
    rules = sp.hstack([rules, sp.csr_matrix((rules.shape[0], 1))]).tocsr()
    floor = sp.hstack([-sp.identity(g, format="csr"), sp.csr_matrix(sizes.reshape(-1, 1))]).tocsr()
    res = linprog(
        np.r_[np.zeros(g), -1.0],
        A_ub=sp.vstack([rules, -rules, floor]).tocsr(),
        b_ub=np.r_[np.array(hi, dtype=float), -np.array(lo, dtype=float), np.zeros(g)],
        bounds=[(0, float(n)) for n in sizes] + [(None, None)],
        method="highs",
    )
    if res.status != 0:
        return None
    return float(-res.fun)


def maximin_certificate(
    model: Model,
    panels: list[npt.NDArray[np.intp]],
    marginals: npt.NDArray[np.float64],
    ids: list[str] | None = None,
) -> Check:
    n = model.n
    ours = float(marginals.min())
    columns = [p for p in panels]
    if ours <= CERTIFICATE_TOLERANCE:
        # someone has probability 0: optimal only if no valid panel contains them
        i = int(np.argmin(marginals))
        who = repr(ids[i]) if ids is not None else f"in row {i + 2}"
        weights = np.zeros(n)
        weights[i] = 1.0
        reach, _ = panel_milp(model, weights)
        ok = reach < 0.5
        detail = (
            f"registrant {who} has probability {ours:.3g} and no valid panel contains them"
            if ok
            else f"registrant {who} has probability {ours:.3g} although a valid panel contains "
            "them: a lottery with a higher minimum may exist"
        )
        return Check("optimality", ok, detail, {"minimum": ours, "bound": ours if ok else None})
    relaxed = relaxation_bound(model)
    if relaxed is not None and relaxed <= ours + CERTIFICATE_TOLERANCE:
        return Check(
            "optimality",
            True,
            f"no lottery gives everyone more than {relaxed:.9f} (the maximin value of the "
            f"quotas' LP relaxation); this one gives at least {ours:.9f}",
            {"minimum": ours, "bound": relaxed},
        )
    # the relaxation has a gap: column generation over real panels, from the lottery's own
    bound = np.inf
    for _ in range(CERTIFICATE_ROUNDS):
        r = len(columns)
        inc = sp.lil_matrix((n, r))
        for j, members in enumerate(columns):
            inc[members, j] = 1.0
        # max z s.t. inc p >= z, sum p = 1, p >= 0; variables (p, z)
        a_ub = sp.hstack([-inc.tocsr(), sp.csr_matrix(np.ones((n, 1)))])
        res = linprog(
            np.r_[np.zeros(r), -1.0],
            A_ub=a_ub,
            b_ub=np.zeros(n),
            A_eq=np.r_[np.ones(r), 0.0][None, :],
            b_eq=[1.0],
            bounds=[(0, None)] * r + [(None, None)],
            method="highs",
        )
        if res.status != 0:
            return Check("optimality", False, f"the certificate LP failed: {res.message}")
        y = np.maximum(-res.ineqlin.marginals, 0.0)
        y = y / y.sum()
        bound, best = panel_milp(model, y)
        if bound <= ours + CERTIFICATE_TOLERANCE:
            return Check(
                "optimality",
                True,
                f"no lottery gives everyone more than {bound:.9f}; this one gives at least "
                f"{ours:.9f} (dual weights over {int((y > 0).sum())} registrants)",
                {"minimum": ours, "bound": bound},
            )
        columns.append(np.array(best, dtype=np.intp))
        if -res.fun > ours + CERTIFICATE_TOLERANCE:
            return Check(
                "optimality",
                False,
                f"a lottery over {r} panels gives everyone at least {-res.fun:.9f}, more than "
                f"this lottery's minimum {ours:.9f}",
                {"minimum": ours, "bound": bound, "better": float(-res.fun)},
            )
    return Check(
        "optimality",
        False,
        f"no certificate after {CERTIFICATE_ROUNDS} rounds: the best bound found is "
        f"{bound:.9f}, the lottery's minimum {ours:.9f}",
        {"minimum": ours, "bound": bound},
    )


def nash_certificate(model: Model, marginals: npt.NDArray[np.float64]) -> Check:
    counted = marginals > 0
    weights = np.where(counted, 1.0 / np.where(counted, marginals, 1.0), 0.0)
    n = float(counted.sum())
    best, _ = panel_milp(model, weights)
    gap = (best - n) / n
    figures = {"gap": gap, "counted": int(n)}
    if gap <= NASH_AUDIT_TOLERANCE:
        return Check(
            "optimality",
            True,
            f"sum of log probabilities within {max(gap, 0):.1e} x n of the optimum "
            "(no valid panel has a larger sum of 1/probability)",
            figures,
        )
    return Check(
        "optimality",
        False,
        f"a valid panel has sum of 1/probability {best:.6f} > n = {n:.0f}: the Nash welfare "
        f"can rise by up to {gap:.2e} x n",
        figures,
    )
