"""The materialised daily volume table: CAD counts per borough, London day and call source.

Layout, beside the store it summarises::

    STORE/volumes/
      state.json                          the commit point: the month files, and which store
                                          files each partition was counted from
      parts/vol-<yyyy-mm>-<token>.parquet   one month of volume rows, every borough (a base
                                          file, and up to MAX_DELTAS day files)
      .lock                               the refresh lock (flock), separate from the writer lock

Each volume row is (borough, day, call_source, n): every CAD lands in exactly one row, so any
sum over rows is exact. The view daily_total (borough, day, n), which the commonest summary
(volumes per borough) reads, is summed from them when read: about five rows a borough-day.

The grain is what a rebuild can afford, within 3x the raw GROUP BY borough, day. Tags are not
in it: a tag set dimension (the sorted distinct tags of each CAD) tripled the rows and made a
rebuild 16-26x that floor; nor is grading: as a fourth key it kept a rebuild at 3.5-5x, the
GROUP BY alone 2-3x before any write (docs/benchmarks.md sections 4 and 14). So these are
counted from the partitions, exactly as stale partitions are:

* a summary grouped by tag or by grading (queries/summary_tags.sql, summary_records.sql;
  costplan.summary.counts);
* a fast count filtered by tags (count() returns None; the caller runs count_scope);
* a summary with cell-key disclosure control (the table holds no record keys).

Why month files across boroughs: a nightly ingest touches one day of every borough, so it
writes one month's day file (a few hundred rows, beside the month: recount.py) instead of a
file per borough-year, and a rebuild writes a file per month. Freshness is still kept per
store partition (borough, year).

Freshness: state.json records, per store partition, the manifest ``version`` and the file paths
it was counted from, and per month the CADs it holds for each partition. A partition whose
manifest entry still matches is fresh. Readers skip the rows of stale partitions and count those
partitions from the store instead, so a reader never sees a stale figure.
The per-month counts, which a refresh checks against the manifest's row counts, also answer a
whole-month summary by borough without opening a Parquet file or loading DuckDB
(monthly_counts).

Day-granular refresh: the store only ever appends rows (a commit adds a file to each partition
it writes to; a compaction rewrites a partition's files as one), and it records which files a
write added and replaced and which London days its new rows fall on. When the table counted
exactly the files the partition held before its latest write (it is one write behind), every
day outside the added range is unchanged: a refresh recounts just those days and carries the
rest over. Anything else (never counted, two or more writes behind, no recorded days: a
compaction alone, or a result whose total disagrees with the manifest's row count) is
recounted for the whole year.

Crash safety mirrors the store: new files get unique names, state.json is replaced with
os.replace() last, and files the new state no longer needs are kept for a grace period (a reader
may hold the old state) before a later refresh deletes them.

All of it runs in DuckDB: a refresh never imports Polars or Arrow, so a nightly refresh costs
about what the new day costs to count. DuckDB itself is loaded on first use.

Modules, one concept each (the names below are re-exported here, imported on first
use, so callers use ``costplan.engines.volumes`` alone and `check` never loads the refresh
path):

    state       the layout, state.json (read and written), months, freshness
    recount     one refresh's DuckDB session: counts changed days, rewrites their months
                (a rebuild in one pass: the GROUP BY written straight to the month files)
    files       the table's files: unique names, fsyncs together, staging directories
    refreshing  refresh(): plan, lock, collect garbage, commit
    read        the views daily_volume / daily_total, count, monthly_counts
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costplan._deps import lazy_exports

if TYPE_CHECKING:
    from costplan.engines.volumes.read import (
        count,
        create_daily_view,
        monthly_counts,
    )
    from costplan.engines.volumes.recount import (
        BATCH_ROWS,
        Progress,
        VolumeError,
    )
    from costplan.engines.volumes.refreshing import (
        RefreshFailedError,
        RefreshResult,
        refresh,
    )
    from costplan.engines.volumes.state import (
        MAX_DELTAS,
        PARTS_DIR,
        STATE,
        STATE_FORMAT,
        TOTAL_COLUMNS,
        VOLUME_COLUMNS,
        VOLUMES_DIR,
        Days,
        MonthEntry,
        VolumeEntry,
        VolumeState,
        is_fresh,
        month_days,
        month_key,
        read_state,
        stale_partitions,
        volumes_dir,
    )

_EXPORTS = {
    "count": "read",
    "create_daily_view": "read",
    "monthly_counts": "read",
    "BATCH_ROWS": "recount",
    "Progress": "recount",
    "VolumeError": "recount",
    "RefreshFailedError": "refreshing",
    "RefreshResult": "refreshing",
    "refresh": "refreshing",
    "MAX_DELTAS": "state",
    "PARTS_DIR": "state",
    "STATE": "state",
    "STATE_FORMAT": "state",
    "TOTAL_COLUMNS": "state",
    "VOLUME_COLUMNS": "state",
    "VOLUMES_DIR": "state",
    "Days": "state",
    "MonthEntry": "state",
    "VolumeEntry": "state",
    "VolumeState": "state",
    "is_fresh": "state",
    "month_days": "state",
    "month_key": "state",
    "read_state": "state",
    "stale_partitions": "state",
    "volumes_dir": "state",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "BATCH_ROWS",
    "Days",
    "MAX_DELTAS",
    "MonthEntry",
    "PARTS_DIR",
    "Progress",
    "RefreshFailedError",
    "RefreshResult",
    "STATE",
    "STATE_FORMAT",
    "TOTAL_COLUMNS",
    "VOLUMES_DIR",
    "VOLUME_COLUMNS",
    "VolumeEntry",
    "VolumeError",
    "VolumeState",
    "count",
    "create_daily_view",
    "is_fresh",
    "month_days",
    "month_key",
    "monthly_counts",
    "read_state",
    "refresh",
    "stale_partitions",
    "volumes_dir",
]
