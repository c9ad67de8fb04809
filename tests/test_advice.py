"""Section 16 advice read as a requester reads it (issue 11.6): golden texts and properties.

The four golden cases (tests/golden/advice/) are built from synthetic breakdown rows
(tests/advice_cases.py), no store: a whole year in one borough, 32 boroughs for a month,
bonfire night, and a request where nothing fits. Regenerate with UPDATE_GOLDEN=1 after an
intended change, and read the diff as the requester would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from array import array
from decimal import Decimal
from pathlib import Path
from random import Random

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from costplan.costmodel.estimate import over_limit, records_within_limit
from costplan.planner.advice import MOST_PARTS, NONE_FITS, Advice, advise, alternatives
from costplan.planner.breakdown import Breakdown, BreakdownRow, total
from costplan.planner.reading import MinutesPerRecord
from costplan.planner.slices import Grid, Slice, cheapest_unit, grid, search
from costplan.planner.strategies import ItemPlan
from costplan.planner.wording import days_words, when
from costplan.render import render
from costplan.render.letter import advice_section
from costplan.request import Item
from tests import advice_cases as cases
from tests.goldens import check_golden

GOLDEN = Path(__file__).parent / "golden" / "advice"
CASES = {
    "whole_year": (cases.whole_year, Decimal(3)),
    "london_month": (cases.london_month, Decimal(3)),
    "fireworks": (cases.fireworks, Decimal(3)),
    "nothing_fits": (cases.carnival, Decimal(12)),
}
ALTERNATIVES = "Any one of them would fit within the limit on its own; they are alternatives"
NOTHING = "We could not find a narrower version of this request"


def golden(name: str, text: str) -> None:
    check_golden("advice", name, text)


def advice_for(name: str) -> tuple[ItemPlan, list[Advice]]:
    build, per = CASES[name]
    ip = build()
    return ip, advise([ip], cases.REGIME, per, cases.CFG)


def asks(advice: list[Advice]) -> list[Advice]:
    return [a for a in advice if a.kind != NONE_FITS]


def fits(a: Advice) -> bool:
    return not over_limit(cases.REGIME, a.hours * 60)


@pytest.mark.parametrize("name", CASES)
def test_advice_golden(name: str) -> None:
    _, advice = advice_for(name)
    text = advice_section(advice, "section 16 of the Freedom of Information Act 2000") + "\n"
    golden(f"{name}.txt", text)
    assert all(fits(a) for a in asks(advice)), "every suggestion fits the limit"
    assert "or from midnight" not in text and "to midnight or" not in text
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "dates are in words, not ISO"


def test_a_whole_year_is_not_advised_its_quietest_day() -> None:
    ip, advice = advice_for("whole_year")
    dates = [a for a in advice if a.kind == "dates"]
    assert len(dates) == 1 and "on 26 June 2021" in dates[0].description
    # Independently: no single day that fits keeps more relevant records.
    budget = records_within_limit(cases.REGIME, Decimal(3), cases.CFG.held_check_minutes)
    by_day: dict[dt.date, list[int]] = {}
    for r in ip.breakdown:
        acc = by_day.setdefault(r.day, [0, 0])
        acc[0] += r.records
        acc[1] += r.relevant
    fitting = {d: v for d, v in by_day.items() if v[0] <= (budget or 0)}
    quietest = min(by_day, key=lambda d: by_day[d][0])
    best = max(fitting, key=lambda d: fitting[d][1])
    assert best == dt.date(2021, 6, 26) and by_day[best][1] > by_day[quietest][1]
    assert day_words_in(quietest) not in dates[0].description
    # The best suggestion is a window on the nights of the subject, keeping more still.
    assert (
        advice[0].kind == "dates_hours" and "nights of 24 to 27 June 2021" in advice[0].description
    )


def day_words_in(day: dt.date) -> str:
    return f"on {days_words(day, day)}"


def test_many_boroughs_for_a_month_get_fewer_boroughs_and_fewer_days() -> None:
    _, advice = advice_for("london_month")
    kinds = [a.kind for a in advice]
    assert "boroughs_dates" in kinds and "boroughs_dates_hours" in kinds
    both = next(a for a in advice if a.kind == "boroughs_dates")
    assert "in Lambeth on 25 June 2020" in both.description
    assert kinds[-1] == "tag_only"


def test_a_fireworks_window_is_one_stretch_through_midnight_keeping_the_peak() -> None:
    ip, advice = advice_for("fireworks")
    window = advice[0]
    assert window.kind == "hours"
    assert "between 17:00 on 5 November and 02:00 on 6 November 2020" in window.description
    peak = sum(v for h, v in cases.FIREWORK_RELEVANT.items() if h >= 18 or h < 1)
    kept = int(re.search(r"including (\d+) of", window.description).group(1))  # type: ignore[union-attr]
    assert kept >= peak


@pytest.mark.parametrize("two_days", [False, True])
def test_a_whole_day_window_never_joins_an_evening_to_the_same_mornings(two_days: bool) -> None:
    """5 November alone: a window stays within the day. 5-6 November: it may run from the
    evening of the 5th into the morning of the 6th, said as one stretch of time."""
    last = dt.date(2020, 11, 6 if two_days else 5)
    item = Item("fireworks", ("Lambeth",), dt.date(2020, 11, 5), last, tags=("FIREWORKS",))
    rows = []
    for day in cases.days(item.date_from, last):
        for h in range(24):
            evening = day.day == 5 and h >= 18
            morning = day.day == 6 and h < 2
            busy = 30 if evening or morning else 12
            rows.append(BreakdownRow("Lambeth", day, h, busy, 15 if evening or morning else 0))
    advice = advise([cases.item_plan(item, rows)], cases.REGIME, Decimal(3), cases.CFG)
    text = " ".join(a.description for a in advice)
    assert "or from midnight" not in text
    assert bool(re.search(r"on 5 November and \d\d:\d\d on 6 November 2020", text)) == two_days
    assert all(fits(a) for a in asks(advice))


def test_when_nothing_fits_every_format_says_so() -> None:
    ip, advice = advice_for("nothing_fits")
    assert advice[0].kind == NONE_FITS and [a.kind for a in advice[1:]] == ["count"]
    assert NOTHING in advice[0].description and "19.17 hours" in advice[0].description
    assert advice[0].hours * 60 > cases.REGIME.limit_minutes  # the smallest unit, over the limit
    # Truthful: no single hour keeping a relevant record fits.
    budget = records_within_limit(cases.REGIME, Decimal(12), cases.CFG.held_check_minutes)
    assert all(r.records > (budget or 0) for r in ip.breakdown if r.relevant)
    plan = _plan(ip, advice, Decimal(12))
    for fmt in ("table", "markdown", "json"):
        out = render(plan, fmt)
        assert NOTHING in out, fmt
        assert "Ask only for counts" in out, fmt
    assert '"kind": "none_fits"' in render(plan, "json")


def test_the_suggestions_are_said_to_be_alternatives() -> None:
    for name in ("whole_year", "london_month", "fireworks"):
        _, advice = advice_for(name)
        intro = alternatives(advice)
        assert ALTERNATIVES in intro, name
        combined = any(a.combines_with for a in advice)
        assert ("cannot be combined" in intro) == (not combined), name
    _, advice = advice_for("fireworks")
    assert "cannot be combined, because any two of them together would exceed" in alternatives(
        advice
    )


def test_a_pair_said_to_combine_fits_together() -> None:
    """The whole year: 'the tagged CADs' and a few nights read in full fit together."""
    _, advice = advice_for("whole_year")
    first, tags = advice[0], advice[-1]
    assert tags.kind == "tag_only" and advice.index(tags) in first.combines_with
    together = first.hours + tags.hours - cases.CFG.held_check_minutes / 60  # one check
    assert not over_limit(cases.REGIME, together * 60)
    assert "except 1 with 3" in alternatives(advice)


def test_a_long_request_is_advised_quickly() -> None:
    """64 parts: the whole-parts knapsack and the narrowing are polynomial (no subsets)."""
    plans = cases.many_items(64)
    advice = advise(plans, cases.REGIME, Decimal(3), cases.CFG)
    assert advice and advice[0].kind == "items"
    assert all(fits(a) for a in asks(advice))
    # 64 parts each over the limit: the best slice of each of the parts that keep most.
    wide = advise(cases.many_wide_items(64), cases.REGIME, Decimal(3), cases.CFG)
    assert 0 < len(wide) <= MOST_PARTS and all(fits(a) for a in wide)
    assert len({a.item for a in wide}) == len(wide)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(10, 700), min_size=2, max_size=9))
def test_whole_parts_are_the_most_that_fit_together(minutes: list[int]) -> None:
    """Against every subset (small requests only): the knapsack finds the most parts."""
    plans = []
    for i, m in enumerate(minutes):
        day = dt.date(2020, 1, 1) + dt.timedelta(days=i)
        item = Item(f"p{i}", ("Lambeth",), day, day, tags=("UME",))
        records = (m - 10) // 3  # 10 minutes' check, then 3 minutes a record
        rows = [BreakdownRow("Lambeth", day, 12, records, 0)]
        plans.append(cases.item_plan(item, rows))
    costs = [ip.complete.estimate.countable_minutes for ip in plans]
    limit = cases.REGIME.limit_minutes
    most = max(
        (len(c) for r in range(len(plans) + 1) for c in itertools.combinations(range(len(plans)), r)
         if sum((costs[i] for i in c), Decimal(0)) <= limit),
    )  # fmt: skip
    advice = [a for a in advise(plans, cases.REGIME, Decimal(3), cases.CFG) if a.kind == "items"]
    if most >= 2:
        assert len(advice) == 1 and advice[0].description.count("'p") == most
    elif most == 1:
        assert advice and all(a.description.count("'p") == 1 for a in advice)
    assert all(fits(a) for a in advice)


def _parts_plans(sizes: list[tuple[int, int]], per: Decimal) -> list[ItemPlan]:
    """One-day parts of (records, relevant records), read at `per` minutes a record."""
    plans = []
    for i, (records, relevant) in enumerate(sizes):
        day = dt.date(2020, 1, 1) + dt.timedelta(days=i)
        item = Item(f"p{i}", ("Lambeth",), day, day, tags=("UME",))
        rows = [BreakdownRow("Lambeth", day, 12, records, min(relevant, records))]
        plans.append(cases.item_plan(item, rows, per=per))
    return plans


def _brute_best(plans: list[ItemPlan]) -> tuple[int, int, Decimal]:
    """The oracle: every subset, best by (most parts, most relevant, fewest minutes)."""
    costs = [ip.complete.estimate.countable_minutes for ip in plans]
    relevant = [sum(r.relevant for r in ip.breakdown) for ip in plans]
    limit = cases.REGIME.limit_minutes
    best = (0, 0, -Decimal(0))
    for r in range(len(plans) + 1):
        for c in itertools.combinations(range(len(plans)), r):
            minutes = sum((costs[i] for i in c), Decimal(0))
            if minutes <= limit:
                best = max(best, (len(c), sum(relevant[i] for i in c), -minutes))
    return best


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 400), st.integers(0, 50)), min_size=2, max_size=10),
    st.sampled_from([Decimal(3), Decimal("2.5"), Decimal("0.7"), Decimal("4.25")]),
)
# 537.5 + 542.5 minutes fill the 18 hours exactly; rounded up to whole minutes they do not.
@example(sizes=[(211, 0), (213, 0)], per=Decimal("2.5"))
def test_whole_parts_match_every_subset(sizes: list[tuple[int, int]], per: Decimal) -> None:
    """Against every subset of up to ten parts (the brute force lives only here): the advice
    asks for the most parts that fit, also when a part's minutes are not whole (the knapsack
    rounds them up); with whole minutes also the most relevant records, then fewest hours."""
    plans = _parts_plans(sizes, per)
    most, relevant, minutes = _brute_best(plans)
    advice = [a for a in advise(plans, cases.REGIME, per, cases.CFG) if a.kind == "items"]
    assert all(fits(a) for a in advice)
    if most < 2:
        return
    assert len(advice) == 1
    names = re.findall(r"'(p\d+)'", advice[0].description)
    assert len(names) == most
    chosen = [plans[int(n[1:])] for n in names]
    if all(ip.complete.estimate.countable_minutes % 1 == 0 for ip in plans):
        assert sum(sum(r.relevant for r in ip.breakdown) for ip in chosen) == relevant
        assert (
            sum((ip.complete.estimate.countable_minutes for ip in chosen), Decimal(0)) == -minutes
        )


# ---- the slice search against an independent count ----------------------------------------


def _start_minute(item: Item, r: BreakdownRow) -> int:
    """Minutes from the item's first midnight to the start of a row's hour."""
    morning = item.overnight and item.window is not None and r.hour * 60 < item.window[1]
    return ((r.day - item.date_from).days + morning) * 1440 + r.hour * 60


def _stretches(g: Grid, sl: Slice) -> list[tuple[int, int]]:
    if sl.period is not None:
        return [(sl.period[0] * 60, sl.period[1] * 60)]
    lo, hi = g.span(sl.window)
    return [(d * 1440 + lo, d * 1440 + hi) for d in range(sl.first, sl.last + 1)]


def _independent(g: Grid, sl: Slice) -> tuple[int, int]:
    item = g.ip.item
    names = {g.boroughs[b] for b in sl.boroughs}
    records = gain = 0
    for r in g.ip.breakdown:
        m = _start_minute(item, r)
        if r.borough in names and any(lo < m + 60 and m < hi for lo, hi in _stretches(g, sl)):
            records += r.records
            gain += r.relevant if g.by_relevant else r.records
    return records, gain


@st.composite
def items(draw: st.DrawFn) -> tuple[ItemPlan, int]:
    boroughs = draw(st.lists(st.sampled_from(["Lambeth", "Camden", "Brent"]), min_size=1,
                             max_size=3, unique=True))  # fmt: skip
    first = dt.date(2020, 3, 1)
    n_days = draw(st.integers(1, 4))
    window = draw(st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(1, 24))))
    if window is not None and window[0] == window[1] % 24:
        window = None
    win = None if window is None else (window[0] * 60, window[1] * 60 % 1440 or 1440)
    item = Item("x", tuple(boroughs), first, first + dt.timedelta(days=n_days - 1), window=win,
                tags=("UME",))  # fmt: skip
    hours = list(range(24))
    if win is not None:
        a, b = win[0] // 60, win[1] // 60
        hours = [h for h in hours if (a <= h < b if a < b else h >= a or h < b)]
    rows = []
    for day in cases.days(item.date_from, item.date_to):
        for b in boroughs:
            for h in hours:
                n = draw(st.integers(0, 12))
                rows.append(BreakdownRow(b, day, h, n, draw(st.integers(0, n))))
    return cases.item_plan(item, rows), draw(st.integers(0, 60))


@settings(max_examples=150, deadline=None)
@given(items())
def test_every_slice_fits_and_is_counted_exactly(case: tuple[ItemPlan, int]) -> None:
    ip, budget = case
    assume(budget < ip.complete.records)  # advice narrows only a part that exceeds the limit
    g = grid(ip)
    found = search(g, budget)
    for sl in found:
        assert sl.records <= budget and sl.gain > 0 and sl.shape(g)
        assert _independent(g, sl) == (sl.records, sl.gain), when(g, sl)
        assert "or from midnight" not in when(g, sl)
    if not found:  # nothing fits: not even the quietest hour that keeps something relevant
        unit = cheapest_unit(g)
        assert unit is None or unit[3] > budget


def _as_arrays(bd: Breakdown) -> Breakdown:
    """The same breakdown with its columns as NumPy arrays, as Engine.columns fetches many."""
    import numpy as np

    return Breakdown(
        np.array(bd.borough, dtype=object),
        np.array(bd.day, dtype="datetime64[D]"),
        np.array(bd.hour, dtype=np.int64),
        np.array(bd.records, dtype=np.int64),
        np.array(bd.relevant, dtype=np.int64),
    )


@settings(max_examples=100, deadline=None)
@given(items(), st.randoms(use_true_random=False))
def test_rows_and_arrays_are_laid_out_alike(case: tuple[ItemPlan, int], rnd: Random) -> None:
    """The grid of a breakdown held as arrays is that of the same rows held as tuples, in any
    order and with rows outside the grid (another borough, days either side, an hour outside
    the window), which both leave out."""
    ip, budget = case
    item = ip.item
    outside = (item.window[0] // 60 + 23) % 24 if item.window else 0
    rows = [
        *ip.breakdown,
        BreakdownRow("Croydon", item.date_from, 3, 5, 1),
        BreakdownRow(item.boroughs[0], item.date_from - dt.timedelta(days=1), 4, 7, 2),
        BreakdownRow(item.boroughs[0], item.date_to + dt.timedelta(days=2), 0, 1, 1),
        BreakdownRow(item.boroughs[-1], item.date_to, outside, 3, 3),
    ]
    rnd.shuffle(rows)
    laid = [
        grid(dataclasses.replace(ip, breakdown=bd))
        for bd in (Breakdown.of(rows), _as_arrays(Breakdown.of(rows)))
    ]
    assert laid[0].rec and all(isinstance(p, array) for p in laid[1].rec)
    fields = ("boroughs", "days", "width", "rec", "rel", "all_rec", "all_rel", "by_relevant")
    assert [getattr(laid[0], f) for f in fields] == [getattr(laid[1], f) for f in fields]
    assert search(laid[0], budget) == search(laid[1], budget)


def test_a_breakdown_of_arrays_is_its_rows() -> None:
    """Held as arrays, a breakdown gives the same Python rows, totals and equality."""
    rows = [
        BreakdownRow("Lambeth", dt.date(2020, 6, 25), 23, 4, 1),
        BreakdownRow("Camden", dt.date(2020, 6, 26), 0, 2, 0),
    ]
    bd = _as_arrays(Breakdown.of(rows))
    assert bd == rows and bd == Breakdown.of(rows) and list(bd) == rows
    assert [bd[0], bd[-1]] == rows and bd[-1].day == dt.date(2020, 6, 26)
    assert type(bd[0].hour) is int and type(bd[1].day) is dt.date
    assert total(bd.records) == 6 and type(total(bd.records)) is int
    with pytest.raises(IndexError):
        bd[2]


@pytest.mark.parametrize("name", CASES)
def test_the_golden_slices_are_counted_exactly(name: str) -> None:
    """Windows through midnight (nights, bonfire night) and periods, counted independently."""
    build, per = CASES[name]
    g = grid(build())
    budget = records_within_limit(cases.REGIME, per, cases.CFG.held_check_minutes) or 0
    for sl in search(g, budget):
        assert _independent(g, sl) == (sl.records, sl.gain), when(g, sl)


def _plan(ip: ItemPlan, advice: list[Advice], per: Decimal):  # type: ignore[no-untyped-def]
    """A Plan around hand-built advice, for the renderers."""
    from costplan.costmodel.estimate import estimate
    from costplan.planner.plan import Plan
    from costplan.request import Request
    from costplan.store.coverage import Coverage

    total = estimate(cases.REGIME, ip.complete.activities)
    return Plan(
        request=Request("T-ADVICE", None, cases.REGIME.name, (ip.item,)),
        regime=cases.REGIME,
        per_record=MinutesPerRecord(per, "a timed sample"),
        items=(ip,),
        total=total,
        recommended="full_review",
        recommendation="Refuse and advise.",
        advice=tuple(advice),
        snapshot={
            "manifest_version": 1,
            "rows": 0,
            "partitions": 0,
            "committed_at": "-",
            "costplan_version": "test",
        },  # fmt: skip
        coverage=(
            Coverage(
                {b: ((ip.item.date_from, ip.item.date_to),) for b in ip.item.boroughs}
            ).verdict(ip.item.boroughs, ip.item.date_from, ip.item.date_to),
        ),
    )


def test_nothing_fits_in_any_part_of_a_long_request() -> None:
    """Two carnival parts: no part fits alone, no hour of either fits; one none_fits entry,
    naming the part whose quietest hour comes nearest, and a count of each part."""
    first = cases.carnival()
    later = Item("carnival Sunday", first.item.boroughs, dt.date(2019, 8, 25), dt.date(2019, 8, 25),
                 keywords=first.item.keywords, minutes_per_record=12)  # fmt: skip
    rows = [r._replace(day=later.date_from, records=r.records + 5) for r in first.breakdown]
    plans = [first, cases.item_plan(later, rows, per=Decimal(12))]
    advice = advise(plans, cases.REGIME, Decimal(12), cases.CFG)
    assert [a.kind for a in advice] == [NONE_FITS, "count"]
    assert "in any part of your request" in advice[0].description
    assert "(in the part 'carnival Monday')" in advice[0].description
    assert "for each part of your request" in advice[1].description and fits(advice[1])


def test_nothing_held_is_said_too() -> None:
    """Advice narrows to what the archive holds; when it holds no part whole, it says so."""
    advice = advise([], cases.REGIME, Decimal(3), cases.CFG)
    assert [a.kind for a in advice] == [NONE_FITS] and "do not cover" in advice[0].description
