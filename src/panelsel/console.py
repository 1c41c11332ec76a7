"""Terminal rendering with rich: the only module that imports it.

Everything here takes finished library results and draws them; no logic a library caller
would need lives here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from panelsel.errors import PanelselError
from panelsel.progress import ProgressFn

if TYPE_CHECKING:  # only for annotations: each command imports what it renders
    from panelsel.commands.audit import AuditReport
    from panelsel.commands.compare import Comparison
    from panelsel.commands.draw import DrawResult
    from panelsel.commands.init import InitResult
    from panelsel.commands.replace import Replacement
    from panelsel.commands.select import SelectionResult
    from panelsel.solve.feasibility import Diagnosis
    from panelsel.web.workspace import Earlier

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """One JSON object on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def print_error(error: PanelselError, *, as_json: bool) -> None:
    """The error on stderr (and, with ``--json``, as an object on stdout)."""
    title = {
        "bad_input": "Bad input",
        "infeasible": "Quotas cannot be met",
        "solver": "Solver failure",
        "time_limit": "Time limit",
    }.get(error.kind, "Error")
    stderr.print(f"[bold red]{title}:[/] ", end="")
    stderr.print(error.message, markup=False, soft_wrap=True)
    if error.hint:
        stderr.print("[bold]fix:[/] ", end="")
        stderr.print(error.hint, markup=False, soft_wrap=True)
    if as_json:
        print_json({"error": error.as_dict()})


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressFn]:
    """A progress callback drawing rich bars on stderr (a no-op when not a terminal)."""
    if not enabled or not stderr.is_terminal:
        yield lambda stage, done, total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as bars:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            # "KEY · detail": one bar per KEY, whose text follows the detail (a LEXIMIN
            # level's number and certified gap)
            key = stage.split(" · ")[0]
            if key not in tasks:
                tasks[key] = bars.add_task(stage, total=total)
            bars.update(tasks[key], completed=done, total=total, description=stage)

        yield update


def _said(label: str, style: str, text: str) -> None:
    """A labelled line of plain text (no markup read from it), wrapped as one paragraph so
    that the label's width counts (two prints would let the first line run past 80)."""
    stdout.print(Text.assemble((label, style), text), highlight=False)


def _pct(p: float) -> str:
    return f"{100 * p:.2f}%"


def _nth(index: int | None) -> str:
    """A 0-based list position as people count it, with lottery.json's own number."""
    if index is None:
        return "none"
    return f"no. {index + 1} (lottery.json numbers it {index}: it counts from 0)"


def _short_pct(p: float) -> str:
    """A percentage in at most 6 characters (1 decimal; 2 below 1%)."""
    return f"{100 * p:.2f}%" if p < 0.01 else f"{100 * p:.1f}%"


