"""The search planner: count what each way of searching must review, cost it, decide, advise.

For every request item the planner evaluates candidate strategies against the store:

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

The request is costed as a whole (s.12 and reg. 5 add the parts up) using each item's cheapest
complete strategy. When that exceeds the limit, section 16 advice lists concrete refinements
that would fit, each with its hours.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from costplan import __version__
from costplan._files import config_path
from costplan.costmodel.estimate import (
    Activity,
    Estimate,
    estimate,
    over_limit,
    records_within_limit,
    review_activities,
)
from costplan.costmodel.regimes import Regime
from costplan.costmodel.sampling import SampleAssessment, SampleStats, assess
from costplan.engines import (
    DEFAULT_ENGINE,
    DEFAULT_SPARK_MASTER,
    QueryEngine,
    open_engine,
    uses_volume_table,
)
from costplan.errors import ConfigError
from costplan.request import Item, Request
from costplan.store import Snapshot
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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable planner configuration: {exc}") from None
    keys = {"held_check_minutes", "query_minutes", "export_minutes_per_record"}
    unknown = sorted(set(data) - keys)
    if unknown:
        raise ConfigError(f"{path}: unknown key '{unknown[0]}'", f"allowed: {sorted(keys)}")
    missing = sorted(keys - set(data))
    if missing:
        raise ConfigError(f"{path}: missing key '{missing[0]}'")
    return PlannerConfig(**{k: to_decimal(data[k], f"{path}: {k}") for k in sorted(keys)})


@dataclass(frozen=True)
class MinutesPerRecord:
    """The per-record reading time and where it came from (reported as evidence)."""

    minutes: Decimal
    source: str
    sample: SampleStats | None = None  # a timed sample, when the figure came from one


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
    # (borough, London day, hour, records, relevant) rows: a few thousand at most, so plain
    # tuples; a DataFrame would cost the plan command the Polars and Arrow imports.
    breakdown: tuple[BreakdownRow, ...] = field(repr=False)

    @property
    def complete(self) -> StrategyResult:
        """The cheapest strategy that gives a complete answer."""
        return min(
            (s for s in self.strategies if s.complete), key=lambda s: s.estimate.countable_minutes
        )

    def get(self, strategy: str) -> StrategyResult | None:
        return next((s for s in self.strategies if s.strategy == strategy), None)


@dataclass(frozen=True)
class Advice:
    """A section 16 refinement that would fit within the limit."""

    kind: str
    description: str
    records: int
    hours: Decimal
    item: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "item": self.item,
            "description": self.description,
            "records": self.records,
            "hours": float(round2(self.hours)),
        }


@dataclass(frozen=True)
class Plan:
    """The planner's answer for a whole request."""

    request: Request
    regime: Regime
    per_record: MinutesPerRecord
    items: tuple[ItemPlan, ...]
    total: Estimate
    recommended: str
    recommendation: str
    advice: tuple[Advice, ...]
    snapshot: dict[str, Any]
    sample: SampleAssessment | None = None

    @property
    def decision(self) -> str:
        return self.total.decision

    @property
    def section(self) -> str | None:
        return self.total.section

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `costplan plan --format json` (no requester, no record text)."""
        t = self.total
        return {
            "request": self.request.reference,
            "received": self.request.received.isoformat() if self.request.received else None,
            "regime": self.regime.name,
            "decision": t.decision,
            "section": t.section,
            "total_hours": float(round2(t.total_hours)),
            "limit_hours": float(round2(t.limit_hours)) if t.limit_hours is not None else None,
            "total_cost": float(round2(t.total_cost)),
            "limit_cost": float(round2(self.regime.limit)) if self.regime.limit else None,
            "currency": self.regime.currency,
            "explanation": t.explanation,
            "minutes_per_record": float(self.per_record.minutes),
            "minutes_per_record_source": self.per_record.source,
            "recommended": self.recommended,
            "recommendation": self.recommendation,
            "items": [
                {
                    "name": ip.item.name,
                    "scope": ip.item.describe_scope(),
                    "tags": list(ip.item.tags),
                    "keywords": list(ip.item.keywords),
                    "fields": list(ip.item.fields),
                    "complete_strategy": ip.complete.strategy,
                    "hours": float(round2(ip.complete.estimate.total_hours)),
                    "fits_alone": ip.complete.estimate.decision == "answer",
                    "strategies": [s.to_dict() for s in ip.strategies],
                }
                for ip in self.items
            ],
            "advice": [a.to_dict() for a in self.advice],
            "sample": self.sample.to_dict() if self.sample else None,
            "snapshot": self.snapshot,
        }


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


def count_item(engine: QueryEngine, item: Item) -> dict[str, int]:
    """Records each strategy must review for an item (one query, one scan of the scope)."""
    row = engine.rows("plan_item_counts", **scope_params(item), **subject_params(item))[0]
    return dict(zip((FULL_REVIEW, TAG_QUERY, KEYWORD, LINKED), (int(v) for v in row), strict=True))


def breakdown(engine: QueryEngine, item: Item) -> tuple[BreakdownRow, ...]:
    """Records in scope (and relevant records) by borough, London day and hour."""
    rows = engine.rows("plan_breakdown", **scope_params(item), **subject_params(item))
    return tuple(BreakdownRow(b, d, int(h), int(n), int(r)) for b, d, h, n, r in rows)


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
    engine: QueryEngine, item: Item, regime: Regime, per: Decimal, cfg: PlannerConfig
) -> ItemPlan:
    """Evaluate every applicable strategy for one item."""
    counts = count_item(engine, item)
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
    return ItemPlan(item, results, breakdown(engine, item))


# ---- section 16 advice ---------------------------------------------------------------------


def _review_minutes(records: int, per: Decimal, cfg: PlannerConfig) -> Decimal:
    return cfg.held_check_minutes + records * per


def _fits(regime: Regime, minutes: Decimal) -> bool:
    return not over_limit(regime, minutes)


def _hours(minutes: Decimal) -> Decimal:
    return minutes / 60


def advise(
    plans: Sequence[ItemPlan], regime: Regime, per: Decimal, cfg: PlannerConfig
) -> list[Advice]:
    """Concrete refinements that would fit within the limit (s.16), best first."""
    if regime.limit is None:
        return []
    advice: list[Advice] = []
    costs = [ip.complete.estimate.countable_minutes for ip in plans]

    # 1. The largest set of whole items that fits together (most items, then most hours).
    if len(plans) > 1:
        best: tuple[int, ...] = ()
        best_key = (0, Decimal(0))
        idx = range(len(plans))
        for r in range(len(plans) - 1, 0, -1):
            for combo in itertools.combinations(idx, r):
                total = sum((costs[i] for i in combo), Decimal(0))
                if _fits(regime, total) and (r, total) > best_key:
                    best, best_key = combo, (r, total)
            if best:
                break
        if len(best) > 1:
            names = ", ".join(plans[i].item.name for i in best)
            advice.append(
                Advice(
                    "items",
                    f"Ask for these parts only: {names}. Together they need "
                    f"{round2(_hours(best_key[1]))} hours, within the limit.",
                    sum(plans[i].complete.records for i in best),
                    _hours(best_key[1]),
                )
            )
        else:
            for i in idx:
                if _fits(regime, costs[i]):
                    advice.append(
                        Advice(
                            "items",
                            f"Ask for {plans[i].item.name} only: on its own it needs "
                            f"{round2(_hours(costs[i]))} hours, within the limit.",
                            plans[i].complete.records,
                            _hours(costs[i]),
                            plans[i].item.name,
                        )
                    )

    for ip in plans:
        full = ip.complete
        if full.estimate.decision == "answer" or full.strategy != FULL_REVIEW:
            continue
        advice += _narrow_item(ip, regime, per, cfg)

    # 5. The automated tag query alone (what the MPS disclosed), for items with tags.
    tagged = [ip.get(TAG_QUERY) for ip in plans]
    tagged_results = [t for t in tagged if t is not None]
    if tagged_results:
        acts = [a for t in tagged_results for a in t.activities]
        est = estimate(regime, acts)
        if est.decision == "answer":
            records = sum(t.records for t in tagged_results)
            advice.append(
                Advice(
                    "tag_only",
                    "Ask only for the CADs that carry the tag(s) "
                    f"({', '.join(sorted({t for ip in plans for t in ip.item.tags}))}): an "
                    f"automated query finds {records} records in {round2(est.total_hours)} hours. "
                    "Records without the tag would not be included.",
                    records,
                    est.total_hours,
                )
            )
    return advice


class BreakdownRow(NamedTuple):
    """Records in an item's scope for one borough, London day and hour."""

    borough: str
    day: dt.date
    hour: int
    records: int
    relevant: int  # of which tagged or matching a keyword/code


