"""Ingest from where the data lives: rows of a SQL query over a DB-API connection.

A query's rows go through exactly what a file's rows go through (mapping, validation,
duplicates, quarantine, reconciliation): this module only turns them into the same all-text
Arrow batches a CSV gives, so `ingest --from-sql` is a source kind, not a second pipeline.

Connections are named by URL:

* `sqlite:///path/to/cad.db` — the standard library's sqlite3, opened read-only;
* `postgresql://user@host/db` — psycopg (`pip install 'costplan[postgres]'`), or ADBC's
  driver (`adbc-driver-postgresql`), both optional. A password belongs in ~/.pgpass or
  PGPASSWORD, never on the command line; the URL is recorded without it.

A row's "line" in the quarantine is its 1-based position in the query's result, so the query
should have an ORDER BY for a re-run to number rows the same way. The ingest log's sha256 is
of the rows as read (text, in order), so re-running the query on unchanged data is
recognised as the same source.
"""

from __future__ import annotations

import hashlib
import importlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from costplan.errors import InputError
from costplan.ingest.mapping import Mapping
from costplan.ingest.preflight import ExportPlan, _match_columns

FETCH_ROWS = 65_536
PSYCOPG_HINT = "pip install 'costplan[postgres]' (psycopg), or adbc-driver-postgresql"


def redacted(url: str) -> str:
    """The connection URL without a password (what the ingest log and quarantine record)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def connect(url: str) -> Any:
    """A DB-API connection for a URL.

    Raises:
        InputError: an unknown scheme, a missing database file or driver, or a refused login.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        path = Path(url.split(":///", 1)[1] if ":///" in url else url.removeprefix("sqlite:"))
        if not path.is_file():
            raise InputError(f"--connection: no SQLite database at {path}", "check the path")
        # Read-only: an ingest never writes to the force's database.
        # Rows are fetched by the reader thread (read._prefetch), one thread at a time.
        uri = f"{path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)
    if scheme in {"postgres", "postgresql"}:
        driver = _postgres_driver()
        try:
            return driver.connect(url)
        except Exception as exc:  # the driver's own error types
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"--connection {redacted(url)}: {line}") from None
    raise InputError(
        f"--connection: unsupported database URL {redacted(url)!r}",
        "use sqlite:///path.db or postgresql://user@host/dbname",
    )


def _postgres_driver() -> Any:
    """A PostgreSQL DB-API module: psycopg, else ADBC's driver (both optional).

    Raises:
        InputError: neither is installed.
    """
    for name in ("psycopg", "adbc_driver_postgresql.dbapi"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise InputError("--connection: PostgreSQL needs psycopg or ADBC's driver", PSYCOPG_HINT)


class SqlSource:
    """An open query: its header, and its rows as all-text Arrow batches, hashed as read."""

    def __init__(self, url: str, query: str) -> None:
        self.url = url
        self.con = connect(url)
        self.cur = self.con.cursor()
        try:
            self.cur.execute(query)
        except Exception as exc:  # sqlite3.Error, psycopg.Error, ...
            self.close()
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"--from-sql: the query failed: {line}") from None
        if not self.cur.description:
            self.close()
            raise InputError("--from-sql: the statement returns no rows", "give a SELECT")
        self.header = tuple(str(d[0]).strip() for d in self.cur.description)
        self.digest: Future[str] = Future()

    def batches(self, fields: list[str], positions: dict[str, int]) -> Iterator[pa.RecordBatch]:
        """The mapped columns as text (NULL stays null), `fields` named; hashing every row."""
        sha = hashlib.sha256()
        index = [positions[f] for f in fields]
        try:
            while rows := self.cur.fetchmany(FETCH_ROWS):
                cols: list[list[str | None]] = [[] for _ in fields]
                for row in rows:
                    texts = [None if v is None else _text(v) for v in row]
                    sha.update(repr(texts).encode("utf-8"))
                    for out, i in zip(cols, index, strict=True):
                        out.append(texts[i])
                yield pa.RecordBatch.from_arrays(
                    [pa.array(c, type=pa.string()) for c in cols], names=fields
                )
            self.digest.set_result(sha.hexdigest())
        finally:
            self.close()

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _text(value: Any) -> str:
    """A database value as an export's text: what a CSV of the same rows would hold."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    return str(value)


def inspect_sql(query: str, url: str, mapping: Mapping) -> tuple[ExportPlan, SqlSource]:
    """Run the query and check its columns as a file's header is checked. Never writes.

    Raises:
        InputError: the connection or query fails, or lacks the columns the mapping requires.
    """
    source = SqlSource(url, query)
    name = f"--from-sql ({redacted(url)})"
    try:
        positions, dropped = _match_columns(name, source.header, mapping, ", ".join(source.header))
    except InputError:
        source.close()
        raise
    plan = ExportPlan(
        given=name,
        path=Path(redacted(url)),
        kind="sql",
        size=0,
        sha256="",
        encoding="sql",
        header=source.header,
        positions=positions,
        dropped=dropped,
    )
    return plan, source
