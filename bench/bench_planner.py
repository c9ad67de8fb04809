"""Planner speed, measured in one run beside the raw DuckDB floor over the same files.

On a store (default: build 2019-01-01..2021-12-31, about 10M rows, unless --store exists):

  floor    raw DuckDB count of one borough-day over the same file (fresh connection, no costplan)
  engine   costplan's query time for `check`: Engine (manifest-pruned file list) + count_scope.sql
  check    `costplan check` as a whole process (Python start, imports, query, render)
  plan     `costplan plan examples/ume-raves-2020.toml` as a whole process

Median of N runs after one warm-up; page cache warm. Run:

    .venv/bin/python bench/bench_planner.py --store /tmp/costplan-layout-bench/store
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

import duckdb
from timing import median_time  # bench/timing.py

from costplan.engines.duckdb_engine import Engine
from costplan.store import Store

ROOT = Path(__file__).resolve().parent.parent
BOROUGH, DAY = "Lambeth", dt.date(2020, 6, 25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, default=Path("/tmp/costplan-layout-bench/store"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    exe = Path(sys.executable).with_name("costplan")
    if not (args.store / "manifest.json").exists():
        subprocess.run(
            [
                str(exe),
                "generate",
                "--store",
                str(args.store),
                "--start",
                "2019-01-01",
                "--end",
                "2021-12-31",
            ],
            check=True,
        )
    snap = Store.open(args.store).snapshot()
    files = snap.files([BOROUGH], [DAY.year])

    def floor() -> int:
        con = duckdb.connect()
        try:
            rel = con.read_parquet(files, hive_partitioning=True)
            rel.create_view("cad")
            return con.execute(
                "SELECT count(*) FROM cad WHERE borough = $b AND day = $d",
                {"b": BOROUGH, "d": DAY},
            ).fetchall()[0][0]
        finally:
            con.close()

    def engine() -> int:
        with Engine(snap, boroughs=[BOROUGH], years=[DAY.year]) as eng:
            return eng.scalar(
                "count_scope",
                boroughs=[BOROUGH],
                date_from=DAY,
                date_to=DAY,
                day_to=DAY,
                minute_from=None,
                minute_to=None,
                tags=[],
            )

    def process(argv: list[str]) -> str:
        return subprocess.run(
            [str(exe), *argv], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout

    t_floor, n_floor = median_time(floor, args.runs)
    t_engine, n_engine = median_time(engine, args.runs)
    assert n_floor == n_engine, (n_floor, n_engine)
    check_args = [
        "check",
        "--borough",
        BOROUGH,
        "--date",
        DAY.isoformat(),
        "--store",
        str(args.store),
    ]
    t_check, out = median_time(lambda: process(check_args), args.runs)
    plan_args = ["plan", "examples/ume-raves-2020.toml", "--store", str(args.store)]
    t_plan, _ = median_time(lambda: process(plan_args), args.runs)
    t_import, _ = median_time(
        lambda: subprocess.run([sys.executable, "-c", "import costplan.cli"], check=True),
        args.runs,
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}; store {snap.total_rows:,} "
        f"rows in {len(snap.partitions)} partitions; median of {args.runs}"
    )
    print()
    print("| measurement | median s |")
    print("|---|---|")
    print(f"| raw DuckDB count, {BOROUGH} {DAY} (floor), result {n_floor} | {t_floor:.4f} |")
    print(f"| costplan Engine + count_scope.sql (check's query time) | {t_engine:.4f} |")
    print(f"| ratio engine / floor | {t_engine / t_floor:.2f} |")
    print(f"| `python -c 'import costplan.cli'` | {t_import:.3f} |")
    print(f"| `costplan check` whole process | {t_check:.3f} |")
    print(f"| `costplan plan examples/ume-raves-2020.toml` whole process | {t_plan:.3f} |")
    print()
    print(out.splitlines()[0])


if __name__ == "__main__":
    main()
