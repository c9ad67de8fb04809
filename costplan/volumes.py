"""The materialised daily volume table: CAD counts per borough, London day, source, grading, tags.

Layout, beside the store it summarises::

    STORE/volumes/
      state.json                        the commit point: which store partition each file counts
      parts/vol-<key hash>-<token>.parquet   one file per store partition, unique names
      .lock                             the refresh lock (flock), separate from the writer lock

Each row of a volume file is (borough, day, call_source, grading, tagset, n): ``tagset`` is the
sorted list of a CAD's distinct tags ([] for none), so every CAD lands in exactly one row. Totals
are sums over all rows, "tag T" is a sum over tag sets containing T, and "any of tags T1, T2" is a
sum over tag sets meeting {T1, T2}: all exact, with no double counting of multi-tag CADs.

Freshness: state.json records, per store partition, the manifest ``version`` and the file paths
it was counted from. A partition whose manifest entry still matches is fresh; a refresh recounts
only the others and drops removed ones.

Day-granular refresh: the store rewrites a whole partition on every commit, but it only ever
appends rows, and it records which files a rewrite replaced and which London days its new rows
fall on. When the table counted exactly the replaced files (it is one rewrite behind), every day
outside the added range is unchanged, so a refresh recounts just those days from the new file
and carries the other days' rows over from the previous volume file. A nightly ingest of one day
therefore counts that day's rows, not the year's (each changed partition's volume file is still
rewritten whole: one file per store partition). Anything else (never counted, two or more rewrites
behind, no recorded days, or a result whose total disagrees with the manifest's row count) is
recounted whole.

Crash safety mirrors the store: new volume files get unique names, state.json is replaced with
os.replace() last, and files the new state no longer needs are kept for a grace period (a reader
may hold the old state) before a later refresh deletes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from costplan.engine import Engine
from costplan.errors import CostplanError, StoreError
from costplan.lazy import lazy
from costplan.store import (
    RETIRE_GRACE_SECONDS,
    Partition,
    Snapshot,
    Store,
    file_lock,
    fsync_dir,
    partition_key,
)

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy("polars")  # a stale or absent table answers `check` without importing Polars

# An inclusive range of London days.
Days = tuple[dt.date, dt.date]

VOLUMES_DIR = "volumes"
STATE = "state.json"
STATE_FORMAT = 1
PARTS_DIR = "parts"

VOLUME_COLUMNS: tuple[str, ...] = ("borough", "day", "call_source", "grading", "tagset", "n")


def volume_schema() -> dict[str, pl.DataType]:
    """Polars dtypes of a volume file (VOLUME_COLUMNS)."""
    return {
        "borough": pl.String(),
        "day": pl.Date(),
        "call_source": pl.String(),
        "grading": pl.String(),
        "tagset": pl.List(pl.String()),
        "n": pl.Int64(),
    }


def __getattr__(name: str) -> Any:
    """VOLUME_SCHEMA is built on first use (PEP 562), like the other Polars schemas."""
    if name == "VOLUME_SCHEMA":
        return volume_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Partitions counted by one query, up to this many source rows: one parallel scan of many files
# is several times faster than a query per partition (a partition file is often a single row
# group, which DuckDB reads on one thread), and the bound caps the memory a batch's result takes.
BATCH_ROWS = 8_000_000

# progress(done, total, partition_key): called after each recounted partition.
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
    """The volume file of one store partition and the manifest entry it was counted from."""

    borough: str
    year: int
    version: int  # the partition's manifest version when counted
    source_files: tuple[str, ...]  # the partition's file paths when counted
    source_rows: int
    path: str  # relative to STORE/volumes
    rows: int  # rows of the volume file

    def matches(self, part: Partition) -> bool:
        """True if this entry was counted from exactly the partition's current files."""
        return (
            self.version == part.version
            and self.source_files == tuple(f.path for f in part.files)
            and self.source_rows == part.rows
        )


@dataclass(frozen=True)
class VolumeState:
    """The committed state of a volume table (empty if never refreshed)."""

    store_version: int | None = None
    refreshed_at: str | None = None
    partitions: dict[str, VolumeEntry] = field(default_factory=dict)
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


def volumes_dir(root: Path | str) -> Path:
    """The volume table directory of a store rooted at `root`."""
    return Path(root) / VOLUMES_DIR


def _snapshot(store_or_snapshot: Store | Snapshot) -> Snapshot:
    if isinstance(store_or_snapshot, Snapshot):
        return store_or_snapshot
    return store_or_snapshot.snapshot()


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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
                path=e["path"],
                rows=int(e["rows"]),
            )
            for key, e in doc["partitions"].items()
        }
        return VolumeState(
            store_version=doc.get("store_version"),
            refreshed_at=doc.get("refreshed_at"),
            partitions=parts,
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
        "retired": list(state.retired),
    }
    tmp = vdir / f".{STATE}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=1, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, vdir / STATE)  # the commit point
    fsync_dir(vdir)


