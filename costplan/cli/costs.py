"""Cost-model commands: `estimate`, `deadline`, `aggregate` (no store needed)."""

from pathlib import Path
from typing import Annotated

import typer

from costplan.cli._app import app
from costplan.cli._options import (
    MinutesPerRecordOption,
    RegimeFileOption,
    RegimeOption,
    ReportFormatOption,
    SampleOption,
    TableJsonOrMarkdown,
    TableOrJson,
    TableOrJsonOption,
    TodayOption,
    emit,
    one_stdin,
    regime_of,
)


@app.command()
def estimate(
    records: Annotated[
        str | None,
        typer.Option("--records", metavar="N", help="Records to review (whole number)."),
    ] = None,
    minutes_per_record: MinutesPerRecordOption = None,
    regime: RegimeOption = None,
    regime_file: RegimeFileOption = None,
    limit_gbp: Annotated[
        str | None,
        typer.Option(
            "--limit-gbp", "--limit", metavar="X", help="Override the limit (regime currency)."
        ),
    ] = None,
    rate: Annotated[
        str | None, typer.Option("--rate", metavar="R", help="Override the hourly rate.")
    ] = None,
    activity: Annotated[
        list[str] | None,
        typer.Option(
            "--activity",
            metavar="NAME=RECORDS:MINUTES",
            help=(
                "Extra activity (repeatable): determine_held, locate, retrieve, extract, "
                "schedule; or non-countable redaction, exemptions, consultation, thinking. "
                "Append +F for F fixed minutes."
            ),
        ),
    ] = None,
    fixed_minutes: Annotated[
        str | None,
        typer.Option("--fixed-minutes", metavar="F", help="Set-up minutes, counted as locate."),
    ] = None,
    sample: SampleOption = None,
    fmt: ReportFormatOption = TableJsonOrMarkdown.table,
) -> None:
    """Estimate the cost of a request and decide under section 12 (or the chosen regime).

    Only the countable activities are added up (UK: determining whether held, locating,
    retrieving, extracting); redaction, exemptions, consultation and thinking time are shown
    but never counted. A plain --records review puts the reading time under 'extract'.

    Example:

        costplan estimate --records 1144 --minutes-per-record 3

        costplan estimate --records 500 --sample timings.csv --format json

        costplan estimate --records 300 --activity redaction=300:2
    """
    from costplan.planner.asks import estimate_report
    from costplan.render import render_text

    one_stdin({"--sample": sample, "--regime-file": regime_file})
    reg = regime_of(regime, regime_file, limit_gbp, rate)
    report = estimate_report(
        reg,
        records=records,
        minutes_per_record=minutes_per_record,
        activities=activity or (),
        fixed_minutes=fixed_minutes,
        sample=sample,
    )
    emit(render_text(report, fmt.value))


@app.command()
def deadline(
    received: Annotated[
        str, typer.Option("--received", metavar="DATE", help="Date of receipt, YYYY-MM-DD.")
    ],
    regime: RegimeOption = None,
    regime_file: RegimeFileOption = None,
    paused: Annotated[
        list[str] | None,
        typer.Option(
            "--paused",
            metavar="FROM:TO",
            help="Clock stopped (repeatable): a fees notice or clarification request given on "
            "FROM, the reply received on TO; working days FROM to TO (both included) do not "
            "count (FOIA s.10(2)). Refused where the regime has no such rule.",
        ),
    ] = None,
    extension: Annotated[
        str | None,
        typer.Option(
            "--extension",
            metavar="NAME",
            help="Extend the period at its longest: public-interest (FOIA s.10(3): +20), "
            "eir-complex (EIR reg. 7(1): 40 in all), many-records (Ireland s.14: +4 weeks).",
        ),
    ] = None,
    working_days: Annotated[
        str | None,
        typer.Option(
            "--working-days",
            metavar="N",
            help="A what-if period in working days instead of the regime's (FOIA s.10(1): 20).",
        ),
    ] = None,
    today: TodayOption = None,
    fmt: TableOrJsonOption = TableOrJson.table,
) -> None:
    """The due date of a request under its regime (default: FOIA s.10, 20 working days).

    Day 1 is the first working day after receipt, also when the request arrives on a
    non-working day. FOIA and the EIR exclude weekends, Christmas Day, Good Friday and bank
    holidays in ANY part of the UK (s.10(6)), including substitute and proclaimed days; FOISA
    only Scottish bank holidays (s.73); Ireland's four weeks are 20 weekdays that are not
    Irish public holidays (s.13(1)).

    Example:

        costplan deadline --received 2022-09-05

        costplan deadline --received 2025-08-15 --regime foisa --format json

        costplan deadline --received 2025-08-15 --paused 2025-08-20:2025-08-27
    """
    from costplan.planner.asks import deadline_report
    from costplan.render import render_text

    reg = regime_of(regime, regime_file)
    result = deadline_report(
        reg,
        received,
        paused=paused or (),
        extension=extension,
        working_days=working_days,
        today=today,
    )
    emit(render_text(result, fmt.value))


@app.command()
def aggregate(
    register: Annotated[
        Path,
        typer.Argument(
            metavar="REGISTER",
            help="Requests register (- reads stdin): CSV or TOML with id, requester, received, "
            "topic, hours or activities, and optionally campaign, status (open, answered, refused, "
            "withdrawn) and answered (the date the response was sent).",
        ),
    ],
    regime: RegimeOption = None,
    regime_file: RegimeFileOption = None,
    fmt: ReportFormatOption = TableJsonOrMarkdown.table,
) -> None:
    """One verdict per request under regulation 5 (60 consecutive working days).

    Each request is judged as at the day it is dealt with: the day it was answered or its
    s.10 due date, whichever is earlier. Similar requests (same topic key) from the same
    requester or campaign are added to it if received in the 60 working days before it, and
    later ones only if received while it was still being dealt with; all must fit one period
    of 60 consecutive working days. The verdict is answer, refuse alone or refuse by
    aggregation, with the requests added and the combined hours. Requesters are shown only
    as pseudonyms ("requester A").

    Example:

        costplan aggregate register.csv

        costplan aggregate register.toml --format json
    """
    from costplan.costmodel.aggregate import aggregate_register
    from costplan.render import render_text

    one_stdin({"REGISTER": register, "--regime-file": regime_file})
    reg = regime_of(regime, regime_file)
    emit(render_text(aggregate_register(register, reg), fmt.value))
