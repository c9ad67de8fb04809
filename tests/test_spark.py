"""The Spark engine (issue 6): the same queries/*.sql on Apache Spark, with the same answers.

Every named query runs on DuckDB and on a local Spark session over the same fixture store
(conftest.planner_store) with several parameter sets, and the results must be identical; the
planner, `check` and `summary` give the same answers on both engines. The tests marked `spark`
share one local Spark session and are skipped only where Java or pyspark is absent; the
translation and error-message tests need neither a session nor Java.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import FIXTURE_BOROUGHS, fixture_frame, write_store
from polars.testing import assert_frame_equal
from processes import modules_loaded
from typer.testing import CliRunner

from costplan.cli import app
from costplan.costmodel.regimes import load_regimes
from costplan.engines import DuckDB, QueryEngine, Spark, spark_engine, volumes
from costplan.engines.sql import all_queries, load_query, queries_dir
from costplan.errors import QueryError
from costplan.planner import MinutesPerRecord, build_plan, build_schedule, check, load_authority
from costplan.planner.strategies import keyword_pattern
from costplan.request import build_request
from costplan.store import Store
from costplan.summary import summarise

MASTER = "local[2]"
REGIME = load_regimes().get("uk-foia-other")
PER = MinutesPerRecord(Decimal(3), "test")
runner = CliRunner()


def _why_no_spark() -> str | None:
    """Why the Spark session cannot start here (None: it can)."""
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("sqlglot") is None:
        return "pyspark/sqlglot not installed (pip install 'costplan[spark]')"
    if spark_engine.find_java() is None:
        return "no Java: the Spark engine needs Java 17 or later"
    return None


NO_SPARK = _why_no_spark()
needs_spark = pytest.mark.skipif(NO_SPARK is not None, reason=str(NO_SPARK))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one local Spark session of the test run (start-up costs seconds: share it)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = spark_engine.get_session(
        MASTER,
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.memory": "1g",
        },
    )
    yield session
    session.stop()
    spark_engine._session = None


# ---- parameter sets ---------------------------------------------------------------------------

D = dt.date
ALL = list(FIXTURE_BOROUGHS)
SCOPES: dict[str, dict[str, Any]] = {
    # Both years and every day, including the 25-hour day when BST ends (2020-10-25).
    "all": {"boroughs": ALL, "date_from": D(2020, 6, 24), "date_to": D(2021, 1, 2)},
    "night": {  # 18:00-06:00: a window wrapping midnight
        "boroughs": ["Lambeth", "Barking and Dagenham"],
        "date_from": D(2020, 6, 24),
        "date_to": D(2020, 6, 26),
        "minute_from": 1080,
        "minute_to": 360,
    },
    "dst": {  # 01:00-02:00 London time happens twice on 2020-10-25
        "boroughs": ["Haringey"],
        "date_from": D(2020, 10, 25),
        "date_to": D(2020, 10, 25),
        "minute_from": 60,
        "minute_to": 120,
    },
    "none": {"boroughs": [], "date_from": D(2020, 6, 25), "date_to": D(2020, 6, 25)},
    "newyear": {
        "boroughs": ["Lambeth"],
        "date_from": D(2020, 12, 31),
        "date_to": D(2021, 1, 2),
        "minute_from": 0,
        "minute_to": 720,
    },
}
SUBJECTS: dict[str, dict[str, Any]] = {
    "nothing": {"tags": [], "keyword_pattern": None, "codes": []},
    "ume": {  # quotes and % are plain characters; RAVE matches "rave" case-insensitively
        "tags": ["UME"],
        "keyword_pattern": keyword_pattern(["it's", '100% "loud"', "RAVE"]),
        "codes": ["NOISE"],
    },
    "hostile": {  # a keyword that would break SQL if it were ever formatted in
        "tags": ["DV", "MH", "NOPE"],
        "keyword_pattern": keyword_pattern(["'; DROP VIEW cad; --", "in park", "_%"]),
        "codes": ["RTC", "ASB"],
    },
}


def _scope(name: str, window: bool = True) -> dict[str, Any]:
    s = dict(SCOPES[name])
    overnight = s.get("minute_from") is not None and s["minute_to"] <= s["minute_from"]
    s["day_to"] = s["date_to"] + dt.timedelta(days=1) if overnight else s["date_to"]
    if window:
        s.setdefault("minute_from", None)
        s.setdefault("minute_to", None)
    else:
        s.pop("minute_from", None)
        s.pop("minute_to", None)
    return s


def _item(scope: str, subject: str) -> dict[str, Any]:
    s = _scope(scope)
    link_day_to = s["day_to"] + dt.timedelta(days=1)
    extra = {"link_day_to": link_day_to, "bucket_seconds": 3600, "items": _specs(s, link_day_to)}
    return {**s, **SUBJECTS[subject], **extra}


def _specs(scope: dict[str, Any], link_day_to: dt.date) -> list[str]:
    """plan_item_counts' `items` for one item (0) over a scope's boroughs and days."""
    days = [scope["date_from"], scope["date_to"], scope["day_to"], link_day_to]
    return [chr(31).join(["0", b, *(d.isoformat() for d in days)]) for b in scope["boroughs"]]


# Each Spark run of plan_item_counts costs seconds (scans, a grouping, a join): keep these few, and
# let each case cover several edges at once.
ITEM_CASES = [
    _item("all", "ume"),
    _item("night", "nothing"),
    _item("dst", "hostile"),
    _item("newyear", "ume"),
]


def _partition_summaries(*cases: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The parameters of a summary counted from `cad` (by tag or by grading), one dict per
    (period, by_borough, by_call_source, by_grading, date_from, date_to)."""
    keys = ("period", "by_borough", "by_call_source", "by_grading", "date_from", "date_to")
    return [dict(zip(keys, case, strict=True)) for case in cases]


