"""The checks of a lottery recorded over types and count vectors (a large pool)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.audit.certificates import (
    Check,
)
from panelsel.audit.files import compare_files, drawn_file_name
from panelsel.audit.lottery import check_marginals, check_probabilities, quota_problems
from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.lotteries import GroupedLottery
from panelsel.lottery.expand import draw_grouped, members_of


def audit_grouped(
    out: Path,
    document: dict[str, Any],
    model: Model,
    types: Model,
    pool: Pool,
    checks: list[Check],
) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.float64]]:
    """The checks of a lottery published over types (large pools, :mod:`panelsel.lottery.expand`);
    returns one panel of people per count vector and the marginals, for the certificate."""
    ids = pool.ids
    expected_types = [[ids[i] for i in members] for members in types.type_members]
    listed = document.get("types")
    if listed != expected_types:
        checks.append(
            Check(
                "types",
                False,
                "the types listed are not the pool's (every registrant once, grouped by their "
                "quota values, members of a household the rule binds each alone)",
            )
        )
        return [], np.zeros(model.n)
    checks.append(Check("types", True, f"{len(listed)} types, as the pool and quotas give them"))
    sizes = types.type_sizes
    vectors = document.get("count_vectors") or []
    columns = np.zeros((len(vectors), types.n_types), dtype=np.int64)
    problems = []
    for j, vector in enumerate(vectors):
        try:
            for t, c in vector["counts"]:
                if not (isinstance(t, int) and isinstance(c, int)) or not 0 < c <= sizes[t]:
                    raise ValueError(f"type {t} count {c}")
                columns[j, t] = c
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            problems.append(f"count vector {j}: unreadable or out of range ({exc})")
    representatives = [members_of(c, types.type_members, np.random.default_rng(0)) for c in columns]
    for j, members in enumerate(representatives):
        if len(members) != model.k:
            problems.append(f"count vector {j}: {len(members)} seats, not {model.k}")
            continue
        for problem in quota_problems(model, members)[:2]:
            problems.append(f"count vector {j}: {problem}")
    if problems:
        checks.append(
            Check("panels", False, f"{len(problems)} problem(s): " + "; ".join(problems[:5]))
        )
    else:
        checks.append(
            Check(
                "panels",
                True,
                f"all {len(vectors)} count vectors have {model.k} seats and meet every quota",
            )
        )
    keys = [tuple(c.tolist()) for c in columns]
    if any(keys[j] <= keys[j - 1] for j in range(1, len(keys))):
        checks.append(
            Check("canonical order", False, "the count vectors are not in the canonical order")
        )
    else:
        checks.append(
            Check("canonical order", True, f"the {len(keys)} count vectors are in canonical order")
        )
    probs = np.array([float(v.get("probability", np.nan)) for v in vectors], dtype=np.float64)
    checks.append(check_probabilities(probs))
    lottery = GroupedLottery(columns, probs, list(types.type_members))
    marginals = lottery.marginals(model.n)
    safe = bool(document.get("spreadsheet_safe"))
    checks.append(check_marginals(out, pool, marginals, False, safe))
    seed = int(document["seed"])
    index, members = draw_grouped(lottery, np.random.default_rng(seed))
    recorded = [str(m) for m in document.get("selected_members") or []]
    problems = []
    if index != document.get("selected"):
        problems.append(
            f"the seed draws count vector {index + 1} of the list ('selected': {index}, counted "
            f"from 0), lottery.json records 'selected': {document.get('selected')}"
        )
    if [ids[i] for i in members] != recorded:
        problems.append(f"seed {seed} draws other members than lottery.json's selected ones")
    chosen = members.tolist()
    others = sorted(set(range(model.n)) - set(chosen))
    problems += compare_files(out, pool, chosen, others, document, "the seed's draw")
    if problems:
        checks.append(Check("selected", False, "; ".join(problems), {"seed": seed}))
    else:
        checks.append(
            Check(
                "selected",
                True,
                f"{drawn_file_name(document)} and remaining.csv match; seed {seed} draws count "
                f"vector {index + 1} and the same members again",
                {"seed": seed},
            )
        )
    checks.append(
        Check(
            "type symmetry",
            True,
            "by construction: the lottery is over the types checked above, and every member "
            "of a type has its probability",
        )
    )
    return representatives, marginals
