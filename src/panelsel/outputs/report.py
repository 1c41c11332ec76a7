"""The probability report: summary figures per algorithm and a self-contained ``report.html``.

The page has no scripts, fonts, images or links to fetch: one HTML file with inline CSS and
an inline SVG plot, so it opens from disk in any browser without a server or network.  It
shows aggregates (sorted probabilities, per-value figures) and never another column of the
registrants; the only ids on it are those of registrants with no chance of a seat, who must
not go unseen.  It prints on A4 and reads on a narrow screen without scrolling sideways.

It is written for the person the panel is reported to (a head of service, a council
committee): what was drawn against the quotas, whether anyone had no chance, and why chances
differ between groups, in plain words.  The figures for analysts (the curve's percentiles,
the Gini coefficient, the method and its certificate, the inputs' hashes) follow below.

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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from panelsel.inputs.model import Model
from panelsel.lottery.compute import PeopleLottery
from panelsel.solve.algorithms import ALGORITHMS
from panelsel.solve.feasibility import NO_CHANCE_BELOW, Exclusion

TINY_PROBABILITY = 1e-3
PLOT_POINTS = 1000
"""At most this many points per curve (quantiles of the sorted probabilities)."""
COLOURS = {name: algorithm.colour for name, algorithm in ALGORITHMS.items()}
"""Line colours per algorithm, from the registry (tests look for them in a screenshot)."""
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
    equal_share: float = 0.0
    """``k/n``: the minimum and maximum are also given as multiples of it."""
    proven: bool = True
    """False for a lottery not proven optimal (``--best-effort`` at its time limit)."""

    @property
    def min_ratio(self) -> float:
        return self.minimum / self.equal_share if self.equal_share else 0.0

    @property
    def max_ratio(self) -> float:
        return self.maximum / self.equal_share if self.equal_share else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["share_below_1e-3"] = d.pop("share_below_tiny")
        d["min_over_equal_share"] = self.min_ratio
        d["max_over_equal_share"] = self.max_ratio
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
    proven: bool = True,
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
        equal_share=k / n,
        proven=proven,
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
        proven=result.proven_optimal or result.estimated,
    )
    return Curve(result.algorithm, result.probabilities, summary, result.low, result.high)


# --------------------------------------------------------------------------- html


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1000px;color:#222;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem}
h3{font-size:1.05rem;margin-top:1.4rem}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .55rem;text-align:right}
th:first-child,td:first-child,th.l,td.l{text-align:left}
th[colspan]{text-align:center;border-bottom:1px solid #bbb}
.wide{overflow-x:auto;max-width:100%}
thead th{border-bottom:2px solid #888}
.note{color:#555;font-size:.9rem}
.est{color:#b00;font-weight:bold}
.ok{color:#17692b;font-weight:bold}
.box{border:2px solid #17692b;border-radius:6px;padding:.6rem 1rem;margin:1rem 0;
background:#f3faf4}
.box.bad{border-color:#b00;background:#fdf2f2}
.box p{margin:.3rem 0}
svg{max-width:100%;height:auto;display:block}
svg text{font-family:system-ui,sans-serif;font-size:13px;fill:#333}
.analyst{border-top:3px double #999;margin-top:2.5rem}
@media print{
@page{size:A4;margin:14mm}
body{max-width:none;margin:0;padding:0;font-size:10.5pt}
h2,h3{break-after:avoid}
table,svg,.box{break-inside:avoid}
.analyst{break-before:page}
.wide{overflow:visible}
}
"""


