"""Search strategies: what each way of searching must review for one request item, and its cost.

For every item the planner evaluates candidate strategies against the store:

* ``tag_query``   — an automated query for records carrying the tag(s); cheap, incomplete
  (untagged records are missed: the MPS says tags are unreliable);
* ``keyword``     — records whose free text or codes match, each read by hand; incomplete
  (records worded otherwise are missed);
* ``linked``      — the tagged records plus every CAD linked to them, each read by hand;
  incomplete (related calls are often not linked);
* ``full_review`` — every CAD in the boroughs, days and hours in scope, each read by hand;
  complete. The MPS's own reasoning ("over 500 CADs in Lambeth on 25 June 2020").

An item with no tags, keywords or codes asks about every CAD in scope; then an automated
``scope_query`` answers it completely and no reading is needed.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from costplan._files import config_path
from costplan._toml import Table, read_toml
from costplan.costmodel.estimate import Activity, Estimate, estimate
from costplan.costmodel.regimes import Regime
from costplan.engines import QueryEngine
from costplan.planner.breakdown import Breakdown, any_set, is_array, total
from costplan.planner.clock import bucket_seconds
from costplan.planner.held import TagsFound, settled_by_count, tag_warning
from costplan.request import Item
from costplan.units import round2, to_decimal

CONFIG_PATH = config_path("planner.toml")

TAG_QUERY = "tag_query"
KEYWORD = "keyword"
LINKED = "linked"
FULL_REVIEW = "full_review"
SCOPE_QUERY = "scope_query"

TITLES = {
    TAG_QUERY: "Tag query",
    KEYWORD: "Keyword pre-filter then review",
    LINKED: "Linked expansion then review",
    FULL_REVIEW: "Full manual review",
    SCOPE_QUERY: "Scope query (automated count)",
}
CAVEATS = {
    TAG_QUERY: "Incomplete: only records carrying the tag are found; untagged records are missed.",
    KEYWORD: "Incomplete: records worded without the keywords are missed; false positives "
    "are read and discarded.",
    LINKED: "Incomplete: related calls that were not linked to a tagged record are missed.",
    FULL_REVIEW: "Complete: every record in scope is read.",
    SCOPE_QUERY: "Complete: the question is about every record in scope, so a query answers it.",
}


@dataclass(frozen=True)
class PlannerConfig:
    """Planner cost assumptions (config/planner.toml)."""

    held_check_minutes: Decimal
    query_minutes: Decimal
    export_minutes_per_record: Decimal


@cache
def load_config(path: Path = CONFIG_PATH) -> PlannerConfig:
    """Read planner.toml strictly: every key required, no unknown keys."""
    table = Table(read_toml(path, "planner configuration"), str(path))
    keys = ("held_check_minutes", "query_minutes", "export_minutes_per_record")
    values = {k: to_decimal(table.number(k), f"{path}: {k}") for k in keys}
    table.done(keys)
    return PlannerConfig(**values)


@dataclass(frozen=True)
class StrategyResult:
    """One strategy for one item: what it reviews and what that costs."""

    strategy: str
    records: int
    activities: tuple[Activity, ...]
    estimate: Estimate
    complete: bool
    query: str

    @property
    def title(self) -> str:
        return TITLES[self.strategy]

    @property
    def caveat(self) -> str:
        return CAVEATS[self.strategy]

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "strategy": self.strategy,
            "title": self.title,
            "records": self.records,
            "hours": float(round2(e.total_hours)),
            "decision": e.decision,
            "section": e.section,
            "complete": self.complete,
            "caveat": self.caveat,
            "query": self.query,
            "explanation": e.explanation,
            "activities": [
                {
                    "activity": a.name,
                    "records": a.records,
                    "minutes_per_record": float(a.minutes_per_record),
                    "fixed_minutes": float(a.fixed_minutes),
                    "hours": float(round2(a.minutes / 60)),
                }
                for a in self.activities
            ],
        }


@dataclass(frozen=True)
class ItemPlan:
    """The strategies evaluated for one item, and its breakdown for s.16 advice."""

    item: Item
    strategies: tuple[StrategyResult, ...]
    # (borough, local day, hour, records, relevant) rows, held as columns (planner/breakdown.py).
    # Rows given as a sequence of BreakdownRow are taken as columns.
    breakdown: Breakdown = field(repr=False)
    # For the officer, never the requester: tags named that no CAD in scope carries (held.py).
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.breakdown, Breakdown):
            object.__setattr__(self, "breakdown", Breakdown.of(self.breakdown))

    @property
    def complete(self) -> StrategyResult:
        """The cheapest strategy that gives a complete answer."""
        return min(
            (s for s in self.strategies if s.complete), key=lambda s: s.estimate.countable_minutes
        )

    def get(self, strategy: str) -> StrategyResult | None:
        return next((s for s in self.strategies if s.strategy == strategy), None)


# ---- counting ------------------------------------------------------------------------------


def keyword_pattern(keywords: Sequence[str]) -> str | None:
    """A case-insensitive regular expression matching any keyword literally.

    Escapes every metacharacter by hand (not re.escape, which escapes spaces in a way RE2 and
    Java regexes need not accept), so quotes, % and _ are plain characters. The pattern is
    bound as a query parameter, never spliced into SQL.
    """
    if not keywords:
        return None
    special = set("\\.^$|?*+()[]{}")
    escaped = ["".join("\\" + c if c in special else c for c in k) for k in keywords]
    return "(?i)(?:" + "|".join(escaped) + ")"


def scope_params(item: Item) -> dict[str, Any]:
    """The bound parameters describing an item's scope (boroughs, London days, hours)."""
    minute_from, minute_to = item.minute_window
    return {
        "boroughs": list(item.boroughs),
        "date_from": item.date_from,
        "date_to": item.date_to,
        "day_to": item.last_day,
        "minute_from": minute_from,
        "minute_to": minute_to,
    }


