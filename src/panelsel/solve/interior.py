r"""A dense primal-dual interior-point method for the covering LP of a lottery's marginals.

Given the per-person shares ``S[t, r] = c_rt / |t|`` of ``R`` panels and target
probabilities ``g`` per type, :func:`cover` solves

.. math::

    \min \sum_r q_r \quad\text{s.t.}\quad S q \ge g,\ q \ge 0
    \qquad\text{and its dual}\qquad
    \max g^\top y \quad\text{s.t.}\quad S^\top y \le 1,\ y \ge 0.

If the optimum is at most 1, the lottery ``q / sum(q)`` gives every type at least its
target, up to the tolerance; if it is above 1, no lottery over these panels does.  This is
how LEXIMIN checks in one solve whether the LP relaxation's LEXIMIN of the remaining types
can be reached (:func:`panelsel.solve.algorithms.leximin.reach_rest`).

Why not HiGHS
-------------
A panel of ``k`` seats touches up to ``k`` types, so a basis of these LPs is a dense
``T x T`` matrix: simplex pivots cost milliseconds each and thousands are needed, and
HiGHS's interior-point solver (IPX, whose linear algebra is built for sparse problems) took
21 s on the 1,361-type, 2,091-panel covering LP of a skewed 2,000-person pool where this
method, which forms the normal equations densely and factors them with LAPACK, takes 3 s
in 11 iterations.  It is used only where the dense matrices fit ``MAX_DENSE_ENTRIES``.

Algorithm
---------
Mehrotra's predictor-corrector method [1]_ on the standard form
``[S, -I] (q, w) = g``, ``(q, w) >= 0``, with Mehrotra's starting point.  Each iteration
factors ``S diag(q/s_q) S^T + diag(w/s_w)`` once (Cholesky) and solves with it twice.

References
----------
.. [1] S. Mehrotra, "On the implementation of a primal-dual interior point method", SIAM
   J. Optimization 2(4), 575-601 (1992); S. J. Wright, *Primal-Dual Interior-Point
   Methods*, SIAM (1997), chapter 10.

Notes
-----
``COVER_TOLERANCE`` bounds the relative primal and dual residuals and the relative duality
gap at the solution returned.  An iterate is never reported as a solution unless all three
are below it; otherwise :class:`~panelsel.errors.SolverError` says so and the caller falls
back to HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from panelsel.errors import SolverError

COVER_TOLERANCE = 1e-8
"""Relative primal residual, dual residual and duality gap at which :func:`cover` stops."""
MAX_ITERATIONS = 50
"""A well-scaled solve takes 10 to 30 iterations; one that needs more is stalling."""
STEP_FRACTION = 0.99
"""Each step goes this fraction of the way to the boundary of the positive orthant."""
REGULARISATION = 1e-14
"""Added to the normal equations' diagonal, relative to its largest entry, only when their
Cholesky factorisation fails (a type's row nearly empty)."""
MAX_DENSE_ENTRIES = 30_000_000
"""The method is used only when ``T * (T + R)`` is at most this (about 240 MB of floats);
larger problems go to HiGHS."""


@dataclass
class Cover:
    """A solution of the covering LP: ``q`` (per panel), the surplus ``S q - g`` and the
    dual ``y`` (per type), and the number of iterations."""

    q: npt.NDArray[np.float64]
    surplus: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    iterations: int

    @property
    def total(self) -> float:
        return float(self.q.sum())


def fits(n_types: int, n_panels: int) -> bool:
    """Whether the dense method is used for this size (``MAX_DENSE_ENTRIES``)."""
    return n_types * (n_types + n_panels) <= MAX_DENSE_ENTRIES


def cover(
    shares: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64],
    deadline: object = None,
) -> Cover:
    """Solve ``min sum(q)`` subject to ``shares @ q >= targets``, ``q >= 0``.

    Parameters
    ----------
    shares : ndarray, shape (T, R)
        Per-person shares of each panel (``c_rt / |t|``), dense.
    targets : ndarray, shape (T,)
        Non-negative targets; every type with a positive target must have a positive share
        in some panel (else the LP is infeasible and this raises).
    deadline : callable, optional
        Called once per iteration; may raise to stop (a solver configuration's
        ``remaining``).

    Raises
    ------
    SolverError
        The LP is infeasible, or the method did not reach ``COVER_TOLERANCE`` within
        ``MAX_ITERATIONS`` iterations.
    """
    S_all = np.asarray(shares, dtype=np.float64)
    g_all = np.asarray(targets, dtype=np.float64)
    T_all, R = S_all.shape
    if np.any((g_all > 0) & (S_all.max(axis=1, initial=0.0) <= 0)):
        raise SolverError("a type with a positive target is in none of the panels")
    if not np.any(g_all > 0):  # q = 0 is optimal, and y = 0 certifies it
        return Cover(q=np.zeros(R), surplus=-g_all.copy(), y=np.zeros(T_all), iterations=0)
    # a row whose target is not positive holds for every q >= 0, and its dual is 0 at some
    # optimum: it is left out.  (Kept, the dual of a row with no panel in it - people no
    # valid panel contains, fixed at 0 - is free to grow, and it perturbs the solve: the
    # total moved by 2e-10 on the test of this.)
    active = g_all > 0
    S, g = S_all[active], g_all[active]
    solved = _cover(S, g, deadline)
    y = np.zeros(T_all)
    y[active] = solved.y
    return Cover(q=solved.q, surplus=S_all @ solved.q - g_all, y=y, iterations=solved.iterations)


