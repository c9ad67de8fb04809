"""Which files an automatic compaction merges: the newest, size-tiered.

An ingest appends one file to each partition it adds rows to; past COMPACT_FILES files the
next append compacts the partition (costplan/store/transaction.py). Rewriting the whole
partition each time would rewrite a year's large file every sixteen nights for a few days of
rows; merging only the newest files, and an older one only once the merged files have grown
near its size, writes each row about log(size) times instead (as LSM stores' size-tiered
compaction does). `costplan compact` still merges everything.
"""

from __future__ import annotations

from collections.abc import Sequence

from costplan.store.manifest import TIER_RATIO, FileEntry


def tiered_files(files: Sequence[FileEntry], added: int) -> tuple[FileEntry, ...]:
    """The stored files an automatic compaction merges with `added` new rows: the newest
    half of `files` (so the next compaction is at least that many appends away), then older
    ones while each holds at most TIER_RATIO times the rows merged so far.

    `files` are in the order they were written (oldest first), so the merged ones are always
    the newest: what stays keeps its order, and the new file goes last. Nightly appends are
    small beside the year's first file, which is rewritten only once the merged files have
    grown to a TIER_RATIO-th of its size, not every time the partition fills up.
    """
    newest_first = list(reversed(files))
    k = max(1, len(files) // 2)
    total = added + sum(f.rows for f in newest_first[:k])
    while k < len(files) and newest_first[k].rows <= TIER_RATIO * total:
        total += newest_first[k].rows
        k += 1
    return tuple(files[len(files) - k :])
