"""The query engine: a DuckDB connection, the logical `cad` view, and the named-query library.

Every query is a `.sql` file in `queries/`, written against the view `cad` (never file paths)
with values bound as named parameters (`$name`). The engine decides which files back the view:
it takes them from a store snapshot's manifest, pruned to the boroughs and years in scope, so a
one-borough-day count opens one file and never lists a directory.

The SQL is DuckDB's dialect, and the single source for every engine: costplan.engines.spark_engine
translates it to Spark SQL with sqlglot, so a query must stay within what translates (see
docs/scale-out.md, "Writing portable queries"; tests/test_spark.py checks every file).

A query file starts with a header::

    -- name: count_scope
    -- Counts the CADs in scope.
    -- params: boroughs VARCHAR[], date_from DATE, date_to DATE
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from costplan._files import shipped_dir
from costplan.errors import QueryError, StoreError
from costplan.store import Snapshot

if TYPE_CHECKING:
    import polars as pl

# Column list of the logical view; the partition keys come from the hive paths, cast to pinned
# types so a year is always SMALLINT and a borough always VARCHAR whatever the path looks like.
VIEW_PROJECTION = (
    "cad_ref, created_at, day, call_source, grading, opening_code, closing_code, tags, "
    "linked_to, summary, CAST(borough AS VARCHAR) AS borough, CAST(year AS SMALLINT) AS year"
)
EMPTY_VIEW = (
    "CREATE OR REPLACE VIEW cad AS SELECT * FROM (SELECT NULL::VARCHAR AS cad_ref, "
    "NULL::TIMESTAMPTZ AS created_at, NULL::DATE AS day, NULL::VARCHAR AS call_source, "
    "NULL::VARCHAR AS grading, NULL::VARCHAR AS opening_code, NULL::VARCHAR AS closing_code, "
    "NULL::VARCHAR[] AS tags, NULL::VARCHAR[] AS linked_to, NULL::VARCHAR AS summary, "
    "NULL::VARCHAR AS borough, NULL::SMALLINT AS year) WHERE false"
)

_HEADER = re.compile(r"^--\s*(name|params):\s*(.*)$")
# register_rows builds DDL from our own names and types only: these guard that promise.
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_ROW_TYPES = frozenset({"VARCHAR", "VARCHAR[]", "SMALLINT", "INTEGER", "BIGINT", "DATE"})


@dataclass(frozen=True)
class Query:
    """A named query loaded from queries/<name>.sql."""

    name: str
    sql: str
    description: str
    params: tuple[str, ...]
    path: Path


def queries_dir() -> Path:
    """Where the SQL library lives: inside the installed package, or at the repository top."""
    found = shipped_dir("queries")
    if found is not None:
        return found
    raise QueryError("the SQL library (queries/) is missing from this installation")


def parse_query(path: Path) -> Query:
    """Parse a query file's header: `-- name:`, description lines, `-- params:`."""
    text = path.read_text(encoding="utf-8")
    name = path.stem
    params: tuple[str, ...] = ()
    desc: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        m = _HEADER.match(line)
        if m and m.group(1) == "name":
            name = m.group(2).strip()
        elif m and m.group(1) == "params":
            params = tuple(
                p.strip().split()[0]
                for p in m.group(2).split(",")
                if p.strip() and p.strip() != "none"
            )
        else:
            desc.append(line.lstrip("-").strip())
    if name != path.stem:
        raise QueryError(f"query file {path.name} declares name {name!r}; they must match")
    return Query(name, text, " ".join(d for d in desc if d), params, path)


