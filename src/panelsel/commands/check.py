"""``panelsel check``: what the quotas allow, without drawing anything, and a relaxed copy
of the quota file when no panel meets them.

The analysis itself is :func:`panelsel.solve.feasibility.diagnose`; this module reads the
inputs, parses ``--relax-priority`` and writes the relaxed quota file (never over a file
``panelsel check`` did not write).
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any

import yaml

from panelsel.defaults import DEFAULT_DELIMITER, DEFAULT_ENCODING, DEFAULT_SOLVER
from panelsel.errors import BadInputError, TimeLimitError
from panelsel.inputs.load import ReadOptions, load_inputs
from panelsel.inputs.model import build_model
from panelsel.inputs.quotas import QuotaSpec, with_bounds
from panelsel.progress import ProgressFn, no_progress
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import Diagnosis, QuotaChange, diagnose, never_selectable_count


def parse_priorities(text: str | None, spec: QuotaSpec) -> dict[str, float]:
    """``"gender=10,age=1"`` -> weights per category (others 1)."""
    weights = {c.name: 1.0 for c in spec.categories}
    if not text:
        return weights
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in weights:
            raise BadInputError(
                f"--relax-priority: {part.strip()!r} does not name a category",
                hint=f"write CATEGORY=WEIGHT with one of: {', '.join(weights)}",
            )
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not weight > 0:
            raise BadInputError(
                f"--relax-priority: the weight of {name!r} must be a positive number, "
                f"not {value.strip()!r}"
            )
        weights[name] = weight
    return weights


def _whole_or_float(x: float | None) -> int | float | None:
    return int(x) if x is not None and x.is_integer() else x


def relaxed_spec_document(spec: QuotaSpec, changes: list[QuotaChange]) -> dict[str, Any]:
    """The quota file, as a YAML document, with the changed bounds."""
    new = {(c.category, c.value): (c.new_min, c.new_max) for c in changes}
    categories: dict[str, Any] = {}
    for cat in spec.categories:
        entry: dict[str, Any] = {"column": cat.column}
        if cat.multi_value is not None:
            entry["multi_value"] = cat.multi_value
        if cat.bands:
            entry["bands"] = {
                b.label: [_whole_or_float(b.low), _whole_or_float(b.high)] for b in cat.bands
            }
        entry["quotas"] = {
            q.value: dict(
                zip(("min", "max"), new.get((cat.name, q.value), (q.min, q.max)), strict=True)
            )
            for q in cat.quotas
        }
        categories[cat.name] = entry
    doc: dict[str, Any] = {"panel_size": spec.panel_size}
    if spec.id_column is not None:
        doc["id_column"] = spec.id_column
    doc["categories"] = categories
    if spec.households is not None:
        doc["households"] = {
            "columns": list(spec.households.columns),
            "max_per_household": spec.households.max_per_household,
        }
    return doc


RELAXED_MARKER = "relaxed by panelsel check"
"""In the first line of every relaxed YAML file (a categories CSV cannot carry a comment: it
is recognised by its ``.relaxed.csv`` name)."""


def _written_by_check(path: Path) -> bool:
    """Whether ``path`` looks like a relaxed quota file panelsel wrote (``--force`` replaces
    only those)."""
    if path.name.endswith(".relaxed.csv"):
        return True
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return RELAXED_MARKER in f.readline()
    except OSError:
        return False


def write_relaxed(
    spec: QuotaSpec, changes: list[QuotaChange], path: Path, never: int | None = None
) -> None:
    """Write the relaxed quotas in the input's format (YAML, or a categories CSV); a YAML
    file says how many registrants they still leave with no chance (``never``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    if spec.format == "csv":
        new = {(c.category, c.value): (c.new_min, c.new_max) for c in changes}
        with tmp.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["category", "feature", "min", "max"])
            for cat in spec.categories:
                for q in cat.quotas:
                    lo, hi = new.get((cat.name, q.value), (q.min, q.max))
                    writer.writerow([cat.name, q.value, lo, hi])
    else:
        header = (
            f"# {spec.path.name} {RELAXED_MARKER}: the smallest change of bounds that\n"
            "# lets a panel meet every quota\n"
        )
        if never is not None:
            header += (
                f"# under these quotas {never} registrant(s) can never be selected\n"
                if never
                else "# under these quotas every registrant is in some valid panel\n"
            )
        body = yaml.safe_dump(
            relaxed_spec_document(spec, changes),
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=None,
        )
        tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- entry points


