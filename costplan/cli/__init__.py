"""The costplan command line: parse arguments, call the core, render the result.

This is the only module that talks to the terminal. Core modules raise CostplanError
subclasses; the group below turns them into one stderr line and exit code 2.
"""

# No `from __future__ import annotations` here, unlike the other modules: Typer reads every
# command's signature on every run, and string annotations would each be eval()'d (about
# 15 ms a process, a twentieth of `costplan summary`'s budget).
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# Typer 0.29 vendors Click as typer._click; its exception types are not re-exported, and the
# one-line error contract needs them (hence the <0.30 pin in pyproject.toml).
from typer import _click as click
from typer._click import exceptions as click_exc
from typer.core import TyperGroup

from costplan import __version__
from costplan.cli import coerce as cli_coerce
from costplan.errors import CostplanError, InputError
from costplan.store import Store

if TYPE_CHECKING:
    from costplan.costmodel.regimes import Regime
    from costplan.planner import MinutesPerRecord

EXIT_USER_ERROR = 2

# Plain option values are coerced without importing Pydantic (0.12 s a process; see the module).
cli_coerce.install()


def _error_line(message: str) -> None:
    click.echo(f"costplan: error: {message}", err=True)


class CostplanGroup(TyperGroup):
    """A Typer group whose failures are one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostplanError as exc:
            _error_line(exc.one_line())
            ctx.exit(EXIT_USER_ERROR)
        except OSError as exc:
            # Disk full, permission denied, a file vanishing mid-run: the user's to fix.
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            _error_line(f"{exc.strerror or exc}{where}")
            ctx.exit(EXIT_USER_ERROR)

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - click entry point
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click_exc.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(EXIT_USER_ERROR)
        except click_exc.UsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx else "costplan"
            _error_line(f"{exc.format_message()} (see '{cmd} --help')")
            sys.exit(EXIT_USER_ERROR)
        except click_exc.ClickException as exc:
            _error_line(exc.format_message())
            sys.exit(exc.exit_code or 1)
        except typer.Abort:  # Typer 0.29's vendored Click has no Abort of its own
            _error_line("aborted")
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=CostplanGroup,
    help=(
        "Estimate the cost of answering FOI requests about police CAD records, decide under "
        "FOIA section 12, and advise how a request could be narrowed (section 16).\n\n"
        "Example:\n\n    costplan demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(StrEnum):
    """Output formats shared by the reporting commands."""

    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"
    html = "html"


def version_callback(value: bool) -> None:
    if value:
        click.echo(f"costplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """costplan: FOIA section 12 cost estimates over police CAD archives."""


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store directory. Default: the demo archive in the per-user cache (built once).",
        envvar="COSTPLAN_STORE",
    ),
]


class EngineName(StrEnum):
    """Query engines: DuckDB (embedded, the default) or Apache Spark (optional extra)."""

    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        envvar="COSTPLAN_ENGINE",
        help="Query engine: duckdb (embedded) or spark (pip install 'costplan[spark]'; "
        "needs Java). Same answers on either.",
    ),
]
SparkMasterOption = Annotated[
    str,
    typer.Option(
        "--spark-master",
        metavar="URL",
        envvar="COSTPLAN_SPARK_MASTER",
        help="Spark master for --engine spark: local[*], spark://HOST:7077, yarn, ...",
    ),
]
DEFAULT_SPARK_MASTER = "local[*]"


def open_store(path: Path | None) -> Store:
    """The store a command reads: --store, or the demo archive (built on first use)."""
    if path is not None:
        return Store.open(path)
    from costplan.synth.demo import demo_store

    with progress_bar("Building the demo archive (once)") as tick:
        return demo_store(progress=tick)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback: a bar on a terminal, nothing when stderr is piped or redirected."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    state: dict[str, Any] = {}

    def tick(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = typer.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
            state["pos"] = 0
        state["bar"].update(done - state["pos"])
        state["pos"] = done

    try:
        yield tick
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file via a temporary sibling and rename, so readers never see half of it."""
    path = path.expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a directory", "give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # on disk before the rename, so a crash never leaves it empty
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def emit(text: str) -> None:
    """Print a report to stdout (never stderr: reports are for pipes and files)."""
    typer.echo(text.rstrip("\n"))


def main() -> None:
    """Console-script entry point."""
    app()


