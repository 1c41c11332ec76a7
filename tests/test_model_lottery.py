"""The numeric model (types, households, multi-valued cells) and the expansion to people."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from panelsel.errors import InfeasibleQuotasError
from panelsel.inputs.model import build_model, check_feasible_cheaply
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.lotteries import Lottery, TypeLottery
from panelsel.lottery.expand import draw, expand, expand_counts

from .conftest import EXAMPLE, write_csv


def _model(
    tmp_path: Path, header: list[str], rows: list[list[object]], quotas: str, compress: bool = True
):  # type: ignore[no-untyped-def]
    pool = load_pool(write_csv(tmp_path / "p.csv", header, rows))
    q = tmp_path / "q.yaml"
    q.write_text(quotas, encoding="utf-8")
    spec = load_quotas(q)
    return build_model(pool, spec, compress_types=compress), spec


def test_types_group_identical_people_case_insensitively(tmp_path: Path) -> None:
    model, _ = _model(
        tmp_path,
        ["id", "g", "s"],
        [
            ["a", "F", "x;y"],
            ["b", " f ", "Y ; X"],
            ["c", "M", ""],
            ["d", "F", "x"],
            ["e", "M", "z"],
        ],
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1}}\n"
        "  s: {multi_value: ';', quotas: {X: {max: 2}, Y: {min: 0}}}\n",
    )
    # z is not listed, so e is like c; a and b have the same values in another spelling
    assert [m.tolist() for m in model.type_members] == [[0, 1], [2, 4], [3]]
    assert [f.pool_count for f in model.features] == [3, 2, 3, 2]
    assert model.person_features.tolist() == [
        [1, 0, 1, 1],
        [1, 0, 1, 1],
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
    ]
    plain, _ = _model(
        tmp_path,
        ["id", "g", "s"],
        [["a", "F", "x;y"], ["b", " f ", "Y ; X"], ["c", "M", ""]],
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1}}\n",
        compress=False,
    )
    assert plain.n_types == 3


def test_only_households_the_rule_can_bind_split_types(tmp_path: Path) -> None:
    rows = [
        ["a", "F", "1 High St"],
        ["b", "F", "1 high st "],
        ["c", "F", "2 Low Rd"],
        ["d", "M", ""],
        ["e", "M", ""],
        ["f", "M", "3 Mid Way"],
    ]
    model, _ = _model(
        tmp_path,
        ["id", "g", "addr"],
        rows,
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1}}\n"
        "households: {column: addr, max_per_household: 1}\n",
    )
    # a and b share a household (case and spaces ignored): each is a type of their own;
    # blank addresses put nobody in a household
    assert [m.tolist() for m in model.type_members] == [[0], [1], [2], [3, 4, 5]]
    assert [h.tolist() for h in model.households] == [[0, 1]]
    assert model.panel_violations([0, 1]) == [
        "g=F: 2 not in [1, 1]",
        "g=M: 0 not in [1, 1]",
        "household of [0, 1]: 2 selected, above 1",
    ]
    assert model.panel_violations([0, 3]) == []


def test_household_capacity_is_checked_cheaply(tmp_path: Path) -> None:
    rows = [["a", "F", "h"], ["b", "F", "h"], ["c", "M", "h"], ["d", "M", "h"]]
    model, spec = _model(
        tmp_path,
        ["id", "g", "addr"],
        rows,
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1}}\n"
        "households: {column: addr, max_per_household: 1}\n",
    )
    with pytest.raises(InfeasibleQuotasError, match="only 1 registrants can be selected"):
        check_feasible_cheaply(model, spec)


def test_expand_counts_gives_exact_equal_shares() -> None:
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    model = build_model(load_pool(EXAMPLE / "registrants.csv", id_column="student_id"), spec)
    rng = np.random.default_rng(0)
    sizes = model.type_sizes
    counts = np.array([rng.integers(0, s + 1) for s in sizes])
    parts = expand_counts(model, counts, 0.5)
    assert sum(p for _, p in parts) == pytest.approx(0.5, abs=1e-15)
    marg = np.zeros(model.n)
    for members, p in parts:
        marg[members] += p
        assert len(members) == counts.sum()
    for t, people in enumerate(model.type_members):
        np.testing.assert_allclose(marg[people], 0.5 * counts[t] / sizes[t], atol=1e-12)


def test_expand_systematic_sampling_on_one_type(tmp_path: Path) -> None:
    # one type of 6 people, 4 seats: d = 3, so 3 panels of probability 1/3
    model, _ = _model(
        tmp_path,
        ["id", "g"],
        [[f"p{i}", "F"] for i in range(6)],
        "panel_size: 4\ncategories:\n  g: {quotas: {F: 4}}\n",
    )
    lottery = expand(
        model,
        TypeLottery(
            columns=np.array([[4]]), probabilities=np.array([1.0]), targets=np.array([4 / 6])
        ),
    )
    assert [p.tolist() for p in lottery.panels] == [[0, 1, 3, 4], [0, 2, 3, 5], [1, 2, 4, 5]]
    np.testing.assert_allclose(lottery.probabilities, [1 / 3] * 3)
    np.testing.assert_allclose(lottery.marginals(6), [4 / 6] * 6)


def test_draw_is_the_inverse_cdf_of_one_uniform() -> None:
    lottery = Lottery(
        panels=[np.array([0]), np.array([1]), np.array([2])],
        probabilities=np.array([0.2, 0.5, 0.3]),
    )
    for seed in range(50):
        u = np.random.default_rng(seed).random()
        expected = 0 if u < 0.2 else 1 if u < 0.7 else 2
        assert draw(lottery, np.random.default_rng(seed)) == expected
