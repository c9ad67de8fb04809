"""Benchmark automatic compaction over nightly ingests: tiered (the newest files) against whole.

Usage: .venv/bin/python bench/bench_compaction.py [--start 2024-07-01] [--end 2025-06-30]
       [--nights 33] [--workdir DIR] [--boroughs NAME ...] [--tiny]

Builds a history with the real `costplan generate`, copies it, and ingests the same nightly
exports (bench_ingest.write_export, one day each) into both copies with the real `costplan
ingest`, one process a night: one copy as costplan does it (an append past COMPACT_FILES
files merges the partition's newest files, costplan/store/tiers.py), the other with every
automatic compaction rewriting the whole partition (as before tiering). For each night it
prints the bytes each ingest wrote and marks the nights that compacted; then the totals and
the mean a night. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_nightly import _data_bytes, _env, _export, _files, _written

# Every automatic compaction merges every file of the partition (TIER_RATIO beyond any size).
_WHOLE = (
    "import sys\n"
    "from costplan.store import tiers\n"
    "tiers.TIER_RATIO = 10**15\n"
    "from costplan.cli import main\n"
    "sys.argv = ['costplan', *sys.argv[1:]]\n"
    "main()\n"
)


def _ingest(export: Path, store: Path, *, whole: bool) -> tuple[float, int, int]:
    """One nightly ingest as its own process: seconds, bytes written, files in the store."""
    head = [sys.executable, "-c", _WHOLE] if whole else [sys.executable, "-m", "costplan"]
    before = _files(store)
    began = time.perf_counter()
    subprocess.run(
        [*head, "ingest", str(export), "--store", str(store)],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - began
    after = _files(store)
    return seconds, _written(before, after), sum(1 for k in after if k.startswith("data/"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 7, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--nights", type=int, default=33, help="two compaction cycles and one")
    parser.add_argument("--workdir", type=Path, help="Work here and keep the stores.")
    parser.add_argument("--boroughs", nargs="*", help="Only these boroughs (default all 32).")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: 1 borough, 4 nights")
    args = parser.parse_args()
    if args.tiny:
        args.start, args.end, args.nights = dt.date(2020, 1, 1), dt.date(2020, 1, 5), 4
        args.boroughs = args.boroughs or ["Lambeth"]

    work = args.workdir or Path(tempfile.mkdtemp(prefix="costplan-bench-compaction-"))
    work.mkdir(parents=True, exist_ok=True)
    tiered, whole = work / "tiered", work / "whole"
    for d in (tiered, whole):
        shutil.rmtree(d, ignore_errors=True)
    gen = ["generate", "--store", str(tiered), "--start", str(args.start), "--end", str(args.end)]
    for b in args.boroughs or []:
        gen += ["--boroughs", b]
    subprocess.run(
        [sys.executable, "-m", "costplan", *gen],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    shutil.copytree(tiered, whole)
    print(f"history: {args.start}..{args.end}, {_data_bytes(tiered) / 1e6:,.1f} MB of Parquet")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    print("| night | rows | tiered: s | bytes | files | whole: s | bytes | files |")
    print("|---|---|---|---|---|---|---|---|")
    totals = {"tiered": 0, "whole": 0}
    for night in range(args.nights):
        day = args.end + dt.timedelta(days=night + 1)
        export, rows = _export(work, day, 300 + night, args.boroughs)
        t_s, t_b, t_f = _ingest(export, tiered, whole=False)
        w_s, w_b, w_f = _ingest(export, whole, whole=True)
        totals["tiered"] += t_b
        totals["whole"] += w_b
        print(
            f"| {night + 1} | {rows:,} | {t_s:.3f} | {t_b:,} | {t_f} | {w_s:.3f} | {w_b:,} |"
            f" {w_f} |"
        )
        export.unlink()
    n = max(args.nights, 1)
    print(
        f"written over {args.nights} nights: tiered {totals['tiered']:,} bytes "
        f"({totals['tiered'] / n / 1e6:.2f} MB a night), whole {totals['whole']:,} bytes "
        f"({totals['whole'] / n / 1e6:.2f} MB a night); whole / tiered "
        f"{totals['whole'] / max(totals['tiered'], 1):.2f}x"
    )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
