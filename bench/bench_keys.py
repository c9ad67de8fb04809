"""Benchmark the ingest's check of each batch against the keys it staged before.

Usage: .venv/bin/python bench/bench_keys.py [--batches 20] [--batch-rows 1000000]

Keys as MPS references make them (Int64: the London day times a constant plus the serial),
in batches of consecutive days as an export arrives. For each batch, times the check the
ingest made before issue 16 (concatenate every key seen so far, semi-join and anti-join the
batch against it) beside the one it makes now (costplan.ingest.keys.KeyIndex: one binary
search per sorted run, then add the batch), in the same run. Prints the first and the last
batch's times and the totals: the old check grows with the keys seen, the new one should
not. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import os
import time

import polars as pl

from costplan.ingest.keys import KeyIndex

DAY = 100_000  # as ingest.values keys a reference: day * constant + serial


def batch(i: int, rows: int) -> pl.DataFrame:
    n = pl.int_range(i * rows, (i + 1) * rows, eager=True, dtype=pl.Int64)
    per_day = 9_000
    return pl.DataFrame({"_key": (n // per_day) * DAY + n % per_day + 1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"{args.batches} batches of {args.batch_rows:,} keys; {os.cpu_count()} cores, shared")

    old_seen: list[pl.Series] = []
    index = KeyIndex()
    old_t: list[float] = []
    new_t: list[float] = []
    for i in range(args.batches):
        good = batch(i, args.batch_rows)
        began = time.perf_counter()
        if old_seen:
            seen = pl.concat(old_seen).to_frame("_key")
            hit = good.join(seen, on="_key", how="semi")
            kept = good.join(seen, on="_key", how="anti")
        else:
            hit, kept = good.head(0), good
        old_seen.append(kept["_key"])
        old_t.append(time.perf_counter() - began)
        began = time.perf_counter()
        known = index.contains(good["_key"])
        hit2, kept2 = good.filter(known), good.filter(~known)
        index.add(kept2["_key"])
        new_t.append(time.perf_counter() - began)
        if hit.height != hit2.height or kept.height != kept2.height:
            print(f"batch {i + 1}: the two checks disagree")
    for label, t in (("before (concat + join)", old_t), ("KeyIndex", new_t)):
        print(
            f"{label}: first batch {t[0] * 1000:.0f} ms, last {t[-1] * 1000:.0f} ms, "
            f"total {sum(t):.2f} s"
        )
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