CASES: dict[str, list[dict[str, Any]]] = {
    "count_scope": [
        {**_scope("all"), "tags": []},
        {**_scope("night"), "tags": ["UME"]},
        {**_scope("dst"), "tags": ["DV", "NOPE"]},
        {**_scope("none"), "tags": []},
    ],
    "plan_item_counts": ITEM_CASES,
    "scope": [_scope(s) for s in ("all", "night", "dst", "none")],
    "scope_refs": [_scope(s) for s in ("all", "night", "dst", "none")],
    "tagged_refs": [
        {**_scope(s), "tags": SUBJECTS[t]["tags"]}
        for s, t in [("all", "ume"), ("night", "ume"), ("dst", "hostile"), ("all", "nothing")]
    ],
    "held_tags": [
        {"boroughs": ALL, "date_from": D(2020, 6, 24), "date_to": D(2021, 1, 2)},
        {"boroughs": ["Haringey"], "date_from": D(2021, 1, 2), "date_to": D(2021, 1, 2)},
        {"boroughs": [], "date_from": D(2020, 6, 25), "date_to": D(2020, 6, 25)},
    ],
    "tag_held": [
        {"boroughs": ALL, "date_from": D(2020, 6, 24), "date_to": D(2021, 1, 2), "tag": "UME"},
        {
            "boroughs": ["Haringey"],
            "date_from": D(2021, 1, 2),
            "date_to": D(2021, 1, 2),
            "tag": "MH",
        },
        {"boroughs": ALL, "date_from": D(2020, 6, 25), "date_to": D(2020, 6, 25), "tag": "NOPE"},
    ],
    "volume_counts": [{}],
    # Over `volume_old` and `volume_new` (both volume_counts here) and `refresh_days`.
    "volume_month_merge": [{}],
    "daily_totals": [{}],
    # Over `month_totals` (daily_totals here) and `refresh_days`.
    "volume_month_counts": [{}],
    "volume_counts_days": [
        {"day_from": D(2020, 6, 24), "day_to": D(2021, 1, 2)},
        {"day_from": D(2020, 6, 25), "day_to": D(2020, 6, 25)},
    ],
    # Over `daily_volume` (built from volume_counts on both engines, as Spark does for summary).
    "summary_volumes": [
        {
            "period": period,
            "by_borough": by_b,
            "by_call_source": by_c,
            "date_from": d0,
            "date_to": d1,
        }
        for period, by_b, by_c, d0, d1 in [
            ("day", True, False, None, None),
            ("week", False, True, D(2020, 6, 25), None),
            ("month", True, True, None, D(2020, 12, 31)),
            ("week", False, False, D(2020, 10, 25), D(2021, 1, 2)),
        ]
    ],
    # Straight from `cad`: the volume table holds no gradings.
    "summary_records": _partition_summaries(
        ("day", True, False, True, None, None),
        ("week", False, True, True, D(2020, 6, 25), None),
        ("month", True, True, True, None, D(2020, 12, 31)),
    ),
    # Straight from `cad`: the volume table holds no tags.
    "summary_tags": _partition_summaries(
        ("day", True, False, False, None, None),
        ("week", False, True, True, D(2020, 6, 25), None),
        ("month", True, True, True, None, D(2020, 12, 31)),
    ),
    # Over `daily_total` (built from daily_totals over daily_volume on both engines).
    "summary_totals": [
        {"period": period, "by_borough": by_b, "date_from": d0, "date_to": d1}
        for period, by_b, d0, d1 in [
            ("day", True, None, None),
            ("week", False, D(2020, 6, 25), None),
            ("month", True, None, D(2020, 12, 31)),
            ("week", True, D(2020, 10, 25), D(2021, 1, 2)),
        ]
    ],
    # Straight from `cad`: counts and cell key sums (record keys from md5 of the reference).
    "summary_cellkeys": [
        {
            "salt": salt,
            "period": period,
            "by_borough": by_b,
            "by_call_source": by_c,
            "by_grading": by_g,
            "by_tag": by_t,
            "date_from": d0,
            "date_to": d1,
        }
        for salt, period, by_b, by_c, by_g, by_t, d0, d1 in [
            ("costplan-cellkey-v1:", "day", True, True, False, False, None, None),
            ("x", "week", False, False, True, True, D(2020, 6, 25), None),
            ("", "month", True, True, True, True, None, D(2020, 12, 31)),
        ]
    ],
    "volume_count": [
        {
            "boroughs": ALL,
            "date_from": D(2020, 6, 24),
            "date_to": D(2021, 1, 2),
            "call_sources": None,
        },
        {
            "boroughs": ["Lambeth"],
            "date_from": D(2020, 6, 25),
            "date_to": D(2020, 6, 26),
            "call_sources": ["999", "online"],
        },
        {
            "boroughs": [],
            "date_from": D(2020, 6, 25),
            "date_to": D(2020, 6, 25),
            "call_sources": None,
        },
    ],
}
# Partitions an incremental refresh recounts (volume_counts_days reads it as `refresh_days`).
REFRESH_DAYS = pl.DataFrame(
    {
        "borough": ["Lambeth", "Haringey", "Barking and Dagenham"],
        "year": [2020, 2020, 2021],
        "lo": [D(2020, 6, 24), D(2020, 10, 25), D(2021, 1, 2)],
        "hi": [D(2020, 6, 25), D(2020, 10, 25), D(2021, 1, 2)],
    },
    schema={"borough": pl.String(), "year": pl.Int16(), "lo": pl.Date(), "hi": pl.Date()},
)


