"""Export mappings: how a force's CAD export columns and values map onto the CAD record.

A mapping is a small TOML file (see costplan/config/mappings/). Every section and key is
optional except that the file must be valid TOML; unknown sections or keys are errors, so a
typo never silently falls back to a default::

    [columns]            # schema field = the export's column name (default: the field's name)
    cad_ref = "Incident Ref"

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

    [values.call_source]           # the force's own codes -> schema values
    "Emergency" = "999"

    [values.grading]
    "Immediate" = "I"

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
from costplan.schema import CALL_SOURCES, GRADINGS, RECORD_COLUMNS

MAPPINGS_DIR = config_path("mappings")
DEFAULT_MAPPING = "default"
# Fields an export can provide: the record minus what ingest derives (day, year).
FIELDS: tuple[str, ...] = tuple(c for c in RECORD_COLUMNS if c not in ("day", "year"))
AMBIGUOUS_CHOICES = ("earliest", "latest", "quarantine")
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
        call_source_values: force value (case-folded, stripped) -> schema call_source.
        grading_values: force value (case-folded, stripped) -> schema grading.
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
    call_source_values: dict[str, str] = field(default_factory=dict)
    grading_values: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def source(self, field_name: str) -> str:
        """The export column that feeds a schema field."""
        return self.columns[field_name]

    def describe(self) -> dict[str, Any]:
        """What a report records about the mapping used."""
        return {"name": self.name, "path": str(self.path) if self.path else None}


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
    cols, ts, lists, csv, values = (
        root.optional_sub(key) or Table({}, root.source, key)
        for key in ("columns", "timestamps", "lists", "csv", "values")
    )
    root.allow("name", "description")
    cols.allow(*FIELDS)
    ts.allow("formats", "timezone", "ambiguous")
    lists.allow("tags_separator", "linked_to_separator")
    csv.allow("delimiter", "quote")
    values.allow("call_source", "grading")
    for table in (root, cols, ts, lists, csv, values):
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
    call_values = _value_table(values, "call_source", call_sources)
    grade_values = _value_table(values, "grading", gradings)

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
        call_source_values=call_values,
        grading_values=grade_values,
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


def _value_table(values: Table, key: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """Force value (case-folded, stripped) -> schema value, each checked against `allowed`."""
    table = values.optional_sub(key)
    if table is None:
        return {}
    out: dict[str, str] = {}
    for force_value, schema_value in table.data.items():
        if schema_value not in allowed:
            raise table.fail(
                force_value, f"must be one of {', '.join(allowed)}, not {schema_value!r}"
            )
        out[force_value.strip().casefold()] = schema_value
    return out
