"""Outputs: spreadsheet-safe cells, --columns, privacy of derived files, atomicity under
interrupts and failures."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.audit import audit
from panelsel.commands.select import select
from panelsel.errors import SolverError
from panelsel.outputs.files import spreadsheet_safe, unescape

from .conftest import EXAMPLE, write_csv

RUNNER = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})
MARKER = "ZZ-SECRET-MARKER"


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
def hostile_pool(tmp_path: Path) -> tuple[Path, Path]:
    """12 people; ids and a free-text column start like formulas; a marker in the notes."""
    rows = []
    for i in range(12):
        pid = ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)"][i] if i < 4 else f"p{i}"
        email = {4: "\tTAB", 5: "\rCR"}.get(i, "a@b.c")
        rows.append([pid, "F" if i % 2 else "M", f"{MARKER}-{i} =cmd|' /C calc'!A0", email])
    pool = write_csv(tmp_path / "pool.csv", ["id", "g", "notes", "email"], rows)
    quotas = tmp_path / "q.yaml"
    quotas.write_text("panel_size: 4\ncategories:\n  g: {quotas: {F: 2, M: 2}}\n", encoding="utf-8")
    return pool, quotas


def test_spreadsheet_safe_cells() -> None:
    for cell in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert spreadsheet_safe(cell) == "'" + cell
        assert unescape(spreadsheet_safe(cell)) == cell
    for cell in ("plain", "1.5", "'quoted", "", "a=b"):
        assert spreadsheet_safe(cell) == cell and unescape(cell) == cell
    assert spreadsheet_safe(3) == 3


def test_formula_cells_are_written_as_text_and_audit_still_passes(
    hostile_pool: tuple[Path, Path], tmp_path: Path
) -> None:
    pool, quotas = hostile_pool
    select(pool, quotas, out=tmp_path / "o", seed=1)
    for name in ("panel.csv", "remaining.csv", "probabilities.csv"):
        for row in _rows(tmp_path / "o" / name):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    ids = [r[0] for r in _rows(tmp_path / "o" / "probabilities.csv")[1:]]
    assert ids[:4] == ["'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)"]
    contact = _rows(tmp_path / "o" / "panel.csv") + _rows(tmp_path / "o" / "remaining.csv")
    emails = {row[3] for row in contact[1:] if row[0] != "id"}
    assert {"'\tTAB", "'\rCR", "a@b.c"} <= emails
    assert audit(tmp_path / "o", pool, quotas).passed
    # --raw-csv writes the cells as read
    select(pool, quotas, out=tmp_path / "raw", seed=1, raw_csv=True)
    ids = [r[0] for r in _rows(tmp_path / "raw" / "probabilities.csv")[1:]]
    assert ids[:4] == ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)"]
    assert audit(tmp_path / "raw", pool, quotas).passed


def test_private_columns_appear_only_in_the_contact_files(
    hostile_pool: tuple[Path, Path], tmp_path: Path
) -> None:
    pool, quotas = hostile_pool
    out = tmp_path / "o"
    result = RUNNER.invoke(
        app, ["select", str(pool), str(quotas), "--out", str(out), "--seed", "2", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert MARKER not in result.stdout + result.stderr
    table = RUNNER.invoke(app, ["select", str(pool), str(quotas), "--out", str(tmp_path / "t")])
    assert MARKER not in table.stdout + table.stderr
    for name in ("probabilities.csv", "lottery.json", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert MARKER not in text and "a@b.c" not in text, name
    contact = (out / "panel.csv").read_text(encoding="utf-8") + (out / "remaining.csv").read_text(
        encoding="utf-8"
    )
    assert contact.count(MARKER) == 12  # the convenor needs every column to reach people
    audit_run = RUNNER.invoke(app, ["audit", str(out), str(pool), str(quotas), "--json"])
    assert audit_run.exit_code == 0 and MARKER not in audit_run.stdout
    compared = RUNNER.invoke(
        app,
        ["compare", str(pool), str(quotas), "--out", str(tmp_path / "c"), "--samples", "50"],
    )
    assert compared.exit_code == 0 and MARKER not in compared.stdout
    for path in (tmp_path / "c").iterdir():
        assert MARKER not in path.read_text(encoding="utf-8"), path.name


def test_columns_option_chooses_contact_columns(
    hostile_pool: tuple[Path, Path], tmp_path: Path
) -> None:
    pool, quotas = hostile_pool
    out = tmp_path / "o"
    result = RUNNER.invoke(
        app, ["select", str(pool), str(quotas), "--out", str(out), "--columns", "email"]
    )
    assert result.exit_code == 0, result.stderr
    assert _rows(out / "panel.csv")[0] == ["id", "email"]
    assert len(_rows(out / "remaining.csv")) == 9
    assert MARKER not in (out / "panel.csv").read_text(encoding="utf-8")
    assert audit(out, pool, quotas).passed
    result = RUNNER.invoke(
        app, ["select", str(pool), str(quotas), "--out", str(tmp_path / "x"), "--columns", "phone"]
    )
    assert result.exit_code == 2 and "'phone'" in result.stderr
    assert not (tmp_path / "x").exists()


def _leftovers(folder: Path, name: str) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith((name, f".{name}"))]


def test_failure_while_writing_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import panelsel.outputs.tables as module

    def broken(*args: object, **kwargs: object) -> None:
        raise SolverError("disk trouble in the middle of writing")

    monkeypatch.setattr(module, "write_json", broken)
    with pytest.raises(SolverError, match="disk trouble"):
        select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=tmp_path / "o", seed=1)
    assert _leftovers(tmp_path, "o") == []
    monkeypatch.setattr(
        module, "write_json", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt())
    )
    with pytest.raises(KeyboardInterrupt):
        select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=tmp_path / "o", seed=1)
    assert _leftovers(tmp_path, "o") == []


def test_compare_csv_is_spreadsheet_safe_unless_raw(
    hostile_pool: tuple[Path, Path], tmp_path: Path
) -> None:
    pool, quotas = hostile_pool
    for flag, first in (([], "'=HYPERLINK(1)"), (["--raw-csv"], "=HYPERLINK(1)")):
        out = tmp_path / ("raw" if flag else "safe")
        result = RUNNER.invoke(
            app,
            [
                "compare",
                str(pool),
                str(quotas),
                "--algorithms",
                "leximin",
                "--out",
                str(out),
                *flag,
            ],
        )
        assert result.exit_code == 0, result.stderr
        assert _rows(out / "probabilities.csv")[1][0] == first


def test_cells_that_really_start_with_an_apostrophe_survive_and_audit_passes(
    tmp_path: Path,
) -> None:
    # "'=" and "'+44" as typed by people; before, the audit un-escaped them and failed
    rows = [
        [f"'={i}" if i % 3 == 0 else f"p{i}", "F" if i % 2 else "M", f"'+44 7700 90{i:04d}"]
        for i in range(12)
    ]
    pool = write_csv(tmp_path / "pool.csv", ["id", "g", "phone"], rows)
    quotas = tmp_path / "q.yaml"
    quotas.write_text("panel_size: 4\ncategories:\n  g: {quotas: {F: 2, M: 2}}\n", encoding="utf-8")
    select(pool, quotas, out=tmp_path / "o", seed=1)
    ids = [r[0] for r in _rows(tmp_path / "o" / "probabilities.csv")[1:]]
    assert ids[0] == "''=0" and ids[1] == "p1"
    phones = {r[2] for r in _rows(tmp_path / "o" / "remaining.csv")[1:]}
    assert all(p.startswith("''+44") for p in phones)
    report = audit(tmp_path / "o", pool, quotas)
    assert report.passed, [c.detail for c in report.checks if not c.passed]


def test_escaping_is_reversible_for_every_short_cell() -> None:
    import itertools

    alphabet = ["'", "=", "+", "-", "@", "\t", "a", "1"]
    for length in range(5):
        for letters in itertools.product(alphabet, repeat=length):
            cell = "".join(letters)
            escaped = spreadsheet_safe(cell)
            assert unescape(escaped) == cell
            assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
