"""Workbooks as people keep them (issue 31, item 3): the data on another sheet, a title row
above the header, formulas without saved values; every message names the sheet read."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from panelsel.cli import app

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
QUOTAS = str(EXAMPLE / "quotas.yaml")


def _example_rows() -> list[list[str]]:
    with (EXAMPLE / "registrants.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _trust_workbook(
    path: Path, *, above: list[list[object]] | None = None, first_sheet: bool = True
) -> Path:
    """The example's registrants as an NHS trust keeps them: a 'Read me' sheet first, the
    data on 'Patients' below a title row and a blank row (header in row 3)."""
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    if first_sheet:
        notes.title = "Read me"
        notes.append(["This workbook lists the registrations of the wellbeing panel."])
        notes.append(["Do not share outside the service."])
        data = book.create_sheet("Patients")
    else:
        data = notes
        data.title = "Patients"
    for row in above if above is not None else [["Wellbeing panel registrations 2026"], []]:
        data.append(row)
    for row in _example_rows():
        data.append(row)
    book.save(path)
    return path


def _said(result: Result) -> str:
    return " ".join(result.output.split())


def test_the_data_on_a_later_sheet_is_refused_with_the_sheet_to_name(tmp_path: Path) -> None:
    book = _trust_workbook(tmp_path / "trust.xlsx")
    result = RUNNER.invoke(app, ["check", str(book), QUOTAS])
    said = _said(result)
    assert result.exit_code == 2, said
    assert "the workbook's first sheet ('Read me') has none of the header rows" in said
    assert "pass --sheet 'Patients'" in said


@pytest.mark.parametrize("sheet", ["Patients", "patients", "2"])
def test_a_named_sheet_below_a_title_row_is_read_recorded_audited_and_replaced(
    tmp_path: Path, sheet: str
) -> None:
    book = _trust_workbook(tmp_path / "trust.xlsx")
    out = tmp_path / "run"
    args = ["select", str(book), QUOTAS, "--sheet", sheet, "--seed", "3", "--out", str(out)]
    result = RUNNER.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    notes = " ".join(shown["notes"])
    assert "(sheet 'Patients'): the header is row 3, below 'Wellbeing panel registrations" in notes
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    read = record["inputs"]["registrants"]
    assert read["sheet"] == "Patients" and read["header_row"] == 3
    assert len(record["panels"][record["selected"]]["members"]) == 10
    # the same panel as from the CSV with the same seed: the same registrants were read
    plain = tmp_path / "plain"
    RUNNER.invoke(app, ["select", str(EXAMPLE / "registrants.csv"), QUOTAS, "--seed", "3",
                        "--out", str(plain)])  # fmt: skip
    csv_record = json.loads((plain / "lottery.json").read_text(encoding="utf-8"))
    assert record["selected_members"] == csv_record["selected_members"]
    audited = RUNNER.invoke(app, ["audit", str(out), str(book), QUOTAS])
    assert audited.exit_code == 0, audited.output
    leaving = record["selected_members"][0]
    round_ = tmp_path / "round"
    replaced = RUNNER.invoke(
        app, ["replace", str(out), "--dropouts", leaving, "--seed", "4", "--out", str(round_)]
    )
    assert replaced.exit_code == 0, replaced.output
    audited = RUNNER.invoke(app, ["audit", str(round_), str(book), QUOTAS])
    assert audited.exit_code == 0, audited.output


def test_an_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    book = _trust_workbook(tmp_path / "trust.xlsx")
    result = RUNNER.invoke(app, ["check", str(book), QUOTAS, "--sheet", "Pateints"])
    said = _said(result)
    assert result.exit_code == 2
    assert "the workbook has no sheet 'Pateints'" in said
    assert "its sheets are 'Read me', 'Patients' (or give a number from 1 to 2)" in said


def test_rows_of_data_above_the_header_need_the_header_row(tmp_path: Path) -> None:
    # a row of four cells above the header is not a title: panelsel does not guess
    above: list[list[object]] = [["Trust", "Ward", "Month", "Total"], []]
    book = _trust_workbook(tmp_path / "trust.xlsx", above=above, first_sheet=False)
    result = RUNNER.invoke(app, ["check", str(book), QUOTAS])
    said = _said(result)
    assert result.exit_code == 2
    assert "row 3 looks like the header (it has the quota columns), but row 1" in said
    assert "pass --header-row 3" in said
    result = RUNNER.invoke(app, ["check", str(book), QUOTAS, "--header-row", "3"])
    assert result.exit_code == 0, result.output


def test_a_csv_with_a_title_row_is_read_and_sheet_is_refused_for_it(tmp_path: Path) -> None:
    rows = _example_rows()
    path = tmp_path / "titled.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["Registrations exported 5 Dec 2026"], *rows])
    result = RUNNER.invoke(app, ["check", str(path), QUOTAS])
    assert result.exit_code == 0, result.output
    assert "the header is row 2, below 'Registrations exported 5 Dec 2026'" in _said(result)
    result = RUNNER.invoke(app, ["check", str(path), QUOTAS, "--sheet", "1"])
    assert result.exit_code == 2
    assert "--sheet '1' applies to a workbook (.xlsx)" in _said(result)


def test_messages_name_the_sheet_and_a_formula_without_a_saved_value(tmp_path: Path) -> None:
    import openpyxl

    book_path = _trust_workbook(tmp_path / "trust.xlsx")
    book = openpyxl.load_workbook(book_path)
    sheet = book["Patients"]
    header = [c.value for c in sheet[3]]
    gender = header.index("Gender") + 1
    # row 5: a formula Excel would have computed; openpyxl saves no value for it
    sheet.cell(row=5, column=gender, value='=IF(TRUE,"Female","Male")')
    book.save(book_path)
    result = RUNNER.invoke(app, ["check", str(book_path), QUOTAS, "--sheet", "Patients"])
    said = _said(result)
    assert result.exit_code == 2, said
    assert "(sheet 'Patients'), row 5, column 'Gender'" in said
    assert "holds a formula whose value was never saved" in said
    assert "open the workbook in Excel and save it" in said
    # a plain blank cell is still called blank
    sheet.cell(row=5, column=gender).value = None  # (value=None would change nothing)
    book.save(book_path)
    result = RUNNER.invoke(app, ["check", str(book_path), QUOTAS, "--sheet", "Patients"])
    said = _said(result)
    assert "(sheet 'Patients'), row 5, column 'Gender': is blank" in said


def test_cells_are_read_as_the_spreadsheet_shows_them(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    from panelsel.inputs.pool import load_pool

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "registered", "share", "score", "when", "plain"])
    sheet.append([123, dt.date(2026, 12, 5), 0.5, 2.5, dt.date(2026, 12, 5), 12.0])
    formats = ["00000", "dd/mm/yyyy", "0%", "0.00", "mm-dd-yy", "General"]
    for cell, fmt in zip(sheet[2], formats, strict=True):
        cell.number_format = fmt
    book.save(tmp_path / "b.xlsx")
    pool = load_pool(tmp_path / "b.xlsx")
    # mm-dd-yy is Excel's built-in short date, shown as the computer's settings say: ISO
    assert pool.rows == [["00123", "05/12/2026", "50%", "2.50", "2026-12-05", "12"]]
    assert pool.ids == ["00123"]
