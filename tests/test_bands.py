"""Bands of a numeric column in the quota file (issue 31, item 2): ages as a web form exports
them, with blanks and "prefer not to say" as values of their own."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from panelsel.cli import app
from panelsel.inputs.quotas import load_quotas

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})

BANDS = """
  age:
    column: Age
    bands:
      16-29: [16, 29]
      30-49: [30, 49]
      50-64: [50, 64]
      65+: [65, null]
    quotas:
      16-29: {min: 1, max: 4}
      30-49: {min: 1, max: 4}
      50-64: {min: 1, max: 4}
      65+: {min: 1, max: 4}
      prefer not to say: {min: 0, max: 2}
      (blank): {min: 0, max: 2}
"""

AGES = ["19", "23", "34.0", "", "prefer not to say", "41", "67", "55", "29", "30", "72", "50"]


def _with_ages(folder: Path, ages: list[str] = AGES) -> tuple[Path, Path]:
    with (EXAMPLE / "registrants.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    rows[0].append("Age")
    for i, row in enumerate(rows[1:]):
        row.append(ages[i % len(ages)])
    pool = folder / "council.csv"
    with pool.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    quotas = folder / "quotas.yaml"
    quotas.write_text((EXAMPLE / "quotas.yaml").read_text(encoding="utf-8").replace(
        "households:", BANDS.strip("\n").replace("\n", "\n", 1) + "\nhouseholds:"
    ).replace("\n  age:", "\n  age:"), encoding="utf-8")  # fmt: skip
    return pool, quotas


def _said(result: Result) -> str:
    return " ".join(result.output.split())


def test_a_banded_age_column_selects_audits_and_replaces(tmp_path: Path) -> None:
    pool, quotas = _with_ages(tmp_path)
    spec = load_quotas(quotas)
    age = next(c for c in spec.categories if c.name == "age")
    assert [b.label for b in age.bands] == ["16-29", "30-49", "50-64", "65+"]
    assert [age.value_of(x) for x in ["16", "29.5", "34.0", " 65 ", "", "n/a", "15"]] == [
        "16-29", None, "30-49", "65+", "(blank)", "n/a", None
    ]  # fmt: skip
    out = tmp_path / "run"
    result = RUNNER.invoke(app, ["select", str(pool), str(quotas), "--seed", "5",
                                 "--out", str(out), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    members = set(record["selected_members"])
    with pool.open(encoding="utf-8", newline="") as f:
        ages = [row["Age"] for row in csv.DictReader(f) if row["student_id"] in members]
    counted = {v: sum(age.value_of(a) == v for a in ages) for v in
               ["16-29", "30-49", "50-64", "65+", "prefer not to say", "(blank)"]}  # fmt: skip
    assert sum(counted.values()) == 10
    assert all(1 <= counted[b] <= 4 for b in ["16-29", "30-49", "50-64", "65+"])
    assert counted["prefer not to say"] <= 2 and counted["(blank)"] <= 2
    audited = RUNNER.invoke(app, ["audit", str(out), str(pool), str(quotas)])
    assert audited.exit_code == 0, audited.output
    # a round after one dropout (the exact quotas leave some dropouts no replacement: exit 3)
    codes = []
    for leaving in record["selected_members"]:
        round_ = tmp_path / f"round-{leaving}"
        replaced = RUNNER.invoke(
            app, ["replace", str(out), "--dropouts", leaving, "--seed", "6", "--out", str(round_)]
        )
        codes.append(replaced.exit_code)
        if replaced.exit_code == 0:
            break
    assert set(codes[:-1]) <= {3} and codes[-1] == 0, codes
    link = json.loads((round_ / "lottery.json").read_text(encoding="utf-8"))["replacement"]
    assert any(q["category"] == "age" for q in link["residual_quotas"])
    assert RUNNER.invoke(app, ["audit", str(round_), str(pool), str(quotas)]).exit_code == 0


@pytest.mark.parametrize(
    "age, message, hint",
    [
        ("15", "value '15': is a number outside every band of category 'age' (16-29: 16 to 29;"
         " 30-49: 30 to 49; 50-64: 50 to 64; 65+: 65 or more)", "widen a band or add one"),
        ("not telling", "value 'not telling': is not a number, so no band of category 'age' "
         "holds it, and it has no quota of its own", "add a quota for 'not telling'"),
    ],
)  # fmt: skip
def test_an_age_no_band_or_quota_holds_names_the_row(
    tmp_path: Path, age: str, message: str, hint: str
) -> None:
    pool, quotas = _with_ages(tmp_path, [*AGES[:6], age, *AGES[7:]])
    result = RUNNER.invoke(app, ["check", str(pool), str(quotas)])
    said = _said(result)
    assert result.exit_code == 2, said
    assert f"council.csv, row 8, column 'Age', {message}" in said
    assert hint in said


def test_a_blank_age_needs_a_quota_for_blanks(tmp_path: Path) -> None:
    pool, quotas = _with_ages(tmp_path)
    quotas.write_text(
        quotas.read_text(encoding="utf-8").replace("      (blank): {min: 0, max: 2}\n", ""),
        encoding="utf-8",
    )
    result = RUNNER.invoke(app, ["check", str(pool), str(quotas)])
    said = _said(result)
    assert result.exit_code == 2
    assert "row 5, column 'Age': is blank, and category 'age' has no quota for blank" in said
    assert "add a quota for '(blank)'" in said


@pytest.mark.parametrize(
    "bands, message",
    [
        ("{a: [16, 30], b: [30, 40]}", "bands 'a' and 'b' of 'age' overlap (a: 16 to 30; b: 30 "
         "to 40)"),
        ("{a: [40, 30]}", "band 'a' of 'age' runs from 40 down to 30"),
        ("{a: [16]}", "band 'a' of 'age' must be [lowest, highest]"),
        ("{a: [null, null]}", "band 'a' of 'age' must be [lowest, highest]"),
        ("{a: [16, 20], c: [21, 30]}", "the band(s) 'c' of 'age' have no quota"),
    ],
)  # fmt: skip
def test_bad_bands_are_refused_with_the_line(tmp_path: Path, bands: str, message: str) -> None:
    quotas = tmp_path / "q.yaml"
    quotas.write_text(
        "panel_size: 2\ncategories:\n  age:\n    column: Age\n"
        f"    bands: {bands}\n    quotas:\n"
        "      a: {min: 0, max: 2}\n      b: {min: 0, max: 2}\n",
        encoding="utf-8",
    )
    result = RUNNER.invoke(app, ["check", str(EXAMPLE / "registrants.csv"), str(quotas)])
    said = _said(result)
    assert result.exit_code == 2, said
    assert message in said
    assert "q.yaml, line" in said


def test_the_relaxed_quota_file_keeps_the_bands(tmp_path: Path) -> None:
    pool, quotas = _with_ages(tmp_path)
    text = quotas.read_text(encoding="utf-8")
    text = text.replace("65+: {min: 1, max: 4}", "65+: {min: 9, max: 9}")
    quotas.write_text(text, encoding="utf-8")
    relaxed = tmp_path / "relaxed.yaml"
    result = RUNNER.invoke(app, ["check", str(pool), str(quotas), "--relaxed-out", str(relaxed)])
    assert result.exit_code == 3, result.output
    spec = load_quotas(relaxed)
    age = next(c for c in spec.categories if c.name == "age")
    assert [(b.label, b.low, b.high) for b in age.bands] == [
        ("16-29", 16, 29), ("30-49", 30, 49), ("50-64", 50, 64), ("65+", 65, None)
    ]  # fmt: skip
    assert RUNNER.invoke(app, ["check", str(pool), str(relaxed)]).exit_code == 0
