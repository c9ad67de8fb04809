"""The cad_ref keys an ingest has staged so far, checked against each new batch at a cost per
row that does not grow with the ingest.

Before, each batch concatenated every key seen so far and joined against it: a 50 M-row
ingest rebuilt a hash table of up to 50 M keys fifty times (issue 16). Here the keys live in
sorted runs whose sizes halve from the oldest to the newest, as a binary counter: adding a
batch merges it with the runs no larger than it, so a key is merged about log2(ingest/batch)
times in all; a lookup is one binary search per run (at most that many runs). Memory is the
keys themselves (8 bytes a row for MPS references, whose key is an Int64; the reference text
for other forces), with no copy of them all per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class KeyIndex:
    """A set of keys (one dtype, no nulls) that grows by batches."""

    runs: list[pl.Series] = field(default_factory=list)  # each sorted, sizes decreasing

    def __bool__(self) -> bool:
        return bool(self.runs)

    def __len__(self) -> int:
        return sum(r.len() for r in self.runs)

    def add(self, keys: pl.Series) -> None:
        """Add keys (unique among themselves and new to the index, as an ingest stages them)."""
        run = keys.drop_nulls().sort()
        if run.is_empty():
            return
        while self.runs and self.runs[-1].len() <= run.len():
            run = pl.concat([self.runs.pop(), run]).sort()
        self.runs.append(run.rechunk())

    def contains(self, keys: pl.Series) -> pl.Series:
        """A boolean mask: True where the key is in the index."""
        hit = pl.Series("hit", [False] * keys.len(), pl.Boolean())
        for run in self.runs:
            at = run.search_sorted(keys, side="left").cast(pl.Int64)
            inside = at < run.len()
            found = run.gather(at.clip(upper_bound=run.len() - 1)) == keys
            hit = hit | (inside & found).fill_null(False)
        return hit
