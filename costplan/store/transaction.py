"""A write in progress: stage rows per partition, then publish them with one manifest swap."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costplan import schema
from costplan._deps import lazy
from costplan._files import (
    collect_retired,
    fsync_dir,
    now_iso,
    remove_temporaries,
    write_atomic,
)
from costplan.schema import PARTITION_KEYS, RECORD_COLUMNS, STORED_COLUMNS
from costplan.store.faults import reading, writing
from costplan.store.manifest import (
    COMMIT_MARKER,
    COMPACT_FILES,
    MANIFEST,
    QUARANTINE_COLUMNS,
    ROW_GROUP_ROWS,
    SPILL_ROWS,
    STORE_CODEC,
    FileEntry,
    Partition,
    Snapshot,
    partition_dir,
    partition_key,
    quarantine_schema,
    retired_path,
)
from costplan.store.reads import TransactionReads
from costplan.store.spool import Spool
from costplan.store.tidy import parquet_files, retire, tidy_data_tree
from costplan.store.tiers import tiered_files

if TYPE_CHECKING:
    import polars as pl

    from costplan.store import Store
else:
    pl = lazy("polars")


@dataclass
class CommitResult:
    """What a commit changed."""

    version: int
    rows_written: int
    partitions_rewritten: list[str]
    quarantined: int
    quarantine_file: str | None


@dataclass
class Transaction(TransactionReads):
    """A write in progress. Stage rows with add(); make them visible with commit()."""

    store: Store
    base: Snapshot
    txn: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S") + uuid.uuid4().hex[:8])
    _chunks: dict[str, list[Path]] = field(default_factory=dict)
    _quarantine: Spool | None = None  # the rows quarantined, once there are some
    _ingests: list[dict[str, Any]] = field(default_factory=list)
    _rows: dict[str, int] = field(default_factory=dict)
    _buffer: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    _days: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    _coverage: list[tuple[tuple[str, ...], Any, Any]] = field(default_factory=list)
    _merged: dict[str, FileEntry] = field(default_factory=dict)  # final files, written
    # Stored files a partition's new file holds the rows of too (compaction), and so replaces.
    _rewritten: dict[str, tuple[FileEntry, ...]] = field(default_factory=dict)
    _compact: set[str] = field(default_factory=set)  # partitions asked to be compacted
    _buffered: int = 0
    _n: int = 0
    # Rows buffered in memory before they are spilled to the staging area (an ingest lowers
    # it to bound its memory: docs/store.md).
    spill_rows: int = SPILL_ROWS
    _spiller: Any = None  # the background chunk writer (a one-thread executor), once needed
    _pending: Future[None] | None = None  # the spill it is writing
    _pruned: bool = False  # housekeeping dropped retired files: the manifest must say so

    @property
    def staging(self) -> Path:
        return self.store.root / ".staging" / self.txn

    # -- housekeeping --------------------------------------------------------------------
    def _collect_garbage(self) -> None:
        """Delete what no manifest needs: stale staging dirs, orphans, expired retirees.

        Runs under the writer lock, so no other writer is mid-transaction. Also puts the data
        tree right after a writer killed around its manifest swap (or a store written before
        replaced files moved out of `data/`): `data/` ends holding exactly the manifest's files.
        """
        root = self.store.root
        shutil.rmtree(root / ".staging", ignore_errors=True)
        remove_temporaries(root, MANIFEST)
        remove_temporaries(root, COMMIT_MARKER)
        live = {f.path for p in self.base.partitions.values() for f in p.files}
        live |= {q["path"] for q in self.base.quarantine}
        # Expired retirees go; a path the manifest names outside the store is never touched.
        keep = self._collect_retired()
        waiting = {r["path"] for r in keep}
        tidy_data_tree(root, live, waiting)
        for path in parquet_files(root / "quarantine"):
            if path.relative_to(root).as_posix() not in live:
                path.unlink(missing_ok=True)
        (root / COMMIT_MARKER).unlink(missing_ok=True)
        if len(keep) != len(self.base.retired):
            self.base = Snapshot(**{**self.base.__dict__, "retired": tuple(keep)})
            self._pruned = True

    def _collect_retired(self) -> list[dict[str, Any]]:
        """Delete expired retirees where they wait (`retired/`, or `data/` in older stores);
        return the entries still in their grace period."""
        root = self.store.root
        entries = list(self.base.retired)
        # An entry keeps the path its snapshot's readers know (data/...); the file waits in
        # retired/. (One left in data/ by an older store or a killed writer is moved or
        # deleted by tidy_data_tree.)
        moved = [{**e, "path": retired_path(str(e.get("path", ""))) or ""} for e in entries]
        kept = {id(m) for m in collect_retired(root, moved)}
        return [e for e, m in zip(entries, moved, strict=True) if id(m) in kept]

    # -- staging ---------------------------------------------------------------------------
    def add(self, frame: pl.DataFrame) -> int:
        """Stage rows (RECORD_SCHEMA columns). Returns the number of rows staged.

        Rows are buffered in memory per partition and spilled to Arrow IPC files in the
        staging directory once `spill_rows` are buffered, so memory stays bounded however much
        is added, and a small ingest never touches the disk before its commit.
        """
        if frame.is_empty():
            return 0
        frame = frame.select(RECORD_COLUMNS).cast(schema.RECORD_SCHEMA)
        for (borough, year), part in frame.partition_by(
            list(PARTITION_KEYS), as_dict=True, include_key=False
        ).items():
            key = partition_key(str(borough), int(year))
            if key in self._merged:
                raise RuntimeError(f"partition {key} was sealed; no rows may be added to it")
            self._buffer.setdefault(key, []).append(part)
            self._rows[key] = self._rows.get(key, 0) + part.height
            lo, hi = part["day"].min(), part["day"].max()
            old = self._days.get(key)
            self._days[key] = (min(old[0], lo), max(old[1], hi)) if old else (lo, hi)
        self._buffered += frame.height
        if self._buffered >= self.spill_rows:
            self._spill()
        return frame.height

    def _spill(self) -> None:
        """Write the in-memory buffer to one IPC chunk per partition, in the background.

        The chunks are written by one background thread while the caller goes on (an ingest
        validates its next batch meanwhile); one spill at a time, so memory holds at most the
        buffer being written and the one filling. Readers of the chunks (staged(), the merge)
        wait for it first (settle()). LZ4: about as fast to write as uncompressed IPC and a
        fifth of the bytes, so the spill costs less of the kernel's time (docs/benchmarks.md
        §12).
        """
        self.settle()
        jobs: list[tuple[Path, list[pl.DataFrame]]] = []
        for key, frames in self._buffer.items():
            self._n += 1
            path = self.staging / "chunks" / f"{self._n:06d}.arrow"
            self._chunks.setdefault(key, []).append(path)
            jobs.append((path, frames))
        self._buffer = {}
        self._buffered = 0
        if self._spiller is None:
            from concurrent.futures import ThreadPoolExecutor  # only this write path needs it

            self._spiller = ThreadPoolExecutor(1, thread_name_prefix="costplan-spill")
        self._pending = self._spiller.submit(self._write_chunks, jobs)

    def _write_chunks(self, jobs: list[tuple[Path, list[pl.DataFrame]]]) -> None:
        with writing(self.store.root):
            for path, frames in jobs:
                path.parent.mkdir(parents=True, exist_ok=True)
                pl.concat(frames).write_ipc(path, compression="lz4")

    def settle(self) -> None:
        """Wait for the chunks being written in the background; raise their error, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Stop the background writer (Store.writer calls this before removing the staging
        area, so no thread writes into a directory being removed). Errors are the commit's."""
        with contextlib.suppress(Exception):
            self.settle()
        if self._spiller is not None:
            self._spiller.shutdown(wait=True)
            self._spiller = None

    def _merge_partition(
        self, key: str, out: Path, *, rewrite: tuple[FileEntry, ...] = ()
    ) -> FileEntry:
        """Write one new file of a partition: its staged rows sorted by created_at, with the
        rows of the stored files `rewrite` (compaction) too.

        An append writes the added rows only, so a nightly ingest writes about the day's own
        size however long the history (docs/benchmarks.md); the stored files stay as they are.
        """
        parts: list[pl.LazyFrame] = []
        stored = [str(self.store.root / f.path) for f in rewrite]
        if stored:
            # The keys are in the hive path, not the files; read the files as plain Parquet.
            parts.append(pl.scan_parquet(stored, hive_partitioning=False))
        if self._chunks.get(key):
            parts.append(pl.scan_ipc([str(c) for c in self._chunks[key]]))
        if self._buffer.get(key):
            parts.append(pl.concat(self._buffer[key]).lazy())
        with reading(self.store.root, stored):
            frame = pl.concat(parts).select(list(STORED_COLUMNS)).collect()
        # Appends in time order (generate, nightly ingests) arrive already sorted: checking is
        # one pass, sorting a hundred thousand rows is several.
        if not frame["created_at"].is_sorted():
            frame = frame.sort("created_at", maintain_order=True)
        # Small row groups over rows sorted by time: a reader of a few days skips the rest of
        # the year by the row groups' min/max statistics (docs/benchmarks.md).
        with writing(self.store.root):
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(
                out, compression=STORE_CODEC, statistics=True, row_group_size=ROW_GROUP_ROWS
            )
        lo, hi = frame["day"].min(), frame["day"].max()
        return FileEntry(
            path=out.relative_to(self.staging / "out").as_posix(),
            rows=frame.height,
            bytes=out.stat().st_size,
            min_day=lo.isoformat() if lo is not None else None,  # type: ignore[union-attr]
            max_day=hi.isoformat() if hi is not None else None,  # type: ignore[union-attr]
        )

    def add_quarantine(self, frame: pl.DataFrame) -> int:
        """Stage quarantined rows (QUARANTINE_SCHEMA columns, txn filled in here); past
        QUARANTINE_SPILL_ROWS held they go to the staging directory, so an export of mostly
        refused rows does not hold them all."""
        if frame.is_empty():
            return 0
        frame = frame.with_columns(pl.lit(self.txn).alias("txn")).select(QUARANTINE_COLUMNS)
        if self._quarantine is None:
            self._quarantine = Spool(self.store.root, self.staging / "quarantine")
        self._quarantine.append(frame.cast(quarantine_schema()))  # type: ignore[arg-type]
        return frame.height

    def declare_coverage(self, areas: Iterable[str], first: Any, last: Any) -> None:
        """Record that this write holds every day of [first, last] for `areas`, even days
        with no CADs (an export's declared period, a generated range). Areas whose rows this
        transaction adds without a declaration are covered by their rows' first and last day.
        """
        self._coverage.append((tuple(areas), first, last))

    def _new_coverage(self) -> dict[str, list[list[str]]]:
        """The base snapshot's coverage with this transaction's added."""
        coverage = self.base.coverage  # a store without a record starts from its partitions
        declared = {a for areas, _, _ in self._coverage for a in areas}
        for areas, first, last in self._coverage:
            coverage = coverage.add(areas, first, last)
        for key, (lo, hi) in self._days.items():
            area = key.split("|")[0]
            if area not in declared:
                coverage = coverage.add([area], lo, hi)
        return coverage.to_doc()

    def log_ingest(self, entry: dict[str, Any]) -> None:
        """Record an ingested export (name, sha256, counts) in the next manifest."""
        self._ingests.append({**entry, "txn": self.txn, "at": now_iso()})

    def seal(self, year: int) -> None:
        """Write the final files of every partition of `year` now, before the commit.

        For a writer that adds rows in time order (generate): once it has moved past a year,
        that year's partitions are complete, so writing them at once keeps memory to about a
        year of rows and avoids spilling them to the staging area and reading them back.
        Adding more rows to a sealed partition is a programming error.
        """
        self._merge_now(
            {k for k in set(self._chunks) | set(self._buffer) if k.endswith(f"|{year}")}
        )

    def compact(self, min_files: int = 2, keys: Iterable[str] | None = None) -> list[str]:
        """Ask the commit to rewrite every partition (of `keys`, default all) holding
        `min_files` files or more as one file, its rows sorted by created_at, with any rows
        this transaction adds to it. Returns the partitions' keys.

        Compaction changes no row: readers of the old snapshot keep reading the old files
        (retired, like every replaced file); readers of the new one read fewer.
        """
        wanted = set(keys) if keys is not None else None
        keys = sorted(
            k
            for k, p in self.base.partitions.items()
            if len(p.files) >= max(min_files, 1) and (wanted is None or k in wanted)
        )
        self._compact.update(keys)
        return keys

    def _to_rewrite(self, key: str) -> tuple[FileEntry, ...]:
        """The stored files of a partition its new file replaces: all of them when asked to
        compact it; when one more appended file would take it past COMPACT_FILES (automatic
        compaction, the threshold measured in docs/benchmarks.md), the newest ones
        (tiered_files); none for a plain append."""
        old = self.base.partitions.get(key)
        if old is None or not old.files:
            return ()
        if key in self._compact:
            return old.files
        if len(old.files) + 1 <= COMPACT_FILES:
            return ()
        return tiered_files(old.files, self._rows.get(key, 0))

    def _merge_now(self, keys: set[str]) -> None:
        self.settle()

        def merge(key: str) -> tuple[str, FileEntry]:
            borough, year = key.split("|")
            rel = f"{partition_dir(borough, int(year))}/part-{self.txn}.parquet"
            rewrite = self._to_rewrite(key)
            if rewrite:
                self._rewritten[key] = rewrite
            return key, self._merge_partition(key, self.staging / "out" / rel, rewrite=rewrite)

        # Partitions are independent: merge two at a time (Polars releases the GIL).
        from concurrent.futures import ThreadPoolExecutor  # only this write path needs it

        with ThreadPoolExecutor(max_workers=2) as pool:
            for key, entry in pool.map(merge, sorted(keys)):
                self._merged[key] = entry
                self._buffered -= sum(f.height for f in self._buffer.pop(key, []))
                self._chunks.pop(key, None)

    # -- commit ------------------------------------------------------------------------------
    def commit(self) -> CommitResult:
        """Merge staged rows into their partitions and publish a new manifest atomically.

        A transaction that changes nothing (no rows, no quarantined rows, the same coverage, no
        retired file dropped: a re-run of an export already ingested) publishes nothing and
        keeps the version, so caches keyed by the version stay valid; its ingest log entries
        are not recorded.
        """
        root = self.store.root
        self._merge_now((set(self._chunks) | set(self._buffer) | self._compact) - set(self._merged))
        coverage_doc = self._new_coverage()
        if (
            not self._merged
            and not self._quarantine
            and not self._pruned
            and coverage_doc == self.base.coverage.to_doc()
            # A store from before profiles were recorded gets its profile on the next commit.
            and self.base.force_doc is not None
        ):
            self._ingests.clear()
            self._coverage.clear()
            return CommitResult(self.base.version, 0, [], 0, None)
        version = self.base.version + 1
        parts = dict(self.base.partitions)
        retired = list(self.base.retired)
        now = time.time()
        rows_written = 0
        staged_moves: list[tuple[Path, Path]] = []
        for key, entry in sorted(self._merged.items()):
            borough, year_s = key.split("|")
            old = parts.get(key)
            days = self._days.get(key)
            # An append adds a file beside the stored ones; a compaction replaces some or all
            # of them, and those wait in retired/ for the readers of older snapshots.
            replaced = self._rewritten.get(key, ())
            gone = {f.path for f in replaced}
            kept = tuple(f for f in old.files if f.path not in gone) if old is not None else ()
            parts[key] = Partition(
                borough,
                int(year_s),
                (*kept, entry),
                version,
                replaced=tuple(f.path for f in replaced),
                added_days=(days[0].isoformat(), days[1].isoformat()) if days else None,
                added_files=(entry.path,),
            )
            staged_moves.append((self.staging / "out" / entry.path, root / entry.path))
            rows_written += self._rows.get(key, 0)
            retired += [{"path": f.path, "retired_at": now} for f in replaced]

        quarantine = list(self.base.quarantine)
        q_rows = 0
        q_rel: str | None = None
        if self._quarantine:
            q_rows = self._quarantine.rows
            q_rel = f"quarantine/quarantine-{self.txn}.parquet"
            tmp = self.staging / "out" / q_rel
            with writing(root):
                tmp.parent.mkdir(parents=True, exist_ok=True)
                # Streamed, in the order staged: the spilled rows are never all in memory.
                self._quarantine.lazy().sink_parquet(tmp)
            staged_moves.append((tmp, root / q_rel))
            quarantine.append({"path": q_rel, "rows": q_rows, "txn": self.txn})

        # Move staged files to their final (new, unique) names. Until the manifest swap below
        # no reader of the manifest sees them; a crash here leaves the old snapshot intact and
        # the marker tells the next writer to tidy the data tree (see _collect_garbage). A
        # full disk or an I/O error here is one StoreError, the store as it was.
        with writing(root):
            write_atomic(root / COMMIT_MARKER, self.txn)
            for src, dst in staged_moves:
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
        for d in {dst.parent for _, dst in staged_moves}:
            fsync_dir(d)

        snap = Snapshot(
            root=root,
            version=version,
            txn=self.txn,
            committed_at=now_iso(),
            partitions=parts,
            quarantine=tuple(quarantine),
            ingests=tuple(list(self.base.ingests) + self._ingests),
            retired=tuple(retired),
            coverage_doc=coverage_doc,
            # A store from before profiles were recorded is the MPS's: say so from now on.
            force_doc=self.base.force_doc or self.base.profile.store_doc(),
        )
        with writing(root):
            self.store._write_manifest(snap)  # the commit point
        # The replaced files leave data/ for retired/, where readers of older snapshots still
        # find them (manifest.locate) and globs over data/ do not.
        retire(root, [r["path"] for r in retired[len(self.base.retired) :]])
        (root / COMMIT_MARKER).unlink(missing_ok=True)
        self.base = snap
        self._chunks.clear()
        self._buffer.clear()
        self._buffered = 0
        self._rows.clear()
        self._days.clear()
        self._coverage.clear()
        self._merged.clear()
        self._rewritten.clear()
        self._compact.clear()
        self._quarantine = None
        self._ingests.clear()
        return CommitResult(
            version=version,
            rows_written=rows_written,
            partitions_rewritten=sorted(k for k, p in parts.items() if p.version == version),
            quarantined=q_rows,
            quarantine_file=str(root / q_rel) if q_rel else None,
        )
