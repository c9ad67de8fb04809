"""Regulation 5 aggregation: several requests costed as one against the limit.

Under reg. 5 SI 2004/3244 (made under FOIA s.12(4)) the cost of two or more requests may be
added together when they (law.md §1.6):
    1. come from one person, or from people who appear to act in concert or as a campaign;
    2. relate, to any extent, to the same or similar information; and
    3. are received within any period of sixty consecutive working days.

How this module applies the tests (the judgement stays with the user):
    * Test 1: requests are linked when they share a requester or a non-empty campaign id;
      links are transitive (A and B share a requester, B and C a campaign → one party).
    * Test 2: requests must share the register's topic key (compared case-insensitively).
      Deciding that two requests are "similar" is the user's call, recorded in that key.
    * Test 3: every request in a group must fall inside one run of 60 consecutive working
      days (FOIA s.10(6) days, see `costplan.costmodel.workdays`); a receipt on a
      non-working day counts from the next working day. Windows are NOT chained: requests on
      working days 1, 50 and 100 give two groups ({1, 50} and {50, 100}), never one. Every
      maximal window is reported, so a request may appear in more than one group.

Requester names are personal data: outputs show a stable pseudonym ("requester A", in order of
first appearance in the register) and never the text of the requester column.

The register (CSV or TOML) is read by `costplan.costmodel.register`; `read_register` and
`RegisterEntry` are importable from here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from costplan.costmodel.estimate import ANSWER, REFUSE, over_limit
from costplan.costmodel.regimes import Regime
from costplan.costmodel.register import RegisterEntry, read_register
from costplan.costmodel.workdays import add_working_days, is_working_day, working_days_inclusive
from costplan.errors import InputError
from costplan.units import SIXTY, fmt_money, fmt_number, plural, round2

WINDOW_WORKING_DAYS = 60

# ---- grouping --------------------------------------------------------------------------------


def pseudonyms(entries: Sequence[RegisterEntry]) -> dict[str, str]:
    """Map requester text to "requester A", "requester B", ... in order of first appearance."""
    names: dict[str, str] = {}
    for entry in entries:
        key = entry.requester.strip().casefold()
        if key not in names:
            names[key] = f"requester {_letters(len(names))}"
    return {e.requester: names[e.requester.strip().casefold()] for e in entries}


def _letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (spreadsheet-style)."""
    text = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        text = chr(ord("A") + rem) + text
    return text


def _start_day(day: dt.date) -> dt.date:
    """A receipt on a non-working day counts from the next working day."""
    return day if is_working_day(day) else add_working_days(day, 1)[0]


@dataclass(frozen=True)
class Member:
    """A request in a group, with why it is there."""

    entry: RegisterEntry
    requester_label: str
    day_in_window: int
    reason: str


@dataclass(frozen=True)
class Group:
    """Requests that may be aggregated under reg. 5, with the combined decision.

    Attributes:
        topic: the shared topic key.
        link: how the requests are linked ("same requester", "same campaign 'X'", ...).
        members: the requests, in date order.
        window_start: first working day of the 60-working-day window (first receipt).
        window_end: 60th working day of that window.
        span_working_days: working days from first to last receipt, inclusive.
        total_minutes: combined countable minutes.
        decision: "answer" or "refuse" (advisory regimes never refuse).
        section: the refusal section label, or None.
        explanation: plain-English reasons.
    """

    topic: str
    link: str
    members: tuple[Member, ...]
    window_start: dt.date
    window_end: dt.date
    span_working_days: int
    total_minutes: Decimal
    decision: str
    section: str | None
    explanation: str

    @property
    def total_hours(self) -> Decimal:
        """Combined countable hours (exact)."""
        return self.total_minutes / SIXTY


