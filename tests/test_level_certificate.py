"""LEXIMIN's level certificate: every level's weights, recorded in lottery.json and checked
by the audit's own MILP (:func:`panelsel.audit.certificates.leximin_certificate`)."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from panelsel.audit.certificates import leximin_certificate
from panelsel.inputs.model import build_model
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.lottery.compute import level_certificate
from panelsel.lottery.expand import expand
from panelsel.solve.algorithms.leximin import leximin
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import require_feasible

from .test_goldilocks import _audit, stopped_and_worse
from .test_leximin import Instance, brute_force_leximin, instances


def _uniform(inst: Instance, panels: list[tuple[int, ...]]) -> np.ndarray:
    out = np.zeros(inst.n)
    for panel in panels:
        out[list(panel)] += 1.0 / len(panels)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(instances(min_n=6, max_n=11))
def test_every_leximin_lottery_carries_a_certificate_and_a_worse_lottery_fails_it(
    inst: Instance,
) -> None:
    panels = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    if not panels:
        return
    optimum = brute_force_leximin(inst.n, panels)
    with tempfile.TemporaryDirectory() as folder:
        pool_file, quota_file = inst.write(Path(folder))
        spec = load_quotas(quota_file)
        pool = load_pool(pool_file, id_column=spec.id_column)
        model = build_model(pool, spec)
    config = SolverConfig("highs")
    require_feasible(model, config)
    for use_relaxation in (False, True):
        lottery = leximin(model, config, lambda *_: None, use_relaxation=use_relaxation)
        assert lottery.levels is not None
        marginals = expand(model, lottery).marginals(model.n)
        recorded = level_certificate(model, lottery.levels, pool.ids)
        # every registrant is in exactly one level
        members = [m for level in recorded["levels"] for m in level["members"]]
        assert sorted(members) == sorted(pool.ids)
        check = leximin_certificate(model, marginals, recorded, pool.ids)
        assert check is not None and check.passed, check.detail
        at_zero = any(level["value"] == 0 for level in recorded["levels"])
        assert check.figures["levels"] == len(recorded["levels"]) - at_zero
        # the uniform lottery over valid panels is not LEXIMIN (when its profile differs):
        # the same certificate cannot pass for it
        uniform = _uniform(inst, panels)
        if np.abs(np.sort(uniform) - np.sort(optimum)).max() > 1e-4:
            worse = leximin_certificate(model, uniform, recorded, pool.ids)
            assert worse is not None and not worse.passed


def _selected(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    from panelsel.commands.select import select

    from .conftest import EXAMPLE

    out = tmp_path / "run"
    select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=3)
    return out, json.loads((out / "lottery.json").read_text(encoding="utf-8"))


def _write(out: Path, record: dict[str, Any]) -> None:
    (out / "lottery.json").write_text(json.dumps(record), encoding="utf-8")


def test_the_audit_checks_every_level_of_a_leximin_run(runner: object, tmp_path: Path) -> None:
    out, record = _selected(tmp_path)
    levels = record["certificate"]["levels"]
    assert len(levels) == 5
    code, checks = _audit(runner, out, "--no-recompute")
    assert code == 0
    assert str(checks["optimality"]["detail"]).startswith("all 5 LEXIMIN level(s) are proven")
    assert checks["optimality"]["figures"]["levels"] == 5


@pytest.mark.parametrize(
    "forgery, message",
    [
        ("raise a level", "level 2 is recorded at"),
        ("drop a weight", "whom its weights do not cover"),
        ("leave someone out", "is in no level of lottery.json's LEXIMIN certificate"),
        ("weights of another level", "is not proven: its recorded weights bound it only by"),
        ("name a stranger", "who is not in the pool"),
    ],
)
def test_a_forged_level_certificate_fails(
    runner: object, tmp_path: Path, forgery: str, message: str
) -> None:
    out, record = _selected(tmp_path)
    levels = record["certificate"]["levels"]
    if forgery == "raise a level":
        levels[1]["value"] += 0.01
    elif forgery == "drop a weight":
        del levels[1]["weights"][levels[1]["members"][0]]
    elif forgery == "leave someone out":
        levels[-1]["members"].pop()
    elif forgery == "weights of another level":
        levels[1]["weights"] = levels[2]["weights"] | {m: 1.0 for m in levels[1]["members"]}
    else:
        levels[0]["members"].append("nobody")
    _write(out, record)
    code, checks = _audit(runner, out, "--no-recompute")
    assert code == 5 and not checks["optimality"]["passed"]
    assert message in str(checks["optimality"]["detail"])


def test_a_stopped_level_states_a_bound_the_audit_checks(runner: object, tmp_path: Path) -> None:
    out, record = _selected(tmp_path)
    levels = record["certificate"]["levels"]
    # as a run stopped in its third level would record it: two proven levels, then the
    # third's weights with no members and the bound they prove
    third = levels[2]
    record["proven_optimal"] = False
    record["certificate"]["levels"] = [*levels[:2], {**third, "members": []}]
    _write(out, record)
    code, checks = _audit(runner, out, "--no-recompute")
    detail = str(checks["optimality"]["detail"])
    assert code == 5 and not checks["optimality"]["passed"]
    proven = len(levels[0]["members"]) + len(levels[1]["members"])
    assert detail.startswith(
        f"not proven optimal (stopped at its time limit): the first 2 LEXIMIN level(s), "
        f"{proven} registrants, are proven"
    )
    assert detail.endswith(", as lottery.json states")
    bound = float(detail.split("gives them all more than ")[1].split(",")[0])
    assert bound == pytest.approx(third["value"], abs=1e-6)
    # a stated bound below what the weights prove is named
    record["certificate"]["levels"][2]["bound"] = third["value"] - 0.05
    _write(out, record)
    _, checks = _audit(runner, out, "--no-recompute")
    assert "which these weights do not prove" in str(checks["optimality"]["detail"])


def test_a_record_without_levels_is_checked_at_its_first_level(
    runner: object, tmp_path: Path
) -> None:
    # files written before levels were recorded: the MAXIMIN check, as before
    out, record = _selected(tmp_path)
    del record["certificate"]
    _write(out, record)
    code, checks = _audit(runner, out, "--no-recompute")
    assert code == 0
    assert "no lottery gives everyone" in str(checks["optimality"]["detail"])


def test_a_stopped_run_without_a_bound_says_what_is_proven(runner: object, tmp_path: Path) -> None:
    out, record = _selected(tmp_path)
    levels = record["certificate"]["levels"]
    record["proven_optimal"] = False
    record["certificate"]["levels"] = levels[:2]
    _write(out, record)
    code, checks = _audit(runner, out, "--no-recompute")
    detail = str(checks["optimality"]["detail"])
    assert code == 5 and not checks["optimality"]["passed"]
    assert detail.startswith("not proven optimal (stopped at its time limit): the first 2 ")
    assert detail.endswith("lottery.json states no bound for the others")
    # a run that claims to be proven must cover everyone
    record["proven_optimal"] = True
    _write(out, record)
    _, checks = _audit(runner, out, "--no-recompute")
    assert "is in no level of lottery.json's LEXIMIN certificate" in str(
        checks["optimality"]["detail"]
    )


@pytest.mark.parametrize("algorithm", ["maximin", "nash"])
def test_a_stopped_lottery_of_a_method_without_a_stated_bound_says_it_is_stopped(
    runner: object, tmp_path: Path, algorithm: str
) -> None:
    from panelsel.commands.select import select

    from .conftest import EXAMPLE

    out = tmp_path / "run"
    select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=3,
           algorithm=algorithm)  # fmt: skip
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    stopped_and_worse(record)
    _write(out, record)
    code, checks = _audit(runner, out, "--no-recompute")
    assert code == 5 and not checks["optimality"]["passed"]
    assert str(checks["optimality"]["detail"]).startswith(
        "not proven optimal (stopped at its time limit): "
    )
