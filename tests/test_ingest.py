"""`costplan ingest`: every row stored, a duplicate, or quarantined with its line and reason."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import write_store
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines.duckdb_engine import Engine
from costplan.errors import ConfigError, InputError, StoreLockedError
from costplan.ingest import ingest
from costplan.ingest.lines import physical_lines
from costplan.ingest.mapping import load_mapping, parse_mapping
from costplan.ingest.preflight import inspect_export
from costplan.ingest.values import _labels, _list, _parse_cad
from costplan.profile import mps
from costplan.schema import (
    LABEL_NOT_CANONICAL,
    RECORD_SCHEMA,
    canonical_label,
    format_cad_ref,
    parse_cad_ref,
)
from costplan.store import Store, read_quarantine

runner = CliRunner()
COSTPLAN = Path(sys.executable).with_name("costplan")
HEADER = (
    "cad_ref,created_at,borough,call_source,grading,opening_code,closing_code,tags,linked_to,"
    "summary,officer_notes"
)


def rows_of(root: Path) -> pl.DataFrame:
    """Every stored row, through the query engine (the `cad` view)."""
    with Engine(Store.open(root).snapshot()) as eng:
        return eng.con.sql("SELECT * FROM cad ORDER BY cad_ref").pl()


def manifest_bytes(root: Path) -> bytes:
    return (root / "manifest.json").read_bytes()


def by_line(root: Path) -> dict[int, dict[str, object]]:
    q = read_quarantine(Store.open(root))
    return {r["line"]: r for r in q.iter_rows(named=True)}


# Line numbers are physical lines of the file (header = line 1); comments say what each is.
BAD_EXPORT = "\n".join(
    [
        HEADER,  # 1
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,NOISE,NOISE,UME;DV,,plain row,PC 1",  # 2
        '2/01JUN21,2021-06-01 10:05:00,Barking & Dagenham, Online ,s,THEFT,,,,"two',  # 3
        'line summary, with comma",PC 2',  # 4 (continuation of line 3)
        "3/01JUN21,not a time,Camden,999,I,,,,,,",  # 5 unparseable timestamp
        "4/01JUN21,2021-06-01 10:00:00,Gotham,999,I,,,,,,",  # 6 unknown borough
        "5/01JUN21,2021-06-01 10:00:00,City of London,999,I,,,,,,",  # 7 City of London
        "XYZ,2021-06-01 10:00:00,Camden,999,I,,,,,,",  # 8 malformed cad_ref
        ",2021-06-01 10:00:00,Camden,999,I,,,,,,",  # 9 missing cad_ref
        "6/02JUN21,2021-06-01 10:00:00,Camden,999,I,,,,,,",  # 10 cad_ref date mismatch
        "7/01JUN21,2021-06-01 10:00:00,Camden,fax,I,,,,,,",  # 11 invalid call_source
        "8/01JUN21,2021-06-01 10:00:00,Camden,999,Z,,,,,,",  # 12 invalid grading
        "9/01JUN21,2021-06-01 10:00:00,Camden",  # 13 too few columns
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,NOISE,NOISE,UME;DV,,plain row,PC 9",  # 14 dup
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,E,NOISE,NOISE,UME;DV,,plain row,",  # 15 clash
        "",  # 16 blank line: not a row
        "10/28MAR21,2021-03-28 01:30:00,Kingston,101,R,,,,,,",  # 17 impossible (BST gap)
        "11/31OCT21,2021-10-31 01:30:00,kingston ,101,R,,,,,,",  # 18 ambiguous -> earliest
        "12/01JUN21,2021-06-01 10:00:00,Camden,999,,,,,,,",  # 19 missing grading
        "13/01JUN21,2021-06-01 10:00:00,Camden,999,I,,,,,,,too,many",  # 20 too many columns
        "CAD 0014/01jun21,2021-06-01T09:00:00Z,WESTMINSTER,Alarm Agency,r,,,,CAD 0001/01JUN21,,",
        # 21: valid, with an offset, alias spellings everywhere
    ]
)
EXPECTED = {
    5: "unparseable timestamp",
    6: "unknown borough: 'Gotham'",
    7: mps().elsewhere[0].reason,
    8: "malformed cad_ref: 'XYZ'",
    9: "missing required value: cad_ref",
    10: "cad_ref date does not match created_at: 6/02JUN21 vs London day 2021-06-01",
    11: "invalid call_source: 'fax'",
    12: "invalid grading: 'Z'",
    13: "wrong column count (expected 11, found 3)",
    15: "conflicts with an earlier row of this ingest: cad_ref 1/01JUN21 differs in grading",
    17: "impossible timestamp: '2021-03-28 01:30:00' does not exist in Europe/London",
    19: "missing required value: grading",
    20: "wrong column count (expected 11, found 13)",
}


@pytest.fixture()
def bad_export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(BAD_EXPORT + "\n", encoding="utf-8")
    return path


def test_every_kind_of_bad_row_is_quarantined_with_its_line(bad_export: Path, tmp_path: Path):
    root = tmp_path / "store"
    report = ingest(root, [bad_export])
    # 20 physical lines after the header: one continues a quoted field, one is blank.
    assert report.rows_read == 18
    assert report.stored == 4
    assert report.duplicates == 1
    assert report.quarantined == len(EXPECTED) == 13
    assert report.rows_read == report.stored + report.duplicates + report.quarantined

    q = by_line(root)
    assert sorted(q) == sorted(EXPECTED)
    for line, reason in EXPECTED.items():
        assert str(q[line]["reason"]).startswith(reason), (line, q[line]["reason"])
        assert q[line]["source_file"] == str(bad_export.resolve())
        assert q[line]["txn"] == report.txn
        assert len(str(q[line]["source_sha256"])) == 64
    raw = json.loads(str(q[6]["raw"]))
    assert raw["borough"] == "Gotham" and raw["cad_ref"] == "4/01JUN21"
    assert "officer_notes" not in raw  # a dropped column is not kept, even in quarantine
    assert json.loads(str(q[13]["raw"])) == {"_line": "9/01JUN21,2021-06-01 10:00:00,Camden"}

    rows = rows_of(root)
    assert set(rows["cad_ref"]) == {"1/01JUN21", "2/01JUN21", "11/31OCT21", "14/01JUN21"}
    assert rows.height == Store.open(root).snapshot().total_rows == 4


def test_normalised_values_and_time_zones(bad_export: Path, tmp_path: Path):
    root = tmp_path / "store"
    ingest(root, [bad_export])
    rows = {r["cad_ref"]: r for r in rows_of(root).iter_rows(named=True)}
    utc = dt.UTC
    r2 = rows["2/01JUN21"]
    assert r2["borough"] == "Barking and Dagenham"
    assert r2["call_source"] == "online" and r2["grading"] == "S"
    assert r2["summary"] == "two\nline summary, with comma"
    assert r2["created_at"].astimezone(utc) == dt.datetime(2021, 6, 1, 9, 5, tzinfo=utc)  # BST
    r1 = rows["1/01JUN21"]
    assert r1["tags"] == ["UME", "DV"] and r1["linked_to"] == [] and r1["grading"] == "I"
    # The repeated hour when clocks go back resolves to the earlier instant (still BST).
    r11 = rows["11/31OCT21"]
    assert r11["created_at"].astimezone(utc) == dt.datetime(2021, 10, 31, 0, 30, tzinfo=utc)
    assert r11["borough"] == "Kingston upon Thames"
    # An explicit offset is honoured; aliases and the 'CAD 0014' spelling are canonicalised.
    r14 = rows["14/01JUN21"]
    assert r14["created_at"].astimezone(utc) == dt.datetime(2021, 6, 1, 9, 0, tzinfo=utc)
    assert r14["borough"] == "Westminster" and r14["call_source"] == "alarm_agency"
    assert r14["grading"] == "R" and r14["linked_to"] == ["1/01JUN21"]
    assert r14["day"] == dt.date(2021, 6, 1) and r14["year"] == 2021


def test_reingest_is_idempotent(bad_export: Path, tmp_path: Path):
    root = tmp_path / "store"
    first = ingest(root, [bad_export])
    n_rows = Store.open(root).snapshot().total_rows
    n_quarantine = read_quarantine(Store.open(root)).height
    before = manifest_bytes(root)
    again = ingest(root, [bad_export])
    assert Store.open(root).snapshot().total_rows == n_rows
    assert read_quarantine(Store.open(root)).height == n_quarantine
    assert again.stored == 0
    assert again.duplicates == first.stored + first.duplicates
    assert again.quarantined == first.quarantined
    assert sum(f.quarantine_new for f in again.files) == 0
    assert again.quarantine_file == first.quarantine_file
    # The in-run clash is now a clash with the stored row, still at its line.
    assert str(by_line(root)[15]["reason"]).startswith("conflicts with an earlier row")
    # A re-run that stores nothing publishes nothing: the same manifest, the same version.
    assert again.manifest_version == first.manifest_version
    assert manifest_bytes(root) == before
    ingests = Store.open(root).snapshot().ingests
    assert [i["sha256"] for i in ingests] == [first.files[0].sha256]


def test_conflict_with_stored_row_names_fields(tmp_path: Path):
    root = tmp_path / "store"
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(
        "cad_ref,created_at,borough,call_source,grading,summary\n"
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,first\n"
    )
    b.write_text(
        "cad_ref,created_at,borough,call_source,grading,summary\n"
        "1/01JUN21,2021-06-01 10:00:00,Camden,101,I,changed\n"
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,first\n"
    )
    ingest(root, [a])
    report = ingest(root, [b])
    assert (report.stored, report.duplicates, report.quarantined) == (0, 1, 1)
    assert by_line(root)[2]["reason"] == (
        "conflicts with the stored row: cad_ref 1/01JUN21 differs in call_source, summary"
    )


def test_clashes_across_files_and_batches(tmp_path: Path):
    """Rows compared with rows staged by earlier batches (spilled) and earlier files."""
    lines = ["cad_ref,created_at,borough,call_source,grading,summary"]
    for i in range(1, 10):
        lines.append(f"{i}/01JUN21,2021-06-01 10:00:00,Camden,999,I,row {i}")
    a = tmp_path / "a.csv"
    a.write_text("\n".join(lines) + "\n")
    b = tmp_path / "b.csv"
    b.write_text(
        "cad_ref,created_at,borough,call_source,grading,summary\n"
        "2/01JUN21,2021-06-01 10:00:00,Camden,999,I,row 2\n"
        "3/01JUN21,2021-06-01 10:00:00,Hackney,999,I,row 3\n"
        "9/01JUN21,2021-06-01 10:00:00,Camden,999,I,row nine\n"
    )
    report = ingest(tmp_path / "store", [a, b], batch_rows=2)
    assert [(f.stored, f.duplicates, f.quarantined) for f in report.files] == [
        (9, 0, 0),
        (0, 1, 2),
    ]
    q = by_line(tmp_path / "store")
    assert q[3]["reason"] == (
        "conflicts with an earlier row of this ingest: cad_ref 3/01JUN21 differs in borough"
    )
    assert str(q[4]["reason"]).endswith("cad_ref 9/01JUN21 differs in summary")


def test_windows_1252_bom_and_crlf(tmp_path: Path):
    header = "cad_ref,created_at,borough,call_source,grading,summary\r\n"
    cp = tmp_path / "excel.csv"
    cp.write_bytes(
        header.encode()
        + b"1/01JUN21,2021-06-01 10:00:00,Camden,999,I,Caf\xe9 owner reports \x80 50 theft\r\n"
        + b"2/01JUN21,2021-06-01 10:00:00,Camden,999,I,\r\n"
    )
    bom = tmp_path / "bom.csv"
    bom.write_bytes(
        b"\xef\xbb\xbf"
        + header.encode()
        + "3/01JUN21,2021-06-01 11:00:00,Camden,101,S,Café\r\n".encode()
    )
    report = ingest(tmp_path / "store", [cp, bom])
    assert [f.encoding for f in report.files] == ["windows-1252", "utf-8-sig"]
    assert report.stored == 3 and report.quarantined == 0
    rows = {r["cad_ref"]: r for r in rows_of(tmp_path / "store").iter_rows(named=True)}
    assert rows["1/01JUN21"]["summary"] == "Café owner reports € 50 theft"
    assert rows["2/01JUN21"]["summary"] is None
    assert rows["3/01JUN21"]["summary"] == "Café"


def test_windows_1252_quarantine_line_and_raw(tmp_path: Path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        b"cad_ref,created_at,borough,call_source,grading,summary\r\n"
        b"1/01JUN21,2021-06-01 10:00:00,Camden,999,I,ok\r\n"
        b"2/01JUN21,2021-06-01 10:00:00,Atlantis,999,I,Caf\xe9\r\n"
    )
    report = ingest(tmp_path / "store", [path])
    assert (report.stored, report.quarantined) == (1, 1)
    q = by_line(tmp_path / "store")
    assert json.loads(str(q[3]["raw"]))["summary"] == "Café"


def test_parquet_export(tmp_path: Path):
    path = tmp_path / "export.parquet"
    pl.DataFrame(
        {
            "cad_ref": ["1/01JUN21", "2/01JUN21", "3/01JUN21"],
            # Naive timestamps are London local time, as in CSV.
            "created_at": [
                dt.datetime(2021, 6, 1, 10, 0),
                dt.datetime(2021, 6, 1, 11, 0),
                dt.datetime(2021, 6, 1, 12, 0),
            ],
            "borough": ["Camden", "Nowhere", "Kingston"],
            "call_source": ["999", "999", "Online"],
            "grading": ["I", "S", "e"],
            "tags": [["UME", " DV "], [], None],
            "caller_phone": ["0700", "0701", "0702"],
        }
    ).write_parquet(path)
    root = tmp_path / "store"
    report = ingest(root, [path])
    assert (report.rows_read, report.stored, report.quarantined) == (3, 2, 1)
    assert report.files[0].format == "parquet"
    assert report.dropped_columns == ["caller_phone"]
    q = by_line(root)
    assert list(q) == [2]  # Parquet: the 1-based row number
    assert str(q[2]["reason"]).startswith("unknown borough: 'Nowhere'")
    rows = {r["cad_ref"]: r for r in rows_of(root).iter_rows(named=True)}
    assert rows["1/01JUN21"]["tags"] == ["UME", "DV"]
    assert rows["3/01JUN21"]["tags"] == []
    assert rows["1/01JUN21"]["created_at"].astimezone(dt.UTC).hour == 9
    again = ingest(root, [path])
    assert (again.stored, again.duplicates, again.quarantined) == (0, 2, 1)
    assert read_quarantine(Store.open(root)).height == 1


def test_force_mapping_and_dropped_columns(tmp_path: Path):
    path = tmp_path / "force.csv"
    path.write_text(
        "Incident Ref,Created,Borough,Source,Grade,Opening Code,Closing Code,Flags,Linked,"
        "Details,Caller Name,Caller Phone\n"
        "1234/25JUN20,25/06/2020 14:05,Lambeth,Emergency,Immediate,NOISE,NOISE,UME|DV,,"
        "Loud music,Jane Doe,07000\n"
        "1235/25JUN20,25/06/2020 14:06:30,Lambeth,web,S,,,,1234/25JUN20,,John Doe,07001\n"
        "1236/25JUN20,2020-06-25 14:07,Lambeth,web,S,,,,,,John Doe,07001\n"
    )
    root = tmp_path / "store"
    result = runner.invoke(
        app,
        [
            "ingest",
            str(path),
            "--store",
            str(root),
            "--mapping",
            "example-force",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["rows_read"], doc["stored"], doc["quarantined"]) == (3, 2, 1)
    assert doc["dropped_columns"] == ["Caller Name", "Caller Phone"]
    assert doc["files"][0]["dropped_columns"] == ["Caller Name", "Caller Phone"]
    rows = {r["cad_ref"]: r for r in rows_of(root).iter_rows(named=True)}
    first = rows["1234/25JUN20"]
    assert (first["call_source"], first["grading"], first["tags"]) == ("999", "I", ["UME", "DV"])
    assert first["created_at"].astimezone(dt.UTC) == dt.datetime(2020, 6, 25, 13, 5, tzinfo=dt.UTC)
    assert rows["1235/25JUN20"]["linked_to"] == ["1234/25JUN20"]
    # Data minimisation: the stored Parquet files hold schema columns only.
    for file in Store.open(root).snapshot().files():
        names = set(pl.read_parquet_schema(file))
        assert not names & {"Caller Name", "Caller Phone", "caller_name"}, names
    raw = json.loads(str(by_line(root)[4]["raw"]))
    assert "Caller Name" not in raw and raw["Created"] == "2020-06-25 14:07"
    assert str(by_line(root)[4]["reason"]).startswith("unparseable timestamp: '2020-06-25 14:07'")


def test_table_report(bad_export: Path, tmp_path: Path):
    result = runner.invoke(app, ["ingest", str(bad_export), "--store", str(tmp_path / "s")])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "rows read" in out and "quarantined" in out
    assert "wrong column count" in out and "Quarantine:" in out
    assert "officer_notes" in out  # listed as not stored
    assert result.stderr == ""


def test_strict_exits_1_after_committing(bad_export: Path, tmp_path: Path):
    root = tmp_path / "store"
    result = runner.invoke(
        app, ["ingest", str(bad_export), "--store", str(root), "--strict", "--format", "json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["quarantined"] == 13
    assert Store.open(root).snapshot().total_rows == 4
    clean = tmp_path / "clean.csv"
    clean.write_text(
        "cad_ref,created_at,borough,call_source,grading\n"
        "90/01JUN21,2021-06-01 10:00:00,Camden,999,I\n"
    )
    ok = runner.invoke(app, ["ingest", str(clean), "--store", str(root), "--strict"])
    assert ok.exit_code == 0, ok.stderr


# ---- input errors: one stderr line, exit 2, store untouched -------------------------------


def _input_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    good = tmp / "good.csv"
    good.write_text(
        "cad_ref,created_at,borough,call_source,grading\n"
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I\n"
    )
    empty = tmp / "empty.csv"
    empty.write_bytes(b"")
    nohead = tmp / "nohead.csv"
    nohead.write_text("1/01JUN21,2021-06-01 10:00:00,Camden,999,I\n")
    partial = tmp / "partial.csv"
    partial.write_text("cad_ref,created_at,borough\n1/01JUN21,2021-06-01 10:00:00,Camden\n")
    (tmp / "adir").mkdir()
    xlsx = tmp / "export.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    badpq = tmp / "broken.parquet"
    badpq.write_bytes(b"not parquet at all")
    return {
        "missing": ([str(good), str(tmp / "nope.csv")], "nope.csv: no such file"),
        "empty": ([str(empty)], "empty.csv: file is empty (0 bytes)"),
        "no header": ([str(nohead)], "header lacks required column(s) 'cad_ref'"),
        "partial header": ([str(partial)], "lacks required column(s) 'call_source', 'grading'"),
        "directory": ([str(tmp / "adir")], "is a directory"),
        "extension": ([str(xlsx)], "unsupported file type '.xlsx'"),
        "bad parquet": ([str(badpq)], "not a readable Parquet file"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "empty", "no header", "partial header", "directory", "extension", "bad parquet"],
)
def test_input_errors_leave_the_store_untouched(case: str, tmp_path: Path):
    root = tmp_path / "store"
    seed = tmp_path / "seed.csv"
    seed.write_text(
        "cad_ref,created_at,borough,call_source,grading\n"
        "5/01JUN21,2021-06-01 10:00:00,Camden,999,I\n"
    )
    ingest(root, [seed])
    before = manifest_bytes(root)
    args, message = _input_cases(tmp_path)[case]
    result = runner.invoke(app, ["ingest", *args, "--store", str(root)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("costplan: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert manifest_bytes(root) == before
    assert not (root / ".staging").exists() or not any((root / ".staging").iterdir())


def test_input_error_does_not_create_the_store(tmp_path: Path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "x.csv"), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert not (tmp_path / "s").exists()


def test_real_subprocess(bad_export: Path, tmp_path: Path):
    root = tmp_path / "store"
    missing = subprocess.run(
        [str(COSTPLAN), "ingest", str(tmp_path / "missing.csv"), "--store", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("costplan: error: ") and missing.stderr.count("\n") == 1
    assert "Traceback" not in missing.stderr and missing.stdout == ""
    ok = subprocess.run(
        [str(COSTPLAN), "ingest", str(bad_export), "--store", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""  # no progress bar when stderr is not a terminal
    doc = json.loads(ok.stdout)
    assert doc["rows_read"] == doc["stored"] + doc["duplicates"] + doc["quarantined"] == 18
    assert [f["file"] for f in doc["files"]] == [str(bad_export)]


def test_help_has_an_example():
    result = runner.invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "--mapping" in result.stdout


def test_mapping_errors(tmp_path: Path):
    bad = tmp_path / "force.toml"
    bad.write_text('[columns]\ncad_ref = "Ref"\n[timestamps]\nformat = "%d/%m/%Y"\n')
    with pytest.raises(ConfigError) as err:
        load_mapping(bad)
    assert str(bad) in err.value.message and "timestamps.format" in err.value.message
    for doc, key in [
        ({"colums": {}}, "colums"),
        ({"columns": {"cad_reference": "x"}}, "columns.cad_reference"),
        ({"values": {"grading": {"Urgent": "U"}}}, "values.grading.Urgent"),
        ({"timestamps": {"timezone": "Mars/Olympus"}}, "timestamps.timezone"),
        ({"timestamps": {"ambiguous": "raise"}}, "timestamps.ambiguous"),
        ({"columns": {"cad_ref": "A", "borough": "A"}}, "columns.borough"),
    ]:
        with pytest.raises(ConfigError) as err:
            parse_mapping(doc, tmp_path / "m.toml")
        assert key in err.value.message, (key, err.value.message)
    # Unknown keys in the one wording of costplan._toml.
    with pytest.raises(ConfigError) as err:
        parse_mapping({"lists": {"tag_separator": ";"}}, tmp_path / "m.toml")
    assert err.value.one_line() == (
        f"mapping {tmp_path / 'm.toml'}: 'lists.tag_separator' is an unknown key "
        "(allowed: linked_to_separator, tags_separator)"
    )
    # Values too: a tab is a good delimiter, two characters are not.
    assert parse_mapping({"csv": {"delimiter": "\t"}}).delimiter == "\t"
    with pytest.raises(ConfigError) as err:
        parse_mapping({"csv": {"delimiter": ";;"}}, tmp_path / "m.toml")
    assert err.value.one_line() == (
        f"mapping {tmp_path / 'm.toml'}: 'csv.delimiter' must be a single character, not ';;'"
    )
    csv = tmp_path / "x.csv"
    csv.write_text("cad_ref,created_at,borough,call_source,grading\n")
    result = runner.invoke(
        app, ["ingest", str(csv), "--store", str(tmp_path / "s"), "--mapping", str(bad)]
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "timestamps.format" in result.stderr


def test_writer_lock_held(tmp_path: Path, bad_export: Path):
    root = tmp_path / "store"
    ingest(root, [bad_export])
    before = manifest_bytes(root)
    store = Store.open(root)
    with store.writer():
        with pytest.raises(StoreLockedError) as err:
            ingest(root, [bad_export], lock_wait=0.2)
    assert "is writing to" in err.value.message
    assert manifest_bytes(root) == before


def test_all_or_nothing_across_files(
    tmp_path: Path, bad_export: Path, monkeypatch: pytest.MonkeyPatch
):
    """A file that fails mid-transaction leaves nothing of the files read before it."""
    from costplan.ingest import run

    broken = tmp_path / "broken.csv"
    broken.write_bytes(
        b"cad_ref,created_at,borough,call_source,grading\n"
        b"1/02JUN21,2021-06-02 10:00:00,Camden,999,I\n"
    )
    real = run._Run.ingest_file

    def fails_on_the_second(self: run._Run, index: int, plan: Any, digest: Any) -> Any:
        if index == 1:  # after the first file was staged
            raise InputError(f"{plan.given}: cannot parse as CSV: injected")
        return real(self, index, plan, digest)

    monkeypatch.setattr(run._Run, "ingest_file", fails_on_the_second)
    root = tmp_path / "store"
    Store.open(root, create=True)
    before = manifest_bytes(root)
    with pytest.raises(InputError, match="broken.csv"):
        ingest(root, [bad_export, broken])
    assert manifest_bytes(root) == before
    assert Store.open(root).snapshot().total_rows == 0


def test_refused_rows_spilled_to_disk_are_the_same_quarantine(
    bad_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Refused rows past QUARANTINE_SPILL_ROWS are written to the staging area, by the ingest
    and by its transaction, and read back a chunk at a time: the quarantine and the report are
    those of holding every row in memory, DuckDB's rejects still in order of line among them,
    and the same export given twice in one run is still quarantined once."""
    import shutil

    from costplan.ingest import quarantine, read
    from costplan.ingest import run as ingest_run
    from costplan.store import spool

    # Batches of three rows, so the refused rows come a few at a time.
    monkeypatch.setattr(ingest_run, "ARROW_BATCH_ROWS", 3)
    monkeypatch.setattr(read, "ARROW_BATCH_ROWS", 3)
    monkeypatch.setattr(read, "FIRST_BATCH_ROWS", 3)
    twice = tmp_path / "again.csv"
    shutil.copy(bad_export, twice)
    # Stored, refused and rejected (too many columns) rows taking turns, 45 lines of them.
    mixed = tmp_path / "mixed.csv"
    lines = [HEADER]
    for i in range(1, 16):
        lines.append(f"{20 + i}/02JUN21,2021-06-02 10:00:00,Camden,999,I,,,,,,")
        lines.append(f"{40 + i}/02JUN21,2021-06-02 10:00:00,Gotham,999,I,,,,,,")
        lines.append(f"{60 + i}/02JUN21,2021-06-02 10:00:00,Camden,999,I,,,,,,,too,many")
    mixed.write_text("\n".join(lines) + "\n")

    def run(root: Path) -> tuple[list[dict[str, Any]], pl.DataFrame]:
        report = ingest(root, [bad_export, twice, mixed], batch_rows=3)
        q = read_quarantine(Store.open(root)).drop("txn")
        return [f.to_dict() for f in report.files], q

    held = run(tmp_path / "held")
    chunks: list[int] = []
    spilled = spool.Spool.chunks

    def counted(self: spool.Spool, by: str):  # type: ignore[no-untyped-def]
        for chunk in spilled(self, by):
            chunks.append(chunk.height)
            yield chunk

    monkeypatch.setattr(spool, "QUARANTINE_SPILL_ROWS", 2)
    monkeypatch.setattr(quarantine, "REJECTS_BATCH", 2)
    monkeypatch.setattr(spool.Spool, "chunks", counted)
    reports, q = run(tmp_path / "spilled")
    assert reports == held[0] and q.equals(held[1])
    assert len(chunks) > 4 and max(chunks) < 6  # many small chunks, not one
    q = held[1].filter(pl.col("source_file").str.ends_with("export.csv"))
    assert q["line"].to_list() == sorted(EXPECTED)
    assert [f["quarantine_new"] for f in held[0]] == [len(EXPECTED), 0, 30]
    q = held[1].filter(pl.col("source_file").str.ends_with("mixed.csv"))
    assert q["line"].to_list() == sorted([*range(3, 47, 3), *range(4, 48, 3)])
    assert q["reason"].str.starts_with("wrong column count").sum() == 15


