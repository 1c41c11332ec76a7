"""Re-derive and check a finished selection from its files alone (``panelsel audit``).

The audit trusts nothing written by the run except as a claim to check: it re-reads the
registrants and the quota file, recomputes what they imply, and compares.  Each check is
reported as passed or failed with the numbers behind it:

``inputs``
    The sha256 of the registrants and quota files equal the ones ``lottery.json`` recorded.
``panels``
    Every panel of the lottery has exactly ``k`` distinct members, all in the pool, and meets
    every quota and the household rule (counted here, independently of the code that made
    the lottery).
``probabilities``
    The panels' probabilities are non-negative and sum to 1.
``marginals``
    Each registrant's total probability over the panels that contain them equals
    ``probabilities.csv``, which lists every registrant once.
``selected``
    ``panel.csv`` holds exactly the recorded selected members, ``remaining.csv`` everybody
    else, and the recorded seed draws that panel again by the recorded draw rule.
``optimality``
    The certificate of the algorithm's claim (:mod:`panelsel.audit.certificates`): the
    maximin bound for leximin and maximin, the Nash gap for nash, none for legacy.

Legacy runs have no lottery of their own: their panels and frequencies are checked like a
lottery's, and the seed must reproduce the first run.

A uniform lottery for a public draw (``select --panels``) is checked instead by ``hash``
(``lottery.json`` against the published sha256, or ``lottery.sha256``), ``panels`` and
``uniform`` (panels numbered 1 to M, each 1/M), ``panels before rounding`` and
``probabilities before rounding`` (the optimal lottery it was rounded from), ``marginals``
and ``marginals before rounding`` (both columns of ``probabilities.csv``), ``rounding``
(every change within :func:`panelsel.lottery.rounding.uniform_bound`, recomputed from k, M and the
pool's types, and the recorded figures right), ``draw`` (``draw.json``'s random input gives
its number by :mod:`panelsel.commands.draw`'s rules, its members are that panel's and
``panel.csv``/``remaining.csv`` hold them; or nothing drawn yet), and the optimality
certificate of the lottery before rounding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.audit.certificates import (
    Check,
)
from panelsel.audit.chain import replacement_round
from panelsel.audit.files import check_files, check_inputs
from panelsel.audit.grouped import audit_grouped
from panelsel.audit.inputs import read_inputs
from panelsel.audit.lottery import (
    check_excluded,
    check_marginals,
    check_method,
    check_order,
    check_panels,
    check_probabilities,
    check_selected,
    check_symmetry,
    panel_indices,
)
from panelsel.audit.optimality import Evidence, claims_of, optimality
from panelsel.audit.published import audit_uniform
from panelsel.audit.recompute import check_recompute, recompute_skipped
from panelsel.audit.report import AuditReport
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import Pool
from panelsel.lotteries import Lottery
from panelsel.outputs.record import (
    RunRecord,
)
from panelsel.progress import ProgressFn, no_progress
from panelsel.runs.chain import locate_previous
from panelsel.solve.algorithms import ALGORITHMS


def check_previous_run(
    folder: Path,
    registrants: Path,
    quotas: Path,
    options: dict[str, Any],
    chain: tuple[Path, ...],
) -> Check:
    """The run a replacement round continues passes its own audit, as fully as a run on its
    own (its draw re-derived from the recorded public input, its own previous run in turn):
    a round can be no more trustworthy than the chain under it."""
    name = "previous run"
    if folder.resolve() in chain:
        return Check(name, False, f"{folder}/ is a later round of this chain: the chain loops")
    report = audit(folder, registrants, quotas, **options, _chain=chain)
    failed = [c for c in report.checks if not c.passed]
    if failed:
        return Check(
            name,
            False,
            f"{folder}/ fails its own audit ({', '.join(c.name for c in failed)}: "
            f"{failed[0].detail[:300]}); a round is no better than the run it continues",
            {"failed": [c.name for c in failed]},
        )
    deeper = " and the runs before it" if any(c.name == name for c in report.checks) else ""
    if report.inconclusive:
        return Check(
            name,
            True,
            f"inconclusive: {folder}/{deeper} pass(es) every check, but "
            f"{', '.join(report.inconclusive)} was inconclusive there (audit it for the detail)",
            inconclusive=True,
        )
    skipped = f" (skipped there: {', '.join(report.skipped)})" if report.skipped else ""
    return Check(
        name,
        True,
        f"{folder}/{deeper} pass(es) its own audit, {len(report.checks)} checks{skipped}",
    )


def audit(
    out: str | Path,
    registrants: str | Path,
    quotas: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    sha256: str | None = None,
    recompute: bool = True,
    progress: ProgressFn = no_progress,
    _chain: tuple[Path, ...] = (),
) -> AuditReport:
    """Check a selection folder against the registrants and quota files.

    Parameters
    ----------
    out
        The folder ``panelsel select`` wrote.
    registrants, quotas
        The files the selection claims to have used.
    delimiter, encoding
        How to read the registrants (default: as recorded in ``lottery.json``).
    sha256
        For a uniform lottery (``select --panels``): the hash of ``lottery.json`` as
        published (default: the ``lottery.sha256`` beside it).
    recompute
        Run the recorded algorithm again and compare its lottery with the file's (the
        ``recompute`` check; as slow as the selection itself).  Without it that check is
        reported as skipped.
    progress
        Called as ``progress(stage, done, total)`` after each check.
    _chain
        The rounds already being audited below this one (a replacement round audits the run
        it continues with this same function, down to the first selection).

    Returns
    -------
    AuditReport
        Every check with its outcome; ``passed`` is True only if all passed.

    Raises
    ------
    BadInputError
        A file is missing or unreadable, so that the audit cannot run.

    Notes
    -----
    About 90 lines of code: the order of the checks is the audit's contract (the files
    first, since the others read them; the lottery before its certificate; the recompute
    last), and it reads best in one place.
    """
    out = Path(out)
    registrants, quotas = Path(registrants), Path(quotas)
    given = read_inputs(out, registrants, quotas, delimiter, encoding)
    record, document, pool, spec = given.record, given.record.document, given.pool, given.spec
    delimiter, encoding, duplicates = given.delimiter, given.encoding, given.duplicates
    recorded_k = record.panel_size
    link = document.get("replacement")
    round_check: Check | None = None
    previous_check: Check | None = None
    if isinstance(link, dict):
        previous_path = locate_previous(link, out)  # one look for the run it continues
        round_check, pool, spec = replacement_round(
            document, link, registrants, quotas, out, previous_path
        )
        previous_check = check_previous_run(
            previous_path.parent,
            registrants,
            quotas,
            dict(delimiter=delimiter, encoding=encoding, recompute=recompute, progress=progress),
            (*_chain, out.resolve()),
        )
    strict = link is None
    model = build_model(pool, spec, compress_types=False, values_must_exist=strict)
    types = build_model(pool, spec, values_must_exist=strict)
    algorithm = str(document["algorithm"])
    known_algorithm = ALGORITHMS.get(algorithm)

    stage = "audit checks"
    progress(stage, 0, 6)
    files = check_files(out, record.kind, document)
    if not files.passed:  # the other checks read these files
        return AuditReport(out=out, algorithm=str(document.get("algorithm")), checks=[files])
    checks = [
        files,
        check_inputs(document, registrants, quotas),
        *([duplicates] if duplicates is not None else []),
        *([round_check] if round_check is not None else []),
        *([previous_check] if previous_check is not None else []),
        check_method(document),
    ]
    if model.k != recorded_k:
        checks.append(
            Check(
                "panel size",
                False,
                f"the quota file asks for {model.k} seats, lottery.json records {recorded_k}",
            )
        )
    known, marginals, structure = lottery_checks(
        out, record, model, types, pool, checks, sha256, progress
    )
    excluded_check = check_excluded(document, pool.ids, final_marginals(record, pool, marginals))
    if excluded_check is not None:
        checks.append(excluded_check)
    progress(stage, 5, 6)
    # the certificate is about the lottery itself: its panels must be valid and its
    # probabilities a distribution; the other files do not matter to it
    structure_ok = all(c.passed for c in checks if c.name in structure)
    checks.append(
        optimality(
            Evidence(model, known, marginals, pool.ids, document, claims_of(document)),
            known_algorithm,
            algorithm,
            structure_ok,
        )
    )
    if not recompute:
        checks.append(recompute_skipped())
    elif known_algorithm is not None:
        progress("recomputing the lottery", 0, 1)
        checks.append(check_recompute(document, pool, spec, progress))
    progress(stage, 6, 6)
    return AuditReport(
        out=out,
        algorithm=algorithm,
        checks=checks,
        proven_optimal=document.get("proven_optimal") is not False,
    )


def lottery_checks(
    out: Path,
    record: RunRecord,
    model: Model,
    types: Model,
    pool: Pool,
    checks: list[Check],
    sha256: str | None,
    progress: ProgressFn,
) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.float64], tuple[str, ...]]:
    """The checks of the lottery itself, by the kind of run, added to ``checks``.  Returns
    its panels (as pool rows), marginals, and the names of the checks the optimality
    certificate needs passed."""
    document = record.document
    if record.kind == "published":
        known, marginals = audit_uniform(out, document, model, types, pool, checks, sha256)
        return known, marginals, ("panels before rounding", "probabilities before rounding")
    if record.grouped:
        known, marginals = audit_grouped(out, document, model, types, pool, checks)
        return known, marginals, ("types", "panels", "probabilities")
    estimated = record.kind == "estimated"
    panels, unknown = panel_indices(document, pool)
    checks.append(check_panels(model, pool, panels, unknown))
    checks.append(check_order(panels, "canonical order"))
    progress("audit checks", 2, 6)
    probs = np.array(
        [float(p.get("probability", np.nan)) for p in document["panels"]], dtype=np.float64
    )
    checks.append(check_probabilities(probs))
    known = [p if p is not None else np.zeros(0, dtype=np.intp) for p in panels]
    lottery = Lottery(panels=known, probabilities=probs)
    marginals = lottery.marginals(model.n)
    safe = bool(document.get("spreadsheet_safe"))
    checks.append(check_marginals(out, pool, marginals, estimated, safe))
    checks.append(check_selected(out, document, model, pool, lottery, panels, estimated))
    if not estimated:
        checks.append(check_symmetry(types, marginals, 0.0, "type symmetry"))
    return known, marginals, ("panels", "probabilities")


def final_marginals(
    record: RunRecord, pool: Pool, marginals: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The probabilities of the lottery drawn from: for a public draw, its numbered panels'
    (``marginals`` are the lottery's before rounding), else ``marginals``."""
    if record.kind != "published":
        return marginals
    index = {pid: i for i, pid in enumerate(pool.ids)}
    final = np.zeros(len(pool.ids), dtype=np.float64)
    for entry in record.document["panels"]:
        for pid in entry["members"]:
            if pid in index:
                final[index[pid]] += float(entry["probability"])
    return final
