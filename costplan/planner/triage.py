"""Triage `check`: a one-item plan's complete answer, fast.

`check` answers what a request about the CADs in a scope costs when every CAD must be read:
the full manual review of a one-item plan with the same scope, with the same activities
(determining whether the information is held, then locating, retrieving and extracting each
record) and so the same hours and decision as `plan`. It only counts faster: from the daily
volume table where the engine keeps one and the scope is whole days. With --tag it also shows
what the tag alone would find, and says that answer is incomplete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costplan.costmodel.estimate import REFUSE, UNCOVERED, Estimate, estimate
from costplan.costmodel.regimes import Regime
from costplan.engines import DEFAULT, Engine, QueryEngine
from costplan.planner.held import settled_by_count, tag_warning
from costplan.planner.strategies import (
    CAVEATS,
    FULL_REVIEW,
    TAG_QUERY,
    PlannerConfig,
    load_config,
    scope_params,
    strategy_activities,
)
from costplan.request import Item, clock
from costplan.store import Snapshot
from costplan.store.coverage import Verdict
from costplan.units import round2


@dataclass(frozen=True)
class Narrowed:
    """What the tag alone would find: cheaper, and incomplete."""

    tags: tuple[str, ...]
    records: int
    estimate: Estimate
    caveat: str = CAVEATS[TAG_QUERY]

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "strategy": TAG_QUERY,
            "tags": list(self.tags),
            "records": self.records,
            "hours": float(round2(e.total_hours)),
            "decision": e.decision,
            "section": e.section,
            "complete": False,
            "caveat": self.caveat,
        }


@dataclass(frozen=True)
class CheckResult:
    """A triage check: every CAD in the scope read by hand (a plan's full manual review)."""

    item: Item
    records: int
    minutes_per_record: Decimal
    estimate: Estimate
    counted_from: str  # "volumes" (the materialised daily table) or "partitions"
    narrowed: Narrowed | None = None
    coverage: Verdict | None = None  # None: not checked (treated as covered)
    # For the officer, never the requester: tags named that no CAD in scope carries (held.py).
    warnings: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        """As a plan's: UNCOVERED when the archive does not hold all of the scope and what it
        holds fits the limit."""
        if self.coverage is not None and not self.coverage.covered:
            if self.estimate.decision != REFUSE:
                return UNCOVERED
        return self.estimate.decision

    @property
    def section(self) -> str | None:
        return None if self.decision == UNCOVERED else self.estimate.section

    @property
    def boroughs(self) -> tuple[str, ...]:
        return self.item.boroughs

    @property
    def tags(self) -> tuple[str, ...]:
        return self.item.tags

    def to_dict(self) -> dict[str, Any]:
        e, it = self.estimate, self.item
        return {
            "borough": ", ".join(it.boroughs),
            "boroughs": list(it.boroughs),
            "date_from": it.date_from.isoformat(),
            "date_to": it.date_to.isoformat(),
            "time_window": "-".join(clock(m) for m in it.window) if it.window else None,
            "overnight": it.overnight,
            "tags": list(it.tags),
            "strategy": FULL_REVIEW,
            "complete": True,
            "records": self.records,
            "minutes_per_record": float(self.minutes_per_record),
            "hours": float(round2(e.total_hours)),
            "limit_hours": float(round2(e.limit_hours)) if e.limit_hours is not None else None,
            "decision": self.decision,
            "section": self.section,
            "explanation": e.explanation,
            "coverage": self.coverage.to_dict() if self.coverage else None,
            "lower_bound": bool(self.coverage and not self.coverage.covered),
            "counted_from": self.counted_from,
            "narrowed": self.narrowed.to_dict() if self.narrowed else None,
            "warnings": list(self.warnings),
            **({"expanded": list(it.notes)} if it.notes else {}),
        }


class _ScopeCounter:
    """Counts within one item's scope, opening at most one session for all of them.

    Whole days may be answered by the engine's fast source (DuckDB's daily volume table) when
    it is fresh for the scope; a time window, or no fresh table, counts the partitions, and
    every later count (and the held-tags query) of the same check reuses that session.
    """

    def __init__(self, snapshot: Snapshot, item: Item, engine: Engine) -> None:
        self.snapshot, self.item, self.engine = snapshot, item, engine
        self._session: QueryEngine | None = None

    def __enter__(self) -> _ScopeCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._session is not None:
            self._session.close()

    def session(self) -> QueryEngine:
        if self._session is None:
            it = self.item
            self._session = self.engine.open(self.snapshot, boroughs=it.boroughs, years=it.years)
        return self._session

    def count(self, tags: Sequence[str]) -> tuple[int, str]:
        """CADs in the scope carrying any of `tags` (all CADs for none), and the source."""
        it = self.item
        if it.window is None:
            fast = self.engine.quick_count(
                self.snapshot,
                boroughs=it.boroughs,
                date_from=it.date_from,
                date_to=it.date_to,
                tags=tags,
            )
            if fast is not None:
                return int(fast), "volumes"
        n = self.session().scalar("count_scope", **scope_params(it), tags=list(tags))
        return int(n or 0), "partitions"


def count_scope(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str] = (),
    *,
    engine: Engine = DEFAULT,
) -> tuple[int, str]:
    """CADs in boroughs over whole days (optionally carrying any of tags), and the source."""
    with _ScopeCounter(snapshot, Item("check", tuple(boroughs), date_from, date_to), engine) as c:
        return c.count(tags)


def check(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    regime: Regime,
    per_record: Decimal,
    tags: Sequence[str] = (),
    *,
    window: tuple[int, int] | None = None,
    engine: Engine = DEFAULT,
    config: PlannerConfig | None = None,
    notes: Sequence[str] = (),
) -> CheckResult:
    """The full manual review of the scope, costed exactly as `plan` costs it.

    `notes`: how the names given were expanded (groups, places), shown with the result.
    """
    cfg = config or load_config()
    force = snapshot.profile
    item = Item(
        "check",
        tuple(boroughs),
        date_from,
        date_to,
        window=window,
        tags=tuple(tags),
        area_word=force.area_word,
        areas_word=force.areas_word,
        notes=tuple(notes),
    )
    narrowed = None
    warnings: tuple[str, ...] = ()
    with _ScopeCounter(snapshot, item, engine) as counter:
        records, source = counter.count(())
        if tags:
            tagged, _ = counter.count(tags)
            acts = strategy_activities(TAG_QUERY, tagged, item, per_record, cfg)
            narrowed = Narrowed(tuple(tags), tagged, estimate(regime, acts))
            if not settled_by_count(tags, tagged):
                # Only when the count leaves it open: one small query in the same session.
                session = counter.session()
                warning = tag_warning(session, tags, boroughs, date_from, item.last_day)
                warnings = (warning,) if warning else ()
    est = estimate(regime, strategy_activities(FULL_REVIEW, records, item, per_record, cfg))
    cover = snapshot.coverage.verdict(item.boroughs, item.date_from, item.last_day)
    return CheckResult(item, records, per_record, est, source, narrowed, cover, warnings)
