"""Volume summaries: CAD counts per period and group, with small-count suppression.

Counts come from the daily volume table (costplan.engines.volumes). Partitions the table has
not seen since the store last changed are counted directly from the store for this one summary
(nothing is written), so a summary is always exact; `costplan summary refresh` only makes it faster.
On the Spark engine there is no volume table: every partition in range is counted directly.

Suppression: counts from 1 to N-1 are replaced by the marker "<N". Totals are computed AFTER
suppression, from the published counts only, so they carry no information about a suppressed
count (two tables that differ only in suppressed counts give identical output). The price is
that a total with suppressed cells under-counts; the output says so. A Summary never holds the
suppressed values, so no renderer can leak them.

Counts arrive as plain rows from the engine and a Summary is plain Python (Cell tuples): the
summary path imports neither Polars nor PyArrow, whose import alone would take longer than
`costplan summary --format csv` is allowed to run (docs/benchmarks.md §4).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from costplan.engines import DEFAULT, Engine
from costplan.errors import InputError
from costplan.schema import parse_iso_date
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


def parse_day(value: str | dt.date | None, option: str) -> dt.date | None:
    """Parse an ISO date (YYYY-MM-DD) given to `option`.

    Raises:
        InputError: not a valid ISO date.
    """
    return None if value is None else parse_iso_date(value, option)


def _group_key(groups: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    """Sort key for `by` values: ascending, a missing value (None) after every other."""
    return tuple((g is None, g or "") for g in groups)


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


class Cell(NamedTuple):
    """One published count: a period and group, and its count unless it was suppressed.

    Immutable, and made only by suppress(), which drops a suppressed count before the cell
    exists. (A NamedTuple rather than a frozen dataclass: a summary can hold millions of
    cells, and these are several times cheaper to make.)

    Attributes:
        period_start: first London day of the period (the Monday of an ISO week, the 1st of a
            month).
        groups: the values of the Summary's `by` columns, in the same order (None: an untagged
            CAD under `by` tag).
        count: the CADs counted; None where suppressed.
        suppressed: whether the count was 1 to threshold-1 and so withheld.
    """

    period_start: dt.date
    groups: tuple[str | None, ...]
    count: int | None  # type: ignore[assignment]  # a field named like tuple.count
    suppressed: bool


class PeriodTotal(NamedTuple):
    """Published totals of one period (see Summary.period_totals)."""

    period_start: dt.date
    total: int
    suppressed_cells: int


class GroupTotal(NamedTuple):
    """Published totals of one group of `by` values over all periods (Summary.group_totals)."""

    groups: tuple[str | None, ...]
    total: int
    suppressed_cells: int


@dataclass(frozen=True)
class Summary:
    """A published volume summary.

    Attributes:
        period: 'day', 'week' (ISO, starting Monday) or 'month'.
        by: the grouping columns, in the order asked for.
        date_from: first London day counted (None: from the start of the data).
        date_to: last London day counted (None: to the end of the data).
        suppress_below: counts below this are suppressed (None: no suppression).
        cells: one Cell per (period_start, *by), sorted by period, then by the `by` values
            ascending with None last. The suppressed values themselves are not kept.
        source: where the counts came from (store snapshot, table vs direct partitions).
    """

    period: str
    by: tuple[str, ...]
    date_from: dt.date | None
    date_to: dt.date | None
    suppress_below: int | None
    cells: tuple[Cell, ...]
    source: dict[str, Any] = field(default_factory=dict)
    # The store's words (its force profile): what a day and an area are called in text.
    day_word: str = "London day"
    area_word: str = "borough"

    @property
    def shown_by(self) -> tuple[str, ...]:
        """The grouping columns as people read them: `borough` in the force's own word."""
        return tuple(self.area_word if b == "borough" else b for b in self.by)

    @property
    def marker(self) -> str | None:
        """What a suppressed count shows as, e.g. '<10' (None without suppression)."""
        return f"<{self.suppress_below}" if self.suppress_below else None

    @property
    def suppressed_cells(self) -> int:
        """How many cells were suppressed."""
        return sum(c.suppressed for c in self.cells)

    def period_totals(self) -> list[PeriodTotal]:
        """Per period, ascending: `total` of the published counts and how many were suppressed."""
        totals: dict[dt.date, list[int]] = {}
        for c in self.cells:
            acc = totals.setdefault(c.period_start, [0, 0])
            acc[0] += c.count or 0
            acc[1] += c.suppressed
        return [PeriodTotal(p, t, n) for p, (t, n) in sorted(totals.items())]

    def group_totals(self) -> list[GroupTotal]:
        """Per group of `by` values (None last): `total` of the published counts, all periods.

        Empty without `by` (every cell is then a total already).
        """
        if not self.by:
            return []
        totals: dict[tuple[str | None, ...], list[int]] = {}
        for c in self.cells:
            acc = totals.setdefault(c.groups, [0, 0])
            acc[0] += c.count or 0
            acc[1] += c.suppressed
        ordered = sorted(totals.items(), key=lambda item: _group_key(item[0]))
        return [GroupTotal(g, t, n) for g, (t, n) in ordered]

    def grand_total(self) -> int:
        """Sum of the published counts."""
        return sum(c.count or 0 for c in self.cells)

    def records(self) -> list[dict[str, Any]]:
        """Row objects: period_start (ISO), one key per `by` column, count (int or marker)."""
        out = []
        for c in self.cells:
            rec: dict[str, Any] = {"period_start": c.period_start.isoformat()}
            rec.update(zip(self.by, c.groups, strict=True))
            rec["count"] = self.marker if c.suppressed else c.count
            out.append(rec)
        return out


