"""The audit of a replacement chain (issue 29, items 1-4): every run in a chain is audited as
fully as a run on its own, down to the first selection and its public draw, and a round's
whole-panel ``panel.csv`` is checked.  Each forgery here passed the audit before (exit 0)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panelsel.cli import app
from panelsel.commands.audit import audit
from panelsel.commands.draw import draw_public
from panelsel.commands.replace import replace
from panelsel.commands.select import select
from panelsel.errors import InfeasibleQuotasError

from .conftest import EXAMPLE
from .test_leximin import Instance, instances
from .test_replace import _twinned

RUNNER = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the example's inputs, as the current folder (rounds record relative
    paths of the runs they continue)."""
    for name in ("registrants.csv", "quotas.yaml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


REG, QUO = Path("registrants.csv"), Path("quotas.yaml")


@contextlib.contextmanager
def _chdir(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _doc(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "lottery.json").read_text(encoding="utf-8")))


def _save(folder: Path, doc: dict[str, Any]) -> None:
    (folder / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")


def _cli_audit(folder: Path) -> tuple[int, dict[str, Any]]:
    result = RUNNER.invoke(app, ["audit", str(folder), str(REG), str(QUO), "--json"])
    return result.exit_code, json.loads(result.stdout)


def _failed(report: dict[str, Any]) -> set[str]:
    return {c["name"] for c in report["checks"] if not c["passed"]}


def _panel(folder: Path) -> list[str]:
    with (folder / "panel.csv").open(encoding="utf-8-sig", newline="") as f:
        return [row["student_id"] for row in csv.DictReader(f)]


def _replace_someone(previous: str, out: str, seed: int, skip: int = 0) -> None:
    """A round with one dropout, the first member (after ``skip``) whose seat can be filled."""
    for member in _panel(Path(previous))[skip:]:
        try:
            replace(previous, dropouts=[member], out=out, seed=seed)
            return
        except InfeasibleQuotasError:
            continue
    raise AssertionError(f"no seat of {previous} can be refilled")


def test_an_honest_chain_passes_and_names_its_previous_runs(here: Path) -> None:
    select(REG, QUO, out="r1", seed=12345)
    _replace_someone("r1", "c2", 7)
    _replace_someone("c2", "c3", 8, skip=1)
    report = audit("c3", REG, QUO)
    assert report.verified, [(c.name, c.detail) for c in report.checks if not c.passed]
    previous = next(c for c in report.checks if c.name == "previous run")
    assert previous.detail.startswith("c2/ and the runs before it pass(es) its own audit")


def test_a_forged_parent_fails_the_round(here: Path) -> None:
    select(REG, QUO, out="r1", seed=12345)
    doc = _doc(Path("r1"))
    doc["selected"], doc["selected_members"] = 0, doc["panels"][0]["members"]
    assert doc["selected_members"] != _doc(Path("r1"))["selected_members"]
    _save(Path("r1"), doc)
    replace("r1", dropouts=[doc["selected_members"][0]], out="f2", seed=7)
    code, report = _cli_audit(Path("f2"))
    assert code == 5 and "previous run" in _failed(report)
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "previous run")
    assert detail.startswith("r1/ fails its own audit (") and "selected" in detail


def test_a_forged_public_draw_under_a_round_fails_it(here: Path) -> None:
    select(REG, QUO, out="p1", seed=12345, panels=100)
    draw_public(Path("p1") / "lottery.json", number=5)
    doc = json.loads((Path("p1") / "draw.json").read_text(encoding="utf-8"))
    lottery = _doc(Path("p1"))
    other = next(p["members"] for p in lottery["panels"] if p["members"] != doc["members"])
    doc["members"] = other
    (Path("p1") / "draw.json").write_text(json.dumps(doc), encoding="utf-8")
    replace("p1", dropouts=[other[0]], out="f2", seed=7)
    code, report = _cli_audit(Path("f2"))
    assert code == 5 and "previous run" in _failed(report)
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "previous run")
    assert "draw" in detail


def test_an_edit_deep_in_the_chain_fails_the_latest_round(here: Path) -> None:
    select(REG, QUO, out="r1", seed=12345)
    previous = "r1"
    for number in range(2, 6):
        _replace_someone(previous, f"c{number}", number)
        previous = f"c{number}"
    doc = _doc(Path("c2"))
    doc["replacement"]["final_members"] = doc["replacement"]["final_members"][::-1]
    _save(Path("c2"), doc)
    code, report = _cli_audit(Path("c5"))
    assert code == 5 and {"replacement", "previous run"} <= _failed(report)
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "replacement")
    assert "c2/lottery.json is not the run the next round continued" in detail
    code, report = _cli_audit(Path("c3"))
    assert code == 5 and {"replacement", "previous run"} <= _failed(report)


