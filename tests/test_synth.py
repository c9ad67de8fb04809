"""Tests of the synthetic CAD archive generator (costplan.synth)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import polars as pl
import pytest

from costplan import schema, synth
from costplan.errors import ConfigError, InputError
from costplan.synth.frames import _generate

D = dt.date


@pytest.fixture(scope="module")
def cal() -> synth.Calibration:
    return synth.load_calibration()


def _collect(start: dt.date, end: dt.date, **kwargs: object) -> pl.DataFrame:
    return pl.concat(list(synth.generate(start, end, **kwargs)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def july2020(cal: synth.Calibration) -> pl.DataFrame:
    """July 2020 with the UME truth column (the wave month with the Haringey event)."""
    frames = list(_generate(D(2020, 7, 1), D(2020, 7, 31), 2020, None, cal, truth=True))
    assert len(frames) == 1  # one frame per calendar month
    return frames[0]


@pytest.fixture(scope="module")
def summer_truth(cal: synth.Calibration) -> pl.DataFrame:
    return synth.ume_truth(D(2020, 6, 1), D(2020, 8, 31), calibration=cal)


# --- the seed fact ------------------------------------------------------------------------------


def test_lambeth_25_june_2020_has_more_than_500_cads(cal: synth.Calibration) -> None:
    day = _collect(D(2020, 6, 25), D(2020, 6, 25), calibration=cal)
    counts = dict(day.group_by("borough").len().iter_rows())
    assert counts["Lambeth"] > 500
    # ...and the planted Angell Town burst is part of it.
    brixton = day.filter(pl.col("summary").str.contains("Angell Town", literal=True))
    assert brixton["borough"].unique().to_list() == ["Lambeth"]
    assert brixton.height >= 10


# --- schema and references ----------------------------------------------------------------------


def test_schema_order_and_sorting(july2020: pl.DataFrame) -> None:
    frame = july2020.drop("ume_event")
    assert frame.schema == pl.Schema(schema.RECORD_SCHEMA)
    assert frame["created_at"].is_sorted()
    assert frame["cad_ref"].n_unique() == frame.height
    assert (frame["year"] == frame["day"].dt.year().cast(pl.Int16)).all()
    assert set(frame["borough"].unique()) == set(schema.BOROUGH_NAMES)
    assert set(frame["call_source"].unique()) <= set(schema.CALL_SOURCES)
    assert set(frame["grading"].unique()) <= set(schema.GRADINGS)
    codes = set(frame["opening_code"].unique()) | set(frame["closing_code"].unique())
    assert codes <= set(schema.INCIDENT_CODES)
    assert set(frame.select(pl.col("tags").explode().drop_nulls().unique())["tags"]) <= set(
        synth.TAGS
    )
    # Tags and codes in the form ingest stores and requests ask in (schema.canonical_label).
    for label in (*synth.TAGS, *schema.INCIDENT_CODES):
        assert schema.canonical_label(label) == label


def test_cad_refs_are_canonical_and_serials_restart_each_london_day(
    july2020: pl.DataFrame,
) -> None:
    parsed = july2020.select(
        "day",
        "created_at",
        serial=pl.col("cad_ref").str.split("/").list.first().cast(pl.Int64),
        suffix=pl.col("cad_ref").str.split("/").list.last(),
    )
    # Serial = 1-based position in the London day over all of London, in created_at order.
    ranks = parsed.with_columns(expected=pl.int_range(1, pl.len() + 1).over("day"))
    assert (ranks["serial"] == ranks["expected"]).all()
    for row in july2020.sample(200, seed=1).iter_rows(named=True):
        serial, day = schema.parse_cad_ref(row["cad_ref"])  # type: ignore[misc]
        assert day == row["day"]
        assert row["cad_ref"] == schema.format_cad_ref(serial, day)


@pytest.mark.parametrize("day", [D(2020, 3, 29), D(2020, 10, 25)])
def test_day_is_the_london_day_on_dst_changes(day: dt.date, cal: synth.Calibration) -> None:
    frame = _collect(day - dt.timedelta(days=1), day + dt.timedelta(days=1), calibration=cal)
    local = frame["created_at"].dt.convert_time_zone("Europe/London")
    assert (local.dt.date() == frame["day"]).all()
    start, end = schema.london_day_bounds(day)
    one = frame.filter(pl.col("day") == day)
    assert one["created_at"].min() >= start and one["created_at"].max() < end
    hours = one["created_at"].dt.convert_time_zone("Europe/London").dt.hour()
    utc_hours = one["created_at"].dt.truncate("1h").n_unique()
    assert utc_hours == (23 if day.month == 3 else 25)  # the London day's real length
    if day.month == 3:
        assert 1 not in set(hours)  # 01:00–02:00 does not exist on the spring-forward day
    serial = one["cad_ref"].str.split("/").list.first().cast(pl.Int64)
    assert serial.to_list() == list(range(1, one.height + 1))


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_same_output_and_other_seed_differs(cal: synth.Calibration) -> None:
    week = (D(2019, 2, 4), D(2019, 2, 10))
    first = _collect(*week, calibration=cal)
    assert first.equals(_collect(*week, calibration=cal))
    assert not first.equals(_collect(*week, seed=7, calibration=cal))


def test_output_does_not_depend_on_chunking_or_range(cal: synth.Calibration) -> None:
    across = _collect(D(2020, 6, 28), D(2020, 7, 2), calibration=cal)
    june = _collect(D(2020, 6, 1), D(2020, 6, 30), calibration=cal)
    july = _collect(D(2020, 7, 1), D(2020, 7, 31), calibration=cal)
    whole = pl.concat([june, july]).filter(pl.col("day").is_between(D(2020, 6, 28), D(2020, 7, 2)))
    assert across.equals(whole)


def test_one_frame_per_month_and_early_close(cal: synth.Calibration) -> None:
    frames = synth.generate(D(2019, 1, 30), D(2019, 4, 2), calibration=cal)
    first = next(frames)
    assert first["day"].min() == D(2019, 1, 30) and first["day"].max() == D(2019, 1, 31)
    frames.close()  # type: ignore[attr-defined]  # stops the prefetching worker
    assert not [t for t in threading.enumerate() if t.name.startswith("costplan-synth")]
    sutton = synth.generate(D(2019, 1, 30), D(2019, 4, 2), calibration=cal, boroughs=["Sutton"])
    months = [f["day"].dt.month().unique().to_list() for f in sutton]
    assert months == [[1], [2], [3], [4]]


def test_borough_filter_keeps_rows_and_serials(cal: synth.Calibration) -> None:
    week = (D(2019, 2, 4), D(2019, 2, 10))
    full = _collect(*week, calibration=cal)
    some = _collect(*week, boroughs=["lambeth", "City of Westminster", "barking"], calibration=cal)
    kept = ["Lambeth", "Westminster", "Barking and Dagenham"]
    assert set(some["borough"].unique()) == set(kept)
    assert some.equals(full.filter(pl.col("borough").is_in(kept)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"boroughs": ["Narnia"]}, "unknown borough"),
        ({"boroughs": ["City of London"]}, "City of London Police"),
        ({"boroughs": []}, "no boroughs"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        synth.generate(D(2020, 1, 1), D(2020, 1, 2), **kwargs)  # type: ignore[arg-type]


def test_end_before_start_is_an_input_error() -> None:
    with pytest.raises(InputError, match="before start"):
        synth.generate(D(2020, 1, 2), D(2020, 1, 1))


# --- calibration --------------------------------------------------------------------------------


def test_volume_by_year(cal: synth.Calibration) -> None:
    assert cal.daily_volume(2019) == 9500 and cal.daily_volume(2021) == 9500
    assert cal.daily_volume(2022) == pytest.approx(10_000)
    assert cal.daily_volume(2024) == 11_000 and cal.daily_volume(2026) == 11_000


def test_2024_volume_and_999_share(cal: synth.Calibration) -> None:
    week = _collect(D(2024, 3, 4), D(2024, 3, 10), calibration=cal)  # Mon..Sun
    assert week.height / 7 == pytest.approx(11_000 * cal.month[2], rel=0.03)
    share_999 = week.select((pl.col("call_source") == "999").mean()).item()
    assert share_999 == pytest.approx(0.50, abs=0.02)


def test_july_volume_matches_calibration(july2020: pl.DataFrame, cal: synth.Calibration) -> None:
    expected = cal.daily_volume(2020) * cal.month[6]  # weekday factors average out over weeks
    per_day = july2020.height / 31
    assert per_day == pytest.approx(expected, rel=0.03)


def test_shares_over_a_month(july2020: pl.DataFrame, cal: synth.Calibration) -> None:
    n = july2020.height
    sources = dict(july2020.group_by("call_source").len().iter_rows())
    for name, share in zip(schema.CALL_SOURCES, cal.call_sources, strict=True):
        assert sources.get(name, 0) / n == pytest.approx(share, abs=0.02), name
    grades = dict(july2020.group_by("grading").len().iter_rows())
    for name, share in zip(schema.GRADINGS, cal.grading_overall, strict=True):
        assert grades[name] / n == pytest.approx(share, abs=0.02), name
    i999 = july2020.filter(pl.col("call_source") == "999").select((pl.col("grading") == "I").mean())
    assert i999.item() == pytest.approx(0.30, abs=0.02)
    linked = july2020.select((pl.col("linked_to").list.len() > 0).mean()).item()
    assert linked == pytest.approx(0.12, abs=0.03)
    top = july2020.group_by("borough").len().sort("len", descending=True)["borough"].to_list()
    assert top[0] == "Westminster"
    assert "Lambeth" in top[:5]
    lambeth = july2020.select((pl.col("borough") == "Lambeth").mean()).item()
    assert lambeth == pytest.approx(0.045, abs=0.003)
    for tag in ("DV", "MH", "ASB", "CHILD"):
        rate = july2020.select(pl.col("tags").list.contains(tag).mean()).item()
        assert 0.01 < rate < 0.15, tag


def test_linked_cads_point_back_within_six_hours_same_borough(july2020: pl.DataFrame) -> None:
    links = (
        july2020.filter(pl.col("ume_event").is_null(), pl.col("linked_to").list.len() > 0)
        .select("cad_ref", "created_at", "borough", target=pl.col("linked_to").list.first())
        .join(
            july2020.select(target="cad_ref", target_at="created_at", target_borough="borough"),
            on="target",
        )
    )
    assert links.height > 0.1 * july2020.height
    gap = links["created_at"] - links["target_at"]
    assert gap.min() >= dt.timedelta(0) and gap.max() <= dt.timedelta(hours=6)
    assert (links["borough"] == links["target_borough"]).all()


def test_hour_and_special_day_shape(cal: synth.Calibration) -> None:
    october = _collect(D(2019, 10, 1), D(2019, 10, 31), calibration=cal)
    per_day = dict(october.group_by("day").len().iter_rows())
    ordinary = [v for k, v in per_day.items() if k != D(2019, 10, 31)]
    assert per_day[D(2019, 10, 31)] / (sum(ordinary) / len(ordinary)) == pytest.approx(
        1.47, abs=0.1
    )
    local_hour = pl.col("created_at").dt.convert_time_zone("Europe/London").dt.hour()
    night = (
        october.filter(local_hour < 4, pl.col("day") != D(2019, 10, 27))  # 27 Oct: DST ends
        .group_by("day")
        .len()
        .group_by(weekday=pl.col("day").dt.weekday())
        .agg(pl.col("len").mean())
    )
    by_weekday = dict(night.iter_rows())  # Monday = 1
    # Sat 00–04 doubled then the day renormalised (calibration.md §7.2): 2 x 100/113.7 x the
    # Saturday/Wednesday day ratio 1.06/0.98 ≈ 1.9.
    assert by_weekday[6] / by_weekday[3] == pytest.approx(1.9, rel=0.1)
    december = _collect(D(2019, 12, 18), D(2019, 12, 25), calibration=cal)
    counts = dict(december.group_by("day").len().iter_rows())
    assert counts[D(2019, 12, 25)] < 0.6 * counts[D(2019, 12, 18)]


# --- UMEs ----------------------------------------------------------------------------------------


def test_ume_tagging_and_linking_is_partial(summer_truth: pl.DataFrame) -> None:
    tagged = summer_truth.select(pl.col("tags").list.contains("UME").mean()).item()
    assert tagged == pytest.approx(0.5, abs=0.05)
    untagged = summer_truth.filter(~pl.col("tags").list.contains("UME"))
    assert set(untagged["opening_code"].unique()) <= {"NOISE", "PARTY", "ASB"}
    assert untagged["summary"].str.contains(r"(?i)rave|music|party").all()
    tagged_rows = summer_truth.filter(pl.col("tags").list.contains("UME"))
    assert (tagged_rows["closing_code"] == "UME").all()
    firsts = summer_truth.group_by("ume_event").agg(pl.col("created_at").min())
    later = summer_truth.height - firsts.height
    linked = summer_truth.select((pl.col("linked_to").list.len() > 0).sum()).item()
    assert 0.45 < linked / later < 0.75


def test_summer_2020_wave_rates(summer_truth: pl.DataFrame, cal: synth.Calibration) -> None:
    events = (
        summer_truth.filter(pl.col("ume_event").str.starts_with("UME-"))
        .select(pl.col("ume_event").unique())
        .select(day=pl.col("ume_event").str.slice(4, 8).str.to_date("%Y%m%d"))
    )
    per_day = dict(events.group_by("day").len().iter_rows())
    july = [per_day.get(D(2020, 7, d), 0) for d in range(1, 32)]
    assert 15 < sum(july) / 31 < 27
    assert 65 < per_day[D(2020, 7, 18)] < 115  # "about 90" on Sat 18 July 2020
    # Before the wave: 2/day with summer Fri/Sat x3 (calibration.md §7.4) ≈ 5.2/day.
    assert sum(per_day.get(D(2020, 6, d), 0) for d in range(1, 25)) / 24 < 8
    cads = summer_truth.group_by("ume_event").len()["len"]
    assert cads.filter(cads < 20).mean() == pytest.approx(4.0, abs=0.4)  # 1 + Poisson(3)


def test_normal_year_ume_rate(cal: synth.Calibration) -> None:
    truth = synth.ume_truth(D(2019, 2, 1), D(2019, 2, 28), calibration=cal)
    events = truth.select(pl.col("ume_event").unique())
    assert 0.8 < events.height / 28 < 4
    # Mostly Fri/Sat nights (Monday = 1).
    weekday = events.select(pl.col("ume_event").str.slice(4, 8).str.to_date("%Y%m%d").dt.weekday())
    assert weekday.select(pl.col("ume_event").is_in([5, 6]).mean()).item() > 0.6


@pytest.mark.parametrize(
    ("name", "borough", "day", "keyword"),
    [
        ("brixton", "Lambeth", D(2020, 6, 25), "Angell Town"),
        ("haringey", "Haringey", D(2020, 7, 18), "Finsbury Park"),
        ("barking", "Barking and Dagenham", D(2020, 8, 8), "Barking"),
        ("walthamstow", "Waltham Forest", D(2020, 8, 22), "Walthamstow"),
    ],
)
def test_planted_events(
    summer_truth: pl.DataFrame,
    cal: synth.Calibration,
    name: str,
    borough: str,
    day: dt.date,
    keyword: str,
) -> None:
    event = summer_truth.filter(pl.col("ume_event") == name)
    planted = next(p for p in cal.planted if p.name == name)
    assert event.height == planted.cads >= 20
    assert event["borough"].unique().to_list() == [borough]
    assert event["day"].min() == day
    tagged = event["tags"].list.contains("UME")
    assert 0 < tagged.sum() < event.height  # some tagged, some not
    links = event["linked_to"].list.len()
    assert 0 < (links > 0).sum() < event.height - 1  # some linked, some not
    first = event.sort("created_at")["cad_ref"][0]
    assert set(event["linked_to"].explode().drop_nulls()) == {first}
    assert event["summary"].str.contains(keyword, literal=True).sum() >= event.height // 3
    assert event["summary"].str.contains(r"(?i)rave|music|party|unlicensed").all()


def test_false_positive_text_is_rare_but_present(july2020: pl.DataFrame) -> None:
    ordinary = july2020.filter(pl.col("ume_event").is_null())
    fp = ordinary["summary"].str.contains(
        "travel documents|musical instrument|costume|party wall|music teacher|Gravel|volume"
    )
    assert 0.005 < fp.mean() < 0.02  # type: ignore[operator]


# --- calibration file strictness ---------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    return path


DEFAULT_TEXT = synth.DEFAULT_CALIBRATION.read_text(encoding="utf-8")


def test_default_calibration_loads() -> None:
    cal = synth.load_calibration()
    assert sum(cal.borough_shares) == pytest.approx(1.0)
    assert cal.borough_shares[schema.BOROUGH_NAMES.index("Lambeth")] == pytest.approx(0.045)
    assert {p.name for p in cal.planted} == {"brixton", "haringey", "barking", "walthamstow"}


@pytest.mark.parametrize(
    ("anchor", "insert", "key"),
    [
        ("[volume]\n", "surprise = 1\n", "volume.surprise"),
        ("link_share = 0.12\n", "link_shar = 0.1\n", "volume.link_shar"),
        ("peak_events = 88.0\n", "peak = 1\n", "ume.wave.peak"),
        ('name = "barking"\n', 'colour = "red"\n', "planted[2].colour"),
        ('"Sutton" = 206349\n', '"Gotham" = 1\n', "boroughs.population.Gotham"),
        ("[tags.by_code]\n", "DOMESTICS = { DV = 0.5 }\n", "tags.by_code.DOMESTICS"),
    ],
)
def test_unknown_keys_are_config_errors(tmp_path: Path, anchor: str, insert: str, key: str) -> None:
    assert anchor in DEFAULT_TEXT
    path = _write(tmp_path, DEFAULT_TEXT.replace(anchor, anchor + insert, 1))
    with pytest.raises(ConfigError) as info:
        synth.load_calibration(path)
    assert str(path) in info.value.message
    assert key in info.value.message


def test_unknown_top_level_table_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, DEFAULT_TEXT + "\n[extras]\nx = 1\n")
    with pytest.raises(ConfigError, match="'extras' is an unknown key") as info:
        synth.load_calibration(path)
    assert info.value.hint is not None and "volume" in info.value.hint  # allowed: ... volume


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("link_share = 0.12\n", "", "'volume.link_share' is missing"),
        ('"999" = 0.45', '"999" = 0.55', "sum to"),
        ("night_share = 0.8", "night_share = 1.8", "ume.night_share"),
        ("[volume]", "[volume", "not valid TOML"),
        ('borough = "Haringey"', 'borough = "Haringay Town"', "not a London borough"),
    ],
)
def test_invalid_values_are_config_errors(tmp_path: Path, old: str, new: str, match: str) -> None:
    assert old in DEFAULT_TEXT
    path = _write(tmp_path, DEFAULT_TEXT.replace(old, new, 1))
    with pytest.raises(ConfigError, match=match):
        synth.load_calibration(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        synth.load_calibration(tmp_path / "nope.toml")
