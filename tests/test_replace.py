"""Issue 17: ``panelsel replace``: dropouts replaced fairly, within the quotas, and audited."""

from __future__ import annotations

import csv
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.replace import replace
from panelsel.commands.select import select
from panelsel.errors import InfeasibleQuotasError

from .conftest import EXAMPLE
from .test_leximin import Instance, brute_force_leximin, instances

REG = EXAMPLE / "registrants.csv"
QUO = EXAMPLE / "quotas.yaml"


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    select(REG, QUO, out="results", seed=12345)
    return Path("results")


def test_replace_select_audit_and_a_second_round(runner: CliRunner, first: Path) -> None:
    panel = json.loads((first / "lottery.json").read_text(encoding="utf-8"))["selected_members"]
    gone = [panel[1], panel[6]]
    code, stdout, stderr = run(
        runner, "replace", str(first), "--dropouts", ",".join(gone), "--seed", "7",
        "--out", "round-2", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    kept = [pid for pid in panel if pid not in gone]
    assert result["kept"] == kept and len(result["replacements"]) == 2
    assert not set(result["replacements"]) & set(panel)  # nobody selected again
    final = rows(Path("round-2") / "panel.csv")
    assert [r["student_id"] for r in final] == result["final_panel"] and len(final) == 10
    assert {r["panelsel_role"] for r in final if r["student_id"] in kept} == {"kept"}
    # the final panel meets the original quotas (counted here, without panelsel's code)
    assert sum(r["Gender"] == "Female" for r in final) == 5
    assert sum(r["Level of study"] == "Postgraduate" for r in final) == 6
    for service in (
        "Counselling",
        "Mental health advice",
        "Disability support",
        "Wellbeing workshops",
    ):
        assert sum(service in r["Services accessed"].split(";") for r in final) >= 3
    addresses = [(r["Address"].strip().lower(), r["Postcode"].strip().lower()) for r in final]
    assert len(set(addresses)) == len(addresses)  # one per household
    new = [r["student_id"] for r in rows(Path("round-2") / "replacements.csv")]
    assert sorted(new) == sorted(result["replacements"])
    remaining = {r["student_id"] for r in rows(Path("round-2") / "remaining.csv")}
    assert not remaining & (set(panel) | set(new))
    probs = rows(Path("round-2") / "probabilities.csv")
    assert sum(float(r["probability"]) for r in probs) == pytest.approx(2, abs=len(probs) * 5e-7)
    record = json.loads((Path("round-2") / "lottery.json").read_text(encoding="utf-8"))
    assert record["replacement"]["dropouts"] == gone
    assert record["replacement"]["previous"] == str(first / "lottery.json")
    code, stdout, _ = run(runner, "audit", "round-2", str(REG), str(QUO), "--json")
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert code == 0 and checks["replacement"]["passed"] and checks["recompute"]["passed"]
    # a second round, after a replacement drops out too
    again = result["replacements"][0]
    code, stdout, stderr = run(
        runner, "replace", "round-2", "--dropouts", again, "--seed", "8", "--out", "round-3",
        "--json",
    )  # fmt: skip
    assert code == 0, stderr
    third = json.loads(stdout)
    assert again not in third["final_panel"] and len(third["final_panel"]) == 10
    assert not set(third["replacements"]) & (set(panel) | set(result["replacements"]))
    code, stdout, _ = run(runner, "audit", "round-3", str(REG), str(QUO))
    assert code == 0, stdout


def test_a_forged_round_fails_the_audit(runner: CliRunner, first: Path) -> None:
    panel = json.loads((first / "lottery.json").read_text(encoding="utf-8"))["selected_members"]
    code, _, _ = run(runner, "replace", str(first), "--dropouts", panel[0], "--seed", "1",
                     "--out", "r")  # fmt: skip
    assert code == 0
    path = Path("r") / "lottery.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["replacement"]["kept"] = [*record["replacement"]["kept"][1:], panel[0]]
    path.write_text(json.dumps(record), encoding="utf-8")
    code, stdout, _ = run(runner, "audit", "r", str(REG), str(QUO), "--no-recompute", "--json")
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert code == 5
    assert "not the previous panel minus the dropouts" in checks["replacement"]["detail"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--dropouts", "S9999"], 2, "the dropout 'S9999' is not a registrant of this pool"),
        (["--dropouts", "S1001"], 2, "the dropout 'S1001' is not on the panel"),
        (["--dropouts", "S1003,S1003"], 2, "the id 'S1003' is given twice in --dropouts"),
        (["--dropouts", "S1003", "--unavailable", "S1005"], 2, "'S1005' is on the panel"),
        (
            ["--dropouts", "S1003,S1005,S1008,S1015,S1017,S1023,S1033,S1035,S1038,S1045"],
            2,
            "every panel member dropped out",
        ),
        ([], 2, "no dropouts given"),
    ],
)
def test_replace_errors_write_nothing(
    runner: CliRunner, first: Path, args: list[str], code: int, message: str
) -> None:
    assert json.loads((first / "lottery.json").read_text(encoding="utf-8"))["selected_members"] == [
        "S1003",
        "S1005",
        "S1008",
        "S1015",
        "S1017",
        "S1023",
        "S1033",
        "S1035",
        "S1038",
        "S1045",
    ]
    got, _, stderr = run(runner, "replace", str(first), *args, "--out", "never")
    assert got == code, stderr
    assert message in " ".join(stderr.split())
    assert not Path("never").exists()


