"""The outputs shown in the README and docs are regenerated here and must match (issue 28,
item 4): every fenced block that starts with ``$ panelsel`` is run, in order, in a fresh
folder holding a copy of ``examples/``, and every part of the shown output (the parts
between ``...`` lines) must appear in what the commands print, compared with whitespace
collapsed (so the wrapping and column padding of the terminal do not matter) and with
seconds masked.  A published sha256 that no fresh install reproduces fails here, in CI,
rather than in a reader's hands.  To update a block, run its commands at ``COLUMNS=100``
and paste the output; the failure message shows it.

A block whose commands name files the repository does not have (an illustration with the
reader's own data) is listed in :data:`ILLUSTRATIONS` with the reason, so that a new block
is checked unless someone decides otherwise.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNER = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
ILLUSTRATIONS = {
    "panelsel compare respondents.csv quotas.yaml": "the reader's own pool, not in the repo",
}
SECONDS = re.compile(r"\b\d+(?:\.\d+)? s\b")
RULE = re.compile(r"[─━═]{3,}")
"""A table's rule line, as long as the terminal is wide."""


@dataclass
class Block:
    doc: Path
    line: int
    commands: list[list[str]]
    expected: list[list[str]]
    """The shown output after each command: the lines up to the next command."""

    @property
    def name(self) -> str:
        return f"{self.doc.name}:{self.line}"


def _blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("```") and i + 1 < len(lines):
                if not lines[i + 1].startswith("$ panelsel "):
                    i += 1
                    continue
                start, i = i + 1, i + 1
                block = Block(doc, start + 1, [], [])
                while i < len(lines) and not lines[i].startswith("```"):
                    if lines[i].startswith("$ panelsel "):
                        block.commands.append(shlex.split(lines[i][len("$ panelsel ") :]))
                        block.expected.append([])
                    else:
                        block.expected[-1].append(lines[i])
                    i += 1
                found.append(block)
            i += 1
    return found


def _is_compare_table(command: list[str]) -> bool:
    return command[0] == "compare"


def _normalise(lines: list[str], compare: bool) -> str:
    out = []
    for line in lines:
        line = RULE.sub("───", SECONDS.sub("<s>", line))
        if compare:
            # the last column of compare's table is seconds
            line = re.sub(r"\s+\d+\.\d+\s*[│|]?\s*$", " <s>", line)
        out.append(line)
    return " ".join(" ".join(out).split())


def _parts(lines: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == "...":
            parts.append([])
        else:
            parts[-1].append(line)
    return [p for p in parts if any(x.strip() for x in p)]


BLOCKS = _blocks()


def test_the_docs_have_command_blocks() -> None:
    # the parser finds the blocks it should (a broken parser would check nothing)
    names = {(b.doc.name, b.commands[0][0]) for b in BLOCKS}
    assert ("README.md", "select") in names and ("public-draw.md", "select") in names
    assert ("audit.md", "check") in names and ("algorithms.md", "compare") in names


@pytest.mark.parametrize("doc", sorted({b.doc for b in BLOCKS}), ids=lambda d: d.name)
def test_shown_output_is_what_the_commands_print(
    doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blocks of one page run in order in one folder (a draw uses the select above it)."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    checked = 0
    for block in (b for b in BLOCKS if b.doc == doc):
        first = " ".join(["panelsel", *block.commands[0][:3]])
        if first in ILLUSTRATIONS:
            continue
        for command, shown in zip(block.commands, block.expected, strict=True):
            result = RUNNER.invoke(app, command)
            assert result.exit_code in (0, 3), (
                f"{block.name}: panelsel {shlex.join(command)}\n{result.stdout}"
            )
            compare = _is_compare_table(command)
            actual = _normalise(result.stdout.splitlines(), compare)
            for part in _parts(shown):
                wanted = _normalise(part, compare)
                assert wanted in actual, (
                    f"{block.name}: the output shown for `panelsel {shlex.join(command)}` is "
                    "not what it prints; regenerate the block. Shown:\n"
                    + "\n".join(part)
                    + "\n\nPrinted:\n"
                    + result.stdout
                )
            checked += 1
    assert checked > 0
