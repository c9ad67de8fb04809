"""Section 16 advice in words a requester reads: dates, times, areas and subjects.

"5 November 2020", "1 to 14 March 2020", "between 18:00 on 5 November and 01:00 on 6 November
2020" (a window crossing midnight is one stretch of time), "in Lambeth and in Barking and
Dagenham", 'tagged UME or mentioning "rave"'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from costplan.planner.slices import Grid, Slice
from costplan.request import Item, clock
from costplan.units import and_list, or_list

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
DAY = dt.timedelta(days=1)


def day_words(day: dt.date, year: bool = True) -> str:
    """5 November 2020."""
    return f"{day.day} {MONTHS[day.month - 1]}" + (f" {day.year}" if year else "")


def days_words(first: dt.date, last: dt.date) -> str:
    """1 to 14 March 2020; 28 February to 3 March 2020; 30 December 2020 to 2 January 2021."""
    if first == last:
        return day_words(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} to {day_words(last)}"
    return f"{day_words(first, year=first.year != last.year)} to {day_words(last)}"


def clock_words(minutes: int) -> str:
    """18:00; midnight."""
    return "midnight" if minutes % 1440 == 0 else clock(minutes % 1440)


def _two_days(a: str, first: dt.date, b: str, last: dt.date) -> str:
    """'18:00 on 5 November and 01:00 on 6 November 2020' (the year once if it is one)."""
    return f"{a} on {day_words(first, year=first.year != last.year)} and {b} on {day_words(last)}"


def when(g: Grid, sl: Slice) -> str:
    """The days and hours of a slice as a person says them."""
    if sl.period is not None:
        return _period(g, *sl.period)
    first, last = g.days[sl.first], g.days[sl.last]
    lo, hi = g.span(sl.window)
    if lo >= 1440:  # a window wholly in the morning after its day: say that morning's date
        first, last, lo, hi = first + DAY, last + DAY, lo - 1440, hi - 1440
    if (lo, hi) == (0, 1440):
        return f"on {day_words(first)}" if first == last else f"from {days_words(first, last)}"
    a, b = clock_words(lo), clock_words(hi)
    if hi <= 1440:
        if first == last:
            return f"between {a} and {b} on {day_words(first)}"
        return f"between {a} and {b} on each day from {days_words(first, last)}"
    if first == last:
        return f"between {_two_days(a, first, b, first + DAY)}"
    nights = days_words(first, last)
    return f"between {a} and {b} the next morning, on each of the nights of {nights}"


def _period(g: Grid, lo: int, hi: int) -> str:
    """A continuous stretch of a whole-day item: 'between 15:00 on 24 June and 09:00 on 26
    June 2020', 'from 15:00 on 24 June to the end of 26 June 2020'."""
    w = g.width
    first, last = g.days[lo // w], g.days[(hi - 1) // w]
    if hi % w:
        last = g.days[hi // w]
    a = clock_words(lo % w * 60)
    if first == last:
        return f"between {a} and {clock_words(hi % w * 60)} on {day_words(first)}"
    if lo % w and hi % w:
        return f"between {_two_days(a, first, clock_words(hi % w * 60), last)}"
    year = first.year != last.year
    start = (
        f"the start of {day_words(first, year)}"
        if lo % w == 0
        else f"{a} on {day_words(first, year)}"
    )
    end = (
        f"the end of {day_words(last)}"
        if hi % w == 0
        else f"{clock_words(hi % w * 60)} on {day_words(last)}"
    )
    return f"from {start} to {end}"


def where(g: Grid, boroughs: Sequence[int]) -> str:
    """in Lambeth; in Lambeth and Southwark; in all 32 boroughs you asked about; in all the
    boroughs you asked about except Bexley; in these 9 boroughs: ..."""
    names = [g.boroughs[b] for b in boroughs]
    total = len(g.boroughs)
    word = g.ip.item.areas_word  # the store's word: boroughs, districts...
    if len(names) == total and total > 3:
        return f"in all {total} {word} you asked about"
    left = [b for b in g.boroughs if b not in names]
    if len(names) <= 6 or len(names) == total:
        if any(" and " in n for n in names):  # "in Lambeth and in Barking and Dagenham"
            return and_list([f"in {n}" for n in names])
        return f"in {and_list(names)}"
    if len(left) <= 3:
        return f"in all the {word} you asked about except {and_list(left)}"
    return f"in these {len(names)} {word}: {and_list(names)}"


def subject(item: Item, verb: bool = False) -> str:
    """What the relevant records are: 'tagged UME or mentioning "rave" or "music"' (or, as a
    verb, 'carry the tag UME or mention "rave" or "music"')."""
    words = ("carry the tag", "mention", "have the code")
    if not verb:
        words = ("tagged", "mentioning", "with the code")
    bits = []
    if item.tags:
        bits.append(f"{words[0]} {or_list(list(item.tags))}")
    if item.keywords:
        bits.append(f"{words[1]} " + or_list([f'"{k}"' for k in item.keywords]))
    if item.opening_codes:
        bits.append(f"{words[2]} {or_list(list(item.opening_codes))}")
    return " or ".join(bits)


def item_scope(item: Item) -> str:
    """in Lambeth on 5 November 2020; in Lambeth between 20:00 and 04:00 the next morning,
    from 1 to 7 March 2020."""
    place = and_list(list(item.boroughs))
    days = (
        f"on {day_words(item.date_from)}"
        if item.days == 1
        else f"from {days_words(item.date_from, item.date_to)}"
    )
    if item.window is None:
        return f"in {place} {days}"
    start, end = item.window
    night = " the next morning" if item.overnight else ""
    return f"in {place} between {clock_words(start)} and {clock_words(end)}{night}, {days}"
