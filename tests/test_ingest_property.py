"""Property: whatever mix of valid and faulty rows an export holds, nothing is lost.

For any export, rows_read = stored + duplicates + quarantined, every valid row ends up in the
store with its content, every faulty row in the quarantine at its line, and ingesting the same
export again changes nothing. A small reference model says what each row should become.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costplan.engines.duckdb_engine import Engine
from costplan.ingest import ingest
from costplan.ingest.values import _parse_cad
from costplan.schema import CAD_REF_RE, LONDON, format_cad_ref, parse_cad_ref
from costplan.store import Store, read_quarantine

HEADER = ["cad_ref", "created_at", "borough", "call_source", "grading", "tags", "summary"]
DAYS = (dt.date(2021, 6, 1), dt.date(2021, 6, 2))
# (spelling in the export, canonical value)
BOROUGHS = [
    ("Camden", "Camden"),
    (" kingston ", "Kingston upon Thames"),
    ("Barking & Dagenham", "Barking and Dagenham"),
    ("WESTMINSTER", "Westminster"),
]
SOURCES = [("999", "999"), (" Online ", "online"), ("101", "101"), ("ALARM AGENCY", "alarm_agency")]
GRADES = [("I", "I"), ("s", "S"), ("Extended", "E")]
SUMMARIES = ["noise", "loud music, party", 'said "help"', "two\nlines", ""]
TAGS = [[], ["UME"], ["DV", "MH"]]
FAULTS = [
    "unparseable",
    "impossible",
    "unknown_borough",
    "city",
    "malformed_ref",
    "missing_ref",
    "date_mismatch",
    "bad_source",
    "bad_grade",
    "missing_grade",
    "too_few",
    "too_many",
]

valid_rows = st.fixed_dictionaries(
    {
        "kind": st.just("valid"),
        "serial": st.integers(1, 12),  # small, so cad_refs recur: duplicates and conflicts
        "day": st.sampled_from(DAYS),
        "minute": st.integers(0, 24 * 60 - 1),
        "borough": st.sampled_from(BOROUGHS),
        "source": st.sampled_from(SOURCES),
        "grade": st.sampled_from(GRADES),
        "tags": st.sampled_from(TAGS),
        "summary": st.sampled_from(SUMMARIES),
        "prefix": st.sampled_from(["", "CAD ", "cad 00"]),
    }
)
fault_rows = st.fixed_dictionaries(
    {"kind": st.sampled_from(FAULTS), "serial": st.integers(100, 10_000)}
)
exports = st.lists(st.one_of(valid_rows, valid_rows, fault_rows), min_size=0, max_size=40)


def _cells(row: dict) -> list[str] | None:
    """The CSV fields of a generated row (None: the kind decides them below)."""
    day: dt.date = row.get("day", DAYS[0])
    ref = format_cad_ref(row["serial"], day)
    ts = "2021-06-01 10:00:00"
    base = [ref, ts, "Camden", "999", "I", "", "x"]
    kind = row["kind"]
    if kind == "valid":
        local = dt.datetime.combine(day, dt.time(row["minute"] // 60, row["minute"] % 60))
        return [
            row["prefix"] + ref.lower() if row["prefix"].startswith("cad") else row["prefix"] + ref,
            local.strftime("%Y-%m-%d %H:%M:%S"),
            row["borough"][0],
            row["source"][0],
            row["grade"][0],
            ";".join(row["tags"]),
            row["summary"],
        ]
    changes = {
        "unparseable": (1, "01/06/2021 at ten"),
        "unknown_borough": (2, "Gotham"),
        "city": (2, "City of London"),
        "malformed_ref": (0, "REF-" + ref),
        "missing_ref": (0, ""),
        "date_mismatch": (0, format_cad_ref(row["serial"], dt.date(2021, 6, 3))),
        "bad_source": (3, "carrier pigeon"),
        "bad_grade": (4, "Q"),
        "missing_grade": (4, ""),
    }
    if kind == "impossible":
        return [format_cad_ref(row["serial"], dt.date(2021, 3, 28)), "2021-03-28 01:15:00"] + base[
            2:
        ]
    if kind in changes:
        i, value = changes[kind]
        base[i] = value
        return base
    if kind == "too_few":
        return base[:3]
    return [*base, "surplus"]  # too_many


def _expected(rows: list[dict]) -> tuple[dict[str, dict], int, int, int, list[int]]:
    """Reference model: stored rows by cad_ref, duplicates, quarantined, quarantined indexes."""
    seen: dict[str, dict] = {}
    dups = 0
    bad: list[int] = []
    for i, row in enumerate(rows):
        if row["kind"] != "valid":
            bad.append(i)
            continue
        local = dt.datetime.combine(
            row["day"], dt.time(row["minute"] // 60, row["minute"] % 60), tzinfo=LONDON
        )
        content = {
            "created_at": local.astimezone(dt.UTC),
            "borough": row["borough"][1],
            "call_source": row["source"][1],
            "grading": row["grade"][1],
            "tags": row["tags"],
            "summary": row["summary"] or None,
        }
        ref = format_cad_ref(row["serial"], row["day"])
        if ref not in seen:
            seen[ref] = content
        elif seen[ref] == content:
            dups += 1
        else:
            bad.append(i)
    return seen, dups, len(bad), len(seen), bad


def _write(path: Path, rows: list[dict]) -> list[int]:
    """Write the export; returns each row's physical line (header = line 1)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    lines = []
    line = 2
    for row in rows:
        cells = _cells(row)
        assert cells is not None
        lines.append(line)
        start = buf.tell()
        writer.writerow(cells)
        line += buf.getvalue()[start:].count("\n")
    path.write_text(buf.getvalue(), encoding="utf-8")
    return lines


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=exports, batch_rows=st.sampled_from([3, 8, 1_000_000]))
def test_nothing_valid_is_lost(rows: list[dict], batch_rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        lines = _write(path, rows)
        root = Path(tmp) / "store"
        report = ingest(root, [path], batch_rows=batch_rows)
        seen, dups, n_bad, n_stored, bad = _expected(rows)

        assert report.rows_read == len(rows)
        assert report.rows_read == report.stored + report.duplicates + report.quarantined
        assert (report.stored, report.duplicates, report.quarantined) == (n_stored, dups, n_bad)

        with Engine(Store.open(root).snapshot()) as eng:
            stored = eng.con.sql("SELECT * FROM cad").pl()
        assert stored.height == n_stored
        for r in stored.iter_rows(named=True):
            want = seen[r["cad_ref"]]
            got = {k: r[k] for k in want}
            got["created_at"] = got["created_at"].astimezone(dt.UTC)
            assert got == want, r["cad_ref"]

        q = read_quarantine(Store.open(root))
        assert sorted(q["line"].to_list()) == sorted(lines[i] for i in bad)
        assert q["reason"].null_count() == 0 and (q["reason"] != "").all()

        again = ingest(root, [path], batch_rows=batch_rows)
        assert (again.stored, again.duplicates, again.quarantined) == (
            0,
            n_stored + dups,
            n_bad,
        )
        assert Store.open(root).snapshot().total_rows == n_stored
        assert read_quarantine(Store.open(root)).height == q.height


cad_texts = st.one_of(
    st.from_regex(CAD_REF_RE, fullmatch=True),
    st.text(alphabet="0123456789/ CADJUNFEBOCTXjunfeb\t", max_size=16),
    st.builds(
        lambda pre, s, d, m, y, post: f"{pre}{s}/{d}{m}{y}{post}",
        st.sampled_from(["", "CAD ", "cad", " ", "CAD 00"]),
        st.integers(0, 2_000_000),
        st.sampled_from(["00", "01", "28", "29", "30", "31", "39", "1"]),
        st.sampled_from(["JAN", "feb", "Feb", "FEB", "APR", "XYZ", "DEC"]),
        st.sampled_from(["00", "20", "21", "99", "1"]),
        st.sampled_from(["", " ", "x"]),
    ),
)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(cad_texts, min_size=1, max_size=20))
def test_cad_ref_parser_agrees_with_schema(texts: list[str]) -> None:
    got = _parse_cad(pl.Series(texts, dtype=pl.String))
    for text, (ref, day, key) in zip(texts, got.iter_rows(), strict=True):
        parsed = parse_cad_ref(text)
        assert ref == (format_cad_ref(*parsed) if parsed else None), text
        assert day == (parsed[1] if parsed else None), text
        assert (key is None) == (parsed is None), text
