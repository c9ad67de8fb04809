"""DuckDB vs Spark local mode, the same named queries over the same store, in one run.

On a store (default /tmp/spark-bench; built 2019-01-01..2021-12-31, about 10M rows, if absent):

  spark start     import pyspark + start the process's SparkSession (local[*] by default)
  engine open     open an engine: DuckDB connection / Spark child session, `cad` over the files
  check           count_scope.sql for Lambeth on 2020-06-25 (what `costplan check` runs when it
                  counts from the partitions); engine open + query
  check, tag      count_scope.sql for Lambeth, all of 2020, tag UME
  summary         GROUP BY borough, London day over the whole archive: volume_counts.sql as the
                  view daily_volume, then summary_volumes.sql (period day, by borough): exactly
                  what `costplan summary --engine spark --period day --by borough` runs
  summary, table  DuckDB only: the same summary from the materialised daily volume table
                  (`costplan summary refresh` first), the default DuckDB path
  process         `costplan check` as a whole process (Python, imports, JVM start for Spark)

Median of N runs after one untimed warm-up (the warm-up is reported as "first"); page cache
warm. Note the load average printed at the top: Spark local mode shares the cores. Run:

    .venv/bin/python bench/bench_engines.py --store /tmp/spark-bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from costplan.engines import choose, volumes
from costplan.store import Snapshot, Store
from costplan.summary import summarise

ROOT = Path(__file__).resolve().parent.parent
BOROUGH, DAY = "Lambeth", dt.date(2020, 6, 25)
SUMMARY = {
    "period": "day",
    "by_borough": True,
    "by_call_source": False,
    "date_from": None,
    "date_to": None,
}


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(first run, median of `runs` further runs, last result) in seconds."""
    t = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return first, statistics.median(times), result


def check_once(snap: Snapshot, engine: str, master: str, year_tag: bool = False) -> int:
    if year_tag:
        d0, d1, tags = dt.date(2020, 1, 1), dt.date(2020, 12, 31), ["UME"]
    else:
        d0, d1, tags = DAY, DAY, []
    with choose(engine, spark_master=master).open(snap, boroughs=[BOROUGH], years=[d0.year]) as eng:
        return int(
            eng.scalar(
                "count_scope",
                boroughs=[BOROUGH],
                date_from=d0,
                date_to=d1,
                day_to=d1,
                minute_from=None,
                minute_to=None,
                tags=tags,
            )
        )


def summary_once(snap: Snapshot, engine: str, master: str) -> int:
    with choose(engine, spark_master=master).open(snap) as eng:
        eng.create_view("daily_volume", "volume_counts")
        return eng.frame("summary_volumes", **SUMMARY).height


def process_check(store: Path, engine: str, master: str) -> None:
    # This checkout's costplan, whatever the virtualenv has installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "costplan", "check", "--borough", BOROUGH]
        + ["--date", DAY.isoformat(), "--store", str(store), "--engine", engine]
        + ["--spark-master", master],
        check=True,
        capture_output=True,
        env=env,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, default=Path("/tmp/spark-bench"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--process-runs", type=int, default=3)
    ap.add_argument("--master", default="local[*]")
    ap.add_argument(
        "--engines", default="duckdb,spark", help="comma list (the smoke run: duckdb only)"
    )
    args = ap.parse_args()
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    exe = Path(sys.executable).with_name("costplan")
    if not (args.store / "manifest.json").exists():
        subprocess.run(
            [str(exe), "generate", "--store", str(args.store)]
            + ["--start", "2019-01-01", "--end", "2021-12-31"],
            check=True,
        )
    store = Store.open(args.store)
    snap = store.snapshot()
    print(
        f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"# store {args.store}: {snap.total_rows:,} rows, {len(snap.partitions)} partitions")
    print(f"# median of {args.runs} runs after one warm-up; Spark master {args.master}")
    print()
    print("| measurement | engine | first s | median s | result |")
    print("|---|---|---|---|---|")

    def row(name: str, engine: str, first: float, median: float, result: Any) -> None:
        print(f"| {name} | {engine} | {first:.3f} | {median:.3f} | {result} |", flush=True)

    if "spark" in engines:
        # Spark start-up happens once per process: time it once, before anything else uses it.
        t = time.perf_counter()
        from costplan.engines.spark_engine import get_session

        get_session(args.master)
        start = time.perf_counter() - t
        row("spark start (import + SparkSession)", "spark", start, start, "")

    for engine in engines:

        def open_only(engine: str = engine) -> int:
            with choose(engine, spark_master=args.master).open(snap) as eng:
                return len(eng.files)

        row("engine open (all files)", engine, *timed(open_only, args.runs))
    for engine in engines:
        row(
            "check: 1 borough-day",
            engine,
            *timed(lambda e=engine: check_once(snap, e, args.master), args.runs),
        )
    for engine in engines:
        row(
            "check: 1 borough-year, tag UME",
            engine,
            *timed(lambda e=engine: check_once(snap, e, args.master, True), args.runs),
        )
    for engine in engines:
        first, median, groups = timed(
            lambda e=engine: summary_once(snap, e, args.master), args.runs
        )
        row("summary: GROUP BY borough, day (from partitions)", engine, first, median, groups)

    volumes.refresh(store)  # no-op when already fresh
    first, median, res = timed(
        lambda: len(summarise(store, period="day", by=["borough"]).cells), args.runs
    )
    row("summary: GROUP BY borough, day (volume table)", "duckdb", first, median, res)

    for engine in engines:
        row(
            "process: costplan check (DuckDB: volume table fresh)",
            engine,
            *timed(lambda e=engine: process_check(args.store, e, args.master), args.process_runs),
        )


if __name__ == "__main__":
    main()
