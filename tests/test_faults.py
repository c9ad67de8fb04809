"""Fault injection: races, crash points, a full disk, damaged files and hostile manifests.

Every promise of the store is tested where it could break (issue 15): a write's preconditions
are checked under the writer lock, a failed write leaves the store as it was (and no empty
store behind), every fault is one line naming the file and the fix, and damage is repaired by
the next writer or refresh. Races are made certain with events and hooks, never with sleeps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import fixture_frame, write_store
from typer.testing import CliRunner

import costplan.store as store_mod
from costplan.cli import app
from costplan.errors import StoreError
from costplan.ingest import ingest
from costplan.store import Store, read_quarantine
from costplan.synth.demo import build_archive

HEADER = "cad_ref,created_at,borough,call_source,grading,summary"


def _csv_rows(first: dt.date, n: int, *, borough: str = "Camden") -> list[str]:
    """`n` valid CSV rows on one London day (02:00 onwards: never inside a clock change)."""
    ref_day = first.strftime("%d%b%y").upper()
    return [
        f"{i}/{ref_day},{first} 02:{i // 60 % 60:02d}:{i % 60:02d},{borough},999,I,noise"
        for i in range(1, n + 1)
    ]


def _export(path: Path, rows: list[str], newline: str = "\n") -> Path:
    path.write_bytes((newline.join([HEADER, *rows]) + newline).encode())
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line(res: Any) -> str:
    """The single error line of a failed command (exit 2, no traceback)."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("costplan: error: ")
    return lines[0]


@contextlib.contextmanager
def _thread(target: Any, *args: Any) -> Iterator[dict[str, Any]]:
    """Run target(*args) in a thread; the block's result dict gets "value" or "error"."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = target(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield out
    finally:
        t.join(timeout=120)
        assert not t.is_alive()


def _waiting_for_lock(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when a second writer starts waiting for the store's writer lock."""
    waiting = threading.Event()
    real = store_mod.file_lock
    holders = {"n": 0}

    @contextlib.contextmanager
    def spy(path: Path, wait: float) -> Iterator[str | None]:
        holders["n"] += 1
        if holders["n"] >= 2:
            waiting.set()
        with real(path, wait) as holder:
            yield holder

    monkeypatch.setattr(store_mod, "file_lock", spy)
    return waiting


# -- 1. every precondition of a write is checked under the writer lock -----------------------
def test_generate_waiting_for_an_ingest_never_writes_over_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    store = Store.open(root, create=True)
    waiting = _waiting_for_lock(monkeypatch)
    locked, go = threading.Event(), threading.Event()
    frame = fixture_frame(per_day=5)

    def an_ingest() -> None:
        with store.writer() as txn:
            txn.add(frame)
            locked.set()
            assert go.wait(60)  # generate has checked the (still empty) store and waits
            txn.commit()

    with _thread(an_ingest) as ingested:
        assert locked.wait(60)
        day = dt.date(2020, 6, 25)
        with _thread(build_archive, Store(root), day, day) as generated:
            assert waiting.wait(60)
            go.set()
    assert "error" not in ingested
    assert isinstance(generated.get("error"), StoreError), generated
    assert "already holds CAD records" in str(generated["error"])
    snap = store.snapshot()
    assert snap.total_rows == frame.height


# -- 6. a hostile or damaged manifest is one line naming the file and the fix ------------------
HOSTILE_MANIFESTS = [
    "[]",
    '"a string"',
    '{"partitions": 3}',
    '{"format": 1, "partitions": 3}',
    '{"format": 1, "partitions": {"Camden|2020": {"borough": "Camden"}}}',
    '{"format": 1, "partitions": {"Camden|2020": []}}',
    '{"format": 1, "version": "7"}',
    '{"format": 1, "quarantine": 5}',
    '{"format": 1, "quarantine": [{"path": 5}]}',
    '{"format": 1, "ingests": [3]}',
    '{"format": 1, "force": 3}',
    '{"format": 1, "coverage": {"Camden": [["x", "y"]]}}',
    '{"format": 1, "coverage": {"Camden": 1}}',
    '{"format": 1, "partitions": {"k": {"borough": "Camden", "year": 2020, '
    '"files": [{"path": "../../etc/passwd", "rows": 1}]}}}',
    '{"format": 1, "partitions": {"k": {"borough": "Camden", "year": 2020, '
    '"files": [{"path": "/etc/passwd", "rows": "1"}]}}}',
    '{"format": 1, "partitions": {"k": {"borough": "Camden", "year": true, "files": []}}}',
    "{not json",
    "",
]


