"""The numeric model: who has which quota value, the bounds, interchangeable types, households.

:func:`build_model` checks the quota spec against the pool (columns exist, every value of a
single-valued category has a quota) and turns both into arrays.

Types
-----
Two registrants with the same quota values, neither of them in a household that the household
rule can constrain, are interchangeable: swapping them maps quota-satisfying panels to
quota-satisfying panels.  The LEXIMIN optimum is unique, hence symmetric under such swaps, so
both get the same selection probability.  The solvers therefore work with *types* (groups of
interchangeable people) and integer counts per type, and expand to people at the end
(:func:`panelsel.lottery.expand.expand_counts`).  A registrant in a household with more members than
its bound (``max_per_household``, or less in a replacement round) forms a type of their own.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from panelsel.errors import BadInputError, InfeasibleQuotasError
from panelsel.inputs.pool import Pool, household_key, normalise
from panelsel.inputs.quotas import BLANK_VALUE, Category, QuotaSpec, ValueQuota


@dataclass(frozen=True)
class Feature:
    """One (category, value) pair with its inclusive seat bounds."""

    category: str
    value: str
    min: int
    max: int
    pool_count: int


@dataclass
class Model:
    """Everything the algorithms need, as arrays.

    Attributes
    ----------
    n, k : int
        Pool size and panel size.
    features : list of Feature
        The constrained (category, value) pairs.
    person_features : ndarray of uint8, shape (n, F)
        1 where a person has a feature.
    type_of : ndarray of int, shape (n,)
        The type of each person.
    type_members : list of ndarray
        The people of each type, in input order.
    type_features : ndarray of uint8, shape (T, F)
        The feature row shared by a type's members.
    households : list of ndarray
        The types (all singletons) of each household that the household rule constrains.
    max_per_household : int
        The household bound of the quota file (meaningful when ``households`` is non-empty).
    household_caps : list of int
        Each constrained household's own bound: ``max_per_household``, or less in a
        replacement round where kept members live there (``Households.room``).  Empty means
        ``max_per_household`` for every household.
    quota_columns : list of int
        The pool columns of the categories, for outputs (household columns, being addresses,
        are deliberately not included).
    """

    n: int
    k: int
    features: list[Feature]
    person_features: npt.NDArray[np.uint8]
    type_of: npt.NDArray[np.intp]
    type_members: list[npt.NDArray[np.intp]]
    type_features: npt.NDArray[np.uint8]
    households: list[npt.NDArray[np.intp]] = field(default_factory=list)
    max_per_household: int = 0
    quota_columns: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    household_caps: list[int] = field(default_factory=list)
    shared_households: list[list[int]] = field(default_factory=list)
    """Every household with two or more registrants (rows, in file order), bound by the
    rule or not: ``check`` reports them and ``probabilities.csv`` labels them."""

    def __post_init__(self) -> None:
        if not self.household_caps:
            self.household_caps = [self.max_per_household] * len(self.households)
        if len(self.household_caps) != len(self.households):
            raise ValueError("one household cap per household")

    @property
    def household_cap(self) -> npt.NDArray[np.int64]:
        """Each constrained household's bound, as an array."""
        return np.array(self.household_caps, dtype=np.int64)

    @property
    def uniform_households(self) -> bool:
        """Whether every constrained household has the quota file's bound."""
        return all(c == self.max_per_household for c in self.household_caps)

    @property
    def n_types(self) -> int:
        return len(self.type_members)

    @property
    def type_sizes(self) -> npt.NDArray[np.intp]:
        return np.array([len(m) for m in self.type_members], dtype=np.intp)

    @property
    def feature_min(self) -> npt.NDArray[np.int64]:
        return np.array([f.min for f in self.features], dtype=np.int64)

    @property
    def feature_max(self) -> npt.NDArray[np.int64]:
        return np.array([min(f.max, self.k) for f in self.features], dtype=np.int64)

    @property
    def type_household(self) -> npt.NDArray[np.intp]:
        """The index in ``households`` of each type's household, or -1 for none."""
        house = np.full(self.n_types, -1, dtype=np.intp)
        for h, types in enumerate(self.households):
            house[types] = h
        return house

    @functools.cached_property
    def person_household(self) -> npt.NDArray[np.intp]:
        """The index in ``households`` of each person's household, or -1 for none (computed
        once: a model is not changed after :func:`build_model`)."""
        return self.type_household[self.type_of]

    def panel_violations(self, members: npt.ArrayLike) -> list[str]:
        """Every quota (and household) rule a set of people breaks; empty when it is valid."""
        idx = np.asarray(members, dtype=np.intp)
        problems = []
        if len(idx) != self.k or len(np.unique(idx)) != len(idx):
            problems.append(f"{len(np.unique(idx))} distinct members instead of {self.k}")
        counts = (
            self.person_features[idx].sum(axis=0)
            if len(idx)
            else np.zeros(len(self.features), dtype=np.int64)
        )
        for f, c in zip(self.features, counts, strict=True):
            if not f.min <= c <= f.max:
                problems.append(f"{f.category}={f.value}: {c} not in [{f.min}, {f.max}]")
        chosen = set(idx.tolist())
        for h, cap in zip(self.households, self.household_caps, strict=True):
            people = [int(self.type_members[t][0]) for t in h]
            inside = sum(p in chosen for p in people)
            if inside > cap:
                problems.append(f"household of {people}: {inside} selected, above {cap}")
        return problems

    def count_violations(self, counts: npt.ArrayLike) -> list[str]:
        """Like :meth:`panel_violations`, for a vector of counts per type."""
        c = np.asarray(counts, dtype=np.int64)
        members = np.concatenate(
            [self.type_members[t][: c[t]] for t in range(self.n_types) if c[t] > 0]
            or [np.zeros(0, dtype=np.intp)]
        )
        if np.any(c < 0) or np.any(c > self.type_sizes):
            return ["a type count is out of range"]
        return self.panel_violations(members)


