"""The library, in one import: select (or replace) in memory, inspect, write the folder the
CLI writes, read it back, audit it.

>>> from panelsel.api import SolveOptions, audit, read, select, write
>>> chosen = select("registrants.csv", "quotas.yaml", solve=SolveOptions(seed=1))  # doctest: +SKIP
>>> write(chosen, "results")                                                        # doctest: +SKIP

Every function raises :class:`panelsel.errors.PanelselError` subclasses with the messages
the CLI shows (bad input, infeasible quotas, solver failure, verification failure).
"""

from __future__ import annotations

from panelsel.audit.report import AuditReport
from panelsel.audit.run import audit
from panelsel.inputs.load import ReadOptions
from panelsel.outputs.folder import write
from panelsel.outputs.selection import OutputOptions, Selection
from panelsel.runs.compare import Compared, compare
from panelsel.runs.options import SolveOptions
from panelsel.runs.read import read
from panelsel.runs.replace import replace
from panelsel.runs.select import select

__all__ = [
    "AuditReport",
    "Compared",
    "OutputOptions",
    "ReadOptions",
    "Selection",
    "SolveOptions",
    "audit",
    "compare",
    "read",
    "replace",
    "select",
    "write",
]
