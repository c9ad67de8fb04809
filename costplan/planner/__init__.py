"""The search planner: count what each way of searching must review, cost it, decide, advise.

* costplan.planner.strategies  the strategies for one item, their counts and activities;
* costplan.planner.reading     the per-record reading time and its evidence (one ladder);
* costplan.planner.advice      section 16 advice: what would fit the limit (slices.py searches
                               the narrower versions, wording.py words them for a requester);
* costplan.planner.plan        the whole request: total, decision, recommendation;
* costplan.planner.triage      the one-scope triage check;
* costplan.planner.held        the warning for tags named that the store does not use;
* costplan.planner.disclosure  the schedule of references the chosen answer releases;
* costplan.planner.authority   the authority's settings (letters, reviews, withheld fields);
* costplan.planner.response    a plan as the requester receives it (the letter's facts).

The names below are imported on first use, so `check` never loads the advice code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costplan._deps import lazy_exports

if TYPE_CHECKING:
    from costplan.planner.advice import Advice
    from costplan.planner.authority import Authority, load_authority
    from costplan.planner.breakdown import BreakdownRow
    from costplan.planner.disclosure import Schedule, build_schedule, check_schedule
    from costplan.planner.plan import Plan, build_plan, merge_activities
    from costplan.planner.reading import MinutesPerRecord, item_minutes, reading_time
    from costplan.planner.response import Response, respond
    from costplan.planner.strategies import (
        CAVEATS,
        FULL_REVIEW,
        KEYWORD,
        LINKED,
        SCOPE_QUERY,
        TAG_QUERY,
        TITLES,
        ItemPlan,
        PlannerConfig,
        StrategyResult,
        load_config,
        plan_item,
    )
    from costplan.planner.triage import CheckResult, check, count_scope

_EXPORTS = {
    "Advice": "advice",
    "Authority": "authority",
    "load_authority": "authority",
    "Schedule": "disclosure",
    "build_schedule": "disclosure",
    "check_schedule": "disclosure",
    "Response": "response",
    "respond": "response",
    "Plan": "plan",
    "build_plan": "plan",
    "merge_activities": "plan",
    "MinutesPerRecord": "reading",
    "item_minutes": "reading",
    "reading_time": "reading",
    "BreakdownRow": "breakdown",
    "CheckResult": "triage",
    "check": "triage",
    "count_scope": "triage",
    **dict.fromkeys(
        [
            "CAVEATS",
            "FULL_REVIEW",
            "KEYWORD",
            "LINKED",
            "SCOPE_QUERY",
            "TAG_QUERY",
            "TITLES",
            "ItemPlan",
            "PlannerConfig",
            "StrategyResult",
            "load_config",
            "plan_item",
        ],
        "strategies",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "Advice",
    "Authority",
    "Response",
    "Schedule",
    "build_schedule",
    "check_schedule",
    "load_authority",
    "respond",
    "BreakdownRow",
    "CAVEATS",
    "CheckResult",
    "FULL_REVIEW",
    "ItemPlan",
    "KEYWORD",
    "LINKED",
    "MinutesPerRecord",
    "Plan",
    "PlannerConfig",
    "SCOPE_QUERY",
    "StrategyResult",
    "TAG_QUERY",
    "TITLES",
    "build_plan",
    "check",
    "count_scope",
    "item_minutes",
    "load_config",
    "merge_activities",
    "plan_item",
    "reading_time",
]
