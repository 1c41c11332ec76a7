"""One shared check of every entry of ``ALGORITHMS`` (issue 28, "tests that could not catch
these"): parametrised from the registry itself, so a new algorithm is checked the day it is
added.  On tiny random pools every valid panel is enumerated, and each algorithm's lottery is
checked against its definition by brute force (scipy's LP over all valid panels, no panelsel
code), then ``select`` writes it and ``audit`` with recompute must verify it.  And the same
pool in every input format panelsel reads gives the same probabilities.
"""

from __future__ import annotations

import csv
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.optimize import linprog

from panelsel.commands.audit import audit
from panelsel.commands.select import select
from panelsel.outputs.tables import WRITTEN_PROBABILITY_TOLERANCE
from panelsel.solve.algorithms import ALGORITHMS

from .test_leximin import Instance, brute_force_leximin, instances

ALGORITHM_NAMES = sorted(ALGORITHMS)
GAMMA = 1.0
LEGACY_SAMPLES = 300
OPTIMUM_TOLERANCE = 1e-5
"""How far (relatively) an algorithm's objective may be from the brute-force optimum (the
solvers stop within 1e-6; the brute force's LPs have their own tolerances)."""
NASH_KKT_TOLERANCE = 1e-4
"""How far a panel's sum of 1/probability may exceed n at the Nash optimum (relative)."""


def _valid_panels(inst: Instance) -> list[tuple[int, ...]]:
    return [p for p in itertools.combinations(range(inst.n), inst.k) if inst.valid(p)]


def _incidence(n: int, panels: list[tuple[int, ...]]) -> np.ndarray:
    inc = np.zeros((n, len(panels)))
    for j, panel in enumerate(panels):
        inc[list(panel), j] = 1.0
    return inc


