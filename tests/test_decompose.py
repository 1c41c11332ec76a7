"""The LP-relaxation bound, its exact decomposition into valid panels, and the fallback."""

from __future__ import annotations

import importlib
import itertools
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from panelsel.errors import SolverError
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.lottery.expand import expand
from panelsel.solve.algorithms.leximin import (
    COLUMN_GENERATION_METHOD,
    RELAXATION_METHOD,
    leximin,
)
from panelsel.solve.backends import SolverConfig
from panelsel.solve.decompose import RATIONAL_TOLERANCE, decompose, rational_counts
from panelsel.solve.relaxation import relaxed_leximin

from .conftest import EXAMPLE
from .test_leximin import TOL, Instance, brute_force_leximin, check_lottery, instances


def _model(inst: Instance, folder: Path, compress: bool = True) -> Model:
    pool, quotas = inst.write(folder)
    spec = load_quotas(quotas)
    return build_model(load_pool(pool, id_column=spec.id_column), spec, compress_types=compress)


# the smallest instance hypothesis found where the relaxation's LEXIMIN is not attainable:
# 1 F + 1 M, 1 PG + 1 UG and exactly one person with service "a" among k = 2 leaves one
# valid panel ({0, 3}), while fractions of people can meet the quotas in many ways
GAP = Instance(
    gender=["F", "F", "M", "M", "F", "F"],
    level=["UG", "PG", "UG", "PG", "PG", "UG"],
    services=[[], [], [], ["a"], [], ["a"]],
    house=[""] * 6,
    k=2,
    quotas={"gender": {"F": (1, 1), "M": (1, 1)}, "level": {"PG": (1, 1), "UG": (1, 1)}},
    max_per_household=None,
)
GAP.quotas["services"] = {"a": (1, 1)}


def test_unattainable_relaxation_falls_back_to_column_generation(tmp_path: Path) -> None:
    model = _model(GAP, tmp_path)
    bound = relaxed_leximin(model, SolverConfig())
    assert bound.probabilities.min() > 0  # fractions of everyone fit the quotas
    result = leximin(model, SolverConfig(), lambda *_: None)
    assert result.method == COLUMN_GENERATION_METHOD
    lottery = expand(model, result)
    marginals = lottery.marginals(model.n)
    np.testing.assert_allclose(marginals, [1, 0, 0, 1, 0, 0], atol=TOL)
    feasible = [p for p in itertools.combinations(range(GAP.n), GAP.k) if GAP.valid(p)]
    assert feasible == [(0, 3)]
    check_lottery(GAP, lottery, marginals)


def test_example_is_solved_by_the_relaxation() -> None:
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    model = build_model(load_pool(EXAMPLE / "registrants.csv", id_column="student_id"), spec)
    result = leximin(model, SolverConfig(), lambda *_: None)
    assert result.method == RELAXATION_METHOD
    assert result.stats["pricing_calls"] == 0
    assert result.weights is not None and result.denominator is not None
    assert int(result.weights.sum()) == result.denominator
    plain = leximin(model, SolverConfig(), lambda *_: None, use_relaxation=False)
    assert plain.method == COLUMN_GENERATION_METHOD
    fast = expand(model, result).marginals(model.n)
    slow = expand(model, plain).marginals(model.n)
    np.testing.assert_allclose(fast, slow, atol=TOL)
    assert sorted(set(np.round(fast, 6))) == pytest.approx(
        [2 / 13, 27 / 143, 266 / 715, 74 / 143, 17 / 22], abs=1e-6
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(min_n=4, max_n=9))
def test_relaxation_bounds_the_leximin_from_above(inst: Instance) -> None:
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    exact = np.sort(brute_force_leximin(inst.n, feasible))
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d), compress=False)
        bound = np.sort(relaxed_leximin(model, SolverConfig()).probabilities)
    # lexicographically: equal up to the first place where the bound is strictly larger
    diff = bound - exact
    first = np.flatnonzero(np.abs(diff) > 1e-6)
    if len(first):
        assert diff[first[0]] > 0, (bound, exact)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(min_n=8, max_n=40))
def test_exact_decompositions_are_valid_and_hit_the_targets(inst: Instance) -> None:
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d))
        targets = relaxed_leximin(model, SolverConfig()).probabilities
        result = decompose(model, targets, np.random.default_rng(0))
        sizes = model.type_sizes
        X, denom = rational_counts(sizes, targets, model.k)
        assert int(X.sum()) == model.k * denom
        for counts in result.panels:  # exact or not, what it returns is valid
            assert not model.count_violations(counts)
        if result.exact:
            assert int(result.weights.sum()) == result.denominator == denom
            assert np.array_equal(result.weights @ result.panels, X)
            realised = (result.weights @ result.panels) / (denom * sizes)
            np.testing.assert_allclose(realised, targets, atol=RATIONAL_TOLERANCE)
            lottery = expand(model, leximin(model, SolverConfig(), lambda *_: None))
            marginals = lottery.marginals(model.n)
            check_lottery(inst, lottery, marginals)
            for t, people in enumerate(model.type_members):
                np.testing.assert_allclose(marginals[people], targets[t], atol=1e-7)


