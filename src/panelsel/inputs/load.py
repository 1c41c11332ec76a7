"""The registrants file and the quota file, read and validated into a :class:`Model`.

Every command reads its inputs through :func:`load_inputs`, with one :class:`ReadOptions`
saying how (the CLI's reading options, shared by ``select``, ``compare`` and ``check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING
from panelsel.errors import BadInputError
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import Pool, load_pool, normalise
from panelsel.inputs.quotas import QuotaSpec, load_quotas


@dataclass(frozen=True)
class ReadOptions:
    """How to read the inputs: the registrants file's ``delimiter`` and ``encoding``, and
    the ``id_column`` and ``panel_size`` that override (or, for a Sortition Foundation
    categories CSV, supply) the quota file's, and ``drop_duplicates``: a column identifying
    a person (an e-mail address), of whose registrations only the ``keep`` one (``last`` or
    ``first``, in file order) stays in the pool; a workbook's ``sheet`` (name or 1-based
    number) and the ``header_row`` (default: found, :func:`panelsel.inputs.pool.load_pool`)."""

    delimiter: str = DEFAULT_DELIMITER
    encoding: str = DEFAULT_ENCODING
    id_column: str | None = None
    panel_size: int | None = None
    drop_duplicates: str | None = None
    keep: str = "last"
    sheet: str | None = None
    header_row: int | None = None


def read_pool(registrants: str | Path, spec: QuotaSpec | None, read: ReadOptions) -> Pool:
    """The registrants as ``read`` says, with duplicates dropped if it asks (the one way
    every command, the audit included, reads a pool).

    Without ``spec`` (``draw``, which reads the pool of a lottery whose published sha256
    it has checked, and needs no quotas): the id column is ``read.id_column`` and the
    checks against the quota columns are left out (the run that recorded the way of
    reading made them)."""
    if read.drop_duplicates is None and read.keep != "last":
        raise BadInputError(
            f"--keep {read.keep} applies only with --drop-duplicates COLUMN, which was not given",
            hint="add --drop-duplicates with the column that identifies a person (an e-mail "
            "address), or drop --keep",
        )
    if read.drop_duplicates is not None and spec is not None:
        named = [
            c.column
            for c in spec.categories
            if normalise(c.column) == normalise(read.drop_duplicates)
        ]
        if named:
            raise BadInputError(
                f"--drop-duplicates {read.drop_duplicates!r} names a quota column: people who "
                "share a value there are different people",
                hint="name a column that identifies a person, such as the e-mail address",
            )
        households = spec.households.columns if spec.households is not None else ()
        if any(normalise(c) == normalise(read.drop_duplicates) for c in households):
            raise BadInputError(
                f"--drop-duplicates {read.drop_duplicates!r} names a household column: "
                "housemates share it and are different people (the household rule limits "
                "how many of them sit on the panel)",
                hint="name a column that identifies a person, such as the e-mail address",
            )
    pool = load_pool(
        registrants,
        id_column=spec.id_column if spec is not None else read.id_column,
        delimiter=read.delimiter,
        encoding=read.encoding,
        sheet=read.sheet,
        header_row=read.header_row,
        expect=[c.column for c in spec.categories] if spec is not None else (),
        drop=(read.drop_duplicates, read.keep) if read.drop_duplicates is not None else None,
    )
    return pool


def load_inputs(
    registrants: str | Path, quotas: str | Path, read: ReadOptions | None = None
) -> tuple[QuotaSpec, Pool, Model]:
    """Read and validate the quota file, then the pool, and build the model (CSV + quota
    file -> validated model).  The quotas' feasibility is not checked here: the commands
    do that with an explanation (:func:`panelsel.solve.feasibility.infeasible_error`)."""
    read = read or ReadOptions()
    spec = load_quotas(quotas, panel_size=read.panel_size, id_column=read.id_column)
    pool = read_pool(registrants, spec, read)
    return spec, pool, build_model(pool, spec)


def recorded_sheet(recorded: dict[str, object]) -> str | None:
    """The sheet lottery.json's ``inputs.registrants`` records (None: the first)."""
    sheet = recorded.get("sheet")
    return sheet if isinstance(sheet, str) else None


def recorded_header_row(recorded: dict[str, object]) -> int | None:
    """The header row lottery.json's ``inputs.registrants`` records (None: found)."""
    row = recorded.get("header_row")
    return row if isinstance(row, int) and not isinstance(row, bool) else None
