"""The web page's speed: `costplan serve` start-up, and warm triage answers over HTTP.

Start-up is the wall time from launching `costplan serve` (a fresh process) to its first
answered page. A warm answer is one HTTP request to the running server after a warm-up,
timed at the client (urllib over loopback), median of --runs. Without --store, a small store
(the seed request's four boroughs, summer 2020) is generated into a temporary directory.

    .venv/bin/python bench/bench_web.py --store /tmp/bench-store --runs 30 --starts 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "ume-raves-2020.toml"
ASKS = {
    "triage page (Lambeth, one day)": "/plan?borough=Lambeth&date=2020-06-25",
    "triage page, tag and keywords": "/plan?borough=Lambeth&date=2020-06-25&tag=UME&keyword=rave",
    "triage JSON (Lambeth, one day)": "/plan.json?borough=Lambeth&date=2020-06-25",
    "triage page, overnight window": "/plan?borough=Lambeth&date=2020-06-25&time-from=22:00"
    "&time-to=04:00",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(store: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """Launch `costplan serve`; return it, its address and seconds until a page answered."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from costplan.cli import main; sys.argv[0] = 'costplan'; main()"
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--store", str(store), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(f"{base}/", timeout=5) as answer:
                answer.read()
            return proc, base, time.perf_counter() - t
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("costplan serve exited") from None
            time.sleep(0.01)


def get(url: str, data: bytes | None = None) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, data=data, timeout=30) as answer:
        answer.read()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="a store holding summer 2020 (default: generate)")
    ap.add_argument("--runs", type=int, default=20, help="warm requests per URL")
    ap.add_argument("--starts", type=int, default=3, help="server start-ups to time")
    args = ap.parse_args()
    store = args.store
    if store is None:
        from costplan.store import Store
        from costplan.synth.demo import build_archive

        store = Path(tempfile.mkdtemp(prefix="costplan-bench-web-")) / "store"
        boroughs = ["Lambeth", "Haringey", "Barking and Dagenham", "Waltham Forest"]
        build_archive(Store.open(store, create=True), dt.date(2020, 6, 20),
                      dt.date(2020, 8, 31), boroughs=boroughs)  # fmt: skip
    rows = __import__("costplan.store", fromlist=["Store"]).Store.open(store).snapshot().total_rows
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"# store {store}: {rows:,} CADs; {args.runs} warm runs, {args.starts} start-ups\n")

    starts = []
    for _ in range(args.starts):
        proc, _base, seconds = start(store)
        starts.append(seconds)
        proc.terminate()
        proc.wait()
    print(f"costplan serve start-up to first page: median {statistics.median(starts):.3f} s "
          f"(min {min(starts):.3f}, max {max(starts):.3f})")  # fmt: skip

    proc, base, _ = start(store)
    try:
        print(f"{'warm request':<42} {'median ms':>10} {'p90 ms':>8}")
        for name, path in ASKS.items():
            get(base + path)  # warm-up
            times = sorted(get(base + path) for _ in range(args.runs))
            p90 = times[int(0.9 * (len(times) - 1))]
            print(f"{name:<42} {statistics.median(times) * 1000:>10.1f} {p90 * 1000:>8.1f}")
        body = urllib.parse.urlencode({"toml": SEED.read_text()}).encode()
        get(f"{base}/request", body)
        times = sorted(get(f"{base}/request", body) for _ in range(args.runs))
        p90 = times[int(0.9 * (len(times) - 1))]
        name = "seed request file, pasted (4 items)"
        print(f"{name:<42} {statistics.median(times) * 1000:>10.1f} {p90 * 1000:>8.1f}")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
