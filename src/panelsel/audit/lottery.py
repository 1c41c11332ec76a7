"""The checks of a lottery listed over panels: every panel valid, the probabilities a
distribution, the marginals as ``probabilities.csv`` says, the drawn panel the seed's, the
panels in canonical order, interchangeable people treated alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.audit.certificates import (
    Check,
)
from panelsel.audit.files import compare_files, drawn_file_name, read_csv
from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.lotteries import Lottery
from panelsel.lottery.expand import draw
from panelsel.outputs.names import LOTTERY, PROBABILITIES
from panelsel.outputs.tables import WRITTEN_PROBABILITY_TOLERANCE
from panelsel.solve.algorithms import ALGORITHM_NAMES, ALGORITHMS
from panelsel.solve.algorithms.legacy import legacy_draw
from panelsel.solve.feasibility import NO_CHANCE_BELOW

SUM_TOLERANCE = 1e-9
"""How far the panel probabilities may sum from 1."""


MARGINAL_TOLERANCE = 1e-9
"""How far a marginal may be from ``probabilities.csv`` (written with 12 significant
digits)."""


SYMMETRY_TOLERANCE = 1e-9
"""How far the probabilities of two registrants of one type may differ (the lottery's
expansion makes them equal up to rounding of the panel probabilities)."""


def panel_indices(
    document: dict[str, Any], pool: Pool, key: str = "panels"
) -> tuple[list[npt.NDArray[np.intp] | None], list[str]]:
    """Each panel's members as row indices (None when an id is unknown) and the problems."""
    index = {pid: i for i, pid in enumerate(pool.ids)}
    panels: list[npt.NDArray[np.intp] | None] = []
    problems = []
    for r, panel in enumerate(document[key]):
        members = panel.get("members", []) if isinstance(panel, dict) else []
        unknown = [m for m in members if str(m) not in index]
        if unknown:
            problems.append(f"panel {r + 1}: id {unknown[0]!r} is not in the pool")
            panels.append(None)
            continue
        panels.append(np.array([index[str(m)] for m in members], dtype=np.intp))
    return panels, problems


def quota_problems(model: Model, members: npt.NDArray[np.intp]) -> list[str]:
    """Quota and household rules the panel breaks, counted from the feature matrix."""
    problems = []
    counts = model.person_features[members].sum(axis=0)
    for f, c in zip(model.features, counts.tolist(), strict=True):
        if c < f.min or c > f.max:
            problems.append(f"{f.category}={f.value} has {c}, quota {f.min}–{f.max}")
    if model.households:
        house = model.person_household[members]
        load: dict[int, int] = {}
        for h in house[house >= 0].tolist():
            load[h] = load.get(h, 0) + 1
        for h, count in load.items():
            if count > model.household_caps[h]:
                problems.append(
                    f"household {h} has {count} members, above {model.household_caps[h]}"
                )
    return problems


def check_panels(
    model: Model,
    pool: Pool,
    panels: list[npt.NDArray[np.intp] | None],
    unknown: list[str],
    name: str = "panels",
) -> Check:
    problems = list(unknown)
    if not panels:
        problems.append("lottery.json lists no panels, so nothing says what the seed drew from")
    for r, members in enumerate(panels):
        if members is None:
            continue
        if len(members) != model.k or len(set(members.tolist())) != len(members):
            problems.append(
                f"panel {r + 1}: {len(set(members.tolist()))} distinct members, not {model.k}"
            )
            continue
        for problem in quota_problems(model, members)[:2]:
            problems.append(f"panel {r + 1}: {problem}")
    figures = {"panels": len(panels), "invalid": len(problems), "panel_size": model.k}
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        return Check(name, False, f"{len(problems)} problem(s): {shown}", figures)
    return Check(
        name,
        True,
        f"all {len(panels)} panels have {model.k} distinct registrants and meet every quota",
        figures,
    )


def check_probabilities(probs: npt.NDArray[np.float64], name: str = "probabilities") -> Check:
    total = float(probs.sum())
    negative = int((probs < 0).sum())
    figures = {"sum": total, "negative": negative, "min": float(probs.min(initial=0.0))}
    ok = negative == 0 and abs(total - 1.0) <= SUM_TOLERANCE and np.all(np.isfinite(probs))
    if ok:
        return Check(name, True, f"non-negative, sum {total:.12f}", figures)
    return Check(
        name,
        False,
        f"{negative} negative; they sum to {total:.12f}, not 1 (tolerance {SUM_TOLERANCE:g})",
        figures,
    )


