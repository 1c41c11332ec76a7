"""The in-memory library (issue 32): every algorithm of the registry, and every kind of run,
through one shared check: select (or replace) in memory without touching the disk, write
the folder, read it back equal, write the read selection again byte for byte, and audit the
folder with the recompute."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from panelsel.api import (
    OutputOptions,
    ReadOptions,
    Selection,
    SolveOptions,
    audit,
    read,
    replace,
    select,
    write,
)
from panelsel.errors import BadInputError, VerificationError
from panelsel.solve.algorithms import ALGORITHMS

from .conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
CREATED = re.compile(rb"<span id='created'>[^<]*</span>")


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of the example, as the current folder."""
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder panelsel wrote (the report's date masked)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        data = path.read_bytes()
        out[path.name] = CREATED.sub(b"", data) if path.suffix == ".html" else data
    return out


def assert_same(a: Selection, b: Selection) -> None:
    """Everything a selection decides is the same in both."""
    assert a.kind == b.kind and a.algorithm == b.algorithm
    assert (a.seed, a.solver, a.notes, a.warnings) == (b.seed, b.solver, b.notes, b.warnings)
    assert a.read == b.read and a.options == b.options and a.versions == b.versions
    assert a.pool.ids == b.pool.ids and a.pool.sha256 == b.pool.sha256
    assert a.spec.sha256 == b.spec.sha256 and a.model.k == b.model.k
    assert a.members == b.members and a.result.selected == b.result.selected
    assert np.array_equal(a.probabilities, b.probabilities)
    assert np.array_equal(a.result.probabilities, b.result.probabilities)
    assert len(a.lottery) == len(b.lottery)
    assert np.array_equal(a.lottery.probabilities, b.lottery.probabilities)
    assert a.result.stats == b.result.stats
    assert a.result.certificate_weights == b.result.certificate_weights
    assert [e.as_dict() for e in a.result.excluded] == [e.as_dict() for e in b.result.excluded]
    assert a.proven_optimal == b.proven_optimal and a.replacement == b.replacement


def round_trip(chosen: Selection, out: Path) -> None:
    """The shared check: write, read back equal, write again byte for byte, audit."""
    write(chosen, out)
    again = read(out)
    assert_same(chosen, again)
    write(again, out.parent / (out.name + "-again"))
    assert _files(out) == _files(out.parent / (out.name + "-again"))
    report = audit(out, "ex/registrants.csv", "ex/quotas.yaml")
    failed = [(c.name, c.detail) for c in report.checks if not c.passed or c.inconclusive]
    assert report.verified, failed


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_registry_entry_selects_in_memory_writes_reads_back_and_audits(
    work: Path, algorithm: str
) -> None:
    solve = SolveOptions(algorithm=algorithm, seed=11, samples=200)
    chosen = select("ex/registrants.csv", "ex/quotas.yaml", solve=solve)
    assert sorted(p.name for p in work.iterdir()) == ["ex"], "select touched the disk"
    assert chosen.algorithm == algorithm and chosen.seed == 11
    assert len(chosen.members) == chosen.model.k == 10
    assert abs(chosen.probabilities.sum() - 10) < 1e-9
    assert not chosen.model.panel_violations(np.array(chosen.panel, dtype=np.intp))
    round_trip(chosen, work / algorithm)


def test_published_lottery_and_replacement_rounds_round_trip(work: Path) -> None:
    published = select(
        "ex/registrants.csv", "ex/quotas.yaml", solve=SolveOptions(seed=3, panels=30)
    )
    assert published.kind == "published" and published.members == []
    assert len(published.lottery) == 30
    round_trip(published, work / "pub")

    first = select("ex/registrants.csv", "ex/quotas.yaml", solve=SolveOptions(seed=4))
    write(first, work / "first")
    leaving = first.members[0]
    drawn_round = replace("first", dropouts=[leaving], solve=SolveOptions(seed=5))
    assert sorted(p.name for p in work.iterdir()) == ["ex", "first", "pub", "pub-again"]
    link = drawn_round.replacement
    assert link is not None and leaving in link["dropouts"]
    assert leaving not in link["final_members"] and len(link["final_members"]) == 10
    round_trip(drawn_round, work / "round")
    public_round = replace(
        "round", dropouts=[link["final_members"][1]], solve=SolveOptions(seed=6, panels=12)
    )
    assert public_round.kind == "published"
    round_trip(public_round, work / "round2")


def test_options_read_back_as_given(work: Path) -> None:
    book = select(
        "ex/registrants.csv",
        "ex/quotas.yaml",
        read=ReadOptions(drop_duplicates="Email"),
        solve=SolveOptions(seed=8),
        output=OutputOptions(columns=("student_id", "Gender"), xlsx=True),
    )
    write(book, work / "book")
    again = read(work / "book")
    assert again.read == ReadOptions(drop_duplicates="Email")
    assert again.options == OutputOptions(columns=("student_id", "Gender"), xlsx=True)
    assert (work / "book" / "panel.xlsx").is_file()


def test_reading_refuses_inputs_that_are_not_the_recorded_ones(work: Path) -> None:
    write(select("ex/registrants.csv", "ex/quotas.yaml", solve=SolveOptions(seed=2)), work / "o")
    text = (work / "ex" / "registrants.csv").read_text(encoding="utf-8-sig")
    (work / "ex" / "registrants.csv").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(VerificationError, match="its sha256 differs"):
        read(work / "o")
    with pytest.raises(BadInputError, match=r"no lottery\.json"):
        read(work / "ex")


def _python_blocks(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/development.md"])
def test_the_library_example_runs(
    doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no python example"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, doc, "exec"), {})
    assert (tmp_path / "results" / "lottery.json").is_file()
    assert os.listdir(tmp_path / "results")


def test_every_registry_entry_is_named_in_the_help_and_has_its_own_colour() -> None:
    from typer.testing import CliRunner

    from panelsel.cli import app
    from panelsel.outputs.report import COLOURS

    help_text = " ".join(
        CliRunner(env={"COLUMNS": "200"}).invoke(app, ["select", "--help"]).output.split()
    )
    for name, algorithm in ALGORITHMS.items():
        assert name in help_text, f"select --help does not name {name}"
        assert algorithm.summary, f"{name} has no one-line summary"
        assert COLOURS[name] == algorithm.colour
    assert len({a.colour for a in ALGORITHMS.values()}) == len(ALGORITHMS)
    extremes = [a for a in ALGORITHMS.values() if a.certificate == "extremes"]
    assert extremes and all(a.extremes is not None for a in extremes)


def test_the_audit_checks_who_lottery_json_lists_with_no_chance(work: Path) -> None:
    import json

    chosen = select(
        "ex/registrants.csv", "ex/quotas.yaml", solve=SolveOptions(algorithm="minimax", seed=1)
    )
    zero = {pid for pid, p in zip(chosen.ids, chosen.probabilities, strict=True) if p < 1e-6}
    assert zero, "minimax leaves people at zero on the example: the test needs some"
    write(chosen, work / "o")
    path = work / "o" / "lottery.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert {p for e in document["excluded"] for p in e["ids"]} == zero

    def verdict() -> list[str]:
        report = audit(work / "o", "ex/registrants.csv", "ex/quotas.yaml", recompute=False)
        return [c.detail for c in report.checks if c.name == "no chance" and not c.passed]

    assert verdict() == []
    hidden = sorted(zero)[0]
    forged = json.loads(json.dumps(document))
    forged["excluded"][0]["ids"].remove(hidden)
    path.write_text(json.dumps(forged), encoding="utf-8")
    assert any("not listed" in d and hidden in d for d in verdict())
    with_chance = next(pid for pid in chosen.ids if pid not in zero)
    forged["excluded"][0]["ids"] += [hidden, with_chance]
    path.write_text(json.dumps(forged), encoding="utf-8")
    assert any("have a chance" in d and with_chance in d for d in verdict())


def test_compare_in_memory_gives_each_algorithm_the_lottery_select_gives(work: Path) -> None:
    from panelsel.api import compare

    done = compare(
        "ex/registrants.csv",
        "ex/quotas.yaml",
        algorithms=["leximin", "maximin", "leximin"],
        solve=SolveOptions(seed=5),
        coalition=0,
    )
    assert sorted(p.name for p in work.iterdir()) == ["ex"], "compare touched the disk"
    assert [r.algorithm for r in done.results] == ["leximin", "maximin"]
    for r in done.results:
        assert abs(r.probabilities.sum() - done.model.k) < 1e-9
    alone = select("ex/registrants.csv", "ex/quotas.yaml", solve=SolveOptions(seed=5))
    assert np.array_equal(done.results[0].probabilities, alone.probabilities)
    assert done.seed == 5 and done.seed_given and done.manipulation == []
