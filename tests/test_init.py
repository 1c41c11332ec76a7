"""``panelsel init`` (issue 31, item 1): a starting quota file from the registrants, which
``check`` and ``select`` accept as written, on the bundled example, a Microsoft Forms export
and a workbook with a title row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from panelsel.cli import app
from panelsel.inputs.quotas import load_quotas

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})


def _said(result: Result) -> str:
    return " ".join(result.output.split())


def _then_check_select_audit(tmp_path: Path, pool: Path, quotas: Path, *extra: str) -> None:
    checked = RUNNER.invoke(app, ["check", str(pool), str(quotas), *extra])
    assert checked.exit_code == 0, checked.output
    out = tmp_path / "run"
    selected = RUNNER.invoke(
        app, ["select", str(pool), str(quotas), *extra, "--seed", "1", "--out", str(out)]
    )
    assert selected.exit_code == 0, selected.output
    audited = RUNNER.invoke(app, ["audit", str(out), str(pool), str(quotas)])
    assert audited.exit_code == 0, audited.output


def test_init_on_the_bundled_example(tmp_path: Path) -> None:
    quotas = tmp_path / "quotas.yaml"
    pool = EXAMPLE / "registrants.csv"
    result = RUNNER.invoke(
        app, ["init", str(pool), "--panel-size", "10", "--out", str(quotas), "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["id_column"] == "student_id" and found["panel_size"] == 10
    kinds = {c["column"]: c["kind"] for c in found["categories"]}
    assert kinds == {"Gender": "category", "Level of study": "category",
                     "Services accessed": "multi"}  # fmt: skip
    assert found["household_columns"] == ["Address", "Postcode"]
    assert {c["column"]: c["why"] for c in found["left_out"]} == {
        "Name": "names", "Email": "e-mail addresses"
    }  # fmt: skip
    text = quotas.read_text(encoding="utf-8")
    assert '"Female": {min: 5, max: 8}   # pool 30 (66.7%)' in text
    assert 'multi_value: ";"' in text and '#   columns: ["Address", "Postcode"]' in text
    spec = load_quotas(quotas)
    assert spec.panel_size == 10 and spec.households is None  # proposed, in comments only
    services = next(c for c in spec.categories if c.name == "Services accessed")
    assert services.multi_value == ";" and len(services.quotas) == 4
    _then_check_select_audit(tmp_path, pool, quotas)
    # the household rule as proposed, uncommented, also works
    lines = text.splitlines()
    at = lines.index("# households:")
    on = "\n".join([*lines[:at], *(line[2:] for line in lines[at : at + 3]), *lines[at + 3 :]])
    (tmp_path / "with-households.yaml").write_text(on, encoding="utf-8")
    assert load_quotas(tmp_path / "with-households.yaml").households is not None
    checked = RUNNER.invoke(app, ["check", str(pool), str(tmp_path / "with-households.yaml")])
    assert checked.exit_code == 0, checked.output
    # never over a file
    again = RUNNER.invoke(app, ["init", str(pool), "--out", str(quotas)])
    assert again.exit_code == 2 and "panelsel init never writes over a file" in _said(again)
    assert quotas.read_text(encoding="utf-8") == text


FORMS_HEADER = [
    "ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
    "What is your gender?", "Age", "Which services have you used?", "Postcode", "Phone",
    "Anything else you would like to tell us?",
]  # fmt: skip


def _forms_export(path: Path, n: int = 120) -> Path:
    genders = ["Woman", "Man", "Woman", "Man", "Non-binary", "Prefer not to say"]
    ages = ["19", "23", "", "31", "38", "44", "prefer not to say", "52", "58", "63", "67", "71",
            "78", "29", "35", "41.0"]  # fmt: skip
    services = ["Counselling;", "Counselling;Wellbeing workshops;", "Disability support;",
                "Mental health advice;Counselling;", "Wellbeing workshops;", ""]  # fmt: skip
    rows = [FORMS_HEADER]
    for i in range(n):
        rows.append([
            str(i + 1), f"12/1/26 10:{i % 60:02d}:00", f"12/1/26 10:{i % 60:02d}:40",
            f"person{i}@example.org", f"Person {i}", f"12/1/26 11:{i % 60:02d}:00",
            genders[i % len(genders)], ages[i % len(ages)], services[i % len(services)],
            f"CT{i % 40} {i % 9}LD", f"+44 7700 900{i:03d}",
            f"line one of answer {i}\nline two" if i % 3 else "",
        ])  # fmt: skip
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_init_on_a_forms_export_with_ages(tmp_path: Path) -> None:
    pool = _forms_export(tmp_path / "forms.csv")
    quotas = tmp_path / "quotas.yaml"
    result = RUNNER.invoke(
        app, ["init", str(pool), "--panel-size", "20", "--out", str(quotas), "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["id_column"] == "ID"
    kinds = {c["column"]: c["kind"] for c in found["categories"]}
    assert kinds == {"What is your gender?": "category", "Age": "bands",
                     "Which services have you used?": "multi"}  # fmt: skip
    age = next(c for c in found["categories"] if c["column"] == "Age")
    assert [b[0] for b in age["bands"]] == ["under 25", "25-34", "35-44", "45-54", "55-64",
                                            "65-74", "75+"]  # fmt: skip
    labels = [v["value"] for v in age["values"]]
    assert "prefer not to say" in labels and "(blank)" in labels
    why = {c["column"]: c["why"] for c in found["left_out"]}
    assert why["Email"] == "e-mail addresses" and why["Name"] == "names"
    assert why["Phone"] == "phone numbers"
    assert why["Start time"] == why["Completion time"] == "dates or times"
    assert why["Anything else you would like to tell us?"].startswith("free text")
    assert found["household_columns"] == ["Postcode"]
    _then_check_select_audit(tmp_path, pool, quotas)


def test_init_on_a_workbook_with_a_title_row_on_its_second_sheet(tmp_path: Path) -> None:
    from .test_workbooks import _trust_workbook

    book = _trust_workbook(tmp_path / "trust.xlsx")
    quotas = tmp_path / "quotas.yaml"
    # without --sheet: the first sheet holds notes, and the message names the sheet to read
    first = RUNNER.invoke(app, ["init", str(book), "--panel-size", "10", "--out", str(quotas)])
    assert first.exit_code == 2 and not quotas.exists()
    assert "the workbook's first sheet ('Read me') holds no table" in _said(first)
    assert "pass --sheet 'Patients'" in _said(first)
    args = ["init", str(book), "--sheet", "Patients", "--panel-size", "10", "--out", str(quotas)]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = _said(result)
    assert "Ids: column 'student_id'." in said
    assert "panelsel check" in said and "--sheet Patients" in said
    assert yaml.safe_load(quotas.read_text(encoding="utf-8"))["id_column"] == "student_id"
    _then_check_select_audit(tmp_path, book, quotas, "--sheet", "Patients")


def test_quotas_the_pool_cannot_meet_together_are_widened_until_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quotas no pool can meet (every holder of every value on the panel) until the slack
    # is infinite: the file written still passes check
    from panelsel.inputs import propose

    def exact(count: int, n: int, k: int, slack: float) -> tuple[int, int]:
        return (0, count) if slack == float("inf") else (count, count)

    monkeypatch.setattr(propose, "bounds", exact)
    quotas = tmp_path / "quotas.yaml"
    pool = EXAMPLE / "registrants.csv"
    result = RUNNER.invoke(
        app, ["init", str(pool), "--panel-size", "7", "--out", str(quotas), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["slack"] == float("inf")
    _then_check_select_audit(tmp_path, pool, quotas)


def test_a_pool_with_nothing_to_make_quotas_of_is_refused(tmp_path: Path) -> None:
    pool = tmp_path / "p.csv"
    pool.write_text(
        "id,Name,Email\n" + "".join(f"r{i},Person {i},p{i}@x.org\n" for i in range(9)),
        encoding="utf-8",
    )
    result = RUNNER.invoke(app, ["init", str(pool), "--out", str(tmp_path / "q.yaml")])
    assert result.exit_code == 2
    assert "no column of the registrants looks like a quota" in _said(result)
    assert not (tmp_path / "q.yaml").exists()
