"""Forged selections, every file made consistent by the forger: the audit must reject each one
with exit 5 and name the check that caught it (issue 13, item 2), and an untouched run must
pass.  Also: no private data in the audit's messages without an id column (item 4)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.audit import audit
from panelsel.commands.select import select
from panelsel.inputs.load import load_inputs
from panelsel.inputs.pool import load_pool
from panelsel.lotteries import Lottery
from panelsel.lottery.expand import draw
from panelsel.outputs.files import write_csv

from .conftest import EXAMPLE

REG, QUO = EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml"
RUNNER = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
SEED = 12345


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "o"
    select(REG, QUO, out=out, seed=SEED)
    return out


def _copy(original: Path, tmp_path: Path) -> Path:
    out = tmp_path / "forged"
    out.mkdir()
    for path in original.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    return out


def _rewrite(out: Path, doc: dict[str, Any], estimated: bool = False) -> None:
    """Write the forged lottery.json and make panel.csv, remaining.csv and probabilities.csv
    agree with it, as a careful forger would."""
    pool = load_pool(REG, id_column="student_id")
    row = {pid: i for i, pid in enumerate(pool.ids)}
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")
    chosen = {row[m] for m in doc["selected_members"]}
    for name, wanted in (("panel.csv", True), ("remaining.csv", False)):
        rows = [r for i, r in enumerate(pool.rows) if (i in chosen) == wanted]
        write_csv(out / name, pool.columns, rows)
    marginals = np.zeros(len(pool))
    for panel in doc["panels"]:
        marginals[[row[m] for m in panel["members"]]] += panel["probability"]
    with (out / "probabilities.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    if estimated:
        table[0][1] = "probability_estimate"
    for line in table[1:]:
        line[1] = format(float(marginals[row[line[0]]]), ".12g")
    with (out / "probabilities.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(table)


def _audit(out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = RUNNER.invoke(app, ["audit", str(out), str(REG), str(QUO), "--json", *extra])
    return result.exit_code, json.loads(result.stdout)


def _failed(report: dict[str, Any]) -> set[str]:
    return {c["name"] for c in report["checks"] if not c["passed"]}


def _friend_panel(doc: dict[str, Any]) -> tuple[int, str]:
    """The likeliest panel holding somebody the seed did not select."""
    drawn = set(doc["selected_members"])
    best = max(
        (j for j, p in enumerate(doc["panels"]) if set(p["members"]) - drawn),
        key=lambda j: doc["panels"][j]["probability"],
    )
    return best, sorted(set(doc["panels"][best]["members"]) - drawn)[0]


def test_the_untouched_run_passes_every_check(original: Path) -> None:
    code, report = _audit(original)
    assert code == 0 and report["passed"] and report["skipped"] == []
    names = [c["name"] for c in report["checks"]]
    for name in ("method", "canonical order", "type symmetry", "optimality", "recompute"):
        assert name in names


def test_reordered_panels_that_make_the_seed_draw_a_friend_are_caught(
    original: Path, tmp_path: Path
) -> None:
    out = _copy(original, tmp_path)
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    j, friend = _friend_panel(doc)
    target = doc["panels"][j]
    others = sorted(
        (p for i, p in enumerate(doc["panels"]) if i != j), key=lambda p: -p["probability"]
    )
    u = np.random.default_rng(SEED).random()
    before, after, acc = [], [], 0.0
    for panel in others:  # fill the cumulative probability up to just below u
        if acc + panel["probability"] <= u:
            before.append(panel)
            acc += panel["probability"]
        else:
            after.append(panel)
    assert acc <= u < acc + target["probability"], "this pool offers no such reordering"
    doc["panels"] = [*before, target, *after]
    probs = np.array([p["probability"] for p in doc["panels"]])
    index = draw(
        Lottery([np.zeros(0, dtype=np.intp)] * len(probs), probs), np.random.default_rng(SEED)
    )
    assert index == len(before)  # the recorded seed now draws the forger's panel
    doc["selected"], doc["selected_members"] = index, target["members"]
    _rewrite(out, doc)
    assert friend in (out / "panel.csv").read_text(encoding="utf-8")
    code, report = _audit(out)
    assert code == 5 and {"canonical order", "recompute"} <= _failed(report)
    # every other file is consistent: only the order (and the rerun) give it away
    assert "selected" not in _failed(report) and "marginals" not in _failed(report)
    code, report = _audit(out, "--no-recompute")
    assert code == 5 and _failed(report) == {"canonical order"}


def test_a_member_swapped_for_someone_of_the_same_type_is_caught(
    original: Path, tmp_path: Path
) -> None:
    out = _copy(original, tmp_path)
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    _, pool, model = load_inputs(REG, QUO)
    drawn = set(doc["selected_members"])
    swap = next(
        (pool.ids[a], pool.ids[b])
        for members in model.type_members
        for a in members
        for b in members
        if pool.ids[a] in drawn and pool.ids[b] not in drawn
    )
    panel = doc["panels"][doc["selected"]]
    row = {pid: i for i, pid in enumerate(pool.ids)}
    panel["members"] = sorted(
        [swap[1] if m == swap[0] else m for m in panel["members"]], key=row.__getitem__
    )
    doc["selected_members"] = panel["members"]
    _rewrite(out, doc)
    code, report = _audit(out, "--no-recompute")
    assert code == 5 and "type symmetry" in _failed(report)
    assert "panels" not in _failed(report)  # the swapped panel still meets every quota
    code, report = _audit(out)
    assert code == 5 and {"type symmetry", "recompute"} <= _failed(report)


@pytest.mark.parametrize("algorithm", ["legacy", "none"])
def test_one_panel_with_probability_one_under_another_method_is_caught(
    original: Path, tmp_path: Path, algorithm: str
) -> None:
    out = _copy(original, tmp_path)
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    j, _ = _friend_panel(doc)
    members = doc["panels"][j]["members"]
    legacy = algorithm == "legacy"
    doc.update(
        algorithm=algorithm,
        estimated=legacy,
        panels=[{"members": members, "probability": 1.0}],
        selected=0,
        selected_members=members,
        samples=10000,
    )
    _rewrite(out, doc, estimated=legacy)
    code, report = _audit(out)
    assert code == 5
    if legacy:
        assert {"recompute", "selected"} <= _failed(report)
    else:
        assert {"method", "optimality"} <= _failed(report)
        detail = next(c["detail"] for c in report["checks"] if c["name"] == "method")
        assert "'none', which panelsel does not have" in detail


def test_estimated_must_match_the_algorithm(original: Path, tmp_path: Path) -> None:
    out = _copy(original, tmp_path)
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    doc["estimated"] = True
    _rewrite(out, doc, estimated=True)
    code, report = _audit(out, "--no-recompute")
    assert code == 5 and "method" in _failed(report)


def test_no_recompute_is_reported_as_skipped(original: Path) -> None:
    code, report = _audit(original, "--no-recompute")
    assert code == 0 and report["skipped"] == ["recompute"]
    table = RUNNER.invoke(app, ["audit", str(original), str(REG), str(QUO), "--no-recompute"])
    assert "skipped: recompute" in table.stdout


def test_a_public_lottery_with_reordered_panels_is_caught(tmp_path: Path) -> None:
    out = tmp_path / "pub"
    select(REG, QUO, out=out, seed=3, panels=50)
    assert audit(out, REG, QUO).passed
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    first, last = doc["panels"][0]["members"], doc["panels"][-1]["members"]
    doc["panels"][0]["members"], doc["panels"][-1]["members"] = last, first
    text = json.dumps(doc)
    (out / "lottery.json").write_text(text, encoding="utf-8")
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()
    (out / "lottery.sha256").write_text(f"{digest}  lottery.json\n", encoding="utf-8")
    report = audit(out, REG, QUO, recompute=False)
    assert not report.passed
    assert "canonical order" in {c.name for c in report.checks if not c.passed}


def test_audit_without_ids_names_rows_not_people(tmp_path: Path) -> None:
    rows = [
        [f"Person {i}", f"p{i}@example.org", "F" if i % 2 else "M", f"{i} High St"]
        for i in range(10)
    ]
    pool = tmp_path / "pool.csv"
    write_csv(pool, ["name", "email", "g", "address"], rows)
    quotas = tmp_path / "q.yaml"
    quotas.write_text("panel_size: 4\ncategories:\n  g: {quotas: {F: 2, M: 2}}\n", "utf-8")
    out = tmp_path / "o"
    select(pool, quotas, out=out, seed=1)
    with (out / "panel.csv").open(encoding="utf-8", newline="") as f:
        panel = list(csv.reader(f))
    with (out / "remaining.csv").open(encoding="utf-8", newline="") as f:
        remaining = list(csv.reader(f))
    panel[1], remaining[1] = remaining[1], panel[1]  # somebody else put on the panel
    write_csv(out / "panel.csv", panel[0], panel[1:])
    write_csv(out / "remaining.csv", remaining[0], remaining[1:])
    result = RUNNER.invoke(app, ["audit", str(out), str(pool), str(quotas), "--json"])
    assert result.exit_code == 5
    assert "pool row(s) [" in result.stdout
    for secret in ("@example.org", "Person ", "High St"):
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["remaining.csv", "probabilities.csv", "report.html"])
def test_a_deleted_file_fails_the_files_check(original: Path, tmp_path: Path, name: str) -> None:
    out = _copy(original, tmp_path)
    (out / name).unlink()
    code, report = _audit(out)
    assert code == 5 and [c["name"] for c in report["checks"]] == ["files"]
    detail = report["checks"][0]["detail"]
    assert f"the folder lacks {name}, which a drawn run writes" in detail


def test_goldilocks_certificate_of_a_forged_lottery_is_a_verdict_not_a_crash() -> None:
    """Issue 29, item 9: the audit's own Goldilocks search divided by a zero minimum
    (ZeroDivisionError, exit 1) when the lottery.json was edited; the objective of a
    lottery that leaves someone counted at 0 is infinite."""
    from panelsel.audit.certificates import extremes_certificate

    _, pool, model = load_inputs(REG, QUO)
    doc_panel = np.arange(model.k, dtype=np.intp)  # one panel, as a forger lists it
    forged = np.full(model.n, model.k / model.n)  # marginals claimed for everyone
    a, b = model.n / model.k, model.k / model.n
    check = extremes_certificate(model, [doc_panel], forged, "goldilocks", a, b, ids=pool.ids)
    assert check.name == "optimality" and isinstance(check.passed, bool)
    assert check.figures["objective"] == pytest.approx(2.0)


def test_goldilocks_optimality_names_someone_the_lottery_leaves_at_zero(original: Path) -> None:
    """Issue 29, medium: the check named the first member of the panel that proves the
    point, who may well have a chance; it must name someone with none."""
    import re

    from panelsel.audit.certificates import extremes_certificate

    _, pool, model = load_inputs(REG, QUO)
    doc = json.loads((original / "lottery.json").read_text(encoding="utf-8"))
    row = {pid: i for i, pid in enumerate(pool.ids)}
    panel = np.array(sorted(row[m] for m in doc["panels"][0]["members"]), dtype=np.intp)
    marginals = np.full(model.n, model.k / model.n)
    marginals[model.n - 1] = 0.0  # the last registrant (on valid panels) left at 0
    a, b = model.n / model.k, model.k / model.n
    check = extremes_certificate(model, [panel], marginals, "goldilocks", a, b, ids=pool.ids)
    assert not check.passed and "has probability 0 although a valid panel contains them" in (
        check.detail
    )
    named = re.search(r"registrant '([^']+)'", check.detail)
    assert named is not None and named.group(1) == pool.ids[model.n - 1]
    # a best-effort lottery (stopped at its time limit) claims no optimality, and the
    # failure says so first, as every other certificate's does (stress seed 680008)
    stopped = extremes_certificate(
        model, [panel], marginals, "goldilocks", a, b, ids=pool.ids, best_effort=True
    )
    assert not stopped.passed
    assert stopped.detail == "not proven optimal (stopped at its time limit): " + check.detail


def test_a_lower_bound_above_the_objective_fails(tmp_path: Path) -> None:
    """Issue 29, small: the lower bound of a proven Goldilocks lottery was not checked."""
    out = tmp_path / "g"
    select(REG, QUO, out=out, seed=SEED, algorithm="goldilocks")
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    objective = doc["stats"]["objective"]
    doc["stats"]["lower_bound"] = objective * 1.1
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")
    code, report = _audit(out, "--no-recompute")
    assert code == 5 and _failed(report) == {"optimality"}
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "optimality")
    assert "lottery.json states a lower bound of" in detail and "the statement is false" in detail


@pytest.mark.parametrize("seed", [1, SEED])
@pytest.mark.parametrize("algorithm", ["goldilocks", "minimax"])
def test_an_optimal_lottery_without_its_certificate_is_proven_by_the_audit_alone(
    tmp_path: Path, seed: int, algorithm: str
) -> None:
    """Issue 29, medium: with the recorded certificate removed, the audit's own search
    stalled at a gap of 1.9e-5 > 1e-5 on a genuinely optimal Goldilocks lottery (seed 1):
    it linearised 1/min at the lottery's own minimum, where the bound has a kink.  The
    search now moves the tangent point to the top of the (concave) bound."""
    out = tmp_path / "g"
    select(REG, QUO, out=out, seed=seed, algorithm=algorithm)
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    del doc["certificate"]
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")
    code, report = _audit(out, "--no-recompute")
    optimality = next(c for c in report["checks"] if c["name"] == "optimality")
    assert code == 0 and optimality["passed"], optimality["detail"]
    assert "recorded" not in optimality["figures"]
    objective, bound = optimality["figures"]["objective"], optimality["figures"]["bound"]
    assert objective == pytest.approx(doc["stats"]["objective"], rel=1e-6)
    assert 0 <= objective - bound <= 1e-5 * objective


def test_the_audits_own_search_still_fails_a_lottery_that_is_not_optimal(tmp_path: Path) -> None:
    """The same search, without a certificate, on a Goldilocks lottery whose probabilities
    were moved towards one panel: a better lottery exists and the check must fail."""
    out = tmp_path / "g"
    select(REG, QUO, out=out, seed=1, algorithm="goldilocks")
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    del doc["certificate"]
    probs = np.array([p["probability"] for p in doc["panels"]])
    probs = 0.8 * probs + 0.2 * np.eye(len(probs))[0]
    for panel, p in zip(doc["panels"], probs, strict=True):
        panel["probability"] = float(p)
    _rewrite(out, doc)
    code, report = _audit(out, "--no-recompute")
    assert code == 5 and "optimality" in _failed(report)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("panel_size", "x"),
        ("seed", None),
        ("seed", -1),
        ("inputs", []),
        ("inputs", {"registrants": {"delimiter": 0}}),
        ("panels", [[]]),
        ("panels", [{"members": "S1001", "probability": 1.0}]),
        ("selected_members", 0),
        ("id_column", 0),
        ("estimated", "no"),
        ("samples", [{}]),
    ],
)
def test_a_lottery_json_of_a_shape_panelsel_never_writes_is_refused(
    original: Path, tmp_path: Path, key: str, value: object
) -> None:
    """A field of the wrong type gave "Internal error: ValueError / TypeError /
    AttributeError" (exit 1) for seven of these edits (the other four failed unrelated
    checks), and for more that a fuzz of one-field edits found over a drawn run, a public
    lottery, a legacy run and a round.  It is now a verification failure (exit 5) that
    names the field, before any check reads it."""
    out = _copy(original, tmp_path)
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    doc[key] = value
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")
    result = RUNNER.invoke(app, ["audit", str(out), str(REG), str(QUO)])
    assert result.exit_code == 5, result.output
    assert f"'{key}' is {json.dumps(value)[:20]}" in " ".join(result.output.split())
    assert "which panelsel never writes" in " ".join(result.output.split())
    assert "Internal error" not in result.output