@dataclass
class ReportPage:
    """What one ``report.html`` shows.

    Attributes
    ----------
    title : str
        The page's heading (the run's kind and algorithm).
    model : Model
        The quotas and the pool's values.
    curves : list of Curve
        One per algorithm (or the lottery and the one it was rounded to).
    facts : dict of str to str
        The run's details for analysts (method, solver, seed, hashes, version).
    registrants, quotas : str
        The input files' names, as the convenor knows them.
    created : str
        When the run was made (UTC), for the heading.
    panel : list of int or None
        The members of the drawn panel (shown against the quotas), or None when nothing was
        drawn (a comparison, or a lottery published for a later public draw).
    panels_checked : int or None
        For a published lottery: how many numbered panels, each checked against every quota.
    excluded : list of Exclusion
        Who has no chance in the lottery, and why.
    notes : list of str
        Everything else the run said (warnings about the inputs, an unproven optimum).
    warning : str or None
        A warning shown at the top (a lottery not proven optimal).
    """

    title: str
    model: Model
    curves: list[Curve]
    facts: dict[str, str]
    registrants: str = ""
    quotas: str = ""
    created: str = ""
    panel: list[int] | None = None
    panels_checked: int | None = None
    excluded: list[Exclusion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warning: str | None = None
    whole: WholePanel | None = None
    """For a replacement round: the whole panel now, against the original quotas."""


@dataclass(frozen=True)
class WholePanel:
    """A replacement round's whole panel: the original pool's model, the members (kept and
    new) as its rows, and how many were kept."""

    model: Model
    members: list[int]
    kept: int
    loosened: str = ""
    """The round's loosening of the quotas (``replace --loosen``) in words, if any."""


def created_now() -> str:
    """The report's date and time of writing, in UTC."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%d %B %Y, %H:%M UTC")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _plain_pct(x: float) -> str:
    """A chance as people say it: whole percentages, a decimal below 10%."""
    if x <= 0:
        return "0%"
    if x < 0.1:
        return f"{100 * x:.1f}%"
    return f"{100 * x:.0f}%"


def _seats(k: int) -> str:
    return f"{k} seat" if k == 1 else f"{k} seats"


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


def _tick(value: float, ymax: float) -> str:
    """An axis label with as few decimals as the axis' range needs."""
    decimals = 0 if ymax >= 0.05 else 1 if ymax >= 0.005 else 2
    return f"{100 * value:.{decimals}f}%"


def _sampled(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    ordered = np.sort(values)
    if len(ordered) <= PLOT_POINTS:
        return ordered
    pick = np.linspace(0, len(ordered) - 1, PLOT_POINTS).round().astype(np.intp)
    return ordered[pick]


LEGEND_ROW = 22
"""Pixels between the middles of two rows of the plot's legend (and the least distance
from a legend row to the ``k/n`` label beside the plot, so that the two never overlap)."""


def _legend_start(label: float, rows: int, start: float, bottom: float) -> float:
    """Where the legend's first row goes: at ``start`` unless a row would be nearer than
    :data:`LEGEND_ROW` to the ``k/n`` label at height ``label``; then just below the label,
    or just above it when below would pass the plot's ``bottom``."""
    if all(abs(start + LEGEND_ROW * i - label) >= LEGEND_ROW for i in range(rows)):
        return start
    below = label + LEGEND_ROW
    if below + LEGEND_ROW * (rows - 1) <= bottom:
        return below
    return label - LEGEND_ROW * rows


def plot_svg(curves: list[Curve], k: int, n: int) -> str:
    """Sorted probability curves, one per algorithm, with the equal share ``k/n`` marked.

    The SVG scales to the page's width (``viewBox``, CSS ``max-width: 100%``); the axis title
    sits left of the widest tick label, so they never overlap."""
    width, height = 900, 420
    left, right, top, bottom = 92, 190, 20, 50
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
            f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{_tick(v, ymax)}</text>'
        )
    for i in range(5):
        frac = i / 4
        parts.append(
            f'<text x="{x(frac):.1f}" y="{top + ph + 18}" text-anchor="middle">'
            f"{round(frac * 100)}%</text>"
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">registrants, '
        "from the lowest chance to the highest</text>"
        f'<text id="y-title" transform="translate(22 {top + ph / 2}) rotate(-90)" '
        'text-anchor="middle">chance of a seat</text>'
    )
    share = k / n
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{y(share):.1f}" y2="{y(share):.1f}" '
        'stroke="#000" stroke-dasharray="6 4" stroke-width="1.5"/>'
        f'<text x="{left + pw + 6}" y="{y(share) + 4:.1f}">k/n = {_pct(share)}</text>'
    )
    first_row = _legend_start(y(share), len(curves), top + LEGEND_ROW * 2 - 4, top + ph)
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
        ly = first_row + LEGEND_ROW * idx
        parts.append(
            f'<line x1="{left + pw + 10}" x2="{left + pw + 40}" y1="{ly:.1f}" y2="{ly:.1f}" '
            f'stroke="{colour}" stroke-width="3"{dash}/>'
            f'<text x="{left + pw + 46}" y="{ly + 4:.1f}">{_e(_label(curve))}</text>'
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
        f'<div class="wide"><table id="summary"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<p class="note">Equal share k/n = {k}/{n} = {_pct(k / n)}. '
        "“below ½·k/n”: registrants whose probability is under half the equal share. "
        "Gini: 0 when every chance is equal, towards 1 when a few hold all of it.</p>"
    )


