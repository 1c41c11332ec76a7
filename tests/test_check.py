"""``panelsel check``: cheap checks, the minimum relaxation, conflicts and exclusions, checked
against brute force over every panel of tiny pools."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.check import check, parse_priorities
from panelsel.commands.select import select
from panelsel.errors import BadInputError
from panelsel.inputs.model import build_model, cheap_infeasibility
from panelsel.inputs.pool import load_pool
from panelsel.inputs.quotas import load_quotas
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import diagnose

from .conftest import EXAMPLE, write_csv
from .test_leximin import Instance

RUNNER_ENV = {"COLUMNS": "120", "NO_COLOR": "1"}

# 4 F-PG, 2 F-UG, 1 M-PG, 3 M-UG
POOL = [
    ["a", "F", "PG"],
    ["b", "F", "PG"],
    ["c", "F", "PG"],
    ["d", "F", "PG"],
    ["e", "F", "UG"],
    ["f", "F", "UG"],
    ["g", "M", "PG"],
    ["h", "M", "UG"],
    ["i", "M", "UG"],
    ["j", "M", "UG"],
]


def _files(tmp_path: Path, quotas: str, rows: list[list[str]] = POOL) -> tuple[Path, Path]:
    pool = write_csv(tmp_path / "pool.csv", ["id", "g", "l"], rows)
    q = tmp_path / "quotas.yaml"
    q.write_text(quotas, encoding="utf-8")
    return pool, q


def _reasons(pool: Path, quotas: Path) -> list[str]:
    spec = load_quotas(quotas)
    return cheap_infeasibility(build_model(load_pool(pool, id_column=spec.id_column), spec), spec)


# ------------------------------------------------------------------ cheap checks


def _cats(gender: str) -> str:
    return (
        f"categories:\n  g: {{quotas: {{{gender}}}}}\n"
        "  l: {quotas: {PG: {min: 0}, UG: {min: 0}}}\n"
    )


def test_cheap_check_value_with_too_few_registrants(tmp_path: Path) -> None:
    pool, q = _files(tmp_path, "panel_size: 4\n" + _cats("F: {min: 0}, M: {min: 5}"))
    assert _reasons(pool, q) == [
        "g = M: the minimum is 5 but only 4 registrant(s) have this value",
        "g = M: the minimum 5 is above the panel size 4",
        "g: the minimums add up to 5, above the panel size 4",
    ]


def test_cheap_check_minimums_above_k(tmp_path: Path) -> None:
    pool, q = _files(tmp_path, "panel_size: 4\n" + _cats("F: {min: 3}, M: {min: 2}"))
    assert _reasons(pool, q) == ["g: the minimums add up to 5, above the panel size 4"]
    d = check(pool, q, relaxed_out=tmp_path / "r.yaml")
    assert d.reasons == ["g: the minimums add up to 5, above the panel size 4"]
    assert d.conflict is not None and d.conflict.explanation == (
        "g = F ≥ 3 and g = M ≥ 2 cannot both hold: the minimums add up to 5, above 4 seats"
    )
    assert d.relaxation_cost == 1


def test_cheap_check_maximums_below_k(tmp_path: Path) -> None:
    pool, q = _files(
        tmp_path, "panel_size: 6\n" + _cats("F: {min: 0, max: 2}, M: {min: 0, max: 3}")
    )
    assert _reasons(pool, q) == [
        "g: at most 5 seats can be filled (each value's maximum, or its number of registrants "
        "if smaller), below the panel size 6"
    ]


def test_cheap_check_multi_valued_minimums(tmp_path: Path) -> None:
    rows = [["a", "x;y"], ["b", "x"], ["c", "y"], ["d", "z"], ["e", "z"]]
    pool = write_csv(tmp_path / "p.csv", ["id", "s"], rows)
    q = tmp_path / "q.yaml"
    q.write_text(
        "panel_size: 2\ncategories:\n  s:\n    multi_value: ';'\n"
        "    quotas: {x: {min: 1}, y: {min: 1}, z: {min: 2}}\n",
        encoding="utf-8",
    )
    # 4 value-seats asked of 2 people, who hold at most 2 + 1 = 3 values
    assert _reasons(pool, q) == [
        "s: the minimums ask for 4 value-seats, but no 2 registrants hold more than 3 of these "
        "values between them"
    ]


# ------------------------------------------------------------------ relaxation and conflict

CONFLICT = """\
panel_size: 4
categories:
  g: {quotas: {F: {min: 0, max: 4}, M: {min: 3, max: 4}}}
  l: {quotas: {PG: {min: 3, max: 4}, UG: {min: 0, max: 4}}}