def test_progress_callback(tmp_path: Path, bad_export: Path):
    seen: list[tuple[int, int]] = []
    ingest(tmp_path / "store", [bad_export], progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] == 16  # rows DuckDB read (2 lines rejected)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_quoted_newlines_blank_lines_and_stray_quotes(tmp_path: Path):
    """Physical line numbers survive every way a record and a line can differ."""
    text = (
        "cad_ref,created_at,borough,call_source,grading,summary\n"  # 1
        '1/01JUN21,2021-06-01 10:00:00,Camden,999,I,"a\n\nb"\n'  # 2-4
        "\n"  # 5
        "2/01JUN21,2021-06-01 10:00:00,Camden,999,I,6'2\" male\n"  # 6: stray quote, read as is
        "3/01JUN21,2021-06-01 10:00:00,Nowhere,999,I,x\n"  # 7
        '"4/01JUN21","2021-06-01 10:00:00","Camden","999","I","say ""hi""",extra\n'  # 8
        "5/01JUN21,2021-06-01 10:00:00,Nowhere,999,I,\n"  # 9
    )
    path = tmp_path / "q.csv"
    path.write_text(text)
    report = ingest(tmp_path / "store", [path])
    assert (report.stored, report.quarantined) == (2, 3)
    q = by_line(tmp_path / "store")
    assert sorted(q) == [7, 8, 9]
    assert str(q[8]["reason"]).startswith("wrong column count (expected 6, found 7)")
    rows = {r["cad_ref"]: r for r in rows_of(tmp_path / "store").iter_rows(named=True)}
    assert rows["1/01JUN21"]["summary"] == "a\n\nb"
    assert rows["2/01JUN21"]["summary"] == "6'2\" male"


