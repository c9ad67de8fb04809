"""The volume table's grain and its rebuild (issue 16): borough, day and call source; a rebuild
in one pass; summaries by grading counted from the partitions; older tables rebuilt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from test_summary import cell_rows, polars_counts
from test_volumes import (
    BOROUGHS,
    EXTRA_DAY,
    add_rows,
    build_store,
    expected_table,
    make_frame,
    table_files,
    table_frame,
)

from costplan.engines import volumes
from costplan.engines.volumes import recount
from costplan.store import Store
from costplan.summary import summarise


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "store")


def _spy_batches(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record each batch count (whole or by day) the batch path runs."""
    calls: list[bool] = []
    real = recount._count_batch

    def spy(eng: object, batch: Sequence[object], whole: bool) -> None:
        calls.append(whole)
        real(eng, batch, whole)  # type: ignore[arg-type]

    monkeypatch.setattr(recount, "_count_batch", spy)
    return calls


def test_the_table_has_no_grading(store: Store) -> None:
    volumes.refresh(store)
    assert volumes.VOLUME_COLUMNS == ("borough", "day", "call_source", "n")
    state = volumes.read_state(store.root)
    vdir = volumes.volumes_dir(store.root)
    month = next(iter(state.months.values()))
    assert pl.read_parquet(vdir / month.path).columns == list(volumes.VOLUME_COLUMNS)


def test_a_rebuild_is_one_pass_and_exact(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first refresh and a --full one count in one pass (no batch query) and give the table
    an independent group-by gives, with every partition's total checked by table_frame."""
    calls = _spy_batches(monkeypatch)
    first = volumes.refresh(store)
    assert calls == [] and first.rows_counted == store.snapshot().total_rows
    assert table_frame(store.root).equals(expected_table(store.snapshot()))
    add_rows(store, make_frame(["Camden"], [EXTRA_DAY], seed=5))
    full = volumes.refresh(store, full=True)
    assert calls == [] and full.incremental == {}
    assert sorted(full.recounted) == sorted(store.snapshot().partitions)
    assert table_frame(store.root).equals(expected_table(store.snapshot()))
    on_disk = {f"parts/{p.name}" for p in (volumes.volumes_dir(store.root) / "parts").iterdir()}
    assert on_disk == table_files(store.root)  # the staging directory's files all adopted
    assert not list(volumes.volumes_dir(store.root).glob(".staging-*"))


def test_a_rebuild_past_one_batch_takes_the_batch_path(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recount, "BATCH_ROWS", 50)
    calls = _spy_batches(monkeypatch)
    volumes.refresh(store)
    assert calls and all(calls)  # whole partitions, several batches
    assert table_frame(store.root).equals(expected_table(store.snapshot()))


def test_an_unreadable_partition_in_a_rebuild_is_pinned_to_itself(store: Store) -> None:
    """The one-pass count fails as a whole; the batch path then counts partition by partition,
    reports the bad one, and commits the others (the bad one keeps its previous counts)."""
    volumes.refresh(store)
    before = table_frame(store.root)
    snap = store.snapshot()
    (store.root / snap.partitions["Camden|2020"].files[0].path).write_bytes(b"not parquet")
    with pytest.raises(volumes.RefreshFailedError) as err:
        volumes.refresh(store, full=True)
    assert list(err.value.result.failed) == ["Camden|2020"]
    assert sorted(err.value.result.recounted) == sorted(set(snap.partitions) - {"Camden|2020"})
    assert table_frame(store.root).equals(before)
    assert not list(volumes.volumes_dir(store.root).glob(".staging-*"))


@pytest.mark.parametrize("by", [("grading",), ("borough", "grading"), ("call_source", "grading")])
def test_a_summary_by_grading_is_counted_from_the_partitions(
    store: Store, by: tuple[str, ...]
) -> None:
    volumes.refresh(store)
    snap = store.snapshot()
    for period in ("day", "month"):
        s = summarise(snap, period=period, by=by)
        assert s.source["partitions_counted_directly"] == len(snap.partitions)
        assert s.source["partitions_from_table"] == 0
        assert cell_rows(s) == polars_counts(snap, period, by).rows()


def test_a_summary_by_call_source_is_answered_from_the_table(store: Store) -> None:
    volumes.refresh(store)
    snap = store.snapshot()
    s = summarise(snap, period="week", by=("borough", "call_source"))
    assert s.source["partitions_counted_directly"] == 0
    assert cell_rows(s) == polars_counts(snap, "week", ("borough", "call_source")).rows()


def _age_to_format_3(store: Store) -> Path:
    """Make the committed table look like one written by the grain before (format 3)."""
    path = volumes.volumes_dir(store.root) / volumes.STATE
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["format"] = 3
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_an_older_table_is_never_read_and_is_rebuilt_saying_so(store: Store) -> None:
    volumes.refresh(store)
    old_files = table_files(store.root)
    _age_to_format_3(store)
    snap = store.snapshot()
    # Readers see no table: exact counts from the partitions, and no fast path.
    assert not volumes.is_fresh(snap)
    s = summarise(snap, period="week", by=("borough",))
    assert s.source["partitions_counted_directly"] == len(snap.partitions)
    assert cell_rows(s) == polars_counts(snap, "week", ("borough",)).rows()
    assert (
        volumes.count(snap, boroughs=list(BOROUGHS), date_from=EXTRA_DAY, date_to=EXTRA_DAY) is None
    )
    result = volumes.refresh(store)
    assert result.upgraded_from == 3
    assert sorted(result.recounted) == sorted(snap.partitions)
    assert table_frame(store.root).equals(expected_table(snap))
    on_disk = {f"parts/{p.name}" for p in (volumes.volumes_dir(store.root) / "parts").iterdir()}
    assert not on_disk & old_files  # the old table's files are collected
    assert volumes.refresh(store).upgraded_from is None  # said once


def test_a_refresh_of_a_current_or_absent_table_reports_no_upgrade(store: Store) -> None:
    assert volumes.refresh(store).upgraded_from is None  # never refreshed
    add_rows(store, make_frame(["Camden"], [EXTRA_DAY], seed=5))
    assert volumes.refresh(store).upgraded_from is None
