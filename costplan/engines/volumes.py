"""The materialised daily volume table: CAD counts per borough, London day, source, grading, tags.

Layout, beside the store it summarises::

    STORE/volumes/
      state.json                          the commit point: the month files, and which store
                                          files each partition was counted from
      parts/vol-<yyyy-mm>-<token>.parquet   one month of volume rows, every borough
      parts/tot-<yyyy-mm>-<token>.parquet   the same month's CADs per borough-day
      .lock                               the refresh lock (flock), separate from the writer lock

Each volume row is (borough, day, call_source, grading, tagset, n): ``tagset`` is the sorted
list of a CAD's distinct tags ([] for none), so every CAD lands in exactly one row. Totals are
sums over all rows, "tag T" is a sum over tag sets containing T, and "any of tags T1, T2" is a
sum over tag sets meeting {T1, T2}: all exact, with no double counting of multi-tag CADs. The
totals files (borough, day, n) answer the commonest summary, volumes per borough, from one row
per borough-day.

Why month files across boroughs: a nightly ingest touches one day of every borough, so it
rewrites one month file (about 50 k rows) instead of one file per borough-year, and a rebuild
writes a file per month. Freshness is still kept per store partition (borough, year).

Freshness: state.json records, per store partition, the manifest ``version`` and the file paths
it was counted from, and per month the CADs it holds for each partition. A partition whose
manifest entry still matches is fresh. Readers skip the rows of stale partitions and count those
partitions from the store instead, so a reader never sees a stale figure.
The per-month counts, which a refresh checks against the manifest's row counts, also answer a
whole-month summary by borough without opening a Parquet file or loading DuckDB
(monthly_counts).

Day-granular refresh: the store rewrites a whole partition on every commit, but it only ever
appends rows, and it records which files a rewrite replaced and which London days its new rows
fall on. When the table counted exactly the replaced files (it is one rewrite behind), every day
outside the added range is unchanged: a refresh recounts just those days and carries the rest
over. Anything else (never counted, two or more rewrites behind, no recorded days, or a result
whose total disagrees with the manifest's row count) is recounted for the whole year.

Crash safety mirrors the store: new files get unique names, state.json is replaced with
os.replace() last, and files the new state no longer needs are kept for a grace period (a reader
may hold the old state) before a later refresh deletes them.

All of it runs in DuckDB: a refresh never imports Polars or Arrow, so a nightly refresh costs
about what the new day costs to count. DuckDB itself is loaded on first use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costplan._deps import lazy
from costplan._files import (
    collect_retired,
    file_lock,
    fsync_dir,
    now_iso,
    remove_temporaries,
    write_atomic,
)
from costplan.errors import CostplanError, StoreError
from costplan.store import Partition, Snapshot, Store, partition_key

if TYPE_CHECKING:
    import duckdb

    from costplan.engines.duckdb_engine import Engine
else:
    # A monthly summary is answered from state.json alone (monthly_counts): without DuckDB.
    duckdb = lazy("duckdb")

# An inclusive range of London days.
Days = tuple[dt.date, dt.date]

VOLUMES_DIR = "volumes"
STATE = "state.json"
STATE_FORMAT = 2  # 1: one file per store partition (read as empty: the next refresh rebuilds)
PARTS_DIR = "parts"

VOLUME_COLUMNS: tuple[str, ...] = ("borough", "day", "call_source", "grading", "tagset", "n")
TOTAL_COLUMNS: tuple[str, ...] = ("borough", "day", "n")
# The counts a refresh collects (volume_counts' columns) and the day ranges they replace.
_NEW_TABLE = {
    "borough": "VARCHAR",
    "year": "SMALLINT",
    "day": "DATE",
    "call_source": "VARCHAR",
    "grading": "VARCHAR",
    "tagset": "VARCHAR[]",
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


class RefreshFailedError(VolumeError):
    """Some partitions could not be recounted; the others were committed.

    Attributes:
        result: what the refresh did commit.
    """

    def __init__(self, message: str, hint: str | None, result: RefreshResult) -> None:
        super().__init__(message, hint)
        self.result = result


@dataclass(frozen=True)
class VolumeEntry:
    """The store files one partition's volumes were counted from."""

    borough: str
    year: int
    version: int  # the partition's manifest version when counted
    source_files: tuple[str, ...]  # the partition's file paths when counted
    source_rows: int

    def matches(self, part: Partition) -> bool:
        """True if this entry was counted from exactly the partition's current files."""
        return (
            self.version == part.version
            and self.source_files == tuple(f.path for f in part.files)
            and self.source_rows == part.rows
        )


