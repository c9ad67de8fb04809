"""Rendering of the `costplan ingest` report (text table or JSON). No terminal I/O here."""

from __future__ import annotations

import json
from typing import Any

from tabulate import tabulate

from costplan.ingest import IngestReport

_COUNTS = ("rows_read", "stored", "duplicates", "quarantined")
_HEADERS = ("file", "rows read", "stored", "duplicates", "quarantined")


def _n(value: int) -> str:
    return f"{value:,}"


def render_ingest(report: IngestReport, fmt: str = "table") -> str:
    """The ingest report as 'table' (for people) or 'json' (one object, for scripts)."""
    doc = report.to_dict()
    if fmt == "json":
        return json.dumps(doc, indent=2)
    return render_table(doc)


def render_table(doc: dict[str, Any]) -> str:
    """A report dict (IngestReport.to_dict()) as a plain-text table with notes below it."""
    rows = [[f["file"], *(_n(f[c]) for c in _COUNTS)] for f in doc["files"]]
    if len(doc["files"]) > 1:
        rows.append(["total", *(_n(doc[c]) for c in _COUNTS)])
    lines = [
        f"Ingested into {doc['store']} (manifest version {doc['manifest_version']}, "
        f"mapping {doc['mapping']})",
        "",
        tabulate(rows, headers=_HEADERS, tablefmt="simple", colalign=("left",) + ("right",) * 4),
    ]
    if doc["reasons"]:
        lines += ["", "Quarantined rows by reason:"]
        reasons = sorted(doc["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append(
            tabulate(
                [[_n(n), why] for why, n in reasons],
                tablefmt="plain",
                colalign=("right", "left"),
                disable_numparse=True,
            )
        )
    if doc["quarantined"]:
        new = doc["quarantine_new"]
        already = doc["quarantined"] - new
        note = f"{_n(new)} new"
        if already:
            note += f", {_n(already)} already recorded by an earlier ingest"
        lines += ["", f"Quarantine: {doc['quarantine_file']} ({note})"]
    if doc["dropped_columns"]:
        lines += [
            "",
            "Columns not stored (not in the mapping): " + ", ".join(doc["dropped_columns"]),
        ]
    return "\n".join(lines)
