"""The CAD store: hive-partitioned Parquet with an atomic manifest, one writer at a time.

Layout (chosen by measurement, see docs/benchmarks.md)::

    STORE/
      manifest.json                          the snapshot readers use; replaced atomically
      data/borough=<name>/year=<yyyy>/part-<txn>.parquet   one file per partition
      quarantine/quarantine-<txn>.parquet    rows an ingest refused, with their reasons
      .staging/<txn>/                        a writer's work in progress
      .lock                                  the writer lock (flock)

Why a manifest: a reader takes the file list from one manifest, so it sees the store as it was
before or after a write, never half of one. A writer stages every new file under new names,
then swaps the manifest with os.replace() (atomic on POSIX). Files a write replaces are kept
for a grace period, because a query that started on the old manifest may still be reading
them; later writers delete them. Files left by a killed writer are not in any manifest and
are removed by the next writer. Every partition is rewritten as one file sorted by created_at
(compaction on write), so daily ingests never leave small files behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from costplan import schema
from costplan._deps import lazy
from costplan.errors import StoreError, StoreLockedError
from costplan.schema import PARTITION_KEYS, RECORD_COLUMNS, STORED_COLUMNS

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy("polars")  # readers of the manifest alone (`check`) never import Polars

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
LAYOUT = "borough/year"
# How long replaced files outlive the manifest that dropped them: longer than any query runs.
RETIRE_GRACE_SECONDS = 600.0
# How long a writer waits for another writer before giving up with a clear message.
LOCK_WAIT_SECONDS = 30.0
# Rows a transaction buffers in memory before spilling them to the staging directory.
SPILL_ROWS = 4_000_000
# Rows per Parquet row group in stored files (about a fortnight of one borough).
ROW_GROUP_ROWS = 16_384

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "source_file",
    "line",
    "reason",
    "raw",  # the row's raw values as a JSON object, exactly as read
    "source_sha256",
    "txn",
)


def quarantine_schema() -> dict[str, pl.DataType]:
    """Polars dtypes of a quarantine file (QUARANTINE_COLUMNS)."""
    return {c: pl.Int64() if c == "line" else pl.String() for c in QUARANTINE_COLUMNS}


def __getattr__(name: str) -> Any:
    """QUARANTINE_SCHEMA is built on first use, so importing the store never imports Polars."""
    if name == "QUARANTINE_SCHEMA":
        return quarantine_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.contextmanager
def file_lock(path: Path, wait: float) -> Iterator[str | None]:
    """Hold an exclusive flock on `path`, waiting up to `wait` seconds.

    Yields None once the lock is held, or the holder's pid (as text) if it could not be taken
    in time. The lock is released when the block ends, or by the kernel if the process dies,
    so a killed writer never leaves a stale lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    return
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield None
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def partition_key(borough: str, year: int) -> str:
    """The manifest key of a partition."""
    return f"{borough}|{year}"


def partition_dir(borough: str, year: int) -> str:
    """The hive directory of a partition, relative to the store root.

    Borough names contain spaces; percent-encode them as DuckDB, Polars and Spark do on write,
    so every engine decodes the same value on read.
    """
    return f"data/borough={quote(borough, safe='')}/year={year:04d}"


@dataclass(frozen=True)
class FileEntry:
    """One Parquet file of a partition."""

    path: str  # relative to the store root
    rows: int
    bytes: int
    min_day: str | None
    max_day: str | None


