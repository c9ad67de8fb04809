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
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costplan._files import is_stdio, read_text
from costplan._toml import Table, parse_toml
from costplan.errors import InputError
from costplan.profile import Profile, mps
from costplan.schema import canonical_label, parse_iso_date

FIELDS = ("count", "cad_refs", "created_at", "call_source")
# The reference of a request built from command-line flags with no --reference: a report may
# show it, a letter never does.
QUICK_REFERENCE = "(command line)"
# The archive's earliest plausible CAD date; earlier dates are typos, not history.
EARLIEST = dt.date(2000, 1, 1)

_REQUEST_KEYS = {
    "reference",
    "received",
    "requester",
    "regime",
    "minutes_per_record",
    "items",
    "question",
    "held",
}
_ITEM_KEYS = {
    "name",
    "borough",
    "boroughs",
    "area",
    "areas",
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
    "related",
}


@dataclass(frozen=True)
class Item:
    """One part of a request: a scope in the CAD archive and what is asked of each record."""

    name: str
    boroughs: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    # The time-of-day window as minutes after midnight, [from, to), to in 1..1440 (24:00);
    # None is the whole day. A window whose end is not after its start runs overnight: the
    # window of day D is from its start on D to its end on D+1 (22:00-04:00 is one night).
    window: tuple[int, int] | None = None
    tags: tuple[str, ...] = ()
    opening_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("count",)
    minutes_per_record: float | None = None
    # Whether this part asks for the same or similar information as the request's other
    # related parts (reg. 5: their costs are added up). An unrelated part is judged alone.
    related: bool = True
    # What the force calls its areas (the store's profile), for every sentence about them.
    area_word: str = "borough"
    areas_word: str = "boroughs"
    # How names the request gave were expanded: "North West BCU (NW): Barnet, Brent, Harrow",
    # "Brixton is in Lambeth". Empty when every name was an area's own.
    notes: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def overnight(self) -> bool:
        """Whether the time window runs past midnight into the next day."""
        return self.window is not None and self.window[1] <= self.window[0]

    @property
    def last_day(self) -> dt.date:
        """The last calendar day a search reads: the next morning for an overnight window."""
        return self.date_to + dt.timedelta(days=1) if self.overnight else self.date_to

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.date_from.year, self.last_day.year + 1))

    @property
    def minute_window(self) -> tuple[int | None, int | None]:
        """The time-of-day window as minutes after midnight, [from, to); None: the whole day."""
        if self.window is None:
            return None, None
        return self.window

    def describe_scope(self) -> str:
        """A short scope description for reports: boroughs, dates, time window."""
        where = ", ".join(self.boroughs)
        when = (
            self.date_from.isoformat()
            if self.date_from == self.date_to
            else f"{self.date_from.isoformat()} to {self.date_to.isoformat()}"
        )
        text = f"{where}, {when}"
        if self.notes:
            text = f"{where} ({'; '.join(self.notes)}), {when}"
        if self.window is not None:
            start, end = (clock(m) for m in self.window)
            text += f", {start}-{end}" + (
                " (overnight, into the next day)" if self.overnight else ""
            )
        return text


def clock(minutes: int) -> str:
    """Minutes after midnight as HH:MM (1440 is 24:00)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


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
    # The request in the requester's words, restated at the head of the letter (their own
    # text, sent back to them; never in reports or the case-file annex).
    question: str | None = field(default=None, repr=False)
    # The officer's finding on whether the information is held (s.1(1)(a)): a refusal under
    # s.12(1) must still confirm or deny. None: not yet determined.
    held: bool | None = None


def _check_keys(data: Mapping[str, Any], source: str, path: str, allowed: Set[str]) -> None:
    """Reject unknown keys before any value, as a ConfigError: the file's shape is wrong."""
    shape = Table(data, source, path)
    shape.allow(*allowed)
    shape.done(allowed)


def _in_archive(day: dt.date) -> bool:
    """A date some CAD archive can hold: anything else is a typo (see EARLIEST)."""
    return EARLIEST <= day <= dt.date.today() + dt.timedelta(days=366)


def parse_date(value: str, what: str = "date") -> dt.date:
    """Parse a YYYY-MM-DD date given on the command line."""
    day = parse_iso_date(value, what)
    if not _in_archive(day):
        raise InputError(f"{what}: {day.isoformat()} is outside any CAD archive")
    return day


def _date(t: Table, key: str) -> dt.date:
    """A date in a request: a TOML date, or YYYY-MM-DD text (from command-line flags)."""
    value = t.raw(key)
    try:
        day = parse_iso_date(value, key)
    except InputError:
        raise t.fail(key, f"must be a date, not {value!r}", "use YYYY-MM-DD") from None
    if not _in_archive(day):
        raise t.fail(
            key,
            f"must be a date from {EARLIEST.isoformat()} to a year ahead, not {day.isoformat()}",
            "that is outside any CAD archive",
        )
    return day


