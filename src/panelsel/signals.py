"""Termination signals as exceptions, critical sections that defer them, and test checkpoints.

This module imports nothing but the standard library, so that :func:`install` can run before
the command-line interface imports typer, numpy or the solvers (their imports take most of
a second, and a signal in that time must end the run the same way as any other).

* :func:`install` makes SIGTERM (and SIGINT and SIGHUP, unless the process inherited them as
  ignored, as under ``nohup`` or in a background job) raise :class:`Interrupted`, so that
  ``finally`` blocks remove half-written output folders.
* :func:`wrote` records each output folder once it is complete, so that a signal after that
  point is reported truthfully ("the outputs in X are complete") rather than as "nothing was
  written".
* :func:`deferred` blocks those signals for a few system calls (the renames that put an
  output folder in place): a signal sent meanwhile is delivered when the block ends.
* :func:`was_interrupted` tells code that caught an exception whether a signal caused it
  (pybind11 turns an exception raised by a handler during ``import highspy`` into an
  ``ImportError``; that must end the run, not look like a missing solver).
* :func:`checkpoint` names the points of a run; with ``PANELSEL_TEST_CHECKPOINTS=1`` it
  writes ``panelsel-checkpoint: NAME`` to stderr, and with ``PANELSEL_TEST_HOLD=NAME`` it
  waits there (up to ``HOLD_SECONDS``) so that a test can send a signal at that exact point
  instead of guessing with timers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
"""The signals that end a run with exit code 128 + their number and nothing written."""
HOLD_SECONDS = 60.0
"""How long a test checkpoint waits for its signal before the run carries on."""

_received: list[int] = []
_written: list[str] = []


EXIT_INTERRUPTED = 130
"""The exit code of a run ended by Ctrl-C (128 + SIGINT)."""


class Interrupted(BaseException):
    """A termination signal turned into an exception.

    It derives from :class:`BaseException`, not :class:`KeyboardInterrupt`, so that neither
    ``except Exception`` in library code nor click's handling of Ctrl-C (which would turn it
    into "Aborted!" and exit 1) can swallow it; ``finally`` blocks still run.
    ``exit_code`` is 128 + the signal's number; ``signal_name`` e.g. ``"SIGTERM"``.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum


def _on_signal(signum: int, frame: object) -> None:
    _received.append(signum)
    raise Interrupted(signum)


def install() -> None:
    """Turn the termination signals into :class:`Interrupted` (see the module notes).

    SIGINT and SIGHUP keep an inherited "ignore" (``nohup``, background jobs); SIGTERM is
    always handled.  SIGPIPE gets its default action back (see the comment below).
    """
    for sig in HANDLED:
        if sig != signal.SIGTERM and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        signal.signal(sig, _on_signal)
    # Python ignores SIGPIPE, so output into a closed pipe (``panelsel select ... | head``)
    # would raise, and rich turns that into exit 1 (our code for our own bugs); the default
    # action ends the process as other command-line tools end (exit 141 in a shell).  Output
    # is printed only after the files are complete.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def was_interrupted() -> bool:
    """True once a handled signal has arrived in this process."""
    return bool(_received)


def last_signal() -> Interrupted:
    """The exception for the last signal received (call only when :func:`was_interrupted`)."""
    return Interrupted(_received[-1])


def wrote(folder: str) -> None:
    """Record that an output folder is complete on disk (the interrupt message says so)."""
    _written.append(folder)


def written() -> list[str]:
    """The output folders completed since :func:`start_command`."""
    return list(_written)


def start_command() -> None:
    """Forget earlier commands' signals and outputs (several commands may run in one
    process, as under a test runner)."""
    _received.clear()
    _written.clear()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Block the handled signals inside the block; one sent meanwhile is raised after it."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def checkpoint(name: str) -> None:
    """A named point of a run, for tests (see the module notes); does nothing otherwise."""
    if os.environ.get("PANELSEL_TEST_CHECKPOINTS"):
        sys.stderr.write(f"panelsel-checkpoint: {name}\n")
        sys.stderr.flush()
    if os.environ.get("PANELSEL_TEST_HOLD") == name:
        end = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < end:
            time.sleep(0.01)


def interrupt_message(error: BaseException) -> tuple[str, int]:
    """The message and exit code for a run ended by a signal (or Ctrl-C)."""
    if isinstance(error, Interrupted):
        name, code = error.signal_name, error.exit_code
    elif was_interrupted():
        last = last_signal()
        name, code = last.signal_name, last.exit_code
    else:
        name, code = "SIGINT", EXIT_INTERRUPTED
    done = written()
    if done:
        where = ", ".join(done)
        return (
            f"Interrupted ({name}) after the outputs were complete: {where} holds the whole "
            "new set of files.",
            code,
        )
    return f"Interrupted ({name}): nothing was written.", code


def is_interrupt(error: BaseException) -> bool:
    """True if ``error`` is a signal, or was caused by one (see :mod:`panelsel.signals`)."""
    return isinstance(error, Interrupted | KeyboardInterrupt) or (
        was_interrupted() and not isinstance(error, SystemExit)
    )
