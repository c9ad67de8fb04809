"""Benchmark costplan.synth.generate: rows per second and peak RSS.

Usage: .venv/bin/python bench/bench_generate.py [--start 2019-01-01] [--end 2021-12-31] [--runs 3]

Each run consumes the whole iterator (frames are dropped as they come, as a store would write
them); generate() draws the next month on one worker thread meanwhile. Reports the median wall
time of the runs; the calibration is loaded (and the text tables built) by an untimed warm-up
on one day first. Peak RSS is the whole process's. No assertions: this prints figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import time

from costplan import synth


def _run(start: dt.date, end: dt.date, calibration: synth.Calibration) -> tuple[float, int, int]:
    began = time.perf_counter()
    rows = frames = 0
    for frame in synth.generate(start, end, calibration=calibration):
        rows += frame.height
        frames += 1
    return time.perf_counter() - began, rows, frames


def main() -> None:
    """Parse arguments, time the runs, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2019, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2021, 12, 31))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    calibration = synth.load_calibration()
    _run(args.start, args.start, calibration)  # warm-up: tables, holidays, first-call costs

    times = []
    rows = frames = 0
    for i in range(args.runs):
        seconds, rows, frames = _run(args.start, args.end, calibration)
        times.append(seconds)
        print(f"run {i + 1}: {seconds:.3f} s, {rows:,} rows, {frames} frames, "
              f"{rows / seconds:,.0f} rows/s")  # fmt: skip
    median = statistics.median(times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"range {args.start}..{args.end}: {rows:,} rows in {frames} monthly frames")
    print(f"median of {args.runs}: {median:.3f} s = {rows / median:,.0f} rows/s")
    print(f"peak RSS: {peak_mb:,.0f} MiB (python {platform.python_version()}, "
          f"{platform.machine()}, {_cpus()} CPUs)")  # fmt: skip


def _cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
