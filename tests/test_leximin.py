"""LEXIMIN against an independent brute force, and properties on random pools."""

from __future__ import annotations

import csv
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from panelsel.errors import InfeasibleQuotasError
from panelsel.inputs.model import build_model
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.lotteries import Lottery
from panelsel.lottery.expand import draw, expand
from panelsel.solve.algorithms import leximin, maximin
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import require_feasible

from .conftest import BENCHDATA, write_csv

TOL = 1e-6


@dataclass
class Instance:
    """A random pool with quotas that some reference panel meets, so it is feasible."""

    gender: list[str]
    level: list[str]
    services: list[list[str]]
    house: list[str]
    k: int
    quotas: dict[str, dict[str, tuple[int, int]]]
    max_per_household: int | None

    @property
    def n(self) -> int:
        return len(self.gender)

    def valid(self, panel: tuple[int, ...]) -> bool:
        """Independent check of a panel against the quotas (no panelsel code)."""
        if len(set(panel)) != self.k:
            return False
        for cat, values in (("gender", self.gender), ("level", self.level)):
            for v, (lo, hi) in self.quotas[cat].items():
                if not lo <= sum(values[i] == v for i in panel) <= hi:
                    return False
        for v, (lo, hi) in self.quotas.get("services", {}).items():
            if not lo <= sum(v in self.services[i] for i in panel) <= hi:
                return False
        if self.max_per_household is not None:
            for h in set(self.house):
                if h and sum(self.house[i] == h for i in panel) > self.max_per_household:
                    return False
        return True

    def write(self, folder: Path) -> tuple[Path, Path]:
        rows = [
            [
                f"r{i}",
                self.gender[i],
                self.level[i],
                ";".join(self.services[i]),
                self.house[i],
                f"secret-{i}",
            ]
            for i in range(self.n)
        ]
        pool = write_csv(
            folder / "pool.csv", ["id", "gender", "level", "services", "house", "name"], rows
        )
        doc: dict[str, object] = {
            "panel_size": self.k,
            "categories": {
                cat: {"quotas": {v: {"min": lo, "max": hi} for v, (lo, hi) in q.items()}}
                for cat, q in self.quotas.items()
            },
        }
        if "services" in self.quotas:
            doc["categories"]["services"]["multi_value"] = ";"  # type: ignore[index]
        if self.max_per_household is not None:
            doc["households"] = {"column": "house", "max_per_household": self.max_per_household}
        quotas = folder / "quotas.yaml"
        quotas.write_text(yaml.safe_dump(doc), encoding="utf-8")
        return pool, quotas


@st.composite
def instances(draw: st.DrawFn, min_n: int = 4, max_n: int = 9) -> Instance:
    n = draw(st.integers(min_n, max_n))
    gender = draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n))
    level = draw(st.lists(st.sampled_from(["PG", "UG", "FE"]), min_size=n, max_size=n))
    with_services = draw(st.booleans())
    services = [
        sorted(s)
        for s in draw(st.lists(st.sets(st.sampled_from(["a", "b", "c"])), min_size=n, max_size=n))
    ]
    with_houses = draw(st.booleans())
    house = draw(st.lists(st.sampled_from(["", "h1", "h2", "h3"]), min_size=n, max_size=n))
    k = draw(st.integers(1, n - 1))
    reference = draw(st.permutations(range(n)))[:k]
    slack = st.integers(0, 2)
    quotas: dict[str, dict[str, tuple[int, int]]] = {}
    for cat, values in (("gender", gender), ("level", level)):
        quotas[cat] = {}
        for v in sorted(set(values)):
            c = sum(values[i] == v for i in reference)
            quotas[cat][v] = (max(0, c - draw(slack)), c + draw(slack))
    if with_services:
        quotas["services"] = {}
        for v in draw(st.sets(st.sampled_from(["a", "b", "c"]), min_size=1)):
            c = sum(v in services[i] for i in reference)
            quotas["services"][v] = (max(0, c - draw(slack)), c + draw(slack))
    max_h = None
    if with_houses:
        worst = max((sum(house[i] == h for i in reference) for h in set(house) if h), default=1)
        max_h = max(1, worst)
    return Instance(gender, level, services, house, k, quotas, max_h)


