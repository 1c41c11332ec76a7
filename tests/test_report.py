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
    browser = _require_browser()
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
        # tall enough for the plot, below the result and the plain-language sections
        [browser, *flags, "--window-size=1200,1800", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (1800, 1200)
    assert pixels.std() > 10  # not blank
    # the LEXIMIN curve is drawn: many pixels of its colour
    colour = np.array([int(COLOURS["leximin"][i : i + 2], 16) for i in (1, 3, 5)])
    near = np.abs(pixels - colour).sum(axis=2) < 40
    assert near.sum() > 500, near.sum()


# ------------------------------------------------- issue 16, item 7: a report for a convenor

FORMS = Path(__file__).parent / "corpus" / "forms"

PROBE = """
<script>
window.addEventListener('load', () => {
  const root = document.documentElement;
  const title = document.getElementById('y-title').getBoundingClientRect();
  let overlap = 0;
  for (const t of document.querySelectorAll('#probability-plot text')) {
    if (t.id === 'y-title') continue;
    const b = t.getBoundingClientRect();
    const apart = b.left >= title.right || b.right <= title.left ||
                  b.top >= title.bottom || b.bottom <= title.top;
    if (!apart) overlap += 1;
  }
  document.body.setAttribute('data-scroll-width', root.scrollWidth);
  document.body.setAttribute('data-client-width', root.clientWidth);
  document.body.setAttribute('data-overlaps', overlap);
});
</script>
"""


@pytest.fixture(scope="module")
def forms_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("forms") / "o"
    select(FORMS / "registrations.csv", FORMS / "quotas.yaml", out=out, seed=1, delimiter=";")
    return out / "report.html"


def test_report_for_a_head_of_service(forms_report: Path) -> None:
    page = forms_report.read_text(encoding="utf-8")
    assert "<h1>Panel selection</h1>" in page
    assert "10 seats from 46 registrants · from registrations.csv, quotas.yaml · " in page
    assert "<span id='created'>" in page
    # the drawn panel against every quota, and the verdict
    assert 'id="quotas-met">Every quota is met ✓' in page
    assert page.count('<span class="ok">✓</span>') == 9  # one per quota row
    # who had no chance, by id, with the quotas that exclude them
    assert "4 registrant(s) had no chance of a seat" in page
    assert (
        "gender = Female ≥ 5 and gender = Male ≥ 5 leave no room for them): ids 42, 43, 44, 45"
        in page
    )
    # why chances differ, in plain words: men had 33%, women 19%
    assert (
        "in gender: 5.0 seats on average went to 15 registrants answering &#x27;Male&#x27;, "
        "so each had about 33%; 5.0 seats on average went to 27 registrants answering "
        "&#x27;Female&#x27;, so each had about 19%"
    ) in page
    # the jargon sits below, for analysts
    analysts = page.index("For analysts")
    for word in ("Gini", "p10", "LP relaxation bound attained", "geometric mean"):
        assert page.index(word) > analysts, word
    # the A4 print rules
    assert "@page{size:A4" in page and ".analyst{break-before:page}" in page


def test_report_when_everyone_has_a_chance(tmp_path: Path) -> None:
    text = (FORMS / "quotas.yaml").read_text(encoding="utf-8")
    quotas = tmp_path / "q.yaml"
    quotas.write_text(
        text.replace('Female: "50%"', "Female: {min: 4, max: 5}").replace(
            'Male: "50%"', "Male: {min: 4, max: 5}"
        ),
        encoding="utf-8",
    )
    out = tmp_path / "o"
    select(FORMS / "registrations.csv", quotas, out=out, seed=1, delimiter=";")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Everyone who registered had a chance of a seat ✓" in page
    assert "had no chance" not in page


def _require_browser() -> str:
    browser = _browser()
    if browser is None:
        reason = "no Chromium found (install Debian's chromium, or set PANELSEL_BROWSER)"
        if os.environ.get("PANELSEL_REQUIRE_BROWSER"):
            pytest.fail(reason + "; PANELSEL_REQUIRE_BROWSER is set, as in CI")
        pytest.skip(reason)
    return browser


@pytest.mark.parametrize("width", [700, 1200])
def test_report_layout_in_chromium(forms_report: Path, tmp_path: Path, width: int) -> None:
    browser = _require_browser()
    probe = tmp_path / "probe.html"
    probe.write_text(
        forms_report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
        encoding="utf-8",
    )
    flags = [
        *BROWSER_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={width},900",
    ]
    dom = subprocess.run(
        [browser, *flags, "--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    import re

    found = dict(re.findall(r'data-([a-z-]+)="(\d+)"', dom.stdout))
    assert set(found) >= {"scroll-width", "client-width", "overlaps"}, dom.stdout[-500:]
    assert int(found["scroll-width"]) <= int(found["client-width"])  # no sideways scrolling
    assert found["overlaps"] == "0"  # the axis title clear of every tick label
    # and a screenshot that shows the new sections' colours: the red box, the green ticks
    shot = tmp_path / f"report-{width}.png"
    result = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", forms_report.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (900, width)
    green = np.abs(pixels - np.array([0x17, 0x69, 0x2B])).sum(axis=2) < 60
    assert green.sum() > 200, green.sum()  # "Every quota is met ✓" and the ticks


def test_report_prints_on_a4(forms_report: Path, tmp_path: Path) -> None:
    browser = _require_browser()
    pdf = tmp_path / "report.pdf"
    flags = [*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    result = subprocess.run(
        [
            browser,
            *flags,
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            forms_report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and pdf.is_file(), result.stderr[-2000:]
    data = pdf.read_bytes()
    import re

    boxes = {
        tuple(round(float(x)) for x in m)
        for m in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    }
    assert boxes == {(595, 842)}, boxes  # A4 in points
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 2 <= pages <= 4, pages  # the analysts' part starts a page of its own


@pytest.mark.parametrize("curves", [1, 2, 6, 7])
@pytest.mark.parametrize("k", [1, 4, 10, 20, 30, 44])
def test_the_legend_never_overlaps_the_equal_share_label(curves: int, k: int) -> None:
    """The k/n label sits beside the plot at the equal share's height; the legend rows keep
    at least a row's height away from it (they overlapped for the example's 4 of 45)."""
    import re

    from panelsel.outputs.report import LEGEND_ROW, Curve, plot_svg

    n = 45
    flat = np.full(n, k / n)
    names = list(COLOURS)[: min(curves, len(COLOURS))]
    drawn = [Curve(name, flat, summarise(name, flat, k, 0.0)) for name in names]
    if curves > len(COLOURS):  # a rounded lottery, dashed over the one it came from
        drawn.append(Curve("leximin", flat, summarise("leximin", flat, k, 0.0), dashed=True))
    svg = plot_svg(drawn, k, n)
    (label,) = re.findall(r'<text x="[\d.]+" y="([\d.]+)">k/n = ', svg)
    rows = [float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)">(?!k/n)[a-z]', svg)]
    assert len(rows) == curves
    assert all(abs(row - float(label)) >= LEGEND_ROW for row in rows), (label, rows)
    assert all(0 < row < 420 for row in rows)
