"""The default of every option, defined once: the library's parameters and the CLI's options
both read them (this module imports nothing, so the CLI can read it before the heavy
imports)."""

from __future__ import annotations

DEFAULT_ALGORITHM = "leximin"
DEFAULT_SOLVER = "highs"
DEFAULT_DELIMITER = ","
DEFAULT_ENCODING = "utf-8-sig"
DEFAULT_SAMPLES = 10_000
"""Runs of the legacy procedure for its Monte-Carlo estimates (``--samples``)."""
DEFAULT_OUT = "panelsel-out"
DEFAULT_ROUNDING = "auto"
DEFAULT_DICE_SIDES = 6
DEFAULT_GAMMA = 1.0
"""Goldilocks' weight of the bottom term, ``gamma`` in ``(n/k) max + gamma (k/n) / min``."""
