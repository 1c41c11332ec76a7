"""MINIMAX: the lottery whose largest selection probability is as small as possible.

Nobody's chance can be pushed below the average ``k/n`` for everyone, but the quotas can
force some people far above it (a value with a minimum and few registrants); MINIMAX says
how far, for comparison with LEXIMIN's and Goldilocks' largest probability.  It makes no
promise to anybody at the bottom (its lottery may leave people who could be selected at 0),
which is why it is not offered for real selections' defaults.

It is the ``(a, b) = (1, 0)`` case of :mod:`panelsel.solve.algorithms.goldilocks`: the
master minimises ``u`` subject to ``pi_t <= u``, and for any ``beta >= 0`` with
``sum(beta) <= 1``, ``max pi >= sum beta_i pi_i >= min over valid panels of beta(P)``:
the pricing ILP at weights ``-beta`` certifies the optimum within
``GOLDILOCKS_GAP_TOLERANCE``.
"""

from __future__ import annotations

from panelsel.inputs.model import Model
from panelsel.lotteries import TypeLottery
from panelsel.progress import ProgressFn
from panelsel.solve.algorithms.goldilocks import Extremes, solve_extremes
from panelsel.solve.backends import SolverConfig
from panelsel.solve.protocol import Incumbent

MINIMAX = Extremes("minimax", 1.0, 0.0)


def minimax(
    model: Model,
    config: SolverConfig,
    progress: ProgressFn,
    *,
    incumbent: Incumbent | None = None,
) -> TypeLottery:
    """Compute a lottery of the smallest possible largest selection probability."""
    return solve_extremes(model, MINIMAX, config, progress, incumbent)
