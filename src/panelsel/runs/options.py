"""Option checks every run shares, and the seed of a run (given, or made and recorded)."""

from __future__ import annotations

import math
import secrets

from panelsel.errors import BadInputError
from panelsel.solve.algorithms import ALGORITHM_NAMES
from panelsel.solve.backends import check_time_limit

SEED_BITS = 63
"""A fresh seed is a random whole number below ``2**63`` (it fits a signed 64-bit cell)."""

GAMMA_RANGE = (1e-4, 1e4)
"""The ``--gamma`` values Goldilocks is solved for: the weight of the smallest chance against
the largest, within 4 orders of magnitude either way."""


def check_options(
    algorithms: list[str],
    samples: int,
    seed: int | None,
    time_limit: float | None,
    gamma: float | None = None,
) -> None:
    """Refuse option values no run can use (exit 2)."""
    for algorithm in algorithms:
        if algorithm not in ALGORITHM_NAMES:
            raise BadInputError(
                f"unknown algorithm {algorithm!r}",
                hint=f"choose one of: {', '.join(ALGORITHM_NAMES)}",
            )
    if samples < 1:
        raise BadInputError(f"--samples must be at least 1, not {samples}")
    if seed is not None and seed < 0:
        raise BadInputError(f"the seed must be 0 or more, not {seed}")
    check_time_limit(time_limit)
    if gamma is not None:
        if "goldilocks" not in algorithms:
            raise BadInputError(
                "--gamma applies to the goldilocks algorithm only",
                hint="add --algorithm goldilocks, or drop --gamma",
            )
        if not (math.isfinite(gamma) and GAMMA_RANGE[0] <= gamma <= GAMMA_RANGE[1]):
            # far outside this range one term vanishes against the other in floating point:
            # Goldilocks silently becomes MINIMAX (some people at 0) or a numerical failure
            raise BadInputError(
                f"--gamma must be a number from {GAMMA_RANGE[0]:g} to {GAMMA_RANGE[1]:g}, "
                f"not {gamma}",
                hint="1 (the default) weighs the largest and the smallest chance alike; 10 "
                "weighs the smallest ten times more",
            )


def seed_of(seed: int | None) -> int:
    """The seed of a run: ``seed`` as given, or a fresh one (recorded by every output, so
    that the run can be repeated)."""
    return seed if seed is not None else secrets.randbits(SEED_BITS)
