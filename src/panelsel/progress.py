"""How long steps report progress: ``progress(stage, done, total)``.

The library never prints; the CLI passes a callback that draws a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that does nothing."""
    return None