def _sums(
    rows: Sequence[BreakdownRow], key: Callable[[BreakdownRow], Any], *, relevant: bool = False
) -> dict[Any, int]:
    """Records (or relevant records) summed by a key of the breakdown rows."""
    out: dict[Any, int] = {}
    for r in rows:
        k = key(r)
        out[k] = out.get(k, 0) + (r.relevant if relevant else r.records)
    return out


def _narrow_item(ip: ItemPlan, regime: Regime, per: Decimal, cfg: PlannerConfig) -> list[Advice]:
    """Ways to narrow one over-limit item so that, on its own, it fits."""
    item, bd = ip.item, ip.breakdown
    out: list[Advice] = []
    spare = records_within_limit(regime, per, cfg.held_check_minutes) or 0
    if spare <= 0:
        return out

    # 2. The longest run of consecutive days that fits.
    if item.days > 1:
        days = [item.date_from + dt.timedelta(days=i) for i in range(item.days)]
        per_day = _sums(bd, lambda r: r.day)
        counts = [per_day.get(d, 0) for d in days]
        best = _longest_window(counts, spare, circular=False)
        if best:
            start, length, records = best
            first, last = days[start], days[start + length - 1]
            out.append(
                Advice(
                    "dates",
                    f"{item.name}: limit the dates to {first.isoformat()} to {last.isoformat()} "
                    f"({length} days, {records} records, "
                    f"{round2(_hours(_review_minutes(records, per, cfg)))} hours).",
                    records,
                    _hours(_review_minutes(records, per, cfg)),
                    item.name,
                )
            )

    # 3. The boroughs that fit (smallest first, as many as fit).
    if len(item.boroughs) > 1:
        per_borough = _sums(bd, lambda r: r.borough)
        chosen: list[str] = []
        total = 0
        for b, n in sorted(per_borough.items(), key=lambda bn: (bn[1], bn[0])):
            if total + n <= spare:
                chosen.append(b)
                total += n
        if chosen:
            out.append(
                Advice(
                    "boroughs",
                    f"{item.name}: limit the request to {', '.join(sorted(chosen))} "
                    f"({total} records, {round2(_hours(_review_minutes(total, per, cfg)))} hours).",
                    total,
                    _hours(_review_minutes(total, per, cfg)),
                    item.name,
                )
            )

    # 4. A time-of-day window that fits, keeping as many relevant records as possible.
    per_hour = _sums(bd, lambda r: r.hour)
    relevant_per_hour = _sums(bd, lambda r: r.hour, relevant=True)
    counts = [per_hour.get(h, 0) for h in range(24)]
    weights = [relevant_per_hour.get(h, 0) for h in range(24)]
    window = _best_hour_window(counts, weights, spare)
    if window and window[1] < 24:
        start, length, records = window
        end = (start + length) % 24
        when = (
            f"between {start:02d}:00 and {end:02d}:00"
            if start + length <= 24
            else f"from {start:02d}:00 to midnight or from midnight to {end:02d}:00"
        )
        out.append(
            Advice(
                "hours",
                f"{item.name}: limit the request to CADs created {when} ({records} records, "
                f"{round2(_hours(_review_minutes(records, per, cfg)))} hours).",
                records,
                _hours(_review_minutes(records, per, cfg)),
                item.name,
            )
        )
    return out


