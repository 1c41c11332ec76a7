"""Goldilocks and MINIMAX against an independent brute force over every valid panel."""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.optimize import linprog, minimize_scalar

from panelsel.lottery.expand import expand
from panelsel.solve.algorithms.goldilocks import GOLDILOCKS_GAP_TOLERANCE, goldilocks
from panelsel.solve.algorithms.minimax import minimax
from panelsel.solve.backends import SolverConfig

from .test_decompose import _model
from .test_leximin import Instance, check_lottery, instances


def smallest_max(inc: np.ndarray, counted: np.ndarray, low: float) -> float | None:
    """min u over lotteries of the panels (columns of ``inc``) with every counted person's
    probability at least ``low`` and everyone's at most ``u`` (scipy's LP); None if none."""
    n, m = inc.shape
    # variables (p_1..p_m, u): min u; inc p - u <= 0; -inc[counted] p <= -low; sum p = 1
    a_ub = np.vstack([np.c_[inc, -np.ones(n)], np.c_[-inc[counted], np.zeros(counted.sum())]])
    b_ub = np.r_[np.zeros(n), -low * np.ones(counted.sum())]
    res = linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.r_[np.ones(m), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    return float(res.fun) if res.status == 0 else None


def brute_force(inst: Instance, a: float, b: float) -> float:
    """min a max pi + b / min pi over every lottery of valid panels, by a one-dimensional
    search over the minimum (the objective is convex in it)."""
    panels = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    inc = np.zeros((inst.n, len(panels)))
    for j, panel in enumerate(panels):
        inc[list(panel), j] = 1
    counted = inc.any(axis=1)
    return search_minimum(lambda low: smallest_max(inc, counted, low), a, b)


def search_minimum(smallest: Callable[[float], float | None], a: float, b: float) -> float:
    """min over ``low`` of ``a u(low) + b / low``, where ``smallest(low)`` is the least
    largest probability given everyone counted at least ``low`` (None if impossible): a
    bisection for the largest feasible ``low``, then a bounded search (convex in it)."""
    if b == 0.0:
        u = smallest(0.0)
        assert u is not None
        return a * u
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if smallest(mid) is None else (mid, hi)

    def f(low: float) -> float:
        u = smallest(low)
        return math.inf if u is None else a * u + b / low

    res = minimize_scalar(f, bounds=(lo * 1e-3, lo), method="bounded", options={"xatol": 1e-12})
    return float(min(res.fun, f(lo)))


def objective(pi: np.ndarray, counted: np.ndarray, a: float, b: float) -> float:
    return a * float(pi.max()) + (b / float(pi[counted].min()) if b else 0.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(min_n=4, max_n=8))
def test_goldilocks_and_minimax_equal_brute_force(inst: Instance) -> None:
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d))
    config = SolverConfig()
    # (the generator draws the quotas around a reference panel: there is always one; the
    # branch for "no panel" could never run)
    assert feasible
    counted = np.zeros(inst.n, dtype=bool)
    counted[[i for p in feasible for i in p]] = True
    for gamma in (1.0, 0.25):
        a, b = inst.n / inst.k, gamma * inst.k / inst.n
        lottery = expand(model, goldilocks(model, config, lambda *_: None, gamma=gamma))
        pi = lottery.marginals(inst.n)
        check_lottery(inst, lottery, pi)
        ours, best = objective(pi, counted, a, b), brute_force(inst, a, b)
        assert ours >= best * (1 - 1e-7)  # no lottery beats the optimum
        assert ours <= best * (1 + 10 * GOLDILOCKS_GAP_TOLERANCE), (ours, best)
    lottery = expand(model, minimax(model, config, lambda *_: None))
    pi = lottery.marginals(inst.n)
    check_lottery(inst, lottery, pi)
    assert float(pi.max()) == pytest.approx(brute_force(inst, 1.0, 0.0), abs=1e-7)


