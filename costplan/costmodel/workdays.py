"""UK working days for FOIA deadlines (s.10) and aggregation windows (reg. 5).

FOIA s.10(6): a working day is any day other than a Saturday, a Sunday, Christmas Day, Good
Friday, or a bank holiday under the Banking and Financial Dealings Act 1971 "in any part of the
United Kingdom" (law.md §1.9). So a Scotland-only holiday (2 January, St Andrew's Day, the first
Monday in August) or a Northern Ireland-only one (17 March, 12 July) stops the clock for an
English police force too (ICO LTT47).

Holiday source: the `holidays` library, as the UNION of
``holidays.country_holidays("GB", subdiv=S, years=Y)`` for S in ENG, WLS, SCT, NIR, weekday
dates only. That includes substitute days (28 Dec 2020) and proclaimed one-off days (3 Jun
2022, 19 Sep 2022, 8 May 2023). Plain ``country_holidays("GB")`` without a subdivision is NOT
used: in holidays 0.109 it returns only the holidays common to every nation (it has no Easter
Monday, which Scotland lacks), and older releases returned a different set (python-holidays
issue #63), so its meaning is not stable. Christmas Day and Good Friday are added by rule as
well, because s.10(6) names them directly (in England they are common-law holidays, not bank
holidays), so the deadline never depends on the library listing them. Local "privilege days"
are not excluded (LTT47). Holidays proclaimed after the installed `holidays` release are
unknown to it: update the library.

Counting convention: the date of receipt is day 0; day 1 is the first working day AFTER the
date of receipt, so the deadline is the 20th working day following receipt (s.10(1)). A request
received on a non-working day therefore starts on the next working day, matching ICO guidance:
"If the request is received on a non-working day, the clock will still start on the following
working day" (ICO, Time for compliance, quoted in mysociety/whatdotheyknow-theme#1027).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import holidays
import numpy as np

from costplan.errors import InputError
from costplan.schema import parse_iso_date

# The four parts of the UK, by `holidays` subdivision code.
NATIONS: dict[str, str] = {
    "ENG": "England",
    "WLS": "Wales",
    "SCT": "Scotland",
    "NIR": "Northern Ireland",
}
FOIA_WORKING_DAYS = 20
# The Banking and Financial Dealings Act 1971 is the statutory base; earlier or far-future years
# are almost certainly typing mistakes.
MIN_YEAR, MAX_YEAR = 1972, 2100


def _easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(year, month, day + 1)


def _nations_phrase(codes: list[str]) -> str:
    if len(codes) == len(NATIONS):
        return "bank holiday in all of the UK"
    names = [NATIONS[c] for c in NATIONS if c in codes]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"bank holiday in {joined}"


@lru_cache(maxsize=256)
def _year_holidays(year: int) -> Mapping[dt.date, str]:
    """Weekday non-working days in `year` with a reason each (cached per year)."""
    names: dict[dt.date, list[str]] = {}
    nations: dict[dt.date, list[str]] = {}
    for code in NATIONS:
        calendar = holidays.country_holidays("GB", subdiv=code, years=year)
        for day in calendar:
            if day.weekday() >= 5:
                continue
            nations.setdefault(day, []).append(code)
            for name in calendar.get_list(day):
                if name not in names.setdefault(day, []):
                    names[day].append(name)
    reasons = {
        day: f"{'; '.join(names[day])} ({_nations_phrase(nations[day])})" for day in sorted(names)
    }
    # s.10(6) names these two directly; keep them even if the library ever drops them.
    good_friday = _easter_sunday(year) - dt.timedelta(days=2)
    reasons.setdefault(good_friday, "Good Friday")
    christmas = dt.date(year, 12, 25)
    if christmas.weekday() < 5:
        reasons.setdefault(christmas, "Christmas Day")
    return reasons


def _check_year(day: dt.date) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InputError(
            f"date {day.isoformat()} is outside the supported years {MIN_YEAR}–{MAX_YEAR}"
        )


def non_working_reason(day: dt.date) -> str | None:
    """Why `day` is not a working day ("Saturday", "Good Friday", ...), or None if it is one."""
    _check_year(day)
    if day.weekday() == 5:
        return "Saturday"
    if day.weekday() == 6:
        return "Sunday"
    return _year_holidays(day.year).get(day)


def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day under FOIA s.10(6)."""
    return non_working_reason(day) is None


def holidays_between(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Weekday non-working days from `start` to `end` inclusive, with reasons."""
    _check_year(start)
    _check_year(end)
    found: dict[dt.date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update({d: r for d, r in _year_holidays(year).items() if start <= d <= end})
    return found


def add_working_days(start: dt.date, n: int) -> tuple[dt.date, list[tuple[dt.date, str]]]:
    """The `n`th working day after `start` (`start` itself is day 0).

    Args:
        start: the starting date (e.g. the date of receipt); it may be a non-working day.
        n: working days to add (≥ 0).

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
        reason = non_working_reason(day)
        if reason is None:
            counted += 1
        else:
            skipped.append((day, reason))
    return day, skipped


def count_working_days(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end`.

    So ``count_working_days(received, deadline(received).due) == 20``, and the working days in
    the inclusive range [a, b] are ``count_working_days(a - 1 day, b)``. Negative when `end`
    is before `start`.
    """
    if end < start:
        return -count_working_days(end, start)
    hols = list(holidays_between(start, end))
    begin = start + dt.timedelta(days=1)
    stop = end + dt.timedelta(days=1)
    # busday_count counts Mon-Fri days in [begin, stop) that are not in `holidays`.
    return int(np.busday_count(begin, stop, holidays=hols))


def working_days_inclusive(first: dt.date, last: dt.date) -> int:
    """Working days from `first` to `last`, both included (0 if neither side has any)."""
    return count_working_days(first - dt.timedelta(days=1), last)


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
    _check_year(day)
    return day
