"""The planner's counts, costs and section 16 advice, checked against independent Polars counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import fixture_frame, write_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costplan.costmodel.regimes import MAX_MINUTES_PER_RECORD, load_regimes
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
    load_config,
)
from costplan.planner.reading import item_minutes, reading_time
from costplan.planner.slices import best_run
from costplan.planner.strategies import count_item, keyword_pattern
from costplan.request import Item, build_request
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
    lf = lf.filter(pl.col("borough").is_in(item["boroughs"]))
    day = pl.col("day")
    if "time_from" in item:
        local = pl.col("created_at").dt.convert_time_zone("Europe/London")
        m = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
        h0, m0 = map(int, item["time_from"].split(":"))
        h1, m1 = map(int, item["time_to"].split(":"))
        a, b = h0 * 60 + m0, h1 * 60 + m1
        if a < b:
            lf = lf.filter(day.is_between(d0, d1), m >= a, m < b)
        else:  # overnight: the evening of each day asked about, and the morning after it
            after = dt.timedelta(days=1)
            evening = day.is_between(d0, d1) & (m >= a)
            morning = day.is_between(d0 + after, d1 + after) & (m < b)
            lf = lf.filter(evening | morning)
    else:
        lf = lf.filter(day.is_between(d0, d1))
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
            day_to=dt.date(2021, 12, 31),
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
    assert "tag_only" in kinds and any("hours" in k or "dates" in k for k in kinds)
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


def test_date_and_borough_advice_fits(planner_store: Store) -> None:
    """Three boroughs for three days: fewer days, and fewer boroughs, each within the limit."""
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
    assert res.estimate.total_hours == Decimal(res.records * 3 + 10) / 60


def test_disclosure_is_references_only(planner_store: Store) -> None:
    from costplan.planner import build_schedule, load_authority

    item = {"boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["UME"]}
    req = build_request({"items": [item]}, "t")
    snap = planner_store.snapshot()
    plan = build_plan(snap, req, REGIME, MinutesPerRecord(Decimal(1), "test"))
    assert plan.decision == "answer"
    tagged = build_schedule(plan, snap, load_authority(), refined=True)
    assert tagged.count == independent_counts(planner_store, item)[TAG_QUERY]
    assert all(r.endswith("/25JUN20") for r in tagged.refs)
    whole = build_schedule(plan, snap, load_authority())
    assert whole.count == independent_counts(planner_store, item)[FULL_REVIEW]
    assert set(tagged.refs) < set(whole.refs)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 10)), min_size=1, max_size=30),
    st.integers(0, 200),
)
def test_best_run_matches_brute_force(slots: list[tuple[int, int]], budget: int) -> None:
    """The run of days (or hours) advice offers keeps the most relevant records that fit."""
    rec = [r for r, _ in slots]
    rel = [min(v, r) for r, v in slots]
    n = len(rec)
    best = (0, 0)
    for start in range(n):
        for stop in range(start + 1, n + 1):
            total = sum(rec[start:stop])
            if total <= budget and total > 0:
                best = max(best, (sum(rel[start:stop]), total))
    first, last, records, kept = best_run(rec, rel, budget)
    if best == (0, 0):
        assert last < first
    else:
        assert (kept, records) == best
        assert sum(rec[first : last + 1]) == records <= budget
        assert sum(rel[first : last + 1]) == kept


def _frame_at(times: list[dt.datetime], borough: str = "Lambeth") -> pl.DataFrame:
    """One CAD per London local time, serials minted per day in order."""
    from costplan.schema import LONDON, RECORD_SCHEMA, format_cad_ref

    rows, serial = [], {}
    for local in sorted(times):
        day = local.date()
        serial[day] = serial.get(day, 0) + 1
        rows.append(
            {
                "cad_ref": format_cad_ref(serial[day], day),
                "created_at": local.replace(tzinfo=LONDON).astimezone(dt.UTC),
                "day": day,
                "call_source": "999",
                "grading": "I",
                "opening_code": "NOISE",
                "closing_code": "NOISE",
                "tags": ["UME"],
                "linked_to": [],
                "summary": "fireworks",
                "borough": borough,
                "year": day.year,
            }
        )
    return pl.DataFrame(rows).select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]


def test_an_overnight_window_is_one_night_into_the_next_morning(tmp_path: Path) -> None:
    """22:00-04:00 on 5 November means 22:00 on the 5th to 04:00 on the 6th (issue 11.2)."""
    at = dt.datetime
    inside = [at(2020, 11, 5, 22, 0), at(2020, 11, 5, 23, 59), at(2020, 11, 6, 0, 30),
              at(2020, 11, 6, 3, 59)]  # fmt: skip
    outside = [at(2020, 11, 5, 2, 0), at(2020, 11, 5, 21, 59), at(2020, 11, 6, 4, 0),
               at(2020, 11, 6, 22, 30)]  # fmt: skip
    store = write_store(tmp_path / "store", _frame_at(inside + outside))
    req = build_request(
        {"items": [{"name": "fireworks", "boroughs": ["Lambeth"], "date": "2020-11-05",
                    "time_from": "22:00", "time_to": "04:00", "tags": ["UME"]}]},
        "test",
    )  # fmt: skip
    item = req.items[0]
    assert item.overnight and item.last_day == dt.date(2020, 11, 6)
    assert "overnight" in item.describe_scope()
    plan = build_plan(store.snapshot(), req, REGIME, PER)
    assert plan.items[0].get(FULL_REVIEW).records == len(inside)  # type: ignore[union-attr]
    # The morning's CADs count under the night they belong to, for the s.16 advice.
    assert {r.day for r in plan.items[0].breakdown} == {dt.date(2020, 11, 5)}
    # A year-end night reads the next year's partition.
    new_year = build_request(
        {"items": [{"name": "ny", "boroughs": ["Lambeth"], "date": "2020-12-31",
                    "time_from": "20:00", "time_to": "06:00"}]},
        "test",
    ).items[0]  # fmt: skip
    assert new_year.years == (2020, 2021)


@pytest.mark.parametrize(
    ("start", "end", "window"),
    [("00:00", "24:00", None), ("18:00", "00:00", (1080, 1440)), ("18:00", "24:00", (1080, 1440)),
     ("24:00", "06:00", (0, 360)), ("22:00", "04:00", (1320, 240))],
)  # fmt: skip
def test_time_windows_are_read_as_an_officer_means_them(start, end, window) -> None:
    item = build_request(
        {"items": [{"name": "x", "boroughs": ["Lambeth"], "date": "2020-06-25",
                    "time_from": start, "time_to": end}]},
        "test",
    ).items[0]  # fmt: skip
    assert item.window == window


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(InputError, match="must differ from time_from"):
        build_request(
            {"items": [{"name": "x", "boroughs": ["Lambeth"], "date": "2020-06-25",
                        "time_from": "18:00", "time_to": "18:00"}]},
            "test",
        )  # fmt: skip


SCOPE_DAYS = [dt.date(2020, 6, 24), dt.date(2020, 6, 25), dt.date(2020, 6, 26),
              dt.date(2020, 10, 25), dt.date(2021, 1, 2)]  # fmt: skip


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    boroughs=st.lists(st.sampled_from(["Lambeth", "Haringey", "Barking and Dagenham"]),
                      min_size=1, max_size=3, unique=True),
    first=st.sampled_from(SCOPE_DAYS),
    span=st.integers(0, 200),
    tag=st.sampled_from(["UME", "DV", "MH", "NOSUCHTAG"]),
    window=st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(0, 23))),
    per=st.sampled_from([Decimal(1), Decimal(3), Decimal("2.5"), Decimal(9)]),
)  # fmt: skip
def test_check_and_a_one_item_plan_agree(
    planner_store: Store, boroughs, first, span, tag, window, per
) -> None:
    """`check` is a one-item plan's complete answer: the same hours and decision (issue 11.3)."""
    last = first + dt.timedelta(days=span)
    item: dict = {"name": "x", "boroughs": boroughs, "date_from": first.isoformat(),
                  "date_to": last.isoformat(), "tags": [tag]}  # fmt: skip
    if window and window[0] != window[1]:
        item["time_from"], item["time_to"] = f"{window[0]:02d}:00", f"{window[1]:02d}:00"
    req = build_request({"items": [item]}, "t")
    it = req.items[0]
    plan = build_plan(planner_store.snapshot(), req, REGIME, MinutesPerRecord(per, "test"))
    res = check(
        planner_store.snapshot(), it.boroughs, it.date_from, it.date_to, REGIME, per, it.tags,
        window=it.window,
    )  # fmt: skip
    assert plan.items[0].complete.strategy == FULL_REVIEW
    assert res.records == plan.items[0].complete.records
    assert res.estimate.total_hours == plan.total.total_hours
    assert res.decision == plan.decision  # coverage included: both say when it is partial
    assert res.coverage == plan.coverage[0]
    assert res.narrowed is not None
    assert res.narrowed.records == plan.items[0].get(TAG_QUERY).records  # type: ignore[union-attr]


