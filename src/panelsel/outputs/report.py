"""The probability report: summary figures per algorithm and a self-contained ``report.html``.

The page has no scripts, fonts, images or links to fetch: one HTML file with inline CSS and
an inline SVG plot, so it opens from disk in any browser without a server or network.  It
shows only aggregates (sorted probabilities, per-value figures), never ids or other columns.

Figures
-------
``minimum``, ``p10``, ``median``, ``maximum``
    Of the selection probabilities of all registrants (``p10``: 10th percentile, linear
    interpolation).
``geometric_mean``
    ``exp(mean(log p))``; 0 when anybody has probability 0.
``gini``
    The Gini coefficient of the probabilities: 0 when all are equal, towards 1 when a few
    people hold all the chance.  ``sum_i (2i - n - 1) p_(i) / (n sum p)`` over sorted ``p``.
``below_half_share``
    How many registrants have less than half the equal share ``k / n``.
``share_below_1e-3``
    The fraction of the pool with probability below ``TINY_PROBABILITY``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.inputs.model import Model
from panelsel.lottery.compute import PeopleLottery

TINY_PROBABILITY = 1e-3
PLOT_POINTS = 1000
"""At most this many points per curve (quantiles of the sorted probabilities)."""
COLOURS = {
    "leximin": "#1f77b4",
    "maximin": "#2ca02c",
    "nash": "#9467bd",
    "legacy": "#d62728",
}
"""Line colours per algorithm (tests look for them in a screenshot)."""
FALLBACK_COLOUR = "#555555"
ROUNDED_COLOUR = "#ff7f0e"
"""The dashed curve of a lottery rounded to m panels."""


@dataclass
class Summary:
    """The figures of one algorithm's probabilities (see the module notes)."""

    algorithm: str
    minimum: float
    p10: float
    median: float
    maximum: float
    geometric_mean: float
    gini: float
    below_half_share: int
    share_below_tiny: float
    seconds: float
    estimated: bool = False
    method: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["share_below_1e-3"] = d.pop("share_below_tiny")
        return d


def gini(p: npt.NDArray[np.float64]) -> float:
    """The Gini coefficient of non-negative values (0 for all equal)."""
    x = np.sort(np.asarray(p, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return max(0.0, float(((2 * i - n - 1) @ x) / (n * total)))  # no -0.000 from round-off


def summarise(
    algorithm: str,
    probabilities: npt.NDArray[np.float64],
    k: int,
    seconds: float,
    *,
    estimated: bool = False,
    method: str = "",
) -> Summary:
    """The summary figures of one algorithm's selection probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    n = len(p)
    with np.errstate(divide="ignore"):
        geo = float(np.exp(np.mean(np.log(p)))) if np.all(p > 0) else 0.0
    return Summary(
        algorithm=algorithm,
        minimum=float(p.min()),
        p10=float(np.percentile(p, 10)),
        median=float(np.median(p)),
        maximum=float(p.max()),
        geometric_mean=geo,
        gini=gini(p),
        below_half_share=int((p < 0.5 * k / n).sum()),
        share_below_tiny=float((p < TINY_PROBABILITY).mean()),
        seconds=seconds,
        estimated=estimated,
        method=method,
    )


@dataclass
class Curve:
    """One algorithm's probabilities for the report (``low``/``high``: 99% intervals of an
    estimate)."""

    algorithm: str
    probabilities: npt.NDArray[np.float64]
    summary: Summary
    low: npt.NDArray[np.float64] | None = None
    high: npt.NDArray[np.float64] | None = None
    dashed: bool = False
    """Drawn dashed over the others (a rounded lottery over the one it came from)."""


def curve_of(result: PeopleLottery, k: int) -> Curve:
    """The report's view of one algorithm's lottery."""
    summary = summarise(
        result.algorithm,
        result.probabilities,
        k,
        result.seconds,
        estimated=result.estimated,
        method=result.method,
    )
    return Curve(result.algorithm, result.probabilities, summary, result.low, result.high)


# --------------------------------------------------------------------------- html


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child,th.l,td.l{text-align:left}
th[colspan]{text-align:center;border-bottom:1px solid #bbb}
.wide{overflow-x:auto}
thead th{border-bottom:2px solid #888}
.note{color:#555;font-size:.9rem}
.est{color:#b00;font-weight:bold}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#333}
"""


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _label(curve: Curve) -> str:
    return f"{curve.algorithm} (estimate)" if curve.summary.estimated else curve.algorithm


def _nice_max(value: float) -> float:
    """A round upper end for the probability axis."""
    if value <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(value))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * step >= value:
            return float(min(1.0, m * step))
    return 1.0


