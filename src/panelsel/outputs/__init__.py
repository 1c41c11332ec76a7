"""The files a run writes: the run record, the CSV tables, the report, all-or-nothing folders."""
