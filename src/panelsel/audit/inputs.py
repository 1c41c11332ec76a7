"""The inputs of an audit: the folder's record, and the registrants and quota files read
again the way the record says (or with the delimiter and encoding given)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from panelsel.audit.certificates import Check
from panelsel.audit.files import check_duplicates
from panelsel.errors import BadInputError
from panelsel.inputs.load import read_pool
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas
from panelsel.outputs.names import LOTTERY
from panelsel.outputs.record import RunRecord, read_record


@dataclass(frozen=True)
class AuditInputs:
    """A folder's record with the pool and quotas it claims, read again."""

    record: RunRecord
    spec: QuotaSpec
    pool: Pool
    delimiter: str
    encoding: str
    duplicates: Check | None
    """The ``duplicates`` check, when the run dropped duplicate registrations."""


def read_inputs(
    out: Path,
    registrants: Path,
    quotas: Path,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> AuditInputs:
    """Read ``out``'s ``lottery.json`` and the input files as it records (a recorded way of
    dropping duplicates that panelsel refuses is a failed check, and the pool is then read
    whole)."""
    record = read_record(out / LOTTERY)
    recorded_file = record.registrants_file
    delimiter = delimiter or recorded_file.delimiter
    encoding = encoding or recorded_file.encoding
    spec = load_quotas(
        quotas,
        panel_size=record.panel_size if quotas.suffix.lower() == ".csv" else None,
        id_column=record.id_column,
    )
    read = recorded_file.read_options(delimiter=delimiter, encoding=encoding)
    duplicates: Check | None
    try:
        pool = read_pool(registrants, spec, read)
        duplicates = check_duplicates(pool, read)
    except BadInputError as error:
        if read.drop_duplicates is None:
            raise
        # the recorded way of dropping duplicates is refused (a forged or broken record):
        # the audit goes on over the whole pool, and fails
        pool = read_pool(
            registrants,
            spec,
            recorded_file.read_options(delimiter=delimiter, encoding=encoding, drop=False),
        )
        duplicates = Check(
            "duplicates",
            False,
            f"lottery.json says registrations were dropped as duplicates by "
            f"{read.drop_duplicates!r}, which panelsel refuses: {error.message}",
            {"column": read.drop_duplicates},
        )
    return AuditInputs(record, spec, pool, delimiter, encoding, duplicates)
