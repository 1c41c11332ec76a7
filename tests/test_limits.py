"""Absurd numbers and destinations are bad input (exit 2) with a message, never an internal
error (exit 1) and never after a long computation (issue 13, items 7 and 10)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})
REG, QUO = str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")
HUGE = "9" * 26


def _run(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stderr


def _quota_file(tmp_path: Path, old: str, new: str) -> str:
    text = (EXAMPLE / "quotas.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "q.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("panel_size: 10", f"panel_size: {HUGE}", "more than panelsel accepts (1,000,000,000)"),
        ("min: 3", f"min: {HUGE}", "more than panelsel accepts"),
        ("panel_size: 10", "panel_size: " + "9" * 5000, "a number of 5,000 digits"),
    ],
)
def test_huge_numbers_in_quotas(tmp_path: Path, old: str, new: str, message: str) -> None:
    code, stderr = _run(
        "select", REG, _quota_file(tmp_path, old, new), "--out", str(tmp_path / "o")
    )
    assert code == 2 and message in stderr and "Internal error" not in stderr
    assert not (tmp_path / "o").exists()


def test_a_huge_quota_file_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("panel_size: 10\n" + "# padding\n" * 200_000, encoding="utf-8")
    code, stderr = _run("check", REG, str(path))
    assert code == 2 and "quota files are a few kilobytes" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--panel-size", HUGE], "the panel size must be from 1 to 1,000,000,000"),
        (["--time-limit", "nan"], "the time limit must be a positive number of seconds, not nan"),
        (["--time-limit", "inf"], "leave out --time-limit for no limit"),
        (["--time-limit", "0"], "positive number of seconds"),
    ],
)
def test_absurd_select_options(tmp_path: Path, args: list[str], message: str) -> None:
    code, stderr = _run("select", REG, QUO, "--out", str(tmp_path / "o"), *args)
    assert code == 2 and message in stderr
    assert list(tmp_path.iterdir()) == []


def test_check_time_limit_nan(tmp_path: Path) -> None:
    code, stderr = _run("check", REG, QUO, "--time-limit", "nan")
    assert code == 2 and "not nan" in stderr


def test_relaxed_out_into_a_missing_folder_or_onto_a_folder(tmp_path: Path) -> None:
    infeasible = str(EXAMPLE / "quotas-infeasible.yaml")
    code, stderr = _run("check", REG, infeasible, "--relaxed-out", str(tmp_path / "no" / "x.yaml"))
    assert code == 2 and "the folder for the relaxed quota file does not exist" in stderr
    folder = tmp_path / "adir"
    folder.mkdir()
    code, stderr = _run("check", REG, infeasible, "--relaxed-out", str(folder), "--force")
    assert code == 2 and "is a folder" in stderr
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pub") / "p"
    result = RUNNER.invoke(app, ["select", REG, QUO, "--out", str(out), "--panels", "100"])
    assert result.exit_code == 0, result.stderr
    return out / "lottery.json"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--random-hex", "f" * 4000], "has 4,000 digits, more than the 1,024 accepted"),
        (["--dice", "²"], "is '²', not a whole number"),
        (["--dice", "1,1," + HUGE], "not a whole number"),
        (["--dice", "1", "--dice-sides", "99999999999"], "must be from 2 to 120"),
        (
            ["--number", HUGE],
            f"--number must be between 1 and 100 (the panels of this lottery), not {HUGE}",
        ),
    ],
)
def test_absurd_draw_inputs(published: Path, args: list[str], message: str) -> None:
    code, stderr = _run("draw", str(published), *args)
    assert code == 2 and message in stderr and "Internal error" not in stderr
    assert not (published.parent / "draw.json").exists()


def test_relaxed_out_never_overwrites_an_input_or_a_foreign_file(tmp_path: Path) -> None:
    quotas = tmp_path / "quotas-infeasible.yaml"
    quotas.write_bytes((EXAMPLE / "quotas-infeasible.yaml").read_bytes())
    before = quotas.read_bytes()
    code, stderr = _run("check", REG, str(quotas), "--relaxed-out", str(quotas), "--force")
    assert code == 2 and "names an input file of this run" in stderr
    assert quotas.read_bytes() == before
    mine = tmp_path / "notes.yaml"
    mine.write_text("my own notes\n", encoding="utf-8")
    result = RUNNER.invoke(
        app, ["check", REG, str(quotas), "--relaxed-out", str(mine), "--force", "--json"]
    )
    assert result.exit_code == 3  # the quotas' verdict; the file is left alone
    kept = json.loads(result.stdout)["relaxation"]["file_kept"]
    assert "was not written by panelsel check, so it was left as it is" in kept
    assert mine.read_text(encoding="utf-8") == "my own notes\n"
    # a relaxed file panelsel wrote is replaced with --force
    relaxed = tmp_path / "out.yaml"
    for _ in range(2):
        code, _ = _run("check", REG, str(quotas), "--relaxed-out", str(relaxed), "--force")
        assert code == 3 and "relaxed by panelsel check" in relaxed.read_text(encoding="utf-8")


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "zlib", "idna", "punycode"])
@pytest.mark.parametrize("option", ["--encoding", "--out-encoding"])
def test_codecs_that_are_not_text_encodings_are_bad_input(
    codec: str, option: str, tmp_path: Path
) -> None:
    """Issue 29, item 9: these gave 'Internal error' (exit 1) or contact lists that failed
    their own audit."""
    result = CliRunner().invoke(
        app,
        ["select", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml"),
         option, codec, "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"{option} {codec!r}" in said and "pass a text encoding such as utf-8" in said
    assert not (tmp_path / "out").exists()


def _damaged_workbook(path: Path, how: str) -> Path:
    """A workbook whose sheet XML is damaged the way hand-edited or truncated files are."""
    import io
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "gender"])
    for i in range(5):
        sheet.append([f"r{i}", "F" if i % 2 else "M"])
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                if how == "bad XML":
                    text = text.replace('<row r="4"', '<row r="4" <<', 1)
                elif how == "shared string out of range":
                    text = text.replace('<c r="B3" t="inlineStr">', '<c r="B3" t="s"><v>999</v>', 1)
                    text = text.replace("<v>999</v><is><t>F</t></is>", "<v>999</v>", 1)
                elif how == "bad number":
                    text = text.replace(
                        '<c r="B3" t="inlineStr"><is><t>F</t></is>',
                        '<c r="B3" t="n"><v>1.2.3</v>',
                        1,
                    )
                data = text.encode("utf-8")
            out.writestr(item, data)
    return path


@pytest.mark.parametrize("how", ["bad XML", "shared string out of range", "bad number"])
def test_a_damaged_workbook_is_bad_input(how: str, tmp_path: Path) -> None:
    """Issue 29, item 9: rows are parsed after the workbook opens, and a damaged sheet gave
    'Internal error: ParseError / IndexError / ValueError' (exit 1)."""
    pool = _damaged_workbook(tmp_path / "pool.xlsx", how)
    quotas = tmp_path / "quotas.yaml"
    quotas.write_text(
        "panel_size: 2\nid_column: id\ncategories:\n  gender:\n    quotas:\n"
        "      F: {min: 1, max: 1}\n      M: {min: 1, max: 1}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check", str(pool), str(quotas)])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "(sheet 'Sheet'), row " in said  # the sheet read is named
    assert "the workbook's sheet is damaged after row" in said
    assert "open it in Excel and save it again" in said


def test_keep_without_drop_duplicates_and_dropping_housemates_are_refused(
    tmp_path: Path,
) -> None:
    """Issue 29, small: `--keep first` without `--drop-duplicates` was ignored silently, and
    `--drop-duplicates Address` (a household column) dropped housemates as duplicates."""
    base = ["check", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")]
    result = CliRunner().invoke(app, [*base, "--keep", "first"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "--keep first applies only with --drop-duplicates" in said
    result = CliRunner().invoke(app, [*base, "--drop-duplicates", "address"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "--drop-duplicates 'address' names a household column" in said


def test_a_coalition_larger_than_the_pool_is_refused(tmp_path: Path) -> None:
    """Issue 29, small: --coalition above the pool size was capped silently."""
    result = CliRunner().invoke(
        app,
        ["compare", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml"),
         "--algorithms", "leximin", "--coalition", "46", "--out", str(tmp_path / "c")],
    )  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert (
        "--coalition 46 is larger than the 37 registrant(s) who can form one (the pool has 45"
        in said
    )
    assert not (tmp_path / "c").exists()


def test_workbooks_as_people_keep_them_get_messages_that_say_what_to_do(tmp_path: Path) -> None:
    """Issue 29, small: an empty first sheet said 'the registrants file is empty', and a
    password-protected workbook 'not an Excel workbook'."""
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Notes"
    data = book.create_sheet("Registrants")
    data.append(["id", "gender"])
    data.append(["r1", "F"])
    book.save(tmp_path / "two.xlsx")
    quotas = str(EXAMPLE / "quotas.yaml")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "two.xlsx"), quotas])
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "the workbook's first sheet ('Notes') is empty" in said and "'Registrants'" in said
    # what Excel writes for a workbook with a password: an OLE container, not a zip
    (tmp_path / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    result = CliRunner().invoke(app, ["check", str(tmp_path / "locked.xlsx"), quotas])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "this workbook is password-protected" in said
    assert "remove the password" in said


def test_a_workbook_that_unpacks_to_too_much_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 29, medium: a 7.9 MB crafted sheet ran for more than 120 s at ~700 MB.  The
    limit is lowered here so that the test writes a small file."""
    import zipfile

    import openpyxl

    from panelsel.inputs import pool as pool_module

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "gender"])
    book.save(tmp_path / "big.xlsx")
    unpacked = sum(i.file_size for i in zipfile.ZipFile(tmp_path / "big.xlsx").infolist())
    monkeypatch.setattr(pool_module, "MAX_WORKBOOK_UNPACKED", unpacked - 1)
    result = CliRunner().invoke(
        app, ["check", str(tmp_path / "big.xlsx"), str(EXAMPLE / "quotas.yaml")]
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "the workbook unpacks to" in said
    assert "export the registrants as CSV UTF-8" in said


@pytest.mark.parametrize("bad", ['"', "\n"])
def test_a_quote_or_line_break_delimiter_is_refused_for_the_right_reason(bad: str) -> None:
    """Issue 29, small: they were refused as 'not a single character'."""
    from panelsel.errors import BadInputError
    from panelsel.inputs.pool import parse_delimiter

    with pytest.raises(BadInputError) as caught:
        parse_delimiter(bad)
    assert "cannot separate cells" in caught.value.message
    assert "not a single character" not in caught.value.message


def test_a_hidden_first_sheet_is_refused(tmp_path: Path) -> None:
    """Issue 29, small: hidden sheets were read silently; a hidden first sheet is not the one
    the convenor sees in Excel."""
    import openpyxl

    book = openpyxl.Workbook()
    hidden = book.active
    assert hidden is not None
    hidden.title = "Old"
    hidden.append(["id", "gender"])
    hidden.append(["x1", "F"])
    shown = book.create_sheet("Registrants")
    shown.append(["id", "gender"])
    hidden.sheet_state = "hidden"
    book.active = 1
    book.save(tmp_path / "hidden.xlsx")
    result = CliRunner().invoke(
        app, ["check", str(tmp_path / "hidden.xlsx"), str(EXAMPLE / "quotas.yaml")]
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "the workbook's first sheet ('Old') is hidden in Excel" in said


def test_hidden_rows_are_refused_not_read_silently(tmp_path: Path) -> None:
    """Issue 29, small: hidden rows (often a filter) were read as registrants silently."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    with (EXAMPLE / "registrants.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            sheet.append(row)
    book.save(tmp_path / "shown.xlsx")
    quotas = str(EXAMPLE / "quotas.yaml")
    assert CliRunner().invoke(app, ["check", str(tmp_path / "shown.xlsx"), quotas]).exit_code == 0
    sheet.row_dimensions[5].hidden = True
    sheet.row_dimensions[9].hidden = True
    book.save(tmp_path / "filtered.xlsx")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "filtered.xlsx"), quotas])
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "(sheet 'Sheet'), row 5: 2 row(s) of the sheet are hidden in Excel (rows 5, 9; a" in said
