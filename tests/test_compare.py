"""``panelsel compare``: the table's figures, its files and its errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app

from .conftest import EXAMPLE

ARGS = [str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("compare") / "o"
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})
    result = runner.invoke(
        app, ["compare", *ARGS, "--out", str(out), "--seed", "2", "--samples", "500", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    table = runner.invoke(
        app, ["compare", *ARGS, "--out", str(out.parent / "t"), "--seed", "2", "--samples", "500"]
    )
    assert table.exit_code == 0, table.stderr
    return out, json.loads(result.stdout), table.stdout


def test_figures_per_algorithm(comparison: tuple[Path, dict, str]) -> None:
    _, summary, _ = comparison
    rows = {a["algorithm"]: a for a in summary["algorithms"]}
    assert list(rows) == ["leximin", "maximin", "nash", "goldilocks", "minimax", "legacy"]
    assert summary["panel_size"] == 10 and summary["pool_size"] == 45
    assert rows["leximin"]["minimum"] == pytest.approx(2 / 13, abs=1e-9)
    assert rows["maximin"]["minimum"] == pytest.approx(2 / 13, abs=1e-9)
    # Nash has the largest geometric mean and pays for it at the bottom
    geo = {a: r["geometric_mean"] for a, r in rows.items()}
    assert geo["nash"] >= max(geo["leximin"], geo["maximin"]) - 1e-9
    assert rows["nash"]["minimum"] < rows["leximin"]["minimum"]
    assert rows["legacy"]["estimated"] is True and rows["leximin"]["estimated"] is False
    # the example's legacy estimates leave ten registrants below half their equal share
    assert rows["leximin"]["below_half_share"] == 0
    assert rows["legacy"]["below_half_share"] > 0
    # Goldilocks keeps the top down at a small cost at the bottom; MINIMAX has the lowest top
    top = {a: r["maximum"] for a, r in rows.items() if a != "legacy"}
    assert rows["goldilocks"]["maximum"] < 0.65 * rows["leximin"]["maximum"]
    assert rows["goldilocks"]["minimum"] > 0.9 * rows["leximin"]["minimum"]
    assert rows["minimax"]["maximum"] <= min(top.values()) + 1e-9
    for r in rows.values():
        assert 0 <= r["gini"] < 1 and r["seconds"] >= 0
        assert r["minimum"] <= r["p10"] <= r["median"] <= r["maximum"]


def test_files(comparison: tuple[Path, dict, str]) -> None:
    out, _, _ = comparison
    assert sorted(p.name for p in out.iterdir()) == [
        ".panelsel",
        "probabilities.csv",
        "report.html",
        "summary.json",
    ]
    with (out / "probabilities.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 45
    for column in ("leximin", "maximin", "nash", "goldilocks", "minimax", "legacy_estimate"):
        assert sum(float(r[column]) for r in rows) == pytest.approx(10, abs=len(rows) * 5e-7)
    assert all(float(r["legacy_ci99_low"]) <= float(r["legacy_estimate"]) for r in rows)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('class="curve"') == 6 and "legacy (estimate)" in page


def test_table(comparison: tuple[Path, dict, str]) -> None:
    _, _, stdout = comparison
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():  # the first table's rows (the manipulation table follows)
        if line.split():
            rows.setdefault(line.split()[0], line.split()[1:])
    assert rows["leximin"][:5] == ["15.4%", "0.69", "15.4%", "77.3%", "3.48"]  # min, ÷k/n,
    assert rows["goldilocks"][3:5] == ["46.7%", "2.10"]  # max, ÷k/n
    assert "legacy*" in rows and "*: Monte-Carlo estimates" in " ".join(stdout.split())
    assert "Monte-Carlo estimates over 500 runs (seed 2)" in stdout


def test_errors(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})
    out = str(tmp_path / "o")
    result = runner.invoke(app, ["compare", *ARGS, "--algorithms", "leximin,magic", "--out", out])
    assert result.exit_code == 2 and "unknown algorithm 'magic'" in result.stderr
    result = runner.invoke(app, ["compare", *ARGS, "--algorithms", ",", "--out", out])
    assert result.exit_code == 2 and "no algorithm to compare" in result.stderr
    assert not (tmp_path / "o").exists()
