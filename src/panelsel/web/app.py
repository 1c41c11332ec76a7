"""The pages of ``panelsel serve`` (Starlette, Jinja2 templates, one small script for the live
feasibility check; no build step, nothing fetched from elsewhere).

Routes, each under a workspace's token (``/w/<token>/``) except the start page:

``/``                     load a registrants file (a new workspace)
``/w/<t>/``               the pool: a preview of the first rows and the columns used
``/w/<t>/quotas``         the quota form; ``POST`` checks it (``/check`` returns only the
                          verdict, for the script), ``/quotas.yaml`` downloads the file
``/w/<t>/select``         start a selection (algorithm, seed)
``/w/<t>/runs/<n>``       a run: its progress, then the result, the files and the audit
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from panelsel import __version__
from panelsel.api import ReadOptions, SolveOptions, audit
from panelsel.defaults import DEFAULT_SAMPLES
from panelsel.errors import BadInputError, PanelselError
from panelsel.inputs.pool import parse_delimiter
from panelsel.inputs.quotas import seats_of, with_bounds
from panelsel.outputs.report import curve_of, plot_svg
from panelsel.solve.algorithms import ALGORITHMS
from panelsel.web.words import field_named, page_words
from panelsel.web.workspace import (
    CHECK_SECONDS,
    PREVIEW_ROWS,
    FieldError,
    Workspace,
    Workspaces,
    quota_text,
)

ERROR_LABELS = {
    "bad_input": "Bad input",
    "infeasible": "Quotas cannot be met",
    "solver": "Solver failure",
    "time_limit": "Time limit",
    "verification": "Verification failed",
}
"""The CLI's words before an error's message."""
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""The largest file an upload may be (the CLI's own limits on workbooks apply after)."""
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Nothing is fetched from elsewhere, and no other site may frame or script the page."""

CHOICES = (
    "samples",
    "algorithm",
    "seed",
    "panels",
    "solver",
    "time_limit",
    "gamma",
    "rounding",
    "best_effort",
)
"""The selection's fields of the quota page, shown again as typed when a run is refused."""
_templates = Environment(
    loader=PackageLoader("panelsel.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def batch_by_category(rows: list[Any]) -> list[tuple[str, list[Any]]]:
    """Quota rows (dicts or objects with a ``category``) grouped by category, in the quota
    file's order (Jinja's ``groupby`` sorts them)."""
    groups: dict[str, list[Any]] = {}
    for row in rows:
        category = row["category"] if isinstance(row, dict) else row.category
        groups.setdefault(str(category), []).append(row)
    return list(groups.items())


_templates.filters["batch_by_category"] = batch_by_category
_templates.filters["page_words"] = page_words
_templates.globals["default_samples"] = f"{DEFAULT_SAMPLES:,}"


def error_view(error: PanelselError, folder: Path | None = None) -> dict[str, Any]:
    """An error as the page shows it: the CLI's label, message and fix (with the page's
    field names for the CLI's options, :func:`~panelsel.web.words.page_words`), and the
    field it concerns (a column, the file).  Files in the workspace ``folder`` are named by their
    own names, as the convenor uploaded them, not by where the server keeps them."""
    details = error.as_dict()
    reasons = [str(r) for r in getattr(error, "reasons", [])]
    # the reasons are listed below the message, as the CLI lists them under it
    message = error.message.split("\n")[0] if reasons else error.message
    hint = error.hint
    if folder is not None:
        for form in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
            message = message.replace(form + "/", "")
            hint = hint.replace(form + "/", "") if hint else hint
    return {
        "label": ERROR_LABELS.get(error.kind, "Error"),
        "message": page_words(message),
        "hint": page_words(hint) if hint else hint,
        "field": getattr(error, "field", None)
        or details.get("column")
        or field_named(error.message, error.hint or ""),
        "reasons": [page_words(r) for r in reasons],
    }


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(version=__version__, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})


async def _form(request: Request) -> FormData:
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_UPLOAD_BYTES:
        raise BadInputError(
            f"the upload is {length // 2**20} MiB; the page takes files up to "
            f"{MAX_UPLOAD_BYTES // 2**20} MiB",
            hint="use panelsel select in a terminal for a file this large",
        )
    return await request.form(max_part_size=MAX_UPLOAD_BYTES)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _whole(text: str, what: str, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FieldError(
            f"{what} must be a whole number, not {text!r}", column, hint="type a number"
        ) from None


def _number(text: str, what: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FieldError(
            f"{what} must be a number, not {text!r}", column, hint="type a number"
        ) from None


def read_options(form: FormData) -> ReadOptions:
    """The reading options of the load form (the CLI's ``--delimiter``, ``--sheet``,
    ``--header-row``, ``--drop-duplicates``, ``--keep``)."""
    delimiter = parse_delimiter(_text(form, "delimiter") or ",")
    header = _text(form, "header_row")
    return ReadOptions(
        delimiter=delimiter,
        encoding=_text(form, "encoding") or "utf-8-sig",
        sheet=_text(form, "sheet") or None,
        header_row=_whole(header, "the header row", "header_row") if header else None,
        drop_duplicates=_text(form, "drop_duplicates") or None,
        keep=_text(form, "keep") or "last",
        id_column=_text(form, "id_column") or None,
    )


def _spaces(request: Request) -> Workspaces:
    spaces: Workspaces = request.app.state.spaces
    return spaces


def workspace_of(request: Request) -> Workspace:
    found = _spaces(request).get(str(request.path_params["token"]))
    if found is None:
        raise BadInputError(
            "this page belongs to a session this server does not know (it was restarted, "
            "or the address was mistyped)",
            hint="start again from the first page",
        )
    return found


def handled(
    endpoint: Callable[[Request, FormData], Response],
) -> Callable[[Request], Awaitable[Response]]:
    """A route: the form read (a POST's; an empty one otherwise), then ``endpoint`` in a
    worker thread, so that a long verdict, load or audit of one tab never holds up another
    tab's pages (the event loop only moves bytes); a :class:`PanelselError` becomes the
    error page."""

    def shown(request: Request, form: FormData) -> Response:
        try:
            return endpoint(request, form)
        except PanelselError as error:
            space = _spaces(request).get(str(request.path_params.get("token", "")))
            folder = space.folder if space is not None else None
            return page("error.html", 400, space=space, error=error_view(error, folder))

    async def run(request: Request) -> Response:
        try:
            form = await _form(request) if request.method == "POST" else FormData()
        except PanelselError as error:
            return page("error.html", 400, error=error_view(error))
        return await run_in_threadpool(shown, request, form)

    return run


def start(request: Request, form: FormData) -> Response:
    if request.method == "GET":
        return page("start.html", form={}, error=None)
    upload = form.get("registrants")
    values = {
        k: _text(form, k)
        for k in (
            "delimiter",
            "sheet",
            "header_row",
            "drop_duplicates",
            "keep",
            "encoding",
            "id_column",
        )
    }
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = FieldError("choose a registrants file", "registrants")
        return page("start.html", 400, form=values, error=error_view(error))
    data = upload.file.read()
    space = _spaces(request).new()
    try:
        space.load(upload.filename, data, read_options(form))
    except PanelselError as error:
        view = error_view(error, space.folder)
        _spaces(request).discard(space)
        named = values["id_column"]
        if named and (
            getattr(error, "column", None) == named or "registrants' ids" in error.message
        ):
            view["field"] = "id_column"  # the id column the convenor named is the problem
        view["field"] = (
            view["field"] or field_named(error.message, error.hint or "") or "registrants"
        )
        return page("start.html", 400, form=values, error=view)
    return RedirectResponse(f"/w/{space.token}/", status_code=303)


def pool_page(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    pool = space.need_pool()
    spec = space.need_spec()
    used = {c.column for c in spec.categories}
    shown = [c for c in pool.columns if c in used or c == pool.id_column]
    index = [pool.columns.index(c) for c in shown]
    rows = [[row[i] for i in index] for row in pool.rows[:PREVIEW_ROWS]]
    return page(
        "pool.html",
        space=space,
        pool=pool,
        spec=spec,
        shown=shown,
        rows=rows,
        left_out=[c for c in pool.columns if c not in shown],
    )


def quota_rows(space: Workspace) -> list[dict[str, Any]]:
    spec, pool = space.need_spec(), space.need_pool()
    n = len(pool.ids)
    from panelsel.inputs.model import build_model

    model = build_model(pool, spec)
    counts = {(f.category, f.value): f.pool_count for f in model.features}
    out = []
    for c in spec.categories:
        for q in c.quotas:
            count = counts.get((c.name, q.value), 0)
            out.append(
                {
                    "category": c.name,
                    "value": q.value,
                    "key": f"{c.name}={q.value}",
                    "pool": count,
                    "share": count / n if n else 0.0,
                    "min": q.min,
                    "max": q.max,
                }
            )
    return out


def _seats(text: str, k: int, rounding: str, where: str, key: str) -> int:
    """A bound of the form: seats, or a percentage of the panel (the quota file's rule)."""
    try:
        return seats_of(text, k, rounding, where, "the quota form")
    except BadInputError as error:
        raise FieldError(error.message, key, hint=error.hint) from None


def edited_spec(space: Workspace, form: FormData) -> Any:
    spec = space.need_spec()
    k = _whole(_text(form, "panel_size"), "the panel size", "panel_size")
    bounds = {}
    for c in spec.categories:
        for q in c.quotas:
            key = f"{c.name}={q.value}"
            lo = _seats(_text(form, f"min:{key}"), k, "floor", f"{key} min", key)
            hi = _seats(_text(form, f"max:{key}"), k, "ceil", f"{key} max", key)
            bounds[(c.name, q.value)] = (lo, hi)
    return space.edited(k, bounds)


def quotas(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    diagnosis = error = None
    if request.method == "POST":
        upload = form.get("quota_file")
        try:
            if isinstance(upload, UploadFile) and upload.filename:
                space.load_quotas(upload.filename, upload.file.read())
            else:
                space.keep_form(edited_spec(space, form))
            # "all of it": the analysis the page's time limit cut short, however long
            whole = _text(form, "action") == "whole"
            diagnosis = space.check(space.need_spec(), None if whole else CHECK_SECONDS)
            if _text(form, "action") == "fix" and diagnosis.changes:
                # the smallest change the verdict showed, taken into the form
                space.keep_form(
                    with_bounds(
                        space.need_spec(),
                        {(c.category, c.value): (c.new_min, c.new_max) for c in diagnosis.changes},
                    )
                )
                diagnosis = space.check(space.need_spec())
        except PanelselError as exc:
            error = error_view(exc, space.folder)
    else:
        try:
            diagnosis = space.check(space.need_spec())
        except PanelselError as exc:  # the page's time limit, on a large pool
            error = error_view(exc, space.folder)
    return page(
        "quotas.html",
        space=space,
        spec=space.need_spec(),
        rows=quota_rows(space),
        diagnosis=diagnosis,
        error=error,
        algorithms=ALGORITHMS,
        chosen=dict.fromkeys(CHOICES, ""),
    )


def check(request: Request, form: FormData) -> Response:
    """The verdict alone, for the page's script as the convenor types."""
    space = workspace_of(request)
    try:
        diagnosis = space.check(edited_spec(space, form))
        return page("verdict.html", space=space, diagnosis=diagnosis, error=None)
    except PanelselError as exc:
        view = error_view(exc, space.folder)
        return page("verdict.html", space=space, diagnosis=None, error=view)


def quota_file(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    return Response(
        quota_text(space.need_spec()),
        media_type="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="quotas.yaml"'},
    )


def start_run(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    try:
        space.keep_form(edited_spec(space, form))
        seed_text, panels_text = _text(form, "seed"), _text(form, "panels")
        limit, gamma = _text(form, "time_limit"), _text(form, "gamma")
        samples = _text(form, "samples")
        solve = SolveOptions(
            algorithm=_text(form, "algorithm") or "leximin",
            solver=_text(form, "solver") or "highs",
            seed=_whole(seed_text, "the seed", "seed") if seed_text else None,
            time_limit=_number(limit, "the time limit", "time_limit") if limit else None,
            best_effort=bool(form.get("best_effort")),
            panels=_whole(panels_text, "the number of panels", "panels") if panels_text else None,
            rounding=_text(form, "rounding") or "auto",
            gamma=_number(gamma, "gamma", "gamma") if gamma else None,
            samples=_whole(samples, "the runs of legacy", "samples")
            if samples
            else DEFAULT_SAMPLES,
        )
        run = space.start(solve)
    except PanelselError as exc:
        return page(
            "quotas.html",
            400,
            space=space,
            spec=space.need_spec(),
            rows=quota_rows(space),
            diagnosis=None,
            error=error_view(exc, space.folder),
            algorithms=ALGORITHMS,
            chosen={k: _text(form, k) for k in CHOICES},
        )
    return RedirectResponse(f"/w/{space.token}/runs/{run.number}", status_code=303)


def run_page(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    run = space.run(int(request.path_params["number"]))
    context: dict[str, Any] = {"space": space, "run": run, "plot": None, "algorithms": ALGORITHMS}
    if run.done and run.folder is not None and run.folder.is_dir():
        context["files"] = sorted(
            p.name for p in run.folder.iterdir() if not p.name.startswith(".")
        )
    if run.comparison is not None and run.done and run.error is None:
        model_k, model_n = run.comparison.k, run.comparison.n
        context["plot"] = plot_svg(run.comparison.curves, model_k, model_n)
    if run.selection is not None and (run.result is not None or run.round is not None):
        chosen = run.selection
        context["plot"] = plot_svg(
            [curve_of(chosen.result, chosen.model.k)], chosen.model.k, chosen.model.n
        )
        context["lowest"] = float(np.min(chosen.probabilities))
        context["highest"] = float(np.max(chosen.probabilities))
    if run.error is not None:
        context["error"] = error_view(run.error, space.folder)
    return page("run.html", **context)


def start_round(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    run = space.run(int(request.path_params["number"]))
    dropouts = [str(x) for x in form.getlist("dropout")]
    unavailable = [x.strip() for x in _text(form, "unavailable").split(",") if x.strip()]
    seed_text = _text(form, "seed")
    if not dropouts:
        raise FieldError("no dropouts given", "dropout", hint="tick the members who left")
    algorithm = _text(form, "algorithm") or run.solve.algorithm
    limit = _text(form, "time_limit")
    solve = SolveOptions(
        algorithm=algorithm,
        solver=_text(form, "solver") or run.solve.solver,
        seed=_whole(seed_text, "the seed", "seed") if seed_text else None,
        time_limit=_number(limit, "the time limit", "time_limit") if limit else None,
        best_effort=bool(form.get("best_effort")),
        # Goldilocks' weight carries over to a round with the same algorithm
        gamma=run.solve.gamma if algorithm == run.solve.algorithm else None,
    )
    new = space.replace(run, dropouts, unavailable, solve, loosen=bool(form.get("loosen")))
    return RedirectResponse(f"/w/{space.token}/runs/{new.number}", status_code=303)


def public_draw(request: Request, form: FormData) -> Response:
    """The public draw from a published lottery: a number, dice, or a beacon's value."""
    space = workspace_of(request)
    run = space.run(int(request.path_params["number"]))
    number, dice, beacon = _text(form, "number"), _text(form, "dice"), _text(form, "beacon")
    sides = _text(form, "sides") or "6"
    space.draw(
        run,
        _whole(number, "the panel number", "number") if number else None,
        dice or None,
        _whole(sides, "the sides of the dice", "sides"),
        beacon or None,
    )
    return RedirectResponse(f"/w/{space.token}/runs/{run.number}#drawn", status_code=303)


def start_compare(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    space.keep_form(edited_spec(space, form))
    seed_text = _text(form, "seed")
    chosen = [str(a) for a in form.getlist("compare")] or list(ALGORITHMS)
    run = space.compare(chosen, _whole(seed_text, "the seed", "seed") if seed_text else None)
    return RedirectResponse(f"/w/{space.token}/runs/{run.number}", status_code=303)


def run_audit(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    run = space.run(int(request.path_params["number"]))
    space.audit(run)
    return RedirectResponse(f"/w/{space.token}/runs/{run.number}#audit", status_code=303)


def download(request: Request, form: FormData) -> Response:
    space = workspace_of(request)
    run = space.run(int(request.path_params["number"]))
    name = str(request.path_params["name"])
    if run.folder is None:
        raise BadInputError("this run wrote no folder")
    if name == f"{run.name}.zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(run.folder.iterdir()):
                if not path.name.startswith("."):
                    archive.write(path, f"{run.name}/{path.name}")
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{run.name}.zip"'},
        )
    files = {p.name: p for p in run.folder.iterdir() if not p.name.startswith(".")}
    if name not in files:
        raise BadInputError(f"{run.name} has no file {name!r}")
    return FileResponse(files[name], filename=name)


def audit_folder(request: Request, form: FormData) -> Response:
    """``panelsel audit`` of any selection folder on this computer, by its paths."""
    if request.method == "GET":
        return page("audit.html", form={}, report=None, error=None)
    values = {k: _text(form, k) for k in ("folder", "registrants", "quotas")}
    for name, what in (
        ("folder", "the selection folder"),
        ("registrants", "the registrants file"),
        ("quotas", "the quota file"),
    ):
        if not values[name]:
            error = FieldError(f"give the path of {what}", name)
            return page("audit.html", 400, form=values, report=None, error=error_view(error))
    try:
        report = audit(
            Path(values["folder"]).expanduser(),
            Path(values["registrants"]).expanduser(),
            Path(values["quotas"]).expanduser(),
        )
    except PanelselError as exc:
        view = error_view(exc)
        view["field"] = view["field"] or ("folder" if "lottery" in exc.message else None)
        return page("audit.html", 400, form=values, report=None, error=view)
    return page("audit.html", form=values, report=report, error=None)


def make_app(root: Path, any_host: bool = False) -> Starlette:
    """The application, keeping every workspace under ``root``; requests naming another
    host than this computer are refused unless ``any_host`` (a DNS-rebinding guard)."""
    static = Path(__file__).parent / "static"
    routes = [
        Route("/", handled(start), methods=["GET", "POST"]),
        Route("/audit", handled(audit_folder), methods=["GET", "POST"]),
        Route("/w/{token}/", handled(pool_page)),
        Route("/w/{token}/quotas", handled(quotas), methods=["GET", "POST"]),
        Route("/w/{token}/check", handled(check), methods=["POST"]),
        Route("/w/{token}/quotas.yaml", handled(quota_file)),
        Route("/w/{token}/select", handled(start_run), methods=["POST"]),
        Route("/w/{token}/runs/{number:int}", handled(run_page)),
        Route("/w/{token}/runs/{number:int}/audit", handled(run_audit), methods=["POST"]),
        Route("/w/{token}/runs/{number:int}/replace", handled(start_round), methods=["POST"]),
        Route("/w/{token}/runs/{number:int}/draw", handled(public_draw), methods=["POST"]),
        Route("/w/{token}/compare", handled(start_compare), methods=["POST"]),
        Route("/w/{token}/runs/{number:int}/files/{name}", handled(download)),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    hosts = ["*"] if any_host else ["127.0.0.1", "localhost", "[::1]", "::1"]
    app = Starlette(
        routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    )
    app.state.spaces = Workspaces(root)
    return app
