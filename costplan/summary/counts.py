"""The true counts behind a summary: CADs per period and group, and where they came from.

Before any disclosure control (costplan.summary applies it): rows of (period start, the `by`
values, count) from the daily volume table, or counted from the partitions the table has not
seen, as plain Python values (no Polars, no PyArrow: see costplan.summary).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from costplan.engines import DEFAULT, Engine
from costplan.errors import InputError, QueryError
from costplan.store import Snapshot, Store

PERIODS: tuple[str, ...] = ("day", "week", "month")
BY_COLUMNS: tuple[str, ...] = ("borough", "call_source", "grading", "tag")
# Column order of the summary queries' rows (summary_volumes and summary_totals alike).
QUERY_COLUMNS: tuple[str, ...] = ("period_start", *BY_COLUMNS, "count")

# One true (unsuppressed) count: period start, the `by` values in order, the count.
CountRow = tuple[dt.date, tuple[str | None, ...], int]


def parse_by(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Parse `--by` ("borough,tag" or a sequence) into validated column names, in order.

    Raises:
        InputError: an unknown or repeated column.
    """
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    cols = tuple(c.strip().lower().replace("-", "_") for c in items if c.strip())
    for c in cols:
        if c not in BY_COLUMNS:
            raise InputError(
                f"cannot summarise by {c!r}",
                f"give a comma list of {', '.join(BY_COLUMNS)}",
                field="by",
            )
    if len(set(cols)) != len(cols):
        raise InputError(f"the grouping names a column twice: {','.join(cols)}", field="by")
    return cols


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """Build many small tuples without cyclic garbage collection passes.

    A daily summary by every column is millions of cells, and each batch of allocations would
    start a collection that scans all the tuples made so far: 5-8x slower. Nothing built here
    can form a reference cycle, so there is nothing for the collector to find.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check(period: str, date_from: dt.date | None, date_to: dt.date | None) -> None:
    if period not in PERIODS:
        raise InputError(f"unknown period {period!r}", f"use one of {', '.join(PERIODS)}")
    if date_from and date_to and date_from > date_to:
        raise InputError(
            f"the first day {date_from.isoformat()} is after the last {date_to.isoformat()}",
            "swap the dates",
            field="date_from",
        )


def uses_totals(by: Sequence[str]) -> bool:
    """Whether a grouping can be answered from `daily_total` (borough alone, or nothing)."""
    return set(by) <= {"borough"}


def from_partitions(by: Sequence[str]) -> bool:
    """Whether a grouping is counted from the partitions: the volume table's grain is borough,
    day and call source, so a grouping by tag or by grading is not in it (docs/scheduling.md)."""
    return bool({"tag", "grading"} & set(by))


def compute_counts(
    store_or_snapshot: Store | Snapshot,
    *,
    period: str = "week",
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    engine: Engine = DEFAULT,
) -> tuple[list[CountRow], dict[str, Any]]:
    """True (unsuppressed) counts per period and group, and where they came from.

    The engine provides the daily volumes: on DuckDB from the volume table (partitions it has
    not seen are counted from the store); on Spark every partition in range is counted from
    the store by the same query the table is built with. A grouping by borough alone (or
    none) reads the per-borough-day totals (`daily_total`, query summary_totals): the same
    answer as summary_volumes over `daily_volume`, from a fraction of the rows. A grouping by
    tag or by grading is counted from the partitions (summary_tags or summary_records over
    `cad`): the table holds neither.

    Returns:
        Rows (period_start, by values in `by` order, count), in no particular order, and a
        source description (snapshot, how many partitions were read from the volume table and
        how many counted from the store).

    Raises:
        InputError: a bad period, `by` column or date order.
        StoreError: the store is missing or unreadable.
    """
    by = parse_by(by)
    _check(period, date_from, date_to)
    snap = (
        store_or_snapshot
        if isinstance(store_or_snapshot, Snapshot)
        else store_or_snapshot.snapshot()
    )
    years = _years(snap, date_from, date_to)
    if period == "month" and uses_totals(by):
        monthly = _monthly_from_state(engine, snap, by, date_from, date_to, years)
        if monthly is not None:
            return monthly
    params: dict[str, Any] = {
        "period": period,
        "by_borough": "borough" in by,
        "date_from": date_from,
        "date_to": date_to,
    }
    if uses_totals(by):
        query = "summary_totals"
    elif from_partitions(by):
        query = "summary_tags" if "tag" in by else "summary_records"
        params |= {f"by_{c}": c in by for c in ("call_source", "grading")}
    else:
        query = "summary_volumes"
        params |= {"by_call_source": "call_source" in by}
    if from_partitions(by):
        # The volume table holds neither tags nor gradings (its grain is what a rebuild can
        # afford): such a summary is counted from the partitions, every one in range, on every
        # engine.
        eng, used = engine.open(snap, years=years), (0, len(snap.select(years=years)))
        with eng:
            rows = eng.rows(query, **params)
    else:
        try:
            eng, used = engine.daily_volumes(snap, years=years)
            with eng:
                rows = eng.rows(query, **params)
        except QueryError as exc:
            raise engine.table_fault(snap, exc) from None
    source = snap.describe_counts(*used)
    # Both engines give DATE as datetime.date, VARCHAR as str and BIGINT as int, so the
    # values pass through as they are; only the `by` columns are picked out, in `by` order.
    period_at, count_at = QUERY_COLUMNS.index("period_start"), QUERY_COLUMNS.index("count")
    groups_of = _picker([QUERY_COLUMNS.index(c) for c in by])
    with _bulk():
        counts = [(r[period_at], groups_of(r), r[count_at]) for r in rows]
    return counts, source


def _years(snap: Snapshot, date_from: dt.date | None, date_to: dt.date | None) -> list[int] | None:
    """The partition years a range needs (None: every year)."""
    if not (date_from or date_to):
        return None
    lo = date_from.year if date_from else min((p.year for p in snap.select()), default=0)
    hi = date_to.year if date_to else max((p.year for p in snap.select()), default=0)
    return list(range(lo, hi + 1))


def _monthly_from_state(
    engine: Engine,
    snap: Snapshot,
    by: Sequence[str],
    date_from: dt.date | None,
    date_to: dt.date | None,
    years: Iterable[int] | None,
) -> tuple[list[CountRow], dict[str, Any]] | None:
    """Monthly counts (by borough or none) from the volume table's state, without DuckDB.

    Only for whole months (no bound inside a month) and a table fresh for every partition in
    scope; None otherwise, and the caller runs the query. The same answer as summary_totals.
    """
    if date_from is not None and date_from.day != 1:
        return None
    if date_to is not None and (date_to + dt.timedelta(days=1)).day != 1:
        return None
    monthly = engine.monthly_counts(snap, years)
    if monthly is None:
        return None
    totals: dict[tuple[dt.date, tuple[str | None, ...]], int] = defaultdict(int)
    for start, borough, n in monthly:
        if (date_from is None or start >= date_from) and (date_to is None or start <= date_to):
            totals[(start, (borough,) if by else ())] += n
    source = snap.describe_counts(len(snap.select(years=years)), 0)
    return [(p, g, n) for (p, g), n in totals.items()], source


def _picker(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function giving a row's values at `indexes` as a tuple, whatever their number."""
    if len(indexes) >= 2:
        return itemgetter(*indexes)
    if len(indexes) == 1:
        i = indexes[0]
        return lambda row: (row[i],)
    return lambda row: ()
