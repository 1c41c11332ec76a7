"""Issue 16: a convenor's Microsoft Forms / Excel export, end to end through the CLI.

The fixture ``tests/corpus/forms/registrations.csv`` is rebuilt by ``make.py`` beside it: a
BOM, ';', CRLF, Forms' columns, free text with line breaks, multi-select cells ending in ';',
gender spelt four ways plus four "Prefer not to say", and one duplicate registration.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app

FORMS = Path(__file__).parent / "corpus" / "forms"
REGISTRATIONS = FORMS / "registrations.csv"
QUOTAS = FORMS / "quotas.yaml"
PREFERS_NOT = ["42", "43", "44", "45"]  # the four "Prefer not to say"
LOOSE_GENDER = (
    'Female: "50%"\n      Male: "50%"',
    "Female: {min: 4, max: 5}\n      Male: {min: 4, max: 5}",
)


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def flat(text: str) -> str:
    """Terminal text with rich's line wrapping undone."""
    return re.sub(r"\s+", " ", text)


def quotas_with(tmp_path: Path, old: str, new: str) -> Path:
    text = QUOTAS.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "quotas.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_fixture_is_what_make_py_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("forms_make", FORMS / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = REGISTRATIONS.read_bytes()
    assert module.render() == data
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert data.count(b"\r\n") > 47  # 47 records, and line breaks inside cells


# --------------------------------------------------------------- item 1: silent exclusion


@pytest.mark.parametrize("algorithm", ["leximin", "maximin", "nash"])
def test_select_says_who_can_never_be_selected_everywhere(
    runner: CliRunner, tmp_path: Path, algorithm: str
) -> None:
    out = tmp_path / "out"
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1"]
    code, stdout, _ = run(runner, "select", *args, "--out", str(out), "--algorithm", algorithm)
    assert code == 0
    said = (
        "4 registrant(s) can never be selected (gender = Female ≥ 5 and gender = Male ≥ 5 "
        "leave no room for them"
    )
    assert "Warning: " + said in flat(stdout)
    assert "ids 42, 43, 44, 45" in flat(stdout)
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert any(said in note for note in record["notes"])
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "can never be selected" in report and "45" in report
    code, stdout, _ = run(
        runner, "select", *args, "--out", str(tmp_path / "j"), "--algorithm", algorithm, "--json"
    )
    document = json.loads(stdout)
    assert document["excluded"] == [
        {
            "ids": PREFERS_NOT,
            "reason": "gender = Female ≥ 5 and gender = Male ≥ 5 leave no room for them",
            "selectable": False,
        }
    ]
    assert any(said in note for note in document["notes"])


def test_no_warning_when_everyone_has_a_chance(runner: CliRunner, tmp_path: Path) -> None:
    quotas = quotas_with(
        tmp_path,
        'Female: "50%"\n      Male: "50%"',
        "Female: {min: 4, max: 5}\n      Male: {min: 4, max: 5}",
    )
    code, stdout, _ = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(quotas),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert code == 0
    document = json.loads(stdout)
    assert document["excluded"] == []
    assert document["probability"]["min"] > 0.05


def test_rounding_that_leaves_people_out_is_named(runner: CliRunner, tmp_path: Path) -> None:
    # 2 numbered panels of 10 from 46 registrants: at most 20 people can be in one of them
    quotas = quotas_with(
        tmp_path,
        'Female: "50%"\n      Male: "50%"',
        "Female: {min: 4, max: 5}\n      Male: {min: 4, max: 5}",
    )
    code, stdout, _ = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(quotas),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--panels",
        "2",
        "--json",
    )
    assert code == 0, stdout
    document = json.loads(stdout)
    left_out = [e for e in document["excluded"] if e["selectable"]]
    assert left_out and sum(len(e["ids"]) for e in document["excluded"]) >= 46 - 20
    assert left_out[0]["reason"] == (
        "left out by the rounding to 2 numbered panels, although the lottery gave them a "
        "chance; more --panels gives them one"
    )
    # nobody is called unselectable: everyone in this pool is in some valid panel
    assert all(e["selectable"] for e in document["excluded"])


