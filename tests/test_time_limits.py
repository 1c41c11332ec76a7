"""--time-limit and --best-effort: exit 4 without it, a marked lottery with it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.audit import audit
from panelsel.errors import TimeLimitError
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.solve.algorithms import ALGORITHMS, maximin
from panelsel.solve.backends import SolverConfig
from panelsel.solve.colgen import BEST_EFFORT_METHOD
from panelsel.solve.protocol import Algorithm, AlgorithmResult, Incumbent, Request

from .conftest import EXAMPLE

ARGS = [str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")]
RUNNER = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})


def _model() -> Model:
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    return build_model(load_pool(EXAMPLE / "registrants.csv", id_column=spec.id_column), spec)


def test_column_generation_offers_valid_incumbents() -> None:
    # every master solve leaves a builder of its lottery: valid panels, probabilities sum 1
    model = _model()
    incumbent = Incumbent()
    maximin(model, SolverConfig(), lambda *_: None, incumbent=incumbent)
    lottery = incumbent.best()
    assert lottery is not None
    assert lottery.method == BEST_EFFORT_METHOD
    assert lottery.probabilities.sum() == pytest.approx(1.0)
    for counts in lottery.columns:
        assert model.count_violations(counts) == []
    # the per-type targets are the lottery's own probabilities, and they fill k seats
    shares = lottery.probabilities @ (lottery.columns / model.type_sizes)
    np.testing.assert_allclose(lottery.targets, shares, atol=1e-12)
    assert (lottery.targets * model.type_sizes).sum() == pytest.approx(model.k, abs=1e-9)


@pytest.fixture
def times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEXIMIN that finds MAXIMIN's lottery, offers it, then runs out of time."""
    leximin_times_out(monkeypatch)


def leximin_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace LEXIMIN in the registry by one that finds MAXIMIN's lottery, offers it,
    then runs out of time (no clock involved)."""

    def slow(
        model: Model,
        config: SolverConfig,
        progress: object,
        incumbent: Incumbent,
        request: Request,
    ) -> AlgorithmResult:
        found = maximin(model, config, lambda *_: None)
        found.method = BEST_EFFORT_METHOD
        incumbent.offer(lambda: found)
        raise TimeLimitError("the time limit of 5 s ran out in the LEXIMIN master LP")

    monkeypatch.setitem(ALGORITHMS, "leximin", Algorithm("leximin", True, "maximin", slow))


def test_without_best_effort_the_time_limit_exits_4(times_out: None, tmp_path: Path) -> None:
    result = RUNNER.invoke(
        app, ["select", *ARGS, "--time-limit", "5", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 4
    assert "Time limit" in result.stderr and "ran out in the LEXIMIN master LP" in result.stderr
    assert not (tmp_path / "o").exists()


def test_best_effort_marks_every_output(times_out: None, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = RUNNER.invoke(
        app,
        ["select", *ARGS, "--time-limit", "5", "--best-effort", "--out", str(out), "--seed", "3"],
    )
    assert result.exit_code == 0, result.stderr
    assert "NOT PROVEN OPTIMAL" in " ".join(result.stdout.split())
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert doc["proven_optimal"] is False and doc["notes"][0].startswith("NOT PROVEN OPTIMAL")
    assert doc["stats"]["method"] == BEST_EFFORT_METHOD
    with (out / "probabilities.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["proven_optimal"] for r in rows} == {"0"}
    assert sum(float(r["probability"]) for r in rows) == pytest.approx(
        10, abs=len(rows) * 5e-7
    )  # 6 decimals
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="warning"' in page and "NOT PROVEN OPTIMAL" in page
    as_json = RUNNER.invoke(
        app,
        [
            "select",
            *ARGS,
            "--time-limit",
            "5",
            "--best-effort",
            "--out",
            str(tmp_path / "j"),
            "--json",
        ],
    )
    assert json.loads(as_json.stdout)["proven_optimal"] is False
    # the lottery it used is still a valid, consistent lottery
    report = audit(out, *ARGS)
    assert {c.name for c in report.checks if not c.passed} <= {"optimality"}


def test_best_effort_needs_a_time_limit(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["select", *ARGS, "--best-effort", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--best-effort needs --time-limit" in result.stderr


def test_legacy_best_effort_keeps_the_runs_done(tmp_path: Path) -> None:
    # a limit far too short for 10^9 runs: the estimate uses the runs made by then
    out = tmp_path / "o"
    result = RUNNER.invoke(
        app,
        [
            "select",
            *ARGS,
            "--algorithm",
            "legacy",
            "--samples",
            "1000000000",
            "--time-limit",
            "1",
            "--best-effort",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["proven_optimal"] is False
    runs = summary["stats"]["samples"]
    assert 0 < runs < 1_000_000_000
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert doc["samples"] == runs