def check(
    registrants: str | Path,
    quotas: str | Path,
    *,
    solver: str = DEFAULT_SOLVER,
    delimiter: str = DEFAULT_DELIMITER,
    encoding: str = DEFAULT_ENCODING,
    id_column: str | None = None,
    panel_size: int | None = None,
    drop_duplicates: str | None = None,
    keep: str = "last",
    sheet: str | None = None,
    header_row: int | None = None,
    relax_priority: str | None = None,
    relaxed_out: str | Path | None = None,
    force: bool = False,
    time_limit: float | None = None,
    progress: ProgressFn = no_progress,
) -> Diagnosis:
    """``panelsel check``: diagnose, and when infeasible write the relaxed quota file.

    ``relaxed_out`` defaults to ``<quota file stem>.relaxed.<ext>`` in the current folder;
    an existing file is replaced only with ``force``.
    """
    spec, pool, model = load_inputs(
        registrants,
        quotas,
        ReadOptions(
            delimiter, encoding, id_column, panel_size, drop_duplicates, keep, sheet, header_row
        ),
    )
    priorities = parse_priorities(relax_priority, spec)
    target = (
        Path(relaxed_out)
        if relaxed_out is not None
        else Path(f"{spec.path.stem}.relaxed{spec.path.suffix or '.yaml'}")
    )
    if target.is_dir():
        raise BadInputError(
            "--relaxed-out is a folder; it names the relaxed quota file to write",
            file=str(target),
            hint=f"give a file name, e.g. --relaxed-out {target / target.name}.relaxed.yaml",
        )
    if not target.absolute().parent.is_dir():
        raise BadInputError(
            "the folder for the relaxed quota file does not exist",
            file=str(target),
            hint="create the folder first, or choose another --relaxed-out",
        )
    if target.exists() and target.resolve() in {Path(registrants).resolve(), spec.path.resolve()}:
        raise BadInputError(
            "--relaxed-out names an input file of this run; panelsel never overwrites it",
            file=str(target),
            hint="choose another --relaxed-out (the default is <quotas>.relaxed.yaml)",
        )
    # an existing file is never a reason to fail: the quotas' verdict (exit 3) is the same
    # on every run, and the file is replaced only when --force says so and check wrote it
    kept = ""
    if target.exists() and not _written_by_check(target):
        kept = (
            f"{target} exists and was not written by panelsel check, so it was left as it is "
            "(even with --force); choose another --relaxed-out to write the relaxed quotas"
        )
    elif target.exists() and not force:
        kept = f"{target} exists and was left as it is; pass --force to replace it"
    config = SolverConfig(name=solver, time_limit=time_limit)
    diagnosis = diagnose(model, spec, pool, config, priorities=priorities, progress=progress)
    diagnosis.warnings = list(model.warnings)
    if diagnosis.changes is not None:
        relaxed = with_bounds(
            spec, {(c.category, c.value): (c.new_min, c.new_max) for c in diagnosis.changes}
        )
        with contextlib.suppress(TimeLimitError):  # the count is extra; the verdict stands
            diagnosis.relaxed_never = never_selectable_count(build_model(pool, relaxed), config)
    if diagnosis.changes is not None and kept:
        diagnosis.relaxed_kept = kept
    elif diagnosis.changes is not None:
        try:
            write_relaxed(spec, diagnosis.changes, target, diagnosis.relaxed_never)
        except OSError as exc:
            with contextlib.suppress(OSError):
                target.with_name(f".{target.name}.tmp").unlink()
            raise BadInputError(
                f"could not write the relaxed quota file ({exc.strerror or exc})",
                file=str(target),
                hint="free some disk space, or choose another --relaxed-out",
            ) from None
        diagnosis.relaxed_file = target
    return diagnosis
