"""``panelsel audit``: a clean selection passes, and every kind of tampering is caught."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.audit import audit
from panelsel.commands.select import select

from .conftest import EXAMPLE
from .test_leximin import Instance, instances

REGISTRANTS = EXAMPLE / "registrants.csv"
QUOTAS = EXAMPLE / "quotas.yaml"


@pytest.fixture(scope="module")
def selections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One selection per algorithm on the example, made once."""
    base = tmp_path_factory.mktemp("selections")
    out = {}
    for algorithm in ("leximin", "maximin", "nash", "legacy"):
        select(REGISTRANTS, QUOTAS, out=base / algorithm, seed=11, algorithm=algorithm, samples=300)
        out[algorithm] = base / algorithm
    return out


@pytest.fixture
def copy(selections: dict[str, Path], tmp_path: Path) -> Any:
    def _copy(algorithm: str = "leximin") -> Path:
        target = tmp_path / algorithm
        shutil.copytree(selections[algorithm], target)
        return target

    return _copy


def _failed(out: Path, quotas: Path = QUOTAS) -> dict[str, str]:
    report = audit(out, REGISTRANTS, quotas)
    assert not report.passed
    return {c.name: c.detail for c in report.checks if not c.passed}


def _load(out: Path) -> dict[str, Any]:
    return json.loads((out / "lottery.json").read_text(encoding="utf-8"))


def _save(out: Path, document: dict[str, Any]) -> None:
    (out / "lottery.json").write_text(json.dumps(document), encoding="utf-8")


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.mark.parametrize("algorithm", ["leximin", "maximin", "nash", "legacy"])
def test_clean_selection_passes(selections: dict[str, Path], algorithm: str) -> None:
    report = audit(selections[algorithm], REGISTRANTS, QUOTAS)
    symmetry = [] if algorithm == "legacy" else ["type symmetry"]
    assert [c.name for c in report.checks] == [
        "files",
        "inputs",
        "method",
        "panels",
        "canonical order",
        "probabilities",
        "marginals",
        "selected",
        *symmetry,
        "optimality",
        "recompute",
    ]
    assert report.passed, [c.detail for c in report.checks if not c.passed]
    assert report.skipped == [] and "entry for entry" in report.checks[-1].detail
    optimality = report.checks[-2]
    if algorithm in ("leximin", "maximin"):
        assert optimality.figures["minimum"] == pytest.approx(2 / 13, abs=1e-9)
        assert optimality.figures["bound"] == pytest.approx(2 / 13, abs=1e-6)
    elif algorithm == "nash":
        assert optimality.figures["gap"] <= 1e-6
    else:
        assert "not applicable" in optimality.detail


def test_changed_panel_probability_fails(copy: Any) -> None:
    out = copy()
    doc = _load(out)
    doc["panels"][3]["probability"] += 0.01
    _save(out, doc)
    failed = _failed(out)
    assert "sum to 1.01" in failed["probabilities"]
    assert "probabilities.csv says" in failed["marginals"]


def test_changed_probability_in_csv_names_the_registrant(copy: Any) -> None:
    out = copy()
    rows = _rows(out / "probabilities.csv")
    rows[5][1] = str(float(rows[5][1]) + 0.001)
    _write_rows(out / "probabilities.csv", rows)
    failed = _failed(out)
    assert set(failed) == {"marginals"}
    assert f"id {rows[5][0]!r}" in failed["marginals"]


def test_swapped_member_in_panel_csv_fails(copy: Any) -> None:
    out = copy()
    panel = _rows(out / "panel.csv")
    remaining = _rows(out / "remaining.csv")
    dropped, added = panel[1], remaining[1]
    panel[1] = added
    _write_rows(out / "panel.csv", panel)
    failed = _failed(out)
    assert set(failed) == {"selected"}
    assert f"in panel.csv only: ['{added[0]}']" in failed["selected"]
    assert f"missing from panel.csv: ['{dropped[0]}']" in failed["selected"]


def test_swapped_member_in_lottery_breaks_a_quota(copy: Any) -> None:
    out = copy()
    doc = _load(out)
    with REGISTRANTS.open(encoding="utf-8") as f:
        gender = {r["student_id"]: r["Gender"] for r in csv.DictReader(f)}
    members = doc["panels"][0]["members"]
    female = next(m for m in members if gender[m] == "Female")
    male = next(m for m in gender if gender[m] == "Male" and m not in members)
    members[members.index(female)] = male
    _save(out, doc)
    failed = _failed(out)
    assert "panel 1: gender=Female has 4, quota 5–5" in failed["panels"]
    assert "optimality" in failed  # not certified when the lottery itself is broken


def test_edited_quota_fails(copy: Any, tmp_path: Path) -> None:
    out = copy()
    edited = tmp_path / "quotas.yaml"
    text = QUOTAS.read_text(encoding="utf-8")
    assert "min: 3" in text
    edited.write_text(text.replace("min: 3", "min: 4", 1), encoding="utf-8")
    failed = _failed(out, edited)
    assert "quotas file is not the one the selection used" in failed["inputs"]
    assert "has 3, quota 4–10" in failed["panels"]


def test_edited_seed_fails(copy: Any) -> None:
    out = copy()
    doc = _load(out)
    doc["seed"] = 12
    _save(out, doc)
    failed = _failed(out)
    assert set(failed) == {"selected", "recompute"}
    assert "seed 12 draws" in failed["selected"]
    assert "the rerun draws 'selected'" in failed["recompute"]


def test_legacy_edited_seed_fails(copy: Any) -> None:
    out = copy("legacy")
    doc = _load(out)
    doc["seed"] = 12
    _save(out, doc)
    failed = _failed(out)
    assert "the legacy procedure's first run" in failed["selected"]