def test_seats_that_cannot_be_filled_are_explained(runner: CliRunner, first: Path) -> None:
    # everyone who could take the seat is unavailable
    record = json.loads((first / "lottery.json").read_text(encoding="utf-8"))
    panel = record["selected_members"]
    others = [f"S{1001 + i}" for i in range(45) if f"S{1001 + i}" not in panel]
    code, _, stderr = run(
        runner, "replace", str(first), "--dropouts", panel[0], "--unavailable", ",".join(others),
        "--out", "never",
    )  # fmt: skip
    assert code == 3
    said = " ".join(stderr.split())
    assert "the 1 seat(s) cannot be filled within the quotas, because the 9 kept members" in said
    assert not Path("never").exists()
    # people are still available, but none of the dropout's gender, which the seat needs
    gender = {r["student_id"]: r["Gender"] for r in rows(REG)}
    same = [pid for pid in others if gender[pid] == gender[panel[0]]]
    code, _, stderr = run(
        runner, "replace", str(first), "--dropouts", panel[0], "--unavailable", ",".join(same),
        "--out", "never",
    )  # fmt: skip
    said = " ".join(stderr.split())
    assert code == 3, said
    assert (
        f"the 1 seat(s) cannot be filled within the quotas: the 9 kept members already hold "
        f"gender = {'Male' if gender[panel[0]] == 'Female' else 'Female'}: 5 of at most 5"
    ) in said
    assert f"among the {len(others) - len(same)} registrant(s) still available" in said
    assert f"gender = {gender[panel[0]]}: the minimum is 1 but only 0 registrant(s)" in said
    assert "pass --loosen to take that loosening" in said  # shown, taken only if asked
    assert not Path("never").exists()


def test_a_changed_input_file_is_refused(runner: CliRunner, first: Path) -> None:
    changed = Path("changed.csv")
    changed.write_text(REG.read_text(encoding="utf-8").replace("Ines", "Inez"), encoding="utf-8")
    code, _, stderr = run(
        runner, "replace", str(first), "--dropouts", "S1003", "--registrants", str(changed),
        "--out", "never",
    )  # fmt: skip
    assert code == 5 and "is not the registrants file the run used" in stderr
    assert not Path("never").exists()


# ------------------------------------------------ random pools, against brute force


