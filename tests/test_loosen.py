"""Replacements that can be made (issue 31, item 6): a round whose seats the quotas cannot
fill shows the smallest loosening, and takes it with ``--loosen``, recorded in the round and
checked and shown by the audit and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from panelsel.cli import app

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
REG, QUO = str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")


def _said(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("loosen") / "r1"
    result = RUNNER.invoke(app, ["select", REG, QUO, "--seed", "12345", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _round(first: Path, out: Path, *extra: str) -> Result:
    # S1008 leaves a seat only a male postgraduate in mental health advice could fill, and
    # nobody still available is all three
    return RUNNER.invoke(
        app, ["replace", str(first), "--dropouts", "S1008", "--seed", "7", "--out", str(out),
              *extra],
    )  # fmt: skip


def _audit(out: Path) -> tuple[int, dict[str, Any]]:
    result = RUNNER.invoke(app, ["audit", str(out), REG, QUO, "--json"])
    return result.exit_code, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_an_unfillable_round_says_the_smallest_loosening(first: Path, tmp_path: Path) -> None:
    result = _round(first, tmp_path / "r2")
    said = _said(result)
    assert result.exit_code == 3
    assert "the 1 seat(s) cannot be filled within the quotas: the 9 kept members" in said
    assert "blocking: gender = Male ≥ 1, level = Undergraduate ≤ 0 and services = Mental " \
        "health advice ≥ 1 cannot all hold together with 1 seat" in said  # fmt: skip
    assert "the smallest loosening that fills them: services = Mental health advice: min " \
        "1 → 0" in said  # fmt: skip
    assert "pass --loosen to take that loosening" in said
    assert not (tmp_path / "r2").exists()


def test_loosen_takes_it_records_it_and_the_audit_and_report_show_it(
    first: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r2"
    result = _round(first, out, "--loosen")
    assert result.exit_code == 0, result.output
    assert "this round loosened the quotas (--loosen)" in _said(result)
    link = json.loads((out / "lottery.json").read_text(encoding="utf-8"))["replacement"]
    assert link["loosened"] == [
        {"category": "services", "value": "Mental health advice", "old_min": 1, "old_max": 8,
         "new_min": 0, "new_max": 8}
    ]  # fmt: skip
    report = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "Quotas not met, as this round loosened them (replace --loosen, recorded in "
        "lottery.json): services=Mental health advice: 2 not in [3, 10]. This round loosened "
        "the quotas (--loosen), by the smallest change that fills the seats: services = "
        "Mental health advice"
    ) in report
    code, checks = _audit(out)
    assert code == 0
    assert checks["replacement"]["detail"].endswith(
        "meets the original quotas and household rule, loosened as the round records "
        "(services = Mental health advice: min 3 → 2)"
    )


@pytest.mark.parametrize(
    "forgery, message",
    [
        ("more", "more than the smallest that fills the seats (1)"),
        ("not a loosening", "is malformed (not a loosening)"),
        ("gone", "the final panel breaks the original quotas"),
    ],
)
def test_a_forged_loosening_fails_the_audit(
    first: Path, tmp_path: Path, forgery: str, message: str
) -> None:
    out = tmp_path / "r2"
    assert _round(first, out, "--loosen").exit_code == 0
    document = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    loosened = document["replacement"]["loosened"]
    if forgery == "more":
        loosened[0]["new_max"] = 9
    elif forgery == "not a loosening":
        loosened[0]["new_min"] = 2
    else:
        del document["replacement"]["loosened"]
    (out / "lottery.json").write_text(json.dumps(document), encoding="utf-8")
    code, checks = _audit(out)
    assert code == 5 and not checks["replacement"]["passed"]
    assert message in checks["replacement"]["detail"]


def test_a_loosening_a_round_did_not_need_fails_the_audit(first: Path, tmp_path: Path) -> None:
    out = tmp_path / "r2"
    result = RUNNER.invoke(
        app, ["replace", str(first), "--dropouts", "S1003", "--seed", "7", "--out", str(out),
              "--loosen"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert "loosened" not in document["replacement"]  # --loosen takes nothing it needs not
    held = document["replacement"]["residual_quotas"][0]
    document["replacement"]["loosened"] = [
        {"category": held["category"], "value": held["value"],
         "old_min": held["residual_min"], "old_max": held["residual_max"],
         "new_min": 0, "new_max": held["residual_max"]}
    ]  # fmt: skip
    (out / "lottery.json").write_text(json.dumps(document), encoding="utf-8")
    code, checks = _audit(out)
    assert code == 5
    assert (
        "loosened its quotas although they could be met as they were"
        in (checks["replacement"]["detail"])
    )
