"""Which days are working days under each regime: the calendars behind every deadline.

A regime names its calendar in `costplan/config/regimes.toml` (`calendar = "uk-any"`); this
module says what each calendar means. Three are modelled (law.md §1.9 and §5):

* ``uk-any`` (FOIA s.10(6), and the EIR, which use the same rule): a working day is any day
  other than a Saturday, a Sunday, Christmas Day, Good Friday, or a bank holiday under the
  Banking and Financial Dealings Act 1971 "in any part of the United Kingdom". So a
  Scotland-only holiday (2 January, St Andrew's Day, the first Monday in August) or a Northern
  Ireland-only one (17 March, 12 July) stops the clock for an English police force too (ICO
  LTT47). Local "privilege days" are not excluded (LTT47).
* ``scotland`` (FOISA s.73): any day other than a Saturday, a Sunday, Christmas Day or a bank
  holiday in Scotland. Easter Monday, the late-August Monday and St Patrick's Day are FOISA
  working days; 2 January, St Andrew's Day (30 November, or the Monday after when it falls at a
  weekend) and the first Monday in August are not.
* ``ireland`` (FOI Act 2014 s.13(1) and its definition of a week): weekdays that are not Irish
  public holidays. St Brigid's Day (from 2023: the first Monday in February, or 1 February when
  that is a Friday), St Patrick's Day, Easter Monday, the first Mondays of May, June and August,
  the last Monday of October, 25 and 26 December and 1 January are public holidays; Good Friday
  is NOT one, so it is a working day.

Holiday source: the `holidays` library. ``uk-any`` is the UNION of
``country_holidays("GB", subdiv=S)`` for S in ENG, WLS, SCT, NIR, weekday dates only, which
includes substitute days (28 Dec 2020) and proclaimed one-off days (3 Jun 2022, 19 Sep 2022,
8 May 2023). Plain ``country_holidays("GB")`` without a subdivision is NOT used: in holidays
0.109 it returns only the holidays common to every nation (no Easter Monday, which Scotland
lacks), and older releases returned a different set (python-holidays issue #63), so its meaning
is not stable. ``scotland`` is ``subdiv="SCT"`` alone; ``ireland`` is
``country_holidays("IE")`` (its public holidays; no substitute day when one falls at a
weekend, which is the strict reading of "public holiday" and never makes a deadline later).

The library's answers for 2000–2040 are shipped as a table (`config/holidays.json`, written by
`scripts/holiday_tables.py`), so counting a deadline need not load the library; years outside
it ask the library. Regenerate the table when the library learns a newly proclaimed holiday.

Days named by the statute itself are added by rule, so a deadline never depends on the library
listing them: Christmas Day and Good Friday for ``uk-any`` (s.10(6); in England they are
common-law holidays, not bank holidays), Christmas Day for ``scotland`` (s.73). Good Friday is
not added by rule for ``scotland``: law.md (§5) names only Christmas Day there, and adding a day
law.md does not name could only make a FOISA deadline later (the library lists Good Friday as a
Scottish bank holiday in any case). Holidays proclaimed after the installed `holidays` release
are unknown to it: update the library.

`holidays` is imported on first use, not at import time: `costmodel.regimes` reads the calendar
names from here, and most commands never count a working day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from costplan._files import config_path
from costplan.errors import InputError
from costplan.units import and_list

UK_ANY, SCOTLAND, IRELAND = "uk-any", "scotland", "ireland"

# The four parts of the UK, by `holidays` subdivision code.
NATIONS: dict[str, str] = {
    "ENG": "England",
    "WLS": "Wales",
    "SCT": "Scotland",
    "NIR": "Northern Ireland",
}
# The Banking and Financial Dealings Act 1971 is the statutory base; earlier or far-future years
# are almost certainly typing mistakes.
MIN_YEAR, MAX_YEAR = 1972, 2100
# Each calendar's holidays for the years deadlines are usually counted in, as data.
HOLIDAY_TABLE = config_path("holidays.json")


@dataclass(frozen=True)
class Calendar:
    """One regime's working-day rule.

    Attributes:
        name: the key a regime names ("uk-any").
        rule: the rule in words, with its provision, for output.
        country: the `holidays` country code.
        subdivisions: the subdivisions whose holidays are joined (empty: the whole country).
        christmas: Christmas Day is named by the statute (added by rule).
        good_friday: Good Friday is named by the statute (added by rule).
    """

    name: str
    rule: str
    country: str
    subdivisions: tuple[str, ...]
    christmas: bool
    good_friday: bool


CALENDARS: dict[str, Calendar] = {
    c.name: c
    for c in (
        # FOIA s.10(6) (law.md §1.9, §5); the EIR use the same rule (law.md §5).
        Calendar(
            UK_ANY,
            "Saturdays, Sundays, Christmas Day, Good Friday and bank holidays in any part of "
            "the UK are not working days (FOIA s.10(6); the EIR use the same rule)",
            "GB",
            tuple(NATIONS),
            christmas=True,
            good_friday=True,
        ),
        # FOISA s.73 (law.md §5).
        Calendar(
            SCOTLAND,
            "Saturdays, Sundays, Christmas Day and bank holidays in Scotland are not working "
            "days (FOISA s.73)",
            "GB",
            ("SCT",),
            christmas=True,
            good_friday=False,
        ),
        # FOI Act 2014 (Ireland) s.13(1) and its definition of a week (law.md §5).
        Calendar(
            IRELAND,
            "a week is 5 consecutive weekdays excluding Irish public holidays (Good Friday is "
            "not one) (FOI Act 2014 s.13(1))",
            "IE",
            (),
            christmas=False,
            good_friday=False,
        ),
    )
}


def calendar_of(name: str) -> Calendar:
    """The calendar called `name`.

    Raises:
        InputError: no such calendar.
    """
    try:
        return CALENDARS[name]
    except KeyError:
        raise InputError(
            f"unknown calendar '{name}'", f"choose from: {', '.join(CALENDARS)}"
        ) from None


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
    return f"bank holiday in {and_list([NATIONS[c] for c in NATIONS if c in codes])}"


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    """The shipped holiday tables (config/holidays.json), read once."""
    doc: dict[str, Any] = json.loads(HOLIDAY_TABLE.read_text(encoding="utf-8"))
    return doc


@lru_cache(maxsize=256)
def _year_holidays(calendar: str, year: int) -> Mapping[dt.date, str]:
    """Weekday non-working days of `calendar` in `year`, with a reason each (cached).

    From the shipped table for its years (loading the `holidays` library costs a plan about
    70 ms), from the library beyond them. The table is the library's answer, written by
    scripts/holiday_tables.py and checked against it by tests/test_workdays.py.
    """
    calendar_of(calendar)  # an unknown calendar is refused either way
    table = _table()
    first, last = table["years"]
    if first <= year <= last:
        days = table["calendars"][calendar][str(year)]
        return {dt.date.fromisoformat(d): reason for d, reason in days.items()}
    return library_holidays(calendar, year)


def library_holidays(calendar: str, year: int) -> dict[dt.date, str]:
    """Weekday non-working days of `calendar` in `year` from the `holidays` library, with the
    days the statute names added by rule (what the shipped table holds for its years)."""
    import holidays

    cal = calendar_of(calendar)
    names: dict[dt.date, list[str]] = {}
    where: dict[dt.date, list[str]] = {}
    for code in cal.subdivisions or (None,):
        table = holidays.country_holidays(cal.country, subdiv=code, years=year)
        for day in table:
            if day.weekday() >= 5:
                continue
            if code is not None:
                where.setdefault(day, []).append(code)
            for name in table.get_list(day):
                if name not in names.setdefault(day, []):
                    names[day].append(name)

    def phrase(day: dt.date) -> str:
        return _nations_phrase(where[day]) if cal.country == "GB" else "public holiday in Ireland"

    reasons = {day: f"{'; '.join(names[day])} ({phrase(day)})" for day in sorted(names)}
    # Days the statute names directly; kept even if the library ever drops them.
    if cal.good_friday:
        reasons.setdefault(_easter_sunday(year) - dt.timedelta(days=2), "Good Friday")
    christmas = dt.date(year, 12, 25)
    if cal.christmas and christmas.weekday() < 5:
        reasons.setdefault(christmas, "Christmas Day")
    return reasons


def check_year(day: dt.date) -> None:
    """Refuse a date outside MIN_YEAR..MAX_YEAR (almost certainly a typing mistake).

    Raises:
        InputError: the year is out of range.
    """
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InputError(
            f"date {day.isoformat()} is outside the supported years {MIN_YEAR}–{MAX_YEAR}"
        )


def non_working_reason(day: dt.date, calendar: str = UK_ANY) -> str | None:
    """Why `day` is not a working day ("Saturday", "Good Friday", ...), or None if it is one."""
    check_year(day)
    if day.weekday() == 5:
        return "Saturday"
    if day.weekday() == 6:
        return "Sunday"
    return _year_holidays(calendar, day.year).get(day)


def holidays_between(start: dt.date, end: dt.date, calendar: str = UK_ANY) -> dict[dt.date, str]:
    """Weekday non-working days of `calendar` from `start` to `end` inclusive, with reasons."""
    check_year(start)
    check_year(end)
    found: dict[dt.date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update({d: r for d, r in _year_holidays(calendar, year).items() if start <= d <= end})
    return found
