"""refresh(): bring the volume table up to date with the store, safely from cron.

Plans what changed since the last refresh (by day where the table is one rewrite behind), runs
the counting session (recount) under the refresh lock, and commits by replacing state.json;
files the new state no longer needs are retired and collected by a later refresh. (Named
`refreshing`, not `refresh`, so the module never shadows the package's `volumes.refresh`.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from costplan._files import collect_retired, file_lock, fsync_dir, now_iso, remove_temporaries
from costplan.engines.volumes.recount import Progress, Refresher, VolumeError, Work
from costplan.engines.volumes.state import (
    PARTS_DIR,
    STATE,
    Days,
    VolumeEntry,
    VolumeState,
    older_format,
    part_key,
    read_state,
    stale_partitions,
    usable,
    volumes_dir,
    write_state,
)
from costplan.errors import CostplanError
from costplan.store import Partition, Snapshot, Store


class RefreshFailedError(VolumeError):
    """Some partitions could not be recounted; the others were committed.

    Attributes:
        result: what the refresh did commit.
    """

    def __init__(self, message: str, hint: str | None, result: RefreshResult) -> None:
        super().__init__(message, hint)
        self.result = result


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
        upgraded_from: the older format of the table this refresh replaced by a rebuild at the
            current grain (its files are collected like any retired ones), else None.
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
    upgraded_from: int | None = None


def _first_line(exc: Exception) -> str:
    text = exc.one_line() if isinstance(exc, CostplanError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


# -- planning ---------------------------------------------------------------------------------
def _day_range(part: Partition, entry: VolumeEntry | None) -> Days | None:
    """The London days to recount if the table is exactly one rewrite behind `part`, else None.

    That is when the table's entry was counted from exactly the files the partition held
    before its latest write (the files an append kept plus those a compaction replaced), and
    the write recorded the days of the rows it added. The store only appends, so every row on
    another day is one the entry already counted.
    """
    if entry is None or part.added_days is None:
        return None
    if part.added_files:
        before = {f.path for f in part.files} - set(part.added_files) | set(part.replaced)
    else:  # an older manifest: every write replaced the partition's files with one
        before = set(part.replaced)
    if not before or set(entry.source_files) != before:
        return None
    try:
        lo, hi = (dt.date.fromisoformat(d) for d in part.added_days)
    except (TypeError, ValueError):
        return None
    return (lo, hi) if lo <= hi and lo.year == hi.year == part.year else None


# -- refresh -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _refresh_lock(vdir: Path, wait: float) -> Iterator[bool]:
    """Hold STORE/volumes/.lock; yields False (without waiting longer than `wait`) if busy."""
    with file_lock(vdir / ".lock", wait) as holder:
        yield holder is None


_STAGING = re.compile(r"\.staging-[0-9a-f]{32}")


def _collect_garbage(vdir: Path, state: VolumeState) -> VolumeState:
    """Delete expired retirees (never outside vdir) and orphans of killed refreshes: their
    month files and their `.staging-*` directories.

    Runs under the refresh lock, so no other refresh is writing. Only entries directly inside
    vdir named as a refresh names its staging directory are removed; a link is unlinked, never
    followed.
    """
    if vdir.is_dir():
        for entry in vdir.iterdir():
            if _STAGING.fullmatch(entry.name):
                if entry.is_symlink() or not entry.is_dir():
                    entry.unlink(missing_ok=True)
                else:
                    shutil.rmtree(entry, ignore_errors=True)
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


_MAGIC = b"PAR1"


def _looks_like_parquet(path: Path) -> bool:
    """A Parquet file's frame: PAR1 at both ends, and a footer length that fits the file.

    Catches a truncated or overwritten file from 12 bytes, without importing PyArrow (that
    import alone was a third of a nightly refresh); a file that passes but still cannot be
    read makes its reader fail with one error, never a count (test_volumes).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            size = fh.seek(0, os.SEEK_END)
            if size < 12:
                return False
            fh.seek(size - 8)
            tail = fh.read(8)
    except OSError:
        return False
    footer = int.from_bytes(tail[:4], "little")
    return head == _MAGIC and tail[4:] == _MAGIC and footer + 12 <= size


def _damaged_months(vdir: Path, state: VolumeState) -> set[str]:
    """Months whose files are present but unreadable (truncated, overwritten): each file's
    Parquet frame is checked, which costs microseconds and no data pages."""
    bad = set()
    for month, entry in state.months.items():
        for rel in entry.files:
            path = vdir / rel
            if path.is_file() and not _looks_like_parquet(path):  # missing: usable() drops it
                bad.add(month)
    return bad


def _plan(snap: Snapshot, old: VolumeState, full: bool) -> Work:
    """What needs recounting: changed partitions (by day where possible) and dropped ones."""
    work = Work()
    todo = snap.select() if full else stale_partitions(snap, state=old)
    for part in todo:
        days = None if full else _day_range(part, old.partitions.get(part_key(part)))
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
        collected = _collect_garbage(vdir, before)
        # A damaged month is repaired like a lost one: its partitions are recounted whole.
        old = usable(vdir, collected, _damaged_months(vdir, collected))
        work = _plan(snap, old, full)
        result = RefreshResult(store_version=snap.version)
        if before.store_version is None:  # empty: never refreshed, damaged, or an older format
            result.upgraded_from = older_format(store.root)
        entries = dict(old.partitions)
        months = dict(old.months)
        retired = list(old.retired)
        now = time.time()
        done = None
        if work.by_day or work.whole or work.dropped:  # else no DuckDB connection at all
            from costplan.engines.duckdb_engine import Engine

            with Engine(snap, boroughs=(), years=()) as eng:
                run = Refresher(eng, vdir, old, progress)
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
                    # An appended month keeps its old files: only files it no longer names go.
                    kept = set(entry.files) if entry is not None else set()
                    retired += [{"path": f, "retired_at": now} for f in gone.files if f not in kept]
                if entry is not None:
                    months[month] = entry
                if entry is not None or gone is not None:
                    result.months_written.append(month)
            for part, days in done.by_day:
                result.incremental[part_key(part)] = (days[0].isoformat(), days[1].isoformat())
            for part in [p for p, _ in done.by_day] + done.whole:
                result.recounted.append(part_key(part))
                entries[part_key(part)] = VolumeEntry(
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
            write_state(vdir, VolumeState(snap.version, now_iso(), entries, months, tuple(retired)))
        result.seconds = time.perf_counter() - started
    if result.failed:
        first, why = next(iter(sorted(result.failed.items())))
        raise RefreshFailedError(
            f"{len(result.failed)} partition(s) could not be counted, first {first}: {why}",
            "the others were refreshed; fix or re-ingest the partition and run refresh again",
            result,
        )
    return result
