"""What leaves the building: the facts of a response letter.

`Response` gathers what a letter needs beyond the plan: the authority's settings, the date of
the letter, and the outcome (which notice template applies). The wording itself lives in
templates (config/letters) and is filled by `render.letter`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from costplan.costmodel.estimate import ANSWER, REFUSE, UNCOVERED
from costplan.costmodel.notices import Notice
from costplan.errors import ConfigError
from costplan.planner.authority import Authority, Withheld
from costplan.planner.strategies import TAG_QUERY

if TYPE_CHECKING:
    from costplan.planner.plan import Plan
    from costplan.planner.strategies import ItemPlan

# The notice outcomes: one template file each (config/letters/FAMILY/OUTCOME.txt).
OUTCOMES = ("answer", "refuse", "refuse-ncnd", "partial", "uncovered")


def answered_items(plan: Plan) -> list[ItemPlan]:
    """The items whose answer is released: every item of an answer, the answered parts of a
    partial answer (none of a refusal)."""
    if plan.decision == ANSWER:
        return list(plan.items)
    names = {n for p in plan.parts if p.decision == ANSWER for n in p.names}
    return [ip for ip in plan.items if ip.item.name in names]


def notice_of(plan: Plan) -> Notice:
    """The regime's notice wording, or an error saying the regime cannot write letters."""
    if plan.regime.notice is None:
        raise ConfigError(
            f"regime '{plan.regime.name}' has no [regime.{plan.regime.name}.notice] table, so "
            "no letter can be written under it",
            "add one (see costplan/config/regimes.toml) or choose a built-in regime",
        )
    return plan.regime.notice


def outcome(plan: Plan) -> str:
    """Which notice applies: answer, refuse (s.12(1)), refuse-ncnd (s.12(2)), partial, uncovered."""
    d = plan.decision
    if d == REFUSE:
        r = plan.regime
        parts = plan.parts or ()
        held_all = bool(parts) and all(p.estimate.held_exceeds for p in parts)
        if r.hold_section is not None and (
            plan.total.held_exceeds if len(parts) <= 1 else held_all
        ):
            return "refuse-ncnd"
        return "refuse"
    if d in (ANSWER, UNCOVERED):
        return d
    return "partial"


@dataclass(frozen=True)
class Held:
    """Whether the information is held (s.1(1)(a)), and the evidence for saying so."""

    held: bool | None
    basis: str


def held_finding(plan: Plan, names: Collection[str] | None = None) -> Held:
    """The officer's finding from the request, else the tagged records the plan counted (in
    the items `names`, when only some parts are in question: a partial answer's refused ones).
    """
    if plan.request.held is not None:
        return Held(plan.request.held, "the officer's finding in the request (held)")
    items = [ip for ip in plan.items if names is None or ip.item.name in names]
    tagged = sum(s.records for ip in items for s in ip.strategies if s.strategy == TAG_QUERY)
    if tagged > 0:
        return Held(True, f"{tagged:,} records in scope carry the tag(s) asked about")
    return Held(None, "not determined: no record carries a tag asked about")


@dataclass(frozen=True)
class Response:
    """A plan as the requester will receive it."""

    plan: Plan
    authority: Authority
    date: dt.date

    @property
    def notice(self) -> Notice:
        return notice_of(self.plan)

    @property
    def outcome(self) -> str:
        return outcome(self.plan)

    @property
    def family(self) -> str:
        return self.notice.letters

    def withheld(self) -> list[tuple[Withheld, str]]:
        """The fields withheld from what is released, each with its exemption under this
        family's law."""
        fields = tuple(f for ip in answered_items(self.plan) for f in ip.item.fields)
        return [(w, w.exemption(self.family)) for w in self.authority.withheld_of(fields)]


def respond(plan: Plan, authority: Authority, date: dt.date | None = None) -> Response:
    """The response to a plan; checks the regime can write letters and the settings cover it."""
    r = Response(plan, authority, date or dt.date.today())
    r.notice  # noqa: B018 - raises when the regime has no notice wording
    r.withheld()  # raises when the settings name no exemption for this family
    return r
