"""Regulation 5 aggregation: one verdict per request, judged when it is dealt with.

Under reg. 5 SI 2004/3244 (made under FOIA s.12(4)) the cost of two or more requests may be
added together when they (law.md §1.6):
    1. come from one person, or from people who appear to act in concert or as a campaign;
    2. relate, to any extent, to the same or similar information; and
    3. are received within any period of sixty consecutive working days.

How this module applies the tests (the judgement of similarity and concert stays with the user):
    * Test 1: requests are linked when they share a requester or a non-empty campaign id;
      links are transitive (A and B share a requester, B and C a campaign → one party).
    * Test 2: requests must share the register's topic key (compared case-insensitively).
    * Test 3: working days are FOIA s.10(6) days (`costplan.costmodel.workdays`); a receipt on
      a non-working day counts from the next working day.

The rule: each request R gets ONE verdict, judged as at the day it is dealt with.
    * R's *dealt-with day* is the day its response or refusal was sent (the register's
      ``answered`` date) or its s.10(1) due date (the 20th working day after receipt),
      whichever is earlier; without an answered date, the due date. The refusal notice
      (s.17(5)) is due within that time, so the authority cannot wait for more requests.
    * Earlier requests (received on an earlier day) from the same party on the same topic
      count towards R when R was received within the 60 consecutive working days starting
      on the earlier one's receipt, answered or not: reg. 5 adds the cost of complying with
      all the requests received within the period, and answering one does not remove it.
    * Later requests (received on R's day or after) count towards R only while R was still
      being dealt with: received on or before R's due date and before the day R was answered
      (the register has no times of day, so a request answered on the day a later one arrived
      is taken to have been answered first). A request already answered, or already due, is
      never told it "may be refused" because of a request that arrived afterwards. This
      follows the ICO guidance "Time at which to apply section 12 for aggregated requests" as
      summarised in mySociety's section 12 guide: the period may run at most 20 working days
      forward from the request under consideration, 60 in all. That summary also quotes 20
      working days "backwards"; the ICO text could not be checked here, so earlier requests
      get reg. 5's 60 working days: check the guidance before relying on a refusal that
      reaches back more than 20 working days.
    * Withdrawn requests are not decided and add nothing to another request's cost (there is
      nothing to comply with). Answered and refused ones are judged like open ones (the
      verdict says what the law allowed when they were dealt with) and count for later ones.
    * R and everything counted with it must fall inside ONE period of 60 consecutive working
      days. Of the periods containing R, the one with the largest combined cost is used (the
      authority "may" aggregate, so R may be refused if any lawful aggregation exceeds the
      limit); ties go to the earliest. Periods are never chained: requests on working days 1,
      50 and 100 give day 1 a verdict alone (day 50 arrived after it was due), day 50 one
      with day 1, and day 100 one with day 50, never all three together.
    * Verdict: R's own cost over the limit → refuse alone; else the combined cost over the
      limit → refuse by aggregation; else answer. Regimes that only advise never refuse.

Requester names are personal data: outputs show a stable pseudonym ("requester A", in order of
first appearance in the register) and never the text of the requester column.

The register (CSV or TOML) is read by `costplan.costmodel.register`; `read_register` and
`RegisterEntry` are importable from here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from costplan.costmodel.estimate import ANSWER, REFUSE, over_limit
from costplan.costmodel.regimes import Regime
from costplan.costmodel.register import (
    ANSWERED,
    REFUSED,
    WITHDRAWN,
    RegisterEntry,
    read_register,
)
from costplan.costmodel.workdays import (
    FOIA_WORKING_DAYS,
    add_working_days,
    deadline,
    is_working_day,
)
from costplan.errors import InputError
from costplan.units import SIXTY, fmt_money, fmt_number, plural, round2

WINDOW_WORKING_DAYS = 60
# The basis of a verdict.
ALONE, AGGREGATED = "alone", "aggregated"


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
class Verdict:
    """The decision on one request, and why.

    Attributes:
        entry: the request.
        requester_label: its requester's pseudonym.
        due: its s.10(1) due date.
        dealt_with: the day it is judged: the answered date or the due date, the earlier.
        decision: "answer" or "refuse"; "withdrawn" for a withdrawn request (not decided).
        section: the refusal section label, or None.
        basis: "alone" (its own cost decides), "aggregated" (its cost with `aggregated_with`)
            or "withdrawn".
        aggregated_with: the other requests whose cost is added to it, in date order.
        link: how those requests are linked to it ("same requester (requester A)"), or None.
        window_start: first working day of the 60-working-day period used.
        window_end: last (60th) working day of that period.
        total_minutes: its countable minutes plus those of `aggregated_with`.
        not_counted: similar requests from the same party not added to it, with why.
        explanation: plain-English reasons.
    """

    entry: RegisterEntry
    requester_label: str
    due: dt.date
    dealt_with: dt.date
    decision: str
    section: str | None
    basis: str
    aggregated_with: tuple[RegisterEntry, ...]
    link: str | None
    window_start: dt.date
    window_end: dt.date
    total_minutes: Decimal
    not_counted: tuple[tuple[RegisterEntry, str], ...]
    explanation: str

    @property
    def total_hours(self) -> Decimal:
        """Combined countable hours (exact)."""
        return self.total_minutes / SIXTY


@dataclass(frozen=True)
class AggregateReport:
    """One verdict per request in the register, in date order."""

    regime: Regime
    verdicts: tuple[Verdict, ...]
    labels: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; requesters appear only as pseudonyms."""
        r = self.regime

        def ref(e: RegisterEntry) -> dict[str, Any]:
            return {
                "id": e.request_id,
                "requester": self.labels[e.requester],
                "received": e.received.isoformat(),
                "hours": float(round2(e.hours)),
            }

        return {
            "regime": r.name,
            "limit_hours": None if r.limit_hours is None else float(round2(r.limit_hours)),
            "currency": r.currency,
            "window_working_days": WINDOW_WORKING_DAYS,
            "response_working_days": FOIA_WORKING_DAYS,
            "verdicts": [
                {
                    "id": v.entry.request_id,
                    "requester": v.requester_label,
                    "campaign": v.entry.campaign,
                    "topic": v.entry.topic,
                    "received": v.entry.received.isoformat(),
                    "status": v.entry.status,
                    "answered": None if v.entry.answered is None else v.entry.answered.isoformat(),
                    "due": v.due.isoformat(),
                    "dealt_with": v.dealt_with.isoformat(),
                    "hours": float(round2(v.entry.hours)),
                    "decision": v.decision,
                    "section": v.section,
                    "basis": v.basis,
                    "aggregated_with": [ref(e) for e in v.aggregated_with],
                    "link": v.link,
                    "window_start": v.window_start.isoformat(),
                    "window_end": v.window_end.isoformat(),
                    "total_hours": float(round2(v.total_hours)),
                    "total_cost": float(round2(v.total_minutes * r.rate / SIXTY)),
                    "not_counted": [{**ref(e), "why": why} for e, why in v.not_counted],
                    "explanation": v.explanation,
                }
                for v in self.verdicts
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
    return f"acting in concert, linked by requester and campaign ({', '.join(people)})"


def _decide(regime: Regime, minutes: Decimal) -> tuple[str, str | None]:
    if regime.advisory_only or not over_limit(regime, minutes):
        return ANSWER, None
    return REFUSE, regime.section


@dataclass(frozen=True)
class _Dates:
    """The dates the rule needs for one request, computed once."""

    start: dt.date  # first working day counted
    window_end: dt.date  # last day of the 60 working days starting at `start`
    due: dt.date
    dealt_with: dt.date


def _dates(e: RegisterEntry) -> _Dates:
    start = _start_day(e.received)
    due = deadline(e.received).due
    dealt_with = due if e.answered is None else min(due, e.answered)
    return _Dates(start, add_working_days(start, WINDOW_WORKING_DAYS - 1)[0], due, dealt_with)


def _late_reason(r: RegisterEntry, d: _Dates, other: RegisterEntry) -> str | None:
    """Why a request received on R's day or later does not count towards R (None: it does)."""
    if r.answered is not None and other.received >= r.answered and r.answered <= d.due:
        done = "refused" if r.status == REFUSED else "answered"
        return f"received {other.received.isoformat()}, after {r.request_id} was {done} on " + (
            "the same day" if other.received == r.answered else r.answered.isoformat()
        )
    if other.received > d.due:
        return (
            f"received {other.received.isoformat()}, after {r.request_id}'s s.10 due date "
            f"{d.due.isoformat()}"
        )
    return None


def _judge(
    r: RegisterEntry,
    party: Sequence[RegisterEntry],
    dates: dict[str, _Dates],
    labels: dict[str, str],
    regime: Regime,
) -> Verdict:
    """The verdict on one request of a party (see the module docstring for the rule)."""
    d = dates[r.request_id]
    eligible: list[RegisterEntry] = [r]
    not_counted: list[tuple[RegisterEntry, str]] = []
    for o in party:
        if o is r or o.status == WITHDRAWN:
            continue
        od = dates[o.request_id]
        if o.received < r.received:
            if d.start <= od.window_end:
                eligible.append(o)
            continue
        if od.start > d.window_end:
            continue  # too late for any period with R: not worth a word
        why = _late_reason(r, d, o)
        if why is None:
            eligible.append(o)
        else:
            not_counted.append((o, why))
    eligible.sort(key=lambda e: (dates[e.request_id].start, e.request_id))

    # The 60-working-day period containing R with the largest combined cost.
    best: tuple[Decimal, dt.date, dt.date, list[RegisterEntry]] | None = None
    for first in eligible:
        start, end = dates[first.request_id].start, dates[first.request_id].window_end
        if start > d.start:
            break
        inside = [e for e in eligible if start <= dates[e.request_id].start <= end]
        minutes = sum((e.minutes for e in inside), Decimal(0))
        if best is None or minutes > best[0]:
            best = (minutes, start, end, inside)
    assert best is not None  # R itself starts a period
    minutes, window_start, window_end, inside = best
    for o in eligible:
        if all(o is not e for e in inside):
            not_counted.append(
                (o, f"not within one {WINDOW_WORKING_DAYS}-working-day period with those counted")
            )
    not_counted.sort(key=lambda item: (item[0].received, item[0].request_id))

    alone = over_limit(regime, r.minutes)
    others = () if alone else tuple(e for e in inside if e is not r)
    if alone:
        not_counted = []  # its own cost decides; nothing else is weighed
    if alone or not others:
        minutes, window_start, window_end = r.minutes, d.start, d.window_end
    decision, section = _decide(regime, minutes)
    link = _link([r, *others], labels) if others else None
    verdict = Verdict(
        entry=r,
        requester_label=labels[r.requester],
        due=d.due,
        dealt_with=d.dealt_with,
        decision=decision,
        section=section,
        basis=AGGREGATED if others else ALONE,
        aggregated_with=others,
        link=link,
        window_start=window_start,
        window_end=window_end,
        total_minutes=minutes,
        not_counted=tuple(not_counted),
        explanation="",
    )
    return _explained(verdict, regime, labels)


def _withdrawn(r: RegisterEntry, d: _Dates, labels: dict[str, str]) -> Verdict:
    return Verdict(
        entry=r,
        requester_label=labels[r.requester],
        due=d.due,
        dealt_with=d.dealt_with,
        decision=WITHDRAWN,
        section=None,
        basis=WITHDRAWN,
        aggregated_with=(),
        link=None,
        window_start=d.start,
        window_end=d.window_end,
        total_minutes=r.minutes,
        not_counted=(),
        explanation=f"{r.request_id} was withdrawn: it is not decided, and its cost is not "
        "added to any other request's.",
    )


# ---- wording ---------------------------------------------------------------------------------


def _ids(entries: Sequence[str]) -> str:
    return entries[0] if len(entries) == 1 else ", ".join(entries[:-1]) + f" and {entries[-1]}"


def _explained(v: Verdict, regime: Regime, labels: dict[str, str]) -> Verdict:
    """The verdict with its explanation filled in."""
    r, rid = v.entry, v.entry.request_id
    campaign = f", campaign '{r.campaign}'" if r.campaign else ""
    done = "refused" if r.status == REFUSED else "answered"
    if r.answered is None:
        by = f"its s.10 due date, {v.due.isoformat()}"
    elif r.answered <= v.due:
        by = f"{v.dealt_with.isoformat()}, when it was {done}"
    else:
        by = f"its s.10 due date, {v.due.isoformat()} (the response was sent late, on "
        by += f"{r.answered.isoformat()})"
    parts = [
        f"{rid} ({v.requester_label}{campaign}; topic '{r.topic}') was received on "
        f"{r.received.isoformat()} and is judged as at {by}."
    ]
    hours = fmt_number(v.total_hours)
    limit = ""
    if regime.limit_hours is not None and regime.limit is not None:
        limit = (
            f"the {regime.limit_name} of {plural(regime.limit_hours, 'hour')} "
            f"({fmt_money(regime.limit, regime.currency)} at "
            f"{fmt_money(regime.rate, regime.currency)} per hour)"
        )
    over = over_limit(regime, v.total_minutes)
    if v.basis == AGGREGATED:
        listed = [
            f"{e.request_id} ({labels[e.requester]}, received {e.received.isoformat()}"
            + (f", while {rid} was still being dealt with)" if e.received >= r.received else ")")
            for e in v.aggregated_with
        ]
        parts.append(
            f"Under {regime.aggregation} its cost is taken to include {_ids(listed)}: same or "
            f"similar information (topic '{r.topic}'); {v.link}; all received within the "
            f"{WINDOW_WORKING_DAYS} consecutive working days {v.window_start.isoformat()} to "
            f"{v.window_end.isoformat()}. Together they need {hours} hours"
        )
    elif over:
        parts.append(f"On its own, without aggregation, it needs {hours} hours")
    else:
        parts.append(
            "No other request from the same requester or campaign on this topic can be added "
            f"to it; on its own it needs {hours} hours"
        )
    if not limit:
        parts[-1] += "."
    elif over and regime.advisory_only:
        parts[-1] += f", more than {limit}. {regime.advisory}"
    elif over:
        may = "could have been" if r.status == ANSWERED else "may be"
        parts[-1] += f", which exceeds {limit}; {rid} {may} refused under {regime.provision}."
    else:
        parts[-1] += f", which is within {limit}, so {regime.provision} does not apply to {rid}."
    if v.not_counted:
        listed = [f"{e.request_id} ({why})" for e, why in v.not_counted]
        parts.append(f"Not counted: {'; '.join(listed)}.")
    if r.status in (ANSWERED, REFUSED) and (r.status == REFUSED) != (v.decision == REFUSE):
        parts.append(f"The register records it as {done}.")
    return replace(v, explanation=" ".join(parts))


# ---- the report ------------------------------------------------------------------------------


def aggregate(entries: Sequence[RegisterEntry], regime: Regime) -> AggregateReport:
    """Give every request in a register one verdict under reg. 5 (see the module docstring).

    Args:
        entries: the requests (see `read_register`).
        regime: the regime; it must model an aggregation rule.

    Returns:
        The report: one verdict per request, in order of receipt.

    Raises:
        InputError: the regime has no aggregation rule.
    """
    if regime.aggregation is None:
        raise InputError(
            f"regime '{regime.name}' has no aggregation rule modelled",
            "use uk-foia-other or uk-foia-central (reg. 5 SI 2004/3244)",
        )
    labels = pseudonyms(entries)
    dates = {e.request_id: _dates(e) for e in entries}
    by_topic: dict[str, list[RegisterEntry]] = {}
    for e in entries:
        by_topic.setdefault(e.topic, []).append(e)
    verdicts: list[Verdict] = []
    for topic_entries in by_topic.values():
        for party in _parties(topic_entries):
            for r in party:
                if r.status == WITHDRAWN:
                    verdicts.append(_withdrawn(r, dates[r.request_id], labels))
                else:
                    verdicts.append(_judge(r, party, dates, labels, regime))
    verdicts.sort(key=lambda v: (v.entry.received, v.entry.request_id))
    return AggregateReport(regime=regime, verdicts=tuple(verdicts), labels=labels)


def aggregate_register(path: Path | str, regime: Regime) -> AggregateReport:
    """Read a register and aggregate it (see `read_register` and `aggregate`)."""
    return aggregate(read_register(path, regime), regime)
