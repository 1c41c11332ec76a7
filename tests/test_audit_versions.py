"""The versions that decide a result (issue 28, item 4; issue 29, item 5): lottery.json
records them; a recompute that differs under other recorded versions is *inconclusive*
(exit 6, "NOT VERIFIED"), not a failure, and not a pass either, so editing what the file
says about itself can no longer switch the strongest check off."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from panelsel import __version__
from panelsel.cli import app
from panelsel.commands.select import select
from panelsel.errors import EXIT_NOT_VERIFIED, EXIT_VERIFICATION
from panelsel.inputs.load import load_inputs
from panelsel.lotteries import Lottery
from panelsel.lottery.expand import draw
from panelsel.versions import deciding_versions

from .conftest import EXAMPLE
from .test_audit_forgery import _rewrite

REG, QUO = EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml"
RUNNER = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
SEED = 12345
OLD_HIGHS = "1.12.0"


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "o"
    select(REG, QUO, out=out, seed=SEED)
    return out


def _copy(original: Path, tmp_path: Path, name: str = "copy") -> Path:
    out = tmp_path / name
    out.mkdir()
    for path in original.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    return out


def _edit(out: Path, **changes: Any) -> None:
    doc = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key == "highspy":
            doc["versions"]["highspy"] = value
        else:
            doc[key] = value
    (out / "lottery.json").write_text(json.dumps(doc), encoding="utf-8")


def _audit(out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = RUNNER.invoke(app, ["audit", str(out), str(REG), str(QUO), "--json", *extra])
    return result.exit_code, json.loads(result.stdout)


def _recompute(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == "recompute")


def _relabelled(original: Path, tmp_path: Path) -> Path:
    """The within-type relabelling forgery: two registrants of one type swap places in
    every panel of the lottery, panels re-sorted into the canonical order, and the recorded
    seed's draw taken from the result.  The marginals, the symmetry, the order and the draw
    all stay consistent: only a rerun of the method shows the lottery is not its own."""
    base = json.loads((original / "lottery.json").read_text(encoding="utf-8"))
    _, pool, model = load_inputs(REG, QUO)
    row = {pid: i for i, pid in enumerate(pool.ids)}
    for members in model.type_members:
        for a in members.tolist():
            for b in members.tolist():
                if a >= b:
                    continue
                swap = {pool.ids[a]: pool.ids[b], pool.ids[b]: pool.ids[a]}
                panels = [
                    {
                        "members": sorted(
                            (swap.get(m, m) for m in p["members"]), key=row.__getitem__
                        ),
                        "probability": p["probability"],
                    }
                    for p in base["panels"]
                ]
                panels.sort(key=lambda p: [row[m] for m in p["members"]])
                probs = np.array([p["probability"] for p in panels])
                empty = [np.zeros(0, dtype=np.intp)] * len(panels)
                index = draw(Lottery(empty, probs), np.random.default_rng(SEED))
                if panels[index]["members"] == base["selected_members"]:
                    continue
                doc = dict(base, panels=panels, selected=index)
                doc["selected_members"] = panels[index]["members"]
                out = tmp_path / "forged"
                out.mkdir()
                for path in original.iterdir():
                    (out / path.name).write_bytes(path.read_bytes())
                _rewrite(out, doc)
                return out
    raise AssertionError("the example offers no within-type relabelling that changes the draw")


def test_lottery_json_records_the_deciding_versions(original: Path) -> None:
    doc = json.loads((original / "lottery.json").read_text(encoding="utf-8"))
    versions = doc["versions"]
    assert list(versions) == ["panelsel", "python", "numpy", "scipy", "highspy", "pulp"]
    assert versions == deciding_versions()
    assert versions["panelsel"] == __version__ == doc["version"]
    assert versions["highspy"] == metadata.version("highspy")
    assert versions["numpy"] == np.__version__


def test_an_honest_run_under_other_recorded_versions_still_passes(
    original: Path, tmp_path: Path
) -> None:
    """The rerun is attempted whatever the versions: when it gives the same bytes, the run is
    verified (the recorded versions did not matter here)."""
    out = _copy(original, tmp_path)
    _edit(out, highspy=OLD_HIGHS)
    code, report = _audit(out)
    assert code == 0 and report["verified"] and report["inconclusive"] == []
    assert _recompute(report)["passed"] and "entry for entry" in _recompute(report)["detail"]


def test_the_relabelling_forgery_fails_only_recompute(original: Path, tmp_path: Path) -> None:
    out = _relabelled(original, tmp_path)
    code, report = _audit(out)
    failed = {c["name"] for c in report["checks"] if not c["passed"]}
    assert code == EXIT_VERIFICATION and failed == {"recompute"}
    code, report = _audit(out, "--no-recompute")
    assert code == 0 and report["skipped"] == ["recompute"]  # the weaker audit, asked for


def test_other_recorded_versions_make_the_forgery_inconclusive_not_passed(
    original: Path, tmp_path: Path
) -> None:
    out = _relabelled(original, tmp_path)
    _edit(out, highspy=OLD_HIGHS)
    code, report = _audit(out)
    assert code == EXIT_NOT_VERIFIED
    assert report["passed"] and not report["verified"] and report["inconclusive"] == ["recompute"]
    detail = _recompute(report)["detail"]
    installed = metadata.version("highspy")
    assert f"highspy {OLD_HIGHS} (this install: {installed})" in detail
    assert f"highspy=={OLD_HIGHS}" in detail and f"panelsel=={__version__}" in detail
    assert "--no-recompute" in detail
    table = RUNNER.invoke(app, ["audit", str(out), str(REG), str(QUO)])
    assert table.exit_code == EXIT_NOT_VERIFIED
    passed = len(report["checks"]) - 1
    assert f"NOT VERIFIED: {passed} checks passed, but recompute was inconclusive" in table.stdout
    assert "Audit passed" not in table.stdout


@pytest.mark.parametrize(
    "claim",
    [{"proven_optimal": False}, {"version": "0.0.9"}],
    ids=["proven_optimal false", "version 0.0.9"],
)
def test_what_the_file_claims_cannot_switch_recompute_off(
    original: Path, tmp_path: Path, claim: dict[str, Any]
) -> None:
    out = _relabelled(original, tmp_path)
    _edit(out, **claim)
    code, report = _audit(out)
    assert code != 0 and not report["verified"]
    if "proven_optimal" in claim:
        # a best-effort run cannot be rerun to the same point: inconclusive, exit 6
        assert code == EXIT_NOT_VERIFIED and report["inconclusive"] == ["recompute"]
        assert "time limit" in _recompute(report)["detail"]
    else:
        # the version field alone (versions says otherwise) changes nothing: the rerun fails
        assert code == EXIT_VERIFICATION and not _recompute(report)["passed"]