def suppress(counts: Iterable[CountRow], threshold: int | None) -> list[Cell]:
    """Cells from true counts, with counts from 1 to threshold-1 withheld and flagged.

    Zero counts never appear (a group with no CADs has no row), so nothing is hidden by them.

    Raises:
        InputError: a threshold below 1.
    """
    if threshold is not None and threshold < 1:
        raise InputError(
            f"the suppression threshold must be at least 1, not {threshold}",
            field="suppress_below",
        )
    if threshold is None:
        return [Cell(p, g, n, False) for p, g, n in counts]
    return [Cell(p, g, None, True) if n < threshold else Cell(p, g, n, False) for p, g, n in counts]


def build(
    counts: Iterable[CountRow],
    *,
    period: str,
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    suppress_below: int | None = None,
    source: dict[str, Any] | None = None,
) -> Summary:
    """Make a Summary from true counts ((period_start, by values, count) rows), suppressing first.

    Raises:
        InputError: a threshold below 1.
        ValueError: a row without exactly one value per `by` column (a caller's bug).
    """
    by = tuple(by)
    with _bulk():
        cells = suppress(counts, suppress_below)
        # Rank the distinct groups once (a few thousand at most), then sort on one int per
        # cell: a tuple key per cell costs seconds on a million-cell summary.
        groups = sorted({c.groups for c in cells}, key=_group_key)
        if any(len(g) != len(by) for g in groups):
            raise ValueError(f"counts must carry one value per by column {by}")
        rank = {g: i for i, g in enumerate(groups)}
        size = len(rank)
        cells.sort(key=lambda c: c.period_start.toordinal() * size + rank[c.groups])
        frozen = tuple(cells)
    return Summary(period, by, date_from, date_to, suppress_below, frozen, source or {})


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
    answer as summary_volumes over `daily_volume`, from a fraction of the rows.

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
    years: Iterable[int] | None = None
    if date_from or date_to:
        lo = date_from.year if date_from else min((p.year for p in snap.select()), default=0)
        hi = date_to.year if date_to else max((p.year for p in snap.select()), default=0)
        years = range(lo, hi + 1)
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
    else:
        query = "summary_volumes"
        params |= {f"by_{c}": c in by for c in ("call_source", "grading", "tag")}
    eng, used = engine.daily_volumes(snap, years=years)
    with eng:
        rows = eng.rows(query, **params)
    source = {
        **snap.describe(),
        "partitions_from_table": used[0],
        "partitions_counted_directly": used[1],
    }
    # Both engines give DATE as datetime.date, VARCHAR as str and BIGINT as int, so the
    # values pass through as they are; only the `by` columns are picked out, in `by` order.
    period_at, count_at = QUERY_COLUMNS.index("period_start"), QUERY_COLUMNS.index("count")
    groups_of = _picker([QUERY_COLUMNS.index(c) for c in by])
    with _bulk():
        counts = [(r[period_at], groups_of(r), r[count_at]) for r in rows]
    return counts, source


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
    source = {
        **snap.describe(),
        "partitions_from_table": len(snap.select(years=years)),
        "partitions_counted_directly": 0,
    }
    return [(p, g, n) for (p, g), n in totals.items()], source


def _picker(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function giving a row's values at `indexes` as a tuple, whatever their number."""
    if len(indexes) >= 2:
        return itemgetter(*indexes)
    if len(indexes) == 1:
        i = indexes[0]
        return lambda row: (row[i],)
    return lambda row: ()


def summarise(
    store_or_snapshot: Store | Snapshot,
    *,
    period: str = "week",
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    suppress_below: int | None = None,
    engine: Engine = DEFAULT,
) -> Summary:
    """CAD counts per period (and per `by` group) over the store's local days [date_from,
    date_to].

    Edge periods are partial when the range starts or ends inside a week or month: only the
    days in range are counted, and period_start is still the Monday or the 1st.

    Raises:
        InputError: a bad period, `by` column, date order or threshold.
        StoreError: the store is missing or unreadable.
    """
    if suppress_below is not None and suppress_below < 1:
        raise InputError(
            f"the suppression threshold must be at least 1, not {suppress_below}",
            field="suppress_below",
        )
    snap = store_or_snapshot if isinstance(store_or_snapshot, Snapshot) else None
    force = (snap or store_or_snapshot.snapshot()).profile  # type: ignore[union-attr]
    counts, source = compute_counts(
        store_or_snapshot,
        period=period,
        by=by,
        date_from=date_from,
        date_to=date_to,
        engine=engine,
    )
    built = build(
        counts,
        period=period,
        by=parse_by(by),
        date_from=date_from,
        date_to=date_to,
        suppress_below=suppress_below,
        source=source,
    )
    return dataclasses.replace(built, day_word=force.day_word, area_word=force.area_word)
