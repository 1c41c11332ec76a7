"""``python -m panelsel`` runs the command line."""

from panelsel.entry import main

main()
