"""Reading the volume table: the views `daily_volume` / `daily_total`, counts, monthly counts.

Readers never serve a stale figure: rows of partitions that changed since the last refresh are
left out of the table's files and counted from the store instead (or, for count and
monthly_counts, the answer is None and the caller counts from the partitions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from costplan._deps import lazy
from costplan.engines.volumes.state import (
    VOLUME_COLUMNS,
    Days,
    VolumeState,
    month_days,
    months_of,
    part_key,
    read_usable,
    stale_partitions,
    volumes_dir,
)
from costplan.errors import CostplanError
from costplan.store import Snapshot, Store

if TYPE_CHECKING:
    import duckdb

    from costplan.engines.duckdb_engine import Engine
else:
    # A monthly summary is answered from state.json alone (monthly_counts): without DuckDB.
    duckdb = lazy("duckdb")


def _snapshot(store_or_snapshot: Store | Snapshot) -> Snapshot:
    """The snapshot to answer from: the one given, or the store's current one."""
    if isinstance(store_or_snapshot, Snapshot):
        return store_or_snapshot
    return store_or_snapshot.snapshot()


def create_daily_view(
    engine: Engine,
    snapshot: Snapshot,
    boroughs: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    *,
    days: Days | None = None,
    recount_stale: bool = True,
    state: VolumeState | None = None,
) -> tuple[int, int] | None:
    """Create the views `daily_volume` and `daily_total` for the partitions in scope.

    `daily_volume` has VOLUME_COLUMNS, `daily_total` TOTAL_COLUMNS. Rows of partitions the
    table has not seen in this snapshot are left out of the table's files and, with
    `recount_stale`, counted from the store instead (rebinding the engine's `cad` view), so the
    views are always exact for the scope.

    Args:
        engine: the engine that gets the views.
        snapshot: the store snapshot the views must agree with.
        boroughs: partitions' boroughs in scope (None: all).
        years: partitions' years in scope (None: all).
        days: only months overlapping these London days are read (None: every month).
        recount_stale: if False, return None when any partition in scope is stale.
        state: the table's state as read_usable gives it, if the caller has read it already.

    Returns:
        (partitions read from the table, partitions counted from the store), or None.
    """
    vdir = volumes_dir(snapshot.root)
    state = read_usable(snapshot.root) if state is None else state
    years = set(years) if years is not None else None
    fresh = {
        key
        for key, part in snapshot.partitions.items()
        if key in state.partitions and state.partitions[key].matches(part)
    }
    scope = snapshot.select(boroughs, years)
    stale = [p for p in scope if part_key(p) not in fresh]
    if stale and not recount_stale:
        return None
    wanted = set(months_of(days)) if days is not None else None
    months = [
        e
        for m, e in sorted(state.months.items())
        if (years is None or int(m[:4]) in years) and (wanted is None or m in wanted)
    ]
    # Rows of partitions that are not fresh (stale, or gone from the store) are never served.
    hidden = sorted({k for e in months for k in e.counts} - fresh)
    keep = None
    if hidden:
        key = duckdb.FunctionExpression(
            "concat",
            duckdb.ColumnExpression("borough"),
            duckdb.ConstantExpression("|"),
            duckdb.FunctionExpression("year", duckdb.ColumnExpression("day")),
        )
        keep = ~duckdb.FunctionExpression("list_contains", duckdb.ConstantExpression(hidden), key)

    files = [str(vdir / f) for e in months for f in e.volume_files]
    volume = None
    if files:
        volume = engine.read_parquet(files, VOLUME_COLUMNS)
        volume = volume.filter(keep) if keep is not None else volume
    if stale or volume is None:
        # Count the stale partitions (or nothing: an empty, well-typed relation) from the store.
        engine.bind_files([str(snapshot.root / f.path) for p in stale for f in p.files])
        counted = engine.relation("volume_counts")
        volume = counted if volume is None else volume.union(counted)
    volume.create_view("daily_volume", replace=True)
    # CADs per borough-day, summed from the volume rows when read (about five a borough-day).
    engine.relation("daily_totals").create_view("daily_total", replace=True)
    return len(scope) - len(stale), len(stale)


def monthly_counts(
    snapshot: Snapshot, years: Iterable[int] | None = None
) -> list[tuple[dt.date, str, int]] | None:
    """CADs per month and borough, from state.json alone; None unless every partition is fresh.

    The state keeps, for each month of the table, the CADs of each partition (refresh checks
    them against the manifest's row counts), so a monthly summary by borough needs neither
    DuckDB nor the month files: it is answered in milliseconds. Partitions in scope that are
    stale, or whose month files are missing, make this None; the caller then reads the table.

    Args:
        snapshot: the store snapshot the counts must agree with.
        years: the years in scope (None: all).

    Returns:
        (first day of the month, borough, CADs) for every month and borough with CADs.
    """
    state = read_usable(snapshot.root)
    if stale_partitions(snapshot, years=years, state=state):
        return None
    wanted = set(years) if years is not None else None
    out = []
    for month, entry in state.months.items():
        if wanted is not None and int(month[:4]) not in wanted:
            continue
        for key, n in entry.counts.items():
            if key in snapshot.partitions and n:  # a dropped partition's counts are not served
                out.append((month_days(month)[0], key.rsplit("|", 1)[0], n))
    return out


def count(
    store_or_snapshot: Store | Snapshot,
    *,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str] | None = None,
    call_sources: Sequence[str] | None = None,
) -> int | None:
    """Count CADs from the daily volume table, or None when the table is not fresh for the scope.

    Counts CADs in `boroughs` whose London day is in [date_from, date_to], optionally only from
    `call_sources`. None or an empty sequence means no filter. Returns None when `tags` are
    given (the table holds no tags: a count by tag is counted from the partitions), when any
    partition of the scope (borough x year) changed since the last refresh, was never
    counted, or the table cannot be read: the caller then counts from the partitions instead.
    """
    snap = _snapshot(store_or_snapshot)
    if not boroughs or date_from > date_to:
        return 0
    if tags:
        return None
    years = range(date_from.year, date_to.year + 1)
    parts = snap.select(boroughs, years)
    if not parts:
        return 0
    # Decided from state.json before any DuckDB connection is opened (or DuckDB loaded).
    state = read_usable(snap.root)
    if stale_partitions(snap, boroughs, years, state=state):
        return None
    from costplan.engines.duckdb_engine import Engine

    try:
        with Engine(snap, boroughs=(), years=()) as engine:  # empty `cad`; queries only
            create_daily_view(engine, snap, boroughs, years, days=(date_from, date_to), state=state)
            value = engine.scalar(
                "volume_count",
                boroughs=list(boroughs),
                date_from=date_from,
                date_to=date_to,
                call_sources=list(call_sources) if call_sources else None,
            )
    except (CostplanError, duckdb.Error):
        return None  # a missing or damaged volume file: let the caller read the partitions
    return int(value or 0)