@dataclass(frozen=True)
class Partition:
    """One (borough, year) partition and its files."""

    borough: str
    year: int
    files: tuple[FileEntry, ...]
    version: int  # manifest version that last rewrote this partition
    # What that rewrite changed, so derived tables can refresh just the changed days: the files
    # it replaced, and the London days of the rows it added (None: unknown, recount it all).
    replaced: tuple[str, ...] = ()
    added_days: tuple[str, str] | None = None

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of one manifest: what a reader may read."""

    root: Path
    version: int
    txn: str | None
    committed_at: str | None
    partitions: dict[str, Partition]
    quarantine: tuple[dict[str, Any], ...] = ()
    ingests: tuple[dict[str, Any], ...] = ()
    retired: tuple[dict[str, Any], ...] = ()

    @property
    def total_rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    def select(
        self, boroughs: Iterable[str] | None = None, years: Iterable[int] | None = None
    ) -> list[Partition]:
        """Partitions in scope, pruned by borough and year from the manifest alone."""
        bs = set(boroughs) if boroughs is not None else None
        ys = set(years) if years is not None else None
        return [
            p
            for _, p in sorted(self.partitions.items())
            if (bs is None or p.borough in bs) and (ys is None or p.year in ys)
        ]

    def files(
        self, boroughs: Iterable[str] | None = None, years: Iterable[int] | None = None
    ) -> list[str]:
        """Absolute paths of the Parquet files in scope."""
        return [str(self.root / f.path) for p in self.select(boroughs, years) for f in p.files]

    def describe(self) -> dict[str, Any]:
        """What a report records so an estimate can be reproduced later."""
        return {
            "store": str(self.root),
            "manifest_version": self.version,
            "txn": self.txn,
            "committed_at": self.committed_at,
            "rows": self.total_rows,
            "partitions": len(self.partitions),
        }


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse_snapshot(root: Path, doc: dict[str, Any]) -> Snapshot:
    parts = {
        key: Partition(
            borough=p["borough"],
            year=int(p["year"]),
            files=tuple(FileEntry(**f) for f in p["files"]),
            version=int(p.get("version", 0)),
            replaced=tuple(p.get("replaced", ())),
            added_days=tuple(p["added_days"]) if p.get("added_days") else None,  # type: ignore[arg-type]
        )
        for key, p in doc.get("partitions", {}).items()
    }
    return Snapshot(
        root=root,
        version=int(doc.get("version", 0)),
        txn=doc.get("txn"),
        committed_at=doc.get("committed_at"),
        partitions=parts,
        quarantine=tuple(doc.get("quarantine", [])),
        ingests=tuple(doc.get("ingests", [])),
        retired=tuple(doc.get("retired", [])),
    )


def _snapshot_doc(snap: Snapshot) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "layout": LAYOUT,
        "version": snap.version,
        "txn": snap.txn,
        "committed_at": snap.committed_at,
        "total_rows": snap.total_rows,
        "partitions": {
            key: {
                "borough": p.borough,
                "year": p.year,
                "version": p.version,
                "rows": p.rows,
                "files": [f.__dict__ for f in p.files],
                "replaced": list(p.replaced),
                "added_days": list(p.added_days) if p.added_days else None,
            }
            for key, p in sorted(snap.partitions.items())
        },
        "quarantine": list(snap.quarantine),
        "ingests": list(snap.ingests),
        "retired": list(snap.retired),
    }


class Store:
    """A CAD store rooted at a directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path | str, *, create: bool = False) -> Store:
        """Open a store; with create=True, make an empty one if the directory has none.

        Raises:
            StoreError: the directory is not a store (and create is False), or is a file.
        """
        root = Path(root).expanduser()
        if root.exists() and not root.is_dir():
            raise StoreError(f"store path is a file, not a directory: {root}")
        store = cls(root)
        if (root / MANIFEST).exists():
            return store
        if not create:
            hint = "build one with 'costplan generate --store DIR' or 'costplan ingest'"
            raise StoreError(f"no costplan store at {root}", hint)
        if root.exists() and any(p.name not in {".lock", ".staging"} for p in root.iterdir()):
            raise StoreError(
                f"{root} is not empty and holds no costplan store",
                "choose an empty or new directory for --store",
            )
        root.mkdir(parents=True, exist_ok=True)
        with store._locked():
            if not (root / MANIFEST).exists():
                empty = Snapshot(root, 0, None, _now_iso(), {})
                store._write_manifest(empty)
        return store

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Read the current manifest. Cheap: one small JSON file, no directory listing."""
        path = self.root / MANIFEST
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"no costplan store at {self.root}") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"store manifest is unreadable: {path}: {exc}") from None
        if doc.get("format") != FORMAT_VERSION:
            raise StoreError(
                f"store format {doc.get('format')!r} is not supported by this costplan",
                f"expected format {FORMAT_VERSION}",
            )
        return _parse_snapshot(self.root, doc)

    def quarantine_files(self, snap: Snapshot | None = None) -> list[str]:
        snap = snap or self.snapshot()
        return [str(self.root / q["path"]) for q in snap.quarantine]

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
        with file_lock(self.root / ".lock", wait) as holder:
            if holder is not None:
                raise StoreLockedError(
                    f"another costplan process (pid {holder}) is writing to {self.root}",
                    "wait for it to finish, then run the command again",
                )
            yield

    def _write_manifest(self, snap: Snapshot) -> None:
        tmp = self.root / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
        data = json.dumps(_snapshot_doc(snap), indent=1, sort_keys=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / MANIFEST)
        fsync_dir(self.root)

    @contextlib.contextmanager
    def writer(self, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[Transaction]:
        """Take the writer lock and open a transaction. Nothing is visible until commit()."""
        with self._locked(wait):
            txn = Transaction(self, self.snapshot())
            txn._collect_garbage()
            try:
                yield txn
            finally:
                shutil.rmtree(txn.staging, ignore_errors=True)


@dataclass
class CommitResult:
    """What a commit changed."""

    version: int
    rows_written: int
    partitions_rewritten: list[str]
    quarantined: int
    quarantine_file: str | None


@dataclass
class Transaction:
    """A write in progress. Stage rows with add(); make them visible with commit()."""

    store: Store
    base: Snapshot
    txn: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S") + uuid.uuid4().hex[:8])
    _chunks: dict[str, list[Path]] = field(default_factory=dict)
    _quarantine: list[pl.DataFrame] = field(default_factory=list)
    _ingests: list[dict[str, Any]] = field(default_factory=list)
    _rows: dict[str, int] = field(default_factory=dict)
    _buffer: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    _days: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    _merged: dict[str, FileEntry] = field(default_factory=dict)  # final files, written
    _buffered: int = 0
    _n: int = 0

    @property
    def staging(self) -> Path:
        return self.store.root / ".staging" / self.txn

    # -- housekeeping --------------------------------------------------------------------
    def _collect_garbage(self) -> None:
        """Delete what no manifest needs: stale staging dirs, orphans, expired retirees.

        Runs under the writer lock, so no other writer is mid-transaction.
        """
        root = self.store.root
        shutil.rmtree(root / ".staging", ignore_errors=True)
        for tmp in root.glob(f".{MANIFEST}.*.tmp"):
            tmp.unlink(missing_ok=True)
        live = {f.path for p in self.base.partitions.values() for f in p.files}
        live |= {q["path"] for q in self.base.quarantine}
        now = time.time()
        keep: list[dict[str, Any]] = []
        for r in self.base.retired:
            if now - float(r["retired_at"]) >= RETIRE_GRACE_SECONDS:
                (root / r["path"]).unlink(missing_ok=True)
            else:
                keep.append(r)
        retained = live | {r["path"] for r in keep}
        for sub in ("data", "quarantine"):
            base = root / sub
            if not base.exists():
                continue
            for path in base.rglob("*.parquet"):
                if path.relative_to(root).as_posix() not in retained:
                    path.unlink(missing_ok=True)
        if len(keep) != len(self.base.retired):
            self.base = Snapshot(**{**self.base.__dict__, "retired": tuple(keep)})

    # -- reading inside the transaction ------------------------------------------------------
    def existing(self, cad_refs: pl.Series, years: Iterable[int]) -> pl.DataFrame:
        """Stored rows whose cad_ref is in cad_refs, searched in the given years (all boroughs).

        cad_refs are unique per London day, so the year of a reference bounds where it can be.
        """
        files = self.base.files(years=set(years))
        if not files or cad_refs.is_empty():
            return pl.DataFrame(schema=schema.RECORD_SCHEMA)
        wanted = pl.DataFrame({"cad_ref": cad_refs.unique()})
        scan = _scan(files)
        # A reference names its London day ("/25JUN20") and a stored row's `day` always equals
        # it (ingest quarantines a mismatch; generate mints it so). Bounding the search by those
        # days lets the reader skip row groups (files are sorted by time): re-ingesting a week
        # does not read the whole year. If any reference does not parse, search everything.
        days = wanted["cad_ref"].str.slice(-7).unique().str.to_date("%d%b%y", strict=False)
        if days.null_count() == 0:
            scan = scan.filter(pl.col("day").is_between(days.min(), days.max()))
        return scan.join(wanted.lazy(), on="cad_ref", how="semi").select(RECORD_COLUMNS).collect()

    # -- staging ---------------------------------------------------------------------------
    def add(self, frame: pl.DataFrame) -> int:
        """Stage rows (RECORD_SCHEMA columns). Returns the number of rows staged.

        Rows are buffered in memory per partition and spilled to Arrow IPC files in the
        staging directory once SPILL_ROWS are buffered, so memory stays bounded however much
        is added, and a small ingest never touches the disk before its commit.
        """
        if frame.is_empty():
            return 0
        frame = frame.select(RECORD_COLUMNS).cast(schema.RECORD_SCHEMA)  # type: ignore[arg-type]
        for (borough, year), part in frame.partition_by(
            list(PARTITION_KEYS), as_dict=True, include_key=False
        ).items():
            key = partition_key(str(borough), int(year))  # type: ignore[call-overload]
            if key in self._merged:
                raise RuntimeError(f"partition {key} was sealed; no rows may be added to it")
            self._buffer.setdefault(key, []).append(part)
            self._rows[key] = self._rows.get(key, 0) + part.height
            lo, hi = part["day"].min(), part["day"].max()
            old = self._days.get(key)
            self._days[key] = (min(old[0], lo), max(old[1], hi)) if old else (lo, hi)  # type: ignore[type-var]
        self._buffered += frame.height
        if self._buffered >= SPILL_ROWS:
            self._spill()
        return frame.height

    def _spill(self) -> None:
        """Write the in-memory buffer to one IPC chunk per partition (fast, uncompressed)."""
        for key, frames in self._buffer.items():
            self._n += 1
            path = self.staging / "chunks" / f"{self._n:06d}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            pl.concat(frames).write_ipc(path, compression="uncompressed")
            self._chunks.setdefault(key, []).append(path)
        self._buffer.clear()
        self._buffered = 0

    def _merge_partition(self, key: str, out: Path) -> FileEntry:
        """Write one partition: stored rows + staged rows, sorted by created_at, one file."""
        old = self.base.partitions.get(key)
        parts: list[pl.LazyFrame] = []
        if old is not None:
            # The keys are in the hive path, not the files; read the files as plain Parquet.
            parts.append(
                pl.scan_parquet(
                    [str(self.store.root / f.path) for f in old.files], hive_partitioning=False
                )
            )
        if self._chunks.get(key):
            parts.append(pl.scan_ipc([str(c) for c in self._chunks[key]]))
        if self._buffer.get(key):
            parts.append(pl.concat(self._buffer[key]).lazy())
        frame = pl.concat(parts).select(list(STORED_COLUMNS)).collect()
        # Appends in time order (generate, nightly ingests) arrive already sorted: checking is
        # one pass, sorting a hundred thousand rows is several.
        if not frame["created_at"].is_sorted():
            frame = frame.sort("created_at", maintain_order=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        # Small row groups over rows sorted by time: a reader of a few days skips the rest of
        # the year by the row groups' min/max statistics (docs/benchmarks.md).
        frame.write_parquet(out, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS)
        lo, hi = frame["day"].min(), frame["day"].max()
        return FileEntry(
            path=out.relative_to(self.staging / "out").as_posix(),
            rows=frame.height,
            bytes=out.stat().st_size,
            min_day=lo.isoformat() if lo is not None else None,  # type: ignore[union-attr]
            max_day=hi.isoformat() if hi is not None else None,  # type: ignore[union-attr]
        )

    def add_quarantine(self, frame: pl.DataFrame) -> int:
        """Stage quarantined rows (QUARANTINE_SCHEMA columns, txn filled in here)."""
        if frame.is_empty():
            return 0
        frame = frame.with_columns(pl.lit(self.txn).alias("txn")).select(QUARANTINE_COLUMNS)
        self._quarantine.append(frame.cast(quarantine_schema()))  # type: ignore[arg-type]
        return frame.height

    def log_ingest(self, entry: dict[str, Any]) -> None:
        """Record an ingested export (name, sha256, counts) in the next manifest."""
        self._ingests.append({**entry, "txn": self.txn, "at": _now_iso()})

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

    def _merge_now(self, keys: set[str]) -> None:
        def merge(key: str) -> tuple[str, FileEntry]:
            borough, year = key.split("|")
            rel = f"{partition_dir(borough, int(year))}/part-{self.txn}.parquet"
            return key, self._merge_partition(key, self.staging / "out" / rel)

        # Partitions are independent: merge two at a time (Polars releases the GIL).
        from concurrent.futures import ThreadPoolExecutor  # only this write path needs it

        with ThreadPoolExecutor(max_workers=2) as pool:
            for key, entry in pool.map(merge, sorted(keys)):
                self._merged[key] = entry
                self._buffered -= sum(f.height for f in self._buffer.pop(key, []))
                self._chunks.pop(key, None)

    # -- commit ------------------------------------------------------------------------------
    def commit(self) -> CommitResult:
        """Merge staged rows into their partitions and publish a new manifest atomically."""
        root = self.store.root
        version = self.base.version + 1
        parts = dict(self.base.partitions)
        retired = list(self.base.retired)
        now = time.time()
        rows_written = 0
        staged_moves: list[tuple[Path, Path]] = []
        self._merge_now(set(self._chunks) | set(self._buffer))
        for key, entry in sorted(self._merged.items()):
            borough, year_s = key.split("|")
            old = parts.get(key)
            lo, hi = self._days[key]
            parts[key] = Partition(
                borough,
                int(year_s),
                (entry,),
                version,
                replaced=tuple(f.path for f in old.files) if old else (),
                added_days=(lo.isoformat(), hi.isoformat()),
            )
            staged_moves.append((self.staging / "out" / entry.path, root / entry.path))
            rows_written += self._rows[key]
            if old is not None:
                retired += [{"path": f.path, "retired_at": now} for f in old.files]

        quarantine = list(self.base.quarantine)
        q_rows = 0
        q_rel: str | None = None
        if self._quarantine:
            qframe = pl.concat(self._quarantine)
            q_rows = qframe.height
            q_rel = f"quarantine/quarantine-{self.txn}.parquet"
            tmp = self.staging / "out" / q_rel
            tmp.parent.mkdir(parents=True, exist_ok=True)
            qframe.write_parquet(tmp)
            staged_moves.append((tmp, root / q_rel))
            quarantine.append({"path": q_rel, "rows": q_rows, "txn": self.txn})

        # Move staged files to their final (new, unique) names. Until the manifest swap below
        # they are orphans no reader can see; a crash here leaves the old state intact.
        for src, dst in staged_moves:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        for d in {dst.parent for _, dst in staged_moves}:
            fsync_dir(d)

        snap = Snapshot(
            root=root,
            version=version,
            txn=self.txn,
            committed_at=_now_iso(),
            partitions=parts,
            quarantine=tuple(quarantine),
            ingests=tuple(list(self.base.ingests) + self._ingests),
            retired=tuple(retired),
        )
        self.store._write_manifest(snap)  # the commit point
        self.base = snap
        self._chunks.clear()
        self._buffer.clear()
        self._buffered = 0
        self._rows.clear()
        self._days.clear()
        self._merged.clear()
        self._quarantine.clear()
        self._ingests.clear()
        return CommitResult(
            version=version,
            rows_written=rows_written,
            partitions_rewritten=sorted(k for k, p in parts.items() if p.version == version),
            quarantined=q_rows,
            quarantine_file=str(root / q_rel) if q_rel else None,
        )


def _scan(files: list[str]) -> pl.LazyFrame:
    """A Polars scan of stored files with the partition keys restored from the paths."""
    return pl.scan_parquet(
        files,
        hive_partitioning=True,
        hive_schema={"borough": pl.String(), "year": pl.Int16()},
    )


def read_quarantine(store: Store) -> pl.DataFrame:
    """All quarantined rows of a store, oldest first."""
    files = store.quarantine_files()
    if not files:
        return pl.DataFrame(schema=quarantine_schema())
    return pl.read_parquet(files)
