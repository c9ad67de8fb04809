"""Fuzz the CLI: 10,000 request cases and 2,000 damaged exports, and print the counts.

Usage: .venv/bin/python bench/fuzz.py [--requests 10000] [--exports 2000] [--seed 15]

Cases come from tests/fuzz_cases.py (the generators tests/test_fuzz.py runs with a small
budget): request TOML files with hostile values through `costplan plan` (and fuzzed numbers
through `check` and `estimate`), in-process via typer's CliRunner; CSV exports with byte-level
damage through `costplan ingest` into a fresh temporary store each. Printed: tracebacks (must
be 0), outcomes and exit codes by kind, and how many exports reconciled (rows read = stored +
quarantined + duplicates, rows read = rows written where the damage keeps the row count, the
store holding exactly the stored rows). No assertions: figures only.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "tests"),
]

from conftest import fixture_frame, write_store  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.fuzz_cases import (  # noqa: E402
    ExportCase,
    RequestCase,
    export_cases,
    request_cases,
    run_export,
    run_request,
)


def _run(strategy: Any, n: int, fn: Any, rng_seed: int) -> None:
    """Call fn on n generated cases (generation only: no shrinking, no example database)."""

    @seed(rng_seed)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def body(case: Any) -> None:
        fn(case)

    body()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--exports", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=15)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        store = write_store(tmp / "store", fixture_frame(per_day=20))
        kinds: collections.Counter[str] = collections.Counter()
        codes: collections.Counter[str] = collections.Counter()
        bad: list[RequestCase] = []
        t0 = time.perf_counter()

        def one_request(case: RequestCase) -> None:
            kind, code = run_request(case, store.root, tmp)
            kinds[kind] += 1
            if sum(kinds.values()) % 1000 == 0:
                print(
                    f"  ... {sum(kinds.values())} requests, {kinds['traceback']} tracebacks",
                    flush=True,
                )
            codes[f"{case.args[0]} exit {code}"] += 1
            if kind in ("traceback", "multi-line", "other-exit") and len(bad) < 5:
                bad.append(case)

        if opts.requests:
            _run(request_cases(), opts.requests, one_request, opts.seed)
        n_req = sum(kinds.values())
        print(f"requests: {n_req} in {time.perf_counter() - t0:.0f} s")
        print(f"  tracebacks: {kinds['traceback']}")
        for k, v in sorted(kinds.items()):
            print(f"  {k:<12} {v}")
        for k, v in sorted(codes.items()):
            print(f"  {k:<22} {v}")
        for case in bad:
            print("  example:", case)

        ex_kinds: collections.Counter[str] = collections.Counter()
        damage: collections.Counter[str] = collections.Counter()
        totals: collections.Counter[str] = collections.Counter()
        unreconciled: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        counter = {"n": 0}

        def one_export(case: ExportCase) -> None:
            counter["n"] += 1
            work = tmp / f"export-{counter['n']}"
            work.mkdir()
            out = run_export(case, work)
            ex_kinds[out["kind"]] += 1
            if counter["n"] % 200 == 0:
                print(
                    f"  ... {counter['n']} exports, {ex_kinds['traceback']} tracebacks", flush=True
                )
            damage[f"{out['damage']}: {out['kind']}"] += 1
            for k in ("rows_read", "stored", "duplicates", "quarantined"):
                totals[k] += out.get(k, 0)
            totals["reconciled"] += bool(out.get("reconciled"))
            if not out.get("reconciled") or out["kind"] == "traceback":
                if len(unreconciled) < 5:
                    unreconciled.append(out)

            shutil.rmtree(work, ignore_errors=True)

        if opts.exports:
            _run(export_cases, opts.exports, one_export, opts.seed)
        n_ex = sum(ex_kinds.values())
        print(f"exports: {n_ex} in {time.perf_counter() - t0:.0f} s")
        print(f"  tracebacks: {ex_kinds['traceback']}")
        for k, v in sorted(ex_kinds.items()):
            print(f"  {k:<12} {v}")
        for k, v in sorted(damage.items()):
            print(f"  {k:<22} {v}")
        print(
            f"  reconciled: {totals['reconciled']} of {n_ex} "
            f"(rows read {totals['rows_read']:,} = stored {totals['stored']:,} + quarantined "
            f"{totals['quarantined']:,} + duplicates {totals['duplicates']:,})"
        )
        for out in unreconciled:
            print("  not reconciled:", out)


if __name__ == "__main__":
    main()