def test_physical_lines_fast_and_fallback_agree(tmp_path: Path):
    import numpy as np

    from costplan.ingest import lines as mod

    path = tmp_path / "x.csv"
    path.write_text('h1,h2\n"a\nb",1\n\nc,2\n\r\n"d""",3\ne,"4\n"\n')
    fast = mod._record_lines_fast(path, ",", '"')
    slow = mod._record_lines_csv(path, ",", '"')
    assert fast is not None
    assert [a.tolist() for a in fast] == [a.tolist() for a in slow] == [[2, 4, 6, 7], [2, 5, 7, 8]]
    every = np.arange(3)
    lines, rejected = physical_lines(path, ",", '"', 3, np.array([4]), every)
    assert lines.tolist() == [2, 7, 8] and rejected.tolist() == [5]
    lines, rejected = physical_lines(path, ",", '"', 3, np.array([4]), np.array([2]))
    assert lines.tolist() == [8] and rejected.tolist() == [5]
    stray = tmp_path / "y.csv"
    stray.write_text('h1,h2\na"b,1\nc,2\n')
    assert mod._record_lines_fast(stray, ",", '"') is None
    none = np.array([], dtype=np.int64)
    assert physical_lines(stray, ",", '"', 2, none, np.arange(2))[0].tolist() == [2, 3]