def check_marginals(
    out: Path,
    pool: Pool,
    marginals: npt.NDArray[np.float64],
    estimated: bool,
    safe: bool,
    column: str | None = None,
    name: str = "marginals",
) -> Check:
    path = out / PROBABILITIES
    header, rows = read_csv(path, safe)
    column = column or ("probability_estimate" if estimated else "probability")
    if column not in header:
        return Check(name, False, f"{path}: no column {column!r}")
    id_col = 0
    p_col = header.index(column)
    written: dict[str, float] = {}
    problems = []
    for line, row in enumerate(rows, start=2):
        try:
            written[row[id_col].strip()] = float(row[p_col])
        except (IndexError, ValueError):
            problems.append(f"{path}, row {line}: unreadable probability {row!r}")
    missing = [pid for pid in pool.ids if pid not in written]
    extra = len(written) - (len(pool.ids) - len(missing))
    if missing:
        problems.append(f"{len(missing)} registrant(s) missing, e.g. {missing[0]!r}")
    if extra or len(rows) != len(pool.ids):
        problems.append(f"{len(rows)} rows for {len(pool.ids)} registrants")
    worst, worst_id = 0.0, None
    for i, pid in enumerate(pool.ids):
        if pid in written:
            diff = abs(written[pid] - float(marginals[i]))
            if diff > worst:
                worst, worst_id = diff, pid
    if worst > WRITTEN_PROBABILITY_TOLERANCE and worst_id is not None:
        i = pool.ids.index(worst_id)
        problems.append(
            f"id {worst_id!r}: probabilities.csv says {written[worst_id]:.12g}, the lottery "
            f"gives {marginals[i]:.12g}"
        )
    figures = {"largest_difference": worst, "rows": len(rows)}
    if problems:
        return Check(name, False, "; ".join(problems), figures)
    return Check(
        name,
        True,
        f"probabilities.csv {column!r} equals the lottery's marginals for all {len(rows)} "
        f"registrants (largest difference {worst:.1e})",
        figures,
    )


def check_selected(
    out: Path,
    document: dict[str, Any],
    model: Model,
    pool: Pool,
    lottery: Lottery,
    panels: list[npt.NDArray[np.intp] | None],
    estimated: bool,
) -> Check:
    seed = int(document["seed"])
    recorded = sorted(str(m) for m in document["selected_members"])
    row_of = {pid: i for i, pid in enumerate(pool.ids)}
    chosen = [row_of[m] for m in recorded if m in row_of]
    others = sorted(set(range(model.n)) - set(chosen))
    problems = []
    if len(chosen) != len(recorded):
        problems.append("lottery.json's selected members include ids not in the pool")
    problems += compare_files(out, pool, chosen, others, document, LOTTERY)
    selected = document.get("selected")
    if estimated:
        again = sorted(pool.ids[i] for i in legacy_draw(model, seed))
        rule = "the legacy procedure's first run"
    elif not panels:
        again, rule = [], "nothing (lottery.json lists no panels)"
    else:
        index = draw(lottery, np.random.default_rng(seed))
        members = panels[index] if 0 <= index < len(panels) else None
        again = sorted(pool.ids[i] for i in members) if members is not None else []
        rule = f"panel {index + 1} of the list"
        if index != selected:
            problems.append(
                f"the seed draws panel {index + 1} of the list ('selected': {index}, counted "
                f"from 0), lottery.json records 'selected': {selected}"
            )
    if again != recorded:
        problems.append(f"seed {seed} draws {rule}, whose members are not the recorded ones")
    if problems:
        return Check("selected", False, "; ".join(problems), {"seed": seed})
    return Check(
        "selected",
        True,
        f"{drawn_file_name(document)} and remaining.csv match; seed {seed} draws {rule} again",
        {"seed": seed},
    )


def check_method(document: dict[str, Any]) -> Check:
    """The recorded algorithm is one panelsel has, and ``estimated`` is what it implies: a
    file cannot opt out of the certificate by naming another method."""
    algorithm = document.get("algorithm")
    estimated = document.get("estimated")
    if algorithm not in ALGORITHM_NAMES:
        return Check(
            "method",
            False,
            f"lottery.json names the algorithm {algorithm!r}, which panelsel does not have "
            f"(it has {', '.join(ALGORITHM_NAMES)}): nothing vouches for this lottery",
        )
    if estimated is not (not ALGORITHMS[str(algorithm)].exact):
        return Check(
            "method",
            False,
            f"lottery.json says estimated={estimated!r} for {algorithm}; only legacy's "
            "probabilities are estimates",
        )
    return Check("method", True, f"{algorithm} is one of panelsel's algorithms")


