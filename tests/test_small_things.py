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
