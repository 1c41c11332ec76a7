"""The legacy procedure against an exact enumeration of its random choices on tiny pools."""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from panelsel.errors import SolverError
from panelsel.inputs.model import Model, build_model
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.solve.algorithms.legacy import (
    MAX_ATTEMPTS,
    LegacyProcedure,
    estimate,
    legacy_draw,
    wilson_interval,
)

from .conftest import BENCHDATA
from .test_leximin import Instance, check_lottery, instances


def _model(inst: Instance, folder: Path) -> Model:
    pool, quotas = inst.write(folder)
    spec = load_quotas(quotas)
    return build_model(load_pool(pool, id_column=spec.id_column), spec, compress_types=False)


def exact_legacy(inst: Instance) -> dict[tuple[int, ...], Fraction]:
    """The probability that one attempt ends with each panel (attempts that get stuck make
    up the rest), by enumerating every random choice; written from the procedure's
    description, sharing no code with panelsel."""
    # (min, max, people with the value), in the quota file's order, which breaks ties
    # between values: Instance.write's YAML has its keys sorted
    feats: list[tuple[int, int, set[int]]] = []
    for cat, values in (("gender", inst.gender), ("level", inst.level)):
        for v, (lo, hi) in sorted(inst.quotas[cat].items()):
            feats.append((lo, min(hi, inst.k), {i for i in range(inst.n) if values[i] == v}))
    for v, (lo, hi) in sorted(inst.quotas.get("services", {}).items()):
        feats.append((lo, min(hi, inst.k), {i for i in range(inst.n) if v in inst.services[i]}))
    out: dict[tuple[int, ...], Fraction] = {}

    def step(remaining: frozenset[int], chosen: tuple[int, ...], prob: Fraction) -> None:
        if len(chosen) == inst.k:
            if all(len(people & set(chosen)) >= lo for lo, _, people in feats):
                key = tuple(sorted(chosen))
                out[key] = out.get(key, Fraction(0)) + prob
            return
        best, best_ratio = None, None
        for lo, hi, people in feats:
            have, left = len(people & set(chosen)), len(people & remaining)
            if lo - have > left:
                return  # stuck
            if left and hi > 0:
                ratio = Fraction(lo - have, left)
                if best_ratio is None or ratio > best_ratio:
                    best, best_ratio = people, ratio
        if best is None:
            return
        candidates = sorted(best & remaining)
        for person in candidates:
            now = (*chosen, person)
            gone = {person}
            for _, hi, people in feats:
                if person in people and len(people & set(now)) >= hi:
                    gone |= people
            if inst.max_per_household is not None and inst.house[person]:
                mates = {i for i in range(inst.n) if inst.house[i] == inst.house[person]}
                if len(mates & set(now)) >= inst.max_per_household:
                    gone |= mates
            step(remaining - gone, now, prob / len(candidates))

    closed = {i for _, hi, people in feats if hi == 0 for i in people}
    step(frozenset(range(inst.n)) - closed, (), Fraction(1))
    return out


def conditioned(out: dict[tuple[int, ...], Fraction]) -> dict[tuple[int, ...], Fraction]:
    """The distribution of finished attempts (restarts condition on finishing)."""
    total = sum(out.values())
    return {panel: p / total for panel, p in out.items()}


# no shrinking: each example runs thousands of procedures, and shrinking took minutes
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.generate],
)
@given(instances(), st.integers(0, 2**32))
def test_legacy_estimates_cover_the_exact_probabilities(inst: Instance, seed: int) -> None:
    finished = exact_legacy(inst)
    exact = conditioned(finished)
    with tempfile.TemporaryDirectory() as d:
        model = _model(inst, Path(d))
    order = [(f.category, f.value) for f in model.features]
    assert order == [(c, v) for c in sorted(inst.quotas) for v in sorted(inst.quotas[c])]
    if not exact:  # the procedure can never finish: it must say so, not return a panel
        with pytest.raises(SolverError, match="legacy procedure got stuck"):
            estimate(model, seed, samples=50)
        return
    probs = np.zeros(inst.n)
    for panel, p in exact.items():
        probs[list(panel)] += float(p)
    samples = 4000
    try:
        est = estimate(model, seed, samples=samples)
    except SolverError:
        # one of the runs failed MAX_ATTEMPTS times in a row: only acceptable when that is
        # not vanishingly unlikely given the exact chance that an attempt finishes
        stuck = (1 - float(sum(finished.values()))) ** MAX_ATTEMPTS
        assert 1 - (1 - stuck) ** samples > 1e-9
        return
    check_lottery(inst, est.lottery, est.probabilities)
    assert est.probabilities.sum() == pytest.approx(inst.k, abs=1e-9)
    assert set(map(tuple, (p.tolist() for p in est.lottery.panels))) <= set(exact)
    # a wide interval (z = 5) so that the fixed-seed draws of hypothesis cannot fail by chance
    low, high = wilson_interval(np.round(est.probabilities * samples).astype(np.int64), samples, 5)
    assert np.all(low - 1e-12 <= probs) and np.all(probs <= high + 1e-12), (
        probs,
        est.probabilities,
    )


