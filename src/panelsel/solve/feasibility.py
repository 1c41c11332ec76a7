"""What the quotas allow (the analysis behind ``panelsel check``): who can never be
selected, and, when no panel meets them, the smallest change that fixes it and the conflict
behind it.

Models
------
All models are over counts per type (:mod:`panelsel.inputs.model`) and go through the solver
adapters of :mod:`panelsel.solve.backends`, which check every status.

*Quota ILP.*  ``sum_t c_t = k``, each quota as its own row ``min_j <= sum_t a_tj c_t``
and ``sum_t a_tj c_t <= max_j`` (two rows, so that a minimum and a maximum can be dropped
separately) and one row per constrained household.  Dropping a row sets its bounds to
infinity; a feasibility test is a solve with a zero objective.

*Ranges.*  The smallest and largest count of each value over all valid panels.  No valid
panel passes the value's minimum or ``min(max, k, pool count)``; when a known valid panel,
or one reached from the best of them by improving one-swap steps
(:class:`~panelsel.solve.colgen.SwapNeighbours`), attains that bound, it is the answer.
Otherwise the quota ILP with the value's count as the objective decides.

*Never selectable.*  The greedy cover of :func:`panelsel.solve.colgen.initial_columns`, started
from the valid panels of the LEXIMIN bound's designs (:mod:`panelsel.solve.decompose`), finds the
types that some valid panel contains; the others have probability 0 under every lottery.
The same panels give the value ranges without a solve wherever they reach a trivial bound.
For each (up to ``MAX_EXPLAINED``), the quota ILP with ``c_t >= 1`` added is infeasible and
its conflict (below) names the quotas that exclude them; the others are proven all the same
(the cover's last ILP), only not explained.

*Relaxation.*  Slack variables ``u_j, o_j >= 0`` (integer) lower minimum ``j`` by ``u_j``
and raise maximum ``j`` by ``o_j``; the ILP minimises ``sum_j w_j (u_j + o_j)`` with
``w_j`` the priority of value ``j``'s category (``--relax-priority``, default 1): the fewest
(weighted) seats by which bounds must move for a valid panel to exist.

*Conflict.*  Deletion filtering (Chinneck & Dravnieks 1991) over the quota rows: drop each
row in turn and keep it dropped if the rest is still infeasible.  What remains is an
irreducible infeasible subset: infeasible, and feasible without any one of its rows.  The
panel size is never dropped (it is the context: "with k seats").

References
----------
.. [1] J. W. Chinneck, E. W. Dravnieks, "Locating minimal infeasible constraint sets in
   linear programs", ORSA Journal on Computing 3(2), 157-168 (1991).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.errors import InfeasibleQuotasError, TimeLimitError
from panelsel.inputs.model import Model, cheap_infeasibility
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec
from panelsel.progress import ProgressFn, no_progress
from panelsel.solve.algorithms.leximin import relaxation_attempt
from panelsel.solve.backends import INFINITY, Backend, SolverConfig
from panelsel.solve.colgen import PricingILP, SwapNeighbours, initial_columns
from panelsel.solve.quota_rows import (
    add_household_rows,
    add_panel_size_row,
    max_binds,
    min_binds,
    value_types,
)

MAX_EXPLAINED = 10
"""Never-selectable types whose excluding quotas are named (the rest are counted)."""
CHECK_DESIGNS = 2
"""Quantised designs (:mod:`panelsel.solve.decompose`) whose valid panels start the cover when the
LEXIMIN bound is not realised exactly (LEXIMIN itself uses up to 20)."""
NO_CHANCE_BELOW = 1e-6
"""A selection probability below this is reported as no chance at all (:func:`no_chance`):
solver noise on a true 0 is far smaller, and a real chance this small is none in practice."""
MAX_CLIMB = 1000
"""One-swap steps tried towards a value's extreme count before asking the ILP."""