# -- freshness ---------------------------------------------------------------------------------
def stale_partitions(
    snapshot: Snapshot,
    boroughs: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    *,
    state: VolumeState | None = None,
) -> list[Partition]:
    """Partitions in scope whose volumes are missing or were counted from other files."""
    state = read_state(snapshot.root) if state is None else state
    stale = []
    for part in snapshot.select(boroughs, years):
        entry = state.partitions.get(partition_key(part.borough, part.year))
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
def _only(snapshot: Snapshot, parts: Sequence[Partition]) -> Snapshot:
    """The snapshot cut down to exactly these partitions, so a view holds only their files."""
    keep = {partition_key(p.borough, p.year): p for p in parts}
    return dataclasses.replace(snapshot, partitions=keep)


def _count_batch(snapshot: Snapshot, parts: Sequence[Partition]) -> dict[str, pl.DataFrame]:
    """Volumes of several partitions from one query, split per partition key."""
    with Engine(_only(snapshot, parts)) as engine:
        frame = engine.frame("volume_counts")
    return _split(frame, parts)


def _split(frame: pl.DataFrame, parts: Sequence[Partition]) -> dict[str, pl.DataFrame]:
    """A volume_counts result split per partition key (empty frames for partitions it lacks)."""
    empty = pl.DataFrame(schema=volume_schema())
    out = {partition_key(p.borough, p.year): empty for p in parts}
    for (borough, year), part in frame.partition_by(
        ["borough", "year"], as_dict=True, maintain_order=False
    ).items():
        key = partition_key(str(borough), int(year))  # type: ignore[call-overload]
        out[key] = part.select(VOLUME_COLUMNS).cast(volume_schema())  # type: ignore[arg-type]
    return out


def _batches(parts: Sequence[Partition]) -> Iterator[list[Partition]]:
    batch: list[Partition] = []
    rows = 0
    for part in parts:
        if batch and rows + part.rows > BATCH_ROWS:
            yield batch
            batch, rows = [], 0
        batch.append(part)
        rows += part.rows
    if batch:
        yield batch


def _count_errors() -> tuple[type[Exception], ...]:
    """What a failed partition count can raise (Polars' own error type needs Polars imported)."""
    return (CostplanError, duckdb.Error, pl.exceptions.PolarsError)


def _count_each(
    snapshot: Snapshot, parts: Sequence[Partition]
) -> Iterator[tuple[Partition, pl.DataFrame | Exception]]:
    """(partition, volumes) for each partition, or (partition, error) if it cannot be read.

    Partitions are counted in batches; a batch that fails is retried one partition at a time,
    so an unreadable file is pinned to its own partition and the others still get counted.
    """
    for batch in _batches(parts):
        try:
            frames = _count_batch(snapshot, batch)
        except _count_errors() as exc:
            if len(batch) == 1:
                yield batch[0], exc
                continue
            for part in batch:
                try:
                    yield part, _count_batch(snapshot, [part])[_key(part)]
                except _count_errors() as one:
                    yield part, one
            continue
        for part in batch:
            yield part, frames[_key(part)]


def _key(part: Partition) -> str:
    return partition_key(part.borough, part.year)


# -- counting some days of some partitions ------------------------------------------------------
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
    return (lo, hi) if lo <= hi else None


def _estimated_rows(part: Partition, days: Days) -> int:
    """Rows of `part` on `days`, assuming rows spread evenly over the file's days."""
    span = [f for f in part.files if f.min_day and f.max_day]
    if not span:
        return part.rows
    first = min(dt.date.fromisoformat(f.min_day) for f in span)  # type: ignore[arg-type]
    last = max(dt.date.fromisoformat(f.max_day) for f in span)  # type: ignore[arg-type]
    share = ((days[1] - days[0]).days + 1) / ((last - first).days + 1)
    return max(1, int(part.rows * min(1.0, share)))


def _day_batches(items: Sequence[tuple[Partition, Days]]) -> Iterator[list[tuple[Partition, Days]]]:
    """Batches of BATCH_ROWS estimated rows in range: one batch for a nightly ingest."""
    batch: list[tuple[Partition, Days]] = []
    rows = 0
    for item in items:
        n = _estimated_rows(*item)
        if batch and rows + n > BATCH_ROWS:
            yield batch
            batch, rows = [], 0
        batch.append(item)
        rows += n
    if batch:
        yield batch