def _best_hour_window(
    counts: Sequence[int], relevant: Sequence[int], budget: int
) -> tuple[int, int, int] | None:
    """The run of consecutive hours (wrapping past midnight) that fits `budget` records and
    keeps the most relevant records; ties go to the longer, then the earlier, window.

    Returns (start hour, length in hours, records) or None if no single hour fits. 24 × 24
    candidates: brute force is clearer than anything cleverer.
    """
    n = len(counts)
    best: tuple[int, int, int] | None = None
    best_key: tuple[int, int, int] = (-1, -1, 0)
    for start in range(n):
        total = rel = 0
        for length in range(1, n + 1):
            h = (start + length - 1) % n
            total += counts[h]
            rel += relevant[h]
            if total > budget:
                break
            key = (rel, length, -start)
            if key > best_key:
                best, best_key = (start, length, total), key
    return best


def _longest_window(
    counts: Sequence[int], budget: int, *, circular: bool
) -> tuple[int, int, int] | None:
    """The longest run of consecutive slots whose counts sum to at most `budget`.

    Returns (start, length, total) — ties broken by the larger total, then the earlier start —
    or None if no single slot fits. Two pointers: O(n) for a line, O(n) over a doubled ring.
    """
    n = len(counts)
    seq = list(counts) * 2 if circular else list(counts)
    best: tuple[int, int, int] | None = None
    lo = 0
    total = 0
    for hi, c in enumerate(seq):
        total += c
        while total > budget or (circular and hi - lo + 1 > n):
            total -= seq[lo]
            lo += 1
        length = hi - lo + 1
        if length > 0 and lo < n:
            cand = (lo, length, total)
            if best is None or (length, total, -lo) > (best[1], best[2], -best[0]):
                best = cand
    return best


