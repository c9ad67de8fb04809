"""What several commands share: options declared once, the store, progress, output."""

import contextlib
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from costplan.store import Snapshot, Store

if TYPE_CHECKING:
    from costplan.costmodel.regimes import Regime
    from costplan.engines import Engine
    from costplan.profile import Profile


class TableOrJson(StrEnum):
    """For results with no prose: a table for people, JSON for scripts."""

    table = "table"
    json = "json"


class TableJsonOrMarkdown(StrEnum):
    """For reports a case file may quote: also Markdown."""

    table = "table"
    json = "json"
    markdown = "markdown"


TableOrJsonOption = Annotated[TableOrJson, typer.Option("--format", help="table or json.")]
ReportFormatOption = Annotated[
    TableJsonOrMarkdown,
    typer.Option(
        "--format", help="table, json or markdown. JSON hours and money are numbers (2 dp)."
    ),
]

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
    str | None,
    typer.Option(
        "--spark-master",
        metavar="URL",
        envvar="COSTPLAN_SPARK_MASTER",
        help="Spark master for --engine spark: local[*] (default), spark://HOST:7077, yarn, ...",
        show_default=False,
    ),
]
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
MinutesPerRecordOption = Annotated[
    str | None,
    typer.Option(
        "--minutes-per-record",
        metavar="M",
        help="Minutes to read one record (default: the regime's, 3 for a CAD).",
    ),
]
SampleOption = Annotated[
    Path | None,
    typer.Option(
        "--sample",
        help="Timed sample: seconds per record (or mm:ss), one per line or a CSV 'seconds' column.",
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Last day (the store's local day), YYYY-MM-DD (default: --date)."),
]
TimeFromOption = Annotated[
    str | None,
    typer.Option(
        "--time-from",
        metavar="HH:MM",
        help="Start of a time-of-day window on each day (with --time-to).",
    ),
]
TimeToOption = Annotated[
    str | None,
    typer.Option(
        "--time-to",
        metavar="HH:MM",
        help="End of the window; an end before the start runs overnight (22:00 to 04:00 is "
        "22:00 on each day to 04:00 the next morning).",
    ),
]
TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today", metavar="DATE", help="Count the working days left from DATE (default: now)."
    ),
]
# One option for the areas of a request, whatever the force calls them: `--area` everywhere,
# `--borough` the MPS spelling of the same option. Each value may be an area, a comma list, a
# group (a BCU's name or code), a place ("Brixton") or `all`; the output shows the expansion.
_AREA_HELP = "Area (repeatable; --borough for the MPS): a name, a comma list, a group (BCU) or all."
AreaOption = Annotated[
    list[str] | None, typer.Option("--area", "--borough", help="Quick request: " + _AREA_HELP)
]
AreaRequiredOption = Annotated[list[str], typer.Option("--area", "--borough", help=_AREA_HELP)]
ForceOption = Annotated[
    str | None,
    typer.Option(
        "--force",
        metavar="NAME|FILE",
        help="Force profile of a new store: a shipped name (mps, wyp) or a profile TOML "
        "(docs/forces.md). Default: mps. An existing store keeps its own.",
        show_default=False,
    ),
]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", help="Only CADs carrying this tag (repeatable).")
]


def window_of(time_from: str | None, time_to: str | None) -> tuple[int, int] | None:
    """The time window the --time-from and --time-to options describe (None: whole days)."""
    from costplan.errors import InputError
    from costplan.request import clock_minutes, time_window

    if (time_from is None) != (time_to is None):
        raise InputError("give --time-from and --time-to together", "or neither, for whole days")
    if time_from is None or time_to is None:
        return None
    return time_window(clock_minutes(time_from, "time_from"), clock_minutes(time_to, "time_to"))


def engine_of(
    name: EngineName, spark_master: str | None, snapshot: "Snapshot | None" = None
) -> "Engine":
    """The engine object the --engine and --spark-master options describe, with the store's
    time zone as its option when the command has the store's snapshot."""
    from costplan.engines import choose

    eng = choose(name.value, spark_master=spark_master)
    return eng if snapshot is None else eng.for_store(snapshot)


def regime_of(
    name: str | None,
    regime_file: Path | None,
    limit: str | None = None,
    rate: str | None = None,
) -> "Regime":
    """The regime chosen on the command line, with any --limit-gbp / --rate override."""
    from costplan.costmodel.regimes import load_regimes

    return load_regimes(regime_file).get(name).with_overrides(limit=limit, rate=rate)


def store_profile(path: Path | None) -> "Profile":
    """The force profile of the store a command reads, from its manifest alone (the demo
    archive is the MPS's and is not built for this), so a request is checked first."""
    from costplan.profile import mps

    return Store.open(path).snapshot().profile if path is not None else mps()


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


def emit(text: str) -> None:
    """Print a report to stdout (never stderr: reports are for pipes and files)."""
    typer.echo(text.rstrip("\n"))


def write_output(path: Path, data: bytes | str) -> None:
    """Write a report file atomically (readers never see half of it)."""
    from costplan._files import write_atomic

    write_atomic(path, data)
