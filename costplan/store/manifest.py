"""The store's manifest: the snapshot model readers use, and its JSON form.

A snapshot is one manifest version: the files of every partition (borough × year), the
quarantine files and the ingest log. Readers take their file list from it, never from a
directory listing, so they see the store before or after a write, never half of one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from costplan._deps import lazy
from costplan._files import relative_parts
from costplan.errors import ConfigError, StoreError
from costplan.profile import Profile, from_store_doc
from costplan.store.coverage import Coverage, CoverageReport, Days, merge

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy("polars")  # readers of the manifest alone (`check`) never import Polars

MANIFEST = "manifest.json"
# What to do about a manifest that cannot be read: it is the store's only index of its files.
DAMAGED_MANIFEST_HINT = (
    "restore manifest.json from a backup, or ingest the exports again into a new store directory"
)
# Where replaced files wait out their grace period: outside `data/`, so that a glob over the
# data tree (DuckDB's read_parquet('data/**/*.parquet'), Polars' scan_parquet('data/'))
# finds exactly the current snapshot's files. The hive part of the path is kept.
DATA_DIR = "data"
RETIRED_DIR = "retired"
# Present while a writer moves files in and out of `data/` around its manifest swap (a few
# renames); a writer killed there leaves it, and the next writer puts the tree right.
COMMIT_MARKER = ".commit"
FORMAT_VERSION = 1
LAYOUT = "borough/year"
# How long replaced files outlive the manifest that dropped them: longer than any query runs.
# How long a writer waits for another writer before giving up with a clear message.
LOCK_WAIT_SECONDS = 30.0
# Rows a transaction buffers in memory before spilling them to the staging directory.
SPILL_ROWS = 4_000_000
# Quarantined rows held in memory (by an ingest for one export, and by its transaction) before
# they are written to the staging directory: each holds its raw values, about 350 bytes of an
# MPS export's row (1 M refused rows raised an ingest's peak RSS by 350 MB).
QUARANTINE_SPILL_ROWS = 200_000
# Files a partition may hold before the next append to it compacts it (automatic
# compaction): every append adds a file, and a reader opens each (docs/benchmarks.md).
COMPACT_FILES = 16
# An automatic compaction merges the newest files only (at least half of them), and an older
# file as well while it holds at most TIER_RATIO times the rows merged so far: the year's
# large file is not rewritten for a fortnight of nightly appends, and is rewritten once the
# merged files have grown to a TIER_RATIO-th of it (size-tiered, as LSM stores do).
TIER_RATIO = 4
# Rows per Parquet row group in stored files (about a fortnight of one borough).
ROW_GROUP_ROWS = 16_384
# The stored files' codec. LZ4 against ZSTD on a year of 32 boroughs (3.85 M CADs, Polars'
# writer): the year-long plan's query 0.59 s against 0.69 s, writing 0.77 s against 0.95 s,
# for 1.54 times the bytes (105 MB against 68 MB); docs/benchmarks.md §16. Readers take any
# codec, so files written before keep theirs until compaction rewrites them.
STORE_CODEC: Final = "lz4"

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


def partition_key(borough: str, year: int) -> str:
    """The manifest key of a partition."""
    return f"{borough}|{year}"


def partition_dir(borough: str, year: int) -> str:
    """The hive directory of a partition, relative to the store root.

    Borough names contain spaces; percent-encode them as DuckDB, Polars and Spark do on write,
    so every engine decodes the same value on read.
    """
    return f"data/borough={quote(borough, safe='')}/year={year:04d}"


def retired_path(relative: str) -> str | None:
    """Where a replaced file of `data/` waits out its grace period (None: not a data file)."""
    head, sep, rest = relative.replace("\\", "/").partition("/")
    return f"{RETIRED_DIR}/{rest}" if sep and head == DATA_DIR and rest else None


def locate(root: Path, relative: str) -> Path:
    """The file a manifest path names: in `data/` while current, in `retired/` once replaced.

    A writer moves a replaced file from one to the other with one rename, so it is always in
    one of the two (until its grace period ends); a reader of an older snapshot finds it.
    """
    live = root / relative
    if live.exists():
        return live
    moved = retired_path(relative)
    if moved is not None and (root / moved).exists():
        return root / moved
    return live  # missing from both: the reader's error names the manifest's path


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
    version: int  # manifest version that last wrote to this partition
    # What that write changed, so derived tables can refresh just the changed days: the files
    # it replaced (a compaction), the London days of the rows it added (None: none, or
    # unknown: recount it all), and the files it wrote (empty in older manifests, whose
    # every write replaced the partition's files with one).
    replaced: tuple[str, ...] = ()
    added_days: tuple[str, str] | None = None
    added_files: tuple[str, ...] = ()

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
    # {area: [[from, to], ...]} as the writes declared it; None in stores written before
    # coverage was recorded (then read from the partitions' day spans).
    coverage_doc: dict[str, list[list[str]]] | None = None
    # The force profile the store belongs to (profile.Profile.store_doc()); None in stores
    # written before profiles were recorded, which were MPS-only: they are read as the MPS.
    force_doc: dict[str, Any] | None = None

    @property
    def profile(self) -> Profile:
        """The store's force profile: its areas, area word, time zone and vocabularies.

        Raises:
            StoreError: the profile the manifest records as text is not a valid profile (the
                manifest is damaged: a writer only records a profile it has validated).
            ConfigError: the manifest names a shipped profile this costplan does not have.
        """
        doc = self.force_doc
        try:
            return from_store_doc(doc)
        except ConfigError as exc:
            if doc is None or doc.get("bundled"):
                raise
            raise StoreError(
                f"store manifest {self.root / MANIFEST} is damaged: the force profile it "
                f"records is not valid ({exc.message})",
                DAMAGED_MANIFEST_HINT,
            ) from None

    @property
    def coverage(self) -> Coverage:
        """What the archive covers, per area (see costplan.store.coverage)."""
        if self.coverage_doc is not None:
            return Coverage.from_doc(self.coverage_doc)
        spans: dict[str, list[Days]] = {}
        for part in self.partitions.values():
            for f in part.files:
                if f.rows and f.min_day and f.max_day:
                    day_span = (dt.date.fromisoformat(f.min_day), dt.date.fromisoformat(f.max_day))
                    spans.setdefault(part.borough, []).append(day_span)
        return Coverage({area: merge(r) for area, r in spans.items()}, declared=False)

    def coverage_report(self) -> CoverageReport:
        """The archive's coverage with the store facts a reader needs to trust it."""
        last = self.ingests[-1] if self.ingests else None
        return CoverageReport(self.coverage, str(self.root), self.version, self.total_rows, last)

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
        """Paths of the Parquet files in scope, wherever they are now (`locate`)."""
        return [
            str(locate(self.root, f.path)) for p in self.select(boroughs, years) for f in p.files
        ]

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

    def describe_counts(self, from_table: int, counted: int) -> dict[str, Any]:
        """What a summary records: the snapshot, and how many partitions its counts came from
        the volume table and how many were counted from the partitions themselves."""
        return {
            **self.describe(),
            "partitions_from_table": from_table,
            "partitions_counted_directly": counted,
        }


