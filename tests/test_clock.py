"""The plan's breakdown by local hour from UTC buckets (planner/clock.py): exact, never per row.

`plan_item_counts.sql` groups CADs by a UTC bucket and converts only the buckets to local
hours. These tests check the bucket itself against zoneinfo instant by instant (a property over
zones with whole, half, three-quarter and odd-second offsets), and the query's breakdown against
a per-row conversion (the way it was counted before) on both London clock changes, with windows
that start, end and cross midnight inside the changed hours, and in a zone of 45-minute offset.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costplan.engines import DuckDB, QueryEngine
from costplan.engines.sql import _body, load_query
from costplan.planner.breakdown import is_array, plain
from costplan.planner.clock import bucket_seconds, span_bucket
from costplan.planner.strategies import (
    FULL_REVIEW,
    KEYWORD,
    LINKED,
    TAG_QUERY,
    count_params,
    item_counts,
    scope_params,
)
from costplan.profile import parse_profile
from costplan.request import Item, build_request
from costplan.schema import RECORD_SCHEMA, format_cad_ref
from costplan.store import Store

ZONES = [
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # a half-hour clock change
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Monrovia",  # -00:44:30 until 1972
]


def year_bucket(zone: str, year: int) -> int:
    return span_bucket(zone, dt.date(year, 1, 1), dt.date(year, 12, 31))


def test_buckets_of_known_zones() -> None:
    assert year_bucket("Europe/London", 2020) == 3600
    assert year_bucket("Asia/Kolkata", 2020) == 1800
    assert year_bucket("Asia/Kathmandu", 2020) == 900
    assert year_bucket("Australia/Lord_Howe", 2020) == 1800
    assert year_bucket("Africa/Monrovia", 1971) == 30
    # London's mean time until 1847 was -00:01:15.
    assert year_bucket("Europe/London", 1847) == 75
    # Liberia's clocks went from -00:44:30 to GMT on 7 January 1972: only days near it split.
    assert span_bucket("Africa/Monrovia", dt.date(1972, 1, 5), dt.date(1972, 1, 5)) == 30
    assert span_bucket("Africa/Monrovia", dt.date(1972, 1, 9), dt.date(1972, 3, 1)) == 3600
    # A window ending at 04:30 splits London's hours in two.
    assert bucket_seconds("Europe/London", dt.date(2020, 1, 1), dt.date(2021, 6, 1), 270) == 1800
    assert bucket_seconds("Europe/London", dt.date(2020, 3, 29), dt.date(2020, 3, 29), 240) == 3600


def _local(zone: ZoneInfo, ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, zone)


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    year=st.sampled_from([1971, 2020, 2021]),
    second=st.integers(0, 366 * 86_400),
    near_change=st.booleans(),
    minute_to=st.one_of(st.none(), st.integers(1, 1440)),
)
def test_every_instant_of_a_bucket_has_its_first_instants_local_day_hour_and_side(
    zone: str, year: int, second: int, near_change: bool, minute_to: int | None
) -> None:
    tz = ZoneInfo(zone)
    start = int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp())
    ts = start + second
    if near_change:
        # Within a few hours of the year's first or last clock change, if it has one.
        changes = [
            t
            for t in range(start, start + 366 * 86_400, 3600)
            if _local(tz, t).utcoffset() != _local(tz, t + 3600).utcoffset()
        ]
        if changes:
            ts = changes[second % len(changes)] + second % 14_400 - 7_200
    day = _local(tz, ts).date()
    b = bucket_seconds(zone, day - dt.timedelta(days=second % 3), day, minute_to)
    assert 3600 % b == 0
    first = ts - ts % b
    a, z = _local(tz, first), _local(tz, ts)
    assert (a.date(), a.hour) == (z.date(), z.hour)
    if minute_to is not None:
        assert (a.hour * 60 + a.minute < minute_to) == (z.hour * 60 + z.minute < minute_to)


# ---- the query against a per-row conversion --------------------------------------------------

# The breakdown as it was counted before buckets: each CAD's own local hour (ICU, per row).
PER_ROW = """
WITH scope AS ({scope})
SELECT
  borough,
  day,
  hour(created_at) AS hour,
  coalesce(
    CAST($minute_from AS INTEGER) >= CAST($minute_to AS INTEGER)
      AND hour(created_at) * 60 + minute(created_at) < CAST($minute_to AS INTEGER),
    false
  ) AS morning,
  count(*) AS records