def check_order(
    panels: list[npt.NDArray[np.intp] | None], name: str, *, repeats: bool = False
) -> Check:
    """The panels are in the canonical order :mod:`panelsel.lottery.expand` promises (sorted member
    rows, panels in lexicographic order; each panel once, except in a uniform lottery), so
    that nobody can reorder them until the recorded seed draws a chosen panel."""
    keys = [tuple(sorted(p.tolist())) if p is not None else () for p in panels]
    for r, members in enumerate(panels):
        if members is not None and members.tolist() != list(keys[r]):
            return Check(name, False, f"panel {r + 1}'s members are not listed in pool order")
    for r in range(1, len(keys)):
        if keys[r] < keys[r - 1] or (keys[r] == keys[r - 1] and not repeats):
            what = "repeated" if keys[r] == keys[r - 1] else "out of the canonical order"
            return Check(
                name,
                False,
                f"panel {r + 1} is {what} (panels are sorted by their members' pool rows); a "
                "reordered lottery lets the recorded seed draw another panel",
            )
    return Check(name, True, f"the {len(keys)} panels are in the canonical order")


def check_symmetry(
    types: Model, marginals: npt.NDArray[np.float64], slack: float, name: str
) -> Check:
    """Registrants of one type (the same quota values, no household rule binding them) are
    interchangeable, so every algorithm gives them the same probability (within ``slack``,
    which is 1/M after rounding to M panels); a swap of one for another breaks this."""
    worst, where = 0.0, -1
    for t, members in enumerate(types.type_members):
        if len(members) > 1:
            spread = float(marginals[members].max() - marginals[members].min())
            if spread > worst:
                worst, where = spread, t
    figures = {"types": types.n_types, "largest_spread": worst, "allowed": slack}
    if worst > slack + SYMMETRY_TOLERANCE:
        members = types.type_members[where]
        hi, lo = (
            int(members[np.argmax(marginals[members])]),
            int(members[np.argmin(marginals[members])]),
        )
        return Check(
            name,
            False,
            f"registrants in rows {hi + 2} and {lo + 2} have the same quota values but "
            f"probabilities {marginals[hi]:.9f} and {marginals[lo]:.9f}: the lottery treats "
            "interchangeable people differently (was a member swapped?)",
            figures,
        )
    return Check(
        name,
        True,
        f"registrants with the same quota values have the same probability (within "
        f"{max(slack, SYMMETRY_TOLERANCE):.1e}) across {types.n_types} types",
        figures,
    )


def check_excluded(
    document: dict[str, Any], ids: list[str], final: npt.NDArray[np.float64]
) -> Check | None:
    """``no chance``: the people lottery.json's ``excluded`` names are exactly those the
    lottery drawn from gives less than :data:`~panelsel.solve.feasibility.NO_CHANCE_BELOW`
    (who, not why: the reasons are the run's words, not checked here).  None for a file
    without the record where nobody is below it."""
    zero = {ids[i] for i in np.flatnonzero(final < NO_CHANCE_BELOW).tolist()}
    recorded = document.get("excluded")
    if recorded is None:
        if not zero:
            return None
        return Check(
            "no chance",
            True,
            f"{len(zero)} registrant(s) have no chance; lottery.json does not list them "
            "(written before the 'excluded' record)",
        )
    listed = [str(pid) for entry in recorded for pid in entry.get("ids", [])]
    problems = []
    if len(listed) != len(set(listed)):
        problems.append("someone is listed twice")
    if set(listed) - zero:
        problems.append(
            f"{len(set(listed) - zero)} listed registrant(s) have a chance, e.g. "
            f"{sorted(set(listed) - zero)[0]!r}"
        )
    if zero - set(listed):
        problems.append(
            f"{len(zero - set(listed))} registrant(s) with no chance are not listed, e.g. "
            f"{sorted(zero - set(listed))[0]!r}"
        )
    if problems:
        return Check("no chance", False, "lottery.json's 'excluded': " + "; ".join(problems))
    return Check(
        "no chance",
        True,
        f"the {len(zero)} registrant(s) listed with no chance are exactly those the lottery "
        "gives none"
        if zero
        else "nobody is listed with no chance, and the lottery gives everyone one",
        {"no_chance": len(zero)},
    )
