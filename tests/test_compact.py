"""Appends and compaction: a write adds files beside the stored ones and rewrites none; a
compaction (`costplan compact`, or automatic past COMPACT_FILES files) rewrites a partition as
one file with the same rows, crash-safe like every write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import fixture_frame, write_store
from hypothesis import given
from hypothesis import strategies as st
from test_store_glob import extra_rows, glob_counts, manifest_count
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines.duckdb_engine import Engine
from costplan.store import Store, tiers, transaction
from costplan.store.manifest import COMMIT_MARKER, FileEntry
from costplan.store.tiers import tiered_files

runner = CliRunner()


def _append(store: Store, borough_years: list[tuple[str, int]]) -> None:
    with store.writer() as txn:
        txn.add(extra_rows(borough_years))
        txn.commit()


def _stat(root: Path, rel: str) -> tuple[int, int]:
    st = (root / rel).stat()
    return st.st_ino, st.st_mtime_ns


def test_an_append_adds_a_file_and_leaves_the_stored_ones_alone(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    first = store.snapshot()
    stored = {f.path: _stat(root, f.path) for p in first.partitions.values() for f in p.files}
    _append(store, [("Lambeth", 2020), ("Haringey", 2021)])
    snap = store.snapshot()
    assert snap.total_rows == first.total_rows + 2
    # Every stored file is still listed, where it was, unchanged; nothing was retired.
    assert {f: _stat(root, f) for f in stored} == stored
    assert not snap.retired and not list((root / "retired").rglob("*.parquet"))
    for key in ("Lambeth|2020", "Haringey|2021"):
        part = snap.partitions[key]
        old = first.partitions[key]
        assert part.files[: len(old.files)] == old.files
        assert len(part.files) == len(old.files) + 1
        assert part.added_files == (part.files[-1].path,) and part.replaced == ()
        assert part.files[-1].rows == 1
    changed = ("Lambeth|2020", "Haringey|2021")
    untouched = {k: p for k, p in snap.partitions.items() if k not in changed}
    assert untouched == {k: first.partitions[k] for k in untouched}
    assert glob_counts(root) == (snap.total_rows, snap.total_rows)
    assert manifest_count(root) == snap.total_rows


def test_compact_command_rewrites_each_partition_as_one_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    for _ in range(3):
        _append(store, [("Lambeth", 2020), ("Haringey", 2021)])
    before = store.snapshot()
    rows = {k: p.rows for k, p in before.partitions.items()}
    ids = pl.concat(
        [pl.read_parquet(f) for f in before.files(boroughs=["Lambeth"], years=[2020])]
    ).sort("created_at", "cad_ref")
    res = runner.invoke(app, ["compact", "--store", str(root), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["partitions"] == 2 and doc["files_after"] == 2
    assert doc["files_before"] == 8  # two partitions of one stored file and three appended
    snap = store.snapshot()
    assert snap.version == before.version + 1
    assert {k: p.rows for k, p in snap.partitions.items()} == rows
    assert all(len(p.files) == 1 for p in snap.partitions.values())
    one = pl.read_parquet(snap.files(boroughs=["Lambeth"], years=[2020]))
    assert one["created_at"].is_sorted()  # rewritten in time order, for row-group skipping
    # Appended and compacted files alike in the store's codec (LZ4: STORE_CODEC).
    for path in [*before.files(boroughs=["Lambeth"], years=[2020]), *snap.files()]:
        assert _codecs(path) == {"LZ4_RAW"}, path
    assert one.sort("created_at", "cad_ref").equals(ids)
    # The replaced files wait in retired/, out of a glob's way; old readers still read them.
    assert glob_counts(root) == (snap.total_rows, snap.total_rows)
    with Engine(before) as eng:
        assert eng.query("SELECT count(*) FROM cad")[0][0] == before.total_rows
    # Nothing left to compact: the store is not written again.
    res = runner.invoke(app, ["compact", "--store", str(root)])
    assert res.exit_code == 0, res.output
    assert "partitions" in res.stdout
    assert store.snapshot().version == snap.version


def test_an_append_past_the_threshold_compacts_the_newest_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transaction, "COMPACT_FILES", 3)
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    first = store.snapshot().partitions["Lambeth|2020"].files[0]
    counts = []
    for _ in range(5):
        _append(store, [("Lambeth", 2020)])
        counts.append(len(store.snapshot().partitions["Lambeth|2020"].files))
    # The third and fifth appends merged the appended files with their row; the partition's
    # first, large file stayed where it was (tiered compaction).
    assert counts == [2, 3, 2, 3, 2]
    snap = store.snapshot()
    files = snap.partitions["Lambeth|2020"].files
    assert files[0] == first and files[1].rows == 5
    assert glob_counts(root) == (snap.total_rows, snap.total_rows)
    assert manifest_count(root) == snap.total_rows


def test_an_append_rewrites_the_large_file_once_the_merged_ones_are_big_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transaction, "COMPACT_FILES", 3)
    monkeypatch.setattr(tiers, "TIER_RATIO", 10_000)  # every file is "small"
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    for _ in range(3):
        _append(store, [("Lambeth", 2020)])
    assert len(store.snapshot().partitions["Lambeth|2020"].files) == 1


def _entries(rows: list[int]) -> tuple[FileEntry, ...]:
    return tuple(FileEntry(f"f{i}.parquet", n, 1, None, None) for i, n in enumerate(rows))


@given(st.lists(st.integers(1, 200_000), min_size=1, max_size=40), st.integers(0, 20_000))
def test_tiered_files_are_the_newest_and_at_least_half(rows: list[int], added: int) -> None:
    files = _entries(rows)
    chosen = tiered_files(files, added)
    assert chosen == files[len(files) - len(chosen) :]  # a suffix: the newest files
    assert len(chosen) >= max(1, len(files) // 2)
    merged = added + sum(f.rows for f in chosen)
    if len(chosen) < len(files):  # it stopped at a file too large to be worth rewriting
        assert files[len(files) - len(chosen) - 1].rows > tiers.TIER_RATIO * merged


def test_nightly_appends_rewrite_the_year_file_rarely() -> None:
    # A year's file of 110,000 rows, then nightly appends of 300: compactions at 16 files
    # merge the appended files and leave the year's file alone for several cycles.
    files = list(_entries([110_000]))
    rewrites_of_the_year = 0
    for night in range(16 * 12):
        if len(files) + 1 > 16:
            chosen = tiered_files(files, 300)
            rewrites_of_the_year += files[0] in chosen
            merged = _entries([300 + sum(f.rows for f in chosen)])
            files = [*files[: len(files) - len(chosen)], *merged]
        else:
            files.append(FileEntry(f"n{night}.parquet", 300, 1, None, None))
        assert len(files) <= 16
    assert 0 < rewrites_of_the_year <= 3


# Kill points inside a compaction: writing the new file, moving files into data/, swapping
# the manifest, retiring the replaced files, after the commit.
COMPACT_SCRIPT = """
import os, signal, sys
from costplan.store import Store, tiers, transaction
from costplan.store.tiers import tiered_files

