"""The ``panelsel`` command: parse arguments, call one library function, render with rich."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from panelsel import __version__, signals
from panelsel.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_DELIMITER,
    DEFAULT_DICE_SIDES,
    DEFAULT_ENCODING,
    DEFAULT_OUT,
    DEFAULT_ROUNDING,
    DEFAULT_SAMPLES,
    DEFAULT_SOLVER,
)
from panelsel.errors import EXIT_INFEASIBLE, EXIT_NOT_VERIFIED, EXIT_VERIFICATION, PanelselError
from panelsel.signals import interrupt_message, is_interrupt

if TYPE_CHECKING:
    from panelsel.progress import ProgressFn
    from panelsel.web.workspace import Earlier

EXIT_INTERNAL = 1
T = TypeVar("T")


def _examples(*lines: str) -> str:
    """A command's help epilog: its example command lines, one paragraph each."""
    return "Examples:\n\n" + "\n\n".join(lines)


EXAMPLES = {
    "select": _examples(
        "panelsel select registrants.csv quotas.yaml --seed 2026",
        "panelsel select export.csv quotas.yaml --delimiter ';' --drop-duplicates Email",
        "panelsel select registrants.xlsx quotas.yaml --out panel-2026",
        "panelsel select registrants.csv quotas.yaml --panels 1000   (for a public draw)",
    ),
    "draw": _examples(
        "panelsel draw panelsel-out/lottery.json --sha256 HASH --number 417",
        "panelsel draw panelsel-out/lottery.json --sha256 HASH --dice 3,1,4,1 --dice-sides 10",
    ),
    "compare": _examples(
        "panelsel compare registrants.csv quotas.yaml --algorithms leximin,legacy"
    ),
    "init": _examples(
        "panelsel init registrants.csv --panel-size 40",
        "panelsel init patients.xlsx --sheet Patients --panel-size 30 --out trust-quotas.yaml",
    ),
    "check": _examples(
        "panelsel check registrants.csv quotas.yaml",
        "panelsel check registrants.csv quotas.yaml --relax-priority gender=10",
    ),
    "audit": _examples("panelsel audit panelsel-out registrants.csv quotas.yaml"),
    "serve": _examples(
        "panelsel serve",
        "panelsel serve --port 9000 --folder ~/panels --no-browser",
    ),
    "replace": _examples(
        "panelsel replace results --dropouts S1004,S1016 --seed 7 --out round-2",
        "panelsel replace round-2 --dropouts S1030 --unavailable S1009 --out round-3",
        "panelsel replace results --dropouts S1004 --panels 100 --out round-2   (public draw)",
    ),
}