def test_suboptimal_lottery_claiming_leximin_fails_the_certificate(copy: Any) -> None:
    # the Nash lottery is valid and consistent but its minimum is below LEXIMIN's 2/13
    out = copy("nash")
    doc = _load(out)
    doc["algorithm"] = "leximin"
    _save(out, doc)
    failed = _failed(out)
    assert set(failed) == {"optimality", "recompute"}
    assert "gives everyone at least 0.153846" in failed["optimality"]
    assert "differ from the rerun's" in failed["recompute"]


def test_single_panel_lottery_fails_the_certificate(copy: Any) -> None:
    # one panel with certainty: everything consistent, but the others get 0 needlessly
    out = copy()
    doc = _load(out)
    chosen = doc["panels"][doc["selected"]]
    doc["panels"], doc["selected"] = [{"members": chosen["members"], "probability": 1.0}], 0
    _save(out, doc)
    rows = _rows(out / "probabilities.csv")
    for row in rows[1:]:
        row[1] = "1" if row[0] in chosen["members"] else "0"
    _write_rows(out / "probabilities.csv", rows)
    failed = _failed(out)
    assert set(failed) == {"optimality", "type symmetry", "recompute"}
    # the recorded level certificate says who should have had 0.1538 at least
    assert failed["optimality"].startswith("level 1 is recorded at 0.153846154, but the lottery")
    assert failed["optimality"].endswith(" only 0.000000000")
    # without it (a file of an earlier version, or one the forger stripped), the MAXIMIN
    # check finds a registrant at 0 whom a valid panel contains
    del doc["certificate"]
    _save(out, doc)
    failed = _failed(out)
    assert set(failed) == {"optimality", "type symmetry", "recompute"}
    assert "although a valid panel contains them" in failed["optimality"]


def test_cli_exit_codes(selections: dict[str, Path], copy: Any, tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})
    args = [str(REGISTRANTS), str(QUOTAS)]
    result = runner.invoke(app, ["audit", str(selections["leximin"]), *args])
    assert result.exit_code == 0, result.stdout
    assert "Audit passed: all 11 checks" in result.stdout
    out = copy()
    doc = _load(out)
    doc["panels"][0]["probability"] = -0.5
    _save(out, doc)
    result = runner.invoke(app, ["audit", str(out), *args, "--json"])
    assert result.exit_code == 5
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert {c["name"] for c in report["checks"] if not c["passed"]} >= {"probabilities"}
    result = runner.invoke(app, ["audit", str(tmp_path / "nowhere"), *args])
    assert result.exit_code == 2
    assert "lottery.json" in result.stderr and "Traceback" not in result.stderr


def test_pool_without_ids_with_identical_rows(tmp_path: Path) -> None:
    # ids are row numbers, which panel.csv does not carry: rows are matched as a multiset
    from .conftest import write_csv

    pool = write_csv(
        tmp_path / "p.csv", ["g"], [["F"], ["F"], ["F"], ["M"], ["M"], ["M"], ["M"], ["F"]]
    )
    quotas = tmp_path / "q.yaml"
    quotas.write_text("panel_size: 4\ncategories:\n  g: {quotas: {F: 2, M: 2}}\n", encoding="utf-8")
    select(pool, quotas, out=tmp_path / "o", seed=3)
    assert audit(tmp_path / "o", pool, quotas).passed
    rows = _rows(tmp_path / "o" / "panel.csv")
    rows[1] = ["F"] if rows[1] == ["M"] else ["M"]
    _write_rows(tmp_path / "o" / "panel.csv", rows)
    report = audit(tmp_path / "o", pool, quotas)
    assert [c.name for c in report.checks if not c.passed] == ["selected"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(min_n=10, max_n=30), seed=st.integers(0, 2**32))
def test_random_selections_pass_the_audit(inst: Instance, seed: int) -> None:
    # end to end on random pools: every lottery algorithm's output passes every check,
    # including the independent optimality certificates
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        for algorithm in ("leximin", "maximin", "nash"):
            out = Path(d) / algorithm
            select(pool, quotas, out=out, seed=seed, algorithm=algorithm)
            report = audit(out, pool, quotas)
            assert report.passed, (algorithm, [c.detail for c in report.checks if not c.passed])


def test_certificate_by_column_generation_when_the_relaxation_is_not_enough(
    selections: dict[str, Path], copy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without the relaxation's bound the certificate comes from dual weights over people
    # and the MILP, adding panels until no panel beats the lottery's minimum
    import panelsel.audit.certificates as module

    monkeypatch.setattr(module, "relaxation_bound", lambda *_: None)
    # (a LEXIMIN run records its levels' weights and is checked by them instead:
    # tests/test_level_certificate.py; a LEXIMIN file without them comes here too)
    leximin_without_levels = copy("leximin")
    doc = _load(leximin_without_levels)
    del doc["certificate"]
    _save(leximin_without_levels, doc)
    for folder in (selections["maximin"], leximin_without_levels):
        report = audit(folder, REGISTRANTS, QUOTAS)
        assert report.passed, [c.detail for c in report.checks if not c.passed]
        optimality = next(c for c in report.checks if c.name == "optimality")
        assert "dual weights over" in optimality.detail
        assert optimality.figures["bound"] == pytest.approx(2 / 13, abs=1e-6)
    out = copy("nash")
    doc = _load(out)
    doc["algorithm"] = "maximin"
    _save(out, doc)
    failed = _failed(out)
    assert set(failed) == {"optimality", "recompute"}
    assert "gives everyone at least 0.153846" in failed["optimality"]
    assert "differ from the rerun's" in failed["recompute"]