# ---- store commands (issue 2) ----


class IngestFormat(StrEnum):
    """Output formats of `ingest`."""

    table = "table"
    json = "json"


@app.command()
def ingest(
    exports: Annotated[
        list[Path],
        typer.Argument(
            help="CSV (UTF-8 or Windows-1252) or Parquet export files.", show_default=False
        ),
    ],
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="Store directory (created if it does not exist).",
            envvar="COSTPLAN_STORE",
        ),
    ],
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            metavar="FILE",
            help="Mapping TOML for the force's column names and formats, or a bundled name "
            "(default, example-force). Default: the schema's own names.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any row was quarantined (after committing).")
    ] = False,
    fmt: Annotated[
        IngestFormat, typer.Option("--format", help="table or json.")
    ] = IngestFormat.table,
) -> None:
    """Load CAD exports into the store; every row is stored, a duplicate, or quarantined.

    All files are committed together or not at all. Re-running the same export adds nothing.
    Rows that cannot be stored go to the store's quarantine with file, line and reason.

    Example:

        costplan ingest cad-2021.csv cad-2022.parquet --store ./cad

        costplan ingest export.csv --store ./cad --mapping example-force --strict --format json
    """
    from costplan.ingest import ingest as run_ingest
    from costplan.render.ingest import render_ingest

    with progress_bar("Ingesting") as tick:
        report = run_ingest(store, exports, mapping, progress=tick)
    emit(render_ingest(report, fmt.value))
    if strict and report.quarantined:
        raise typer.Exit(1)


