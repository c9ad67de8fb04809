"""The ASGI application: routes, templates, and how a result becomes a page or a download.

Every result comes from the function the CLI calls and is rendered by `render(result, fmt)`;
the HTML pages are drawn from the result's JSON rendering (the CLI's JSON contract), so the
page cannot say anything the command line would not. Results are GET URLs whose query string
is the request (`/plan?borough=Lambeth&date=2020-06-25`); the same path with `.json` returns
exactly what `costplan plan ... --format json` prints. Uploads (a request file, a timed
sample, a register) are POSTs of the same forms.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from costplan.errors import CostplanError, InputError, wording
from costplan.web import forms
from costplan.web.security import BodyTooLarge, Guard

if TYPE_CHECKING:
    from costplan.engines import Engine
    from costplan.store import Snapshot

HERE = Path(__file__).resolve().parent
# Uploads (request files, samples, registers) are small text files; 1 MB is generous.
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class Settings:
    """What the page serves: the store (read only), the engine, and its access control."""

    store: Path
    engine: Engine
    token: str | None = None
    trusted_header: str | None = None
    max_body: int = MAX_BODY
    extras: dict[str, bool] = field(default_factory=dict)
    # The authority's settings for letters and schedules (`--settings`; None: the shipped).
    authority: Path | None = None
    # The Host names the page answers to (None: any; `serve` on a loopback address sets
    # this machine's names, against DNS rebinding).
    hosts: frozenset[str] | None = None


def settings(request: HttpRequest) -> Settings:
    found: Settings = request.app.state.settings
    return found


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(forms.FILTERS)


def snapshot_of(cfg: Settings) -> Snapshot:
    """This request's snapshot: the store as committed now (the page never writes to it)."""
    from costplan.store import Store

    return Store.open(cfg.store).snapshot()


@functools.cache
def built_in_regimes() -> Any:
    """The built-in regimes, read once per server process (they ship with the package)."""
    from costplan.costmodel.regimes import load_regimes

    return load_regimes()


def regime_named(name: str | None) -> Any:
    """The regime chosen on a form (the built-in regimes; default uk-foia-other)."""
    return built_in_regimes().get(name)


def regime_names() -> list[str]:
    names: list[str] = built_in_regimes().names()
    return names


def area_choices(profile: Any) -> list[dict[str, str]]:
    """The areas the form suggests, from the store's force profile: every area (labelled with
    its group), each group (standing for its areas), the aliases and places the core also
    accepts (labelled with the area they mean), and `all`."""
    groups = {g.code: g for g in profile.groups}
    out = []
    for area in profile.areas:
        group = groups.get(area.group or "")
        label = f"{area.name} ({group.label(profile.group_word)})" if group else area.name
        out.append({"value": area.name, "label": label})
    for g in profile.groups:
        members = ", ".join(g.areas)
        out.append({"value": g.name, "label": f"{g.label(profile.group_word)}: {members}"})
    for area in profile.areas:
        out += [{"value": alias, "label": area.name} for alias in area.aliases]
    out += [{"value": place.title(), "label": area} for place, area in profile.places.items()]
    out.append({"value": "all", "label": f"every {profile.area_word}"})
    return out