FROM scope
GROUP BY ALL
ORDER BY ALL
"""


def _per_row(session: QueryEngine, item: Item) -> list[tuple[object, ...]]:
    sql = PER_ROW.format(scope=_body(load_query("scope").sql))
    return session.con.execute(sql, scope_params(item)).fetchall()  # type: ignore[attr-defined,no-any-return]


def _bucketed(session: QueryEngine, item: Item) -> list[tuple[object, ...]]:
    cols = session.columns("plan_item_counts", **count_params(session, [item]))
    if not cols:
        return []
    names = ("borough", "day", "hour", "morning", "records")
    return list(zip(*(cols[n] for n in names), strict=True))


def _frame(
    zone: ZoneInfo, days: list[dt.date], boroughs: list[str], every: int, prefix: str = ""
) -> pl.DataFrame:
    """CADs every `every` UTC seconds (plus a jitter) over the local days, in each borough;
    some tagged, some worded, some linking back to an earlier tagged one."""
    rng = random.Random(16)
    first = dt.datetime.combine(days[0], dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    rows = []
    tagged: list[str] = []
    ts = first
    while ts < end.astimezone(dt.UTC):
        for b in boroughs:
            day = days[0]
            ref = f"K{day:%Y%m%d}-{len(rows)}" if prefix else format_cad_ref(len(rows) + 1, day)
            at = ts + dt.timedelta(seconds=rng.randrange(every))
            tags = ["UME"] if rng.random() < 0.2 else []
            links = [rng.choice(tagged)] if tagged and not tags and rng.random() < 0.1 else []
            if tags:
                tagged.append(ref)
            rows.append(
                {
                    "created_at": at,
                    "day": at.astimezone(zone).date(),
                    "borough": b,
                    "call_source": "999",
                    "grading": "I",
                    "opening_code": "NOISE" if rng.random() < 0.1 else "ASB",
                    "closing_code": "ASB",
                    "tags": tags,
                    "summary": "loud Music" if rng.random() < 0.3 else "a report",
                    "cad_ref": ref,
                    "linked_to": links,
                }
            )
        ts += dt.timedelta(seconds=every)
    frame = pl.DataFrame(rows).with_columns(
        pl.col("created_at").dt.convert_time_zone("UTC"),
        pl.col("tags").cast(pl.List(pl.String)),
        pl.col("linked_to").cast(pl.List(pl.String)),
        year=pl.col("day").dt.year().cast(pl.Int16),
    )
    return frame.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]


WINDOWS = [None, ("00:30", "01:30"), ("01:00", "02:00"), ("23:15", "01:45"), ("01:45", "01:15")]


@pytest.fixture(scope="module")
def dst_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    days = [dt.date(2020, 3, 28) + dt.timedelta(days=i) for i in range(3)]
    days += [dt.date(2020, 10, 24) + dt.timedelta(days=i) for i in range(3)]
    parts = [
        _frame(ZoneInfo("Europe/London"), days[:3], ["Lambeth", "Haringey"], 97),
        _frame(ZoneInfo("Europe/London"), days[3:], ["Lambeth", "Haringey"], 97),
    ]
    store = Store.open(tmp_path_factory.mktemp("dst") / "store", create=True)
    with store.writer() as txn:
        txn.add(pl.concat(parts))
        txn.commit()
    return store


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: "-".join(w) if w else "whole")
@pytest.mark.parametrize("first", [dt.date(2020, 3, 28), dt.date(2020, 10, 24)])
def test_breakdown_equals_a_per_row_conversion_across_clock_changes(
    dst_store: Store, first: dt.date, window: tuple[str, str] | None
) -> None:
    spec: dict[str, object] = {
        "boroughs": ["Lambeth", "Haringey"],
        "date_from": first.isoformat(),
        "date_to": (first + dt.timedelta(days=2)).isoformat(),
        "tags": ["UME"],
        "keywords": ["music"],
    }
    if window:
        spec["time_from"], spec["time_to"] = window
    item = build_request({"items": [spec]}, "t").items[0]
    snap = dst_store.snapshot()
    with DuckDB().for_store(snap).open(snap) as session:
        want = _per_row(session, item)
        assert want  # the scope is not empty
        assert _bucketed(session, item) == want
        counts, breakdown = item_counts(session, item)
    assert counts[FULL_REVIEW] == sum(r[4] for r in want) == sum(breakdown.records)  # type: ignore[misc]
    assert 0 < counts[TAG_QUERY] <= counts[LINKED] and 0 < counts[KEYWORD]


KATHMANDU = """
name = "test-ktm"
title = "A force on Nepal time"
time_zone = "Asia/Kathmandu"
area_word = "district"
group_word = "zone"

