"""Read-only ad-hoc SQL (`costplan sql`): one SELECT over the `cad` view of one snapshot.

For analysts who want their own counts without touching the store's files. What they may read
is exactly the shareable record (schema.SHAREABLE_COLUMNS: no free text), and nothing else:

* the statement must be one SELECT (or WITH ... SELECT): DuckDB's own parser says so;
* it may read only the view `cad` and its own common table expressions: no table functions
  (read_csv, read_parquet, glob, query ...), no file names as tables, no other catalog;
* the connection is in memory; once the view is made, external access is switched off (only
  the snapshot's own files stay readable, for the view) and the configuration locked, so no
  COPY TO, ATTACH, INSTALL or SET can get past the checks above.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from costplan.errors import InputError, QueryError
from costplan.schema import RECORD, shareable_projection
from costplan.store import Snapshot
from costplan.store.manifest import retired_path

ONLY_SELECT = "costplan sql runs one SELECT (or WITH ... SELECT) statement over the view cad"


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def check_statement(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """Refuse anything but one SELECT that reads only `cad` and its own CTEs.

    Raises:
        InputError: not one statement, not a SELECT, or it reads something other than `cad`.
    """
    try:
        statements = duckdb.extract_statements(statement)
    except duckdb.Error as exc:
        raise InputError(f"SQL does not parse: {_first_line(exc)}", ONLY_SELECT) from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise InputError("only a single SELECT statement is allowed", ONLY_SELECT)
    row = con.execute("SELECT json_serialize_sql($q)", {"q": statement}).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise InputError("only a single SELECT statement is allowed", ONLY_SELECT)
    nodes = list(_nodes(tree))
    ctes = {
        str(entry.get("key", "")).lower()
        for node in nodes
        if isinstance(node.get("cte_map"), dict)
        for entry in node["cte_map"].get("map", [])
    }
    for node in nodes:
        if node.get("type") == "TABLE_FUNCTION":
            raise InputError("table functions cannot be used in costplan sql", ONLY_SELECT)
        if node.get("type") == "BASE_TABLE":
            name = str(node.get("table_name", "")).lower()
            qualified = node.get("catalog_name") or node.get("schema_name")
            if qualified or name not in ctes | {"cad"}:
                raise InputError(f"costplan sql reads only the view cad, not {name!r}", ONLY_SELECT)


def run(snapshot: Snapshot, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one read-only SELECT over the snapshot's shareable `cad`.

    Raises:
        InputError: the statement is not allowed (check_statement).
        QueryError: it failed to run.
    """
    con = duckdb.connect()
    try:
        check_statement(con, statement)
        con.execute("SET TimeZone = 'Europe/London'")
        con.execute("SET enable_progress_bar = false")
        files = snapshot.files()
        if files:
            rel = con.read_parquet(files, hive_partitioning=True)
            rel.project(shareable_projection()).create_view("cad")
        else:
            cols = ", ".join(
                f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in RECORD if not c.free_text
            )
            con.execute(f"CREATE VIEW cad AS SELECT * FROM (SELECT {cols}) AS e WHERE false")
        # The view's files (where they are now, and where a writer would retire them) stay
        # readable for the view; nothing else on the machine does.
        allowed = list(files)
        for entry in (f for p in snapshot.partitions.values() for f in p.files):
            moved = retired_path(entry.path)
            allowed += [str(snapshot.root / entry.path)]
            if moved:
                allowed.append(str(snapshot.root / moved))
        con.execute("SET allowed_paths = $p", {"p": sorted(set(allowed))})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            cur = con.execute(statement)
            columns = [d[0] for d in cur.description or ()]
            return columns, cur.fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {_first_line(exc)}") from None
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