@pytest.mark.parametrize("edit", ["delete a kept member", "swap in an outsider", "wrong role"])
def test_the_rounds_whole_panel_is_checked(here: Path, edit: str) -> None:
    select(REG, QUO, out="r1", seed=12345)
    _replace_someone("r1", "c2", 7)
    path = Path("c2") / "panel.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    kept_row = next(i for i, row in enumerate(rows) if row[-1] == "kept")
    if edit == "delete a kept member":
        del rows[kept_row]
    elif edit == "swap in an outsider":
        with Path("c2", "remaining.csv").open(encoding="utf-8-sig", newline="") as f:
            outsider = list(csv.reader(f))[1]
        rows[kept_row] = [*outsider, "kept"]
    else:
        rows[kept_row][-1] = "replacement"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    code, report = _cli_audit(Path("c2"))
    assert code == 5 and _failed(report) == {"replacement"}
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "replacement")
    assert "panel.csv is not the whole panel" in detail


def test_a_round_is_never_written_over_a_run_of_its_chain(here: Path) -> None:
    """Issue 29, item 7: `replace s1 --out s1 --force` deleted the run it continued."""
    from panelsel.digest import sha256_of

    select(REG, QUO, out="s1", seed=12345)
    _replace_someone("s1", "s2", 7)
    before = {name: sha256_of(Path(name) / "lottery.json") for name in ("s1", "s2")}
    for previous, out in (("s1", "s1"), ("s2", "s1"), ("s2", "s2")):
        member = _panel(Path(previous))[0]
        result = RUNNER.invoke(
            app, ["replace", previous, "--dropouts", member, "--out", out, "--force"]
        )
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert f"the output folder holds {out}/lottery.json, which this replace reads" in said
        assert "even with --force" in said
    assert before == {name: sha256_of(Path(name) / "lottery.json") for name in before}
    assert audit("s2", REG, QUO).verified


def _read_lists(folder: Path, delimiter: str, encoding: str) -> dict[str, list[str]]:
    headers = {}
    for name in ("panel.csv", "replacements.csv", "remaining.csv"):
        with (folder / name).open(encoding=encoding, newline="") as f:
            headers[name] = next(csv.reader(f, delimiter=delimiter))
    return headers


def test_a_round_keeps_the_runs_output_options(here: Path) -> None:
    """Issue 29, item 8: --columns, the output delimiter and encoding and --raw-csv were
    forgotten by later rounds (their lists carried every column, as commas)."""
    select(
        REG,
        QUO,
        out="r1",
        seed=12345,
        columns=["Name", "Email"],
        out_delimiter=";",
        out_encoding="utf-16",
        raw_csv=True,
    )
    with Path("r1", "panel.csv").open(encoding="utf-16", newline="") as f:
        members = [row[0] for row in list(csv.reader(f, delimiter=";"))[1:]]
    for member in members:
        try:
            replace("r1", dropouts=[member], out="c2", seed=7)
            break
        except InfeasibleQuotasError:
            continue
    replace_doc = _doc(Path("c2"))
    assert replace_doc["contact_columns"] == ["student_id", "Name", "Email"]
    assert replace_doc["spreadsheet_safe"] is False
    headers = _read_lists(Path("c2"), ";", "utf-16")
    assert headers["panel.csv"] == ["student_id", "Name", "Email", "panelsel_role"]
    assert (
        headers["replacements.csv"]
        == headers["remaining.csv"]
        == [
            "student_id",
            "Name",
            "Email",
        ]
    )
    assert audit("c2", REG, QUO).verified


# ----------------------------------------------- chains on random pools (issue 29, must hold)

EDITS = ("a selected member", "a panel.csv row", "a remaining.csv row", "a probability")


