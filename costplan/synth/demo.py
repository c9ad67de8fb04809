"""The embedded default: a seeded synthetic London CAD archive built once into the user cache.

`build_archive` writes any synthetic range into a store; `demo_store` returns the default
archive (2020, all 32 boroughs), building it on first use. The build goes into a temporary
directory beside the final one and is renamed into place when complete, so a killed build
never leaves a half-made demo archive to be reused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costplan import __version__
from costplan._files import config_path
from costplan.errors import InputError, StoreError
from costplan.schema import BOROUGHS
from costplan.store import CommitResult, Store

DEMO_START = dt.date(2020, 1, 1)
DEMO_END = dt.date(2020, 12, 31)
DEMO_SEED = 2020
# The generator's output revision: bump it whenever the same seed would give other rows (2: the
# issue-12 calibration, with a day factor per borough-day), so a cached demo is never reused
# across a change of figures. The calibration file's own hash is in the name as well.
ARCHIVE_REVISION = 2

Progress = Callable[[int, int], None]


def cache_dir() -> Path:
    """The per-user cache directory (XDG_CACHE_HOME, else ~/.cache), or COSTPLAN_CACHE."""
    override = os.environ.get("COSTPLAN_CACHE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "costplan"


def demo_store_path() -> Path:
    """Where the demo archive lives; the version, the generator's revision and the
    calibration's hash are in the name, so any change of figures rebuilds it."""
    # The file itself, not the calibration module: that one loads numpy, and `check` need not.
    digest = hashlib.sha256(config_path("calibration.toml").read_bytes()).hexdigest()[:8]
    return cache_dir() / (
        f"demo-{DEMO_START.year}-seed{DEMO_SEED}-v{__version__}-r{ARCHIVE_REVISION}-{digest}"
    )


def build_archive(
    store: Store,
    start: dt.date,
    end: dt.date,
    *,
    seed: int = DEMO_SEED,
    boroughs: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> CommitResult:
    """Generate a synthetic archive into an empty store, in one transaction.

    Raises:
        InputError: reversed dates.
        StoreError: the store already holds records (generate never mixes archives).
    """
    from costplan.synth import generate  # numpy-heavy: load only when generating

    if end < start:
        raise InputError(
            f"the last day {end} is before the first {start}", "swap the dates", field="end"
        )
    total_days = (end - start).days + 1
    with store.writer() as txn:
        # Checked on the snapshot the writer lock holds, never before taking it: an ingest
        # that commits while this one waits for the lock must not be written over.
        if txn.base.total_rows:
            raise StoreError(
                f"{store.root} already holds CAD records",
                "generate into a new directory; use 'costplan ingest' to add exports",
            )
        # Every generated day is held, even a day on which an area has no CAD.
        txn.declare_coverage(boroughs or [b.name for b in BOROUGHS], start, end)
        year = start.year
        for frame in generate(start, end, seed=seed, boroughs=boroughs):
            # Months arrive in order: a year behind us is complete, so write it out now.
            first = frame["day"].min().year  # type: ignore[union-attr]
            if first > year:
                txn.seal(year)
                year = first
            txn.add(frame)
            if progress is not None and frame.height:
                last = frame["day"].max()
                assert isinstance(last, dt.date)
                done = (last - start).days + 1
                progress(done, total_days)
        return txn.commit()


def demo_store(progress: Progress | None = None) -> Store:
    """The default demo archive, built on first use and reused afterwards."""
    final = demo_store_path()
    if (final / "manifest.json").exists():
        return Store.open(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        store = Store.open(tmp, create=True)
        build_archive(store, DEMO_START, DEMO_END, seed=DEMO_SEED, progress=progress)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process finished first; its archive is identical (same seed).
            if not (final / "manifest.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Store.open(final)


@dataclass(frozen=True)
class GenerateReport:
    """What `costplan generate` wrote, and how fast."""

    store: Path
    commit: CommitResult
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        rows = self.commit.rows_written
        return {
            "store": str(self.store),
            "rows": rows,
            "partitions": len(self.commit.partitions_rewritten),
            "manifest_version": self.commit.version,
            "seconds": round(self.seconds, 2),
            "rows_per_second": round(rows / self.seconds) if self.seconds else None,
        }


def generate_archive(
    root: Path,
    start: dt.date,
    end: dt.date,
    *,
    seed: int = DEMO_SEED,
    boroughs: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> GenerateReport:
    """Create (or open an empty) store at `root` and generate a synthetic archive into it.

    The archive is calibrated for the MPS: the store belongs to the MPS profile.
    """
    from costplan.profile import mps

    fresh = not (Path(root).expanduser() / "manifest.json").exists()
    store = Store.open(root, create=True, force=mps())
    t0 = time.perf_counter()
    try:
        result = build_archive(store, start, end, seed=seed, boroughs=boroughs, progress=progress)
    except BaseException:
        if fresh:  # a failed generate leaves no empty store behind
            store.discard_if_unused()
        raise
    return GenerateReport(store.root, result, time.perf_counter() - t0)