def parse_clock(value: object) -> int | None:
    """Minutes after midnight for a time of day (a TOML local time, or HH:MM text; 24:00 is
    the end of the day), or None if it is not one."""
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        h, m = (int(x) for x in value.strip().split(":"))
        if (0 <= h < 24 and 0 <= m < 60) or (h, m) == (24, 0):
            return h * 60 + m
    return None


def time_window(first: int, last: int) -> tuple[int, int] | None:
    """The window [first, last) in minutes after midnight (0..1440); None for the whole day.

    An end of 00:00 means midnight at the end of the day, like 24:00; an end not after the
    start runs overnight (22:00-04:00).

    Raises:
        InputError: the window is empty (the same start and end).
    """
    first = 0 if first == 1440 else first
    last = 1440 if last == 0 else last
    if (first, last) == (0, 1440):
        return None
    if first == last:
        raise InputError(
            f"the time window {clock(first)}-{clock(last)} is empty",
            "give different start and end times",
            field="time_to",
        )
    return first, last


def clock_minutes(value: str, field: str) -> int:
    """HH:MM given on the command line as minutes after midnight.

    Raises:
        InputError: not a time of day (naming `field`).
    """
    minutes = parse_clock(value)
    if minutes is None:
        raise InputError(f"{value!r} is not a time of day", "use HH:MM, e.g. 18:00", field=field)
    return minutes


def _time(t: Table, key: str) -> int:
    """A time of day as minutes after midnight (24:00 is 1440)."""
    value = t.raw(key)
    minutes = parse_clock(value)
    if minutes is None:
        raise t.fail(key, f"must be a time of day, not {value!r}", "use HH:MM, e.g. 18:00")
    return minutes


