"""The report's figures, its self-containedness, and that it renders in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from panelsel.commands.select import select
from panelsel.outputs.report import COLOURS, gini, summarise

from .conftest import EXAMPLE, write_csv

BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_gini_known_values() -> None:
    assert gini(np.full(10, 0.2)) == pytest.approx(0.0, abs=1e-15)
    # one person holds everything among n: (n - 1) / n
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert gini(np.array([1.0, 3.0])) == pytest.approx(0.25)


def test_summary_figures_are_exact() -> None:
    p = np.array([0.0005, 0.05, 0.1, 0.2, 0.2, 0.3, 0.3, 0.35, 0.5, 0.9945])
    s = summarise("x", p, k=3, seconds=1.5)
    assert s.minimum == 0.0005 and s.maximum == 0.9945 and s.median == pytest.approx(0.25)
    assert s.p10 == pytest.approx(0.0005 + 0.9 * (0.05 - 0.0005))
    assert s.below_half_share == 3  # below half of k/n = 0.15: 0.0005, 0.05 and 0.1
    assert s.share_below_tiny == pytest.approx(0.1)
    assert s.geometric_mean == pytest.approx(float(np.exp(np.log(p).mean())))
    assert summarise("x", np.array([0.0, 1.0]), k=1, seconds=0).geometric_mean == 0.0


@pytest.fixture(scope="module")
def example_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "o"
    select(EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml", out=out, seed=4)
    return out / "report.html"


def test_report_is_self_contained_and_private(tmp_path: Path) -> None:
    rows = [[f"id{i}", "F" if i % 2 else "M", f"MARKER-{i}@example.org"] for i in range(12)]
    pool = write_csv(tmp_path / "p.csv", ["id", "g", "email"], rows)
    quotas = tmp_path / "q.yaml"
    quotas.write_text("panel_size: 4\ncategories:\n  g: {quotas: {F: 2, M: 2}}\n", encoding="utf-8")
    select(pool, quotas, out=tmp_path / "o", seed=1)
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "MARKER" not in page and "id3" not in page  # no private columns, no ids
    lowered = page.lower()
    for fetch in ("<script", "<link", "<img", "src=", "@import", "url("):
        assert fetch not in lowered
    # the only URL is the SVG namespace, which browsers never fetch
    assert lowered.count("http") == 1 and 'xmlns="http://www.w3.org/2000/svg"' in page
    assert page.count('class="curve"') == 1 and "k/n = 33.33%" in page


def _browser() -> str | None:
    for name in (
        os.environ.get("PANELSEL_BROWSER"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def test_report_renders_in_headless_chromium(example_report: Path, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        reason = "no Chromium found (install Debian's chromium, or set PANELSEL_BROWSER)"
        if os.environ.get("PANELSEL_REQUIRE_BROWSER"):
            pytest.fail(reason + "; PANELSEL_REQUIRE_BROWSER is set, as in CI")
        pytest.skip(reason)
    from PIL import Image

    flags = [*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    url = example_report.resolve().as_uri()
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="probability-plot"' in dom.stdout and 'class="curve"' in dom.stdout
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [browser, *flags, "--window-size=1200,900", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (900, 1200)
    assert pixels.std() > 10  # not blank
    # the LEXIMIN curve is drawn: many pixels of its colour
    colour = np.array([int(COLOURS["leximin"][i : i + 2], 16) for i in (1, 3, 5)])
    near = np.abs(pixels - colour).sum(axis=2) < 40
    assert near.sum() > 500, near.sum()
