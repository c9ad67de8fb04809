"""Mappings for real exports as published: value tables, constants, defaults, composed refs.

The fixture is a calls-for-service export as another service publishes it (no call-source
column, priorities 0-9, incident numbers unique only per division, its own beat codes, US
12-hour times); it must ingest through the bundled mapping alone, and its counts must equal a
count made here in plain Python over the rows the fixture was built from.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines.duckdb_engine import Engine
from costplan.errors import ConfigError, InputError
from costplan.ingest import ingest
from costplan.ingest.mapping import load_mapping, parse_mapping
from costplan.schema import LONDON
from costplan.store import Store, read_quarantine

runner = CliRunner()
MAPPING = "example-calls-for-service"
HEADER = ["Incident Number", "Division", "Beat", "Priority", "Call Type", "Call Date Time",
          "Disposition", "Caller Address"]  # fmt: skip
BEATS = {"1A": "Lambeth", "1B": "Southwark", "2A": "Camden", "2B": "Islington", "3A": "Hackney"}
GRADE = {**dict.fromkeys("01", "I"), **dict.fromkeys("234", "S"), **dict.fromkeys("56", "E")}
GRADE.update(dict.fromkeys("789", "R"))
CODES = {"415": "DISTURBANCE", "415M": "NOISE", "459": "BURGLARY", "911H": "CONCERN"}


def build_export(seed: int = 12) -> tuple[list[list[str]], list[dict[str, object]]]:
    """Export rows as the service publishes them, and what each valid row must become."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    expected: list[dict[str, object]] = []
    for day in (dt.date(2020, 6, 25), dt.date(2020, 6, 26)):
        numbers = Counter[str]()  # each division numbers its own incidents
        for _ in range(300):
            beat = rng.choice(list(BEATS))
            division = beat[0]
            numbers[division] += 1
            t = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)))
            priority = rng.choice([*"0123456789", ""])
            code = rng.choice(list(CODES))
            stamp = t.strftime("%m/%d/%Y %I:%M:%S %p")
            rows.append([str(numbers[division]), division, beat, priority, code, stamp,
                         "ADVISED", "1 High Street"])  # fmt: skip
            expected.append(
                {
                    "cad_ref": f"{division}{numbers[division]:05d}/{day:%d%b%y}".upper(),
                    "borough": BEATS[beat],
                    "grading": GRADE[priority or "9"],
                    "opening_code": CODES[code],
                    "local": t,
                }
            )
    # Refused rows: one failing three checks, one with an unknown beat.
    rows.append(["", "9", "9Z", "X", "415", "06/25/2020 10:00:00 PM", "", ""])
    rows.append(["77", "9", "9Z", "1", "415", "06/25/2020 10:00:00 PM", "", ""])
    return rows, expected


def write_csv(path: Path, rows: list[list[str]], prefix: bytes = b"") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    path.write_bytes(prefix + out.getvalue().encode("utf-8"))
    return path


def stored(root: Path) -> list[dict[str, object]]:
    with Engine(Store.open(root).snapshot()) as eng:
        return eng.con.sql("SELECT * FROM cad ORDER BY cad_ref").pl().to_dicts()


