"""Synthetic, deterministic request items for the section 16 advice tests and bench.

Each case builds `ItemPlan`s straight from breakdown rows (borough, day, hour, records,
relevant): no store, no query. Volumes follow a daily shape (quiet small hours, an evening
peak, busier Fridays and Saturdays, a slow seasonal swing, a fixed per-day wobble); relevant
records sit where the request's subject is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from costplan.costmodel.estimate import estimate
from costplan.costmodel.regimes import load_regimes
from costplan.planner.breakdown import BreakdownRow
from costplan.planner.strategies import (
    FULL_REVIEW,
    KEYWORD,
    TAG_QUERY,
    ItemPlan,
    StrategyResult,
    load_config,
    strategy_activities,
)
from costplan.request import Item
from costplan.schema import BOROUGHS

REGIME = load_regimes().get("uk-foia-other")
CFG = load_config()
D = dt.date

# Share of a day's CADs created in each hour of the clock (sums to 1).
_HOURLY = [3.0, 2.4, 2.0, 1.6, 1.3, 1.2, 1.6, 2.6, 3.6, 4.2, 4.5, 4.7,
           4.9, 4.9, 5.0, 5.2, 5.5, 5.8, 6.0, 6.0, 5.8, 5.3, 4.6, 3.7]  # fmt: skip
HOURLY = [h / sum(_HOURLY) for h in _HOURLY]
WEEKDAY = [0.95, 0.93, 0.95, 0.98, 1.08, 1.12, 1.0]  # Monday first


def daily_volume(base: float, day: dt.date) -> float:
    """A borough's CADs on a day: weekday, a gentle seasonal swing and a fixed wobble."""
    season = 1 + 0.06 * ((day.timetuple().tm_yday % 183) / 183 - 0.5)
    wobble = 1 + ((day.toordinal() * 7919) % 23 - 11) / 200
    return base * WEEKDAY[day.weekday()] * season * wobble


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def item_plan(
    item: Item,
    rows: Iterable[BreakdownRow],
    per: Decimal = Decimal(3),
    tagged_share: float = 0.6,
) -> ItemPlan:
    """An ItemPlan as `plan_item` would build it from these rows (tagged: a share of the
    relevant records; keyword: all of them)."""
    rows = tuple(rows)
    full = sum(r.records for r in rows)
    relevant = sum(r.relevant for r in rows)
    counts = {FULL_REVIEW: full, TAG_QUERY: int(relevant * tagged_share), KEYWORD: relevant}
    names = ([TAG_QUERY] if item.tags else []) + ([KEYWORD] if item.keywords else [])
    results = []
    for name in [*names, FULL_REVIEW]:
        acts = tuple(strategy_activities(name, counts[name], item, per, CFG))
        results.append(
            StrategyResult(
                strategy=name,
                records=counts[name],
                activities=acts,
                estimate=estimate(REGIME, acts),
                complete=name == FULL_REVIEW,
                query="plan_item_counts",
            )
        )
    return ItemPlan(item, tuple(results), rows)


Relevant = Callable[[str, dt.date, int, int], int]


def rows_for(item: Item, bases: dict[str, float], relevant: Relevant) -> list[BreakdownRow]:
    """Rows for every borough, day and hour of an item's scope (whole days only)."""
    out = []
    for b in item.boroughs:
        for day in days(item.date_from, item.date_to):
            volume = daily_volume(bases[b], day)
            for h in range(24):
                records = round(volume * HOURLY[h])
                out.append(
                    BreakdownRow(b, day, h, records, min(records, relevant(b, day, h, records)))
                )
    return out


# ---- the four golden cases -----------------------------------------------------------------


def whole_year() -> ItemPlan:
    """(1) Lambeth, all of 2021: unlicensed music events on summer weekend nights, the worst
    on the night of Saturday 26 June."""
    item = Item("Lambeth UME 2021", ("Lambeth",), D(2021, 1, 1), D(2021, 12, 31),
                tags=("UME",), keywords=("rave", "music"))  # fmt: skip

    def relevant(b: str, day: dt.date, h: int, records: int) -> int:
        night = day - dt.timedelta(days=1) if h < 5 else day  # the small hours: last night
        if night == D(2021, 6, 26) and (h >= 21 or h < 5):
            return 9
        if night.month in (6, 7, 8) and night.weekday() in (4, 5) and (h >= 22 or h < 4):
            return 2
        return 1 if (day.toordinal() * 24 + h) % 131 == 0 else 0

    return item_plan(item, rows_for(item, {"Lambeth": 300.0}, relevant))


SUBJECT_BOROUGHS = {"Lambeth": 6, "Southwark": 3, "Haringey": 2, "Hackney": 2}