INCOMPLETE_FIX = "pass a longer --time-limit, or none, for them"
"""The end of :attr:`Diagnosis.incomplete`: how to get what the time limit left undone (a
caller with its own limit, such as the web page's, says it its own way)."""


@dataclass
class Rule:
    """One quota bound as a row of the quota ILP."""

    index: int  # feature index, or -1 for the household rule
    kind: str  # "min", "max" or "household"
    bound: int
    text: str


@dataclass
class ValueReport:
    category: str
    value: str
    pool: int
    min: int
    max: int
    fillable: bool
    lowest: int | None = None
    highest: int | None = None


@dataclass
class Exclusion:
    """Registrants with no chance of a seat, and why.  A label is a claim, so:

    ``selectable`` False: an ILP proved that no valid panel contains them ("can never be
    selected"), and ``reason`` names the quotas that exclude them where they were explained.
    True: valid panels contain them (an ILP found one), but the lottery at hand gives them
    probability 0 (``reason`` says why, e.g. its rounding, and the fix).  None: not analysed
    (the analysis stopped); nothing is claimed about the quotas.
    """

    ids: list[str]
    reason: str
    selectable: bool | None = False

    def text(self, shown: int = 20) -> str:
        """One line for every output: how many, why, and their ids."""
        ids = ", ".join(self.ids[:shown]) + (
            f" and {len(self.ids) - shown} more" if len(self.ids) > shown else ""
        )
        if self.selectable:
            return (
                f"{len(self.ids)} registrant(s) have no chance in this lottery "
                f"({self.reason}): {ids}"
            )
        if self.selectable is None:
            return (
                f"{len(self.ids)} registrant(s) have no chance in this lottery; whether the "
                f"quotas allow them was not analysed ({self.reason}): {ids}"
            )
        return f"{len(self.ids)} registrant(s) can never be selected ({self.reason}): ids {ids}"

    def as_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "reason": self.reason, "selectable": self.selectable}


@dataclass
class QuotaChange:
    category: str
    value: str
    old_min: int
    old_max: int
    new_min: int
    new_max: int

    def diff(self) -> str:
        parts = []
        if self.new_min != self.old_min:
            parts.append(f"min {self.old_min} → {self.new_min}")
        if self.new_max != self.old_max:
            parts.append(f"max {self.old_max} → {self.new_max}")
        return f"{self.category} = {self.value}: " + ", ".join(parts)


@dataclass
class Conflict:
    """An irreducible infeasible subset of the quota bounds.

    ``items`` are ``(category, value, kind, bound)`` with kind ``"min"``, ``"max"`` or
    ``"household"`` (category and value empty).
    """

    rules: list[str]
    explanation: str
    items: list[tuple[str, str, str, int]] = field(default_factory=list)


