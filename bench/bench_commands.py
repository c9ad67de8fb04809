"""Whole-process `check` and `plan` times, for this checkout and optionally another one.

Each command runs as a fresh Python process (start-up, imports, query, render), the two
checkouts in turn (A B A B ...) so a drifting machine affects both alike; medians and the
median of the pairwise ratios are printed. Compile bytecode first in both checkouts
(`python -m compileall -q costplan`), or the first runs pay for it.

    .venv/bin/python bench/bench_commands.py --store /tmp/bench-store --runs 15
    .venv/bin/python bench/bench_commands.py --store /tmp/bench-store --against ../old-checkout
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "check": ["check", "--borough", "Lambeth", "--date", "2020-06-25"],
    "plan": ["plan", "examples/ume-raves-2020.toml"],
}


def run_once(checkout: Path, args: list[str], store: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = "import sys; from costplan.cli import main; sys.argv[0] = 'costplan'; main()"
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, *args, "--store", str(store)],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True, help="a store holding 2020")
    ap.add_argument("--against", type=Path, help="another checkout to time in turn")
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    sides = {"this": ROOT} | ({"other": args.against.resolve()} if args.against else {})
    print("| command | " + " | ".join(f"{s} median s" for s in sides) + " | this/other |")
    print("|---|" + "---|" * len(sides) + "---|")
    for name, cmd in COMMANDS.items():
        times: dict[str, list[float]] = {s: [] for s in sides}
        for checkout in sides.values():
            run_once(checkout, cmd, args.store)  # warm-up: page cache, bytecode
        for _ in range(args.runs):
            for side, checkout in sides.items():
                times[side].append(run_once(checkout, cmd, args.store))
        medians = [statistics.median(v) for v in times.values()]
        ratio = "-"
        if "other" in times:
            pairs = zip(times["this"], times["other"], strict=True)
            ratio = f"{statistics.median(a / b for a, b in pairs):.2f}"
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in medians) + f" | {ratio} |")


if __name__ == "__main__":
    main()
