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
from panelsel.signals import interrupt_message, is_interrupt


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
