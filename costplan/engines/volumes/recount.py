"""One refresh's DuckDB session: count the changed days, write the months that hold them.

The counts of the changed partitions (by day, or whole) go into the table `volume_new`. When
every recounted day is after the last day of each month it falls in (a nightly ingest), the
new counts are written as a day file beside each month (its `deltas`), and nothing
old is read or rewritten. Otherwise, or once a month has MAX_DELTAS day files, each touched
month is rewritten: the old month's rows less the recounted days, plus the new counts
(volume_month_merge), under new unique names. Nothing here commits: refreshing.refresh swaps
state.json once these files are durable.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from costplan._deps import lazy
from costplan.engines.volumes.files import fsync, in_threads, new_path, remove_staging
from costplan.engines.volumes.state import (
    MAX_DELTAS,
    VOLUME_COLUMNS,
    Days,
    MonthEntry,
    VolumeState,
    data_days,
    month_days,
    months_of,
    part_key,
    year_days,
)
from costplan.errors import CostplanError, StoreError
from costplan.store import Partition, partition_key

if TYPE_CHECKING:
    import duckdb

    from costplan.engines.duckdb_engine import Engine
else:
    duckdb = lazy("duckdb")  # loaded by the session's first expression or error check

# The counts a refresh collects (volume_counts' columns) and the day ranges they replace.
_NEW_TABLE = {
    "borough": "VARCHAR",
    "day": "DATE",
    "call_source": "VARCHAR",
    "n": "BIGINT",
}
_RANGE_TABLE = {"borough": "VARCHAR", "year": "SMALLINT", "lo": "DATE", "hi": "DATE"}

# Partitions counted by one query, up to this many source rows: one parallel scan of many files
# is several times faster than a query per partition (a partition file is often a single row
# group, which DuckDB reads on one thread), and the bound caps the memory a batch's result takes.
BATCH_ROWS = 32_000_000

# progress(done, total, what): called after each batch of partitions is counted (done and
# total count partitions, plus one last step for writing the months), `what` the last key.
Progress = Callable[[int, int, str], None]


class VolumeError(StoreError):
    """The daily volume table could not be refreshed."""


def _count_errors() -> tuple[type[Exception], ...]:
    """What a failed count or write can raise."""
    return (CostplanError, duckdb.Error, OSError)


def _batches(items: Sequence[tuple[Partition, Days]]) -> Iterator[list[tuple[Partition, Days]]]:
    """Batches of up to BATCH_ROWS source rows (a nightly ingest is one batch)."""
    batch: list[tuple[Partition, Days]] = []
    rows = 0
    for part, days in items:
        if batch and rows + part.rows > BATCH_ROWS:
            yield batch
            batch, rows = [], 0
        batch.append((part, days))
        rows += part.rows
    if batch:
        yield batch


def _count_batch(eng: Engine, batch: Sequence[tuple[Partition, Days]], whole: bool) -> None:
    """Append the volumes of each partition's own days to the table volume_new (one query)."""
    eng.bind_files([str(eng.snapshot.root / f.path) for p, _ in batch for f in p.files])
    if whole:
        eng.insert("volume_new", "volume_counts")
        return
    ranges = [(p.borough, p.year, lo, hi) for p, (lo, hi) in batch]
    eng.register_rows("refresh_days", _RANGE_TABLE, ranges)
    eng.insert(
        "volume_new",
        "volume_counts_days",
        day_from=min(r[2] for r in ranges),
        day_to=max(r[3] for r in ranges),
    )


def _count_into(
    eng: Engine,
    items: Sequence[tuple[Partition, Days]],
    *,
    whole: bool,
    tick: Callable[[int, str], None] = lambda n, key: None,
) -> tuple[list[tuple[Partition, Days]], dict[str, Exception]]:
    """Count items into volume_new; returns (counted items, key -> error for the others).

    A batch that fails is retried one partition at a time (each insert is one statement: all of
    a query's rows or none), so an unreadable file is pinned to its own partition. `tick` is
    called after each batch with how many partitions it held and the last one's key.
    """
    done: list[tuple[Partition, Days]] = []
    failed: dict[str, Exception] = {}
    for batch in _batches(items):
        try:
            _count_batch(eng, batch, whole)
            done += batch
        except _count_errors() as exc:
            if len(batch) == 1:
                failed[part_key(batch[0][0])] = exc
            else:
                for item in batch:
                    try:
                        _count_batch(eng, [item], whole)
                        done.append(item)
                    except _count_errors() as one:
                        failed[part_key(item[0])] = one
        tick(len(batch), part_key(batch[-1][0]))
    return done, failed


