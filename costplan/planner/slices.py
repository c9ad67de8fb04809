"""Slices of one request item for section 16 advice: which areas, days and hours to keep.

A slice keeps some of an item's boroughs and either a run of consecutive days (or nights) with
one contiguous window of the clock on each of them (at most MAX_DAILY_HOURS when on several
days), or, for a whole-day item, one continuous period ("from 15:00 on 24 June to 09:00 on 26
June"). A window may cross midnight into the next morning when the next day is also asked
about (a whole-day item) or when the item's own window runs overnight; it is never "the
evening and the early morning of the same day", which is not one stretch of time.

`search` finds, for every shape (fewer boroughs, fewer days, fewer hours and each combination),
the slice that keeps the most *relevant* records (tagged, or matching a keyword or code: what
the request is about) with no more than a budget of records to read; ties keep more records
(tags and words find only some of what a request is about), then the earlier start. An item
with no relevant record anywhere is searched for the most records instead. The search is
polynomial: for each of at most ~26 candidate windows it runs two-pointer scans over the days,
for all boroughs and for growing sets of the boroughs that hold most relevant records
(stopping once even one day no longer fits), and a greedy pass over boroughs for the whole
period; periods are two-pointer scans over the hours of the whole period, for all boroughs and
growing sets while the best period lasts a day or more:
O(windows × (boroughs × days + boroughs × hours) + boroughs × days × hours). It is a heuristic
(the exact problem is a knapsack), but every slice it offers is counted exactly, and when it
finds none the smallest units (one borough, one day, one hour) are searched exhaustively, so
"nothing fits" is exact at that grain.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain
from operator import add, sub
from typing import Any, NamedTuple

from costplan.planner.breakdown import Breakdown, any_set, is_array
from costplan.planner.strategies import ItemPlan

# Shapes, by what they restrict: the Advice kind names them.
BOROUGHS, DATES, HOURS = "boroughs", "dates", "hours"
# The longest window offered on each of several days; a longer stretch reads better as one
# continuous period ("from 15:00 on 24 June to 09:00 on 26 June").
MAX_DAILY_HOURS = 12


@dataclass(frozen=True)
class Grid:
    """An item's breakdown as prefix sums over one flat timeline per borough.

    The timeline has `width` hour slots a day, slot 0 starting at the hour of the item's window
    (midnight for a whole-day item); index day × width + slot. For a whole-day item the days
    follow each other, so a window running past slot 23 continues into the next morning.
    """

    ip: ItemPlan
    boroughs: tuple[str, ...]
    days: tuple[dt.date, ...]
    width: int
    first_hour: int
    # The item's window in minutes after the midnight starting its day (end up to 2880).
    start: int
    end: int
    wraps: bool  # windows may cross midnight into the next day of the item
    hours: bool  # the hour slots can be described (False for a window like 02:30-02:15)
    rec: tuple[array[int], ...]  # per borough, prefix sums of records
    rel: tuple[array[int], ...]  # per borough, prefix sums of relevant (or records: see gain)
    all_rec: array[int]
    all_rel: array[int]
    by_relevant: bool  # False: the item has no relevant record, so records are the gain

    @property
    def gain(self) -> int:
        """The gain of the whole item (its relevant records, or its records)."""
        return self.all_rel[-1]

    @property
    def whole(self) -> tuple[int, int]:
        return (0, self.width)

    def span(self, window: tuple[int, int]) -> tuple[int, int]:
        """The minutes (after the midnight of the slice's day) a window of slots covers."""
        if window == self.whole:
            return self.start, self.end
        s, length = window
        lo = max(self.start, (self.first_hour + s) * 60)
        hi = min(self.end if not self.wraps else 2880, (self.first_hour + s + length) * 60)
        return lo, hi

    def nights(self, window: tuple[int, int]) -> int:
        """How many days a window can be asked on: one fewer if it runs into the next day."""
        s, length = window
        return len(self.days) - 1 if s + length > self.width else len(self.days)


def grid(ip: ItemPlan) -> Grid:
    """Lay an item's breakdown rows out as prefix sums (one pass over the rows)."""
    item = ip.item
    start, end = item.window if item.window is not None else (0, 1440)
    if end <= start:
        end += 1440
    first_hour = start // 60
    width = -(-end // 60) - first_hour
    hours = width <= 24
    width = min(width, 24)
    days = tuple(item.date_from + dt.timedelta(days=i) for i in range(item.days))
    bd = ip.breakdown
    by_relevant = any_set(bd.relevant)
    line = _Timeline(item.boroughs, item.date_from, len(days), width, first_hour)
    # Columns fetched as arrays (many rows) are laid out with NumPy, rows with a loop: the same
    # layout (tests/test_advice.py holds the two against each other).
    lay = _lay_arrays if is_array(bd.records) and len(bd) else _lay_rows
    boroughs, rec, rel, all_rec, all_rel = lay(bd, line, by_relevant)
    return Grid(
        ip=ip,
        boroughs=boroughs,
        days=days,
        width=width,
        first_hour=first_hour,
        start=start,
        end=end,
        wraps=item.window is None and len(days) > 1,
        hours=hours,
        rec=rec,
        rel=rel,
        all_rec=all_rec,
        all_rel=all_rel,
        by_relevant=by_relevant,
    )


class _Timeline(NamedTuple):
    """Where a breakdown row goes: the item's boroughs first, day d's slots from d × width."""

    boroughs: tuple[str, ...]
    first_day: dt.date
    days: int
    width: int
    first_hour: int


# The boroughs; per borough prefix sums of records and of gain; those of every borough.
_Sums = tuple["array[int]", ...]
_Laid = tuple[tuple[str, ...], _Sums, _Sums, "array[int]", "array[int]"]


def _lay_rows(bd: Breakdown, line: _Timeline, by_relevant: bool) -> _Laid:
    """The layout of a breakdown held as tuples: one pass over the rows."""
    boroughs = tuple(dict.fromkeys([*line.boroughs, *dict.fromkeys(bd.borough)]))
    index = {b: i for i, b in enumerate(boroughs)}
    width, n = line.width, line.days * line.width
    raw_rec = [[0] * n for _ in boroughs]
    raw_rel = [[0] * n for _ in boroughs]
    gains = bd.relevant if by_relevant else bd.records
    # A day's and an hour's place on the timeline looked up, not computed per row. -1: outside
    # the grid.
    start_of = {d: (d - line.first_day).days * width for d in set(bd.day)}
    start_of = {d: t if 0 <= t < n else -1 for d, t in start_of.items()}
    slot_of = [(h - line.first_hour) % 24 for h in range(24)]
    slot_of = [x if x < width else -1 for x in slot_of]
    for b, day, h, rec, gain in zip(bd.borough, bd.day, bd.hour, bd.records, gains, strict=True):
        t = start_of[day]
        slot = slot_of[h]
        if t < 0 or slot < 0:
            continue
        t += slot
        i = index[b]
        raw_rec[i][t] += rec
        raw_rel[i][t] += gain
    all_rec = [sum(col) for col in zip(*raw_rec, strict=True)] if raw_rec else [0] * n
    all_rel = [sum(col) for col in zip(*raw_rel, strict=True)] if raw_rel else [0] * n
    return (
        boroughs,
        tuple(_prefix(x) for x in raw_rec),
        tuple(_prefix(x) for x in raw_rel),
        _prefix(all_rec),
        _prefix(all_rel),
    )


def _lay_arrays(bd: Breakdown, line: _Timeline, by_relevant: bool) -> _Laid:
    """The layout of a breakdown held as NumPy arrays (a year of every borough is 280 k rows:
    about 15 ms, against 110 ms for the loop)."""
    import numpy as np

    names: Any = bd.borough
    # Rows come borough by borough: each run's name is looked up once.
    starts = np.flatnonzero(np.concatenate(([True], names[1:] != names[:-1])))
    run_names = names[starts].tolist()
    boroughs = tuple(dict.fromkeys([*line.boroughs, *run_names]))
    index = {b: i for i, b in enumerate(boroughs)}
    run_codes = np.array([index[b] for b in run_names], dtype=np.int64)
    codes = np.repeat(run_codes, np.diff(np.append(starts, len(names))))
    day = np.asarray(bd.day, dtype="datetime64[D]")
    offset = (day - np.datetime64(line.first_day, "D")).astype(np.int64)
    slot = (np.asarray(bd.hour, dtype=np.int64) - line.first_hour) % 24
    keep = (offset >= 0) & (offset < line.days) & (slot < line.width)
    n = line.days * line.width
    cell = (codes * n + offset * line.width + slot)[keep]

    def laid(values: Any) -> Any:
        # Float sums of counts are exact below 2**53 records.
        sums = np.bincount(cell, weights=np.asarray(values)[keep], minlength=len(boroughs) * n)
        return sums.astype(np.int64).reshape(len(boroughs), n)

    def prefix(row: Any) -> array[int]:
        return array("q", np.concatenate(([0], np.cumsum(row, dtype=np.int64))).tobytes())

    rec = laid(bd.records)
    rel = laid(bd.relevant if by_relevant else bd.records)
    return (
        boroughs,
        tuple(prefix(r) for r in rec),
        tuple(prefix(r) for r in rel),
        prefix(rec.sum(axis=0)),
        prefix(rel.sum(axis=0)),
    )


def _prefix(values: Sequence[int]) -> array[int]:
    return array("q", accumulate(values, initial=0))


@dataclass(frozen=True)
class Slice:
    """Some boroughs (indices into the grid's) and either days first..last with a window
    (slot, length) on each, or one continuous `period` [from, to) of the flat timeline."""

    boroughs: tuple[int, ...]
    first: int
    last: int
    window: tuple[int, int]
    records: int
    gain: int
    period: tuple[int, int] | None = None

    def shape(self, g: Grid) -> tuple[str, ...]:
        """What the slice narrows, in a fixed order: boroughs, dates, hours."""
        out = []
        if len(self.boroughs) < len(g.boroughs):
            out.append(BOROUGHS)
        if self.period is not None:
            if self.period != (0, len(g.days) * g.width):
                out.append(DATES)
            if self.period[0] % g.width or self.period[1] % g.width:
                out.append(HOURS)
            return tuple(out)
        if (self.first, self.last) != (0, len(g.days) - 1):
            out.append(DATES)
        if self.window != g.whole:
            out.append(HOURS)
        return tuple(out)

    def key(self, g: Grid) -> tuple[int, int, int]:
        """Better is larger: more relevant kept, more records, the earlier start."""
        return (self.gain, self.records, -self.intervals(g)[0][0])

    def intervals(self, g: Grid) -> list[tuple[int, int]]:
        """The slice's stretches of the flat timeline (the same for each of its boroughs)."""
        if self.period is not None:
            return [self.period]
        s, length = self.window
        if self.window == g.whole:
            return [(self.first * g.width, (self.last + 1) * g.width)]
        days = range(self.first, self.last + 1)
        return [(d * g.width + s, d * g.width + s + length) for d in days]


def period_slice(
    g: Grid, boroughs: tuple[int, ...], lo: int, hi: int, records: int, gain: int
) -> Slice:
    """A continuous stretch [lo, hi) of the timeline; whole days are a run of days."""
    w = g.width
    if lo % w == 0 and hi % w == 0:
        return Slice(boroughs, lo // w, hi // w - 1, g.whole, records, gain)
    return Slice(boroughs, lo // w, (hi - 1) // w, (lo % w, hi - lo), records, gain, (lo, hi))


def count(g: Grid, boroughs: Sequence[int], intervals: Sequence[tuple[int, int]]) -> int:
    """Records in some boroughs over some stretches of the timeline."""
    return sum(g.rec[b][hi] - g.rec[b][lo] for b in boroughs for lo, hi in intervals)


def union_records(g: Grid, a: Slice, b: Slice) -> int:
    """Records in either of two slices of the same item (each record counted once)."""
    shared = sorted(set(a.boroughs) & set(b.boroughs))
    if not shared:
        return a.records + b.records
    both = []
    ia, ib = a.intervals(g), b.intervals(g)
    i = j = 0
    while i < len(ia) and j < len(ib):
        lo, hi = max(ia[i][0], ib[j][0]), min(ia[i][1], ib[j][1])
        if lo < hi:
            both.append((lo, hi))
        if ia[i][1] < ib[j][1]:
            i += 1
        else:
            j += 1
    return a.records + b.records - count(g, shared, both)


# ---- the search ----------------------------------------------------------------------------


def best_run(rec: Sequence[int], gain: Sequence[int], budget: int) -> tuple[int, int, int, int]:
    """The run of consecutive slots with at most `budget` records keeping the most gain.

    Ties keep more records, then the earlier run. Two pointers, O(n): counts are never
    negative, so for each last slot the best first slot is the earliest that fits. Returns
    (first, last, records, gain); an empty run (last < first) when no single slot fits.
    """
    best = (0, -1, 0, 0)
    best_key = (0, 0, 1)
    lo = total = kept = 0
    for hi, (c, v) in enumerate(zip(rec, gain, strict=True)):
        total += c
        kept += v
        while total > budget:
            total -= rec[lo]
            kept -= gain[lo]
            lo += 1
        if lo <= hi and (kept, total, -lo) > best_key:
            best, best_key = (lo, hi, total, kept), (kept, total, -lo)
    return best


def _day_sums(prefix: array[int], g: Grid, window: tuple[int, int]) -> list[int]:
    """The records (or gain) of a window on each day it can be asked on."""
    s, length = window
    w, nd = g.width, g.nights(window)
    # Strided slices and map: the day loop in C (called per window and borough).
    return list(map(sub, prefix[s + length :: w][:nd], prefix[s::w][:nd]))


def _windows(g: Grid, budget: int) -> list[tuple[int, int]]:
    """Candidate windows: the whole window; for each length the window keeping most gain over
    the whole item; and the best window that fits on every day with every borough."""
    out = [g.whole]
    if not g.hours:
        return out
    w, nd = g.width, len(g.days)
    hist_rec = [sum(_day_sums(g.all_rec, g, (s, 1))) for s in range(w)]
    hist_rel = [sum(_day_sums(g.all_rel, g, (s, 1))) for s in range(w)]
    fitting: tuple[tuple[int, int, int], tuple[int, int]] | None = None
    for length in range(1, w):
        best: tuple[tuple[int, int], tuple[int, int]] | None = None
        for s in range(w if g.wraps else w - length + 1):
            slots = [(s + i) % w for i in range(length)]
            rec = sum(hist_rec[x] for x in slots)
            rel = sum(hist_rel[x] for x in slots)
            if best is None or (rel, -rec) > best[0]:
                best = ((rel, -rec), (s, length))
            if s + length > w:
                # Over the nights only: not the first morning, not the last evening.
                into = s + length - w
                last = (nd - 1) * w
                rec -= g.all_rec[nd * w] - g.all_rec[last + s] + g.all_rec[into]
                rel -= g.all_rel[nd * w] - g.all_rel[last + s] + g.all_rel[into]
            if 0 < rec <= budget and (fitting is None or (rel, rec, -s) > fitting[0]):
                fitting = ((rel, rec, -s), (s, length))
        if best is not None:
            out.append(best[1])
    if fitting is not None:
        out.append(fitting[1])
    return list(dict.fromkeys(out))


def _candidates(g: Grid, budget: int) -> Iterator[Slice]:
    nb = len(g.boroughs)
    everyone = tuple(range(nb))
    for window in _windows(g, budget):
        # Every borough, the best run of days.
        rec, rel = _day_sums(g.all_rec, g, window), _day_sums(g.all_rel, g, window)
        first, last, records, gain = best_run(rec, rel, budget)
        if last >= first:
            yield Slice(everyone, first, last, window, records, gain)
        if nb == 1:
            continue
        per = [(_day_sums(g.rec[b], g, window), _day_sums(g.rel[b], g, window)) for b in everyone]
        totals = [(sum(r), sum(v)) for r, v in per]
        # Growing sets of the boroughs holding most relevant records, the best run for each.
        order = sorted(everyone, key=lambda b: (-totals[b][1], totals[b][0], b))
        cum_rec, cum_rel = [0] * len(rec), [0] * len(rec)
        for k, b in enumerate(order[:-1], start=1):
            cum_rec = list(map(add, cum_rec, per[b][0]))
            cum_rel = list(map(add, cum_rel, per[b][1]))
            if min(cum_rec, default=budget + 1) > budget:
                break
            first, last, records, gain = best_run(cum_rec, cum_rel, budget)
            yield Slice(tuple(sorted(order[:k])), first, last, window, records, gain)
        # The whole period: boroughs by relevant records per record read, each that still fits.
        dense = sorted(everyone, key=lambda b: (-totals[b][1] / max(totals[b][0], 1), b))
        chosen, records, gain = [], 0, 0
        for b in dense:
            if 0 < totals[b][0] <= budget - records:
                chosen.append(b)
                records += totals[b][0]
                gain += totals[b][1]
        if chosen:
            yield Slice(tuple(sorted(chosen)), 0, len(rec) - 1, window, records, gain)


def _periods(g: Grid, budget: int) -> Iterator[Slice]:
    """Continuous stretches of a whole-day item's timeline across midnight(s): for every
    borough, then for growing sets of the boroughs holding most relevant records while the
    best stretch still lasts a day or more (a shorter one is a window on one day)."""
    if not g.wraps:
        return
    n = len(g.days) * g.width
    everyone = tuple(range(len(g.boroughs)))

    def hourly(prefix: array[int]) -> list[int]:
        return list(map(sub, prefix[1 : n + 1], prefix[:n]))

    first, last, records, gain = best_run(hourly(g.all_rec), hourly(g.all_rel), budget)
    if last >= first:
        yield period_slice(g, everyone, first, last + 1, records, gain)
    order = sorted(everyone, key=lambda b: (-g.rel[b][n], g.rec[b][n], b))
    cum_rec, cum_rel = [0] * n, [0] * n
    for k, b in enumerate(order[:-1], start=1):
        cum_rec = list(map(add, cum_rec, hourly(g.rec[b])))
        cum_rel = list(map(add, cum_rel, hourly(g.rel[b])))
        first, last, records, gain = best_run(cum_rec, cum_rel, budget)
        if last - first + 1 < g.width:
            break
        yield period_slice(g, tuple(sorted(order[:k])), first, last + 1, records, gain)


def _offered(g: Grid, sl: Slice) -> bool:
    """Whether a slice may be offered: it keeps something relevant, narrows something, and a
    window on several days is not longer than MAX_DAILY_HOURS."""
    long_daily = (
        sl.period is None
        and sl.window != g.whole
        and sl.last > sl.first
        and sl.window[1] > MAX_DAILY_HOURS
    )
    return sl.gain > 0 and bool(sl.shape(g)) and not long_daily


def search(g: Grid, budget: int, most: int = 4) -> list[Slice]:
    """The best slice of each shape that fits `budget` records, best first, at most `most`.

    A shape that narrows more (say boroughs and days) is offered only if it keeps more than
    every simpler shape offered; slices keeping nothing relevant are never offered. If no
    candidate fits, the single borough-day-hour that keeps most is offered when one fits, so
    an empty answer means that not even one hour of one borough on one day fits.
    """
    best: dict[tuple[str, ...], Slice] = {}
    for sl in chain(_candidates(g, budget), _periods(g, budget)):
        shape = sl.shape(g)
        if _offered(g, sl) and (shape not in best or sl.key(g) > best[shape].key(g)):
            best[shape] = sl
    if not best:
        unit = max(
            (u for u in units(g) if u[3] <= budget and u[4] > 0),
            key=lambda u: (u[4], u[3], -u[1], -u[2], -u[0]),
            default=None,
        )
        if unit is None:
            return []
        b, d, s, records, gain = unit
        sl = Slice((b,), d, d, (s, 1) if g.hours else g.whole, records, gain)
        return [sl] if sl.shape(g) else []
    kept: list[Slice] = []
    for sl in sorted(best.values(), key=lambda x: (len(x.shape(g)), [-k for k in x.key(g)])):
        if all(len(k.shape(g)) >= len(sl.shape(g)) or k.gain < sl.gain for k in kept):
            kept.append(sl)
    kept.sort(key=lambda x: ([-k for k in x.key(g)], len(x.shape(g))))
    return kept[:most]


def units(g: Grid) -> Iterator[tuple[int, int, int, int, int]]:
    """The smallest slices that can be offered: (borough, day, slot, records, gain) for each
    borough-day-hour, or each borough-day (slot 0) when the hours cannot be described."""
    step = 1 if g.hours else g.width
    for b in range(len(g.boroughs)):
        rec, rel = g.rec[b], g.rel[b]
        for t in range(0, len(g.days) * g.width, step):
            records = rec[t + step] - rec[t]
            if records:
                yield (b, t // g.width, t % g.width, records, rel[t + step] - rel[t])


def cheapest_unit(g: Grid) -> tuple[int, int, int, int] | None:
    """Of the smallest slices keeping anything relevant, the one with the fewest records:
    (borough, day, slot, records). When even it exceeds the budget, no slice fits."""
    unit = min(
        (u for u in units(g) if u[4] > 0), key=lambda u: (u[3], u[1], u[2], u[0]), default=None
    )
    return None if unit is None else unit[:4]