class _NoBoolHelp:
    """``--help`` shown without ``<bool>``, like the other flags (mixed into the group and
    its commands)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class _Command(_NoBoolHelp, TyperCommand):
    """A command of panelsel (typer's, with the help line of :class:`_NoBoolHelp`)."""


class _JsonUsageErrors(_NoBoolHelp, TyperGroup):
    """Usage errors (an unknown option, a missing argument, a bad value) as JSON on stdout
    too when ``--json`` is among the arguments, so that a script reading stdout always gets
    one object; without ``--json`` typer's own handling is unchanged."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            sys.exit(EXIT_INTERNAL)
        except Exception as error:
            message = getattr(error, "format_message", None)
            exit_code = getattr(error, "exit_code", None)
            if message is None or not isinstance(exit_code, int):
                raise  # not a usage error: the command's own handling has run
            shown = str(message())
            sys.stderr.write(f"Usage error: {shown}\nTry 'panelsel --help' for help.\n")
            payload = {"kind": "usage", "message": shown, "hint": None, "exit_code": exit_code}
            sys.stdout.write(json.dumps({"error": payload}) + "\n")
            sys.exit(exit_code)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="panelsel",
    cls=_JsonUsageErrors,
    help="Stratified random panel selection (sortition) with maximally fair lotteries.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"panelsel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
            metavar="",
        ),
    ] = False,
) -> None:
    """Stratified random panel selection (sortition) with maximally fair lotteries."""


def _fail(error: BaseException, as_json: bool) -> typer.Exit:
    if is_interrupt(error):
        # a signal, or an exception a signal caused: never reported as anything else
        message, code = interrupt_message(error)
        sys.stderr.write(message + "\n")
        if as_json:
            sys.stdout.write(
                json.dumps(
                    {"error": {"kind": "interrupted", "message": message, "exit_code": code}}
                )
                + "\n"
            )
        return typer.Exit(code)
    from panelsel import console

    if isinstance(error, PanelselError):
        console.print_error(error, as_json=as_json)
        return typer.Exit(error.exit_code)
    if os.environ.get("PANELSEL_DEBUG"):
        raise error
    console.stderr.print(f"[bold red]Internal error:[/] {type(error).__name__}: ", end="")
    console.stderr.print(str(error), markup=False)
    console.stderr.print(
        "Nothing was written. Rerun with PANELSEL_DEBUG=1 for details, and please report it."
    )
    if as_json:
        console.print_json(
            {"error": {"kind": "internal", "message": str(error), "exit_code": EXIT_INTERNAL}}
        )
    return typer.Exit(EXIT_INTERNAL)


def _run(
    call: Callable[[ProgressFn], T],
    render: str,
    json_output: bool,
    *,
    with_progress: bool = True,
) -> T:
    """Call one library function (with a progress bar unless ``--json``), turn its errors
    into exit codes, and print the result as JSON or with ``console.<render>``.

    ``call`` imports the library code it needs itself, so that an interrupt during those
    imports is handled here like any other."""
    signals.start_command()
    try:
        from panelsel import console

        if with_progress:
            with console.progress_bar(not json_output) as progress:
                result = call(progress)
        else:
            result = call(lambda stage, done, total: None)
        if json_output:
            console.print_json(result.as_dict())  # type: ignore[attr-defined]
        else:
            getattr(console, render)(result)
    except (Exception, signals.Interrupted, KeyboardInterrupt) as error:
        raise _fail(error, json_output) from None
    return result


# parameters shared by several commands, declared once
Registrants = Annotated[
    Path, typer.Argument(help="Registrants file (CSV or .xlsx), one row per person.")
]
Quotas = Annotated[
    Path, typer.Argument(help="Quota file: YAML, or a Sortition Foundation categories CSV.")
]
Solver = Annotated[str, typer.Option(help="LP/ILP solver: highs or cbc.")]
PanelSize = Annotated[
    int | None,
    typer.Option(
        help="Panel size (required with a categories CSV; overrides the YAML).", metavar="K"
    ),
]
IdColumn = Annotated[
    str | None,
    typer.Option(help="Column with unique ids (default: 'id' if present, else row numbers)."),
]
DropDuplicates = Annotated[
    str | None,
    typer.Option(
        help="A column identifying a person, e.g. Email: keep one registration per value "
        "(see --keep) instead of giving a person who registered twice two chances."
    ),
]
Keep = Annotated[
    str,
    typer.Option(
        help="With --drop-duplicates: last (default; the latest, as Forms and Excel list "
        "responses in the order submitted) or first."
    ),
]
Delimiter = Annotated[str, typer.Option(help="Registrants CSV delimiter: ',', ';', '|' or 'tab'.")]
Sheet = Annotated[
    str | None,
    typer.Option(help="The workbook's sheet to read, by name or number (default: the first)."),
]
HeaderRow = Annotated[
    int | None,
    typer.Option(
        help="The spreadsheet row of the header (default: the first row, or the row below "
        "title rows that names the quota columns).",
        metavar="N",
    ),
]
Encoding = Annotated[str, typer.Option(help="Registrants CSV encoding.")]
Samples = Annotated[
    int,
    typer.Option(
        help="Runs of the legacy procedure for its Monte-Carlo estimates.", min=1, metavar="N"
    ),
]
Force = Annotated[
    bool, typer.Option("--force", help="Replace a non-empty output folder.", metavar="")
]
RawCsv = Annotated[
    bool,
    typer.Option(
        "--raw-csv",
        metavar="",
        help="Write CSV cells as read, without the apostrophe that stops spreadsheets "
        "from running cells starting with = + - @ as formulas.",
    ),
]
DrawSeed = Annotated[
    int | None,
    typer.Option(
        help="Seed of the draw (a fresh one is made and recorded if omitted).", min=0, metavar="N"
    ),
]
TimeLimit = Annotated[
    float | None,
    typer.Option(help="Seconds allowed to the solvers; exit 4 when they run out.", metavar="S"),
]
Panels = Annotated[
    int | None,
    typer.Option(
        help="Round the lottery to a uniform lottery over this many numbered panels for a "
        "public draw (e.g. 1000) and write it with its sha256 instead of drawing; then run "
        "panelsel draw.",
        metavar="M",
    ),
]
Rounding = Annotated[str, typer.Option(help="With --panels: auto (default), ilp or pipage.")]
Gamma = Annotated[
    float | None,
    typer.Option(
        help="With --algorithm goldilocks: the weight of the smallest chance against the "
        "largest (default 1).",
        show_default=False,
        metavar="X",
    ),
]
JsonOutput = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON object on stdout instead of the summary.", metavar=""
    ),
]


@app.command(cls=_Command, epilog=EXAMPLES["select"])
def select(
    registrants: Registrants,
    quotas: Quotas,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(DEFAULT_OUT),
    seed: DrawSeed = None,
    algorithm: Annotated[
        str,
        typer.Option(
            help="Lottery algorithm: leximin (default), maximin, nash, goldilocks, minimax or "
            "legacy."
        ),
    ] = DEFAULT_ALGORITHM,
    gamma: Gamma = None,
    solver: Solver = DEFAULT_SOLVER,
    panel_size: PanelSize = None,
    id_column: IdColumn = None,
    drop_duplicates: DropDuplicates = None,
    keep: Keep = "last",
    sheet: Sheet = None,
    header_row: HeaderRow = None,
    delimiter: Delimiter = DEFAULT_DELIMITER,
    encoding: Encoding = DEFAULT_ENCODING,
    time_limit: TimeLimit = None,
    samples: Samples = DEFAULT_SAMPLES,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated pool columns for panel.csv and remaining.csv (default: "
            "all; the id column is always kept)."
        ),
    ] = None,
    raw_csv: RawCsv = False,
    out_delimiter: Annotated[
        str | None,
        typer.Option(
            help="Delimiter of panel.csv and remaining.csv (default: the registrants file's)."
        ),
    ] = None,
    out_encoding: Annotated[
        str | None,
        typer.Option(
            help="Encoding of panel.csv and remaining.csv (default: the registrants file's, "
            "with its byte-order mark; utf-8-sig writes one, as Excel expects)."
        ),
    ] = None,
    xlsx: Annotated[
        bool | None,
        typer.Option(
            "--xlsx/--no-xlsx",
            metavar="",
            help="Also write panel.xlsx and remaining.xlsx (default: when the registrants "
            "file is a workbook).",
            show_default=False,
        ),
    ] = None,
    best_effort: Annotated[
        bool,
        typer.Option(
            "--best-effort",
            metavar="",
            help="When --time-limit runs out, use the best lottery found so far (every "
            "output then says it is not proven optimal) instead of exiting with 4.",
        ),
    ] = False,
    panels: Panels = None,
    rounding: Rounding = DEFAULT_ROUNDING,
    force: Force = False,
    json_output: JsonOutput = False,
) -> None:
    """Compute the fair lottery, draw one panel and write the outputs (with --panels:
    publish numbered panels for a public draw instead)."""

    def call(progress: ProgressFn) -> Any:
        from panelsel.commands.select import select as run_select
        from panelsel.inputs.pool import parse_delimiter

        return run_select(
            registrants,
            quotas,
            out=out,
            seed=seed,
            algorithm=algorithm,
            solver=solver,
            delimiter=parse_delimiter(delimiter),
            encoding=encoding,
            id_column=id_column,
            panel_size=panel_size,
            drop_duplicates=drop_duplicates,
            keep=keep,
            sheet=sheet,
            header_row=header_row,
            force=force,
            time_limit=time_limit,
            samples=samples,
            raw_csv=raw_csv,
            columns=[c.strip() for c in columns.split(",")] if columns else None,
            out_delimiter=parse_delimiter(out_delimiter) if out_delimiter else None,
            out_encoding=out_encoding,
            xlsx=xlsx,
            best_effort=best_effort,
            panels=panels,
            rounding=rounding,
            gamma=gamma,
            progress=progress,
        )

    _run(
        call,
        "render_selection",
        json_output,
    )


@app.command(cls=_Command, epilog=EXAMPLES["draw"])
def draw(
    lottery: Annotated[
        Path, typer.Argument(help="The lottery.json written by panelsel select --panels.")
    ],
    number: Annotated[
        int | None, typer.Option(help="The panel number drawn in public (1 to M).")
    ] = None,
    dice: Annotated[
        str | None,
        typer.Option(help="Dice rolls in the order called out, comma-separated, e.g. 3,1,4,1."),
    ] = None,
    dice_sides: Annotated[
        int, typer.Option(help="Sides of the dice (faces 1 to S; read a 0 face as 10 on a d10).")
    ] = DEFAULT_DICE_SIDES,
    random_hex: Annotated[
        str | None,
        typer.Option(help="A public random value in hex, e.g. a randomness beacon's output."),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option(
            help="The sha256 of lottery.json as published before the draw (default: the "
            "lottery.sha256 beside it, with a warning)."
        ),
    ] = None,
    pool: Annotated[
        Path | None,
        typer.Option(help="The registrants CSV (default: the path recorded in lottery.json)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            metavar="",
            help="Replace a panel.csv and remaining.csv that panelsel wrote; a draw.json is "
            "never replaced (a public draw happens once).",
        ),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Draw the panel of a published uniform lottery from a public random input; exit 5 if
    the lottery or the pool is not the one published."""

    def call(_: ProgressFn) -> Any:
        from panelsel.commands.draw import draw_public

        return draw_public(
            lottery,
            number=number,
            dice=dice,
            sides=dice_sides,
            random_hex=random_hex,
            sha256=sha256,
            pool=pool,
            force=force,
        )

    _run(
        call,
        "render_draw",
        json_output,
        with_progress=False,
    )


@app.command(cls=_Command, epilog=EXAMPLES["replace"])
def replace(
    run: Annotated[Path, typer.Argument(help="The folder of the run whose panel lost members.")],
    dropouts: Annotated[
        str | None, typer.Option(help="Comma-separated ids of the members who dropped out.")
    ] = None,
    dropouts_file: Annotated[
        Path | None, typer.Option(help="A file of dropout ids, one per line.")
    ] = None,
    unavailable: Annotated[
        str | None,
        typer.Option(help="Comma-separated ids of registrants who must not be selected now."),
    ] = None,
    unavailable_file: Annotated[
        Path | None, typer.Option(help="A file of unavailable ids, one per line.")
    ] = None,
    registrants: Annotated[
        Path | None,
        typer.Option(help="The registrants file, if moved (checked against its sha256)."),
    ] = None,
    quotas: Annotated[
        Path | None, typer.Option(help="The quota file, if moved (checked against its sha256).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "panelsel-replace"
    ),
    seed: DrawSeed = None,
    algorithm: Annotated[
        str,
        typer.Option(
            help="Lottery algorithm: leximin (default), maximin, nash, goldilocks or minimax."
        ),
    ] = DEFAULT_ALGORITHM,
    gamma: Gamma = None,
    solver: Solver = DEFAULT_SOLVER,
    time_limit: TimeLimit = None,
    panels: Panels = None,
    rounding: Rounding = DEFAULT_ROUNDING,
    loosen: Annotated[
        bool,
        typer.Option(
            "--loosen",
            metavar="",
            help="When the seats cannot be filled within the quotas, take the smallest "
            "loosening that fills them (recorded, and shown by audit and the report).",
        ),
    ] = False,
    force: Force = False,
    json_output: JsonOutput = False,
) -> None:
    """Fill the seats of members who dropped out: a fair lottery among the people still
    available, within what the quotas leave after the kept members."""

    def call(progress: ProgressFn) -> Any:
        from panelsel.commands.replace import read_ids
        from panelsel.commands.replace import replace as run_replace

        return run_replace(
            run,
            dropouts=read_ids(dropouts, dropouts_file, "--dropouts"),
            unavailable=read_ids(unavailable, unavailable_file, "--unavailable"),
            registrants=registrants,
            quotas=quotas,
            out=out,
            seed=seed,
            algorithm=algorithm,
            solver=solver,
            time_limit=time_limit,
            force=force,
            panels=panels,
            rounding=rounding,
            gamma=gamma,
            loosen=loosen,
            progress=progress,
        )

    _run(call, "render_replacement", json_output)


@app.command(cls=_Command, epilog=EXAMPLES["compare"])
def compare(
    registrants: Registrants,
    quotas: Quotas,
    algorithms: Annotated[
        str,
        typer.Option(
            help="Comma-separated algorithms to run, in this order (default: leximin, "
            "maximin, nash, goldilocks, minimax, legacy).",
            show_default=False,
        ),
    ] = "leximin,maximin,nash,goldilocks,minimax,legacy",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "panelsel-compare"
    ),
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of legacy's Monte-Carlo runs (fresh and recorded if omitted).",
            min=0,
            metavar="N",
        ),
    ] = None,
    samples: Samples = DEFAULT_SAMPLES,
    solver: Solver = DEFAULT_SOLVER,
    panel_size: PanelSize = None,
    id_column: IdColumn = None,
    drop_duplicates: DropDuplicates = None,
    keep: Keep = "last",
    sheet: Sheet = None,
    header_row: HeaderRow = None,
    delimiter: Delimiter = DEFAULT_DELIMITER,
    encoding: Encoding = DEFAULT_ENCODING,
    time_limit: Annotated[
        float | None,
        typer.Option(help="Seconds allowed to the solvers, per algorithm.", metavar="S"),
    ] = None,
    raw_csv: RawCsv = False,
    gamma: Gamma = None,
    coalition: Annotated[
        int | None,
        typer.Option(
            help="Manipulation test: a coalition of this many registrants all report the "
            "same answers (default 1% of the pool; 0: no test).",
            show_default=False,
        ),
    ] = None,
    candidates: Annotated[
        int, typer.Option(help="Manipulation test: the reports tried per algorithm.")
    ] = 4,
    best_effort: Annotated[
        bool,
        typer.Option(
            "--best-effort",
            metavar="",
            help="When --time-limit runs out, use the best lottery found so far (marked not "
            "proven) instead of exiting with 4.",
        ),
    ] = False,
    force: Force = False,
    json_output: JsonOutput = False,
) -> None:
    """Run several algorithms on one pool and compare their selection probabilities, and
    what a coalition could gain by misreporting under each."""

    def call(progress: ProgressFn) -> Any:
        from panelsel.commands.compare import compare as run_compare
        from panelsel.inputs.pool import parse_delimiter

        return run_compare(
            registrants,
            quotas,
            algorithms=[a.strip() for a in algorithms.split(",") if a.strip()],
            out=out,
            seed=seed,
            samples=samples,
            solver=solver,
            delimiter=parse_delimiter(delimiter),
            encoding=encoding,
            id_column=id_column,
            panel_size=panel_size,
            drop_duplicates=drop_duplicates,
            keep=keep,
            sheet=sheet,
            header_row=header_row,
            force=force,
            time_limit=time_limit,
            raw_csv=raw_csv,
            gamma=gamma,
            coalition=coalition,
            candidates=candidates,
            best_effort=best_effort,
            progress=progress,
        )

    _run(
        call,
        "render_comparison",
        json_output,
    )