def merge_activities(activities: Iterable[Activity]) -> list[Activity]:
    """Add up like activities (same name and per-record minutes) across a request's items.

    The total is unchanged; the explanation then reads "extracting (1,346 records × 3 minutes)"
    once, instead of once per item.
    """
    merged: dict[tuple[str, Decimal], Activity] = {}
    for a in activities:
        key = (a.name, a.minutes_per_record)
        if key in merged:
            m = merged[key]
            a = Activity(
                a.name,
                m.records + a.records,
                a.minutes_per_record,
                m.fixed_minutes + a.fixed_minutes,
            )
        merged[key] = a
    return list(merged.values())


# ---- the plan ------------------------------------------------------------------------------


def _recommend(plans: Sequence[ItemPlan], total: Estimate) -> tuple[str, str]:
    complete = {ip.complete.strategy for ip in plans}
    name = complete.pop() if len(complete) == 1 else "per item"
    hours = round2(total.total_hours)
    if total.decision == "answer":
        return name, (
            f"Answer the request with the {TITLES.get(name, name).lower()} ({hours} hours), "
            "which is within the limit and gives a complete answer."
        )
    text = (
        f"Only a full manual review would give a complete answer, and it needs {hours} hours, "
        "which exceeds the limit: refuse and advise how to narrow the request."
    )
    cheaper = []
    for strategy in (TAG_QUERY, LINKED, KEYWORD):
        found = [s for ip in plans if (s := ip.get(strategy)) is not None]
        est = estimate(total.regime, merge_activities(a for s in found for a in s.activities))
        if found and est.decision == "answer":
            records = sum(s.records for s in found)
            cheaper.append(
                f"{TITLES[strategy].lower()} ({records} records, {round2(est.total_hours)} h)"
            )
    if cheaper:
        text += " Cheaper strategies fit but are incomplete: " + "; ".join(cheaper) + "."
    return name, text