@dataclass
class Diagnosis:
    """Everything ``panelsel check`` found."""

    feasible: bool
    n: int
    k: int
    values: list[ValueReport]
    reasons: list[str] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    excluded_count: int = 0
    changes: list[QuotaChange] | None = None
    relaxation_cost: float | None = None
    relaxation_note: str = ""
    conflict: Conflict | None = None
    relaxed_file: Path | None = None
    relaxed_kept: str = ""
    """Why an existing relaxed quota file was left as it was (the change is still shown)."""
    relaxed_never: int | None = None
    """How many registrants the relaxed quotas still leave in no valid panel."""
    incomplete: str = ""
    """What ``--time-limit`` left undone after the verdict (the verdict itself stands)."""
    warnings: list[str] = field(default_factory=list)
    """What reading the inputs noticed (duplicates, percentages, unused columns)."""
    households: list[list[str]] = field(default_factory=list)
    """The ids of every household with two or more registrants."""
    max_per_household: int | None = None
    """The household rule's bound (None without the rule)."""

    def households_text(self) -> str | None:
        """What the household rule does, in one sentence (None without the rule)."""
        if self.max_per_household is None:
            return None
        m = self.max_per_household
        if not self.households:
            return (
                f"no two registrants share a household, so the rule (at most {m}) changes nothing"
            )
        people = sum(len(h) for h in self.households)
        bound = [h for h in self.households if len(h) > m]
        shown = "; ".join("+".join(h) for h in bound[:5]) + (" ..." if len(bound) > 5 else "")
        return (
            f"{len(self.households)} household(s) have two or more registrants ({people} "
            f"registrants); the rule seats at most {m} of each"
            + (f", which limits {len(bound)} of them: {shown}" if bound else ", so it limits none")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "feasible": self.feasible,
            "households": {
                "max_per_household": self.max_per_household,
                "shared": self.households,
            },
            "pool_size": self.n,
            "panel_size": self.k,
            "values": [v.__dict__ for v in self.values],
            "reasons": self.reasons,
            "never_selectable": {
                "count": self.excluded_count,
                "groups": [e.__dict__ for e in self.excluded],
            },
            "relaxation": None
            if self.changes is None
            else {
                "cost": self.relaxation_cost,
                "changes": [c.__dict__ for c in self.changes],
                "diff": [c.diff() for c in self.changes],
                "file": None if self.relaxed_file is None else str(self.relaxed_file),
                "file_kept": self.relaxed_kept or None,
                "never_selectable": self.relaxed_never,
            },
            "relaxation_note": self.relaxation_note or None,
            "incomplete": self.incomplete or None,
            "conflict": None if self.conflict is None else self.conflict.__dict__,
            "warnings": self.warnings,
        }


# --------------------------------------------------------------------------- models


class QuotaILP:
    """The quota ILP over type counts, each bound a row that can be dropped."""

    def __init__(self, model: Model, config: SolverConfig) -> None:
        self.model = model
        lp = config.backend(maximize=True, name="feasibility check", infeasible_means_quotas=True)
        T = model.n_types
        lp.add_vars(np.zeros(T), model.type_sizes, np.zeros(T), integer=True)
        add_panel_size_row(lp, model)
        self.rules: list[Rule] = []
        self.rows: list[int] = []
        self.bounds: list[tuple[float, float]] = []
        row = 1
        for j, (f, members) in enumerate(zip(model.features, value_types(model), strict=True)):
            ones = np.ones(len(members))
            if min_binds(f):
                lp.add_row(float(f.min), INFINITY, members, ones)
                self._rule(Rule(j, "min", f.min, f"{f.category} = {f.value} ≥ {f.min}"), row)
                self.bounds.append((float(f.min), INFINITY))
                row += 1
            if max_binds(model, f):
                lp.add_row(-INFINITY, float(f.max), members, ones)
                self._rule(Rule(j, "max", f.max, f"{f.category} = {f.value} ≤ {f.max}"), row)
                self.bounds.append((-INFINITY, float(f.max)))
                row += 1
        if model.households:
            add_household_rows(lp, model)
            # the household rows act together as one rule
            self.household_rows = list(range(row, row + len(model.households)))
            rule = f"at most {model.max_per_household} per household"
            if not model.uniform_households:
                rule += " (less where kept members live)"
            self.rules.append(Rule(-1, "household", model.max_per_household, rule))
            self.rows.append(-1)
            self.bounds.append((-INFINITY, float(model.max_per_household)))
        else:
            self.household_rows = []
        self.lp: Backend = lp
        self.required: int | None = None
        self.required_row = -1

    def _rule(self, rule: Rule, row: int) -> None:
        self.rules.append(rule)
        self.rows.append(row)

    def enable(self, active: list[bool]) -> None:
        """Keep the rules marked True, drop the others."""
        for r, on in enumerate(active):
            lo, hi = self.bounds[r] if on else (-INFINITY, INFINITY)
            if self.rows[r] == -1:  # each household row with its own bound
                for h, cap in zip(self.household_rows, self.model.household_caps, strict=True):
                    self.lp.set_row_bounds(h, -INFINITY, float(cap) if on else INFINITY)
            else:
                self.lp.set_row_bounds(self.rows[r], lo, hi)

    def feasible(self) -> bool:
        self.lp.set_costs(np.arange(self.model.n_types), np.zeros(self.model.n_types))
        try:
            self.lp.solve()
        except InfeasibleQuotasError:
            return False
        return True

    def optimise(self, weights: npt.NDArray[np.float64]) -> float:
        """The largest ``weights @ c`` over valid count vectors (must be feasible)."""
        self.lp.set_costs(np.arange(self.model.n_types), weights)
        _, value = self.lp.solve()
        return value

    def require(self, t: int) -> None:
        """Add the row ``c_t >= 1`` (select somebody of type ``t``); it is never dropped."""
        self.lp.add_row(1.0, INFINITY, [t], [1.0])

    def require_instead(self, t: int) -> None:
        """Require somebody of type ``t`` in place of the type the last call required (one
        row whose coefficient moves, so that one model serves many types)."""
        if self.required is None:
            self.require(t)
            self.required_row = 1 + sum(1 for r in self.rows if r >= 0) + len(self.household_rows)
        else:
            self.lp.set_coeff(self.required_row, self.required, 0.0)
            self.lp.set_coeff(self.required_row, t, 1.0)
        self.required = t

    def conflict(self) -> list[int]:
        """Deletion filter: indices of an irreducible infeasible subset of the rules."""
        active = [True] * len(self.rules)
        self.enable(active)
        if self.feasible():
            return []
        for r in range(len(self.rules)):
            active[r] = False
            self.enable(active)
            if self.feasible():
                active[r] = True  # needed: the rest is feasible without it
        self.enable(active)
        return [r for r, on in enumerate(active) if on]


