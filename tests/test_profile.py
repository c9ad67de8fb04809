"""Force profiles: the MPS as data, another force's profile, the store's own zone end to end.

The MPS profile must reproduce what costplan did before profiles (the other suites check that
through their goldens); these tests check the profile machinery itself, a store that belongs
to another force, and one time zone from ingest to the hour of a time window: a naive 20:00
row of a Los Angeles store is counted by an 18:00-00:00 window on its own local day, and
counts over a fixture built from the shipped West Yorkshire profile equal an independent count
by local day and hour.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from typer.testing import CliRunner

from costplan import schema
from costplan.cli import app
from costplan.engines import DuckDB
from costplan.errors import ConfigError, InputError, StoreError
from costplan.ingest import ingest
from costplan.planner.strategies import item_counts
from costplan.profile import bundled_profiles, load_profile, mps, parse_profile
from costplan.request import build_request
from costplan.store import Store

runner = CliRunner()

LA_PROFILE = """
name = "test-la"
title = "Test Los Angeles force"
time_zone = "America/Los_Angeles"
area_word = "division"
group_word = "bureau"

[reference]
format = "pattern"
pattern = '^LA(?P<date>[0-9]{8})-[0-9]{4}$'
date_format = "%Y%m%d"

[vocabulary]
call_sources = ["999", "101", "other"]
gradings = ["0", "1", "2"]

[groups]
W = { name = "West" }

[[areas]]
name = "Hollywood"
group = "W"

[[areas]]
name = "Pacific"
group = "W"