def _norm(value: Any) -> Any:
    """One Python value per answer, whatever the engine's types (Spark INT vs DuckDB BIGINT)."""
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dt.datetime):
        # DuckDB gives aware instants, PySpark naive ones in this process's local zone: both
        # as the same UTC instant (astimezone reads a naive value as local time).
        return value.astimezone(dt.UTC)
    return value


def _ordered(name: str) -> bool:
    return re.search(r"\border\s+by\b", load_query(name).sql, re.IGNORECASE) is not None


def _answers(engine: QueryEngine, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = [tuple(_norm(v) for v in row) for row in engine.rows(name, **params)]
    # Without an ORDER BY the order is the engine's business: compare as multisets.
    return rows if _ordered(name) else sorted(rows, key=repr)


# ---- tests that need neither Java nor a session -----------------------------------------------


def test_every_named_query_has_parity_cases() -> None:
    assert set(CASES) == {q.name for q in all_queries()}, "add parameter sets for new queries"
    for name, cases in CASES.items():
        for params in cases:
            assert set(params) == set(load_query(name).params), (name, params)


@pytest.mark.parametrize("path", sorted(queries_dir().glob("*.sql")), ids=lambda p: p.stem)
def test_every_query_file_translates_to_spark(path: Path) -> None:
    """Each file translates with sqlglot, parses back as Spark SQL, and keeps its parameters."""
    sqlglot = pytest.importorskip("sqlglot")
    from sqlglot import exp

    # As the engines run it: with the shared scope (queries/scope.sql) inlined.
    text = spark_engine.translate(load_query(path.stem).sql, path.stem)
    tree = sqlglot.parse_one(text, read="spark")
    # A DuckDB function sqlglot does not know passes through unchanged: Spark would reject it.
    unknown = sorted({f.name for f in tree.find_all(exp.Anonymous)})
    assert not unknown, f"{path.name}: functions Spark does not have: {unknown}"
    # list_has_any becomes `&&`, which Spark does not parse (engineering.md §4).
    assert not list(tree.find_all(exp.ArrayOverlaps)), f"{path.name}: && in Spark SQL"
    assert "$" not in text, f"{path.name}: a DuckDB parameter marker survived"
    for param in load_query(path.stem).params:
        assert re.search(rf":{param}\b", text), f"{path.name}: :{param} missing"
    assert sqlglot.transpile(text, read="spark", write="spark")


def test_spark_without_pyspark_is_one_line(
    planner_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("pyspark", "pyspark.sql"):
        monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    args = ["check", "--borough", "Lambeth", "--date", "2020-06-25"]
    result = runner.invoke(app, [*args, "--store", str(planner_store.root), "--engine", "spark"])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("costplan: error:"), result.stderr
    assert "pip install 'costplan[spark]'" in err[0]
    assert "Traceback" not in result.output + result.stderr


def test_spark_without_java_is_one_line(planner_store: Store, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    pytest.importorskip("sqlglot")
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-jdk"), "COSTPLAN_ENGINE": "spark"}
    code = "import sys; from costplan.cli import main; sys.argv[0] = 'costplan'; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "check", "--borough", "Lambeth", "--date", "2020-06-25"]
        + ["--store", str(planner_store.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and "needs Java" in err[0], out.stderr
    assert "Traceback" not in out.stderr


def test_a_bad_spark_master_is_one_line(planner_store: Store) -> None:
    args = ["check", "--borough", "Lambeth", "--date", "2020-06-25"]
    args += ["--store", str(planner_store.root), "--engine", "spark", "--spark-master", "nonsense"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "is not a Spark master URL" in err[0], result.stderr


def test_default_engine_never_imports_spark(planner_store: Store) -> None:
    """`costplan check` on DuckDB stays fast: pyspark and sqlglot are not even imported."""
    args = ["check", "--borough", "Lambeth", "--date", "2020-06-25"]
    args += ["--store", str(planner_store.root)]
    assert modules_loaded(args, ["pyspark", "sqlglot", "py4j"]) == []


def test_unknown_engine_is_a_usage_error(planner_store: Store) -> None:
    args = ["check", "--borough", "Lambeth", "--date", "2020-06-25"]
    result = runner.invoke(app, [*args, "--store", str(planner_store.root), "--engine", "pandas"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


# ---- both engines, same answers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def both(planner_store: Store, spark: Any) -> Iterator[tuple[QueryEngine, QueryEngine]]:
    """A DuckDB and a Spark engine over the whole fixture store, with the helper views."""
    snap = planner_store.snapshot()
    engines = (DuckDB().open(snap), Spark(MASTER).open(snap))
    for eng in engines:
        eng.create_view("daily_volume", "volume_counts")
        eng.create_view("daily_total", "daily_totals")
        eng.create_view("month_totals", "daily_totals")
        eng.register("refresh_days", REFRESH_DAYS)
        eng.create_view("volume_old", "volume_counts")
        eng.create_view("volume_new", "volume_counts")
    yield engines
    for eng in engines:
        eng.close()


@pytest.mark.spark
@needs_spark
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_answers_on_both_engines(both: tuple[QueryEngine, QueryEngine], name: str) -> None:
    duck, spark = both
    answered = False
    for params in CASES[name]:
        expected = _answers(duck, name, params)
        got = _answers(spark, name, params)
        assert got == expected, f"{name} {params}"
        answered = answered or any(v not in (0, None, ()) for row in expected for v in row)
    assert answered, f"{name}: every case was empty; the comparison proves nothing"


@pytest.mark.spark
@needs_spark
def test_frames_match_through_arrow(both: tuple[QueryEngine, QueryEngine]) -> None:
    duck, spark = both
    params = _item("night", "ume")
    left = duck.frame("plan_item_counts", **params)
    right = spark.frame("plan_item_counts", **params)
    # Spark's hour() is INT where DuckDB's is BIGINT; the values are what must agree.
    assert_frame_equal(right.cast({pl.Int32: pl.Int64}), left)


@pytest.mark.spark
@needs_spark
def test_an_empty_scope_has_the_same_empty_view(planner_store: Store, spark: Any) -> None:
    """No partition in scope: both engines bind `cad` to an empty view of the same columns."""
    snap = planner_store.snapshot()
    params = {**_scope("all"), "tags": []}
    with Spark(MASTER).open(snap, boroughs=["Camden"]) as eng:
        assert eng.files == []
        assert eng.scalar("count_scope", **params) == 0
        assert eng.rows("volume_counts") == []
        empty = eng.frame("plan_item_counts", **_item("all", "ume"))
    with DuckDB().open(snap, boroughs=["Camden"]) as duck:
        expected = duck.frame("plan_item_counts", **_item("all", "ume"))
    assert empty.columns == expected.columns and empty.height == expected.height == 0


@pytest.mark.spark
@needs_spark
def test_a_failed_spark_query_is_one_error_and_no_log_spew(
    both: tuple[QueryEngine, QueryEngine], capfd: pytest.CaptureFixture[str]
) -> None:
    _, spark = both
    params = {**_scope("all"), "tags": [], "boroughs": "Lambeth"}  # not a list
    capfd.readouterr()
    with pytest.raises(QueryError, match="count_scope") as info:
        spark.rows("count_scope", **params)
    assert "\n" not in info.value.one_line()
    assert capfd.readouterr().err == ""


PLAN_REQUEST = {
    "reference": "T-SPARK",
    "regime": "uk-foia-other",
    "items": [
        {
            "name": "Lambeth rave",
            "boroughs": ["Lambeth", "Barking & Dagenham"],
            "date_from": "2020-06-24",
            "date_to": "2020-06-26",
            "tags": ["UME"],
            "keywords": ["rave", "music"],
            "fields": ["count", "created_at", "call_source"],
        },
        {
            "name": "Haringey night",
            "boroughs": ["Haringey"],
            "date": "2020-06-25",
            "time_from": "20:00",
            "time_to": "04:00",
            "tags": ["UME", "nope"],  # a tag the store does not use: the same warning
        },
        {
            "name": "Clocks back",
            "boroughs": ["Lambeth", "Haringey"],
            "date_from": "2020-10-25",
            "date_to": "2021-01-02",
        },
    ],
}


@pytest.mark.spark
@needs_spark
def test_plan_is_the_same_on_both_engines(planner_store: Store, spark: Any) -> None:
    snap = planner_store.snapshot()
    req = build_request(PLAN_REQUEST, "test")
    duck = build_plan(snap, req, REGIME, PER)
    other = build_plan(snap, req, REGIME, PER, engine=Spark(MASTER))
    assert other.decision == duck.decision == "refuse"
    counts = [[(s.strategy, s.records) for s in ip.strategies] for ip in duck.items]
    assert [[(s.strategy, s.records) for s in ip.strategies] for ip in other.items] == counts
    assert other.to_dict() == duck.to_dict()  # hours, recommendation and s.16 advice too
    assert duck.warnings == ("Haringey night: tag NOPE is not used" + UNUSED_IN_HARINGEY,)
    for a, b in zip(duck.items, other.items, strict=True):
        assert b.breakdown == a.breakdown
    covered = build_request({**PLAN_REQUEST, "items": PLAN_REQUEST["items"][:2]}, "test")
    answered = build_plan(snap, covered, REGIME, MinutesPerRecord(Decimal("0.01"), "test"))
    refs = build_schedule(answered, snap, load_authority(), refined=True).refs
    other_refs = build_schedule(
        answered, snap, load_authority(), refined=True, engine=Spark(MASTER)
    ).refs
    assert refs and other_refs == refs


UNUSED_IN_HARINGEY = " in this archive for Haringey in 2020; tags held there: DV, MH, UME"
CHECK_ARGS = ["check", "--borough", "Lambeth", "--borough", "Barking and Dagenham"]
CHECK_ARGS += ["--date", "2020-06-24", "--to", "2020-06-26", "--tag", "UME", "--tag", "nope"]
CHECK_ARGS += ["--format", "json"]


@pytest.mark.spark
@needs_spark
def test_cli_check_with_engine_spark(planner_store: Store, spark: Any) -> None:
    args = [*CHECK_ARGS, "--store", str(planner_store.root)]
    duck = runner.invoke(app, args)
    other = runner.invoke(app, [*args, "--engine", "spark", "--spark-master", MASTER])
    assert duck.exit_code == 0 and other.exit_code == 0, other.output + other.stderr
    expected, got = json.loads(duck.stdout), json.loads(other.stdout)
    assert got["counted_from"] == "partitions"
    assert got["records"] > 0
    assert {**got, "counted_from": None} == {**expected, "counted_from": None}
    assert got["warnings"] == [
        "tag NOPE is not used in this archive for Lambeth, Barking and Dagenham in 2020; "
        "tags held there: DV, MH, UME"
    ]


@pytest.mark.spark
@needs_spark
def test_a_store_written_before_tags_had_one_form_on_spark(
    planner_store: Store, tmp_path: Path, spark: Any
) -> None:
    """Lower-case tags and codes are matched upper-cased on Spark too (TRANSFORM, UPPER)."""
    frame = fixture_frame().with_columns(
        pl.col("tags").list.eval(pl.element().str.to_lowercase()),
        pl.col("opening_code").str.to_lowercase(),
    )
    old = write_store(tmp_path / "old", frame).snapshot()
    params = {**_scope("all"), "tags": ["UME", "DV"], "keyword_pattern": None, "codes": ["NOISE"]}
    held = {k: params[k] for k in ("boroughs", "date_from", "date_to")}
    params["link_day_to"] = params["day_to"] + dt.timedelta(days=1)
    params["bucket_seconds"] = 3600
    params["items"] = _specs(params, params["link_day_to"])
    with DuckDB().open(planner_store.snapshot()) as canonical:
        expected = _answers(canonical, "plan_item_counts", params)
    with Spark(MASTER).open(old) as other:
        assert _answers(other, "plan_item_counts", params) == expected
        assert _answers(other, "held_tags", held) == [("DV",), ("MH",), ("UME",)]


@pytest.mark.spark
@needs_spark
def test_cli_summary_with_engine_from_the_environment(planner_store: Store, spark: Any) -> None:
    args = ["summary", "--store", str(planner_store.root), "--period", "day"]
    args += ["--by", "borough,tag", "--suppress-below", "3", "--format", "json"]
    duck = runner.invoke(app, args, env={"COSTPLAN_ENGINE": "duckdb"})
    other = runner.invoke(
        app, args, env={"COSTPLAN_ENGINE": "spark", "COSTPLAN_SPARK_MASTER": MASTER}
    )
    assert duck.exit_code == 0 and other.exit_code == 0, other.output + other.stderr
    assert json.loads(other.stdout) == json.loads(duck.stdout)


@pytest.mark.spark
@needs_spark
def test_spark_never_takes_the_volume_fast_path(tmp_path: Path, spark: Any) -> None:
    store = write_store(tmp_path / "store", fixture_frame(seed=11, per_day=12))
    volumes.refresh(store)  # the table is fresh: DuckDB answers from it
    snap = store.snapshot()
    args = (snap, ("Lambeth", "Haringey"), D(2020, 6, 24), D(2020, 10, 25), REGIME, Decimal(3))
    duck = check(*args, ("UME",))
    other = check(*args, ("UME",), engine=Spark(MASTER))
    assert (duck.counted_from, other.counted_from) == ("volumes", "partitions")
    assert other.records == duck.records > 0
    summary = summarise(store, period="month", by=["borough"], engine=Spark(MASTER))
    assert summary.source["partitions_from_table"] == 0
    assert summary.cells == summarise(store, period="month", by=["borough"]).cells


@pytest.mark.spark
@needs_spark
def test_spark_takes_the_hour_in_the_stores_zone(tmp_path: Path, spark: Any) -> None:
    """A Los Angeles store (tests/test_profile.py): Spark's session zone is the store's."""
    from test_profile import LA_PROFILE

    from costplan.ingest import ingest

    profile = tmp_path / "la.toml"
    profile.write_text(LA_PROFILE)
    export = tmp_path / "la.csv"
    export.write_text(
        "cad_ref,created_at,borough,call_source,grading\n"
        "LA20200625-0001,2020-06-25 20:00:00,Hollywood,999,1\n"
        "LA20200625-0002,2020-06-25 17:59:00,Hollywood,101,2\n"
    )
    ingest(tmp_path / "s", [export], force=profile)
    snap = Store.open(tmp_path / "s").snapshot()
    args = (snap, ("Hollywood",), D(2020, 6, 25), D(2020, 6, 25), REGIME, Decimal(3))
    duck = check(*args, window=(1080, 1440))
    other = check(*args, window=(1080, 1440), engine=Spark(MASTER))
    assert other.records == duck.records == 1
