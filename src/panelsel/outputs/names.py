"""The one registry of the files panelsel writes: their names, and which files each kind of
run writes.  The writers, ``--force`` (which replaces only panelsel's own files), the
"Wrote" list and the audit (which checks that a run's folder holds them all) read it here,
so that adding a file is one change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LOTTERY = "lottery.json"
LOTTERY_HASH = "lottery.sha256"
PANEL = "panel.csv"
REMAINING = "remaining.csv"
REPLACEMENTS = "replacements.csv"
PROBABILITIES = "probabilities.csv"
PANELS = "panels.csv"
REPORT = "report.html"
DRAW = "draw.json"
SUMMARY = "summary.json"
CONTACT_LISTS = (PANEL, REMAINING, REPLACEMENTS)
"""The contact lists, each also written as a workbook (``.xlsx``) when asked."""


def workbook(name: str) -> str:
    """The workbook twin of a contact list: ``panel.csv`` -> ``panel.xlsx``."""
    return name.removesuffix(".csv") + ".xlsx"


@dataclass(frozen=True)
class RunFiles:
    """What one kind of run writes: ``files`` always, the workbook twins of ``contacts``
    with ``--xlsx`` (or a workbook pool)."""

    kind: str
    files: tuple[str, ...]
    contacts: tuple[str, ...] = ()

    def names(self, xlsx: bool) -> tuple[str, ...]:
        return self.files + (tuple(workbook(n) for n in self.contacts) if xlsx else ())

    def missing(self, folder: Path, xlsx: bool) -> list[str]:
        """The files of this run that ``folder`` lacks."""
        return [name for name in self.names(xlsx) if not (folder / name).is_file()]


DRAWN = RunFiles(
    "drawn run", (PANEL, REMAINING, PROBABILITIES, LOTTERY, REPORT), (PANEL, REMAINING)
)
"""``select`` (and ``select --algorithm legacy``, whose probabilities are estimates)."""
PUBLISHED = RunFiles("published lottery", (LOTTERY, LOTTERY_HASH, PANELS, PROBABILITIES, REPORT))
"""``select --panels M`` and ``replace --panels M``: nothing drawn yet."""
PUBLIC_DRAW = RunFiles("public draw", (PANEL, REMAINING, DRAW), (PANEL, REMAINING))
"""What ``draw`` adds beside a published lottery."""
PUBLIC_DRAW_ROUND = RunFiles(
    "public draw of a replacement round",
    (PANEL, REPLACEMENTS, REMAINING, DRAW),
    (PANEL, REPLACEMENTS, REMAINING),
)
REPLACEMENT = RunFiles(
    "replacement round",
    (PANEL, REPLACEMENTS, REMAINING, PROBABILITIES, LOTTERY, REPORT),
    (PANEL, REPLACEMENTS, REMAINING),
)
COMPARISON = RunFiles("comparison", (REPORT, PROBABILITIES, SUMMARY))

RUNS = (DRAWN, PUBLISHED, PUBLIC_DRAW, PUBLIC_DRAW_ROUND, REPLACEMENT, COMPARISON)
WRITTEN_NAMES = frozenset(name for run in RUNS for name in run.names(xlsx=True))
"""Every file name a run writes (the folder's ``.panelsel`` record and lock aside)."""
