"""``panelsel init``: a starting quota file written from the registrants, for the convenor to
edit (:mod:`panelsel.inputs.propose` reads the columns).

The quotas written are the pool's own shares of the panel, give or take a slack; when the
pool cannot meet them all together (the feasibility ILP decides), the slack doubles until
it can, so that the file always passes ``panelsel check``.  The file is never written over
an existing one.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING, DEFAULT_SOLVER
from panelsel.errors import BadInputError, InfeasibleQuotasError
from panelsel.inputs.model import build_model, cheap_infeasibility
from panelsel.inputs.pool import load_pool
from panelsel.inputs.propose import DEFAULT_SLACK, Plan, classify, proposed_spec, quota_file_text
from panelsel.inputs.quotas import QuotaSpec
from panelsel.progress import ProgressFn, no_progress
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import require_feasible

LOOSENINGS = 5
"""Times the slack doubles before every quota is opened to [0, pool count]."""
DEFAULT_OUT = "quotas.yaml"


@dataclass
class InitResult:
    """What ``init`` wrote and found."""

    out: Path
    registrants: str
    plan: Plan
    spec: QuotaSpec
    slack: float
    panel_size_given: bool
    next_command: str
    """The ``panelsel check`` command line to run next, with the reading options given."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "registrants": self.registrants,
            "pool_size": self.plan.n,
            "panel_size": self.spec.panel_size,
            "panel_size_given": self.panel_size_given,
            "id_column": self.spec.id_column,
            "slack": self.slack,
            "categories": [
                {
                    "column": c.column,
                    "kind": c.kind,
                    **({"separator": c.separator} if c.separator else {}),
                    **({"bands": [[b.label, b.low, b.high] for b in c.bands]} if c.bands else {}),
                    "values": [{"value": v, "pool": count} for v, count in c.values],
                }
                for c in self.plan.quota_columns
            ],
            "household_columns": self.plan.household_columns,
            "left_out": [{"column": c.column, "why": c.why} for c in self.plan.left_out],
            "next": self.next_command,
        }


def default_panel_size(n: int) -> int:
    """A panel of a tenth of the pool, 2 to 100 seats (the file says to change it)."""
    return max(2, min(100, n - 1, round(n / 10)))


def init(
    registrants: str | Path,
    *,
    out: str | Path = DEFAULT_OUT,
    panel_size: int | None = None,
    delimiter: str = DEFAULT_DELIMITER,
    encoding: str = DEFAULT_ENCODING,
    sheet: str | None = None,
    header_row: int | None = None,
    solver: str = DEFAULT_SOLVER,
    progress: ProgressFn = no_progress,
) -> InitResult:
    """Write a starting quota file for ``registrants`` to ``out`` (never over a file).

    Raises
    ------
    BadInputError
        The registrants cannot be read, ``out`` exists, or nothing in the pool can be a
        quota (every column is an id, personal data or free text).
    """
    target = Path(out)
    if target.exists():
        raise BadInputError(
            "the file exists; panelsel init never writes over a file",
            file=str(target),
            hint="choose another name with --out, or move the file away",
        )
    pool = load_pool(
        registrants, delimiter=delimiter, encoding=encoding, sheet=sheet, header_row=header_row
    )
    n = len(pool)
    if panel_size is not None and not 1 <= panel_size < n:
        raise BadInputError(
            f"--panel-size {panel_size} must be at least 1 and below the pool's {n} registrants",
            hint="give the number of seats on the panel",
        )
    k = panel_size if panel_size is not None else default_panel_size(n)
    progress("reading the columns", 0, 1)
    plan = classify(pool)
    if not plan.quota_columns:
        listed = "; ".join(f"{c.column}: {c.why}" for c in plan.left_out) or "none"
        raise BadInputError(
            f"no column of the registrants looks like a quota (few distinct answers): {listed}",
            file=pool.source,
            hint="write the quota file by hand (see docs/formats.md), naming the columns to use",
        )
    config = SolverConfig(solver)
    slack = DEFAULT_SLACK
    for attempt in range(LOOSENINGS + 1):
        progress("checking the proposed quotas", attempt, LOOSENINGS + 1)
        if attempt == LOOSENINGS:
            slack = float("inf")
        spec = proposed_spec(pool, plan, k, slack, target)
        model = build_model(pool, spec)
        if not cheap_infeasibility(model, spec):
            try:
                require_feasible(model, config)
                break
            except InfeasibleQuotasError:
                pass
        slack *= 2
    made = dt.date.today().isoformat()
    text = quota_file_text(pool, plan, spec, slack, made)
    _write_new(target, text)
    return InitResult(
        out=target,
        registrants=pool.source,
        plan=plan,
        spec=spec,
        slack=slack,
        panel_size_given=panel_size is not None,
        next_command=" ".join(
            shlex.quote(str(x))
            for x in (
                "panelsel",
                "check",
                registrants,
                target,
                *(["--sheet", sheet] if sheet is not None else []),
                *(["--header-row", header_row] if header_row is not None else []),
                *(["--delimiter", delimiter] if delimiter != DEFAULT_DELIMITER else []),
                *(["--encoding", encoding] if encoding != DEFAULT_ENCODING else []),
            )
        ),
    )


def _write_new(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` whole (through a temporary file beside it), refusing
    should a file appear there meanwhile."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(
            "the folder to write the quota file in does not exist",
            file=str(target),
            hint="create the folder first, or choose another --out",
        )
    fd, tmp = tempfile.mkstemp(prefix=".panelsel-init-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.link(tmp, target)  # fails if the target exists: never written over
    except FileExistsError:
        raise BadInputError(
            "the file exists; panelsel init never writes over a file",
            file=str(target),
            hint="choose another name with --out, or move the file away",
        ) from None
    finally:
        os.unlink(tmp)
