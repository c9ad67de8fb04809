"""The daily volume table (issue 5): rebuild, incremental refresh and summaries, beside raw floors.

Builds a synthetic archive (costplan.synth, seed 2020) into a fresh store with
Transaction.add/commit, holding back the last days for the incremental runs, then measures:

  (1) full rebuild   volumes.refresh(full=True), in turns with a raw DuckDB GROUP BY borough, day
                     over the same files (fresh connection: the floor); a naive Polars full scan
                     doing the same, and raw DuckDB at the table's grain and at the grains
                     before (with grading, with tag sets), no writes
  (2) incremental    nightly ingest: commit one held-back day (all boroughs), then refresh
                     (by day: only that day is recounted), against counting the same
                     partitions whole; late file: one held-back day of one borough, then refresh
  (3) summary        `costplan summary --period month --by borough` as a whole process, with the
                     table fresh and with no table (every partition counted directly); and the
                     in-process fast path volumes.count() against a direct count

Median of --repeat runs after one untimed run (page cache warm). Prints figures, asserts nothing.

    .venv/bin/python -m compileall -q costplan   # as an installed package would have it
    .venv/bin/python bench/bench_summary.py --years 1
    .venv/bin/python bench/bench_summary.py --rows 10000000 --repeat 5
    .venv/bin/python bench/bench_summary.py --rows 50000000 --repeat 3 --workdir /data/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from tabulate import tabulate

from costplan.engines import volumes
from costplan.engines.duckdb_engine import Engine
from costplan.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEED = 2020


def timed(fn: Callable[[], Any], runs: int, *, warm: bool = True) -> tuple[float, float, Any]:
    """(median seconds, first run seconds, last result) over `runs` timed calls."""
    times = []
    result = None
    first = None
    if warm:
        t = time.perf_counter()
        result = fn()
        first = time.perf_counter() - t
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), first if first is not None else times[0], result


def wall_cpu(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every thread of this process) of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def build_archive(
    root: Path, start: dt.date, years: int | None, rows: int | None, hold: int
) -> tuple[Store, dict[dt.date, pl.DataFrame], float]:
    """Generate month by month into a new store; keep the last `hold` days out of it."""
    from costplan.synth import generate  # another engineer's module: import only when run

    end = (
        dt.date(start.year + years, start.month, start.day) - dt.timedelta(days=1)
        if years
        else None
    )
    store = Store.open(root, create=True)
    pending: list[pl.DataFrame] = []  # the newest month, until we know where the archive ends
    n = 0
    t0 = time.perf_counter()
    with store.writer() as txn:
        month = start
        while True:
            last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(1)
            if end is not None:
                last = min(last, end)
            frames = list(generate(month, last, seed=SEED))
            for f in pending:
                txn.add(f)
            pending = frames
            n += sum(f.height for f in frames)
            if (end is not None and last >= end) or (rows is not None and n >= rows):
                break
            month = last + dt.timedelta(days=1)
        tail = pl.concat(pending)
        cut = tail["day"].max() - dt.timedelta(days=hold)  # type: ignore[operator]
        txn.add(tail.filter(pl.col("day") <= cut))
        txn.commit()
    held = {
        day: part
        for (day,), part in tail.filter(pl.col("day") > cut)
        .partition_by("day", as_dict=True)
        .items()
    }
    return store, dict(sorted(held.items())), time.perf_counter() - t0


def commit(store: Store, frame: pl.DataFrame) -> float:
    t = time.perf_counter()
    with store.writer() as txn:
        txn.add(frame)
        txn.commit()
    return time.perf_counter() - t


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--rows", type=int, help="archive size in rows (whole months, at least)")
    size.add_argument("--years", type=int, help="archive length in years (default 1)")
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2019, 1, 1))
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median)")
    ap.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the store afterwards")
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = ap.parse_args()
    years = args.years if args.rows is None and args.years is not None else None
    if args.rows is None and args.years is None:
        years = 1
    reps = args.repeat
    work = Path(tempfile.mkdtemp(prefix="bench-summary-", dir=args.workdir))
    figures: list[tuple[str, str, Any]] = []
    out: dict[str, Any] = {"machine": f"{platform.platform()}, {os.cpu_count()} cpus"}

    def fig(section: str, what: str, value: Any) -> None:
        figures.append((section, what, value))
        out[f"{section}: {what}"] = value

    try:
        hold = 2 * reps + 1  # nightly days, late files, and one day for the process run
        store, held, build_s = build_archive(work / "store", args.start, years, args.rows, hold)
        snap = store.snapshot()
        files = snap.files()
        fig("archive", "rows", f"{snap.total_rows:,}")
        fig("archive", "partitions / files", f"{len(snap.partitions)} / {len(files)}")
        first_day = min(p.files[0].min_day for p in snap.select())
        last_day = max(p.files[0].max_day for p in snap.select())
        fig("archive", "London days", f"{first_day} .. {last_day} (+{len(held)} held back)")
        fig("archive", "store bytes", f"{dir_bytes(store.root / 'data'):,}")
        fig("archive", "generate + commit s", round(build_s, 1))

        # (1) full rebuild vs raw floors over the same files
        def duck(sql: str) -> int:
            con = duckdb.connect()
            con.execute("SET enable_progress_bar = false")
            rel = con.read_parquet(files, hive_partitioning=True)
            rel.create_view("cad")
            n = con.sql(sql).pl().height
            con.close()
            return n

        # The rebuild and its floor run in turns, each pair within a second, so both meet the
        # same load on a shared machine; the ratio is the median of the pairs' ratios. CPU
        # seconds (every thread of the process) are given too: they move less with the load.
        floor_sql = "SELECT borough, day, count(*) FROM cad GROUP BY ALL"
        t = time.perf_counter()
        volumes.refresh(store, full=True)
        first = time.perf_counter() - t
        n = duck(floor_sql)
        pairs = []
        for _ in range(reps):
            f = wall_cpu(lambda: duck(floor_sql))
            r = wall_cpu(lambda: volumes.refresh(store, full=True))
            pairs.append((f, r))
        med = statistics.median(r[0] for _, r in pairs)
        floor_s = statistics.median(f[0] for f, _ in pairs)
        table_rows = _table(store).height
        fig(
            "1 rebuild", "volumes.refresh(full=True) s (median / first)", f"{med:.3f} / {first:.3f}"
        )
        fig(
            "1 rebuild",
            "table rows / bytes",
            f"{table_rows:,} / {dir_bytes(volumes.volumes_dir(store.root)):,}",
        )
        fig("1 rebuild", "source rows per table row", round(snap.total_rows / table_rows, 1))
        fig("1 rebuild", "raw DuckDB GROUP BY borough, day s", f"{floor_s:.3f} ({n:,} groups)")
        ratio = statistics.median(r[0] / f[0] for f, r in pairs)
        cpu = statistics.median(r[1] for _, r in pairs) / statistics.median(f[1] for f, _ in pairs)
        fig(
            "1 rebuild",
            "rebuild / raw GROUP BY borough, day, in turns (goal <= 3): wall / CPU",
            f"{ratio:.2f} / {cpu:.2f}",
        )
        med, first, n = timed(
            lambda: (
                pl.scan_parquet(files, hive_partitioning=True)
                .group_by("borough", "day")
                .len()
                .collect()
                .height
            ),
            reps,
        )
        fig("1 rebuild", "naive Polars scan GROUP BY borough, day s", f"{med:.3f} ({n:,} groups)")
        same = work / "polars-same"

        def polars_same_table() -> int:
            """The same table, naively: Polars scan, group, one file per month."""
            shutil.rmtree(same, ignore_errors=True)
            same.mkdir()
            df = (
                pl.scan_parquet(files, hive_partitioning=True)
                .group_by(*volumes.VOLUME_COLUMNS[:-1])  # the table's grain
                .agg(pl.len().alias("n"))
                .with_columns(pl.col("day").dt.strftime("%Y-%m").alias("month"))
                .collect()
            )
            for (month,), part in df.partition_by("month", as_dict=True).items():
                part.drop("month").write_parquet(same / f"{month}.parquet", compression="zstd")
            return df.height

        med, first, n = timed(polars_same_table, reps)
        fig("1 rebuild", "naive Polars, the same table, written by month s", f"{med:.3f} ({n:,})")
        grain = ", ".join(volumes.VOLUME_COLUMNS[:-1])
        med, first, n = timed(lambda: duck(f"SELECT {grain}, count(*) FROM cad GROUP BY ALL"), reps)
        fig(
            "1 rebuild",
            f"raw DuckDB at the table's grain ({grain}), no writes s",
            f"{med:.3f} ({n:,} groups)",
        )
        four = "SELECT borough, day, call_source, grading, count(*) FROM cad GROUP BY ALL"
        med, first, n = timed(lambda: duck(four), reps)
        fig(
            "1 rebuild",
            "raw DuckDB with grading too (the grain before), no writes s",
            f"{med:.3f} ({n:,} groups)",
        )
        five = (
            "SELECT borough, day, call_source, grading, "
            "list_sort(list_distinct(coalesce(tags, []::VARCHAR[]))), count(*) "
            "FROM cad GROUP BY ALL"
        )
        med, first, n = timed(lambda: duck(five), reps)
        fig(
            "1 rebuild",
            "raw DuckDB, with tag sets (the former grain), no writes s",
            f"{med:.3f} ({n:,} groups)",
        )

        # (2) incremental refresh after new data: by day (the store records what each commit
        # added), against recounting the same partitions whole (the pre-day-granular path)
        days = list(held)
        nightly, late = days[:reps], days[reps:]
        ingest_s, refresh_s, whole_s, results = [], [], [], []
        for day in nightly:
            ingest_s.append(commit(store, held[day]))
            snap = store.snapshot()
            t = time.perf_counter()
            r = volumes.refresh(store)
            refresh_s.append(time.perf_counter() - t)
            results.append(r)
            changed = [snap.partitions[k] for k in r.recounted]
            t = time.perf_counter()
            scope = {"boroughs": [p.borough for p in changed], "years": [changed[0].year]}
            with Engine(snap, **scope) as eng:
                eng.materialise("counted", "volume_counts")  # count only: no writes of files
            whole_s.append(time.perf_counter() - t)
        r = results[-1]
        fig("2 incremental", "nightly day: commit s (median)", f"{statistics.median(ingest_s):.3f}")
        fig("2 incremental", "nightly day: month files rewritten", ", ".join(r.months_written))
        fig(
            "2 incremental",
            "nightly day: refresh s (median), by day",
            f"{statistics.median(refresh_s):.3f}",
        )
        fig(
            "2 incremental",
            "nightly day: same partitions counted whole s (median, count only)",
            f"{statistics.median(whole_s):.3f}",
        )
        ranges = sorted(set(r.incremental.values()))
        fig(
            "2 incremental",
            "nightly day: partitions by day / whole",
            f"{len(r.incremental)} / {len(r.recounted) - len(r.incremental)} "
            f"(days {', '.join(f'{lo}..{hi}' for lo, hi in ranges)})",
        )
        fig(
            "2 incremental",
            "nightly day: rows counted / day's rows / store rows",
            f"{r.rows_counted:,} / {held[nightly[-1]].height:,} / {store.snapshot().total_rows:,}",
        )
        # The same nightly refresh as a whole process, as cron runs it (needs one more day).
        exe = shutil.which("costplan", path=str(Path(sys.executable).parent)) or "costplan"
        proc_s = []
        for day in late[:1]:
            commit(store, held[day])
            t = time.perf_counter()
            subprocess.run([exe, "summary", "refresh", "--store", str(store.root)], check=True)
            proc_s.append(time.perf_counter() - t)
        fig("2 incremental", "nightly day: `summary refresh` whole process s", f"{proc_s[0]:.3f}")
        late = late[1:]
        borough = sorted(held[days[0]]["borough"].unique())[0]
        ingest_s, refresh_s, results = [], [], []
        for day in late:
            ingest_s.append(commit(store, held[day].filter(pl.col("borough") == borough)))
            t = time.perf_counter()
            r = volumes.refresh(store)
            refresh_s.append(time.perf_counter() - t)
            results.append(r)
        fig(
            "2 incremental",
            f"late file ({borough}): refresh s (median)",
            f"{statistics.median(refresh_s):.3f}",
        )
        r = results[-1]
        fig(
            "2 incremental",
            "late file: partitions by day / whole; rows counted",
            f"{len(r.incremental)} / {len(r.recounted) - len(r.incremental)}; {r.rows_counted:,}",
        )
        t = time.perf_counter()
        noop = volumes.refresh(store)
        fig("2 incremental", "refresh with nothing changed s", f"{time.perf_counter() - t:.4f}")
        incremental = _table(store)
        volumes.refresh(store, full=True)
        fig("2 incremental", "incremental table == full rebuild", incremental.equals(_table(store)))
        del noop

        # (3) summaries as whole processes, and the in-process fast path
        cmd = [exe, "summary", "--store", str(store.root), "--period", "month", "--by", "borough"]

        def proc(extra: list[str]) -> None:
            subprocess.run(cmd + extra, check=True, stdout=subprocess.DEVNULL)

        med, _, _ = timed(
            lambda: subprocess.run([exe, "--version"], check=True, stdout=subprocess.DEVNULL), reps
        )
        fig("3 summary", "costplan --version (process floor) s", f"{med:.3f}")
        med, _, _ = timed(lambda: proc(["--format", "csv"]), reps)
        fig("3 summary", "monthly by borough, csv, table fresh (from state.json) s", f"{med:.3f}")
        week = [exe, "summary", "--store", str(store.root), "--period", "week", "--by", "borough"]
        week += ["--format", "csv"]
        med, _, _ = timed(lambda: subprocess.run(week, check=True, stdout=subprocess.DEVNULL), reps)
        fig("3 summary", "weekly by borough, csv, table fresh (DuckDB query) s", f"{med:.3f}")
        # From the table (call source) / from the partitions (grading, tag: not in its grain).
        for by in ("call_source", "grading", "grading,call_source", "tag"):
            grid = [exe, "summary", "--store", str(store.root), "--period", "week", "--by", by]
            grid += ["--format", "csv"]
            med, _, _ = timed(
                lambda grid=grid: subprocess.run(grid, check=True, stdout=subprocess.DEVNULL),
                reps,
            )
            fig("3 summary", f"weekly by {by}, csv, table fresh s", f"{med:.3f}")
        med, _, _ = timed(lambda: proc(["--format", "html", "--out", str(work / "r.html")]), reps)
        fig("3 summary", "monthly by borough, html + chart, table fresh s", f"{med:.3f}")
        aside = work / "volumes-aside"
        volumes.volumes_dir(store.root).rename(aside)
        try:
            med, _, _ = timed(lambda: proc(["--format", "csv"]), reps)
            fig("3 summary", "monthly by borough, csv, no table (direct) s", f"{med:.3f}")
        finally:
            aside.rename(volumes.volumes_dir(store.root))

        snap = store.snapshot()
        boroughs = sorted({p.borough for p in snap.select()})
        year = int(str(first_day)[:4])
        lo, hi = dt.date(year, 1, 1), dt.date(year, 12, 31)
        med, _, n = timed(
            lambda: volumes.count(
                snap, boroughs=boroughs, date_from=lo, date_to=hi, call_sources=["999"]
            ),
            reps,
        )
        fig("3 summary", f"fast path: 999 CADs, all boroughs, {year} s", f"{med:.4f} ({n:,})")

        def direct(where: str) -> int:
            with Engine(snap, boroughs=boroughs, years=[year]) as eng:
                return eng.con.sql(f"SELECT count(*) FROM cad WHERE {where}").fetchall()[0][0]

        med, _, n = timed(lambda: direct("call_source = '999'"), reps)
        fig("3 summary", f"direct: 999 CADs, all boroughs, {year} s", f"{med:.4f} ({n:,})")
        # A count by tag is not in the table (its grain has no tags): always counted directly.
        med, _, n = timed(lambda: direct("list_contains(tags, 'UME')"), reps)
        fig("3 summary", f"direct: UME CADs, all boroughs, {year} s", f"{med:.4f} ({n:,})")
        d = dt.date.fromisoformat(str(first_day)) + dt.timedelta(days=40)
        med, _, n = timed(
            lambda: volumes.count(snap, boroughs=[boroughs[0]], date_from=d, date_to=d), reps
        )
        fig("3 summary", f"fast path: one borough-day ({boroughs[0]}, {d}) s", f"{med:.4f} ({n:,})")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"bench_summary: {out['machine']}; median of {reps} runs after a warm-up\n")
    print(
        tabulate(
            figures,
            headers=["section", "figure", "value"],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")


def _table(store: Store) -> pl.DataFrame:
    state = volumes.read_state(store.root)
    vdir = volumes.volumes_dir(store.root)
    df = pl.read_parquet([str(vdir / f) for e in state.months.values() for f in e.volume_files])
    return df.sort(pl.all())


if __name__ == "__main__":
    main()