def _twinned(inst: Instance) -> Instance:
    """The pool with a look-alike of everyone (same quota values, no household), so that a
    dropout usually has someone to replace them and the round reaches the brute force."""
    return Instance(
        inst.gender * 2,
        inst.level * 2,
        inst.services * 2,
        inst.house + [""] * inst.n,
        inst.k,
        inst.quotas,
        inst.max_per_household,
    )


Round = tuple[list[int], list[int]]
"""A round's dropouts and unavailable people, as indices drawn from (taken modulo the
panel and the people outside it)."""


@st.composite
def chains(draw: st.DrawFn) -> tuple[Instance, int, list[Round]]:
    inst = draw(instances(min_n=5, max_n=8).filter(lambda i: i.k >= 2))
    if draw(st.sampled_from([True, True, True, False])):
        inst = _twinned(inst)
    seed = draw(st.integers(0, 2**16))
    pick = st.lists(st.integers(0, 20), min_size=1, max_size=min(2, inst.k - 1), unique=True)
    away = st.lists(st.integers(0, 20), max_size=2, unique=True)
    chain = draw(st.lists(st.tuples(pick, away), min_size=1, max_size=3))
    return inst, seed, chain


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_rounds_keep_the_quotas_and_match_brute_force(
    case: tuple[Instance, int, list[Round]],
) -> None:
    """A chain of up to three rounds, each against every way to complete its kept members
    (found without panelsel's code): a round is drawn exactly when a completion exists, its
    final panel meets the quotas, nobody who dropped out or was unavailable in *any* earlier
    round comes back, and its probabilities are LEXIMIN over the completions."""
    inst, seed, chain = case
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        pool, quotas = inst.write(folder)
        select(pool, quotas, out=folder / "r0", seed=seed)
        members = [int(pid[1:]) for pid in sorted(first_members(folder / "r0"))]
        out_for_good: set[int] = set()  # every earlier dropout and unavailable person
        for number, (picks, away) in enumerate(chain, start=1):
            gone = sorted({members[p % len(members)] for p in picks})
            kept = [i for i in members if i not in gone]
            outside = [i for i in range(inst.n) if i not in members and i not in out_for_good]
            unavailable = sorted({outside[p % len(outside)] for p in away}) if outside else []
            left = [i for i in outside if i not in unavailable]
            completions = [
                c for c in itertools.combinations(left, len(gone))
                if inst.valid(tuple(sorted((*kept, *c))))
            ]  # fmt: skip
            try:
                result = replace(
                    folder / f"r{number - 1}",
                    dropouts=[f"r{i}" for i in gone],
                    unavailable=[f"r{i}" for i in unavailable],
                    out=folder / f"r{number}",
                    seed=seed + number,
                )
            except InfeasibleQuotasError:
                assert completions == []  # infeasible exactly when no completion exists
                event(f"chain stopped at round {number}: no completion")
                return
            assert completions, "a round was drawn though no completion exists"
            event(f"round {number} compared with brute force")
            final = tuple(sorted(int(pid[1:]) for pid in result.final))
            assert len(final) == inst.k and inst.valid(final)
            out_for_good |= set(gone) | set(unavailable)
            assert set(kept) <= set(final) and not out_for_good & set(final)
            # the round's probabilities: LEXIMIN over the completions of the kept members
            position = {person: j for j, person in enumerate(left)}
            expected = brute_force_leximin(
                len(left), [tuple(position[p] for p in c) for c in completions]
            )
            probabilities = folder / f"r{number}" / "probabilities.csv"
            with probabilities.open(encoding="utf-8", newline="") as f:
                written = {r["id"]: float(r["probability"]) for r in csv.DictReader(f)}
            # nobody on the panel, dropped out or unavailable (now or before) is in the round
            assert not {f"r{i}" for i in (*members, *out_for_good)} & set(written)
            got = np.array([written.get(f"r{p}", 0.0) for p in left])
            assert np.allclose(got, expected, atol=1e-5), (got, expected)
            members = list(final)