@pytest.mark.parametrize("text", HOSTILE_MANIFESTS)
def test_a_hostile_manifest_is_one_line_naming_the_file(tmp_path: Path, text: str) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / "manifest.json").write_text(text, encoding="utf-8")
    for args in (
        ["check", "--store", root, "--borough", "Camden", "--date", "2020-06-25"],
        ["summary", "--store", root],
        ["coverage", "--store", root],
        [
            "ingest",
            _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 25), 3)),
            "--store",
            root,
        ],
    ):
        line = _one_line(_cli(*args))
        assert "manifest.json" in line and ("backup" in line or "format" in line), line
    assert (root / "manifest.json").read_text(encoding="utf-8") == text  # never "repaired"
    assert not (root / "data").exists()


# -- 6. damaged store files and a full disk: one line, the store as it was ---------------------
@pytest.fixture
def small_store(tmp_path: Path) -> Store:
    return write_store(tmp_path / "store", fixture_frame(per_day=8))


def _state(store: Store) -> tuple[str, int]:
    """What a failed write must leave unchanged: the manifest text and the rows it lists."""
    return (store.root / "manifest.json").read_text(encoding="utf-8"), store.snapshot().total_rows


def test_ingest_over_a_damaged_partition_file_names_it(small_store: Store, tmp_path: Path) -> None:
    snap = small_store.snapshot()
    victim = small_store.root / snap.partitions["Lambeth|2020"].files[0].path
    victim.write_bytes(victim.read_bytes()[:200])  # truncated: no footer
    before = _state(small_store)
    export = _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 27), 3, borough="Lambeth"))
    line = _one_line(_cli("ingest", export, "--store", small_store.root))
    assert str(victim.relative_to(tmp_path)) in line or victim.name in line, line
    assert "damaged" in line and "backup" in line
    assert _state(small_store) == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_disk_full_at_the_atomic_writer_is_one_line(
    small_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    before = _state(small_store)

    def full(path: Path, data: bytes | str) -> None:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(store_mod, "write_atomic", full)
    export = _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 27), 3, borough="Lambeth"))
    line = _one_line(_cli("ingest", export, "--store", small_store.root))
    assert os.strerror(code) in line and "the store is as it was" in line
    monkeypatch.undo()
    assert _state(small_store) == before
    assert not list((small_store.root / ".staging").glob("*/*"))  # the staged files are gone
    # The next ingest finishes the job and removes the failed one's orphans.
    assert ingest(small_store.root, [export]).stored == 3
    listed = {f.path for p in small_store.snapshot().partitions.values() for f in p.files}
    on_disk = {
        p.relative_to(small_store.root).as_posix() for p in small_store.root.rglob("*.parquet")
    }
    from costplan.store.manifest import retired_path

    # Replaced files wait in retired/ (outside data/, so globs never count them).
    retired = {retired_path(r["path"]) or r["path"] for r in small_store.snapshot().retired}
    assert on_disk - retired == listed


def test_a_failed_parquet_write_is_one_line(
    small_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polars reports its writers' OS errors as its own exception type."""
    before = _state(small_store)

    def broken(self: pl.DataFrame, *args: Any, **kwargs: Any) -> None:
        raise pl.exceptions.ComputeError(
            "underlying IO error: No space left on device (os error 28)"
        )

    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken)
    export = _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 27), 3, borough="Lambeth"))
    line = _one_line(_cli("ingest", export, "--store", small_store.root))
    assert "No space left on device" in line and "cannot write to the store" in line
    monkeypatch.undo()
    assert _state(small_store) == before