def _whole_file_lines(path: Path, delimiter: str, quote: str):  # type: ignore[no-untyped-def]
    """The oracle: the vectorised scan as it was before it went block by block (every newline
    and quote of the file held at once)."""
    import codecs

    import numpy as np

    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    size = data.shape[0]
    qb, db = ord(quote), ord(delimiter)
    nl, q = np.flatnonzero(data == 10), np.flatnonzero(data == qb)
    bom = 3 if size >= 3 and bytes(data[:3]) == codecs.BOM_UTF8 else 0
    if q.size:
        opening, closing = q[0::2], q[1::2]
        ok_open = (opening == bom) | np.isin(data[np.maximum(opening - 1, 0)], [db, 10, qb])
        nxt = data[np.minimum(closing + 1, size - 1)]
        ok_close = (closing + 1 >= size) | np.isin(nxt, [db, 10, 13, qb])
        if not (ok_open.all() and ok_close.all()):
            return None
        term = nl[np.searchsorted(q, nl) % 2 == 0]
    else:
        term = nl
    starts, ends = np.concatenate(([0], term + 1)), np.concatenate((term, [size]))
    if starts[-1] >= size:
        starts, ends = starts[:-1], ends[:-1]
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (data[np.minimum(starts, size - 1)] == 13))
    rec = np.arange(starts.size)
    keep = (rec >= 1) & ~blank
    return (rec[keep] + 1).tolist(), (np.searchsorted(nl, starts[keep]) + 1).tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "1", ",", '"', "\n", "\r\n", "\r", "\ufeff"]), max_size=40),
    st.integers(1, 9),
    st.sampled_from(["", "\ufeff"]),
)
def test_the_block_scan_is_the_whole_file_scan(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str], step: int, bom: str
) -> None:
    """Scanned a few bytes at a time (records, quotes and BOMs across every block boundary),
    the records and lines are those of scanning the whole file at once; a stray quote is found
    either way."""
    from costplan.ingest import lines as mod

    path = tmp_path_factory.mktemp("scan") / "x.csv"
    path.write_bytes((bom + "h," + "".join(parts)).encode())
    want = _whole_file_lines(path, ",", '"')
    got = mod._record_lines_fast(path, ",", '"', step)
    assert (None if got is None else [a.tolist() for a in got]) == (
        None if want is None else list(want)
    )


