"""The engines: the only door to reads of the store.

An engine is an object carrying its own options — `DuckDB()` (embedded, the default) or
`Spark(master=...)` — and callers (the planner, `check`, `summary`) hold one and ask it for what
they need: an open session over a snapshot's files (`open`), the daily volumes (`daily_volumes`),
a fast count where the engine has one (`quick_count`, `monthly_counts`). Callers never test an
engine's name, never see a Spark master, and never import the modules behind this face:

* costplan.engines.sql            the SQL library (queries/*.sql), shared by every engine;
* costplan.engines.duckdb_engine  the DuckDB session;
* costplan.engines.spark_engine   the Spark session (sqlglot-translated queries);
* costplan.engines.volumes        the daily volume table, a DuckDB-side cache beside the store.

Whether the volume table may answer is decided here, by the engine object: DuckDB keeps it;
Spark always counts from the partitions (the archive may be far larger than one machine and
the table may not exist where the data lives), with the same answers.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from costplan.errors import CostplanError, InputError, StoreError
from costplan.store import Snapshot, Store

if TYPE_CHECKING:
    import polars as pl

    from costplan.engines.volumes import RefreshResult

DEFAULT_SPARK_MASTER = "local[*]"

# Partitions read from the volume table, and partitions counted straight from the store.
Provenance = tuple[int, int]


class QueryEngine(Protocol):
    """An open session: named queries over the view `cad`, bound to a snapshot's files."""

    files: list[str]
    # The IANA zone of the session's days and hours (the store's).
    time_zone: str

    def rows(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a named query and return its rows as tuples."""
        ...

    def records(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named query and return its rows keyed by column name."""
        ...

    def columns(self, name: str, **params: Any) -> dict[str, Sequence[Any]]:
        """Run a named query and return its columns by name (no columns for no rows): each a
        tuple of its values, or a NumPy array (object, datetime64[D], integer or bool dtype)
        where the engine fetches many rows as arrays."""
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
        """Release the session's resources."""
        ...

    def __enter__(self) -> QueryEngine: ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class SqlResult:
    """The answer of an ad-hoc read-only query (`costplan sql`): column names and rows."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    snapshot: dict[str, Any]  # Snapshot.describe() of the snapshot it read


class Engine(ABC):
    """A query engine with its options: what the application layer holds and asks.

    A subclass says how to open a session (`_session`) and whether it keeps the daily volume
    table beside the store (`keeps_volume_table`); the fast paths below follow from that, so
    an engine without the table (Spark) always counts the scope, with the same answers.
    """

    name: ClassVar[str]
    # Whether counts may come from the volume table, and `summary refresh` makes them faster.
    keeps_volume_table: ClassVar[bool] = False
    # The IANA zone days and hours are taken in (None: the snapshot's force profile's). Every
    # subclass has it as a field; `for_store` sets it from the store when a command opens one.
    time_zone: str | None = None

    def zone_for(self, snapshot: Snapshot) -> str:
        """The session time zone for a snapshot: the store's own, which an engine's option may
        repeat but never contradict (two clocks in one query would misread every hour).

        Raises:
            InputError: the engine's time zone is not the store's.
        """
        own = snapshot.profile.time_zone
        if self.time_zone is not None and self.time_zone != own:
            raise InputError(
                f"the engine's time zone {self.time_zone} is not the store's ({own})",
                "days and hours are counted in the store's own time zone",
            )
        return own

    def for_store(self, snapshot: Snapshot) -> Engine:
        """This engine with the store's time zone as its option."""
        import dataclasses

        zone = self.zone_for(snapshot)
        return self if self.time_zone == zone else dataclasses.replace(self, time_zone=zone)  # type: ignore[type-var]

    def open(
        self,
        snapshot: Snapshot,
        *,
        boroughs: Iterable[str] | None = None,
        years: Iterable[int] | None = None,
    ) -> QueryEngine:
        """A session with `cad` bound to the snapshot's files in scope (None: all)."""
        return self._session(snapshot, boroughs, years)

    @abstractmethod
    def _session(
        self, snapshot: Snapshot, boroughs: Iterable[str] | None, years: Iterable[int] | None
    ) -> QueryEngine:
        """Open this engine's session over the snapshot's files in scope."""

    def table_fault(self, snapshot: Snapshot, exc: CostplanError) -> CostplanError:
        """The error to report for `exc`, raised reading `daily_volumes`: a file of the volume
        table that cannot be read makes the table damaged, with how to rebuild it (it is
        derived from the partitions, so nothing is lost); any other fault is itself."""
        from costplan.engines.volumes.state import volumes_dir

        if str(volumes_dir(snapshot.root)) not in exc.message:
            return exc
        return StoreError(
            f"the volume table of {snapshot.root} is damaged: {exc.message}",
            "rebuild it from the partitions: costplan summary refresh --full --store "
            f"{snapshot.root}",
        )

    def daily_volumes(
        self, snapshot: Snapshot, *, years: Iterable[int] | None = None
    ) -> tuple[QueryEngine, Provenance]:
        """A session with views `daily_volume` (borough, day, call_source, n) and
        `daily_total` (borough, day, n) over the partitions in scope; the caller closes it.
        Neither has tags or gradings: a summary by either counts from the partitions (`open`,
        summary_tags, summary_records).

        From the volume table where the engine keeps it (partitions it has not seen are counted
        from the store), else by the queries the table is built with, over the partitions.
        """
        if self.keeps_volume_table:
            from costplan.engines import volumes

            table = self._session(snapshot, (), ())  # an empty `cad`: the table answers
            try:
                wanted = list(years) if years is not None else None
                used = volumes.create_daily_view(table, snapshot, years=wanted)  # type: ignore[arg-type]
            except BaseException:
                table.close()
                raise
            assert used is not None  # recount_stale=True always gives a view
            return table, used
        session = self.open(snapshot, years=years)
        try:
            session.create_view("daily_volume", "volume_counts")
            session.create_view("daily_total", "daily_totals")
        except BaseException:
            session.close()
            raise
        return session, (0, len(snapshot.select(years=years)))

    def quick_count(
        self,
        snapshot: Snapshot,
        *,
        boroughs: Sequence[str],
        date_from: dt.date,
        date_to: dt.date,
        tags: Sequence[str] = (),
    ) -> int | None:
        """CADs in boroughs over whole days from the volume table, or None (count the scope).

        Decided from the table's state file before any connection is opened.
        """
        if not self.keeps_volume_table:
            return None
        from costplan.engines import volumes

        return volumes.count(
            snapshot, boroughs=boroughs, date_from=date_from, date_to=date_to, tags=tags or None
        )

    def sql(self, snapshot: Snapshot, statement: str) -> SqlResult:
        """One read-only SELECT over the snapshot's `cad` view without free text.

        Raises:
            InputError: the statement is not one SELECT over `cad`, or this engine cannot
                run ad-hoc SQL.
        """
        raise InputError(
            f"costplan sql is not available on the {self.name} engine",
            "run it with --engine duckdb (the same snapshot, read locally)",
        )

    def monthly_counts(
        self, snapshot: Snapshot, years: Iterable[int] | None
    ) -> list[tuple[dt.date, str, int]] | None:
        """(month start, borough, CADs) from the volume table's state alone, without a query,
        or None when that is not possible."""
        if not self.keeps_volume_table:
            return None
        from costplan.engines import volumes

        return volumes.monthly_counts(snapshot, years)


@dataclass(frozen=True)
class DuckDB(Engine):
    """The embedded default: DuckDB over the snapshot's files, with the daily volume table.

    Args:
        threads: DuckDB worker threads (None: DuckDB's default, the core count).
    """

    threads: int | None = None
    time_zone: str | None = None
    name: ClassVar[str] = "duckdb"
    keeps_volume_table: ClassVar[bool] = True

    def _session(
        self, snapshot: Snapshot, boroughs: Iterable[str] | None, years: Iterable[int] | None
    ) -> QueryEngine:
        # Imported here so that holding an engine object does not load DuckDB.
        from costplan.engines.duckdb_engine import Engine as Session

        return Session(
            snapshot,
            boroughs=boroughs,
            years=years,
            threads=self.threads,
            time_zone=self.zone_for(snapshot),
        )

    def sql(self, snapshot: Snapshot, statement: str) -> SqlResult:
        from costplan.engines import adhoc

        columns, rows = adhoc.run(snapshot, statement)
        return SqlResult(columns, rows, snapshot.describe())

    def refresh_volumes(
        self,
        store: Store,
        *,
        full: bool = False,
        wait: float = 0.0,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> RefreshResult:
        """Bring the store's daily volume table up to date (see costplan.engines.volumes)."""
        from costplan.engines import volumes

        return volumes.refresh(store, full=full, wait=wait, progress=progress)


@dataclass(frozen=True)
class Spark(Engine):
    """Apache Spark (optional extra): the same queries, translated, on a Spark master.

    No volume table: the archive may be far larger than one machine and the table may not
    exist where the data lives, so every count reads the partitions.

    Args:
        master: the Spark master URL (local[*], spark://HOST:7077, yarn, ...).
    """

    master: str = DEFAULT_SPARK_MASTER
    time_zone: str | None = None
    name: ClassVar[str] = "spark"

    def _session(
        self, snapshot: Snapshot, boroughs: Iterable[str] | None, years: Iterable[int] | None
    ) -> QueryEngine:
        # Imported here so the DuckDB default never loads the Spark module's dependencies.
        from costplan.engines.spark_engine import SparkEngine

        return SparkEngine(
            snapshot,
            boroughs=boroughs,
            years=years,
            master=self.master,
            time_zone=self.zone_for(snapshot),
        )


DEFAULT: Engine = DuckDB()
ENGINE_NAMES: tuple[str, ...] = (DuckDB.name, Spark.name)


def choose(name: str, *, spark_master: str | None = None) -> Engine:
    """The engine named on the command line or in the environment.

    Raises:
        InputError: an unknown engine name.
    """
    if name == DuckDB.name:
        return DuckDB()
    if name == Spark.name:
        return Spark(spark_master or DEFAULT_SPARK_MASTER)
    raise InputError(f"unknown engine {name!r}", f"use one of {', '.join(ENGINE_NAMES)}")