@pytest.mark.parametrize("where", ["spill", "commit"])
def test_a_full_disk_while_writing_refused_rows_is_one_line(
    small_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Refused rows spilled to the staging area (past QUARANTINE_SPILL_ROWS, by the ingest and
    by its transaction) and streamed into the quarantine file at the commit: a full disk at
    either is one line, and the store is as it was."""
    from costplan.store import spool

    before = _state(small_store)
    monkeypatch.setattr(spool, "QUARANTINE_SPILL_ROWS", 2)

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "spill":
        monkeypatch.setattr(pl.DataFrame, "write_ipc", full)
    else:
        monkeypatch.setattr(pl.LazyFrame, "sink_parquet", full)
    rows = _csv_rows(dt.date(2020, 6, 27), 6, borough="Gotham")  # every row refused
    export = _export(tmp_path / "e.csv", rows)
    line = _one_line(_cli("ingest", export, "--store", small_store.root))
    assert "No space left on device" in line and "cannot write to the store" in line
    monkeypatch.undo()
    assert _state(small_store) == before
    assert not list((small_store.root / ".staging").glob("*/spool"))


@pytest.mark.parametrize("command", ["ingest", "summary refresh"])
def test_a_real_file_size_limit_is_one_line(
    small_store: Store, tmp_path: Path, command: str
) -> None:
    """A whole process under RLIMIT_FSIZE: every writer (Python, Polars, DuckDB) fails as on a
    full disk."""
    before = _state(small_store)
    export = _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 27), 300, borough="Lambeth"))
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "limit = int(sys.argv.pop(1))\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
        "from costplan.cli import app\n"
        "app(sys.argv[1:])\n"
    )
    args = ["ingest", str(export)] if command == "ingest" else ["summary", "refresh"]
    proc = subprocess.run(
        # Small enough that the volume table's first month file cannot be written either.
        [sys.executable, "-c", code, "2000" if command == "ingest" else "300", *args]
        + ["--store", str(small_store.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and ("cannot write" in lines[0] or "failed" in lines[0]), proc.stderr
    assert "Traceback" not in proc.stderr
    assert _state(small_store) == before
    if command != "ingest":
        from costplan.engines import volumes

        assert volumes.read_state(small_store.root).months == {}  # no table half written
        assert not list((volumes.volumes_dir(small_store.root) / "parts").glob("*"))


# -- 7 and 9. creating a store: never an empty one left behind, never a wrong refusal -----------
def test_a_failed_first_ingest_leaves_no_store_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costplan.ingest import run

    def fails(*args: Any, **kwargs: Any) -> None:
        raise StoreError("injected failure")

    monkeypatch.setattr(run._Run, "ingest_file", fails)
    root = tmp_path / "new"
    export = _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 27), 3))
    assert "injected failure" in _one_line(_cli("ingest", export, "--store", root))
    assert not (root / "manifest.json").exists()
    # The lock (and its holder's pid) stay: a waiting writer holds the lock.
    assert {p.name for p in root.iterdir()} <= {".lock", ".lock.pid"}
    assert "no costplan store" in _one_line(_cli("coverage", "--store", root))
    monkeypatch.undo()
    assert ingest(root, [export]).stored == 3  # the directory is still a fine place for one


def test_a_killed_creators_temporary_is_not_someone_elses_file(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    (root / ".manifest.json.0123abcd.tmp").write_text("{", encoding="utf-8")
    Store.open(root, create=True)
    assert Store.open(root).snapshot().version == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(StoreError, match="is not empty and holds no costplan store"):
        Store.open(tmp_path / "other", create=True)


def test_two_processes_creating_one_store_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B looks at the directory while A's manifest is being written (its temporary exists)."""
    root = tmp_path / "new"
    in_write, go = threading.Event(), threading.Event()
    real = store_mod.write_atomic

    def slow_write(path: Path, data: bytes | str) -> None:
        tmp = path.with_name(f".{path.name}.feedbeef.tmp")
        tmp.write_text("", encoding="utf-8")  # as write_atomic's own temporary
        in_write.set()
        assert go.wait(60)
        tmp.unlink()
        real(path, data)

    monkeypatch.setattr(store_mod, "write_atomic", slow_write)
    waiting = _waiting_for_lock(monkeypatch)

    def create() -> Store:
        return Store.open(root, create=True)

    with _thread(create) as first:
        assert in_write.wait(60)
        monkeypatch.setattr(store_mod, "write_atomic", real)
        with _thread(create) as second:
            # B waits for A's lock (the fix) or has already refused (the bug): either way, go.
            waiting.wait(10)
            go.set()
    assert "error" not in first and "error" not in second, (first, second)
    assert Store.open(root).snapshot().version == 0


# -- 7. one stray CR never refuses a whole export ---------------------------------------------
def _ingest_counts(root: Path, export: Path) -> tuple[int, int, int, int]:
    r = ingest(root, [export], batch_rows=7)
    assert r.rows_read == r.stored + r.duplicates + r.quarantined
    return r.rows_read, r.stored, r.duplicates, r.quarantined


def test_a_bare_cr_inside_an_lf_export(tmp_path: Path) -> None:
    rows = _csv_rows(dt.date(2020, 6, 27), 20)
    rows[4] = rows[4].replace("noise", "noi\rse")  # in free text: the row is stored
    rows[9] = rows[9].replace("/27JUN20", "/27\rJUN20")  # in the reference: quarantined
    export = _export(tmp_path / "e.csv", rows)
    assert _ingest_counts(tmp_path / "s", export) == (20, 19, 0, 1)
    q = read_quarantine(Store.open(tmp_path / "s"))
    assert q["line"].to_list() == [11] and "malformed cad_ref" in q["reason"][0]


@pytest.mark.parametrize("where", [0, 5, 19])
def test_one_lf_line_in_a_crlf_export(tmp_path: Path, where: int) -> None:
    rows = _csv_rows(dt.date(2020, 6, 27), 20)
    text = "\r\n".join([HEADER, *rows]) + "\r\n"
    lines = text.split("\r\n")
    lines[where] += "\n" + lines.pop(where + 1)  # one line ends in a bare LF
    export = tmp_path / "e.csv"
    export.write_bytes("\r\n".join(lines).encode())
    assert _ingest_counts(tmp_path / "s", export) == (20, 20, 0, 0)


def test_a_stray_cr_past_the_first_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader thread meets it long after the first batch was validated."""
    from costplan.ingest import read

    rows = _csv_rows(dt.date(2020, 6, 27), 3000)
    rows[2500] = rows[2500].replace("noise", "no\rise")
    export = _export(tmp_path / "e.csv", rows)
    monkeypatch.setattr(read, "FIRST_BATCH_ROWS", 256)
    assert _ingest_counts(tmp_path / "s", export) == (3000, 3000, 0, 0)


def test_a_parse_error_past_the_first_batch_is_one_short_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader error raised in the prefetch thread, through Arrow, names the file."""
    import pyarrow as pa

    from costplan.ingest import read

    real = read._frame
    seen = {"n": 0}

    def fails_later(rb: Any) -> pl.DataFrame:
        seen["n"] += 1
        if seen["n"] > 1:
            raise pa.ArrowInvalid("Invalid Input Error: CSV Parser\nline 2 of the message")
        return real(rb)

    monkeypatch.setattr(read, "_frame", fails_later)
    monkeypatch.setattr(read, "ARROW_BATCH_ROWS", 2048)
    monkeypatch.setattr("costplan.ingest.run.ARROW_BATCH_ROWS", 2048)
    export = _export(tmp_path / "e.csv", _csv_rows(dt.date(2020, 6, 27), 5000))
    line = _one_line(_cli("ingest", export, "--store", tmp_path / "s"))
    assert "e.csv: cannot parse as CSV: Invalid Input Error: CSV Parser" in line
    assert "line 2" not in line
    assert not (tmp_path / "s" / "manifest.json").exists()


# -- 6 and 9. the volume table: a damaged month is rebuilt, a killed refresh's staging removed --
@pytest.fixture
def refreshed(tmp_path: Path) -> Store:
    from test_volumes import build_store

    from costplan.engines import volumes

    store = build_store(tmp_path / "store")
    volumes.refresh(store)
    return store


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_plain_refresh_rebuilds_a_damaged_month(refreshed: Store, damage: str) -> None:
    from test_volumes import expected_table, table_files, table_frame

    from costplan.engines import volumes

    state = volumes.read_state(refreshed.root)
    month = sorted(state.months)[0]
    victim = volumes.volumes_dir(refreshed.root) / state.months[month].path
    body = victim.read_bytes()
    victim.write_bytes(
        {"truncate": body[: len(body) // 2], "garbage": b"x" * 64, "empty": b""}[damage]
    )
    res = _cli("summary", "refresh", "--store", refreshed.root)  # no --full
    assert res.exit_code == 0, res.output
    assert table_frame(refreshed.root).equals(expected_table(refreshed.snapshot()))
    assert victim.name not in {Path(f).name for f in table_files(refreshed.root)}
    res = _cli("summary", "--store", refreshed.root, "--format", "csv")
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    # A second refresh finds nothing to do: the repair is complete.
    assert volumes.refresh(refreshed).recounted == []


def test_a_killed_refreshs_staging_is_removed_by_the_next(refreshed: Store, tmp_path: Path) -> None:
    """SIGKILL while a rebuild's partitioned write sits in its staging directory."""
    from test_volumes import expected_table, table_frame

    from costplan.engines import volumes

    script = (
        "import os, signal, sys\n"
        "from costplan.engines import volumes\n"
        "from costplan.engines.volumes import recount\n"
        "from costplan.store import Store\n"
        "def die(self, directory, month, kind):\n"
        "    assert directory.parent.name.startswith('.staging-')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "recount.Refresher._adopt = die\n"
        "volumes.refresh(Store.open(sys.argv[1]), full=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(refreshed.root)], timeout=120)
    assert proc.returncode == -9
    vdir = volumes.volumes_dir(refreshed.root)
    assert list(vdir.glob(".staging-*")), "the kill left no staging directory to clean"
    # Hostile neighbours: a link named like staging that points outside, and a look-alike.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine", encoding="utf-8")
    link = vdir / f".staging-{'a' * 32}"
    link.symlink_to(outside, target_is_directory=True)
    (vdir / ".staging-notours").mkdir()
    volumes.refresh(refreshed)
    assert not link.exists() and not link.is_symlink()
    assert (outside / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in vdir.glob(".staging-*")) == [".staging-notours"]
    assert table_frame(refreshed.root).equals(expected_table(refreshed.snapshot()))


# -- 5. tags and codes outside the documented character set are quarantined, with every reason --
HOSTILE_LABELS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3",
                  "<img src=x onerror=alert(1)>", "a|b", "x\ty", "<b>", "A" * 65]  # fmt: skip


@pytest.mark.parametrize("label", HOSTILE_LABELS)
@pytest.mark.parametrize("column", ["tags", "opening_code", "closing_code"])
def test_a_hostile_tag_or_code_is_quarantined_with_its_reason(
    tmp_path: Path, label: str, column: str
) -> None:
    frame = pl.DataFrame(
        {
            "cad_ref": ["1/01JUN21", "2/01JUN21"],
            "created_at": [dt.datetime(2021, 6, 1, 10), dt.datetime(2021, 6, 1, 11)],
            "borough": ["Camden", "Camden"],
            "call_source": ["999", "999"],
            "grading": ["I", "Q"],  # the second row is refused twice over
            "opening_code": ["NOISE", "NOISE"],
            "closing_code": ["NOISE", "NOISE"],
            "tags": [["UME"], ["UME"]],
        }
    )
    value: Any = [["DV", label]] * 2 if column == "tags" else [label] * 2
    frame = frame.with_columns(pl.Series(column, value))
    export = tmp_path / "e.parquet"
    frame.write_parquet(export)
    report = ingest(tmp_path / "s", [export])
    assert (report.stored, report.quarantined) == (0, 2)
    reasons = read_quarantine(Store.open(tmp_path / "s"))["reason"].to_list()
    what = "tag" if column == "tags" else column
    assert all(f"invalid {what}: " in r and "allowed: letters" in r for r in reasons), reasons
    assert "invalid grading" in reasons[1]  # the quarantine keeps every reason


def test_labels_inside_the_character_set_are_stored(tmp_path: Path) -> None:
    rows = [
        f"{i}/01JUN21,2021-06-01 10:0{i}:00,Camden,999,I,{code},,{tags}"
        for i, (code, tags) in enumerate(
            [("A&E (NON-CRIME)", "DV;MH"), ("ASB/NOISE", "straße"), ("NO.1", "CODE_7:B+C#2")],
            start=1,
        )
    ]
    export = tmp_path / "e.csv"
    header = "cad_ref,created_at,borough,call_source,grading,opening_code,closing_code,tags"
    export.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    report = ingest(tmp_path / "s", [export])
    assert (report.stored, report.quarantined) == (3, 0)


# -- 2. plan --disclose writes from the plan's snapshot, whatever a concurrent ingest commits --
@pytest.mark.parametrize("moment", ["after the plan", "in the disclosure query"])
def test_disclosure_during_a_concurrent_ingest_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """A real ingest in another thread commits right after the decision, or while the
    disclosure query runs (its session open on the plan's snapshot, before it reads)."""
    from costplan import planner
    from costplan.engines import duckdb_engine
    from costplan.store import transaction

    store = write_store(tmp_path / "store", fixture_frame())
    late = tmp_path / "late.csv"
    late.write_text(
        "cad_ref,created_at,borough,call_source,grading,tags\n"
        + "".join(
            f"{n}/25JUN20,2020-06-25 23:{n - 900:02d}:00,Lambeth,999,I,UME\n"
            for n in range(900, 930)
        ),
        encoding="utf-8",
    )
    may_commit, committed = threading.Event(), threading.Event()
    real_commit = transaction.Transaction.commit

    def commit_when_told(self: transaction.Transaction) -> Any:
        assert may_commit.wait(60)
        try:
            return real_commit(self)
        finally:
            committed.set()

    def land() -> None:
        may_commit.set()
        assert committed.wait(60)

    planned = threading.Event()
    real_plan = planner.build_plan
    real_init = duckdb_engine.Engine.__init__

    def plan_then_land(*args: Any, **kwargs: Any) -> Any:
        result = real_plan(*args, **kwargs)
        planned.set()
        if moment == "after the plan":
            land()
        return result

    def session_then_land(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        if planned.is_set() and not may_commit.is_set():
            land()  # the disclosure's session is open on the plan's snapshot; now the commit

    monkeypatch.setattr(transaction.Transaction, "commit", commit_when_told)
    monkeypatch.setattr(planner, "build_plan", plan_then_land)
    if moment != "after the plan":
        monkeypatch.setattr(duckdb_engine.Engine, "__init__", session_then_land)
    out = tmp_path / "release.csv"
    with _thread(ingest, store.root, [late]) as ingested:
        res = _cli(
            "plan", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME",
            "--minutes-per-record", "1", "--store", store.root, "--format", "json",
            "--disclose", out,
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert ingested.get("value") is not None and ingested["value"].stored == 30, ingested
    assert committed.is_set() and store.snapshot().version == 2
    decided = json.loads(res.stdout)
    assert decided["snapshot"]["manifest_version"] == 1
    released = re.findall(r"\b\d+/25JUN20\b", out.read_text(encoding="utf-8"))
    frame = fixture_frame()
    held_at_v1 = set(
        frame.filter((pl.col("borough") == "Lambeth") & (pl.col("day") == dt.date(2020, 6, 25)))[
            "cad_ref"
        ]
    )
    # Every reference released is one the decision's snapshot held: none of the late ones.
    assert released and set(released) <= held_at_v1
    assert not set(released) & {f"{n}/25JUN20" for n in range(900, 930)}


# -- 10. an error line stays one line whatever the value it quotes -----------------------------
@pytest.mark.parametrize("junk", ["\r", "\n", "\x85", "\u2028", "\u2029", "\x1b[2J", "\x00"])
def test_an_error_quoting_control_characters_is_one_line(tmp_path: Path, junk: str) -> None:
    store = write_store(tmp_path / "store", fixture_frame(per_day=3))
    # A file name is quoted as it is (values are quoted with repr): only the CLI folds it.
    junk = junk if junk != "\x00" else "\x01"  # a path cannot hold NUL
    res = _cli("plan", tmp_path / f"re{junk}quest.toml", "--store", store.root)
    line = _one_line(res)
    assert "quest.toml" in line
    assert not any(c in line for c in "\r\n\x85\u2028\u2029\x1b\x00"), repr(line)


# -- 6. huge finite numbers are one line at the door, never decimal.InvalidOperation -----------
@pytest.mark.parametrize(
    ("where", "value"),
    [("request", "1e30"), ("item", "1e30"), ("request", "1e400"), ("item", "-1e400"),
     ("request", "nan"), ("item", "1e-30"), ("request", "999999999999999999999999999999")],
)  # fmt: skip
def test_a_huge_minutes_per_record_in_a_request_is_one_line(
    tmp_path: Path, where: str, value: str
) -> None:
    store = write_store(tmp_path / "store", fixture_frame(per_day=3))
    top = f"minutes_per_record = {value}\n" if where == "request" else ""
    item = f"minutes_per_record = {value}\n" if where == "item" else ""
    request = tmp_path / "r.toml"
    request.write_text(
        f'{top}[[items]]\nboroughs = ["Lambeth"]\ndate = 2020-06-25\n{item}', encoding="utf-8"
    )
    res = _cli("plan", request, "--store", store.root)
    if value == "1e-30":  # tiny but above zero: a plan, not an error
        assert res.exit_code == 0 and res.exception is None, res.output
    else:
        assert "minutes_per_record" in _one_line(res)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--borough", "Lambeth", "--date", "2020-06-25", "--minutes-per-record", "1e26"],
        ["estimate", "--records", "1e400"],
        ["estimate", "--records", "1e15", "--minutes-per-record", "1e15"],
        ["estimate", "--records", "1e15", "--minutes-per-record", "480", "--rate", "1e15"],
        ["estimate", "--records", "1e15", "--minutes-per-record", "480", "--limit-gbp", "1e-30"],
    ],
)
def test_huge_numbers_on_the_command_line_never_give_a_traceback(
    tmp_path: Path, args: list[str]
) -> None:
    store = write_store(tmp_path / "store", fixture_frame(per_day=3))
    res = _cli(*args, *(["--store", store.root] if args[0] == "check" else []))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    if res.exit_code != 0:
        _one_line(res)


# -- crash points: SIGKILL at each step of a commit ----------------------------------------------
CRASH_SCRIPT = """
import os, signal, sys
from costplan.store import Store, transaction
from costplan.ingest import ingest

point = sys.argv[3]
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if point == "merging":
    transaction.Transaction._merge_partition = die
elif point == "moving":
    real_replace = os.replace
    calls = {"n": 0}
    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:  # one staged file moved, the others not
            die()
        real_replace(src, dst)
    transaction.os.replace = replace
elif point == "swapping":
    Store._write_manifest = die  # every file moved, the manifest not yet replaced
elif point == "collecting":
    real_write = Store._write_manifest
    def write_then_die(self, snap):
        real_write(self, snap)
        die()  # committed; the staging area and temporaries not yet removed
    Store._write_manifest = write_then_die
ingest(sys.argv[1], [sys.argv[2]])
"""


@pytest.mark.parametrize("point", ["merging", "moving", "swapping", "collecting"])
def test_a_kill_at_each_commit_step_leaves_before_or_after(tmp_path: Path, point: str) -> None:
    first = _export(tmp_path / "a.csv", _csv_rows(dt.date(2020, 6, 25), 40, borough="Lambeth"))
    rows = _csv_rows(dt.date(2020, 6, 26), 30, borough="Lambeth")
    rows += _csv_rows(dt.date(2020, 6, 27), 30, borough="Camden")
    second = _export(tmp_path / "b.csv", rows)
    root = tmp_path / "store"
    ingest(root, [first])
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(root), str(second), point], timeout=120
    )
    assert proc.returncode == -9
    snap = Store.open(root).snapshot()
    assert snap.total_rows == (100 if point == "collecting" else 40)
    for part in snap.partitions.values():
        for f in part.files:
            assert pl.read_parquet(root / f.path).height == f.rows
    again = ingest(root, [second])  # finishes the job (or finds it done) and collects orphans
    assert again.stored + again.duplicates == 60
    snap = Store.open(root).snapshot()
    assert snap.total_rows == 100
    listed = {f.path for p in snap.partitions.values() for f in p.files}
    retired = {r["path"] for r in snap.retired}
    on_disk = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*.parquet")}
    assert on_disk - retired == listed
    assert not list(root.glob(".manifest.json.*.tmp"))


# -- found by bench/fuzz.py --------------------------------------------------------------------
def test_an_empty_fields_list_is_one_line_not_a_letter_traceback(tmp_path: Path) -> None:
    store = write_store(tmp_path / "store", fixture_frame(per_day=3))
    request = tmp_path / "r.toml"
    request.write_text(
        '[[items]]\nboroughs = ["Lambeth"]\ndate = 2020-06-25\nfields = []\n', encoding="utf-8"
    )
    for extra in ([], ["--letter"]):
        assert "fields" in _one_line(_cli("plan", request, "--store", store.root, *extra))
