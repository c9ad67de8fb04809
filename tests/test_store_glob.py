"""Readers outside costplan see one snapshot: a glob over `data/` counts what the manifest does.

DuckDB's `read_parquet('STORE/data/**/*.parquet')` and Polars' `scan_parquet('STORE/data/')`
are how analysts read a hive tree. Replaced files wait out their grace period in `retired/`
and a writer's work in progress stays in `.staging/`, so neither tool double-counts; readers
of an older snapshot still find its files. A writer killed at each step of its commit leaves
the manifest before or after, and the tree matching it once the next writer has run.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import fixture_frame, write_store

from costplan.engines.duckdb_engine import Engine
from costplan.schema import LONDON, RECORD_SCHEMA
from costplan.store import Store
from costplan.store.manifest import COMMIT_MARKER


def glob_counts(root: Path) -> tuple[int, int]:
    """(DuckDB, Polars) row counts of a plain glob over the data tree, as an analyst writes."""
    con = duckdb.connect()
    try:
        pattern = str(root / "data" / "**" / "*.parquet")
        duck = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": pattern}).fetchone()
    finally:
        con.close()
    polars = pl.scan_parquet(str(root / "data") + "/").select(pl.len()).collect().item()
    assert duck is not None
    return int(duck[0]), int(polars)


def manifest_count(root: Path) -> int:
    snap = Store.open(root).snapshot()
    with Engine(snap) as eng:
        counted = int(eng.query("SELECT count(*) FROM cad")[0][0])
    assert counted == snap.total_rows
    return counted


def extra_rows(borough_years: list[tuple[str, int]]) -> pl.DataFrame:
    """One new CAD in each (borough, year): a write that adds a file to those partitions."""
    rows = []
    for i, (borough, year) in enumerate(borough_years):
        day = dt.date(year, 3, 3)
        created = dt.datetime(year, 3, 3, 12, i, tzinfo=LONDON).astimezone(dt.UTC)
        rows.append(
            {
                "cad_ref": f"{9000 + i}/{day.strftime('%d%b%y').upper()}",
                "created_at": created,
                "day": day,
                "borough": borough,
                "year": year,
                "call_source": "999",
                "grading": "S",
                "opening_code": "ASB",
                "closing_code": "ASB",
                "tags": [],
                "linked_to": [],
                "summary": "",
            }
        )
    return pl.DataFrame(rows).select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]


def test_glob_equals_manifest_after_replacements(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    first = store.snapshot()
    for n in range(3):  # the same partitions replaced again and again (compaction)
        with store.writer() as txn:
            txn.add(extra_rows([("Lambeth", 2020 + n % 2), ("Haringey", 2020)]))
            txn.compact(min_files=1, keys=[f"Lambeth|{2020 + n % 2}", "Haringey|2020"])
            txn.commit()
        total = manifest_count(root)
        assert glob_counts(root) == (total, total)
    assert total == first.total_rows + 6
    # The replaced files are in their grace period, out of the glob's way ...
    retired = sorted(p.relative_to(root).as_posix() for p in (root / "retired").rglob("*"))
    assert len([p for p in retired if p.endswith(".parquet")]) == 6
    assert all(p.startswith("retired/borough=") for p in retired)
    # ... and a reader holding the first snapshot still reads exactly it.
    with Engine(first) as eng:
        assert eng.query("SELECT count(*) FROM cad")[0][0] == first.total_rows


def test_reader_session_survives_its_files_being_retired(tmp_path: Path) -> None:
    """A session opened before a write keeps answering from its snapshot after the writer
    moved that snapshot's replaced files out of data/."""
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    snap = store.snapshot()
    with Engine(snap) as eng:
        assert eng.query("SELECT count(*) FROM cad")[0][0] == snap.total_rows
        with store.writer() as txn:
            txn.add(extra_rows([("Lambeth", 2020)]))
            txn.compact(min_files=1, keys=["Lambeth|2020"])
            txn.commit()
        assert not all(Path(f).exists() for f in eng.files)  # a file it was bound to moved
        assert eng.query("SELECT count(*) FROM cad")[0][0] == snap.total_rows


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import polars as pl
    from costplan.store import Store, transaction
    step, root, rows = int(sys.argv[1]), sys.argv[2], pl.read_ipc(sys.argv[3])
    calls = 0
    real_replace = os.replace

    def replace(src, dst):
        global calls
        calls += 1
        if calls == step:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    def merge(self, key, out, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if step == 0:  # killed while writing its new files
        transaction.Transaction._merge_partition = merge
    os.replace = replace
    with Store.open(root).writer() as txn:
        txn.add(rows)
        if sys.argv[4] == "compact":  # the partitions rewritten whole, their files replaced
            txn.compact(min_files=1, keys=["Lambeth|2020", "Haringey|2021"])
        txn.commit()
    """
)


# The renames of a commit of two partitions, in order: 1 the commit marker, 2-3 the new files
# into data/, 4 the manifest (the commit point), and in a compaction 5-6 the replaced files
# out to retired/ (an append replaces none).
@pytest.mark.parametrize(
    ("mode", "step"),
    [("append", s) for s in range(5)] + [("compact", s) for s in range(7)],
)
def test_glob_equals_manifest_after_killed_writer(tmp_path: Path, mode: str, step: int) -> None:
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    old = store.snapshot()
    before = old.total_rows
    rows = tmp_path / "rows.arrow"
    extra_rows([("Lambeth", 2020), ("Haringey", 2021)]).write_ipc(rows)
    proc = subprocess.run([sys.executable, "-c", WRITER, str(step), str(root), str(rows), mode])
    assert proc.returncode == -9
    total = manifest_count(root)
    assert total == (before + 2 if step > 4 else before)
    if not (root / COMMIT_MARKER).exists():
        # Killed before its commit began: its files are all in .staging, none in data/.
        assert step <= 1
        assert glob_counts(root) == (total, total)
    # A reader of the snapshot from before the write reads it whole.
    with Engine(old) as eng:
        assert eng.query("SELECT count(*) FROM cad")[0][0] == before
    # The next writer (here one that writes nothing) puts the tree right.
    with store.writer():
        pass
    assert not (root / COMMIT_MARKER).exists()
    assert glob_counts(root) == (total, total)
    assert not (root / ".staging").exists() or not any((root / ".staging").iterdir())
    with Engine(old) as eng:
        assert eng.query("SELECT count(*) FROM cad")[0][0] == before
