"""Store-writing results: the `ingest` report and the `generate` summary (table or JSON)."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from costplan._files import dumps
from costplan.ingest import IngestReport
from costplan.synth.demo import GenerateReport

_COUNTS = ("rows_read", "stored", "duplicates", "quarantined")
_HEADERS = ("file", "rows read", "stored", "duplicates", "quarantined")


def _n(value: int) -> str:
    return f"{value:,}"


FORMATS: dict[str, tuple[str, ...]] = {
    "IngestReport": ("table", "json"),
    "GenerateReport": ("table", "json"),
}


def render(result: IngestReport | GenerateReport, fmt: str) -> str:
    """An ingest report or a generate summary as 'table' (people) or 'json' (scripts)."""
    doc = result.to_dict()
    if fmt == "json":
        return dumps(doc)
    if isinstance(result, GenerateReport):
        return tabulate(list(doc.items()), tablefmt="simple", disable_numparse=True)
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