def _sampled(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    ordered = np.sort(values)
    if len(ordered) <= PLOT_POINTS:
        return ordered
    pick = np.linspace(0, len(ordered) - 1, PLOT_POINTS).round().astype(np.intp)
    return ordered[pick]


def plot_svg(curves: list[Curve], k: int, n: int) -> str:
    """Sorted probability curves, one per algorithm, with the equal share ``k/n`` marked."""
    width, height = 900, 420
    left, right, top, bottom = 70, 190, 20, 50
    pw, ph = width - left - right, height - top - bottom
    top_value = max([k / n, *(float(c.probabilities.max()) for c in curves)])
    if any(c.high is not None for c in curves):
        top_value = max(top_value, *(float(c.high.max()) for c in curves if c.high is not None))
    ymax = _nice_max(top_value * 1.05)

    def x(frac: float) -> float:
        return left + frac * pw

    def y(p: float) -> float:
        return top + ph - (p / ymax) * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="probability-plot" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Selection probability of every registrant, sorted">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>',
    ]
    for i in range(6):
        v = ymax * i / 5
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#e4e4e4"/>'
            f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{_pct(v)}</text>'
        )
    for i in range(5):
        frac = i / 4
        parts.append(
            f'<text x="{x(frac):.1f}" y="{top + ph + 18}" text-anchor="middle">'
            f"{round(frac * 100)}%</text>"
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">registrants, '
        "sorted by selection probability</text>"
        f'<text transform="translate(16 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
        "selection probability</text>"
    )
    share = k / n
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{y(share):.1f}" y2="{y(share):.1f}" '
        'stroke="#000" stroke-dasharray="6 4" stroke-width="1.5"/>'
        f'<text x="{left + pw + 6}" y="{y(share) + 4:.1f}">k/n = {_pct(share)}</text>'
    )
    for idx, curve in enumerate(curves):
        colour = ROUNDED_COLOUR if curve.dashed else COLOURS.get(curve.algorithm, FALLBACK_COLOUR)
        dash = ' stroke-dasharray="9 6"' if curve.dashed else ""
        values = _sampled(curve.probabilities)
        m = len(values)
        fracs = (np.arange(m) + 0.5) / m
        if curve.low is not None and curve.high is not None:
            order = np.argsort(curve.probabilities, kind="stable")
            lo, hi = curve.low[order], curve.high[order]
            if len(order) > PLOT_POINTS:
                pick = np.linspace(0, len(order) - 1, PLOT_POINTS).round().astype(np.intp)
                lo, hi = lo[pick], hi[pick]
            band = [f"{x(f):.1f},{y(v):.1f}" for f, v in zip(fracs, hi, strict=True)]
            band += [f"{x(f):.1f},{y(v):.1f}" for f, v in zip(fracs[::-1], lo[::-1], strict=True)]
            parts.append(
                f'<polygon points="{" ".join(band)}" fill="{colour}" fill-opacity="0.15" '
                'stroke="none"/>'
            )
        points = " ".join(f"{x(f):.1f},{y(v):.1f}" for f, v in zip(fracs, values, strict=True))
        parts.append(
            f'<polyline class="curve" data-algorithm="{_e(curve.algorithm)}" '
            f'points="{points}" fill="none" stroke="{colour}" stroke-width="3"{dash}/>'
        )
        ly = top + 20 + 22 * idx
        parts.append(
            f'<line x1="{left + pw + 10}" x2="{left + pw + 40}" y1="{ly + 20}" y2="{ly + 20}" '
            f'stroke="{colour}" stroke-width="3"{dash}/>'
            f'<text x="{left + pw + 46}" y="{ly + 24}">{_e(_label(curve))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _summary_table(curves: list[Curve], k: int, n: int) -> str:
    head = (
        "<tr><th>algorithm</th><th>min</th><th>p10</th><th>median</th><th>max</th>"
        "<th>geometric mean</th><th>Gini</th><th>below ½·k/n</th><th>share &lt; 1e-3</th>"
        "</tr>"
    )
    rows = []
    for c in curves:
        s = c.summary
        rows.append(
            f"<tr><td>{_e(_label(c))}</td><td>{_pct(s.minimum)}</td><td>{_pct(s.p10)}</td>"
            f"<td>{_pct(s.median)}</td><td>{_pct(s.maximum)}</td>"
            f"<td>{_pct(s.geometric_mean)}</td><td>{s.gini:.4f}</td>"
            f"<td>{s.below_half_share}</td><td>{_pct(s.share_below_tiny)}</td></tr>"
        )
    return (
        f'<table id="summary"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        f'<p class="note">Equal share k/n = {k}/{n} = {_pct(k / n)}. '
        "“below ½·k/n”: registrants whose probability is under half the equal share.</p>"
    )


def _values_table(model: Model, curves: list[Curve]) -> str:
    groups = "".join(f'<th colspan="2">{_e(_label(c))}</th>' for c in curves)
    subs = "<th>panel share</th><th>mean probability</th>" * len(curves)
    head = (
        '<tr><th class="l" rowspan="2">category</th><th class="l" rowspan="2">value</th>'
        '<th rowspan="2">pool share</th><th rowspan="2">quota</th>'
        f"{groups}</tr><tr>{subs}</tr>"
    )
    rows = []
    pf = model.person_features.astype(np.float64)
    counts = pf.sum(axis=0)
    last = None
    for j, f in enumerate(model.features):
        cells = []
        for c in curves:
            expected = float(c.probabilities @ pf[:, j])
            mean = expected / counts[j] if counts[j] else 0.0
            cells.append(f"<td>{_pct(expected / model.k)}</td><td>{_pct(mean)}</td>")
        cat = _e(f.category) if f.category != last else ""
        last = f.category
        rows.append(
            f'<tr><td class="l">{cat}</td><td class="l">{_e(f.value)}</td>'
            f"<td>{_pct(counts[j] / model.n)}</td><td>{f.min}–{min(f.max, model.k)}</td>"
            f"{''.join(cells)}</tr>"
        )
    return (
        f'<div class="wide"><table id="values"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="note">Pool share: fraction of registrants with the value. Panel '
        "share: the expected fraction of seats held by people with it (multi-valued "
        "categories can add up to more than 100%). Mean probability: the average selection "
        "probability of the people with it.</p>"
    )


def render_html(title: str, model: Model, curves: list[Curve], meta: dict[str, str]) -> str:
    """The whole report page as one string."""
    estimated = [c for c in curves if c.summary.estimated]
    warning = ""
    if estimated:
        warning = (
            '<p class="est">Probabilities marked “estimate” are Monte-Carlo estimates (the '
            "shaded band: 99% confidence intervals), not exact values.</p>"
        )
    if "warning" in meta:  # e.g. a --best-effort lottery that is not proven optimal
        warning += f'<p class="est" id="warning">{_e(meta["warning"])}</p>'
    facts = "".join(f"<tr><th>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in meta.items())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f"<p>Panel of {model.k} from {model.n} registrants.</p>{warning}"
        "<h2>Selection probability of every registrant</h2>"
        f"{plot_svg(curves, model.k, model.n)}"
        "<h2>Summary</h2>"
        f"{_summary_table(curves, model.k, model.n)}"
        "<h2>Per category value</h2>"
        f"{_values_table(model, curves)}"
        f"<h2>Run</h2><table id='run'>{facts}</table>"
        "</body></html>\n"
    )
