"""The issue-16 table in one run: each costplan figure beside its floor, on one archive of N rows.

Usage: .venv/bin/python bench/bench_scale.py --rows 10000000 [--workdir DIR] [--runs 3]
       [--ingest-runs R] [--json FILE] [--tiny]

One generated CSV export of N rows (costplan.synth, from 2010-01-01, written as a force
exports it: bench_ingest.export_columns; kept in --workdir as export-10m.csv and so on, and
reused), then,
in this order, on the store the ingest builds:

  1. CSV ingest of the N rows: `costplan ingest` as a whole process, beside DuckDB's
     COPY (SELECT ... FROM read_csv(...)) TO ... (FORMAT parquet, PARTITION_BY (borough,
     year)), also a whole process; rows/s and peak RSS of both (wait4's ru_maxrss).
  2. The full volume-table rebuild: `costplan summary refresh --full` (whole process) and
     volumes.refresh(full=True) (in-process), beside a raw DuckDB GROUP BY borough, day over
     the store's files (fresh connection, in-process).
  3. Each run then ingests one new day (the archive's next, all boroughs) with `costplan
     ingest`: seconds, and the bytes it wrote ÷ the same day ingested into an empty store;
     then volumes.refresh() in-process (goal < 0.1 s) beside counting that day by borough.
  4. `costplan plan` of one item (tag UME, keyword rave) over 32 boroughs x 1 day, beside a raw
     DuckDB count of that scope, and the planner's own count in-process (item_counts);
     the same item over 32 boroughs x 365 days (goal < 1 s, whole process).

Whole-process figures are medians of --runs runs (the CSV ingest: --ingest-runs ingests, each
into a fresh store); in-process ones medians of --runs after one warm-up. The machine is
shared: the script prints the load average. --tiny: 20,000 rows, one run (CI's smoke run). Prints a
markdown table (goal, met or not); --json FILE writes the rows too. No assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from bench_ingest import _cpu, export_columns
from bench_nightly import _data_bytes, _files, _written
from timing import median_time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costplan import synth  # noqa: E402
from costplan.engines import DuckDB, volumes  # noqa: E402
from costplan.planner.strategies import item_counts  # noqa: E402
from costplan.request import build_request  # noqa: E402
from costplan.store import Store  # noqa: E402

START = dt.date(2010, 1, 1)
SEED = 7
INGEST_GOAL = 500_000  # rows/s (issue 16)

# The floor of a CSV ingest: DuckDB parses the export and writes it as Parquet partitioned by
# borough and year, nothing else (no validation, no duplicate check, no manifest).
_COPY = """
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
duckdb.connect().execute(
    "COPY (SELECT *, CAST(substr(created_at, 1, 4) AS INTEGER) AS year "
    "FROM read_csv($src, header = true, all_varchar = true)) "
    "TO '" + out.replace("'", "''") + "' (FORMAT parquet, PARTITION_BY (borough, year))",
    {"src": src},
)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def process(cmd: list[str]) -> tuple[float, float | None]:
    """Run one process; its wall-clock seconds and peak RSS in MB (None if not measurable).

    The peak comes from /usr/bin/time, not from our own wait4: Linux counts a child's peak
    from before its exec, which for a child forked from this (large) process is our own.
    """
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [timer, "-f", "%M", "-o", rss.name, *cmd] if timer else cmd
        began = time.perf_counter()
        done = subprocess.run(wrapped, env=_env(), stdout=subprocess.DEVNULL, check=False)
        seconds = time.perf_counter() - began
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd[:4])}... exited {done.returncode}")
        text = rss.read().strip().splitlines()
    peak = int(text[-1]) / 1024 if timer and text and text[-1].isdigit() else None
    return seconds, peak  # KiB from time(1)


