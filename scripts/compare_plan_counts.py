"""Every strategy's count and a digest of the breakdown, for many varied plan items, as JSON.

Run it on two checkouts against the same store and compare the files: a change to the plan's
counting (queries/plan_item_counts.sql, planner/strategies.py, planner/clock.py) must leave them
identical. The items: the examples' and 120 drawn with a fixed seed (1 to 32 boroughs, 1 to
120 days, around both clock changes, whole days and windows within the day, overnight and
ending on the half hour, tags, keywords in mixed case and with metacharacters, codes).

    cd ../main && PYTHONPATH=. .venv/bin/python ../branch/scripts/compare_plan_counts.py \\
        --store /tmp/scale-store > /tmp/before.json
    cd ../branch && PYTHONPATH=. .venv/bin/python scripts/compare_plan_counts.py \\
        --store /tmp/scale-store > /tmp/after.json && cmp /tmp/before.json /tmp/after.json

(From each checkout's own directory: `python -m`-style imports take the working directory's
costplan.) Only the public item_counts(session, item) is used, so it runs on older checkouts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
from pathlib import Path
from typing import Any

from costplan.engines import DuckDB
from costplan.planner.strategies import item_counts
from costplan.request import Item, build_request, load_request
from costplan.schema import BOROUGHS
from costplan.store import Store

WINDOWS = [None, ("22:00", "04:00"), ("01:00", "02:00"), ("00:30", "01:30"),
           ("23:15", "01:45"), ("09:00", "17:30"), ("18:00", "06:00"), ("00:00", "23:59"),
           ("02:00", "03:00")]  # fmt: skip
DAYS = [dt.date(2020, 3, 28), dt.date(2020, 3, 29), dt.date(2020, 10, 24), dt.date(2020, 10, 25),
        dt.date(2020, 1, 1), dt.date(2020, 6, 25), dt.date(2020, 12, 30)]  # fmt: skip
KEYWORDS = [[], ["rave"], ["RAVE", "Music"], ["party", "it's", "100%"], ["k"],
            ["noise", "a.b", "(rave"]]  # fmt: skip


def items(examples: Path, n: int = 120, seed: int = 16) -> list[Item]:
    rng = random.Random(seed)
    names = [b.name for b in BOROUGHS]
    out = [it for path in sorted(examples.glob("*.toml")) for it in load_request(path).items]
    for i in range(n):
        first = rng.choice(DAYS)
        if not i % 3:
            first = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(366))
        span = rng.choice([1, 1, 2, 3, 7, 30, 120])
        last = min(first + dt.timedelta(days=span - 1), dt.date(2020, 12, 31))
        spec: dict[str, Any] = {
            "name": f"i{i}",
            "boroughs": rng.sample(names, rng.choice([1, 2, 5, 32])),
            "date_from": first.isoformat(),
            "date_to": last.isoformat(),
        }
        window = rng.choice(WINDOWS)
        if window:
            spec["time_from"], spec["time_to"] = window
        tags = rng.choice([[], ["UME"], ["UME", "DV"], ["MH"]])
        if tags:
            spec["tags"] = tags
        keywords = rng.choice(KEYWORDS)
        if keywords:
            spec["keywords"] = keywords
        if rng.random() < 0.3:
            spec["opening_codes"] = rng.choice([["NOISE"], ["ASB", "NOISE"]])
        out += build_request({"items": [spec]}, "compare").items
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True, help="a store holding 2020")
    ap.add_argument("--examples", type=Path, default=Path("examples"))
    ap.add_argument(
        "--together",
        action="store_true",
        help="count the items in one session, items asking the same by one query each group "
        "(planner.strategies.items_counts, as a plan of them all does)",
    )
    args = ap.parse_args()
    snap = Store.open(args.store).snapshot()
    engine = DuckDB().for_store(snap)
    out = []
    wanted = items(args.examples)
    if args.together:
        from costplan.planner.strategies import items_counts

        boroughs = sorted({b for it in wanted for b in it.boroughs})
        years = sorted({y for it in wanted for y in it.years})
        with engine.open(snap, boroughs=boroughs, years=years) as session:
            answers = items_counts(session, wanted)
    else:
        answers = []
        for it in wanted:
            with engine.open(snap, boroughs=it.boroughs, years=it.years) as session:
                answers.append(item_counts(session, it))
    for it, (counts, breakdown) in zip(wanted, answers, strict=True):
        rows = [[str(x) for x in r] for r in breakdown]
        digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
        out.append({"item": it.name, "counts": counts, "rows": len(rows), "breakdown": digest})
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
