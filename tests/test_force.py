"""--force never destroys data: it replaces only the files panelsel recorded writing, refuses a
folder holding anything else, never removes a folder it did not create, keeps permissions and
symbolic links, and one run at a time writes a folder (issue 13, items 1, 6, 7 and 10)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

import panelsel.outputs.tables as tables_module
import panelsel.runs.select as select_module
from panelsel.cli import app
from panelsel.errors import BadInputError
from panelsel.outputs.files import RECORD, OutputFolder, read_record

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})
REG, QUO = str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")
SELECT_FILES = ["lottery.json", "panel.csv", "probabilities.csv", "remaining.csv", "report.html"]


def select(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["select", *args])
    return result.exit_code, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_issue_reproducer_is_refused_and_nothing_is_touched(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    for name in ("registrants.csv", "quotas.yaml"):
        shutil.copy(EXAMPLE / name, d / name)
    (d / "notes.txt").write_text("thesis", encoding="utf-8")
    before = snapshot(d)
    code, stderr = select(
        str(d / "registrants.csv"), str(d / "quotas.yaml"), "--out", str(d), "--seed", "1",
        "--force",
    )  # fmt: skip
    assert code == 2
    assert "this run's input file(s) 'quotas.yaml', 'registrants.csv'" in stderr
    assert "did not write: 'notes.txt'" in stderr
    assert snapshot(d) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no staging left beside it


def test_out_dot_with_force_never_wipes_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "minutes.docx").write_bytes(b"\x00precious")
    monkeypatch.chdir(work)
    code, stderr = select(REG, QUO, "--out", ".", "--force")
    assert code == 2 and "'minutes.docx'" in stderr
    assert sorted(p.name for p in work.iterdir()) == ["minutes.docx"]
    result = RUNNER.invoke(app, ["compare", REG, QUO, "--out", ".", "--force"])
    assert result.exit_code == 2 and "'minutes.docx'" in result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["minutes.docx"]


def test_force_replaces_its_own_folder_in_one_swap_keeping_mode_and_link(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert select(REG, QUO, "--out", str(out), "--seed", "1")[0] == 0
    record = read_record(out)
    assert record is not None and record["created_folder"] is True
    assert record["files"] == SELECT_FILES and record["command"] == "select"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()  # not mkdtemp's 0700
    os.chmod(out, 0o750)
    link = tmp_path / "latest"
    link.symlink_to(out)
    first = json.loads((out / "lottery.json").read_text(encoding="utf-8"))["seed"]
    assert select(REG, QUO, "--out", str(link), "--seed", "2", "--force")[0] == 0
    assert link.is_symlink() and link.resolve() == out.resolve()
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert json.loads((out / "lottery.json").read_text(encoding="utf-8"))["seed"] == 2 != first
    assert sorted(p.name for p in out.iterdir()) == [RECORD, *SELECT_FILES]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "o"]


def test_a_folder_panelsel_did_not_create_is_written_into_never_removed(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir(mode=0o711)
    inode = out.stat().st_ino
    assert select(REG, QUO, "--out", str(out), "--seed", "1")[0] == 0
    record = read_record(out)
    assert record is not None and record["created_folder"] is False
    assert select(REG, QUO, "--out", str(out), "--seed", "2", "--force")[0] == 0
    assert out.stat().st_ino == inode and stat.S_IMODE(out.stat().st_mode) == 0o711
    assert sorted(p.name for p in out.iterdir()) == [RECORD, *SELECT_FILES]
    # a public lottery into the same folder replaces the recorded files, removes the old ones
    assert select(REG, QUO, "--out", str(out), "--panels", "10", "--force")[0] == 0
    names = sorted(p.name for p in out.iterdir())
    assert "panel.csv" not in names and "lottery.sha256" in names and out.stat().st_ino == inode


def test_a_file_added_to_a_panelsel_folder_stops_force(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert select(REG, QUO, "--out", str(out), "--seed", "1")[0] == 0
    (out / "my-notes.txt").write_text("keep me", encoding="utf-8")
    before = snapshot(out)
    code, stderr = select(REG, QUO, "--out", str(out), "--seed", "2", "--force")
    assert code == 2 and "'my-notes.txt'" in stderr
    assert snapshot(out) == before


def test_an_edited_record_cannot_vouch_for_other_files(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert select(REG, QUO, "--out", str(out), "--seed", "1")[0] == 0
    (out / "thesis.docx").write_bytes(b"thesis")
    record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    record["files"].append("thesis.docx")
    (out / RECORD).write_text(json.dumps(record), encoding="utf-8")
    code, stderr = select(REG, QUO, "--out", str(out), "--seed", "2", "--force")
    assert code == 2 and "'thesis.docx'" in stderr
    assert (out / "thesis.docx").read_bytes() == b"thesis"


def test_a_folder_without_a_record_is_not_panelsels(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "panel.csv").write_text("id\nsomebody's own list\n", encoding="utf-8")
    code, stderr = select(REG, QUO, "--out", str(out), "--force")
    assert code == 2 and "panelsel's names but no .panelsel record ('panel.csv')" in stderr
    assert (out / "panel.csv").read_text(encoding="utf-8") == "id\nsomebody's own list\n"


def test_stale_staging_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    # what kill -9 during writing leaves: a hidden folder with complete contact lists
    stale = tmp_path / ".o.panelsel-tmp-99999-dead"
    stale.mkdir()
    (stale / "panel.csv").write_text("name,email\nAnn,ann@example.org\n", encoding="utf-8")
    (stale / ".lock").write_text("", encoding="utf-8")
    assert select(REG, QUO, "--out", str(tmp_path / "o"), "--seed", "1")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_stale_folder_with_foreign_contents_is_left_alone(tmp_path: Path) -> None:
    odd = tmp_path / ".o.panelsel-tmp-99999-dead"
    odd.mkdir()
    (odd / "unrelated.txt").write_text("x", encoding="utf-8")
    assert select(REG, QUO, "--out", str(tmp_path / "o"), "--seed", "1")[0] == 0
    assert (odd / "unrelated.txt").exists()


def test_a_second_run_into_a_folder_being_written_is_refused_before_computing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"
    holder = OutputFolder(out, force=False, command="select")  # a run that is computing
    try:
        code, stderr = select(REG, QUO, "--out", str(out), "--force")
        assert code == 2 and f"another panelsel run (process {os.getpid()})" in stderr
    finally:
        holder.__exit__(RuntimeError, RuntimeError("stop"), None)  # as if it failed
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert select(REG, QUO, "--out", str(out))[0] == 0


def test_a_folder_changed_while_computing_is_not_written(tmp_path: Path) -> None:
    out = tmp_path / "o"
    with (
        pytest.raises(BadInputError, match="the output folder changed"),
        OutputFolder(out, force=True, command="select") as folder,
    ):
        (folder.staging / "panel.csv").write_text("x", encoding="utf-8")
        out.mkdir()  # made by somebody else while the lottery was computed
    assert list(out.iterdir()) == []
    with (
        pytest.raises(BadInputError, match=r"did not write: 'other\.txt'"),
        OutputFolder(out, force=True, command="select") as folder,
    ):
        (folder.staging / "panel.csv").write_text("x", encoding="utf-8")
        (out / "other.txt").write_text("somebody else's", encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["other.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_destination_problems_are_exit_2_before_any_computing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    called = []
    monkeypatch.setattr(select_module, "load_inputs", lambda *a, **k: called.append(1))
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, stderr = select(REG, QUO, "--out", str(blocker / "sub"))
    assert code == 2 and "cannot write the output folder" in stderr
    code, stderr = select(REG, QUO, "--out", str(blocker))
    assert code == 2 and "exists and is not a folder" in stderr
    assert called == []


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def full(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tables_module, "write_json", full)
    code, stderr = select(REG, QUO, "--out", str(tmp_path / "o"), "--seed", "1")
    assert calls == [1], "the patched writer was not used: the test tests nothing"
    assert code == 2
    assert "No space left on device" in stderr and "free some disk space" in stderr
    assert list(tmp_path.iterdir()) == []


def test_draw_is_made_once_and_keeps_the_published_bytes(tmp_path: Path) -> None:
    out = tmp_path / "pub"
    assert select(REG, QUO, "--out", str(out), "--panels", "20", "--seed", "3")[0] == 0
    published = (out / "lottery.json").read_bytes()
    result = RUNNER.invoke(app, ["draw", str(out / "lottery.json"), "--number", "4"])
    assert result.exit_code == 0, result.stderr
    drawn = (out / "draw.json").read_bytes()
    # --force does not replace a public draw (issue 16): the first result stands
    result = RUNNER.invoke(app, ["draw", str(out / "lottery.json"), "--number", "9", "--force"])
    assert result.exit_code == 2 and "has been drawn already (panel 4)" in result.stderr
    assert (out / "draw.json").read_bytes() == drawn
    assert json.loads(drawn)["number"] == 4
    assert (out / "lottery.json").read_bytes() == published
    record = read_record(out)
    assert record is not None and {"draw.json", "lottery.json", "panel.csv"} <= set(record["files"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pub"]
    again = RUNNER.invoke(app, ["draw", str(out / "lottery.json"), "--number", "1"])
    assert again.exit_code == 2 and "a public draw happens once" in again.stderr


def test_draw_into_a_folder_of_downloaded_files_adds_only_its_own(tmp_path: Path) -> None:
    out = tmp_path / "pub"
    assert select(REG, QUO, "--out", str(out), "--panels", "20", "--seed", "3")[0] == 0
    copy = tmp_path / "downloaded"
    copy.mkdir()
    for name in ("lottery.json", "lottery.sha256"):
        shutil.copy(out / name, copy / name)
    (copy / "panel.csv").write_text("not panelsel's", encoding="utf-8")
    result = RUNNER.invoke(app, ["draw", str(copy / "lottery.json"), "--number", "2", "--force"])
    assert result.exit_code == 2 and "no .panelsel record ('panel.csv')" in result.stderr
    (copy / "panel.csv").unlink()
    result = RUNNER.invoke(app, ["draw", str(copy / "lottery.json"), "--number", "2"])
    assert result.exit_code == 0, result.stderr
    record = read_record(copy)
    assert record is not None and record["created_folder"] is False
    assert record["files"] == ["draw.json", "panel.csv", "remaining.csv"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_staging_lock_is_held_while_the_run_lives(tmp_path: Path) -> None:
    folder = OutputFolder(tmp_path / "o", force=False, command="select")
    fd = os.open(folder.staging / ".lock", os.O_RDONLY)
    try:
        with pytest.raises(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
        folder.__exit__(RuntimeError, RuntimeError("stop"), None)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_removes_the_parent_folders_it_made(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("panel_size: ten\n", encoding="utf-8")
    code, _ = select(REG, str(bad), "--out", str(tmp_path / "new" / "deeper" / "run1"))
    assert code == 2 and list(tmp_path.iterdir()) == [bad]
    (tmp_path / "kept").mkdir()
    code, _ = select(REG, str(bad), "--out", str(tmp_path / "kept" / "run1"))
    assert code == 2 and (tmp_path / "kept").is_dir()  # it existed before: it stays
    assert select(REG, QUO, "--out", str(tmp_path / "new" / "run1"))[0] == 0
    assert (tmp_path / "new" / "run1" / "panel.csv").is_file()


def test_force_replaces_every_file_panelsel_writes(tmp_path: Path) -> None:
    # panel.xlsx, remaining.xlsx and replacements.csv are panelsel's own (they were
    # refused as "files panelsel did not write")
    reg, quo = REG, QUO
    books, first, round_ = (str(tmp_path / name) for name in ("books", "r1", "r2"))
    for _ in range(2):
        result = RUNNER.invoke(app, ["select", reg, quo, "--seed", "1", "--xlsx", "--force",
                                     "--out", books])  # fmt: skip
        assert result.exit_code == 0, result.output
    assert {"panel.xlsx", "remaining.xlsx"} <= {p.name for p in Path(books).iterdir()}
    result = RUNNER.invoke(app, ["select", reg, quo, "--seed", "12345", "--out", first])
    assert result.exit_code == 0, result.output
    for _ in range(2):
        result = RUNNER.invoke(app, ["replace", first, "--dropouts", "S1005", "--seed", "3",
                                     "--force", "--out", round_])  # fmt: skip
        assert result.exit_code == 0, result.output
    assert (Path(round_) / "replacements.csv").is_file()