@dataclass(frozen=True)
class AggregateReport:
    """Groups found in a register, and the requests that stand alone."""

    regime: Regime
    groups: tuple[Group, ...]
    standalone: tuple[Member, ...]
    standalone_decisions: tuple[tuple[str, str | None], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; requesters appear only as pseudonyms."""
        r = self.regime

        def member(m: Member) -> dict[str, Any]:
            return {
                "id": m.entry.request_id,
                "requester": m.requester_label,
                "campaign": m.entry.campaign,
                "received": m.entry.received.isoformat(),
                "topic": m.entry.topic,
                "hours": float(round2(m.entry.hours)),
                "reason": m.reason,
            }

        return {
            "regime": r.name,
            "limit_hours": None if r.limit_hours is None else float(round2(r.limit_hours)),
            "currency": r.currency,
            "window_working_days": WINDOW_WORKING_DAYS,
            "groups": [
                {
                    "group": n,
                    "topic": g.topic,
                    "link": g.link,
                    "requests": [m.entry.request_id for m in g.members],
                    "window_start": g.window_start.isoformat(),
                    "window_end": g.window_end.isoformat(),
                    "first_received": g.members[0].entry.received.isoformat(),
                    "last_received": g.members[-1].entry.received.isoformat(),
                    "span_working_days": g.span_working_days,
                    "total_hours": float(round2(g.total_hours)),
                    "total_cost": float(round2(g.total_minutes * r.rate / SIXTY)),
                    "decision": g.decision,
                    "section": g.section,
                    "explanation": g.explanation,
                    "members": [member(m) for m in g.members],
                }
                for n, g in enumerate(self.groups, 1)
            ],
            "standalone": [
                {**member(m), "decision": d, "section": s}
                for m, (d, s) in zip(self.standalone, self.standalone_decisions, strict=True)
            ],
        }


def _parties(entries: Sequence[RegisterEntry]) -> list[list[RegisterEntry]]:
    """Split one topic's requests into parties linked by requester or campaign (union-find)."""
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[tuple[str, str], int] = {}
    for i, e in enumerate(entries):
        keys = [("requester", e.requester.strip().casefold())]
        if e.campaign:
            keys.append(("campaign", e.campaign.casefold()))
        for key in keys:
            if key in first_by_key:
                parent[find(i)] = find(first_by_key[key])
            else:
                first_by_key[key] = i
    parties: dict[int, list[RegisterEntry]] = {}
    for i, e in enumerate(entries):
        parties.setdefault(find(i), []).append(e)
    return list(parties.values())


def _link(members: Sequence[RegisterEntry], labels: dict[str, str]) -> str:
    people = sorted({labels[m.requester] for m in members})
    # Campaign ids match case-insensitively (as in `_parties`); show the first spelling.
    campaigns = {m.campaign.casefold(): m.campaign for m in reversed(members) if m.campaign}
    if len(people) == 1:
        return f"same requester ({people[0]})"
    if len(campaigns) == 1 and all(m.campaign for m in members):
        return f"same campaign '{next(iter(campaigns.values()))}' ({', '.join(people)})"
    return f"acting in concert: linked by requester and campaign ({', '.join(people)})"


def _member_reason(entry: RegisterEntry, label: str, topic: str, day: int) -> str:
    campaign = f", campaign '{entry.campaign}'" if entry.campaign else ""
    return f"{label}{campaign}; topic '{topic}'; working day {day} of the window"


def _decide(regime: Regime, minutes: Decimal) -> tuple[str, str | None]:
    if regime.advisory_only or not over_limit(regime, minutes):
        return ANSWER, None
    return REFUSE, regime.section


def _group_explanation(
    regime: Regime, members: Sequence[RegisterEntry], span: int, minutes: Decimal
) -> str:
    hours = minutes / SIXTY
    ids = [m.request_id for m in members]
    listed = ", ".join(ids[:-1]) + f" and {ids[-1]}"
    first, last = members[0].received.isoformat(), members[-1].received.isoformat()
    head = (
        f"Requests {listed} were received over {plural(span, 'working day')} ({first} to "
        f"{last}), inside one period of {WINDOW_WORKING_DAYS} consecutive working days; under "
        f"{regime.aggregation} their costs are added: {fmt_number(hours)} hours in total"
    )
    if regime.limit_hours is None or regime.limit is None:
        return f"{head}."
    limit = (
        f"the {regime.limit_name} of {plural(regime.limit_hours, 'hour')} "
        f"({fmt_money(regime.limit, regime.currency)} at "
        f"{fmt_money(regime.rate, regime.currency)} per hour)"
    )
    if over_limit(regime, minutes):
        if regime.advisory_only:
            return f"{head}, more than {limit}. {regime.advisory}"
        return (
            f"{head}, which exceeds {limit}; each of these requests may be refused under "
            f"{regime.provision}."
        )
    return f"{head}, which is within {limit}."


def aggregate(entries: Sequence[RegisterEntry], regime: Regime) -> AggregateReport:
    """Find reg. 5 groups in a register and decide each against the limit.

    Args:
        entries: the requests (see `read_register`).
        regime: the regime; it must model an aggregation rule.

    Returns:
        The report: groups of two or more requests, and requests that stand alone.

    Raises:
        InputError: the regime has no aggregation rule.
    """
    if regime.aggregation is None:
        raise InputError(
            f"regime '{regime.name}' has no aggregation rule modelled",
            "use uk-foia-other or uk-foia-central (reg. 5 SI 2004/3244)",
        )
    labels = pseudonyms(entries)
    by_topic: dict[str, list[RegisterEntry]] = {}
    for e in entries:
        by_topic.setdefault(e.topic, []).append(e)

    groups: list[Group] = []
    grouped: set[str] = set()
    for topic, topic_entries in by_topic.items():
        for party in _parties(topic_entries):
            party.sort(key=lambda e: (_start_day(e.received), e.request_id))
            starts = [_start_day(e.received) for e in party]
            last_end = -1
            for i, start in enumerate(starts):
                window_end = add_working_days(start, WINDOW_WORKING_DAYS - 1)[0]
                j = i
                while j + 1 < len(party) and starts[j + 1] <= window_end:
                    j += 1
                # Keep only maximal windows: one ending where the previous ended is a subset.
                if j <= last_end or j == i:
                    continue
                last_end = j
                members = party[i : j + 1]
                days = [working_days_inclusive(start, s) for s in starts[i : j + 1]]
                minutes = sum((m.minutes for m in members), Decimal(0))
                span = working_days_inclusive(start, starts[j])
                link = _link(members, labels)
                decision, section = _decide(regime, minutes)
                groups.append(
                    Group(
                        topic=topic,
                        link=link,
                        members=tuple(
                            Member(
                                entry=m,
                                requester_label=labels[m.requester],
                                day_in_window=day,
                                reason=_member_reason(m, labels[m.requester], topic, day),
                            )
                            for m, day in zip(members, days, strict=True)
                        ),
                        window_start=start,
                        window_end=window_end,
                        span_working_days=span,
                        total_minutes=minutes,
                        decision=decision,
                        section=section,
                        explanation=_group_explanation(regime, members, span, minutes),
                    )
                )
                grouped.update(m.request_id for m in members)

    groups.sort(key=lambda g: (g.window_start, g.topic, g.members[0].entry.request_id))
    alone = [e for e in entries if e.request_id not in grouped]
    alone.sort(key=lambda e: (e.received, e.request_id))
    standalone = tuple(
        Member(
            entry=e,
            requester_label=labels[e.requester],
            day_in_window=1,
            reason="no other request from the same requester or campaign on this topic "
            f"within {WINDOW_WORKING_DAYS} working days",
        )
        for e in alone
    )
    return AggregateReport(
        regime=regime,
        groups=tuple(groups),
        standalone=standalone,
        standalone_decisions=tuple(_decide(regime, e.minutes) for e in alone),
    )


def aggregate_register(path: Path | str, regime: Regime) -> AggregateReport:
    """Read a register and aggregate it (see `read_register` and `aggregate`)."""
    return aggregate(read_register(path, regime), regime)
