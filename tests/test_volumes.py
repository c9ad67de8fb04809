"""The daily volume table: exact counts, incremental refresh, the fast path, cron safety.

Every count is checked against an independent Polars scan of the snapshot's Parquet files.
The fixture builders here are also used by test_summary.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines import DuckDB, volumes
from costplan.engines.volumes import recount, refreshing
from costplan.engines.volumes.state import part_key
from costplan.errors import StoreError
from costplan.schema import RECORD_SCHEMA, format_cad_ref, london_day_bounds
from costplan.store import MANIFEST, Snapshot, Store
from costplan.summary import summarise

BOROUGHS = ("Barking and Dagenham", "Camden", "Lambeth")
DAYS = (
    dt.date(2019, 12, 30),  # a Monday in 2019 that starts ISO week 1 of 2020
    dt.date(2020, 1, 1),
    dt.date(2020, 3, 28),
    dt.date(2020, 3, 29),  # BST starts: a 23-hour London day
    dt.date(2020, 3, 30),
    dt.date(2020, 10, 25),  # BST ends: a 25-hour London day
    dt.date(2020, 10, 26),
    dt.date(2021, 1, 3),  # a Sunday in ISO week 53 of 2020
)
TAG_SETS: tuple[list[str] | None, ...] = (
    [],
    [],
    [],
    None,
    ["UME"],
    ["DV"],
    ["MH"],
    ["DV", "MH"],
    ["UME", "MH"],
    ["UME", "UME"],  # a repeated tag counts once
    ["MH", "DV", "UME"],
)
SOURCES = ("999", "101", "online", "police")
GRADINGS = ("I", "S", "E", "R")
EXTRA_DAY = dt.date(2020, 6, 25)


def make_frame(
    boroughs: Sequence[str] = BOROUGHS,
    days: Sequence[dt.date] = DAYS,
    *,
    seed: int = 11,
    mean: int = 40,
) -> pl.DataFrame:
    """Deterministic CAD rows (RECORD_SCHEMA): a varying number per borough-day, so that some
    groups are small enough to be suppressed; timestamps spread over the whole London day."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in days:
        start, end = london_day_bounds(day)
        span = int((end - start).total_seconds())
        for borough in boroughs:
            n = int(rng.integers(mean // 4, mean * 2))
            secs = np.sort(rng.integers(0, span, n))
            created = [start + dt.timedelta(seconds=int(s)) for s in secs]
            tags = [TAG_SETS[i] for i in rng.integers(0, len(TAG_SETS), n)]
            frames.append(
                pl.DataFrame(
                    {
                        "cad_ref": [format_cad_ref(i + 1, day) for i in range(n)],
                        "created_at": created,
                        "day": [day] * n,
                        "call_source": rng.choice(SOURCES, n, p=[0.45, 0.35, 0.15, 0.05]),
                        "grading": rng.choice(GRADINGS, n, p=[0.2, 0.4, 0.3, 0.1]),
                        "opening_code": ["NOISE"] * n,
                        "closing_code": ["NOISE"] * n,
                        "tags": tags,
                        "linked_to": [[] for _ in range(n)],
                        "summary": ["caller reports noise"] * n,
                        "borough": [borough] * n,
                        "year": [day.year] * n,
                    },
                    schema=RECORD_SCHEMA,
                )
            )
    return pl.concat(frames)


def build_store(root: Path, frame: pl.DataFrame | None = None) -> Store:
    """A store at root holding `frame` (default: make_frame()), in one commit."""
    store = Store.open(root, create=True)
    with store.writer() as txn:
        txn.add(make_frame() if frame is None else frame)
        txn.commit()
    return store


def add_rows(store: Store, frame: pl.DataFrame) -> list[str]:
    """Commit more rows; returns the partition keys the commit rewrote."""
    with store.writer() as txn:
        txn.add(frame)
        return txn.commit().partitions_rewritten


def scan(snap: Snapshot) -> pl.DataFrame:
    """All records of a snapshot, read independently of costplan (Polars, hive paths)."""
    return pl.scan_parquet(snap.files(), hive_partitioning=True).collect()


def direct_count(
    snap: Snapshot,
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    tags: Sequence[str] | None = None,
    call_sources: Sequence[str] | None = None,
) -> int:
    """The fast path's contract, computed straight from the partitions with Polars."""
    df = scan(snap).filter(
        pl.col("borough").is_in(list(boroughs)), pl.col("day").is_between(date_from, date_to)
    )
    if call_sources:
        df = df.filter(pl.col("call_source").is_in(list(call_sources)))
    if tags:
        hit = pl.col("tags").list.eval(pl.element().is_in(list(tags))).list.any()
        df = df.filter(hit.fill_null(False))
    return df.height


VOLUME_SCHEMA = {
    "borough": pl.String(),
    "day": pl.Date(),
    "call_source": pl.String(),
    "n": pl.Int64(),
}


def table_frame(root: Path) -> pl.DataFrame:
    """The committed volume table, in a canonical order.

    Also checks the month files agree with themselves: no two of a month's files hold the same
    borough-day, and the state's per-partition counts and last day match the rows.
    """
    state = volumes.read_state(root)
    vdir = volumes.volumes_dir(root)
    frames = [pl.DataFrame(schema=VOLUME_SCHEMA)]
    for month, e in state.months.items():
        parts = [pl.read_parquet(vdir / v).cast(VOLUME_SCHEMA) for v in e.volume_files]  # type: ignore[arg-type]
        days = [p.select("borough", "day").unique() for p in parts]
        # No two of a month's files hold the same borough-day (appends never overlap).
        assert pl.concat(days).is_duplicated().sum() == 0, month
        df = pl.concat(parts)
        assert df["day"].dt.strftime("%Y-%m").unique().to_list() == [month]
        assert e.last_day == df["day"].max().isoformat()  # type: ignore[union-attr]
        per_part = df.group_by(
            pl.concat_str("borough", pl.lit("|"), pl.col("day").dt.year()).alias("key")
        ).agg(pl.col("n").sum())
        assert dict(per_part.iter_rows()) == e.counts
        frames.append(df)
    return pl.concat(frames).sort(pl.all())


def table_files(root: Path) -> set[str]:
    """Files the committed state needs: every month's files and the retired ones."""
    state = volumes.read_state(root)
    return {f for e in state.months.values() for f in e.files} | {r["path"] for r in state.retired}


def expected_table(snap: Snapshot) -> pl.DataFrame:
    """What the volume table must hold, from an independent Polars group-by."""
    return (
        scan(snap)
        .group_by("borough", "day", "call_source")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .select(list(VOLUME_SCHEMA))
        .sort(pl.all())
    )


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path / "store")


# -- building and refreshing ------------------------------------------------------------------
def test_refresh_builds_the_exact_table(store: Store) -> None:
    result = volumes.refresh(store)
    snap = store.snapshot()
    assert sorted(result.recounted) == sorted(snap.partitions)
    assert table_frame(store.root).equals(expected_table(snap))
    assert int(table_frame(store.root)["n"].sum()) == snap.total_rows  # one tag set per CAD
    assert volumes.is_fresh(snap)
    # Volume files are named by a hash and a token, never by the borough text.
    names = [p.name for p in (volumes.volumes_dir(store.root) / "parts").iterdir()]
    assert names and not any("Camden" in n or "Barking" in n for n in names)


def test_second_refresh_recounts_nothing(store: Store) -> None:
    volumes.refresh(store)
    again = volumes.refresh(store)
    assert again.recounted == [] and again.dropped == []
    assert again.unchanged == len(store.snapshot().partitions)


def test_incremental_refresh_recounts_only_the_changed_partition(store: Store) -> None:
    volumes.refresh(store)
    rewritten = add_rows(store, make_frame(["Camden"], [EXTRA_DAY], seed=5))
    assert rewritten == ["Camden|2020"]
    result = volumes.refresh(store)
    assert result.recounted == ["Camden|2020"]
    assert result.unchanged == len(store.snapshot().partitions) - 1
    incremental = table_frame(store.root)
    assert incremental.equals(expected_table(store.snapshot()))
    full = volumes.refresh(store, full=True)
    assert sorted(full.recounted) == sorted(store.snapshot().partitions)
    assert table_frame(store.root).equals(incremental)


def late_rows(boroughs: Sequence[str], days: Sequence[dt.date], *, seed: int) -> pl.DataFrame:
    """More CADs on days the store may already hold, with references not used there yet."""
    frame = make_frame(boroughs, days, seed=seed, mean=12)
    # '17/28MAR20' -> '900017/28MAR20': a serial make_frame never produces.
    return frame.with_columns(pl.concat_str(pl.lit("9000"), pl.col("cad_ref")).alias("cad_ref"))


def assert_matches_a_rebuild(store: Store) -> None:
    """The committed table equals an independent group-by and a full rebuild, and the fast
    path answers every borough's scope exactly as a direct count of the partitions."""
    snap = store.snapshot()
    incremental = table_frame(store.root)
    assert incremental.equals(expected_table(snap))
    assert volumes.is_fresh(snap)
    lo, hi = DAYS[0], max(DAYS[-1], EXTRA_DAY)
    for scope in (
        {"boroughs": list(BOROUGHS), "date_from": lo, "date_to": hi},
        {
            "boroughs": ["Camden"],
            "date_from": DAYS[2],
            "date_to": EXTRA_DAY,
            "call_sources": ["999"],
        },
        {"boroughs": ["Lambeth"], "date_from": EXTRA_DAY, "date_to": EXTRA_DAY},
        {"boroughs": ["Barking and Dagenham"], "date_from": DAYS[2], "date_to": DAYS[4]},
    ):
        assert volumes.count(snap, **scope) == direct_count(snap, **scope)  # type: ignore[arg-type]
    volumes.refresh(store, full=True)
    assert table_frame(store.root).equals(incremental)


def test_nightly_day_is_recounted_by_day_in_one_query(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    volumes.refresh(store)
    entries_before = volumes.read_state(store.root).partitions
    nightly = make_frame(list(BOROUGHS), [EXTRA_DAY], seed=5)
    rewritten = add_rows(store, nightly)
    assert rewritten == ["Barking and Dagenham|2020", "Camden|2020", "Lambeth|2020"]
    queries: list[tuple[list[str], bool]] = []
    real = recount._count_batch

    def spy(eng: object, batch: Sequence[tuple[object, object]], whole: bool) -> object:
        queries.append((sorted(part_key(p) for p, _ in batch), whole))  # type: ignore[arg-type]
        return real(eng, batch, whole)  # type: ignore[arg-type]

    monkeypatch.setattr(recount, "_count_batch", spy)
    result = volumes.refresh(store)
    monkeypatch.undo()
    day = EXTRA_DAY.isoformat()
    assert result.recounted == rewritten
    assert result.incremental == {k: (day, day) for k in rewritten}
    assert queries == [(rewritten, False)]  # all three partitions' day from one query
    assert result.months_written == ["2020-06"]  # one month file rewritten, not three years
    # Only that day was read into the table: exactly the rows the ingest added.
    assert result.rows_counted == nightly.height
    assert result.unchanged == len(store.snapshot().partitions) - 3
    entries_after = volumes.read_state(store.root).partitions
    for key, entry in entries_before.items():
        assert (entries_after[key] == entry) == (key not in rewritten)
    assert_matches_a_rebuild(store)


def test_nightly_days_are_appended_beside_the_month_then_merged(store: Store) -> None:
    """Each new day after a month's last day is written as a day file of its own (the month's
    files are neither read nor rewritten); the refresh after MAX_DELTAS of them merges the
    month, and a late file to a day the month holds merges it too. Exact at every step."""
    volumes.refresh(store)
    month = "2021-01"
    base = volumes.read_state(store.root).months[month]
    for i in range(volumes.MAX_DELTAS + 1):
        day = DAYS[-1] + dt.timedelta(days=1 + i)
        add_rows(store, make_frame(list(BOROUGHS), [day], seed=10 + i))
        result = volumes.refresh(store)
        entry = volumes.read_state(store.root).months[month]
        assert result.months_written == [month] and result.incremental
        if i < volumes.MAX_DELTAS:  # appended: the month's own files are kept as they were
            assert entry.path == base.path
            assert len(entry.deltas) == i + 1
            assert set(base.files) <= table_files(store.root)  # nothing of it was retired
        else:  # compaction: one pair again, and the old ones retired
            assert entry.deltas == () and entry.path != base.path
        assert entry.last_day == day.isoformat()
        assert table_frame(store.root).equals(expected_table(store.snapshot()))
        if i == 2:  # summaries read the day files too: every day's count is exact
            snap = store.snapshot()
            for by in (["borough"], ["call_source"]):
                s = summarise(snap, period="day", by=by, date_from=DAYS[-1], date_to=day)
                assert s.source["partitions_counted_directly"] == 0
                for d in (DAYS[-1], day):
                    got = sum(c.count or 0 for c in s.cells if c.period_start == d)
                    assert got == direct_count(snap, list(BOROUGHS), d, d), (by, d)
    # A late file to a day the month already holds: merged, never appended twice.
    add_rows(store, late_rows(["Camden"], [DAYS[-1] + dt.timedelta(days=2)], seed=99))
    result = volumes.refresh(store)
    assert volumes.read_state(store.root).months[month].deltas == ()
    assert result.incremental == {"Camden|2021": ("2021-01-05", "2021-01-05")}
    assert_matches_a_rebuild(store)


def test_late_export_to_existing_days_is_recounted_exactly(store: Store) -> None:
    volumes.refresh(store)
    # A late export: more Camden rows for days that already have rows (28 and 30 March), so
    # 28..30 March is recounted (the 29th, with no new rows, harmlessly). In the same commit,
    # Lambeth's nightly day: each partition is filtered by its own range in the one query.
    late = late_rows(["Camden"], [DAYS[2], DAYS[4]], seed=21)
    nightly = make_frame(["Lambeth"], [EXTRA_DAY], seed=5)
    assert add_rows(store, pl.concat([late, nightly])) == ["Camden|2020", "Lambeth|2020"]
    snap = store.snapshot()
    result = volumes.refresh(store)
    assert result.recounted == ["Camden|2020", "Lambeth|2020"]
    assert result.incremental == {
        "Camden|2020": (DAYS[2].isoformat(), DAYS[4].isoformat()),
        "Lambeth|2020": (EXTRA_DAY.isoformat(), EXTRA_DAY.isoformat()),
    }
    camden_days = scan(snap).filter(
        pl.col("borough") == "Camden", pl.col("day").is_between(DAYS[2], DAYS[4])
    )
    assert camden_days.height > late.height  # the old rows of those days are recounted too
    assert result.rows_counted == camden_days.height + nightly.height
    assert_matches_a_rebuild(store)


def test_two_commits_between_refreshes_recount_whole(store: Store) -> None:
    volumes.refresh(store)
    add_rows(store, make_frame(["Camden", "Lambeth"], [EXTRA_DAY], seed=5))
    volumes.refresh(store)
    # Camden: two rewrites behind (whole). Lambeth: one rewrite behind (by day).
    add_rows(store, late_rows(["Camden"], [DAYS[1]], seed=22))
    add_rows(store, late_rows(["Camden", "Lambeth"], [DAYS[6]], seed=23))
    result = volumes.refresh(store)
    assert result.recounted == ["Camden|2020", "Lambeth|2020"]
    day = DAYS[6].isoformat()
    assert result.incremental == {"Lambeth|2020": (day, day)}
    assert_matches_a_rebuild(store)


def test_refresh_by_day_falls_back_to_whole_when_unsure(store: Store) -> None:
    volumes.refresh(store)
    add_rows(store, make_frame(["Camden", "Lambeth"], [EXTRA_DAY], seed=5))
    snap = store.snapshot()
    # Camden: the rewrite claims the wrong days, so carried-over totals disagree with the
    # manifest. Lambeth: it is one rewrite behind, but it stays by day.
    parts = dict(snap.partitions)
    parts["Camden|2020"] = dataclasses.replace(
        parts["Camden|2020"], added_days=("2020-01-01", "2020-01-01")
    )
    store._write_manifest(
        Snapshot(**{**snap.__dict__, "version": snap.version + 1, "partitions": parts})
    )
    result = volumes.refresh(store)
    assert result.recounted == ["Camden|2020", "Lambeth|2020"]
    day = EXTRA_DAY.isoformat()
    assert result.incremental == {"Lambeth|2020": (day, day)}
    assert_matches_a_rebuild(store)


def test_a_lost_month_file_makes_its_partitions_stale(store: Store) -> None:
    volumes.refresh(store)
    add_rows(store, make_frame(["Lambeth"], [EXTRA_DAY], seed=5))
    state = volumes.read_state(store.root)
    # The month of 28-30 March holds every borough's 2020 rows: deleting it loses them all.
    (volumes.volumes_dir(store.root) / state.months["2020-03"].path).unlink()
    snap = store.snapshot()
    assert not volumes.is_fresh(snap, ["Camden"], [2020]) and volumes.is_fresh(snap, years=[2019])
    scope = {"boroughs": ["Camden"], "date_from": DAYS[0], "date_to": DAYS[-1]}
    assert volumes.count(snap, **scope) is None  # never a wrong count
    s = summarise(snap, period="month", by=["borough"])
    assert s.source["partitions_counted_directly"] == 3  # every borough's 2020
    result = volumes.refresh(store)
    assert result.recounted == ["Barking and Dagenham|2020", "Camden|2020", "Lambeth|2020"]
    assert result.incremental == {}  # a lost file means recounting whole
    assert_matches_a_rebuild(store)


def test_a_damaged_month_file_is_one_error_never_a_count(store: Store) -> None:
    volumes.refresh(store)
    state = volumes.read_state(store.root)
    (volumes.volumes_dir(store.root) / state.months["2020-03"].path).write_bytes(b"not parquet")
    snap = store.snapshot()
    scope = {"boroughs": ["Camden"], "date_from": DAYS[2], "date_to": DAYS[4]}
    assert volumes.count(snap, **scope) is None  # the caller counts from the partitions
    # One costplan error, not a DuckDB traceback, saying the table is damaged and how to
    # rebuild it.
    with pytest.raises(StoreError, match="volume table .* is damaged") as caught:
        summarise(snap, period="week", by=["call_source"])  # reads the volume rows
    assert caught.value.hint is not None and "summary refresh --full" in caught.value.hint


def test_full_refresh_never_recounts_by_day(store: Store) -> None:
    volumes.refresh(store)
    add_rows(store, make_frame(["Camden"], [EXTRA_DAY], seed=5))
    result = volumes.refresh(store, full=True)
    assert result.incremental == {}
    assert result.rows_counted == store.snapshot().total_rows
    assert_matches_a_rebuild(store)


def test_removed_partition_is_dropped(store: Store) -> None:
    volumes.refresh(store)
    snap = store.snapshot()
    # The store has no delete command yet: publish a manifest without one partition.
    parts = {k: p for k, p in snap.partitions.items() if k != "Lambeth|2021"}
    store._write_manifest(
        Snapshot(**{**snap.__dict__, "version": snap.version + 1, "partitions": parts})
    )
    result = volumes.refresh(store)
    assert result.dropped == ["Lambeth|2021"] and result.recounted == []
    assert "Lambeth|2021" not in volumes.read_state(store.root).partitions
    assert table_frame(store.root).equals(expected_table(store.snapshot()))


def test_damaged_state_reads_as_empty_and_is_rebuilt(store: Store) -> None:
    volumes.refresh(store)
    (volumes.volumes_dir(store.root) / volumes.STATE).write_text("{not json", encoding="utf-8")
    snap = store.snapshot()
    assert not volumes.is_fresh(snap)
    scope = {"boroughs": ["Camden"], "date_from": DAYS[0], "date_to": DAYS[-1]}
    assert volumes.count(snap, **scope) is None
    assert sorted(volumes.refresh(store).recounted) == sorted(snap.partitions)
    assert volumes.count(snap, **scope) == direct_count(snap, **scope)


# -- the fast path ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    store = build_store(tmp_path_factory.mktemp("fast") / "store")
    volumes.refresh(store)
    return store.snapshot()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    boroughs=st.lists(
        st.sampled_from(BOROUGHS + ("Hackney",)), min_size=1, max_size=3, unique=True
    ),
    span=st.tuples(st.sampled_from(DAYS), st.sampled_from(DAYS)),
    tags=st.none() | st.lists(st.sampled_from(["UME", "DV", "MH", "ZZ"]), min_size=1, max_size=3),
    sources=st.none() | st.lists(st.sampled_from(SOURCES), min_size=1, max_size=2),
)
def test_fast_path_equals_direct_count(
    fresh_snapshot: Snapshot,
    boroughs: list[str],
    span: tuple[dt.date, dt.date],
    tags: list[str] | None,
    sources: list[str] | None,
) -> None:
    d0, d1 = min(span), max(span)
    fast = volumes.count(
        fresh_snapshot, boroughs=boroughs, date_from=d0, date_to=d1, tags=tags, call_sources=sources
    )
    if tags:  # the table holds no tags: a count by tag is left to the partitions
        assert fast is None
    else:
        assert fast == direct_count(fresh_snapshot, boroughs, d0, d1, tags, sources)


def test_a_count_by_tag_is_counted_from_the_partitions(fresh_snapshot: Snapshot) -> None:
    """The engine's quick count refuses tags, so triage counts them from the partitions."""
    scope = {"boroughs": list(BOROUGHS), "date_from": DAYS[0], "date_to": DAYS[-1]}
    assert DuckDB().quick_count(fresh_snapshot, **scope, tags=["UME"]) is None
    assert DuckDB().quick_count(fresh_snapshot, **scope) == direct_count(fresh_snapshot, **scope)


def test_fast_path_falls_back_after_an_unseen_ingest(store: Store) -> None:
    volumes.refresh(store)
    camden = {"boroughs": ["Camden"], "date_from": dt.date(2020, 1, 1), "date_to": EXTRA_DAY}
    lambeth = {**camden, "boroughs": ["Lambeth"]}
    before = volumes.count(store, **camden)
    add_rows(store, make_frame(["Camden"], [EXTRA_DAY], seed=5))
    snap = store.snapshot()
    # Camden 2020 changed: the fast path refuses; the caller must read the partitions.
    assert volumes.count(snap, **camden) is None
    assert not volumes.is_fresh(snap, ["Camden"], [2020])
    assert volumes.is_fresh(snap, ["Camden"], [2021]) and volumes.is_fresh(snap, ["Lambeth"], None)
    assert volumes.count(snap, **lambeth) == direct_count(snap, **lambeth)
    # The summary never serves stale figures: it counts the changed partition directly.
    s = summarise(snap, period="month", by=["borough"])
    assert s.source["partitions_counted_directly"] == 1
    total = sum(c.count or 0 for c in s.cells if c.groups == ("Camden",))
    assert total == direct_count(snap, ["Camden"], DAYS[0], DAYS[-1])
    # After a refresh the fast path answers again, with the new rows.
    volumes.refresh(store)
    after = volumes.count(snap, **camden)
    assert after == direct_count(snap, **camden) and before is not None and after > before


def test_fast_path_edge_scopes(fresh_snapshot: Snapshot) -> None:
    d = DAYS[3]
    assert volumes.count(fresh_snapshot, boroughs=[], date_from=d, date_to=d) == 0
    assert volumes.count(fresh_snapshot, boroughs=["Camden"], date_from=d, date_to=DAYS[0]) == 0
    never = dt.date(1999, 1, 1)
    assert volumes.count(fresh_snapshot, boroughs=["Camden"], date_from=never, date_to=never) == 0
    assert volumes.count(fresh_snapshot, boroughs=["Camden"], date_from=d, date_to=d, tags=[]) == (
        direct_count(fresh_snapshot, ["Camden"], d, d)
    )


def test_never_refreshed_is_not_fresh(store: Store) -> None:
    snap = store.snapshot()
    assert not volumes.is_fresh(snap)
    assert volumes.count(snap, boroughs=["Camden"], date_from=DAYS[0], date_to=DAYS[0]) is None


# -- cron safety ----------------------------------------------------------------------------------
def test_concurrent_refresh_exits_zero_with_a_message(store: Store) -> None:
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow(done: int, total: int, key: str) -> None:
        started.set()
        release.wait(10)

    def first() -> None:
        outcome["result"] = volumes.refresh(store, progress=slow)

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert started.wait(10)
        res = CliRunner().invoke(app, ["summary", "refresh", "--store", str(store.root)])
        assert res.exit_code == 0
        assert res.stderr.strip() == "another refresh is running; nothing to do"
        assert volumes.refresh(store).skipped
    finally:
        release.set()
        worker.join(10)
    first_result = outcome["result"]
    assert isinstance(first_result, volumes.RefreshResult) and not first_result.skipped
    assert table_frame(store.root).equals(expected_table(store.snapshot()))


def test_exception_before_the_state_swap_keeps_the_previous_table(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    volumes.refresh(store)
    state_before = (volumes.volumes_dir(store.root) / volumes.STATE).read_text()
    old_snap = store.snapshot()
    old_table = table_frame(store.root)
    add_rows(store, make_frame(["Camden", "Lambeth"], [EXTRA_DAY], seed=6))

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(refreshing, "write_state", boom)
    with pytest.raises(OSError):
        volumes.refresh(store)
    monkeypatch.undo()
    assert (volumes.volumes_dir(store.root) / volumes.STATE).read_text() == state_before
    assert table_frame(store.root).equals(old_table)
    scope = {"boroughs": ["Camden"], "date_from": DAYS[0], "date_to": DAYS[-1]}
    assert volumes.count(old_snap, **scope) == direct_count(old_snap, **scope)
    assert volumes.count(store.snapshot(), **scope) is None  # not fresh for the new data
    # The next refresh removes the orphans and finishes the job.
    assert sorted(volumes.refresh(store).recounted) == ["Camden|2020", "Lambeth|2020"]
    assert table_frame(store.root).equals(expected_table(store.snapshot()))
    on_disk = {f"parts/{p.name}" for p in (volumes.volumes_dir(store.root) / "parts").iterdir()}
    assert on_disk == table_files(store.root)


# A day of a month the table lacks (new month files), and a day after the last one of a month
# it holds (a pair of day files beside that month's files).
@pytest.mark.parametrize("day", [EXTRA_DAY, DAYS[-1] + dt.timedelta(days=1)], ids=["new", "day"])
def test_sigkilled_refresh_leaves_the_previous_table(store: Store, day: dt.date) -> None:
    volumes.refresh(store)
    old_table = table_frame(store.root)
    add_rows(store, make_frame(list(BOROUGHS), [day], seed=7))
    script = textwrap.dedent(
        """
        import os, signal, sys
        from costplan.engines import volumes
        from costplan.store import Store

        def die(done, total, key):
            if done == total:  # the new month's files written, state not yet swapped
                os.kill(os.getpid(), signal.SIGKILL)

        volumes.refresh(Store.open(sys.argv[1]), progress=die)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(store.root)], timeout=60)
    assert proc.returncode == -9
    assert table_frame(store.root).equals(old_table)
    parts = volumes.volumes_dir(store.root) / "parts"
    assert len(list(parts.iterdir())) > len(table_files(store.root))  # the killed run's orphans...
    volumes.refresh(store)
    assert table_frame(store.root).equals(expected_table(store.snapshot()))
    on_disk = {f"parts/{p.name}" for p in parts.iterdir()}
    assert on_disk == table_files(store.root)  # ...and the next refresh removed them
    deltas = volumes.read_state(store.root).months[volumes.month_key(day)].deltas
    assert len(deltas) == (day > DAYS[-1])  # the day was appended, not merged


def test_a_failed_partition_is_reported_and_the_rest_committed(store: Store) -> None:
    volumes.refresh(store)
    add_rows(store, make_frame(["Camden", "Lambeth"], [EXTRA_DAY], seed=8))
    snap = store.snapshot()
    bad = snap.partitions["Camden|2020"].files[0].path
    (store.root / bad).write_bytes(b"this is not parquet")
    with pytest.raises(volumes.RefreshFailedError) as err:
        volumes.refresh(store)
    assert list(err.value.result.failed) == ["Camden|2020"]
    assert err.value.result.recounted == ["Lambeth|2020"]
    assert volumes.is_fresh(store.snapshot(), ["Lambeth"]) and not volumes.is_fresh(
        store.snapshot(), ["Camden"], [2020]
    )
    res = CliRunner().invoke(app, ["summary", "refresh", "--store", str(store.root)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costplan: error: 1 partition(s) could not")
    assert "Camden|2020" in lines[0] and "Traceback" not in res.output


def test_unreadable_store_exits_2_with_one_line(tmp_path: Path, store: Store) -> None:
    (store.root / MANIFEST).write_text("{broken", encoding="utf-8")
    for target in (store.root, tmp_path / "missing"):
        res = CliRunner().invoke(app, ["summary", "refresh", "--store", str(target)])
        assert res.exit_code == 2
        assert res.stderr.startswith("costplan: error:") and res.stderr.count("\n") == 1
        assert "Traceback" not in res.output


def test_cli_refresh_is_quiet_when_not_a_terminal(store: Store) -> None:
    res = CliRunner().invoke(app, ["summary", "refresh", "--store", str(store.root)])
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""
    assert volumes.is_fresh(store.snapshot())
    full = CliRunner().invoke(app, ["summary", "refresh", "--full", "--store", str(store.root)])
    assert full.exit_code == 0
    state = json.loads((volumes.volumes_dir(store.root) / volumes.STATE).read_text())
    assert state["store_version"] == store.snapshot().version


def test_store_writer_ignores_the_volume_directory(store: Store) -> None:
    """The store's garbage collector must never delete the volume table's files."""
    volumes.refresh(store)
    files = sorted(p.name for p in (volumes.volumes_dir(store.root) / "parts").iterdir())
    add_rows(store, make_frame(["Lambeth"], [EXTRA_DAY], seed=9))
    assert sorted(p.name for p in (volumes.volumes_dir(store.root) / "parts").iterdir()) == files
    shutil.rmtree(volumes.volumes_dir(store.root))
    assert volumes.count(store, boroughs=["Camden"], date_from=DAYS[0], date_to=DAYS[0]) is None


def test_a_damaged_table_file_says_how_to_rebuild_the_table(tmp_path: Path) -> None:
    root = tmp_path / "store"
    gen = ["generate", "--store", str(root), "--start", "2020-01-01", "--end", "2020-02-29"]
    assert CliRunner().invoke(app, [*gen, "--boroughs", "Lambeth"]).exit_code == 0
    summary = ["summary", "--store", str(root), "--period", "week", "--by", "borough"]
    assert CliRunner().invoke(app, ["summary", "refresh", "--store", str(root)]).exit_code == 0
    good = CliRunner().invoke(app, summary)
    for f in (root / "volumes").rglob("*.parquet"):
        f.write_bytes(b"not parquet")
    res = CliRunner().invoke(app, summary)
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "the volume table" in res.stderr and "is damaged" in res.stderr
    assert f"costplan summary refresh --full --store {root}" in res.stderr
    # The table is derived from the partitions: a full refresh rebuilds it, nothing lost.
    assert (
        CliRunner().invoke(app, ["summary", "refresh", "--full", "--store", str(root)]).exit_code
        == 0
    )
    again = CliRunner().invoke(app, summary)
    assert again.exit_code == 0 and again.stdout == good.stdout