"""


def test_known_minimum_relaxation_and_conflict(tmp_path: Path) -> None:
    # M >= 3 and PG >= 3 in 4 seats need two male postgraduates, the pool has one:
    # lowering either minimum by 1 is the smallest change (cost 1)
    pool, q = _files(tmp_path, CONFLICT)
    d = check(pool, q, relaxed_out=tmp_path / "r.yaml")
    assert not d.feasible and d.relaxation_cost == 1
    assert d.changes is not None and len(d.changes) == 1
    assert d.conflict is not None
    assert sorted(d.conflict.items) == [("g", "M", "min", 3), ("l", "PG", "min", 3)]
    assert d.conflict.explanation == (
        "g = M ≥ 3 and l = PG ≥ 3 cannot both hold with 4 seats: at least 2 seats would need "
        "people who are both M and PG, but only 1 registrant(s) are"
    )
    # the relaxed file round-trips through select
    out = select(pool, tmp_path / "r.yaml", out=tmp_path / "o", seed=1)
    assert out.k == 4


@pytest.mark.parametrize(("priority", "changed"), [("g=10", ("l", "PG")), ("l=10", ("g", "M"))])
def test_priorities_keep_a_category_tight(tmp_path: Path, priority: str, changed: tuple) -> None:
    pool, q = _files(tmp_path, CONFLICT)
    d = check(pool, q, relaxed_out=tmp_path / "r.yaml", relax_priority=priority)
    assert d.changes is not None
    assert [(c.category, c.value, c.new_min) for c in d.changes] == [
        (*changed, d.changes[0].old_min - 1)
    ]
    assert d.relaxation_cost == 1
    text = (tmp_path / "r.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["categories"][changed[0]]["quotas"][changed[1]]["min"] == d.changes[0].new_min


def test_priority_parsing() -> None:
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    assert parse_priorities("gender=10, level=2.5", spec) == {
        "gender": 10.0,
        "level": 2.5,
        "services": 1.0,
    }
    with pytest.raises(BadInputError, match="'age=1' does not name a category"):
        parse_priorities("age=1", spec)
    with pytest.raises(BadInputError, match="must be a positive number"):
        parse_priorities("gender=0", spec)


def test_categories_csv_relaxed_in_its_own_format(tmp_path: Path) -> None:
    pool = write_csv(tmp_path / "pool.csv", ["id", "g", "l"], POOL)
    cats = write_csv(
        tmp_path / "cats.csv",
        ["category", "feature", "min", "max"],
        [["g", "F", 0, 4], ["g", "M", 3, 4], ["l", "PG", 3, 4], ["l", "UG", 0, 4]],
    )
    d = check(pool, cats, panel_size=4, relaxed_out=tmp_path / "cats.relaxed.csv")
    assert not d.feasible
    lines = (tmp_path / "cats.relaxed.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "category,feature,min,max" and len(lines) == 5
    select(pool, tmp_path / "cats.relaxed.csv", panel_size=4, out=tmp_path / "o", seed=2)


def test_feasible_check_ranges_and_exclusions(tmp_path: Path) -> None:
    # X has max 0: its one registrant can never be selected, and the reason says so
    rows = [*POOL, ["x", "X", "PG"]]
    pool, q = _files(
        tmp_path,
        "panel_size: 4\ncategories:\n"
        "  g: {quotas: {F: {min: 2, max: 3}, M: {min: 1, max: 2}, X: 0}}\n"
        "  l: {quotas: {PG: {min: 1, max: 3}, UG: {min: 1, max: 3}}}\n",
        rows,
    )
    d = check(pool, q, relaxed_out=tmp_path / "never.yaml")
    assert d.feasible and d.changes is None and not (tmp_path / "never.yaml").exists()
    ranges = {(v.category, v.value): (v.lowest, v.highest) for v in d.values}
    assert ranges == {
        ("g", "F"): (2, 3),
        ("g", "M"): (1, 2),
        ("g", "X"): (0, 0),
        ("l", "PG"): (1, 3),
        ("l", "UG"): (1, 3),
    }
    assert d.excluded_count == 1
    assert d.excluded[0].ids == ["x"] and "g = X ≤ 0" in d.excluded[0].reason


def test_cli_check_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner(env=RUNNER_ENV)
    pool, q = _files(tmp_path, CONFLICT)
    relaxed = tmp_path / "r.yaml"
    result = runner.invoke(app, ["check", str(pool), str(q), "--relaxed-out", str(relaxed)])
    assert result.exit_code == 3, result.stdout
    assert "Infeasible" in result.stdout and "Smallest change (1 seat(s)" in result.stdout
    assert relaxed.is_file()
    # an existing relaxed file is not replaced without --force, and the exit code is the
    # quotas' verdict again (3), not a complaint about the file (issue 16, item 8)
    relaxed.write_text(relaxed.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(pool), str(q), "--relaxed-out", str(relaxed)])
    assert result.exit_code == 3 and "Smallest change (1 seat(s)" in result.stdout
    assert "exists and was left as it is; pass --force to replace it" in " ".join(
        result.stdout.split()
    )
    assert relaxed.read_text(encoding="utf-8").endswith("# edited\n")
    result = runner.invoke(
        app, ["check", str(pool), str(q), "--relaxed-out", str(relaxed), "--force", "--json"]
    )
    assert result.exit_code == 3
    import json

    data = json.loads(result.stdout)
    assert data["feasible"] is False and data["relaxation"]["cost"] == 1
    result = runner.invoke(
        app, ["check", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")]
    )
    assert result.exit_code == 0 and "Feasible" in result.stdout


def test_select_error_names_the_conflict_and_the_change(tmp_path: Path) -> None:
    runner = CliRunner(env=RUNNER_ENV)
    pool, q = _files(tmp_path, CONFLICT)
    result = runner.invoke(app, ["select", str(pool), str(q), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "conflict: g = M ≥ 3 and l = PG ≥ 3" in result.stderr.replace("\n", " ")
    assert "smallest change that admits a panel (1 seat(s))" in result.stderr.replace("\n", " ")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ against brute force


def _counts(inst: Instance, panel: tuple[int, ...]) -> dict[tuple[str, str], int]:
    out = {}
    for cat, values in (("gender", inst.gender), ("level", inst.level)):
        for v in inst.quotas[cat]:
            out[(cat, v)] = sum(values[i] == v for i in panel)
    for v in inst.quotas.get("services", {}):
        out[("services", v)] = sum(v in inst.services[i] for i in panel)
    return out


def _households_ok(inst: Instance, panel: tuple[int, ...]) -> bool:
    if inst.max_per_household is None:
        return True
    return all(
        sum(inst.house[i] == h for i in panel) <= inst.max_per_household
        for h in set(inst.house)
        if h
    )


@st.composite
def tight_instances(draw: st.DrawFn) -> Instance:
    """Tiny pools with random (often infeasible) quotas."""
    n = draw(st.integers(4, 8))
    gender = draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n))
    level = draw(st.lists(st.sampled_from(["PG", "UG"]), min_size=n, max_size=n))
    k = draw(st.integers(2, n - 1))
    quotas: dict[str, dict[str, tuple[int, int]]] = {}
    for cat, values in (("gender", gender), ("level", level)):
        quotas[cat] = {}
        for v in sorted(set(values)):
            lo = draw(st.integers(0, k))
            quotas[cat][v] = (lo, draw(st.integers(lo, k)))
    house = draw(st.lists(st.sampled_from(["", "h1", "h2"]), min_size=n, max_size=n))
    max_h = draw(st.sampled_from([None, 1]))
    return Instance(gender, level, [[] for _ in range(n)], house, k, quotas, max_h)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tight_instances(), st.sampled_from([None, "gender=3", "level=2"]))
def test_diagnosis_matches_brute_force(inst: Instance, priority: str | None) -> None:
    panels = list(itertools.combinations(range(inst.n), inst.k))
    bounds = {(cat, v): b for cat, q in inst.quotas.items() for v, b in q.items()}
    weight = {"gender": 1.0, "level": 1.0}
    if priority:
        name, value = priority.split("=")
        weight[name] = float(value)

    def meets(panel: tuple[int, ...], rules: dict[tuple[str, str, str], int], house: bool) -> bool:
        counts = _counts(inst, panel)
        for (cat, v, kind), b in rules.items():
            if (kind == "min" and counts[(cat, v)] < b) or (kind == "max" and counts[(cat, v)] > b):
                return False
        return not house or _households_ok(inst, panel)

    all_rules = {}
    for (cat, v), (lo, hi) in bounds.items():
        all_rules[(cat, v, "min")] = lo
        all_rules[(cat, v, "max")] = hi
    feasible = any(meets(p, all_rules, True) for p in panels)
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        spec = load_quotas(quotas)
        model = build_model(load_pool(pool, id_column=spec.id_column), spec)
        diag = diagnose(
            model,
            spec,
            load_pool(pool, id_column=spec.id_column),
            SolverConfig(),
            priorities=parse_priorities(priority, spec),
        )
    assert diag.feasible == feasible
    if feasible:
        valid = [p for p in panels if meets(p, all_rules, True)]
        for v in diag.values:
            counts = [_counts(inst, p)[(v.category, v.value)] for p in valid]
            assert (v.lowest, v.highest) == (min(counts), max(counts))
        in_some = {i for p in valid for i in p}
        assert diag.excluded_count == inst.n - len(in_some)
        return
    # the cheapest relaxation: over every panel, the weighted seats its counts are outside
    best = min(
        (
            sum(
                weight[cat] * (max(0, lo - c) + max(0, c - hi))
                for (cat, v), (lo, hi) in bounds.items()
                for c in [_counts(inst, p)[(cat, v)]]
            )
            for p in panels
            if _households_ok(inst, p)
        ),
        default=None,
    )
    if best is None:
        assert diag.changes is None and diag.relaxation_note
    else:
        assert diag.relaxation_cost == pytest.approx(best)
    # the conflict is infeasible, and feasible without any one of its rules
    conflict = diag.conflict
    assert conflict is not None
    rules = {(c, v, kind): b for c, v, kind, b in conflict.items if kind != "household"}
    house = any(kind == "household" for _, _, kind, _ in conflict.items)
    assert not any(meets(p, rules, house) for p in panels)
    for drop in conflict.items:
        fewer = {key: b for key, b in rules.items() if key != drop[:3]}
        assert any(meets(p, fewer, house and drop[2] != "household") for p in panels), drop


def test_bundled_infeasible_example_round_trips(tmp_path: Path) -> None:
    runner = CliRunner(env=RUNNER_ENV)
    registrants = str(EXAMPLE / "registrants.csv")
    relaxed = tmp_path / "relaxed.yaml"
    result = runner.invoke(
        app,
        [
            "check",
            registrants,
            str(EXAMPLE / "quotas-infeasible.yaml"),
            "--relaxed-out",
            str(relaxed),
        ],
    )
    assert result.exit_code == 3
    text = " ".join(result.stdout.split())
    assert "services = Disability support: min 9 → 8" in text
    assert (
        "level = Undergraduate ≤ 4 and services = Disability support ≥ 9 cannot both hold with "
        "10 seats" in text
    )
    result = runner.invoke(app, ["select", registrants, str(relaxed), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["check", registrants, str(relaxed)])
    assert result.exit_code == 0 and "Feasible" in result.stdout


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tight_instances(), st.integers(0, 2**32))
def test_random_quotas_give_exit_3_or_a_valid_reproducible_lottery(
    inst: Instance, seed: int
) -> None:
    # random pools and random quota sets: either a clear infeasibility error (exit 3) or a
    # lottery whose every panel meets every quota, marginals summing to k, same seed same panel
    from panelsel.errors import InfeasibleQuotasError

    from .test_leximin import check_lottery

    panels = list(itertools.combinations(range(inst.n), inst.k))
    feasible = any(inst.valid(p) for p in panels)
    with tempfile.TemporaryDirectory() as d:
        pool, quotas = inst.write(Path(d))
        if not feasible:
            with pytest.raises(InfeasibleQuotasError) as error:
                select(pool, quotas, out=Path(d) / "o", seed=seed)
            assert error.value.exit_code == 3 and error.value.reasons
            assert not (Path(d) / "o").exists()
            return
        first = select(pool, quotas, out=Path(d) / "a", seed=seed)
        again = select(pool, quotas, out=Path(d) / "b", seed=seed)
    check_lottery(inst, first.lottery, first.probabilities)
    assert first.panel == again.panel