def _strings(t: Table, key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
    """One string, or a list of non-empty strings (stripped)."""
    value = t.get(key, list(default))
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise t.fail(key, f"must be a list of non-empty strings, not {value!r}")
    return tuple(v.strip() for v in values)


def _positive(t: Table, key: str) -> float | None:
    """An optional number above zero (minutes per record)."""
    value = t.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise t.fail(key, f"must be a positive number, not {value!r}")
    return float(value)


def _area_hint(name: str, profile: Profile) -> str:
    """The nearest valid names, shared by the command line and the request file."""
    near = profile.suggest(name)
    return f"did you mean {', '.join(near)}?" if near else f"use a {profile.area_phrase} name"


def resolve_borough(name: str, where: str, profile: Profile | None = None) -> str:
    """Canonical area name, or a one-line error with the nearest valid names.

    One area only: a group or `all` is an error here (see resolve_areas for those).
    """
    force = profile or mps()
    canon = force.canonical(name)
    if canon:
        return canon
    reason = force.elsewhere_reason(name)
    if reason is not None:
        raise InputError(f"{where}: {reason}")
    raise InputError(f"{where}: unknown {force.area_word} {name!r}", _area_hint(name, force))


def resolve_areas(
    names: Sequence[str], where: str, profile: Profile | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Areas without repeats for names a user gave, and how each group or place was expanded.

    Each name may be a comma list; `all` is every area, a group's name or code its areas, a
    place the area it lies in (profile.Profile.expand).

    Raises:
        InputError: an unknown name, or one another force polices (naming `where`).
    """
    areas, notes = (profile or mps()).expand_all(names, where)
    if not areas:
        raise InputError(f"{where}: name one or more areas")
    return areas, tuple(notes)


def _boroughs(t: Table, profile: Profile) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An item's areas (key `areas`, `boroughs`, `area` or `borough`), canonical and without
    repeats, and how groups and places among them were expanded."""
    given = [k for k in ("areas", "boroughs", "area", "borough") if t.has(k)]
    t.allow("areas", "boroughs", "area", "borough")
    if len(given) > 1:
        raise t.fail(given[1], f"cannot be given with {given[0]}", "give one list of areas")
    key = given[0] if given else "boroughs"
    if t.get(key) is None:
        raise t.fail(key, "is missing", f"name one or more {profile.areas_word}")
    names: list[str] = []
    notes: list[str] = []
    for name in _strings(t, key):
        canon = profile.canonical(name)
        if canon is not None:
            names.append(canon)
            continue
        reason = profile.elsewhere_reason(name)
        if reason is not None:
            raise t.fail(
                key, f"must be {profile.area_phrase}s of the {profile.title}, not {name!r}", reason
            )
        try:
            got, more = profile.expand_all([name], key)
        except InputError:
            hint = _area_hint(name, profile)
            raise t.fail(key, f"must be {profile.area_phrase}s, not {name!r}", hint) from None
        names += got
        notes += more
    if not names:
        raise t.fail(key, f"must name one or more {profile.areas_word}, not []")
    return tuple(dict.fromkeys(names)), tuple(notes)


def build_item(
    data: dict[str, Any], source: str, index: int, profile: Profile | None = None
) -> Item:
    """Validate one item table strictly (`index` counts from 1; the path `items[index - 1]`).

    Area names are resolved in `profile` (the store's; None: the MPS).
    """
    force = profile or mps()
    path = f"items[{index - 1}]"
    _check_keys(data, source, path, _ITEM_KEYS)
    t = Table(data, source, path, error=InputError)
    name = t.text("name", default=f"item {index}")
    boroughs, notes = _boroughs(t, force)
    if t.has("date") and (t.has("date_from") or t.has("date_to")):
        raise t.fail(
            "date",
            "cannot be given with date_from or date_to",
            "give date, or date_from and date_to",
        )
    if t.has("date"):
        date_from = date_to = _date(t, "date")
    elif t.has("date_from"):
        date_from = _date(t, "date_from")
        date_to = _date(t, "date_to") if t.has("date_to") else date_from
    else:
        raise t.fail("date", "is missing", "give date or date_from")
    if date_to < date_from:
        raise t.fail(
            "date_to", f"must not be before date_from {date_from}, not {date_to}", "swap the dates"
        )
    window = None
    if t.has("time_from") != t.has("time_to"):
        absent = "time_to" if t.has("time_from") else "time_from"
        raise t.fail(absent, "is missing", "give both time_from and time_to")
    if t.has("time_from"):
        start, end = _time(t, "time_from"), _time(t, "time_to")
        try:
            window = time_window(start, end)
        except InputError:
            raise t.fail(
                "time_to", f"must differ from time_from, not {clock(end)}", "an empty time window"
            ) from None
    fields = _strings(t, "fields", ["count"])
    if not fields:  # an empty list asks for nothing; leave the key out for a count
        raise t.fail("fields", f"must list at least one of {', '.join(FIELDS)}")
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise t.fail("fields", f"must list fields from {', '.join(FIELDS)}, not {bad[0]!r}")
    mpr = _positive(t, "minutes_per_record")
    return Item(
        name=name.strip(),
        boroughs=boroughs,
        date_from=date_from,
        date_to=date_to,
        window=window,
        # The form ingest stores them in (schema.canonical_label): 'ume' asks for UME.
        tags=tuple(canonical_label(tag) for tag in _strings(t, "tags")),
        opening_codes=tuple(canonical_label(code) for code in _strings(t, "opening_codes")),
        keywords=_strings(t, "keywords"),
        fields=fields,
        minutes_per_record=mpr,
        related=t.boolean("related", default=True),
        area_word=force.area_word,
        areas_word=force.areas_word,
        notes=notes,
    )


def load_request(path: Path, profile: Profile | None = None) -> Request:
    """Read and validate a request TOML file (areas in `profile`, the store's; None: MPS).

    Raises:
        InputError: missing file, bad values (naming the file and the dotted key).
        ConfigError: malformed TOML or unknown keys.
    """
    source = "stdin" if is_stdio(path) else str(path)
    if not is_stdio(path) and not path.exists():
        raise InputError(f"request file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a request file")
    text = read_text(path, "request file")
    return parse_request(text, source, profile)


def parse_request(text: str, source: str, profile: Profile | None = None) -> Request:
    """Validate a request given as TOML text (a file's, or one pasted into the web page)."""
    return build_request(parse_toml(text, source), source, profile)


def build_request(data: dict[str, Any], source: str, profile: Profile | None = None) -> Request:
    """Validate a request given as a dict (from TOML or from command-line flags); area names
    are resolved in `profile` (the store's; None: the MPS)."""
    _check_keys(data, source, "", _REQUEST_KEYS)
    t = Table(data, source, error=InputError)
    items_raw = t.get("items")
    need = "a request needs at least one [[items]]"
    if items_raw is None:
        raise t.fail("items", "is missing", need)
    if not isinstance(items_raw, list) or not items_raw:
        raise t.fail("items", f"must be one or more [[items]] tables, not {items_raw!r}", need)
    items = []
    for i, raw in enumerate(items_raw, start=1):
        if not isinstance(raw, dict) or not raw:
            raise t.fail(f"items[{i - 1}]", f"must be a non-empty table, not {raw!r}")
        items.append(build_item(raw, source, i, profile))
    names = [it.name for it in items]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise t.fail("items", f"must have unique names, not {twice!r} twice")
    received = t.get("received")
    mpr = _positive(t, "minutes_per_record")
    regime = t.get("regime", "uk-foia-other")
    if not isinstance(regime, str):
        raise t.fail("regime", f"must be a regime name, not {regime!r}")
    requester = t.get("requester")
    question = t.text("question", default=None)
    held = t.boolean("held", default=None)
    return Request(
        reference=str(t.get("reference", "(no reference)")),
        received=_date(t, "received") if received else None,
        regime=regime,
        items=tuple(items),
        requester=str(requester) if requester is not None else None,
        minutes_per_record=mpr,
        source=source,
        question=question.strip() if question else None,
        held=held,
    )
