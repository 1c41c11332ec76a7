"""Large pools: the lottery is published over count vectors of types (issue 13, item 9).

A 20,000-person pool (the example's registrants repeated, each at their own address) would
list 110,112 panels of people; it is published as 25-odd count vectors instead, selected in
about a second, and the audit still checks every person's exact probability, the draw and a
full recomputation."""

from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmarks.generate import repeat_example
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.errors import TimeLimitError
from panelsel.inputs.load import load_inputs
from panelsel.lottery.expand import MAX_LISTED_PANELS, expand, listed_size, members_of

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
QUO = EXAMPLE / "quotas.yaml"


@pytest.fixture(scope="module")
def big_pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repeat_example(tmp_path_factory.mktemp("big") / "pool.csv", 20_000)


@pytest.fixture(scope="module")
def big_run(big_pool: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "o"
    result = RUNNER.invoke(
        app, ["select", str(big_pool), str(QUO), "--seed", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert "count vectors over 29 types" in result.stdout
    return out


def _audit(out: Path, pool: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = RUNNER.invoke(app, ["audit", str(out), str(pool), str(QUO), "--json", *extra])
    return result.exit_code, json.loads(result.stdout)


def test_a_large_pool_is_published_over_types_and_passes_the_audit(
    big_pool: Path, big_run: Path
) -> None:
    _, _, model = load_inputs(big_pool, QUO)
    doc = json.loads((big_run / "lottery.json").read_text(encoding="utf-8"))
    assert "panels" not in doc and len(doc["types"]) == model.n_types == 29
    assert sorted(pid for t in doc["types"] for pid in t) == sorted(
        f"S{i:07d}" for i in range(20_000)
    )
    vectors = doc["count_vectors"]
    assert sum(v["probability"] for v in vectors) == pytest.approx(1, abs=1e-12)
    assert all(sum(c for _, c in v["counts"]) == 10 for v in vectors)
    with (big_run / "probabilities.csv").open(encoding="utf-8", newline="") as f:
        probs = [float(r["probability"]) for r in csv.DictReader(f)]
    assert len(probs) == 20_000 and sum(probs) == pytest.approx(10, abs=20_000 * 5e-7)
    with (big_run / "panel.csv").open(encoding="utf-8", newline="") as f:
        panel = [r["student_id"] for r in csv.DictReader(f)]
    assert sorted(panel) == sorted(doc["selected_members"]) and len(panel) == 10
    assert (big_run / "lottery.json").stat().st_size < 1_000_000  # the listed form was 19 MB
    code, report = _audit(big_run, big_pool)
    assert code == 0 and report["passed"] and report["skipped"] == []
    names = [c["name"] for c in report["checks"]]
    assert {"types", "panels", "canonical order", "selected", "optimality", "recompute"} <= set(
        names
    )
    # every LEXIMIN level is certified, by type number (not by the 20,000 ids)
    levels = doc["certificate"]["levels"]
    assert sorted(t for level in levels for t in level["types"]) == list(range(model.n_types))
    optimality = next(c for c in report["checks"] if c["name"] == "optimality")
    assert optimality["detail"].startswith(f"all {len(levels)} LEXIMIN level(s) are proven")


def _forge(big_run: Path, tmp_path: Path, change: Any) -> Path:
    out = tmp_path / "forged"
    out.mkdir(parents=True)
    for path in big_run.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    change(doc)
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")
    return out


def test_forged_grouped_lotteries_are_caught(big_pool: Path, big_run: Path, tmp_path: Path) -> None:
    def reorder(doc: dict[str, Any]) -> None:
        doc["count_vectors"].reverse()

    def move_someone(doc: dict[str, Any]) -> None:
        doc["types"][1].append(doc["types"][0].pop())  # a person moved to another type

    def other_members(doc: dict[str, Any]) -> None:
        doc["selected_members"][0] = next(
            pid for t in doc["types"] for pid in t if pid not in doc["selected_members"]
        )

    for change, check in (
        (reorder, "canonical order"),
        (move_someone, "types"),
        (other_members, "selected"),
    ):
        out = _forge(big_run, tmp_path / change.__name__, change)
        code, report = _audit(out, big_pool, "--no-recompute")
        failed = {c["name"] for c in report["checks"] if not c["passed"]}
        assert code == 5 and check in failed, (change.__name__, failed)


def test_listed_size_counts_the_panels_expand_lists(tmp_path: Path) -> None:
    from panelsel.lottery.expand import expand_counts
    from panelsel.progress import no_progress
    from panelsel.solve.algorithms import nash
    from panelsel.solve.backends import SolverConfig

    medium = repeat_example(tmp_path / "pool.csv", 4_000)
    for pool in (EXAMPLE / "registrants.csv", medium):
        _, _, model = load_inputs(pool, QUO)
        type_lottery = nash(model, SolverConfig(), no_progress)
        pieces = sum(
            len(expand_counts(model, c, float(p)))
            for c, p in zip(type_lottery.columns, type_lottery.probabilities, strict=True)
            if p > 1e-12
        )
        assert listed_size(model, type_lottery) == pieces
    assert pieces > MAX_LISTED_PANELS  # even 4,000 people would not be listed


def test_the_expansion_honours_the_time_limit() -> None:
    from panelsel.progress import no_progress
    from panelsel.solve.algorithms import nash
    from panelsel.solve.backends import SolverConfig

    _, _, model = load_inputs(EXAMPLE / "registrants.csv", QUO)
    type_lottery = nash(model, SolverConfig(), no_progress)
    calls = []

    def out_of_time() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise TimeLimitError("the time limit ran out")

    with pytest.raises(TimeLimitError):
        expand(model, type_lottery, out_of_time)
    assert len(calls) == 4


class _Enumerator:
    """Stands in for a Generator: returns the next value of a fixed path of choices."""

    def __init__(self, path: tuple[int, ...]) -> None:
        self.path = list(path)

    def integers(self, low: int, high: int) -> int:
        return low + self.path.pop(0)


@pytest.mark.parametrize(("size", "count"), [(4, 2), (5, 3), (6, 1), (5, 4)])
def test_members_of_picks_every_subset_equally_often(size: int, count: int) -> None:
    # exact, by enumerating every path of the partial Fisher-Yates shuffle
    members = [np.arange(10, 10 + size, dtype=np.intp)]
    counts = np.array([count], dtype=np.int64)
    seen: Counter[tuple[int, ...]] = Counter()
    for path in itertools.product(*(range(size - i) for i in range(count))):
        chosen = members_of(counts, members, _Enumerator(path))  # type: ignore[arg-type]
        seen[tuple(chosen.tolist())] += 1
    subsets = list(itertools.combinations(range(10, 10 + size), count))
    assert sorted(seen) == subsets and len(set(seen.values())) == 1


@pytest.mark.parametrize("algorithm", ["goldilocks", "minimax"])
def test_the_audits_own_certificate_search_works_over_types(tmp_path: Path, algorithm: str) -> None:
    """A lottery published over types lists one representative panel per count vector.
    The audit's own Goldilocks/MINIMAX search (used when lottery.json records no
    certificate) ran its LP over those representatives person by person: on this generated
    632-person pool it failed optimal lotteries ("HiGHS Status 15" for Goldilocks, a bound
    69% below the objective for MINIMAX).  Its LP now runs over groups of interchangeable
    people, where a representative stands for all its relabellings."""
    from benchmarks.stress import make_instance

    pool, quotas = make_instance(500021).write(tmp_path)
    out = tmp_path / algorithm
    result = RUNNER.invoke(
        app,
        [
            "select",
            str(pool),
            str(quotas),
            "--algorithm",
            algorithm,
            "--seed",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert "count_vectors" in doc  # published over types
    del doc["certificate"]
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")
    result = RUNNER.invoke(
        app, ["audit", str(out), str(pool), str(quotas), "--json", "--no-recompute"]
    )
    report = json.loads(result.stdout)
    optimality = next(c for c in report["checks"] if c["name"] == "optimality")
    assert result.exit_code == 0 and optimality["passed"], optimality["detail"]
    objective, bound = optimality["figures"]["objective"], optimality["figures"]["bound"]
    assert 0 <= objective - bound <= 1e-5 * objective


def test_a_forged_level_of_a_grouped_lottery_fails(
    big_pool: Path, big_run: Path, tmp_path: Path
) -> None:
    def drop_a_type(doc: dict[str, Any]) -> None:
        doc["certificate"]["levels"][-1]["types"].pop()

    def raise_the_first_level(doc: dict[str, Any]) -> None:
        doc["certificate"]["levels"][0]["value"] += 0.001

    for change, message in (
        (drop_a_type, "is in no level of lottery.json's LEXIMIN certificate"),
        (raise_the_first_level, "level 1 is recorded at"),
    ):
        out = _forge(big_run, tmp_path / change.__name__, change)
        code, report = _audit(out, big_pool, "--no-recompute")
        optimality = next(c for c in report["checks"] if c["name"] == "optimality")
        assert code == 5 and not optimality["passed"]
        assert message in optimality["detail"]
