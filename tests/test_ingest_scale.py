"""Ingest with its memory bounds reached: spilled key runs and spilled staged rows give the
same answers as an ingest that holds everything in memory (issue 16).

The bounds (ingest.run.SPILL_ROWS rows buffered, KEYS_IN_MEMORY keys) are lowered to a row or
two, so every batch spills and a repeated reference is found in a memory-mapped key run and
compared with a row read back from a staged chunk.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costplan.ingest import ingest, keys, preflight, run
from costplan.store import Store, read_quarantine
from tests.test_ingest_property import _expected, _write, exports
from tests.test_profile import LA_PROFILE

HEADER = "cad_ref,created_at,borough,call_source,grading,summary"


@contextmanager
def tiny_bounds(rows: int = 1, keys_held: int = 1) -> Iterator[list[int]]:
    """Lower the ingest's memory bounds; yields a list counting the key runs spilled."""
    spills: list[int] = []
    real = keys.KeyIndex._spill

    def counted(self: keys.KeyIndex, directory: Path) -> None:
        spills.append(1)
        real(self, directory)

    with (
        mock.patch.object(run, "SPILL_ROWS", rows),
        mock.patch.object(run, "KEYS_IN_MEMORY", keys_held),
        mock.patch.object(keys.KeyIndex, "_spill", counted),
    ):
        yield spills


def _outcome(root: Path) -> tuple[list[tuple], list[tuple]]:
    """What a store holds and what it quarantined, in an order that does not depend on files."""
    snap = Store.open(root).snapshot()
    import polars as pl

    files = [str(root / f.path) for p in snap.partitions.values() for f in p.files]
    stored = pl.read_parquet(files, hive_partitioning=False).sort("cad_ref").rows() if files else []
    q = read_quarantine(Store.open(root)).sort("line").select("line", "reason").rows()
    return stored, q


def test_clashes_found_in_spilled_keys_and_chunks(tmp_path: Path) -> None:
    """Duplicates and conflicts across batches and files, every bound reached."""
    a = tmp_path / "a.csv"
    rows = [f"{i}/01JUN21,2021-06-01 10:{i:02d}:00,Camden,999,I,row {i}" for i in range(1, 10)]
    rows += ["2/02JUN21,2021-06-02 10:00:00,Hackney,999,I,other day"]
    a.write_text("\n".join([HEADER, *rows, rows[0], rows[4]]) + "\n")  # two exact repeats
    b = tmp_path / "b.csv"
    b.write_text(
        f"{HEADER}\n"
        "2/01JUN21,2021-06-01 10:02:00,Camden,999,I,row 2\n"
        "3/01JUN21,2021-06-01 10:03:00,Hackney,999,I,row 3\n"
        "9/01JUN21,2021-06-01 10:09:00,Camden,999,I,row nine\n"
        "10/01JUN21,2021-06-01 11:00:00,Camden,999,I,new\n"
    )
    ingest(tmp_path / "whole", [a, b], batch_rows=2)
    with tiny_bounds() as spills:
        report = ingest(tmp_path / "bounded", [a, b], batch_rows=2)
    assert spills, "the key index never spilled: the test would not test the spilled path"
    assert [(f.stored, f.duplicates, f.quarantined) for f in report.files] == [
        (10, 2, 0),
        (1, 1, 2),
    ]
    assert _outcome(tmp_path / "bounded") == _outcome(tmp_path / "whole")
    q = dict(_outcome(tmp_path / "bounded")[1])
    assert q[3] == (
        "conflicts with an earlier row of this ingest: cad_ref 3/01JUN21 differs in borough"
    )


