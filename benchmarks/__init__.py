"""Benchmarks: ``python -m benchmarks`` prints a table of whole-process runs of panelsel."""
