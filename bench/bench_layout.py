"""Choose the store layout by measurement: the two queries that matter, on several layouts.

Builds a synthetic archive (default 2019-01-01..2021-12-31, about 10M rows) with the real
`costplan generate` path (timed: generation rate and peak RSS), then copies the same rows into
other hive layouts with DuckDB and times, on each layout, with a fresh DuckDB connection:

  (a) one borough-day count      count(*) WHERE borough = ? AND day = ?
  (d) per-borough per-day counts GROUP BY borough, day over the whole archive

Median of 5 runs after one warm-up. Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/bench_layout.py --out /tmp/layout-bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

BOROUGH = "Camden"
DAY = dt.date(2020, 6, 25)


RUNS = 5  # --runs


def timed(fn, runs: int | None = None) -> tuple[float, object]:
    runs = RUNS if runs is None else runs
    fn()
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def build(store: Path, start: str, end: str) -> tuple[float, int, float]:
    """Run the real CLI; return (seconds, rows, peak RSS MB) of the whole process."""
    shutil.rmtree(store, ignore_errors=True)
    exe = Path(sys.executable).with_name("costplan")
    t = time.perf_counter()
    out = subprocess.run(
        [
            str(exe),
            "generate",
            "--store",
            str(store),
            "--start",
            start,
            "--end",
            end,
            "--format",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t
    import json

    rows = json.loads(out.stdout)["rows"]
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, rows, rss


def layouts(store: Path, work: Path) -> dict[str, str]:
    """Copy the archive into other layouts; return name -> glob."""
    src = str(store / "data" / "*" / "*" / "*.parquet")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/London'")
    base = con.read_parquet(src, hive_partitioning=True)
    base.create_view("src")
    out = {"borough/year (costplan store)": src}
    specs = {
        "year/month": ("year, month", "*/*/*.parquet"),
        "borough/year/month": ("borough, year, month", "*/*/*/*.parquet"),
    }
    for name, (keys, glob) in specs.items():
        target = work / name.replace("/", "_")
        shutil.rmtree(target, ignore_errors=True)
        rel = con.sql("SELECT *, month(day) AS month FROM src ORDER BY created_at")
        rel.write_parquet(str(target), partition_by=[k.strip() for k in keys.split(",")])
        out[name] = str(target / glob)
    con.close()
    return out


def query_times(glob: str) -> tuple[float, float, int, int]:
    def run(sql: str, params: dict | None = None):
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'Europe/London'")
            rel = con.read_parquet(glob, hive_partitioning=True)
            rel.create_view("cad")
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()

    a_sql = "SELECT count(*) FROM cad WHERE borough = $b AND year = $y AND day = $d"
    params = {"b": BOROUGH, "y": DAY.year, "d": DAY}
    ta, ra = timed(lambda: run(a_sql, params))
    td, rd = timed(lambda: run("SELECT borough, day, count(*) FROM cad GROUP BY ALL"))
    return ta, td, ra[0][0], len(rd)


def engine_time(store: Path) -> tuple[float, int]:
    """costplan's own path for (a): manifest-pruned file list + the count_scope query."""
    from costplan.engines.duckdb_engine import Engine
    from costplan.store import Store

    snap = Store.open(store).snapshot()

    def run() -> int:
        with Engine(snap, boroughs=[BOROUGH], years=[DAY.year]) as engine:
            return engine.scalar(
                "count_scope",
                boroughs=[BOROUGH],
                date_from=DAY,
                date_to=DAY,
                day_to=DAY,
                minute_from=None,
                minute_to=None,
                tags=[],
            )

    return timed(run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("/tmp/costplan-layout-bench"))
    ap.add_argument("--start", default="2019-01-01")
    ap.add_argument("--end", default="2021-12-31")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    global RUNS  # noqa: PLW0603  (one setting for every timing of this run)
    RUNS = args.runs
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "store"
    secs, rows, rss = build(store, args.start, args.end)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}"
    )
    print(
        f"generate: {rows:,} rows in {secs:.2f} s = {rows / secs:,.0f} rows/s "
        f"(whole process), peak RSS {rss:,.0f} MB"
    )
    print()
    print(
        "| layout | files | (a) borough-day count, median s "
        "| (d) per-borough per-day, median s | (a) result | (d) groups |"
    )
    print("|---|---|---|---|---|---|")
    for name, glob in layouts(store, args.out).items():
        files = len(list(Path("/").glob(glob.lstrip("/"))))
        ta, td, ra, nd = query_times(glob)
        print(f"| {name} | {files} | {ta:.4f} | {td:.4f} | {ra} | {nd} |")
    te, re_ = engine_time(store)
    print(
        "| borough/year via costplan Engine (manifest file list, count_scope.sql) | 1 "
        f"| {te:.4f} | | {re_} | |"
    )


if __name__ == "__main__":
    main()