def _item(model: Model, rule: Rule) -> tuple[str, str, str, int]:
    if rule.index < 0:
        return ("", "", rule.kind, rule.bound)
    f = model.features[rule.index]
    return (f.category, f.value, rule.kind, rule.bound)


def _explain(model: Model, rules: list[Rule]) -> str:
    """A sentence a convenor understands for a conflicting set of rules."""
    k = model.k
    texts = [r.text for r in rules]
    listed = " and ".join(texts) if len(texts) <= 2 else ", ".join(texts[:-1]) + " and " + texts[-1]
    mins = [r for r in rules if r.kind == "min"]
    maxs = [r for r in rules if r.kind == "max"]
    pf = model.person_features
    same_category = len({model.features[r.index].category for r in mins}) == 1
    if len(mins) == len(rules) > 1 and same_category:
        total = sum(r.bound for r in mins)
        exclusive = pf[:, [r.index for r in mins]].sum(axis=1).max() <= 1
        if exclusive and total > k:  # each registrant fills at most one of these minimums
            together = "both" if len(rules) == 2 else "all"
            return (
                f"{listed} cannot {together} hold: the minimums add up to {total}, above {k} seats"
            )
    if len(rules) == 2 and len(mins) == 2:
        a, b = (model.features[r.index] for r in mins)
        both = int((pf[:, mins[0].index] & pf[:, mins[1].index]).sum())
        need = mins[0].bound + mins[1].bound - k
        if need > both:
            return (
                f"{listed} cannot both hold with {k} seats: at least {need} seats would need "
                f"people who are both {a.value} and {b.value}, but only {both} registrant(s) are"
            )
    if len(rules) == 1 and len(mins) == 1:
        f = model.features[mins[0].index]
        if f.min > f.pool_count:
            return f"{listed} cannot hold: only {f.pool_count} registrant(s) are {f.value}"
    if len(rules) == 2 and len(mins) == 1 and len(maxs) == 1:
        lo, hi = model.features[mins[0].index], model.features[maxs[0].index]
        both = int((pf[:, mins[0].index] & pf[:, maxs[0].index]).sum())
        reach = lo.pool_count - both + min(both, hi.max)
        return (
            f"{listed} cannot both hold with {k} seats: {lo.value} needs {lo.min} seats but "
            f"{both} of its {lo.pool_count} registrant(s) are {hi.value}, which may have at "
            f"most {hi.max}, so at most {reach} can be found"
        )
    return f"{listed} cannot all hold together with {k} seat{'' if k == 1 else 's'}"


