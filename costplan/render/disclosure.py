"""Disclosure schedules as .csv or .xlsx bytes: the header a case file needs, then the list.

The header (request, snapshot, strategy and its completeness caveat, count, released and
withheld fields with the exemption relied on, a note) comes first: in a CSV as `#` lines (read
them with `comment='#'` in pandas, DuckDB or Polars), in a workbook as an "About" sheet. An empty
answer is said in the header, never a silent empty file. Cells from data are references only,
written as text so a spreadsheet never reads them as formulas.
"""

from __future__ import annotations

import io

from costplan._deps import optional
from costplan.planner.disclosure import Schedule
from costplan.render.cells import csv_cell
from costplan.schema import display_cad_ref

FORMATS: dict[str, tuple[str, ...]] = {"Schedule": ("csv", "xlsx")}


def header(s: Schedule) -> list[tuple[str, str]]:
    """The schedule's header as (label, value) rows."""
    snap = s.snapshot
    rows = [
        ("request", s.reference),
        (
            "snapshot",
            f"store manifest v{snap.get('manifest_version')}, committed {snap.get('committed_at')}",
        ),
        ("strategy", s.strategy),
        ("completeness", s.caveat),
        ("records", f"{s.count:,}"),
        (
            "references",
            {
                "cad": "as recorded",
                "opaque": "numbered for this schedule",
                "none": "withheld: the count only",
            }[s.style],
        ),
    ]
    if s.released:
        rows.append(("fields requested and released", ", ".join(s.released)))
    rows += [(f"withheld: {what}", exemption) for what, exemption in s.withheld]
    if s.note:
        rows.append(("note", s.note))
    return rows


def _column(s: Schedule) -> tuple[str, list[str]]:
    if s.style == "none":
        return "", []
    if s.style == "opaque":
        width = max(4, len(str(s.count)))
        return "record", [f"R{i:0{width}d}" for i in range(1, s.count + 1)]
    return "cad_reference", [display_cad_ref(r) for r in s.refs]


def render(result: Schedule, fmt: str) -> bytes:
    """The schedule as the bytes of a .csv or .xlsx file."""
    name, cells = _column(result)
    if fmt == "csv":
        lines = [f"# {csv_cell(label)}: {csv_cell(value)}" for label, value in header(result)]
        if name:
            lines += [name, *(csv_cell(c) for c in cells)]
        return ("\n".join(lines) + "\n").encode("utf-8")
    xlsxwriter = optional("xlsxwriter")
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    about = book.add_worksheet("About")
    for i, (label, value) in enumerate(header(result)):
        about.write_string(i, 0, label)
        about.write_string(i, 1, value)
    if name:
        sheet = book.add_worksheet("Schedule")
        sheet.write_string(0, 0, name)
        for i, cell in enumerate(cells, start=1):
            sheet.write_string(i, 0, cell)
    book.close()
    return buf.getvalue()
