"""LEXIMIN on small pools whose quotas' LP relaxation has a gap, against brute force.

On these pools the relaxation's LEXIMIN cannot be attained by any lottery, so at least one
level has to be proven by the pricing ILP rather than by the relaxation's bound; the
instances were found by a random search over three-category pools (the brute force below
checks that each one still has its gap, so a changed generator cannot make them easy).
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from panelsel.errors import TimeLimitError
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.lotteries import TypeLottery
from panelsel.lottery.compute import compute
from panelsel.lottery.expand import expand
from panelsel.solve.algorithms.leximin import COLUMN_GENERATION_METHOD, leximin
from panelsel.solve.backends import SolverConfig
from panelsel.solve.colgen import CERTAIN, even_out
from panelsel.solve.protocol import Incumbent, Request
from panelsel.solve.relaxation import relaxed_leximin

from .test_leximin import TOL, Instance, brute_force_leximin

NONE = ["", "", "", "", "", "", "", "", ""]

GAP_POOLS = [
    Instance(
        ["M", "M", "F", "F", "F", "F", "F", "F", "F"],
        ["UG", "FE", "FE", "PG", "UG", "PG", "UG", "FE", "FE"],
        [["b", "c"], ["a", "c"], ["a"], [], [], ["b", "c"], [], ["a", "c"], ["a", "b"]],
        NONE[:9],
        3,
        {
            "gender": {"F": (2, 3), "M": (0, 1)},
            "level": {"FE": (2, 3), "PG": (1, 1), "UG": (0, 0)},
            "services": {"a": (1, 2), "b": (0, 1), "c": (2, 2)},
        },
        None,
    ),
    Instance(
        ["M", "F", "F", "M", "F", "F", "M", "F", "M"],
        ["UG", "FE", "PG", "FE", "FE", "UG", "UG", "FE", "PG"],
        [["b", "c"], ["a", "c"], ["b", "c"], ["a", "c"], ["b"], ["a", "c"], [], ["b", "c"], ["a"]],
        NONE[:9],
        5,
        {
            "gender": {"F": (2, 3), "M": (1, 3)},
            "level": {"FE": (1, 2), "PG": (0, 2), "UG": (2, 3)},
            "services": {"a": (0, 1), "b": (3, 4), "c": (3, 4)},
        },
        None,
    ),
    Instance(
        ["M", "M", "F", "M", "F", "F", "M", "M"],
        ["PG", "FE", "FE", "UG", "FE", "FE", "PG", "PG"],
        [["a", "c"], [], ["a"], [], ["b", "c"], ["a", "b"], [], []],
        NONE[:8],
        3,
        {
            "gender": {"F": (1, 1), "M": (2, 3)},
            "level": {"FE": (2, 3), "PG": (0, 1), "UG": (0, 1)},
            "services": {"a": (1, 3), "b": (1, 1), "c": (0, 1)},
        },
        None,
    ),
    # the gap is already in the first level: the MAXIMIN needs the pricing ILP's proof
    Instance(
        ["M", "M", "M", "F", "F", "F", "M", "M"],
        ["PG", "UG", "PG", "FE", "PG", "FE", "FE", "UG"],
        [["b"], ["a", "c"], ["a", "c"], [], ["a", "b"], ["b", "c"], ["a"], []],
        NONE[:8],
        5,
        {
            "gender": {"F": (1, 3), "M": (3, 4)},
            "level": {"FE": (2, 3), "PG": (1, 3), "UG": (0, 2)},
            "services": {"a": (2, 4), "b": (2, 2), "c": (1, 3)},
        },
        None,
    ),
    Instance(
        ["M", "F", "M", "F", "F", "M", "M", "M"],
        ["PG", "UG", "FE", "PG", "PG", "UG", "PG", "PG"],
        [["a"], ["b"], [], ["a", "c"], ["a", "b"], ["c"], ["b", "c"], ["b"]],
        NONE[:8],
        5,
        {
            "gender": {"F": (0, 1), "M": (3, 5)},
            "level": {"FE": (0, 1), "PG": (3, 3), "UG": (0, 2)},
            "services": {"a": (0, 2), "b": (2, 4), "c": (1, 2)},
        },
        None,
    ),
    Instance(
        ["M", "F", "F", "M", "M", "F", "M", "M"],
        ["PG", "FE", "UG", "PG", "PG", "PG", "PG", "FE"],
        [["c"], ["b"], [], ["c"], [], ["a", "c"], ["a", "c"], ["a", "c"]],
        NONE[:8],
        2,
        {
            "gender": {"F": (0, 1), "M": (1, 3)},
            "level": {"FE": (1, 2), "PG": (1, 2), "UG": (0, 0)},
            "services": {"a": (0, 1), "b": (0, 1), "c": (1, 2)},
        },
        None,
    ),
]
FIRST_LEVEL_GAP = 3
"""The index of the pool whose relaxation's MAXIMIN value is above every lottery's."""
PRICING_PROOF = 3
"""A pool where some level stays below the relaxation's bound for it, so that the pricing
ILP must prove it (its first level, whichever duals the solver returns).  In some others
the gap comes from people that no valid panel contains: once they are fixed at 0, the
relaxation's bound may be attained at every level."""