[[areas]]
name = "Central"
"""


@pytest.fixture
def la_profile(tmp_path: Path) -> Path:
    path = tmp_path / "la.toml"
    path.write_text(LA_PROFILE)
    return path


# ---- the profiles themselves --------------------------------------------------------------------


def test_mps_profile_is_the_old_schema():
    p = mps()
    assert p.area_names == schema.BOROUGH_NAMES and len(p.areas) == 32
    assert p.time_zone == "Europe/London" and p.area_word == "borough"
    assert p.canonical("Royal Borough of Kingston") == "Kingston upon Thames"
    assert p.canonical("lb hammersmith") == "Hammersmith and Fulham"
    assert p.canonical("e09000022") == "Lambeth"
    assert p.canonical("City of London") is None and schema.is_city_of_london("The City")
    assert p.canonical("Brixton") is None  # a place, not an area: exports must name areas
    assert p.call_sources == schema.CALL_SOURCES and p.gradings == schema.GRADINGS
    assert schema.BY_NAME["Lambeth"].bcu == "Central South"


def test_every_shipped_profile_loads():
    assert {"mps", "wyp"} <= set(bundled_profiles())
    for name in bundled_profiles():
        assert load_profile(name).name == name


def test_expansions_in_requests():
    p = mps()
    assert p.expand("Brixton", "x").areas == ("Lambeth",)
    assert p.expand("Walthamstow", "x").areas == ("Waltham Forest",)
    assert p.expand("Heathrow", "x").areas == ("Hillingdon",)
    assert p.expand("Central South BCU", "x").areas == ("Lambeth", "Southwark")
    assert p.expand("nw", "x").areas == ("Barnet", "Brent", "Harrow")
    assert len(p.expand("all", "x").areas) == 32
    with pytest.raises(InputError, match="City of London Police"):
        p.expand("City of London", "--area")
    areas, notes = p.expand_all(["Lambeth, Southwark", "Brixton"], "x")
    assert areas == ("Lambeth", "Southwark") and notes == ["Brixton is in Lambeth"]
    wyp = load_profile("wyp")
    assert wyp.expand("Huddersfield", "x").areas == ("Kirklees",)
    with pytest.raises(InputError, match="unknown district 'Leds'") as err:
        wyp.expand("Leds", "--area")
    assert "Leeds" in str(err.value.hint)


def test_request_files_take_areas_and_groups():
    req = build_request(
        {"items": [{"areas": ["Central South", "Brixton"], "date": "2020-06-25"}]}, "t"
    )
    item = req.items[0]
    assert item.boroughs == ("Lambeth", "Southwark")
    assert "Central South BCU (AS): Lambeth, Southwark" in item.describe_scope()
    with pytest.raises(InputError, match="cannot be given with"):
        build_request(
            {"items": [{"areas": ["Lambeth"], "boroughs": ["Lambeth"], "date": "2020-06-25"}]},
            "t",
        )
    wyp = load_profile("wyp")
    item = build_request({"items": [{"areas": "all", "date": "2021-01-01"}]}, "t", wyp).items[0]
    assert item.boroughs == wyp.area_names and item.areas_word == "districts"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('time_zone = "America/Los_Angeles"', 'time_zone = "Mars/Olympus"'), "time_zone"),
        (('area_word = "division"', 'area_word = "division"\ncolour = "blue"'), "colour"),
        (('group = "W"', 'group = "E"'), "areas[0].group"),
        (('format = "pattern"', 'format = "guess"'), "reference.format"),
        (("(?P<date>[0-9]{8})", "([0-9]{8})"), "reference.pattern"),
        (('gradings = ["0", "1", "2"]', 'gradings = ["0", "0"]'), "vocabulary.gradings"),
    ],
)
def test_profiles_are_validated_strictly(change: tuple[str, str], key: str):
    text = LA_PROFILE.replace(*change)
    assert text != LA_PROFILE
    with pytest.raises(ConfigError) as err:
        parse_profile(text, "p.toml")
    assert f"'{key}'" in err.value.message, err.value.message


# ---- the store belongs to a force ---------------------------------------------------------------


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _la_store(tmp_path: Path, la_profile: Path) -> tuple[Path, Path]:
    """A store of one CAD under the test profile (Los Angeles), and its export."""
    export = _csv(
        tmp_path / "la.csv",
        "cad_ref,created_at,borough,call_source,grading",
        ["LA20200625-0001,2020-06-25 20:00:00,Hollywood,999,1"],
    )
    root = tmp_path / "store"
    ingest(root, [export], force=la_profile)
    return root, export


def test_store_records_its_force(tmp_path: Path, la_profile: Path):
    root, export = _la_store(tmp_path, la_profile)
    doc = json.loads((root / "manifest.json").read_text())
    assert doc["force"]["name"] == "test-la" and "toml" in doc["force"]
    la_profile.unlink()  # the store keeps the profile's text: the file is no longer needed
    snap = Store.open(root).snapshot()
    assert snap.profile.time_zone == "America/Los_Angeles"
    with pytest.raises(StoreError, match="belongs to force profile 'test-la'"):
        ingest(root, [export], force="mps")
    # A store written before profiles were recorded is the MPS's (that layout was MPS-only).
    del doc["force"]
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps(doc))
    assert Store.open(old).snapshot().profile.name == "mps"


@pytest.mark.parametrize(
    "force",
    [
        {"bundled": False},  # no name, no text
        {"bundled": False, "name": "x", "toml": "name = 1"},
        {"bundled": False, "name": "x", "toml": "[[["},
    ],
)
def test_a_damaged_recorded_profile_is_a_damaged_manifest(
    tmp_path: Path, la_profile: Path, force: dict
) -> None:
    root, export = _la_store(tmp_path, la_profile)
    doc = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**doc, "force": force}))
    args = ["check", "--store", str(root), "--area", "Hollywood", "--date", "2020-06-25"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "None" not in res.stderr
    assert "manifest.json is damaged: the force profile it records is not valid" in res.stderr
    assert "restore manifest.json from a backup" in res.stderr


def test_the_engine_never_uses_two_clocks(tmp_path: Path, la_profile: Path):
    export = _csv(
        tmp_path / "la.csv",
        "cad_ref,created_at,borough,call_source,grading",
        ["LA20200625-0001,2020-06-25 20:00:00,Hollywood,999,1"],
    )
    ingest(tmp_path / "s", [export], force=la_profile)
    snap = Store.open(tmp_path / "s").snapshot()
    assert DuckDB().for_store(snap).time_zone == "America/Los_Angeles"
    with pytest.raises(InputError, match="not the store's"):
        DuckDB(time_zone="Europe/London").open(snap)


# ---- one time zone end to end -------------------------------------------------------------------


def test_a_los_angeles_evening_is_counted_on_its_own_day(tmp_path: Path, la_profile: Path):
    """A naive 20:00 row is 03:00 UTC the next day: the day, the hour and the window are LA's."""
    export = _csv(
        tmp_path / "la.csv",
        "cad_ref,created_at,borough,call_source,grading",
        [
            "LA20200625-0001,2020-06-25 20:00:00,Hollywood,999,1",
            "LA20200625-0002,2020-06-25 17:59:00,Hollywood,101,2",
            "LA20200626-0001,2020-06-26 00:30:00,Hollywood,999,0",
            "LA20200626-0002,2020-06-25 21:00:00,Hollywood,999,0",  # dated on the wrong day
        ],
    )
    root = tmp_path / "store"
    result = runner.invoke(
        app, ["ingest", str(export), "--store", str(root), "--force", str(la_profile)]
    )
    assert result.exit_code == 0, result.output
    q = pl.read_parquet(Store.open(root).quarantine_files())
    assert q["reason"].to_list() == [
        "cad_ref date does not match created_at: LA20200626-0002 vs local day 2020-06-25"
    ]
    stored = pl.read_parquet(Store.open(root).snapshot().files())
    evening = stored.filter(pl.col("cad_ref") == "LA20200625-0001")
    assert evening["day"].item() == dt.date(2020, 6, 25)
    assert evening["created_at"].item() == dt.datetime(2020, 6, 26, 3, 0, tzinfo=dt.UTC)

    args = ["check", "--area", "Hollywood", "--date", "2020-06-25", "--store", str(root)]
    window = ["--time-from", "18:00", "--time-to", "00:00", "--format", "json"]
    result = runner.invoke(app, [*args, *window])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 1
    # The whole local day holds both of its rows; the next day's 00:30 is not in it.
    result = runner.invoke(app, [*args, "--format", "json"])
    assert json.loads(result.stdout)["records"] == 2
    # The table says "division" and shows how a group was expanded.
    result = runner.invoke(app, [*args[:2], "West", *args[3:]])
    assert result.exit_code == 3, result.output  # the archive holds no Pacific day
    assert "The archive does not hold Pacific: 2020-06-25" in result.stdout
    assert "West bureau (W): Hollywood, Pacific" in result.stdout
    assert "division" in result.stdout and "borough" not in result.stdout

    # The planner's hour breakdown (the basis of s.16 window advice) is in LA time too.
    snap = Store.open(root).snapshot()
    item = build_request(
        {"items": [{"areas": ["Hollywood"], "date": "2020-06-25"}]}, "t", snap.profile
    ).items[0]
    with DuckDB().for_store(snap).open(snap) as session:
        hours = sorted((r.day, r.hour, r.records) for r in item_counts(session, item)[1])
    assert hours == [(dt.date(2020, 6, 25), 17, 1), (dt.date(2020, 6, 25), 20, 1)]


