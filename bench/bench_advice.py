"""Section 16 advice speed: `advise` on request shapes built straight from breakdown rows.

No store and no query: the ItemPlans come from tests/advice_cases.py (deterministic synthetic
rows), so this times the advice alone (the knapsack over parts, the slice search, the pairwise
check of which suggestions combine), not the counting. Cases:

  N items     a request of N one-day parts (one borough-day each): 8, 16, 32, 64
  64 x 3x14   64 parts of 3 boroughs x 14 days, each over the limit (each narrowed)
  32 x 365    one part asking about 32 boroughs for 365 days (280,320 breakdown rows)

Median of --runs runs after one warm-up. Run from the repository root:

    .venv/bin/python bench/bench_advice.py
"""

from __future__ import annotations

import argparse
import platform
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import median_time  # noqa: E402  (bench/timing.py)

from costplan.planner.advice import advise  # noqa: E402
from costplan.planner.strategies import ItemPlan  # noqa: E402
from tests import advice_cases as cases  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tiny", action="store_true", help="a smoke run: small cases, one run")
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, median of {args.runs}")
    shapes: list[tuple[str, list[ItemPlan]]] = [
        (f"{n} items", cases.many_items(n)) for n in (8, 16, 32, 64)
    ]
    shapes.append(("64 items, 3 x 14 each", cases.many_wide_items(64)))
    shapes.append(("32 boroughs x 365 days", [cases.big_grid(32, 365)]))
    if args.tiny:
        args.runs = 1
        shapes = [
            ("8 items", cases.many_items(8)),
            ("4 items, 3 x 14 each", cases.many_wide_items(4)),
            ("4 boroughs x 14 days", [cases.big_grid(4, 14)]),
        ]
    for name, plans in shapes:
        rows = sum(len(ip.breakdown) for ip in plans)
        seconds, advice = median_time(
            lambda plans=plans: advise(plans, cases.REGIME, Decimal(3), cases.CFG), args.runs
        )
        count = len(advice)  # type: ignore[arg-type]
        print(f"{name:<24} {rows:>8,} rows  {seconds * 1000:8.1f} ms  {count} suggestions")


if __name__ == "__main__":
    main()