@cache
def load_query(name: str) -> Query:
    """Load a named query. Names are file stems; nothing else reaches the filesystem path."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise QueryError(f"invalid query name {name!r}")
    path = queries_dir() / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no query named {name!r} in {queries_dir()}")
    return parse_query(path)


def all_queries() -> list[Query]:
    """Every query in the library, sorted by name."""
    return [load_query(p.stem) for p in sorted(queries_dir().glob("*.sql"))]


def bind_params(query: Query, params: Mapping[str, Any]) -> dict[str, Any]:
    """The values to bind for a query: exactly its declared parameters, in header order.

    Raises:
        QueryError: a declared parameter is missing, or an undeclared one was given.
    """
    missing = [p for p in query.params if p not in params]
    extra = [p for p in params if p not in query.params]
    if missing or extra:
        raise QueryError(
            f"query {query.name!r} needs parameters {list(query.params)}; "
            f"missing {missing}, unexpected {extra}"
        )
    return {p: params[p] for p in query.params}


class Engine:
    """A DuckDB connection with `cad` bound to a snapshot's files in scope.

    Args:
        snapshot: the store snapshot to read (fixes the file list for the engine's lifetime).
        boroughs: restrict the view to these boroughs' partitions (None: all).
        years: restrict the view to these years' partitions (None: all).
        threads: DuckDB worker threads (None: DuckDB's default, the core count).
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        boroughs: Iterable[str] | None = None,
        years: Iterable[int] | None = None,
        threads: int | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.files = snapshot.files(boroughs, years)
        self.con = duckdb.connect()
        # London calendar days and hours: the session time zone governs TIMESTAMPTZ parts.
        self.con.execute("SET TimeZone = 'Europe/London'")
        # DuckDB draws a progress bar on STDOUT (tty or not) for queries over ~2 s, which would
        # corrupt CSV/JSON written to a pipe; the CLI shows its own progress on stderr.
        self.con.execute("SET enable_progress_bar = false")
        if threads:
            self.con.execute("SET threads = $n", {"n": threads})
        self.bind_files(self.files)

    def bind_files(self, files: Sequence[str]) -> None:
        """Point the view `cad` at these store files (hive paths); no files gives an empty view.

        Raises:
            StoreError: a file cannot be opened as Parquet.
        """
        if files:
            try:
                rel = self.con.read_parquet(list(files), hive_partitioning=True)
                rel.project(VIEW_PROJECTION).create_view("cad", replace=True)
            except duckdb.Error as exc:
                raise StoreError(f"store files are unreadable: {exc}") from None
        else:
            self.con.execute(EMPTY_VIEW)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def _bind(self, query: Query, params: Mapping[str, Any]) -> dict[str, Any]:
        return bind_params(query, params)

    def rows(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a named query and return its rows as tuples."""
        query = load_query(name)
        try:
            return self.con.execute(query.sql, self._bind(query, params)).fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        """Run a named query and return a Polars DataFrame."""
        query = load_query(name)
        try:
            # DuckDB 2.0: .pl() lives on relations, not on execute()'s connection result.
            return self.con.sql(query.sql, params=self._bind(query, params)).pl()
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def scalar(self, name: str, **params: Any) -> Any:
        """Run a named query that returns one value."""
        rows = self.rows(name, **params)
        return rows[0][0] if rows else None

    def create_view(self, view: str, name: str, **params: Any) -> None:
        """Define the temporary view `view` as a named query's result (computed when read)."""
        query = load_query(name)
        try:
            self.con.sql(query.sql, params=self._bind(query, params)).create_view(view)
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def relation(self, name: str, **params: Any) -> duckdb.DuckDBPyRelation:
        """A named query as a lazy DuckDB relation (run when read, written or inserted)."""
        query = load_query(name)
        try:
            return self.con.sql(query.sql, params=self._bind(query, params))
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def insert(self, table: str, name: str, **params: Any) -> None:
        """Append a named query's rows to `table` (one statement: all rows or none)."""
        try:
            self.relation(name, **params).insert_into(table)
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def materialise(self, table: str, name: str, **params: Any) -> None:
        """(Re)create the table `table` holding a named query's rows."""
        if not _IDENT.match(table):
            raise ValueError(f"not a plain identifier: {table}")
        self.con.execute(f"DROP TABLE IF EXISTS {table}")
        try:
            self.relation(name, **params).to_table(table)
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def register_rows(
        self, table: str, columns: Mapping[str, str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """(Re)create the table `table` holding `rows`, without Polars or Arrow.

        Args:
            table: the table's name (one of ours, never user text).
            columns: column name -> DuckDB type, in order (ours, never user text).
            rows: the values, bound as parameters.
        """
        if not (_IDENT.match(table) and all(_IDENT.match(c) for c in columns)):
            raise ValueError(f"not a plain identifier: {table} {list(columns)}")
        if not set(columns.values()) <= _ROW_TYPES:
            raise ValueError(f"unsupported column types: {sorted(columns.values())}")
        cols = ", ".join(f"{c} {t}" for c, t in columns.items())
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({cols})")
        # One INSERT of many VALUES rows: executemany runs a statement per row, 100x slower.
        row = "(" + ", ".join("?" for _ in columns) + ")"
        batch = [tuple(r) for r in rows]
        for i in range(0, len(batch), 1000):
            chunk = batch[i : i + 1000]
            values = ", ".join(row for _ in chunk)
            flat = [v for r in chunk for v in r]
            self.con.execute(f"INSERT INTO {table} VALUES {values}", flat)

    def register(self, view: str, frame: pl.DataFrame) -> None:
        """Make a Polars frame readable by queries as the view `view`."""
        self.con.register(view, frame.to_arrow())

    # Writers of files beside the store (the daily volume table) need three things queries do
    # not give: a relation over an intermediate table, Parquet files of their own read back,
    # and a relation written out. These keep them off the connection and map DuckDB's errors.

    def table(self, name: str) -> duckdb.DuckDBPyRelation:
        """A table or view this engine made, as a lazy relation.

        For intermediate results (register_rows, materialise, create_view) that a caller
        fetches, derives from or writes out, without SQL text or the connection.
        """
        if not _IDENT.match(name):
            raise ValueError(f"not a plain identifier: {name}")
        try:
            return self.con.table(name)
        except duckdb.Error as exc:
            raise QueryError(f"no table or view {name!r}: {exc}") from None

    def read_parquet(self, files: Sequence[str], columns: Sequence[str]) -> duckdb.DuckDBPyRelation:
        """Parquet files of our own as a lazy relation of `columns`.

        For files costplan writes beside the store (the volume table's months), not the store's
        partitions: no hive keys and no `cad` projection (bind_files binds those).

        Raises:
            QueryError: a file is missing, or the first is not Parquet or lacks a column (the
                others are opened, and their faults found, when the relation is read).
        """
        if not all(_IDENT.match(c) for c in columns):
            raise ValueError(f"not plain identifiers: {list(columns)}")
        try:
            return self.con.read_parquet(list(files)).project(", ".join(columns))
        except duckdb.Error as exc:
            raise QueryError(f"Parquet files are unreadable: {exc}") from None

    def write_parquet(
        self,
        rel: duckdb.DuckDBPyRelation,
        path: str,
        *,
        partition_by: Sequence[str] | None = None,
        compression: str = "zstd",
    ) -> None:
        """Write a relation of this engine to Parquet.

        To the file `path`; with `partition_by`, to hive-partitioned files under the directory
        `path`, one per partition, named by DuckDB.

        Raises:
            QueryError: the relation failed or the file could not be written.
        """
        try:
            if partition_by:
                rel.write_parquet(path, partition_by=list(partition_by), compression=compression)
            else:
                rel.write_parquet(path, compression=compression)
        except duckdb.Error as exc:
            raise QueryError(f"writing {path} failed: {exc}") from None
