"""The CAD record: columns, value sets, London boroughs and CAD references.

Borough names, ONS GSS codes and BCU groupings: shared/reference/calibration.md §1
(ONS codes E09000002–E09000033; BCU groupings from localgovernmentlawyer.co.uk, 2019).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from costplan._deps import lazy
from costplan.errors import InputError

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy("polars")  # imported on first use: `check` never needs it (costplan/_deps.py)

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Borough:
    """One of the 32 London boroughs policed by the MPS."""

    name: str
    gss: str
    bcu: str
    bcu_code: str


# (name, GSS code, BCU name, BCU code). City of London (E09000001) is a separate force.
BOROUGHS: tuple[Borough, ...] = tuple(
    Borough(*row)
    for row in (
        ("Barking and Dagenham", "E09000002", "East", "EA"),
        ("Barnet", "E09000003", "North West", "NW"),
        ("Bexley", "E09000004", "South East", "SE"),
        ("Brent", "E09000005", "North West", "NW"),
        ("Bromley", "E09000006", "South", "SN"),
        ("Camden", "E09000007", "Central North", "CN"),
        ("Croydon", "E09000008", "South", "SN"),
        ("Ealing", "E09000009", "West", "WA"),
        ("Enfield", "E09000010", "North", "NA"),
        ("Greenwich", "E09000011", "South East", "SE"),
        ("Hackney", "E09000012", "Central East", "CE"),
        ("Hammersmith and Fulham", "E09000013", "Central West", "AW"),
        ("Haringey", "E09000014", "North", "NA"),
        ("Harrow", "E09000015", "North West", "NW"),
        ("Havering", "E09000016", "East", "EA"),
        ("Hillingdon", "E09000017", "West", "WA"),
        ("Hounslow", "E09000018", "West", "WA"),
        ("Islington", "E09000019", "Central North", "CN"),
        ("Kensington and Chelsea", "E09000020", "Central West", "AW"),
        ("Kingston upon Thames", "E09000021", "South West", "SW"),
        ("Lambeth", "E09000022", "Central South", "AS"),
        ("Lewisham", "E09000023", "South East", "SE"),
        ("Merton", "E09000024", "South West", "SW"),
        ("Newham", "E09000025", "North East", "NE"),
        ("Redbridge", "E09000026", "East", "EA"),
        ("Richmond upon Thames", "E09000027", "South West", "SW"),
        ("Southwark", "E09000028", "Central South", "AS"),
        ("Sutton", "E09000029", "South", "SN"),
        ("Tower Hamlets", "E09000030", "Central East", "CE"),
        ("Waltham Forest", "E09000031", "North East", "NE"),
        ("Wandsworth", "E09000032", "South West", "SW"),
        ("Westminster", "E09000033", "Central West", "AW"),
    )
)
BOROUGH_NAMES: tuple[str, ...] = tuple(b.name for b in BOROUGHS)
BY_NAME: dict[str, Borough] = {b.name: b for b in BOROUGHS}

CITY_OF_LONDON_KEYS = frozenset({"city of london", "city", "e09000001", "the city"})


def _key(text: str) -> str:
    """Normalise a borough spelling for alias lookup: case, '&', punctuation, spaces."""
    text = text.strip().lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"\b(london borough of|royal borough of|borough of|lb|rb)\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for b in BOROUGHS:
        table[_key(b.name)] = b.name
        table[b.gss.lower()] = b.name
    extra = {
        "kingston": "Kingston upon Thames",
        "richmond": "Richmond upon Thames",
        "barking": "Barking and Dagenham",
        "hammersmith": "Hammersmith and Fulham",
        "kensington": "Kensington and Chelsea",
        "city of westminster": "Westminster",
        "tower hamlet": "Tower Hamlets",
    }
    table.update({_key(k): v for k, v in extra.items()})
    return table


BOROUGH_ALIASES: dict[str, str] = _aliases()


def canonical_borough(text: str) -> str | None:
    """Map a borough spelling or alias to its canonical name, or None if unknown.

    City of London is not an MPS borough and maps to None; see is_city_of_london().
    """
    return BOROUGH_ALIASES.get(_key(text))


def is_city_of_london(text: str) -> bool:
    """True for spellings of the City of London (policed by the City of London Police)."""
    return _key(text) in CITY_OF_LONDON_KEYS or text.strip().upper() == "E09000001"


def suggest_boroughs(text: str, n: int = 3) -> list[str]:
    """The nearest valid borough names, for 'did you mean' hints."""
    keys = difflib.get_close_matches(_key(text), list(BOROUGH_ALIASES), n=n * 2, cutoff=0.5)
    seen: list[str] = []
    for k in keys:
        name = BOROUGH_ALIASES[k]
        if name not in seen:
            seen.append(name)
    return seen[:n]


CALL_SOURCES: tuple[str, ...] = ("999", "101", "online", "police", "alarm_agency", "other")
GRADINGS: tuple[str, ...] = ("I", "S", "E", "R")
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
    # Text a call handler typed (may name callers, places): read by keyword searches, never
    # shown to anyone outside the SQL library (`costplan sql` and exports leave it out).
    free_text: bool = False


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
    Column("summary", "VARCHAR", free_text=True),
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


# The columns anyone may read: no free text. (No column holds caller details or locations:
# borough is the area the CAD was counted in.)
SHAREABLE_COLUMNS: tuple[str, ...] = tuple(c.name for c in RECORD if not c.free_text)


def shareable_projection() -> str:
    """The `cad` view's SELECT list for ad-hoc readers (`costplan sql`): no free text."""
    return ", ".join(
        f"CAST({c.name} AS {c.sql_type}) AS {c.name}" if c.partition_key else c.name
        for c in RECORD
        if not c.free_text
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
    """The Europe/London calendar day of an aware timestamp."""
    return ts.astimezone(LONDON).date()


def london_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants [start, end) of a London calendar day (23, 24 or 25 hours long)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=LONDON)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=LONDON)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
