"""Disclosure schedules: the CAD references an answer releases, as .csv or .xlsx bytes.

References only: date, time and call source are withheld (FOIA s.31(1)(a) and s.40(2)), as the
MPS did when it released references for the 2020 UME request.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from costplan._deps import optional
from costplan.schema import display_cad_ref


@dataclass(frozen=True)
class Disclosure:
    """The references to release (stored form; shown as `CAD 1234/25JUN20`)."""

    refs: tuple[str, ...]


FORMATS: dict[str, tuple[str, ...]] = {"Disclosure": ("csv", "xlsx")}


def render(result: Disclosure, fmt: str) -> bytes:
    """The schedule as the bytes of a .csv or .xlsx file."""
    if fmt == "csv":
        body = "cad_reference\n" + "".join(display_cad_ref(r) + "\n" for r in result.refs)
        return body.encode("utf-8")
    xlsxwriter = optional("xlsxwriter")
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("Disclosure")
    sheet.write(0, 0, "CAD reference")
    for i, ref in enumerate(result.refs, start=1):
        sheet.write_string(i, 0, display_cad_ref(ref))
    book.close()
    return buf.getvalue()
