"""Section 16 advice: concrete, alternative refinements of an over-limit request that would fit.

What the advice optimises, in order of the list it returns:

1. *Whole parts* (a request of several items): the set of parts, each answered in full, that
   fits the limit together with the most parts, then the most relevant records, then the
   fewest hours. A 0/1 knapsack by dynamic programming over the limit in whole minutes (each
   part's minutes rounded up, so the set surely fits): O(items × limit minutes), at most
   4096 slots. The most parts is also found exactly on its own (the cheapest parts first,
   O(items log items)), and wins where the rounding lost a part. When only one part fits at
   a time, the (at most three) parts keeping most relevant records.
2. *Narrower versions of a part* that exceeds the limit on its own: fewer boroughs, fewer days,
   a window of hours, and combinations, each keeping the most relevant records (tagged, or
   matching a keyword or code) that can be read within the limit, then the most records (the
   tags and words find only some of what a request is about); see `slices.search`. For one
   such part, the best of each shape (up to four); for several, the best slice of each, for
   the MOST_PARTS parts whose slices keep most.
3. *Only the tagged records*, found by an automated query, when that fits.

If no whole part and no narrower version fits, the list starts with one entry of kind
`none_fits` saying so and why (the smallest unit that could be offered, and its hours); then,
as something still useful, the tagged records if that fits, else a count by automated query.

The entries are alternatives. Each says which other entries it could be asked for together
with within the limit (`combines_with`: usually none); `alternatives` words that for the reader.
All of it is polynomial in the items, boroughs and days of the request.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costplan.costmodel.estimate import over_limit, records_within_limit
from costplan.costmodel.regimes import Regime
from costplan.planner.breakdown import total
from costplan.planner.slices import Grid, Slice, cheapest_unit, grid, search, union_records
from costplan.planner.strategies import FULL_REVIEW, TAG_QUERY, ItemPlan, PlannerConfig
from costplan.planner.wording import item_scope, subject, when, where
from costplan.units import and_list, fmt_number, or_list, round2

NONE_FITS = "none_fits"
# The most parts of a long request offered narrowed (each as its best slice).
MOST_PARTS = 12


@dataclass(frozen=True)
class Advice:
    """A section 16 refinement that would fit within the limit (or, for kind `none_fits`, the
    statement that none could be found, with the records and hours of the smallest unit)."""

    kind: str
    description: str
    records: int
    hours: Decimal
    item: str | None = None
    # Positions in the advice list of the entries this one could be asked for together with.
    combines_with: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "item": self.item,
            "description": self.description,
            "records": self.records,
            "hours": float(round2(self.hours)),
            "combines_with": list(self.combines_with),
        }


# What an option asks of one item: the whole of it, a slice, its tagged records, or a count.
WHOLE, TAGGED, COUNT = "whole", "tagged", "count"
Part = str | Slice


@dataclass(frozen=True)
class _Option:
    kind: str
    description: str
    records: int
    minutes: Decimal
    parts: dict[int, Part] = field(default_factory=dict)
    item: str | None = None
    gain: int = 0  # relevant records kept (for choosing among parts)


@dataclass(frozen=True)
class _Context:
    plans: Sequence[ItemPlan]
    regime: Regime
    per: Decimal
    cfg: PlannerConfig
    grids: dict[int, Grid] = field(default_factory=dict)

    def reading(self, i: int) -> Decimal:
        """Minutes to read one record of item i (its own figure when the request sets one)."""
        full = self.plans[i].get(FULL_REVIEW)
        found = [
            a.minutes_per_record for a in (full.activities if full else ()) if a.name == "extract"
        ]
        return found[0] if found else self.per

    def slice_minutes(self, i: int, records: int) -> Decimal:
        return self.cfg.held_check_minutes + records * self.reading(i)

    def part_minutes(self, i: int, part: Part) -> Decimal:
        ip = self.plans[i]
        if isinstance(part, Slice):
            return self.slice_minutes(i, part.records)
        if part == WHOLE:
            return ip.complete.estimate.countable_minutes
        if part == TAGGED:
            tagged = ip.get(TAG_QUERY)
            assert tagged is not None
            return tagged.estimate.countable_minutes
        return self.cfg.held_check_minutes + self.cfg.query_minutes

    def union_minutes(self, i: int, a: Part | None, b: Part | None) -> Decimal:
        """Minutes to answer both of two asks of item i in one request (one check of what is
        held; a full reading answers every other ask; two slices read each record once)."""
        if a is None or b is None or a == b:
            part = a if b is None else b
            return self.part_minutes(i, part) if part is not None else Decimal(0)
        if WHOLE in (a, b):
            return self.part_minutes(i, WHOLE)
        if isinstance(a, Slice) and isinstance(b, Slice):
            return self.slice_minutes(i, union_records(self.grids[i], a, b))
        if {a, b} == {TAGGED, COUNT}:
            return self.part_minutes(i, TAGGED)
        other = b if isinstance(a, Slice) else a
        extra = self.part_minutes(i, other) - self.cfg.held_check_minutes
        return self.part_minutes(i, a if isinstance(a, Slice) else b) + extra

    def fits(self, minutes: Decimal) -> bool:
        return not over_limit(self.regime, minutes)


def _hours(minutes: Decimal) -> Decimal:
    return minutes / 60


def advise(
    plans: Sequence[ItemPlan], regime: Regime, per: Decimal, cfg: PlannerConfig
) -> list[Advice]:
    """Alternative refinements that would fit within the limit (s.16), best first; or, when
    none can be found, a `none_fits` entry and what could still be provided."""
    if regime.limit is None:
        return []
    if not plans:
        return [
            Advice(
                NONE_FITS,
                "We could not suggest a narrower version of this request, because the records "
                "we could search do not cover all of the dates and areas of any part of it.",
                0,
                Decimal(0),
            )
        ]
    ctx = _Context(plans, regime, per, cfg)
    options = _whole_parts(ctx)
    over = [
        i
        for i, ip in enumerate(plans)
        if ip.complete.estimate.decision != "answer" and ip.complete.strategy == FULL_REVIEW
    ]
    # One part: its best slice of each shape. Several: the best slice of each, for the parts
    # whose slices keep most (a letter of 64 alternatives would help nobody).
    narrowed = [o for i in over for o in _narrow(ctx, i, most=4 if len(over) == 1 else 1)]
    best = sorted(range(len(narrowed)), key=lambda n: (-narrowed[n].gain, n))[:MOST_PARTS]
    options += [narrowed[n] for n in sorted(best)]
    tagged = _tagged(ctx)
    if options:
        options += tagged
        return _finish(ctx, options)
    fallback = tagged or _count(ctx)
    return [_none_fits(ctx), *_finish(ctx, fallback, offset=1)]


def _finish(ctx: _Context, options: list[_Option], offset: int = 0) -> list[Advice]:
    """The options as Advice, each naming the others it could be combined with."""
    out = []
    for n, a in enumerate(options):
        together = []
        for m, b in enumerate(options):
            if m == n:
                continue
            minutes = sum(
                (ctx.union_minutes(i, a.parts.get(i), b.parts.get(i)) for i in a.parts | b.parts),
                Decimal(0),
            )
            if ctx.fits(minutes):
                together.append(m + offset)
        out.append(
            Advice(a.kind, a.description, a.records, _hours(a.minutes), a.item, tuple(together))
        )
    return out


def alternatives(advice: Sequence[Advice]) -> str:
    """The sentence introducing the suggestions, numbered from 1 without the `none_fits` entry:
    that they are alternatives, and which (if any) could be asked for together."""
    asks = [(n, a) for n, a in enumerate(advice) if a.kind != NONE_FITS]
    if not asks:
        return ""
    if any(a.kind == NONE_FITS for a in advice):
        lead = "Instead, you may wish to ask for"
    else:
        lead = (
            "You may wish to narrow your request so that it can be answered within the limit, "
            "by asking for"
        )
    if len(asks) == 1:
        return f"{lead} the following, which would fit within the limit."
    number = {n: k for k, (n, _) in enumerate(asks, start=1)}
    pairs = sorted(
        {tuple(sorted((number[n], number[m]))) for n, a in asks for m in a.combines_with}
    )
    head = f"{lead} one of the following. Any one of them would fit within the limit on its own"
    if not pairs:
        return (
            f"{head}; they are alternatives and cannot be combined, because any two of them "
            "together would exceed the limit."
        )
    # "5 with 2, 3 or 4": each time, the suggestion that pairs with most of those left.
    left, groups = set(pairs), []
    while left:
        x = max(sorted({n for pair in left for n in pair}), key=lambda n: sum(n in p for p in left))
        ys = sorted(y for pair in left if x in pair for y in pair if y != x)
        groups.append(f"{x} with {or_list([str(y) for y in ys])}")
        left = {pair for pair in left if x not in pair}
    listed = "; ".join(groups)
    return (
        f"{head}; they are alternatives: any two of them together would exceed the limit, "
        f"except {listed}, which would also fit together."
    )


# ---- whole parts ---------------------------------------------------------------------------


def _relevant(ip: ItemPlan) -> int:
    return total(ip.breakdown.relevant)


def _whole_parts(ctx: _Context) -> list[_Option]:
    """The most parts that fit together (knapsack over whole minutes), or the best single ones."""
    plans = ctx.plans
    if len(plans) < 2:
        return []
    limit = ctx.regime.limit_minutes
    assert limit is not None
    capacity = int(limit)
    unit = max(1, -(-capacity // 4096))  # keep the table small whatever the limit
    slots = capacity // unit
    costs = [ip.complete.estimate.countable_minutes for ip in plans]
    fit = [i for i, c in enumerate(costs) if ctx.fits(c)]
    # Rounded up (math.ceil: Decimal's // truncates towards zero, so -(-x // u) would not).
    weight = {i: math.ceil(costs[i] / unit) for i in fit}
    # best[c]: (parts, relevant, -minutes) of the best set weighing at most c; keep[i][c].
    best: list[tuple[int, int, Decimal]] = [(0, 0, Decimal(0))] * (slots + 1)
    keep: list[list[bool]] = []
    for i in fit:
        row = [False] * (slots + 1)
        gain = (1, _relevant(plans[i]), -costs[i])
        new = list(best)
        for c in range(weight[i], slots + 1):
            prev = best[c - weight[i]]
            cand = (prev[0] + gain[0], prev[1] + gain[1], prev[2] + gain[2])
            if cand > new[c]:
                new[c], row[c] = cand, True
        best = new
        keep.append(row)
    chosen, c = [], slots
    for k in range(len(fit) - 1, -1, -1):
        if keep[k][c]:
            chosen.append(fit[k])
            c -= weight[fit[k]]
    # The most parts that fit is exact by itself: the cheapest parts first, while they fit
    # (exchanging any chosen part for a cheaper one keeps a set fitting). The table above
    # rounds each part up to a whole slot, so where that rounding loses a part (minutes that
    # are not whole, or a limit over 4096 minutes), the cheapest parts are taken instead.
    cheapest: list[int] = []
    for i in sorted(fit, key=lambda i: (costs[i], -_relevant(plans[i]), i)):
        if not ctx.fits(sum((costs[j] for j in [*cheapest, i]), Decimal(0))):
            break
        cheapest.append(i)
    if len(cheapest) > len(chosen):
        chosen = cheapest
    chosen.sort()
    if len(chosen) >= 2 and ctx.fits(sum((costs[i] for i in chosen), Decimal(0))):
        names = and_list([f"'{plans[i].item.name}'" for i in chosen])
        minutes = sum((costs[i] for i in chosen), Decimal(0))
        return [
            _Option(
                "items",
                f"Ask only for these parts of your request, each answered in full: {names}. "
                f"Together they need {round2(_hours(minutes))} hours.",
                sum(plans[i].complete.records for i in chosen),
                minutes,
                dict.fromkeys(chosen, WHOLE),
            )
        ]
    singles = sorted(fit, key=lambda i: (-_relevant(plans[i]), costs[i], i))[:3]
    return [
        _Option(
            "items",
            f"Ask only for the part '{plans[i].item.name}', answered in full: on its own it "
            f"needs {round2(_hours(costs[i]))} hours.",
            plans[i].complete.records,
            costs[i],
            {i: WHOLE},
            plans[i].item.name,
        )
        for i in singles
    ]


# ---- narrower versions of one part ---------------------------------------------------------


def _narrow(ctx: _Context, i: int, most: int) -> list[_Option]:
    ip = ctx.plans[i]
    budget = records_within_limit(ctx.regime, ctx.reading(i), ctx.cfg.held_check_minutes)
    if not budget:
        return []
    g = ctx.grids.setdefault(i, grid(ip))
    found = search(g, budget, most)
    # A slice inside another offered one adds nothing to it: offer the larger only.
    inside = {
        n
        for n, a in enumerate(found)
        for m, b in enumerate(found)
        if m != n and union_records(g, a, b) == b.records and (a.records, n) < (b.records, m)
    }
    return [_slice_option(ctx, i, g, sl) for n, sl in enumerate(found) if n not in inside]


def _slice_option(ctx: _Context, i: int, g: Grid, sl: Slice) -> _Option:
    item = g.ip.item
    minutes = ctx.slice_minutes(i, sl.records)
    scope = f"the CADs created {where(g, sl.boroughs)} {when(g, sl)}"
    lead = (
        f"Ask only for {scope}"
        if len(ctx.plans) == 1
        else f"Ask only for the part '{item.name}', and within it only for {scope}"
    )
    keep = ""
    if g.by_relevant:
        total = g.gain
        share = f"all {total:,}" if sl.gain == total else f"{sl.gain:,} of the {total:,}"
        keep = f", including {share} CADs {subject(item)}"
    text = f"{lead}: {sl.records:,} CADs to read, {round2(_hours(minutes))} hours{keep}."
    kind = "_".join(sl.shape(g))
    return _Option(kind, text, sl.records, minutes, {i: sl}, item.name, sl.gain)


# ---- only the tagged records; a count ------------------------------------------------------


def _tagged(ctx: _Context) -> list[_Option]:
    found = {i: s for i, ip in enumerate(ctx.plans) if (s := ip.get(TAG_QUERY)) is not None}
    if not found:
        return []
    minutes = sum((s.estimate.countable_minutes for s in found.values()), Decimal(0))
    if not ctx.fits(minutes):
        return []
    records = sum(s.records for s in found.values())
    tags = or_list(sorted({t for i in found for t in ctx.plans[i].item.tags}))
    return [
        _Option(
            "tag_only",
            f"Ask only for the CADs tagged {tags}: an automated query would find {records:,} "
            f"of them in {round2(_hours(minutes))} hours, with no reading by hand. CADs about "
            "your subject that do not carry the tag would not be included.",
            records,
            minutes,
            dict.fromkeys(found, TAGGED),
        )
    ]


def _count(ctx: _Context) -> list[_Option]:
    plans = ctx.plans
    minutes = len(plans) * (ctx.cfg.held_check_minutes + ctx.cfg.query_minutes)
    if not ctx.fits(minutes):
        return []
    records = sum(ip.complete.records for ip in plans)
    if len(plans) == 1:
        item = plans[0].item
        about = subject(item, verb=True)
        what = f"the number of CADs created {item_scope(item)}" + (
            f", and how many of them {about}" if about else ""
        )
    else:
        what = (
            "for each part of your request, the number of CADs in its areas and dates, and how "
            "many of them match its tags, keywords or codes"
        )
    return [
        _Option(
            "count",
            f"Ask only for counts: {what}. An automated count gives these in "
            f"{round2(_hours(minutes))} hours. No record would be read, so a count of records "
            "by their tags or wording includes some that are not about your subject and "
            "misses some that are.",
            records,
            minutes,
            dict.fromkeys(range(len(plans)), COUNT),
        )
    ]


def _none_fits(ctx: _Context) -> Advice:
    """Why nothing fits: the cheapest unit any part could be narrowed to still exceeds."""
    cheapest: tuple[Decimal, int, Grid, tuple[int, int, int, int]] | None = None
    for i, ip in enumerate(ctx.plans):
        g = ctx.grids.setdefault(i, grid(ip))
        unit = cheapest_unit(g)
        if unit is not None:
            minutes = ctx.slice_minutes(i, unit[3])
            if cheapest is None or minutes < cheapest[0]:
                cheapest = (minutes, i, g, unit)
    head = (
        "We could not find a narrower version of this request whose records we could read "
        "in full within the limit"
    )
    if cheapest is None:
        return Advice(NONE_FITS, f"{head}.", 0, Decimal(0))
    minutes, i, g, (b, d, s, records) = cheapest
    sl = Slice((b,), d, d, (s, 1) if g.hours else g.whole, records, 0)
    unit_words = "single hour" if g.hours else f"day in one {g.ip.item.area_word}"
    about = "any of the CADs about your subject" if g.by_relevant else "any CADs"
    anywhere, part = "", ""
    if len(ctx.plans) > 1:
        anywhere, part = " in any part of your request", f" (in the part '{g.ip.item.name}')"
    reading = fmt_number(ctx.reading(i))
    limit = fmt_number(ctx.regime.limit_hours or 0)
    text = (
        f"{head}. Even the quietest {unit_words}{anywhere} that holds {about}, {when(g, sl)} "
        f"{where(g, sl.boroughs)}{part}, has {records:,} CADs, which would take "
        f"{round2(_hours(minutes))} hours to read at {reading} minutes each, more than the "
        f"limit of {limit} hours."
    )
    return Advice(NONE_FITS, text, records, _hours(minutes), ctx.plans[i].item.name)
