"""Small things a convenor's trial hit (issue 31, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from panelsel.cli import app

from .conftest import EXAMPLE

RUNNER = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})


def test_the_report_shows_a_dash_for_a_value_nobody_has(tmp_path: Path) -> None:
    quotas = tmp_path / "q.yaml"
    text = (EXAMPLE / "quotas.yaml").read_text(encoding="utf-8")
    quotas.write_text(
        text.replace(
            '{Female: "50%", Male: "50%"}', '{Female: "50%", Male: "50%", Other: {max: 1}}'
        ),
        encoding="utf-8",
    )
    out = tmp_path / "run"
    args = ["select", str(EXAMPLE / "registrants.csv"), str(quotas), "--seed", "1"]
    result = RUNNER.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    # the warning does not tell to lower to 0 a minimum that is 0 already
    assert "otherwise nobody of this kind registered, and the quota changes nothing" in said
    assert "lower its minimum to 0" not in said
    report = (out / "report.html").read_text(encoding="utf-8")
    row = re.search(r'<td class="l">Other</td><td>0</td><td>at most 1</td>(.*?)</tr>', report)
    assert row is not None and row.group(1).endswith("<td>—</td>"), row
    analyst = re.search(r'<td class="l">Other</td><td>0.00%</td><td>0–1</td>(.*?)</tr>', report)
    assert analyst is not None and analyst.group(1) == "<td>0.00%</td><td>—</td>"
    # and the report names its inputs by file name only
    assert str(tmp_path) not in report and "from registrants.csv, q.yaml" in report


def test_compare_marks_a_lottery_not_proven_optimal(monkeypatch: object) -> None:
    from types import SimpleNamespace

    import numpy as np
    from rich.console import Console

    from panelsel import console
    from panelsel.outputs.report import Curve, summarise

    p = np.array([0.1, 0.2, 0.3, 0.4])
    curves = [
        Curve("leximin", p, summarise("leximin", p, 1, 1.0, proven=False)),
        Curve("goldilocks", p, summarise("goldilocks", p, 1, 1.0)),
    ]
    shown = Console(record=True, width=80, highlight=False)
    monkeypatch.setattr(console, "stdout", shown)  # type: ignore[attr-defined]
    fake = SimpleNamespace(k=1, n=4, curves=curves, manipulation=[], notes=[], out="o",
                           seconds=1.0, files={})  # fmt: skip
    console.render_comparison(fake)  # type: ignore[arg-type]
    text = " ".join(shown.export_text().split())
    assert " leximin† " in text and " goldilocks† " not in text
    assert "†: NOT PROVEN OPTIMAL (the time limit ran out" in text


def test_the_relaxed_quota_file_says_who_it_still_leaves_out(tmp_path: Path) -> None:
    text = (EXAMPLE / "quotas.yaml").read_text(encoding="utf-8")
    text = text.replace("Postgraduate: 6, Undergraduate: 4", "Postgraduate: 10, Undergraduate: 0")
    quotas = tmp_path / "q.yaml"
    quotas.write_text(text.replace('Female: "50%", Male: "50%"', "Female: 10, Male: 0"))
    relaxed = tmp_path / "relaxed.yaml"
    args = ["check", str(EXAMPLE / "registrants.csv"), str(quotas), "--relaxed-out", str(relaxed)]
    result = RUNNER.invoke(app, args)
    said = " ".join(result.output.split())
    assert result.exit_code == 3
    assert "services = Disability support: min 3 → 2" in said
    assert (
        "(the quotas with this change; under them 34 registrant(s) can never be selected)" in said
    )
    lines = relaxed.read_text(encoding="utf-8").splitlines()
    assert lines[2] == "# under these quotas 34 registrant(s) can never be selected"
    # and check on the relaxed file names them all, each with the quota that excludes them
    result = RUNNER.invoke(app, ["check", str(EXAMPLE / "registrants.csv"), str(relaxed)])
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "34 registrant(s) can never be selected" in said
    assert "named for the first 10 groups only" not in said
    assert "gender = Male ≤ 0 leaves no room for them" in said


def _hint(tmp_path: Path, genders: list[str], quotas: str) -> str:
    pool = tmp_path / "p.csv"
    pool.write_text(
        "id,gender\n" + "".join(f"r{i},{g}\n" for i, g in enumerate(genders)), encoding="utf-8"
    )
    q = tmp_path / "q.yaml"
    q.write_text(f"panel_size: 2\ncategories:\n  gender:\n    quotas: {quotas}\n")
    result = RUNNER.invoke(app, ["check", str(pool), str(q)])
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_close_value_hints_say_which_side_is_the_typo(tmp_path: Path) -> None:
    # a missing quota for Man is not "close to 'Woman'"
    said = _hint(tmp_path, ["Woman", "Man"] * 5, "{Woman: {max: 2}}")
    assert "value 'Man': has no quota" in said and "add a quota for 'Man'" in said
    assert "close to" not in said
    # a typo in one cell is not offered as the quota value to write
    said = _hint(tmp_path, ["Female"] * 9 + ["Femal"] + ["Male"] * 5, "{Female: 1, Male: 1}")
    assert "value 'Femal': has no quota" in said
    assert (
        "probably a typo for 'Female', which 9 other registrant(s) gave: correct the cell" in said
    )


def test_a_categories_csv_separated_by_semicolons_is_read(tmp_path: Path) -> None:
    categories = tmp_path / "categories.csv"
    categories.write_text(
        "\ufefffeature;value;min;max\r\nGender;Female;5;5\r\nGender;Male;5;5\r\n"
        "Level of study;Postgraduate;6;6\r\nLevel of study;Undergraduate;4;4\r\n",
        encoding="utf-8",
    )
    args = ["check", str(EXAMPLE / "registrants.csv"), str(categories), "--panel-size", "10"]
    result = RUNNER.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    import json

    values = {
        (v["category"], v["value"]): (v["min"], v["max"])
        for v in json.loads(result.stdout)["values"]
    }
    assert values == {("Gender", "Female"): (5, 5), ("Gender", "Male"): (5, 5),
                      ("Level of study", "Postgraduate"): (6, 6),
                      ("Level of study", "Undergraduate"): (4, 4)}  # fmt: skip


def test_check_with_a_short_time_limit_gives_the_verdict_it_has(
    tmp_path: Path, monkeypatch: object
) -> None:
    # the time runs out right after the feasibility ILP: the verdict stands (exit 0), and
    # what was not worked out is said, never "every registrant is in a valid panel"
    from panelsel.errors import TimeLimitError
    from panelsel.solve import feasibility

    def out_of_time(*args: object, **kwargs: object) -> object:
        raise TimeLimitError("the time limit of 1 s ran out")

    monkeypatch.setattr(feasibility, "relaxation_attempt", out_of_time)  # type: ignore[attr-defined]
    args = ["check", str(EXAMPLE / "registrants.csv"), str(EXAMPLE / "quotas.yaml")]
    result = RUNNER.invoke(app, [*args, "--time-limit", "60"])
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    assert "Feasible: panels meeting every quota exist" in said
    assert "Note: the time limit ran out after the verdict: the seats each value can get" in said
    assert "Every registrant is in at least one valid panel" not in said


def test_option_help_keeps_room_to_read_at_80_columns() -> None:
    # typer's '<int range> [x>=0]' type column left 21 characters for the help at 80
    # columns; a one-word value name leaves about 30
    for command in ("select", "check", "compare", "replace", "init", "draw"):
        shown = RUNNER.invoke(app, [command, "--help"]).stdout
        assert "<int range>" not in shown and "<float>" not in shown, command
    shown = RUNNER.invoke(app, ["select", "--help"]).stdout
    assert any("Seed of the draw (a fresh one" in line for line in shown.splitlines())
