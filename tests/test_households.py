"""A bound per household (a replacement round: a household with kept members has less room),
through every algorithm, the exact decomposition and its repair, against brute force."""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from panelsel.errors import InfeasibleQuotasError
from panelsel.inputs.model import Model, build_model, cheap_infeasibility
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.lottery.expand import expand
from panelsel.solve.algorithms import leximin, maximin
from panelsel.solve.algorithms.legacy import LegacyProcedure
from panelsel.solve.algorithms.nash import nash
from panelsel.solve.backends import SolverConfig
from panelsel.solve.decompose import decompose
from panelsel.solve.feasibility import require_feasible
from panelsel.solve.relaxation import relaxed_leximin

from .test_leximin import Instance, brute_force_leximin, instances

HOUSES = ("h1", "h2", "h3")


@st.composite
def capped(draw: st.DrawFn) -> tuple[Instance, dict[str, int]]:
    """An instance with a household rule and some households given a lower bound."""
    inst = draw(instances(min_n=5, max_n=9))
    # households of two to four (so that a bound of 1 or 2 binds), some people in none
    house = draw(
        st.lists(st.sampled_from(["", *HOUSES, *HOUSES]), min_size=inst.n, max_size=inst.n)
    )
    m = draw(st.integers(2, 3))
    inst = dataclasses.replace(inst, house=house, max_per_household=m)
    caps = {h: draw(st.sampled_from([1, 1, m - 1, m])) for h in HOUSES}
    return inst, caps


def valid(inst: Instance, caps: dict[str, int], panel: tuple[int, ...]) -> bool:
    """The panel meets the quotas and each household's own bound (no panelsel code)."""
    inst_quotas = dataclasses.replace(inst, max_per_household=None)
    if not inst_quotas.valid(panel):
        return False
    return all(sum(inst.house[i] == h for i in panel) <= caps[h] for h in HOUSES)


def model_of(inst: Instance, caps: dict[str, int], folder: Path) -> Model:
    pool, quotas = inst.write(folder)
    spec = load_quotas(quotas)
    assert spec.households is not None
    room = tuple(((h,), c) for h, c in caps.items())
    spec = dataclasses.replace(spec, households=dataclasses.replace(spec.households, room=room))
    return build_model(load_pool(pool, id_column=spec.id_column), spec)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capped())
def test_every_algorithm_keeps_each_households_own_bound(
    case: tuple[Instance, dict[str, int]],
) -> None:
    inst, caps = case
    feasible = [p for p in itertools.combinations(range(inst.n), inst.k) if valid(inst, caps, p)]
    with tempfile.TemporaryDirectory() as d:
        model = model_of(inst, caps, Path(d))
    # the model's caps are the households' own (a household no larger than its bound is
    # not constrained at all)
    for types, cap in zip(model.households, model.household_caps, strict=True):
        house = {inst.house[int(model.type_members[t][0])] for t in types}
        assert len(house) == 1 and cap == caps[house.pop()] < len(types)
    config = SolverConfig()
    if not feasible:  # the lower bounds leave no panel: said, not solved around
        # the feasibility ILP is the one verdict (compute runs it before any algorithm)
        with pytest.raises(InfeasibleQuotasError):
            require_feasible(model, config)
        return
    people = [set(p) for p in feasible]
    event(f"binding households with a lower bound: {not model.uniform_households}")
    exact = brute_force_leximin(inst.n, feasible)
    lottery = expand(model, leximin(model, config, lambda *_: None))
    for members in lottery.panels:
        assert set(members.tolist()) in people
    np.testing.assert_allclose(lottery.marginals(model.n), exact, atol=1e-5)
    fair = expand(model, maximin(model, config, lambda *_: None))
    assert all(set(p.tolist()) in people for p in fair.panels)
    assert fair.marginals(model.n).min() == pytest.approx(exact.min(), abs=1e-5)
    geometric = expand(model, nash(model, config, lambda *_: None))
    assert all(set(p.tolist()) in people for p in geometric.panels)
    procedure = LegacyProcedure(model)
    rng = np.random.default_rng(0)
    for _ in range(5):
        panel = procedure.attempt(rng)
        assert panel is None or set(panel.tolist()) in people
    # the exact decomposition of the relaxation's targets and its exchange repair
    targets = relaxed_leximin(model, config).probabilities
    for counts in decompose(model, targets, np.random.default_rng(1)).panels:
        members = np.concatenate(
            [model.type_members[t][: counts[t]] for t in range(model.n_types) if counts[t]]
        )
        assert set(members.tolist()) in people


def test_panel_violations_name_a_households_own_bound(tmp_path: Path) -> None:
    inst = Instance(
        gender=["F", "M", "F", "M"],
        level=["PG"] * 4,
        services=[[]] * 4,
        house=["h1", "h1", "h2", "h2"],
        k=2,
        quotas={"gender": {"F": (1, 1), "M": (1, 1)}, "level": {"PG": (2, 2)}},
        max_per_household=2,
    )
    model = model_of(inst, {"h1": 1, "h2": 2, "h3": 2}, tmp_path)
    assert model.household_caps == [1] and not model.uniform_households  # h2 cannot bind
    assert model.panel_violations([0, 1]) == ["household of [0, 1]: 2 selected, above 1"]
    assert model.panel_violations([2, 3]) == []
    # the cheap check counts each household's own bound: 1 from h1 + 2 from h2 < 4 seats
    four = dataclasses.replace(inst, k=4, quotas={"gender": {"F": (2, 2), "M": (2, 2)},
                                                  "level": {"PG": (4, 4)}})  # fmt: skip
    spec = load_quotas(four.write(tmp_path)[1])
    model = model_of(four, {"h1": 1, "h2": 2, "h3": 2}, tmp_path)
    assert cheap_infeasibility(model, spec) == [
        "with at most 2 per household (less where kept members live) only 3 registrants can "
        "be selected together, below 4"
    ]
