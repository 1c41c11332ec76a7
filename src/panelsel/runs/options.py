"""Option checks every run shares, and the seed of a run (given, or made and recorded)."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from panelsel.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_GAMMA,
    DEFAULT_ROUNDING,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.encodings import check_text_encoding
from panelsel.errors import BadInputError
from panelsel.lottery.compute import Publish
from panelsel.lottery.rounding import check_panels
from panelsel.outputs.files import CsvFormat
from panelsel.solve.algorithms import ALGORITHM_NAMES, ALGORITHMS
from panelsel.solve.backends import check_time_limit
from panelsel.solve.protocol import Request

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


@dataclass(frozen=True)
class SolveOptions:
    """How a lottery is computed and drawn: the ``algorithm`` on the ``solver``, within
    ``time_limit`` seconds (with ``best_effort``, the best lottery found by then), drawn
    with ``seed`` (made and recorded when None), or with ``panels`` rounded to that many
    numbered panels by ``rounding`` for a public draw; ``samples`` runs of legacy;
    Goldilocks' ``gamma``."""

    algorithm: str = DEFAULT_ALGORITHM
    solver: str = DEFAULT_SOLVER
    seed: int | None = None
    time_limit: float | None = None
    best_effort: bool = False
    samples: int = DEFAULT_SAMPLES
    panels: int | None = None
    rounding: str = DEFAULT_ROUNDING
    gamma: float | None = None

    @property
    def publish(self) -> Publish | None:
        return None if self.panels is None else Publish(self.panels, self.rounding)

    def check(self) -> None:
        """Refuse what no run can do with these options (exit 2), before any work."""
        check_options([self.algorithm], self.samples, self.seed, self.time_limit, self.gamma)
        if self.best_effort and self.time_limit is None:
            raise BadInputError(
                "--best-effort needs --time-limit", hint="add --time-limit SECONDS, or drop it"
            )
        check_panels(self.panels)
        if self.panels is not None and not ALGORITHMS[self.algorithm].exact:
            raise BadInputError(
                "--panels needs an exact lottery, and legacy only has Monte-Carlo estimates",
                hint="use --algorithm leximin, maximin, nash, goldilocks or minimax with --panels",
            )

    def request(self, seed: int) -> Request:
        gamma = DEFAULT_GAMMA if self.gamma is None else self.gamma
        return Request(seed, self.samples, self.best_effort, gamma)


def contact_option(
    out_delimiter: str | None, out_encoding: str | None, delimiter: str, encoding: str
) -> CsvFormat | None:
    """``--out-delimiter`` / ``--out-encoding`` as a format (None: as the registrants came);
    an unknown encoding is refused before anything runs."""
    if out_delimiter is None and out_encoding is None:
        return None
    if out_encoding is not None:
        check_text_encoding(out_encoding, "--out-encoding")
    return CsvFormat(out_delimiter or delimiter, out_encoding or "utf-8-sig")