# --------------------------------------------------------------------------- relaxation


def minimal_relaxation(
    model: Model, config: SolverConfig, priorities: Mapping[str, float]
) -> tuple[list[QuotaChange], float] | None:
    """The cheapest change of min/max bounds that admits a valid panel, or None when no
    change of quotas helps (panel size above the pool, or the household rule)."""
    lp = config.backend(maximize=False, name="quota relaxation", infeasible_means_quotas=True)
    T, F = model.n_types, len(model.features)
    lp.add_vars(np.zeros(T), model.type_sizes, np.zeros(T), integer=True)
    weights = np.array([priorities.get(f.category, 1.0) for f in model.features])
    # slacks: u_j lowers min j (at most to 0), o_j raises max j (at most to k)
    lp.add_vars(np.zeros(F), model.feature_min.astype(np.float64), weights, integer=True)
    lp.add_vars(np.zeros(F), np.full(F, float(model.k)), weights, integer=True)
    add_panel_size_row(lp, model)
    for j, (f, members) in enumerate(zip(model.features, value_types(model), strict=True)):
        ones = np.ones(len(members))
        # count + u_j >= min ; count - o_j <= max
        lp.add_row(float(f.min), INFINITY, np.r_[members, T + j], np.r_[ones, 1.0])
        lp.add_row(-INFINITY, float(f.max), np.r_[members, T + F + j], np.r_[ones, -1.0])
    add_household_rows(lp, model)
    try:
        x, cost = lp.solve()
    except InfeasibleQuotasError:
        return None
    u = np.round(x[T : T + F]).astype(int)
    o = np.round(x[T + F :]).astype(int)
    changes = []
    for j, f in enumerate(model.features):
        if u[j] or o[j]:
            changes.append(
                QuotaChange(f.category, f.value, f.min, f.max, f.min - int(u[j]), f.max + int(o[j]))
            )
    return changes, float(cost)


# --------------------------------------------------------------------------- entry points


def infeasibility_details(
    model: Model, config: SolverConfig, priorities: Mapping[str, float]
) -> tuple[tuple[list[QuotaChange], float] | None, Conflict | None]:
    """The cheapest relaxation and a conflict (irreducible infeasible subset) of the quotas."""
    relaxation = minimal_relaxation(model, config, priorities)
    ilp = QuotaILP(model, config)
    rules = ilp.conflict()
    conflict = None
    if rules:
        chosen = [ilp.rules[r] for r in rules]
        conflict = Conflict(
            [r.text for r in chosen], _explain(model, chosen), [_item(model, r) for r in chosen]
        )
    return relaxation, conflict


def infeasible_error(
    model: Model, spec: QuotaSpec, config: SolverConfig, reasons: list[str]
) -> InfeasibleQuotasError:
    """The error ``select`` raises for infeasible quotas: the cheap reasons, the conflict and
    the smallest relaxation (as a diff)."""
    relaxation, conflict = infeasibility_details(model, config, {})
    lines = list(reasons)
    if conflict is not None and conflict.explanation not in lines:
        lines.append(f"conflict: {conflict.explanation}")
    if relaxation is not None:
        changes, cost = relaxation
        lines.append(
            f"smallest change that admits a panel ({cost:g} seat(s)): "
            + "; ".join(c.diff() for c in changes)
        )
    return InfeasibleQuotasError(
        "no panel meets all the quotas:" if not reasons else "the pool and the quotas conflict:",
        reasons=lines,
        hint=f"run `panelsel check` on these files to write a relaxed copy of {spec.path.name}"
        if relaxation is not None
        else "no change of the quotas alone can fix this: lower the panel size, recruit more "
        "registrants, or loosen the household rule",
    )