def test_cad_ref_parsing_matches_schema():
    texts = [
        "1/01JUN21",
        "CAD 0012/25jun20",
        "  12/25JUN20 ",
        "0/01JAN20",
        "1234567/01JAN20",
        "1/31FEB21",
        "1/29FEB20",
        "1/00JAN20",
        "cad12/01jan20",
        "x",
        "",
        "12/25JUN20x",
        "+1/01JAN20",
        "000001/01JAN20",
    ]
    got = _parse_cad(pl.Series(texts, dtype=pl.String))
    for text, (ref, day, _key) in zip(texts, got.iter_rows(), strict=True):
        parsed = parse_cad_ref(text)
        assert ref == (format_cad_ref(*parsed) if parsed else None), text
        assert day == (parsed[1] if parsed else None), text


def test_inspect_export_reports_encoding_and_hash(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"cad_ref,created_at,borough,call_source,grading,extra\n")
    plan = inspect_export(path, load_mapping())
    assert plan.encoding == "utf-8" and len(plan.sha256) == 64
    assert plan.dropped == ("extra",)
    report = ingest(tmp_path / "store", [path])
    assert report.rows_read == 0 and report.quarantine_file is None


def test_semicolon_export_with_quarantined_ambiguous_hour(tmp_path: Path):
    mapping = tmp_path / "semi.toml"
    mapping.write_text(
        '[csv]\ndelimiter = ";"\n[lists]\ntags_separator = ","\n'
        '[timestamps]\nformats = ["%d.%m.%Y %H:%M"]\nambiguous = "quarantine"\n'
    )
    path = tmp_path / "semi.csv"
    path.write_text(
        "cad_ref;created_at;borough;call_source;grading;tags\n"
        "1/31OCT21;31.10.2021 00:30;Camden;999;I;UME, DV\n"
        "2/31OCT21;31.10.2021 01:30;Camden;999;I;\n"
        "3/31OCT21;31.10.2021 02:30;Camden;999;I;\n"
    )
    root = tmp_path / "store"
    report = ingest(root, [path], mapping)
    assert (report.stored, report.quarantined) == (2, 1)
    assert str(by_line(root)[3]["reason"]).startswith(
        "ambiguous timestamp: '31.10.2021 01:30' occurs twice in Europe/London"
    )
    rows = {r["cad_ref"]: r for r in rows_of(root).iter_rows(named=True)}
    assert rows["1/31OCT21"]["tags"] == ["UME", "DV"]
    assert rows["3/31OCT21"]["created_at"].astimezone(dt.UTC).hour == 2  # GMT again