def subject_params(item: Item) -> dict[str, Any]:
    """The bound parameters describing what an item is about (tags, keywords, codes)."""
    return {
        "tags": list(item.tags),
        "keyword_pattern": keyword_pattern(item.keywords),
        "codes": list(item.opening_codes),
    }


# Items asking the same share a scan while the group's union of boroughs and days holds at
# most this many times their own borough-days, plus SHARE_SLACK: a query costs about 9 ms to
# bind and plan whatever it reads, about what reading 30 borough-days costs (benchmarks §13).
SHARE_FACTOR = 2
SHARE_SLACK = 32
_US = chr(31)  # the separator of plan_item_counts.sql's item texts


def _asks(item: Item) -> tuple[Any, ...]:
    """What an item asks, apart from where and when: items asking the same may share a scan."""
    return (*(tuple(v) if isinstance(v, list) else v for v in subject_params(item).values()),
            item.minute_window)  # fmt: skip


def _borough_days(items: Sequence[Item]) -> tuple[int, int]:
    """(the union's borough-days, the items' own) for a group of items."""
    boroughs = {b for it in items for b in it.boroughs}
    span = (max(it.last_day for it in items) - min(it.date_from for it in items)).days + 1
    return len(boroughs) * span, sum(
        len(it.boroughs) * (it.last_day - it.date_from).days + len(it.boroughs) for it in items
    )


def share_groups(items: Sequence[Item]) -> list[list[int]]:
    """The items (by position) counted by one query each: those asking the same, in order of
    their first day, while their union of boroughs and days stays close to their own."""
    groups: list[list[int]] = []
    by_ask: dict[tuple[Any, ...], list[int]] = {}
    for i, it in enumerate(items):
        by_ask.setdefault(_asks(it), []).append(i)
    for members in by_ask.values():
        group: list[int] = []
        for i in sorted(members, key=lambda i: (items[i].date_from, i)):
            union, own = _borough_days([items[j] for j in [*group, i]])
            if group and union > SHARE_FACTOR * own + SHARE_SLACK:
                groups.append(group)
                group = []
            group.append(i)
        groups.append(group)
    return groups


def count_params(engine: QueryEngine, items: Sequence[Item]) -> dict[str, Any]:
    """Every bound parameter of plan_item_counts for a group of items asking the same (one
    item: a group of one), in the session's time zone; item k is the k-th given."""
    first = items[0]
    # Reverse links are looked for on each item's days and the day after.
    link = [it.last_day + dt.timedelta(days=1) for it in items]
    specs = []
    for k, (it, link_day) in enumerate(zip(items, link, strict=True)):
        for b in it.boroughs:
            fields = [str(k), b, *(d.isoformat() for d in (it.date_from, it.date_to))]
            fields += [it.last_day.isoformat(), link_day.isoformat()]
            if any(_US in f for f in fields):
                raise ValueError(f"an area name holds the unit separator: {b!r}")
            specs.append(_US.join(fields))
    first_day = min(it.date_from for it in items)
    last_day = max(it.last_day for it in items)
    # Counted by UTC bucket, then hour (planner/clock.py): the bucket is exact over the days
    # read and splits an overnight window at its end (what tells its morning from its night).
    minute_to = first.minute_window[1] if first.overnight else None
    return {
        **scope_params(first),
        "boroughs": sorted({b for it in items for b in it.boroughs}),
        "date_from": first_day,
        "date_to": max(it.date_to for it in items),
        "day_to": last_day,
        **subject_params(first),
        "link_day_to": max(link),
        "bucket_seconds": bucket_seconds(engine.time_zone, first_day, last_day, minute_to),
        "items": specs,
    }


def items_counts(
    engine: QueryEngine, items: Sequence[Item]
) -> list[tuple[dict[str, int], Breakdown]]:
    """Records each strategy must review for each item, and the records in scope (and
    relevant records) by borough, local day and hour: one query, one scan, for each group of
    items asking the same over nearby boroughs and days (share_groups)."""
    out: list[tuple[dict[str, int], Breakdown]] = [
        ({FULL_REVIEW: 0, TAG_QUERY: 0, KEYWORD: 0, LINKED: 0}, Breakdown.of(())) for _ in items
    ]
    for group in share_groups(items):
        cols = engine.columns("plan_item_counts", **count_params(engine, [items[i] for i in group]))
        if not cols:  # nothing in any scope
            continue
        # Rows come by item: each item's run of rows, found by bisection.
        ids = cols["item"]
        for k, i in enumerate(group):
            lo, hi = bisect_left(ids, k), bisect_left(ids, k + 1)
            if lo < hi:
                out[i] = _counted({c: v[lo:hi] for c, v in cols.items()})
    return out


