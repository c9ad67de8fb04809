"""The cad_ref keys an ingest has staged so far, checked against each new batch at a cost per
row that does not grow with the ingest, in memory that does not grow with it either.

Before, each batch concatenated every key seen so far and joined against it: a 50 M-row
ingest rebuilt a hash table of up to 50 M keys fifty times (issue 16). Here the keys live in
sorted runs whose sizes halve from the oldest to the newest, as a binary counter: adding a
batch merges it with the runs no larger than it, so a key is merged about log2(ingest/batch)
times in all; a lookup is one binary search per run (at most that many runs).

Every key is 8 bytes: MPS references are keyed by an Int64 already (day and serial); other
forces' text keys by their 64-bit hash, so the index can answer "maybe" for a text key it
never saw (a collision, about 2^-64 a pair) and the caller must confirm a hit against the staged
row itself (ingest.run does). Once the runs in memory hold more than `memory_keys` keys they
are merged into one run written under `spill_dir` (the transaction's staging area) and read
back memory-mapped; each spilled run keeps its smallest and largest key in memory, and a
lookup searches a run only for the keys inside that range. An export in time order makes
each batch's keys larger than every earlier one, so the spilled runs are never read at all;
an export in random order reads their pages (clean file pages the kernel may drop, not the
process's own memory). Memory held: at most `memory_keys` keys (32 MiB at the default) plus
16 bytes a spilled run (one run a `memory_keys`, about 12 at 50 M rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

# Keys held in memory before the runs are merged and written to disk: 4 M keys = 32 MiB.
MEMORY_KEYS = 1 << 22


@dataclass
class _Spilled:
    """A sorted run on disk: its file, the memory map, its smallest and largest key."""

    path: Path
    keys: np.ndarray
    lo: int
    hi: int


@dataclass
class KeyIndex:
    """A set of keys (one dtype, Int64 or text; nulls ignored) that grows by batches.

    With a `spill_dir`, memory is bounded by `memory_keys` keys; without one (a test, a tiny
    ingest) every run stays in memory.
    """

    spill_dir: Path | None = None
    memory_keys: int = MEMORY_KEYS
    runs: list[np.ndarray] = field(default_factory=list)  # in memory: sorted, sizes decreasing
    spilled: list[_Spilled] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.runs) or bool(self.spilled)

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs) + sum(len(s.keys) for s in self.spilled)

    def add(self, keys: pl.Series) -> None:
        """Add keys (unique among themselves and new to the index, as an ingest stages them).

        May write a run to `spill_dir` (the caller words a disk error: store.writing).
        """
        run = _sorted(_ints(keys.drop_nulls()))
        if not len(run):
            return
        while self.runs and len(self.runs[-1]) <= len(run):
            run = _merge(self.runs.pop(), run)
        self.runs.append(run)
        if self.spill_dir is not None and sum(len(r) for r in self.runs) > self.memory_keys:
            self._spill(self.spill_dir)

    def _spill(self, directory: Path) -> None:
        """Merge the runs in memory into one run on disk and map it back."""
        run = self.runs[0]
        for other in self.runs[1:]:
            run = _merge(run, other)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"keys-{len(self.spilled):05d}.npy"
        np.save(path, run)
        mapped = np.load(path, mmap_mode="r")
        self.spilled.append(_Spilled(path, mapped, int(run[0]), int(run[-1])))
        self.runs = []

    def contains(self, keys: pl.Series) -> pl.Series:
        """A boolean mask: True where the key is in the index (null keys: False).

        For text keys True means "maybe": confirm against the staged rows.
        """
        nulls = keys.is_null().to_numpy()
        probe = _ints(keys)
        hit = np.zeros(len(probe), dtype=bool)
        for run, lo, hi in self._all_runs():
            inside = np.flatnonzero((probe >= lo) & (probe <= hi))
            if not len(inside):
                continue  # this run's range misses every key asked: its pages stay unread
            sub = probe[inside]
            at = np.minimum(np.searchsorted(run, sub, side="left"), len(run) - 1)
            hit[inside[run[at] == sub]] = True
        return pl.Series("hit", hit & ~nulls, pl.Boolean())

    def _all_runs(self) -> list[tuple[np.ndarray, int, int]]:
        found = [(s.keys, s.lo, s.hi) for s in self.spilled]
        return found + [(r, int(r[0]), int(r[-1])) for r in self.runs]


def _ints(keys: pl.Series) -> np.ndarray:
    """Keys as Int64: MPS keys as they are, text keys by their hash (nulls as 0)."""
    if keys.dtype != pl.Int64:
        keys = keys.cast(pl.String).hash(seed=0).reinterpret(signed=True)
    return keys.fill_null(0).to_numpy()


def _sorted(keys: np.ndarray) -> np.ndarray:
    """The keys sorted; MPS keys of an export in time order come sorted (day, then serial)."""
    if len(keys) < 2 or bool((keys[1:] >= keys[:-1]).all()):
        return keys
    return np.sort(keys)


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted runs as one. Runs of an export in time order do not overlap: a copy."""
    if a[-1] < b[0]:
        return np.concatenate([a, b])
    if b[-1] < a[0]:
        return np.concatenate([b, a])
    # Overlapping runs: the stable sort (a merge sort) finds the two runs and merges them.
    return np.sort(np.concatenate([a, b]), kind="stable")