def _model(inst: Instance, folder: Path, compress: bool = True) -> Model:
    pool, quotas = inst.write(folder)
    spec = load_quotas(quotas)
    return build_model(load_pool(pool, id_column=spec.id_column), spec, compress_types=compress)


def _expected(inst: Instance) -> np.ndarray:
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    return brute_force_leximin(inst.n, feasible)


@pytest.mark.parametrize("index", range(len(GAP_POOLS)))
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_leximin_equals_brute_force_where_the_relaxation_has_a_gap(index: int, solver: str) -> None:
    inst = GAP_POOLS[index]
    expected = _expected(inst)
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d), compress=False)
        bound = relaxed_leximin(model, SolverConfig(solver)).probabilities
        # the gap is real: the relaxation's sorted vector differs from the true LEXIMIN's
        assert np.abs(np.sort(bound) - np.sort(expected)).max() > 0.1
        if index == FIRST_LEVEL_GAP:  # everyone can be selected, and still the MAXIMIN differs
            assert 0 < expected.min() < bound.min() - 0.01
        for relaxation in (True, False):
            result = leximin(
                model, SolverConfig(solver), lambda *_: None, use_relaxation=relaxation
            )
            assert result.method == COLUMN_GENERATION_METHOD
            lottery = expand(model, result)
            for members in lottery.panels:
                assert inst.valid(tuple(members.tolist()))
            marginals = lottery.marginals(model.n)
            assert marginals.sum() == pytest.approx(inst.k, abs=1e-9)
            np.testing.assert_allclose(marginals, expected, atol=TOL)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_a_level_below_the_relaxation_bound_is_proven_by_pricing(solver: str) -> None:
    inst = GAP_POOLS[PRICING_PROOF]
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d), compress=False)
        result = leximin(model, SolverConfig(solver), lambda *_: None)
    assert result.stats["levels_at_bound"] < result.stats["levels"]
    assert result.stats["pricing_calls"] >= 1


class _StopAfter(SolverConfig):
    """A configuration whose time runs out at the ``after``-th solver call (no clock)."""

    def __init__(self, after: int) -> None:
        super().__init__("highs", time_limit=3600.0)
        self.after = after
        self.calls = 0

    def remaining(self) -> float | None:
        self.calls += 1
        if self.calls > self.after:
            raise TimeLimitError("the time limit ran out (test)")
        return 3600.0


@pytest.mark.parametrize("index", range(len(GAP_POOLS)))
def test_a_best_effort_lottery_keeps_every_proven_level(index: int) -> None:
    inst = GAP_POOLS[index]
    expected = _expected(inst)
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d), compress=False)
        full = leximin(model, SolverConfig(), lambda *_: None)
        levels: list[float] = sorted(set(np.round(full.targets, 9).tolist()))
        seen_proven = set()
        after = 0
        while True:
            after += 1
            config = _StopAfter(after)
            incumbent = Incumbent()
            try:
                leximin(model, config, lambda *_: None, incumbent=incumbent)
                break  # the whole computation fits in `after` calls
            except TimeLimitError:
                pass
            best = incumbent.best()
            if best is None:
                continue
            snap: TypeLottery = best
            stats: dict[str, Any] = snap.stats
            proven = int(stats["proven_levels"])
            seen_proven.add(proven)
            marginals = expand(model, snap).marginals(model.n)
            assert marginals.sum() == pytest.approx(inst.k, abs=1e-9)
            if proven >= 1:
                # never below the MAXIMIN optimum once it is proven, and the proven people
                # keep at least their LEXIMIN probability
                assert marginals.min() >= expected.min() - TOL
                assert stats["proven_minimum"] == pytest.approx(levels[0], abs=TOL)
                assert int(stats["proven_people"]) >= int((expected <= levels[0] + TOL).sum())
            # the certified bound is a bound: the true next level is not above it, and the
            # snapshot's own level value is not above the true one
            assert stats["level_value"] <= stats["level_upper_bound"] + TOL
            # spread: nobody the quotas do not force is certain, and the proven part stays
            spread = even_out(model, snap, SolverConfig())
            after_marginals = expand(model, spread).marginals(model.n)
            assert after_marginals.sum() == pytest.approx(inst.k, abs=1e-9)
            for person in range(inst.n):
                if not all(person in panel for panel in feasible):
                    assert after_marginals[person] < CERTAIN
            assert after_marginals.min() >= marginals.min() - TOL
            assert snap.floors is not None
            for t, floor in enumerate(snap.floors.tolist()):
                if floor == floor:  # not NaN: a proven level
                    assert spread.targets[t] >= floor - TOL
        assert after > 1 and 0 in seen_proven
        if full.stats["levels"] >= 3:
            assert max(seen_proven) >= 1


