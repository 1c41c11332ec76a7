"""The tables and files of a selection folder: ``panel.csv``, ``remaining.csv``,
``probabilities.csv``, ``panels.csv``, ``lottery.json`` (through :mod:`panelsel.outputs.record`)
and ``report.html``, written from one :class:`~panelsel.outputs.selection.Selection` into a
staging folder."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel import __version__
from panelsel.digest import sha256_hex
from panelsel.errors import BadInputError
from panelsel.inputs.load import ReadOptions
from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.lotteries import GroupedLottery, Lottery
from panelsel.lottery.compute import PeopleLottery, RunKind
from panelsel.outputs.files import CsvFormat, write_csv, write_json, write_xlsx
from panelsel.outputs.names import (
    DRAWN,
    LOTTERY,
    PANEL,
    PANELS,
    PROBABILITIES,
    PUBLISHED,
    REPLACEMENTS,
    REPORT,
    workbook,
)
from panelsel.outputs.record import HASH_FILE, hash_file_text, lottery_document
from panelsel.outputs.report import (
    Curve,
    ReportPage,
    created_now,
    curve_of,
    render_html,
    summarise,
)
from panelsel.outputs.selection import OutputOptions, Selection

NOT_PROVEN_NOTE = (
    "NOT PROVEN OPTIMAL: the time limit of {limit:g} s ran out and --best-effort used the "
    "best lottery found by then; its probabilities are exact for this lottery, but a fairer "
    "one may exist"
)


def proven_note(stats: dict[str, Any]) -> str | None:
    """What a best-effort lottery still guarantees: LEXIMIN's from its ``proven_*`` and
    ``level_*`` stats, Goldilocks' and MINIMAX's from their certified gap; None when the
    run recorded nothing of the kind."""
    for name in ("goldilocks", "minimax"):
        gap = stats.get(f"{name}_gap")
        if gap is not None and "lower_bound" in stats and math.isfinite(float(gap)):
            return (
                f"its {name} objective {float(stats['objective']):.6f} is at most "
                f"{float(gap):.2%} above the optimum's (certified lower bound "
                f"{float(stats['lower_bound']):.6f})"
            )
    if "proven_levels" not in stats:
        return None
    levels = int(stats["proven_levels"])
    value, upper = float(stats["level_value"]), float(stats["level_upper_bound"])
    bound = (
        f"the optimal lottery's next level is at most {upper:.6f}, and this lottery gives "
        f"everyone else at least {value:.6f} (certified gap {max(0.0, upper - value):.2e})"
        if math.isfinite(upper)
        else f"this lottery gives everyone else at least {value:.6f}"
    )
    certain = int(stats.get("certain_unforced", 0))
    if certain:
        bound += (
            f"; {certain} type(s) of people remain selected for certain although the quotas "
            "do not force it (there was no time left to spread the lottery)"
        )
    if levels == 0:
        return f"no LEXIMIN level was proven yet; {bound}"
    return (
        f"proven: the first {levels} LEXIMIN level(s), {int(stats['proven_people'])} "
        f"people in {int(stats['proven_types'])} types, lowest probability "
        f"{float(stats['proven_minimum']):.6f} (the MAXIMIN optimum); {bound}"
    )


HIGH_CHANCE = 0.5
HIGH_CHANCE_SHARES = 4.0
"""A LEXIMIN lottery whose largest probability is above ``HIGH_CHANCE`` and this many
times the equal share gets :func:`high_chance_note`."""


def _forcing_value(model: Model, person: int) -> str | None:
    """A quota that needs every registrant with a value ``person`` has, in words, or None."""
    for j, f in enumerate(model.features):
        if model.person_features[person, j] and f.min >= f.pool_count > 0:
            return (
                f"{f.category} = {f.value} needs {f.min} seat(s) and only {f.pool_count} "
                "registrant(s) have it"
            )
    return None


def high_chance_note(
    algorithm: str,
    probabilities: npt.NDArray[np.float64],
    ids: list[str],
    k: int,
    model: Model | None = None,
) -> str | None:
    """Why a LEXIMIN lottery gives some people a far higher chance than the equal share
    ``k/n`` (None when it does not): LEXIMIN raises every chance as far as it can once the
    lower ones are at their best, and nothing in it holds the top down.  hard_1727's
    LEXIMIN, and its LP relaxation, give 24 single-member profiles more than 50%."""
    n = len(probabilities)
    if algorithm != "leximin" or n == 0:
        return None
    share = k / n
    top = int(np.argmax(probabilities))
    highest = float(probabilities[top])
    if highest <= HIGH_CHANCE or highest <= HIGH_CHANCE_SHARES * share:
        return None
    above = int((probabilities > HIGH_CHANCE).sum())
    head = (
        f"LEXIMIN gives {above} registrant(s) a chance above {HIGH_CHANCE:.0%} (the highest: "
        f"{highest:.1%}, registrant {ids[top]!r}; an equal share is {share:.1%})"
    )
    forced = _forcing_value(model, top) if model is not None else None
    if forced is not None and above == 1:
        return f"{head}: the quotas force it, as {forced}"
    return (
        f"{head}"
        + (f"; for {ids[top]!r} the quotas force it, as {forced}" if forced is not None else "")
        + ". LEXIMIN raises each chance as far as it can once every lower chance is as high "
        "as possible, so people whose answers are rare in the pool can end up with high "
        "chances; --algorithm goldilocks also keeps the largest chance down"
    )


def _id_and_quota_header(pool: Pool, model: Model) -> tuple[str, list[str]]:
    """The id column's name in ``probabilities.csv`` and the quota columns after it."""
    quota_cols = [pool.columns[c] for c in model.quota_columns]
    return ("id" if "id" not in quota_cols else "registrant_id"), quota_cols


