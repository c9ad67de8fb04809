"""Commands that write a store: `ingest`, `generate` and `compact`."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from costplan._files import is_stdio
from costplan.cli._app import app
from costplan.cli._options import (
    ForceOption,
    StoreOption,
    TableOrJson,
    TableOrJsonOption,
    complete_area,
    emit,
    one_stdin,
    open_store,
    progress_bar,
    stdin_spooled,
)


def _period(text: str) -> tuple[dt.date, dt.date]:
    """FROM:TO as two dates, in order."""
    from costplan.errors import InputError
    from costplan.request import parse_date

    first, sep, last = text.partition(":")
    if not sep:
        raise InputError(f"--period {text!r} is not FROM:TO", "e.g. 2020-01-01:2020-12-31")
    d0, d1 = parse_date(first.strip(), "--period"), parse_date(last.strip(), "--period")
    if d1 < d0:
        raise InputError(f"--period {text}: the end is before the start", "swap the dates")
    return d0, d1


@app.command()
def ingest(
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            metavar="DIR",
            help="Store directory (created if it does not exist).",
            envvar="COSTPLAN_STORE",
        ),
    ],
    exports: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[EXPORT...]",
            help="CSV (UTF-8 or Windows-1252) or Parquet export files; - reads one from stdin.",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            metavar="FILE",
            help="Mapping TOML for the export as published: column names, formats, value "
            "tables, constants, defaults, composed references (docs/mappings.md); or a bundled "
            "name (default, example-force, example-calls-for-service); - reads stdin. Default: "
            "the schema's own names.",
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="FROM:TO",
            help="The days the exports cover (YYYY-MM-DD:YYYY-MM-DD), even days with no CADs. "
            "Default: each file covers its own first to last day.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any row was quarantined (after committing).")
    ] = False,
    force: ForceOption = None,
    from_sql: Annotated[
        str | None,
        typer.Option(
            "--from-sql",
            metavar="QUERY",
            help="Also ingest the rows of this SELECT (with --connection), like an export's.",
        ),
    ] = None,
    connection: Annotated[
        str | None,
        typer.Option(
            "--connection",
            metavar="URL",
            envvar="COSTPLAN_CONNECTION",
            help="Database for --from-sql: sqlite:///cad.db, or postgresql://user@host/db "
            "(needs psycopg; keep the password in ~/.pgpass).",
        ),
    ] = None,
    fmt: TableOrJsonOption = TableOrJson.table,
) -> None:
    """Load CAD exports into the store; every row is stored, a duplicate, or quarantined.

    All files are committed together or not at all. Re-running the same export adds nothing
    and leaves the manifest version as it was. Rows that cannot be stored go to the store's
    quarantine with file, line and every reason; the report counts each reason and says which
    values the mapping supplied (constants, defaults). A new store belongs to the force
    profile --force names (default mps): its areas, names, references, vocabularies and time
    zone; every later command reads them from the store.

    Example:

        costplan ingest cad-2021.csv cad-2022.parquet --store ./cad

        costplan ingest export.csv --store ./cad --mapping example-force --strict --format json

        costplan ingest cad-2020.csv --store ./cad --period 2020-01-01:2020-12-31

        costplan ingest calls.csv --store ./cad --mapping example-calls-for-service

        costplan ingest wyp-2023.csv --store ./wyp --force wyp --mapping wyp-export.toml

        costplan ingest --store ./cad --connection sqlite:///force.db
        --from-sql "SELECT * FROM cad_export ORDER BY created_at"
    """
    from costplan.errors import InputError
    from costplan.ingest import ingest as run_ingest
    from costplan.render import render_text

    if (from_sql is None) != (connection is None):
        raise InputError("give --from-sql and --connection together")
    given = exports or []
    one_stdin({f"EXPORT {i + 1}": e for i, e in enumerate(given)} | {"--mapping": mapping})
    covers = _period(period) if period else None
    query = (from_sql, connection) if from_sql is not None and connection is not None else None
    with stdin_spooled(given) as files, progress_bar("Ingesting") as tick:
        # The report and the quarantine name stdin as the user did ("-"), not its copy.
        names = ["-" if is_stdio(e) else None for e in given]
        report = run_ingest(
            store,
            files,
            mapping,
            progress=tick,
            period=covers,
            force=force,
            from_sql=query,
            names=names,
        )
    emit(render_text(report, fmt.value))
    if strict and report.quarantined:
        raise typer.Exit(1)


@app.command()
def generate(
    store: Annotated[
        Path, typer.Option("--store", metavar="DIR", help="Directory for the new store.")
    ],
    start: Annotated[
        str, typer.Option("--start", metavar="DATE", help="First London day, YYYY-MM-DD.")
    ] = "2020-01-01",
    end: Annotated[
        str, typer.Option("--end", metavar="DATE", help="Last London day, YYYY-MM-DD.")
    ] = "2020-12-31",
    force: ForceOption = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Random seed: same seed, same archive.")
    ] = 2020,
    boroughs: Annotated[
        list[str] | None,
        typer.Option(
            "--boroughs",
            metavar="BOROUGH",
            autocompletion=complete_area,
            help="Only these boroughs (repeat the option); default all 32.",
        ),
    ] = None,
    fmt: TableOrJsonOption = TableOrJson.table,
) -> None:
    """Build a seeded synthetic London CAD archive, calibrated to published MPS figures.

    Example:

        costplan generate --store ./cad --start 2019-01-01 --end 2021-12-31 --seed 7
    """
    from costplan.errors import InputError
    from costplan.profile import DEFAULT_FORCE, load_profile
    from costplan.render import render_text
    from costplan.request import parse_date, resolve_borough
    from costplan.synth.demo import generate_archive

    if force is not None and load_profile(force).name != DEFAULT_FORCE:
        raise InputError(
            f"--force {force}: the synthetic archive is calibrated for the MPS only",
            "generate without --force, or ingest the force's own exports",
        )
    d0, d1 = parse_date(start, "--start"), parse_date(end, "--end")
    names = [resolve_borough(b, "--boroughs") for b in boroughs] if boroughs else None
    with progress_bar("Generating") as tick:
        report = generate_archive(store, d0, d1, seed=seed, boroughs=names, progress=tick)
    emit(render_text(report, fmt.value))


@app.command()
def coverage(
    store: StoreOption = None,
    fmt: TableOrJsonOption = TableOrJson.table,
) -> None:
    """What the archive covers: per area the days held and the gaps, the last ingest, rows.

    A count of 0 means "none held" only on days the archive covers; `plan` and `check` say
    when a request asks about days or areas it does not (and then exit 3).

    Example:

        costplan coverage --store ./cad

        costplan coverage --format json
    """
    from costplan.render import render_text

    emit(render_text(open_store(store).snapshot().coverage_report(), fmt.value))


@app.command()
def compact(
    store: Annotated[Path, typer.Option("--store", metavar="DIR", help="The store to compact.")],
    min_files: Annotated[
        int,
        typer.Option(
            "--min-files",
            metavar="N",
            min=1,
            help="Rewrite partitions holding at least N files (default 2).",
        ),
    ] = 2,
    fmt: TableOrJsonOption = TableOrJson.table,
) -> None:
    """Rewrite each partition's appended files as one file (same rows, fewer files).

    Every ingest adds one file per borough-year it adds rows to; reading many small files is
    slower, so an ingest also merges a partition's newest files on its own once it holds 16.
    This command merges them all. Crash-safe like every write: readers see the store before
    or after, never half of it.

    Example:

        costplan compact --store ./cad
    """
    from costplan.render import render_text
    from costplan.store import Store

    emit(render_text(Store.open(store).compact(min_files), fmt.value))