NEAR_MISS_CUTOFF = 0.8
"""How alike (difflib's ratio) a listed value must be to a quota value to be warned about."""


def _near_misses(column: str, unmatched: dict[str, int], quotas: Sequence[ValueQuota]) -> list[str]:
    """Warnings for values of a multi-valued cell that look like a quota value but are not
    one, so do not count toward it (a typo, a stray character)."""
    import difflib

    names = {normalise(q.value): q.value for q in quotas}
    out = []
    for part, count in sorted(unmatched.items()):
        close = difflib.get_close_matches(part, list(names), n=1, cutoff=NEAR_MISS_CUTOFF)
        if close:
            out.append(
                f"column {column!r}: {count} registrant(s) list {part!r}, which is close to "
                f"the quota value {names[close[0]]!r} but is not it, so they do not count "
                "toward it; correct the cells if they mean it"
            )
    return out


def _split(cell: str, sep: str) -> list[str]:
    return [p for p in (normalise(x) for x in cell.split(sep)) if p]


SEPARATORS = (";", ",", "|", "/", "\n")
"""Separators a multi-select export may use between the answers of one cell."""


def _likely_separator(
    cells: Sequence[str], quota_keys: set[str], not_this: str | None
) -> str | None:
    """The separator that splits the most cells into quota values (None if none does)."""
    best, best_hits = None, 0
    for sep in SEPARATORS:
        if sep == not_this:
            continue
        hits = sum(
            1
            for cell in cells
            if sep in cell and any(part in quota_keys for part in _split(cell, sep))
        )
        if hits > best_hits:
            best, best_hits = sep, hits
    return best


def _multi_value_line(sep: str) -> str:
    """The YAML line that sets a separator (double-quoted: ';' and ',' need quoting)."""
    return "multi_value: " + ('"\\n"' if sep == "\n" else f'"{sep}"')


