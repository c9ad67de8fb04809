"""Volume summaries: `summary` and `summary refresh` (for cron)."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer import _click as click

from costplan.cli._app import app
from costplan.cli._options import (
    EngineName,
    EngineOption,
    SparkMasterOption,
    StoreOption,
    complete_by,
    emit,
    engine_of,
    open_store,
    progress_bar,
    write_output,
)


class SummaryFormat(StrEnum):
    """Output formats of `summary`."""

    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"
    html = "html"


class Period(StrEnum):
    """Summary periods: the store's local calendar days, ISO weeks (from Monday), months."""

    day = "day"
    week = "week"
    month = "month"


summary_app = typer.Typer(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(summary_app, name="summary")


@summary_app.callback()
def summary(
    ctx: typer.Context,
    store: StoreOption = None,
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = None,
    period: Annotated[
        Period,
        typer.Option("--period", help="day (the store's local day), week (ISO, Monday) or month."),
    ] = Period.week,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="COLUMNS",
            autocompletion=complete_by,
            help="Group by a comma list of: borough, call_source, grading, tag.",
        ),
    ] = None,
    date_from: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="First local day, YYYY-MM-DD (default: all)."),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option("--to", metavar="DATE", help="Last local day, YYYY-MM-DD (default: all)."),
    ] = None,
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", help="table, csv, json, markdown or html.")
    ] = SummaryFormat.table,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write to this file (atomically) instead of stdout; - is stdout.",
        ),
    ] = None,
    suppress_below: Annotated[
        int | None,
        typer.Option(
            "--suppress-below",
            metavar="N",
            min=1,
            help="Show counts under N as '<N' and, with --disclosure cellkey (the default), "
            "every other count rounded to a multiple of N by its cell key. Totals are "
            "computed after disclosure control.",
        ),
    ] = None,
    disclosure: Annotated[
        str,
        typer.Option(
            "--disclosure",
            metavar="METHOD",
            help="With --suppress-below: 'cellkey' (default; safe to publish: no comparison "
            "of summaries gives a suppressed count back) or 'suppress' (suppression alone; "
            "two summaries can be differenced, for internal use only).",
        ),
    ] = "cellkey",
) -> None:
    """CAD volumes per day, ISO week or month, by borough, call source, grading or tag.

    Counts come from the daily volume table kept by 'costplan summary refresh'. Partitions
    that changed since the last refresh are counted straight from the store for this report
    (nothing is written), so the figures are always exact; refreshing only makes them fast.
    With --engine spark there is no volume table: every partition in range is counted on Spark.

    With --suppress-below N, counts from 1 to N-1 are shown as '<N' and every other count
    is rounded up or down to a multiple of N, the same way in every table (the cell key
    method: a fixed key per CAD decides). Every published figure is then a multiple of N, so
    no difference of two summaries (a margin against its breakdown, a week against its days,
    two ranges a day apart) can give a suppressed count back. These summaries are counted
    from the partitions, not the volume table. --disclosure suppress keeps exact counts with
    suppression alone (internal use). Every total is the sum of the published counts only,
    so a total with suppressed cells is an undercount. With --by tag a CAD counts under
    each of its tags.

    Example:

    \b
        costplan summary --store ./cad --period month --by borough --from 2020-01-01
        costplan summary --store ./cad --by tag --suppress-below 10 --format html --out w.html
    """
    if ctx.invoked_subcommand is not None:
        return
    from costplan.render import render_text
    from costplan.summary import parse_by, parse_day, summarise

    if fmt == SummaryFormat.html:
        from costplan._deps import optional

        optional("matplotlib")  # the chart's extra: a one-line error before any counting
    cols = parse_by(by)
    d0 = parse_day(date_from, "--from")
    d1 = parse_day(date_to, "--to")
    snapshot = open_store(store).snapshot()
    eng = engine_of(engine, spark_master, snapshot)
    result = summarise(
        snapshot,
        period=period.value,
        by=cols,
        date_from=d0,
        date_to=d1,
        suppress_below=suppress_below,
        engine=eng,
        method=disclosure,
    )
    direct = result.source.get("partitions_counted_directly", 0)
    # Only an engine that keeps the volume table is made faster by a refresh (and cell key
    # summaries always count from the partitions: the table holds no record keys).
    if direct and eng.keeps_volume_table and result.method != "cellkey" and sys.stderr.isatty():
        click.echo(
            f"note: {direct} partition(s) changed since the last refresh and were counted "
            "directly; run 'costplan summary refresh' to make this faster",
            err=True,
        )
    text = render_text(result, fmt.value)
    if out is not None and str(out) != "-":
        write_output(out, text)
    else:
        emit(text)


@summary_app.command("refresh")
def summary_refresh(
    store: StoreOption = None,
    full: Annotated[
        bool, typer.Option("--full", help="Recount every partition, not only changed ones.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="Seconds to wait for a running refresh (default 0).",
        ),
    ] = 0.0,
) -> None:
    """Bring the daily volume table (STORE/volumes) up to date; safe to run from cron.

    Only partitions whose manifest entry changed since the last refresh are recounted, and
    partitions removed from the store are dropped. If another refresh holds the lock this one
    prints "another refresh is running; nothing to do" and exits 0. A killed refresh leaves
    the previous table intact. Quiet unless stderr is a terminal.

    Exit codes: 0 up to date (or another refresh running); 2 the store is missing or
    unreadable, or a partition could not be counted (one line on stderr; the other
    partitions are still refreshed).

    Example:

        costplan summary refresh --store ./cad
    """
    from costplan.engines import DuckDB

    st = open_store(store)
    with progress_bar("Counting partitions") as tick:
        # The volume table is DuckDB's (docs/scheduling.md); a refresh always uses DuckDB.
        result = DuckDB().refresh_volumes(
            st, full=full, wait=wait, progress=lambda done, total, _key: tick(done, total)
        )
    if result.skipped:
        click.echo("another refresh is running; nothing to do", err=True)
    elif sys.stderr.isatty():
        if result.upgraded_from is not None:
            click.echo(
                f"volumes: the table was in an older format ({result.upgraded_from}); "
                "rebuilt at the current grain (borough, day, call source)",
                err=True,
            )
        click.echo(
            f"volumes: recounted {len(result.recounted)}, dropped {len(result.dropped)}, "
            f"unchanged {result.unchanged} partition(s); store manifest version "
            f"{result.store_version} ({result.seconds:.1f} s)",
            err=True,
        )