def test_goldilocks_on_the_example_keeps_the_top_down(tmp_path: Path) -> None:
    from panelsel.inputs.load import ReadOptions, load_inputs
    from panelsel.solve.algorithms import leximin

    from .conftest import EXAMPLE

    _, _, model = load_inputs(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", ReadOptions())
    config = SolverConfig()
    lex = expand(model, leximin(model, config, lambda *_: None)).marginals(model.n)
    gold_lottery = goldilocks(model, config, lambda *_: None)
    gold = expand(model, gold_lottery).marginals(model.n)
    top = expand(model, minimax(model, config, lambda *_: None)).marginals(model.n)
    # the trade-off: a little of LEXIMIN's minimum for a much lower maximum
    assert gold.max() < 0.65 * lex.max() and gold.min() > 0.9 * lex.min()
    assert top.max() <= gold.max() + 1e-9 and top.max() >= model.k / model.n
    assert gold.sum() == pytest.approx(model.k, abs=1e-9)
    stats = gold_lottery.stats
    assert stats["goldilocks_gap"] <= GOLDILOCKS_GAP_TOLERANCE
    assert stats["lower_bound"] <= stats["objective"]
    assert stats["objective"] == pytest.approx(
        model.n / model.k * gold.max() + model.k / model.n / gold.min(), rel=1e-9
    )


def _audit(runner: object, folder: Path, *extra: str) -> tuple[int, dict[str, dict[str, object]]]:
    import json

    from typer.testing import CliRunner

    from panelsel.cli import app

    from .conftest import EXAMPLE

    assert isinstance(runner, CliRunner)
    result = runner.invoke(
        app,
        ["audit", str(folder), str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml"),
         "--json", *extra],
    )  # fmt: skip
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    return result.exit_code, checks


@pytest.mark.parametrize("algorithm", ["goldilocks", "minimax"])
def test_select_records_a_certificate_the_audit_checks_and_a_forgery_fails(
    runner: object, tmp_path: Path, algorithm: str
) -> None:
    import json

    from panelsel.commands.select import select

    from .conftest import EXAMPLE

    out = tmp_path / "run"
    select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=3,
           algorithm=algorithm)  # fmt: skip
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert record["algorithm"] == algorithm and set(record["certificate"]) == {"alpha", "beta"}
    assert sum(record["certificate"]["beta"].values()) <= (45 / 10 if algorithm == "goldilocks"
                                                           else 1.0) + 1e-9  # fmt: skip
    if algorithm == "goldilocks":
        assert record["stats"]["gamma"] == 1.0
    code, checks = _audit(runner, out)
    assert code == 0, checks
    assert checks["optimality"]["passed"] and checks["recompute"]["passed"]
    assert "recorded certificate" in str(checks["optimality"]["detail"])
    # move probability from the panel most likely to another: a lottery whose objective is
    # worse fails the optimality check (whatever weights are recorded)
    panels = record["panels"]
    heavy = max(range(len(panels)), key=lambda r: panels[r]["probability"])
    other = (heavy + 1) % len(panels)
    shift = panels[heavy]["probability"] * 0.9
    panels[heavy]["probability"] -= shift
    panels[other]["probability"] += shift
    (out / "lottery.json").write_text(json.dumps(record), encoding="utf-8")
    code, checks = _audit(runner, out, "--no-recompute")
    assert code == 5
    assert not checks["optimality"]["passed"], checks["optimality"]