def never_selectable_count(model: Model, config: SolverConfig) -> int:
    """How many registrants no valid panel contains (a greedy cover by the pricing ILP)."""
    _, uncoverable = initial_columns(PricingILP(model, config), no_progress, None)
    return int(sum(len(model.type_members[t]) for t in np.flatnonzero(uncoverable)))


def diagnose(
    model: Model,
    spec: QuotaSpec,
    pool: Pool,
    config: SolverConfig,
    *,
    priorities: Mapping[str, float] | None = None,
    progress: ProgressFn = no_progress,
) -> Diagnosis:
    """Check the quotas against the pool without drawing anything."""
    priorities = priorities or {}
    reasons = cheap_infeasibility(model, spec)
    values = [
        ValueReport(
            f.category,
            f.value,
            f.pool_count,
            f.min,
            min(f.max, model.k),
            fillable=f.pool_count >= f.min and f.min <= model.k,
        )
        for f in model.features
    ]
    diagnosis = Diagnosis(feasible=False, n=model.n, k=model.k, values=values, reasons=reasons)
    if spec.households is not None:
        diagnosis.max_per_household = spec.households.max_per_household
        diagnosis.households = [[pool.ids[r] for r in h] for h in model.shared_households]
    ilp = QuotaILP(model, config)
    progress("feasibility", 0, 1)
    feasible = not reasons and ilp.feasible()
    progress("feasibility", 1, 1)
    try:
        return _diagnose_further(
            diagnosis, feasible, ilp, model, pool, config, priorities, values, progress
        )
    except TimeLimitError:
        diagnosis.feasible = feasible
        diagnosis.incomplete = (
            "the time limit ran out after the verdict"
            + (
                ": the smallest change of the quotas was not found"
                if not feasible and diagnosis.changes is None
                else ": the seats each value can get and who can never be selected were not "
                "all worked out"
            )
            + "; "
            + INCOMPLETE_FIX
        )
        return diagnosis


def _diagnose_further(
    diagnosis: Diagnosis,
    feasible: bool,
    ilp: QuotaILP,
    model: Model,
    pool: Pool,
    config: SolverConfig,
    priorities: Mapping[str, float],
    values: list[ValueReport],
    progress: ProgressFn,
) -> Diagnosis:
    """:func:`diagnose` once the verdict is known: the smallest change of infeasible
    quotas, or the values' ranges and who can never be selected."""
    if not feasible:
        relaxation, conflict = infeasibility_details(model, config, priorities)
        diagnosis.conflict = conflict
        if relaxation is None:
            diagnosis.relaxation_note = (
                "no change of the quotas admits a panel: the panel size or the household rule "
                "is the obstacle"
            )
        else:
            diagnosis.changes, diagnosis.relaxation_cost = relaxation
        return diagnosis
    diagnosis.feasible = True
    # who can be selected at all: a greedy cover of the types by valid panels, started from
    # the valid panels of the LEXIMIN bound's designs (on most pools they cover everyone,
    # and no pricing ILP is needed)
    _, attempt = relaxation_attempt(model, config, progress, max_designs=CHECK_DESIGNS)
    pricing = PricingILP(model, config)
    known = attempt.panels if len(attempt.panels) else None
    cover, uncoverable = initial_columns(pricing, progress, known)
    panels = cover.matrix()
    neighbours = SwapNeighbours(model)
    tf = model.type_features.astype(np.float64)
    for j, (v, f) in enumerate(zip(values, model.features, strict=True)):
        progress("value ranges", j, len(values))
        # a bound no valid panel can pass, reached by a known panel or by one-swap steps
        # from the best of them, needs no solve; otherwise the ILP decides
        top, bottom = min(f.max, model.k, f.pool_count), f.min
        v.highest = _climb(neighbours, panels, tf[:, j], top)
        if v.highest is None:
            v.highest = round(ilp.optimise(tf[:, j]))
        low = _climb(neighbours, panels, -tf[:, j], -bottom)
        v.lowest = -low if low is not None else round(-ilp.optimise(-tf[:, j]))
    progress("value ranges", len(values), len(values))
    never = np.flatnonzero(uncoverable)
    diagnosis.excluded_count = int(sum(len(model.type_members[t]) for t in never))
    groups: dict[str, list[str]] = {}
    explainer = _Explainer(model, config)
    explained = 0
    rest = []
    for t in never.tolist():
        members = [pool.ids[i] for i in model.type_members[t]]
        reason = explainer.free(t)
        if reason is None and explained < MAX_EXPLAINED:
            reason = explainer.reason(t)
            explained += 1
        if reason is None:
            rest.extend(members)
        else:
            groups.setdefault(reason, []).extend(members)
    if rest:
        groups.setdefault(
            f"no valid panel contains them; the quotas that exclude them are named for the "
            f"first {MAX_EXPLAINED} groups only",
            [],
        ).extend(rest)
    diagnosis.excluded = [Exclusion(ids, reason) for reason, ids in groups.items()]
    return diagnosis