def _count_days_batch(
    snapshot: Snapshot, items: Sequence[tuple[Partition, Days]]
) -> dict[str, pl.DataFrame]:
    """Volumes of each partition's own day range, from one query over all their files."""
    parts = [p for p, _ in items]
    ranges = pl.DataFrame(
        {
            "borough": [p.borough for p in parts],
            "year": [p.year for p in parts],
            "lo": [d[0] for _, d in items],
            "hi": [d[1] for _, d in items],
        },
        schema={"borough": pl.String(), "year": pl.Int16(), "lo": pl.Date(), "hi": pl.Date()},
    )
    with Engine(_only(snapshot, parts)) as engine:
        engine.con.register("refresh_days", ranges.to_arrow())
        frame = engine.frame(
            "volume_counts_days",
            day_from=min(d[0] for _, d in items),
            day_to=max(d[1] for _, d in items),
        )
    return _split(frame, parts)


def _count_days_each(
    snapshot: Snapshot, items: Sequence[tuple[Partition, Days]]
) -> Iterator[tuple[Partition, Days, pl.DataFrame | Exception]]:
    """(partition, days, volumes of those days) for each item, or an error in place of volumes.

    As _count_each: a failed batch is retried one partition at a time.
    """
    for batch in _day_batches(items):
        try:
            frames = _count_days_batch(snapshot, batch)
        except _count_errors() as exc:
            if len(batch) == 1:
                yield batch[0][0], batch[0][1], exc
                continue
            for part, days in batch:
                try:
                    yield part, days, _count_days_batch(snapshot, [(part, days)])[_key(part)]
                except _count_errors() as one:
                    yield part, days, one
            continue
        for part, days in batch:
            yield part, days, frames[_key(part)]


def _carry_over(path: Path, days: Days, recounted: pl.DataFrame) -> pl.DataFrame:
    """A partition's new volumes: the old file's rows outside `days`, plus the recounted days."""
    old = pl.read_parquet(path, hive_partitioning=False)
    inside = pl.col("day").is_between(days[0], days[1]).fill_null(False)
    kept = old.filter(~inside).select(VOLUME_COLUMNS)
    return pl.concat([kept.cast(volume_schema()), recounted])  # type: ignore[arg-type]


def count_partitions(snapshot: Snapshot, parts: Sequence[Partition]) -> pl.DataFrame:
    """Volumes of the given partitions counted directly from the store (nothing is written).

    Raises:
        StoreError: a partition's files cannot be read.
    """
    frames = [pl.DataFrame(schema=volume_schema())]
    for part, got in _count_each(snapshot, parts):
        if isinstance(got, CostplanError):
            raise got
        if isinstance(got, Exception):
            raise StoreError(f"partition {_key(part)} is unreadable: {_first_line(got)}")
        frames.append(got)
    return pl.concat(frames)


