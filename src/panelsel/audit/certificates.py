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
``goldilocks``, ``minimax``
    Weights ``alpha, beta >= 0`` over people from the audit's own LP over the lottery's
    panels bound every lottery's objective from below (:func:`extremes_certificate`); the
    check passes when the bound is within ``CERTIFICATE_TOLERANCE`` (relative) of the
    lottery's objective.
``nash``
    No valid panel has ``sum_i 1/pi_i`` above ``n (1 + NASH_AUDIT_TOLERANCE)``, which bounds
    the gap of ``sum_i log pi_i`` to the optimum (:mod:`panelsel.solve.algorithms.nash`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
EXTREMES_AUDIT_TOLERANCE = 1e-5
"""The Goldilocks / MINIMAX lower bound may be below the lottery's objective by this share
(the solver stops within ``GOLDILOCKS_GAP_TOLERANCE``, 1e-6; the audit's MILP has its own
tolerances)."""
CERTIFICATE_ROUNDS = 200
TANGENT_PRECISION = 1e-12
"""The audit's Goldilocks search stops moving its tangent when the bracket around the
bound's peak is this narrow (relative)."""
MILP_INTEGRALITY = 1e-6
AUDIT_MIP_GAP = 1e-9
"""The relative gap to which the audit solves a MILP whose optimum enters a bound."""
RELABELLED = " (each relabelled at random among people with the same quota values)"


@dataclass
class Check:
    """One audit check: its name, outcome and what was measured."""

    name: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    """Not run because the user asked (``--no-recompute``); ``detail`` says why.  A skipped
    check does not fail the audit, and the report says that it was skipped."""
    inconclusive: bool = False
    """Run (or due) but unable to decide: the recompute of a run made with other software
    versions that gives other bytes, or of a run that stopped at its time limit.  It does
    not fail the audit, but the selection is then *not verified*: the verdict says so and
    the command exits :data:`panelsel.errors.EXIT_NOT_VERIFIED`."""


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


def panel_milp_bound(
    model: Model,
    weights: npt.NDArray[np.float64],
    groups: list[npt.NDArray[np.intp]] | None = None,
) -> float:
    """An upper bound on the largest total weight of any valid panel: the dual bound of
    scipy's MILP solved to a relative gap of :data:`AUDIT_MIP_GAP` (its incumbent alone
    could lie below the maximum, which would make a bound built on it too strong).

    With ``groups`` (:func:`identical_groups`), when every group's people have equal
    weights, the MILP counts people per group (``0 <= x_g <= |g|``, integer), which is the
    same problem: people of a group are interchangeable in every panel rule.  On a pool of
    20,000 in 29 groups that is 29 variables instead of 20,000."""
    matrix, lo, hi = quota_rows(model)
    uniform = groups is not None and all(
        np.all(weights[g] == weights[g[0]]) for g in groups if len(g)
    )
    if groups is not None and uniform:
        first = [int(g[0]) for g in groups]
        # per group: its count of seats; a rule's coefficient is the group's people's
        rules = matrix.tocsc()[:, first]
        res = milp(
            -np.array([weights[i] for i in first]),
            constraints=[LinearConstraint(rules, lo, hi)],
            integrality=np.ones(len(groups)),
            bounds=Bounds(0, np.array([len(g) for g in groups], dtype=np.float64)),
            options={"mip_rel_gap": AUDIT_MIP_GAP},
        )
    else:
        res = milp(
            -weights,
            constraints=[LinearConstraint(matrix, lo, hi)],
            integrality=np.ones(model.n),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": AUDIT_MIP_GAP},
        )
    if res.status != 0 or res.x is None:
        raise BadInputError(
            f"the quotas admit no panel in the audit's own model ({res.message})",
            hint="the quota file may have been edited since the selection",
        )
    dual = getattr(res, "mip_dual_bound", None)
    best = float(-res.fun)
    if dual is None or not np.isfinite(dual):
        return best + AUDIT_MIP_GAP * abs(best)
    return max(best, float(-dual))


def identical_groups(model: Model) -> list[npt.NDArray[np.intp]]:
    """People with the same quota values and in no household the rule binds, grouped (by
    the audit itself, from the feature matrix): the LP relaxation treats them alike."""
    in_house = {int(p) for types in model.households for t in types for p in model.type_members[t]}
    groups: dict[bytes, list[int]] = {}
    for i in range(model.n):
        key = b"h%d" % i if i in in_house else model.person_features[i].tobytes()
        groups.setdefault(key, []).append(i)
    return [np.array(g, dtype=np.intp) for g in groups.values()]


def relaxation_bound(model: Model, counted: npt.NDArray[np.bool_] | None = None) -> float | None:
    """The maximin value of the quotas' LP relaxation (people may be selected fractionally):
    ``max z`` s.t. ``x`` meets the panel rules, ``0 <= x <= 1``, ``x_i >= z``.  Every
    lottery's marginals are such an ``x``, so no lottery's minimum exceeds it.  None if the
    LP fails.

    The LP is symmetric in people with the same quota values outside binding households,
    and it is convex, so averaging an optimum over each such group is optimal too: it is
    solved over the groups' totals ``X_g`` (``0 <= X_g <= |g|``, ``X_g >= |g| z``), which on
    20,000 registrants took 0.1 s instead of 20.9 s over people.  With ``counted``, only
    those people's floors count (the others are in no valid panel)."""
    groups = identical_groups(model)
    g = len(groups)
    sizes = np.array([len(m) for m in groups], dtype=np.float64)
    matrix, lo, hi = quota_rows(model)
    # the groups' columns: a group's people have equal columns, so any one stands for all
    rules = matrix.tocsc()[:, [int(m[0]) for m in groups]].tocsr()
    rules = sp.hstack([rules, sp.csr_matrix((rules.shape[0], 1))]).tocsr()
    floor = sp.hstack([-sp.identity(g, format="csr"), sp.csr_matrix(sizes.reshape(-1, 1))]).tocsr()
    if counted is not None:  # (a group's people are alike: all counted, or none)
        floor = floor[[i for i, m in enumerate(groups) if counted[m].all()]]
    res = linprog(
        np.r_[np.zeros(g), -1.0],
        A_ub=sp.vstack([rules, -rules, floor]).tocsr(),
        b_ub=np.r_[np.array(hi, dtype=float), -np.array(lo, dtype=float), np.zeros(floor.shape[0])],
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
    columns = [p for p in panels]
    zero = marginals <= CERTIFICATE_TOLERANCE
    if zero.any():
        # people with no chance: right only if no valid panel holds any of them (one MILP
        # over all of them); then MAXIMIN is over the others, or the check says nothing
        reach, best = panel_milp(model, zero.astype(np.float64))
        if reach >= 0.5:
            i = next(j for j in best if zero[j])
            who = repr(ids[i]) if ids is not None else f"in row {i + 2}"
            return Check(
                "optimality",
                False,
                f"registrant {who} has probability {marginals[i]:.3g} although a valid panel "
                "contains them: a lottery with a higher minimum exists",
                {"minimum": float(marginals[i]), "bound": None},
            )
        if zero.all():
            return Check("optimality", True, "no valid panel contains anyone", {"minimum": 0.0})
    counted = ~zero
    ours = float(marginals[counted].min())
    never = int(zero.sum())
    among = (
        f" among the {int(counted.sum())} registrants some valid panel contains (the other "
        f"{never} are in none)"
        if never
        else ""
    )
    relaxed = relaxation_bound(model, counted)
    if relaxed is not None and relaxed <= ours + CERTIFICATE_TOLERANCE:
        return Check(
            "optimality",
            True,
            f"no lottery gives everyone{among} more than {relaxed:.9f} (the maximin value of "
            f"the quotas' LP relaxation); this one gives at least {ours:.9f}",
            {"minimum": ours, "bound": relaxed, "never_selectable": never},
        )
    # the relaxation has a gap: column generation over real panels, from the lottery's own,
    # with one LP row per group of interchangeable people
    groups = identical_groups(model)
    to_groups = _to_groups(groups, n)
    kept = [g for g, members in enumerate(groups) if counted[members].all()]
    bound = np.inf
    for _ in range(CERTIFICATE_ROUNDS):
        r = len(columns)
        inc = _group_shares(columns, to_groups)[kept]
        rows = inc.shape[0]
        # max z s.t. inc p >= z, sum p = 1, p >= 0; variables (p, z)
        a_ub = sp.hstack([-inc, sp.csr_matrix(np.ones((rows, 1)))])
        res = linprog(
            np.r_[np.zeros(r), -1.0],
            A_ub=a_ub,
            b_ub=np.zeros(rows),
            A_eq=np.r_[np.ones(r), 0.0][None, :],
            b_eq=[1.0],
            bounds=[(0, None)] * r + [(None, None)],
            method="highs",
        )
        if res.status != 0:
            return Check("optimality", False, f"the certificate LP failed: {res.message}")
        per_group = np.zeros(len(groups))
        per_group[kept] = np.maximum(-res.ineqlin.marginals, 0.0)
        y = np.asarray(to_groups @ per_group)
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
                f"a lottery over {r} panels{RELABELLED} gives everyone at least {-res.fun:.9f}, "
                "more than "
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


@dataclass(frozen=True)
class _Level:
    value: float
    bound: float
    members: npt.NDArray[np.intp]
    weights: npt.NDArray[np.float64]


def _recorded_levels(recorded: object, ids: list[str], n: int) -> list[_Level] | str:
    """LEXIMIN's recorded levels by person index, or what is wrong with them."""
    levels = recorded.get("levels") if isinstance(recorded, dict) else None
    if not isinstance(levels, list) or not levels:
        return "its 'levels' are missing or empty"
    index = {pid: i for i, pid in enumerate(ids)}
    out = []
    for number, level in enumerate(levels, start=1):
        where = f"level {number}"
        if not isinstance(level, dict):
            return f"{where} is not an object"
        value, bound = level.get("value"), level.get("bound")
        members, weights = level.get("members"), level.get("weights")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (value, bound)):
            return f"{where} has no finite 'value' and 'bound'"
        if not isinstance(members, list) or not isinstance(weights, dict):
            return f"{where} has no 'members' list and 'weights' object"
        unknown = [m for m in [*members, *weights] if m not in index]
        if unknown:
            return f"{where} names {unknown[0]!r}, who is not in the pool"
        w = np.zeros(n)
        for pid, weight in weights.items():
            if not isinstance(weight, (int, float)) or not (math.isfinite(weight) and weight >= 0):
                return f"{where} gives {pid!r} the weight {weight!r}"
            w[index[pid]] = float(weight)
        chosen = np.array([index[m] for m in members], dtype=np.intp)
        out.append(_Level(float(value), float(bound), chosen, w))  # type: ignore[arg-type]
    return out


def levels_by_person(recorded: object, types: list[list[str]]) -> object:
    """A certificate recorded over types (``types`` numbers and weights keyed by type number,
    for lottery.json's ``types``) in the form by person id; anything else unchanged, and
    entries that do not fit left for :func:`leximin_certificate` to refuse."""
    levels = recorded.get("levels") if isinstance(recorded, dict) else None
    if not isinstance(levels, list):
        return recorded
    out = []
    for level in levels:
        if not isinstance(level, dict) or "types" not in level:
            out.append(level)
            continue
        chosen, weights = level.get("types"), level.get("weights")
        try:
            members = [pid for t in chosen for pid in types[t]]  # type: ignore[union-attr]
            by_person = {
                pid: w
                for t, w in weights.items()  # type: ignore[union-attr]
                for pid in types[int(t)]
            }
        except (TypeError, ValueError, IndexError, AttributeError):
            out.append({**level, "members": None})
            continue
        out.append({**level, "members": members, "weights": by_person})
    return {**recorded, "levels": out}  # type: ignore[dict-item]


def leximin_certificate(
    model: Model,
    marginals: npt.NDArray[np.float64],
    recorded: object,
    ids: list[str],
    best_effort: bool = False,
) -> Check | None:
    """LEXIMIN's certificate: every level's Lagrangian weights, checked with the audit's
    own MILP (:class:`panelsel.lotteries.LevelProof` states the argument).  None when
    lottery.json records no levels (files written before they were recorded: the caller
    then checks the first level alone, :func:`maximin_certificate`).

    For level ``l`` with members ``M``, value ``v``, weights ``w`` and the members of
    earlier levels ``F`` held at their levels' values ``f``: every valid panel has
    ``w(panel) <= W`` (the MILP's dual bound), so every lottery that gives ``F`` at least
    ``f`` gives someone outside ``F`` at most ``B = (W - sum_F w f) / sum_(not F) w``.  The
    level is proven when ``B <= v + CERTIFICATE_TOLERANCE``, the lottery gives ``M`` and
    everyone outside ``F`` at least ``v - CERTIFICATE_TOLERANCE``, and every member of ``M``
    has a positive weight (so every lottery that does as well gives them exactly ``v``).  A
    level at 1 (within the tolerance) needs no weights: no probability is higher.  Every
    registrant must be the member of one level.  A best-effort lottery's last level
    has no members: its ``B`` is the bound on how far from optimal the lottery is there,
    compared with the ``bound`` lottery.json states.

    Longer than most (about 140 lines): the levels are checked in order, each against the
    people the levels below it fixed, so the loop carries that state from one to the next."""
    n = model.n
    if not isinstance(recorded, dict) or "levels" not in recorded:
        return None
    levels = _recorded_levels(recorded, ids, n)
    if isinstance(levels, str):
        return Check(
            "optimality", False, f"lottery.json's LEXIMIN certificate is malformed: {levels}"
        )
    seen = np.zeros(n, dtype=bool)
    floors = np.zeros(n)
    groups = identical_groups(model)
    proven = 0
    bounds: list[float] = []  # what each proven level's weights prove
    for number, level in enumerate(levels, start=1):
        members, w = level.members, level.weights
        last = number == len(levels)
        if seen[members].any() or len(np.unique(members)) != len(members):
            return Check("optimality", False, f"level {number} repeats members of a level")
        if not len(members) and not last:
            return Check("optimality", False, f"level {number} has no members")
        rest = ~seen
        low = float(marginals[rest].min()) if rest.any() else 1.0
        if low < level.value - CERTIFICATE_TOLERANCE:
            who = ids[int(np.flatnonzero(rest & (marginals == low))[0])]
            return Check(
                "optimality",
                False,
                f"level {number} is recorded at {level.value:.9f}, but the lottery gives "
                f"registrant {who!r} only {low:.9f}",
                {"level": number, "value": level.value, "minimum": low},
            )
        if len(members) and level.value >= 1.0 - CERTIFICATE_TOLERANCE:
            # selected for certain: no probability is higher, no weights needed
            proven += 1
            bounds.append(1.0)
            seen[members] = True
            floors[members] = level.value
            continue
        if len(members) and not (w[members] > 0).all():
            who = ids[int(members[w[members] <= 0][0])]
            return Check(
                "optimality",
                False,
                f"level {number} fixes registrant {who!r}, whom its weights do not cover",
            )
        denominator = float(w[rest].sum())
        if denominator <= 0:
            return Check("optimality", False, f"level {number}'s weights are all on earlier levels")
        top = panel_milp_bound(model, w, groups)
        bound = (top - float(w[seen] @ floors[seen])) / denominator
        if len(members):
            if bound > level.value + CERTIFICATE_TOLERANCE:
                return Check(
                    "optimality",
                    False,
                    f"level {number} ({len(members)} registrants at {level.value:.9f}) is not "
                    f"proven: its recorded weights bound it only by {bound:.9f} (the audit's "
                    "own MILP)",
                    {"level": number, "value": level.value, "bound": bound},
                )
            proven += 1
            bounds.append(bound)
            seen[members] = True
            floors[members] = level.value
            continue
        # the level a best-effort run stopped in
        never = int((seen & (floors <= 0)).sum())
        proven_people = int(seen.sum()) - never
        shown = proven - (1 if never else 0)
        detail = (
            f"not proven optimal (stopped at its time limit): the first {shown} LEXIMIN "
            f"level(s), {proven_people} registrants, are proven"
            + (f" ({never} more whom no valid panel contains are at 0)" if never else "")
            + " (the recorded weights of each, "
            f"checked by the audit's own MILP); everyone else gets at least {low:.9f}, and no "
            f"lottery that keeps the proven levels gives them all more than {bound:.9f}"
        )
        if bound > level.bound + CERTIFICATE_TOLERANCE:
            detail += f"; lottery.json states {level.bound:.9f}, which these weights do not prove"
        else:
            detail += ", as lottery.json states"
        return Check(
            "optimality",
            False,
            detail,
            {"levels": shown, "minimum": low, "bound": bound, "recorded": True},
        )
    if not seen.all() and best_effort:
        never = int((seen & (floors <= 0)).sum())
        shown = proven - (1 if never else 0)
        return Check(
            "optimality",
            False,
            f"not proven optimal (stopped at its time limit): the first {shown} LEXIMIN "
            f"level(s), {int(seen.sum()) - never} registrants, are proven (the recorded "
            "weights of each, checked by the audit's own MILP); lottery.json states no bound "
            "for the others",
            {"levels": shown, "recorded": True},
        )
    if not seen.all():
        who = ids[int(np.flatnonzero(~seen)[0])]
        return Check(
            "optimality",
            False,
            f"registrant {who!r} is in no level of lottery.json's LEXIMIN certificate",
        )
    note = " (lottery.json says best effort, but every level is proven)" if best_effort else ""
    never = int((floors <= 0).sum())
    shown = proven - (1 if never else 0)
    lowest = next((lv.value for lv in levels if lv.value > 0), 0.0)
    return Check(
        "optimality",
        True,
        f"all {shown} LEXIMIN level(s) are proven{note}: at each, no lottery that keeps the "
        "lower levels gives everyone else more (the recorded weights of each level, checked "
        f"by the audit's own MILP); the lowest level is {lowest:.9f}"
        + (f", and the {never} registrants at 0 are in no valid panel" if never else ""),
        {
            "levels": shown,
            "minimum": float(marginals.min()),
            "bound": next((b for b, lv in zip(bounds, levels, strict=True) if lv.value > 0), 0.0),
        },
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


def _recorded_weights(
    recorded: object, ids: list[str] | None, n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """The recorded certificate weights per person, or None when absent or malformed (the
    audit then finds its own)."""
    if not isinstance(recorded, dict) or ids is None:
        return None
    index = {pid: i for i, pid in enumerate(ids)}
    out = []
    for key in ("alpha", "beta"):
        given = recorded.get(key)
        if not isinstance(given, dict):
            return None
        w = np.zeros(n)
        for pid, value in given.items():
            if pid not in index or not isinstance(value, (int, float)):
                return None
            if not (np.isfinite(value) and value >= 0):
                return None
            w[index[pid]] = float(value)
        out.append(w)
    return out[0], out[1]


def _incidence(columns: list[npt.NDArray[np.intp]], n: int) -> sp.csr_matrix:
    rows = np.concatenate([np.asarray(c, dtype=np.intp) for c in columns])
    cols = np.concatenate([np.full(len(c), j, dtype=np.intp) for j, c in enumerate(columns)])
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(columns)))


def _to_groups(groups: list[npt.NDArray[np.intp]], n: int) -> sp.csr_matrix:
    """People x groups, ``1 / |g|`` where person ``i`` is in group ``g``: a panel's seats
    times this are its seats per group over the group's size, and per-group weights times
    it (transposed) are per-person weights with the same total."""
    group_of = np.empty(n, dtype=np.intp)
    sizes = np.zeros(len(groups))
    for g, members in enumerate(groups):
        group_of[members] = g
        sizes[g] = len(members)
    return sp.csr_matrix((1.0 / sizes[group_of], (np.arange(n), group_of)), shape=(n, len(groups)))


def _group_shares(columns: list[npt.NDArray[np.intp]], to_groups: sp.csr_matrix) -> sp.csr_matrix:
    """Each panel's seats per group over the group's size (groups x panels): the marginals
    of a lottery over these panels after it is averaged over each group of interchangeable
    people (:func:`identical_groups`), which keeps every panel valid and moves no group's
    largest chance up or smallest chance down.  The audit's LPs run over these, so that
    panels listed for a lottery over types (one representative panel per count vector) stand
    for all their relabellings, and an LP row stands for a whole group."""
    counts = _incidence(columns, to_groups.shape[0]).T.tocsr()  # panels x people
    return (counts @ to_groups).T.tocsr()


def extremes_certificate(
    model: Model,
    panels: list[npt.NDArray[np.intp]],
    marginals: npt.NDArray[np.float64],
    name: str,
    a: float,
    b: float,
    ids: list[str] | None = None,
    recorded: object = None,
    best_effort: bool = False,
    claimed: object = None,
) -> Check:
    """The optimality certificate of Goldilocks (``a = n/k``, ``b = gamma k/n``) and
    MINIMAX (``a = 1``, ``b = 0``): the objective ``F = a max pi + b / min pi`` of the
    lottery against a lower bound that holds for every lottery.

    For any ``alpha, beta >= 0`` with ``sum(beta) <= a``, every lottery has
    ``F >= 2 sqrt(b sum alpha) - max over valid panels of (alpha - beta)(panel)``.  The
    weights come from the audit's own LP over the lottery's panels (``F`` linearised at the
    lottery's minimum, whose optimum is the lottery itself when it is optimal), the maximum
    from its own MILP; a panel that weakens the bound joins the LP, as for ``maximin``.
    The weights lottery.json records (``recorded``: ``{"alpha": {id: w}, "beta": ...}``,
    the solver's duals) are tried first: one MILP checks them.
    The minimum runs over the people some valid panel contains: anybody at 0 must be in
    none (then no lottery selects them).

    A ``best_effort`` lottery (stopped at its time limit) claims no optimality: the check
    fails, and says how far from the optimum the recorded weights prove it at most, and
    whether that bound is the one lottery.json states (``claimed``)."""
    n = model.n
    counted = marginals > CERTIFICATE_TOLERANCE
    unreached = _unreached(model, marginals, counted, name, b, ids)
    if unreached is not None:
        if best_effort:  # a lottery stopped at its time limit claims no optimality
            unreached.detail = "not proven optimal (stopped at its time limit): " + (
                unreached.detail
            )
        return unreached

    def objective(pi: npt.NDArray[np.float64]) -> float:
        low = float(pi[counted].min()) if counted.any() else 1.0
        if b > 0 and low <= 0:  # someone counted gets nothing: the objective is infinite
            return float("inf")
        return a * float(pi.max()) + (b / low if b > 0 else 0.0)

    ours = objective(marginals)
    if (
        not best_effort
        and isinstance(claimed, (int, float))
        and float(claimed) > ours + EXTREMES_AUDIT_TOLERANCE * ours
    ):
        # a lower bound above the lottery's own objective: no lottery can have it
        return Check(
            "optimality",
            False,
            f"lottery.json states a lower bound of {float(claimed):.9f} on the {name} "
            f"objective, above this lottery's own {ours:.9f}: the statement is false",
            {"objective": ours, "claimed": float(claimed)},
        )
    weights_given = _recorded_weights(recorded, ids, n)
    if weights_given is not None:
        by_record = _with_recorded_weights(
            model, weights_given, counted, ours, name, a, b, best_effort, claimed
        )
        if by_record is not None:
            return by_record
    if best_effort:  # no recorded weights: the audit's own search would prove nothing more
        return Check(
            "optimality",
            False,
            "not proven optimal (stopped at its time limit), and lottery.json records no "
            "certificate of how far from the optimum it is",
            {"objective": ours},
        )
    return _own_weights(model, panels, marginals, counted, objective, ours, name, a, b)


def _unreached(
    model: Model,
    marginals: npt.NDArray[np.float64],
    counted: npt.NDArray[np.bool_],
    name: str,
    b: float,
    ids: list[str] | None,
) -> Check | None:
    """A failed check when someone the lottery leaves at 0 is in a valid panel (with
    ``b > 0`` the objective is then infinite); else None."""
    if b > 0 and not counted.all():
        # someone at 0: optimal only if no valid panel contains them (else F is infinite
        # and a lottery that selects everyone coverable does better)
        weights = np.where(counted, 0.0, 1.0)
        reach, best = panel_milp(model, weights)
        if reach > 0.5:
            # the member of that panel whom the lottery leaves at 0 (not its first member)
            person = next(i for i in best if not counted[i])
            who = repr(ids[person]) if ids is not None else f"in row {person + 2}"
            return Check(
                "optimality",
                False,
                f"registrant {who} has probability 0 although a valid panel contains them: "
                f"{name}'s objective is infinite and a lottery that selects them does better",
                {"minimum": float(marginals.min())},
            )
    return None


def _with_recorded_weights(
    model: Model,
    weights_given: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    counted: npt.NDArray[np.bool_],
    ours: float,
    name: str,
    a: float,
    b: float,
    best_effort: bool,
    claimed: object,
) -> Check | None:
    """The check by the weights lottery.json records (one MILP): passed when they prove
    the lottery optimal; for a best-effort lottery, how far from the optimum they prove it;
    else None (the audit then looks for its own weights)."""
    alpha, beta = weights_given
    alpha = np.where(counted, alpha, 0.0)
    if beta.sum() > a:
        beta = beta * (a / beta.sum())
    value, _ = panel_milp(model, alpha - beta)
    bound = 2.0 * float(np.sqrt(b * alpha.sum())) - value
    if best_effort:
        gap = (ours - bound) / ours if ours > 0 else float("inf")
        detail = (
            f"not proven optimal (stopped at its time limit): the recorded certificate's "
            f"weights, checked by the audit's own MILP, show that no lottery has a {name} "
            f"objective below {bound:.9f}; this one has {ours:.9f}, at most {gap:.2%} "
            "above the optimum"
        )
        if isinstance(claimed, (int, float)) and claimed > bound + EXTREMES_AUDIT_TOLERANCE * ours:
            detail += (
                f"; lottery.json states a lower bound of {float(claimed):.9f}, which these "
                "weights do not prove"
            )
        elif isinstance(claimed, (int, float)):
            detail += ", as lottery.json states"
        return Check(
            "optimality", False, detail, {"objective": ours, "bound": bound, "recorded": True}
        )
    if ours - bound <= EXTREMES_AUDIT_TOLERANCE * ours:
        return Check(
            "optimality",
            True,
            f"no lottery has a {name} objective below {bound:.9f} (the recorded "
            f"certificate's weights, checked by the audit's own MILP); this one has "
            f"{ours:.9f}",
            {"objective": ours, "bound": bound, "recorded": True},
        )
    return None


def _own_weights(
    model: Model,
    panels: list[npt.NDArray[np.intp]],
    marginals: npt.NDArray[np.float64],
    counted: npt.NDArray[np.bool_],
    objective: Callable[[npt.NDArray[np.float64]], float],
    ours: float,
    name: str,
    a: float,
    b: float,
) -> Check:
    """The audit's own search for weights (no recorded ones proved the lottery): an LP over
    the lottery's panels with ``1/min`` replaced by a tangent, panels added by the MILP
    until none improves the bound, and the tangent moved (bisection) to where the bound is
    highest.  It stays one loop (about 100 lines) because the panels, the slope and the
    bisection's bracket change together in each round."""
    n = model.n
    columns = list(panels)
    seen = {tuple(int(i) for i in c) for c in columns}
    # 1/min is bounded below by its tangent at a point l0 (slope b / l0^2): first at the
    # lottery's own minimum, where an optimal lottery is optimal for the LP too.  The bound
    # is concave in the slope and may peak at a kink of the LP's value next to that point;
    # once the panels are complete for one slope, the slope moves towards the peak
    # (bisection on the sign of the bound's derivative, sqrt(b / slope) - l of the LP).
    low0 = float(marginals[counted].min()) if counted.any() else 1.0
    slope = b / low0**2 if b > 0 else 0.0
    below: float | None = None  # slopes known to lie left / right of the peak
    above: float | None = None
    groups = identical_groups(model)
    to_groups = _to_groups(groups, n)
    g_all = len(groups)
    # a group's people are alike: a valid lottery counts all of them or none (anyone at 0
    # whom a valid panel contains was refused above)
    kept = [g for g, members in enumerate(groups) if counted[members].any()]
    m = len(kept)
    bound = -np.inf
    rounds = 0
    for rounds in range(1, CERTIFICATE_ROUNDS + 1):  # noqa: B007 (reported below)
        r = len(columns)
        inc = _group_shares(columns, to_groups)
        # variables (p_1..p_r, u, l) over groups' shares: min a u - slope l  s.t.
        # inc p - u <= 0, l - inc[kept] p <= 0, sum p = 1
        a_ub = sp.vstack(
            [
                sp.hstack([inc, -sp.csr_matrix(np.ones((g_all, 1))), sp.csr_matrix((g_all, 1))]),
                sp.hstack([-inc[kept], sp.csr_matrix((m, 1)), sp.csr_matrix(np.ones((m, 1)))]),
            ]
        ).tocsr()
        res = linprog(
            np.r_[np.zeros(r), a, -slope],
            A_ub=a_ub,
            b_ub=np.zeros(g_all + m),
            A_eq=np.r_[np.ones(r), 0.0, 0.0][None, :],
            b_eq=[1.0],
            bounds=[(0, None)] * (r + 2),
            method="highs",
        )
        if res.status != 0:
            return Check("optimality", False, f"the certificate LP failed: {res.message}")
        duals = np.maximum(-res.ineqlin.marginals, 0.0)
        beta = np.asarray(to_groups @ duals[:g_all])
        per_group = np.zeros(g_all)
        per_group[kept] = duals[g_all:]
        alpha = np.asarray(to_groups @ per_group)
        if beta.sum() > a:
            beta *= a / beta.sum()
        value, best = panel_milp(model, alpha - beta)
        bound = max(bound, 2.0 * float(np.sqrt(b * alpha.sum())) - value)
        if ours - bound <= EXTREMES_AUDIT_TOLERANCE * ours:
            return Check(
                "optimality",
                True,
                f"no lottery has a {name} objective below {bound:.9f}; this one has "
                f"{ours:.9f} (largest chance {marginals.max():.6f}"
                + (f", smallest {marginals[counted].min():.6f})" if b > 0 else ")"),
                {"objective": ours, "bound": bound},
            )
        p = np.maximum(res.x[:r], 0.0)
        shares = np.asarray(inc @ (p / p.sum())).ravel()
        their = objective(shares[to_groups.indices])  # each person: their group's share
        if their < ours - EXTREMES_AUDIT_TOLERANCE * ours:
            return Check(
                "optimality",
                False,
                f"a lottery over {r} panels{RELABELLED} has a {name} objective of "
                f"{their:.9f}, below this lottery's {ours:.9f}",
                {"objective": ours, "bound": bound, "better": their},
            )
        key = tuple(int(i) for i in best)
        improves = -value < float(res.fun) - CERTIFICATE_TOLERANCE * max(1.0, abs(res.fun))
        if key not in seen and improves:
            seen.add(key)
            columns.append(np.array(best, dtype=np.intp))
            continue
        if b <= 0:
            break  # complete panels and MINIMAX's linear bound: nothing left to move
        low = float(res.x[r + 1])
        if np.sqrt(b / slope) > low:
            below = slope
        else:
            above = slope
        if below is not None and above is not None:
            if above - below <= TANGENT_PRECISION * above:
                break
            slope = 0.5 * (below + above)
        else:
            slope = b / low**2 if low > 0 else 2.0 * slope
    return Check(
        "optimality",
        False,
        f"no certificate after {rounds} rounds: the best bound found is "
        f"{bound:.9f}, the lottery's {name} objective {ours:.9f}",
        {"objective": ours, "bound": bound},
    )
