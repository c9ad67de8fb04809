"""Commands that write a store: `ingest` and `generate`."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from costplan.cli._app import app
from costplan.cli._options import (
    ForceOption,
    StoreOption,
    TableOrJson,
    TableOrJsonOption,
    emit,
    open_store,
    progress_bar,
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
            help="Mapping TOML for the export as published: column names, formats, value "
            "tables, constants, defaults, composed references (docs/mappings.md); or a bundled "
            "name (default, example-force, example-calls-for-service). Default: the schema's "
            "own names.",
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
    """
    from costplan.ingest import ingest as run_ingest
    from costplan.render import render_text

    covers = _period(period) if period else None
    with progress_bar("Ingesting") as tick:
        report = run_ingest(store, exports, mapping, progress=tick, period=covers, force=force)
    emit(render_text(report, fmt.value))
    if strict and report.quarantined:
        raise typer.Exit(1)


@app.command()
def generate(
    store: Annotated[Path, typer.Option("--store", help="Directory for the new store.")],
    start: Annotated[
        str, typer.Option("--start", help="First London day, YYYY-MM-DD.")
    ] = "2020-01-01",
    end: Annotated[str, typer.Option("--end", help="Last London day, YYYY-MM-DD.")] = "2020-12-31",
    force: ForceOption = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: same seed, same archive.")
    ] = 2020,
    boroughs: Annotated[
        list[str] | None,
        typer.Option("--boroughs", help="Only these boroughs (repeat the option); default all 32."),
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
