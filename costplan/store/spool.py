"""Rows written in order, held in memory up to a bound and on the staging disk past it.

An ingest's refused rows, the lines DuckDB's CSV reader rejected and a transaction's
quarantined rows can be every row of an export, and each holds its raw values (about 350
bytes). A spool keeps at most QUARANTINE_SPILL_ROWS of them in memory; past that it writes
what it holds to its directory (Arrow IPC, LZ4), so they are read back a chunk at a time, or
streamed (`lazy`) into the file they end in. The directory is inside a transaction's staging
area, which the transaction removes however it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from costplan.store.faults import writing
from costplan.store.manifest import QUARANTINE_SPILL_ROWS


class Spool:
    """Frames appended in order: held up to QUARANTINE_SPILL_ROWS rows, then spilled to
    `directory` (under the store at `root`, whose write faults are StoreErrors)."""

    def __init__(self, root: Path, directory: Path, *, name: str = "") -> None:
        self.name = name
        self.rows = 0  # appended in all
        self._root = root
        self._dir = directory
        self._held: list[pl.DataFrame] = []
        self._held_rows = 0
        self._spilled: list[Path] = []

    def append(self, frame: pl.DataFrame) -> None:
        self._held.append(frame)
        self._held_rows += frame.height
        self.rows += frame.height
        if self._held_rows >= QUARANTINE_SPILL_ROWS:
            path = self._dir / f"{len(self._spilled):06d}.arrow"
            with writing(self._root):
                path.parent.mkdir(parents=True, exist_ok=True)
                pl.concat(self._held).write_ipc(path, compression="lz4")
            self._spilled.append(path)
            self._held, self._held_rows = [], 0

    def __bool__(self) -> bool:
        return bool(self._held or self._spilled)

    def values(self, column: str) -> np.ndarray:
        """Every value of one integer column, in order (8 bytes a row)."""
        parts = [pl.read_ipc(p, columns=[column]) for p in self._spilled]
        parts += [f.select(column) for f in self._held]
        if not parts:
            return np.zeros(0, np.int64)
        return pl.concat(parts)[column].to_numpy().astype(np.int64)

    def chunks(self, by: str) -> Iterator[pl.DataFrame]:
        """The rows a chunk at a time, each sorted by `by` (appended in order of `by`, each
        chunk's rows then come after the last chunk's)."""
        for path in self._spilled:
            yield pl.read_ipc(path).sort(by)
        if self._held:
            yield pl.concat(self._held).sort(by)

    def lazy(self) -> pl.LazyFrame:
        """Every row in the order appended, to stream into a file (`sink_parquet`)."""
        parts = [pl.scan_ipc(self._spilled)] if self._spilled else []
        if self._held:
            parts.append(pl.concat(self._held).lazy())
        return pl.concat(parts)
