"""The CAD record: columns, value sets and CAD references.

The areas, names, time zone and vocabularies of a force live in its profile
(costplan/profile.py, costplan/config/forces/). The MPS names below (BOROUGHS, CALL_SOURCES,
LONDON, canonical_borough...) are the MPS profile's, read from it on first use: the synthetic
archive is calibrated for the MPS alone and uses them; everything that serves any force takes
the store's profile instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costplan._deps import lazy
from costplan.errors import InputError
from costplan.profile import mps

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import polars as pl
else:
    pl = lazy("polars")  # imported on first use: `check` never needs it (costplan/_deps.py)


@dataclass(frozen=True)
class Borough:
    """One of the 32 London boroughs policed by the MPS (an area of the MPS profile)."""

    name: str
    gss: str
    bcu: str
    bcu_code: str


def _mps_names() -> dict[str, Any]:
    """The MPS profile's areas and vocabularies under their historical names."""
    p = mps()
    bcu = {g.code: g.name for g in p.groups}
    boroughs = tuple(
        Borough(a.name, a.code or "", bcu[a.group or ""], a.group or "") for a in p.areas
    )
    return {
        "BOROUGHS": boroughs,
        "BOROUGH_NAMES": p.area_names,
        "BY_NAME": {b.name: b for b in boroughs},
        "BOROUGH_ALIASES": dict(p._lookup),
        "CALL_SOURCES": p.call_sources,
        "GRADINGS": p.gradings,
        "LONDON": p.zone,
    }


_MPS_NAMES = ("BOROUGHS", "BOROUGH_NAMES", "BY_NAME", "BOROUGH_ALIASES", "CALL_SOURCES",
              "GRADINGS", "LONDON")  # fmt: skip

if TYPE_CHECKING:
    BOROUGHS: tuple[Borough, ...]
    BOROUGH_NAMES: tuple[str, ...]
    BY_NAME: dict[str, Borough]
    BOROUGH_ALIASES: dict[str, str]
    CALL_SOURCES: tuple[str, ...]
    GRADINGS: tuple[str, ...]
    LONDON: ZoneInfo


def canonical_borough(text: str) -> str | None:
    """Map an MPS borough spelling or alias to its canonical name, or None if unknown.

    City of London is not an MPS borough and maps to None; see is_city_of_london().
    """
    return mps().canonical(text)


def is_city_of_london(text: str) -> bool:
    """True for spellings of the City of London (policed by the City of London Police)."""
    return mps().elsewhere_reason(text) is not None


def suggest_boroughs(text: str, n: int = 3) -> list[str]:
    """The nearest valid MPS borough names, for 'did you mean' hints."""
    return mps().suggest(text, n)


# Incident type codes used by the synthetic archive; ingest accepts any non-empty code.
INCIDENT_CODES: tuple[str, ...] = (
    "NOISE",
    "PARTY",
    "ASB",
    "DISTURBANCE",
    "UME",
    "THEFT",
    "BURGLARY",
    "ASSAULT",
    "DOMESTIC",
    "RTC",
    "SUSPICIOUS",
    "CONCERN",
    "MISSING",
    "ALARM",
    "DAMAGE",
    "ADMIN",
)


def canonical_label(text: str) -> str:
    """The one stored and matched form of a tag or an incident code: stripped, upper case.

    Tags (`tags`) and incident codes (`opening_code`, `closing_code`) are labels from a short
    vocabulary that exports spell loosely ('ume', ' Ume '). Ingest stores them in this form and
    requests (`tags`, `opening_codes`, `--tag`) ask in it, so spelling never changes a count;
    the queries also compare upper-cased values, for stores written before the rule.
    """
    return text.strip().upper()


# Matches every text canonical_label() may change (and a few it leaves alone): white space at
# either end, as str.strip() sees it (Unicode White_Space and U+001C..U+001F), or a character
# with an upper-case form. Ingest runs it over a column (Polars' regex dialect) and maps only
# the values it finds, each distinct value once, through canonical_label itself.
LABEL_NOT_CANONICAL = r"^[\s\x1c-\x1f]|[\s\x1c-\x1f]$|\p{Changes_When_Uppercased}"


@dataclass(frozen=True)
class Column:
    """One column of the CAD record: its name and DuckDB type (the SQL library's dialect)."""

    name: str
    sql_type: str
    partition_key: bool = False  # lives in the hive directory names, not inside the files


