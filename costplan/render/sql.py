"""`costplan sql` answers: a table for people, CSV and JSON for programs."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from typing import Any

from tabulate import tabulate

from costplan._files import dumps
from costplan.engines import SqlResult
from costplan.render.json_doc import to_json

FORMATS: dict[str, tuple[str, ...]] = {"SqlResult": ("table", "csv", "json")}


def _plain(value: Any) -> Any:
    """A value as JSON holds it: ISO dates and instants, exact decimals as numbers."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    plain = _plain(value)
    if plain is None:
        return ""
    if isinstance(plain, list | dict):
        return dumps(plain, indent=None)
    return str(plain)


def render(result: SqlResult, fmt: str) -> str:
    """The rows of an ad-hoc query as 'table', 'csv' (header row first) or 'json'."""
    if fmt == "json":
        rows = [dict(zip(result.columns, map(_plain, r), strict=True)) for r in result.rows]
        return to_json({"snapshot": result.snapshot, "columns": result.columns, "rows": rows})
    cells = [[_cell(v) for v in row] for row in result.rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(cells)
        return out.getvalue()
    table: str = tabulate(cells, headers=result.columns, tablefmt="simple", disable_numparse=True)
    return table