def _lp(c: np.ndarray, a_ub: list[np.ndarray], b_ub: list[float], m: int) -> float:
    """min c·(p, t) over lotteries p of the m panels (sum 1, p >= 0) and a free t."""
    res = linprog(
        c,
        A_ub=np.array(a_ub) if a_ub else None,
        b_ub=b_ub or None,
        A_eq=[np.r_[np.ones(m), 0.0]],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    assert res.status == 0, res.message
    return float(res.fun)


def _min_max(inc: np.ndarray, selectable: list[int], floor: float) -> float:
    """The smallest possible largest probability when every selectable person has at least
    ``floor``."""
    m = inc.shape[1]
    a_ub = [np.r_[inc[i], -1.0] for i in range(inc.shape[0])]  # pi_i - t <= 0
    a_ub += [np.r_[-inc[i], 0.0] for i in selectable]  # pi_i >= floor
    b_ub = [0.0] * inc.shape[0] + [-floor] * len(selectable)
    return _lp(np.r_[np.zeros(m), 1.0], a_ub, b_ub, m)


def _goldilocks_optimum(inc: np.ndarray, selectable: list[int], n: int, k: int) -> float:
    """min over lotteries of (n/k)·max + γ(k/n)/min: the value function of the floor m is
    convex (an LP's optimum in its right-hand side) and so is 1/m, so a golden-section search
    over m in (0, maximin] finds the optimum."""
    a, b = n / k, GAMMA * k / n
    top = _maximin(inc, selectable)

    def f(m: float) -> float:
        return a * _min_max(inc, selectable, m) + b / m

    lo, hi = top * 1e-3, top
    ratio = (5**0.5 - 1) / 2
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(60):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - ratio * (hi - lo)
            f1 = f(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + ratio * (hi - lo)
            f2 = f(x2)
    return min(f1, f2, f(top))


def _maximin(inc: np.ndarray, selectable: list[int]) -> float:
    m = inc.shape[1]
    a_ub = [np.r_[-inc[i], 1.0] for i in selectable]  # t - pi_i <= 0
    return -_lp(np.r_[np.zeros(m), -1.0], a_ub, [0.0] * len(selectable), m)


def _run(inst: Instance, algorithm: str, folder: Path) -> tuple[Path, Path, Path]:
    pool, quotas = inst.write(folder)
    out = folder / "out"
    select(
        pool,
        quotas,
        out=out,
        seed=7,
        algorithm=algorithm,
        samples=LEGACY_SAMPLES,
        xlsx=False,
        gamma=GAMMA if algorithm == "goldilocks" else None,
    )
    return pool, quotas, out


def _probabilities(out: Path) -> dict[str, float]:
    with (out / "probabilities.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    column = "probability" if "probability" in rows[0] else "probability_estimate"
    return {row["id"]: float(row[column]) for row in rows}


def check_against_brute_force(inst: Instance, algorithm: str, out: Path) -> None:
    """The written lottery is over valid panels, and optimal by the algorithm's own
    definition, computed over every valid panel."""
    document = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    panels = _valid_panels(inst)
    valid = set(panels)
    total = 0.0
    pi = np.zeros(inst.n)  # the lottery's marginals, at full precision
    for entry in document["panels"]:
        members = tuple(sorted(int(m[1:]) for m in entry["members"]))
        assert members in valid, f"{algorithm}: panel {members} breaks the quotas"
        total += entry["probability"]
        pi[list(members)] += entry["probability"]
    assert total == pytest.approx(1.0, abs=1e-9)
    written = _probabilities(out)
    if algorithm != "legacy":  # probabilities.csv: the marginals, to 6 decimals
        shown = np.array([written[f"r{i}"] for i in range(inst.n)])
        assert np.abs(shown - pi).max() <= WRITTEN_PROBABILITY_TOLERANCE
    selectable = sorted({i for p in panels for i in p})
    nobody = [i for i in range(inst.n) if i not in selectable]
    assert all(pi[i] == 0 for i in nobody), f"{algorithm}: someone no panel holds has a chance"
    if algorithm == "legacy":
        return  # Monte-Carlo estimates: no optimality claimed
    assert pi.sum() == pytest.approx(inst.k, abs=1e-9)
    inc = _incidence(inst.n, panels)
    tol = OPTIMUM_TOLERANCE
    if algorithm == "leximin":
        expected = brute_force_leximin(inst.n, panels)
        np.testing.assert_allclose(pi, expected, atol=1e-6)
    elif algorithm == "maximin":
        assert pi[selectable].min() == pytest.approx(_maximin(inc, selectable), abs=1e-6)
    elif algorithm == "minimax":
        assert pi.max() == pytest.approx(_min_max(inc, selectable, 0.0), abs=1e-6)
    elif algorithm == "goldilocks":
        a, b = inst.n / inst.k, GAMMA * inst.k / inst.n
        objective = a * pi.max() + b / pi[selectable].min()
        best = _goldilocks_optimum(inc, selectable, inst.n, inst.k)
        assert best * (1 - tol) <= objective <= best * (1 + tol) + 1e-9, (objective, best)
    elif algorithm == "nash":
        # the optimality condition of max sum log pi: no valid panel has sum 1/pi_i > n'
        inverse = np.where(pi > 0, 1.0 / np.maximum(pi, 1e-300), 0.0)
        worst = max(float(inverse[list(p)].sum()) for p in panels)
        assert worst <= len(selectable) * (1 + NASH_KKT_TOLERANCE), (worst, len(selectable))
    else:
        pytest.fail(f"no brute-force definition for the algorithm {algorithm!r}: add one here")


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_n=8))
def test_every_algorithm_matches_brute_force_and_passes_its_audit(
    algorithm: str, inst: Instance
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        pool, quotas, out = _run(inst, algorithm, Path(scratch))
        check_against_brute_force(inst, algorithm, out)
        report = audit(out, pool, quotas)  # with recompute
        assert report.verified, [c for c in report.checks if not c.passed or c.inconclusive]
        assert report.skipped == [] and report.inconclusive == []


FORMAT_POOL = Instance(
    gender=["F", "M", "F", "M", "F", "M", "F", "F"],
    level=["PG", "UG", "UG", "PG", "FE", "UG", "PG", "UG"],
    services=[["a"], ["a", "b"], [], ["b"], ["a", "c"], ["c"], ["b"], ["a"]],
    house=["", "h1", "h1", "", "h2", "h2", "", ""],
    k=4,
    quotas={
        "gender": {"F": (2, 2), "M": (2, 2)},
        "level": {"PG": (1, 2), "UG": (1, 3), "FE": (0, 1)},
    },
    max_per_household=None,
)
FORMATS = ("csv", "semicolon", "utf-16", "xlsx")


def _write_format(inst: Instance, folder: Path, fmt: str) -> tuple[Path, dict[str, str]]:
    """The pool written in ``fmt``, and the read options select needs for it."""
    pool, _ = inst.write(folder)
    with pool.open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    if fmt == "csv":
        return pool, {}
    if fmt == "semicolon":
        target = folder / "pool-semicolon.csv"
        with target.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, delimiter=";").writerows(
                [[c.replace(";", "|") for c in row] for row in table]
            )
        return target, {"delimiter": ";"}
    if fmt == "utf-16":
        target = folder / "pool-utf16.csv"
        with target.open("w", encoding="utf-16", newline="") as f:
            csv.writer(f).writerows(table)
        return target, {"encoding": "utf-16"}
    target = folder / "pool.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in table:
        sheet.append(row)
    book.save(target)
    return target, {}


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_every_input_format_gives_the_same_lottery(algorithm: str, tmp_path: Path) -> None:
    results = {}
    for fmt in FORMATS:
        folder = tmp_path / fmt
        folder.mkdir()
        pool, options = _write_format(FORMAT_POOL, folder, fmt)
        _, quotas = FORMAT_POOL.write(tmp_path / fmt)
        out = folder / "out"
        select(
            pool, quotas, out=out, seed=3, algorithm=algorithm, samples=LEGACY_SAMPLES, **options
        )
        results[fmt] = _probabilities(out)
        check_against_brute_force(FORMAT_POOL, algorithm, out)
        report = audit(out, pool, quotas)
        assert report.verified, (fmt, [c for c in report.checks if not c.passed])
    assert len(results["csv"]) == FORMAT_POOL.n
    for fmt in FORMATS[1:]:
        assert results[fmt] == results["csv"], fmt
