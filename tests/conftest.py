"""Shared fixtures: tiny, deterministic partitioned stores written into tmp_path."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest

from costplan.schema import LONDON, RECORD_SCHEMA, format_cad_ref
from costplan.store import Store

# Boroughs and days of the planner fixture (two years, so scopes can span partitions).
FIXTURE_BOROUGHS = ("Lambeth", "Haringey", "Barking and Dagenham")
FIXTURE_DAYS = (
    dt.date(2020, 6, 24),
    dt.date(2020, 6, 25),
    dt.date(2020, 6, 26),
    dt.date(2020, 10, 25),  # BST ends: a 25-hour London day
    dt.date(2021, 1, 2),
)


def fixture_frame(seed: int = 7, per_day: int = 60) -> pl.DataFrame:
    """Deterministic CAD rows: per borough-day, `per_day` CADs with tagged, keyword and linked
    records mixed in, serials minted London-wide in creation order."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for day in FIXTURE_DAYS:
        day_rows = []
        for borough in FIXTURE_BOROUGHS:
            n = per_day + rng.randint(-10, 10)
            for _ in range(n):
                minute = rng.randrange(24 * 60)
                local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=LONDON)
                kind = rng.random()
                tags: list[str] = []
                code = rng.choice(["THEFT", "ASB", "NOISE", "RTC", "CONCERN"])
                summary = rng.choice(["caller reports incident", "document found", "travel card"])
                if kind < 0.10:
                    tags, code, summary = ["UME"], "UME", "large rave, loud music"
                elif kind < 0.16:
                    code, summary = "NOISE", "party with loud music in park"
                elif kind < 0.20:
                    tags = ["DV", "MH"]
                day_rows.append(
                    {
                        "created_at": local.astimezone(dt.UTC),
                        "day": day,
                        "borough": borough,
                        "call_source": rng.choice(["999", "101", "online", "police"]),
                        "grading": rng.choice(["I", "S", "E", "R"]),
                        "opening_code": code,
                        "closing_code": code,
                        "tags": tags,
                        "summary": summary,
                    }
                )
        day_rows.sort(key=lambda r: r["created_at"])  # type: ignore[arg-type,return-value]
        for serial, row in enumerate(day_rows, start=1):
            row["cad_ref"] = format_cad_ref(serial, day)
        # Link some records to an earlier tagged record of the same borough and day.
        tagged: dict[str, list[str]] = {}
        for row in day_rows:
            row["linked_to"] = []
            b = str(row["borough"])
            if row["tags"] == ["UME"]:
                tagged.setdefault(b, []).append(str(row["cad_ref"]))
            elif tagged.get(b) and rng.random() < 0.15:
                row["linked_to"] = [rng.choice(tagged[b])]
        rows += day_rows
    frame = pl.DataFrame(rows)
    return (
        frame.with_columns(pl.col("day").dt.year().cast(pl.Int16).alias("year"))
        .select(list(RECORD_SCHEMA))
        .cast(RECORD_SCHEMA)
    )  # type: ignore[arg-type]


def write_store(root: Path, frame: pl.DataFrame) -> Store:
    """Create a store at root holding frame."""
    store = Store.open(root, create=True)
    with store.writer() as txn:
        txn.add(frame)
        txn.commit()
    return store


@pytest.fixture(scope="session")
def planner_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A small read-only fixture store shared by the planner tests."""
    return write_store(tmp_path_factory.mktemp("planner") / "store", fixture_frame())


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test away from the user's real cache (the demo archive)."""
    monkeypatch.setenv("COSTPLAN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


# The four boroughs and the summer of the seed request (examples/ume-raves-2020.toml), made by
# the demo archive's generator and seed: the web page's tests plan the real request on it.
WEB_BOROUGHS = ("Lambeth", "Haringey", "Barking and Dagenham", "Waltham Forest")


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Summer 2020 for the seed request's boroughs (about 95,000 CADs, under a second)."""
    from costplan.synth.demo import build_archive

    store = Store.open(tmp_path_factory.mktemp("web") / "store", create=True)
    build_archive(store, dt.date(2020, 6, 20), dt.date(2020, 8, 31), boroughs=WEB_BOROUGHS)
    return store
