"""Disclosure schedules: the CAD references the chosen answer releases (references only).

The schedule follows the decision: each answered item releases its complete strategy's set
(every CAD in scope; for a full review, the records to be read, of which only those about the
subject are released), or the tagged set when the requester accepted that refinement, chosen
explicitly. Its header names the request, the snapshot, the strategy and its completeness
caveat, the count, and the requested fields withheld with the exemption relied on (from the
authority's settings). It is read from the plan's own snapshot, so the list and the decision
can never come from different versions of the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costplan.costmodel.estimate import REFUSE, UNCOVERED
from costplan.costmodel.regimes import Regime
from costplan.engines import DEFAULT, Engine
from costplan.errors import ConfigError, InputError
from costplan.planner.authority import Authority
from costplan.planner.response import answered_items
from costplan.planner.strategies import (
    CAVEATS,
    FULL_REVIEW,
    SCOPE_QUERY,
    TAG_QUERY,
    TITLES,
    scope_params,
)
from costplan.request import Request

if TYPE_CHECKING:
    from costplan.planner.plan import Plan
    from costplan.store import Snapshot

# How the references in a schedule are shown: as stored ("cad", which carries the date and,
# because the serial restarts each day, the time of day to within about 40 minutes on the demo
# data: issue 15 #11), opaque (numbered in the schedule's order; the case file rebuilds the
# list from the snapshot), or not at all (the count only).
REFERENCE_STYLES = ("cad", "opaque", "none")


@dataclass(frozen=True)
class Schedule:
    """The CAD references an answer releases, with the header a case file keeps."""

    reference: str
    snapshot: dict[str, Any]
    strategy: str
    caveat: str
    refs: tuple[str, ...]
    released: tuple[str, ...]
    withheld: tuple[tuple[str, str], ...]  # (what, exemption)
    style: str = "cad"
    note: str | None = None

    @property
    def count(self) -> int:
        return len(self.refs)


def check_schedule(
    regime: Regime, authority: Authority, request: Request, *, refined: bool, style: str
) -> None:
    """What a schedule needs, checked before any work is done: the refinement has a tag to
    refine by, the style is known, and the settings name an exemption for each withheld field
    under the regime's law.

    Raises:
        InputError: a refinement without tags, or an unknown style.
        ConfigError: a withheld field with no exemption for the regime's letters.
    """
    if style not in REFERENCE_STYLES:
        raise InputError(
            f"unknown reference style '{style}'",
            f"choose from: {', '.join(REFERENCE_STYLES)}",
            field="disclose_refs",
        )
    if refined and not any(it.tags for it in request.items):
        raise InputError(
            "--disclose-tagged: the request names no tag, so there is no tagged set to release",
            "drop --disclose-tagged to release the complete strategy's records",
        )
    fields = tuple(f for it in request.items for f in it.fields)
    withheld = authority.withheld_of(fields)
    if withheld:
        if regime.notice is None:
            raise ConfigError(
                "the regime has no notice wording, so the exemption for a withheld field "
                "cannot be named",
                "choose a built-in regime or add a [regime.NAME.notice] table",
            )
        for w in withheld:
            w.exemption(regime.notice.letters)


def build_schedule(
    plan: Plan,
    snapshot: Snapshot,
    authority: Authority,
    *,
    refined: bool = False,
    style: str = "cad",
    engine: Engine = DEFAULT,
) -> Schedule:
    """The records the chosen answer releases, read from the plan's own snapshot.

    Without `refined`, each answered item releases its complete strategy's set: every CAD in
    scope (for a full review, the records to be read, of which only those about the subject
    are released). With `refined` (the requester accepted the tag refinement, chosen
    explicitly), only the tagged records.

    Raises:
        InputError: the plan refuses, or the archive does not cover it: nothing is released.
    """
    if plan.decision in (REFUSE, UNCOVERED):
        why = (
            "the archive does not cover the whole request"
            if plan.decision == UNCOVERED
            else "the request exceeds the limit"
        )
        raise InputError(
            f"{why}; no disclosure schedule was written",
            "see the plan's coverage lines and section 16 advice",
        )
    items = answered_items(plan)
    kinds = {ip.complete.strategy for ip in items}
    strategy = TAG_QUERY if refined else (FULL_REVIEW if FULL_REVIEW in kinds else SCOPE_QUERY)
    query = "tagged_refs" if refined else "scope_refs"
    refs: list[str] = []
    boroughs = sorted({b for ip in items for b in ip.item.boroughs})
    years = sorted({y for ip in items for y in ip.item.years})
    with engine.open(snapshot, boroughs=boroughs, years=years) as session:
        for ip in items:
            params = scope_params(ip.item)
            if refined:
                if not ip.item.tags:
                    continue
                params["tags"] = list(ip.item.tags)
            refs += [r["cad_ref"] for r in session.records(query, **params)]
    fields = tuple(dict.fromkeys(f for ip in items for f in ip.item.fields))
    withheld = authority.withheld_of(fields)
    family = plan.regime.notice.letters if plan.regime.notice else ""
    note = None
    if not refs:
        note = (
            "No CAD record in the archive matches: the response should say that no "
            "information is held."
        )
    elif style == "cad":
        note = (
            "A CAD reference carries the date of the call and, as its serial restarts each day, "
            "roughly the time of day: release it only where date and time may be released."
        )
    return Schedule(
        reference=plan.request.reference,
        snapshot=dict(plan.snapshot),
        strategy=TITLES[strategy],
        caveat=CAVEATS[strategy]
        + (
            " Each record listed is to be read; only those about the subject are released."
            if strategy == FULL_REVIEW
            else ""
        ),
        refs=tuple(refs),
        released=tuple(f for f in fields if f not in authority.withheld),
        withheld=tuple((w.what, w.exemption(family)) for w in withheld),
        style=style,
        note=note,
    )