def solve(
    pool: Path,
    quotas: Path,
    *,
    compress: bool = True,
    solver: str = "highs",
    relaxation: bool = True,
    prune_keep: int | None = None,
) -> tuple[Lottery, np.ndarray]:
    spec = load_quotas(quotas)
    model = build_model(load_pool(pool, id_column=spec.id_column), spec, compress_types=compress)
    # as compute does: the feasibility ILP is the one verdict on the quotas
    require_feasible(model, SolverConfig(solver))
    type_lottery = leximin(
        model,
        SolverConfig(solver),
        lambda *_: None,
        use_relaxation=relaxation,
        prune_keep=prune_keep,
    )
    lottery = expand(model, type_lottery)
    return lottery, lottery.marginals(model.n)


def brute_force_leximin(n: int, panels: list[tuple[int, ...]]) -> np.ndarray:
    """LEXIMIN by definition, with scipy's LP over every feasible panel."""
    inc = np.zeros((n, len(panels)))
    for j, panel in enumerate(panels):
        inc[list(panel), j] = 1
    m = len(panels)
    fixed: dict[int, float] = {}
    while len(fixed) < n:
        unfixed = [i for i in range(n) if i not in fixed]
        a_ub, b_ub = [], []
        for i in unfixed:  # t - inc_i p <= 0
            a_ub.append(np.r_[-inc[i], 1.0])
            b_ub.append(0.0)
        for i, v in fixed.items():  # inc_i p >= v
            a_ub.append(np.r_[-inc[i], 0.0])
            b_ub.append(-(v - 1e-9))
        a_eq, b_eq = [np.r_[np.ones(m), 0.0]], [1.0]
        bounds = [(0, None)] * m + [(None, None)]
        res = linprog(
            np.r_[np.zeros(m), -1.0],
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=bounds,
            method="highs",
        )
        assert res.status == 0
        t = -res.fun
        newly = []
        for i in unfixed:  # can i do better than t while the others keep t?
            bounds_t = [(0, None)] * m + [(t - 1e-9, None)]
            res_i = linprog(
                np.r_[-inc[i], 0.0],
                A_ub=a_ub,
                b_ub=b_ub,
                A_eq=a_eq,
                b_eq=b_eq,
                bounds=bounds_t,
                method="highs",
            )
            assert res_i.status == 0
            if -res_i.fun <= t + 1e-7:
                newly.append(i)
        assert newly, "leximin theory: some unfixed person cannot exceed the level"
        for i in newly:
            fixed[i] = t
    return np.array([fixed[i] for i in range(n)])


def check_lottery(inst: Instance, lottery: Lottery, marginals: np.ndarray) -> None:
    assert len(lottery) >= 1
    assert np.all(lottery.probabilities > 0)
    assert lottery.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    for members in lottery.panels:
        assert inst.valid(tuple(members.tolist())), members
    assert marginals.sum() == pytest.approx(inst.k, abs=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_leximin_matches_brute_force(inst: Instance) -> None:
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    assert feasible  # the generator guarantees a reference panel
    expected = brute_force_leximin(inst.n, feasible)
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        # the relaxation shortcut with and without types, and column generation alone
        for compress, relaxation in ((True, True), (False, True), (True, False)):
            lottery, marginals = solve(pool, quotas, compress=compress, relaxation=relaxation)
            check_lottery(inst, lottery, marginals)
            np.testing.assert_allclose(marginals, expected, atol=TOL)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(min_n=10, max_n=40), st.integers(0, 2**63 - 1))
