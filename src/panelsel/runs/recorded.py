"""The registrants a published lottery was made from, read again as its record says
(``draw``): the one reading of a recorded pool without its quotas, through
:func:`panelsel.inputs.load.read_pool` with the record's :class:`ReadOptions`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from panelsel.errors import BadInputError, VerificationError
from panelsel.inputs.load import read_pool
from panelsel.inputs.pool import Pool
from panelsel.outputs.record import RecordedRegistrants


def recorded_pool(
    document: dict[str, Any], lottery_path: Path, pool_path: str | Path | None
) -> Pool:
    """The registrants the lottery was made from: ``pool_path`` or the recorded path, read as
    recorded, refused when its sha256 differs from the record."""
    record = RecordedRegistrants.of(document)
    path = Path(pool_path) if pool_path is not None else Path(record.path)
    if not path.is_file():
        raise BadInputError(
            f"the registrants file {path} recorded in the lottery is not here",
            file=str(lottery_path),
            hint="pass the registrants file with --pool FILE",
        )
    id_column = document.get("id_column")
    read = record.read_options(id_column=id_column if isinstance(id_column, str) else None)
    pool = read_pool(path, None, read)
    if pool.sha256 != record.sha256:
        raise VerificationError(
            f"the registrants file {path} has sha256 {pool.sha256}, but the lottery was made "
            f"from a file with sha256 {record.sha256}",
            hint="use the registrants file the lottery was made from (--pool FILE)",
        )
    return pool
