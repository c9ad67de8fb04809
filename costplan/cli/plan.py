"""Planner commands: `plan`, `check` and `demo`."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from costplan._files import is_stdio
from costplan.cli._app import app
from costplan.cli._options import (
    AreaOption,
    AreaRequiredOption,
    EngineName,
    EngineOption,
    MinutesPerRecordOption,
    RegimeFileOption,
    RegimeOption,
    ReportFormatOption,
    SampleOption,
    SparkMasterOption,
    StoreOption,
    StoreRead,
    TableJsonOrMarkdown,
    TableOrJson,
    TableOrJsonOption,
    TagOption,
    TimeFromOption,
    TimeToOption,
    TodayOption,
    ToOption,
    emit,
    engine_of,
    one_stdin,
    open_store,
    regime_of,
    window_of,
    write_output,
)
from costplan.errors import InputError

# `plan` and `check` exit 3 when the archive does not cover the scope and no decision can
# rest on it (the report still prints): scripts must not read that as an answer.
EXIT_UNCOVERED = 3

# What a disclosure file's name says it is (checked before any work is done).
DISCLOSURE_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


class RefStyle(StrEnum):
    """How a disclosure schedule shows each record (planner.disclosure.REFERENCE_STYLES)."""

    cad = "cad"
    opaque = "opaque"
    none = "none"


def _disclosure_format(path: Path) -> str:
    if is_stdio(path):
        return "csv"  # a pipe has no name to say otherwise; .xlsx needs a file
    fmt = DISCLOSURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"--disclose {path}: unsupported file type", "use .csv or .xlsx")
    if fmt == "xlsx":
        from costplan._deps import optional

        optional("xlsxwriter")  # a missing extra is reported before the plan runs
    return fmt


@app.command()
def plan(
    request_file: Annotated[
        Path | None,
        typer.Argument(metavar="[REQUEST.toml]", help="The request file; - reads stdin."),
    ] = None,
    store: StoreOption = None,
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = None,
    fmt: ReportFormatOption = TableJsonOrMarkdown.table,
    letter: Annotated[
        bool,
        typer.Option(
            "--letter",
            help="Print the response letter instead (text; --format markdown for Markdown).",
        ),
    ] = False,
    annex: Annotated[
        bool,
        typer.Option("--annex", help="Print the case-file annex: what the decision rests on."),
    ] = False,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="The authority's details for letters and schedules (default: shipped); "
            "- reads stdin.",
        ),
    ] = None,
    held: Annotated[
        bool | None,
        typer.Option(
            "--held/--not-held",
            help="Whether the information is held, as determined (a s.12(1) letter says so).",
        ),
    ] = None,
    regime: RegimeOption = None,
    regime_file: RegimeFileOption = None,
    minutes_per_record: MinutesPerRecordOption = None,
    sample: SampleOption = None,
    disclose: Annotated[
        Path | None,
        typer.Option(
            "--disclose",
            metavar="FILE",
            help="For an answer, write the disclosure schedule (.csv/.xlsx) of what it releases; "
            "- writes it as CSV to stdout (the report then goes to stderr).",
        ),
    ] = None,
    disclose_tagged: Annotated[
        bool,
        typer.Option(
            "--disclose-tagged",
            help="The schedule lists only the tagged records (the requester accepted that "
            "refinement).",
        ),
    ] = False,
    disclose_refs: Annotated[
        RefStyle,
        typer.Option(
            "--disclose-refs",
            help="Show references as recorded (cad: they carry date and time of day), opaque "
            "numbers, or none (the count only).",
        ),
    ] = RefStyle.cad,
    borough: AreaOption = None,
    date: Annotated[
        str | None, typer.Option("--date", metavar="DATE", help="Quick request: first day.")
    ] = None,
    to: ToOption = None,
    time_from: TimeFromOption = None,
    time_to: TimeToOption = None,
    tag: TagOption = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", metavar="WORD", help="Quick request: free-text keyword."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", metavar="REF", help="Quick request: its case reference."),
    ] = None,
    received: Annotated[
        str | None,
        typer.Option(
            "--received", metavar="YYYY-MM-DD", help="Quick request: the day it was received."
        ),
    ] = None,
    today: TodayOption = None,
) -> None:
    """Plan a request: count what each search strategy must review, cost it, decide, advise.

    Give a request TOML file, or describe a one-item request with --area/--date flags
    (--borough is the MPS spelling of --area).

    Example:

        costplan plan examples/ume-raves-2020.toml --format markdown

        costplan plan --borough Lambeth --date 2020-06-25 --tag UME --letter
    """
    from dataclasses import replace

    from costplan.planner import (
        build_plan,
        build_schedule,
        check_schedule,
        load_authority,
        reading_time,
        respond,
    )
    from costplan.planner.asks import quick_request
    from costplan.render import render, render_text
    from costplan.request import load_request, parse_date

    one_stdin(
        {
            "REQUEST": request_file,
            "--sample": sample,
            "--regime-file": regime_file,
            "--settings": settings,
        }
    )
    if request_file is not None and (borough or date):
        raise InputError("give a request file or --borough/--date, not both")
    if request_file is None and not (borough and date):
        raise InputError(
            "nothing to plan", "give REQUEST.toml, or --borough and --date for a quick request"
        )
    # The store's force profile names the areas (read before the demo archive is built).
    source = StoreRead(store)
    profile = source.profile
    if request_file is not None:
        req = load_request(request_file, profile)
    else:
        assert date is not None  # checked above: a quick request has --borough and --date
        window = window_of(time_from, time_to)
        req = quick_request(
            borough or (), date, to, window, tag or (), keyword or (), received, reference, profile
        )
    if (reference or received) and request_file is not None:
        raise InputError(
            "--reference and --received describe a quick request",
            "set reference and received in the request file",
        )
    if letter and annex:
        raise InputError("give --letter or --annex, not both", "the annex is printed on its own")
    if (letter or annex) and fmt == TableJsonOrMarkdown.json:
        raise InputError("a letter is text or markdown", "drop --format json", field="fmt")
    if held is not None:
        req = replace(req, held=held)
    disclose_fmt = _disclosure_format(disclose) if disclose is not None else None
    reg = regime_of(regime or req.regime, regime_file)
    authority = load_authority(settings) if (letter or annex or disclose) else None
    if disclose is not None and authority is not None:
        check_schedule(reg, authority, req, refined=disclose_tagged, style=disclose_refs.value)
    per = reading_time(
        reg, sample=sample, minutes=minutes_per_record, request_minutes=req.minutes_per_record
    )
    snapshot = source.snapshot()
    eng = engine_of(engine, spark_master, snapshot)
    as_of = parse_date(today, "--today") if today else None
    result = build_plan(snapshot, req, reg, per, engine=eng, today=as_of)
    # With --disclose - stdout carries the schedule, so the report goes to stderr.
    to_stdout = is_stdio(disclose)
    if (letter or annex) and authority is not None:
        answer = respond(result, authority, as_of)
        style = (
            "annex" if annex else ("markdown" if fmt == TableJsonOrMarkdown.markdown else "text")
        )
        emit(render_text(answer, style), err=to_stdout)
    else:
        emit(render_text(result, fmt.value), err=to_stdout)
    if disclose is not None and disclose_fmt is not None and authority is not None:
        schedule = build_schedule(
            result,
            snapshot,
            authority,
            refined=disclose_tagged,
            style=disclose_refs.value,
            engine=eng,
        )
        write_output(disclose, render(schedule, disclose_fmt))
    if result.decision == "uncovered":
        raise typer.Exit(EXIT_UNCOVERED)


@app.command()
def check(
    borough: AreaRequiredOption,
    date: Annotated[
        str,
        typer.Option("--date", metavar="DATE", help="First day (the store's), YYYY-MM-DD."),
    ],
    to: ToOption = None,
    time_from: TimeFromOption = None,
    time_to: TimeToOption = None,
    tag: TagOption = None,
    minutes_per_record: MinutesPerRecordOption = None,
    regime: RegimeOption = None,
    store: StoreOption = None,
    fmt: TableOrJsonOption = TableOrJson.table,
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = None,
) -> None:
    """Triage: how many CADs an area holds for the days asked, and whether reading them fits.

    Example:

        costplan check --borough Lambeth --date 2020-06-25

        costplan check --borough Lambeth --date 2020-06-25 --to 2020-06-30 --tag UME --format json

        costplan check --borough Lambeth --date 2020-06-25 --engine spark
    """
    from costplan.planner import check as run_check
    from costplan.planner import reading_time
    from costplan.render import render_text
    from costplan.request import parse_date, resolve_areas

    source = StoreRead(store)
    boroughs, notes = resolve_areas(borough, "--area", source.profile)
    d0 = parse_date(date, "--date")
    d1 = parse_date(to, "--to") if to else d0
    if d1 < d0:
        raise InputError(f"--to {d1} is before --date {d0}", "swap the dates")
    reg = regime_of(regime, None)
    per = reading_time(reg, minutes=minutes_per_record)
    snapshot = source.snapshot()
    eng = engine_of(engine, spark_master, snapshot)
    # Tags in the form ingest stores them (schema.canonical_label): --tag ' ume' asks for UME.
    from costplan.schema import canonical_label

    tags = tuple(dict.fromkeys(canonical_label(t) for t in tag or []))
    if "" in tags:
        raise InputError("--tag: a tag must not be blank", "name a tag, e.g. --tag UME")
    window = window_of(time_from, time_to)
    result = run_check(
        snapshot, boroughs, d0, d1, reg, per.minutes, tags, window=window, engine=eng, notes=notes
    )
    emit(render_text(result, fmt.value))
    if result.decision == "uncovered":
        raise typer.Exit(EXIT_UNCOVERED)


@app.command()
def demo() -> None:
    """The main job on the embedded default: plan the 2020 UME request on the demo archive.

    Builds the seeded synthetic London archive for 2020 into the per-user cache on first use
    (about a minute), then plans examples/ume-raves-2020.toml and prints the report.

    Example:

        costplan demo
    """
    from costplan.planner import build_plan, reading_time
    from costplan.render import render_text
    from costplan.request import load_request

    req = load_request(example_path("ume-raves-2020.toml"))
    reg = regime_of(req.regime, None)
    snapshot = open_store(None).snapshot()
    result = build_plan(snapshot, req, reg, reading_time(reg))
    emit(render_text(result, "table"))


def example_path(name: str) -> Path:
    """An example file: inside the installed package, or at the repository top."""
    from costplan._files import shipped_dir

    folder = shipped_dir("examples")
    if folder is not None and (folder / name).is_file():
        return folder / name
    raise InputError(f"example {name} is missing from this installation")