def _edit_run(folder: Path, edit: str) -> None:
    """One change a forger (or an accident) makes to a run's files."""
    if edit == "a selected member":
        doc = _doc(folder)
        key = "final_members" if "replacement" in doc else "selected_members"
        members = doc["replacement"][key] if key == "final_members" else doc[key]
        members[-1] = "r999"
        _save(folder, doc)
        return
    name = {"a panel.csv row": "panel.csv", "a remaining.csv row": "remaining.csv"}.get(
        edit, "probabilities.csv"
    )
    path = folder / name
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if edit == "a probability":
        rows[1][1] = f"{float(rows[1][1]) + 0.01:.6f}"
    else:
        del rows[-1]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def _chain_members(folder: Path) -> list[str]:
    doc = _doc(folder)
    if "replacement" in doc:
        return [str(x) for x in doc["replacement"]["final_members"]]
    return [str(x) for x in doc["selected_members"]]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    inst=instances(min_n=6, max_n=8).filter(lambda i: i.k >= 2),
    rounds=st.lists(
        st.tuples(st.integers(0, 20), st.lists(st.integers(0, 20), max_size=2), st.booleans()),
        min_size=2,
        max_size=4,
    ),
    target=st.integers(0, 10),
    edit=st.sampled_from(EDITS),
)
def test_random_chains_hold_and_any_edit_fails_the_latest_round(
    inst: Instance, rounds: list[tuple[int, list[int], bool]], target: int, edit: str
) -> None:
    """Random pools (some with households), 2-4 rounds with random dropouts and unavailable
    people given in another letter case: every final panel meets the quotas and the
    household rule, nobody who left comes back, every round passes the audit with recompute;
    then one edit to any run of the chain makes the latest round's audit fail."""
    inst = _twinned(inst)
    with tempfile.TemporaryDirectory() as scratch, _chdir(Path(scratch)):
        pool, quotas = inst.write(Path("."))
        select(pool, quotas, out="r0", seed=1)
        folders = [Path("r0")]
        left: set[str] = set()
        for number, (pick, away, upper) in enumerate(rounds, start=1):
            members = sorted(_chain_members(folders[-1]))
            gone = members[pick % len(members)]
            outside = [f"r{i}" for i in range(inst.n) if f"r{i}" not in members]
            unavailable = sorted({outside[a % len(outside)] for a in away}) if outside else []
            case = str.upper if upper else str.lower
            try:
                replace(
                    folders[-1],
                    dropouts=[case(gone)],
                    unavailable=[case(u) for u in unavailable],
                    out=f"r{number}",
                    seed=number,
                )
            except InfeasibleQuotasError:
                break
            folders.append(Path(f"r{number}"))
            left |= {gone, *unavailable}
            final = _chain_members(folders[-1])
            assert inst.valid(tuple(sorted(int(m[1:]) for m in final)))
            assert not left & set(final), "someone who left was drawn again"
            report = audit(folders[-1], pool, quotas)
            assert report.verified, [(c.name, c.detail) for c in report.checks if not c.passed]
        assume(len(folders) >= 2)
        victim = folders[target % len(folders)]
        event(f"{len(folders) - 1} round(s)")
        event(f"edited: {'the latest round' if victim == folders[-1] else 'an earlier run'}")
        _edit_run(victim, edit)
        latest = folders[-1]
        report = audit(latest, pool, quotas, recompute=False)
        assert not report.passed, f"{edit} in {victim} went unnoticed by {latest}'s audit"


def test_the_unavailable_list_is_shown_by_the_report_and_the_audit(here: Path) -> None:
    """Issue 29, medium: a round's report hid the --unavailable list (33 ids excluded, '1
    seat from 2 registrants', audit passed): it is the lever for steering a replacement."""
    select(REG, QUO, out="r1", seed=12345)
    panel = _panel(Path("r1"))
    with Path("r1", "remaining.csv").open(encoding="utf-8-sig", newline="") as f:
        outside = [row["student_id"] for row in csv.DictReader(f)]
    for member in panel:
        try:
            replace("r1", dropouts=[member], unavailable=outside[:3], out="c2", seed=7)
            break
        except InfeasibleQuotasError:
            continue
    page = Path("c2", "report.html").read_text(encoding="utf-8")
    listed = ", ".join(outside[:3])
    assert "3 registrant(s) were given as unavailable (--unavailable) and could not be " in page
    assert listed in page
    check = next(c for c in audit("c2", REG, QUO).checks if c.name == "replacement")
    assert check.passed and f"3 given as unavailable and not drawable: {listed}" in check.detail
    assert check.figures["unavailable"] == outside[:3]


def test_an_unavailable_list_naming_a_kept_member_fails(here: Path) -> None:
    """Issue 29, small: a recorded `unavailable` list naming a kept member passed."""
    select(REG, QUO, out="r1", seed=12345)
    _replace_someone("r1", "c2", 7)
    doc = _doc(Path("c2"))
    kept = doc["replacement"]["kept"][0]
    doc["replacement"]["unavailable"] = [kept.lower()]
    _save(Path("c2"), doc)
    report = audit("c2", REG, QUO, recompute=False)
    check = next(c for c in report.checks if c.name == "replacement")
    assert not check.passed
    assert f"the recorded unavailable list names {kept.lower()!r}, a kept member" in check.detail


