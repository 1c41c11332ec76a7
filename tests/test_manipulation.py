"""``compare --coalition``: the manipulation test reruns the algorithm on misreported pools."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.inputs.load import ReadOptions, load_inputs
from panelsel.inputs.model import build_model
from panelsel.lottery.expand import expand
from panelsel.lottery.manipulation import (
    candidate_reports,
    choose_coalition,
    manipulation_test,
    misreported,
)
from panelsel.solve.algorithms import leximin
from panelsel.solve.backends import SolverConfig

from .conftest import EXAMPLE


def probabilities_of(model: object) -> np.ndarray:
    return expand(model, leximin(model, SolverConfig(), lambda *_: None)).marginals(model.n)  # type: ignore[arg-type]


def test_the_coalition_its_reports_and_its_gain() -> None:
    spec, pool, model = load_inputs(
        EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", ReadOptions()
    )
    honest = probabilities_of(model)
    rows = choose_coalition(model, pool, 2)
    # of the most common answers (counted here from the file)
    with (EXAMPLE / "registrants.csv").open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.DictReader(f))
    answers = [(r["Gender"], r["Level of study"], r["Services accessed"]) for r in records]
    common = Counter(answers).most_common(1)[0][0]
    assert all(answers[r] == common for r in rows)
    reports = candidate_reports(model, spec, honest, 4)
    # the scarcest first: Male (min 5 of 15 registrants), Postgraduate (6 of 19), and the
    # service with the fewest registrants for its minimum, Disability support (3 of 11)
    assert reports[0] == {
        "gender": "Male", "level": "Postgraduate", "services": "Disability support"
    }  # fmt: skip
    assert len(reports) == 4 and len({json.dumps(r) for r in reports}) == 4
    result = manipulation_test("leximin", pool, spec, model, honest, probabilities_of, 2, 4)
    assert result.coalition == [pool.ids[r] for r in rows]
    assert result.honest == pytest.approx(honest[rows].mean())
    # each attempt's probability is the rerun's, recomputed here on the changed pool
    for attempt in result.attempts:
        changed = misreported(pool, spec, rows, attempt.report)
        for r in rows:
            for cat in spec.categories:
                assert (
                    changed.rows[r][changed.find_column(cat.column, purpose="t")]
                    == (attempt.report[cat.name])
                )
        again = probabilities_of(build_model(changed, spec, values_must_exist=False))
        assert attempt.probability == pytest.approx(float(again[rows].mean()), abs=1e-9)
    best = result.best
    assert best is not None and best.probability is not None
    assert best.probability > 2 * result.honest  # lying pays under LEXIMIN here


def test_compare_writes_the_test_and_can_skip_it(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
    args = ["compare", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml"),
            "--algorithms", "leximin,goldilocks"]  # fmt: skip
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a"), "--json"])
    assert result.exit_code == 0, result.stderr
    tests = json.loads(result.stdout)["manipulation"]
    assert [t["algorithm"] for t in tests] == ["leximin", "goldilocks"]
    assert all(len(t["coalition"]) == 1 for t in tests)  # 1% of 45, at least 1
    assert all(t["manipulated_probability"] >= max(0.0, t["honest_probability"]) for t in tests)
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--coalition", "0"])
    assert result.exit_code == 0 and "Manipulation test" not in result.stdout
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "c"), "--coalition", "-1"])
    assert result.exit_code == 2 and "--coalition must be 0 or more" in result.stderr
