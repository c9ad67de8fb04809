"""Cost regimes (UK FOIA, FOISA, EIR, Ireland) as validated data.

The figures live in `costplan/config/regimes.toml`, each with its legal source in a comment;
this module only loads and checks them. Besides the cost limit, a regime may state its time for
compliance (`DeadlineRule`: period, calendar, clock-stop rule, named extensions), which
`costmodel.workdays.due` counts. A user may add or replace regimes with their own TOML
file (same schema) and override the limit and hourly rate for what-if estimates.

Validation is strict because a mistyped key (say `limt = 600`) would otherwise silently fall
back to a default and produce a wrong legal decision.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from costplan._files import config_path, read_text
from costplan._toml import Table, parse_toml
from costplan.costmodel.calendars import CALENDARS
from costplan.costmodel.notices import Notice, parse_notice
from costplan.errors import ConfigError, InputError
from costplan.units import Number, to_decimal

# Reg. 4(3) SI 2004/3244 (a)-(d), plus Ireland's "preparing a schedule of records". A regime's
# `countable` list must be drawn from these.
COUNTABLE_ACTIVITIES: tuple[str, ...] = (
    "determine_held",
    "locate",
    "retrieve",
    "extract",
    "schedule",
)
# Never countable anywhere modelled: South Yorkshire Police v IC (redaction); reading,
# consultation and "thinking time" proposals were never enacted (law.md §1.4).
NON_COUNTABLE_ACTIVITIES: tuple[str, ...] = ("redaction", "exemptions", "consultation", "thinking")
ACTIVITIES: tuple[str, ...] = COUNTABLE_ACTIVITIES + NON_COUNTABLE_ACTIVITIES

BUILTIN_FILE = "regimes.toml"

# The longest time reading one record may be said to take: 8 hours (480 minutes), a whole
# working day. A CAD record is a page or two of log entries, and the published police figures
# are 2 to 10 minutes a record; a per-record time above a working day is a typo or a unit slip
# (hours typed as minutes, milliseconds as seconds), and a decision resting on it would rest on
# a figure nobody measured. Zero is refused too: it would answer any request however large.
# The one bound for every source of the figure: --minutes-per-record, a request file, a regime
# file, and each value of a timed sample (`costplan.costmodel.sampling`).
MAX_MINUTES_PER_RECORD = Decimal(480)

_REQUIRED_KEYS = {"title", "act", "currency", "rate", "countable", "advisory_only", "provision"}
_OPTIONAL_KEYS = {
    "limit",
    "limit_name",
    "rate_is_cap",
    "advisory",
    "section",
    "hold_section",
    "hold_provision",
    "aggregation",
    "minutes_per_record",
    "sources",
    "notice",
    *("deadline_days", "calendar", "deadline_provision", "pause_provision", "extension"),
}
# The time for compliance: given together, or not at all (no deadline is modelled).
_DEADLINE_KEYS = ("deadline_days", "calendar", "deadline_provision")
# The longest period or extension a regime may state, in working days: FOIA's regulations may
# extend the period to no later than the 60th working day (law.md §1.9), the longest time limit
# in law.md; more is a typing mistake.
MAX_DEADLINE_DAYS = 60
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def reading_minutes(value: Number, what: str, *, field: str | None = None) -> Decimal:
    """A per-record reading time: a number above zero and at most MAX_MINUTES_PER_RECORD.

    Args:
        value: the minutes, or their text.
        what: what the value is, for the error message (e.g. "minutes per record").
        field: the input field it came from (see CostplanError.field).

    Raises:
        InputError: not a number, zero or negative, or more than a working day.
    """
    minutes = to_decimal(value, what, field=field)
    if minutes == 0:
        raise InputError(
            f"{what} must be above zero, got {value}",
            "reading a record takes some time; time a sample of records to measure it",
            field=field,
        )
    if minutes > MAX_MINUTES_PER_RECORD:
        raise InputError(
            f"{what} of {value} is more than {MAX_MINUTES_PER_RECORD} minutes (8 hours) to "
            "read one record",
            "give minutes per record, e.g. 3",
            field=field,
        )
    return minutes


@dataclass(frozen=True)
class Extension:
    """A named extension of the time for compliance (`[regime.NAME.extension.EXT]`).

    Attributes:
        name: its key, e.g. "eir-complex".
        working_days: working days added to the regime's period (at most; see `note`).
        provision: the provision that allows it, in words.
        note: when it applies, or what the law leaves open.
    """

    name: str
    working_days: int
    provision: str
    note: str | None = None


@dataclass(frozen=True)
class DeadlineRule:
    """A regime's time for compliance.

    Attributes:
        working_days: the period, in working days of `calendar` (Ireland's 4 weeks: 20).
        calendar: which days are working days (`costmodel.calendars.CALENDARS`).
        provision: the time-limit provision, in words.
        pause_provision: the rule that stops the clock for a fees notice or a clarification;
            None where the sources give none (then no pause may be applied).
        extensions: the named extensions the regime allows.
    """

    working_days: int
    calendar: str
    provision: str
    pause_provision: str | None = None
    extensions: Mapping[str, Extension] = field(default_factory=dict)


@dataclass(frozen=True)
class Regime:
    """One legal cost regime.

    Attributes:
        name: short key, e.g. "uk-foia-other".
        title: human-readable name.
        act: the statute, as a notice would name it.
        currency: ISO 4217 code.
        limit: cost limit in `currency`; None where there is none (EIR).
        limit_name: what the law calls the limit ("appropriate limit").
        rate: hourly rate for staff time.
        rate_is_cap: the law caps the rate (Scotland) rather than fixing it.
        countable: activities that count towards the limit.
        advisory_only: no automatic refusal; the result is advice.
        advisory: the advice text for advisory-only regimes.
        section: refusal section label ("12(1)") or None.
        provision: the refusal provision in words.
        hold_section: label when determining whether held alone exceeds ("12(2)") or None.
        hold_provision: that provision in words.
        aggregation: the aggregation rule modelled, or None.
        minutes_per_record: default minutes to review one record.
        sources: URLs for the figures.
        overrides: which figures the user overrode ("limit", "rate").
        deadline: the time for compliance, or None where the regime's file gives none.
        notice: what its letters say (`costmodel.notices`), or None: no letter can be written.
    """

    name: str
    title: str
    act: str
    currency: str
    limit: Decimal | None
    limit_name: str
    rate: Decimal
    rate_is_cap: bool
    countable: frozenset[str]
    advisory_only: bool
    advisory: str | None
    section: str | None
    provision: str
    hold_section: str | None
    hold_provision: str | None
    aggregation: str | None
    minutes_per_record: Decimal
    sources: tuple[str, ...] = ()
    overrides: tuple[str, ...] = field(default=())
    deadline: DeadlineRule | None = None
    notice: Notice | None = None

    @property
    def limit_minutes(self) -> Decimal | None:
        """The limit as staff minutes (exact: limit × 60 / rate)."""
        if self.limit is None:
            return None
        return self.limit * 60 / self.rate

    @property
    def limit_hours(self) -> Decimal | None:
        """The limit as staff hours, e.g. £450 / £25 = 18."""
        if self.limit is None:
            return None
        return self.limit / self.rate

    def is_countable(self, activity: str) -> bool:
        """Whether time spent on `activity` may be counted under this regime."""
        return activity in self.countable

    def with_overrides(self, limit: Number | None = None, rate: Number | None = None) -> Regime:
        """Return a copy with a different limit and/or hourly rate (for what-if estimates).

        Args:
            limit: new limit in the regime's currency.
            rate: new hourly rate; must be above zero, and within the cap where the law caps it.

        Raises:
            InputError: a negative or non-numeric value, a zero rate, or a rate above a cap.
        """
        changes: dict[str, Any] = {}
        done = list(self.overrides)
        if limit is not None:
            changes["limit"] = to_decimal(limit, "the limit", field="limit")
            done.append("limit")
        if rate is not None:
            new_rate = to_decimal(rate, "the hourly rate", field="rate")
            if new_rate == 0:
                raise InputError("the hourly rate must be above zero", field="rate")
            if self.rate_is_cap and new_rate > self.rate:
                raise InputError(
                    f"the hourly rate {new_rate} is above the {self.rate} per hour cap of regime "
                    f"'{self.name}'",
                    "the law caps the hourly rate; use a rate at or below the cap",
                    field="rate",
                )
            changes["rate"] = new_rate
            done.append("rate")
        if not changes:
            return self
        return replace(self, overrides=tuple(dict.fromkeys(done)), **changes)


@dataclass(frozen=True)
class RegimeSet:
    """The regimes available to a run, and which one is the default."""

    regimes: Mapping[str, Regime]
    default: str

    def names(self) -> list[str]:
        """Regime names, sorted."""
        return sorted(self.regimes)

    def get(self, name: str | None = None) -> Regime:
        """Look a regime up by name (the default when None).

        Raises:
            InputError: no such regime; the message lists the names and suggests the closest.
        """
        key = self.default if name is None else name.strip().lower()
        if key in self.regimes:
            return self.regimes[key]
        close = difflib.get_close_matches(key, self.names(), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise InputError(
            f"unknown regime '{name}'", f"{hint}choose from: {', '.join(self.names())}"
        )


def _decimal(t: Table, key: str) -> Decimal:
    """A non-negative number, kept exact (2.8 stays 2.8): legal figures are Decimal."""
    value = t.raw(key)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise t.fail(key, f"must be a number, not {value!r}")
    if value < 0:
        raise t.fail(key, f"must be zero or more, not {value!r}")
    return to_decimal(value, key)


def _parse_extensions(table: Table | None) -> dict[str, Extension]:
    """The [regime.NAME.extension.EXT] tables of one regime (none when absent)."""
    if table is None:
        return {}
    extensions: dict[str, Extension] = {}
    for name in table.data:
        if not _NAME_RE.match(name):
            raise table.fail(
                name, "is not a valid extension name", "use lower-case letters, digits and '-'"
            )
        e = table.sub(name)
        e.allow("working_days", "provision", "note")
        e.done()
        note = e.text("note", default=None)
        extensions[name] = Extension(
            name=name,
            working_days=e.integer("working_days", 1, MAX_DEADLINE_DAYS),
            provision=e.text("provision").strip(),
            note=note.strip() if note else None,
        )
    return extensions


def _parse_deadline(t: Table) -> DeadlineRule | None:
    """The deadline keys of one regime table: all of _DEADLINE_KEYS, or none of them."""
    given = [k for k in _DEADLINE_KEYS if t.has(k)]
    if not given:
        for key in ("pause_provision", "extension"):
            if t.has(key):
                raise t.fail(key, "needs a deadline", f"give {', '.join(_DEADLINE_KEYS)} too")
        return None
    for key in _DEADLINE_KEYS:
        t.raw(key, f"give {', '.join(_DEADLINE_KEYS)} together, or none of them")
    calendar = t.choice("calendar", tuple(CALENDARS))
    pause = t.text("pause_provision", default=None)
    return DeadlineRule(
        working_days=t.integer("deadline_days", 1, MAX_DEADLINE_DAYS),
        calendar=calendar,
        provision=t.text("deadline_provision").strip(),
        pause_provision=pause.strip() if pause else None,
        extensions=_parse_extensions(t.optional_sub("extension")),
    )


def _parse_regime(regimes: Table, name: str) -> Regime:
    """One [regime.NAME] table: unknown keys first, then missing ones, then the values."""
    if not _NAME_RE.match(name):
        raise regimes.fail(
            name, "is not a valid regime name", "use lower-case letters, digits and '-'"
        )
    t = regimes.sub(name)
    t.allow(*_REQUIRED_KEYS, *_OPTIONAL_KEYS)
    t.done(_REQUIRED_KEYS | _OPTIONAL_KEYS)
    for key in sorted(_REQUIRED_KEYS):
        t.raw(key)

    currency = t.text("currency").strip()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise t.fail("currency", f"must be an ISO code like GBP, not {currency!r}")
    rate = _decimal(t, "rate")
    if rate == 0:
        raise t.fail("rate", "must be above zero, not 0")
    advisory_only = t.boolean("advisory_only")
    limit = _decimal(t, "limit") if t.has("limit") else None
    if limit is None and not advisory_only:
        raise t.fail("limit", "is missing", "only advisory_only regimes may omit the limit")

    countable = t.raw("countable")
    if not isinstance(countable, list) or not all(isinstance(a, str) for a in countable):
        raise t.fail("countable", f"must be a list of activity names, not {countable!r}")
    bad = [a for a in countable if a not in COUNTABLE_ACTIVITIES]
    if bad:
        raise t.fail(
            "countable",
            f"must list only countable activities, not {bad[0]!r}",
            f"{bad[0]} can never be counted; choose from: {', '.join(COUNTABLE_ACTIVITIES)}",
        )

    sources = t.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise t.fail("sources", f"must be a list of URLs, not {sources!r}")

    def opt_str(key: str) -> str | None:
        value = t.text(key, default=None)
        return value.strip() if value is not None else None

    hold_section = opt_str("hold_section")
    hold_provision = opt_str("hold_provision")
    if (hold_section is None) != (hold_provision is None):
        absent = "hold_section" if hold_section is None else "hold_provision"
        raise t.fail(absent, "is missing", "give both hold_section and hold_provision, or neither")
    if advisory_only and not t.has("advisory"):
        raise t.fail("advisory", "is missing", "required when advisory_only = true")
    minutes = Decimal(3)
    if t.has("minutes_per_record"):
        minutes = _decimal(t, "minutes_per_record")
        if not 0 < minutes <= MAX_MINUTES_PER_RECORD:
            raise t.fail(
                "minutes_per_record",
                f"must be above 0 and at most {MAX_MINUTES_PER_RECORD} (8 hours), "
                f"not {t.raw('minutes_per_record')!r}",
            )

    return Regime(
        name=name,
        title=t.text("title").strip(),
        act=t.text("act").strip(),
        currency=currency,
        limit=limit,
        limit_name=opt_str("limit_name") or "cost limit",
        rate=rate,
        rate_is_cap=t.boolean("rate_is_cap", default=False),
        countable=frozenset(countable),
        advisory_only=advisory_only,
        advisory=opt_str("advisory"),
        section=opt_str("section"),
        provision=t.text("provision").strip(),
        hold_section=hold_section,
        hold_provision=hold_provision,
        aggregation=opt_str("aggregation"),
        minutes_per_record=minutes,
        sources=tuple(sources),
        deadline=_parse_deadline(t),
        notice=parse_notice(t.optional_sub("notice")),
    )


def parse_regimes(text: str, source: str) -> tuple[dict[str, Regime], str | None]:
    """Parse and validate regime TOML.

    Args:
        text: the TOML document.
        source: its file name, used in error messages.

    Returns:
        The regimes by name, and the file's `default` (None if it names none).

    Raises:
        ConfigError: bad TOML, an unknown or missing key, or a value of the wrong type.
    """
    root = Table(parse_toml(text, source), source)
    root.allow("default", "regime")
    root.done(("default", "regime"))
    if not root.has("regime"):
        raise root.fail("regime", "is missing", "give one or more [regime.NAME] tables")
    tables = root.sub("regime")
    if not tables.data:
        raise root.fail("regime", "must hold one or more [regime.NAME] tables, not an empty table")
    regimes = {name: _parse_regime(tables, name) for name in tables.data}
    default = root.get("default")
    if default is not None and not isinstance(default, str):
        raise root.fail("default", f"must be a regime name, not {default!r}")
    return regimes, default


def load_regimes(extra_path: Path | str | None = None) -> RegimeSet:
    """Load the built-in regimes, plus (or replaced by) those in a user's file.

    Args:
        extra_path: optional TOML file in the same schema. Its regimes are added; one with a
            built-in name replaces the built-in; its `default`, if any, becomes the default.

    Returns:
        The available regimes.

    Raises:
        InputError: the extra file is missing or unreadable.
        ConfigError: either file is invalid, or `default` names no regime.
    """
    builtin = config_path(BUILTIN_FILE)
    regimes, default = parse_regimes(builtin.read_text(encoding="utf-8"), BUILTIN_FILE)
    if extra_path is not None:
        path = Path(extra_path)
        text = read_text(path, "regime file")
        extra, extra_default = parse_regimes(text, str(path))
        regimes.update(extra)
        default = extra_default or default
    if default not in regimes:
        raise ConfigError(f"default regime '{default}' is not defined")
    return RegimeSet(regimes=regimes, default=default)
