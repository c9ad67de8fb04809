"""The search planner: count what each way of searching must review, cost it, decide, advise.

* costplan.planner.strategies  the strategies for one item, their counts and activities;
* costplan.planner.reading     the per-record reading time and its evidence (one ladder);
* costplan.planner.advice      section 16 refinements that would fit the limit;
* costplan.planner.plan        the whole request: total, decision, recommendation;
* costplan.planner.check       the one-scope triage check;
* costplan.planner.disclosure  the references an answer may release.
"""

from costplan.planner.advice import Advice
from costplan.planner.check import CheckResult, check, count_scope
from costplan.planner.disclosure import disclosure_refs
from costplan.planner.plan import Plan, build_plan, merge_activities
from costplan.planner.reading import MinutesPerRecord, item_minutes, reading_time
from costplan.planner.strategies import (
    CAVEATS,
    FULL_REVIEW,
    KEYWORD,
    LINKED,
    SCOPE_QUERY,
    TAG_QUERY,
    TITLES,
    BreakdownRow,
    ItemPlan,
    PlannerConfig,
    StrategyResult,
    load_config,
    plan_item,
)

__all__ = [
    "CAVEATS",
    "FULL_REVIEW",
    "KEYWORD",
    "LINKED",
    "SCOPE_QUERY",
    "TAG_QUERY",
    "TITLES",
    "Advice",
    "BreakdownRow",
    "CheckResult",
    "ItemPlan",
    "MinutesPerRecord",
    "Plan",
    "PlannerConfig",
    "StrategyResult",
    "build_plan",
    "check",
    "count_scope",
    "disclosure_refs",
    "item_minutes",
    "load_config",
    "merge_activities",
    "plan_item",
    "reading_time",
]