def _shown(values: Sequence[str], limit: int = 8) -> str:
    listed = ", ".join(repr(v) for v in values[:limit])
    return listed + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _check_quota_values(
    pool: Pool,
    ci: int,
    cat: Category,
    qfile: str,
    present: dict[str, str],
    warnings: list[str],
    *,
    misspelt_only: bool = False,
) -> None:
    """Refuse a quota value with a minimum that no registrant has (a misspelling, a wrong or
    forgotten ``multi_value``), naming the values that are there and the closest one; warn
    about one whose minimum is 0."""
    import difflib

    column = pool.columns[ci]
    quota_keys = {normalise(q.value) for q in cat.quotas}
    cells = pool.column(ci)
    values = [v for k, v in sorted(present.items()) if k]
    for q in cat.quotas:
        key = normalise(q.value)
        if key in present:
            continue
        # the closest value that no other quota is for ('Male' is not a misspelt 'Female')
        unclaimed = [k for k in present if k and k not in quota_keys]
        close = difflib.get_close_matches(key, unclaimed, n=1, cutoff=0.6)
        if misspelt_only and not close:
            continue
        sep = _likely_separator(cells, quota_keys, cat.multi_value)
        if sep is not None and any(key in _split(cell, sep) for cell in cells):
            shown = "a line break" if sep == "\n" else repr(sep)
            setting = _multi_value_line(sep)
            if cat.multi_value is None:
                fix = (
                    f"the cells list several answers separated by {shown}: add "
                    f"'{setting}' to category {cat.name!r}"
                )
            else:
                fix = (
                    f"the cells separate their answers by {shown}, not "
                    f"{cat.multi_value!r}: write '{setting}' in category {cat.name!r}"
                )
        elif close:
            fix = (
                f"did you mean {present[close[0]]!r}? Write the value as the registrants' "
                f"file has it"
            )
        elif q.min == 0:
            fix = (
                "correct the value's spelling if it is a typo; otherwise nobody of this kind "
                "registered, and the quota changes nothing"
            )
        else:
            fix = (
                "correct the value's spelling; if nobody of this kind registered, recruit "
                "some or lower its minimum to 0"
            )
        where = f"{qfile}, line {q.line}" if q.line else qfile
        if q.min == 0:
            warnings.append(
                f"{where}: no registrant has {cat.name} = {q.value!r} (column {column!r} of "
                f"{pool.source}); {fix}"
            )
            continue
        raise BadInputError(
            f"{where}: the quota {cat.name} = {q.value!r} (min {q.min}) is for a value no "
            f"registrant has: column {column!r} of {pool.source} holds {_shown(values)}",
            hint=fix,
        )


def _banded(pool: Pool, r: int, ci: int, cat: Category, qfile: str, cell: str) -> str:
    """The value a cell of a column with bands counts as; a number in no band is refused."""
    value = cat.value_of(cell)
    if value is None:
        listed = "; ".join(b.text() for b in cat.bands)
        raise BadInputError(
            f"is a number outside every band of category {cat.name!r} ({listed})",
            file=pool.source,
            row=pool.line_numbers[r],
            column=pool.columns[ci],
            value=cell.strip(),
            hint=f"correct the cell, or widen a band or add one in {qfile}",
        )
    return value


def _unbanded_answer(
    pool: Pool, r: int, ci: int, cat: Category, qfile: str, value: str
) -> BadInputError:
    """The error for an answer of a column with bands that is not a number and has no
    quota: such an answer is a value of its own."""
    if value == BLANK_VALUE:
        return BadInputError(
            f"is blank, and category {cat.name!r} has no quota for blank answers",
            file=pool.source,
            row=pool.line_numbers[r],
            column=pool.columns[ci],
            hint=f"add a quota for '{BLANK_VALUE}' to category {cat.name!r} in {qfile} (min 0 "
            "if none is needed), or fill in the cell",
        )
    return BadInputError(
        f"is not a number, so no band of category {cat.name!r} holds it, and it has no quota "
        "of its own",
        file=pool.source,
        row=pool.line_numbers[r],
        column=pool.columns[ci],
        value=value,
        hint=f"add a quota for {value!r} to category {cat.name!r} in {qfile} (an answer such "
        "as 'prefer not to say' is a value like a band; min 0 if none is needed), or correct "
        "the cell",
    )


TYPO_CELLS = 2
TYPO_SHARE = 3
"""An answer without a quota given by at most ``TYPO_CELLS`` registrants, close to a quota
value at least ``TYPO_SHARE`` times as many gave, is called a typo in the cell (not a value
to write in the quota file); a close quota value others gave is a different answer."""