@dataclass(frozen=True)
class MonthEntry:
    """One month of the table: its two files and the CADs it holds per partition."""

    path: str  # volume rows, relative to STORE/volumes
    totals: str  # CADs per borough-day, relative to STORE/volumes
    counts: dict[str, int]  # partition key -> CADs of that partition in this month

    @property
    def files(self) -> tuple[str, str]:
        return (self.path, self.totals)


@dataclass(frozen=True)
class VolumeState:
    """The committed state of a volume table (empty if never refreshed)."""

    store_version: int | None = None
    refreshed_at: str | None = None
    partitions: dict[str, VolumeEntry] = field(default_factory=dict)
    months: dict[str, MonthEntry] = field(default_factory=dict)  # "yyyy-mm" -> entry
    retired: tuple[dict[str, Any], ...] = ()


@dataclass
class RefreshResult:
    """What a refresh did.

    Attributes:
        skipped: another refresh held the lock, so this one did nothing.
        recounted: keys ("borough|year") of the partitions counted from the store, whole or by
            day, sorted.
        dropped: keys of partitions removed from the store since the last refresh.
        unchanged: how many partitions were already fresh.
        failed: key -> error for partitions that could not be counted.
        store_version: the manifest version the table now reflects.
        seconds: wall time.
        incremental: key -> (lo, hi) ISO London days, for the partitions of `recounted` whose
            days lo..hi alone were recounted (the rest of their volumes were carried over).
            The others in `recounted` were recounted whole.
        rows_counted: store rows the recounts read into the table (the cost that scales).
        months_written: the months ("yyyy-mm") whose files were rewritten, sorted.
    """

    skipped: bool = False
    recounted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    store_version: int | None = None
    seconds: float = 0.0
    incremental: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows_counted: int = 0
    months_written: list[str] = field(default_factory=list)


def volumes_dir(root: Path | str) -> Path:
    """The volume table directory of a store rooted at `root`."""
    return Path(root) / VOLUMES_DIR


def _snapshot(store_or_snapshot: Store | Snapshot) -> Snapshot:
    if isinstance(store_or_snapshot, Snapshot):
        return store_or_snapshot
    return store_or_snapshot.snapshot()


def _key(part: Partition) -> str:
    return partition_key(part.borough, part.year)