WYP_MAPPING = """
name = "wyp-test-export"
[columns]
cad_ref = "Incident Number"
created_at = "Created"
borough = "District"
call_source = "Source"
grading = "Priority"
[timestamps]
formats = ["%d/%m/%Y %H:%M"]
[values.call_source]
"Emergency call" = "999"
"Non-emergency" = "101"
"""


def test_counts_equal_an_independent_count_by_local_day_and_hour(tmp_path: Path):
    """A West Yorkshire export (its own columns, districts, grade words, references) across
    both clock changes of 2021, counted by costplan and by hand from the local clock text."""
    wyp = load_profile("wyp")
    rng = random.Random(12)
    zone = ZoneInfo(wyp.time_zone)
    start = dt.datetime(2021, 3, 26)
    rows, truth = [], Counter()
    for i in range(3000):
        local = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 220))
        if local.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone).hour != local.hour:
            continue  # the hour skipped when clocks go forward does not exist
        district = rng.choice(wyp.area_names)
        spelling = rng.choice([district, district.upper(), f"City of {district}"])
        grade = rng.choice(["Emergency", "Priority", "Scheduled", "1", "4"])
        source = rng.choice(["Emergency call", "Non-emergency", "online"])
        stamp = local.strftime("%d/%m/%Y %H:%M")
        rows.append(f"WY{i:07d},{stamp},{spelling},{source},{grade}")
        truth[(district, local.date(), local.hour)] += 1
    export = _csv(tmp_path / "wyp.csv", "Incident Number,Created,District,Source,Priority", rows)
    mapping = tmp_path / "wyp-export.toml"
    mapping.write_text(WYP_MAPPING)
    root = tmp_path / "store"
    report = ingest(root, [export], mapping, force="wyp")
    assert report.quarantined == 0 and report.stored == len(rows)

    snap = Store.open(root).snapshot()
    days = sorted({d for _, d, _ in truth})
    item = build_request(
        {"items": [{"areas": "all", "date_from": days[0], "date_to": days[-1]}]}, "t", wyp
    ).items[0]
    with DuckDB().for_store(snap).open(snap) as session:
        counted = Counter()
        for r in item_counts(session, item)[1]:
            counted[(r.borough, r.day, r.hour)] += r.records
    assert counted == truth

    # And through the command line: an evening window over one week of Leeds, by hand.
    week = [dt.date(2021, 10, 25) + dt.timedelta(days=i) for i in range(7)]
    want = sum(n for (a, d, h), n in truth.items() if a == "Leeds" and d in week and h >= 18)
    args = ["check", "--area", "leeds", "--date", "2021-10-25", "--to", "2021-10-31"]
    window = ["--time-from", "18:00", "--time-to", "00:00", "--format", "json"]
    result = runner.invoke(app, [*args, *window, "--store", str(root)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == want
    # Summaries count local days and name the district.
    result = runner.invoke(
        app, ["summary", "--store", str(root), "--period", "month", "--by", "borough"]
    )
    assert result.exit_code == 0, result.output
    assert "by district" in result.stdout and "local days" in result.stdout


def test_section_16_window_advice_is_in_the_stores_hours(tmp_path: Path, la_profile: Path):
    """300 CADs at 20:xx and 60 at 10:xx Los Angeles time on each of two days: the advice
    offers the evening window in LA hours (in London's it would be 04:00 the next day)."""
    rows = []
    for day in (25, 26):
        for i, hour in enumerate([20] * 300 + [10] * 60):
            rows.append(
                f"LA202006{day}-{i:04d},2020-06-{day} {hour}:{i % 60:02d}:00,Hollywood,999,1"
            )
    export = _csv(tmp_path / "la.csv", "cad_ref,created_at,borough,call_source,grading", rows)
    root = tmp_path / "store"
    ingest(root, [export], force=la_profile)
    args = ["plan", "--area", "Hollywood", "--date", "2020-06-25", "--to", "2020-06-26"]
    result = runner.invoke(app, [*args, "--keyword", "rave", "--store", str(root)])
    assert result.exit_code == 0, result.output
    assert "REFUSE" in result.stdout
    assert "in Hollywood between 11:00 and 21:00 on 25 June" in result.stdout
    # A group and a comma list, expanded and shown with the plan.
    result = runner.invoke(app, [*args[:2], "West,Central", *args[3:], "--store", str(root)])
    assert result.exit_code == 3, result.output  # Pacific and Central hold no days
    assert "Divisions, request: West bureau (W): Hollywood, Pacific" in result.stdout
