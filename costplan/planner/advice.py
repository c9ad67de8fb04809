"""Section 16 advice: concrete refinements of an over-limit request that would fit."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costplan.costmodel.estimate import estimate, over_limit, records_within_limit
from costplan.costmodel.regimes import Regime
from costplan.planner.strategies import (
    FULL_REVIEW,
    TAG_QUERY,
    BreakdownRow,
    ItemPlan,
    PlannerConfig,
)
from costplan.units import round2


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
