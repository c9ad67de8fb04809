"""The plan of a whole request: every item's strategies, the total, the decision, the advice.

The request is costed as a whole (s.12 and reg. 5 add the parts up) using each item's cheapest
complete strategy. When that exceeds the limit, section 16 advice lists concrete refinements
that would fit, each with its hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costplan import __version__
from costplan.costmodel.estimate import Activity, Estimate, estimate
from costplan.costmodel.regimes import Regime
from costplan.costmodel.sampling import SampleAssessment, assess_total
from costplan.engines import DEFAULT, Engine
from costplan.planner.advice import Advice, advise
from costplan.planner.reading import MinutesPerRecord, item_minutes
from costplan.planner.strategies import (
    KEYWORD,
    LINKED,
    TAG_QUERY,
    TITLES,
    ItemPlan,
    PlannerConfig,
    load_config,
    plan_item,
)
from costplan.request import Request
from costplan.store import Snapshot
from costplan.units import round2


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
    # The store snapshot the counts came from: anything written for this plan (a disclosure
    # schedule) reads this same snapshot, never a later one.
    source: Snapshot | None = field(default=None, repr=False, compare=False)

    @property
    def decision(self) -> str:
        return self.total.decision

    @property
    def section(self) -> str | None:
        return self.total.section

    @property
    def warnings(self) -> tuple[str, ...]:
        """For the officer, never the requester: each item's, named when there are several."""
        several = len(self.items) > 1
        return tuple(
            f"{ip.item.name}: {w}" if several else w for ip in self.items for w in ip.warnings
        )

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
            "warnings": list(self.warnings),
            "sample": self.sample.to_dict() if self.sample else None,
            "snapshot": self.snapshot,
        }


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
    engine: Engine = DEFAULT,
) -> Plan:
    """Plan a request against a store snapshot; the plan is the same on every engine."""
    cfg = config or load_config()
    boroughs = sorted({b for it in request.items for b in it.boroughs})
    years = sorted({y for it in request.items for y in it.years})
    with engine.open(snapshot, boroughs=boroughs, years=years) as session:
        plans = [
            plan_item(session, it, regime, item_minutes(it, per_record), cfg)
            for it in request.items
        ]
    total_activities = merge_activities(a for ip in plans for a in ip.complete.activities)
    total = estimate(regime, total_activities)
    recommended, recommendation = _recommend(plans, total)
    advice = advise(plans, regime, per_record.minutes, cfg) if total.decision == "refuse" else []
    sample = None
    if per_record.sample is not None:
        # How robust the decision is to the sample's uncertainty (the records read at the
        # sample's mean vary with it; checks and queries are taken as known).
        read = sum(
            a.records for a in total_activities if a.minutes_per_record == per_record.minutes
        )
        sample = assess_total(per_record.sample, read, regime, total.countable_minutes)
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
        source=snapshot,
    )
