"""Every bench/ script runs (issue 16): each once, at tiny sizes, so none can rot unseen.

No figure is checked (timings belong to the benches, not the tests): a script passes when it
exits 0 and prints a table or figures. One small generated store (summer 2020, every
borough: the example request's dates) serves the scripts that read one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench") / "store"
    cmd = [sys.executable, "-m", "costplan", "generate", "--store", str(root)]
    subprocess.run([*cmd, "--start", "2020-06-20", "--end", "2020-08-31"], check=True, env=_env())
    return root


def _env() -> dict[str, str]:
    # This checkout's costplan for the scripts and the `costplan` processes they start.
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _args(tmp: Path, store: Path) -> dict[str, list[str]]:
    """The tiny arguments of each script (every script in bench/ must have an entry)."""
    week = ["--start", "2020-06-22", "--end", "2020-06-28"]
    return {
        "bench_advice.py": ["--tiny"],
        "bench_compaction.py": ["--tiny", "--workdir", str(tmp / "compaction")],
        "bench_commands.py": ["--store", str(store), "--runs", "1"],
        "bench_engines.py": ["--store", str(store), "--runs", "1", "--process-runs", "1"]
        + ["--engines", "duckdb"],
        "bench_files.py": ["--start", "2020-01-01", "--end", "2020-01-05", "--files", "1", "2"]
        + ["--runs", "1"],
        "bench_generate.py": [*week, "--runs", "1"],
        "bench_ingest.py": ["--start", "2021-01-01", "--end", "2021-01-03", "--runs", "1"],
        "bench_nightly.py": ["--start", "2020-01-01", "--end", "2020-01-04", "--runs", "1"]
        + ["--boroughs", "Camden", "--workdir", str(tmp / "nightly")],
        "bench_keys.py": ["--batches", "3", "--batch-rows", "1000"],
        "bench_layout.py": ["--out", str(tmp / "layout"), *week, "--runs", "1"],
        "bench_plan_items.py": ["--tiny"],
        "bench_scale.py": ["--tiny"],
        "bench_planner.py": ["--store", str(store), "--runs", "1"],
        "bench_summary.py": ["--rows", "1", "--repeat", "1", "--workdir", str(tmp)],
        "bench_web.py": ["--store", str(store), "--runs", "1", "--starts", "1"],
    }


def test_every_script_has_a_smoke_run(tmp_path: Path) -> None:
    scripts = {p.name for p in BENCH.glob("bench_*.py")}
    assert scripts == set(_args(tmp_path, tmp_path))


@pytest.mark.parametrize("script", sorted(_args(Path(), Path())))
def test_bench_script_runs_at_tiny_sizes(script: str, store: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH / script), *_args(tmp_path, store)[script]]
    done = subprocess.run(
        cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "the script printed nothing"