HOUSES = {"r0": "h1", "r1": "h1", "r2": "h1", "r3": "h2", "r4": "h2", "r5": "h2",
          "r6": "h3", "r7": "h3", "r8": "h4", "r9": "h4"}  # fmt: skip


def test_a_household_with_a_kept_member_has_that_much_less_room(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_per_household 2: a household with one kept member has one seat left, one with two
    has none (its other members are left out), and the audit checks what was recorded."""
    monkeypatch.chdir(tmp_path)
    gender = {pid: "FM"[int(pid[1:]) % 2] for pid in HOUSES}
    with Path("pool.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "gender", "house"])
        w.writerows([pid, gender[pid], h] for pid, h in HOUSES.items())
    Path("quotas.yaml").write_text(
        "panel_size: 6\ncategories:\n  gender:\n    quotas:\n"
        "      F: {min: 3, max: 3}\n      M: {min: 3, max: 3}\n"
        "households: {column: house, max_per_household: 2}\n",
        encoding="utf-8",
    )
    checked = 0
    for seed in range(6):
        select(Path("pool.csv"), Path("quotas.yaml"), out=f"s{seed}", seed=seed)
        panel = first_members(Path(f"s{seed}"))
        gone = panel[:1]
        kept = panel[1:]
        result = replace(Path(f"s{seed}"), dropouts=gone, out=f"r{seed}", seed=seed)
        # what the kept members leave, counted here
        living = {h: [p for p in kept if HOUSES[p] == h] for h in set(HOUSES.values())}
        outside = {h: [p for p in HOUSES if HOUSES[p] == h and p not in panel] for h in living}
        rooms = sorted((sorted(ids), 2 - len(ids)) for h, ids in living.items() if len(ids) == 1)
        assert sorted((sorted(r["kept"]), r["room"]) for r in result.household_room) == rooms
        full = sorted(p for h, ids in living.items() if len(ids) == 2 for p in outside[h])
        assert sorted(result.housemates) == full
        final = result.final
        assert len(final) == 6 and set(kept) <= set(final) and gone[0] not in final
        assert sum(gender[p] == "F" for p in final) == 3
        for h in living:
            assert sum(HOUSES[p] == h for p in final) <= 2
        checked += bool(rooms)
        code, stdout, _ = run(runner, "audit", f"r{seed}", "pool.csv", "quotas.yaml")
        assert code == 0, stdout
    assert checked  # some round had a household with a kept member and room left
    # a round that records more room than the kept members leave fails the audit
    seed = next(s for s in range(6) if json.loads(
        (Path(f"r{s}") / "lottery.json").read_text(encoding="utf-8")
    )["replacement"]["household_room"])  # fmt: skip
    path = Path(f"r{seed}") / "lottery.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["replacement"]["household_room"][0]["room"] = 2
    path.write_text(json.dumps(record), encoding="utf-8")
    code, stdout, _ = run(
        runner, "audit", f"r{seed}", "pool.csv", "quotas.yaml", "--no-recompute", "--json"
    )
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert code == 5
    assert "household room is not what the kept members leave" in checks["replacement"]["detail"]


def first_members(folder: Path) -> list[str]:
    return [str(x) for x in json.loads((folder / "lottery.json").read_text())["selected_members"]]


def test_the_readme_worked_example_runs_as_shown(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re
    import shlex
    import shutil

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## When someone drops out", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line[2:] for line in block.group(1).splitlines() if line.startswith("$ ")]
    shown = [line for line in block.group(1).splitlines() if line.startswith("Replacements:")]
    assert [c.split()[1] for c in commands] == ["select", "replace", "audit"]
    shutil.copytree(EXAMPLE.parent, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for command in commands:
        code, stdout, stderr = run(runner, *shlex.split(command)[1:])
        assert code == 0, (command, stderr)
        outputs.append(stdout)
    assert shown and shown[0] in outputs[1]  # the same replacements as the README shows
    assert "Audit passed: all 14 checks" in outputs[2]


def test_replace_after_a_public_draw(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run(
        runner, "select", str(REG), str(QUO), "--seed", "3", "--panels", "30", "--out", "pub",
        "--json",
    )  # fmt: skip
    assert code == 0
    digest = json.loads(stdout)["lottery_sha256"]
    # not drawn yet: nothing to replace
    code, _, stderr = run(runner, "replace", "pub", "--dropouts", "S1003", "--out", "never")
    assert code == 2 and "has not been made" in stderr and not Path("never").exists()
    code, stdout, _ = run(
        runner, "draw", "pub/lottery.json", "--sha256", digest, "--number", "4", "--json"
    )
    assert code == 0
    members = json.loads(stdout)["members"]
    code, stdout, stderr = run(
        runner, "replace", "pub", "--dropouts", members[0], "--seed", "2", "--out", "r", "--json"
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["kept"] == members[1:] and len(result["final_panel"]) == 10
    code, stdout, _ = run(runner, "audit", "r", str(REG), str(QUO))
    assert code == 0, stdout


def test_a_round_published_for_a_public_draw(runner: CliRunner, first: Path) -> None:
    panel = json.loads((first / "lottery.json").read_text(encoding="utf-8"))["selected_members"]
    gone = [panel[1], panel[6]]
    code, stdout, stderr = run(
        runner, "replace", str(first), "--dropouts", ",".join(gone), "--seed", "7",
        "--panels", "50", "--out", "rp", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    digest = json.loads(stdout)["lottery_sha256"]
    assert not Path("rp/panel.csv").exists()  # nothing drawn yet
    audit_args = ["audit", "rp", str(REG), str(QUO), "--sha256", digest, "--json"]
    code, stdout, _ = run(runner, *audit_args)
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert code == 0 and "not drawn yet" in checks["replacement"]["detail"]
    code, stdout, stderr = run(
        runner, "draw", "rp/lottery.json", "--sha256", digest, "--number", "17", "--json"
    )
    assert code == 0, stderr
    drawn = json.loads(stdout)["members"]
    final = rows(Path("rp") / "panel.csv")
    roles = {r["student_id"]: r["panelsel_role"] for r in final}
    assert len(final) == 10 and {p for p, role in roles.items() if role == "replacement"} == set(
        drawn
    )
    assert sorted(r["student_id"] for r in rows(Path("rp") / "replacements.csv")) == sorted(drawn)
    code, stdout, _ = run(runner, *audit_args)
    checks = {c["name"]: c for c in json.loads(stdout)["checks"]}
    assert code == 0 and checks["draw"]["passed"]
    assert "the final panel of 10 meets the original quotas" in checks["replacement"]["detail"]
    # and the next round continues from the drawn one
    code, stdout, stderr = run(
        runner, "replace", "rp", "--dropouts", drawn[0], "--seed", "1", "--out", "r3", "--json"
    )
    assert code == 0, stderr
    assert drawn[0] not in json.loads(stdout)["final_panel"]
    code, stdout, _ = run(runner, "audit", "r3", str(REG), str(QUO))
    assert code == 0, stdout


def test_a_rounds_report_shows_the_whole_panel(runner: CliRunner, first: Path) -> None:
    panel = json.loads((first / "lottery.json").read_text(encoding="utf-8"))["selected_members"]
    code, _, _ = run(runner, "replace", str(first), "--dropouts", f"{panel[1]},{panel[6]}",
                     "--seed", "7", "--out", "r")  # fmt: skip
    assert code == 0
    page = (Path("r") / "report.html").read_text(encoding="utf-8")
    assert "<h1>Replacement round</h1>" in page
    assert "The whole panel meets every original quota ✓ — 8 kept, 2 new." in page
    whole = page.split('id="whole-panel"', 1)[1].split("</table>", 1)[0]
    assert whole.count('<span class="ok">✓</span>') == 8  # every original quota row
    assert "<h2>This round</h2>" in page
    assert "loosen those quotas" not in page  # a round's exclusions are not the quotas' fault