# ---- the per-record reading time --------------------------------------------------------------


def test_reading_time_refuses_zero_and_more_than_a_working_day(tmp_path: Path) -> None:
    assert reading_time(REGIME, minutes="480").minutes == MAX_MINUTES_PER_RECORD
    assert reading_time(REGIME, minutes="0.5").minutes == Decimal("0.5")
    for given_minutes in ("0", "0.000", "480.0001", "1e9"):
        with pytest.raises(InputError) as err:
            reading_time(REGIME, minutes=given_minutes)
        assert err.value.field == "minutes_per_record"
    with pytest.raises(InputError, match="the request's minutes_per_record of 500"):
        reading_time(REGIME, request_minutes=500.0)
    day = dt.date(2020, 6, 25)
    slow = Item("slow", ("Lambeth",), day, day, minutes_per_record=481.0)
    with pytest.raises(InputError, match="slow: minutes_per_record of 481.0 is more than 480"):
        item_minutes(slow, reading_time(REGIME))
    sample = tmp_path / "zeros.txt"
    sample.write_text("0\n0\n", encoding="utf-8")
    with pytest.raises(InputError, match="a mean of 0 minutes") as err:
        reading_time(REGIME, sample=sample)
    assert err.value.field == "sample"


def test_unrelated_parts_are_judged_alone(planner_store: Store) -> None:
    """Parts marked related = false are not added up with the rest (reg. 5; issue 11.7)."""
    big = {"name": "big", "boroughs": ["Lambeth", "Haringey", "Barking and Dagenham"],
           "date_from": "2020-06-24", "date_to": "2020-06-26", "tags": ["UME"]}  # fmt: skip
    small = {"name": "small", "boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["DV"]}
    together = build_plan(
        planner_store.snapshot(), build_request({"items": [big, small]}, "t"), REGIME, PER
    )
    assert together.decision == "refuse" and len(together.parts) == 1
    apart = build_plan(
        planner_store.snapshot(),
        build_request({"items": [big, {**small, "related": False}]}, "t"),
        REGIME,
        PER,
    )
    assert [p.names for p in apart.parts] == [("big",), ("small",)]
    assert [p.decision for p in apart.parts] == ["refuse", "answer"]
    assert apart.decision == "partial" and apart.section == "12(1)"
    assert "small: " in apart.recommendation and "can be answered" in apart.recommendation
    data = apart.to_dict()
    assert [p["decision"] for p in data["parts"]] == ["refuse", "answer"]
    # Advice narrows only what is refused.
    assert not any(a.item == "small" for a in apart.advice)


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


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    boroughs=st.lists(st.sampled_from(["Lambeth", "Haringey", "Barking and Dagenham", "Bexley"]),
                      min_size=1, max_size=3, unique=True),
    tags=st.lists(st.sampled_from(["UME", "DV", "MH", "NOSUCHTAG", "ume"]), min_size=1, max_size=3),
    first=st.sampled_from([dt.date(2019, 12, 31), dt.date(2020, 6, 25), dt.date(2021, 1, 2)]),
    span=st.sampled_from([0, 3, 400]),
)  # fmt: skip
def test_the_tag_warning_is_the_warning_over_every_tag_held(
    planner_store: Store, boroughs, tags, first, span
) -> None:
    """tag_warning looks for each tag named before listing the tags held: the same warning."""
    from costplan.planner.held import held_tags, tag_warning, unheld_warning

    last = first + dt.timedelta(days=span)
    with Engine(planner_store.snapshot()) as engine:
        held = held_tags(engine, boroughs, first, last)
        want = unheld_warning(tags, held, boroughs, first, last)
        assert tag_warning(engine, tags, boroughs, first, last) == want