def _first_line(exc: Exception) -> str:
    text = exc.one_line() if isinstance(exc, CostplanError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


# -- months --------------------------------------------------------------------------------------
def month_key(day: dt.date) -> str:
    """The table's month of a London day, e.g. '2020-06'."""
    return f"{day.year:04d}-{day.month:02d}"


def month_days(month: str) -> Days:
    """The first and last London day of a month key."""
    first = dt.date(int(month[:4]), int(month[5:7]), 1)
    after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, after - dt.timedelta(days=1)


def _months(days: Days) -> list[str]:
    """The month keys overlapping an inclusive range of days, in order."""
    out = []
    first = days[0].replace(day=1)
    while first <= days[1]:
        out.append(month_key(first))
        first = month_days(month_key(first))[1] + dt.timedelta(days=1)
    return out


def _year_days(year: int) -> Days:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _data_days(part: Partition) -> Days | None:
    """The London days a partition's files hold rows for (None: no rows or no statistics)."""
    span = [f for f in part.files if f.min_day and f.max_day and f.rows]
    if not span:
        return None if not part.rows else _year_days(part.year)
    lo = min(dt.date.fromisoformat(f.min_day) for f in span)  # type: ignore[arg-type]
    hi = max(dt.date.fromisoformat(f.max_day) for f in span)  # type: ignore[arg-type]
    return lo, hi


# -- state -------------------------------------------------------------------------------------
def read_state(root: Path | str) -> VolumeState:
    """Read the committed state; an absent, unreadable or foreign-format state reads as empty.

    Empty means "nothing is fresh": readers fall back to the partitions and the next refresh
    rebuilds, so a damaged state file costs time, never a wrong count.
    """
    path = volumes_dir(root) / STATE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != STATE_FORMAT:
            return VolumeState()
        parts = {
            key: VolumeEntry(
                borough=e["borough"],
                year=int(e["year"]),
                version=int(e["version"]),
                source_files=tuple(e["source_files"]),
                source_rows=int(e["source_rows"]),
            )
            for key, e in doc["partitions"].items()
        }
        months = {
            month: MonthEntry(
                path=e["path"],
                totals=e["totals"],
                counts={k: int(n) for k, n in e["counts"].items()},
            )
            for month, e in doc["months"].items()
        }
        return VolumeState(
            store_version=doc.get("store_version"),
            refreshed_at=doc.get("refreshed_at"),
            partitions=parts,
            months=months,
            retired=tuple(doc.get("retired", [])),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return VolumeState()


def _write_state(vdir: Path, state: VolumeState) -> None:
    doc = {
        "format": STATE_FORMAT,
        "store_version": state.store_version,
        "refreshed_at": state.refreshed_at,
        "partitions": {
            key: {**e.__dict__, "source_files": list(e.source_files)}
            for key, e in sorted(state.partitions.items())
        },
        "months": {
            month: {**e.__dict__, "counts": dict(sorted(e.counts.items()))}
            for month, e in sorted(state.months.items())
        },
        "retired": list(state.retired),
    }
    # The commit point: fsynced, renamed over the old state, the directory fsynced.
    write_atomic(vdir / STATE, json.dumps(doc, separators=(",", ":"), sort_keys=True))


def _missing_months(vdir: Path, state: VolumeState) -> set[str]:
    """Months whose files are gone (deleted by hand, a restore...): their counts are lost."""
    return {
        month for month, e in state.months.items() if not all((vdir / f).is_file() for f in e.files)
    }


def _usable(vdir: Path, state: VolumeState) -> VolumeState:
    """The state without months whose files are missing and the partitions those months held.

    Those partitions read as stale, so readers count them from the store and the next refresh
    recounts them whole: a lost volume file costs time, never a wrong count.
    """
    missing = _missing_months(vdir, state)
    if not missing:
        return state
    lost = {k for m in missing for k in state.months[m].counts}
    return VolumeState(
        state.store_version,
        state.refreshed_at,
        {k: e for k, e in state.partitions.items() if k not in lost},
        {m: e for m, e in state.months.items() if m not in missing},
        state.retired,
    )


def _read_usable(root: Path | str) -> VolumeState:
    """The committed state, less any months whose files are missing (see _usable)."""
    return _usable(volumes_dir(root), read_state(root))


# -- freshness ---------------------------------------------------------------------------------
def stale_partitions(
    snapshot: Snapshot,
    boroughs: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    *,
    state: VolumeState | None = None,
) -> list[Partition]:
    """Partitions in scope whose volumes are missing or were counted from other files."""
    if state is None:
        state = _read_usable(snapshot.root)
    stale = []
    for part in snapshot.select(boroughs, years):
        entry = state.partitions.get(_key(part))
        if entry is None or not entry.matches(part):
            stale.append(part)
    return stale


def is_fresh(
    snapshot: Snapshot, boroughs: Iterable[str] | None = None, years: Iterable[int] | None = None
) -> bool:
    """True if the table answers exactly for these boroughs and years (None: all) in `snapshot`.

    Partitions that do not exist in the snapshot hold no CADs and need no volumes.
    """
    return not stale_partitions(snapshot, boroughs, years)


# -- counting ----------------------------------------------------------------------------------
def _day_range(part: Partition, entry: VolumeEntry | None) -> Days | None:
    """The London days to recount if the table is exactly one rewrite behind `part`, else None.

    That is when the table's entry was counted from exactly the files the partition's latest
    rewrite replaced, and the rewrite recorded the days of the rows it added. The store only
    appends, so every row on another day is one the entry already counted.
    """
    if entry is None or part.added_days is None or not part.replaced:
        return None
    if entry.source_files != part.replaced:
        return None
    try:
        lo, hi = (dt.date.fromisoformat(d) for d in part.added_days)
    except (TypeError, ValueError):
        return None
    return (lo, hi) if lo <= hi and lo.year == hi.year == part.year else None


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
                failed[_key(batch[0][0])] = exc
            else:
                for item in batch:
                    try:
                        _count_batch(eng, [item], whole)
                        done.append(item)
                    except _count_errors() as one:
                        failed[_key(item[0])] = one
        tick(len(batch), _key(batch[-1][0]))
    return done, failed


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _new_path(month: str, kind: str) -> str:
    # Names carry the month and a unique token, never borough text.
    return f"{PARTS_DIR}/{kind}-{month}-{uuid.uuid4().hex}.parquet"


@dataclass
class _Work:
    """What a refresh recounts: partitions by day or whole, and keys of dropped partitions."""

    by_day: list[tuple[Partition, Days]] = field(default_factory=list)
    whole: list[Partition] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class _Done:
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


class _Refresher:
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

    def _tick(self, n: int, what: str) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), what)

    def run(self, work: _Work) -> _Done:
        """Recount the work and write its months.

        By-day partitions whose new total disagrees with the manifest are recounted whole in a
        second pass (the first pass's files are deleted): never guess.
        """
        by_day, whole = list(work.by_day), list(work.whole)
        while True:
            self.done, self.total = 0, len(by_day) + len(whole) + 1  # +1: writing the months
            done = self._pass(work.dropped, by_day, whole)
            totals = self._partition_totals(done.months)
            good = [(p, d) for p, d in done.by_day if totals.get(_key(p), 0) == p.rows]
            if len(good) == len(done.by_day):
                return done
            for entry in done.months.values():
                for rel in entry.files if entry else ():
                    (self.vdir / rel).unlink(missing_ok=True)
            # Everything not verified by day (including failed counts) goes whole next pass.
            kept = {_key(p) for p, _ in good}
            whole += [p for p, _ in by_day if _key(p) not in kept]
            by_day = good

    def _pass(
        self, dropped: list[str], by_day: list[tuple[Partition, Days]], whole: list[Partition]
    ) -> _Done:
        eng = self.eng
        eng.register_rows("volume_new", _NEW_TABLE, [])
        counted_days, failed = _count_into(eng, by_day, whole=False, tick=self._tick)
        # A by-day count that fails is retried whole: that reports the error if it persists.
        retry = [p for p, _ in by_day if _key(p) in failed]
        for part in retry:
            failed.pop(_key(part))
        whole_items = [(p, _year_days(p.year)) for p in [*whole, *retry]]
        self.total += len(retry)
        counted_whole, failed_whole = _count_into(eng, whole_items, whole=True, tick=self._tick)
        failed.update(failed_whole)
        ranges = [(p.borough, p.year, lo, hi) for p, (lo, hi) in counted_days + counted_whole]
        for key in dropped:
            borough, year = key.rsplit("|", 1)
            ranges.append((borough, int(year), *_year_days(int(year))))
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
        touched: set[str] = set()
        for _, _, lo, hi in ranges:
            touched |= set(self.old.months) & set(_months((lo, hi)))
        for part, (lo, hi) in counted:
            span = _data_days(part)
            if span is not None and max(lo, span[0]) <= min(hi, span[1]):
                touched |= set(_months((max(lo, span[0]), min(hi, span[1]))))
        return sorted(touched)

    def _write_months(
        self, months: Sequence[str], ranges: Sequence[tuple[str, int, dt.date, dt.date]]
    ) -> tuple[dict[str, MonthEntry | None], int]:
        """Write the new volume and totals files of `months`.

        Returns:
            Each month's new entry (None if the month is now empty), and how many of the
            written CADs were counted from the store (those on the recounted days).
        """
        eng = self.eng
        old = [
            str(self.vdir / self.old.months[m].path)
            for m in months
            if m in self.old.months and not self._replaced_whole(m, ranges)
        ]
        if old:
            eng.read_parquet(old, VOLUME_COLUMNS).create_view("volume_old", replace=True)
        else:  # nothing of the old months survives (a rebuild): do not read them
            eng.table("volume_new").limit(0).create_view("volume_old", replace=True)
        # The merged months, and their CADs per borough-day computed once from them.
        eng.relation("volume_month_merge").create_view("daily_volume", replace=True)
        eng.materialise("month_totals", "daily_totals")
        totals = eng.table("month_totals").fetchall()
        recounted = {(b, y): (lo, hi) for b, y, lo, hi in ranges}
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        counted = 0
        for borough, day, n in totals:
            counts[month_key(day)][partition_key(borough, day.year)] += int(n)
            span = recounted.get((borough, day.year))
            if span is not None and span[0] <= day <= span[1]:
                counted += int(n)
        filled = sorted(counts)
        vol = self._write_split(eng.table("daily_volume"), VOLUME_COLUMNS, filled, "vol")
        tot = self._write_split(eng.table("month_totals"), TOTAL_COLUMNS, filled, "tot")
        entries: dict[str, MonthEntry | None] = {
            m: MonthEntry(path=vol[m], totals=tot[m], counts=dict(counts[m]))
            if m in counts
            else None
            for m in months
        }
        self._tick(1, "months")
        return entries, counted

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
            path = _new_path(months[0], kind)
            target = self.vdir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            self.written.append(target)
            self.eng.write_parquet(rel.project(*columns), str(target))
            _fsync(target)
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
            shutil.rmtree(staging, ignore_errors=True)
        return out

    def _adopt(self, directory: Path, month: str, kind: str) -> str:
        """Move a month's staged file to its unique name under parts/; fsync it."""
        files = sorted(directory.glob("*.parquet"))
        if len(files) != 1:  # DuckDB writes one file per partition unless told to split
            raise VolumeError(f"expected one staged file for {month}, found {len(files)}")
        rel = _new_path(month, kind)
        target = self.vdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(files[0], target)
        self.written.append(target)
        _fsync(target)
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


