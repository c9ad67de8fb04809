"""Output for people and programs: one signature, `render(result, fmt) -> str | bytes`.

Each module renders one family of results and declares the formats it renders (`FORMATS`,
keyed by the result's type name):

* costplan.render.plan        Plan (table, markdown, json), CheckResult (table, json)
* costplan.render.letter      Response (text, markdown: the letter; annex: the case file's)
* costplan.render.costs       EstimateReport, Deadline, AggregateReport
* costplan.render.summary     Summary (table, csv, json, markdown, html)
* costplan.render.store       IngestReport, GenerateReport, CoverageReport, CompactReport
* costplan.render.disclosure  Schedule (csv, xlsx: bytes)
* costplan.render.sql         SqlResult (table, csv, json): `costplan sql`

The modules are imported on first use, so `check` never loads tabulate or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

from costplan.errors import InputError

# Result type name -> the module that renders it.
_MODULES: dict[str, str] = {
    "Plan": "plan",
    "CheckResult": "plan",
    "EstimateReport": "costs",
    "Deadline": "costs",
    "AggregateReport": "costs",
    "Summary": "summary",
    "IngestReport": "store",
    "GenerateReport": "store",
    "CoverageReport": "store",
    "CompactReport": "store",
    "Response": "letter",
    "Schedule": "disclosure",
    "SqlResult": "sql",
}


def formats(kind: str) -> tuple[str, ...]:
    """The formats a result family renders in, by its type name (e.g. "Plan")."""
    module = importlib.import_module(f"costplan.render.{_MODULES[kind]}")
    formats_of: dict[str, tuple[str, ...]] = module.FORMATS
    return formats_of[kind]


def render(result: Any, fmt: str) -> str | bytes:
    """Render any result in one of its family's formats.

    Raises:
        InputError: the result's family does not render in `fmt`.
    """
    kind = type(result).__name__
    module = importlib.import_module(f"costplan.render.{_MODULES[kind]}")
    allowed = module.FORMATS[kind]
    if fmt not in allowed:
        raise InputError(
            f"{fmt} is not a format for this output", f"use one of {', '.join(allowed)}"
        )
    out: str | bytes = module.render(result, fmt)
    return out


def render_text(result: Any, fmt: str) -> str:
    """`render` for the text formats (everything but a disclosure's .xlsx)."""
    out = render(result, fmt)
    assert isinstance(out, str)
    return out