def build_plan(
    snapshot: Snapshot,
    request: Request,
    regime: Regime,
    per_record: MinutesPerRecord,
    *,
    config: PlannerConfig | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> Plan:
    """Plan a request against a store snapshot.

    `engine` ("duckdb" or "spark") chooses the query engine; the plan is the same on either.
    """
    cfg = config or load_config()
    boroughs = sorted({b for it in request.items for b in it.boroughs})
    years = sorted({y for it in request.items for y in it.years})
    with open_engine(
        snapshot, boroughs=boroughs, years=years, engine=engine, spark_master=spark_master
    ) as eng:
        plans = []
        for it in request.items:
            per = (
                to_decimal(it.minutes_per_record, "minutes_per_record")
                if it.minutes_per_record is not None
                else per_record.minutes
            )
            plans.append(plan_item(eng, it, regime, per, cfg))
    total_activities = merge_activities(a for ip in plans for a in ip.complete.activities)
    total = estimate(regime, total_activities)
    recommended, recommendation = _recommend(plans, total)
    advice = advise(plans, regime, per_record.minutes, cfg) if total.decision == "refuse" else []
    sample = None
    if per_record.sample is not None:
        # How robust the decision is to the sample's uncertainty: the records read by hand
        # vary with the per-record time; everything else (checks, queries) is taken as known.
        read = sum(
            a.records for a in total_activities if a.minutes_per_record == per_record.minutes
        )
        other = total.countable_minutes - read * per_record.minutes
        sample = assess(per_record.sample, read, regime, other)
    return Plan(
        request=request,
        regime=regime,
        per_record=per_record,
        items=tuple(plans),
        total=total,
        recommended=recommended,
        recommendation=recommendation,
        advice=tuple(advice),
        snapshot={**snapshot.describe(), "costplan_version": __version__},
        sample=sample,
    )


@dataclass(frozen=True)
class CheckResult:
    """A triage check: every CAD (or every tagged CAD) in boroughs over days, read by hand."""

    boroughs: tuple[str, ...]
    date_from: str
    date_to: str
    tags: tuple[str, ...]
    records: int
    minutes_per_record: Decimal
    estimate: Estimate
    counted_from: str  # "volumes" (the materialised daily table) or "partitions"

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "borough": ", ".join(self.boroughs),
            "boroughs": list(self.boroughs),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "tags": list(self.tags),
            "records": self.records,
            "minutes_per_record": float(self.minutes_per_record),
            "hours": float(round2(e.total_hours)),
            "limit_hours": float(round2(e.limit_hours)) if e.limit_hours is not None else None,
            "decision": e.decision,
            "section": e.section,
            "explanation": e.explanation,
            "counted_from": self.counted_from,
        }


def count_scope(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str] = (),
    *,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> tuple[int, str]:
    """CADs in boroughs over London days (optionally carrying any of tags), and the source.

    On DuckDB, uses the materialised daily volumes when they are fresh for the scope;
    otherwise (and always on Spark) counts the partitions (one file per borough-year, chosen
    from the manifest).
    """
    years = range(date_from.year, date_to.year + 1)
    if uses_volume_table(engine):
        from costplan.engines import volumes  # optional fast path; absent table means partitions

        # None (decided from one small JSON file, before opening DuckDB) unless it is fresh.
        fast = volumes.count(
            snapshot, boroughs=boroughs, date_from=date_from, date_to=date_to, tags=tags or None
        )
        if fast is not None:
            return int(fast), "volumes"
    with open_engine(
        snapshot, boroughs=boroughs, years=years, engine=engine, spark_master=spark_master
    ) as eng:
        n = eng.scalar(
            "count_scope",
            boroughs=list(boroughs),
            date_from=date_from,
            date_to=date_to,
            tags=list(tags),
        )
    return int(n or 0), "partitions"


def check(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    regime: Regime,
    per_record: Decimal,
    tags: Sequence[str] = (),
    *,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> CheckResult:
    """A one-scope feasibility check: count the CADs and cost reading each by hand."""
    records, source = count_scope(
        snapshot, boroughs, date_from, date_to, tags, engine=engine, spark_master=spark_master
    )
    est = estimate(regime, review_activities(records, per_record))
    return CheckResult(
        boroughs=tuple(boroughs),
        date_from=date_from.isoformat(),
        date_to=date_to.isoformat(),
        tags=tuple(tags),
        records=records,
        minutes_per_record=per_record,
        estimate=est,
        counted_from=source,
    )


def disclosure_refs(
    snapshot: Snapshot,
    request: Request,
    *,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> list[str]:
    """CAD references a tag-query answer may release (references only; nothing else)."""
    refs: list[str] = []
    with open_engine(
        snapshot,
        boroughs=sorted({b for it in request.items for b in it.boroughs}),
        years=sorted({y for it in request.items for y in it.years}),
        engine=engine,
        spark_master=spark_master,
    ) as eng:
        for it in request.items:
            if not it.tags:
                continue
            rows = eng.rows("tagged_refs", **scope_params(it), tags=list(it.tags))
            refs += [r[0] for r in rows]
    return refs