# -- refresh -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _refresh_lock(vdir: Path, wait: float) -> Iterator[bool]:
    """Hold STORE/volumes/.lock; yields False (without waiting longer than `wait`) if busy."""
    with file_lock(vdir / ".lock", wait) as holder:
        yield holder is None


def _collect_garbage(vdir: Path, state: VolumeState) -> VolumeState:
    """Delete expired retirees (never outside vdir) and orphans of killed refreshes.

    Runs under the refresh lock.
    """
    keep = collect_retired(vdir, state.retired)
    needed = {f for e in state.months.values() for f in e.files} | {r["path"] for r in keep}
    parts = vdir / PARTS_DIR
    if parts.is_dir():
        for path in parts.iterdir():
            if f"{PARTS_DIR}/{path.name}" not in needed:
                path.unlink(missing_ok=True)
    remove_temporaries(vdir, STATE)
    return VolumeState(
        state.store_version, state.refreshed_at, state.partitions, state.months, tuple(keep)
    )


def _plan(snap: Snapshot, old: VolumeState, full: bool) -> _Work:
    """What needs recounting: changed partitions (by day where possible) and dropped ones."""
    work = _Work()
    todo = snap.select() if full else stale_partitions(snap, state=old)
    for part in todo:
        days = None if full else _day_range(part, old.partitions.get(_key(part)))
        if days is None:
            work.whole.append(part)
        else:
            work.by_day.append((part, days))
    counted = set(old.partitions) | {k for e in old.months.values() for k in e.counts}
    work.dropped = sorted(counted - set(snap.partitions))
    return work


