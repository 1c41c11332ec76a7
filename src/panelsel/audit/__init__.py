"""Re-derive and check a finished selection from its files alone (``panelsel audit``).

:func:`panelsel.audit.run.audit` is the entry point; each module checks one part:
:mod:`.files` (the inputs and the files written), :mod:`.lottery` (a lottery over
panels), :mod:`.grouped` (over types), :mod:`.published` (a public draw's uniform
lottery), :mod:`.chain` (a replacement round), :mod:`.optimality` and
:mod:`.certificates` (each algorithm's claim), :mod:`.recompute` (the run repeated).
:mod:`.report` holds the verdict.
"""