def test_random_pools_give_valid_reproducible_lotteries(inst: Instance, seed: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        lottery, marginals = solve(pool, quotas)
        check_lottery(inst, lottery, marginals)
        first = draw(lottery, np.random.default_rng(seed))
        assert draw(lottery, np.random.default_rng(seed)) == first
        again, _ = solve(pool, quotas)
        assert [p.tolist() for p in again.panels] == [p.tolist() for p in lottery.panels]
        assert draw(again, np.random.default_rng(seed)) == first


@settings(max_examples=10, deadline=None)
@given(instances(min_n=8, max_n=16))
def test_type_compression_gives_the_same_marginals(inst: Instance) -> None:
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        _, compressed = solve(pool, quotas, compress=True)
        _, plain = solve(pool, quotas, compress=False)
        np.testing.assert_allclose(compressed, plain, atol=TOL)


@pytest.mark.parametrize("relaxation", [True, False])
def test_cbc_and_highs_agree(small_pool: Path, small_quotas: Path, relaxation: bool) -> None:
    _, highs = solve(small_pool, small_quotas, solver="highs", relaxation=relaxation)
    _, cbc = solve(small_pool, small_quotas, solver="cbc", relaxation=relaxation)
    np.testing.assert_allclose(highs, cbc, atol=TOL)
    # the pool of the fixture: 2 F-UG, 4 F-PG, 3 M-PG, 3 M-UG, k = 4, 2 F + 2 M, PG 2..3
    assert highs.sum() == pytest.approx(4)


def test_conflicting_quotas_are_infeasible(tmp_path: Path) -> None:
    pool = write_csv(
        tmp_path / "p.csv",
        ["id", "g", "l"],
        [["a", "F", "PG"], ["b", "F", "PG"], ["c", "M", "UG"], ["d", "M", "UG"]],
    )
    quotas = tmp_path / "q.yaml"
    quotas.write_text(
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1}}\n  l: {quotas: {PG: 2, UG: 0}}\n",
        encoding="utf-8",
    )
    with pytest.raises(InfeasibleQuotasError, match="no panel meets all the quotas together"):
        solve(pool, quotas)


def test_person_nobody_can_select_gets_zero(tmp_path: Path) -> None:
    # Z is the only 'X' and X has max 0: probability 0, everyone else 2/4
    pool = write_csv(
        tmp_path / "p.csv",
        ["id", "g"],
        [["a", "F"], ["b", "F"], ["c", "M"], ["d", "M"], ["z", "X"]],
    )
    quotas = tmp_path / "q.yaml"
    quotas.write_text(
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1, X: 0}}\n", encoding="utf-8"
    )
    _, marginals = solve(pool, quotas)
    np.testing.assert_allclose(marginals, [0.5, 0.5, 0.5, 0.5, 0.0], atol=1e-9)


def _published_curve(name: str) -> np.ndarray:
    path = BENCHDATA / name / f"{name}_prob_allocs_data.csv"
    with path.open(encoding="utf-8") as f:
        return np.array(
            sorted(
                float(r["selection probability"])
                for r in csv.DictReader(f)
                if r["algorithm"] == "LexiMin"
            )
        )


@pytest.mark.skipif(not BENCHDATA.is_dir(), reason=f"no shared benchdata at {BENCHDATA}")
def test_example_small_20_matches_published_leximin_curve() -> None:
    folder = BENCHDATA / "example_small_20"
    spec = load_quotas(folder / "categories.csv", panel_size=20)
    model = build_model(load_pool(folder / "respondents.csv"), spec)
    lottery = expand(model, leximin(model, SolverConfig(), lambda *_: None))
    ours = np.sort(lottery.marginals(model.n))
    published = _published_curve("example_small_20")
    assert len(ours) == len(published) == 200
    assert np.abs(ours - published).max() < 1e-3
    assert ours.sum() == pytest.approx(20, abs=1e-9)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(inst=instances(min_n=6, max_n=9))
def test_column_pruning_keeps_the_optimum(solver: str, inst: Instance) -> None:
    # force the master to drop unused columns at almost every round
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    expected = brute_force_leximin(inst.n, feasible)
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        lottery, marginals = solve(
            pool, quotas, compress=False, solver=solver, relaxation=False, prune_keep=1
        )
        check_lottery(inst, lottery, marginals)
        np.testing.assert_allclose(marginals, expected, atol=TOL)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_maximin_reaches_the_brute_force_minimum(inst: Instance) -> None:
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    expected = brute_force_leximin(inst.n, feasible)
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        spec = load_quotas(quotas)
        model = build_model(load_pool(pool, id_column=spec.id_column), spec)
        type_lottery = maximin(model, SolverConfig(), lambda *_: None)
        lottery = expand(model, type_lottery)
        marginals = lottery.marginals(model.n)
    check_lottery(inst, lottery, marginals)
    # the smallest positive probability is LEXIMIN's first level (people no valid panel
    # contains have 0 under every lottery)
    positive = expected > TOL
    assert np.all(marginals[~positive] <= TOL)
    if positive.any():
        assert marginals[positive].min() == pytest.approx(expected[positive].min(), abs=TOL)
    for t, people in enumerate(model.type_members):
        np.testing.assert_allclose(marginals[people], type_lottery.targets[t], atol=1e-9)