def household_labels(run: Selection) -> list[str] | None:
    """``probabilities.csv``'s ``household`` column: ``H1``, ``H2``, ... for the registrants
    who share a household with another (numbered in file order), blank for the others;
    None without the household rule.  The addresses themselves are not written."""
    if run.spec.households is None:
        return None
    labels = [""] * run.model.n
    for h, people in enumerate(run.model.shared_households, start=1):
        for r in people:
            labels[r] = f"H{h}"
    return labels


def write_drawn(tmp: Path, run: Selection) -> dict[str, Path]:
    pool, spec, model, result = run.pool, run.spec, run.model, run.result
    options, seed, solver = run.options, run.seed, run.solver
    safe = not options.raw_csv
    lottery, marginals, selected = result.lottery, result.probabilities, result.selected
    assert selected is not None and result.drawn is not None, "a drawn selection"
    chosen = set(result.drawn.tolist())
    contact = contact_columns(pool, options.columns)
    files = {name: tmp / name for name in DRAWN.files}
    header = [pool.columns[c] for c in contact]
    fmt, xlsx = contact_format(pool, run.read, options)
    files.update(write_contact_lists(tmp, pool, contact, chosen, safe=safe, fmt=fmt, xlsx=xlsx))
    share = model.k / model.n
    id_header, quota_cols = _id_and_quota_header(pool, model)
    if result.low is not None and result.high is not None:
        low, high = result.low, result.high
        estimate_header = ["probability_estimate", "ci99_low", "ci99_high"]

        def probability_cells(i: int) -> list[str]:
            return [_num(marginals[i]), _num(low[i]), _num(high[i])]
    else:
        estimate_header = ["probability"]

        def probability_cells(i: int) -> list[str]:
            return [_num(marginals[i])]

    proven = [] if result.proven_optimal else ["proven_optimal"]
    houses = household_labels(run)
    house_header = [] if houses is None else ["household"]
    write_csv(
        files[PROBABILITIES],
        [
            id_header,
            *estimate_header,
            "equal_share",
            "selected",
            *proven,
            *house_header,
            *quota_cols,
        ],
        (
            [
                pool.ids[i],
                *probability_cells(i),
                _num(share),
                int(i in chosen),
                *([_proven_cell(result, i)] if proven else []),
                *([houses[i]] if houses is not None else []),
                *(pool.rows[i][c] for c in model.quota_columns),
            ]
            for i in range(model.n)
        ),
        safe=safe,
    )
    document = _document(run, result.kind, header)
    write_json(files[LOTTERY], document)
    kind = "estimated" if result.kind == "estimated" else "drawn"
    page = ReportPage(
        title=(
            "Replacement round"
            if run.replacement is not None
            else "Panel selection"
            + (" (legacy procedure, estimated chances)" if kind == "estimated" else "")
        ),
        model=model,
        curves=[curve_of(result, model.k)],
        facts={
            "algorithm": result.algorithm,
            "method": result.method,
            "solver": solver,
            "seed": str(seed),
            "registrants sha256": pool.sha256,
            "quotas sha256": spec.sha256,
            **(
                {"count vectors in lottery": f"{len(lottery)} (over {model.n_types} types)"}
                if isinstance(lottery, GroupedLottery)
                else {"panels in lottery": str(len(lottery))}
            ),
            "panelsel": __version__,
        },
        **_page_context(run),
        panel=sorted(chosen),
        whole=run.whole,
    )
    files[REPORT].write_text(render_html(page), encoding="utf-8")
    return files


