"""Volume summaries: CAD counts per period and group, with small-count suppression.

Counts come from the daily volume table (costplan.engines.volumes). Partitions the table has
not seen since the store last changed are counted directly from the store for this one summary
(nothing is written), so a summary is always exact; `costplan summary refresh` only makes it faster.
On the Spark engine there is no volume table: every partition in range is counted directly.

Disclosure control (`--suppress-below N`), by one of two methods:

* `cellkey` (the default): counts from 1 to N-1 are replaced by the marker "<N", and every
  other count is published *rounded to a multiple of N*, up or down as the cell's key says
  (unbiased random rounding: a count N*q + r rounds up for a share r/N of the keys). Each CAD
  has a fixed record key (0..255, from its reference: queries/summary_cellkeys.sql); a cell's
  key is the sum of its CADs' keys mod 256, so the same cell is rounded the same way in every
  table (the ONS cell key method: asking again, or in another shape, gives the same figure).
  Why this survives differencing: every published figure, and so every sum or difference of
  published figures from any number of tables (margins against their breakdown, a week
  against its days, two ranges a day apart), is a multiple of N, while a suppressed count is
  1 to N-1: no such combination can equal it. The volume table holds no record keys, so
  these summaries are counted from the partitions (costplan/cellkey.py).
* `suppress`: suppression alone, exact counts otherwise. Within one output no suppressed
  count can be worked out, but comparing two outputs can give it back (issue 15); for
  internal use only.

Either way, totals are computed AFTER disclosure control, from the published counts only, so
they carry no information about a suppressed count. The price is that a total with
suppressed cells under-counts; the output says so. A Summary never holds the suppressed or
unrounded values, so no renderer can leak them.

The true counts come from `costplan.summary.counts`. Counts arrive as plain rows from the engine
and a Summary is plain Python (Cell tuples): the summary path imports neither Polars nor
PyArrow, whose import alone would take longer than `costplan summary --format csv` is allowed to
run (docs/benchmarks.md §4).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from costplan.cellkey import METHODS, KeyedRow, keyed_counts, round_by_key
from costplan.engines import DEFAULT, Engine
from costplan.errors import InputError
from costplan.schema import parse_iso_date
from costplan.store import Snapshot, Store
from costplan.summary.counts import (
    BY_COLUMNS,
    PERIODS,
    QUERY_COLUMNS,
    CountRow,
    _bulk,
    _check,
    _picker,
    _years,
    compute_counts,
    parse_by,
    uses_totals,
)

__all__ = [
    "BY_COLUMNS",
    "PERIODS",
    "QUERY_COLUMNS",
    "Cell",
    "CountRow",
    "GroupTotal",
    "PeriodTotal",
    "Summary",
    "build",
    "compute_counts",
    "parse_by",
    "parse_day",
    "protect",
    "summarise",
    "suppress",
    "uses_totals",
]


def parse_day(value: str | dt.date | None, option: str) -> dt.date | None:
    """Parse an ISO date (YYYY-MM-DD) given to `option`.

    Raises:
        InputError: not a valid ISO date.
    """
    return None if value is None else parse_iso_date(value, option)


def _group_key(groups: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    """Sort key for `by` values: ascending, a missing value (None) after every other."""
    return tuple((g is None, g or "") for g in groups)


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
        method: the disclosure control applied with suppress_below ('cellkey' or 'suppress';
            None without suppression).
    """

    period: str
    by: tuple[str, ...]
    date_from: dt.date | None
    date_to: dt.date | None
    suppress_below: int | None
    cells: tuple[Cell, ...]
    source: dict[str, Any] = field(default_factory=dict)
    method: str | None = None
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
        """Row objects: period_start, one key per `by` column, count (None when suppressed)."""
        out = []
        for c in self.cells:
            rec: dict[str, Any] = {"period_start": c.period_start.isoformat()}
            rec.update(zip(self.by, c.groups, strict=True))
            rec.update(count=None if c.suppressed else c.count, suppressed=c.suppressed)
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


def protect(counts: Iterable[KeyedRow], threshold: int) -> list[Cell]:
    """Cells from true counts and key sums: 1 to threshold-1 suppressed, every other count
    rounded to a multiple of `threshold` by its cell key (method `cellkey`)."""
    return [
        Cell(p, g, None, True)
        if n < threshold
        else Cell(p, g, round_by_key(n, k, threshold), False)
        for p, g, n, k in counts
    ]


def build(
    counts: Iterable[CountRow],
    *,
    period: str,
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    suppress_below: int | None = None,
    source: dict[str, Any] | None = None,
    keyed: Iterable[KeyedRow] | None = None,
) -> Summary:
    """Make a Summary from true counts ((period_start, by values, count) rows), suppressing first.

    With `keyed` rows (counts with their cell key sums) instead, the method is `cellkey`:
    small counts suppressed and the others rounded by their keys (`protect`).

    Raises:
        InputError: a threshold below 1.
        ValueError: a row without exactly one value per `by` column (a caller's bug).
    """
    by = tuple(by)
    with _bulk():
        if keyed is not None and suppress_below is not None:
            cells = protect(keyed, suppress_below)
        else:
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
    method = None if suppress_below is None else ("suppress" if keyed is None else "cellkey")
    return Summary(period, by, date_from, date_to, suppress_below, frozen, source or {}, method)


def summarise(
    store_or_snapshot: Store | Snapshot,
    *,
    period: str = "week",
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    suppress_below: int | None = None,
    engine: Engine = DEFAULT,
    method: str = METHODS[0],
) -> Summary:
    """CAD counts per period (and per `by` group) over the store's local days [date_from,
    date_to].

    With `suppress_below`, `method` says how the counts are protected (see the module
    docstring): 'cellkey' (the default; counted from the partitions) or 'suppress'.

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
    if method not in METHODS:
        raise InputError(
            f"unknown disclosure control method {method!r}",
            f"use one of {', '.join(METHODS)}",
            field="disclosure",
        )
    # One snapshot for the counts and the words they are described in.
    snap = (
        store_or_snapshot
        if isinstance(store_or_snapshot, Snapshot)
        else store_or_snapshot.snapshot()
    )
    keyed: list[KeyedRow] | None = None
    counts: list[CountRow] = []
    if suppress_below is not None and method == "cellkey":
        cols = parse_by(by)
        _check(period, date_from, date_to)
        years = _years(snap, date_from, date_to)
        rows, source = keyed_counts(snap, period, cols, date_from, date_to, years, engine)
        groups_of = _picker([QUERY_COLUMNS.index(c) for c in cols])
        keyed = [(r[0], groups_of(r), r[-2], r[-1]) for r in rows]
    else:
        counts, source = compute_counts(
            snap, period=period, by=by, date_from=date_from, date_to=date_to, engine=engine
        )
    built = build(
        counts,
        period=period,
        by=parse_by(by),
        date_from=date_from,
        date_to=date_to,
        suppress_below=suppress_below,
        source=source,
        keyed=keyed,
    )
    force = snap.profile
    return dataclasses.replace(built, day_word=force.day_word, area_word=force.area_word)
