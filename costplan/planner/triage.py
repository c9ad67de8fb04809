"""Triage `check`: how many CADs a scope holds, and whether reading each by hand fits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costplan.costmodel.estimate import Estimate, estimate, review_activities
from costplan.costmodel.regimes import Regime
from costplan.engines import DEFAULT, Engine, QueryEngine
from costplan.planner.held import held_tags, settled_by_count, unheld_warning
from costplan.store import Snapshot
from costplan.units import round2


@dataclass(frozen=True)
class CheckResult:
    """A triage check: every CAD (or every tagged CAD) in boroughs over days, read by hand."""

    boroughs: tuple[str, ...]
    date_from: str
    date_to: str
    tags: tuple[str, ...]
    records: int
    minutes_per_record: Decimal
    estimate: Estimate
    counted_from: str  # "volumes" (the materialised daily table) or "partitions"
    # For the officer, never the requester: tags named that no CAD in scope carries (held.py).
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "borough": ", ".join(self.boroughs),
            "boroughs": list(self.boroughs),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "tags": list(self.tags),
            "records": self.records,
            "minutes_per_record": float(self.minutes_per_record),
            "hours": float(round2(e.total_hours)),
            "limit_hours": float(round2(e.limit_hours)) if e.limit_hours is not None else None,
            "decision": e.decision,
            "section": e.section,
            "explanation": e.explanation,
            "counted_from": self.counted_from,
            "warnings": list(self.warnings),
        }


def count_scope(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str] = (),
    *,
    engine: Engine = DEFAULT,
) -> tuple[int, str]:
    """CADs in boroughs over London days (optionally carrying any of tags), and the source.

    The engine answers from a fast source where it has one fresh for the scope (DuckDB's daily
    volume table); otherwise it counts the partitions (one file per borough-year, chosen from
    the manifest).
    """
    records, source, _ = _count(snapshot, boroughs, date_from, date_to, tags, engine=engine)
    return records, source


def _count(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str],
    *,
    engine: Engine,
    warn: bool = False,
) -> tuple[int, str, str | None]:
    """count_scope, and with `warn` the warning for tags named that no CAD in scope carries.

    The warning's query runs in the session the count opened, or, when the volume table
    answered, in one opened for it only if the count leaves the question open (held.py).
    """
    fast = engine.quick_count(
        snapshot, boroughs=boroughs, date_from=date_from, date_to=date_to, tags=tags
    )
    if fast is not None and (not warn or settled_by_count(tags, fast)):
        return int(fast), "volumes", None
    years = range(date_from.year, date_to.year + 1)
    with engine.open(snapshot, boroughs=boroughs, years=years) as session:
        source = "volumes" if fast is not None else "partitions"
        if fast is None:
            records = _scope_count(session, boroughs, date_from, date_to, tags)
        else:
            records = int(fast)
        warning = None
        if warn and not settled_by_count(tags, records):
            held = held_tags(session, boroughs, date_from, date_to)
            warning = unheld_warning(tags, held, boroughs, date_from, date_to)
    return records, source, warning


def _scope_count(
    session: QueryEngine,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str],
) -> int:
    n = session.scalar(
        "count_scope",
        boroughs=list(boroughs),
        date_from=date_from,
        date_to=date_to,
        minute_from=None,
        minute_to=None,
        tags=list(tags),
    )
    return int(n or 0)


def check(
    snapshot: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    regime: Regime,
    per_record: Decimal,
    tags: Sequence[str] = (),
    *,
    engine: Engine = DEFAULT,
) -> CheckResult:
    """A one-scope feasibility check: count the CADs and cost reading each by hand.

    Tags named that no CAD of the boroughs carries in those years give a warning (held.py).
    """
    records, source, warning = _count(
        snapshot, boroughs, date_from, date_to, tags, engine=engine, warn=True
    )
    est = estimate(regime, review_activities(records, per_record))
    return CheckResult(
        boroughs=tuple(boroughs),
        date_from=date_from.isoformat(),
        date_to=date_to.isoformat(),
        tags=tuple(tags),
        records=records,
        minutes_per_record=per_record,
        estimate=est,
        counted_from=source,
        warnings=(warning,) if warning else (),
    )