@dataclass
class Work:
    """What a refresh recounts: partitions by day or whole, and keys of dropped partitions."""

    by_day: list[tuple[Partition, Days]] = field(default_factory=list)
    whole: list[Partition] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class _Done:
    """What Refresher.run counted and wrote, for refresh() to commit."""

    months: dict[str, MonthEntry | None]  # rewritten months (None: now empty)
    by_day: list[tuple[Partition, Days]]
    whole: list[Partition]
    failed: dict[str, Exception]
    rows_counted: int


def _month_of_day() -> duckdb.Expression:
    """yyyymm of the column `day` (an integer: formatting a string per row is 3x slower)."""
    day = duckdb.ColumnExpression("day")
    year = duckdb.FunctionExpression("year", day)
    month = duckdb.FunctionExpression("month", day)
    return (year * duckdb.ConstantExpression(100) + month).alias("month")


class Refresher:
    """One refresh's DuckDB session: counts changed days, rewrites the months holding them.

    All changed partitions are counted together (one query per BATCH_ROWS of source rows) and
    all touched months are written by one partitioned write, so a rebuild is a few large
    queries and a nightly refresh a few small ones.
    """

    def __init__(self, eng: Engine, vdir: Path, old: VolumeState, progress: Progress | None):
        self.eng = eng
        self.vdir = vdir
        self.old = old
        self.progress = progress
        self.done = 0
        self.total = 0
        self.written: list[Path] = []  # files of this refresh, removed again if it fails
        self.unsynced: list[Path] = []  # written files not yet fsynced (run() syncs them)

    def _tick(self, n: int, what: str) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), what)

    def run(self, work: Work) -> _Done:
        """Recount the work and write its months.

        By-day partitions whose new total disagrees with the manifest are recounted whole in a
        second pass (the first pass's files are deleted): never guess.
        """
        by_day, whole = list(work.by_day), list(work.whole)
        while True:
            self.done, self.total = 0, len(by_day) + len(whole) + 1  # +1: writing the months
            written = len(self.written)
            done = self._pass(work.dropped, by_day, whole)
            totals = self._partition_totals(done.months)
            good = [(p, d) for p, d in done.by_day if totals.get(part_key(p), 0) == p.rows]
            if len(good) == len(done.by_day):
                # Durable before refresh() commits the state that names them.
                alive = set(self.written)  # a retried pass's files were deleted
                in_threads(fsync, [p for p in self.unsynced if p in alive])
                self.unsynced.clear()
                return done
            # Only this pass's files: an appended month's entry also names its old files.
            for path in self.written[written:]:
                path.unlink(missing_ok=True)
            del self.written[written:]
            # Everything not verified by day (including failed counts) goes whole next pass.
            kept = {part_key(p) for p, _ in good}
            whole += [p for p, _ in by_day if part_key(p) not in kept]
            by_day = good

    def _pass(
        self, dropped: list[str], by_day: list[tuple[Partition, Days]], whole: list[Partition]
    ) -> _Done:
        eng = self.eng
        eng.register_rows("volume_new", _NEW_TABLE, [])
        if whole and not by_day:
            rebuilt = self._rebuild(dropped, whole)
            if rebuilt is not None:
                return rebuilt
        counted_days, failed = _count_into(eng, by_day, whole=False, tick=self._tick)
        # A by-day count that fails is retried whole: that reports the error if it persists.
        retry = [p for p, _ in by_day if part_key(p) in failed]
        for part in retry:
            failed.pop(part_key(part))
        whole_items = [(p, year_days(p.year)) for p in [*whole, *retry]]
        self.total += len(retry)
        counted_whole, failed_whole = _count_into(eng, whole_items, whole=True, tick=self._tick)
        failed.update(failed_whole)
        ranges = [(p.borough, p.year, lo, hi) for p, (lo, hi) in counted_days + counted_whole]
        for key in dropped:
            borough, year = key.rsplit("|", 1)
            ranges.append((borough, int(year), *year_days(int(year))))
        eng.register_rows("refresh_days", _RANGE_TABLE, ranges)
        months = self._months_touched(counted_days + counted_whole, ranges)
        rewritten, rows = self._write_months(months, ranges)
        return _Done(
            months=rewritten,
            by_day=counted_days,
            whole=[p for p, _ in counted_whole],
            failed=failed,
            rows_counted=rows,
        )

    def _months_touched(
        self,
        counted: Sequence[tuple[Partition, Days]],
        ranges: Sequence[tuple[str, int, dt.date, dt.date]],
    ) -> list[str]:
        """Months that hold replaced rows (in the old table) or new rows (in the store)."""
        # Each distinct span once: a rebuild's are a few whole years, shared by every borough.
        old = set(self.old.months)
        touched: set[str] = set()
        for span in {(lo, hi) for _, _, lo, hi in ranges}:
            touched |= old & set(months_of(span))
        spans = set()
        for part, (lo, hi) in counted:
            data = data_days(part)
            if data is not None and max(lo, data[0]) <= min(hi, data[1]):
                spans.add((max(lo, data[0]), min(hi, data[1])))
        for span in spans:
            touched |= set(months_of(span))
        return sorted(touched)

    def _write_months(
        self, months: Sequence[str], ranges: Sequence[tuple[str, int, dt.date, dt.date]]
    ) -> tuple[dict[str, MonthEntry | None], int]:
        """Write the new volume files of `months`.

        Returns:
            Each month's new entry (None if the month is now empty), and how many of the
            written CADs were counted from the store (those on the recounted days).
        """
        eng = self.eng
        append = self._appendable(months, ranges)
        old = [
            str(self.vdir / f)
            for m in ([] if append else months)
            if m in self.old.months and not self._replaced_whole(m, ranges)
            for f in self.old.months[m].volume_files
        ]
        if old:  # the merged months
            eng.read_parquet(old, VOLUME_COLUMNS).create_view("volume_old", replace=True)
            eng.relation("volume_month_merge").create_view("daily_volume", replace=True)
        else:  # appended days, or nothing old survives (a rebuild): the new counts alone
            columns = [duckdb.ColumnExpression(c) for c in VOLUME_COLUMNS]
            eng.table("volume_new").project(*columns).create_view("daily_volume", replace=True)
        counts, last, counted = self._month_counts()
        filled = sorted(counts)
        vol = self._write_split(eng.table("daily_volume"), VOLUME_COLUMNS, filled, "vol")
        entries: dict[str, MonthEntry | None] = {}
        for m in months:
            before = self.old.months.get(m) if append else None
            if before is not None:  # the month's files stay; the new day file joins them
                merged = dict(before.counts)
                for key, n in counts[m].items():
                    merged[key] = merged.get(key, 0) + n
                entries[m] = MonthEntry(
                    path=before.path,
                    counts=merged,
                    last_day=max(before.last_day, last.get(m, "")),
                    deltas=(*before.deltas, vol[m]) if m in counts else before.deltas,
                )
            elif m in counts:
                entries[m] = MonthEntry(vol[m], dict(counts[m]), last[m])
            else:
                entries[m] = None
        self._tick(1, "months")
        return entries, counted

    def _month_counts(self) -> tuple[dict[str, dict[str, int]], dict[str, str], int]:
        """What the state records of the months in the view daily_volume (summed from its grouped
        rows, never from the store): per month, each partition's CADs and the latest day; and
        how many of the CADs are on the recounted days (`refresh_days`)."""
        eng = self.eng
        eng.create_view("month_totals", "daily_totals")  # read once, by the query below
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        last: dict[str, str] = {}
        counted = 0
        for yyyymm, borough, year, n, last_day, on_days in eng.rows("volume_month_counts"):
            month = f"{yyyymm // 100:04d}-{yyyymm % 100:02d}"
            counts[month][partition_key(borough, year)] = int(n)
            last[month] = max(last.get(month, ""), last_day.isoformat())
            counted += int(on_days)
        return counts, last, counted

    def _rebuild(self, dropped: list[str], whole: list[Partition]) -> _Done | None:
        """Recount partitions whole in one pass: the GROUP BY written straight to the month
        files by one partitioned write, without materialising the counts first.

        The state's per-partition counts are derived from the written rows (one per group:
        about 60 source rows each), never from a second scan of the store.
        This is a rebuild's path (docs/benchmarks.md section 14). It declines (None), and the
        batch path runs instead, when the source rows exceed one batch, when an old month
        keeps rows of partitions not recounted (a merge), or when the count or its write fails:
        the batch path retries partition by partition and pins an unreadable file to its own.
        """
        items = [(p, year_days(p.year)) for p in whole]
        if sum(p.rows for p in whole) > BATCH_ROWS:
            return None
        ranges = [(p.borough, p.year, lo, hi) for p, (lo, hi) in items]
        for key in dropped:
            borough, year = key.rsplit("|", 1)
            ranges.append((borough, int(year), *year_days(int(year))))
        months = self._months_touched(items, ranges)
        if any(m in self.old.months and not self._replaced_whole(m, ranges) for m in months):
            return None
        eng = self.eng
        columns = [duckdb.ColumnExpression(c) for c in VOLUME_COLUMNS]
        staging = self.vdir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            try:
                eng.bind_files([str(eng.snapshot.root / f.path) for p in whole for f in p.files])
                counted_rel = eng.relation("volume_counts").project(_month_of_day(), *columns)
                eng.write_parquet(counted_rel, str(staging), partition_by=["month"])
            except _count_errors():
                return None
            self._tick(len(whole), part_key(whole[-1]))
            staged = sorted(staging.glob("month=*/*.parquet"))
            if staged:
                rel = eng.read_parquet([str(f) for f in staged], VOLUME_COLUMNS)
            else:  # nothing counted (partitions without rows): an empty, well-typed view
                rel = eng.table("volume_new").project(*columns)
            rel.create_view("daily_volume", replace=True)
            eng.register_rows("refresh_days", _RANGE_TABLE, ranges)
            counts, last, counted = self._month_counts()
            months = sorted(set(months) | set(counts))  # every written month gets its entry
            vol = {
                m: self._adopt(staging / f"month={m.replace('-', '')}", m, "vol") for m in counts
            }
        finally:
            remove_staging(staging)
        entries: dict[str, MonthEntry | None] = {
            m: MonthEntry(vol[m], dict(counts[m]), last[m]) if m in counts else None for m in months
        }
        self._tick(1, "months")
        return _Done(months=entries, by_day=[], whole=whole, failed={}, rows_counted=counted)

    def _appendable(
        self, months: Sequence[str], ranges: Sequence[tuple[str, int, dt.date, dt.date]]
    ) -> bool:
        """True if the new counts can be written beside the months without touching them.

        That is when every recounted range starts after the last day of each old month it
        overlaps (so no old row is on a recounted day: nothing needs removing), and no such
        month has MAX_DELTAS day files already (then it is merged: compaction).
        """
        for m in months:
            entry = self.old.months.get(m)
            if entry is None:
                continue
            if len(entry.deltas) >= MAX_DELTAS:
                return False
            first, last = month_days(m)
            for _, _, lo, hi in ranges:
                if lo <= last and first <= hi and lo.isoformat() <= entry.last_day:
                    return False
        return True

    def _write_split(
        self,
        rel: duckdb.DuckDBPyRelation,
        cols: Sequence[str],
        months: Sequence[str],
        kind: str,
    ) -> dict[str, str]:
        """Write `rel` as one file per month under unique names; returns month -> path.

        One month (a nightly refresh) is written straight to its file; several (a rebuild) by
        one partitioned write into a staging directory, whose files DuckDB names, then moved.
        """
        columns = [duckdb.ColumnExpression(c) for c in cols]
        if len(months) == 1:
            path = new_path(months[0], kind)
            target = self.vdir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            self.written.append(target)
            self.eng.write_parquet(rel.project(*columns), str(target))
            self.unsynced.append(target)
            return {months[0]: path}
        out: dict[str, str] = {}
        if not months:
            return out
        staging = self.vdir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            self.eng.write_parquet(
                rel.project(_month_of_day(), *columns), str(staging), partition_by=["month"]
            )
            for month in months:
                out[month] = self._adopt(staging / f"month={month.replace('-', '')}", month, kind)
        finally:
            remove_staging(staging)
        return out

    def _adopt(self, directory: Path, month: str, kind: str) -> str:
        """Move a month's staged file to its unique name under parts/; fsync it."""
        files = sorted(directory.glob("*.parquet"))
        if len(files) != 1:  # DuckDB writes one file per partition unless told to split
            raise VolumeError(f"expected one staged file for {month}, found {len(files)}")
        rel = new_path(month, kind)
        target = self.vdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(files[0], target)
        self.written.append(target)
        self.unsynced.append(target)
        return rel

    def _replaced_whole(
        self, month: str, ranges: Sequence[tuple[str, int, dt.date, dt.date]]
    ) -> bool:
        """True if every partition in the old month has all of the month's days replaced."""
        first, last = month_days(month)
        whole = {partition_key(b, y) for b, y, lo, hi in ranges if lo <= first and last <= hi}
        return set(self.old.months[month].counts) <= whole

    def _partition_totals(self, rewritten: dict[str, MonthEntry | None]) -> dict[str, int]:
        """CADs per partition over the new months and the untouched old ones."""
        out: dict[str, int] = defaultdict(int)
        months: dict[str, MonthEntry | None] = {**self.old.months, **rewritten}
        for entry in months.values():
            for key, n in (entry.counts if entry else {}).items():
                out[key] += n
        return out