class ManifestShapeError(ValueError):
    """A manifest that is valid JSON but not the shape this costplan writes."""


def _shaped(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if value is None and not (isinstance(kind, tuple) and type(None) in kind):
        raise ManifestShapeError(f"{what} is missing")
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ManifestShapeError(f"{what} is {type(value).__name__}, expected {names}")
    return value


def _relative_path(value: Any, what: str) -> str:
    """A file path the manifest names: plain text relative to the store, never leaving it."""
    text: str = _shaped(value, str, what)
    if relative_parts(text) is None:
        raise ManifestShapeError(f"{what} {text!r} is not a path inside the store")
    return text


def _file_entry(doc: Any, what: str) -> FileEntry:
    doc = _shaped(doc, dict, what)
    day = (str, type(None))
    return FileEntry(
        path=_relative_path(doc.get("path"), f"{what}.path"),
        rows=_shaped(doc.get("rows"), int, f"{what}.rows"),
        bytes=_shaped(doc.get("bytes", 0), int, f"{what}.bytes"),
        min_day=_shaped(doc.get("min_day"), day, f"{what}.min_day"),
        max_day=_shaped(doc.get("max_day"), day, f"{what}.max_day"),
    )


def _partition(key: str, p: Any) -> Partition:
    what = f"partitions[{key!r}]"
    p = _shaped(p, dict, what)
    added = p.get("added_days")
    if added is not None:
        added = tuple(_shaped(d, str, f"{what}.added_days") for d in _shaped(added, list, what))
        if len(added) != 2:
            raise ManifestShapeError(f"{what}.added_days is not [first, last]")
    return Partition(
        borough=_shaped(p.get("borough"), str, f"{what}.borough"),
        year=_shaped(p.get("year"), int, f"{what}.year"),
        files=tuple(
            _file_entry(f, f"{what}.files[{i}]")
            for i, f in enumerate(_shaped(p.get("files"), list, f"{what}.files"))
        ),
        version=_shaped(p.get("version", 0), int, f"{what}.version"),
        replaced=tuple(
            _relative_path(r, f"{what}.replaced")
            for r in _shaped(p.get("replaced", []), list, f"{what}.replaced")
        ),
        added_days=added,
        added_files=tuple(
            _relative_path(r, f"{what}.added_files")
            for r in _shaped(p.get("added_files", []), list, f"{what}.added_files")
        ),
    )


def _entries(doc: dict[str, Any], key: str, *, path: bool) -> tuple[dict[str, Any], ...]:
    """A list of objects (quarantine, ingests, retired); each one's `path` checked if asked."""
    out = []
    for i, entry in enumerate(_shaped(doc.get(key, []), list, key)):
        _shaped(entry, dict, f"{key}[{i}]")
        if path:
            _relative_path(entry.get("path"), f"{key}[{i}].path")
        out.append(entry)
    return tuple(out)


def _parse_snapshot(root: Path, doc: Any) -> Snapshot:
    """The snapshot a manifest document describes.

    Raises:
        ManifestShapeError: the document is not the shape this costplan writes (a list, a
            partition that is not an object, a count that is text, a path leaving the store...).
    """
    doc = _shaped(doc, dict, "the manifest")
    parts = {
        key: _partition(key, p)
        for key, p in _shaped(doc.get("partitions", {}), dict, "partitions").items()
    }
    coverage = doc.get("coverage")
    if coverage is not None:
        try:
            Coverage.from_doc(_shaped(coverage, dict, "coverage"))
        except (TypeError, ValueError) as exc:
            raise ManifestShapeError(
                f"coverage is not {{area: [[from, to], ...]}}: {exc}"
            ) from None
    return Snapshot(
        root=root,
        version=_shaped(doc.get("version", 0), int, "version"),
        txn=_shaped(doc.get("txn"), (str, type(None)), "txn"),
        committed_at=_shaped(doc.get("committed_at"), (str, type(None)), "committed_at"),
        partitions=parts,
        quarantine=_entries(doc, "quarantine", path=True),
        ingests=_entries(doc, "ingests", path=False),
        # Retired paths are checked again where they are deleted (_files.collect_retired).
        retired=_entries(doc, "retired", path=False),
        coverage_doc=coverage,
        force_doc=_shaped(doc.get("force"), (dict, type(None)), "force"),
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
                "added_files": list(p.added_files),
            }
            for key, p in sorted(snap.partitions.items())
        },
        "quarantine": list(snap.quarantine),
        "ingests": list(snap.ingests),
        "retired": list(snap.retired),
        **({"coverage": snap.coverage_doc} if snap.coverage_doc is not None else {}),
        **({"force": snap.force_doc} if snap.force_doc is not None else {}),
    }
