"""Volume summaries: CAD counts per period and group, with small-count suppression.

Counts come from the daily volume table (costplan.volumes). Partitions the table has not seen
since the store last changed are counted directly from the store for this one summary (nothing
is written), so a summary is always exact; `costplan summary refresh` only makes it faster.
On the Spark engine there is no volume table: every partition in range is counted directly.

Suppression: counts from 1 to N-1 are replaced by the marker "<N". Totals are computed AFTER
suppression, from the published counts only, so they carry no information about a suppressed
count (two tables that differ only in suppressed counts give identical output). The price is
that a total with suppressed cells under-counts; the output says so. A Summary never holds the
suppressed values, so no renderer can leak them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from costplan.engines import DEFAULT_ENGINE, DEFAULT_SPARK_MASTER, open_daily_volumes
from costplan.errors import InputError
from costplan.schema import parse_iso_date
from costplan.store import Snapshot, Store

PERIODS: tuple[str, ...] = ("day", "week", "month")
BY_COLUMNS: tuple[str, ...] = ("borough", "call_source", "grading", "tag")


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
                f"cannot summarise by {c!r}", f"--by takes a comma list of {', '.join(BY_COLUMNS)}"
            )
    if len(set(cols)) != len(cols):
        raise InputError(f"--by names a column twice: {','.join(cols)}")
    return cols


def parse_day(value: str | dt.date | None, option: str) -> dt.date | None:
    """Parse an ISO date (YYYY-MM-DD) given to `option`.

    Raises:
        InputError: not a valid ISO date.
    """
    return None if value is None else parse_iso_date(value, option)


@dataclass(frozen=True)
class Summary:
    """A published volume summary.

    Attributes:
        period: 'day', 'week' (ISO, starting Monday) or 'month'.
        by: the grouping columns, in the order asked for.
        date_from: first London day counted (None: from the start of the data).
        date_to: last London day counted (None: to the end of the data).
        suppress_below: counts below this are suppressed (None: no suppression).
        cells: one row per (period_start, *by): `count` (Int64, null where suppressed) and
            `suppressed` (Boolean). The suppressed values themselves are not kept.
        source: where the counts came from (store snapshot, table vs direct partitions).
    """

    period: str
    by: tuple[str, ...]
    date_from: dt.date | None
    date_to: dt.date | None
    suppress_below: int | None
    cells: pl.DataFrame
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def marker(self) -> str | None:
        """What a suppressed count shows as, e.g. '<10' (None without suppression)."""
        return f"<{self.suppress_below}" if self.suppress_below else None

    @property
    def suppressed_cells(self) -> int:
        return int(self.cells["suppressed"].sum())

    def period_totals(self) -> pl.DataFrame:
        """Per period: `total` of the published counts and how many cells were suppressed."""
        return (
            self.cells.group_by("period_start")
            .agg(
                pl.col("count").sum().alias("total"),
                pl.col("suppressed").sum().cast(pl.Int64).alias("suppressed_cells"),
            )
            .sort("period_start")
        )

    def group_totals(self) -> pl.DataFrame:
        """Per group of `by` values: `total` of the published counts over all periods."""
        if not self.by:
            return pl.DataFrame()
        return (
            self.cells.group_by(list(self.by))
            .agg(
                pl.col("count").sum().alias("total"),
                pl.col("suppressed").sum().cast(pl.Int64).alias("suppressed_cells"),
            )
            .sort(list(self.by), nulls_last=True)
        )

    def grand_total(self) -> int:
        """Sum of the published counts."""
        return int(self.cells["count"].sum() or 0)

    def records(self) -> list[dict[str, Any]]:
        """Row objects: period_start (ISO), one key per `by` column, count (int or marker)."""
        out = []
        for row in self.cells.iter_rows(named=True):
            rec: dict[str, Any] = {"period_start": row["period_start"].isoformat()}
            rec.update({c: row[c] for c in self.by})
            rec["count"] = self.marker if row["suppressed"] else int(row["count"])
            out.append(rec)
        return out


def suppress(counts: pl.DataFrame, threshold: int | None) -> pl.DataFrame:
    """Replace counts from 1 to threshold-1 by null and flag them in `suppressed`.

    Zero counts never appear (a group with no CADs has no row), so nothing is hidden by them.
    """
    if threshold is not None and threshold < 1:
        raise InputError(f"--suppress-below must be at least 1, not {threshold}")
    hide = pl.col("count") < threshold if threshold else pl.lit(False)
    return counts.with_columns(
        pl.when(hide).then(None).otherwise(pl.col("count")).cast(pl.Int64).alias("count"),
        hide.alias("suppressed"),
    )


def build(
    counts: pl.DataFrame,
    *,
    period: str,
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    suppress_below: int | None = None,
    source: dict[str, Any] | None = None,
) -> Summary:
    """Make a Summary from true counts (columns period_start, *by, count), suppressing first."""
    by = tuple(by)
    cells = suppress(counts.select("period_start", *by, "count"), suppress_below)
    cells = cells.sort(["period_start", *by], nulls_last=True)
    return Summary(period, by, date_from, date_to, suppress_below, cells, source or {})


def _check(period: str, date_from: dt.date | None, date_to: dt.date | None) -> None:
    if period not in PERIODS:
        raise InputError(f"unknown period {period!r}", f"use one of {', '.join(PERIODS)}")
    if date_from and date_to and date_from > date_to:
        raise InputError(
            f"--from {date_from.isoformat()} is after --to {date_to.isoformat()}",
            "swap the dates",
        )


def compute_counts(
    store_or_snapshot: Store | Snapshot,
    *,
    period: str = "week",
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """True (unsuppressed) counts per period and group, and where they came from.

    On DuckDB the counts come from the daily volume table (partitions it has not seen are
    counted from the store); on Spark (`engine="spark"`) every partition in range is counted
    from the store by the same query the table is built with.

    Returns:
        A frame (period_start, *by, count) and a source description (snapshot, how many
        partitions were read from the volume table and how many counted from the store).
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
    eng, used = open_daily_volumes(snap, years=years, engine=engine, spark_master=spark_master)
    with eng:
        frame = eng.frame(
            "summary_volumes",
            period=period,
            by_borough="borough" in by,
            by_call_source="call_source" in by,
            by_grading="grading" in by,
            by_tag="tag" in by,
            date_from=date_from,
            date_to=date_to,
        )
    source = {
        **snap.describe(),
        "partitions_from_table": used[0],
        "partitions_counted_directly": used[1],
    }
    frame = frame.select(
        pl.col("period_start").cast(pl.Date),
        *[pl.col(c).cast(pl.String) for c in by],
        pl.col("count").cast(pl.Int64),
    )
    return frame, source


def summarise(
    store_or_snapshot: Store | Snapshot,
    *,
    period: str = "week",
    by: Sequence[str] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    suppress_below: int | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = DEFAULT_SPARK_MASTER,
) -> Summary:
    """CAD counts per period (and per `by` group) over London days [date_from, date_to].

    Edge periods are partial when the range starts or ends inside a week or month: only the
    days in range are counted, and period_start is still the Monday or the 1st.

    Raises:
        InputError: a bad period, `by` column, date order or threshold.
        StoreError: the store is missing or unreadable.
    """
    if suppress_below is not None and suppress_below < 1:
        raise InputError(f"--suppress-below must be at least 1, not {suppress_below}")
    counts, source = compute_counts(
        store_or_snapshot,
        period=period,
        by=by,
        date_from=date_from,
        date_to=date_to,
        engine=engine,
        spark_master=spark_master,
    )
    return build(
        counts,
        period=period,
        by=parse_by(by),
        date_from=date_from,
        date_to=date_to,
        suppress_below=suppress_below,
        source=source,
    )
