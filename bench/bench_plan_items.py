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
smoke run: tests/test_bench_smoke.py). --against CHECKOUT times another checkout in turn with
this one (wall and CPU seconds, and the ratio of walls). Run from the repository root:

    .venv/bin/python bench/bench_plan_items.py --store /tmp/scale-store --against ../main
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
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


def plan_once(checkout: Path, store: Path, path: Path) -> tuple[float, float]:
    """One whole-process `costplan plan` of a checkout: (wall, CPU) seconds (CPU: user and
    system of the process and DuckDB's threads, steadier than wall on a shared machine)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, "-m", "costplan", "plan", str(path), "--store", str(store)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # From the checkout itself: `python -m` puts the working directory first on sys.path.
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=checkout)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def plan_seconds(
    sides: dict[str, Path], store: Path, text: str, runs: int, work: Path
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each checkout, run in turn (ABAB...)."""
    path = work / "request.toml"
    path.write_text(text, encoding="utf-8")
    times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for _ in range(runs):
        for side, checkout in sides.items():
            times[side].append(plan_once(checkout, store, path))
    return {
        side: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
        for side, t in times.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--store", type=Path, default=Path("/tmp/scale-store"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--against", type=Path, help="another checkout, timed in turn with this one")
    ap.add_argument("--tiny", action="store_true", help="a smoke run: tiny sizes, one run each")
    args = ap.parse_args()
    sides = {"this": ROOT} | ({"other": args.against.resolve()} if args.against else {})
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
        if len(sides) == 1:
            print("| request | items | seconds | CPU seconds |")
            print("|---|---|---|---|")
        else:
            print("| request | items | this s | this CPU s | other s | other CPU s | this/other |")
            print("|---|---|---|---|---|---|---|")
        for name, items, days, boroughs in cases:
            got = plan_seconds(sides, store, request(items, days, boroughs), runs, work)
            cells = [f"{got[side][0]:.2f} | {got[side][1]:.2f}" for side in sides]
            ratio = f" | {got['this'][0] / got['other'][0]:.2f}" if "other" in got else ""
            print(f"| {name} | {items} | " + " | ".join(cells) + f"{ratio} |", flush=True)


if __name__ == "__main__":
    main()
