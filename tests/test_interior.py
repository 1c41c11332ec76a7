"""The dense interior-point method for covering LPs, against HiGHS through scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from panelsel.errors import SolverError
from panelsel.solve.interior import COVER_TOLERANCE, cover, fits


@st.composite
def covering_lps(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Shares of random panels (count vectors over types of random sizes) and targets."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    T = draw(st.integers(1, 25))
    R = draw(st.integers(1, 40))
    sizes = rng.integers(1, 5, size=T)
    counts = rng.integers(0, 3, size=(R, T)) * (rng.random((R, T)) < 0.4)
    counts = np.minimum(counts, sizes)
    shares = (counts / sizes).T
    covered = shares.max(axis=1) > 0
    targets = np.where(covered, rng.uniform(0, 1, T), 0.0) * draw(st.sampled_from([0.1, 1.0]))
    return shares, targets


@settings(max_examples=150, deadline=None)
@given(covering_lps())
def test_cover_matches_highs(lp: tuple[np.ndarray, np.ndarray]) -> None:
    shares, targets = lp
    reference = linprog(
        np.ones(shares.shape[1]), A_ub=-shares, b_ub=-targets, bounds=(0, None), method="highs"
    )
    assert reference.status == 0
    solution = cover(shares, targets)
    scale = 1.0 + abs(reference.fun)
    assert abs(solution.total - reference.fun) <= 10 * COVER_TOLERANCE * scale
    assert np.all(solution.q >= 0)
    assert np.all(shares @ solution.q >= targets - 10 * COVER_TOLERANCE * (1 + targets.max()))
    # the duals are feasible for the dual LP and certify the same optimum
    assert np.all(solution.y >= -COVER_TOLERANCE)
    assert np.all(shares.T @ solution.y <= 1 + 10 * COVER_TOLERANCE)
    assert abs(targets @ solution.y - reference.fun) <= 10 * COVER_TOLERANCE * scale


def test_cover_refuses_a_target_no_panel_reaches() -> None:
    shares = np.array([[0.5, 0.0], [0.0, 0.0]])
    with pytest.raises(SolverError, match="none of the panels"):
        cover(shares, np.array([0.2, 0.1]))


def test_cover_calls_the_deadline_and_stops_when_it_raises() -> None:
    calls = []

    def deadline() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise SolverError("time is up")

    rng = np.random.default_rng(0)
    shares = rng.random((10, 30))
    with pytest.raises(SolverError, match="time is up"):
        cover(shares, np.full(10, 0.5), deadline=deadline)
    assert len(calls) == 3


def test_fits_caps_the_dense_size() -> None:
    assert fits(1000, 2000)
    assert not fits(10_000, 10_000)


def test_rows_without_a_positive_target_get_a_zero_dual_and_change_nothing() -> None:
    """People that no panel contains, fixed at 0 (a target of 0, or a floor a hair below 0),
    gave the interior-point method a row whose dual is free to grow, and changed its result
    (the total by 2e-10 here); such rows hold for every q and are left out."""
    rng = np.random.default_rng(7)
    S = rng.integers(0, 3, size=(6, 12)) / 4.0
    S[S.sum(axis=1) == 0, 0] = 0.25
    g = rng.uniform(0.05, 0.3, size=6)
    plain = cover(S, g)
    # two more rows: one no panel touches (target 0), one with a target just below 0
    S_more = np.vstack([S, np.zeros(12), S[0]])
    g_more = np.r_[g, 0.0, -1e-12]
    more = cover(S_more, g_more)
    assert more.total == pytest.approx(plain.total, rel=1e-12)
    np.testing.assert_array_equal(more.q, plain.q)
    np.testing.assert_array_equal(more.y[:6], plain.y)
    assert more.y[6] == 0.0 and more.y[7] == 0.0
    np.testing.assert_allclose(more.surplus, S_more @ more.q - g_more)