def test_same_seed_same_panel_and_estimates(small_pool: Path, small_quotas: Path) -> None:
    spec = load_quotas(small_quotas)
    model = build_model(load_pool(small_pool, id_column=spec.id_column), spec)
    a = estimate(model, 7, samples=300)
    b = estimate(model, 7, samples=300)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    np.testing.assert_array_equal(a.drawn, b.drawn)
    np.testing.assert_array_equal(legacy_draw(model, 7), a.drawn)
    assert a.lottery.panels[0].tolist() == sorted(a.lottery.panels[0].tolist())
    c = estimate(model, 8, samples=300)
    assert not np.array_equal(a.probabilities, c.probabilities)


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(np.array([0, 50, 100]), 100)
    assert low[0] == 0 and high[0] == pytest.approx(0.0622, abs=1e-4)
    assert low[1] == pytest.approx(0.3753, abs=1e-4) and high[1] == pytest.approx(0.6247, abs=1e-4)
    assert high[2] == 1 and low[2] == pytest.approx(0.9378, abs=1e-4)


def test_procedure_serves_the_neediest_value_first(tmp_path: Path) -> None:
    # 1 'X' among 5, min 1 X: the first step's ratio is 1/1 for X, so X is always chosen
    from .conftest import write_csv

    pool = write_csv(
        tmp_path / "p.csv",
        ["id", "g"],
        [["a", "Y"], ["b", "Y"], ["c", "Y"], ["d", "Y"], ["x", "X"]],
    )
    quotas = tmp_path / "q.yaml"
    quotas.write_text("panel_size: 2\ncategories:\n  g: {quotas: {X: 1, Y: 1}}\n", encoding="utf-8")
    spec = load_quotas(quotas)
    model = build_model(load_pool(pool, id_column=spec.id_column), spec)
    procedure = LegacyProcedure(model)
    rng = np.random.default_rng(0)
    for _ in range(20):
        panel = procedure.attempt(rng)
        assert panel is not None and 4 in panel.tolist()
    est = estimate(model, 0, samples=2000)
    assert est.probabilities[4] == 1.0
    assert est.probabilities[:4].sum() == pytest.approx(1.0)
    # the other seat goes to one of the four Ys uniformly: 1/4 each, 99% intervals cover it
    assert np.all((est.low[:4] <= 0.25) & (est.high[:4] >= 0.25))


@pytest.mark.skipif(not BENCHDATA.is_dir(), reason=f"no shared benchdata at {BENCHDATA}")
def test_example_small_20_matches_the_published_legacy_curve() -> None:
    import csv

    folder = BENCHDATA / "example_small_20"
    spec = load_quotas(folder / "categories.csv", panel_size=20)
    model = build_model(load_pool(folder / "respondents.csv"), spec)
    est = estimate(model, 1, samples=10_000)
    with (folder / "example_small_20_prob_allocs_data.csv").open(encoding="utf-8") as f:
        published = sorted(
            float(r["selection probability"])
            for r in csv.DictReader(f)
            if r["algorithm"] == "Legacy"
        )
    ours = np.sort(est.probabilities)
    assert len(ours) == len(published) == 200
    # both are estimates over 10,000 runs: sorted curves agree to Monte-Carlo noise
    assert np.abs(ours - np.array(published)).max() < 0.005
    # the published minimum is 0.0096 (statistics file); ours is of the same size
    assert 0.005 < ours[0] < 0.015


def test_a_best_effort_legacy_run_says_how_many_runs_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 29, medium: a legacy run stopped by its time limit said '10000 runs' while
    lottery.json recorded 200, and called its estimates 'exact for this lottery'.  The time
    limit is made to have run out from the start (no test depends on timing)."""
    import json

    from panelsel.commands.select import select
    from panelsel.solve.algorithms.legacy import PROGRESS_EVERY
    from panelsel.solve.backends import SolverConfig

    from .conftest import EXAMPLE

    monkeypatch.setattr(SolverConfig, "timed_out", lambda self: True)
    result = select(
        EXAMPLE / "registrants.csv",
        EXAMPLE / "quotas.yaml",
        out=tmp_path / "out",
        seed=3,
        algorithm="legacy",
        samples=1000,
        time_limit=60,
        best_effort=True,
    )
    document = json.loads((tmp_path / "out" / "lottery.json").read_text(encoding="utf-8"))
    assert document["samples"] == PROGRESS_EVERY == result.samples
    said = " ".join(result.notes)
    assert f"after {PROGRESS_EVERY} of the 1000 runs asked for" in said
    assert f"Monte-Carlo estimates over {PROGRESS_EVERY} runs" in said
    assert "exact for this lottery" not in said
