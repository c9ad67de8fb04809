"""`costplan sql`: read-only SQL over one snapshot of the store."""

from enum import StrEnum
from typing import Annotated

import typer

from costplan.cli._app import app
from costplan.cli._options import (
    EngineName,
    EngineOption,
    SparkMasterOption,
    StoreOption,
    emit,
    engine_of,
    open_store,
)


class SqlFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    statement: Annotated[
        str,
        typer.Argument(metavar="SELECT", help="One SELECT (or WITH ... SELECT) over the view cad."),
    ],
    store: StoreOption = None,
    fmt: Annotated[SqlFormat, typer.Option("--format", help="table, csv or json.")] = (
        SqlFormat.table
    ),
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = None,
) -> None:
    """Run read-only SQL against the view cad of the store's current snapshot.

    The view holds the stored record without free text (cad_ref, created_at, day, borough,
    year, call_source, grading, opening_code, closing_code, tags, linked_to). Only a single
    SELECT may run, reading only cad: no files, no other tables, no writes.

    Example:

        costplan sql "SELECT borough, count(*) AS cads FROM cad GROUP BY borough ORDER BY 2 DESC"

        costplan sql "SELECT day, count(*) AS n FROM cad GROUP BY day" --format csv
    """
    from costplan.render import render_text

    snapshot = open_store(store).snapshot()
    result = engine_of(engine, spark_master).sql(snapshot, statement)
    emit(render_text(result, fmt.value))
