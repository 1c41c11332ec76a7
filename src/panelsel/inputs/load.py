"""The registrants file and the quota file, read and validated into a :class:`Model`.

Every command reads its inputs through :func:`load_inputs`, with one :class:`ReadOptions`
saying how (the CLI's reading options, shared by ``select``, ``compare`` and ``check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import Pool, load_pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas


@dataclass(frozen=True)
class ReadOptions:
    """How to read the inputs: the registrants file's ``delimiter`` and ``encoding``, and
    the ``id_column`` and ``panel_size`` that override (or, for a Sortition Foundation
    categories CSV, supply) the quota file's."""

    delimiter: str = DEFAULT_DELIMITER
    encoding: str = DEFAULT_ENCODING
    id_column: str | None = None
    panel_size: int | None = None


def load_inputs(
    registrants: str | Path, quotas: str | Path, read: ReadOptions | None = None
) -> tuple[QuotaSpec, Pool, Model]:
    """Read and validate the quota file, then the pool, and build the model (CSV + quota
    file -> validated model).  The quotas' feasibility is not checked here: the commands
    do that with an explanation (:func:`panelsel.solve.feasibility.infeasible_error`)."""
    read = read or ReadOptions()
    spec = load_quotas(quotas, panel_size=read.panel_size, id_column=read.id_column)
    pool = load_pool(
        registrants, id_column=spec.id_column, delimiter=read.delimiter, encoding=read.encoding
    )
    return spec, pool, build_model(pool, spec)
