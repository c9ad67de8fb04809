"""Versioned JSON: every JSON document costplan prints carries `schema_version` first.

A script reading costplan's JSON checks `schema_version` before trusting the keys. The
documents are described by the JSON Schemas shipped in `costplan/schemas/` (one per output,
`schema_path(name)`); the tests validate real outputs of every command against them.

The version changes when a key is removed or changes meaning; adding keys does not change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from costplan._files import PACKAGE_DIR, dumps

SCHEMA_VERSION = "1"

# Output family -> its schema file in costplan/schemas/ (the result type renders it).
SCHEMAS: dict[str, str] = {
    "Plan": "plan",
    "CheckResult": "check",
    "EstimateReport": "estimate",
    "Deadline": "deadline",
    "AggregateReport": "aggregate",
    "Summary": "summary",
    "IngestReport": "ingest",
    "GenerateReport": "generate",
    "CoverageReport": "coverage",
    "CompactReport": "compact",
    "SqlResult": "sql",
    "error": "error",
}


def versioned(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with `schema_version` as its first key."""
    return {"schema_version": SCHEMA_VERSION, **doc}


def to_json(doc: dict[str, Any]) -> str:
    """A versioned document as costplan's JSON text (UTF-8 kept: "£" stays "£")."""
    return dumps(versioned(doc))


def schema_path(name: str) -> Path:
    """The JSON Schema file of one output (`name` as in SCHEMAS' values)."""
    return PACKAGE_DIR / "schemas" / f"{name}.schema.json"
