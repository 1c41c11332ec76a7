"""The ``panelsel`` script's entry point: signal handlers first, then everything else.

Importing typer, numpy and the solvers takes most of a second; the handlers of
:mod:`panelsel.signals` are installed before any of it, so that a signal at any moment of a
run ends it the same way: exit code 128 + the signal's number, a message that says what is on
disk, and no partial output.  (Only a signal in the first milliseconds, while Python itself
starts and before this module runs, meets the default action; nothing has been written then.)
"""

from __future__ import annotations

import sys

from panelsel import signals

EXIT_INTERRUPTED = 130


def interrupt_message(error: BaseException) -> tuple[str, int]:
    """The message and exit code for a run ended by a signal (or Ctrl-C)."""
    if isinstance(error, signals.Interrupted):
        name, code = error.signal_name, error.exit_code
    elif signals.was_interrupted():
        last = signals.last_signal()
        name, code = last.signal_name, last.exit_code
    else:
        name, code = "SIGINT", EXIT_INTERRUPTED
    done = signals.written()
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
    return isinstance(error, signals.Interrupted | KeyboardInterrupt) or (
        signals.was_interrupted() and not isinstance(error, SystemExit)
    )


def main() -> None:
    """Run the command line (``panelsel ...``)."""
    signals.install()
    try:
        signals.checkpoint("started")
        from panelsel.cli import app

        signals.checkpoint("imported")
        app()
    except BaseException as error:
        if not is_interrupt(error):
            raise
        message, code = interrupt_message(error)
        sys.stderr.write(message + "\n")
        sys.exit(code)