# ------------------------------------------------------ item 2: quota values nobody has


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        (
            "Counselling: {min: 2}",
            "Counseling: {min: 2}",
            "the quota services = 'Counseling' (min 2) is for a value no registrant has",
            "did you mean 'Counselling'?",
        ),
        (
            'Postgraduate: "60%"',
            'Post-graduate: "60%"',
            "the quota level = 'Post-graduate' (min 6) is for a value no registrant has",
            "did you mean 'Postgraduate'?",
        ),
        (
            'multi_value: ";"',
            'multi_value: ","',
            "the quota services = 'Counselling' (min 2) is for a value no registrant has",
            """the cells separate their answers by ';', not ',': write 'multi_value: ";"'""",
        ),
        (
            '    multi_value: ";"\n',
            "",
            "the quota services = 'Counselling' (min 2) is for a value no registrant has",
            """the cells list several answers separated by ';': add 'multi_value: ";"'""",
        ),
    ],
)
@pytest.mark.parametrize("command", ["select", "check"])
def test_a_quota_value_nobody_has_is_bad_input(
    runner: CliRunner, tmp_path: Path, old: str, new: str, message: str, fix: str, command: str
) -> None:
    quotas = quotas_with(tmp_path, old, new)
    out = tmp_path / "out"
    extra = ["--out", str(out)] if command == "select" else []
    code, stdout, stderr = run(
        runner, command, str(REGISTRATIONS), str(quotas), "--delimiter", ";", *extra
    )
    assert code == 2, stdout + stderr
    assert message in flat(stderr)
    assert fix in flat(stderr)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [quotas]  # check wrote no relaxed file either


def test_a_quota_value_nobody_has_with_min_0_is_a_warning(
    runner: CliRunner, tmp_path: Path
) -> None:
    quotas = quotas_with(
        tmp_path,
        "Prefer not to say: {min: 0, max: 2}",
        "Prefer not to say: {min: 0, max: 2}\n      Non-binary: {min: 0, max: 2}",
    )
    code, stdout, _ = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(quotas),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert code == 0
    notes = json.loads(stdout)["notes"]
    assert any("no registrant has gender = 'Non-binary'" in note for note in notes)


# ------------------------------------------------------ item 3: spreadsheet row numbers


def test_rows_are_spreadsheet_rows_not_text_lines(runner: CliRunner, tmp_path: Path) -> None:
    # registration 12 (spreadsheet row 13) appears again as ID 46 (row 47); the free-text
    # cells before it span extra text lines, so the file's line numbers are larger
    data = REGISTRATIONS.read_bytes().decode("utf-8-sig")
    pool = tmp_path / "pool.csv"
    pool.write_text(data.replace("\r\n46;", "\r\n12;"), encoding="utf-8")
    code, _, stderr = run(runner, "check", str(pool), str(QUOTAS), "--delimiter", ";")
    assert code == 2
    assert "row 47, column 'ID', value '12': is the same id as row 13 ('12')" in flat(stderr)
    line = data.split("\r\n").index(next(x for x in data.split("\r\n") if x.startswith("46;")))
    assert line + 1 > 47  # the text line is not the row


# ------------------------------------------------------ item 6: ids and duplicates


def test_a_column_called_ID_is_the_id_column(runner: CliRunner, tmp_path: Path) -> None:
    text = QUOTAS.read_text(encoding="utf-8").replace("id_column: ID\n", "")
    quotas = tmp_path / "q.yaml"
    quotas.write_text(text, encoding="utf-8")
    code, _, _ = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(quotas),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert code == 0
    record = json.loads((tmp_path / "out" / "lottery.json").read_text(encoding="utf-8"))
    assert record["id_column"] == "ID"
    members = {m for panel in record["panels"] for m in panel["members"]}
    assert members <= {str(i) for i in range(1, 47)} and "46" in members


