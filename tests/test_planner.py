"""The planner's counts, costs and section 16 advice, checked against independent Polars counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costplan.costmodel.regimes import load_regimes
from costplan.engines.duckdb_engine import Engine
from costplan.errors import InputError
from costplan.planner import (
    FULL_REVIEW,
    KEYWORD,
    LINKED,
    SCOPE_QUERY,
    TAG_QUERY,
    MinutesPerRecord,
    build_plan,
    check,
    disclosure_refs,
    load_config,
)
from costplan.planner.advice import _longest_window
from costplan.planner.strategies import count_item, keyword_pattern
from costplan.request import build_request
from costplan.store import Store

REGIME = load_regimes().get("uk-foia-other")
PER = MinutesPerRecord(Decimal(3), "test")


def polars_scope(store: Store, item: dict) -> pl.DataFrame:
    """Independent scope selection with Polars over the same Parquet files."""
    snap = store.snapshot()
    lf = pl.scan_parquet(
        snap.files(), hive_partitioning=True, hive_schema={"borough": pl.String, "year": pl.Int16}
    )
    d0 = dt.date.fromisoformat(item.get("date_from", item.get("date")))
    d1 = dt.date.fromisoformat(item.get("date_to", item.get("date_from", item.get("date"))))
    lf = lf.filter(pl.col("borough").is_in(item["boroughs"]), pl.col("day").is_between(d0, d1))
    if "time_from" in item:
        local = pl.col("created_at").dt.convert_time_zone("Europe/London")
        m = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
        h0, m0 = map(int, item["time_from"].split(":"))
        h1, m1 = map(int, item["time_to"].split(":"))
        a, b = h0 * 60 + m0, h1 * 60 + m1
        lf = lf.filter((m >= a) & (m < b) if a < b else (m >= a) | (m < b))
    return lf.collect()


def independent_counts(store: Store, item: dict) -> dict[str, int]:
    scope = polars_scope(store, item)
    tags = item.get("tags", [])
    tagged = scope.filter(pl.col("tags").list.eval(pl.element().is_in(tags)).list.any())
    kw = pl.lit(False)
    for k in item.get("keywords", []):
        kw = kw | pl.col("summary").str.to_lowercase().str.contains(k.lower(), literal=True)
    codes = item.get("opening_codes", [])
    kw = kw | pl.col("opening_code").is_in(codes) | pl.col("closing_code").is_in(codes)
    keyword = scope.filter(kw).height
    # Linked: tagged refs, the refs they link to, and records (anywhere in the scoped
    # boroughs and years) linking to a tagged ref.
    snap = store.snapshot()
    years = range(
        dt.date.fromisoformat(item.get("date_from", item.get("date"))).year,
        dt.date.fromisoformat(item.get("date_to", item.get("date_from", item.get("date")))).year
        + 1,
    )
    everything = pl.read_parquet(
        snap.files(item["boroughs"], years),
        hive_partitioning=True,
        hive_schema={"borough": pl.String, "year": pl.Int16},
    )
    tagged_refs = set(tagged["cad_ref"].to_list())
    linked = set(tagged_refs)
    for refs in tagged["linked_to"].to_list():
        linked |= set(refs)
    for ref, refs in everything.select("cad_ref", "linked_to").iter_rows():
        if tagged_refs & set(refs):
            linked.add(ref)
    return {
        FULL_REVIEW: scope.height,
        TAG_QUERY: tagged.height,
        KEYWORD: keyword,
        LINKED: len(linked),
    }


ITEMS = [
    {"name": "one day", "boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["UME"]},
    {
        "name": "span",
        "boroughs": ["Lambeth", "Haringey"],
        "date_from": "2020-06-24",
        "date_to": "2021-01-02",
        "tags": ["UME", "DV"],
        "keywords": ["rave", "Party"],
        "opening_codes": ["NOISE"],
    },
    {
        "name": "night",
        "boroughs": ["Barking and Dagenham"],
        "date_from": "2020-06-24",
        "date_to": "2020-06-26",
        "time_from": "22:00",
        "time_to": "04:00",
        "tags": ["UME"],
        "keywords": ["music"],
    },
    {
        "name": "dst",
        "boroughs": ["Haringey"],
        "date": "2020-10-25",
        "time_from": "01:00",
        "time_to": "02:00",
        "tags": ["UME"],
    },
]


@pytest.mark.parametrize("item", ITEMS, ids=[i["name"] for i in ITEMS])
def test_counts_equal_independent_polars_counts(planner_store: Store, item: dict) -> None:
    req = build_request({"items": [item]}, "test")
    it = req.items[0]
    with Engine(planner_store.snapshot(), boroughs=it.boroughs, years=it.years) as engine:
        got = count_item(engine, it)
    assert got == independent_counts(planner_store, item)
    assert got[FULL_REVIEW] > 0


def test_the_view_spans_only_the_scope(planner_store: Store) -> None:
    snap = planner_store.snapshot()
    with Engine(snap, boroughs=["Lambeth"], years=[2020]) as engine:
        assert len(engine.files) == 1
        assert engine.con.sql("select count(distinct borough) from cad").fetchall() == [(1,)]


def test_injection_attempts_are_plain_values(planner_store: Store) -> None:
    snap = planner_store.snapshot()
    evil = "Lambeth'; DROP TABLE x; --"
    with Engine(snap) as engine:
        before = engine.con.sql("select count(*) from cad").fetchall()
        n = engine.scalar(
            "count_scope",
            boroughs=[evil],
            date_from=dt.date(2020, 1, 1),
            date_to=dt.date(2021, 12, 31),
            minute_from=None,
            minute_to=None,
            tags=[],
        )
        assert n == 0
        assert engine.con.sql("select count(*) from cad").fetchall() == before
    # The borough never reaches SQL through a request: validation names it and suggests.
    with pytest.raises(InputError, match=r"'items\[0\]\.boroughs' must be London boroughs") as err:
        build_request({"items": [{"boroughs": [evil], "date": "2020-06-25"}]}, "req.toml")
    assert "Lambeth" in (err.value.hint or "")


def test_keywords_with_quotes_and_percent_match_literally(planner_store: Store) -> None:
    item = {
        "boroughs": ["Lambeth"],
        "date": "2020-06-25",
        "keywords": ["it's", "100%", "a_b", "(rave", "music.*"],
    }
    req = build_request({"items": [item]}, "test")
    with Engine(planner_store.snapshot()) as engine:
        got = count_item(engine, req.items[0])
    assert got[KEYWORD] == independent_counts(planner_store, item)[KEYWORD] == 0
    assert keyword_pattern(["a.b"]) == "(?i)(?:a\\.b)"


def test_plan_refuses_and_advice_fits(planner_store: Store) -> None:
    req = build_request(
        {
            "reference": "R1",
            "items": [
                {
                    "name": "A",
                    "boroughs": ["Lambeth", "Haringey"],
                    "date_from": "2020-06-24",
                    "date_to": "2020-06-26",
                    "tags": ["UME"],
                },
                {
                    "name": "B",
                    "boroughs": ["Barking and Dagenham"],
                    "date": "2020-06-25",
                    "tags": ["UME"],
                },
            ],
        },
        "test",
    )
    plan = build_plan(planner_store.snapshot(), req, REGIME, MinutesPerRecord(Decimal(5), "t"))
    assert plan.decision == "refuse" and plan.section == "12(1)"
    assert plan.recommended == FULL_REVIEW
    full = sum(ip.complete.records for ip in plan.items)
    cfg = load_config()
    expected = (full * 5 + 2 * cfg.held_check_minutes) / Decimal(60)
    assert plan.total.total_hours == expected
    assert plan.advice, "a refusal must come with section 16 advice"
    kinds = {a.kind for a in plan.advice}
    assert "tag_only" in kinds and ("hours" in kinds or "dates" in kinds)
    for a in plan.advice:
        assert a.hours <= 18, a
    d = plan.to_dict()
    assert d["decision"] == "refuse" and d["section"] == "12(1)"
    assert {
        "request",
        "regime",
        "total_hours",
        "limit_hours",
        "items",
        "recommended",
        "advice",
        "snapshot",
    } <= set(d)
    assert "requester" not in str(d)


def test_date_advice_is_the_longest_window_that_fits(planner_store: Store) -> None:
    req = build_request(
        {
            "items": [
                {
                    "name": "A",
                    "boroughs": ["Lambeth", "Haringey", "Barking"],
                    "date_from": "2020-06-24",
                    "date_to": "2020-06-26",
                    "tags": ["UME"],
                }
            ]
        },
        "t",
    )
    plan = build_plan(planner_store.snapshot(), req, REGIME, MinutesPerRecord(Decimal(6), "t"))
    dates = [a for a in plan.advice if a.kind == "dates"]
    boroughs = [a for a in plan.advice if a.kind == "boroughs"]
    assert dates and boroughs
    assert all(a.hours <= 18 for a in dates + boroughs)


def test_scope_query_is_complete_without_a_subject(planner_store: Store) -> None:
    req = build_request({"items": [{"boroughs": ["Lambeth"], "date": "2020-06-25"}]}, "t")
    plan = build_plan(planner_store.snapshot(), req, REGIME, PER)
    assert [s.strategy for s in plan.items[0].strategies] == [SCOPE_QUERY]
    assert plan.decision == "answer"


def test_check_counts_every_cad(planner_store: Store) -> None:
    item = {"boroughs": ["Lambeth"], "date": "2020-06-25"}
    res = check(
        planner_store.snapshot(),
        ("Lambeth",),
        dt.date(2020, 6, 25),
        dt.date(2020, 6, 25),
        REGIME,
        Decimal(3),
    )
    assert res.records == independent_counts(planner_store, item)[FULL_REVIEW]
    assert res.estimate.total_hours == Decimal(res.records * 3) / 60


def test_disclosure_is_references_only(planner_store: Store) -> None:
    item = {"boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["UME"]}
    req = build_request({"items": [item]}, "t")
    refs = disclosure_refs(planner_store.snapshot(), req)
    assert len(refs) == independent_counts(planner_store, item)[TAG_QUERY]
    assert all(r.endswith("/25JUN20") for r in refs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.integers(0, 200), st.booleans())
def test_longest_window_matches_brute_force(counts: list[int], budget: int, circular: bool) -> None:
    n = len(counts)
    best = None
    for start in range(n):
        for length in range(1, n + 1):
            if not circular and start + length > n:
                break
            total = sum(counts[(start + i) % n] for i in range(length))
            if total <= budget and (best is None or (length, total) > (best[1], best[2])):
                best = (start, length, total)
    got = _longest_window(counts, budget, circular=circular)
    if best is None:
        assert got is None
    else:
        assert got is not None and (got[1], got[2]) == (best[1], best[2])
        assert sum(counts[(got[0] + i) % n] for i in range(got[1])) == got[2]


def test_the_unused_tag_warning_names_every_tag_and_the_years() -> None:
    from costplan.planner.held import settled_by_count, unheld_warning

    d0, d1 = dt.date(2020, 12, 30), dt.date(2021, 1, 2)
    assert unheld_warning(["UME", "DV"], ["DV", "UME"], ["Lambeth"], d0, d1) is None
    assert unheld_warning(["FOO", "UME", "BAR"], ["UME"], ["Lambeth", "Haringey"], d0, d1) == (
        "tags FOO, BAR are not used in this archive for Lambeth, Haringey in 2020 to 2021; "
        "tags held there: UME"
    )
    assert settled_by_count([], 0) and settled_by_count(["UME"], 1)
    assert not settled_by_count(["UME"], 0) and not settled_by_count(["UME", "DV"], 5)
