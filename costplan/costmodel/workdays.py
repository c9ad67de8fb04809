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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from costplan.costmodel.calendars import (
    MAX_YEAR,
    MIN_YEAR,
    NATIONS,
    UK_ANY,
    _easter_sunday,
    _year_holidays,
    check_year,
    holidays_between,
    non_working_reason,
)
from costplan.errors import InputError
from costplan.schema import parse_iso_date

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "NATIONS",
    "_easter_sunday",
    "_year_holidays",
    "holidays_between",
    "non_working_reason",
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
    if n < 0:
        raise InputError(f"working days must not be negative, got {n}")
    day, counted = start, 0
    skipped: list[tuple[dt.date, str]] = []
    while counted < n:
        day += dt.timedelta(days=1)
        reason = non_working_reason(day, calendar)
        if reason is None:
            counted += 1
        else:
            skipped.append((day, reason))
    return day, skipped


def count_working_days(start: dt.date, end: dt.date, calendar: str = UK_ANY) -> int:
    """Working days of `calendar` after `start` up to and including `end`.

    So ``count_working_days(received, deadline(received).due) == 20``, and the working days in
    the inclusive range [a, b] are ``count_working_days(a - 1 day, b)``. Negative when `end`
    is before `start`.
    """
    if end < start:
        return -count_working_days(end, start, calendar)
    hols = list(holidays_between(start, end, calendar))
    begin = start + dt.timedelta(days=1)
    stop = end + dt.timedelta(days=1)
    # busday_count counts Mon-Fri days in [begin, stop) that are not in `holidays`.
    return int(np.busday_count(begin, stop, holidays=hols))


def working_days_inclusive(first: dt.date, last: dt.date, calendar: str = UK_ANY) -> int:
    """Working days from `first` to `last`, both included (0 if neither side has any)."""
    return count_working_days(first - dt.timedelta(days=1), last, calendar)


@dataclass(frozen=True)
class Deadline:
    """A FOIA s.10(1) deadline.

    Attributes:
        received: the date of receipt.
        due: the last day to respond (the `working_days`th working day after receipt).
        working_days: the period in working days (20 under s.10(1)).
        skipped: non-working days between receipt and the due date, with reasons.
    """

    received: dt.date
    due: dt.date
    working_days: int
    skipped: tuple[tuple[dt.date, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ISO dates."""
        return {
            "received": self.received.isoformat(),
            "due": self.due.isoformat(),
            "working_days": self.working_days,
            "skipped": [{"date": d.isoformat(), "reason": r} for d, r in self.skipped],
        }


def deadline(received: dt.date, working_days: int = FOIA_WORKING_DAYS) -> Deadline:
    """The due date: the `working_days`th working day following the date of receipt.

    Args:
        received: the date the request was received (any day, working or not).
        working_days: the period; 20 under FOIA s.10(1) (regulations may allow up to 60).

    Raises:
        InputError: `working_days` is below 1, or a date is outside the supported years.
    """
    if working_days < 1:
        raise InputError(
            f"working days must be at least 1, got {working_days}", field="working_days"
        )
    due, skipped = add_working_days(received, working_days)
    return Deadline(received, due, working_days, tuple(skipped))


def parse_date(text: str, what: str = "date") -> dt.date:
    """Parse an ISO date (YYYY-MM-DD).

    Raises:
        InputError: not a valid ISO date, or outside the supported years.
    """
    day = parse_iso_date(text, what)
    check_year(day)
    return day