def write_published(tmp: Path, run: Selection) -> tuple[dict[str, Path], str]:
    """The files published before a public draw: ``lottery.json`` (the numbered panels, the
    lottery they were rounded from, the rounding's figures), ``lottery.sha256``,
    ``panels.csv``, ``probabilities.csv`` (before and after rounding) and ``report.html``.
    Returns the files and the sha256 of ``lottery.json``."""
    pool, spec, model, result = run.pool, run.spec, run.model, run.result
    options, seed, solver = run.options, run.seed, run.solver
    rounded, before = result.rounded, result.lottery
    assert rounded is not None and isinstance(before, Lottery)
    safe = not options.raw_csv
    ids = pool.ids
    files = {name: tmp / name for name in PUBLISHED.files}
    write_csv(
        files[PANELS],
        ["number", *(f"member_{j}" for j in range(1, model.k + 1))],
        (
            [number, *(ids[i] for i in members)]
            for number, members in enumerate(rounded.lottery.panels, start=1)
        ),
        safe=safe,
    )
    id_header, quota_cols = _id_and_quota_header(pool, model)
    proven = [] if result.proven_optimal else ["proven_optimal"]
    houses = household_labels(run)
    write_csv(
        files[PROBABILITIES],
        [
            id_header,
            "probability",
            "probability_before_rounding",
            "change",
            "equal_share",
            *proven,
            *(["household"] if houses is not None else []),
            *quota_cols,
        ],
        (
            [
                ids[i],
                _num(rounded.after[i]),
                _num(rounded.before[i]),
                _num(rounded.change[i]),
                _num(model.k / model.n),
                *([_proven_cell(result, i)] if proven else []),
                *([houses[i]] if houses is not None else []),
                *(pool.rows[i][c] for c in model.quota_columns),
            ]
            for i in range(model.n)
        ),
        safe=safe,
    )
    contact = contact_columns(pool, options.columns)
    document = _document(run, "published", [pool.columns[c] for c in contact])
    write_json(files[LOTTERY], document)
    digest = sha256_hex(files[LOTTERY].read_bytes())
    files[HASH_FILE].write_text(hash_file_text(digest), encoding="utf-8")
    name = f"{result.algorithm}, {rounded.m} panels"
    after = Curve(
        name, rounded.after, summarise(name, rounded.after, model.k, float("nan")), dashed=True
    )
    page = ReportPage(
        title=f"Panel selection: {rounded.m} numbered panels for a public draw",
        model=model,
        curves=[after, curve_of(result, model.k)],
        facts={
            "algorithm": result.algorithm,
            "method": result.method,
            "rounding": rounded.method,
            "largest change": f"{rounded.largest_change:.6f} (bound {rounded.bound:.6f})",
            "solver": solver,
            "seed": str(seed),
            "registrants sha256": pool.sha256,
            "quotas sha256": spec.sha256,
            "lottery.json sha256": digest,
            "panelsel": __version__,
        },
        **_page_context(run),
        panels_checked=rounded.m,
    )
    files[REPORT].write_text(render_html(page), encoding="utf-8")
    return files, digest


def _contact_files(run: Selection) -> dict[str, Any]:
    """How the contact lists were written, for ``lottery.json`` (the audit and ``draw``
    read them alike)."""
    fmt, xlsx = contact_format(run.pool, run.read, run.options)
    return {**fmt.as_dict(), "xlsx": xlsx}