def page(
    request: HttpRequest, name: str, context: Mapping[str, Any], status: int = 200
) -> Response:
    """A page from its template (htmx asks only for the result's fragment)."""
    cfg = settings(request)
    ctx = {
        "regimes": regime_names(),
        "areas": area_choices(snapshot_of(cfg).profile),
        "area_word": snapshot_of(cfg).profile.areas_word,
        "xlsx": cfg.extras.get("xlsxwriter", False),
        "path": request.url.path,
        **context,
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def json_response(text: str, status: int = 200) -> Response:
    """JSON exactly as the CLI prints it (bytes, no re-encoding)."""
    return Response(forms.json_text(text), status, media_type="application/json")


def download(data: str | bytes, filename: str, media_type: str) -> Response:
    """A file the browser saves (a letter, a disclosure schedule); never a write here."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"content-disposition": disposition})


def failure(
    request: HttpRequest,
    fmt: str,
    exc: CostplanError,
    template: str,
    inputs: Iterable[str],
    context: Mapping[str, Any],
) -> Response:
    """An error as the CLI words it: beside its field on a page, a JSON object, or a line."""
    where = forms.problem(exc, inputs)
    if fmt == "json":
        body = json.dumps({"error": where.line, "field": where.input}, ensure_ascii=False)
        return json_response(body, 400)
    if fmt != "html":
        return PlainTextResponse(f"costplan: error: {where.line}\n", 400)
    problems = {where.input: where.short} if where.input else {}
    top = None if where.input else where.line
    return page(request, template, {**context, "problems": problems, "error": top}, 400)


def fmt_of(request: HttpRequest, allowed: tuple[str, ...]) -> str:
    """The format a path asks for (`/plan.json`: json; `/plan`: html), if it is one it has."""
    fmt = str(request.path_params.get("fmt", "html"))
    if fmt not in allowed:
        raise LookupError(fmt)
    return fmt


def guarded(handler: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """An unknown `.format` on a path is a missing page, not an error in the request."""

    async def run(request: HttpRequest) -> Response:
        try:
            response: Response = await handler(request)
        except LookupError:
            return await not_found(request, LookupError())
        return response

    return run


async def core(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a core call off the event loop (DuckDB and the file reads block)."""
    return await run_in_threadpool(fn, *args, **kwargs)


# -- triage and request files ----------------------------------------------------------------

TRIAGE_INPUTS = (
    "borough", "date", "to", "time-from", "time-to", "tag", "keyword", "regime",
    "minutes-per-record", "received", "reference", "held", "today",
)  # fmt: skip
# What a plan may be downloaded as besides the page: the CLI's JSON, its letter, its annex.
PLAN_FORMATS = ("html", "json", "letter", "annex")
HELD = {"held": True, "not-held": False}


@dataclass(frozen=True)
class Planned:
    """A plan with what it was made from: the request, the regime, the snapshot, the day."""

    request: Any
    regime: Any
    snapshot: Snapshot
    plan: Any
    as_of: dt.date | None


@functools.cache
def authority_of(path: Path | None) -> Any:
    """The authority's settings for letters and schedules (`serve --settings`), read once."""
    from costplan.planner import load_authority

    return load_authority(path)


def plan_of(cfg: Settings, req: Any, params: forms.MultiDict, snapshot: Snapshot) -> Planned:
    """The plan `costplan plan` makes of a request, on this request's snapshot, with the
    form's --regime, --minutes-per-record, --held/--not-held and --today."""
    from costplan.planner import build_plan, reading_time
    from costplan.request import parse_date

    held = forms.text(params, "held")
    if held is not None:
        if held not in HELD:
            raise InputError(f"held: {held!r} is not held or not-held", field="held")
        req = replace(req, held=HELD[held])
    regime, minutes = forms.text(params, "regime"), forms.text(params, "minutes-per-record")
    today = forms.text(params, "today")
    reg = regime_named(regime or req.regime)
    per = reading_time(reg, minutes=minutes, request_minutes=req.minutes_per_record)
    as_of = parse_date(today, "--today") if today else None
    plan = build_plan(snapshot, req, reg, per, engine=cfg.engine, today=as_of)
    return Planned(req, reg, snapshot, plan, as_of)


def quick_plan(cfg: Settings, params: forms.MultiDict) -> Planned:
    """The triage form's plan: `costplan plan --borough ... --date ...`."""
    from costplan.planner.asks import quick_request, window_of

    boroughs, date = forms.texts(params, "borough"), forms.text(params, "date")
    if not boroughs:
        raise InputError("name one or more areas", "e.g. Lambeth", field="borough")
    if date is None:
        raise InputError("give the first day", "YYYY-MM-DD", field="date")
    window = window_of(forms.text(params, "time-from"), forms.text(params, "time-to"))
    # One snapshot for the answer; its force profile names the areas.
    snapshot = snapshot_of(cfg)
    req = quick_request(
        boroughs,
        date,
        forms.text(params, "to"),
        window,
        forms.texts(params, "tag"),
        forms.texts(params, "keyword"),
        forms.text(params, "received"),
        forms.text(params, "reference"),
        snapshot.profile,
    )
    return plan_of(cfg, req, params, snapshot)


def response_text(cfg: Settings, planned: Planned, style: str) -> str:
    """The letter (style "text") or the case-file annex ("annex"), as `plan --letter` and
    `plan --annex` print them."""
    from costplan.planner import respond
    from costplan.render import render_text

    answer = respond(planned.plan, authority_of(cfg.authority), planned.as_of)
    return forms.json_text(render_text(answer, style))


def plan_context(cfg: Settings, planned: Planned) -> dict[str, Any]:
    """What a plan's page shows: the CLI's JSON of it, and its letter (or why there is none)."""
    from costplan.render import render_text

    context: dict[str, Any] = {"plan": json.loads(render_text(planned.plan, "json"))}
    try:
        context["letter"] = response_text(cfg, planned, "text")
    except CostplanError as exc:
        # The plan stands without a letter (e.g. a regime with no notice wording).
        context["letter_error"] = wording(exc)
    return context


def plan_answer(
    request: HttpRequest, fmt: str, planned: Planned, template: str, context: dict[str, Any]
) -> Response:
    """A plan as the page, the CLI's JSON, or the letter or annex to download."""
    from costplan.render import render_text

    cfg = settings(request)
    if fmt == "json":
        return json_response(render_text(planned.plan, "json"))
    if fmt in ("letter", "annex"):
        name = f"{fmt}-{_safe(planned.request.reference)}.txt"
        return download(response_text(cfg, planned, fmt.replace("letter", "text")), name, TEXT)
    return page(request, template, {**context, **plan_context(cfg, planned)})


async def triage(request: HttpRequest) -> Response:
    """GET / and /plan[.json|.letter|.annex]: the quick request's plan."""
    fmt = fmt_of(request, PLAN_FORMATS)
    params = request.query_params
    form = forms.echo(params, TRIAGE_INPUTS)
    context: dict[str, Any] = {"form": form, "query": str(request.query_params)}
    if fmt == "html" and not (forms.texts(params, "borough") or forms.text(params, "date")):
        return page(request, "triage.html", context)  # the empty form
    try:
        planned = await core(quick_plan, settings(request), params)
        return plan_answer(request, fmt, planned, "triage.html", context)
    except CostplanError as exc:
        return failure(request, fmt, exc, "triage.html", TRIAGE_INPUTS, context)


REQUEST_INPUTS = (
    "toml", "file", "regime", "minutes-per-record", "held", "today", "disclose-refs",
    "disclose-tagged",
)  # fmt: skip


async def request_text(form: forms.MultiDict) -> str:
    """The request TOML: an uploaded file, else the pasted text."""
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str) and upload.filename:
        data = await upload.read()
        try:
            return str(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError(f"{upload.filename}: not UTF-8 text", field="file") from None
    pasted = forms.text(form, "toml")
    if pasted is None:
        raise InputError(
            "no request given", "upload a request TOML file or paste one", field="toml"
        )
    return pasted


def file_plan(cfg: Settings, text: str, form: forms.MultiDict) -> Planned:
    from costplan.request import parse_request

    snapshot = snapshot_of(cfg)
    return plan_of(cfg, parse_request(text, "request", snapshot.profile), form, snapshot)


def schedule_of(cfg: Settings, planned: Planned, form: forms.MultiDict) -> Any:
    """The disclosure schedule `plan --disclose` writes, with --disclose-tagged and
    --disclose-refs from the form; refused (one line) when the answer releases nothing."""
    from costplan.planner import build_schedule, check_schedule

    refined = forms.text(form, "disclose-tagged") is not None
    style = forms.text(form, "disclose-refs") or "cad"
    authority = authority_of(cfg.authority)
    check_schedule(planned.regime, authority, planned.request, refined=refined, style=style)
    return build_schedule(
        planned.plan, planned.snapshot, authority, refined=refined, style=style, engine=cfg.engine
    )


async def request_file(request: HttpRequest) -> Response:
    """GET /request: the form; POST /request[.json|.letter|.annex|.csv|.xlsx]: its plan."""
    fmt = fmt_of(request, (*PLAN_FORMATS, "csv", "xlsx"))
    if request.method == "GET":
        return page(request, "request.html", {"form": {}})
    form = await request.form(max_part_size=settings(request).max_body)
    kept = ("regime", "minutes-per-record", "held", "disclose-refs", "disclose-tagged")
    context: dict[str, Any] = {"form": forms.echo(form, kept)}
    pasted = form.get("toml")
    # Put back what was asked, less the requester (never served); the downloads re-post it.
    context["form"]["toml"] = (
        forms.without_requester(pasted) or "" if isinstance(pasted, str) else ""
    )
    try:
        text = await request_text(form)
        context["form"]["toml"] = forms.without_requester(text) or ""
        planned = await core(file_plan, settings(request), text, form)
        if fmt in ("csv", "xlsx"):
            from costplan.render import render

            if fmt == "xlsx":
                from costplan._deps import optional

                optional("xlsxwriter")
            schedule = await core(schedule_of, settings(request), planned, form)
            media = {"csv": "text/csv", "xlsx": XLSX}[fmt]
            name = f"disclosure-{_safe(planned.request.reference)}.{fmt}"
            return download(render(schedule, fmt), name, media)
        return plan_answer(request, fmt, planned, "request.html", context)
    except CostplanError as exc:
        return failure(request, fmt, exc, "request.html", REQUEST_INPUTS, context)
    finally:
        await form.close()


TEXT = "text/plain"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _safe(reference: str) -> str:
    """A request reference as part of a file name (letters, digits, '.', '-', '_')."""
    kept = "".join(c if c.isalnum() or c in ".-_" else "-" for c in reference).strip("-.")
    return kept[:80] or "request"


# -- the application -------------------------------------------------------------------------


async def too_large(request: HttpRequest, exc: Exception) -> Response:
    limit = settings(request).max_body
    return PlainTextResponse(
        f"costplan: error: the request is larger than the page's limit of {limit:,} bytes\n", 413
    )


async def not_found(request: HttpRequest, exc: Exception) -> Response:
    return PlainTextResponse("costplan: error: no such page\n", 404)


def create_app(cfg: Settings) -> Guard:
    """The page as an ASGI application, wrapped in its access control and body limit."""
    from costplan.web import calculators

    fmt = "{fmt:str}"
    routes = [
        Route("/", guarded(triage)),
        Route("/plan", guarded(triage)),
        Route(f"/plan.{fmt}", guarded(triage)),
        Route("/request", guarded(request_file), methods=["GET", "POST"]),
        Route(f"/request.{fmt}", guarded(request_file), methods=["POST"]),
        *calculators.routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={BodyTooLarge: too_large, 404: not_found},
    )
    app.state.settings = cfg
    return Guard(
        app,
        token=cfg.token,
        trusted_header=cfg.trusted_header,
        max_body=cfg.max_body,
        hosts=cfg.hosts,
    )