def _unquoted_value(
    pool: Pool, r: int, ci: int, cat: Category, qfile: str, cell: str
) -> BadInputError:
    """The error for a cell of a single-valued category whose value has no quota."""
    listed = ", ".join(repr(q.value) for q in cat.quotas)
    if not normalise(cell):
        message, hint = pool.blank_cell(r, ci, f"fill in one of {listed}, or remove the registrant")
        return BadInputError(
            message,
            file=pool.source,
            row=pool.line_numbers[r],
            column=pool.columns[ci],
            hint=hint,
        )
    quota_keys = {normalise(q.value) for q in cat.quotas}
    sep = _likely_separator([cell], quota_keys, None)
    import difflib

    close = difflib.get_close_matches(normalise(cell), list(quota_keys), n=1, cutoff=0.6)
    counts = Counter(normalise(cat.value_of(c) or c) for c in pool.column(ci))
    here = counts[normalise(cell)]
    typo_of = close[0] if close and counts[close[0]] >= TYPO_SHARE * here else None
    if sep is not None:
        hint = (
            f"the cell lists several answers separated by {sep!r}: add "
            f"'{_multi_value_line(sep)}' to category {cat.name!r} in {qfile}"
        )
    elif typo_of is not None and here <= TYPO_CELLS:
        # a rare answer close to one many registrants gave: the cell is the typo
        written = next(q.value for q in cat.quotas if normalise(q.value) == typo_of)
        hint = (
            f"probably a typo for {written!r}, which {counts[typo_of]} other registrant(s) "
            "gave: correct the cell"
        )
    elif close and counts[close[0]] == 0:
        # a quota value nobody gave, close to this answer: the quota is the typo
        written = next(q.value for q in cat.quotas if normalise(q.value) == close[0])
        hint = (
            f"the quota value {written!r} is close to it: write it in {qfile} as the "
            f"registrants' file has it ({cell.strip()!r}), or correct the cell"
        )
    else:
        hint = (
            f"add a quota for {cell.strip()!r} under categories -> {cat.name} -> quotas "
            "(for example {min: 0, max: 2}; under a fixed split such as 50:50 such a quota "
            f"leaves them no seat: run panelsel check), or correct the cell"
        )
    return BadInputError(
        f"has no quota in {qfile} (category {cat.name!r} lists {listed})",
        file=pool.source,
        row=pool.line_numbers[r],
        column=pool.columns[ci],
        value=cell.strip(),
        hint=hint,
    )


