"""One browser tab's work, on disk and in memory: the registrants it loaded, the quotas it
is editing, and the runs it started.

Each workspace is a folder ``<serve folder>/<token>/`` (made private: mode 0700) holding the
uploaded registrants file under its own name, the quota file the form writes, and one
result folder per selection, written by :func:`panelsel.outputs.folder.write` exactly as
``panelsel select`` writes it.  Nothing here decides anything: reading, proposing,
checking, selecting and auditing are the library's.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from panelsel.api import ReadOptions, Selection, SolveOptions, audit, select, write
from panelsel.api import read as read_folder
from panelsel.api import replace as replace_round
from panelsel.audit.report import AuditReport
from panelsel.commands.check import relaxed_spec_document
from panelsel.commands.compare import Comparison
from panelsel.commands.compare import compare as compare_and_write
from panelsel.commands.draw import DrawResult, draw_public
from panelsel.commands.init import init
from panelsel.commands.replace import Replacement, round_summary
from panelsel.commands.select import SelectionResult, summary
from panelsel.digest import sha256_of
from panelsel.errors import BadInputError, PanelselError, TimeLimitError
from panelsel.inputs.load import read_pool
from panelsel.inputs.model import build_model
from panelsel.inputs.pool import Pool
from panelsel.inputs.quotas import QuotaSpec, load_quotas, with_bounds
from panelsel.lottery.public import PickedNumber
from panelsel.outputs.names import DRAW, LOTTERY
from panelsel.outputs.record import read_draw
from panelsel.solve.backends import SolverConfig
from panelsel.solve.feasibility import INCOMPLETE_FIX, Diagnosis, diagnose

CHECK_SECONDS = 10.0
"""The time the live feasibility check may take per edit (the verdict comes first; a
longer analysis of who can never be selected is cut short and says so)."""
QUOTAS_FILE = "quotas.yaml"
"""The quota file a workspace's form writes; each selection keeps its own copy,
``quotas-<run>.yaml``, which its folder records (so that a later edit of the form never
makes an earlier run fail its audit)."""
START_FILE = "quotas-proposed.yaml"
"""The starting quotas ``panelsel init`` proposes for the loaded registrants."""
PREVIEW_ROWS = 8
NAME_HEADER = re.compile(r"\bname\b", re.IGNORECASE)
"""A column holding people's names, shown beside their ids in the dropout list."""
STATE_FILE = "workspace.json"
"""What a workspace needs to be opened again after the server restarts: the registrants
file's name and reading options, and each run's options (the runs' folders hold the rest)."""
STATE_FORMAT = "panelsel-serve-workspace/1"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
"""A workspace's token (``secrets.token_urlsafe(16)``); nothing else names a folder."""
UNFINISHED = (
    "this run did not finish: the server stopped while it ran, and nothing of it was written"
)


