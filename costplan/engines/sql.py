"""The SQL library: named queries in queries/*.sql, shared by every engine.

Every query is a `.sql` file in `queries/`, written against the view `cad` (never file paths)
with values bound as named parameters (`$name`). The SQL is DuckDB's dialect and the single
source for every engine: the Spark engine translates it with sqlglot, so a query must stay
within what translates (docs/scale-out.md, "Writing portable queries").

A query file starts with a header::

    -- name: count_scope
    -- Counts the CADs in scope.
    -- uses: scope
    -- params: boroughs VARCHAR[], date_from DATE, date_to DATE

`-- uses: scope` reads the one shared scope definition (queries/scope.sql: the boroughs, days
and time-of-day window of a request item) as a common table expression named `scope`, so the
scope is written once however many queries count within it. Composition joins our own files
only; user values are always bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from costplan._files import shipped_dir
from costplan.errors import QueryError
from costplan.schema import empty_view_sql, view_projection

# The logical view every query reads, derived from the record's one definition (schema.RECORD).
VIEW_PROJECTION = view_projection()
EMPTY_VIEW = empty_view_sql()

_HEADER = re.compile(r"^--\s*(name|params|uses):\s*(.*)$")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Query:
    """A named query loaded from queries/<name>.sql (with any shared parts it uses inlined)."""

    name: str
    sql: str
    description: str
    params: tuple[str, ...]
    path: Path
    uses: tuple[str, ...] = ()


def queries_dir() -> Path:
    """Where the SQL library lives: inside the installed package, or at the repository top."""
    found = shipped_dir("queries")
    if found is None:
        raise QueryError("the SQL library (queries/) is missing from this installation")
    return found


def parse_query(path: Path) -> Query:
    """Parse a query file's header (`-- name:`, description, `-- uses:`, `-- params:`)."""
    text = path.read_text(encoding="utf-8")
    name = path.stem
    params: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
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
        elif m and m.group(1) == "uses":
            uses = tuple(u.strip() for u in m.group(2).split(",") if u.strip())
        else:
            desc.append(line.lstrip("-").strip())
    if name != path.stem:
        raise QueryError(f"query file {path.name} declares name {name!r}; they must match")
    return Query(name, text, " ".join(d for d in desc if d), params, path, uses)


def _body(sql: str) -> str:
    """A query's text without its header comments and trailing semicolon."""
    lines = sql.splitlines()
    while lines and lines[0].startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip().rstrip(";").strip()


def _compose(query: Query) -> Query:
    """Inline the shared parts a query uses as leading common table expressions."""
    if not query.uses:
        return query
    ctes = []
    for part in query.uses:
        shared = load_query(part)
        if shared.uses:
            raise QueryError(f"shared query {part!r} may not use others")
        missing = [p for p in shared.params if p not in query.params]
        if missing:
            raise QueryError(f"{query.name}.sql uses {part} but does not declare {missing}")
        ctes.append(f"{part} AS (\n{_body(shared.sql)}\n)")
    body = _body(query.sql)
    if re.match(r"(?i)^WITH\s", body):
        body = ",\n".join(ctes) + ",\n" + body[5:].lstrip()
    else:
        body = ",\n".join(ctes) + "\n" + body
    return Query(
        query.name, "WITH " + body, query.description, query.params, query.path, query.uses
    )


@cache
def load_query(name: str) -> Query:
    """Load a named query. Names are file stems; nothing else reaches the filesystem path."""
    if not _NAME.fullmatch(name):
        raise QueryError(f"invalid query name {name!r}")
    path = queries_dir() / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no query named {name!r} in {queries_dir()}")
    return _compose(parse_query(path))


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
