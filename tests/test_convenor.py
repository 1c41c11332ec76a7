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
    assert "rounding to 2 numbered panels left them out" in left_out[0]["reason"]


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
    table = lines[: lines.index(next(x for x in lines if x.startswith("geo:")))]
    assert all(len(line) <= 80 for line in table), [x for x in table if len(x) > 80]
    assert "…" not in result.stdout
    names = ["leximin", "maximin", "nash", "legacy*"]
    assert [x.split()[0] for x in table if x.split()[:1] and x.split()[0] in names] == names
    assert "4 registrant(s) can never be selected" in flat(result.stdout)
