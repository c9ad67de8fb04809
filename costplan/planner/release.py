"""Whether a plan's answer releases records, and which: one rule for `plan --disclose` and the
web page's disclosure download."""

from __future__ import annotations

from typing import TYPE_CHECKING

from costplan.errors import InputError

if TYPE_CHECKING:
    from costplan.engines import Engine
    from costplan.planner.plan import Plan
    from costplan.request import Request
    from costplan.store import Snapshot


def released_refs(snapshot: Snapshot, request: Request, plan: Plan, *, engine: Engine) -> list[str]:
    """The CAD references the answer releases, from the snapshot the plan was made on.

    Raises:
        InputError: the archive does not cover the request, or the request exceeds the
            limit: there is no answer to release records from (nothing is written).
    """
    from costplan.planner.disclosure import disclosure_refs

    if plan.decision == "uncovered":
        raise InputError(
            "the archive does not cover the whole request; no disclosure schedule was made",
            "see the coverage lines of the plan",
            field="disclose",
        )
    if plan.decision != "answer":
        raise InputError(
            "the request exceeds the appropriate limit; no disclosure schedule was made",
            "narrow the request (see the section 16 advice) and plan it again",
            field="disclose",
        )
    return disclosure_refs(snapshot, request, engine=engine)
