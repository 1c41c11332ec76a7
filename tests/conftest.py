"""Shared helpers: tiny pools and quota files written to tmp_path, and a CLI runner."""

from __future__ import annotations

import csv
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "wellbeing"
BENCHDATA = REPO.parent / "shared" / "benchdata"


def write_csv(
    path: Path, header: list[str], rows: list[list[object]], delimiter: str = ","
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def small_pool(tmp_path: Path) -> Path:
    """12 people, 6 female / 6 male, 7 postgraduate / 5 undergraduate."""
    rows = [
        ["p1", "Ann", "Female", "PG"],
        ["p2", "Bo", "Female", "PG"],
        ["p3", "Cy", "Female", "UG"],
        ["p4", "Di", "Female", "UG"],
        ["p5", "Ed", "Male", "PG"],
        ["p6", "Flo", "Male", "PG"],
        ["p7", "Gus", "Male", "UG"],
        ["p8", "Hal", "Male", "PG"],
        ["p9", "Ida", "Female", "PG"],
        ["p10", "Jo", "Male", "UG"],
        ["p11", "Kim", "Female", "PG"],
        ["p12", "Lu", "Male", "UG"],
    ]
    return write_csv(tmp_path / "pool.csv", ["id", "name", "gender", "level"], rows)


SMALL_QUOTAS = """\
panel_size: 4
categories:
  gender:
    quotas: {Female: "50%", Male: "50%"}
  level:
    quotas: {PG: {min: 2, max: 3}, UG: {min: 1}}
"""


@pytest.fixture
def small_quotas(tmp_path: Path) -> Path:
    path = tmp_path / "quotas.yaml"
    path.write_text(SMALL_QUOTAS, encoding="utf-8")
    return path


@pytest.fixture
def write_text(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def runner() -> CliRunner:
    # a fixed terminal width so that rich wraps the same way everywhere
    return CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})


def child_dispositions(ignore: tuple[int, ...] = ()) -> Any:
    """A ``preexec_fn`` giving a child process the signal dispositions a terminal would
    (``ignore``: these ignored), whatever the test runner inherited."""

    def reset() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN if sig in ignore else signal.SIG_DFL)

    return reset