def _first_line(exc: Exception) -> str:
    text = exc.one_line() if isinstance(exc, CostplanError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _volume_file(part: Partition) -> str:
    # Names carry a hash of the key, never the borough text itself, plus a unique token.
    digest = hashlib.sha256(partition_key(part.borough, part.year).encode()).hexdigest()[:16]
    return f"{PARTS_DIR}/vol-{digest}-{uuid.uuid4().hex}.parquet"


def _write_volume_file(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# -- refresh -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _refresh_lock(vdir: Path, wait: float) -> Iterator[bool]:
    """Hold STORE/volumes/.lock; yields False (without waiting longer than `wait`) if busy."""
    with file_lock(vdir / ".lock", wait) as holder:
        yield holder is None


def _collect_garbage(vdir: Path, state: VolumeState) -> VolumeState:
    """Delete expired retirees and orphans of killed refreshes. Runs under the refresh lock."""
    now = time.time()
    keep: list[dict[str, Any]] = []
    for r in state.retired:
        if now - float(r["retired_at"]) >= RETIRE_GRACE_SECONDS:
            (vdir / r["path"]).unlink(missing_ok=True)
        else:
            keep.append(r)
    needed = {e.path for e in state.partitions.values()} | {r["path"] for r in keep}
    parts = vdir / PARTS_DIR
    if parts.is_dir():
        for path in parts.iterdir():
            if f"{PARTS_DIR}/{path.name}" not in needed:
                path.unlink(missing_ok=True)
    for tmp in vdir.glob(f".{STATE}.*.tmp"):
        tmp.unlink(missing_ok=True)
    return VolumeState(state.store_version, state.refreshed_at, state.partitions, tuple(keep))


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
    its other days' volumes are carried over. Other changed partitions are recounted whole.
    Safe to run from cron: a second concurrent refresh returns at once with ``skipped=True``.

    Args:
        store: the store to summarise; the table lives in STORE/volumes.
        full: recount every partition whole (a rebuild), not only the changed days.
        wait: seconds to wait for a running refresh before skipping (0: do not wait).
        progress: called after each recounted partition with (done, total, key).

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
        old = _collect_garbage(vdir, before)
        if full:
            todo = snap.select()
        else:
            todo = stale_partitions(snap, state=old)
        by_day: list[tuple[Partition, Days]] = []
        whole: list[Partition] = []
        for part in todo:
            days = None if full else _day_range(part, old.partitions.get(_key(part)))
            if days is None:
                whole.append(part)
            else:
                by_day.append((part, days))
        result = RefreshResult(store_version=snap.version)
        entries = dict(old.partitions)
        retired = list(old.retired)
        now = time.time()
        done = 0

        def retire(key: str) -> None:
            gone = entries.pop(key, None)
            if gone is not None:
                retired.append({"path": gone.path, "retired_at": now})

        def record(part: Partition, got: pl.DataFrame | Exception, days: Days | None) -> None:
            """Write one partition's new volume file and stage its entry (or its failure)."""
            nonlocal done
            key = _key(part)
            try:
                if isinstance(got, Exception):
                    raise got
                rel = _volume_file(part)
                _write_volume_file(vdir / rel, got)
            except _count_errors() as exc:
                # Keep going: one damaged partition must not keep the rest stale.
                result.failed[key] = _first_line(exc)
            else:
                retire(key)
                entries[key] = VolumeEntry(
                    borough=part.borough,
                    year=part.year,
                    version=part.version,
                    source_files=tuple(f.path for f in part.files),
                    source_rows=part.rows,
                    path=rel,
                    rows=got.height,
                )
                result.recounted.append(key)
                if days is not None:
                    result.incremental[key] = (days[0].isoformat(), days[1].isoformat())
            done += 1
            if progress is not None:
                progress(done, len(todo), key)

        for key in sorted(set(entries) - set(snap.partitions)):
            retire(key)
            result.dropped.append(key)
        for part, days, got in _count_days_each(snap, by_day):
            if isinstance(got, Exception):
                whole.append(part)  # recounting it whole reports the error, if it persists
                continue
            try:
                merged = _carry_over(vdir / old.partitions[_key(part)].path, days, got)
            except (*_count_errors(), OSError):
                whole.append(part)  # the previous volume file is gone or damaged
                continue
            if int(merged["n"].sum()) != part.rows:
                whole.append(part)  # not an append-only rewrite after all: never guess
                continue
            result.rows_counted += int(got["n"].sum())
            record(part, merged, days)
        for part, got in _count_each(snap, whole):
            if not isinstance(got, Exception):
                result.rows_counted += int(got["n"].sum())
            record(part, got, None)
        result.recounted.sort()
        result.unchanged = len(snap.partitions) - len(todo)
        changed = result.recounted or result.dropped or len(retired) != len(before.retired)
        if changed or old.store_version != snap.version:
            # The commit point: until this replace, readers see the previous table intact.
            _write_state(vdir, VolumeState(snap.version, _now_iso(), entries, tuple(retired)))
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
    con: duckdb.DuckDBPyConnection,
    snapshot: Snapshot,
    boroughs: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    *,
    recount_stale: bool = True,
) -> tuple[int, int] | None:
    """Create the view `daily_volume` over the table's files for the partitions in scope.

    Args:
        con: the connection to create the view in.
        snapshot: the store snapshot the view must agree with.
        boroughs: partitions' boroughs in scope (None: all).
        years: partitions' years in scope (None: all).
        recount_stale: count partitions the table has not seen directly from the store, so
            the view is always exact; if False, return None when any partition is stale.

    Returns:
        (partitions read from the table, partitions counted from the store), or None.
    """
    state = read_state(snapshot.root)
    vdir = volumes_dir(snapshot.root)
    fresh: list[str] = []
    stale: list[Partition] = []
    for part in snapshot.select(boroughs, years):
        entry = state.partitions.get(partition_key(part.borough, part.year))
        if entry is not None and entry.matches(part):
            fresh.append(str(vdir / entry.path))
        else:
            stale.append(part)
    if stale and not recount_stale:
        return None
    cols = ", ".join(VOLUME_COLUMNS)
    rel = con.read_parquet(fresh, hive_partitioning=False).project(cols) if fresh else None
    if stale or rel is None:
        counted = con.from_arrow(count_partitions(snapshot, stale).to_arrow())
        rel = counted if rel is None else rel.union(counted)
    rel.create_view("daily_volume", replace=True)
    return len(fresh), len(stale)


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
    try:
        with Engine(snap, boroughs=(), years=()) as engine:  # empty `cad`; queries only
            if create_daily_view(engine.con, snap, boroughs, years, recount_stale=False) is None:
                return None
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
