"""A selection folder read back into the :class:`~panelsel.outputs.selection.Selection`
that wrote it: the inverse of :func:`panelsel.outputs.folder.write`.

The record (``lottery.json``) names the input files and how they were read; they are read
again (refused when their sha256 differs from the record), the model is built again, and
the lottery, the draw, the notes and the certificate come from the record.  A replacement
round's pool is derived again from the chain of runs it continues (it lives here, above
:mod:`panelsel.outputs`, for that reason).  What a folder does not record is not made up:
``seconds`` and ``solver_seconds`` read back as 0 and empty.

Reading is not auditing: the record's claims are taken as written (the lottery's panels
are checked against the quotas, as every selection is); ``panelsel audit`` checks them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.inputs.load import read_pool
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.compute import PeopleLottery
from panelsel.lottery.rounding import Rounded
from panelsel.outputs.names import LOTTERY, PROBABILITIES
from panelsel.outputs.record import RunRecord, read_record, recorded_contact_format
from panelsel.outputs.report import WholePanel
from panelsel.outputs.selection import OutputOptions, Selection
from panelsel.outputs.tables import contact_format
from panelsel.runs.chain import checked_input, locate_previous, read_previous, round_pool
from panelsel.runs.loosen import loosened_spec, loosening_note
from panelsel.solve.algorithms import ALGORITHMS
from panelsel.solve.algorithms.legacy import wilson_interval
from panelsel.solve.feasibility import Exclusion, QuotaChange


def read(
    folder: str | Path,
    *,
    registrants: str | Path | None = None,
    quotas: str | Path | None = None,
) -> Selection:
    """The selection written in ``folder`` (by ``select``, ``select --panels`` or
    ``replace``), with its inputs read again from the recorded paths (or ``registrants``
    and ``quotas`` where they moved; either way checked against the recorded sha256).

    Raises
    ------
    BadInputError
        No ``lottery.json``, a file that is not one, or an input file not there.
    VerificationError
        An input file whose sha256 is not the recorded one, or a record of the wrong shape.
    """
    out = Path(folder)
    record = read_record(out / LOTTERY)
    document = record.document
    link = record.link
    previous_pool: Pool | None = None
    whole: WholePanel | None = None
    if link is None:
        spec = _quotas(record, quotas)
        pool = _pool(record, registrants, spec)
        model = build_model(pool, spec)
        read_options = record.registrants_file.read_options()
    else:
        previous = read_previous(locate_previous(link, out), registrants, quotas)
        residual = round_pool(document, registrants, out)
        pool, spec = residual.pool, residual.spec
        changes = [QuotaChange(**c) for c in link.get("loosened") or []]
        if changes:
            spec = loosened_spec(spec, changes)
        model = build_model(pool, spec, values_must_exist=False)
        read_options, previous_pool = previous.read, previous.pool
        final = link.get("final_members")
        if final is not None:
            index = {pid: i for i, pid in enumerate(previous.pool.ids)}
            said = loosening_note(changes, residual) if changes else ""
            whole = WholePanel(
                build_model(previous.pool, previous.spec, compress_types=False),
                [index[str(pid)] for pid in final],
                len(residual.kept),
                said[:1].upper() + said[1:],
            )
    result = _result(record, out, pool, model)
    options = _options(record, pool, read_options, link is not None)
    return Selection(
        pool,
        spec,
        model,
        result,
        record.seed,
        str(document.get("solver", "")),
        [str(n) for n in document.get("notes") or []],
        read_options,
        options,
        link,
        whole,
        previous_pool=previous_pool,
        seed_given=True,
        warnings=([] if link is not None else [e.text() for e in result.excluded] + pool.warnings),
        versions={str(k): str(v) for k, v in (document.get("versions") or {}).items()},
    )


def _quotas(record: RunRecord, given: str | Path | None) -> QuotaSpec:
    path = Path(given or str(record.quotas.get("path", "")))
    checked_input(path, record.quotas, "quotas", record.path)
    return load_quotas(
        path,
        panel_size=record.panel_size if path.suffix.lower() == ".csv" else None,
        id_column=record.id_column,
    )


def _pool(record: RunRecord, given: str | Path | None, spec: QuotaSpec) -> Pool:
    recorded = record.registrants
    path = Path(given or str(recorded.get("path", "")))
    checked_input(path, recorded, "registrants", record.path)
    return read_pool(path, spec, record.registrants_file.read_options())


def _panels(entries: list[dict[str, Any]], index: dict[str, int]) -> Lottery:
    panels = [np.array(sorted(index[str(m)] for m in e["members"]), dtype=np.intp) for e in entries]
    probabilities = np.array([float(e["probability"]) for e in entries], dtype=np.float64)
    return Lottery(panels=panels, probabilities=probabilities)


def _grouped(document: dict[str, Any], index: dict[str, int], n_types: int) -> GroupedLottery:
    members = [np.array([index[str(m)] for m in t], dtype=np.intp) for t in document["types"]]
    vectors = document["count_vectors"]
    columns = np.zeros((len(vectors), n_types), dtype=np.int64)
    for row, vector in enumerate(vectors):
        for t, c in vector["counts"]:
            columns[row, int(t)] = int(c)
    probabilities = np.array([float(v["probability"]) for v in vectors], dtype=np.float64)
    return GroupedLottery(columns=columns, probabilities=probabilities, type_members=members)


def _result(record: RunRecord, out: Path, pool: Pool, model: Model) -> PeopleLottery:
    """The run's lottery, draw and figures, from its record (and ``probabilities.csv``
    for what only it holds: who is in a proven level of a best-effort lottery)."""
    document = record.document
    index = {pid: i for i, pid in enumerate(pool.ids)}
    stats = dict(document.get("stats") or {})
    proven = bool(document.get("proven_optimal", True))
    kind = record.kind
    algorithm = record.algorithm
    rounded: Rounded | None = None
    low = high = None
    lottery: Lottery | GroupedLottery
    if kind == "published":
        lottery = _panels(document["panels_before_rounding"], index)
        numbered = _panels(document["panels"], index)
        figures = document["rounding"]
        marginals = lottery.marginals(model.n)
        rounded = Rounded(
            lottery=numbered,
            before=marginals,
            after=numbered.marginals(model.n),
            m=int(figures["panels"]),
            n_types=int(figures.get("types", model.n_types)),
            k=model.k,
            method=str(figures.get("method", "ilp")),
            requested=str(figures.get("requested", "auto")),
        )
    elif record.grouped:
        lottery = _grouped(document, index, len(document["types"]))
        marginals = lottery.marginals(model.n)
    else:
        lottery = _panels(document["panels"], index)
        marginals = lottery.marginals(model.n)
    selected = document.get("selected")
    drawn: npt.NDArray[np.intp] | None = None
    if kind != "published":
        chosen = sorted(index[str(pid)] for pid in document.get("selected_members") or [])
        drawn = np.array(chosen, dtype=np.intp)
    if kind == "estimated":
        samples = int(document.get("samples") or stats.get("samples", 1))
        hits = np.rint(marginals * samples).astype(np.int64)
        marginals = hits / samples
        low, high = wilson_interval(hits, samples)
    known = ALGORITHMS.get(algorithm)
    return PeopleLottery(
        algorithm=algorithm,
        exact=kind != "estimated",
        certificate=known.certificate if known is not None else "none",
        finish="optimal" if proven else ("fewer samples" if kind == "estimated" else "time limit"),
        lottery=lottery,
        probabilities=marginals,
        selected=selected if isinstance(selected, int) else None,
        method=str(stats.get("method", "")),
        stats=stats,
        seconds=0.0,
        low=low,
        high=high,
        rounded=rounded,
        drawn=drawn,
        proven_people=None if proven or kind == "estimated" else _proven_people(out, model.n),
        excluded=[
            Exclusion(
                [str(i) for i in e.get("ids", [])], str(e.get("reason", "")), e.get("selectable")
            )
            for e in document.get("excluded") or []
            if isinstance(e, dict)
        ],
        certificate_weights=document.get("certificate"),
    )


def _proven_people(out: Path, n: int) -> npt.NDArray[np.bool_] | None:
    """``probabilities.csv``'s ``proven_optimal`` column (None where it has none)."""
    path = out / PROBABILITIES
    if not path.is_file():
        return None
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    if not rows or "proven_optimal" not in rows[0] or len(rows) != n + 1:
        return None
    column = rows[0].index("proven_optimal")
    return np.array([row[column] == "1" for row in rows[1:]], dtype=np.bool_)


def _options(record: RunRecord, pool: Pool, read: Any, round_: bool) -> OutputOptions:
    """How the run wrote its files, as the options that write them so again: a recorded
    choice that equals what the default gives reads back as the default."""
    document = record.document
    raw = document.get("spreadsheet_safe") is False
    recorded_columns = document.get("contact_columns")
    listed = tuple(str(c) for c in recorded_columns) if isinstance(recorded_columns, list) else ()
    if round_:
        # a round writes as the run it continues did (runs.replace): the recorded values
        fmt, xlsx = recorded_contact_format(document)
        return OutputOptions(raw, listed or None, fmt, xlsx)
    columns = listed if listed and list(listed) != pool.columns else None
    plain = OutputOptions(raw, columns)
    fmt, xlsx = recorded_contact_format(document)
    default_fmt, default_xlsx = contact_format(pool, read, plain)
    return OutputOptions(
        raw,
        columns,
        None if fmt == default_fmt else fmt,
        None if xlsx == default_xlsx else xlsx,
    )
