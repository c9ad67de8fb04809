"""Store results: the `ingest` report, the `generate` and `compact` summaries, the coverage."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from costplan.ingest import IngestReport
from costplan.render.json_doc import to_json
from costplan.store import CompactReport
from costplan.store.coverage import CoverageReport
from costplan.synth.demo import GenerateReport

_COUNTS = ("rows_read", "stored", "duplicates", "quarantined")
_HEADERS = ("file", "rows read", "stored", "duplicates", "quarantined")


def _n(value: int) -> str:
    return f"{value:,}"


FORMATS: dict[str, tuple[str, ...]] = {
    "IngestReport": ("table", "json"),
    "GenerateReport": ("table", "json"),
    "CoverageReport": ("table", "json"),
    "CompactReport": ("table", "json"),
}


def render(result: IngestReport | GenerateReport | CoverageReport | CompactReport, fmt: str) -> str:
    """An ingest report, a generate or compact summary, or the coverage, as 'table' (people)
    or 'json' (scripts)."""
    doc = result.to_dict()
    if fmt == "json":
        return to_json(doc)
    if isinstance(result, CoverageReport):
        return _coverage_table(doc)
    if isinstance(result, GenerateReport | CompactReport):
        table: str = tabulate(list(doc.items()), tablefmt="simple", disable_numparse=True)
        return table
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
        lines += ["", "Quarantine reasons (a row refused for several counts under each):"]
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
    supplied = [
        f"{fld} = {value!r} on every row (a constant of the mapping)"
        for fld, value in doc.get("constants", {}).items()
    ] + [
        f"{fld} = {d['value']!r} on {_n(d['rows'])} rows where the export had none (a default)"
        for fld, d in doc.get("defaults", {}).items()
        if d["rows"]
    ]
    if supplied:
        lines += ["", "Values the mapping supplied, not the export:"]
        lines += [f"  {line}" for line in supplied]
    if doc["dropped_columns"]:
        lines += [
            "",
            "Columns not stored (not in the mapping): " + ", ".join(doc["dropped_columns"]),
        ]
    return "\n".join(lines)


def _coverage_table(doc: dict[str, Any]) -> str:
    """Areas × the date ranges held, the gaps, and where the coverage came from."""
    rows = [
        [
            a["area"],
            "; ".join(f"{lo} to {hi}" for lo, hi in a["held"]),
            "; ".join(f"{lo} to {hi}" for lo, hi in a["gaps"]) or "-",
            _n(a["days"]),
        ]
        for a in doc["areas"]
    ]
    table: str = tabulate(
        rows, headers=["area", "days held", "gaps", "days"], disable_numparse=True
    )
    last = doc["last_ingest"]
    notes = [
        f"Store: {doc['store']} (manifest v{doc['manifest_version']}, {_n(doc['rows'])} CADs).",
        "Last ingest: "
        + (
            f"{last['file']} at {last['at']} ({_n(last['stored'] or 0)} stored)" if last else "none"
        ),
    ]
    if not doc["recorded"]:
        notes.append(
            "This store predates recorded coverage: the days held are read from its partitions' "
            "first and last days, so a gap inside a partition cannot be seen."
        )
    if not rows:
        notes.insert(0, "The archive holds nothing yet.")
    return table + "\n\n" + "\n".join(notes)