def test_items_of_the_same_boroughs_and_years_ask_once_which_tags_are_in_use(
    planner_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan asks tag_held once for each tag, boroughs and years, however many items share
    them (TagsFound); every item still gets its warning, as when asked alone."""
    from costplan.engines.duckdb_engine import Engine as Session

    spec = {"boroughs": ["Lambeth"], "tags": ["UME", "NOSUCHTAG"]}
    days = ["2020-06-01", "2020-06-08", "2020-06-15", "2021-03-01"]
    req = build_request({"items": [{**spec, "date": d} for d in days]}, "t")
    asked: list[tuple[str, int]] = []
    real = Session.rows

    def rows(self: Session, name: str, **params: object) -> list[tuple[object, ...]]:
        if name == "tag_held":
            asked.append((str(params["tag"]), params["date_from"].year))  # type: ignore[attr-defined]
        return real(self, name, **params)

    monkeypatch.setattr(Session, "rows", rows)
    snap = planner_store.snapshot()
    plan = build_plan(snap, req, REGIME, PER)
    assert sorted(asked) == [("NOSUCHTAG", 2020), ("NOSUCHTAG", 2021), ("UME", 2020), ("UME", 2021)]
    alone = [build_plan(snap, build_request({"items": [{**spec, "date": d}]}, "t"), REGIME, PER)
             for d in days]  # fmt: skip
    assert [ip.warnings for ip in plan.items] == [p.items[0].warnings for p in alone]
    assert all(ip.warnings for ip in plan.items)  # NOSUCHTAG is used by no CAD


def test_the_recommendation_writes_hours_and_records_as_the_explanation_does(
    planner_store: Store,
) -> None:
    """Thousands separated in the recommendation too: "needs 1,234.5 hours", not "1234.5"."""
    item = {"boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["UME"]}
    req = build_request({"items": [item]}, "t")
    plan = build_plan(planner_store.snapshot(), req, REGIME, MinutesPerRecord(Decimal(6000), "t"))
    hours = plan.total.total_hours
    assert hours > 1000 and plan.total.decision == "refuse"
    assert f"it needs {round(hours, 2):,} hours" in plan.recommendation
    assert f"{round(hours, 2):,} hours" in plan.total.explanation


def test_the_plan_carries_the_regimes_due_date(planner_store: Store) -> None:
    """A request with a received date: its due date and working days left (issue 17)."""
    req = build_request(
        {"received": "2025-08-15", "items": [{"boroughs": ["Lambeth"], "date": "2020-06-25"}]},
        "t",
    )
    foisa = load_regimes().get("foisa")
    plan = build_plan(planner_store.snapshot(), req, foisa, PER, today=dt.date(2025, 9, 8))
    assert plan.deadline is not None and plan.deadline.due == dt.date(2025, 9, 12)
    assert plan.to_dict()["due"]["working_days_left"] == 4  # 9, 10, 11, 12 September
    uk = build_plan(planner_store.snapshot(), req, REGIME, PER, today=dt.date(2025, 9, 8))
    assert uk.deadline is not None and uk.deadline.due == dt.date(2025, 9, 15)
    undated = build_request({"items": [{"boroughs": ["Lambeth"], "date": "2020-06-25"}]}, "t")
    assert build_plan(planner_store.snapshot(), undated, REGIME, PER).deadline is None


# ---- the reverse links, against a count that knows nothing of the query -------------------


def _reverse_links_store(tmp_path: Path) -> tuple[Store, dict[str, int]]:
    """A tagged CAD at 23:30 on 25 June 2020 in Lambeth (a window of 22:00-24:00) and CADs
    linking to it: one inside the window, one at 00:30 the next day, one at 10:00 the same
    day (outside the window), one in Haringey and one a week later (both outside the item's
    areas and days). The expected count of each is computed here, by hand."""
    frame = fixture_frame_small()
    base = frame.row(0, named=True)
    tagged_ref = "9001/25JUN20"

    def row(ref: str, when: dt.datetime, borough: str, links: list[str], tags: list[str]) -> dict:
        out = dict(base)
        out.update(
            cad_ref=ref,
            created_at=when.astimezone(dt.UTC),
            day=when.date(),
            year=when.year,
            borough=borough,
            linked_to=links,
            tags=tags,
        )
        return out

    london = dt.timezone(dt.timedelta(hours=1))  # BST in June
    t = dt.datetime(2020, 6, 25, 23, 30, tzinfo=london)
    extra = [
        row(tagged_ref, t, "Lambeth", ["1/20JUN20"], ["UME"]),  # links forward out of scope
        row("9002/25JUN20", t + dt.timedelta(minutes=15), "Lambeth", [tagged_ref], []),
        row("9003/26JUN20", t + dt.timedelta(hours=1), "Lambeth", [tagged_ref], []),
        row("9004/25JUN20", t - dt.timedelta(hours=13), "Lambeth", [tagged_ref], []),
        row("9005/26JUN20", t + dt.timedelta(hours=2), "Haringey", [tagged_ref], []),
        row("9006/02JUL20", t + dt.timedelta(days=7), "Lambeth", [tagged_ref], []),
    ]
    store = write_store(
        tmp_path / "store", pl.concat([frame, pl.DataFrame(extra, schema=frame.schema)])
    )
    # tagged + its forward link + the links back from Lambeth on 25 or 26 June (any hour).
    return store, {TAG_QUERY: 1, LINKED: 1 + 1 + 3}


def fixture_frame_small() -> pl.DataFrame:
    """A handful of untagged, unlinked CADs of the fixture (so the only links are ours)."""
    return (
        fixture_frame(per_day=5)
        .filter(pl.col("tags").list.len() == 0)
        .with_columns(linked_to=pl.lit([], dtype=pl.List(pl.String)))
    )


def test_reverse_links_are_read_from_the_items_areas_and_days(tmp_path: Path) -> None:
    """The linked count reads links back from the item's boroughs on its days and the day
    after, whatever the hour, and not from the rest of the request's borough-years: the
    same item counts the same alone and beside an item about another borough and year."""
    store, expected = _reverse_links_store(tmp_path)
    item = {
        "name": "late",
        "boroughs": ["Lambeth"],
        "date": "2020-06-25",
        "time_from": "22:00",
        "time_to": "23:59",
        "tags": ["UME"],
    }
    other = {"name": "other", "boroughs": ["Haringey"], "date": "2021-01-02", "tags": ["DV"]}
    alone = build_request({"items": [item]}, "t").items[0]
    together = build_request({"items": [item, other]}, "t")
    snap = store.snapshot()
    with Engine(snap, boroughs=alone.boroughs, years=alone.years) as engine:
        got = count_item(engine, alone)
    assert {k: got[k] for k in expected} == expected
    boroughs = sorted({b for it in together.items for b in it.boroughs})
    years = sorted({y for it in together.items for y in it.years})
    with Engine(snap, boroughs=boroughs, years=years) as engine:
        assert count_item(engine, together.items[0]) == got


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    spans=st.lists(
        st.tuples(
            st.lists(st.sampled_from(["Lambeth", "Haringey", "Barking and Dagenham"]),
                     min_size=1, max_size=2, unique=True),
            st.sampled_from(SCOPE_DAYS),
            st.integers(0, 3),
        ),
        min_size=1, max_size=6,
    ),
    window=st.sampled_from([None, ("22:00", "04:00"), ("01:00", "02:00"), ("09:30", "18:00")]),
    subject=st.sampled_from([{"tags": ["UME"]}, {"tags": ["UME", "DV"], "keywords": ["music"]},
                             {"keywords": ["Party"], "opening_codes": ["NOISE"]}, {}]),
)  # fmt: skip
def test_items_asking_the_same_share_a_scan_and_keep_their_counts(
    planner_store: Store, spans, window, subject
) -> None:
    """Items asking the same over nearby boroughs and days are counted by one query: each
    item's counts and breakdown are those it gets alone (links and overnight mornings too)."""
    from costplan.planner.strategies import item_counts, items_counts, share_groups

    specs = []
    for n, (boroughs, first, days) in enumerate(spans):
        last = first + dt.timedelta(days=days)
        spec = {"name": f"i{n}", "boroughs": boroughs, "date_from": first.isoformat(),
                "date_to": last.isoformat(), **subject}  # fmt: skip
        if window:
            spec["time_from"], spec["time_to"] = window
        specs.append(spec)
    req = build_request({"items": specs}, "t")
    snap = planner_store.snapshot()
    boroughs = sorted({b for it in req.items for b in it.boroughs})
    years = sorted({y for it in req.items for y in it.years})
    with Engine(snap, boroughs=boroughs, years=years) as engine:
        together = items_counts(engine, req.items)
        for it, got in zip(req.items, together, strict=True):
            assert got == item_counts(engine, it)
    groups = share_groups(req.items)
    assert sorted(i for g in groups for i in g) == list(range(len(req.items)))


def test_the_same_question_for_each_borough_is_one_query(planner_store: Store) -> None:
    from costplan.planner.strategies import share_groups

    boroughs = ["Lambeth", "Haringey", "Barking and Dagenham"]
    items = [{"name": b, "boroughs": [b], "date": "2020-06-25", "tags": ["UME"]} for b in boroughs]
    items.append({"name": "other", "boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["DV"]})
    items.append({"name": "far", "boroughs": ["Lambeth"], "date": "2021-01-02", "tags": ["UME"]})
    assert share_groups(build_request({"items": items}, "t").items) == [[0, 1, 2], [4], [3]]
