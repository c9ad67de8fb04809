"""The plan of a whole request: every item's strategies, the total, the decision, the advice.

The request is costed as a whole (s.12 and reg. 5 add the parts up) using each item's cheapest
complete strategy. When that exceeds the limit, section 16 advice lists concrete refinements
that would fit, each with its hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costplan import __version__
from costplan.costmodel.estimate import REFUSE, UNCOVERED, Activity, Estimate, estimate
from costplan.costmodel.regimes import Regime
from costplan.costmodel.sampling import SampleAssessment, assess_total
from costplan.costmodel.workdays import Deadline, due
from costplan.engines import DEFAULT, Engine
from costplan.errors import InputError
from costplan.planner.advice import Advice, advise
from costplan.planner.held import TagsFound
from costplan.planner.reading import MinutesPerRecord, item_minutes
from costplan.planner.strategies import (
    KEYWORD,
    LINKED,
    TAG_QUERY,
    TITLES,
    ItemPlan,
    PlannerConfig,
    items_counts,
    load_config,
    plan_item,
)
from costplan.request import Request
from costplan.store import Snapshot
from costplan.store.coverage import COVERED, NOT_COVERED, PARTIAL, Verdict
from costplan.units import round2

PARTIAL_DECISION = "partial"


@dataclass(frozen=True)
class Part:
    """Items judged together under s.12: the request's related parts, whose costs reg. 5 adds
    up, or one unrelated part, judged alone."""

    names: tuple[str, ...]
    related: bool
    estimate: Estimate
    covered: bool

    @property
    def decision(self) -> str:
        if not self.covered and self.estimate.decision != REFUSE:
            return UNCOVERED
        return self.estimate.decision

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "items": list(self.names),
            "related": self.related,
            "hours": float(round2(e.total_hours)),
            "decision": self.decision,
            "section": e.section if self.decision == REFUSE else None,
            "explanation": e.explanation,
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
    # The store snapshot the counts came from: anything written for this plan (a disclosure
    # schedule) reads this same snapshot, never a later one.
    source: Snapshot | None = field(default=None, repr=False, compare=False)
    # Per item (same order): whether the archive holds the days and areas it asks about.
    coverage: tuple[Verdict, ...] = ()
    # How the items are judged: one part for a request whose items are all related.
    parts: tuple[Part, ...] = ()
    # When the response is due under the regime (a request with a received date).
    deadline: Deadline | None = None

    @property
    def fully_covered(self) -> bool:
        return all(v.covered for v in self.coverage)

    @property
    def decision(self) -> str:
        """ANSWER, REFUSE, or UNCOVERED: the archive does not hold all that is asked about and
        what it holds fits the limit, so no decision can rest on it (a refusal can: the cost is
        at least what the archive alone needs)."""
        if len(self.parts) > 1:
            decisions = {p.decision for p in self.parts}
            return decisions.pop() if len(decisions) == 1 else PARTIAL_DECISION
        if not self.fully_covered and self.total.decision != REFUSE:
            return UNCOVERED
        return self.total.decision

    @property
    def section(self) -> str | None:
        if len(self.parts) > 1:
            return next((p.estimate.section for p in self.parts if p.decision == REFUSE), None)
        return None if self.decision == UNCOVERED else self.total.section

    @property
    def coverage_status(self) -> str:
        """covered, partial or not_covered for the request as a whole."""
        if self.fully_covered:
            return COVERED
        if all(v.status == NOT_COVERED for v in self.coverage):
            return NOT_COVERED
        return PARTIAL

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
            "decision": self.decision,
            "section": self.section,
            "coverage": self.coverage_status,
            "lower_bound": not self.fully_covered,
            "parts": [p.to_dict() for p in self.parts],
            "due": self.deadline.to_dict() if self.deadline else None,
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
                    "coverage": cover.to_dict(),
                    "strategies": [s.to_dict() for s in ip.strategies],
                }
                for ip, cover in zip(self.items, self.coverage, strict=True)
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
    hours = f"{round2(total.total_hours):,}"  # as the explanation writes hours: 192,651.32
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
                f"{TITLES[strategy].lower()} ({records:,} records, {round2(est.total_hours):,} h)"
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
    today: dt.date | None = None,
) -> Plan:
    """Plan a request against a store snapshot; the plan is the same on every engine.

    `today` is the day the working days left are counted from (default: the day it runs).
    """
    cfg = config or load_config()
    boroughs = sorted({b for it in request.items for b in it.boroughs})
    years = sorted({y for it in request.items for y in it.years})
    with engine.open(snapshot, boroughs=boroughs, years=years) as session:
        # Items asking the same over nearby boroughs and days are counted by one scan.
        counted = items_counts(session, request.items)
        found = TagsFound(session)  # which tags are in use: asked once for the request
        plans = [
            plan_item(session, it, regime, item_minutes(it, per_record), cfg, counts, found)
            for it, counts in zip(request.items, counted, strict=True)
        ]
    total_activities = merge_activities(a for ip in plans for a in ip.complete.activities)
    total = estimate(regime, total_activities)
    coverage = snapshot.coverage
    verdicts = tuple(
        coverage.verdict(it.boroughs, it.date_from, it.last_day) for it in request.items
    )
    recommended, recommendation = _recommend(plans, total)
    if not all(v.covered for v in verdicts):
        note = _uncovered_note(verdicts, total)
        # A refusal on a lower bound keeps its reasons; otherwise there is nothing to recommend
        # but finding the rest of the information.
        recommendation = f"{note} {recommendation}" if total.decision == REFUSE else note
    parts = _parts(plans, verdicts, regime)
    refused = {n for p in parts if p.decision == REFUSE for n in p.names}
    # Advice narrows what is refused, to what the archive holds: never "ask for this part
    # alone" for a part whose zero count only means the archive does not cover it.
    held = [
        ip for ip, v in zip(plans, verdicts, strict=True) if v.covered and ip.item.name in refused
    ]
    advice = advise(held, regime, per_record.minutes, cfg) if refused else []
    if len(parts) > 1:
        recommendation = _parts_note(parts)
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
        coverage=verdicts,
        parts=parts,
        deadline=_deadline(regime, request, today),
    )


def _deadline(regime: Regime, request: Request, today: dt.date | None) -> Deadline | None:
    """The regime's due date for a request with a received date (None without one, or for a
    regime that states no time limit)."""
    if request.received is None:
        return None
    try:
        return due(regime, request.received, today=today)
    except InputError as exc:
        if exc.field == "regime":
            return None
        raise


def _parts(
    plans: list[ItemPlan], verdicts: tuple[Verdict, ...], regime: Regime
) -> tuple[Part, ...]:
    """The related items together (their costs added up, reg. 5), each unrelated one alone."""
    groups: list[list[int]] = []
    related = [i for i, ip in enumerate(plans) if ip.item.related]
    if related:
        groups.append(related)
    groups += [[i] for i, ip in enumerate(plans) if not ip.item.related]
    return tuple(
        Part(
            names=tuple(plans[i].item.name for i in group),
            related=plans[group[0]].item.related,
            estimate=estimate(
                regime, merge_activities(a for i in group for a in plans[i].complete.activities)
            ),
            covered=all(verdicts[i].covered for i in group),
        )
        for group in groups
    )


def _parts_note(parts: tuple[Part, ...]) -> str:
    """Which parts can be answered within the limit, each judged as the request says."""
    lines = []
    for p in parts:
        what = ", ".join(p.names) + (" (related, costs added up)" if len(p.names) > 1 else "")
        verdict = {
            "answer": "can be answered within the limit",
            "refuse": f"exceeds the limit (section {p.estimate.section})",
            UNCOVERED: "is not covered by the archive: find the rest before deciding",
        }[p.decision]
        lines.append(f"{what}: {round2(p.estimate.total_hours)} hours, {verdict}")
    return "Parts judged separately: " + "; ".join(lines) + "."


def _uncovered_note(verdicts: tuple[Verdict, ...], total: Estimate) -> str:
    """What an officer must know when the archive does not hold all that is asked about."""
    missing = " ".join(v.describe() for v in verdicts if not v.covered)
    if total.decision == REFUSE:
        return (
            f"{missing} The counts are a lower bound, and even they exceed the limit, so the "
            "refusal stands on what the archive holds."
        )
    return (
        f"{missing} The counts are a lower bound: no decision under the cost limit can rest on "
        "this archive alone. Establish whether the information is held elsewhere (another "
        "system, an older archive, another force) before answering or refusing."
    )
