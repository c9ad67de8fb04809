"""The calculators (estimate, deadline, aggregation) and the volume summaries as pages.

Each is the CLI command's core call with the form's strings, rendered by `render`: the page
shows the CLI's table text and headline fields from its JSON, and `.json` is the CLI's JSON.
An upload (a timed sample, a register) is written to a private temporary file only because
the core reads files by path; it is deleted when the answer is made.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from costplan.errors import CostplanError, InputError
from costplan.web import forms
from costplan.web.app import (
    core,
    failure,
    fmt_of,
    guarded,
    json_response,
    page,
    regime_named,
    settings,
    snapshot_of,
)

ESTIMATE_INPUTS = (
    "records", "minutes-per-record", "regime", "limit-gbp", "rate", "activity",
    "fixed-minutes", "sample",
)  # fmt: skip
DEADLINE_INPUTS = ("received", "regime", "paused", "extension", "working-days", "today")
AGGREGATE_INPUTS = ("register", "file", "regime")
VOLUME_INPUTS = ("period", "by", "from", "to", "suppress-below")
# What a register upload may be: the CLI reads the format from the file's suffix.
REGISTER_SUFFIXES = (".csv", ".toml")


@contextmanager
def uploaded(data: bytes | None, suffix: str) -> Iterator[Path | None]:
    """An upload as a file the core can read by path (private to this process, then gone)."""
    if data is None:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="costplan-web-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


async def upload_bytes(form: Any, name: str) -> tuple[bytes | None, str]:
    """The bytes and file name of an upload input (None when no file was chosen)."""
    upload = form.get(name) if form is not None else None
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None, ""
    return bytes(await upload.read()), str(upload.filename)


async def _form(request: HttpRequest) -> Any:
    if request.method == "POST":
        return await request.form(max_part_size=settings(request).max_body)
    return request.query_params


def _answer(
    request: HttpRequest,
    fmt: str,
    template: str,
    context: dict[str, Any],
    result: Any,
    text_fmt: str = "table",
) -> Response:
    from costplan.render import render_text

    out = render_text(result, "json")
    if fmt == "json":
        return json_response(out)
    report = {"data": json.loads(out), "text": render_text(result, text_fmt)}
    return page(request, template, {**context, **report})


async def estimate(request: HttpRequest) -> Response:
    """/estimate[.json]: `costplan estimate` (a timed sample by POST)."""
    fmt = fmt_of(request, ("html", "json"))
    params = await _form(request)
    context: dict[str, Any] = {"form": forms.echo(params, ESTIMATE_INPUTS)}
    t = forms.text
    if request.method == "GET" and not (t(params, "records") or forms.texts(params, "activity")):
        return page(request, "estimate.html", context)
    try:
        sample, name = await upload_bytes(params if request.method == "POST" else None, "sample")
        suffix = Path(name).suffix.lower() if name else ".txt"

        def run() -> Any:
            from costplan.planner.asks import estimate_report

            reg = regime_named(t(params, "regime")).with_overrides(
                limit=t(params, "limit-gbp"), rate=t(params, "rate")
            )
            with uploaded(sample, suffix if suffix in (".csv", ".txt") else ".txt") as path:
                return estimate_report(
                    reg,
                    records=t(params, "records"),
                    minutes_per_record=t(params, "minutes-per-record"),
                    # An activity spec has no commas: one per input line or value.
                    activities=[
                        line.strip()
                        for value in params.getlist("activity")
                        if isinstance(value, str)
                        for line in value.splitlines()
                        if line.strip()
                    ],
                    fixed_minutes=t(params, "fixed-minutes"),
                    sample=path,
                )

        return _answer(request, fmt, "estimate.html", context, await core(run))
    except CostplanError as exc:
        return failure(request, fmt, exc, "estimate.html", ESTIMATE_INPUTS, context)
    finally:
        if request.method == "POST":
            await params.close()


async def deadline(request: HttpRequest) -> Response:
    """/deadline[.json]: `costplan deadline`."""
    fmt = fmt_of(request, ("html", "json"))
    params = request.query_params
    context: dict[str, Any] = {"form": forms.echo(params, DEADLINE_INPUTS)}
    t = forms.text
    if fmt == "html" and t(params, "received") is None:
        return page(request, "deadline.html", context)
    try:
        received = t(params, "received")
        if received is None:
            raise InputError("give the date of receipt", "YYYY-MM-DD", field="received")

        def run() -> Any:
            from costplan.planner.asks import deadline_report

            return deadline_report(
                regime_named(t(params, "regime")),
                received,
                paused=forms.texts(params, "paused"),
                extension=t(params, "extension"),
                working_days=t(params, "working-days"),
                today=t(params, "today"),
            )

        return _answer(request, fmt, "deadline.html", context, await core(run))
    except CostplanError as exc:
        return failure(request, fmt, exc, "deadline.html", DEADLINE_INPUTS, context)


async def aggregate(request: HttpRequest) -> Response:
    """/aggregate[.json]: `costplan aggregate` on an uploaded or pasted register (POST)."""
    fmt = fmt_of(request, ("html", "json"))
    if request.method == "GET":
        return page(request, "aggregate.html", {"form": {}})
    form = await _form(request)
    context: dict[str, Any] = {"form": forms.echo(form, ("register", "regime", "kind"))}
    try:
        data, name = await upload_bytes(form, "file")
        suffix = Path(name).suffix.lower() if name else "." + (forms.text(form, "kind") or "csv")
        if data is None:
            pasted = form.get("register")
            data = pasted.encode("utf-8") if isinstance(pasted, str) and pasted.strip() else None
        if data is None:
            raise InputError("no register given", "upload a CSV or TOML register", field="file")
        if suffix not in REGISTER_SUFFIXES:
            raise InputError(f"{name or suffix}: not a register", "use .csv or .toml", field="file")

        def run() -> Any:
            from costplan.costmodel.aggregate import aggregate_register

            with uploaded(data, suffix) as path:
                assert path is not None
                return aggregate_register(path, regime_named(forms.text(form, "regime")))

        return _answer(request, fmt, "aggregate.html", context, await core(run))
    except CostplanError as exc:
        return failure(request, fmt, exc, "aggregate.html", AGGREGATE_INPUTS, context)
    finally:
        await form.close()


def _summary(request: HttpRequest, params: forms.MultiDict) -> Any:
    from costplan.summary import parse_by, parse_day, summarise
    from costplan.units import parse_count

    t = forms.text
    below = t(params, "suppress-below")
    return summarise(
        snapshot_of(settings(request)),
        period=t(params, "period") or "week",
        by=parse_by(t(params, "by")),
        date_from=parse_day(t(params, "from"), "--from"),
        date_to=parse_day(t(params, "to"), "--to"),
        suppress_below=None if below is None else parse_count(below, "--suppress-below"),
        engine=settings(request).engine,
    )


async def volumes(request: HttpRequest) -> Response:
    """/volumes[.json|.csv|.html]: `costplan summary` (.html is the CLI's whole HTML report)."""
    fmt = fmt_of(request, ("html", "json", "csv", "report"))
    params = request.query_params
    context: dict[str, Any] = {"form": forms.echo(params, VOLUME_INPUTS)}
    if fmt == "html" and not str(params):
        return page(request, "volumes.html", context)
    try:
        from costplan.render import render_text

        if fmt == "report":
            from costplan._deps import optional

            optional("matplotlib")  # the chart's extra, as `summary --format html` asks
        result = await core(_summary, request, params)
        if fmt == "json":
            return json_response(render_text(result, "json"))
        if fmt in ("csv", "report"):
            media = "text/csv" if fmt == "csv" else "text/html"
            return Response(forms.json_text(render_text(result, fmt.replace("report", "html"))),
                            media_type=f"{media}; charset=utf-8")  # fmt: skip
        charts = settings(request).extras.get("matplotlib", False)
        return _answer(
            request, fmt, "volumes.html", {**context, "charts": charts, "query": str(params)},
            result, "markdown",
        )  # fmt: skip
    except CostplanError as exc:
        return failure(request, fmt, exc, "volumes.html", VOLUME_INPUTS, context)


def routes() -> list[Route]:
    fmt = "{fmt:str}"
    both = ["GET", "POST"]
    return [
        Route("/estimate", guarded(estimate), methods=both),
        Route(f"/estimate.{fmt}", guarded(estimate), methods=both),
        Route("/deadline", guarded(deadline)),
        Route(f"/deadline.{fmt}", guarded(deadline)),
        Route("/aggregate", guarded(aggregate), methods=both),
        Route(f"/aggregate.{fmt}", guarded(aggregate), methods=["POST"]),
        Route("/volumes", guarded(volumes)),
        Route(f"/volumes.{fmt}", guarded(volumes)),
    ]
