"""How much a coalition can gain by misreporting: ``panelsel compare --coalition c``.

Flanigan, Liang, Procaccia & Wang (AAAI 2024) show that a group of volunteers who all
report the same made-up features can raise their own chances under LEXIMIN far above the
equal share.  This module measures that for any algorithm, by trying it.

What is searched
----------------
* **The coalition** is ``c`` registrants of the most common answers (the largest type, then
  the next largest, in file order; people in a household the rule binds are not used):
  volunteers of whom the pool has plenty, who gain most by pretending to be scarce.
* **The reports** are complete answer vectors (one value per category; for a multi-valued
  category one value): the *scarcest* vector, each category's value of largest
  ``(min + 1) / (registrants + 1)`` among values with room (maximum above 0); variants
  of it with one category's value replaced by that category's second scarcest, in order
  of that value's scarcity; and the answers of the type the honest lottery favours most.
  At most ``candidates`` vectors, in that order.
* For each vector the whole pool is rerun with the coalition's quota cells replaced, and
  the coalition's probability (all now of one type, so one probability) is read from the
  new lottery.

The largest of these is a **lower bound** on what a coalition of ``c`` can reach by one
common report, not the worst case: other coalitions and other reports are not searched.
Household columns are left as they are (a coalition does not change its address).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from panelsel.errors import InfeasibleQuotasError, SolverError
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec

DEFAULT_COALITION_SHARE = 0.01
"""``--coalition`` defaults to this share of the pool (at least 1 registrant)."""
DEFAULT_CANDIDATES = 4
"""``--candidates``: the reports tried per algorithm."""


@dataclass
class Attempt:
    """One report tried: the answers and the coalition's probability (None: the run
    failed, ``failure`` says why)."""

    report: dict[str, str]
    probability: float | None
    failure: str = ""


@dataclass
class Manipulation:
    """One algorithm's manipulation test."""

    algorithm: str
    coalition: list[str]
    honest: float
    """The coalition's mean probability when it reports truthfully."""
    attempts: list[Attempt]

    @property
    def best(self) -> Attempt | None:
        done = [a for a in self.attempts if a.probability is not None]
        return max(done, key=lambda a: a.probability or 0.0) if done else None

    def as_dict(self) -> dict[str, object]:
        best = self.best
        return {
            "algorithm": self.algorithm,
            "coalition": self.coalition,
            "honest_probability": self.honest,
            "manipulated_probability": None if best is None else best.probability,
            "report": None if best is None else best.report,
            "attempts": [dataclasses.asdict(a) for a in self.attempts],
        }


def default_coalition(n: int) -> int:
    return max(1, round(DEFAULT_COALITION_SHARE * n))


def choose_coalition(model: Model, pool: Pool, size: int) -> list[int]:
    """``size`` registrants of the largest types (rows, in file order)."""
    house = model.person_household
    order = sorted(range(model.n_types), key=lambda t: -len(model.type_members[t]))
    chosen: list[int] = []
    for t in order:
        for person in model.type_members[t].tolist():
            if house[person] < 0 and len(chosen) < size:
                chosen.append(int(person))
    return sorted(chosen)


def candidate_reports(
    model: Model, spec: QuotaSpec, honest: npt.NDArray[np.float64], limit: int
) -> list[dict[str, str]]:
    """The reports tried, in order (see the module notes)."""
    ranked: dict[str, list[tuple[float, str]]] = {}
    for f in model.features:
        if f.max > 0:
            score = (f.min + 1) / (f.pool_count + 1)
            ranked.setdefault(f.category, []).append((score, f.value))
    for values in ranked.values():
        values.sort(key=lambda sv: -sv[0])
    scarcest = {cat: values[0][1] for cat, values in ranked.items()}
    reports = [scarcest]
    variants = sorted(
        ((values[1][0], cat, values[1][1]) for cat, values in ranked.items() if len(values) > 1),
        key=lambda x: -x[0],
    )
    luckiest = int(np.argmax(honest))
    favoured: dict[str, str] = {}
    for j, f in enumerate(model.features):
        if model.person_features[luckiest, j] and f.category not in favoured:
            favoured[f.category] = f.value
    tail = [favoured] if len(favoured) == len(spec.categories) else []
    for _, cat, value in variants:
        if len(reports) + len(tail) >= limit:
            break
        reports.append({**scarcest, cat: value})
    out: list[dict[str, str]] = []
    for r in [*reports, *tail]:
        if r not in out and len(r) == len(spec.categories):
            out.append(r)
    return out[:limit]


def misreported(pool: Pool, spec: QuotaSpec, rows: list[int], report: dict[str, str]) -> Pool:
    """The pool with ``rows``' quota cells replaced by ``report``."""
    columns = {
        pool.find_column(cat.column, purpose=f"category {cat.name!r}"): report[cat.name]
        for cat in spec.categories
    }
    chosen = set(rows)
    new_rows = [
        [columns.get(c, cell) for c, cell in enumerate(row)] if r in chosen else list(row)
        for r, row in enumerate(pool.rows)
    ]
    return dataclasses.replace(pool, rows=new_rows, warnings=[], dropped=[])


Run = Callable[[Model], npt.NDArray[np.float64]]
"""Runs one algorithm on a model and returns everyone's probability."""


def manipulation_test(
    algorithm: str,
    pool: Pool,
    spec: QuotaSpec,
    model: Model,
    honest: npt.NDArray[np.float64],
    run: Run,
    coalition_size: int,
    candidates: int = DEFAULT_CANDIDATES,
) -> Manipulation:
    """Try the candidate reports for a coalition of ``coalition_size`` (see the module
    notes); ``run`` reruns the algorithm (with its time limit) on a changed model."""
    rows = choose_coalition(model, pool, coalition_size)
    attempts = []
    for report in candidate_reports(model, spec, honest, candidates):
        changed = misreported(pool, spec, rows, report)
        try:
            probabilities = run(build_model(changed, spec, values_must_exist=False))
        except InfeasibleQuotasError:
            attempts.append(Attempt(report, None, "the quotas cannot be met with this report"))
            continue
        except SolverError as error:
            attempts.append(Attempt(report, None, error.message))
            continue
        attempts.append(Attempt(report, float(probabilities[rows].mean())))
    return Manipulation(
        algorithm, [pool.ids[r] for r in rows], float(honest[rows].mean()), attempts
    )