class FieldError(BadInputError):
    """Bad input typed into the page: the message, and the form ``field`` it concerns
    (marked in the page; not named in the message, as a data file's column is)."""

    def __init__(self, message: str, field: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


def safe_name(name: str, fallback: str) -> str:
    """A file name from an upload's name: its last part, letters, digits, ``.-_`` only."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "").name).strip("._")
    return base or fallback


@dataclass
class Run:
    """One selection (or replacement round) started from the page: running, done (with
    its folder) or failed."""

    number: int
    solve: SolveOptions
    quotas: Path
    """The quota file the run read (the original quotas, for a round)."""
    previous: int | None = None
    """For a replacement round: the run it continues."""
    kind: str = "select"
    """``select``, ``replace`` or ``compare``."""
    stage: str = "starting"
    step: int = 0
    """How far the current stage is, of ``steps`` (the library's progress callback)."""
    steps: int = 0
    done: bool = False
    error: PanelselError | None = None
    selection: Selection | None = None
    result: SelectionResult | None = None
    round: Replacement | None = None
    drawn: DrawResult | None = None
    """The public draw made from a published lottery."""
    comparison: Comparison | None = None
    """A comparison of algorithms (nothing drawn)."""
    folder: Path | None = None
    report: AuditReport | None = None
    started: float = field(default_factory=time.monotonic)
    compared: list[str] = field(default_factory=list)
    """The algorithms a comparison ran."""
    restored: bool = False
    """Read again from its folder after the server restarted."""

    @property
    def seconds(self) -> int:
        """Whole seconds since the run started."""
        return int(time.monotonic() - self.started)

    @property
    def name(self) -> str:
        return f"compare-{self.number}" if self.kind == "compare" else f"results-{self.number}"

    @property
    def published(self) -> bool:
        return self.result is not None and self.result.kind == "published"


@dataclass
class Workspace:
    """A tab's work: see the module notes."""

    token: str
    folder: Path
    registrants: Path | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    pool: Pool | None = None
    spec: QuotaSpec | None = None
    runs: list[Run] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ loading

    def load(self, filename: str, data: bytes, read: ReadOptions) -> Pool:
        """Keep the uploaded registrants file and read it as ``read`` says; propose a
        starting quota file as ``panelsel init`` does.  A file that is not a registrants
        file raises the CLI's error, and nothing of it is kept."""
        name = safe_name(filename, "registrants.csv")
        if name in (QUOTAS_FILE, START_FILE):
            name = "registrants-" + name
        path = self.folder / name
        path.write_bytes(data)
        try:
            pool = read_pool(path, None, read)
            start = self.folder / START_FILE
            start.unlink(missing_ok=True)
            init(
                path,
                out=start,
                delimiter=read.delimiter,
                encoding=read.encoding,
                sheet=read.sheet,
                header_row=read.header_row,
            )
            # the id column init found, or the one the convenor named
            spec = load_quotas(start, id_column=read.id_column)
            pool = read_pool(path, spec, read)
        except PanelselError:
            path.unlink(missing_ok=True)
            raise
        self.registrants, self.read, self.pool, self.spec = path, read, pool, spec
        self.save_state()
        return pool

    def load_quotas(self, filename: str, data: bytes) -> QuotaSpec:
        """Take an existing quota file (YAML or a categories CSV) instead of the form's."""
        pool = self.need_pool()
        suffix = ".csv" if filename.lower().endswith(".csv") else ".yaml"
        path = self.folder / ("quotas-uploaded" + suffix)
        path.write_bytes(data)
        try:
            # the file's own panel size; the form's where the file gives none
            spec = load_quotas(path, default_panel_size=self.spec.panel_size if self.spec else None)
            build_model(read_pool(self.need_registrants(), spec, self.read), spec)
        except PanelselError:
            path.unlink(missing_ok=True)
            raise
        self.keep_form(dataclasses.replace(spec, id_column=spec.id_column or pool.id_column))
        return self.need_spec()

    def need_pool(self) -> Pool:
        if self.pool is None:
            raise BadInputError("no registrants file is loaded", hint="load one first")
        return self.pool

    def need_registrants(self) -> Path:
        if self.registrants is None:
            raise BadInputError("no registrants file is loaded", hint="load one first")
        return self.registrants

    def need_spec(self) -> QuotaSpec:
        if self.spec is None:
            raise BadInputError("no quotas yet", hint="load the registrants first")
        return self.spec

    def names_of(self, ids: list[str]) -> dict[str, str]:
        """For the dropout list: each registrant's name, from the pool's columns whose
        header says "name" (``Name``, ``First name``, ``Last name``), where there are
        any; ids without such cells are left out."""
        pool = self.need_pool()
        spec = self.need_spec()
        used = {c.column for c in spec.categories}
        columns = [
            i
            for i, c in enumerate(pool.columns)
            if NAME_HEADER.search(c) and c not in used and c != pool.id_column
        ]
        row_of = {person: row for person, row in zip(pool.ids, pool.rows, strict=True)}
        found = {}
        for person in ids:
            row = row_of.get(person)
            if row is not None and columns:
                name = " ".join(row[i].strip() for i in columns if i < len(row) and row[i].strip())
                if name:
                    found[person] = name
        return found

    # ------------------------------------------------------------------ quotas

    def edited(self, panel_size: int, bounds: dict[tuple[str, str], tuple[int, int]]) -> QuotaSpec:
        """The quotas with the form's panel size and bounds (checked like a quota file's)."""
        spec = self.need_spec()
        pool = self.need_pool()
        if not 1 <= panel_size < len(pool.ids):
            raise FieldError(
                f"the panel size must be at least 1 and below the pool's {len(pool.ids)} "
                f"registrants, not {panel_size}",
                "panel_size",
                hint="give the number of seats on the panel",
            )
        for (category, value), (lo, hi) in bounds.items():
            if lo < 0 or hi < lo:
                raise FieldError(
                    f"{category} = {value}: the minimum {lo} and maximum {hi} do not make a "
                    "range (0 <= min <= max)",
                    f"{category}={value}",
                    hint="make the minimum at most the maximum",
                )
        return with_bounds(dataclasses.replace(spec, panel_size=panel_size), bounds)

    def check(self, spec: QuotaSpec, seconds: float | None = CHECK_SECONDS) -> Diagnosis:
        """``panelsel check``'s diagnosis of ``spec`` against the pool (nothing written),
        within ``seconds`` (None: all of it, however long it takes)."""
        pool = self.need_pool()
        model = build_model(pool, spec)
        try:
            diagnosis = diagnose(model, spec, pool, SolverConfig(time_limit=seconds))
        except TimeLimitError as error:
            raise TimeLimitError(
                f"{error.message} (the page's check stops after {seconds:g} s)",
                hint="press “Work it all out” to check without that limit",
            ) from None
        if diagnosis.incomplete.endswith("; " + INCOMPLETE_FIX):
            # the page's own limit, and its own way past it
            diagnosis.incomplete = (
                diagnosis.incomplete.removesuffix("; " + INCOMPLETE_FIX)
                + f" (the page's check stops after {seconds:g} s)"
            )
        return diagnosis

    def save_quotas(self, spec: QuotaSpec, name: str = QUOTAS_FILE) -> Path:
        """Write ``spec`` as a quota file of the workspace; it becomes the current quotas."""
        text = quota_text(spec)
        path = self.folder / name
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self.spec = load_quotas(path)
        return path

    def _new_run(
        self,
        solve: SolveOptions,
        quotas: Path | None,
        previous: int | None,
        kind: str,
        compared: list[str] | None = None,
    ) -> Run:
        with self.lock:
            number = len(self.runs) + 1
            if quotas is None:
                quotas = self.save_quotas(self.need_spec(), f"quotas-{number}.yaml")
            run = Run(number, solve, quotas, previous, kind, compared=list(compared or []))
            self.runs.append(run)
            self.save_state()
        return run

    def _in_thread(self, run: Run, work: Callable[[Callable[[str, int, int], None]], None]) -> None:
        """Run ``work`` in a thread; its errors are the run's (shown by its page)."""

        def progress(stage: str, done: int, total: int) -> None:
            run.stage, run.step, run.steps = stage, done, total

        def body() -> None:
            try:
                work(progress)
            except PanelselError as error:
                run.error = error
            except Exception as error:
                run.error = PanelselError(f"panelsel failed unexpectedly: {error!r}")
            finally:
                run.done = True
                with self.lock:
                    self.save_state()

        threading.Thread(target=body, name=f"panelsel-run-{run.number}", daemon=True).start()

    # ------------------------------------------------------------------ selecting

    def start(self, solve: SolveOptions) -> Run:
        """Start a selection with the current quotas in a thread; its folder is written
        whole when it is done (nothing when it fails), whatever the browser does."""
        solve.check()
        registrants = self.need_registrants()
        run = self._new_run(solve, None, None, "select")

        def work(progress: Callable[[str, int, int], None]) -> None:
            chosen = select(registrants, run.quotas, read=self.read, solve=solve, progress=progress)
            run.stage = "writing the folder"
            folder = self.folder / run.name
            files = write(chosen, folder)
            run.selection, run.folder = chosen, folder
            seconds = time.monotonic() - run.started
            # a published lottery's hash is what the public draw is checked against
            digest = sha256_of(folder / LOTTERY) if chosen.kind == "published" else None
            run.result = summary(chosen, files, folder, digest, seconds, solve.samples)

        self._in_thread(run, work)
        return run

    def replace(
        self,
        previous: Run,
        dropouts: list[str],
        unavailable: list[str],
        solve: SolveOptions,
        loosen: bool = False,
    ) -> Run:
        """Start a replacement round for ``dropouts`` of ``previous``'s panel (as
        ``panelsel replace``): a new folder linked to the previous one."""
        if previous.folder is None:
            raise BadInputError("this run wrote no panel to replace members of")
        solve.check()
        run = self._new_run(solve, previous.quotas, previous.number, "replace")
        last = previous.folder

        def work(progress: Callable[[str, int, int], None]) -> None:
            chosen = replace_round(
                last,
                dropouts=dropouts,
                unavailable=unavailable,
                solve=solve,
                loosen=loosen,
                progress=progress,
            )
            run.stage = "writing the folder"
            folder = self.folder / run.name
            files = write(chosen, folder, protect=(last / LOTTERY,))
            run.selection, run.folder = chosen, folder
            seconds = time.monotonic() - run.started
            run.round = round_summary(chosen, files, folder, None, seconds)

        self._in_thread(run, work)
        return run

    def draw(
        self, run: Run, number: int | None, dice: str | None, sides: int, beacon: str | None
    ) -> DrawResult:
        """The public draw from a published run (as ``panelsel draw``, checked against the
        hash the page showed when it was published); made once."""
        if not run.published or run.folder is None or run.result is None:
            raise BadInputError("only a lottery published for a public draw can be drawn")
        run.drawn = draw_public(
            run.folder / LOTTERY,
            number=number,
            dice=dice,
            sides=sides,
            random_hex=beacon,
            sha256=run.result.sha256,
        )
        return run.drawn

    def compare(self, algorithms: list[str], seed: int | None) -> Run:
        """``panelsel compare`` of the algorithms with the current quotas, written to its
        own folder."""
        registrants = self.need_registrants()
        run = self._new_run(SolveOptions(seed=seed), None, None, "compare", algorithms)

        def work(progress: Callable[[str, int, int], None]) -> None:
            folder = self.folder / run.name
            done = compare_and_write(
                registrants,
                run.quotas,
                algorithms=algorithms,
                out=folder,
                seed=seed,
                delimiter=self.read.delimiter,
                encoding=self.read.encoding,
                sheet=self.read.sheet,
                header_row=self.read.header_row,
                drop_duplicates=self.read.drop_duplicates,
                keep=self.read.keep,
                progress=progress,
            )
            run.comparison, run.folder = done, folder

        self._in_thread(run, work)
        return run

    def run(self, number: int) -> Run:
        for run in self.runs:
            if run.number == number:
                return run
        raise BadInputError(f"there is no run {number} in this workspace")

    def audit(self, run: Run) -> AuditReport:
        """``panelsel audit`` of a finished run's folder, with the recompute."""
        if run.folder is None:
            raise BadInputError("this run wrote no folder to audit")
        run.report = audit(run.folder, self.need_registrants(), run.quotas)
        return run.report

    # ------------------------------------------------------------------ restarting

    def save_state(self) -> None:
        """Write :data:`STATE_FILE` (whole, by a rename) so that the workspace can be opened
        again after the server restarts.  The quotas the form shows are kept apart, in
        :data:`QUOTAS_FILE`, by :meth:`keep_form`."""
        if self.registrants is None:
            return
        document = {
            "format": STATE_FORMAT,
            "registrants": self.registrants.name,
            "read": dataclasses.asdict(self.read),
            "runs": [
                {
                    "number": r.number,
                    "kind": r.kind,
                    "previous": r.previous,
                    "quotas": r.quotas.name,
                    "solve": dataclasses.asdict(r.solve),
                    "compared": r.compared,
                    "error": None if r.error is None else [r.error.message, r.error.hint],
                }
                for r in self.runs
            ],
        }
        path = self.folder / STATE_FILE
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
        tmp.replace(path)

    def keep_form(self, spec: QuotaSpec) -> None:
        """Keep the quotas the form shows in :data:`QUOTAS_FILE` (they are the current
        quotas after a restart)."""
        self.save_quotas(spec, QUOTAS_FILE)

    @classmethod
    def reopen(cls, token: str, folder: Path) -> Workspace:
        """The workspace in ``folder`` as its :data:`STATE_FILE` left it: the registrants
        read again with the same options, the form's quotas, and every run, each read again
        from its folder (a run with no folder did not finish, or failed)."""
        try:
            document = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
            if document.get("format") != STATE_FORMAT:
                raise ValueError(f"format {document.get('format')!r}")
            options = ReadOptions(**document["read"])
            registrants = folder / safe_name(str(document["registrants"]), "registrants.csv")
            records = list(document["runs"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BadInputError(
                f"this workspace's record {STATE_FILE} cannot be read ({exc})",
                file=str(folder / STATE_FILE),
                hint="start again from the first page; its result folders are still there",
            ) from None
        space = cls(token, folder, registrants, options)
        form = folder / QUOTAS_FILE
        space.spec = load_quotas(form if form.is_file() else folder / START_FILE)
        space.pool = read_pool(registrants, space.spec, options)
        for record in records:
            space.runs.append(space._reopen_run(record))
        return space

    def _reopen_run(self, record: dict[str, Any]) -> Run:
        run = Run(
            int(record["number"]),
            SolveOptions(**record["solve"]),
            self.folder / safe_name(str(record["quotas"]), QUOTAS_FILE),
            record.get("previous"),
            str(record["kind"]),
            done=True,
            compared=list(record.get("compared") or []),
            restored=True,
        )
        folder = self.folder / run.name
        if not folder.is_dir():
            error = record.get("error")
            run.error = (
                PanelselError(str(error[0]), hint=error[1]) if error else PanelselError(UNFINISHED)
            )
            return run
        run.folder = folder
        if run.kind == "compare":
            return run  # its files are shown; the figures are in its report.html
        files = {p.name: p for p in sorted(folder.iterdir()) if not p.name.startswith(".")}
        try:
            chosen = read_folder(folder, registrants=self.need_registrants(), quotas=run.quotas)
        except PanelselError as error:
            run.error = error  # shown on the run's page; the other runs open as they are
            return run
        run.selection = chosen
        if run.kind == "replace":
            run.round = round_summary(chosen, files, folder, None, 0.0)
            return run
        digest = sha256_of(folder / LOTTERY) if chosen.kind == "published" else None
        run.result = summary(chosen, files, folder, digest, 0.0, run.solve.samples)
        drawn = read_draw(folder / DRAW)
        if drawn and run.published and digest is not None:
            run.drawn = DrawResult(
                lottery=folder / LOTTERY,
                sha256=digest,
                checked_against=str(drawn.get("checked_against", "")),
                picked=PickedNumber(
                    int(drawn["number"]), list(drawn["steps"]), dict(drawn["input"])
                ),
                m=int(drawn["panels"]),
                members=[str(m) for m in drawn["members"]],
                files=files,
            )
        return run


def quota_text(spec: QuotaSpec) -> str:
    """A quota file's YAML for ``spec`` (the format ``panelsel check`` writes)."""
    document: dict[str, Any] = relaxed_spec_document(spec, [])
    head = "# quotas written by panelsel serve; panelsel check and select read this file\n"
    return head + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class Earlier:
    """A workspace kept in the serve folder from an earlier start of the server."""

    token: str
    registrants: str
    runs: int
    changed: float
    """When its record last changed (seconds since the epoch)."""


class Workspaces:
    """Every tab's workspace, by an unguessable token (the only way to reach one)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._by_token: dict[str, Workspace] = {}
        self._opening: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def new(self) -> Workspace:
        token = secrets.token_urlsafe(16)
        folder = self.root / token
        folder.mkdir(mode=0o700)
        workspace = Workspace(token, folder)
        with self._lock:
            self._by_token[token] = workspace
        return workspace

    def discard(self, space: Workspace) -> None:
        """Forget a workspace whose file could not be loaded (its folder goes if empty)."""
        with self._lock:
            self._by_token.pop(space.token, None)
        if not any(space.folder.iterdir()):
            space.folder.rmdir()

    def earlier(self) -> list[Earlier]:
        """The workspaces kept in the folder, the most recently changed first (their
        addresses are printed where the server starts: only whoever started it sees them)."""
        found = []
        for state in self.root.glob(f"*/{STATE_FILE}"):
            token = state.parent.name
            if not TOKEN_PATTERN.fullmatch(token):
                continue
            try:
                document = json.loads(state.read_text(encoding="utf-8"))
                registrants, runs = str(document["registrants"]), len(document["runs"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # opening it says what is wrong with it
            found.append(Earlier(token, registrants, runs, state.stat().st_mtime))
        return sorted(found, key=lambda e: e.changed, reverse=True)

    def get(self, token: str) -> Workspace | None:
        """The workspace of ``token``: in memory, or opened again from its folder (after a
        restart); None if there is none."""
        with self._lock:
            found = self._by_token.get(token)
            if found is not None or not TOKEN_PATTERN.fullmatch(token):
                return found
            folder = self.root / token
            if not (folder / STATE_FILE).is_file():
                return None
            opening = self._opening.setdefault(token, threading.Lock())
        # reading a workspace again (its pool, every run) takes seconds on a national pool:
        # only the requests for this workspace wait for it, the other tabs' go on
        with opening:
            with self._lock:
                found = self._by_token.get(token)
            if found is None:
                found = Workspace.reopen(token, folder)
                with self._lock:
                    self._by_token[token] = found
            return found
