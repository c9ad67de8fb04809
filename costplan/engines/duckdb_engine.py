"""The DuckDB engine: a connection with the logical `cad` view, running the SQL library.

Queries come from costplan.engines.sql (queries/*.sql, values bound as `$name` parameters).
The engine decides which files back the view: it takes them from a store snapshot's manifest,
pruned to the boroughs and years in scope, so a one-borough-day count opens one file and never
lists a directory.

The SQL library is written in DuckDB's dialect, so this engine runs it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from costplan.engines.sql import EMPTY_VIEW, VIEW_PROJECTION, Query, bind_params, load_query
from costplan.errors import QueryError, StoreError
from costplan.store import Snapshot

if TYPE_CHECKING:
    import polars as pl

# register_rows builds DDL from our own names and types only: these guard that promise.
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_ROW_TYPES = frozenset({"VARCHAR", "VARCHAR[]", "SMALLINT", "INTEGER", "BIGINT", "DATE"})
# Engine.columns: results of more rows than this are fetched as arrays (NumPy, loaded only
# then), if every column is of a type whose arrays give back the same Python values.
_FEW_ROWS = 2048
_COLUMNAR_TYPES = frozenset({"VARCHAR", "SMALLINT", "INTEGER", "BIGINT", "BOOLEAN", "DATE"})


class Engine:
    """A DuckDB connection with `cad` bound to a snapshot's files in scope.

    Args:
        snapshot: the store snapshot to read (fixes the file list for the engine's lifetime).
        boroughs: restrict the view to these boroughs' partitions (None: all).
        years: restrict the view to these years' partitions (None: all).
        threads: DuckDB worker threads (None: DuckDB's default, the core count).
        time_zone: the zone of calendar days and hours (None: the snapshot's force profile's).
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        boroughs: Iterable[str] | None = None,
        years: Iterable[int] | None = None,
        threads: int | None = None,
        time_zone: str | None = None,
    ) -> None:
        self.snapshot = snapshot
        self._scope = (
            list(boroughs) if boroughs is not None else None,
            list(years) if years is not None else None,
        )
        self.files = snapshot.files(*self._scope)
        self.con = duckdb.connect()
        # The store's calendar days and hours: the session time zone governs TIMESTAMPTZ parts.
        self.time_zone = zone = time_zone or snapshot.profile.time_zone
        self.con.execute("SET TimeZone = $zone", {"zone": zone})
        # DuckDB draws a progress bar on STDOUT (tty or not) for queries over ~2 s, which would
        # corrupt CSV/JSON written to a pipe; the CLI shows its own progress on stderr.
        self.con.execute("SET enable_progress_bar = false")
        if threads:
            self.con.execute("SET threads = $n", {"n": threads})
        # A writer may retire files (one rename each) between the stat and the bind: look
        # again while that moves something; each file moves at most once.
        for _ in range(len(self.files) + 1):
            try:
                self.bind_files(self.files)
                break
            except StoreError:
                files = snapshot.files(*self._scope)
                if files == self.files:
                    raise
                self.files = files

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

    def _moved(self, exc: duckdb.Error) -> bool:
        """After a file went missing mid-session: rebind `cad` if a writer has since moved a
        replaced file of this snapshot to `retired/` (it stays there for its grace period).
        True if the view now points elsewhere and the query is worth running again."""
        if not isinstance(exc, duckdb.IOException) or not self.files:
            return False
        files = self.snapshot.files(*self._scope)
        if files == self.files:
            return False
        try:
            self.bind_files(files)
        except StoreError:
            return True  # another file moved meanwhile: the query fails again, looks again
        self.files = files
        return True

    def _execute(self, sql: str, params: Mapping[str, Any]) -> duckdb.DuckDBPyConnection:
        # Each file moves at most once, so this ends.
        for _ in range(len(self.files) + 1):
            try:
                return self.con.execute(sql, params)
            except duckdb.Error as exc:
                if not self._moved(exc):
                    raise
        return self.con.execute(sql, params)

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
            return self._execute(query.sql, self._bind(query, params)).fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of SQL text of our own over `cad` (no parameters; tests and checks)."""
        try:
            return self._execute(sql, {}).fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from None

    def records(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named query and return its rows keyed by column name (never by position)."""
        query = load_query(name)
        try:
            cur = self._execute(query.sql, self._bind(query, params))
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None

    def columns(self, name: str, **params: Any) -> dict[str, Sequence[Any]]:
        """Run a named query and return its columns by name (none for no rows): each a tuple
        of its values, or for many rows (a year's breakdown by hour) a NumPy array, read
        column by column with no Python value per row. A few rows cost no NumPy import.
        """
        query = load_query(name)
        try:
            cur = self._execute(query.sql, self._bind(query, params))
            names = [d[0] for d in cur.description or ()]
            types = [str(d[1]) for d in cur.description or ()]
            head = cur.fetchmany(_FEW_ROWS)
            many = len(head) == _FEW_ROWS and set(types) <= _COLUMNAR_TYPES
            rest = cur.fetchnumpy() if many else {}
            if not many:
                head += cur.fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None
        if not head:
            return {}
        if not many:
            return {col: tuple(row[i] for row in head) for i, col in enumerate(names)}
        return {
            col: _array([row[i] for row in head], rest[col], type_)
            for i, (col, type_) in enumerate(zip(names, types, strict=True))
        }

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        """Run a named query and return a Polars DataFrame."""
        query = load_query(name)
        try:
            # DuckDB 2.0: .pl() lives on relations, not on execute()'s connection result.
            frame: pl.DataFrame = self.con.sql(query.sql, params=self._bind(query, params)).pl()
            return frame
        except duckdb.Error as exc:
            if self._moved(exc):  # bounded: each file moves at most once
                return self.frame(name, **params)
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


def _array(head: list[Any], rest: Any, type_: str) -> Any:
    """One column of many rows as a NumPy array: the first rows (fetched as Python values)
    then the rest (fetched as an array). DATE comes as datetime64[D] (DuckDB gives
    microseconds); a column holding NULLs as an object array of Python values and None."""
    import numpy as np

    if type_ == "DATE":
        rest = rest.astype("datetime64[D]")
    if isinstance(rest, np.ma.MaskedArray) or any(v is None for v in head):
        # Masked values (NULLs) become None, the others Python values, as for a few rows.
        values = np.empty(len(head) + len(rest), dtype=object)
        values[:] = head + np.ma.asarray(rest).tolist()
        return values
    return np.concatenate([np.array(head, dtype=rest.dtype), rest])
