"""The data tree's housekeeping: replaced files move to retired/, a killed writer's go.

Split from store/transaction.py (which calls these under the writer lock) to keep that module
to the size the house allows.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from costplan._files import inside
from costplan.store.manifest import DATA_DIR, RETIRED_DIR, retired_path


def parquet_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.parquet")) if directory.exists() else []


def retire(root: Path, paths: Iterable[str]) -> None:
    """Move replaced files from data/ to retired/ (one rename each, inside the store)."""
    for rel in paths:
        src, moved = inside(root, rel), retired_path(rel)
        dst = inside(root, moved) if moved else None
        if src is None or dst is None or not src.exists():
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        except OSError:
            # After the commit point a failure must not fail the commit (on Windows a file a
            # reader holds open cannot be renamed): the next writer moves it (tidy_data_tree).
            continue


def tidy_data_tree(root: Path, live: set[str], waiting: set[str]) -> None:
    """Make data/ hold exactly the manifest's files: a replaced file still in its grace period
    moves to retired/, anything else not in the manifest (a killed writer's) is deleted; in
    retired/, whatever no entry waits for is deleted."""
    for path in parquet_files(root / DATA_DIR):
        rel = path.relative_to(root).as_posix()
        if rel in live:
            continue
        if rel in waiting:
            retire(root, [rel])
        else:
            with contextlib.suppress(OSError):  # held open (Windows): the next writer
                path.unlink(missing_ok=True)
    wanted = {retired_path(p) for p in waiting}
    for path in parquet_files(root / RETIRED_DIR):
        rel = path.relative_to(root).as_posix()
        if rel not in wanted:
            path.unlink(missing_ok=True)