point = sys.argv[2]
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
calls = {"n": 0}
real_replace = os.replace
def replace_then(n):
    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == n:
            die()
        real_replace(src, dst)
    return replace
if point == "merging":
    transaction.Transaction._merge_partition = die
elif point == "moving":
    transaction.os.replace = replace_then(3)  # the marker and one new file moved
elif point == "swapping":
    Store._write_manifest = die
elif point == "retiring":
    transaction.os.replace = replace_then(6)  # committed; one replaced file retired
elif point == "collecting":
    real_write = Store._write_manifest
    def write_then_die(self, snap):
        real_write(self, snap)
        die()
    Store._write_manifest = write_then_die
Store.open(sys.argv[1]).compact()
"""


@pytest.mark.parametrize("point", ["merging", "moving", "swapping", "retiring", "collecting"])
def test_a_kill_inside_compaction_leaves_before_or_after(tmp_path: Path, point: str) -> None:
    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    for _ in range(2):
        _append(store, [("Lambeth", 2020), ("Haringey", 2021)])
    before = store.snapshot()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", COMPACT_SCRIPT, str(root), point], timeout=120, env=env
    )
    assert proc.returncode == -9
    snap = store.snapshot()
    committed = point in ("retiring", "collecting")
    assert snap.version == before.version + (1 if committed else 0)
    assert snap.total_rows == before.total_rows
    for part in snap.partitions.values():
        for f in part.files:
            assert pl.read_parquet(root / f.path).height == f.rows
    with Engine(before) as eng:  # a reader of the old snapshot still reads it whole
        assert eng.query("SELECT count(*) FROM cad")[0][0] == before.total_rows
    report = store.compact()  # the next writer tidies the tree and finishes the job
    assert report.partitions == (0 if committed else 2)
    snap = store.snapshot()
    assert all(len(p.files) == 1 for p in snap.partitions.values())
    assert snap.total_rows == before.total_rows
    assert not (root / COMMIT_MARKER).exists()
    assert glob_counts(root) == (snap.total_rows, snap.total_rows)
    listed = {f.path for p in snap.partitions.values() for f in p.files}
    on_disk = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*.parquet")}
    assert on_disk == listed


def test_the_volume_table_follows_appends_by_day_and_compaction(tmp_path: Path) -> None:
    from test_volumes import expected_table, table_frame

    from costplan.engines.volumes import refresh

    root = tmp_path / "store"
    store = write_store(root, fixture_frame())
    refresh(store)
    _append(store, [("Lambeth", 2020)])
    done = refresh(store)
    # One append behind: only the added day is counted from the store, the rest carried over.
    assert done.recounted == ["Lambeth|2020"]
    assert done.incremental == {"Lambeth|2020": ("2020-03-03", "2020-03-03")}
    assert table_frame(root).equals(expected_table(store.snapshot()))
    store.compact()
    refresh(store)
    assert table_frame(root).equals(expected_table(store.snapshot()))


def _codecs(path: str) -> set[str]:
    """The compression codecs of a Parquet file's column chunks, as its footer names them."""
    import duckdb

    sql = "SELECT DISTINCT compression FROM parquet_metadata($path)"
    return {row[0] for row in duckdb.execute(sql, {"path": path}).fetchall()}