def test_rational_counts_recognise_fractions_and_keep_the_total() -> None:
    sizes = np.array([3, 3, 7])
    targets = np.array([1 / 3, 2 / 3 + 3e-9, 1 / 7])  # LP round-off on the second
    X, denom = rational_counts(sizes, targets, k=4)
    assert denom == 21
    assert X.tolist() == [21, 42, 21]  # 3 * 1/3 * 21, 3 * 2/3 * 21, 7 * 1/7 * 21
    assert Fraction(int(X.sum()), denom) == 4


@pytest.mark.parametrize("fractions", [True, False], ids=["coprime fractions", "fallback"])
def test_rational_counts_keep_the_total_when_the_targets_are_off(fractions: bool) -> None:
    """A fresh CI database found a 40-person, k=30 pool where the total was lost: targets
    read off an LP are off by round-off, and a large common denominator (12 digits there;
    2**30 when no simple fraction matches) scales that error up to many units per type, more
    than the old one-unit-per-type correction could restore."""
    rng = np.random.default_rng(5)
    half = rng.integers(1, 4, size=15)
    if fractions:
        shares = [float(Fraction(int(rng.integers(1, 997)), 997 + 2 * (t % 5))) for t in range(15)]
    else:
        shares = rng.uniform(0.05, 0.95, size=15).tolist()
    # pairs of types of one size with shares p and 1 - p: the seats add up to k exactly
    sizes = np.concatenate([half, half])
    targets = np.array(shares + [1 - p for p in shares])
    k = int(half.sum())
    targets += rng.uniform(-3e-8, 3e-8, size=30)  # an LP's round-off
    X, denom = rational_counts(sizes, targets, k)
    assert denom > 10**9  # a common denominator of many digits
    assert int(X.sum()) == k * denom
    assert np.all(X >= 0) and np.all(sizes * denom >= X)
    realised = X / (denom * sizes)
    assert np.abs(realised - targets).max() < 1e-6


def test_round_robin_expansion_gives_every_member_the_same_share(tmp_path: Path) -> None:
    # one type of 5 people, k = 2 seats: units of 1/5, each member in exactly 2 of 5 panels
    from panelsel.lotteries import TypeLottery

    inst = Instance(
        gender=["F"] * 5,
        level=["PG"] * 5,
        services=[[]] * 5,
        house=[""] * 5,
        k=2,
        quotas={"gender": {"F": (2, 2)}, "level": {"PG": (2, 2)}},
        max_per_household=None,
    )
    model = _model(inst, tmp_path)
    exact = TypeLottery(
        columns=np.array([[2]]),
        probabilities=np.array([1.0]),
        targets=np.array([0.4]),
        weights=np.array([5]),
        denominator=5,
    )
    lottery = expand(model, exact)
    assert [p.tolist() for p in lottery.panels] == [[0, 1], [0, 4], [1, 2], [2, 3], [3, 4]]
    np.testing.assert_allclose(lottery.probabilities, [0.2] * 5)
    np.testing.assert_allclose(lottery.marginals(5), [0.4] * 5)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_bound_reached_by_column_generation_when_no_exact_design(
    monkeypatch: pytest.MonkeyPatch, solver: str
) -> None:
    # without exact designs the quantised designs' panels seed the level-by-level master,
    # and every level stops at the relaxation's bound for it, with no pricing proof
    monkeypatch.setattr("panelsel.solve.decompose.MAX_EXACT_DENOMINATOR", 0)
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    model = build_model(load_pool(EXAMPLE / "registrants.csv", id_column="student_id"), spec)
    result = leximin(model, SolverConfig(solver), lambda *_: None)
    assert result.method == COLUMN_GENERATION_METHOD
    assert result.stats["levels_at_bound"] == result.stats["levels"] >= 1
    plain = leximin(model, SolverConfig(solver), lambda *_: None, use_relaxation=False)
    fast = expand(model, result).marginals(model.n)
    slow = expand(model, plain).marginals(model.n)
    np.testing.assert_allclose(fast, slow, atol=TOL)
    assert fast.sum() == pytest.approx(model.k, abs=1e-9)


def test_interior_first_solve_reaches_the_same_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("panelsel.solve.decompose.MAX_EXACT_DENOMINATOR", 0)
    # (the package exports the function under the module's name: fetch the module itself)
    monkeypatch.setattr(
        importlib.import_module("panelsel.solve.algorithms.leximin"), "INTERIOR_COLUMNS", 0
    )
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    model = build_model(load_pool(EXAMPLE / "registrants.csv", id_column="student_id"), spec)
    result = leximin(model, SolverConfig(), lambda *_: None)
    assert result.method == COLUMN_GENERATION_METHOD
    assert result.stats["levels_at_bound"] == result.stats["levels"]
    lottery = expand(model, result)
    for members in lottery.panels:
        assert not model.panel_violations(members)
    marginals = lottery.marginals(model.n)
    bound = relaxed_leximin(model, SolverConfig()).probabilities
    for t, people in enumerate(model.type_members):
        np.testing.assert_allclose(marginals[people], bound[t], atol=1e-6)


def test_decompose_stops_when_the_deadline_passes() -> None:
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    model = build_model(load_pool(EXAMPLE / "registrants.csv", id_column="student_id"), spec)
    targets = relaxed_leximin(model, SolverConfig()).probabilities
    calls: list[int] = []

    def deadline() -> None:
        calls.append(1)
        raise SolverError("the time limit of 1 s ran out", hint="raise --time-limit")

    with pytest.raises(SolverError, match="time limit"):
        decompose(model, targets, np.random.default_rng(0), deadline=deadline)
    assert calls == [1]
