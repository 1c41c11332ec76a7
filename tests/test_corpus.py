"""The hostile and broken inputs of ``tests/corpus/``: each gives its exit code and message.

Every case runs ``panelsel select`` through the CLI and checks: the exit code, the message
fragments (file, row, column, value and how to fix), no traceback, and no output folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app

CORPUS = Path(__file__).parent / "corpus"
POOL, QUOTAS = "pool_ok.csv", "quotas_ok.yaml"

CASES = [
    # (registrants, quotas, exit code, fragments of stderr)
    ("pool_cp1252.csv", QUOTAS, 2, ["pool_cp1252.csv, row 4", "b'\\xe9'", "--encoding cp1252"]),
    ("pool_utf16.csv", QUOTAS, 2, ["UTF-16 encoded", "--encoding utf-16"]),
    ("pool_ragged.csv", QUOTAS, 2, ["row 5: this row has 5 cells but the header has 4"]),
    ("pool_empty.csv", QUOTAS, 2, ["the registrants file is empty"]),
    ("pool_duplicate_header.csv", QUOTAS, 2, ["row 1: the header has two columns called 'gender'"]),
    (
        "pool_ids_case.csv",
        QUOTAS,
        2,
        ["row 14, column 'id', value 'P1': differs only in case or surrounding spaces", "row 2"],
    ),
    ("pool_ids_blank.csv", QUOTAS, 2, ["row 14, column 'id': the id is blank"]),
    (
        "pool_unknown_value.csv",
        QUOTAS,
        2,
        ["row 14, column 'level', value 'Undergrad': has no quota", "add a quota for 'Undergrad'"],
    ),
    ("nope.csv", QUOTAS, 2, ["nope.csv: the registrants file does not exist"]),
    (
        POOL,
        "quotas_alias_bomb.yaml",
        2,
        ["line 2", "YAML aliases (*name) are not supported", "write each value out in full"],
    ),
    (
        POOL,
        "quotas_python_tag.yaml",
        2,
        ["line 1", "tags such as !!python/... are not allowed", "remove the tag"],
    ),
    (POOL, "quotas_float.yaml", 2, ["line 3", "must be a whole number, not the number 2.5"]),
    (POOL, "quotas_bool.yaml", 2, ["line 3", "must be a whole number, not the boolean True"]),
    (POOL, "quotas_string.yaml", 2, ["line 3", "'two', which is neither a count nor a percentage"]),
    (POOL, "quotas_empty.yaml", 2, ["the quota file is empty"]),
    (
        POOL,
        "quotas_typo.yaml",
        2,
        ["line 5: unknown key 'max_per_houshold'", "'max_per_household'"],
    ),
    (
        POOL,
        "quotas_panel_too_big.yaml",
        3,
        ["the panel size 20 is larger than the pool (12 registrants)", "lower the panel size"],
    ),
]


@pytest.mark.parametrize(
    ("pool", "quotas", "code", "fragments"), CASES, ids=[c[0] + "+" + c[1] for c in CASES]
)
def test_bad_input(tmp_path: Path, pool: str, quotas: str, code: int, fragments: list[str]) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    out = tmp_path / "o"
    result = runner.invoke(
        app, ["select", str(CORPUS / pool), str(CORPUS / quotas), "--out", str(out), "--seed", "1"]
    )
    stderr = " ".join(result.stderr.split())
    assert result.exit_code == code, stderr
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()


def test_yaml_python_tag_is_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "select",
            str(CORPUS / POOL),
            str(CORPUS / "quotas_python_tag.yaml"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert calls == []
    assert result.exit_code == 2
    assert "tags such as !!python/... are not allowed in a quota file" in result.output
    assert not (tmp_path / "o").exists()


def test_quoted_newline_loads_and_keeps_the_cell(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "select",
            str(CORPUS / "pool_quoted_newline.csv"),
            str(CORPUS / QUOTAS),
            "--out",
            str(out),
            "--seed",
            "1",
            "--raw-csv",
        ],
    )
    assert result.exit_code == 0, result.stderr
    text = (out / "panel.csv").read_text(encoding="utf-8") + (out / "remaining.csv").read_text(
        encoding="utf-8"
    )
    assert '"Name\nwith a line break"' in text


def test_encoding_option_reads_the_cp1252_file(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "select",
            str(CORPUS / "pool_cp1252.csv"),
            str(CORPUS / QUOTAS),
            "--encoding",
            "cp1252",
            "--out",
            str(tmp_path / "o"),
            "--raw-csv",
        ],
    )
    assert result.exit_code == 0, result.stderr
    # the contact lists come back in the input's encoding, for the Excel that wrote it
    # (issue 16); the derived files stay UTF-8
    text = (tmp_path / "o" / "panel.csv").read_text(encoding="cp1252") + (
        tmp_path / "o" / "remaining.csv"
    ).read_text(encoding="cp1252")
    assert "Renée" in text
    assert (
        b"Ren\xe9e"
        in (tmp_path / "o" / "remaining.csv").read_bytes()
        + (tmp_path / "o" / "panel.csv").read_bytes()
    )
    (tmp_path / "o" / "probabilities.csv").read_text(encoding="utf-8")