def _counted(cols: dict[str, Sequence[Any]]) -> tuple[dict[str, int], Breakdown]:
    """One item's counts and breakdown from its rows of plan_item_counts (tuples, or NumPy
    arrays for many rows: see QueryEngine.columns)."""
    counts = {
        FULL_REVIEW: total(cols["records"]),
        TAG_QUERY: total(cols["tagged"]),
        KEYWORD: total(cols["keyword"]),
        # The same on every row (a count of the whole item).
        LINKED: int(cols["linked"][0]),
    }
    # The CADs of an overnight window's morning belong to the night before.
    days, morning = cols["day"], cols["morning"]
    if any_set(morning):
        if is_array(days):
            days = days - morning.astype("timedelta64[D]")  # type: ignore[attr-defined]
        else:
            night_before = dt.timedelta(days=1)
            days = tuple(d - night_before if m else d for d, m in zip(days, morning, strict=True))
    breakdown = Breakdown(cols["borough"], days, cols["hour"], cols["records"], cols["relevant"])
    return counts, breakdown


def item_counts(engine: QueryEngine, item: Item) -> tuple[dict[str, int], Breakdown]:
    """Records each strategy must review for one item, and its breakdown (items_counts)."""
    return items_counts(engine, [item])[0]


def count_item(engine: QueryEngine, item: Item) -> dict[str, int]:
    """Records each strategy must review for an item."""
    return item_counts(engine, item)[0]


# ---- costing -------------------------------------------------------------------------------


def strategy_activities(
    strategy: str, records: int, item: Item, per: Decimal, cfg: PlannerConfig
) -> list[Activity]:
    """The reg. 4(3) activities a strategy needs for `records` records."""
    held = Activity("determine_held", fixed_minutes=cfg.held_check_minutes)
    wants_fields = any(f != "count" for f in item.fields)
    if strategy in (TAG_QUERY, SCOPE_QUERY):
        export = cfg.export_minutes_per_record if wants_fields else Decimal(0)
        return [
            held,
            Activity("locate", fixed_minutes=cfg.query_minutes),
            Activity("extract", records, export),
        ]
    search = (
        [Activity("locate", fixed_minutes=cfg.query_minutes)] if strategy != FULL_REVIEW else []
    )
    # Reading each record by hand: the whole per-record time is extraction (see estimate.py).
    return [
        held,
        *search,
        Activity("locate", records, Decimal(0)),
        Activity("retrieve", records, Decimal(0)),
        Activity("extract", records, per),
    ]


def _result(
    strategy: str, records: int, item: Item, regime: Regime, per: Decimal, cfg: PlannerConfig
) -> StrategyResult:
    acts = tuple(strategy_activities(strategy, records, item, per, cfg))
    return StrategyResult(
        strategy=strategy,
        records=records,
        activities=acts,
        estimate=estimate(regime, acts),
        complete=strategy in (FULL_REVIEW, SCOPE_QUERY),
        query="count_scope" if strategy == SCOPE_QUERY else "plan_item_counts",
    )


def plan_item(
    engine: QueryEngine,
    item: Item,
    regime: Regime,
    per: Decimal,
    cfg: PlannerConfig,
    counted: tuple[dict[str, int], Breakdown] | None = None,
    found: TagsFound | None = None,
) -> ItemPlan:
    """Evaluate every applicable strategy for one item (`counted`: its items_counts answer,
    when counted with others; None: count it here; `found`: the session's answers on which
    tags are in use, shared by a request's items)."""
    counts, rows = counted if counted is not None else item_counts(engine, item)
    has_subject = bool(item.tags or item.keywords or item.opening_codes)
    names: list[str] = []
    if item.tags:
        names += [TAG_QUERY, LINKED]
    if item.keywords or item.opening_codes:
        names.append(KEYWORD)
    names.append(FULL_REVIEW if has_subject else SCOPE_QUERY)
    results = tuple(
        _result(n, counts[FULL_REVIEW if n == SCOPE_QUERY else n], item, regime, per, cfg)
        for n in names
    )
    return ItemPlan(item, results, rows, tag_warnings(engine, item, counts, found))


def tag_warnings(
    engine: QueryEngine, item: Item, counts: dict[str, int], found: TagsFound | None = None
) -> tuple[str, ...]:
    """The warning for the item's tags that no CAD of its boroughs carries in its years."""
    if settled_by_count(item.tags, counts[TAG_QUERY]):
        return ()
    warning = tag_warning(engine, item.tags, item.boroughs, item.date_from, item.date_to, found)
    return (warning,) if warning else ()