@pytest.fixture()
def export(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    rows, expected = build_export()
    return write_csv(tmp_path / "calls.csv", rows), expected


def test_an_export_as_published_ingests_through_a_mapping_alone(export, tmp_path: Path):
    path, expected = export
    root = tmp_path / "store"
    result = runner.invoke(
        app, ["ingest", str(path), "--store", str(root), "--mapping", MAPPING, "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["rows_read"], doc["stored"], doc["quarantined"]) == (602, 600, 2)
    assert doc["dropped_columns"] == ["Caller Address"]
    # What the mapping supplied is reported as such.
    assert doc["constants"] == {"call_source": "other"}
    blanks = sum(1 for r in build_export()[0][:600] if r[3] == "")
    assert blanks > 0
    assert doc["defaults"] == {"grading": {"value": "9", "rows": blanks}}
    assert doc["files"][0]["defaulted"] == {"grading": blanks}

    rows = stored(root)
    by_ref = {r["cad_ref"]: r for r in rows}
    assert len(by_ref) == len(expected) == 600  # per-division numbers made unique
    for want in expected:
        got = by_ref[want["cad_ref"]]
        assert got["borough"] == want["borough"]
        assert got["grading"] == want["grading"]
        assert got["opening_code"] == want["opening_code"]
        assert got["call_source"] == "other"
        local = got["created_at"].astimezone(LONDON).replace(tzinfo=None)  # type: ignore[attr-defined]
        assert local == want["local"]


def test_counts_equal_an_independent_count_by_day_and_hour(export, tmp_path: Path):
    path, expected = export
    root = tmp_path / "store"
    ingest(root, [path], MAPPING)
    want = Counter(
        (e["borough"], e["local"].date(), e["local"].hour)  # type: ignore[attr-defined]
        for e in expected
    )
    with Engine(Store.open(root).snapshot()) as eng:
        got = eng.con.sql(
            "SELECT borough, day, hour(created_at) AS h, count(*) AS n FROM cad GROUP BY ALL"
        ).fetchall()
    assert {(b, d, h): n for b, d, h, n in got} == dict(want)


def test_every_reason_is_counted_and_kept(export, tmp_path: Path):
    path, _ = export
    root = tmp_path / "store"
    report = ingest(root, [path], MAPPING)
    q = {r["line"]: r["reason"] for r in read_quarantine(Store.open(root)).iter_rows(named=True)}
    three = str(q[602])
    assert three.split("; ") == [
        "missing required value: cad_ref",
        "unknown borough: '9Z'",
        "invalid grading: 'X' (expected one of I, S, E, R)",
    ]
    assert str(q[603]).startswith("unknown borough: '9Z'")
    # Two rows refused, four reasons: the row failing three checks counts in all three.
    assert report.to_dict()["reasons"] == {
        "invalid grading": 1,
        "missing required value": 1,
        "unknown borough": 2,
    }
    table = runner.invoke(app, ["ingest", str(path), "--store", str(tmp_path / "s2"),
                                "--mapping", MAPPING])  # fmt: skip
    assert "2  unknown borough" in table.stdout
    assert "call_source = 'other' on every row" in table.stdout
    assert "grading = '9' on" in table.stdout


def test_a_rerun_that_stores_nothing_keeps_the_manifest_version(export, tmp_path: Path):
    path, _ = export
    root = tmp_path / "store"
    first = ingest(root, [path], MAPPING)
    before = (root / "manifest.json").read_bytes()
    again = ingest(root, [path], MAPPING)
    assert (again.stored, again.duplicates, again.quarantined) == (0, 600, 2)
    assert again.manifest_version == first.manifest_version == 1
    assert (root / "manifest.json").read_bytes() == before


@pytest.mark.parametrize(
    "prefix",
    [b"\xc3\xaf\xc2\xbb\xc2\xbf", b"\xef\xbb\xbf\xc3\xaf\xc2\xbb\xc2\xbf"],
    ids=["double", "bom-then-double"],
)
def test_a_doubly_encoded_bom_is_stripped(prefix: bytes, tmp_path: Path):
    path = tmp_path / "bom.csv"
    path.write_bytes(
        prefix + b'"cad_ref",created_at,borough,call_source,grading\n'
        b"1/01JUN21,2021-06-01 10:00:00,Camden,999,I\n"
        b"2/01JUN21,2021-06-01 10:00:00,Gotham,999,I\n"
    )
    report = ingest(tmp_path / "store", [path])
    assert (report.stored, report.quarantined) == (1, 1)
    q = read_quarantine(Store.open(tmp_path / "store"))
    assert q["line"].to_list() == [3]  # physical lines still counted from the header
    assert "cad_ref" in json.loads(str(q["raw"][0]))


def test_default_and_constant_reach_an_absent_column(tmp_path: Path):
    path = tmp_path / "one-area.csv"
    path.write_text("ref,when\n1/01JUN21,2021-06-01 10:00:00\n2/01JUN21,2021-06-01 11:00:00\n")
    mapping = parse_mapping(
        {
            "columns": {"cad_ref": "ref", "created_at": "when"},
            "constants": {"borough": "lambeth", "call_source": "101"},
            "defaults": {"grading": "Significant"},
        }
    )
    report = ingest(tmp_path / "store", [path], mapping)
    assert report.stored == 2
    assert report.to_dict()["defaults"] == {"grading": {"value": "Significant", "rows": 2}}
    assert {(r["borough"], r["grading"]) for r in stored(tmp_path / "store")} == {("Lambeth", "S")}


def test_tag_value_table_translates_items(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text(
        "cad_ref,created_at,borough,call_source,grading,tags\n"
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,rave;dv\n"
    )
    mapping = parse_mapping({"values": {"tags": {"rave": "ume", "DV": "DV"}}})
    ingest(tmp_path / "store", [path], mapping)
    assert stored(tmp_path / "store")[0]["tags"] == ["UME", "DV"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"reference": {"template": "{created_at:%d%b%y}"}}, "at least one export column"),
        ({"reference": {"template": "{No:5}"}}, "zero-pad width"),
        ({"reference": {"template": "{No}/{created_at:%H}"}}, "date directives"),
        ({"reference": {"template": "{No"}}, "valid template"),
        (
            {"columns": {"cad_ref": "Ref"}, "reference": {"template": "{No}"}},
            "cannot be set while columns.cad_ref",
        ),
        ({"constants": {"summary": "x"}}, "unknown key"),
        ({"constants": {"created_at": "x"}}, "unknown key"),
        ({"constants": {"grading": "I"}, "defaults": {"grading": "S"}}, "as well as"),
        ({"columns": {"grading": "G"}, "constants": {"grading": "I"}}, "cannot be a constant"),
        ({"values": {"grading": {"a": "I", " A ": "S"}}}, "must map to one value"),
        ({"values": {"summary": {"a": "b"}}}, "unknown key"),
        ({"defaults": {"borough": ""}}, "non-empty string"),
    ],
)
def test_mapping_sections_are_strict(doc: dict[str, object], message: str):
    with pytest.raises(ConfigError, match=message):
        parse_mapping(doc)


def test_targets_are_checked_before_anything_is_read(export, tmp_path: Path):
    path, _ = export
    mapping = parse_mapping({"values": {"borough": {"1A": "Lambth"}}})
    with pytest.raises(ConfigError, match=r"values\.borough\.'1a'.*not 'Lambth'"):
        ingest(tmp_path / "store", [path], mapping)
    mapping = parse_mapping({"constants": {"call_source": "fax"}})
    with pytest.raises(ConfigError, match="constants.call_source"):
        ingest(tmp_path / "store", [path], mapping)
    assert not (tmp_path / "store").exists()


def test_a_template_column_missing_from_the_header_is_an_input_error(tmp_path: Path):
    rows, _ = build_export()
    path = tmp_path / "calls.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["Incident", *HEADER[1:]], *rows])
    path.write_text(out.getvalue())
    with pytest.raises(InputError, match="reference template"):
        ingest(tmp_path / "store", [path], MAPPING)


def test_the_bundled_example_loads():
    m = load_mapping(MAPPING)
    assert m.reference is not None and m.reference.columns == ("Division", "Incident Number")
    assert m.values["grading"]["0"] == "I" and m.constants == {"call_source": "other"}


FAULTY = {"borough": "Gotham", "call_source": "fax", "grading": "Z"}
KIND = {"borough": "unknown borough", "call_source": "invalid call_source",
        "grading": "invalid grading"}  # fmt: skip


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sets(st.sampled_from(sorted(FAULTY))), min_size=1, max_size=12))
def test_reason_tallies_equal_an_independent_count(tmp_path: Path, faults: list[set[str]]):
    """Rows failing any subset of three checks: each failed check is counted once."""
    lines = ["cad_ref,created_at,borough,call_source,grading"]
    for i, bad in enumerate(faults, start=1):
        values = {"borough": "Camden", "call_source": "999", "grading": "I"}
        values.update({f: FAULTY[f] for f in bad})
        lines.append(f"{i}/01JUN21,2021-06-01 10:00:00,{values['borough']},"
                     f"{values['call_source']},{values['grading']}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        path = Path(d) / "x.csv"
        path.write_text("\n".join(lines) + "\n")
        report = ingest(Path(d) / "store", [path])
        want = Counter(KIND[f] for bad in faults for f in bad)
        assert report.to_dict()["reasons"] == dict(sorted(want.items()))
        assert report.quarantined == sum(1 for bad in faults if bad)
        q = read_quarantine(Store.open(Path(d) / "store"))
        assert sorted(len(r.split("; ")) for r in q["reason"]) == sorted(
            len(bad) for bad in faults if bad
        )


def test_parquet_column_feeds_a_field_and_the_reference(tmp_path: Path):
    """Typed Parquet columns: 'Division' is both the area (by a value table) and part of the
    composed reference; it is read once and kept once in the quarantine's raw values."""
    import polars as pl

    path = tmp_path / "calls.parquet"
    pl.DataFrame(
        {
            "Incident": [7, 7, None],
            "Division": [1, 2, 1],
            "When": [dt.datetime(2020, 6, 25, 14, 0)] * 3,
            "Priority": [0, 9, 1],
        }
    ).write_parquet(path)
    mapping = parse_mapping(
        {
            "columns": {"created_at": "When", "borough": "Division", "grading": "Priority"},
            "reference": {"template": "{Division}{Incident:05}/{created_at:%d%b%y}"},
            "constants": {"call_source": "other"},
            "values": {
                "borough": {"1": "Lambeth", "2": "Southwark"},
                "grading": {"0": "I", "1": "I", "9": "R"},
            },
        }
    )
    report = ingest(tmp_path / "store", [path], mapping)
    assert (report.stored, report.quarantined) == (2, 1)
    got = {(r["cad_ref"], r["borough"], r["grading"]) for r in stored(tmp_path / "store")}
    assert got == {("100007/25JUN20", "Lambeth", "I"), ("200007/25JUN20", "Southwark", "R")}
    q = read_quarantine(Store.open(tmp_path / "store"))
    assert str(q["reason"][0]) == "missing required value: cad_ref"
    raw = json.loads(str(q["raw"][0]))
    assert sorted(raw) == ["Division", "Incident", "Priority", "When"]
    assert (raw["Incident"], raw["Division"], raw["Priority"]) == (None, 1, 1)
