"""Export mappings: how a force's CAD export, as published, becomes CAD records.

A mapping is a small TOML file (see costplan/config/mappings/ and docs/mappings.md). Every
section and key is optional except that the file must be valid TOML; unknown sections or keys
are errors, so a typo never silently falls back to a default::

    [columns]            # schema field = the export's column name (default: the field's name)
    borough = "Beat"

    [reference]          # cad_ref composed from columns, when the export's number is not
                         # unique across the force (instead of columns.cad_ref)
    template = "{Division}{Incident No:05}/{created_at:%d%b%y}"

    [constants]          # a field the export lacks, the same for every row
    call_source = "other"

    [defaults]           # used where the export's value is blank or its column is absent
    grading = "R"

    [timestamps]
    formats = ["%d/%m/%Y %H:%M"]   # tried in order; the first should match most rows
    timezone = "Europe/London"     # zone of timestamps without an offset (default: the store's)
    ambiguous = "earliest"         # repeated hour when clocks go back: earliest|latest|quarantine

    [lists]
    tags_separator = ";"
    linked_to_separator = ";"

    [csv]
    delimiter = ","
    quote = '"'

    [values.grading]               # the export's own values -> schema values, for any of
    "0" = "I"                      # borough (the area), call_source, grading, opening_code,
                                   # closing_code and tags (item by item)
    [values.borough]
    "N1" = "Lambeth"

Value tables match keys ignoring case and surrounding spaces; a value not in the table is
passed on as it is and validated like any other (an unknown area is still quarantined). A
table's targets are checked: call sources and gradings against the schema's vocabularies when
the mapping is loaded, areas by the validator of the store's areas when an ingest starts.

Constants and defaults are written in the export's own terms, before value tables apply (a
default grading "9" passes through `[values.grading]` like an exported "9"). A field with a
constant is not read from the export at all. The ingest report lists the constants and, per
field, how many rows took the default, so no supplied value is ever mistaken for exported data.

A reference template names export columns in braces (`{Column}`, `{Column:05}` to zero-pad to
five digits) and may add the row's local day with date directives (`{created_at:%d%b%y}`
gives 25JUN20, the date MPS references end in); `{{` and `}}` are literal braces. The composed
text is then validated as an exported cad_ref would be. A row with a blank part has no
reference ("missing required value: cad_ref").

Timestamps: a format containing an offset directive (%z, %#z, %:z) yields aware values that
are honoured as written. Naive values are local times in `timezone`. A local time that falls in
the hour skipped when clocks go forward does not exist and is quarantined ("impossible
timestamp"); one in the hour repeated when clocks go back is ambiguous and, by default, taken as
the earlier instant (the first pass through the hour, still in summer time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costplan._files import config_path
from costplan._toml import Table, parse_toml
from costplan.errors import ConfigError
from costplan.ingest.template import Reference, parse_reference
from costplan.schema import CALL_SOURCES, GRADINGS, RECORD_COLUMNS, canonical_label

MAPPINGS_DIR = config_path("mappings")
DEFAULT_MAPPING = "default"
# Fields an export can provide: the record minus what ingest derives (day, year).
FIELDS: tuple[str, ...] = tuple(c for c in RECORD_COLUMNS if c not in ("day", "year"))
AMBIGUOUS_CHOICES = ("earliest", "latest", "quarantine")
# Fields a value table may translate (tags item by item); the others are free text, times or
# references.
VALUE_FIELDS: tuple[str, ...] = (
    "borough",
    "call_source",
    "grading",
    "opening_code",
    "closing_code",
    "tags",
)
# Fields a mapping may supply when the export lacks them: a constant or a default. Never the
# reference or the time (a default there would invent records), nor free text or links.
SUPPLIED_FIELDS: tuple[str, ...] = VALUE_FIELDS
_LABEL_FIELDS = ("opening_code", "closing_code", "tags")
_OFFSET_DIRECTIVES = ("%z", "%#z", "%:z", "%::z", "%:::z")


@dataclass(frozen=True)
class Mapping:
    """A validated export mapping.

    Attributes:
        name: short name (the file stem unless the file sets `name`).
        path: where it was loaded from.
        columns: schema field -> export column name, for every field in FIELDS.
        timestamp_formats: strptime formats for created_at, tried in order.
        timezone: IANA zone of naive timestamps (None: the store's force profile's zone).
        ambiguous: how to resolve a repeated local hour: earliest, latest or quarantine.
        tags_separator: separator of the tags list in CSV.
        linked_to_separator: separator of the linked_to list in CSV.
        delimiter: CSV field delimiter.
        quote: CSV quote character.
        values: field -> {export value (case-folded, stripped) -> value}, for VALUE_FIELDS.
        constants: field -> value every row takes (the export has no such column).
        defaults: field -> value a row takes where the export's is blank or absent.
        reference: how cad_ref is composed from columns, or None (read columns.cad_ref).
    """

    name: str
    path: Path | None
    columns: dict[str, str]
    timestamp_formats: tuple[str, ...]
    timezone: str | None = None
    ambiguous: str = "earliest"
    tags_separator: str = ";"
    linked_to_separator: str = ";"
    delimiter: str = ","
    quote: str = '"'
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    reference: Reference | None = None
    description: str = ""

    def source(self, field_name: str) -> str:
        """The export column that feeds a schema field."""
        return self.columns[field_name]

    def describe(self) -> dict[str, Any]:
        """What a report records about the mapping used."""
        return {"name": self.name, "path": str(self.path) if self.path else None}

    @property
    def call_source_values(self) -> dict[str, str]:
        """The call-source value table (also in `values`)."""
        return self.values.get("call_source", {})

    @property
    def grading_values(self) -> dict[str, str]:
        """The grading value table (also in `values`)."""
        return self.values.get("grading", {})

    def read_from_export(self, field_name: str) -> bool:
        """False for a field the mapping supplies itself (a constant, or a composed cad_ref)."""
        if field_name in self.constants:
            return False
        return not (field_name == "cad_ref" and self.reference is not None)

    def supplies(self, field_name: str) -> bool:
        """True if rows get this field even when the export has no column for it."""
        return (
            field_name in self.constants
            or field_name in self.defaults
            or (field_name == "cad_ref" and self.reference is not None)
        )


def is_aware_format(fmt: str) -> bool:
    """True if a strptime format reads a UTC offset (so its values are not local times)."""
    return any(d in fmt for d in _OFFSET_DIRECTIVES)


def bundled_mappings() -> dict[str, Path]:
    """The mappings shipped with costplan, by name."""
    return {p.stem: p for p in sorted(MAPPINGS_DIR.glob("*.toml"))}


def resolve_mapping_path(spec: str | Path | None) -> Path:
    """A mapping file from a path, or the name of a bundled mapping (None: the default).

    Raises:
        ConfigError: no such file and no bundled mapping of that name.
    """
    bundled = bundled_mappings()
    if spec is None:
        return bundled[DEFAULT_MAPPING]
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if str(spec) in bundled:
        return bundled[str(spec)]
    if path.exists():
        raise ConfigError(f"mapping {path} is not a file")
    raise ConfigError(
        f"no mapping file {path}",
        f"give a TOML file, or one of the bundled mappings: {', '.join(bundled)}",
    )


def load_mapping(
    spec: str | Path | None = None,
    *,
    call_sources: tuple[str, ...] = CALL_SOURCES,
    gradings: tuple[str, ...] = GRADINGS,
) -> Mapping:
    """Load and strictly validate a mapping file (or bundled mapping name; None: default).

    `call_sources` and `gradings`: the values the store's force profile allows.

    Raises:
        ConfigError: the file is unreadable, not TOML, has an unknown key or a bad value.
    """
    path = resolve_mapping_path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"mapping {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"mapping {path}: not valid TOML: {exc}") from None
    doc = parse_toml(text, f"mapping {path}")
    return parse_mapping(doc, path, call_sources=call_sources, gradings=gradings)


def parse_mapping(
    doc: dict[str, Any],
    path: Path | None = None,
    *,
    call_sources: tuple[str, ...] = CALL_SOURCES,
    gradings: tuple[str, ...] = GRADINGS,
) -> Mapping:
    """Validate a parsed mapping document (value tables against `call_sources`, `gradings`).

    Every table is closed with done() before any value is checked, so an unknown key (a typo)
    is reported as such rather than as a bad value; all messages use the one wording of
    costplan._toml ("mapping FILE: 'csv.delimiter' must be a single character, not ';;'").

    Raises:
        ConfigError: naming the file and the offending key.
    """
    root = Table(doc, f"mapping {path if path else '<mapping>'}")
    cols, ts, lists, csv, values, ref, consts, defs = (
        root.optional_sub(key) or Table({}, root.source, key)
        for key in (
            "columns",
            "timestamps",
            "lists",
            "csv",
            "values",
            "reference",
            "constants",
            "defaults",
        )
    )
    root.allow("name", "description")
    cols.allow(*FIELDS)
    ts.allow("formats", "timezone", "ambiguous")
    lists.allow("tags_separator", "linked_to_separator")
    csv.allow("delimiter", "quote")
    values.allow(*VALUE_FIELDS)
    ref.allow("template")
    consts.allow(*SUPPLIED_FIELDS)
    defs.allow(*SUPPLIED_FIELDS)
    for table in (root, cols, ts, lists, csv, values, ref, consts, defs):
        table.done()

    # `string`, not `text`: a separator or delimiter may be whitespace (a tab).
    name = root.string("name", default=path.stem if path else "mapping")
    description = root.get("description", "")
    if not isinstance(description, str):
        raise root.fail("description", f"must be a string, not {description!r}")

    columns = {f: f for f in FIELDS}
    for fld in cols.data:
        columns[fld] = cols.string(fld).strip()
    seen: dict[str, str] = {}
    for fld, col in columns.items():
        if col in seen:
            raise cols.fail(
                fld,
                f"must be a column no other field uses, not {col!r}",
                f"already mapped to {seen[col]}",
            )
        seen[col] = fld

    formats_raw = ts.get("formats", list(_DEFAULT_FORMATS))
    if isinstance(formats_raw, str):
        formats_raw = [formats_raw]
    if not isinstance(formats_raw, list) or not formats_raw:
        raise ts.fail(
            "formats", f"must be a non-empty list of strptime formats, not {formats_raw!r}"
        )
    for fmt in formats_raw:
        if not isinstance(fmt, str) or not fmt:
            raise ts.fail("formats", f"must be strptime formats (non-empty strings), not {fmt!r}")
    formats = tuple(formats_raw)
    for fmt in formats:
        _check_format(fmt, ts)
    timezone = ts.string("timezone", default=None)
    try:
        if timezone is not None:
            ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ts.fail(
            "timezone", f"must be a time zone like Europe/London, not {timezone!r}"
        ) from None
    ambiguous = ts.choice("ambiguous", AMBIGUOUS_CHOICES, default="earliest")

    tags_sep = lists.string("tags_separator", default=";")
    linked_sep = lists.string("linked_to_separator", default=";")

    delimiter = _single_char(csv, "delimiter", ",")
    quote = _single_char(csv, "quote", '"')
    for key, char in (("delimiter", delimiter), ("quote", quote)):
        if char in "\r\n":
            raise csv.fail(key, f"must not be a line break, not {char!r}")
    if delimiter == quote:
        raise csv.fail("quote", f"must differ from the delimiter, not {quote!r}")

    # Targets are the store's force profile's values (the MPS's by default).
    vocabularies = {"call_source": call_sources, "grading": gradings}
    tables = {
        fld: translation
        for fld in VALUE_FIELDS
        if (translation := _value_table(values, fld, vocabularies.get(fld)))
    }
    constants = _supplied(consts, cols)
    defaults = _supplied(defs, cols)
    for fld in set(constants) & set(defaults):
        raise defs.fail(fld, "cannot be set as well as constants." + fld, "keep one of the two")
    reference = parse_reference(ref, cols) if ref.data else None

    return Mapping(
        name=name,
        path=path,
        columns=columns,
        timestamp_formats=formats,
        timezone=timezone,
        ambiguous=ambiguous,
        tags_separator=tags_sep,
        linked_to_separator=linked_sep,
        delimiter=delimiter,
        quote=quote,
        values=tables,
        constants=constants,
        defaults=defaults,
        reference=reference,
        description=description,
    )


def _single_char(table: Table, key: str, default: str) -> str:
    """A CSV delimiter or quote: exactly one character, which may be whitespace (a tab)."""
    value = table.string(key, default=default)
    if len(value) != 1:
        raise table.fail(key, f"must be a single character, not {value!r}")
    return value


# ISO 8601 in its usual spellings; the plain "YYYY-MM-DD HH:MM:SS" first because Polars parses
# that one on a fast path and most exports use it.
_DEFAULT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
)


def _check_format(fmt: str, ts: Table) -> None:
    """Reject formats Polars cannot use, at load time rather than mid-ingest."""
    import polars as pl  # only when a mapping is loaded, i.e. by ingest

    if "%" not in fmt:
        raise ts.fail("formats", f"must be strptime formats, not {fmt!r}", "no % directive")
    if "%Z" in fmt:
        raise ts.fail(
            "formats",
            f"must be strptime formats without %Z, not {fmt!r}",
            "zone names cannot be parsed; use %z",
        )
    try:
        pl.Series(["x"]).str.strptime(pl.Datetime("us"), fmt, strict=False)
    except Exception as exc:  # Polars raises several error types for bad formats
        reason = " ".join(str(exc).split())  # Polars' messages span lines; ours stay on one
        raise ts.fail("formats", f"must be valid strptime formats, not {fmt!r}", reason) from None


def _value_table(values: Table, key: str, allowed: tuple[str, ...] | None) -> dict[str, str]:
    """Export value (case-folded, stripped) -> value, each checked against `allowed` if given.

    Areas are not checked here: what an area may be called is the store's business, checked
    when an ingest starts (ingest.fill.check_area_targets).
    """
    table = values.optional_sub(key)
    if table is None:
        return {}
    out: dict[str, str] = {}
    first: dict[str, str] = {}
    for export_value, value in table.data.items():
        if allowed is not None and value not in allowed:
            raise table.fail(export_value, f"must be one of {', '.join(allowed)}, not {value!r}")
        if not isinstance(value, str) or not value.strip():
            raise table.fail(export_value, f"must be a non-empty string, not {value!r}")
        # Tags and codes are stored in one form (schema.canonical_label), targets included.
        value = canonical_label(value) if key in _LABEL_FIELDS else value.strip()
        folded = export_value.strip().casefold()
        if folded in first and out[folded] != value:
            raise table.fail(
                export_value,
                f"must map to one value, not {value!r}",
                f"{first[folded]!r} (the same key, ignoring case and spaces) maps to "
                f"{out[folded]!r}",
            )
        first.setdefault(folded, export_value)
        out[folded] = value
    return out


def _supplied(table: Table, cols: Table) -> dict[str, str]:
    """[constants] or [defaults]: field -> a non-empty value, in the export's own terms."""
    out: dict[str, str] = {}
    for fld in table.data:
        value = table.get(fld)
        if not isinstance(value, str) or not value.strip():
            raise table.fail(fld, f"must be a non-empty string, not {value!r}")
        if table.path == "constants" and cols.has(fld):
            raise table.fail(
                fld,
                f"cannot be a constant while columns.{fld} names a column",
                "a constant is for a field the export lacks; use defaults to fill blanks",
            )
        out[fld] = value.strip()
    return out
