"""Working days and deadlines: FOIA s.10, FOISA s.10, EIR reg. 5 and 7, Ireland s.13.

Which days are working days is each regime's calendar (`costplan.costmodel.calendars`); this
module counts them. The default calendar everywhere is ``uk-any`` (FOIA s.10(6)), so the
aggregation windows of reg. 5 (`costmodel.aggregate`) count FOIA working days.

Counting convention: the date of receipt is day 0; day 1 is the first working day AFTER the
date of receipt, so the deadline is the 20th working day following receipt (s.10(1)). A request
received on a non-working day therefore starts on the next working day, matching ICO guidance:
"If the request is received on a non-working day, the clock will still start on the following
working day" (ICO, Time for compliance, quoted in mysociety/whatdotheyknow-theme#1027; law.md
§5). law.md's worked Irish check (received 2025-04-11, due 2025-05-13) counts the same way.

`due` counts a regime's period (regimes.toml: `deadline_days` on its `calendar`), with:

* clock stops (`Pause`): the working days from the day a fees notice or a request for
  clarification is given to the day the fee or the clarification is received, both included,
  do not count (FOIA s.10(2)'s words for a fees notice, law.md §1.9). Only regimes whose file
  states a `pause_provision` allow them: law.md gives such a rule for FOIA alone, so FOISA, the
  EIR and Ireland are counted without one, the earlier date. A clarification is counted as a
  stop, not as a fresh start: never later than a restarting clock, so the conservative reading.
* extensions, by name (`[regime.NAME.extension.EXT]`), added at their longest: FOIA s.10(3)
  public interest (at most 20 further working days, the ICO's normal maximum; law.md gives no
  figure), EIR reg. 7(1) (40 in all), Ireland s.14 (up to 4 more weeks). FOISA has none.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from costplan.costmodel.calendars import (
    MAX_YEAR,
    MIN_YEAR,
    NATIONS,
    UK_ANY,
    _easter_sunday,
    _year_holidays,
    calendar_of,
    check_year,
    holidays_between,
    non_working_reason,
)
from costplan.costmodel.regimes import DeadlineRule, Extension, Regime
from costplan.errors import InputError
from costplan.schema import parse_iso_date

# The calendars' names are re-exported: callers count working days through this module.
__all__ = [
    "FOIA_WORKING_DAYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "NATIONS",
    "Deadline",
    "Pause",
    "_easter_sunday",
    "_year_holidays",
    "add_working_days",
    "count_working_days",
    "deadline",
    "due",
    "holidays_between",
    "is_working_day",
    "non_working_reason",
    "parse_date",
    "parse_pause",
    "working_days_inclusive",
]

FOIA_WORKING_DAYS = 20


def is_working_day(day: dt.date, calendar: str = UK_ANY) -> bool:
    """Whether `day` is a working day (by default under FOIA s.10(6))."""
    return non_working_reason(day, calendar) is None


def add_working_days(
    start: dt.date, n: int, calendar: str = UK_ANY
) -> tuple[dt.date, list[tuple[dt.date, str]]]:
    """The `n`th working day after `start` (`start` itself is day 0).

    Args:
        start: the starting date (e.g. the date of receipt); it may be a non-working day.
        n: working days to add (≥ 0).
        calendar: whose working days (`costmodel.calendars`; default FOIA's).

    Returns:
        The date reached, and the non-working days skipped on the way, as (date, reason) in
        date order.

    Raises:
        InputError: `n` is negative, or a date falls outside the supported years.
    """
    walk = _walk(start, n, calendar, ())
    return walk.end, walk.skipped


@dataclass
class _Walk:
    """What counting `n` clock days from a start found."""

    end: dt.date
    skipped: list[tuple[dt.date, str]]
    counted: list[dt.date]
    stopped: list[int]  # working days disregarded, one figure per pause


def _walk(start: dt.date, n: int, calendar: str, pauses: Sequence[Pause]) -> _Walk:
    """Count `n` working days after `start`, not counting working days inside a pause."""
    if n < 0:
        raise InputError(f"working days must not be negative, got {n}")
    walk = _Walk(start, [], [], [0] * len(pauses))
    day = start
    while len(walk.counted) < n:
        day += dt.timedelta(days=1)
        reason = non_working_reason(day, calendar)
        if reason is not None:
            walk.skipped.append((day, reason))
            continue
        inside = [i for i, p in enumerate(pauses) if p.start <= day <= p.end]
        if inside:
            walk.stopped[inside[0]] += 1
        else:
            walk.counted.append(day)
    walk.end = day
    return walk


def count_working_days(start: dt.date, end: dt.date, calendar: str = UK_ANY) -> int:
    """Working days of `calendar` after `start` up to and including `end`.

    So ``count_working_days(received, deadline(received).due) == 20``, and the working days in
    the inclusive range [a, b] are ``count_working_days(a - 1 day, b)``. Negative when `end`
    is before `start`.
    """
    if end < start:
        return -count_working_days(end, start, calendar)
    holidays = holidays_between(start, end, calendar)  # weekdays only, (start, end] below
    begin = start + dt.timedelta(days=1)
    # Mon-Fri days in [begin, end]: whole weeks hold five each, then the days left over.
    weeks, rest = divmod((end - begin).days + 1, 7)
    weekdays = weeks * 5 + sum(1 for i in range(rest) if (begin.weekday() + i) % 7 < 5)
    return weekdays - sum(1 for day in holidays if begin <= day <= end)


def working_days_inclusive(first: dt.date, last: dt.date, calendar: str = UK_ANY) -> int:
    """Working days from `first` to `last`, both included (0 if neither side has any)."""
    return count_working_days(first - dt.timedelta(days=1), last, calendar)


@dataclass(frozen=True)
class Pause:
    """A clock stop for a fees notice or a request for clarification.

    The working days from `start` (the day the notice is given) to `end` (the day the fee or
    the clarification is received), both included, do not count: FOIA s.10(2)'s words for a
    fees notice (law.md §1.9), applied to a clarification too (see regimes.toml).

    Attributes:
        start: the day the notice was given.
        end: the day the reply was received.
        working_days: the working days disregarded (set by `due`).
    """

    start: dt.date
    end: dt.date
    working_days: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ISO dates."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "working_days": self.working_days,
        }


@dataclass(frozen=True)
class Deadline:
    """A time for compliance: FOIA s.10(1) by default, or a regime's (`due`).

    Attributes:
        received: the date of receipt.
        due: the last day to respond (the `working_days`th clock day after receipt).
        working_days: the whole period in working days, any extension included (20 under
            FOIA s.10(1)).
        skipped: non-working days between receipt and the due date, with reasons (working days
            inside a pause are in `pauses`, not here).
        calendar: whose working days were counted (`costmodel.calendars`).
        regime: the regime's name (None for the plain FOIA `deadline`).
        provision: the time-limit provision in words.
        extension: the extension applied, if any.
        pauses: the clock stops applied, each with the working days it disregarded.
        pause_provision: the rule the pauses follow.
        as_of: the day `working_days_left` is counted from.
        working_days_left: clock days after `as_of` up to and including `due`; once `as_of`
            is past `due`, minus the working days since.
    """

    received: dt.date
    due: dt.date
    working_days: int
    skipped: tuple[tuple[dt.date, str], ...]
    calendar: str = UK_ANY
    regime: str | None = None
    provision: str | None = None
    extension: Extension | None = None
    pauses: tuple[Pause, ...] = ()
    pause_provision: str | None = None
    as_of: dt.date | None = None
    working_days_left: int | None = None

    @property
    def base_days(self) -> int:
        """The regime's period before any extension."""
        return self.working_days - (self.extension.working_days if self.extension else 0)

    @property
    def calendar_rule(self) -> str:
        """The working-day rule in words, with its provision."""
        return calendar_of(self.calendar).rule

    @property
    def overdue(self) -> bool | None:
        """Whether `as_of` is past the due date (None without `as_of`)."""
        return None if self.as_of is None else self.as_of > self.due

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ISO dates."""
        ext = self.extension
        return {
            "received": self.received.isoformat(),
            "due": self.due.isoformat(),
            "working_days": self.working_days,
            "skipped": [{"date": d.isoformat(), "reason": r} for d, r in self.skipped],
            "regime": self.regime,
            "period": {"working_days": self.base_days, "provision": self.provision},
            "calendar": {"name": self.calendar, "rule": self.calendar_rule},
            "extension": None
            if ext is None
            else {
                "name": ext.name,
                "working_days": ext.working_days,
                "provision": ext.provision,
                "note": ext.note,
            },
            "pauses": [p.to_dict() for p in self.pauses],
            "pause_rule": self.pause_provision,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "working_days_left": self.working_days_left,
            "overdue": self.overdue,
        }


def _period(days: int) -> int:
    if days < 1:
        raise InputError(f"working days must be at least 1, got {days}", field="working_days")
    return days


def deadline(received: dt.date, working_days: int = FOIA_WORKING_DAYS) -> Deadline:
    """The FOIA due date: the `working_days`th working day (s.10(6)) following receipt.

    Args:
        received: the date the request was received (any day, working or not).
        working_days: the period; 20 under FOIA s.10(1) (regulations may allow up to 60).

    Raises:
        InputError: `working_days` is below 1, or a date is outside the supported years.
    """
    due_day, skipped = add_working_days(received, _period(working_days))
    return Deadline(received, due_day, working_days, tuple(skipped))


def parse_pause(text: str) -> Pause:
    """A pause given as FROM:TO (YYYY-MM-DD:YYYY-MM-DD: the notice, then the reply).

    Raises:
        InputError: not two dates separated by ':', naming the field "paused".
    """
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise InputError(
            f"pause {text!r} is not FROM:TO",
            "give the day the notice was given and the day the reply was received, "
            "YYYY-MM-DD:YYYY-MM-DD",
            field="paused",
        )
    try:
        start, end = parse_date(parts[0], "from"), parse_date(parts[1], "to")
    except InputError as exc:
        raise InputError(f"pause {exc.message}", exc.hint, field="paused") from None
    return Pause(start, end)


def _checked_pauses(
    rule: DeadlineRule,
    regime: str,
    received: dt.date,
    paused: Iterable[Pause | tuple[dt.date, dt.date]],
) -> list[Pause]:
    """The pauses in date order; each within the rules (see `due`)."""
    pauses = sorted(
        (p if isinstance(p, Pause) else Pause(p[0], p[1]) for p in paused),
        key=lambda p: (p.start, p.end),
    )
    if pauses and rule.pause_provision is None:
        raise InputError(
            f"regime '{regime}' has no rule that stops the clock",
            "its sources give none, so the deadline is counted without a pause, the earlier "
            "date; a regime file may set pause_provision",
            field="paused",
        )
    for p in pauses:
        check_year(p.start)
        check_year(p.end)
        span = f"{p.start.isoformat()}:{p.end.isoformat()}"
        if p.end < p.start:
            raise InputError(f"pause {span} ends before it begins", field="paused")
        if p.start < received:
            raise InputError(
                f"pause {span} begins before the request was received on {received.isoformat()}",
                "a notice can only follow the request",
                field="paused",
            )
    for a, b in itertools.pairwise(pauses):
        if b.start <= a.end:
            raise InputError(
                f"pauses {a.start.isoformat()}:{a.end.isoformat()} and "
                f"{b.start.isoformat()}:{b.end.isoformat()} overlap",
                "give each notice and its reply once",
                field="paused",
            )
    return pauses


def due(
    regime: Regime,
    received: dt.date,
    *,
    paused: Iterable[Pause | tuple[dt.date, dt.date]] = (),
    extension: str | None = None,
    today: dt.date | None = None,
    working_days: int | None = None,
) -> Deadline:
    """The due date of a request under `regime`, and the working days left as of `today`.

    Counting: the date of receipt is day 0 and day 1 is the first working day of the regime's
    calendar after it (law.md §5); the due date is the day the period's last working day is
    reached. Working days inside a pause (from the notice to the reply, both included) do not
    count. A pause must begin on or after the date of receipt and no later than the due date it
    would move: a notice given after the deadline cannot stop a clock that has run out.

    Args:
        regime: the regime; its `deadline` gives the period, calendar and rules.
        received: the date the request was received (any day, working or not).
        paused: clock stops, as `Pause` or (from, to) dates; refused where the regime has no
            pause rule.
        extension: the name of one of the regime's extensions (e.g. "public-interest",
            "eir-complex"); its days are added at their longest.
        today: the day to count the working days left from (default: the date it runs).
        working_days: a what-if period instead of the regime's (not with `extension`).

    Raises:
        InputError: the regime states no deadline, an unknown extension, a bad pause, a period
            below 1, or a date outside the supported years. `field` names the input: "regime",
            "extension", "paused", "working_days".
    """
    rule = regime.deadline
    if rule is None:
        raise InputError(
            f"regime '{regime.name}' states no time for compliance",
            "give it deadline_days, calendar and deadline_provision",
            field="regime",
        )
    check_year(received)
    ext = None
    if extension is not None:
        ext = rule.extensions.get(extension.strip().lower())
        if ext is None:
            have = ", ".join(sorted(rule.extensions))
            raise InputError(
                f"regime '{regime.name}' has no '{extension}' extension",
                f"its extensions: {have}" if have else "it allows no extension",
                field="extension",
            )
        if working_days is not None:
            raise InputError(
                "an extension adds to the regime's period: give a period or an extension, not both",
                field="working_days",
            )
    base = _period(rule.working_days if working_days is None else working_days)
    total = base + (ext.working_days if ext else 0)
    pauses = _checked_pauses(rule, regime.name, received, paused)
    walk = _walk(received, total, rule.calendar, pauses)
    for p in pauses:
        if p.start > walk.end:
            raise InputError(
                f"pause {p.start.isoformat()}:{p.end.isoformat()} begins after the due date "
                f"{walk.end.isoformat()}",
                "a notice given after the deadline cannot stop the clock",
                field="paused",
            )
    as_of = dt.date.today() if today is None else today
    check_year(as_of)
    if as_of <= walk.end:
        left = sum(1 for day in walk.counted if day > as_of)
    else:
        left = -count_working_days(walk.end, as_of, rule.calendar)
    return Deadline(
        received=received,
        due=walk.end,
        working_days=total,
        skipped=tuple(walk.skipped),
        calendar=rule.calendar,
        regime=regime.name,
        provision=rule.provision,
        extension=ext,
        pauses=tuple(replace(p, working_days=n) for p, n in zip(pauses, walk.stopped, strict=True)),
        pause_provision=rule.pause_provision,
        as_of=as_of,
        working_days_left=left,
    )


def parse_date(text: str, what: str = "date") -> dt.date:
    """Parse an ISO date (YYYY-MM-DD).

    Raises:
        InputError: not a valid ISO date, or outside the supported years.
    """
    day = parse_iso_date(text, what)
    check_year(day)
    return day
