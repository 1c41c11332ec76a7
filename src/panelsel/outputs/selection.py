"""The selection, in memory: everything one run decided and every output file is written
from (:func:`panelsel.outputs.folder.write`), and what reading a folder back gives
(:func:`panelsel.outputs.folder.read`).

One value for every kind of run: drawn (an exact lottery and the panel its seed drew),
estimated (legacy's Monte-Carlo runs), published (a uniform lottery over numbered panels
for a later public draw) and a replacement round (either of the first or third, linked to
the run it continues).  :attr:`Selection.kind` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.inputs.load import ReadOptions
from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.compute import PeopleLottery, RunKind
from panelsel.outputs.files import CsvFormat
from panelsel.outputs.report import WholePanel
from panelsel.versions import deciding_versions


@dataclass(frozen=True)
class OutputOptions:
    """How the CSV outputs are written.

    ``raw_csv``: write cells exactly as read, without the apostrophe that keeps
    spreadsheet programs from running cells that start like a formula.  ``columns``: the
    pool columns ``panel.csv`` and ``remaining.csv`` carry (default: all; the id column is
    always included).  ``contact``: the delimiter and encoding of those two files (default:
    the registrants file's, with its byte-order mark if it had one).  ``xlsx``: also write
    them as ``panel.xlsx`` and ``remaining.xlsx`` (default: when the registrants came as a
    workbook).
    """

    raw_csv: bool = False
    columns: tuple[str, ...] | None = None
    contact: CsvFormat | None = None
    xlsx: bool | None = None


@dataclass(frozen=True)
class Selection:
    """One run, in memory: the inputs as read (and how), the model, the lottery with the
    panel drawn from it (or the numbered panels published), the notes and warnings, and
    the software versions that decided it.

    Made by :func:`panelsel.runs.select.select` and :func:`panelsel.runs.replace.replace`
    without touching the disk; written by :func:`panelsel.outputs.folder.write`.
    """

    pool: Pool
    spec: QuotaSpec
    model: Model
    result: PeopleLottery
    seed: int
    solver: str
    notes: list[str]
    read: ReadOptions
    """How the registrants were read (recorded so that the audit reads them alike)."""
    options: OutputOptions
    replacement: dict[str, Any] | None = None
    """A replacement round's link to the run it continues (``lottery.json``'s last key)."""
    whole: WholePanel | None = None
    """A drawn replacement round's whole panel, for the report."""
    previous_pool: Pool | None = None
    """A replacement round's whole pool (the run it continues), of which the round's
    ``panel.csv`` lists the kept members and the new ones."""
    seed_given: bool = True
    """False when the seed was made by the run (it is recorded all the same)."""
    warnings: list[str] = field(default_factory=list)
    """The notes that are warnings: who has no chance, registrations that look like one
    person's."""
    versions: dict[str, str] = field(default_factory=deciding_versions)
    """The versions of the software that decided the lottery (``lottery.json``'s
    ``versions``)."""

    @property
    def kind(self) -> RunKind:
        return self.result.kind

    @property
    def algorithm(self) -> str:
        return self.result.algorithm

    @property
    def ids(self) -> list[str]:
        return self.pool.ids

    @property
    def probabilities(self) -> npt.NDArray[np.float64]:
        """Everyone's probability of a seat in the lottery drawn from (after the rounding
        for a public draw), in pool order."""
        return self.result.final_probabilities

    @property
    def lottery(self) -> Lottery | GroupedLottery:
        """The lottery drawn from: the numbered panels for a public draw."""
        rounded = self.result.rounded
        return rounded.lottery if rounded is not None else self.result.lottery

    @property
    def panel(self) -> list[int]:
        """The drawn panel's members, as pool rows in file order (none for a public
        draw, drawn later)."""
        drawn = self.result.drawn
        return [] if drawn is None else sorted(drawn.tolist())

    @property
    def members(self) -> list[str]:
        """The drawn panel's ids, in file order."""
        return [self.pool.ids[i] for i in self.panel]

    @property
    def proven_optimal(self) -> bool:
        return self.result.proven_optimal

    def probability_of(self, registrant: str) -> float:
        """One registrant's probability of a seat, by id."""
        return float(self.probabilities[self.pool.ids.index(registrant)])