def file_names(text: str, *paths: Path) -> str:
    """``text`` with each of ``paths`` (as given, and absolute) named by its file name only:
    the report goes to people who need not see the convenor's folders."""
    for path in paths:
        for form in sorted({str(path), str(path.resolve())}, key=len, reverse=True):
            if form != path.name:
                text = text.replace(form, path.name)
    return text


def _page_context(run: Selection) -> dict[str, Any]:
    """The report's fields every run shares: inputs, date, who had no chance, the notes."""
    excluded = {e.text() for e in run.result.excluded}
    warning = None if run.result.proven_optimal else _warning(run.notes, run.result)
    shown = [n for n in run.notes if n not in excluded and not (warning and n == run.notes[0])]
    shown = [file_names(n, run.pool.path, run.spec.path) for n in shown]
    return {
        "registrants": run.pool.path.name,
        "quotas": run.spec.path.name,
        "created": created_now(),
        "excluded": run.result.excluded,
        "notes": shown,
        "warning": warning,
    }


def _warning(notes: list[str], result: PeopleLottery) -> str:
    """The report's warning for an unproven run: the NOT PROVEN note, and what is proven."""
    part = proven_note(result.stats)
    return notes[0] + (f". {part[0].upper()}{part[1:]}." if part else "")


def _proven_cell(result: PeopleLottery, person: int) -> int:
    """1 for a person whose probability a best-effort run proved optimal, else 0."""
    return int(result.proven_people is not None and bool(result.proven_people[person]))


def _document(run: Selection, kind: RunKind, contact_header: list[str]) -> dict[str, Any]:
    """The run's ``lottery.json`` (:func:`panelsel.outputs.record.lottery_document`)."""
    pool, model, result = run.pool, run.model, run.result
    ids = pool.ids
    drawn = result.drawn
    return lottery_document(
        kind=kind,
        algorithm=result.algorithm,
        solver=run.solver,
        seed=run.seed,
        proven_optimal=result.proven_optimal,
        spreadsheet_safe=not run.options.raw_csv,
        panel_size=model.k,
        pool_size=model.n,
        id_column=pool.id_column,
        registrants={
            "path": str(pool.path),
            "sha256": pool.sha256,
            "delimiter": run.read.delimiter,
            "encoding": run.read.encoding,
            **(
                {"drop_duplicates": run.read.drop_duplicates, "keep": run.read.keep}
                if run.read.drop_duplicates is not None
                else {}
            ),
            **({"sheet": pool.sheet} if pool.sheet_given else {}),
            **(
                {"header_row": pool.header_row}
                if pool.above_header or run.read.header_row is not None
                else {}
            ),
        },
        quotas={"path": str(run.spec.path), "sha256": run.spec.sha256},
        contact_columns=contact_header,
        contact_files=_contact_files(run),
        stats=result.stats,
        notes=run.notes,
        ids=ids,
        lottery=result.lottery,
        selected=result.selected,
        selected_members=None if drawn is None else [ids[i] for i in drawn],
        samples=int(result.stats["samples"]) if kind == "estimated" else None,
        rounded=result.rounded,
        replacement=run.replacement,
        certificate=result.certificate_weights,
        versions=run.versions,
        excluded=[e.as_dict() for e in result.excluded],
    )


CONTACT_FILES = DRAWN.contacts
CONTACT_WORKBOOKS = tuple(workbook(name) for name in CONTACT_FILES)


def contact_format(pool: Pool, read: ReadOptions, options: OutputOptions) -> tuple[CsvFormat, bool]:
    """The format of the contact lists: as asked, else as the registrants file came (its
    delimiter; its encoding, with a byte-order mark if it had one, so that Excel in a ';'
    locale opens them in columns with their accents).  A workbook's lists are UTF-8 with a
    mark and commas, and come as workbooks too."""
    xlsx = pool.spreadsheet if options.xlsx is None else options.xlsx
    if options.contact is not None:
        return options.contact, xlsx
    if pool.spreadsheet:
        return CsvFormat(",", "utf-8-sig"), xlsx
    encoding = read.encoding
    if pool.bom:
        encoding = "utf-8-sig"
    elif encoding.lower().replace("_", "-") in {"utf-8-sig", "utf8-sig"}:
        encoding = "utf-8"  # read with or without a mark; there was none
    return CsvFormat(read.delimiter, encoding), xlsx