def _mb(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{max(known):,.0f} MB peak" if known else "peak not measured"


def costplan(*args: str) -> tuple[float, float | None]:
    return process([sys.executable, "-m", "costplan", *args])


def write_export(path: Path, rows: int) -> dt.date:
    """Write `rows` generated rows from START as a CSV export; returns the last day in it.

    Month by month, appended to one file, so memory holds one month however large the export.
    A sidecar (path.json) records the rows and the last day, so a later run reuses the file.
    """
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        doc = json.loads(meta.read_text())
        if doc["rows"] == rows:
            return dt.date.fromisoformat(doc["last_day"])
    n, month, last_day = 0, START, START
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        while n < rows:
            end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            for frame in synth.generate(month, end - dt.timedelta(days=1), seed=SEED):
                frame = frame.head(rows - n)
                export_columns(frame).write_csv(fh, include_header=n == 0)
                n += frame.height
                last_day = frame["day"].max()  # type: ignore[assignment]
            month = end
    tmp.replace(path)
    meta.write_text(json.dumps({"rows": rows, "last_day": last_day.isoformat(), "seed": SEED}))
    return last_day


def day_export(path: Path, day: dt.date) -> int:
    """The archive's next day (all boroughs) as a CSV export; returns its rows."""
    frame = pl.concat([export_columns(f) for f in synth.generate(day, day, seed=SEED)])
    frame.write_csv(path)
    return frame.height


def files_of(store: Path, first: dt.date | None = None, last: dt.date | None = None) -> list[str]:
    """The store's current files (whose days meet first..last, if given)."""
    snap = Store.open(store).snapshot()
    out = []
    for part in snap.partitions.values():
        for f in part.files:
            lo, hi = f.min_day, f.max_day
            if first and last and lo and hi and (hi < first.isoformat() or lo > last.isoformat()):
                continue
            out.append(str(store / f.path))
    return out


def duck(sql: str, files: list[str], **params: Any) -> int:
    """A raw DuckDB query over files on a fresh connection; returns the rows of its answer."""
    con = duckdb.connect()
    try:
        con.read_parquet(files, hive_partitioning=True).create_view("cad")
        return len(con.execute(sql, params or None).fetchall())
    finally:
        con.close()


class Table:
    """The figures: one row per measurement, a floor beside it where there is one."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, what: str, floor: str, costplan: str, ratio: float | None, goal: str,
            met: bool | None) -> None:  # fmt: skip
        self.rows.append(
            {"what": what, "floor": floor, "costplan": costplan, "ratio": ratio, "goal": goal,
             "met": met}
        )  # fmt: skip
        print(f"  {what}: {costplan} (floor {floor})", flush=True)

    def markdown(self) -> str:
        out = ["| what | floor | costplan | ratio | goal | met |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
            met = {True: "met", False: "**not met**", None: "—"}[r["met"]]
            out.append(
                f"| {r['what']} | {r['floor']} | {r['costplan']} | {ratio} | {r['goal']} | {met} |"
            )
        return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, help="Work here and keep the export and store.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--ingest-runs", type=int, help="Runs of the CSV ingest and its floor (default --runs)."
    )
    parser.add_argument("--json", type=Path, help="Also write the table's rows as JSON.")
    parser.add_argument("--tiny", action="store_true", help="20,000 rows, one run (CI).")
    args = parser.parse_args()
    rows, runs = (20_000, 1) if args.tiny else (args.rows, args.runs)
    ingest_runs = 1 if args.tiny else args.ingest_runs or runs
    work = args.workdir or Path(tempfile.mkdtemp(prefix="costplan-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    table = Table()

    t0 = time.perf_counter()
    name = f"{rows // 1_000_000}m" if rows % 1_000_000 == 0 else str(rows)
    export = work / f"export-{name}.csv"
    last = write_export(export, rows)
    print(
        f"export: {rows:,} rows, {export.stat().st_size / 1e6:,.0f} MB, {START}..{last} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    print(f"machine: {_cpu()}, {os.cpu_count()} cores, shared; load {os.getloadavg()[0]:.2f}")

    # 1. CSV ingest, whole process, beside DuckDB's COPY to partitioned Parquet.
    store, floor_out = work / "store", work / "copy-floor"
    ingest_s, ingest_mb, copy_s, copy_mb = [], [], [], []
    for _ in range(ingest_runs):
        shutil.rmtree(floor_out, ignore_errors=True)
        s, mb = process([sys.executable, "-c", _COPY, str(export), str(floor_out)])
        copy_s.append(s)
        copy_mb.append(mb)
        shutil.rmtree(store, ignore_errors=True)
        s, mb = costplan("ingest", str(export), "--store", str(store))
        ingest_s.append(s)
        ingest_mb.append(mb)
        print(f"  ingest run: {s:.2f} s ({rows / s:,.0f} rows/s); COPY {copy_s[-1]:.2f} s")
    shutil.rmtree(floor_out, ignore_errors=True)
    stored = Store.open(store).snapshot().total_rows
    if stored != rows:
        raise SystemExit(f"the ingest stored {stored:,} rows of {rows:,}: no figure is valid")
    ours, floor = rows / statistics.median(ingest_s), rows / statistics.median(copy_s)
    table.add(
        f"CSV ingest, {rows:,} rows (whole process)",
        f"{floor:,.0f} rows/s, {_mb(copy_mb)}",
        f"{ours:,.0f} rows/s, {_mb(ingest_mb)}",
        floor / ours,
        "≥ 500 k rows/s, bounded memory",
        ours >= INGEST_GOAL,
    )

    # 2. Full volume-table rebuild, beside the raw GROUP BY borough, day.
    opened = Store.open(store)
    files = files_of(store)
    floor_s, groups = median_time(
        lambda: duck("SELECT borough, day, count(*) FROM cad GROUP BY ALL", files), runs
    )
    whole = statistics.median(
        costplan("summary", "refresh", "--full", "--store", str(store))[0] for _ in range(runs)
    )
    inproc, _ = median_time(lambda: volumes.refresh(opened, full=True), runs)
    table.add(
        "full volume-table rebuild (in-process; whole process beside)",
        f"{floor_s:.3f} s raw GROUP BY borough, day ({groups:,} groups)",
        f"{inproc:.3f} s (`summary refresh --full`: {whole:.3f} s)",
        inproc / floor_s,
        "≤ 3×",
        inproc / floor_s <= 3,
    )

    # 3. One new day a run: ingest it, then refresh; beside the day alone and counting it.
    day_s, ratios, refresh_s, count_s = [], [], [], []
    for i in range(runs):
        day = last + dt.timedelta(days=i + 1)
        csv = work / f"day-{day}.csv"
        n_day = day_export(csv, day)
        alone = work / "day-alone"
        shutil.rmtree(alone, ignore_errors=True)
        costplan("ingest", str(csv), "--store", str(alone))
        own = _data_bytes(alone)
        shutil.rmtree(alone, ignore_errors=True)
        before = _files(store)
        day_s.append(costplan("ingest", str(csv), "--store", str(store))[0])
        ratios.append(_written(before, _files(store)) / own)
        t = time.perf_counter()
        volumes.refresh(Store.open(store))
        refresh_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        duck(
            "SELECT borough, count(*) FROM cad WHERE day = $day GROUP BY ALL",
            files_of(store, day, day),
            day=day,
        )
        count_s.append(time.perf_counter() - t)
    ratio = statistics.median(ratios)
    table.add(
        f"ingest of one new day ({n_day:,} rows) into the store",
        "the day alone in an empty store",
        f"{statistics.median(day_s):.3f} s, bytes written {ratio:.2f}× the day alone",
        ratio,
        "work ∝ the day (≤ 2× its bytes)",
        ratio <= 2,
    )
    refresh = statistics.median(refresh_s)
    table.add(
        "refresh after one new day (in-process)",
        f"{statistics.median(count_s):.3f} s to count the day",
        f"{refresh:.3f} s",
        refresh / statistics.median(count_s),
        "< 0.1 s",
        refresh < 0.1,
    )

    # 4. Plans of one item: 32 boroughs x 1 day and x 365 days.
    final = last + dt.timedelta(days=runs)
    span = min(365, (final - START).days + 1)
    for days in (1, span):
        first = final - dt.timedelta(days=days - 1)
        item = {"areas": "all", "date_from": first.isoformat(), "date_to": final.isoformat()}
        flags = ["--borough", "all", "--date", str(first), "--to", str(final)]
        flags += ["--tag", "UME", "--keyword", "rave", "--format", "json"]
        plan = statistics.median(
            costplan("plan", *flags, "--store", str(store))[0] for _ in range(runs)
        )
        scope = files_of(store, first, final)
        sql = "SELECT count(*) FROM cad WHERE day BETWEEN $a AND $b"
        floor_s, _ = median_time(partial(duck, sql, scope, a=first, b=final), runs)
        counted = _plan_in_process(store, item, runs)
        goal, met = ("< 1 s whole process", plan < 1) if days > 1 else ("∝ the scope", None)
        table.add(
            f"`plan`, 32 boroughs × {days} day{'s' if days > 1 else ''}",
            f"{floor_s * 1000:.0f} ms raw count of the scope",
            f"{plan:.3f} s whole process; {counted * 1000:.0f} ms counting in-process",
            counted / floor_s,
            goal,
            met,
        )

    print(f"\nload average after the runs: {os.getloadavg()[0]:.2f} (a shared machine)\n")
    print(table.markdown())
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "runs": runs, "table": table.rows}))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


def _plan_in_process(store: Path, item: dict[str, str], runs: int) -> float:
    """Median seconds of the planner's count of one item (item_counts), fresh session each."""
    snap = Store.open(store).snapshot()
    request = build_request({"items": [{**item, "tags": ["UME"], "keywords": ["rave"]}]}, "b")
    engine = DuckDB().for_store(snap)

    def count() -> Any:
        with engine.open(snap) as session:
            return item_counts(session, request.items[0])

    return median_time(count, runs)[0]


if __name__ == "__main__":
    main()