# ---- tags and incident codes: one canonical form (schema.canonical_label) -------------------

SPELLINGS = [
    "cad_ref,created_at,borough,call_source,grading,opening_code,closing_code,tags",
    "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,noise,Noise ,ume",
    "2/01JUN21,2021-06-01 10:01:00,Camden,999,I,NOISE,NOISE,UME",
    '3/01JUN21,2021-06-01 10:02:00,Camden,999,I, Noise, ume ," Ume ;dv"',
    "4/01JUN21,2021-06-01 10:03:00,Camden,999,I,theft,,asb; ;\x1fDv",
    "5/01JUN21,2021-06-01 10:04:00,Camden,999,I, ,,\x1c",
]
# The same records spelled otherwise.
RESPELLED = [
    SPELLINGS[0],
    "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,NOISE,NOISE,UME",
    "2/01JUN21,2021-06-01 10:01:00,Camden,999,I,Noise,noise, Ume",
    "3/01JUN21,2021-06-01 10:02:00,Camden,999,I,NOISE,UME,UME;DV",
    "4/01JUN21,2021-06-01 10:03:00,Camden,999,I,THEFT,,ASB;DV",
    "5/01JUN21,2021-06-01 10:04:00,Camden,999,I,,,",
]


def _export(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tags_and_codes_are_stored_stripped_and_upper_case(tmp_path: Path):
    root = tmp_path / "store"
    report = ingest(root, [_export(tmp_path / "a.csv", SPELLINGS)])
    assert (report.stored, report.quarantined) == (5, 0)
    rows = rows_of(root).to_dicts()
    assert [r["tags"] for r in rows] == [["UME"], ["UME"], ["UME", "DV"], ["ASB", "DV"], []]
    assert [(r["opening_code"], r["closing_code"]) for r in rows] == [
        ("NOISE", "NOISE"),
        ("NOISE", "NOISE"),
        ("NOISE", "UME"),
        ("THEFT", None),
        (None, None),
    ]
    # Spelled otherwise, the same export is the same records: duplicates, not conflicts.
    again = ingest(root, [_export(tmp_path / "b.csv", RESPELLED)])
    assert (again.stored, again.duplicates, again.quarantined) == (0, 5, 0)


def test_parquet_tags_and_codes_are_canonical(tmp_path: Path):
    path = tmp_path / "export.parquet"
    pl.DataFrame(
        {
            "cad_ref": ["1/01JUN21", "2/01JUN21"],
            "created_at": [dt.datetime(2021, 6, 1, 10, 0), dt.datetime(2021, 6, 1, 11, 0)],
            "borough": ["Camden", "Camden"],
            "call_source": ["999", "999"],
            "grading": ["I", "S"],
            "opening_code": ["ume", "Party\u3000"],
            "tags": [["ume", " Ume ", "\u3000"], ["straße"]],
        }
    ).write_parquet(path)
    root = tmp_path / "store"
    ingest(root, [path])
    r1, r2 = rows_of(root).to_dicts()
    assert (r1["tags"], r1["opening_code"]) == (["UME", "UME"], "UME")
    # Python's own upper case, whatever the letter: one function, schema.canonical_label.
    assert (r2["tags"], r2["opening_code"]) == (["STRASSE"], "PARTY")


def test_a_store_written_before_the_rule_takes_the_export_as_duplicates(tmp_path: Path):
    """A store that holds 'ume' (written before tags had one form) and an export's 'UME' hold
    the same record: a duplicate, never a conflict."""
    new_root = tmp_path / "new"
    ingest(new_root, [_export(tmp_path / "a.csv", SPELLINGS)])
    old = rows_of(new_root).with_columns(
        pl.col("tags").list.eval(pl.element().str.to_lowercase()),
        pl.col("opening_code").str.to_lowercase(),
    )
    old_root = tmp_path / "old"
    write_store(old_root, old.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA))  # type: ignore[arg-type]
    report = ingest(old_root, [_export(tmp_path / "b.csv", RESPELLED)])
    assert (report.stored, report.duplicates, report.quarantined) == (0, 5, 0)


