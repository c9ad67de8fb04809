"""Benchmark reads against the number of files per partition (the compaction threshold).

Usage: .venv/bin/python bench/bench_files.py [--start 2020-01-01] [--end 2020-12-31]
       [--files 1 8 16 32 64] [--runs 5] [--workdir DIR]

Every append adds a file to each partition it writes to, so a partition a nightly ingest
feeds holds one more file each night until it is compacted. For each file count k this
builds the same synthetic rows (costplan.synth.generate) into a fresh store in k commits of
consecutive day ranges (so every partition holds k files, as after k - 1 nightly appends),
then times, through the costplan Engine with a fresh DuckDB connection each time (opening
included), (a) one borough-day count and (b) per-borough per-day counts over the whole store.
Medians of --runs; also each figure's ratio to k = 1, from the same run. No assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from costplan import synth
from costplan.engines.duckdb_engine import Engine
from costplan.store import Store, transaction


def build(root: Path, frame: pl.DataFrame, k: int) -> Store:
    """A store of `frame`'s rows written in k commits of consecutive day ranges."""
    shutil.rmtree(root, ignore_errors=True)
    store = Store.open(root, create=True)
    days = frame["day"].unique().sort()
    bounds = [days[len(days) * i // k] for i in range(k)] + [None]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        part = frame.filter(pl.col("day") >= lo)
        if hi is not None:
            part = part.filter(pl.col("day") < hi)
        with store.writer() as txn:
            txn.add(part)
            txn.commit()
    return store


def timed(store: Store, sql: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        with Engine(store.snapshot()) as eng:
            eng.query(sql)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2020, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2020, 12, 31))
    parser.add_argument("--files", type=int, nargs="+", default=[1, 8, 16, 32, 64])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="Work here and keep the stores.")
    args = parser.parse_args()

    # Every store built here holds exactly k files a partition: no automatic compaction.
    transaction.COMPACT_FILES = max(args.files) + 1
    work = args.workdir or Path(tempfile.mkdtemp(prefix="costplan-bench-files-"))
    work.mkdir(parents=True, exist_ok=True)
    frame = pl.concat(list(synth.generate(args.start, args.end, seed=2020)))
    day = args.start + (args.end - args.start) // 2
    one_day = (
        "SELECT count(*) FROM cad WHERE borough = 'Camden' "
        f"AND year = {day.year} AND day = DATE '{day}'"
    )
    by_day = "SELECT borough, day, count(*) FROM cad GROUP BY borough, day"
    print(f"rows: {frame.height:,} ({args.start}..{args.end}); medians of {args.runs} runs")
    print(f"machine: {os.cpu_count()} cores, shared; load average {os.getloadavg()[0]:.2f}")
    base: tuple[float, float] | None = None
    for k in args.files:
        store = build(work / f"k{k}", frame, k)
        files = sum(len(p.files) for p in store.snapshot().partitions.values())
        a, d = timed(store, one_day, args.runs), timed(store, by_day, args.runs)
        base = base or (a, d)
        print(
            f"{k:>3} files/partition ({files:,} files): (a) one borough-day {a * 1000:.1f} ms "
            f"({a / base[0]:.2f}x), (d) per-borough per-day {d * 1000:.1f} ms "
            f"({d / base[1]:.2f}x)"
        )
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
