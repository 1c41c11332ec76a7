"""``python -m panelsel`` runs the command line."""

from panelsel.cli import main

main()
