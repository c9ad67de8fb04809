"""The volume table's layout and committed state: state.json, its months, and freshness.

state.json is the table's commit point (see the package docstring). Everything here reads or
writes that file alone, never a Parquet file, so freshness checks and monthly_counts cost
milliseconds and load neither DuckDB nor Polars.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costplan._files import write_atomic
from costplan.store import Partition, Snapshot, partition_key

# An inclusive range of London days.
Days = tuple[dt.date, dt.date]

VOLUMES_DIR = "volumes"
STATE = "state.json"
# 1: a file per store partition; 2: with tag sets; 3: with grading and totals files. Older
# formats read as empty (readers count from the partitions) and the next refresh rebuilds the
# table, saying so.
STATE_FORMAT = 4
PARTS_DIR = "parts"

VOLUME_COLUMNS: tuple[str, ...] = ("borough", "day", "call_source", "n")
TOTAL_COLUMNS: tuple[str, ...] = ("borough", "day", "n")


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


# Day files a month may gather before a refresh merges them into its month files (one night
# in MAX_DELTAS pays for a month rewrite; a reader opens at most MAX_DELTAS + 1 files a month).
MAX_DELTAS = 8


@dataclass(frozen=True)
class MonthEntry:
    """One month of the table: its files and the CADs it holds per partition.

    The month's rows are those of its base file (path) plus those of its `deltas`: files a
    nightly refresh wrote beside the month for days after the month's last day, so a new day
    costs a file of its own rows instead of a rewrite of the month. No two of a month's files
    hold rows of the same borough-day. (There are no totals files: a month holds about five
    volume rows per borough-day, so daily_total is summed from them when read; writing them
    was a fifth of a rebuild: docs/benchmarks.md section 14.)
    """

    path: str  # volume rows, relative to STORE/volumes
    counts: dict[str, int]  # partition key -> CADs of that partition in this month
    last_day: str = ""  # the latest London day (ISO) with rows in any of the month's files
    deltas: tuple[str, ...] = ()  # volume rows of appended days, relative to STORE/volumes

    @property
    def volume_files(self) -> tuple[str, ...]:
        return (self.path, *self.deltas)

    @property
    def files(self) -> tuple[str, ...]:
        return self.volume_files


@dataclass(frozen=True)
class VolumeState:
    """The committed state of a volume table (empty if never refreshed)."""

    store_version: int | None = None
    refreshed_at: str | None = None
    partitions: dict[str, VolumeEntry] = field(default_factory=dict)
    months: dict[str, MonthEntry] = field(default_factory=dict)  # "yyyy-mm" -> entry
    retired: tuple[dict[str, Any], ...] = ()


def volumes_dir(root: Path | str) -> Path:
    """The volume table directory of a store rooted at `root`."""
    return Path(root) / VOLUMES_DIR


def part_key(part: Partition) -> str:
    """The manifest key ("borough|year") of a partition: how state.json names it."""
    return partition_key(part.borough, part.year)


# -- months --------------------------------------------------------------------------------------
def month_key(day: dt.date) -> str:
    """The table's month of a London day, e.g. '2020-06'."""
    return f"{day.year:04d}-{day.month:02d}"


def month_days(month: str) -> Days:
    """The first and last London day of a month key."""
    first = dt.date(int(month[:4]), int(month[5:7]), 1)
    after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, after - dt.timedelta(days=1)


def months_of(days: Days) -> list[str]:
    """The month keys overlapping an inclusive range of days, in order."""
    out = []
    first = days[0].replace(day=1)
    while first <= days[1]:
        out.append(month_key(first))
        first = month_days(month_key(first))[1] + dt.timedelta(days=1)
    return out


def year_days(year: int) -> Days:
    """All London days of a year: what a whole-partition recount replaces."""
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def data_days(part: Partition) -> Days | None:
    """The London days a partition's files hold rows for (None: no rows or no statistics)."""
    span = [f for f in part.files if f.min_day and f.max_day and f.rows]
    if not span:
        return None if not part.rows else year_days(part.year)
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
                path=str(e["path"]),
                counts={k: int(n) for k, n in e["counts"].items()},
                last_day=str(e["last_day"]),
                deltas=tuple(str(v) for v in e["deltas"]),
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


def older_format(root: Path | str) -> int | None:
    """The format of a state.json older than STATE_FORMAT (which read_state reads as empty:
    the table is rebuilt at the current grain), else None."""
    try:
        doc = json.loads((volumes_dir(root) / STATE).read_text(encoding="utf-8"))
        found = doc.get("format", 1)
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, int) and found < STATE_FORMAT else None


def write_state(vdir: Path, state: VolumeState) -> None:
    """Replace state.json with `state`: the commit point of a refresh (readers see old or new)."""
    doc = {
        "format": STATE_FORMAT,
        "store_version": state.store_version,
        "refreshed_at": state.refreshed_at,
        "partitions": {
            key: {**e.__dict__, "source_files": list(e.source_files)}
            for key, e in sorted(state.partitions.items())
        },
        "months": {
            month: {
                **e.__dict__,
                "counts": dict(sorted(e.counts.items())),
                "deltas": list(e.deltas),
            }
            for month, e in sorted(state.months.items())
        },
        "retired": list(state.retired),
    }
    # Fsynced, renamed over the old state, the directory fsynced (costplan._files).
    write_atomic(vdir / STATE, json.dumps(doc, separators=(",", ":"), sort_keys=True))


def _missing_months(vdir: Path, state: VolumeState) -> set[str]:
    """Months whose files are gone (deleted by hand, a restore...): their counts are lost."""
    return {
        month for month, e in state.months.items() if not all((vdir / f).is_file() for f in e.files)
    }


def usable(vdir: Path, state: VolumeState, damaged: Iterable[str] = ()) -> VolumeState:
    """The state without months whose files are missing (or `damaged`, months a refresh found
    unreadable) and the partitions those months held.

    Those partitions read as stale, so readers count them from the store and the next refresh
    recounts them whole: a lost volume file costs time, never a wrong count.
    """
    missing = _missing_months(vdir, state) | set(damaged)
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


def read_usable(root: Path | str) -> VolumeState:
    """The committed state, less any months whose files are missing (see usable)."""
    return usable(volumes_dir(root), read_state(root))


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
        state = read_usable(snapshot.root)
    stale = []
    for part in snapshot.select(boroughs, years):
        entry = state.partitions.get(part_key(part))
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