def refresh(
    store: Store,
    *,
    full: bool = False,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> RefreshResult:
    """Bring the daily volume table up to date with the store's current snapshot.

    Only partitions whose manifest entry changed since the last refresh are recounted (all of
    them with `full`); partitions removed from the store are dropped. A changed partition the
    table is exactly one rewrite behind is recounted by day: only the London days its latest
    rewrite added rows to are counted from the store (all such partitions in one query), and
    its other days' volumes are carried over. Only the months holding changed days are
    rewritten. Safe to run from cron: a second concurrent refresh returns at once with
    ``skipped=True``.

    Args:
        store: the store to summarise; the table lives in STORE/volumes.
        full: recount every partition whole (a rebuild), not only the changed days.
        wait: seconds to wait for a running refresh before skipping (0: do not wait).
        progress: called with (done, total, what) after each batch of partitions is counted
            and, as the last step, after the months are written (before the commit).

    Returns:
        What was recounted (and how), dropped and kept.

    Raises:
        StoreError: the store's manifest is unreadable.
        RefreshFailedError: some partitions could not be counted (the rest were committed;
            the failed ones stay stale, so readers fall back to the store for them).
    """
    started = time.perf_counter()
    vdir = volumes_dir(store.root)
    with _refresh_lock(vdir, wait) as acquired:
        if not acquired:
            return RefreshResult(skipped=True, seconds=time.perf_counter() - started)
        snap = store.snapshot()
        before = read_state(store.root)
        old = _usable(vdir, _collect_garbage(vdir, before))
        work = _plan(snap, old, full)
        result = RefreshResult(store_version=snap.version)
        entries = dict(old.partitions)
        months = dict(old.months)
        retired = list(old.retired)
        now = time.time()
        done = None
        if work.by_day or work.whole or work.dropped:  # else no DuckDB connection at all
            from costplan.engines.duckdb_engine import Engine

            with Engine(snap, boroughs=(), years=()) as eng:
                run = _Refresher(eng, vdir, old, progress)
                try:
                    done = run.run(work)
                except BaseException:
                    # Nothing was committed: this run's files are orphans; remove them now.
                    for path in run.written:
                        path.unlink(missing_ok=True)
                    raise
        if done is not None:
            for month, entry in done.months.items():
                gone = months.pop(month, None)
                if gone is not None:
                    retired += [{"path": f, "retired_at": now} for f in gone.files]
                if entry is not None:
                    months[month] = entry
                if entry is not None or gone is not None:
                    result.months_written.append(month)
            for part, days in done.by_day:
                result.incremental[_key(part)] = (days[0].isoformat(), days[1].isoformat())
            for part in [p for p, _ in done.by_day] + done.whole:
                result.recounted.append(_key(part))
                entries[_key(part)] = VolumeEntry(
                    borough=part.borough,
                    year=part.year,
                    version=part.version,
                    source_files=tuple(f.path for f in part.files),
                    source_rows=part.rows,
                )
            for key in work.dropped:
                entries.pop(key, None)
                result.dropped.append(key)
            result.failed = {k: _first_line(e) for k, e in done.failed.items()}
            result.rows_counted = done.rows_counted
        result.recounted.sort()
        result.dropped.sort()
        result.months_written.sort()
        result.unchanged = len(snap.partitions) - len(result.recounted) - len(result.failed)
        changed = result.recounted or result.dropped or len(retired) != len(before.retired)
        if changed or old.store_version != snap.version or old != before:
            # The commit point: until this replace, readers see the previous table intact.
            if (vdir / PARTS_DIR).is_dir():
                fsync_dir(vdir / PARTS_DIR)  # the new files' names are durable first
            _write_state(
                vdir, VolumeState(snap.version, now_iso(), entries, months, tuple(retired))
            )
        result.seconds = time.perf_counter() - started
    if result.failed:
        first, why = next(iter(sorted(result.failed.items())))
        raise RefreshFailedError(
            f"{len(result.failed)} partition(s) could not be counted, first {first}: {why}",
            "the others were refreshed; fix or re-ingest the partition and run refresh again",
            result,
        )
    return result


# -- reading -----------------------------------------------------------------------------------
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
        engine: the engine whose connection gets the views.
        snapshot: the store snapshot the views must agree with.
        boroughs: partitions' boroughs in scope (None: all).
        years: partitions' years in scope (None: all).
        days: only months overlapping these London days are read (None: every month).
        recount_stale: if False, return None when any partition in scope is stale.
        state: the table's state as _read_usable gives it, if the caller has read it already.

    Returns:
        (partitions read from the table, partitions counted from the store), or None.
    """
    vdir = volumes_dir(snapshot.root)
    state = _read_usable(snapshot.root) if state is None else state
    years = set(years) if years is not None else None
    fresh = {
        key
        for key, part in snapshot.partitions.items()
        if key in state.partitions and state.partitions[key].matches(part)
    }
    scope = snapshot.select(boroughs, years)
    stale = [p for p in scope if _key(p) not in fresh]
    if stale and not recount_stale:
        return None
    wanted = set(_months(days)) if days is not None else None
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

    def table(files: list[str], cols: Sequence[str]) -> duckdb.DuckDBPyRelation | None:
        if not files:
            return None
        rel = engine.read_parquet([str(vdir / f) for f in files], cols)
        return rel.filter(keep) if keep is not None else rel

    volume = table([e.path for e in months], VOLUME_COLUMNS)
    total = table([e.totals for e in months], TOTAL_COLUMNS)
    if stale or volume is None:
        # Count the stale partitions (or nothing: an empty, well-typed relation) from the store.
        engine.bind_files([str(snapshot.root / f.path) for p in stale for f in p.files])
        counted = engine.relation("volume_counts").project(", ".join(VOLUME_COLUMNS))
        volume = counted if volume is None else volume.union(counted)
        volume.create_view("daily_volume", replace=True)
        total = engine.relation("daily_totals")  # exact, from the combined volumes
    else:
        volume.create_view("daily_volume", replace=True)
    assert total is not None
    total.create_view("daily_total", replace=True)
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
    state = _read_usable(snapshot.root)
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
    `call_sources`, and only those carrying ANY of `tags` (a CAD with two matching tags counts
    once). None or an empty sequence means no filter. Returns None when any partition of the
    scope (borough x year) changed since the last refresh, was never counted, or the table
    cannot be read: the caller then counts from the partitions instead.
    """
    snap = _snapshot(store_or_snapshot)
    if not boroughs or date_from > date_to:
        return 0
    years = range(date_from.year, date_to.year + 1)
    parts = snap.select(boroughs, years)
    if not parts:
        return 0
    # Decided from state.json before any DuckDB connection is opened (or DuckDB loaded).
    state = _read_usable(snap.root)
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
                tags=list(tags) if tags else None,
            )
    except (CostplanError, duckdb.Error):
        return None  # a missing or damaged volume file: let the caller read the partitions
    return int(value or 0)
