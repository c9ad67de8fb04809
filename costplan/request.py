"""FOI requests: what is asked about, read from a TOML file or built from flags.

A request holds its reference, received date, requester (free text, never printed in published
outputs), the regime, and one or more items. Each item scopes a search of the CAD archive.

Example (examples/ume-raves-2020.toml)::

    reference = "01.FOI.21.020843"
    received = 2021-12-01
    requester = "A member of the public"
    regime = "uk-foia-other"

    [[items]]
    name = "Brixton UME"
    boroughs = ["Lambeth"]
    date = 2020-06-25
    tags = ["UME"]
    keywords = ["rave", "music", "party"]
    fields = ["count", "created_at", "call_source"]
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costplan.errors import ConfigError, InputError
from costplan.schema import (
    canonical_borough,
    is_city_of_london,
    parse_iso_date,
    suggest_boroughs,
)

FIELDS = ("count", "cad_refs", "created_at", "call_source")
# The archive's earliest plausible CAD date; earlier dates are typos, not history.
EARLIEST = dt.date(2000, 1, 1)

_REQUEST_KEYS = {"reference", "received", "requester", "regime", "minutes_per_record", "items"}
_ITEM_KEYS = {
    "name",
    "borough",
    "boroughs",
    "date",
    "date_from",
    "date_to",
    "time_from",
    "time_to",
    "tags",
    "opening_codes",
    "keywords",
    "fields",
    "minutes_per_record",
}


@dataclass(frozen=True)
class Item:
    """One part of a request: a scope in the CAD archive and what is asked of each record."""

    name: str
    boroughs: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    time_from: dt.time | None = None
    time_to: dt.time | None = None
    tags: tuple[str, ...] = ()
    opening_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("count",)
    minutes_per_record: float | None = None

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.date_from.year, self.date_to.year + 1))

    @property
    def minute_window(self) -> tuple[int | None, int | None]:
        """The time-of-day window as minutes after London midnight, [from, to); may wrap."""
        if self.time_from is None or self.time_to is None:
            return None, None
        return (
            self.time_from.hour * 60 + self.time_from.minute,
            self.time_to.hour * 60 + self.time_to.minute,
        )

    def describe_scope(self) -> str:
        """A short scope description for reports: boroughs, dates, time window."""
        where = ", ".join(self.boroughs)
        when = (
            self.date_from.isoformat()
            if self.date_from == self.date_to
            else f"{self.date_from.isoformat()} to {self.date_to.isoformat()}"
        )
        text = f"{where}, {when}"
        if self.time_from is not None and self.time_to is not None:
            text += f", {self.time_from:%H:%M}-{self.time_to:%H:%M}"
        return text


@dataclass(frozen=True)
class Request:
    """A whole FOI request; s.12 costs it as a whole, item by item."""

    reference: str
    received: dt.date | None
    regime: str
    items: tuple[Item, ...]
    requester: str | None = field(default=None, repr=False)  # personal data: never rendered
    minutes_per_record: float | None = None
    source: str | None = None


def _where(source: str, item: int | None = None, key: str | None = None) -> str:
    parts = [source]
    if item is not None:
        parts.append(f"item {item}")
    if key is not None:
        parts.append(f"field '{key}'")
    return ": ".join(parts)


def _as_date(value: Any, where: str) -> dt.date:
    day = parse_iso_date(value, where)
    if day < EARLIEST or day > dt.date.today() + dt.timedelta(days=366):
        raise InputError(f"{where}: {day.isoformat()} is outside any CAD archive")
    return day


def parse_date(value: str, what: str = "date") -> dt.date:
    """Parse a YYYY-MM-DD date given on the command line."""
    return _as_date(value, what)


def _as_time(value: Any, where: str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        h, m = (int(x) for x in value.strip().split(":"))
        if h == 24 and m == 0:
            return dt.time(0, 0)
        if 0 <= h < 24 and 0 <= m < 60:
            return dt.time(h, m)
    raise InputError(f"{where}: {value!r} is not a time of day", "use HH:MM, e.g. 18:00")


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def resolve_borough(name: str, where: str) -> str:
    """Canonical borough name, or a one-line error with the nearest valid names."""
    canon = canonical_borough(name)
    if canon:
        return canon
    if is_city_of_london(name):
        raise InputError(
            f"{where}: the City of London is policed by the City of London Police, not the MPS"
        )
    near = suggest_boroughs(name)
    hint = f"did you mean {', '.join(near)}?" if near else "use a London borough name"
    raise InputError(f"{where}: unknown borough {name!r}", hint)


def build_item(data: dict[str, Any], source: str, index: int) -> Item:
    """Validate one item table strictly."""
    unknown = sorted(set(data) - _ITEM_KEYS)
    if unknown:
        raise ConfigError(
            f"{_where(source, index, unknown[0])}: unknown key",
            f"allowed keys: {', '.join(sorted(_ITEM_KEYS))}",
        )
    name = data.get("name", f"item {index}")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{_where(source, index, 'name')}: must be a non-empty string")
    raw_b = data.get("boroughs", data.get("borough"))
    if raw_b is None:
        raise InputError(
            f"{_where(source, index, 'boroughs')}: missing", "name one or more boroughs"
        )
    boroughs = tuple(
        dict.fromkeys(
            resolve_borough(b, _where(source, index, "boroughs"))
            for b in _str_list(raw_b, _where(source, index, "boroughs"))
        )
    )
    if not boroughs:
        raise InputError(f"{_where(source, index, 'boroughs')}: empty")
    if "date" in data and ("date_from" in data or "date_to" in data):
        raise InputError(f"{_where(source, index, 'date')}: give date, or date_from and date_to")
    if "date" in data:
        date_from = date_to = _as_date(data["date"], _where(source, index, "date"))
    elif "date_from" in data:
        date_from = _as_date(data["date_from"], _where(source, index, "date_from"))
        date_to = _as_date(data.get("date_to", data["date_from"]), _where(source, index, "date_to"))
    else:
        raise InputError(f"{_where(source, index, 'date')}: missing", "give date or date_from")
    if date_to < date_from:
        raise InputError(
            f"{_where(source, index, 'date_to')}: {date_to} is before date_from {date_from}",
            "swap the dates",
        )
    time_from = time_to = None
    if ("time_from" in data) != ("time_to" in data):
        raise InputError(f"{_where(source, index, 'time_from')}: give both time_from and time_to")
    if "time_from" in data:
        time_from = _as_time(data["time_from"], _where(source, index, "time_from"))
        time_to = _as_time(data["time_to"], _where(source, index, "time_to"))
        if time_from == time_to:
            raise InputError(f"{_where(source, index, 'time_to')}: an empty time window")
    fields = _str_list(data.get("fields", ["count"]), _where(source, index, "fields"))
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise InputError(
            f"{_where(source, index, 'fields')}: unknown field {bad[0]!r}",
            f"choose from {', '.join(FIELDS)}",
        )
    mpr = data.get("minutes_per_record")
    if mpr is not None and (not isinstance(mpr, int | float) or isinstance(mpr, bool) or mpr <= 0):
        raise InputError(
            f"{_where(source, index, 'minutes_per_record')}: must be a positive number"
        )
    return Item(
        name=name.strip(),
        boroughs=boroughs,
        date_from=date_from,
        date_to=date_to,
        time_from=time_from,
        time_to=time_to,
        tags=tuple(
            t.upper() for t in _str_list(data.get("tags", []), _where(source, index, "tags"))
        ),
        opening_codes=tuple(
            c.upper()
            for c in _str_list(
                data.get("opening_codes", []), _where(source, index, "opening_codes")
            )
        ),
        keywords=_str_list(data.get("keywords", []), _where(source, index, "keywords")),
        fields=fields,
        minutes_per_record=float(mpr) if mpr is not None else None,
    )


def load_request(path: Path) -> Request:
    """Read and validate a request TOML file.

    Raises:
        InputError: missing file, bad values (naming the file, item and field).
        ConfigError: malformed TOML or unknown keys.
    """
    source = str(path)
    if not path.exists():
        raise InputError(f"request file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a request file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    return build_request(data, source)


def build_request(data: dict[str, Any], source: str) -> Request:
    """Validate a request given as a dict (from TOML or from command-line flags)."""
    unknown = sorted(set(data) - _REQUEST_KEYS)
    if unknown:
        raise ConfigError(
            f"{_where(source, key=unknown[0])}: unknown key",
            f"allowed keys: {', '.join(sorted(_REQUEST_KEYS))}",
        )
    items_raw = data.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise InputError(f"{_where(source, key='items')}: a request needs at least one [[items]]")
    items = []
    for i, raw in enumerate(items_raw, start=1):
        if not isinstance(raw, dict) or not raw:
            raise InputError(f"{_where(source, i)}: empty item")
        items.append(build_item(raw, source, i))
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise InputError(f"{_where(source, key='items')}: item names must be unique")
    received = data.get("received")
    mpr = data.get("minutes_per_record")
    if mpr is not None and (not isinstance(mpr, int | float) or isinstance(mpr, bool) or mpr <= 0):
        raise InputError(f"{_where(source, key='minutes_per_record')}: must be a positive number")
    regime = data.get("regime", "uk-foia-other")
    if not isinstance(regime, str):
        raise InputError(f"{_where(source, key='regime')}: must be a regime name")
    requester = data.get("requester")
    return Request(
        reference=str(data.get("reference", "(no reference)")),
        received=_as_date(received, _where(source, key="received")) if received else None,
        regime=regime,
        items=tuple(items),
        requester=str(requester) if requester is not None else None,
        minutes_per_record=float(mpr) if mpr is not None else None,
        source=source,
    )