NOBODY = "—"
"""A chance shown for a value nobody registered with (not 0%: nobody has a chance of 0)."""


def _values_table(model: Model, curves: list[Curve]) -> str:
    groups = "".join(f'<th colspan="2">{_e(_label(c))}</th>' for c in curves)
    subs = "<th>expected share</th><th>mean probability</th>" * len(curves)
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
            shown = _pct(mean) if counts[j] else NOBODY
            cells.append(f"<td>{_pct(expected / model.k)}</td><td>{shown}</td>")
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
        '<p class="note">Pool share: fraction of registrants with the value. Expected '
        "share: the lottery's expected fraction of seats held by people with it "
        "(multi-valued categories can add up to more than 100%). Mean probability: the "
        "average selection probability of the people with it.</p>"
    )


def _quota_text(lo: int, hi: int) -> str:
    if lo == hi:
        return str(lo)
    if lo == 0:
        return f"at most {hi}"
    return f"{lo} to {hi}"


def _result_section(page: ReportPage) -> str:
    """The drawn panel (or the published panels) against the quotas, and each group's
    average chance."""
    model, curve = page.model, page.curves[0]
    pf = model.person_features.astype(np.float64)
    counts = pf.sum(axis=0)
    drawn = None
    if page.panel is not None:
        drawn = pf[np.asarray(page.panel, dtype=np.intp)].sum(axis=0)
    rows, last = [], None
    for j, f in enumerate(model.features):
        hi = min(f.max, model.k)
        mean = float(curve.probabilities @ pf[:, j]) / counts[j] if counts[j] else 0.0
        cells = ""
        if drawn is not None:
            met = f.min <= drawn[j] <= hi
            mark = '<span class="ok">✓</span>' if met else '<span class="est">✗</span>'
            cells = f"<td>{int(drawn[j])}</td><td>{mark}</td>"
        cat = _e(f.category) if f.category != last else ""
        last = f.category
        rows.append(
            f'<tr><td class="l">{cat}</td><td class="l">{_e(f.value)}</td>'
            f"<td>{int(counts[j])}</td><td>{_e(_quota_text(f.min, hi))}</td>{cells}"
            + (
                f'<td class="est">{_plain_pct(mean)}</td></tr>'
                if counts[j] and mean < NO_CHANCE_BELOW
                else f"<td>{_plain_pct(mean) if counts[j] else NOBODY}</td></tr>"
            )
        )
    drawn_head = "<th>on the panel</th><th>met</th>" if drawn is not None else ""
    table = (
        '<div class="wide"><table id="panel-against-quotas"><thead><tr>'
        '<th class="l">group</th><th class="l">answer</th><th>registered</th>'
        f"<th>seats (quota)</th>{drawn_head}<th>average chance</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    if drawn is not None:
        problems = model.panel_violations(page.panel or [])
        verdict = (
            f'<p class="ok" id="quotas-met">Every quota is met ✓ — the panel of {model.k} '
            "was drawn at random from panels that all meet them.</p>"
            if not problems
            else f'<p class="est" id="quotas-met">Quotas not met: {_e("; ".join(problems))}</p>'
        )
    elif page.panels_checked is not None:
        verdict = (
            f'<p class="ok" id="quotas-met">Each of the {page.panels_checked} numbered panels '
            "meets every quota ✓ — one of them will be drawn in public.</p>"
        )
    else:
        verdict = ""
    return verdict + table


def _whole_section(whole: WholePanel) -> str:
    """A round's whole panel against the original quotas (counted on the original pool)."""
    model = whole.model
    pf = model.person_features.astype(np.float64)
    held = pf[np.asarray(whole.members, dtype=np.intp)].sum(axis=0)
    rows, last = [], None
    for j, f in enumerate(model.features):
        hi = min(f.max, model.k)
        met = f.min <= held[j] <= hi
        mark = '<span class="ok">✓</span>' if met else '<span class="est">✗</span>'
        cat = _e(f.category) if f.category != last else ""
        last = f.category
        rows.append(
            f'<tr><td class="l">{cat}</td><td class="l">{_e(f.value)}</td>'
            f"<td>{_e(_quota_text(f.min, hi))}</td><td>{int(held[j])}</td><td>{mark}</td></tr>"
        )
    problems = model.panel_violations(whole.members)
    verdict = (
        f'<p class="ok" id="whole-quotas-met">The whole panel meets every original quota ✓ '
        f"— {whole.kept} kept, {len(whole.members) - whole.kept} new.</p>"
        if not problems
        else (
            f'<p class="est" id="whole-quotas-met">Quotas not met, as this round loosened them '
            f"(replace --loosen, recorded in lottery.json): {_e('; '.join(problems))}. "
            f"{_e(whole.loosened)}.</p>"
        )
        if whole.loosened
        else f'<p class="est" id="whole-quotas-met">Quotas not met: {_e("; ".join(problems))}</p>'
    )
    return (
        f"<h2>The whole panel now</h2>{verdict}"
        '<div class="wide"><table id="whole-panel"><thead><tr><th class="l">group</th>'
        '<th class="l">answer</th><th>seats (quota)</th><th>on the panel</th><th>met</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        "<p class='note'>The sections below are about this round: the seats it filled, "
        "against what the quotas left after the kept members, and the chances of the people "
        "still available.</p>"
    )


def _chances_section(page: ReportPage) -> str:
    """Who had no chance (named), or that everyone had one."""
    curve = page.curves[0]
    if not page.excluded:
        low = float(curve.probabilities.min())
        return (
            '<div class="box" id="no-chance"><p class="ok">Everyone who registered had a '
            f"chance of a seat ✓</p><p>The lowest chance was {_plain_pct(low)}.</p></div>"
        )
    items = "".join(f"<li>{_e(e.text(shown=50))}</li>" for e in page.excluded)
    total = sum(len(e.ids) for e in page.excluded)
    if page.whole is not None:  # a round: the seats left are for some kinds of people only
        return (
            '<div class="box" id="no-chance">'
            f"<p>{total} registrant(s) still available could not take these seats</p>"
            f"<ul>{items}</ul>"
            "<p>The kept members already hold what the quotas allow of their groups, so the "
            "seats left can only go to the groups still short. Everyone else available had "
            "the chance this round's lottery gives.</p></div>"
        )
    advice = []
    if any(e.selectable is False for e in page.excluded):
        advice.append(
            "Where the quotas leave no seat for someone, loosen those quotas (<code>panelsel "
            "check</code> shows what each allows) and run the selection again before anyone "
            "is contacted."
        )
    if any(e.selectable for e in page.excluded):
        advice.append(
            ("The others" if advice else "They")
            + " could be on a valid panel: the quotas allow them, and the reason given says "
            "what left them out."
        )
    return (
        '<div class="box bad" id="no-chance">'
        f'<p class="est">{total} registrant(s) had no chance of a seat</p>'
        f"<ul>{items}</ul>"
        f"<p>{' '.join(advice)}</p></div>"
    )


def _why_text(page: ReportPage) -> str:
    """Why chances differ between groups, in plain words, from the category whose groups'
    average chances differ most."""
    model, curve = page.model, page.curves[0]
    pf = model.person_features.astype(np.float64)
    counts = pf.sum(axis=0)
    seats = curve.probabilities @ pf
    best: tuple[float, list[int]] | None = None
    by_category: dict[str, list[int]] = {}
    for j, f in enumerate(model.features):
        by_category.setdefault(f.category, []).append(j)
    for js in by_category.values():
        # a category whose values add up to the panel (one value per person)
        if abs(float(counts[js].sum()) - model.n) > 0.5:
            continue
        held = [j for j in js if counts[j] > 0 and seats[j] > 0]
        if len(held) < 2:
            continue
        means = [seats[j] / counts[j] for j in held]
        spread = max(means) / min(means)
        if best is None or spread > best[0]:
            best = (spread, held)
    intro = (
        "<p>A fair lottery gives everyone as equal a chance as the quotas allow. The quotas "
        "fix how many seats each group gets, whatever its number of registrants, so a group "
        "with fewer registrants per seat has a better chance each.</p>"
    )
    if best is None or best[0] < 1.2:
        return intro
    held = sorted(best[1], key=lambda j: -seats[j] / counts[j])
    hi, lo = held[0], held[-1]
    f_hi = model.features[hi]

    def part(j: int) -> str:
        f = model.features[j]
        return (
            f"{seats[j]:.1f} seats on average went to {int(counts[j])} registrants "
            f"answering {f.value!r}"
        )

    return intro + (
        f'<p id="why">For example, in {_e(f_hi.category)}: {_e(part(hi))}, so each had '
        f"about {_plain_pct(seats[hi] / counts[hi])}; {_e(part(lo))}, so each had about "
        f"{_plain_pct(seats[lo] / counts[lo])}.</p>"
    )


def render_html(page: ReportPage) -> str:
    """The whole report page as one string."""
    model = page.model
    estimated = [c for c in page.curves if c.summary.estimated]
    warning = ""
    if estimated:
        warning = (
            '<p class="est">Probabilities marked “estimate” are Monte-Carlo estimates (the '
            "shaded band: 99% confidence intervals), not exact values.</p>"
        )
    if page.warning:  # e.g. a --best-effort lottery that is not proven optimal
        warning += f'<p class="est" id="warning">{_e(page.warning)}</p>'
    inputs = ", ".join(x for x in (page.registrants, page.quotas) if x)
    sub = _e(f"{_seats(model.k)} from {model.n} registrants")
    if inputs:
        sub += _e(f" · from {inputs}")
    if page.created:
        # the one part of the page that differs between two identical runs
        sub += f" · <span id='created'>{_e(page.created)}</span>"
    facts = "".join(
        f"<tr><th>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in page.facts.items()
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in page.notes)
    multiple = len(page.curves) > 1 and page.panels_checked is None
    result = "" if multiple else f"<h2>The result</h2>{_result_section(page)}"
    if page.whole is not None:
        result = _whole_section(page.whole) + result.replace(
            "<h2>The result</h2>", "<h2>This round</h2>", 1
        )
    chances = "" if multiple else _chances_section(page)
    why = "" if multiple else f"<h2>Why chances differ</h2>{_why_text(page)}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(page.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(page.title)}</h1><p class='sub' id='subtitle'>{sub}</p>{warning}"
        f"{result}{chances}{why}"
        "<h2>Every registrant's chance</h2>"
        f"{plot_svg(page.curves, model.k, model.n)}"
        "<p class='note'>Each registrant's chance of a seat, from the lowest to the highest. "
        "The dashed line is the chance everyone would have if there were no quotas "
        f"({_seats(model.k)} ÷ {model.n} registrants).</p>"
        + (f"<h2>Notes</h2><ul id='notes'>{notes}</ul>" if notes else "")
        + "<section class='analyst'><h2>For analysts</h2>"
        "<h3>Summary of the probabilities</h3>"
        f"{_summary_table(page.curves, model.k, model.n)}"
        "<h3>Per category value</h3>"
        f"{_values_table(model, page.curves)}"
        f"<h3>Run</h3><div class='wide'><table id='run'>{facts}</table></div></section>"
        "</body></html>\n"
    )
