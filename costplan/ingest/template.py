"""Reference templates: cad_ref composed from export columns (mapping section [reference]).

`{Column}` is an export column's value, stripped; `{Column:05}` zero-pads it to five digits;
`{created_at:%d%b%y}` is the row's local day in date directives (25JUN20); `{{` and `}}` are
literal braces. See ingest/mapping.py and docs/mappings.md.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from costplan._toml import Table

_PAD_SPEC = re.compile(r"0([1-9])")
_DATE_DIRECTIVES = frozenset("dmbByYjaA")


@dataclass(frozen=True)
class RefPart:
    """One piece of a reference template: literal text, then a column (or the day) or None."""

    literal: str
    column: str | None = None  # an export column; None for the trailing literal
    pad: int = 0  # zero-pad the column's value to this width ({Col:05})
    day_format: str | None = None  # {created_at:%d%b%y}: the row's local day, formatted


@dataclass(frozen=True)
class Reference:
    """How cad_ref is composed from export columns (mapping section [reference])."""

    template: str
    parts: tuple[RefPart, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The export columns the template reads, each once, in template order."""
        return tuple(
            dict.fromkeys(
                p.column for p in self.parts if p.column is not None and p.day_format is None
            )
        )

    @property
    def uses_day(self) -> bool:
        return any(p.day_format is not None for p in self.parts)


def parse_reference(ref: Table, cols: Table) -> Reference:
    """[reference]: the template cad_ref is composed from (see the module docstring)."""
    template = ref.text("template")
    if cols.has("cad_ref"):
        raise ref.fail(
            "template",
            "cannot be set while columns.cad_ref names a column",
            "a reference is read from one column or composed from several, not both",
        )
    parts: list[RefPart] = []
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ref.fail(
            "template", f"must be a valid template, not {template!r}", str(exc)
        ) from None
    for literal, column, spec, conversion in pieces:
        if column is None:
            parts.append(RefPart(literal))
            continue
        column = column.strip()
        if not column or conversion:
            raise ref.fail(
                "template",
                f"must name export columns in braces, not {template!r}",
                "write {Column} or {Column:05}",
            )
        spec = spec or ""
        if column == "created_at":
            directives = set(re.findall(r"%(.)", spec))
            if not spec or not directives or not directives <= _DATE_DIRECTIVES:
                raise ref.fail(
                    "template",
                    f"must format created_at with date directives, not {{created_at:{spec}}}",
                    "e.g. {created_at:%d%b%y} for 25JUN20",
                )
            parts.append(RefPart(literal, column, day_format=spec))
            continue
        pad = _PAD_SPEC.fullmatch(spec) if spec else None
        if spec and pad is None:
            raise ref.fail(
                "template",
                f"must use only a zero-pad width as a column's format, not {{{column}:{spec}}}",
                "e.g. {Incident No:05}",
            )
        parts.append(RefPart(literal, column, pad=int(pad.group(1)) if pad else 0))
    if not any(p.column is not None and p.day_format is None for p in parts):
        raise ref.fail("template", f"must name at least one export column, not {template!r}")
    return Reference(template, tuple(parts))