def test_best_effort_marks_the_people_of_proven_levels() -> None:
    marked_stops = 0
    for inst in GAP_POOLS:
        expected = _expected(inst)
        with tempfile.TemporaryDirectory() as d:
            model = _model(inst, Path(d), compress=False)
            for after in range(1, 200):
                try:
                    computed = compute(
                        model, "leximin", _StopAfter(after), Request(1, best_effort=True)
                    )
                except TimeLimitError:
                    continue  # no lottery yet, or no time left to expand the optimal one
                if computed.proven_optimal:
                    assert computed.proven_people is None
                    break
                assert computed.proven_people is not None
                marked = computed.proven_people
                # (people no valid panel contains are proven at 0 before the first level)
                assert int(marked.sum()) == int(computed.stats["proven_people"])
                # whoever is marked proven has exactly the optimal lottery's probability
                np.testing.assert_allclose(
                    computed.probabilities[marked], expected[marked], atol=TOL
                )
                marked_stops += int(marked.any())
    assert marked_stops > 0


def test_national_generator_gives_narrow_quotas_panelsel_reads(tmp_path: Path) -> None:
    """benchmarks.generate.national: gender as exact seats summing to k, every other value
    within the relative slack of its population count, deterministic per seed."""
    from benchmarks.generate import national, write

    header, rows, doc = national(300, 30, seed=3)
    assert national(300, 30, seed=3) == (header, rows, doc)
    assert national(300, 30, seed=4)[1] != rows
    categories = doc["categories"]
    assert isinstance(categories, dict) and len(categories) == 7
    gender = categories["gender"]["quotas"]
    assert all(q["min"] <= q["max"] for q in gender.values())
    assert sum(q["max"] for q in gender.values()) == 30
    for name, body in categories.items():
        for q in body["quotas"].values():
            assert 0 <= q["min"] <= q["max"]
            if name != "gender":
                # narrow: (1 +- 5%) of share * 30 seats, rounded outwards
                assert q["max"] - q["min"] <= 0.1 * 30 + 2
    pool_path, quotas_path = write(tmp_path / "national", header, rows, doc)
    spec = load_quotas(quotas_path)
    model = build_model(load_pool(pool_path, id_column=spec.id_column), spec)
    assert model.n == 300 and model.k == 30


def test_levels_reached_through_the_covering_lp_equal_brute_force() -> None:
    """From the second level on, the covering LP's columns let the master reach the bound;
    on the gap pools some levels go that way, and the result is still the exact LEXIMIN
    (the cross-check above covers every pool; this one makes sure the path is taken)."""
    covered = without_master = 0
    for inst in GAP_POOLS:
        with tempfile.TemporaryDirectory() as d:
            model = _model(inst, Path(d), compress=False)
            result = leximin(model, SolverConfig("highs"), lambda *_: None, use_relaxation=False)
            covered += int(result.stats["levels_covered"])
            without_master += int(result.stats["levels_without_master"])
            assert result.stats["levels_without_master"] <= result.stats["levels_covered"]
            assert result.stats["levels_covered"] <= result.stats["levels"] - 1  # never level 1
            marginals = expand(model, result).marginals(model.n)
            np.testing.assert_allclose(marginals, _expected(inst), atol=TOL)
    assert covered >= 1
    assert without_master >= 1  # a covered level that is not the last one skips the master


def test_a_time_limit_in_the_covering_lp_keeps_the_proven_first_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped in level 2's covering LP, the incumbent is level 1's lottery with level 1
    counted as proven, and it gives every type at least the MAXIMIN optimum."""

    def out_of_time(*args: Any, **kwargs: Any) -> Any:
        raise TimeLimitError("the time limit ran out (test)")

    inst = GAP_POOLS[0]
    expected = _expected(inst)
    import importlib

    # the package's ``leximin`` attribute is the function, so reach the module directly
    module = importlib.import_module("panelsel.solve.algorithms.leximin")
    monkeypatch.setattr(module, "cover", out_of_time)
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d), compress=False)
        incumbent = Incumbent()
        with pytest.raises(TimeLimitError):
            leximin(
                model,
                SolverConfig("highs"),
                lambda *_: None,
                incumbent=incumbent,
                use_relaxation=False,
            )
        best = incumbent.best()
        assert best is not None
        lottery = best
    assert lottery.stats["proven_levels"] == 1
    # the proven minimum is over the people some valid panel holds (the others are at 0 and
    # named as never selectable), and this pool has some: it is the first positive level
    assert expected.min() == pytest.approx(0.0, abs=TOL)
    chance = expected > TOL
    assert lottery.stats["proven_minimum"] == pytest.approx(expected[chance].min(), abs=TOL)
    assert lottery.targets.min() >= expected.min() - TOL
    # everyone some valid panel holds gets at least the MAXIMIN optimum among them (one
    # type per person here: compress=False)
    assert (lottery.targets[chance] >= expected[chance].min() - TOL).all()
    assert lottery.stats["level_value"] == pytest.approx(
        lottery.targets[np.isnan(lottery.floors)].min()
    )
