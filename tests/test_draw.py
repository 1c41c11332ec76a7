"""The public draw: number rules (with rejection), hash and pool checks, files, audit."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.errors import BadInputError
from panelsel.lottery.public import dice_needed, number_from_dice, number_from_hex, pick_number

from .conftest import EXAMPLE

# --------------------------------------------------------------------------- number rules


@pytest.mark.parametrize(
    ("sides", "m", "dice"), [(6, 1000, 4), (10, 1000, 3), (6, 6, 1), (6, 7, 2), (20, 1, 1)]
)
def test_dice_needed(sides: int, m: int, dice: int) -> None:
    assert dice_needed(sides, m) == dice


@pytest.mark.parametrize(("sides", "m"), [(6, 10), (6, 36), (4, 7), (10, 100), (2, 5)])
def test_every_number_is_equally_likely_by_enumeration(sides: int, m: int) -> None:
    """Over every equally likely group of rolls, the accepted ones give each number from 1
    to m the same number of times, and the rejected ones are exactly those at or above
    m * floor(S^L / m)."""
    per_group = dice_needed(sides, m)
    accept_below = m * (sides**per_group // m)
    numbers: Counter[int] = Counter()
    rejected = 0
    for group in itertools.product(range(1, sides + 1), repeat=per_group):
        value = 0
        for roll in group:
            value = value * sides + roll - 1
        try:
            numbers[number_from_dice(list(group), sides, m).number] += 1
        except BadInputError as error:
            assert "roll" in error.message and "more dice" in (error.hint or "")
            assert value >= accept_below
            rejected += 1
    assert set(numbers) == set(range(1, m + 1))
    assert set(numbers.values()) == {sides**per_group // m}
    assert rejected == sides**per_group - accept_below


def test_dice_examples() -> None:
    # ten-sided dice, m = 1000: three dice, nothing rejected; V read most significant first
    assert number_from_dice([1, 1, 1], 10, 1000).number == 1
    assert number_from_dice([10, 10, 10], 10, 1000).number == 1000
    assert number_from_dice([5, 2, 7], 10, 1000).number == 417  # V = 416
    # six-sided dice, m = 1000: four dice, 1296 values, 1000..1295 rejected
    picked = number_from_dice([6, 6, 6, 6, 3, 1, 4, 1], 6, 1000)
    assert picked.number == 451  # second group: V = 2*216 + 0 + 3*6 + 0 = 450
    assert "rejected" in picked.steps[1] and "V = 1295" in picked.steps[1]
    assert picked.source == {"kind": "dice", "sides": 6, "rolls": [6, 6, 6, 6, 3, 1, 4, 1]}


def test_dice_errors_name_the_problem() -> None:
    with pytest.raises(BadInputError, match="roll 2 is 7, but a 6-sided die shows 1 to 6"):
        number_from_dice([3, 7, 1, 1], 6, 1000)
    with pytest.raises(BadInputError, match="roll 1 is 0") as info:
        number_from_dice([0, 1, 1], 10, 1000)
    assert "read 0 as 10" in (info.value.hint or "")
    with pytest.raises(BadInputError, match=r"3,1,4,1 already give panel 451; 2 more roll"):
        number_from_dice([3, 1, 4, 1, 5, 2], 6, 1000)
    with pytest.raises(BadInputError, match="no complete group") as info:
        number_from_dice([3, 1], 6, 1000)
    assert info.value.hint == "roll 2 more dice and add them to --dice, in order"
    with pytest.raises(BadInputError, match=r"V = 1295 >= 1000, rejected") as info:
        number_from_dice([6, 6, 6, 6], 6, 1000)
    assert info.value.hint == "roll 4 more dice and add them to --dice, in order"
    with pytest.raises(BadInputError, match="roll 3 is 'x'"):
        pick_number(1000, dice="1,2,x")


def test_hex_rule() -> None:
    # 16 bits: 65536 values, accepted below 65000
    assert number_from_hex("0x03e8", 1000).number == 1  # 1000 mod 1000 + 1
    assert number_from_hex("03:E7", 1000).number == 1000  # 999
    assert number_from_hex("fde7", 1000).number == 1000  # 64999, the last accepted value
    with pytest.raises(BadInputError, match="rejected by the rule") as info:
        number_from_hex("fde8", 1000)  # 65000
    assert "next value" in (info.value.hint or "")
    with pytest.raises(BadInputError, match="8 bits, too few to pick one of 1000 panels"):
        number_from_hex("ff", 1000)
    with pytest.raises(BadInputError, match="not a hexadecimal number"):
        number_from_hex("0xzz", 1000)
    beacon = "a3" * 64  # 512 bits
    assert number_from_hex(beacon, 1000).number == int(beacon, 16) % 1000 + 1


def test_number_rule_and_exactly_one_input() -> None:
    assert pick_number(1000, number=417).number == 417
    with pytest.raises(BadInputError, match="between 1 and 1000"):
        pick_number(1000, number=1001)
    with pytest.raises(BadInputError, match="exactly one random input"):
        pick_number(1000)
    with pytest.raises(BadInputError, match=r"got --number, --dice"):
        pick_number(1000, number=3, dice="1,2,3,4")


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def published(tmp_path: Path, runner: CliRunner) -> tuple[Path, str, Path]:
    """select --panels 200 on a copy of the example: (results folder, sha256, pool)."""
    pool = tmp_path / "registrants.csv"
    quotas = tmp_path / "quotas.yaml"
    shutil.copy(EXAMPLE / "registrants.csv", pool)
    shutil.copy(EXAMPLE / "quotas.yaml", quotas)
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        ["select", str(pool), str(quotas), "--seed", "7", "--panels", "200", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    digest = (out / "lottery.sha256").read_text().split()[0]
    return out, digest, pool


def audit(runner: CliRunner, out: Path, pool: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(
        app, ["audit", str(out), str(pool), str(pool.parent / "quotas.yaml"), "--json", *extra]
    )
    return result.exit_code, json.loads(result.stdout)


def failed(report: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {c["name"]: c["detail"] for c in report["checks"] if not c["passed"]}


def test_select_publishes_numbered_panels_without_drawing(
    published: tuple[Path, str, Path],
) -> None:
    out, digest, pool = published
    assert sorted(p.name for p in out.iterdir()) == [
        ".panelsel",
        "lottery.json",
        "lottery.sha256",
        "panels.csv",
        "probabilities.csv",
        "report.html",
    ]
    import hashlib

    assert hashlib.sha256((out / "lottery.json").read_bytes()).hexdigest() == digest
    assert (out / "lottery.sha256").read_text() == f"{digest}  lottery.json\n"
    document = json.loads((out / "lottery.json").read_text())
    assert document["selected"] is None and "selected_members" not in document
    assert [p["number"] for p in document["panels"]] == list(range(1, 201))
    with (out / "panels.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["number", *(f"member_{j}" for j in range(1, 11))]
    assert len(rows) == 201
    for row, panel in zip(rows[1:], document["panels"], strict=True):
        assert int(row[0]) == panel["number"] and row[1:] == panel["members"]
    rounding = document["rounding"]
    assert rounding["panels"] == 200 and rounding["largest_change"] <= rounding["bound"]
    assert document["dice_plan"] == [
        {"sides": 6, "dice": 3, "values": 216, "accept_below": 200},
        {"sides": 10, "dice": 3, "values": 1000, "accept_below": 1000},
        {"sides": 20, "dice": 2, "values": 400, "accept_below": 400},
    ]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-algorithm="leximin"' in report
    assert 'data-algorithm="leximin, 200 panels"' in report and 'stroke-dasharray="9 6"' in report
    with (out / "probabilities.csv").open(newline="") as f:
        probs = list(csv.DictReader(f))
    assert sum(float(r["probability"]) for r in probs) == pytest.approx(10)
    assert all(
        float(r["probability"]) * 200 == pytest.approx(round(float(r["probability"]) * 200))
        for r in probs
    )
    code, report = audit(CliRunner(env={"COLUMNS": "120"}), out, pool, "--sha256", digest)
    assert code == 0, failed(report)
    assert {c["name"] for c in report["checks"]} >= {"hash", "rounding", "draw", "optimality"}


def test_draw_with_dice_writes_the_panel_and_audit_repeats_it(
    published: tuple[Path, str, Path], runner: CliRunner
) -> None:
    out, digest, pool = published
    # m = 200 with six-sided dice: 3 dice, 216 values, 200..215 rejected
    result = runner.invoke(
        app, ["draw", str(out / "lottery.json"), "--sha256", digest, "--dice", "6,6,6,1,2,3"]
    )
    assert result.exit_code == 0, result.output
    assert "V = 215 >= 200, rejected" in result.output
    assert "panel 8 mod 200 + 1 = 9" in result.output  # 0*36 + 1*6 + 2 = 8
    document = json.loads((out / "lottery.json").read_text())
    members = document["panels"][8]["members"]
    id_column = document["id_column"]
    with (out / "panel.csv").open(newline="") as f:
        assert sorted(r[id_column] for r in csv.DictReader(f)) == sorted(members)
    with (out / "remaining.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 45 - 10
    record = json.loads((out / "draw.json").read_text())
    assert record["number"] == 9 and record["lottery_sha256"] == digest
    code, report = audit(runner, out, pool, "--sha256", digest)
    assert code == 0, failed(report)
    # a second draw is refused, with --force too: a public draw happens once (issue 16)
    before = {name: (out / name).read_bytes() for name in ("draw.json", "panel.csv")}
    for number in ("9", "5"):
        again = ["draw", str(out / "lottery.json"), "--sha256", digest, "--number", number]
        for extra in ([], ["--force"]):
            result = runner.invoke(app, [*again, *extra])
            assert result.exit_code == 2
            assert "this lottery has been drawn already (panel 9)" in result.stderr
    assert {name: (out / name).read_bytes() for name in before} == before
    code, report = audit(runner, out, pool, "--sha256", digest)
    assert code == 0 and any(c["name"] == "draw" and c["passed"] for c in report["checks"])


def test_tampered_lottery_is_refused(published: tuple[Path, str, Path], runner: CliRunner) -> None:
    out, digest, pool = published
    path = out / "lottery.json"
    document = json.loads(path.read_text())
    # swap one member of panel 1 for a registrant outside it: a different lottery
    outsider = next(
        pid
        for pid in (r["members"][0] for r in document["panels"])
        if pid not in document["panels"][0]["members"]
    )
    text = path.read_text().replace(
        json.dumps(document["panels"][0]["members"]),
        json.dumps([outsider, *document["panels"][0]["members"][1:]]),
        1,
    )
    path.write_text(text)
    result = runner.invoke(app, ["draw", str(path), "--sha256", digest, "--number", "1"])
    assert result.exit_code == 5
    assert "not the file that was published" in result.output
    assert not (out / "panel.csv").exists()
    # whoever changed the file can change lottery.sha256 too: only the public hash catches it
    import hashlib

    forged = hashlib.sha256(path.read_bytes()).hexdigest()
    (out / "lottery.sha256").write_text(f"{forged}  lottery.json\n")
    result = runner.invoke(app, ["draw", str(path), "--number", "1"])
    assert result.exit_code == 0
    assert "public hash was not given" in result.output
    code, report = audit(runner, out, pool, "--sha256", digest)
    assert code == 5
    problems = failed(report)
    assert "published hash (--sha256)" in problems["hash"]
    assert "panels" in problems or "marginals" in problems  # the swapped panel shows too


def test_no_hash_at_all_is_refused(published: tuple[Path, str, Path], runner: CliRunner) -> None:
    out, _, _ = published
    (out / "lottery.sha256").unlink()
    result = runner.invoke(app, ["draw", str(out / "lottery.json"), "--number", "3"])
    assert result.exit_code == 5 and "no published hash" in result.output
    result = runner.invoke(
        app, ["draw", str(out / "lottery.json"), "--sha256", "abc", "--number", "3"]
    )
    assert result.exit_code == 2 and "not a sha256" in result.output


def test_pool_must_be_the_recorded_one(
    published: tuple[Path, str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    out, digest, pool = published
    moved = tmp_path / "elsewhere.csv"
    shutil.move(pool, moved)
    args = ["draw", str(out / "lottery.json"), "--sha256", digest, "--number", "5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--pool" in result.output
    edited = tmp_path / "edited.csv"
    edited.write_text(moved.read_text().replace("S1001", "S9999"))
    result = runner.invoke(app, [*args, "--pool", str(edited)])
    assert result.exit_code == 5 and "the lottery was made from a file with sha256" in result.output
    assert not (out / "panel.csv").exists()
    assert runner.invoke(app, [*args, "--pool", str(moved)]).exit_code == 0


def test_audit_catches_a_changed_draw(published: tuple[Path, str, Path], runner: CliRunner) -> None:
    out, digest, pool = published
    args = ["draw", str(out / "lottery.json"), "--sha256", digest, "--number", "17"]
    assert runner.invoke(app, args).exit_code == 0
    record = json.loads((out / "draw.json").read_text())
    record["number"] = 18
    (out / "draw.json").write_text(json.dumps(record))
    code, report = audit(runner, out, pool, "--sha256", digest)
    assert code == 5
    assert failed(report) == {"draw": "the recorded random input gives panel 17, draw.json says 18"}
    record["number"] = 17
    record["input"] = {"kind": "dice", "sides": 6, "rolls": [1, 1, 1]}  # gives panel 1
    (out / "draw.json").write_text(json.dumps(record))
    code, report = audit(runner, out, pool, "--sha256", digest)
    assert "gives panel 1, draw.json says 17" in failed(report)["draw"]


def test_audit_catches_a_rounding_outside_the_bound(
    published: tuple[Path, str, Path], runner: CliRunner
) -> None:
    """Replace half the numbered panels by copies of panel 1 (all valid panels, so only the
    probabilities move) and keep every file consistent with it: the bound check fails."""
    out, _, pool = published
    path = out / "lottery.json"
    document = json.loads(path.read_text())
    first = document["panels"][0]["members"]
    for panel in document["panels"][:100]:
        panel["members"] = first
    path.write_text(json.dumps(document))
    import hashlib

    (out / "lottery.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest())
    code, report = audit(runner, out, pool)
    assert code == 5
    problems = failed(report)
    assert "more than the bound" in problems["rounding"]


def test_select_panels_refuses_legacy_and_bad_counts(runner: CliRunner, tmp_path: Path) -> None:
    base = ["select", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")]
    result = runner.invoke(
        app, [*base, "--panels", "100", "--algorithm", "legacy", "--out", str(tmp_path / "a")]
    )
    assert result.exit_code == 2 and "legacy only has Monte-Carlo estimates" in result.output
    result = runner.invoke(app, [*base, "--panels", "0", "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "--panels must be between 2 and 100,000" in result.output
    result = runner.invoke(
        app, [*base, "--panels", "10", "--rounding", "magic", "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 2 and "unknown rounding method 'magic'" in result.output
    assert not any(tmp_path.iterdir())


def test_same_seed_same_published_lottery(runner: CliRunner, tmp_path: Path) -> None:
    base = [
        "select",
        str(EXAMPLE / "registrants.csv"),
        str(EXAMPLE / "quotas.yaml"),
        "--seed",
        "3",
        "--panels",
        "50",
    ]
    for name in ("a", "b"):
        assert runner.invoke(app, [*base, "--out", str(tmp_path / name)]).exit_code == 0
    for name in ("panels.csv", "lottery.json", "lottery.sha256"):  # the hash is reproducible
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_draw_json_output_and_id_warning(runner: CliRunner, tmp_path: Path) -> None:
    """--json prints one object with the number and members; e-mail ids get a warning at
    select time (the ids are published)."""
    pool = tmp_path / "pool.csv"
    text = (EXAMPLE / "registrants.csv").read_text(encoding="utf-8")
    pool.write_text(text, encoding="utf-8")
    quotas = tmp_path / "quotas.yaml"
    quotas.write_text(
        (EXAMPLE / "quotas.yaml").read_text(encoding="utf-8").replace("student_id", "Email"),
        encoding="utf-8",
    )
    out = tmp_path / "results"
    result = runner.invoke(
        app, ["select", str(pool), str(quotas), "--panels", "20", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rounding"]["panels"] == 20
    assert any("use opaque registration numbers" in note for note in summary["notes"])
    digest = summary["lottery_sha256"]
    result = runner.invoke(
        app,
        ["draw", str(out / "lottery.json"), "--sha256", digest, "--random-hex", "0x0013", "--json"],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["number"] == 0x13 % 20 + 1 == 20
    assert record["checked_against"] == "--sha256" and record["warnings"] == []
    assert len(record["members"]) == 10 and all("@" in m for m in record["members"])


def test_published_files_carry_no_private_columns(runner: CliRunner, tmp_path: Path) -> None:
    """Names, e-mails and addresses stay out of everything meant to be published."""
    pool = tmp_path / "pool.csv"
    rows = list(csv.reader((EXAMPLE / "registrants.csv").open(encoding="utf-8")))
    name_col = rows[0].index("Name")
    for row in rows[1:]:
        row[name_col] = "MARKER-" + row[name_col]
    with pool.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    out = tmp_path / "results"
    args = ["select", str(pool), str(EXAMPLE / "quotas.yaml"), "--panels", "30"]
    assert runner.invoke(app, [*args, "--out", str(out)]).exit_code == 0
    digest = (out / "lottery.sha256").read_text().split()[0]
    draw = ["draw", str(out / "lottery.json"), "--sha256", digest, "--number", "2"]
    result = runner.invoke(app, draw)
    assert result.exit_code == 0 and "MARKER" not in result.output
    for name in (
        "lottery.json",
        "lottery.sha256",
        "panels.csv",
        "probabilities.csv",
        "report.html",
        "draw.json",
    ):
        assert "MARKER" not in (out / name).read_text(encoding="utf-8"), name
    assert "MARKER" in (out / "panel.csv").read_text(encoding="utf-8")  # the convenor's copy


@pytest.mark.parametrize("removed", [["draw.json"], ["draw.json", "panel.csv", "remaining.csv"]])
def test_deleting_draw_json_does_not_allow_a_second_draw(
    tmp_path: Path, removed: list[str]
) -> None:
    """Issue 29, medium: deleting draw.json and `draw --force` drew again; the refusal
    suggested --force itself.  The folder's record (and the panel files) still say drawn."""
    from panelsel.commands.draw import draw_public
    from panelsel.commands.select import select as run_select
    from panelsel.errors import BadInputError

    out = tmp_path / "pub"
    run_select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=1, panels=50)
    draw_public(out / "lottery.json", number=3)
    for name in removed:
        (out / name).unlink()
    with pytest.raises(BadInputError) as caught:
        draw_public(out / "lottery.json", number=9, force=True)
    said = str(caught.value)
    assert "this lottery has been drawn already (its draw.json is gone, but" in said
    assert "even with --force" in said and "pass --force" not in said
    assert not (out / "draw.json").exists()  # nothing was drawn again


@pytest.mark.parametrize("value", ["x", 0, None, [], 1.5])
def test_a_rounding_record_of_the_wrong_shape_is_refused(
    published: tuple[Path, str, Path], runner: CliRunner, value: object
) -> None:
    """``rounding.panels`` edited to something that is not a whole number of panels gave
    "Internal error" (TypeError, ValueError, ZeroDivisionError: exit 1) in the audit; it is
    a verification failure naming the field, for ``audit`` and for ``draw`` alike (whose
    published hash is recomputed over the edited file, as a forger would)."""
    import hashlib

    out, _, pool = published
    path = out / "lottery.json"
    document = json.loads(path.read_text())
    document["rounding"]["panels"] = value
    path.write_text(json.dumps(document))
    forged = hashlib.sha256(path.read_bytes()).hexdigest()
    (out / "lottery.sha256").write_text(f"{forged}  lottery.json\n")
    for args in (
        ["audit", str(out), str(pool), str(pool.parent / "quotas.yaml")],
        ["draw", str(path), "--number", "1"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 5, result.output
        assert "Internal error" not in result.output
        text = " ".join(result.output.split())
        assert "'rounding' is" in text or "not numbered 1 to" in text
    assert not (out / "panel.csv").exists()