def test_a_duplicate_registration_is_warned_about_then_dropped(
    runner: CliRunner, tmp_path: Path
) -> None:
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1"]
    code, stdout, _ = run(runner, "select", *args, "--out", str(tmp_path / "a"))
    assert code == 0
    said = flat(stdout)
    assert (
        "Warning: " + str(REGISTRATIONS) + ": row 13 (id 12) and row 47 (id 46) look like one "
        "person registered 2 times (the same Email)"
    ) in said
    assert "sofia.rossi" not in stdout  # the address itself stays in the contact files
    assert "pass --drop-duplicates 'Email'" in said
    # dropped: 45 people, the latest registration (id 46) kept, and the audit shows it
    out = tmp_path / "b"
    code, stdout, _ = run(
        runner, "select", *args, "--out", str(out), "--drop-duplicates", "Email", "--json"
    )
    document = json.loads(stdout)
    assert code == 0 and document["pool_size"] == 45
    assert document["warnings"] == [
        "4 registrant(s) can never be selected (gender = Female ≥ 5 and gender = Male ≥ 5 "
        "leave no room for them): ids 42, 43, 44, 45"
    ]
    assert "row 13 (id 12) dropped: the same Email as row 47, which is kept" in document["notes"]
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    members = {m for panel in record["panels"] for m in panel["members"]}
    assert "12" not in members and "46" in members
    assert record["inputs"]["registrants"]["drop_duplicates"] == "Email"
    code, stdout, _ = run(runner, "audit", str(out), str(REGISTRATIONS), str(QUOTAS), "--json")
    assert code == 0, stdout
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert checks["duplicates"]["passed"]
    assert "1 registration(s) dropped as duplicates by 'Email'" in checks["duplicates"]["detail"]


def test_a_forged_duplicate_column_fails_the_audit(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1"]
    code, _, _ = run(runner, "select", *args, "--out", str(out), "--drop-duplicates", "Email")
    assert code == 0
    path = out / "lottery.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["inputs"]["registrants"]["drop_duplicates"] = "Gender"  # would drop all but 3
    path.write_text(json.dumps(record), encoding="utf-8")
    code, stdout, _ = run(
        runner, "audit", str(out), str(REGISTRATIONS), str(QUOTAS), "--no-recompute", "--json"
    )
    assert code == 5
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert not checks["duplicates"]["passed"]
    assert "by 'Gender', which panelsel refuses" in checks["duplicates"]["detail"]
    assert "names a quota column" in checks["duplicates"]["detail"]


def test_drop_duplicates_by_a_quota_column_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    code, _, stderr = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(QUOTAS),
        "--delimiter",
        ";",
        "--out",
        str(tmp_path / "out"),
        "--drop-duplicates",
        "gender",
    )
    assert code == 2
    assert "--drop-duplicates 'gender' names a quota column" in flat(stderr)
    assert not (tmp_path / "out").exists()


# ------------------------------------------- item 5: today's Sortition Foundation header


@pytest.mark.parametrize(
    "header",
    [
        "feature,value,min,max,min_flex,max_flex",
        "feature,value,min,max",
        "category,feature,min,max",
    ],
)
def test_both_sortition_foundation_headers(runner: CliRunner, tmp_path: Path, header: str) -> None:
    flex = ",4,6" if header.endswith("flex") else ""
    rows = [
        f"Gender,Female,4,5{flex}",
        f"Gender,Male,4,5{flex}",
        f"Gender,Prefer not to say,0,2{flex}",
        f"Level of study,Postgraduate,6,6{flex}",
        f"Level of study,Undergraduate,4,4{flex}",
    ]
    quotas = tmp_path / "categories.csv"
    quotas.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    code, stdout, stderr = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(quotas),
        "--panel-size",
        "10",
        "--id-column",
        "ID",
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "o"),
        "--json",
    )
    assert code == 0, stderr
    document = json.loads(stdout)
    quota = {(q["category"], q["value"]): (q["min"], q["max"]) for q in document["quotas"]}
    assert quota[("Gender", "Female")] == (4, 5) and quota[("Level of study", "Postgraduate")] == (
        6,
        6,
    )
    assert document["excluded"] == []
    unused = [n for n in document["notes"] if "min_flex and max_flex are not used" in n]
    assert len(unused) == (1 if flex else 0)


def test_a_categories_csv_with_neither_header_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    quotas = tmp_path / "categories.csv"
    quotas.write_text("group,answer,min,max\nGender,Female,5,5\n", encoding="utf-8")
    code, _, stderr = run(
        runner, "check", str(REGISTRATIONS), str(quotas), "--panel-size", "10", "--delimiter", ";"
    )
    assert code == 2
    assert (
        "its header must be feature,value,min,max (or the older category,feature,min,max)"
        in flat(stderr)
    )