def write_contact_lists(
    tmp: Path,
    pool: Pool,
    contact: list[int],
    chosen: set[int],
    *,
    safe: bool,
    fmt: CsvFormat,
    xlsx: bool,
) -> dict[str, Path]:
    """``panel.csv`` (the selected, in file order) and ``remaining.csv`` (everyone else),
    with the columns ``contact``; with ``xlsx`` the same as workbooks.  Returns the files."""
    header = [pool.columns[c] for c in contact]
    files: dict[str, Path] = {}
    names = list(zip(CONTACT_FILES, CONTACT_WORKBOOKS, strict=True))
    for (name, book), wanted in zip(names, (True, False), strict=True):
        rows = [
            [row[c] for c in contact] for i, row in enumerate(pool.rows) if (i in chosen) == wanted
        ]
        try:
            write_csv(tmp / name, header, rows, safe=safe, fmt=fmt)
        except UnicodeEncodeError as exc:
            raise BadInputError(
                f"{name} cannot be written in {fmt.encoding}: {exc.object[exc.start : exc.end]!r} "
                "has no place in it",
                hint="pass --out-encoding utf-8-sig (UTF-8, which Excel opens too)",
            ) from None
        files[name] = tmp / name
        if xlsx:
            write_xlsx(tmp / book, header, rows)
            files[book] = tmp / book
    return files


def contact_columns(pool: Pool, names: tuple[str, ...] | None) -> list[int]:
    """Indices of the pool columns for ``panel.csv``/``remaining.csv`` (``--columns``)."""
    if names is None:
        return list(range(len(pool.columns)))
    out = []
    if pool.id_column is not None:
        out.append(pool.find_column(pool.id_column, purpose="the ids"))
    for name in names:
        index = pool.find_column(name, purpose="--columns")
        if index not in out:
            out.append(index)
    return out


PROBABILITY_DECIMALS = 6
"""Decimals of every probability written to a CSV file: 0.160000, not the solver's
0.1600000035 or 0.159999999.  Rounding moves a value by at most half a unit of the last
decimal, which the audit allows for (:data:`WRITTEN_PROBABILITY_TOLERANCE`); the lottery in
``lottery.json`` keeps full precision, and its sum to k is checked there."""
WRITTEN_PROBABILITY_TOLERANCE = 0.5 * 10.0**-PROBABILITY_DECIMALS + 1e-12
"""How far a probability read back from a CSV file may be from the lottery's."""


def format_probability(x: float) -> str:
    """A probability as the CSV files write it (:data:`PROBABILITY_DECIMALS` decimals; a
    negative zero from round-off is written 0)."""
    text = f"{float(x):.{PROBABILITY_DECIMALS}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


_num = format_probability


ROLE_COLUMN = "panelsel_role"
"""The column of a round's whole ``panel.csv`` that says who was kept and who is new."""


def write_final_panel(
    tmp: Path,
    pool: Pool,
    kept: list[str],
    new: list[str],
    *,
    columns: tuple[str, ...] | None,
    fmt: CsvFormat,
    safe: bool,
) -> None:
    """Turn a round's ``panel.csv`` (its own draw) into ``replacements.csv``, and write
    ``panel.csv`` as the whole panel, kept members and new, with :data:`ROLE_COLUMN`
    (``kept`` or ``replacement``), in the contact lists' format (also for ``draw``); the
    same for ``panel.xlsx`` -> ``replacements.xlsx`` where the round wrote workbooks."""
    (tmp / PANEL).rename(tmp / REPLACEMENTS)
    workbook_given = (tmp / workbook(PANEL)).is_file()
    if workbook_given:  # the contact lists came as workbooks too: the same for the whole panel
        (tmp / workbook(PANEL)).rename(tmp / workbook(REPLACEMENTS))
    role = {pid: "kept" for pid in kept} | {pid: "replacement" for pid in new}
    contact = contact_columns(pool, columns)
    rows = [
        [*(row[c] for c in contact), role[pid]]
        for pid, row in zip(pool.ids, pool.rows, strict=True)
        if pid in role
    ]
    header = [*(pool.columns[c] for c in contact), ROLE_COLUMN]
    write_csv(tmp / PANEL, header, rows, fmt=fmt, safe=safe)
    if workbook_given:
        write_xlsx(tmp / workbook(PANEL), header, rows)
