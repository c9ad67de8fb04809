"""Fault injection: races, crash points, a full disk, damaged files and hostile manifests.

Every promise of the store is tested where it could break (issue 15): a write's preconditions
are checked under the writer lock, a failed write leaves the store as it was (and no empty
store behind), every fault is one line naming the file and the fix, and damage is repaired by
the next writer or refresh. Races are made certain with events and hooks, never with sleeps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_frame
from typer.testing import CliRunner

import costplan.store as store_mod
from costplan.cli import app
from costplan.errors import StoreError
from costplan.store import Store
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
