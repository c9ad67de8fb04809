"""Crash safety and isolation of `costplan ingest`, with real processes.

* SIGKILL at spread-out moments of an ingest (parsing, staging, merging, the manifest swap):
  the store always opens, holds exactly the rows of before or after the ingest, every file its
  manifest lists is readable, and re-running the same ingest completes it.
* After each kill, a glob over `data/` (DuckDB, Polars) counts what the manifest does.
* A reader counting rows while an ingest commits only ever sees the before or the after count.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from test_store_glob import glob_counts

from costplan.engines.duckdb_engine import Engine
from costplan.ingest import ingest
from costplan.schema import BOROUGH_NAMES
from costplan.store import Store, read_quarantine
from costplan.store.manifest import COMMIT_MARKER

COSTPLAN = Path(sys.executable).with_name("costplan")


def make_export(path: Path, rows: int, first_day: dt.date, days: int, bad_every: int = 0) -> int:
    """A CSV export of `rows` valid CADs over `days` London days (plus a bad row every
    `bad_every` rows, unknown borough). Returns the number of valid rows."""
    per_day = -(-rows // days)
    i = pl.int_range(0, rows, eager=True)
    day_idx = i // per_day
    serial = i % per_day + 1
    frame = pl.DataFrame({"i": i, "d": day_idx, "s": serial}).with_columns(
        day=pl.lit(first_day) + pl.duration(days=pl.col("d")),
    )
    frame = frame.with_columns(
        cad_ref=pl.col("s").cast(pl.String)
        + "/"
        + pl.col("day").dt.strftime("%d%b%y").str.to_uppercase(),
        # Minutes after 02:00 local time: never inside a clock change.
        created_at=(
            pl.col("day").cast(pl.Datetime("us"))
            + pl.duration(hours=2, seconds=pl.col("s") % 70000)
        ).dt.strftime("%Y-%m-%d %H:%M:%S"),
        borough=pl.Series(BOROUGH_NAMES).gather(i % len(BOROUGH_NAMES)),
        call_source=pl.lit("999"),
        grading=pl.lit("S"),
        summary=pl.lit("Caller reports noise, loud music"),
    )
    if bad_every:
        frame = frame.with_columns(
            borough=pl.when(pl.col("i") % bad_every == 0)
            .then(pl.lit("Atlantis"))
            .otherwise(pl.col("borough"))
        )
    frame.select("cad_ref", "created_at", "borough", "call_source", "grading", "summary").write_csv(
        path
    )
    return rows - (len(range(0, rows, bad_every)) if bad_every else 0)


def check_store(root: Path, allowed: set[int]) -> int:
    """The store opens, every listed file is readable, counts agree; returns the row count."""
    store = Store.open(root)
    snap = store.snapshot()
    assert snap.total_rows in allowed, (snap.total_rows, allowed)
    for part in snap.partitions.values():
        for entry in part.files:
            assert pl.read_parquet(root / entry.path).height == entry.rows
    with Engine(snap) as eng:
        count = eng.con.sql("SELECT count(*) FROM cad").fetchall()[0][0]
    assert count == snap.total_rows
    # A glob over the data tree counts the same, unless the writer was killed in the few
    # renames around its manifest swap (the marker says so; the next writer tidies up).
    if not (root / COMMIT_MARKER).exists():
        assert glob_counts(root) == (count, count)
    read_quarantine(store)  # every quarantine file listed is readable too
    return snap.total_rows


def run_ingest(export: Path, root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(COSTPLAN), "ingest", str(export), "--store", str(root), "--format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, int]:
    base = tmp_path_factory.mktemp("crash")
    seed = base / "seed.csv"
    n_seed = make_export(seed, 2_000, dt.date(2021, 4, 1), 2)
    big = base / "big.csv"
    n_big = make_export(big, 120_000, dt.date(2021, 5, 2), 12, bad_every=5_000)
    return seed, big, n_seed, n_big


def test_sigkill_leaves_before_or_after(exports: tuple[Path, Path, int, int], tmp_path: Path):
    seed, big, n_seed, n_big = exports
    # How long a whole ingest takes on this machine, to spread the kills over its life.
    scratch = tmp_path / "scratch"
    ingest(scratch, [seed])
    began = time.perf_counter()
    assert run_ingest(big, scratch).wait(timeout=120) == 0
    whole = time.perf_counter() - began

    root = tmp_path / "store"
    ingest(root, [seed])
    before, after = n_seed, n_seed + n_big
    assert check_store(root, {before}) == before
    outcomes = []
    for fraction in (0.1, 0.45, 0.75, 0.9, 0.97):
        current = check_store(root, {before, after})
        proc = run_ingest(big, root)
        time.sleep(whole * fraction)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        outcomes.append(proc.returncode)
        # A reader sees exactly the rows before or after; never a partial ingest.
        check_store(root, {current, after})
    assert -signal.SIGKILL in outcomes, outcomes  # at least one kill landed mid-ingest

    # Re-running the same ingest completes it, and adds each quarantined row once.
    assert run_ingest(big, root).wait(timeout=120) == 0
    assert check_store(root, {after}) == after
    q = read_quarantine(Store.open(root))
    assert q.height == len(range(0, 120_000, 5_000))
    assert q.select("source_sha256", "line").is_duplicated().sum() == 0
    # The killed writers left no staging behind once a writer ran again.
    staging = root / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_reader_sees_before_or_after_while_ingest_commits(
    exports: tuple[Path, Path, int, int], tmp_path: Path
):
    seed, big, n_seed, n_big = exports
    root = tmp_path / "store"
    ingest(root, [seed])
    before, after = n_seed, n_seed + n_big
    store = Store.open(root)
    proc = run_ingest(big, root)
    observed: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = proc.poll() is None
        snap = store.snapshot()
        with Engine(snap) as eng:
            # Through the engine, which finds a file a writer has just retired; the raw
            # connection would not.
            count = eng.query("SELECT count(*) FROM cad")[0][0]
        observed.append(count)
        assert count == snap.total_rows
        if not running:
            break
    assert proc.wait(timeout=10) == 0
    assert set(observed) <= {before, after}, sorted(set(observed))
    assert observed[0] == before and observed[-1] == after
    assert len(observed) > 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_second_writer_waits_then_fails_cleanly(
    exports: tuple[Path, Path, int, int], tmp_path: Path
):
    """While one process holds the writer lock, another ingest fails with a one-line error."""
    seed, _big, n_seed, _ = exports
    root = tmp_path / "store"
    ingest(root, [seed])
    before = (root / "manifest.json").read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from costplan.store import Store\n"
            "with Store.open(sys.argv[1]).writer():\n"
            "    print('locked', flush=True); time.sleep(30)\n",
            str(root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        from costplan.errors import StoreLockedError

        with pytest.raises(StoreLockedError) as err:
            ingest(root, [seed], lock_wait=0.3)
        assert f"(pid {holder.pid})" in err.value.one_line()
    finally:
        holder.kill()
        holder.wait()
    assert (root / "manifest.json").read_bytes() == before
    assert ingest(root, [seed]).duplicates == n_seed
