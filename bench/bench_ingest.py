"""Benchmark `costplan ingest` on a generated CSV export: rows per second, end to end.

Usage: .venv/bin/python bench/bench_ingest.py [--start 2021-01-01] [--end 2021-05-31] [--runs 3]
       [--keep DIR] [--reingest]

Rows come from costplan.synth.generate (realistic CAD rows) and are written as a force would
export them: a UTF-8 CSV with naive Europe/London timestamps ("%Y-%m-%d %H:%M:%S"), tags and
linked_to joined with ";". Each run ingests the file into a fresh, empty store and times the
whole ingest() call: pre-flight (sha256, encoding, header), DuckDB parsing, validation,
staging and the commit (partition merge and manifest swap). --reingest also times a second
ingest of the same file into the filled store (every row a duplicate). No assertions: this
prints figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from costplan import synth
from costplan.ingest import ingest


def export_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Generated rows as a force exports them (naive London times, lists joined with ";")."""
    return frame.select(
        "cad_ref",
        pl.col("created_at")
        .dt.convert_time_zone("Europe/London")
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        .alias("created_at"),
        "borough",
        "call_source",
        "grading",
        "opening_code",
        "closing_code",
        pl.col("tags").list.join(";").alias("tags"),
        pl.col("linked_to").list.join(";").alias("linked_to"),
        "summary",
    )


def write_export(path: Path, start: dt.date, end: dt.date, seed: int = 7) -> int:
    """Write synthetic CAD rows as a CSV export; returns the number of rows."""
    export = pl.concat([export_columns(f) for f in synth.generate(start, end, seed=seed)])
    export.write_csv(path)
    return export.height


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    """Generate the export, time the runs, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2021, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2021, 5, 31))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Work in this directory and keep it.")
    parser.add_argument("--reingest", action="store_true", help="Also time a re-ingest.")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="costplan-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / "export.csv"
    t0 = time.perf_counter()
    rows = write_export(csv_path, args.start, args.end)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"export: {rows:,} rows, {size_mb:,.1f} MB ({time.perf_counter() - t0:.1f} s to write)")
    print(f"machine: {_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}")

    times = []
    store = work / "store"
    for i in range(args.runs):
        shutil.rmtree(store, ignore_errors=True)
        began = time.perf_counter()
        report = ingest(store, [csv_path])
        seconds = time.perf_counter() - began
        assert report.rows_read == rows, (report.rows_read, rows)
        times.append(seconds)
        print(
            f"run {i + 1}: {seconds:.3f} s, stored {report.stored:,}, quarantined "
            f"{report.quarantined:,}, {rows / seconds:,.0f} rows/s"
        )
    median, best = statistics.median(times), min(times)
    print(f"median: {median:.3f} s = {rows / median:,.0f} rows/s end to end")
    print(f"best:   {best:.3f} s = {rows / best:,.0f} rows/s end to end")
    # Other processes on a small machine skew timings: say how busy it was.
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if args.reingest:
        began = time.perf_counter()
        report = ingest(store, [csv_path])
        seconds = time.perf_counter() - began
        print(
            f"re-ingest: {seconds:.3f} s, duplicates {report.duplicates:,}, "
            f"{rows / seconds:,.0f} rows/s"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS: {peak_mb:,.0f} MB")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
