"""The section 12 estimate: activities → minutes → hours and money → decision.

An estimate is a list of activities, each `records × minutes per record + fixed minutes`.
Only the activities the regime allows are counted (UK: reg. 4(3) SI 2004/3244 (a)-(d):
determining whether held, locating, retrieving, extracting). Redaction, considering exemptions,
consultation and "thinking time" are accepted but never counted: they are listed separately so
a refusal notice can show they were left out (law.md §1.4).

Decision (UK FOIA):
    * total countable cost ≤ limit → ``answer`` (a total exactly at the limit is within it:
      s.12(1) applies only when the cost would *exceed* the limit);
    * determining whether the information is held ALONE exceeds the limit → ``refuse`` under
      ``12(2)`` (the duty to confirm or deny falls away as well);
    * otherwise, total exceeds the limit → ``refuse`` under ``12(1)``.
Advisory-only regimes (EIR) always answer ``answer`` with advice, never an automatic refusal.
Plain "N records at M minutes each" review (`review_activities`): police notices quote one
per-record figure for opening and reading each record (law.md §3). That time is attributed
wholly to **extract** (reading the record to pull the information out, reg. 4(3)(d)); the
breakdown also lists **locate** and **retrieve** for the same records at 0 minutes per record,
because finding and opening a CAD record is a system search that takes no measurable time per
record. This keeps the total exactly records × minutes (an even three-way split would not be
exact for, say, 10 minutes) and shows all of (b)-(d) were considered. Set-up time
(``fixed_minutes``, e.g. building the search) counts as **locate**.

Arithmetic is exact (Decimal minutes; costs compared as minutes × rate against limit × 60, so
no division rounds a borderline case the wrong way); rounding is for display. No I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from costplan.costmodel.regimes import ACTIVITIES, Regime
from costplan.errors import InputError
from costplan.units import (
    SIXTY,
    Number,
    fmt_money,
    is_exact_at,
    minutes_to_hours,
    parse_count,
    plural,
    round2,
    to_decimal,
)

ANSWER = "answer"
REFUSE = "refuse"
# Not a decision: the archive searched does not hold all that was asked about, and what it
# holds fits the limit, so neither answer nor refusal can rest on it (costplan.store.coverage).
UNCOVERED = "uncovered"

# Decimal places a per-record time is shown with in an explanation (the total is exact).
PER_RECORD_DP = 4

# How each activity reads in a sentence of a refusal notice.
ACTIVITY_PHRASES: dict[str, str] = {
    "determine_held": "determining whether the information is held",
    "locate": "locating",
    "retrieve": "retrieving",
    "extract": "extracting",
    "schedule": "preparing a schedule of records",
    "redaction": "redaction",
    "exemptions": "considering exemptions",
    "consultation": "consultation",
    "thinking": "thinking time",
}

_SPEC_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z_-]+)\s*=\s*(?P<records>[^:+]+?)\s*:\s*(?P<minutes>[^+]+?)"
    r"\s*(?:\+\s*(?P<fixed>.+?))?\s*$"
)


def check_activity_name(name: str) -> str:
    """Return the canonical activity name, or raise InputError suggesting the closest one."""
    key = name.strip().lower().replace("-", "_")
    if key in ACTIVITIES:
        return key
    close = difflib.get_close_matches(key, ACTIVITIES, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise InputError(f"unknown activity '{name}'", f"{hint}choose from: {', '.join(ACTIVITIES)}")


@dataclass(frozen=True)
class Activity:
    """Time for one activity: `records × minutes_per_record + fixed_minutes`.

    Values are validated and converted on construction, so an Activity is always usable.

    Attributes:
        name: one of `costplan.costmodel.regimes.ACTIVITIES`.
        records: number of records handled (whole, ≥ 0).
        minutes_per_record: minutes per record (≥ 0).
        fixed_minutes: time not proportional to the records, e.g. building a search (≥ 0).
    """

    name: str
    records: int = 0
    minutes_per_record: Decimal = Decimal(0)
    fixed_minutes: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        # object.__setattr__ because the dataclass is frozen; conversion happens once, here.
        object.__setattr__(self, "name", check_activity_name(self.name))
        object.__setattr__(self, "records", parse_count(self.records, f"{self.name} records"))
        object.__setattr__(
            self,
            "minutes_per_record",
            to_decimal(self.minutes_per_record, f"{self.name} minutes per record"),
        )
        object.__setattr__(
            self, "fixed_minutes", to_decimal(self.fixed_minutes, f"{self.name} fixed minutes")
        )

    @property
    def minutes(self) -> Decimal:
        """Total minutes for this activity."""
        return self.records * self.minutes_per_record + self.fixed_minutes


def parse_activity_spec(spec: str) -> Activity:
    """Parse ``NAME=RECORDS:MINUTES[+FIXED]``, e.g. ``extract=1144:3`` or ``locate=0:0+30``.

    Raises:
        InputError: the text does not match, the activity is unknown, or a number is bad.
    """
    match = _SPEC_RE.match(spec)
    if not match:
        raise InputError(
            f"bad activity '{spec}'",
            "use NAME=RECORDS:MINUTES or NAME=RECORDS:MINUTES+FIXED, e.g. extract=1144:3",
        )
    return Activity(
        name=match["name"],
        records=match["records"],  # type: ignore[arg-type]  # converted in __post_init__
        minutes_per_record=match["minutes"],  # type: ignore[arg-type]
        fixed_minutes=match["fixed"] or 0,  # type: ignore[arg-type]
    )


def review_activities(records: Number, minutes_per_record: Number) -> list[Activity]:
    """Split a plain "records × minutes" review into reg. 4(3) activities (see module doc).

    All per-record time goes to ``extract``; ``locate`` and ``retrieve`` are listed at 0 minutes
    per record, so the total is exactly records × minutes.
    """
    count = parse_count(records, "records", field="records")
    minutes = to_decimal(minutes_per_record, "minutes per record", field="minutes_per_record")
    return [
        Activity("locate", count, Decimal(0)),
        Activity("retrieve", count, Decimal(0)),
        Activity("extract", count, minutes),
    ]


@dataclass(frozen=True)
class LineItem:
    """One activity in an estimate, with whether it counts under the regime."""

    activity: str
    records: int
    minutes_per_record: Decimal
    fixed_minutes: Decimal
    minutes: Decimal
    countable: bool

    @property
    def hours(self) -> Decimal:
        """Exact hours."""
        return minutes_to_hours(self.minutes)

    def cost(self, rate: Decimal) -> Decimal:
        """Exact cost at `rate` per hour."""
        return self.minutes * rate / SIXTY


@dataclass(frozen=True)
class Estimate:
    """The result of `estimate()`: breakdown, totals and the decision.

    Attributes:
        regime: the regime (with any user overrides) the estimate was made under.
        items: every activity, countable or not, in input order.
        countable_minutes: the total that counts towards the limit.
        non_countable_minutes: time listed but excluded.
        held_minutes: countable minutes for determining whether the information is held.
        decision: "answer" or "refuse".
        section: "12(1)", "12(2)", the regime's label, or None (answer / advisory / unlabelled).
        exceeds: whether the countable total exceeds the limit (None if there is no limit).
        held_exceeds: whether determining-held alone exceeds the limit and the regime has a
            s.12(2)-style rule.
    """

    regime: Regime
    items: tuple[LineItem, ...]
    countable_minutes: Decimal
    non_countable_minutes: Decimal
    held_minutes: Decimal
    decision: str
    section: str | None
    exceeds: bool | None
    held_exceeds: bool

    @property
    def total_hours(self) -> Decimal:
        """Countable hours (exact)."""
        return minutes_to_hours(self.countable_minutes)

    @property
    def total_cost(self) -> Decimal:
        """Countable cost in the regime's currency (exact)."""
        return self.countable_minutes * self.regime.rate / SIXTY

    @property
    def non_countable_hours(self) -> Decimal:
        """Hours listed but not counted (exact)."""
        return minutes_to_hours(self.non_countable_minutes)

    @property
    def limit_hours(self) -> Decimal | None:
        """The limit in hours, or None."""
        return self.regime.limit_hours

    @property
    def headroom_hours(self) -> Decimal | None:
        """Hours left under the limit (0 when over; None without a limit)."""
        limit = self.limit_hours
        return None if limit is None else max(Decimal(0), limit - self.total_hours)

    @property
    def excess_hours(self) -> Decimal | None:
        """Hours over the limit (0 when within; None without a limit)."""
        limit = self.limit_hours
        return None if limit is None else max(Decimal(0), self.total_hours - limit)

    def by_activity(self) -> dict[str, Decimal]:
        """Minutes per activity name, countable and not, in first-seen order."""
        totals: dict[str, Decimal] = {}
        for item in self.items:
            totals[item.activity] = totals.get(item.activity, Decimal(0)) + item.minutes
        return totals

    @property
    def arithmetic(self) -> str:
        """The arithmetic against the limit, one sentence with no advice (a letter quotes it)."""
        return _arithmetic_sentence(self)

    @cached_property
    def explanation(self) -> str:
        """Plain-English explanation that a refusal notice can quote."""
        return _explain(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: hours rounded to 2 dp, money to 2 dp, both as numbers."""
        r = self.regime
        return {
            "regime": r.name,
            "regime_title": r.title,
            "currency": r.currency,
            "rate": _num(r.rate),
            "total_hours": _num(self.total_hours),
            "total_cost": _num(self.total_cost),
            "limit_hours": _num(self.limit_hours),
            "limit_cost": _num(r.limit),
            "headroom_hours": _num(self.headroom_hours),
            "excess_hours": _num(self.excess_hours),
            "non_countable_hours": _num(self.non_countable_hours),
            "decision": self.decision,
            "section": self.section,
            "advisory_only": r.advisory_only,
            "overrides": list(r.overrides),
            "explanation": self.explanation,
            "activities": [
                {
                    "activity": item.activity,
                    "records": item.records,
                    "minutes_per_record": float(item.minutes_per_record),
                    "fixed_minutes": float(item.fixed_minutes),
                    "hours": _num(item.hours),
                    "cost": _num(item.cost(r.rate)),
                    "countable": item.countable,
                }
                for item in self.items
            ],
        }


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(round2(value))


def over_limit(regime: Regime, minutes: Decimal) -> bool:
    """Whether `minutes` of staff time cost more than the regime's limit (False if none).

    Compares minutes × rate with limit × 60, so no rounding is involved.
    """
    return regime.limit is not None and minutes * regime.rate > regime.limit * SIXTY


def estimate(regime: Regime, activities: Iterable[Activity], fixed_minutes: Number = 0) -> Estimate:
    """Estimate the cost of a request and decide under the regime.

    Args:
        regime: the regime (see `costplan.costmodel.regimes.load_regimes`).
        activities: the work, e.g. `review_activities(1144, 3)` plus any extra activities.
        fixed_minutes: set-up time not tied to records; counted as ``locate``.

    Returns:
        The Estimate.

    Raises:
        InputError: a negative or non-numeric `fixed_minutes`.
    """
    acts = list(activities)
    fixed = to_decimal(fixed_minutes, "fixed minutes", field="fixed_minutes")
    if fixed:
        acts.append(Activity("locate", 0, Decimal(0), fixed))
    items = tuple(
        LineItem(
            activity=a.name,
            records=a.records,
            minutes_per_record=a.minutes_per_record,
            fixed_minutes=a.fixed_minutes,
            minutes=a.minutes,
            countable=regime.is_countable(a.name),
        )
        for a in acts
    )
    countable = sum((i.minutes for i in items if i.countable), Decimal(0))
    non_countable = sum((i.minutes for i in items if not i.countable), Decimal(0))
    held = sum(
        (i.minutes for i in items if i.countable and i.activity == "determine_held"), Decimal(0)
    )
    exceeds = None if regime.limit is None else over_limit(regime, countable)
    held_exceeds = regime.hold_section is not None and over_limit(regime, held)
    if regime.advisory_only or not exceeds:
        decision, section = ANSWER, None
    elif held_exceeds:
        decision, section = REFUSE, regime.hold_section
    else:
        decision, section = REFUSE, regime.section
    return Estimate(
        regime=regime,
        items=items,
        countable_minutes=countable,
        non_countable_minutes=non_countable,
        held_minutes=held,
        decision=decision,
        section=section,
        exceeds=exceeds,
        held_exceeds=bool(held_exceeds and not regime.advisory_only),
    )


def estimate_records(
    regime: Regime,
    records: Number,
    minutes_per_record: Number | None = None,
    fixed_minutes: Number = 0,
) -> Estimate:
    """Shortcut for the common case: review `records` at `minutes_per_record` each.

    Args:
        regime: the regime.
        records: number of records to review.
        minutes_per_record: minutes each; the regime's default (3.0) when None.
        fixed_minutes: set-up time, counted as ``locate``.
    """
    minutes = regime.minutes_per_record if minutes_per_record is None else minutes_per_record
    return estimate(regime, review_activities(records, minutes), fixed_minutes)


def records_within_limit(
    regime: Regime, minutes_per_record: Number, other_minutes: Number = 0
) -> int | None:
    """The most records that fit within the limit (for s.16 advice on narrowing).

    Args:
        regime: the regime.
        minutes_per_record: review minutes per record.
        other_minutes: countable minutes spent regardless of the record count.

    Returns:
        The largest whole number of records whose total stays within the limit; 0 if even
        `other_minutes` alone exceeds it; None if there is no limit or records take no time.
    """
    per = to_decimal(minutes_per_record, "minutes per record")
    other = to_decimal(other_minutes, "other minutes")
    limit_minutes = regime.limit_minutes
    if limit_minutes is None or per == 0:
        return None
    spare = limit_minutes - other
    if spare < 0:
        return 0
    count = int(spare / per)
    # Guard the exact boundary against the 28-digit division: use the exact cost comparison.
    while count > 0 and over_limit(regime, count * per + other):
        count -= 1
    while not over_limit(regime, (count + 1) * per + other):
        count += 1
    return count


# ---- explanation -------------------------------------------------------------------------


def _hours_phrase(hours: Decimal) -> str:
    sign = "=" if is_exact_at(hours) else "≈"
    return f"{sign} {plural(hours, 'hour')}"


def _item_phrase(item: LineItem) -> str:
    parts = []
    if item.records and item.minutes_per_record:
        # Per-record minutes to 4 places, as in the table: a timed sample's mean of 1.087
        # shown as "1.09" would make 993 records read as 18.04 hours against the 17.99 counted.
        minutes = plural(item.minutes_per_record, "minute", PER_RECORD_DP)
        parts.append(f"{plural(item.records, 'record')} × {minutes}")
    if item.fixed_minutes:
        parts.append(plural(item.fixed_minutes, "minute"))
    return " + ".join(parts)


def _arithmetic(items: list[LineItem]) -> str:
    shown = [i for i in items if i.minutes > 0]
    if not shown:
        return "No countable time"
    if len({i.activity for i in shown}) == 1 and len(shown) == 1:
        text = _item_phrase(shown[0])
    else:
        text = " + ".join(f"{ACTIVITY_PHRASES[i.activity]} ({_item_phrase(i)})" for i in shown)
    return text[0].upper() + text[1:]


def _limit_phrase(e: Estimate) -> str:
    r = e.regime
    assert r.limit is not None and e.limit_hours is not None
    note = "; figures set by the user" if r.overrides else ""
    return (
        f"the {r.limit_name} of {plural(e.limit_hours, 'hour')} "
        f"({fmt_money(r.limit, r.currency)} at {fmt_money(r.rate, r.currency)} per hour{note})"
    )


def _arithmetic_sentence(e: Estimate) -> str:
    """The arithmetic and how it stands against the limit, in one sentence."""
    r = e.regime
    countable_items = [i for i in e.items if i.countable]
    head = f"{_arithmetic(countable_items)} {_hours_phrase(e.total_hours)}"
    if r.limit is None:
        cost = fmt_money(e.total_cost, r.currency)
        return f"{head} ({cost} at {fmt_money(r.rate, r.currency)} per hour)."
    if e.exceeds:
        excess = e.excess_hours or Decimal(0)
        return f"{head}, which exceeds {_limit_phrase(e)} by {plural(round2(excess), 'hour')}."
    headroom = e.headroom_hours or Decimal(0)
    if headroom == 0:
        return f"{head}, which equals {_limit_phrase(e)} and so is within it."
    return (
        f"{head}, which is within {_limit_phrase(e)}, leaving {plural(round2(headroom), 'hour')}."
    )


def _explain(e: Estimate) -> str:
    r = e.regime
    sentences: list[str] = [_arithmetic_sentence(e)]

    if r.advisory_only:
        sentences.append(r.advisory or "")
    elif e.decision == REFUSE:
        sentences.append(f"The request may be refused under {r.provision}.")
        if e.held_exceeds:
            held = minutes_to_hours(e.held_minutes)
            sentences.append(
                f"Determining whether the information is held would by itself take "
                f"{plural(round2(held), 'hour')}, also more than the limit, so under "
                f"{r.hold_provision} the authority need not confirm or deny whether it holds "
                "the information."
            )

    excluded: dict[str, Decimal] = {}
    for item in e.items:
        if not item.countable and item.minutes > 0:
            excluded[item.activity] = excluded.get(item.activity, Decimal(0)) + item.minutes
    if excluded:
        listed = ", ".join(
            f"{ACTIVITY_PHRASES[name]} ({plural(round2(minutes_to_hours(m)), 'hour')})"
            for name, m in excluded.items()
        )
        sentences.append(
            f"Not counted, because the cost rules under the {r.act} do not allow it: {listed}."
        )
    return " ".join(s for s in sentences if s)