def test_one_odd_label_is_enough_to_take_the_slow_path() -> None:
    """A batch whose only odd label needs str.strip()'s own white space still gets it."""
    raw = pl.DataFrame({"tags": ["\x1cUME", "DV;MH", None], "code": ["NOISE\x1f", "UME", None]})
    assert _list(raw, "tags", ";", labels=True).to_list() == [["UME"], ["DV", "MH"], []]
    assert _labels(raw["code"]).to_list() == ["NOISE", "UME", None]
    clean = pl.DataFrame({"tags": ["UME", "DV;MH"]})
    assert _list(clean, "tags", ";", labels=True).to_list() == [["UME"], ["DV", "MH"]]


def test_canonical_label_is_what_ingest_looks_for() -> None:
    """LABEL_NOT_CANONICAL finds every character canonical_label would change (so ingest,
    which maps only what it finds, stores exactly canonical_label's form)."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    found = pl.Series(chars).str.contains(LABEL_NOT_CANONICAL).to_list()
    changed = [canonical_label(c) != c for c in chars]
    missed = [hex(ord(c)) for c, f, ch in zip(chars, found, changed, strict=True) if ch and not f]
    assert missed == []
    for text in ("UME", "DV-1", "ÉCOLE", "A B"):
        assert canonical_label(text) == text
        assert not pl.Series([text]).str.contains(LABEL_NOT_CANONICAL)[0]
    assert canonical_label(" ume\t") == "UME" and canonical_label("\u3000Ume") == "UME"


def test_trailing_empty_fields_lose_nothing_and_extra_values_are_quarantined(tmp_path: Path):
    # Spreadsheets pad rows with trailing commas: those rows are stored (every extra field is
    # empty, so nothing is lost); a row with extra values is refused, never stored in part.
    export = tmp_path / "pad.csv"
    export.write_text(
        "cad_ref,created_at,borough,call_source,grading\n"
        "1/25JUN20,2020-06-25 20:00:00,Lambeth,999,I\n"
        "2/25JUN20,2020-06-25 20:05:00,Lambeth,999,I" + "," * 5000 + "\n"
        "3/25JUN20,2020-06-25 20:06:00,Lambeth,999,I,extra,values\n",
        encoding="utf-8",
    )
    root = tmp_path / "s"
    result = runner.invoke(app, ["ingest", str(export), "--store", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert rows_of(root)["cad_ref"].to_list() == ["1/25JUN20", "2/25JUN20"]
    assert str(by_line(root)[4]["reason"]).startswith("wrong column count")