def london_month() -> ItemPlan:
    """(2) All 32 boroughs, June 2020: raves mostly in four boroughs at weekends, the worst in
    Lambeth on the night of Thursday 25 June."""
    names = tuple(b.name for b in BOROUGHS)
    bases = {n: 120.0 + (i * 37) % 330 for i, n in enumerate(names)}
    bases["Lambeth"] = 310.0
    item = Item("raves June 2020", names, D(2020, 6, 1), D(2020, 6, 30),
                tags=("UME",), keywords=("rave", "music"))  # fmt: skip

    def relevant(b: str, day: dt.date, h: int, records: int) -> int:
        weight = SUBJECT_BOROUGHS.get(b, 0)
        night = day - dt.timedelta(days=1) if h < 5 else day
        if b == "Lambeth" and night == D(2020, 6, 25) and (h >= 19 or h < 3):
            return 8
        if weight and night.weekday() in (4, 5) and (h >= 21 or h < 3):
            return weight // 2 + 1
        return 1 if (day.toordinal() * 31 + h * 7 + len(b)) % 173 == 0 else 0

    return item_plan(item, rows_for(item, bases, relevant))


FIREWORK_HOURS = {12: 22, 13: 22, 14: 22, 15: 22, 16: 22, 17: 22, 18: 45, 19: 45, 20: 45,
                  21: 45, 22: 45, 23: 45, 0: 35, 1: 25, 2: 14, 3: 14, 4: 14, 5: 14}  # fmt: skip
FIREWORK_RELEVANT = {17: 2, 18: 20, 19: 20, 20: 20, 21: 20, 22: 20, 23: 20, 0: 15, 1: 4}


def fireworks() -> ItemPlan:
    """(3) Lambeth on bonfire night, 5 November 2020 from 12:00 to 06:00 the next morning;
    most CADs about fireworks between 18:00 and 01:00."""
    item = Item("bonfire night", ("Lambeth",), D(2020, 11, 5), D(2020, 11, 5), window=(720, 360),
                tags=("FIREWORKS",), keywords=("firework",))  # fmt: skip
    rows = [
        BreakdownRow("Lambeth", D(2020, 11, 5), h, n, FIREWORK_RELEVANT.get(h, 1))
        for h, n in FIREWORK_HOURS.items()
    ]
    return item_plan(item, rows)


CARNIVAL_HOURS = [110, 104, 100, 98, 96, 95, 120, 150, 190, 240, 280, 300,
                  310, 320, 320, 310, 300, 280, 260, 240, 220, 190, 160, 130]  # fmt: skip


def carnival() -> ItemPlan:
    """(4) Kensington and Chelsea on carnival Monday, 26 August 2019, read at 12 minutes a
    CAD (a timed sample): even the quietest hour holds more than 18 hours of reading."""
    item = Item("carnival Monday", ("Kensington and Chelsea",), D(2019, 8, 26), D(2019, 8, 26),
                keywords=("carnival", "sound system"), minutes_per_record=12)  # fmt: skip
    rows = [
        BreakdownRow("Kensington and Chelsea", D(2019, 8, 26), h, n, n // 4 if 10 <= h < 21 else 3)
        for h, n in enumerate(CARNIVAL_HOURS)
    ]
    return item_plan(item, rows, per=Decimal(12))


def many_items(n: int, boroughs: Sequence[str] = ("Lambeth", "Southwark")) -> list[ItemPlan]:
    """n one-day parts (one borough-day each, 150 to 400 CADs): some fit alone, none together."""
    plans = []
    for i in range(n):
        day = D(2020, 1, 1) + dt.timedelta(days=i)
        b = boroughs[i % len(boroughs)]
        item = Item(f"part {i + 1}", (b,), day, day, tags=("UME",))
        base = 150.0 + (i * 61) % 250

        def relevant(b: str, d: dt.date, h: int, records: int, i: int = i) -> int:
            return 1 if (h + i) % 5 == 0 else 0

        plans.append(item_plan(item, rows_for(item, {b: base}, relevant)))
    return plans


def many_wide_items(n: int) -> list[ItemPlan]:
    """n parts of 3 boroughs x 14 days each, every one over the limit on its own (each is
    narrowed, and every pair of suggestions is checked)."""
    names = [b.name for b in BOROUGHS]
    plans = []
    for i in range(n):
        first = D(2020, 1, 1) + dt.timedelta(days=7 * i)
        boroughs = tuple(names[(3 * i + k) % len(names)] for k in range(3))
        item = Item(f"part {i + 1}", boroughs, first, first + dt.timedelta(days=13),
                    tags=("UME",))  # fmt: skip
        bases = {b: 120.0 + (i * 37 + k * 53) % 250 for k, b in enumerate(boroughs)}

        def relevant(b: str, d: dt.date, h: int, records: int, i: int = i) -> int:
            return 1 if (d.toordinal() + h + i) % 11 == 0 and h >= 18 else 0

        plans.append(item_plan(item, rows_for(item, bases, relevant)))
    return plans


def big_grid(boroughs: int = 32, n_days: int = 365) -> ItemPlan:
    """One part asking about `boroughs` boroughs for `n_days` days (the bench's worst case)."""
    names = tuple(b.name for b in BOROUGHS[:boroughs])
    item = Item("big", names, D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days=n_days - 1),
                tags=("UME",), keywords=("rave",))  # fmt: skip
    bases = {n: 120.0 + (i * 37) % 330 for i, n in enumerate(names)}

    def relevant(b: str, day: dt.date, h: int, records: int) -> int:
        return 2 if day.weekday() == 5 and h >= 21 and len(b) % 3 == 0 else 0

    return item_plan(item, rows_for(item, bases, relevant))
