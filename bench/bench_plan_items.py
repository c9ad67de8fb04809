"""`costplan plan` as a whole process on requests of many items, and on wide scopes.

On a store holding 2020 (default /tmp/scale-store; `costplan generate` builds it if absent):

  N items          "the same question for each borough": N one-day items, one borough each
                   (boroughs in turn, a week later once all 32 are used), tag UME and keywords
  N items x 7 days the same, each item a week long
  32 boroughs x 1  one item: every borough on 25 June 2020
  32 boroughs x 365  one item: every borough for the whole of 2020 (3.4 M CADs in scope)

Each figure is the median of --runs whole-process runs (Python start, imports, the counting
queries, the s.16 advice, rendering). Issue 15 asks 64 items < 10 s; issue 16 asks the
32-borough plans < 1 s. --tiny runs two small requests once against a one-week store (CI's
smoke run: tests/test_bench_smoke.py). Run from the repository root:

    .venv/bin/python bench/bench_plan_items.py --store /tmp/scale-store
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costplan.schema import BOROUGHS  # noqa: E402

FIRST = dt.date(2020, 6, 1)


def request(items: int, days: int, boroughs: int = 1) -> str:
    """A request of `items` items, each `days` days long over `boroughs` boroughs."""
    out = ['reference = "BENCH"', "received = 2021-01-04", 'regime = "uk-foia-other"', ""]
    for i in range(items):
        names = [BOROUGHS[(i + k) % len(BOROUGHS)].name for k in range(boroughs)]
        first = FIRST + dt.timedelta(days=7 * (i // len(BOROUGHS)))
        if days == 365:
            first = dt.date(2020, 1, 1)
        last = first + dt.timedelta(days=days - 1)
        out += [
            "[[items]]",
            f'name = "Item {i + 1}"',
            "boroughs = [" + ", ".join(f'"{n}"' for n in names) + "]",
            f"date_from = {first}",
            f"date_to = {last}",
            'tags = ["UME"]',
            'keywords = ["rave", "music", "party"]',
            "",
        ]
    return "\n".join(out)


def plan_seconds(store: Path, text: str, runs: int, work: Path) -> float:
    path = work / "request.toml"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "costplan", "plan", str(path), "--store", str(store)]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--store", type=Path, default=Path("/tmp/scale-store"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="a smoke run: tiny sizes, one run each")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store, runs = args.store, args.runs
        cases = [(f"{n} items", n, 1, 1) for n in (1, 8, 16, 32, 64)]
        cases += [(f"{n} items x 7 days", n, 7, 1) for n in (8, 64)]
        cases += [("32 boroughs x 1 day", 1, 1, 32), ("32 boroughs x 365 days", 1, 365, 32)]
        if args.tiny:
            store, runs = work / "store", 1
            cases = [("2 items", 2, 1, 1), ("2 boroughs x 2 days", 1, 2, 2)]
            end = (FIRST + dt.timedelta(days=6)).isoformat()
            args_ = ["--start", FIRST.isoformat(), "--end", end]
        else:
            args_ = []
        if not (store / "manifest.json").exists():
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            generate = [sys.executable, "-m", "costplan", "generate", "--store", str(store)]
            subprocess.run(generate + args_, check=True, capture_output=True, env=env)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"# python {platform.python_version()}, {os.cpu_count()} cores, load {load}")
        print(f"# store {store}; median of {runs} whole-process runs of `costplan plan`")
        print("| request | items | seconds |")
        print("|---|---|---|")
        for name, items, days, boroughs in cases:
            seconds = plan_seconds(store, request(items, days, boroughs), runs, work)
            print(f"| {name} | {items} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