@app.command(cls=_Command, epilog=EXAMPLES["init"])
def init(
    registrants: Registrants,
    panel_size: Annotated[
        int | None,
        typer.Option(help="Seats on the panel (default: a tenth of the pool).", metavar="K"),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="The quota file to write (never over an existing file).")
    ] = Path("quotas.yaml"),
    sheet: Sheet = None,
    header_row: HeaderRow = None,
    delimiter: Delimiter = DEFAULT_DELIMITER,
    encoding: Encoding = DEFAULT_ENCODING,
    solver: Solver = DEFAULT_SOLVER,
    json_output: JsonOutput = False,
) -> None:
    """Write a starting quota file from the registrants, to edit before check and select."""

    def call(progress: ProgressFn) -> Any:
        from panelsel.commands.init import init as run_init
        from panelsel.inputs.pool import parse_delimiter

        return run_init(
            registrants,
            out=out,
            panel_size=panel_size,
            delimiter=parse_delimiter(delimiter),
            encoding=encoding,
            sheet=sheet,
            header_row=header_row,
            solver=solver,
            progress=progress,
        )

    _run(call, "render_init", json_output)


@app.command(cls=_Command, epilog=EXAMPLES["check"])
def check(
    registrants: Registrants,
    quotas: Quotas,
    relax_priority: Annotated[
        str | None,
        typer.Option(
            help="Keep some categories' quotas tighter when relaxing: CATEGORY=WEIGHT,... "
            "(default weight 1), e.g. gender=10,age=1."
        ),
    ] = None,
    relaxed_out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the relaxed quota file when the quotas cannot be met "
            "(default: ./<quota file>.relaxed.yaml, or .csv for a categories CSV)."
        ),
    ] = None,
    solver: Solver = DEFAULT_SOLVER,
    panel_size: PanelSize = None,
    id_column: IdColumn = None,
    drop_duplicates: DropDuplicates = None,
    keep: Keep = "last",
    sheet: Sheet = None,
    header_row: HeaderRow = None,
    delimiter: Delimiter = DEFAULT_DELIMITER,
    encoding: Encoding = DEFAULT_ENCODING,
    time_limit: TimeLimit = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a relaxed quota file check wrote.", metavar=""),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Check the quotas against the pool without drawing; exit 3 if no panel can meet them."""

    def call(progress: ProgressFn) -> Any:
        from panelsel.commands.check import check as run_check
        from panelsel.inputs.pool import parse_delimiter

        return run_check(
            registrants,
            quotas,
            solver=solver,
            delimiter=parse_delimiter(delimiter),
            encoding=encoding,
            id_column=id_column,
            panel_size=panel_size,
            drop_duplicates=drop_duplicates,
            keep=keep,
            sheet=sheet,
            header_row=header_row,
            relax_priority=relax_priority,
            relaxed_out=relaxed_out,
            force=force,
            time_limit=time_limit,
            progress=progress,
        )

    diagnosis = _run(
        call,
        "render_diagnosis",
        json_output,
    )
    if not diagnosis.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