def _cover(S: npt.NDArray[np.float64], g: npt.NDArray[np.float64], deadline: object) -> Cover:
    """:func:`cover` over rows with positive targets only."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve
    from scipy.linalg.blas import dsyrk as syrk

    T, R = S.shape
    n = R + T
    c = np.r_[np.ones(R), np.zeros(T)]

    def A(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(S @ x[:R] - x[R:], dtype=np.float64)

    def At(y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.concatenate([S.T @ y, -y])

    def factor(d: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], bool]:
        # S diag(d) S^T by a symmetric rank-k update (BLAS syrk): the upper triangle only,
        # which is all that the Cholesky factorisation below reads
        M = syrk(1.0, S * np.sqrt(d[:R]))
        M[np.diag_indices(T)] += d[R:]
        try:
            return cho_factor(M, check_finite=False)  # type: ignore[no-any-return]
        except LinAlgError:
            pass
        M[np.diag_indices(T)] += REGULARISATION * float(np.abs(np.diag(M)).max(initial=1.0))
        try:
            return cho_factor(M, check_finite=False)  # type: ignore[no-any-return]
        except LinAlgError as exc:
            raise SolverError("the interior-point method's normal equations are singular") from exc

    # Mehrotra's starting point: least-squares solutions shifted into the positive orthant
    L = factor(np.ones(n))
    u = np.asarray(cho_solve(L, g, check_finite=False), dtype=np.float64)
    x = np.r_[S.T @ u, -u]
    y = np.asarray(cho_solve(L, A(c), check_finite=False), dtype=np.float64)
    s = c - At(y)
    x += max(-1.5 * float(x.min()), 0.0)
    s += max(-1.5 * float(s.min()), 0.0)
    xs = float(x @ s)
    if xs <= 0.0:  # a shift left x or s at zero
        x += 1.0
        s += 1.0
        xs = float(x @ s)
    x += 0.5 * xs / float(s.sum())
    s += 0.5 * xs / float(x.sum())
    xs = float(x @ s)
    scale_b = 1.0 + float(np.abs(g).max(initial=0.0))
    for iteration in range(MAX_ITERATIONS):
        if callable(deadline):
            deadline()
        rp = g - A(x)
        rd = c - At(y) - s
        primal, dual = float(c @ x), float(g @ y)
        if (
            float(np.abs(rp).max(initial=0.0)) / scale_b < COVER_TOLERANCE
            and float(np.abs(rd).max(initial=0.0)) / 2.0 < COVER_TOLERANCE
            and abs(primal - dual) / (1.0 + abs(primal)) < COVER_TOLERANCE
        ):
            return Cover(q=x[:R].copy(), surplus=x[R:].copy(), y=y, iterations=iteration)
        mu = xs / n
        d = x / s
        L = factor(d)

        def direction(
            rxs: npt.NDArray[np.float64],
            x: npt.NDArray[np.float64] = x,
            s: npt.NDArray[np.float64] = s,
            d: npt.NDArray[np.float64] = d,
            rp: npt.NDArray[np.float64] = rp,
            rd: npt.NDArray[np.float64] = rd,
            L: tuple[npt.NDArray[np.float64], bool] = L,
        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
            """The Newton direction for complementarity target ``rxs`` (Wright, ch. 10)."""
            v = rd - rxs / x
            dy = np.asarray(cho_solve(L, rp + A(d * v), check_finite=False), dtype=np.float64)
            dx = d * (At(dy) - v)
            return dx, dy, (rxs - s * dx) / x

        dxa, _, dsa = direction(-x * s)  # predictor (affine scaling)
        ap, ad = _longest(x, dxa), _longest(s, dsa)
        sigma = (float((x + ap * dxa) @ (s + ad * dsa)) / n / mu) ** 3
        dx, dy, ds = direction(-x * s - dxa * dsa + sigma * mu)  # corrector
        ap, ad = STEP_FRACTION * _longest(x, dx), STEP_FRACTION * _longest(s, ds)
        x += ap * dx
        y += ad * dy
        s += ad * ds
        xs = float(x @ s)
    raise SolverError(f"the interior-point method did not converge in {MAX_ITERATIONS} iterations")


def _longest(v: npt.NDArray[np.float64], dv: npt.NDArray[np.float64]) -> float:
    """The largest step in ``[0, 1]`` along ``dv`` that keeps ``v`` non-negative."""
    down = dv < 0
    return min(1.0, float((-v[down] / dv[down]).min())) if down.any() else 1.0