[reference]
format = "pattern"
pattern = '^K(?P<date>[0-9]{8})-[0-9]+$'
date_format = "%Y%m%d"

[vocabulary]
call_sources = ["999"]
gradings = ["I"]

[groups]
B = { name = "Bagmati" }

[[areas]]
name = "Lalitpur"
group = "B"
"""


def test_breakdown_in_a_zone_of_45_minute_offsets(tmp_path: Path) -> None:
    """A 15-minute bucket; a window ending at 04:10 splits one further (10 minutes)."""
    profile = parse_profile(KATHMANDU, "ktm.toml")
    zone = ZoneInfo(profile.time_zone)
    days = [dt.date(2020, 6, 24) + dt.timedelta(days=i) for i in range(3)]
    store = Store.open(tmp_path / "store", create=True, force=profile)
    frame = _frame(zone, days, ["Lalitpur"], 61, prefix="K")
    with store.writer() as txn:
        txn.add(frame)
        txn.commit()
    snap = store.snapshot()
    for window in [None, ("05:15", "07:45"), ("21:50", "04:10")]:
        spec: dict[str, object] = {"areas": ["Lalitpur"], "date_from": days[0], "date_to": days[1]}
        if window:
            spec["time_from"], spec["time_to"] = window
        item = build_request({"items": [spec]}, "t", profile).items[0]
        with DuckDB().for_store(snap).open(snap) as session:
            want = _per_row(session, item)
            assert want and _bucketed(session, item) == want


def test_columns_of_many_rows_are_the_records(dst_store: Store) -> None:
    """Engine.columns fetches more than a few thousand rows as NumPy arrays, a few as tuples:
    as Python values (breakdown.plain), the same values, types and order as row by row."""
    spec = {"boroughs": ["Lambeth", "Haringey"], "date_from": "2020-03-28", "date_to": "2020-10-26"}
    wide = build_request({"items": [spec]}, "t").items[0]
    narrow = build_request({"items": [{**spec, "date_to": "2020-03-28"}]}, "t").items[0]
    snap = dst_store.snapshot()
    with DuckDB().for_store(snap).open(snap) as session:
        for item, name in [
            (wide, "scope_refs"),
            (wide, "plan_item_counts"),
            (narrow, "scope_refs"),
        ]:
            params = (
                count_params(session, [item]) if name == "plan_item_counts" else scope_params(item)
            )
            recs = session.records(name, **params)
            cols = session.columns(name, **params)
            assert list(cols) == list(recs[0])
            arrays = len(recs) >= 2048
            assert [is_array(c) for c in cols.values()] == [arrays] * len(cols), name
            values = [plain(c) for c in cols.values()]
            rows = [dict(zip(cols, r, strict=True)) for r in zip(*values, strict=True)]
            assert rows == recs
            for i in (0, len(rows) // 2, -1):
                assert [type(v) for v in rows[i].values()] == [type(v) for v in recs[i].values()]
        assert len(session.columns("scope_refs", **scope_params(wide))["cad_ref"]) > 2048
        assert len(session.columns("scope_refs", **scope_params(narrow))["cad_ref"]) < 2048


@pytest.mark.parametrize("window", [None, ("21:30", "03:15"), ("08:00", "18:00")])
def test_counts_from_arrays_are_those_from_tuples(
    dst_store: Store, window: tuple[str, str] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item's counts and breakdown are the same whether its rows of plan_item_counts came
    as arrays (many rows: here more than 16) or as tuples: an overnight window's mornings move
    to the night before in both."""
    import costplan.engines.duckdb_engine as duckdb_engine

    spec = {"boroughs": ["Lambeth", "Haringey"], "date_from": "2020-03-28", "date_to": "2020-10-26"}
    if window:
        spec["time_from"], spec["time_to"] = window
    item = build_request({"items": [spec]}, "t").items[0]
    snap = dst_store.snapshot()
    with DuckDB().for_store(snap).open(snap) as session:
        monkeypatch.setattr(duckdb_engine, "_FEW_ROWS", 16)
        counts, bd = item_counts(session, item)
        monkeypatch.setattr(duckdb_engine, "_FEW_ROWS", 10**9)
        counts_rows, bd_rows = item_counts(session, item)
    assert is_array(bd.records) and not is_array(bd_rows.records)
    assert counts == counts_rows and bd == bd_rows and len(bd) > 16
    assert all(type(v) is int for v in counts.values())