def _climb(
    neighbours: SwapNeighbours,
    panels: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    target: float,
) -> int | None:
    """``target`` if some valid panel reaches ``weights @ c == target`` by one-swap steps
    from the best known panel (each step strictly better, at most ``MAX_CLIMB`` steps),
    else None."""
    values = panels @ weights
    best = int(np.argmax(values))
    counts, value = panels[best], float(values[best])
    for _ in range(MAX_CLIMB):
        if value >= target - 0.5:
            return round(target)
        step = neighbours.find(counts, weights, value + 0.5, 1)
        if not step:
            return None
        counts = step[0]
        value = float(weights @ counts)
    return round(target) if value >= target - 0.5 else None


def require_feasible(model: Model, config: SolverConfig) -> None:
    """Raise :class:`InfeasibleQuotasError` unless some valid panel exists.

    The feasibility ILP is the only model whose ``infeasible`` status is a verdict on the
    quotas (exit 3); every model solved after it has shown them feasible treats an
    ``infeasible`` status as a numerical failure (:mod:`panelsel.solve.backends`).
    """
    if not QuotaILP(model, config).feasible():
        raise InfeasibleQuotasError("no panel meets all the quotas together")


def _exclusion_reason(model: Model, config: SolverConfig, t: int) -> str:
    """Why no valid panel contains type ``t``: the quotas that conflict with selecting it."""
    ilp = QuotaILP(model, config)
    ilp.require(t)
    return _conflict_reason(ilp)


def _conflict_reason(ilp: QuotaILP) -> str:
    """The quotas of a conflict, in words, for an ILP that requires someone (``require``)."""
    return _no_room(ilp, ilp.conflict())


def _no_room(ilp: QuotaILP, rules: list[int]) -> str:
    if not rules:
        return "no valid panel contains them"
    chosen = [ilp.rules[r] for r in rules]
    verb = " leaves" if len(chosen) == 1 else " leave"
    return " and ".join(r.text for r in chosen) + verb + " no room for them"


class _Explainer:
    """Names the quotas that exclude each never-selectable type, as cheaply as it can.

    A value of the type whose maximum is 0 is the whole reason, with no solve.  Otherwise a
    conflict found for an earlier type is tried first (one solve: it still holds when the
    ILP with only its rules and the new type required is infeasible); only then the
    deletion filter (a solve per rule).  On stress seed 630000 with CBC, eight such types
    took 4.3 s each through the deletion filter."""

    def __init__(self, model: Model, config: SolverConfig) -> None:
        self.model = model
        self.config = config
        self._ilp: QuotaILP | None = None
        self.conflicts: list[list[int]] = []

    @property
    def ilp(self) -> QuotaILP:
        if self._ilp is None:
            self._ilp = QuotaILP(self.model, self.config)
        return self._ilp

    def free(self, t: int) -> str | None:
        """The reason without a solve (a value of ``t`` allowed no seat), or None."""
        values = self.model.person_features[int(self.model.type_members[t][0])]
        for j, f in enumerate(self.model.features):
            if values[j] and f.max == 0:
                return f"{f.category} = {f.value} ≤ 0 leaves no room for them"
        return None

    def reason(self, t: int) -> str:
        ilp = self.ilp
        ilp.require_instead(t)
        for rules in self.conflicts:
            ilp.enable([r in rules for r in range(len(ilp.rules))])
            if not ilp.feasible():
                return _no_room(ilp, rules)
        rules = ilp.conflict()
        if rules:
            self.conflicts.append(rules)
        return _no_room(ilp, rules)