@app.command(cls=_Command, epilog=EXAMPLES["audit"])
def audit(
    out_dir: Annotated[Path, typer.Argument(help="The folder panelsel select wrote.")],
    registrants: Annotated[Path, typer.Argument(help="The registrants CSV the selection used.")],
    quotas: Annotated[Path, typer.Argument(help="The quota file the selection used.")],
    delimiter: Annotated[
        str | None,
        typer.Option(help="Registrants CSV delimiter (default: as recorded in lottery.json)."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Registrants CSV encoding (default: as recorded).")
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option(
            help="For a public draw: the sha256 of lottery.json as published (default: the "
            "lottery.sha256 beside it)."
        ),
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute/--no-recompute",
            metavar="",
            help="Rerun the recorded algorithm and seed and compare the lottery entry for "
            "entry (default; as slow as the selection). A rerun that cannot decide (a run "
            "made with other recorded versions, or stopped at its time limit) is 'NOT "
            "VERIFIED', exit 6. --no-recompute skips it: the weaker audit, asked for, and the "
            "report says so.",
        ),
    ] = True,
    json_output: JsonOutput = False,
) -> None:
    """Re-derive a selection from its files and check it; exit 5 if any check fails, 6 if
    none failed but one was inconclusive (not verified)."""

    def call(progress: ProgressFn) -> Any:
        from panelsel.commands.audit import audit as run_audit
        from panelsel.inputs.pool import parse_delimiter

        return run_audit(
            out_dir,
            registrants,
            quotas,
            delimiter=parse_delimiter(delimiter) if delimiter else None,
            encoding=encoding,
            sha256=sha256,
            recompute=recompute,
            progress=progress,
        )

    report = _run(
        call,
        "render_audit",
        json_output,
    )
    if not report.passed:
        raise typer.Exit(EXIT_VERIFICATION)
    if not report.verified:
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command(cls=_Command, epilog=EXAMPLES["serve"])
def serve(
    port: Annotated[
        int, typer.Option(help="Port to listen on (0: any free one).", metavar="P")
    ] = 8765,
    folder: Annotated[
        Path,
        typer.Option(help="Folder for the uploaded files and the results (made private)."),
    ] = Path("panelsel-web"),
    no_browser: Annotated[
        bool,
        typer.Option("--no-browser", help="Do not open the browser (for scripts).", metavar=""),
    ] = False,
    host: Annotated[
        str, typer.Option(help="Address to listen on: this computer only (127.0.0.1).")
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Let --host be an address other computers can reach (they would see the "
            "registrants' data).",
            metavar="",
        ),
    ] = False,
) -> None:
    """Open the whole selection in a web page on this computer: load, quotas, select, audit."""
    signals.start_command()
    try:
        from panelsel import console
        from panelsel.web.server import serve as run_serve

        def ready(url: str, earlier: list[Earlier]) -> None:
            console.render_serving(url, str(folder), earlier)

        run_serve(
            host=host,
            port=port,
            folder=folder,
            open_browser=not no_browser,
            allow_remote=allow_remote,
            ready=ready,
        )
    except (signals.Interrupted, KeyboardInterrupt):
        sys.stderr.write(f"panelsel serve stopped; finished results are in {folder}\n")
        raise typer.Exit(0) from None
    except Exception as error:
        raise _fail(error, False) from None
