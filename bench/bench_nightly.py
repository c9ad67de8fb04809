"""Benchmark a nightly ingest: one new day into a multi-year store, bytes written and seconds.

Usage: .venv/bin/python bench/bench_nightly.py [--start 2015-07-01] [--end 2025-06-30]
       [--runs 3] [--workdir DIR] [--boroughs NAME ...]

Builds the history once with the real `costplan generate` (whole process), then for each run
ingests the next day's export (a CSV written as a force exports it, bench_ingest.write_export)
with the real `costplan ingest` (whole process): run 1 the day after --end, run 2 the day
after that, and so on, as a nightly job does. The default history ends mid-year, so the days
land in stored partitions. For each run it prints the seconds and the bytes the ingest wrote
into the store (files that are new or changed after it: data files, quarantine, manifest),
beside the day's own Parquet size (the same export ingested into an
empty store) and the ratio of the two; the goal is <= 2x.

Then it times `costplan compact` (what an ingest does on its own once a partition holds
COMPACT_FILES files, so once per that many nights), and for comparison in the same run
ingests one more day the way costplan did before appends (every partition the day adds rows
to rewritten whole: automatic compaction at one file). No assertions: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import write_export

ROOT = Path(__file__).resolve().parent.parent

# Ingest as before appends: every append to a stored partition rewrites it whole.
_REWRITING = (
    "import sys\n"
    "from costplan.store import transaction\n"
    "transaction.COMPACT_FILES = 1\n"
    "from costplan.cli import main\n"
    "sys.argv = ['costplan', *sys.argv[1:]]\n"
    "main()\n"
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _costplan(*args: str, rewriting: bool = False) -> float:
    """Run one costplan command as its own process; returns its wall-clock seconds."""
    head = [sys.executable, "-c", _REWRITING] if rewriting else [sys.executable, "-m", "costplan"]
    began = time.perf_counter()
    subprocess.run([*head, *args], check=True, env=_env(), stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _files(store: Path) -> dict[str, tuple[int, int, int]]:
    """Every file of the store but the writer's housekeeping: path -> (inode, mtime, size)."""
    out = {}
    for path in store.rglob("*"):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and not rel.startswith((".staging", ".lock")):
            st = path.stat()
            out[rel] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def _written(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> int:
    """Bytes of the files that are new or were rewritten (a replaced file moved to retired/
    keeps its inode and is not counted: a rename writes no data)."""
    moved = {v[0] for v in before.values()}
    return sum(v[2] for k, v in after.items() if before.get(k) != v and v[0] not in moved)


def _data_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in (store / "data").rglob("*.parquet"))


def _nightly(store: Path, export: Path, *, rewriting: bool = False) -> tuple[float, int]:
    before = _files(store)
    seconds = _costplan("ingest", str(export), "--store", str(store), rewriting=rewriting)
    return seconds, _written(before, _files(store))


def _export(work: Path, day: dt.date, seed: int, boroughs: list[str] | None) -> tuple[Path, int]:
    """One day's CSV export (of `boroughs` only, if given); returns it and its rows."""
    import polars as pl

    export = work / f"day-{day}.csv"
    rows = write_export(export, day, day, seed=seed)
    if boroughs:
        frame = pl.read_csv(export, infer_schema=False).filter(pl.col("borough").is_in(boroughs))
        frame.write_csv(export)
        rows = frame.height
    return export, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2015, 7, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="Work here and keep the store.")
    parser.add_argument("--boroughs", nargs="*", help="Only these boroughs (default all 32).")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="costplan-bench-nightly-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    gen = ["generate", "--store", str(store), "--start", str(args.start), "--end", str(args.end)]
    for b in args.boroughs or []:
        gen += ["--boroughs", b]
    seconds = _costplan(*gen)
    print(
        f"history: {args.start}..{args.end}, {_data_bytes(store) / 1e6:,.1f} MB of Parquet "
        f"({seconds:.1f} s to generate)"
    )
    print(f"machine: {os.cpu_count()} cores, shared; load average {os.getloadavg()[0]:.2f}")

    times, ratios = [], []
    for i in range(args.runs + 1):
        day = args.end + dt.timedelta(days=i + 1)
        rewriting = i == args.runs  # the last day: as before appends, for comparison
        if rewriting:
            before = _files(store)
            seconds = _costplan("compact", "--store", str(store))
            print(
                f"compact (every partition of 2+ files): {seconds:.3f} s, wrote "
                f"{_written(before, _files(store)):,} bytes"
            )
        export, rows = _export(work, day, 100 + i, args.boroughs)
        alone = work / f"alone-{day}"
        shutil.rmtree(alone, ignore_errors=True)
        _costplan("ingest", str(export), "--store", str(alone))
        own = _data_bytes(alone)
        shutil.rmtree(alone, ignore_errors=True)
        seconds, written = _nightly(store, export, rewriting=rewriting)
        label = "before appends (rewrite)" if rewriting else f"run {i + 1}"
        print(
            f"{label}: {day}, {rows:,} rows, {seconds:.3f} s, wrote {written:,} bytes; "
            f"the day alone {own:,} bytes; ratio {written / own:.2f}x"
        )
        if not rewriting:
            times.append(seconds)
            ratios.append(written / own)
        if i == args.runs - 1:
            print(
                f"median of {args.runs} appends: {statistics.median(times):.3f} s, "
                f"{statistics.median(ratios):.2f}x the day's own Parquet size"
            )
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