def no_chance(
    model: Model,
    config: SolverConfig,
    ids: list[str],
    probabilities: npt.NDArray[np.float64],
    *,
    selectable_reason: str | Callable[[int], str] = (
        "valid panels contain them, but this lottery gives them none"
    ),
    explain_until: float | None = None,
) -> list[Exclusion]:
    """The registrants whose probability is below :data:`NO_CHANCE_BELOW`, grouped by why.

    Every one of their types is decided, not only the first few: a greedy cover by the
    pricing ILP (weight 1 on each undecided type) finds valid panels holding as many of them
    as it can; the types it covers are selectable (``selectable_reason``), and once its
    optimum is 0 the rest are proven to be in no valid panel.  ``selectable_reason`` may
    depend on the person (a function of their row index): the rounding to numbered panels
    leaves out some whom the lottery gave a chance, the lottery itself others.  Of those, the first
    :data:`MAX_EXPLAINED` types get the quotas that exclude them named (the quota ILP with
    ``c_t >= 1`` and its conflict, as ``panelsel check`` does); the others are still proven,
    just not explained.  The solves that decide who can be selected run without the run's
    time limit: they are few, and a claim about who can be selected is always proven.  The
    naming is not needed for the claim: past ``explain_until`` (a ``time.monotonic()``
    value, the end of ``--time-limit``) only the reasons that need no solve are given.
    """
    low = probabilities < NO_CHANCE_BELOW
    if not low.any():
        return []
    unlimited = SolverConfig(name=config.name)
    types = sorted({int(t) for t in model.type_of[low]})
    undecided = np.zeros(model.n_types, dtype=np.bool_)
    undecided[types] = True
    selectable = np.zeros(model.n_types, dtype=np.bool_)
    pricing = PricingILP(model, unlimited)
    while undecided.any():
        counts, value = pricing.best(undecided.astype(np.float64))
        if value < 0.5:  # no valid panel holds any undecided type: proven
            break
        held = undecided & (counts > 0)
        selectable |= held
        undecided &= ~held
    groups: dict[tuple[str, bool], list[int]] = {}
    explained = 0
    explainer = _Explainer(model, unlimited)
    for t in types:
        members = [i for i in model.type_members[t].tolist() if low[i]]
        if selectable[t]:
            for i in members:
                why = (
                    selectable_reason
                    if isinstance(selectable_reason, str)
                    else (selectable_reason(i))
                )
                groups.setdefault((why, True), []).append(i)
            continue
        free = explainer.free(t)
        in_time = explain_until is None or time.monotonic() < explain_until
        if free is not None:
            key = (free, False)
        elif explained < MAX_EXPLAINED and in_time:
            key = (explainer.reason(t), False)
            explained += 1
        elif not in_time:
            key = (
                "no valid panel contains them; the time limit ran out before the quotas that "
                "exclude them were named (panelsel check names them)",
                False,
            )
        else:
            key = (
                f"no valid panel contains them; the quotas that exclude them are named for "
                f"the first {MAX_EXPLAINED} groups only",
                False,
            )
        groups.setdefault(key, []).extend(members)
    return [
        Exclusion([ids[i] for i in sorted(who)], reason, selectable)
        for (reason, selectable), who in groups.items()
    ]