def test_gamma_is_refused_where_it_means_nothing(runner: object, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from panelsel.cli import app

    from .conftest import EXAMPLE

    assert isinstance(runner, CliRunner)
    args = ["select", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml"),
            "--out", str(tmp_path / "never")]  # fmt: skip
    result = runner.invoke(app, [*args, "--gamma", "2"])
    assert result.exit_code == 2
    assert "--gamma applies to the goldilocks algorithm only" in result.stderr
    for bad in ("0", "5e-324", "1e300", "nan"):  # 5e-324 made Goldilocks act as MINIMAX
        result = runner.invoke(app, [*args, "--algorithm", "goldilocks", "--gamma", bad])
        said = " ".join(result.stderr.split())
        assert result.exit_code == 2 and "--gamma must be a number from 0.0001 to 10000" in said
    assert not (tmp_path / "never").exists()
    result = runner.invoke(app, [*args, "--algorithm", "goldilocks", "--gamma", "4", "--seed",
                                 "1", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    import json

    record = json.loads((tmp_path / "never" / "lottery.json").read_text(encoding="utf-8"))
    assert record["stats"]["gamma"] == 4.0
    # a larger gamma weighs the smallest chance more: it rises, and so may the largest
    # (for optima x1 at gamma 1 and x4 at gamma 4, optimality of each against the other
    # gives (4 - 1) (1/min(x1) - 1/min(x4)) >= 0)
    from panelsel.inputs.load import ReadOptions, load_inputs

    _, _, model = load_inputs(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", ReadOptions())
    one, four = (
        expand(model, goldilocks(model, SolverConfig(), lambda *_: None, gamma=g)).marginals(
            model.n
        )
        for g in (1.0, 4.0)
    )
    assert four.min() >= one.min() - 1e-6 and four.max() >= one.max() - 1e-6
    assert four.min() > one.min() + 1e-3  # here it does rise


def test_goldilocks_published_for_a_public_draw_passes_the_audit(
    runner: object, tmp_path: Path
) -> None:
    import json

    from panelsel.commands.select import select

    from .conftest import EXAMPLE

    out = tmp_path / "pub"
    select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=3,
           algorithm="goldilocks", panels=50)  # fmt: skip
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert len(record["panels"]) == 50 and "certificate" in record
    code, checks = _audit(runner, out)
    assert code == 0 and checks["optimality"]["passed"], checks


def relaxed_brute_force(inst: Instance, a: float, b: float) -> float:
    """min a max x + b / min x over fractional panels x in [0, 1]^n (sum k, every quota,
    the household rule), by person and with scipy only: the LP relaxation's optimum."""
    n = inst.n
    rows: list[np.ndarray] = []
    lo_hi: list[tuple[float, float]] = []
    for cat, values in (("gender", inst.gender), ("level", inst.level)):
        for v, (lo, hi) in inst.quotas[cat].items():
            rows.append(np.array([values[i] == v for i in range(n)], dtype=float))
            lo_hi.append((lo, hi))
    for v, (lo, hi) in inst.quotas.get("services", {}).items():
        rows.append(np.array([v in inst.services[i] for i in range(n)], dtype=float))
        lo_hi.append((lo, hi))
    if inst.max_per_household is not None:
        for h in set(inst.house) - {""}:
            rows.append(np.array([inst.house[i] == h for i in range(n)], dtype=float))
            lo_hi.append((0, inst.max_per_household))
    quota = np.array(rows).reshape(len(rows), n)

    def solve(cost: np.ndarray, low: float, counted: np.ndarray) -> float | None:
        # variables (x_1..x_n, u): quota rows, x - u <= 0, -x[counted] <= -low, sum x = k
        zeros = np.zeros(len(rows))
        a_ub = np.vstack([
            np.c_[quota, zeros],
            np.c_[-quota, zeros],
            np.c_[np.eye(n), -np.ones(n)],
            np.c_[-np.eye(n)[counted], np.zeros(counted.sum())],
        ])  # fmt: skip
        b_ub = np.r_[[h for _, h in lo_hi], [-lo for lo, _ in lo_hi], np.zeros(n),
                     -low * np.ones(counted.sum())]  # fmt: skip
        res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=np.r_[np.ones(n), 0.0][None, :],
                      b_eq=[inst.k], bounds=[(0, 1)] * n + [(None, None)],
                      method="highs")  # fmt: skip
        return float(res.fun) if res.status == 0 else None

    nobody = np.zeros(n, dtype=bool)
    counted = np.array([-(solve(np.r_[-np.eye(n)[i], 0.0], 0.0, nobody) or 0.0) > 1e-9
                        for i in range(n)])  # fmt: skip
    u_cost = np.r_[np.zeros(n), 1.0]
    return search_minimum(lambda low: solve(u_cost, low, counted), a, b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(min_n=4, max_n=8))
def test_the_relaxation_equals_brute_force_and_bounds_every_lottery(inst: Instance) -> None:
    from panelsel.solve.colgen import PricingILP
    from panelsel.solve.relaxation import POSITIVE_TOLERANCE, relaxed_extremes, relaxed_leximin

    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d))
    assert feasible  # the generator's reference panel
    config = SolverConfig()
    # the types in some fractional panel: LEXIMIN gives each a positive share
    fractional = relaxed_leximin(model, config).probabilities > POSITIVE_TOLERANCE
    on_a_panel = {i for p in feasible for i in p}
    counted = np.array([int(model.type_members[t][0]) in on_a_panel for t in range(model.n_types)])
    for a, b in ((inst.n / inst.k, inst.k / inst.n), (1.0, 0.0)):
        r = relaxed_extremes(model, a, b, fractional, config)
        ours = a * r.high + (b / r.low if b else 0.0)
        assert ours == pytest.approx(relaxed_brute_force(inst, a, b), rel=1e-6)
        assert float(r.beta.sum()) <= a + 1e-9 and (r.alpha >= 0).all() and (r.beta >= 0).all()
        # its duals certify a bound on every lottery (the pricing ILP's panel at alpha -
        # beta), counting the types some valid panel holds, as goldilocks does (with the
        # household rule a type can be in fractional panels only)
        r = relaxed_extremes(model, a, b, counted, config)
        ours = a * r.high + (b / r.low if b else 0.0)
        _, value = PricingILP(model, config).best((r.alpha - r.beta) / model.type_sizes)
        bound = 2 * math.sqrt(b * float(r.alpha.sum())) - value
        # weak duality: integer panels reach no more than fractional ones (equal where the
        # relaxation has no gap; the household rule can make one)
        assert bound >= ours * (1 - 1e-7)
        # (the brute force's LPs are solved within scipy's feasibility tolerance, 1e-7: it
        # gave 2.458333067 where the optimum is 59/24 = 2.458333333, so compare at 1e-6)
        assert bound <= brute_force(inst, a, b) * (1 + 1e-6)


