"""The problem left after dropouts: who can still be selected, and what the seats to fill
must still hold (issue 17, ``panelsel replace``).

Given the original pool and quotas, the members kept from the drawn panel and the people
excluded from this round (the dropouts, the unavailable), :func:`residual_inputs` returns a
pool and a quota spec of the same kinds as those of a selection, so that the whole pipeline
(model, lottery, outputs, audit) runs on them unchanged:

* the pool is everyone not kept, not a dropout and not unavailable, in file order, each with
  the id and the spreadsheet row of the original file;
* the panel size is the number of seats to fill (the dropouts);
* every quota becomes ``[max(0, min - held), max - held]``, ``held`` being the kept
  members' count of the value (multi-valued categories alike); kept members never exceed a
  maximum, since they are part of a panel that met it;
* the household rule counts kept members: a household where ``j`` kept members live has
  ``max_per_household - j`` seats left (:attr:`Households.room`, which the model turns into
  that household's own bound); a household with none left has its other members left out
  of the pool (:attr:`Residual.housemates`).

The inverse, the final panel, is the kept members and the replacements together; it meets
the original quotas exactly when the replacements meet the residual ones (counts add).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from panelsel.inputs.pool import Pool, household_key, normalise
from panelsel.inputs.quotas import Category, QuotaSpec, ValueQuota


@dataclass(frozen=True)
class Held:
    """What the kept members hold of one quota value, and the bounds left."""

    category: str
    value: str
    min: int
    max: int
    held: int

    @property
    def residual_min(self) -> int:
        return max(0, self.min - self.held)

    @property
    def residual_max(self) -> int:
        return self.max - self.held


@dataclass
class Residual:
    """The pool and quotas of a replacement round."""

    pool: Pool
    spec: QuotaSpec
    kept: list[str]
    held: list[Held]
    housemates: list[str]
    """Ids left out because kept members fill their household (``max_per_household`` of
    them live there)."""
    household_room: list[tuple[list[str], int]] = dataclasses.field(default_factory=list)
    """For each household with kept members, other registrants and room left: those
    members' ids and the seats the household has left (addresses are not recorded)."""


def _values_of(cell: str, category: Category) -> set[str]:
    if category.multi_value is None:
        value = category.value_of(cell)
        return {normalise(value)} if value is not None else set()
    return {p for p in (normalise(x) for x in cell.split(category.multi_value)) if p}


def residual_inputs(
    pool: Pool, spec: QuotaSpec, kept: list[str], excluded: set[str], seats: int
) -> Residual:
    """The residual pool and quotas after keeping ``kept`` (ids of the drawn panel that stay)
    and leaving out ``excluded`` (dropouts, unavailable), with ``seats`` to fill."""
    # ids are unique regardless of case (load_pool), and compared that way everywhere
    index = {pid.casefold(): i for i, pid in enumerate(pool.ids)}
    kept_rows = [index[pid.casefold()] for pid in kept]
    held: list[Held] = []
    categories = []
    for cat in spec.categories:
        ci = pool.find_column(cat.column, purpose=f"category {cat.name!r}")
        quotas = []
        for q in cat.quotas:
            key = normalise(q.value)
            count = sum(key in _values_of(pool.rows[r][ci], cat) for r in kept_rows)
            hi = min(q.max, spec.panel_size)
            held.append(Held(cat.name, q.value, q.min, hi, count))
            quotas.append(ValueQuota(q.value, max(0, q.min - count), max(0, hi - count), q.line))
        categories.append(dataclasses.replace(cat, quotas=tuple(quotas)))
    housemates: set[int] = set()
    households = spec.households
    household_room: list[tuple[list[str], int]] = []
    if spec.households is not None:
        columns = [
            pool.find_column(c, purpose="the household rule") for c in spec.households.columns
        ]

        def address(r: int) -> tuple[str, ...]:
            return tuple(household_key(pool.rows[r][c]) for c in columns)

        m = spec.households.max_per_household
        living: dict[tuple[str, ...], list[int]] = {}  # address -> kept rows, in panel order
        for r in kept_rows:
            if all(address(r)):
                living.setdefault(address(r), []).append(r)
        full = {a for a, rows in living.items() if len(rows) >= m}
        housemates = {
            r for r in range(len(pool.rows)) if all(address(r)) and address(r) in full
        } - set(kept_rows)
        # the room matters (and is recorded) only where somebody else lives
        shared = {address(r) for r in range(len(pool.rows)) if r not in set(kept_rows)}
        room = tuple(
            (a, m - len(rows)) for a, rows in living.items() if a not in full and a in shared
        )
        households = dataclasses.replace(spec.households, room=room)
        household_room = [([pool.ids[r] for r in living[a]], left) for a, left in room]
    gone = {index[pid.casefold()] for pid in excluded if pid.casefold() in index}
    left_out = set(kept_rows) | gone | housemates
    rows = [r for r in range(len(pool.rows)) if r not in left_out]
    residual_pool = dataclasses.replace(
        pool,
        rows=[pool.rows[r] for r in rows],
        ids=[pool.ids[r] for r in rows],
        line_numbers=[pool.line_numbers[r] for r in rows],
        warnings=[],
        dropped=[],
    )
    residual_spec = dataclasses.replace(
        spec, panel_size=seats, categories=tuple(categories), warnings=(), households=households
    )
    return Residual(
        residual_pool,
        residual_spec,
        list(kept),
        held,
        sorted((pool.ids[r] for r in housemates), key=lambda pid: index[pid.casefold()]),
        household_room,
    )