def render_selection(result: SelectionResult) -> None:
    """The human summary of a selection."""
    table = Table(
        title=f"Panel of {result.k} from {result.n} registrants "
        f"({result.algorithm}, {result.solver})",
        title_justify="left",
    )
    for name, justify in (
        ("category", "left"),
        ("value", "left"),
        ("pool", "right"),
        ("quota", "right"),
        ("panel", "right"),
        ("expected", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    published = result.kind == "published"
    last = None
    for f in result.features:
        table.add_row(
            f.category if f.category != last else "",
            f.value,
            str(f.pool),
            f"{f.min}–{f.max}",
            "–" if published else str(f.panel),
            f"{f.expected:.2f}",
            end_section=False,
        )
        last = f.category
    stdout.print(table)
    if result.members and result.kind != "published":
        _said(f"Selected ({len(result.members)}): ", "bold", ", ".join(result.members))
    fig = result.probability_figures()
    label = (
        f"Selection probability (estimates over {result.samples} runs)"
        if result.kind == "estimated"
        else "Selection probability"
    )
    stdout.print(
        f"{label}: min {_pct(fig['min'])}, median {_pct(fig['median'])}, "
        f"max {_pct(fig['max'])} (k/n {_pct(fig['equal_share'])})"
    )
    if result.kind == "estimated":
        stdout.print(
            f"Runs: {result.samples}, {len(result.lottery)} distinct panels; the first run "
            "is the selected panel"
        )
    elif published:
        pass  # nothing drawn: the numbered panels are shown below
    elif result.grouped:
        stdout.print(
            f"Lottery: {len(result.lottery)} count vectors over {result.n_types} types (too "
            f"many panels of people to list); drawn: vector {_nth(result.selected_index)}"
        )
    else:
        stdout.print(
            f"Lottery: {len(result.lottery)} panels; drawn: panel {_nth(result.selected_index)}"
        )
    how = "given" if result.seed_was_given else "fresh; pass --seed to reproduce"
    stdout.print(f"Seed: {result.seed} ({how})")
    if published:
        _render_rounding(result)
    warnings = set(result.warnings)
    for note in result.notes:
        if note in warnings:
            _said("Warning: ", "bold yellow", note)
        else:
            _said("Note: ", "yellow", note)
    stdout.print(f"Wrote {result.out}/ in {result.seconds:.2f} s:")
    for path in result.files.values():
        stdout.print(f"  {path}")
    if published:
        assert result.rounded is not None
        stdout.print("Nothing was drawn. Publish lottery.json and its sha256 before the draw:")
        stdout.print(f"  {result.sha256}")
        stdout.print("then draw with one public random input:")
        stdout.print(
            f"  panelsel draw {result.out}/lottery.json --sha256 {result.sha256} --number N",
            soft_wrap=True,
        )
        stdout.print("  (or --dice R,R,... --dice-sides S, or --random-hex HEX)")
        from panelsel.lottery.public import dice_plan

        plans = []
        for plan in dice_plan(result.rounded.m):
            rejected = plan["values"] - plan["accept_below"]
            plans.append(
                f"{plan['dice']} dice of {plan['sides']} sides"
                + (f" (reject {rejected} of {plan['values']} values)" if rejected else "")
            )
        stdout.print("Dice per group: " + "; ".join(plans))


def _render_rounding(result: SelectionResult) -> None:
    r = result.rounded
    assert r is not None
    m = r.m
    distinct = len({members.tobytes() for members in r.lottery.panels})
    stdout.print(f"Uniform lottery: {m} numbered panels, {distinct} distinct ({r.method})")
    stdout.print(
        f"Rounding: largest change of a probability {_pct(r.largest_change)} "
        f"({r.largest_change * m:.2f}/m), worst loss {_pct(r.worst_loss)} "
        f"({r.worst_loss * m:.2f}/m); the paper's bound {_pct(r.bound)} ({r.bound * m:.2f}/m: "
        f"min(k/m, types bound with {r.n_types} types))"
    )
    stdout.print(
        f"Minimum probability: {_pct(float(r.before.min()))} before rounding, "
        f"{_pct(float(r.after.min()))} after"
    )


def render_replacement(result: Replacement) -> None:
    """The summary of a replacement round."""
    stdout.print(
        f"Replacement round: {len(result.dropouts)} seat(s) to fill from {result.pool_size} "
        f"registrants still available (after {result.previous})"
    )
    _said("Kept: ", "bold", ", ".join(result.kept))
    _said("Dropped out: ", "bold", ", ".join(result.dropouts))
    if result.unavailable:
        _said("Unavailable: ", "bold", ", ".join(result.unavailable))
    if result.lottery_sha256 is None:
        _said("Replacements: ", "bold green", ", ".join(result.replacements))
    stdout.print(f"Lowest chance this round: {_pct(result.minimum)}")
    how = "given" if result.seed_was_given else "fresh; pass --seed to reproduce"
    stdout.print(f"Seed: {result.seed} ({how})")
    warnings = set(result.warnings)
    for note in result.notes:
        _said("Warning: " if note in warnings else "Note: ",
              "bold yellow" if note in warnings else "yellow", note)  # fmt: skip
    stdout.print(f"Wrote {result.out}/ in {result.seconds:.2f} s:")
    for path in result.files.values():
        stdout.print(f"  {path}")
    if result.lottery_sha256 is not None:
        stdout.print("Nothing was drawn. Publish lottery.json and its sha256 before the draw:")
        stdout.print(f"  {result.lottery_sha256}")
        stdout.print(
            f"  panelsel draw {result.out}/lottery.json --sha256 {result.lottery_sha256} "
            "--number N",
            soft_wrap=True,
        )


def render_draw(result: DrawResult) -> None:
    """The public draw: the checks, the rule's steps, the panel."""
    for warning in result.warnings:
        stderr.print(f"[yellow]Warning:[/] {warning}")
    stdout.print(f"{result.lottery}: sha256 matches {result.checked_against}:")
    stdout.print(f"  {result.sha256}")
    for step in result.picked.steps:
        stdout.print(f"  {step}")
    stdout.print(f"Panel number {result.picked.number} of {result.m}:")
    stdout.print("  " + ", ".join(result.members), markup=False)
    stdout.print("Wrote:")
    for path in result.files.values():
        stdout.print(f"  {path}")


def render_audit(report: AuditReport) -> None:
    """One row per audit check, then the verdict."""
    table = Table(title=f"Audit of {report.out}/ ({report.algorithm})", title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        if check.skipped:
            mark = "[yellow]skip[/]"
        elif check.inconclusive:
            mark = "[bold yellow]inconclusive[/]"
        else:
            mark = "[green]pass[/]" if check.passed else "[bold red]FAIL[/]"
        table.add_row(check.name, mark, check.detail.replace("[", "\\["))
    stdout.print(table)
    failed = [c.name for c in report.checks if not c.passed]
    skipped = report.skipped
    inconclusive = report.inconclusive
    ran = len(report.checks) - len(skipped) - len(inconclusive)
    unproven = (
        ""
        if report.proven_optimal
        else "; [bold yellow]NOT PROVEN OPTIMAL[/] (lottery.json says so: a best-effort run)"
    )
    skip_note = f"; [yellow]skipped:[/] {', '.join(skipped)}" if skipped else ""
    if failed:
        stdout.print(f"[bold red]Audit failed:[/] {', '.join(failed)}{unproven}")
    elif inconclusive:
        stdout.print(
            f"[bold yellow]NOT VERIFIED:[/] {ran} checks passed, but {', '.join(inconclusive)} "
            f"was inconclusive (see its detail){skip_note}{unproven}"
        )
    elif skipped:
        stdout.print(f"[green]Audit passed:[/] {ran} checks{skip_note}{unproven}")
    else:
        stdout.print(f"[green]Audit passed:[/] all {ran} checks{unproven}")


def _compact(table: Table) -> None:
    """Narrow enough for 80 columns and a pipe: no cell is ever cut to "lexi…"."""
    table.box = box.SIMPLE_HEAD
    table.pad_edge = False
    table.padding = (0, 1)
    table.collapse_padding = True


def render_comparison(result: Comparison) -> None:
    """The comparison table: one row per algorithm."""
    table = Table(
        title=f"Selection probabilities, panel of {result.k} from {result.n} registrants "
        f"(k/n {_pct(result.k / result.n)})",
        title_justify="left",
    )
    _compact(table)
    table.add_column("algorithm", no_wrap=True)
    for name in ("min", "÷k/n", "median", "max", "÷k/n", "geo", "Gini", "<½k/n", "s"):
        table.add_column(name, justify="right", no_wrap=True)
    for curve in result.curves:
        s = curve.summary
        table.add_row(
            s.algorithm + ("*" if s.estimated else "") + ("†" if not s.proven else ""),
            _short_pct(s.minimum),
            f"{s.min_ratio:.2f}",
            _short_pct(s.median),
            _short_pct(s.maximum),
            f"{s.max_ratio:.2f}",
            _short_pct(s.geometric_mean),
            f"{s.gini:.3f}",
            str(s.below_half_share),
            f"{s.seconds:.1f}",
        )
    stdout.print(table)
    stdout.print(
        "÷k/n: the column before as a multiple of the equal share k/n; geo: geometric mean; "
        "<½k/n: registrants below half the equal share; s: seconds (p10 and the share below "
        "0.001 are in summary.json)"
        + ("; *: Monte-Carlo estimates" if any(c.summary.estimated for c in result.curves) else "")
        + (
            "; †: NOT PROVEN OPTIMAL (the time limit ran out; --best-effort kept the best "
            "lottery found)"
            if any(not c.summary.proven for c in result.curves)
            else ""
        )
    )
    if result.manipulation:
        _render_manipulation(result)
    for note in result.notes:
        stdout.print(f"[yellow]Note:[/] {note}")
    stdout.print(f"Wrote {result.out}/ in {result.seconds:.2f} s:")
    for path in result.files.values():
        stdout.print(f"  {path}")


def _render_manipulation(result: Comparison) -> None:
    """What a coalition reached by one common report, per algorithm."""
    first = result.manipulation[0]
    table = Table(
        title=f"Manipulation test: a coalition of {len(first.coalition)} reports the same answers",
        title_justify="left",
    )
    _compact(table)
    table.add_column("algorithm", no_wrap=True)
    for name in ("honest", "lying", "÷k/n", "tried"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("best report")
    for m in result.manipulation:
        best = m.best
        table.add_row(
            m.algorithm,
            _short_pct(m.honest),
            "–" if best is None else _short_pct(best.probability or 0.0),
            "–" if best is None else f"{(best.probability or 0.0) * result.n / result.k:.2f}",
            str(len(m.attempts)),
            "none ran" if best is None else ", ".join(f"{c}={v}" for c, v in best.report.items()),
        )
    stdout.print(table)
    stdout.print(
        f"coalition: {', '.join(first.coalition)} (of the most common answers); honest: "
        "their mean chance reporting truly; lying: their chance with the best report "
        "tried. A lower bound on manipulability (only these reports are tried), not the "
        "worst case."
    )


def render_init(r: InitResult) -> None:
    """What ``init`` made of each column, and what to do next."""
    k = r.spec.panel_size
    table = Table(
        title=f"Proposed quotas for {k} seats from {r.plan.n} registrants",
        title_justify="left",
    )
    for name, justify in (("column", "left"), ("as", "left"), ("values", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in r.plan.quota_columns:
        kind = {"category": "category", "multi": f"several per cell ({c.separator!r})"}.get(
            c.kind, "bands"
        )
        values = ", ".join(f"{v} ({count})" for v, count in c.values[:8])
        if len(c.values) > 8:
            values += f" and {len(c.values) - 8} more"
        table.add_row(c.column, kind, values)
    stdout.print(table)
    if r.spec.id_column:
        stdout.print(f"Ids: column {r.spec.id_column!r}.", markup=False)
    else:
        stdout.print("Ids: no id column found; registrants are numbered by row.")
    if r.plan.household_columns:
        listed = ", ".join(map(repr, r.plan.household_columns))
        _said("Households: ", "bold", f"{listed} proposed for the household rule (in comments).")
    for c in r.plan.left_out:
        _said("Left out: ", "", f"{c.column}: {c.why}")
    if not r.panel_size_given:
        _said("Panel size: ", "bold yellow", f"{k} seats assumed; pass --panel-size K.")
    if r.slack > 0.2:
        _said(
            "Note: ",
            "bold yellow",
            "the pool's own shares with 20% slack could not all be met together; the "
            "quotas were widened until they could.",
        )
    stdout.print(f"Wrote {r.out}. Edit it, then run:", markup=False)
    stdout.print(f"  {r.next_command}", markup=False, soft_wrap=True)


def render_diagnosis(d: Diagnosis) -> None:
    """The check's table per value, then who can never be selected, or the fix."""
    table = Table(title=f"Quotas for a panel of {d.k} from {d.n} registrants", title_justify="left")
    for name, justify in (
        ("category", "left"),
        ("value", "left"),
        ("pool", "right"),
        ("quota", "right"),
        ("fillable", "left"),
        ("panels hold", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    last = None
    for v in d.values:
        held = "–" if v.lowest is None else f"{v.lowest}–{v.highest}"
        table.add_row(
            v.category if v.category != last else "",
            v.value,
            str(v.pool),
            f"{v.min}–{v.max}",
            "yes" if v.fillable else "[red]no[/]",
            held,
        )
        last = v.category
    stdout.print(table)
    for warning in d.warnings:
        _said("Warning: ", "bold yellow", warning)
    houses = d.households_text()
    if houses is not None:
        _said("Households: ", "bold", houses)
    if d.incomplete:
        _said("Note: ", "bold yellow", d.incomplete)
    if d.feasible:
        stdout.print(
            "[green]Feasible:[/] panels meeting every quota exist. 'panels hold' is the "
            "smallest and largest count any of them can have."
        )
        if d.excluded_count:
            stdout.print(
                f"[yellow]{d.excluded_count} registrant(s) can never be selected[/] "
                "(probability 0 under every lottery):"
            )
            for e in d.excluded:
                shown = ", ".join(e.ids[:20]) + (
                    f" and {len(e.ids) - 20} more" if len(e.ids) > 20 else ""
                )
                _said(f"  {shown}: ", "", e.reason)
        elif not d.incomplete:
            stdout.print("Every registrant is in at least one valid panel.")
        return
    stdout.print("[bold red]Infeasible:[/] no panel meets every quota.")
    for reason in d.reasons:
        _said("  - ", "", reason)
    if d.conflict is not None:
        _said("Conflict: ", "bold", d.conflict.explanation)
    if d.changes is not None:
        stdout.print(f"[bold]Smallest change[/] ({d.relaxation_cost:g} seat(s) of bounds moved):")
        for c in d.changes:
            stdout.print(f"  {c.diff()}", markup=False)
        never = (
            ""
            if d.relaxed_never is None
            else f"; under them {d.relaxed_never} registrant(s) can never be selected"
            if d.relaxed_never
            else "; under them every registrant is in some valid panel"
        )
        if d.relaxed_file is not None:
            stdout.print(f"Wrote {d.relaxed_file} (the quotas with this change{never}).")
        elif d.relaxed_kept:
            _said("Not written: ", "yellow", d.relaxed_kept)
    elif d.relaxation_note:
        stdout.print(d.relaxation_note, markup=False)


EARLIER_SHOWN = 5
"""How many earlier workspaces ``serve`` lists when it starts."""


def render_serving(url: str, folder: str, earlier: list[Earlier]) -> None:
    """Where ``serve`` listens, and the addresses of the work kept from earlier starts."""
    import datetime

    stdout.print(
        f"panelsel serve: open {url} in your browser (Ctrl-C stops it)",
        markup=False,
        soft_wrap=True,
    )
    stdout.print(f"files are kept in {folder}", markup=False, soft_wrap=True)
    if earlier:
        stdout.print("earlier work in that folder (open its address to go on):")
        for e in earlier[:EARLIER_SHOWN]:
            when = datetime.datetime.fromtimestamp(e.changed).strftime("%Y-%m-%d %H:%M")
            stdout.print(
                f"  {url}w/{e.token}/  {e.registrants}, {e.runs} run(s), {when}",
                markup=False,
                soft_wrap=True,  # an address broken over two lines cannot be copied
            )
        if len(earlier) > EARLIER_SHOWN:
            stdout.print(
                f"  and {len(earlier) - EARLIER_SHOWN} older", markup=False, soft_wrap=True
            )
    sys.stdout.flush()
