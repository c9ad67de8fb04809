"""The engine seam: which query engine runs the named queries, chosen by name.

The planner, `check` and `summary` ask an engine for named-query results and never care which
one answers: DuckDB (costplan.engines.duckdb_engine.Engine, the embedded default) or Apache Spark
(costplan.engines.spark_engine.SparkEngine, for archives beyond one machine). Both expose the same
interface (QueryEngine) over the same logical view `cad`, run the same queries/*.sql and give
the same answers.

One engine-specific decision lives here rather than in its callers: whether the materialised
daily volume table (costplan.engines.volumes, a DuckDB-side cache beside the store) may answer. Only
DuckDB uses it; Spark always counts from the partitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from costplan.errors import InputError
from costplan.store import Snapshot

if TYPE_CHECKING:
    import polars as pl

DUCKDB = "duckdb"
SPARK = "spark"
ENGINES: tuple[str, ...] = (DUCKDB, SPARK)
DEFAULT_ENGINE = DUCKDB
DEFAULT_SPARK_MASTER = "local[*]"


class QueryEngine(Protocol):
    """What every engine offers: named queries over `cad`, bound to a snapshot's files."""

    files: list[str]

    def rows(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a named query and return its rows as tuples."""
        ...

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        """Run a named query and return a Polars DataFrame."""
        ...

    def scalar(self, name: str, **params: Any) -> Any:
        """Run a named query that returns one value."""
        ...

    def create_view(self, view: str, name: str, **params: Any) -> None:
        """Define the temporary view `view` as a named query's result."""
        ...

    def register(self, view: str, frame: pl.DataFrame) -> None:
        """Make a Polars frame readable by queries as the view `view`."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...

    def __enter__(self) -> QueryEngine: ...

    def __exit__(self, *exc: object) -> None: ...


def check_engine(engine: str) -> str:
    """Validate an engine name.

    Raises:
        InputError: not one of ENGINES.
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}", f"use one of {', '.join(ENGINES)}")
    return engine


def uses_volume_table(engine: str) -> bool:
    """Whether counts may come from the materialised daily volume table (DuckDB only).

    The table is a DuckDB-side cache kept beside a local store; on Spark the archive may be
    far larger than one machine and the table may not exist where the data lives, so Spark
    always counts from the partitions (and the answer is still the same, only slower).
    """
    return check_engine(engine) == DUCKDB


def open_engine(
    snapshot: Snapshot,
    *,
    boroughs: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> QueryEngine:
    """Open a query engine with `cad` bound to the snapshot's files in scope.

    Args:
        snapshot: the store snapshot to read.
        boroughs: restrict the view to these boroughs' partitions (None: all).
        years: restrict the view to these years' partitions (None: all).
        engine: "duckdb" (default, embedded) or "spark".
        spark_master: the Spark master URL, when engine is "spark".

    Raises:
        InputError: an unknown engine name.
        EngineUnavailableError: Spark was chosen but pyspark or Java is missing.
        StoreError: the store's files are unreadable.
    """
    if check_engine(engine) == SPARK:
        # Imported here so the DuckDB default never loads the Spark module's dependencies.
        from costplan.engines.spark_engine import SparkEngine

        return SparkEngine(snapshot, boroughs=boroughs, years=years, master=spark_master)
    # Imported here so that naming an engine (constants, checks) does not load DuckDB.
    from costplan.engines.duckdb_engine import Engine

    return Engine(snapshot, boroughs=boroughs, years=years)


def open_daily_volumes(
    snapshot: Snapshot,
    *,
    years: Iterable[int] | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> tuple[QueryEngine, tuple[int, int]]:
    """An engine with views `daily_volume` and `daily_total` over the partitions in scope.

    `daily_volume` holds the daily volumes (borough, day, call_source, grading, tagset, n);
    `daily_total` the CADs per borough and day (borough, day, n).

    On DuckDB the views read the materialised volume table (and count partitions the table has
    not seen from the store); on Spark they are the `volume_counts` and `daily_totals` queries
    over `cad`.

    Returns:
        The open engine (the caller closes it) and (partitions read from the volume table,
        partitions counted from the store).
    """
    years = list(years) if years is not None else None
    if uses_volume_table(engine):
        from costplan.engines import volumes  # only this path needs the volume table's module
        from costplan.engines.duckdb_engine import Engine

        duck = Engine(snapshot, boroughs=(), years=())  # empty `cad`: the table answers
        try:
            used = volumes.create_daily_view(duck, snapshot, years=years)
        except BaseException:
            duck.close()
            raise
        assert used is not None  # recount_stale=True always gives a view
        return duck, used
    eng = open_engine(snapshot, years=years, engine=engine, spark_master=spark_master)
    try:
        eng.create_view("daily_volume", "volume_counts")
        eng.create_view("daily_total", "daily_totals")
    except BaseException:
        eng.close()
        raise
    return eng, (0, len(snapshot.select(years=years)))
