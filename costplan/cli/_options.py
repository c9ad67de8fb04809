"""What several commands share: options declared once, the store, progress, output."""

import contextlib
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from costplan.errors import CostplanError
from costplan.store import Snapshot, Store

if TYPE_CHECKING:
    from costplan.costmodel.regimes import Regime
    from costplan.engines import Engine
    from costplan.profile import Profile


# ---- shell completion (costplan completion SHELL prints the script) ---------------------------
# Callbacks get the word typed so far and return the candidates; they run in the shell's
# completion process, so each imports only what it needs.


def complete_area(ctx: typer.Context, incomplete: str) -> list[str]:
    """Area names starting with what was typed (in any case), hyphenated so a shell keeps
    each one word (a profile reads Barking-and-Dagenham as Barking and Dagenham).

    The areas are those of the store the command line names with --store before the area
    (its force profile), else the MPS boroughs (the default archive's). Typer keeps only
    candidates that start with the typed text exactly, so a name is offered in lower case
    when that is how the user began it ("barking" -> barking-and-dagenham)."""
    from costplan.profile import mps

    store = (ctx.params or {}).get("store")
    profile = mps()
    if store is not None:
        try:
            profile = Store.open(store).snapshot().profile
        except CostplanError:
            pass  # a completion never fails: a store that cannot be read offers the default
    typed = incomplete.replace(" ", "-")
    names = (name.replace(" ", "-") for name in profile.area_names)
    matches = [n for n in names if n.lower().startswith(typed.lower())]
    return [n if n.startswith(typed) else n.lower() for n in matches]


def complete_regime(incomplete: str) -> list[str]:
    """The built-in regime names starting with what was typed."""
    from costplan.costmodel.regimes import load_regimes

    return [n for n in load_regimes().names() if n.startswith(incomplete.strip().lower())]


def complete_by(incomplete: str) -> list[str]:
    """--by's comma list: the columns not yet named, after what was typed."""
    from costplan.summary import BY_COLUMNS

    done, _, last = incomplete.rpartition(",")
    named = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    return [prefix + c for c in BY_COLUMNS if c not in named and c.startswith(last)]


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
        metavar="DIR",
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
        metavar="NAME",
        autocompletion=complete_regime,
        help="Regime: uk-foia-other (default; police), uk-foia-central, foisa, eir, ireland-foi.",
    ),
]
RegimeFileOption = Annotated[
    Path | None,
    typer.Option(
        "--regime-file",
        metavar="FILE",
        help="Extra regimes TOML (same schema as the built-in file); - reads stdin.",
    ),
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
        metavar="FILE",
        help="Timed sample: seconds per record (or mm:ss), one per line or a CSV 'seconds' "
        "column; - reads stdin.",
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="DATE",
        help="Last day (the store's local day), YYYY-MM-DD (default: --date).",
    ),
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
    list[str] | None,
    typer.Option(
        "--area",
        "--borough",
        metavar="AREA",
        autocompletion=complete_area,
        help="Quick request: " + _AREA_HELP,
    ),
]
AreaRequiredOption = Annotated[
    list[str],
    typer.Option(
        "--area", "--borough", metavar="AREA", autocompletion=complete_area, help=_AREA_HELP
    ),
]
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
    list[str] | None,
    typer.Option("--tag", metavar="TAG", help="Only CADs carrying this tag (repeatable)."),
]


def window_of(time_from: str | None, time_to: str | None) -> tuple[int, int] | None:
    """The time window the --time-from and --time-to options describe (None: whole days)."""
    from costplan.planner.asks import window_of as window

    return window(time_from, time_to)


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


class StoreRead:
    """The store a command reads, its manifest read once: the force profile to check the
    request with before any work (for the demo archive, the MPS profile, before the archive is
    built on first use), and one snapshot for the whole command, so the decision and any file
    written from it agree."""

    def __init__(self, path: Path | None) -> None:
        self._snapshot = Store.open(path).snapshot() if path is not None else None

    @property
    def profile(self) -> "Profile":
        if self._snapshot is not None:
            return self._snapshot.profile
        from costplan.profile import mps

        return mps()

    def snapshot(self) -> "Snapshot":
        if self._snapshot is None:
            self._snapshot = open_store(None).snapshot()
        return self._snapshot


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


def emit(text: str, *, err: bool = False) -> None:
    """Print a report to stdout (never stderr: reports are for pipes and files).

    `err` is for the one case where stdout carries a file's bytes instead (`--disclose -`):
    the report then goes to stderr so the pipe gets only the file.
    """
    typer.echo(text.rstrip("\n"), err=err)


def write_output(path: Path, data: bytes | str) -> None:
    """Write a report file atomically (readers never see half of it); `-` is stdout."""
    from costplan._files import is_stdio, write_atomic

    if is_stdio(path):
        stream = typer.get_binary_stream("stdout")
        stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        stream.flush()
        return
    write_atomic(path, data)


def one_stdin(given: dict[str, Path | str | None]) -> None:
    """Refuse `-` for more than one input of a command: stdin can be read only once.

    Raises:
        InputError: two of the options name `-`.
    """
    from costplan._files import is_stdio
    from costplan.errors import InputError

    dashes = [name for name, value in given.items() if is_stdio(value)]
    if len(dashes) > 1:
        raise InputError(
            f"{' and '.join(dashes)} both read stdin ('-')", "stdin can be read only once"
        )


@contextlib.contextmanager
def stdin_spooled(paths: list[Path]) -> Iterator[list[Path]]:
    """`paths` with a `-` replaced by a temporary copy of stdin, for readers that need a file
    (DuckDB's CSV reader, Parquet); the copy is deleted when the block ends.

    The copy is named stdin.csv, or stdin.parquet when stdin starts with Parquet's magic bytes,
    so the store's ingest log and quarantine name it the same way whichever way it came.
    """
    import shutil
    import tempfile

    from costplan._files import is_stdio
    from costplan.errors import InputError

    if not any(is_stdio(p) for p in paths):
        yield paths
        return
    one_stdin({f"export {i + 1}": p for i, p in enumerate(paths)})
    with tempfile.TemporaryDirectory(prefix="costplan-stdin-") as tmp:
        spool = Path(tmp) / "stdin"
        source = typer.get_binary_stream("stdin")
        with open(spool, "wb") as fh:
            shutil.copyfileobj(source, fh, 1 << 20)
        with open(spool, "rb") as fh:
            magic = fh.read(4)
        if not magic:
            raise InputError("-: stdin is empty", "pipe a CSV or Parquet export into it")
        named = spool.with_name("stdin.parquet" if magic == b"PAR1" else "stdin.csv")
        spool.rename(named)
        yield [named if is_stdio(p) else p for p in paths]