# ------------------------------------------------ item 9: percentages that don't add up


def test_percentages_that_do_not_add_up_are_warned_about(runner: CliRunner, tmp_path: Path) -> None:
    quotas = quotas_with(
        tmp_path,
        'Postgraduate: "60%", Undergraduate: "40%"',
        'Postgraduate: "65%", Undergraduate: "45%"',
    )
    code, stdout, _ = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(quotas),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "o"),
        "--json",
    )
    assert code == 0
    notes = json.loads(stdout)["notes"]
    assert any(
        "the percentages of category 'level' add up to 110%, not 100% (Postgraduate 65% + "
        "Undergraduate 45%)" in n
        for n in notes
    ), notes
    code, stdout, _ = run(
        runner,
        "select",
        str(REGISTRATIONS),
        str(QUOTAS),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "o2"),
        "--json",
    )
    assert not any("add up to" in n for n in json.loads(stdout)["notes"])


# ------------------------------------------------------------- item 8: unattended scripts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["select", "a.csv", "q.yaml", "--bogus", "--json"], "No such option: --bogus"),
        (["check", "--json"], "Missing argument"),
        (
            ["select", "a.csv", "q.yaml", "--json", "--seed", "many"],
            "Invalid value for '--seed'",
        ),
    ],
)
def test_usage_errors_with_json_print_one_json_object(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["error"]["kind"] == "usage" and document["error"]["exit_code"] == 2
    assert message in document["error"]["message"]
    assert message in result.stderr


def test_usage_errors_without_json_print_no_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["select", "a.csv", "q.yaml", "--bogus"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "No such option: --bogus" in result.stderr


def test_compare_fits_80_columns_in_a_pipe(tmp_path: Path) -> None:
    # a process of its own: rich reads COLUMNS when the console is made, once per process
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    command = [
        sys.executable,
        "-m",
        "panelsel",
        "compare",
        str(REGISTRATIONS),
        str(QUOTAS),
        "--delimiter",
        ";",
        "--seed",
        "1",
        "--samples",
        "50",
        "--out",
        str(tmp_path / "c"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    table = lines[: lines.index(next(x for x in lines if x.startswith("÷k/n:")))]
    assert "…" not in result.stdout
    names = ["leximin", "maximin", "nash", "goldilocks", "minimax", "legacy*"]
    assert [x.split()[0] for x in table if x.split()[:1] and x.split()[0] in names] == names
    assert "4 registrant(s) can never be selected" in flat(result.stdout)


# ------------------------------------- item 4: files in the input's format, and workbooks


def _forms_workbook(path: Path) -> Path:
    """The Forms fixture as Excel would save it: a workbook, ids as numbers."""
    import csv

    from openpyxl import Workbook

    text = REGISTRATIONS.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(text.splitlines(keepends=True), delimiter=";"))
    book = Workbook()
    sheet = book.active
    for r, row in enumerate(rows):
        sheet.append([int(c) if r and j == 0 else c for j, c in enumerate(row)])
    book.save(path)
    return path


def test_contact_lists_keep_the_input_delimiter_and_bom(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1"]
    code, _, stderr = run(runner, "select", *args, "--out", str(out))
    assert code == 0, stderr
    for name in ("panel.csv", "remaining.csv"):
        data = (out / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf" + b"ID;Start time;"), name
    assert not (out / "probabilities.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # for programs
    assert b"," in (out / "probabilities.csv").read_bytes().splitlines()[0]
    # a choice of the caller's
    code, _, _ = run(
        runner,
        "select",
        *args,
        "--out",
        str(tmp_path / "c"),
        "--out-delimiter",
        ",",
        "--out-encoding",
        "utf-8",
    )
    assert code == 0
    assert (tmp_path / "c" / "panel.csv").read_bytes().startswith(b"ID,Start time,")
    # and the audit reads them as written
    code, stdout, _ = run(runner, "audit", str(out), str(REGISTRATIONS), str(QUOTAS))
    assert code == 0, stdout


def test_a_workbook_in_and_workbooks_out(runner: CliRunner, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    book = _forms_workbook(tmp_path / "registrations.xlsx")
    out = tmp_path / "out"
    code, stdout, stderr = run(
        runner, "select", str(book), str(QUOTAS), "--seed", "1", "--out", str(out), "--json"
    )
    assert code == 0, stderr
    document = json.loads(stdout)
    assert document["pool_size"] == 46 and document["excluded"][0]["ids"] == PREFERS_NOT
    assert {"panel.xlsx", "remaining.xlsx"} <= set(document["files"])
    panel = load_workbook(out / "panel.xlsx", read_only=True)
    rows = list(panel.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("ID", "Start time") and len(rows) == 11
    assert all(isinstance(row[0], str) for row in rows)  # text cells: "7", never 7.0
    assert (out / "panel.csv").read_bytes().startswith(b"\xef\xbb\xbfID,Start time,")
    code, stdout, _ = run(runner, "audit", str(out), str(book), str(QUOTAS))
    assert code == 0, stdout
    # a workbook edited after the selection is caught
    edited = load_workbook(out / "panel.xlsx")
    edited.worksheets[0]["E2"] = "Someone Else"
    edited.save(out / "panel.xlsx")
    code, stdout, _ = run(runner, "audit", str(out), str(book), str(QUOTAS), "--no-recompute")
    assert code == 5 and "panel.xlsx does not hold what panel.csv holds" in flat(stdout)


def test_workbook_rows_are_its_rows(runner: CliRunner, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    book = _forms_workbook(tmp_path / "registrations.xlsx")
    wb = load_workbook(book)
    wb.worksheets[0]["F30"] = "Other"  # sheet row 30
    wb.save(book)
    code, _, stderr = run(runner, "check", str(book), str(QUOTAS))
    assert code == 2
    assert "row 30, column 'Gender', value 'Other': has no quota" in flat(stderr)


def test_a_public_draw_writes_the_recorded_format(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "pub"
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1", "--xlsx"]
    code, stdout, _ = run(runner, "select", *args, "--out", str(out), "--panels", "30", "--json")
    assert code == 0, stdout
    digest = json.loads(stdout)["lottery_sha256"]
    code, _, stderr = run(
        runner, "draw", str(out / "lottery.json"), "--sha256", digest, "--number", "7"
    )
    assert code == 0, stderr
    assert (out / "panel.csv").read_bytes().startswith(b"\xef\xbb\xbfID;")
    assert (out / "panel.xlsx").is_file() and (out / "remaining.xlsx").is_file()
    code, stdout, _ = run(
        runner, "audit", str(out), str(REGISTRATIONS), str(QUOTAS), "--sha256", digest
    )
    assert code == 0, stdout


def test_a_duplicate_without_an_email_column_is_found_by_its_answers(tmp_path: Path) -> None:
    from panelsel.inputs.pool import drop_duplicates, load_pool

    rows = [
        "ID,Completion time,Name,Gender",
        "1,11/03/26 10:00,Ann Lee,F",
        "2,11/03/26 10:05,Bo Kim,M",
        "3,11/04/26 09:00,ann lee ,F",  # the same person, later, typed a little differently
        "4,11/04/26 09:30,Cy Ray,M",
        "5,11/04/26 09:40,Di Orr,F",
    ]
    path = tmp_path / "pool.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    pool = load_pool(path)
    assert pool.warnings == [
        f"{path}: row 2 (id 1) and row 4 (id 3) look like one person registered 2 times "
        "(every answer the same); each extra registration is an extra chance in the lottery: "
        "remove the extra rows, or pass --drop-duplicates COLUMN naming a column that "
        "identifies a person"
    ]
    assert drop_duplicates(pool, "Name").ids == ["2", "3", "4", "5"]  # the last kept
    assert drop_duplicates(pool, "Name", keep="first").ids == ["1", "2", "4", "5"]
    # rows alike only in their quota answers are different people: no warning
    alike = tmp_path / "alike.csv"
    alike.write_text("id,gender,level\n1,F,PG\n2,F,PG\n3,M,UG\n", encoding="utf-8")
    assert load_pool(alike).warnings == []


# ------------------------------------------------------------------ item 10: small things


@pytest.mark.parametrize("command", ["select", "check", "compare", "draw", "audit"])
def test_help_shows_no_bool_and_has_examples(command: str) -> None:
    wide = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    result = wide.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert "Examples:" in result.stdout and f"panelsel {command} " in result.stdout
    assert "<bool>" not in wide.invoke(app, ["--help"]).stdout


def test_people_and_panels_are_numbered_from_1(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1"]
    code, stdout, _ = run(runner, "select", *args, "--out", str(out))
    assert code == 0
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    index = record["selected"]
    said = flat(stdout)
    assert (
        f"drawn: panel no. {index + 1} (lottery.json numbers it {index}: it counts from 0)" in said
    )
    # who was selected is listed, as the lottery records them
    listed = ", ".join(record["selected_members"])
    assert f"Selected ({len(record['selected_members'])}): {listed}" in said
    # the audit names panels 1-based too: break the first one
    record["panels"][0]["members"] = record["panels"][0]["members"][:-1]
    (out / "lottery.json").write_text(json.dumps(record), encoding="utf-8")
    code, stdout, _ = run(
        runner, "audit", str(out), str(REGISTRATIONS), str(QUOTAS), "--no-recompute", "--json"
    )
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert code == 5 and "panel 1: 9 distinct members, not 10" in checks["panels"]["detail"]


def test_probabilities_are_written_with_six_decimals(runner: CliRunner, tmp_path: Path) -> None:
    import csv

    out = tmp_path / "out"
    args = [str(REGISTRATIONS), str(QUOTAS), "--delimiter", ";", "--seed", "1"]
    code, _, _ = run(runner, "select", *args, "--out", str(out))
    assert code == 0
    with (out / "probabilities.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(re.fullmatch(r"[01]\.\d{6}", r["probability"]) for r in rows), rows[:3]
    assert {r["probability"] for r in rows if r["id"] in PREFERS_NOT} == {"0.000000"}
    # the sum check is kept: on the lottery itself to 1e-9, on the file within its rounding
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert sum(p["probability"] for p in record["panels"]) == pytest.approx(1, abs=1e-9)
    assert sum(float(r["probability"]) for r in rows) == pytest.approx(10, abs=len(rows) * 5e-7)


# --------------------------------------------------------------------- item 11: the README

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_convenors_path() -> None:
    text = README.read_text(encoding="utf-8")
    fences = re.findall(r"```bash\n(.*?)\n```", text, re.S)
    assert fences[0].startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[test]'")
    assert fences[1] == ".venv/bin/python -m pytest"
    # the path comes first, within a screen of the set-up commands
    lines = text.splitlines()
    path = lines.index("## From your spreadsheet to a panel")
    assert path < 30
    for heading in ("### From Microsoft Forms or Excel", "## Commands"):
        assert heading in lines
    for phrase in (
        "--delimiter ';'",
        "multi_value",
        "Prefer not to say",
        "Ids in published lotteries",
        "--drop-duplicates",
    ):
        assert phrase in text, phrase
    assert len(text.split()) < 2000
    # the reference moved to docs/, and every link resolves
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (README.parent / link).is_file(), link
    assert {
        "docs/formats.md",
        "docs/algorithms.md",
        "docs/public-draw.md",
        "docs/benchmarks.md",
    } <= set(re.findall(r"\]\((docs/[^)#]+)", text))


@pytest.mark.parametrize("command", ["select", "check"])
def test_select_and_check_fit_80_columns_in_a_pipe(tmp_path: Path, command: str) -> None:
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    shutil_copy = (tmp_path / "registrations.csv", tmp_path / "quotas.yaml")
    shutil_copy[0].write_bytes(REGISTRATIONS.read_bytes())
    shutil_copy[1].write_bytes(QUOTAS.read_bytes())
    extra = ["--seed", "1", "--out", "o"] if command == "select" else []
    result = subprocess.run(
        [sys.executable, "-m", "panelsel", command, "registrations.csv", "quotas.yaml",
         "--delimiter", ";", *extra],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    assert "can never be selected" in result.stdout and "…" not in result.stdout
