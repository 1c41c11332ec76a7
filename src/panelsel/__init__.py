"""panelsel: stratified random panel selection with maximally fair (LEXIMIN) lotteries.

The data's path: registrants CSV + quota file -> validated :class:`~panelsel.inputs.model.Model`
-> :class:`~panelsel.lottery.expand.Lottery` -> drawn panel -> output files.
"""

from panelsel.errors import (
    BadInputError,
    InfeasibleQuotasError,
    PanelselError,
    SolverError,
)

__version__ = "0.1.0"

__all__ = [
    "BadInputError",
    "InfeasibleQuotasError",
    "PanelselError",
    "SolverError",
    "__version__",
]