def test_text_references_found_in_spilled_keys(tmp_path: Path) -> None:
    """A force whose references are text: keys by hash, every hit confirmed by the row."""
    profile = tmp_path / "la.toml"
    profile.write_text(LA_PROFILE)
    lines = [f"LA20200625-{i:04d},2020-06-25 20:{i:02d}:00,Hollywood,999,1,x" for i in range(8)]
    first, second = tmp_path / "la-1.csv", tmp_path / "la-2.csv"
    first.write_text("\n".join([HEADER, *lines]) + "\n")
    conflict = "LA20200625-0003,2020-06-25 20:03:00,Pacific,999,1,x"
    second.write_text("\n".join([HEADER, lines[1], conflict, lines[7][:-1] + "y"]) + "\n")
    with tiny_bounds() as spills:
        report = ingest(tmp_path / "s", [first, second], force=profile)
    assert spills
    assert (report.stored, report.duplicates, report.quarantined) == (8, 1, 2)
    reasons = read_quarantine(Store.open(tmp_path / "s")).sort("line")["reason"].to_list()
    assert reasons == [
        "conflicts with an earlier row of this ingest: cad_ref LA20200625-0003 differs in borough",
        "conflicts with an earlier row of this ingest: cad_ref LA20200625-0007 differs in summary",
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=exports, batch_rows=st.sampled_from([2, 5]))
def test_bounded_ingest_answers_as_the_unbounded(rows: list[dict], batch_rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        _write(path, rows)
        ingest(Path(tmp) / "whole", [path], batch_rows=batch_rows)
        with tiny_bounds(rows=2, keys_held=3):
            report = ingest(Path(tmp) / "bounded", [path], batch_rows=batch_rows)
        _, dups, n_bad, n_stored, _ = _expected(rows)
        assert (report.stored, report.duplicates, report.quarantined) == (n_stored, dups, n_bad)
        assert _outcome(Path(tmp) / "bounded") == _outcome(Path(tmp) / "whole")


def _scan_before(path: Path, chunk: int) -> tuple[bool, bool]:
    """preflight._scan_bytes as it was before issue 16 (every count in every chunk)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, cr, lf, crlf, last = True, 0, 0, 0, b""
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            cr += data.count(b"\r")
            lf += data.count(b"\n")
            crlf += data.count(b"\r\n") + (last == b"\r" and data[:1] == b"\n")
            last = data[-1:]
            if utf8:
                try:
                    decoder.decode(data)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return utf8, bool(cr) and bool(lf) and not (cr == lf == crlf)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"\xc3\xa9", b"\xe9"]), max_size=40
    ),
    chunk=st.integers(1, 7),
)
def test_line_ending_scan_skips_counts_but_not_answers(data: list[bytes], chunk: int) -> None:
    """The faster scan (no CRLF count in a chunk without CR) answers as the full count did."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        path.write_bytes(b"".join(data))
        with mock.patch.object(preflight, "READ_CHUNK_BYTES", chunk):
            assert preflight._scan_bytes(path) == _scan_before(path, chunk)


@pytest.mark.parametrize("text", [b"a\nb\n", b"a\r\nb\r\n", b"a\rb\n", b"a\r\nb\n", b"a\rb\r"])
def test_line_endings_of_whole_files(text: bytes, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(text)
    assert preflight._scan_bytes(path) == _scan_before(path, 1 << 20)


def test_a_hit_no_staged_row_confirms_is_a_new_row(tmp_path: Path) -> None:
    """A text key's index may say "maybe" (a hash collision): the staged rows decide."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(f"{HEADER}\n1/01JUN21,2021-06-01 10:00:00,Camden,999,I,one\n")
    b.write_text(
        f"{HEADER}\n1/01JUN21,2021-06-01 10:00:00,Camden,999,I,one\n"
        "2/01JUN21,2021-06-01 10:00:00,Camden,999,I,two\n"
    )
    import polars as pl

    def always(self: keys.KeyIndex, asked: pl.Series) -> pl.Series:
        return pl.Series("hit", [True] * asked.len(), pl.Boolean())

    with mock.patch.object(keys.KeyIndex, "contains", always):
        report = ingest(tmp_path / "s", [a, b])
    assert [(f.stored, f.duplicates, f.quarantined) for f in report.files] == [(1, 0, 0), (1, 1, 0)]
