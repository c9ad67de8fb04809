"""The CAD store: hive-partitioned Parquet with an atomic manifest, one writer at a time.

Layout (chosen by measurement, see docs/benchmarks.md)::

    STORE/
      manifest.json                          the snapshot readers use; replaced atomically
      data/borough=<name>/year=<yyyy>/part-<txn>.parquet   one file per partition
      retired/borough=<name>/year=<yyyy>/part-<txn>.parquet  replaced, in their grace period
      quarantine/quarantine-<txn>.parquet    rows an ingest refused, with their reasons
      .staging/<txn>/                        a writer's work in progress
      .commit                                present only while a writer swaps files in and out
      .lock                                  the writer lock

Why a manifest: a reader takes the file list from one manifest, so it sees the store as it was
before or after a write, never half of one. A writer stages every new file under new names,
moves them into data/ and swaps the manifest with os.replace() (the commit point). Files a
write replaces move to retired/ for a grace period, because a query that started on the old
manifest may still be reading them (manifest.locate finds them there); later writers delete
them. So `data/` holds exactly the current snapshot's files and a plain glob over it (DuckDB,
Polars, Spark) counts what the manifest does (docs/store.md), except during the few renames
of a commit; a writer killed there leaves `.commit`, and the next writer tidies the tree.
A write appends: it adds one new file (rows sorted by created_at) to each partition it adds
rows to and never rewrites the stored ones, so a nightly ingest writes about the day's own
size. Compaction rewrites a partition's files as one: `Store.compact` (`costplan compact`),
and automatically when an append would take a partition past COMPACT_FILES files; it goes
through the same staging, manifest swap and retired/ as every write.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from costplan._deps import lazy, lazy_exports
from costplan._files import file_lock, now_iso, write_atomic
from costplan.errors import StoreError, StoreLockedError
from costplan.profile import Profile, mps
from costplan.store.faults import reading, writing
from costplan.store.manifest import (
    COMPACT_FILES,
    DAMAGED_MANIFEST_HINT,
    FORMAT_VERSION,
    LOCK_WAIT_SECONDS,
    MANIFEST,
    QUARANTINE_COLUMNS,
    ManifestShapeError,
    Partition,
    Snapshot,
    _parse_snapshot,
    _snapshot_doc,
    partition_key,
    quarantine_schema,
)

if TYPE_CHECKING:
    import polars as pl

    from costplan.store.transaction import CommitResult, Transaction
else:
    pl = lazy("polars")

# The write path is imported by writers only: a reader (`check`) never loads it.
__getattr__, _ = lazy_exports(
    __name__, {"CommitResult": "transaction", "Transaction": "transaction"}
)


__all__ = [
    "COMPACT_FILES",
    "CompactReport",
    "LOCK_WAIT_SECONDS",
    "MANIFEST",
    "QUARANTINE_COLUMNS",
    "CommitResult",
    "Partition",
    "Snapshot",
    "Store",
    "Transaction",
    "partition_key",
    "read_quarantine",
    "reading",
    "writing",
]


@dataclass(frozen=True)
class CompactReport:
    """What `costplan compact` rewrote."""

    store: Path
    version: int
    partitions: int  # partitions rewritten, each as one file
    files_before: int  # their files before
    rows: int  # their rows (unchanged by compaction)
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "store": str(self.store),
            "manifest_version": self.version,
            "partitions": self.partitions,
            "files_before": self.files_before,
            "files_after": self.partitions,
            "rows": self.rows,
            "seconds": round(self.seconds, 2),
        }


class Store:
    """A CAD store rooted at a directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path | str, *, create: bool = False, force: Profile | None = None) -> Store:
        """Open a store; with create=True, make an empty one if the directory has none.

        Args:
            force: the force profile a new store belongs to (None: the MPS). Given for an
                existing store, it must be the store's own.

        Raises:
            StoreError: the directory is not a store (and create is False), or is a file, or
                the store belongs to another force than `force`.
        """
        root = Path(root).expanduser()
        if root.exists() and not root.is_dir():
            raise StoreError(f"store path is a file, not a directory: {root}")
        store = cls(root)
        if (root / MANIFEST).exists():
            if force is not None:
                own = store.snapshot().profile
                if own.name != force.name:
                    raise StoreError(
                        f"the store at {root} belongs to force profile {own.name!r} "
                        f"({own.title}), not {force.name!r}",
                        "use another --store for another force, or leave out --force",
                        field="force",
                    )
            return store
        if not create:
            hint = "generate a synthetic archive or ingest exports into it first"
            raise StoreError(f"no costplan store at {root}", hint, field="store")
        root.mkdir(parents=True, exist_ok=True)
        # Under the writer lock: another process creating the same store at the same moment
        # holds it while its files appear, so they are never mistaken for someone else's.
        with store._locked():
            if not (root / MANIFEST).exists():
                store._check_empty()
                doc = (force or mps()).store_doc()
                empty = Snapshot(root, 0, None, now_iso(), {}, coverage_doc={}, force_doc=doc)
                with writing(root):
                    store._write_manifest(empty)
        return store

    def _check_empty(self) -> None:
        """Refuse a directory without a manifest that holds anything but costplan's own
        housekeeping (the lock, staging, a killed writer's manifest temporaries).

        Raises:
            StoreError: the directory holds other files, so it is not ours to write into.
        """
        ours = {".lock", ".lock.pid", ".staging"}
        temporary = f".{MANIFEST}."
        if any(
            p.name not in ours and not (p.name.startswith(temporary) and p.name.endswith(".tmp"))
            for p in self.root.iterdir()
        ):
            raise StoreError(
                f"{self.root} is not empty and holds no costplan store",
                "choose an empty or new directory for the store",
                field="store",
            )

    def discard_if_unused(self) -> None:
        """Remove the empty manifest of a store no write has committed to (a failed first
        ingest), so a failure never leaves an empty store behind. The lock file stays: a
        writer waiting for it must find the lock it is waiting on."""
        with contextlib.suppress(StoreError), self._locked(wait=0.0):
            path = self.root / MANIFEST
            with contextlib.suppress(StoreError):
                if path.exists() and self.snapshot().version == 0:
                    path.unlink()
            shutil.rmtree(self.root / ".staging", ignore_errors=True)

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Read the current manifest. Cheap: one small JSON file, no directory listing."""
        path = self.root / MANIFEST
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"no costplan store at {self.root}") from None
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"store manifest is unreadable: {path}: {exc}", DAMAGED_MANIFEST_HINT
            ) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
            found = doc.get("format") if isinstance(doc, dict) else None
            if found is None:  # valid JSON, but not a costplan manifest at all
                raise StoreError(
                    f"store manifest {path} is not a costplan manifest "
                    f"(a JSON {type(doc).__name__} without 'format')",
                    DAMAGED_MANIFEST_HINT,
                )
            raise StoreError(
                f"store format {found!r} of {path} is not supported by this costplan",
                f"expected format {FORMAT_VERSION}",
            )
        try:
            return _parse_snapshot(self.root, doc)
        except ManifestShapeError as exc:
            raise StoreError(
                f"store manifest {path} is damaged: {exc}", DAMAGED_MANIFEST_HINT
            ) from None

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
        write_atomic(
            self.root / MANIFEST, json.dumps(_snapshot_doc(snap), indent=1, sort_keys=True)
        )

    @contextlib.contextmanager
    def writer(self, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[Transaction]:
        """Take the writer lock and open a transaction. Nothing is visible until commit()."""
        with self._locked(wait):
            if (self.root / MANIFEST).exists():
                base = self.snapshot()
            else:
                # A store whose first write failed (discard_if_unused) or never came: empty,
                # if the directory holds nothing else (never a store that lost its manifest).
                self._check_empty()
                base = Snapshot(self.root, 0, None, now_iso(), {}, coverage_doc={})
            from costplan.store.transaction import Transaction

            txn = Transaction(self, base)
            txn._collect_garbage()
            try:
                yield txn
            finally:
                txn.close()
                shutil.rmtree(txn.staging, ignore_errors=True)

    def compact(self, min_files: int = 2, *, wait: float = LOCK_WAIT_SECONDS) -> CompactReport:
        """Rewrite every partition holding `min_files` files or more as one file, in one
        transaction (crash-safe as every write; readers of older snapshots keep theirs).

        Raises:
            StoreLockedError: another writer held the lock for `wait` seconds.
        """
        t0 = time.perf_counter()
        with self.writer(wait=wait) as txn:
            keys = txn.compact(min_files)
            parts = [txn.base.partitions[k] for k in keys]
            result = txn.commit()
        return CompactReport(
            self.root,
            result.version,
            len(keys),
            sum(len(p.files) for p in parts),
            sum(p.rows for p in parts),
            time.perf_counter() - t0,
        )


def read_quarantine(store: Store) -> pl.DataFrame:
    """All quarantined rows of a store, oldest first."""
    files = store.quarantine_files()
    if not files:
        return pl.DataFrame(schema=quarantine_schema())
    with reading(store.root, files):
        return pl.read_parquet(files)