def test_a_chain_is_audited_from_another_folder(
    here: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 29, small: a round records the path of the run it continues as given, relative
    to where replace ran, and auditing it from elsewhere failed.  The path is tried
    relative to the round's folder too, and only a file with the recorded sha256 is taken."""
    select(REG, QUO, out="r1", seed=12345)
    _replace_someone("r1", "c2", 7)
    _replace_someone("c2", "c3", 8, skip=1)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    report = audit(here / "c3", here / REG, here / QUO)
    assert report.verified, [(c.name, c.detail) for c in report.checks if not c.passed]
    # a decoy with the recorded relative path here is not taken for the real one
    Path("c2").mkdir()
    Path("c2", "lottery.json").write_text("{}", encoding="utf-8")
    assert audit(here / "c3", here / REG, here / QUO, recompute=False).passed


def test_a_rounds_replacements_workbook_is_checked(here: Path) -> None:
    """The round's contact lists are checked like any run's: replacements.xlsx too."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    with REG.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            sheet.append(row)
    book.save("registrants.xlsx")
    pool = Path("registrants.xlsx")
    select(pool, QUO, out="w1", seed=12345)
    for member in _panel(Path("w1")):
        try:
            replace("w1", dropouts=[member], out="w2", seed=7)
            break
        except InfeasibleQuotasError:
            continue
    assert audit("w2", pool, QUO).verified
    edited = openpyxl.load_workbook("w2/replacements.xlsx")
    edited.worksheets[0]["B2"] = "Someone Else"
    edited.save("w2/replacements.xlsx")
    report = audit("w2", pool, QUO, recompute=False)
    check = next(c for c in report.checks if c.name == "selected")
    assert not check.passed and "replacements.xlsx does not hold what replacements.csv" in (
        check.detail
    )


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_dropouts_file_may_be_a_copy_of_panel_csv(here: Path, delimiter: str) -> None:
    """Issue 29, small: `--dropouts-file` refused panel.csv itself (its header row was read
    as a dropout); a copy trimmed to the members who left is what a convenor makes."""
    select(REG, QUO, out="r1", seed=12345, out_delimiter=delimiter)
    with Path("r1", "panel.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    for leaving in rows[1:]:
        with Path("left.csv").open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, delimiter=delimiter).writerows([rows[0], leaving])
        result = RUNNER.invoke(
            app, ["replace", "r1", "--dropouts-file", "left.csv", "--out", "c2", "--seed", "7"]
        )
        if result.exit_code == 3:  # this seat cannot be refilled: try the next member
            continue
        assert result.exit_code == 0, result.output
        assert _doc(Path("c2"))["replacement"]["dropouts"] == [leaving[0]]
        return
    raise AssertionError("no seat of r1 can be refilled")


def test_a_hand_written_parent_fails_the_round(here: Path) -> None:
    """Issue 29, item 1: a hand-written 8-key parent lottery.json with ``panels: []`` and a
    hand-picked panel, beside contact lists that agree with it (and the other files copied
    from a real run, so that the files check passes).  ``replace`` continues it; the audit
    of the round must fail on the parent, naming what is wrong with it.  (It was exit 1 -
    an IndexError drawing from an empty list - once the files were there.)"""
    select(REG, QUO, out="r1", seed=12345)
    real = _doc(Path("r1"))
    picked = next(p["members"] for p in real["panels"] if p["members"] != real["selected_members"])
    keys = ["format", "version", "algorithm", "seed", "inputs", "panel_size", "panels"]
    hand = {key: real[key] for key in keys} | {"panels": [], "selected_members": picked}
    Path("h1").mkdir()
    _save(Path("h1"), hand)
    with REG.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    with (Path("h1") / "panel.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([rows[0], *(r for r in rows[1:] if r[0] in set(picked))])
    for name in ("remaining.csv", "probabilities.csv", "report.html"):
        shutil.copy(Path("r1") / name, Path("h1") / name)

    code, report = _cli_audit(Path("h1"))
    assert code == 5 and {"panels", "probabilities", "selected"} <= _failed(report)
    panels = next(c["detail"] for c in report["checks"] if c["name"] == "panels")
    assert "lottery.json lists no panels" in panels

    replace("h1", dropouts=[picked[0]], out="f2", seed=7)
    code, report = _cli_audit(Path("f2"))
    assert code == 5 and _failed(report) == {"previous run"}
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "previous run")
    assert detail.startswith("h1/ fails its own audit (") and "panels" in detail