def build_model(
    pool: Pool, spec: QuotaSpec, *, compress_types: bool = True, values_must_exist: bool = True
) -> Model:
    """Check ``spec`` against ``pool`` and build the :class:`Model`.

    With ``compress_types=False`` every registrant is a type of their own (the plain
    per-person formulation, used to cross-check the compressed one).  With
    ``values_must_exist=False`` a quota value nobody has is left to the feasibility checks
    (a replacement round, whose pool may have run out of a value: infeasible, not a
    misspelling).

    Raises
    ------
    BadInputError
        A quota column is missing, or a registrant has a value of a single-valued category
        that has no quota.
    """
    n, k = len(pool), spec.panel_size
    qfile = str(spec.path)
    features: list[Feature] = []
    columns: list[npt.NDArray[np.uint8]] = []
    quota_columns: list[int] = []
    warnings: list[str] = [*spec.warnings, *pool.dropped, *pool.warnings]
    # every column is looked for before any value is (a missing column is the first problem)
    found = [
        pool.find_column(cat.column, purpose=f"category {cat.name!r}", source=qfile)
        for cat in spec.categories
    ]
    for cat, ci in zip(spec.categories, found, strict=True):
        quota_columns.append(ci)
        cells = pool.column(ci)
        index = {normalise(q.value): j for j, q in enumerate(cat.quotas)}
        has = np.zeros((n, len(cat.quotas)), dtype=np.uint8)
        unmatched: dict[str, int] = {}
        present: dict[str, str] = {}  # normalised value -> as first written
        if cat.multi_value is None:
            if cat.bands:
                cells = [_banded(pool, r, ci, cat, qfile, cell) for r, cell in enumerate(cells)]
            elif any(q.value == BLANK_VALUE for q in cat.quotas):
                cells = [cat.value_of(cell) or cell for cell in cells]
            for cell in cells:
                present.setdefault(normalise(cell), cell.strip())
            # a quota value nobody has, close to a value without a quota, is a misspelling:
            # named before the cells without a quota are; other such values after them
            if values_must_exist:
                _check_quota_values(pool, ci, cat, qfile, present, [], misspelt_only=True)
            for r, cell in enumerate(cells):
                key = normalise(cell)
                j = index.get(key)
                if j is None and cat.bands:
                    raise _unbanded_answer(pool, r, ci, cat, qfile, cell)
                if j is None:
                    raise _unquoted_value(pool, r, ci, cat, qfile, cell)
                has[r, j] = 1
            if values_must_exist:
                _check_quota_values(pool, ci, cat, qfile, present, warnings)
        else:
            for r, cell in enumerate(cells):
                for raw in cell.split(cat.multi_value):
                    part = normalise(raw)
                    if not part:
                        continue
                    present.setdefault(part, raw.strip())
                    j = index.get(part)
                    if j is not None:
                        has[r, j] = 1
                    else:
                        unmatched[part] = unmatched.get(part, 0) + 1
            if values_must_exist:
                _check_quota_values(pool, ci, cat, qfile, present, warnings)
            warnings.extend(_near_misses(pool.columns[ci], unmatched, cat.quotas))
        for j, q in enumerate(cat.quotas):
            features.append(Feature(cat.name, q.value, q.min, q.max, int(has[:, j].sum())))
        columns.append(has)
    person_features = (
        np.concatenate(columns, axis=1) if columns else np.zeros((n, 0), dtype=np.uint8)
    )

    # households the rule can bind: more members than allowed
    shared: list[list[int]] = []
    binding_of = np.full(n, -1, dtype=np.intp)
    households_people: list[list[int]] = []
    caps: list[int] = []
    m = 0
    if spec.households is not None:
        m = spec.households.max_per_household
        room = dict(spec.households.room)
        hcols = [
            pool.find_column(c, purpose="the household rule", source=qfile)
            for c in spec.households.columns
        ]
        groups: dict[tuple[str, ...], list[int]] = {}
        for r, row in enumerate(pool.rows):
            address = tuple(household_key(row[c]) for c in hcols)
            if all(address):  # a blank household cell puts nobody in a household
                groups.setdefault(address, []).append(r)
        shared = [people for people in groups.values() if len(people) > 1]
        warnings.extend(_near_identical(pool, hcols, groups))
        for address, people in groups.items():
            cap = room.get(address, m)
            if len(people) > cap:
                for p in people:
                    binding_of[p] = len(households_people)
                households_people.append(people)
                caps.append(cap)

    # types: identical feature rows, people in binding households alone
    keys: dict[bytes, int] = {}
    type_of = np.empty(n, dtype=np.intp)
    members: list[list[int]] = []
    for r in range(n):
        alone = binding_of[r] >= 0 or not compress_types
        type_key = b"person:%d" % r if alone else person_features[r].tobytes()
        t = keys.get(type_key)
        if t is None:
            t = keys[type_key] = len(members)
            members.append([])
        members[t].append(r)
        type_of[r] = t
    type_members = [np.array(ms, dtype=np.intp) for ms in members]
    type_features = person_features[[ms[0] for ms in members]]
    households = [type_of[np.array(h, dtype=np.intp)] for h in households_people]
    return Model(
        n=n,
        k=k,
        features=features,
        person_features=person_features,
        type_of=type_of,
        type_members=type_members,
        type_features=type_features,
        households=households,
        max_per_household=m,
        quota_columns=quota_columns,
        warnings=warnings,
        household_caps=caps,
        shared_households=shared,
    )


NEAR_IDENTICAL = 0.8
"""Two household keys with the same digits whose letters are at least this similar
(difflib's ratio) are warned about as perhaps one household."""
MAX_NEAR_PAIRS = 5
MAX_BLOCK = 300
"""Households compared pairwise within a block of keys with the same digits; larger blocks
are skipped (the warning is a courtesy, not a check)."""