@app.command()
def generate(
    store: Annotated[Path, typer.Option("--store", help="Directory for the new store.")],
    start: Annotated[
        str, typer.Option("--start", help="First London day, YYYY-MM-DD.")
    ] = "2020-01-01",
    end: Annotated[str, typer.Option("--end", help="Last London day, YYYY-MM-DD.")] = "2020-12-31",
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: same seed, same archive.")
    ] = 2020,
    boroughs: Annotated[
        list[str] | None,
        typer.Option("--boroughs", help="Only these boroughs (repeat the option); default all 32."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Build a seeded synthetic London CAD archive, calibrated to published MPS figures.

    Example:

        costplan generate --store ./cad --start 2019-01-01 --end 2021-12-31 --seed 7
    """
    from costplan.request import parse_date, resolve_borough
    from costplan.synth.demo import build_archive

    d0, d1 = parse_date(start, "--start"), parse_date(end, "--end")
    names = [resolve_borough(b, "--boroughs") for b in boroughs] if boroughs else None
    target = Store.open(store, create=True)
    t0 = time.perf_counter()
    with progress_bar("Generating") as tick:
        result = build_archive(target, d0, d1, seed=seed, boroughs=names, progress=tick)
    seconds = time.perf_counter() - t0
    out = {
        "store": str(target.root),
        "rows": result.rows_written,
        "partitions": len(result.partitions_rewritten),
        "manifest_version": result.version,
        "seconds": round(seconds, 2),
        "rows_per_second": round(result.rows_written / seconds) if seconds else None,
    }
    if fmt == Format.json:
        emit(json.dumps(out, indent=2))
    else:
        from tabulate import tabulate  # only here: `check` stays clear of the import

        emit(tabulate(list(out.items()), tablefmt="simple", disable_numparse=True))


# ---- cost model commands (issue 3) ----


class CostFormat(StrEnum):
    """Output formats of `estimate` and `aggregate`."""

    table = "table"
    json = "json"
    markdown = "markdown"


class DeadlineFormat(StrEnum):
    """Output formats of `deadline`."""

    table = "table"
    json = "json"


RegimeOption = Annotated[
    str | None,
    typer.Option(
        "--regime",
        help="Regime: uk-foia-other (default; police), uk-foia-central, foisa, eir, ireland-foi.",
    ),
]
RegimeFileOption = Annotated[
    Path | None,
    typer.Option("--regime-file", help="Extra regimes TOML (same schema as the built-in file)."),
]


def _cost_regime(
    name: str | None,
    regime_file: Path | None,
    limit: str | None = None,
    rate: str | None = None,
) -> "Regime":
    """The regime chosen on the command line, with any --limit-gbp / --rate override."""
    from costplan.costmodel.regimes import load_regimes

    return load_regimes(regime_file).get(name).with_overrides(limit=limit, rate=rate)


@app.command()
def estimate(
    records: Annotated[
        str | None,
        typer.Option("--records", metavar="N", help="Records to review (whole number)."),
    ] = None,
    minutes_per_record: Annotated[
        str | None,
        typer.Option(
            "--minutes-per-record",
            metavar="M",
            help="Minutes to review one record (default: the regime's, 3).",
        ),
    ] = None,
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
    sample: Annotated[
        Path | None,
        typer.Option(
            "--sample",
            help="Timed sample: seconds per record, one per line or a CSV 'seconds' column.",
        ),
    ] = None,
    fmt: Annotated[
        CostFormat,
        typer.Option(
            "--format",
            help="table, json or markdown. JSON hours and money are numbers rounded to 2 dp.",
        ),
    ] = CostFormat.table,
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
    from decimal import Decimal

    from costplan.costmodel.estimate import estimate as run_estimate
    from costplan.costmodel.estimate import parse_activity_spec, review_activities
    from costplan.costmodel.sampling import assess, read_sample, summarize
    from costplan.render.costs import render_estimate
    from costplan.units import parse_count

    reg = _cost_regime(regime, regime_file, limit_gbp, rate)
    extra = [parse_activity_spec(spec) for spec in activity or []]
    if sample is not None and records is None:
        raise InputError("--sample needs --records", "say how many records the sample covers")
    if records is None and not extra:
        raise InputError(
            "nothing to estimate", "give --records N, or one or more --activity NAME=R:M"
        )
    if sample is not None and minutes_per_record is not None:
        raise InputError(
            "give --sample or --minutes-per-record, not both",
            "the sample's mean becomes the minutes per record",
        )
    stats = summarize(read_sample(sample), source=str(sample)) if sample is not None else None
    acts = []
    if records is not None:
        count = parse_count(records, "--records")
        if stats is not None:
            per: Any = stats.point_minutes
        elif minutes_per_record is not None:
            per = minutes_per_record
        else:
            per = reg.minutes_per_record
        acts = review_activities(count, per)
    result = run_estimate(reg, acts + extra, fixed_minutes or 0)
    assessment = None
    if stats is not None and records is not None:
        extra_items = result.items[len(acts) :]
        other = sum((i.minutes for i in extra_items if i.countable), start=Decimal(0))
        assessment = assess(stats, parse_count(records, "--records"), reg, other)
    emit(render_estimate(result, fmt.value, assessment))


@app.command()
def deadline(
    received: Annotated[
        str, typer.Option("--received", metavar="DATE", help="Date of receipt, YYYY-MM-DD.")
    ],
    working_days: Annotated[
        str,
        typer.Option(
            "--working-days", metavar="N", help="Working days allowed (FOIA s.10(1): 20)."
        ),
    ] = "20",
    fmt: Annotated[
        DeadlineFormat, typer.Option("--format", help="table or json.")
    ] = DeadlineFormat.table,
) -> None:
    """The FOIA s.10 deadline: the 20th working day following the date of receipt.

    Working days exclude weekends, Christmas Day, Good Friday and bank holidays in ANY part
    of the UK (s.10(6)), including substitute and proclaimed days. A request received on a
    non-working day starts the count on the next working day.

    Example:

        costplan deadline --received 2022-09-05

        costplan deadline --received 2020-12-18 --format json
    """
    from costplan.costmodel.workdays import deadline as run_deadline
    from costplan.costmodel.workdays import parse_date
    from costplan.render.costs import render_deadline
    from costplan.units import parse_count

    days = parse_count(working_days, "--working-days")
    due = run_deadline(parse_date(received, "--received"), days)
    emit(render_deadline(due, fmt.value))


@app.command()
def aggregate(
    register: Annotated[
        Path,
        typer.Argument(
            metavar="REGISTER",
            help="Requests register: CSV or TOML with id, requester, received, topic, "
            "campaign (optional) and hours or activities.",
        ),
    ],
    regime: RegimeOption = None,
    regime_file: RegimeFileOption = None,
    fmt: Annotated[
        CostFormat, typer.Option("--format", help="table, json or markdown.")
    ] = CostFormat.table,
) -> None:
    """Aggregate related requests under regulation 5 (60 consecutive working days).

    Requests are grouped when they come from the same requester or campaign, share a topic
    key, and fall inside one period of 60 consecutive working days; each group's total is
    decided against the limit. Requesters are shown only as pseudonyms ("requester A").

    Example:

        costplan aggregate register.csv

        costplan aggregate register.toml --format json
    """
    from costplan.costmodel.aggregate import aggregate_register
    from costplan.render.costs import render_aggregate

    reg = _cost_regime(regime, regime_file)
    emit(render_aggregate(aggregate_register(register, reg), fmt.value))


# ---- planner commands (issue 4) ----


def _per_record(
    regime: "Regime", minutes: float | None, sample: Path | None, request_minutes: float | None
) -> "MinutesPerRecord":
    """Per-record reading time, by precedence: --sample, --minutes-per-record, request, regime."""
    from costplan.planner import MinutesPerRecord
    from costplan.units import to_decimal

    if sample is not None:
        from costplan.costmodel.sampling import read_sample, summarize

        stats = summarize(read_sample(sample), source=str(sample))
        return MinutesPerRecord(
            stats.point_minutes,
            f"the mean of a timed sample of {stats.n} records ({sample.name}); 95% interval "
            f"{stats.ci_low_minutes:.2f}-{stats.ci_high_minutes:.2f} minutes",
            sample=stats,
        )
    if minutes is not None:
        return MinutesPerRecord(
            to_decimal(minutes, "--minutes-per-record"), "given with --minutes-per-record"
        )
    if request_minutes is not None:
        return MinutesPerRecord(
            to_decimal(request_minutes, "minutes_per_record"), "set in the request"
        )
    return MinutesPerRecord(
        regime.minutes_per_record,
        "the default reading time for one CAD, from published police estimates "
        "(Northumbria Police: 'a conservative estimate of 3 minutes per record')",
    )


def _write_disclosure(path: Path, refs: list[str]) -> None:
    """CAD references only; date, time and call source withheld (s.31/s.40), as the MPS did."""
    from costplan.schema import display_cad_ref

    suffix = path.suffix.lower()
    if suffix == ".csv":
        body = "cad_reference\n" + "".join(display_cad_ref(r) + "\n" for r in refs)
        write_atomic(path, body.encode("utf-8"))
    elif suffix == ".xlsx":
        try:
            import xlsxwriter  # type: ignore[import-untyped]
        except ImportError:
            raise InputError(
                "writing .xlsx needs the xlsxwriter package", "pip install 'costplan[xlsx]'"
            ) from None
        import io

        buf = io.BytesIO()
        book = xlsxwriter.Workbook(buf, {"in_memory": True})
        sheet = book.add_worksheet("Disclosure")
        sheet.write(0, 0, "CAD reference")
        for i, ref in enumerate(refs, start=1):
            sheet.write_string(i, 0, display_cad_ref(ref))
        book.close()
        write_atomic(path, buf.getvalue())
    else:
        raise InputError(f"--disclose {path}: unsupported file type", "use .csv or .xlsx")


@app.command()
def plan(
    request_file: Annotated[
        Path | None, typer.Argument(metavar="[REQUEST.toml]", help="The request file.")
    ] = None,
    store: StoreOption = None,
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = DEFAULT_SPARK_MASTER,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, markdown or json.")
    ] = Format.table,
    letter: Annotated[
        bool, typer.Option("--letter", help="Print a draft response section instead.")
    ] = False,
    regime: Annotated[str | None, typer.Option("--regime", help="Regime name.")] = None,
    regime_file: Annotated[
        Path | None, typer.Option("--regime-file", help="Extra regimes TOML file.")
    ] = None,
    minutes_per_record: Annotated[
        float | None, typer.Option("--minutes-per-record", help="Minutes to read one CAD.")
    ] = None,
    sample: Annotated[
        Path | None, typer.Option("--sample", help="Timed sample: seconds per record.")
    ] = None,
    disclose: Annotated[
        Path | None,
        typer.Option(
            "--disclose", help="For an answerable request, write CAD references (.csv/.xlsx)."
        ),
    ] = None,
    borough: Annotated[
        list[str] | None, typer.Option("--borough", help="Quick request: borough (repeatable).")
    ] = None,
    date: Annotated[str | None, typer.Option("--date", help="Quick request: first day.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Quick request: last day.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Quick request: tag.")] = None,
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", help="Quick request: free-text keyword.")
    ] = None,
) -> None:
    """Plan a request: count what each search strategy must review, cost it, decide, advise.

    Give a request TOML file, or describe a one-item request with --borough/--date flags.

    Example:

        costplan plan examples/ume-raves-2020.toml --format markdown

        costplan plan --borough Lambeth --date 2020-06-25 --tag UME --letter
    """
    from costplan.planner import build_plan, disclosure_refs
    from costplan.render.plan import plan_json, plan_letter, plan_markdown, plan_table
    from costplan.request import build_request, load_request

    if fmt not in (Format.table, Format.markdown, Format.json):
        raise InputError(
            f"--format {fmt.value} is not available for plan", "use table, markdown or json"
        )
    if request_file is not None and (borough or date):
        raise InputError("give a request file or --borough/--date, not both")
    if request_file is not None:
        req = load_request(request_file)
    elif borough and date:
        item: dict[str, Any] = {"name": "request", "boroughs": borough, "date_from": date}
        item["date_to"] = to or date
        if tag:
            item["tags"] = tag
        if keyword:
            item["keywords"] = keyword
        req = build_request({"reference": "(command line)", "items": [item]}, "command line")
    else:
        raise InputError(
            "nothing to plan", "give REQUEST.toml, or --borough and --date for a quick request"
        )
    reg = _cost_regime(regime or req.regime, regime_file)
    per = _per_record(reg, minutes_per_record, sample, req.minutes_per_record)
    st = open_store(store)
    result = build_plan(
        st.snapshot(), req, reg, per, engine=engine.value, spark_master=spark_master
    )
    if letter:
        emit(plan_letter(result))
    elif fmt == Format.json:
        emit(plan_json(result))
    elif fmt == Format.markdown:
        emit(plan_markdown(result))
    else:
        emit(plan_table(result))
    if disclose is not None:
        if result.decision != "answer":
            raise InputError(
                "the request exceeds the appropriate limit; nothing was written to --disclose",
                "narrow the request (see the section 16 advice) and plan it again",
            )
        refs = disclosure_refs(st.snapshot(), req, engine=engine.value, spark_master=spark_master)
        _write_disclosure(disclose, refs)


@app.command()
def check(
    borough: Annotated[list[str], typer.Option("--borough", help="Borough (repeatable).")],
    date: Annotated[str, typer.Option("--date", help="First London day, YYYY-MM-DD.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Last London day (default: --date).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Count only CADs carrying this tag.")
    ] = None,
    minutes_per_record: Annotated[
        float | None, typer.Option("--minutes-per-record", help="Minutes to read one CAD.")
    ] = None,
    regime: Annotated[str | None, typer.Option("--regime", help="Regime name.")] = None,
    store: StoreOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = DEFAULT_SPARK_MASTER,
) -> None:
    """Triage: how many CADs a borough holds for the days asked, and whether reading them fits.

    Example:

        costplan check --borough Lambeth --date 2020-06-25

        costplan check --borough Lambeth --date 2020-06-25 --to 2020-06-30 --tag UME --format json

        costplan check --borough Lambeth --date 2020-06-25 --engine spark
    """
    from costplan.planner import check as run_check
    from costplan.render.plan import check_line, check_table
    from costplan.request import parse_date, resolve_borough

    boroughs = tuple(dict.fromkeys(resolve_borough(b, "--borough") for b in borough))
    d0 = parse_date(date, "--date")
    d1 = parse_date(to, "--to") if to else d0
    if d1 < d0:
        raise InputError(f"--to {d1} is before --date {d0}", "swap the dates")
    reg = _cost_regime(regime, None)
    per = _per_record(reg, minutes_per_record, None, None)
    st = open_store(store)
    tags = tuple(t.strip().upper() for t in tag or [])
    result = run_check(
        st.snapshot(),
        boroughs,
        d0,
        d1,
        reg,
        per.minutes,
        tags,
        engine=engine.value,
        spark_master=spark_master,
    )
    if fmt == Format.json:
        emit(json.dumps(result.to_dict(), indent=2))
    else:
        emit(check_line(result) + "\n\n" + check_table(result))


@app.command()
def demo() -> None:
    """The main job on the embedded default: plan the 2020 UME request on the demo archive.

    Builds the seeded synthetic London archive for 2020 into the per-user cache on first use
    (about a minute), then plans examples/ume-raves-2020.toml and prints the report.

    Example:

        costplan demo
    """
    from costplan.planner import build_plan
    from costplan.render.plan import plan_table
    from costplan.request import load_request

    req = load_request(example_path("ume-raves-2020.toml"))
    reg = _cost_regime(req.regime, None)
    st = open_store(None)
    emit(plan_table(build_plan(st.snapshot(), req, reg, _per_record(reg, None, None, None))))


def example_path(name: str) -> Path:
    """An example file: inside the installed package, or at the repository top."""
    from costplan._files import shipped_dir

    folder = shipped_dir("examples")
    if folder is not None and (folder / name).is_file():
        return folder / name
    raise InputError(f"example {name} is missing from this installation")


# ---- summary commands (issue 5) ----


class Period(StrEnum):
    """Summary periods: London calendar days, ISO weeks (from Monday), calendar months."""

    day = "day"
    week = "week"
    month = "month"


summary_app = typer.Typer(
    invoke_without_command=True,
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
    spark_master: SparkMasterOption = DEFAULT_SPARK_MASTER,
    period: Annotated[
        Period, typer.Option("--period", help="day (London), week (ISO, Monday) or month.")
    ] = Period.week,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Group by a comma list of: borough, call_source, grading, tag."),
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First London day, YYYY-MM-DD (default: all).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last London day, YYYY-MM-DD (default: all).")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, csv, json, markdown or html.")
    ] = Format.table,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to this file (atomically) instead of stdout."),
    ] = None,
    suppress_below: Annotated[
        int | None,
        typer.Option(
            "--suppress-below",
            min=1,
            help="Show counts under N as '<N'. Totals are computed after suppression.",
        ),
    ] = None,
) -> None:
    """CAD volumes per day, ISO week or month, by borough, call source, grading or tag.

    Counts come from the daily volume table kept by 'costplan summary refresh'. Partitions
    that changed since the last refresh are counted straight from the store for this report
    (nothing is written), so the figures are always exact; refreshing only makes them fast.
    With --engine spark there is no volume table: every partition in range is counted on Spark.

    With --suppress-below N, counts from 1 to N-1 are shown as '<N' and every total is
    the sum of the published counts only (totals after suppression, not secondary
    suppression): no suppressed count can be worked out from the totals, and a total with
    suppressed cells is an undercount. With --by tag a CAD counts under each of its tags.

    Example:

    \b
        costplan summary --store ./cad --period month --by borough --from 2020-01-01
        costplan summary --store ./cad --by tag --suppress-below 10 --format html --out w.html
    """
    if ctx.invoked_subcommand is not None:
        return
    from costplan.render.summary import render
    from costplan.summary import parse_by, parse_day, summarise

    cols = parse_by(by)
    d0 = parse_day(date_from, "--from")
    d1 = parse_day(date_to, "--to")
    st = open_store(store)
    result = summarise(
        st,
        period=period.value,
        by=cols,
        date_from=d0,
        date_to=d1,
        suppress_below=suppress_below,
        engine=engine.value,
        spark_master=spark_master,
    )
    direct = result.source.get("partitions_counted_directly", 0)
    # On Spark every partition is counted directly by design; refreshing would not help.
    if direct and engine == EngineName.duckdb and sys.stderr.isatty():
        click.echo(
            f"note: {direct} partition(s) changed since the last refresh and were counted "
            "directly; run 'costplan summary refresh' to make this faster",
            err=True,
        )
    text = render(result, fmt.value)
    if out is not None:
        write_atomic(out, text.encode("utf-8"))
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
        typer.Option("--wait", min=0, help="Seconds to wait for a running refresh (default 0)."),
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
    from costplan.engines.volumes import refresh

    st = open_store(store)
    with progress_bar("Counting partitions") as tick:
        result = refresh(
            st, full=full, wait=wait, progress=lambda done, total, _key: tick(done, total)
        )
    if result.skipped:
        click.echo("another refresh is running; nothing to do", err=True)
    elif sys.stderr.isatty():
        click.echo(
            f"volumes: recounted {len(result.recounted)}, dropped {len(result.dropped)}, "
            f"unchanged {result.unchanged} partition(s); store manifest version "
            f"{result.store_version} ({result.seconds:.1f} s)",
            err=True,
        )