def test_the_two_paths_a_pool_without_a_gap_and_one_with(tmp_path: Path) -> None:
    from panelsel.solve.algorithms.goldilocks import GOLDILOCKS_METHOD, RELAXED_METHOD

    from .test_decompose import GAP

    # no gap: everyone alike, the relaxation's k/n for everyone decomposes exactly
    even = Instance(gender=["F", "M"] * 4, level=["PG", "UG", "UG", "PG"] * 2,
                    services=[[]] * 8, house=[""] * 8, k=4,
                    quotas={"gender": {"F": (2, 2), "M": (2, 2)},
                            "level": {"PG": (2, 2), "UG": (2, 2)}},
                    max_per_household=None)  # fmt: skip
    (tmp_path / "even").mkdir()
    (tmp_path / "gap").mkdir()
    model = _model(even, tmp_path / "even")
    result = goldilocks(model, SolverConfig(), lambda *_: None)
    assert result.method == RELAXED_METHOD and result.stats["rounds"] == 0
    assert result.weights is not None and result.denominator is not None  # exact weights
    assert np.allclose(expand(model, result).marginals(8), 0.5, atol=1e-12)
    assert result.stats["goldilocks_gap"] <= GOLDILOCKS_GAP_TOLERANCE
    # a gap: the one valid panel {0, 3}; the relaxation's bound is below the optimum, so
    # column generation decides it, and its bound is the master's, above the relaxation's
    model = _model(GAP, tmp_path / "gap")
    result = goldilocks(model, SolverConfig(), lambda *_: None)
    pi = expand(model, result).marginals(GAP.n)
    assert result.method == GOLDILOCKS_METHOD
    assert np.array_equal(np.flatnonzero(pi > 1e-9), [0, 3]) and np.allclose(pi[[0, 3]], 1.0)
    assert result.stats["relaxation_bound"] < result.stats["lower_bound"]
    assert result.stats["lower_bound"] == pytest.approx(GAP.n / GAP.k + GAP.k / GAP.n, rel=1e-6)


def test_a_best_effort_goldilocks_lottery_says_how_far_from_optimal_it_may_be() -> None:
    from panelsel.outputs.tables import proven_note

    stats = {"objective": 3.0585711, "lower_bound": 2.4676186, "goldilocks_gap": 0.1932119}
    assert proven_note(stats) == (
        "its goldilocks objective 3.058571 is at most 19.32% above the optimum's "
        "(certified lower bound 2.467619)"
    )
    assert proven_note({**stats, "goldilocks_gap": math.inf}) is None  # nothing certified yet
    assert proven_note({"gamma": 1.0}) is None


def stopped_and_worse(record: dict[str, Any]) -> None:
    """``record`` (a lottery.json) as a run stopped early writes it: not proven optimal,
    with a worse lottery (half the heaviest panel's probability moved to the next)."""
    record["proven_optimal"] = False
    panels = record["panels"]
    heavy = max(range(len(panels)), key=lambda r: panels[r]["probability"])
    shift = panels[heavy]["probability"] * 0.5
    panels[heavy]["probability"] -= shift
    panels[(heavy + 1) % len(panels)]["probability"] += shift


def test_the_audit_checks_what_a_best_effort_lottery_claims(runner: object, tmp_path: Path) -> None:
    import json

    from panelsel.commands.select import select

    from .conftest import EXAMPLE

    out = tmp_path / "run"
    select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=3,
           algorithm="goldilocks")  # fmt: skip
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    bound = record["stats"]["lower_bound"]
    # as a run stopped early would write it: not proven, a worse lottery, the bound it had
    stopped_and_worse(record)
    (out / "lottery.json").write_text(json.dumps(record), encoding="utf-8")
    code, checks = _audit(runner, out, "--no-recompute")
    detail = str(checks["optimality"]["detail"])
    assert code == 5 and not checks["optimality"]["passed"]
    assert detail.startswith("not proven optimal (stopped at its time limit)")
    assert f"objective below {bound:.9f}" in detail and detail.endswith(", as lottery.json states")
    gap = float(detail.split("at most ")[1].split("%")[0])
    assert gap > 0.1  # the shifted lottery is worse, by the share stated
    # a claimed bound the recorded weights do not prove is named
    record["stats"]["lower_bound"] = bound + 0.5
    (out / "lottery.json").write_text(json.dumps(record), encoding="utf-8")
    _, checks = _audit(runner, out, "--no-recompute")
    assert f"states a lower bound of {bound + 0.5:.9f}, which these weights do not prove" in str(
        checks["optimality"]["detail"]
    )
    # and without recorded weights there is nothing to check the claim with
    del record["certificate"]
    (out / "lottery.json").write_text(json.dumps(record), encoding="utf-8")
    _, checks = _audit(runner, out, "--no-recompute")
    assert "records no certificate" in str(checks["optimality"]["detail"])