# The CAD record, defined once: stored columns in file order, then the partition keys. `day` is
# the calendar day of created_at in the force's time zone, stored so that a "day" is never
# recomputed in another zone. Polars schemas and the SQL view's projection derive from this.
RECORD: tuple[Column, ...] = (
    Column("cad_ref", "VARCHAR"),
    Column("created_at", "TIMESTAMPTZ"),
    Column("day", "DATE"),
    Column("call_source", "VARCHAR"),
    Column("grading", "VARCHAR"),
    Column("opening_code", "VARCHAR"),
    Column("closing_code", "VARCHAR"),
    Column("tags", "VARCHAR[]"),
    Column("linked_to", "VARCHAR[]"),
    Column("summary", "VARCHAR"),
    Column("borough", "VARCHAR", partition_key=True),
    Column("year", "SMALLINT", partition_key=True),
)
STORED_COLUMNS: tuple[str, ...] = tuple(c.name for c in RECORD if not c.partition_key)
PARTITION_KEYS: tuple[str, ...] = tuple(c.name for c in RECORD if c.partition_key)
RECORD_COLUMNS: tuple[str, ...] = (*STORED_COLUMNS, *PARTITION_KEYS)


def view_projection() -> str:
    """The `cad` view's SELECT list over the store's files.

    Partition keys come from the hive paths and are cast to their pinned types, so a year is
    always SMALLINT and a borough always VARCHAR whatever the path looks like.
    """
    return ", ".join(
        f"CAST({c.name} AS {c.sql_type}) AS {c.name}" if c.partition_key else c.name for c in RECORD
    )


def empty_view_sql() -> str:
    """`CREATE VIEW cad` with the record's columns and no rows (a scope with no files)."""
    cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in RECORD)
    return f"CREATE OR REPLACE VIEW cad AS SELECT * FROM (SELECT {cols}) AS empty WHERE false"


def _polars_type(sql_type: str) -> pl.DataType:
    scalar = {
        "VARCHAR": pl.String(),
        "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
        "DATE": pl.Date(),
        "SMALLINT": pl.Int16(),
    }
    if sql_type.endswith("[]"):
        return pl.List(scalar[sql_type[:-2]])
    return scalar[sql_type]


def _polars_schemas() -> dict[str, dict[str, pl.DataType]]:
    record = {c.name: _polars_type(c.sql_type) for c in RECORD}
    stored = {name: record[name] for name in STORED_COLUMNS}
    return {"STORED_SCHEMA": stored, "RECORD_SCHEMA": record}


def __getattr__(name: str) -> Any:
    """STORED_SCHEMA and RECORD_SCHEMA (Polars dtypes) are built on first use (PEP 562)."""
    if name in ("STORED_SCHEMA", "RECORD_SCHEMA"):
        schemas = _polars_schemas()
        globals().update(schemas)
        return schemas[name]
    if name in _MPS_NAMES:  # the MPS profile's, read on first use
        names = _mps_names()
        globals().update(names)
        return names[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Columns an export must provide (the rest may be absent: tags, linked_to, summary...).
REQUIRED_COLUMNS: tuple[str, ...] = ("cad_ref", "created_at", "borough", "call_source", "grading")

MONTHS: tuple[str, ...] = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
CAD_REF_RE = re.compile(r"^(?:CAD\s*)?0*([1-9][0-9]{0,5})/([0-3][0-9])([A-Z]{3})([0-9]{2})$")


def format_cad_ref(serial: int, day: dt.date) -> str:
    """Canonical stored form of a CAD reference: '1234/25JUN20' (serial unpadded)."""
    return f"{serial}/{day.day:02d}{MONTHS[day.month - 1]}{day.year % 100:02d}"


def parse_cad_ref(text: str) -> tuple[int, dt.date] | None:
    """Parse 'CAD 1234/25JUN20' or '1234/25JUN20' into (serial, day); None if malformed."""
    m = CAD_REF_RE.match(text.strip().upper())
    if not m:
        return None
    serial, dd, mon, yy = m.groups()
    if mon not in MONTHS:
        return None
    try:
        day = dt.date(2000 + int(yy), MONTHS.index(mon) + 1, int(dd))
    except ValueError:
        return None
    return int(serial), day


def display_cad_ref(ref: str) -> str:
    """How a CAD reference is shown to people: 'CAD 1234/25JUN20'."""
    return f"CAD {ref}"


def parse_iso_date(value: object, what: str) -> dt.date:
    """A date given as YYYY-MM-DD text (or already a date; a datetime is cut to its date).

    The one place user-supplied dates are read, so every command words the error the same way.

    Raises:
        InputError: anything else, naming `what` (the option, file or field).
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a valid date", "use YYYY-MM-DD") from None


def london_day(ts: dt.datetime) -> dt.date:
    """The Europe/London calendar day of an aware timestamp (the MPS profile's day)."""
    return mps().local_day(ts)


def london_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants [start, end) of a London calendar day (23, 24 or 25 hours long)."""
    return mps().day_bounds(day)