def _near_identical(
    pool: Pool, hcols: list[int], groups: dict[tuple[str, ...], list[int]]
) -> list[str]:
    """Warnings about households whose cells differ a little (``12 Castle Street`` and
    ``12 Castle St``) and may be one household the rule does not see as one."""
    import difflib

    blocks: dict[str, list[tuple[str, ...]]] = {}
    for key in groups:
        digits = "".join(ch for ch in "".join(key) if ch.isdigit())
        blocks.setdefault(digits, []).append(key)
    found = []
    for keys in blocks.values():
        if len(keys) < 2 or len(keys) > MAX_BLOCK:
            continue
        letters = ["".join(ch for ch in "".join(k) if not ch.isdigit()) for k in keys]
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                ratio = difflib.SequenceMatcher(None, letters[a], letters[b]).ratio()
                if ratio >= NEAR_IDENTICAL:
                    found.append((groups[keys[a]][0], groups[keys[b]][0]))
    out = []
    for r, s in sorted(found)[:MAX_NEAR_PAIRS]:

        def cells(row: int) -> str:
            return ", ".join(pool.rows[row][c].strip() for c in hcols)

        out.append(
            f"{pool.source}: rows {pool.line_numbers[r]} ({cells(r)!r}) and "
            f"{pool.line_numbers[s]} ({cells(s)!r}) have nearly the same address; if they "
            "are one household, make the cells the same (the household rule ignores case, "
            "spaces and punctuation, nothing else)"
        )
    if len(found) > MAX_NEAR_PAIRS:
        out.append(f"{pool.source}: {len(found) - MAX_NEAR_PAIRS} more such pairs of addresses")
    return out


def cheap_infeasibility(model: Model, spec: QuotaSpec) -> list[str]:
    """Reasons, found without a solver, why no panel can meet the quotas (empty if none)."""
    reasons = []
    k, n = model.k, model.n
    if k > n:
        reasons.append(f"the panel size {k} is larger than the pool ({n} registrants)")
    for f in model.features:
        if f.min > f.pool_count:
            reasons.append(
                f"{f.category} = {f.value}: the minimum is {f.min} but only "
                f"{f.pool_count} registrant(s) have this value"
            )
        if f.min > k:
            reasons.append(
                f"{f.category} = {f.value}: the minimum {f.min} is above the panel size {k}"
            )
    for cat in spec.categories:
        if cat.multi_value is not None:
            # k people hold at most the sum of the k largest numbers of values per person
            cols = [j for j, f in enumerate(model.features) if f.category == cat.name]
            need = sum(model.features[j].min for j in cols)
            held = np.sort(model.person_features[:, cols].sum(axis=1))[::-1][:k]
            if need > int(held.sum()):
                reasons.append(
                    f"{cat.name}: the minimums ask for {need} value-seats, but no {k} "
                    f"registrants hold more than {int(held.sum())} of these values between "
                    "them"
                )
            continue
        feats = [f for f in model.features if f.category == cat.name]
        total_min = sum(f.min for f in feats)
        if total_min > k:
            reasons.append(
                f"{cat.name}: the minimums add up to {total_min}, above the panel size {k}"
            )
        reachable = sum(min(f.max, f.pool_count) for f in feats)
        if reachable < k:
            reasons.append(
                f"{cat.name}: at most {reachable} seats can be filled (each value's "
                f"maximum, or its number of registrants if smaller), below the panel "
                f"size {k}"
            )
    if model.households:
        in_binding = sum(len(h) for h in model.households)
        capacity = (n - in_binding) + sum(model.household_caps)
        if capacity < k:
            rule = (
                f"at most {model.max_per_household} per household"
                if model.uniform_households
                else f"at most {model.max_per_household} per household (less where kept "
                "members live)"
            )
            reasons.append(
                f"with {rule} only {capacity} registrants can be selected together, below {k}"
            )
    return reasons


def check_feasible_cheaply(model: Model, spec: QuotaSpec) -> None:
    """Raise :class:`InfeasibleQuotasError` when :func:`cheap_infeasibility` finds a reason."""
    reasons = cheap_infeasibility(model, spec)
    if reasons:
        raise InfeasibleQuotasError(
            "the pool and the quotas conflict:",
            reasons=reasons,
            hint="lower the minimums or raise the maximums named above, or recruit more "
            "registrants of the kinds that are short",
        )
