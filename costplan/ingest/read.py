"""Reading exports: Windows-1252 transcoding, DuckDB's CSV queries, batches and prefetch.

DuckDB parses (with store_rejects, so malformed lines come back with their text) and a
background thread keeps the next Arrow batch coming while the current one is validated.
"""

from __future__ import annotations

import codecs
import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

FIRST_BATCH_ROWS = 262_144
# Rows per Arrow batch fetched from DuckDB (its natural multiple of 2048-row vectors).
ARROW_BATCH_ROWS = 131_072
READ_CHUNK_BYTES = 1 << 23
# Windows-1252 as Excel writes it: the five bytes cp1252 leaves undefined map to the C1 controls
# of the same value (as Windows itself decodes them), so transcoding never fails.
_CP1252_TABLE = "".join(
    bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b)
    for b in range(256)
)


def _readable_copy(src: Path, dst: Path, *, cp1252: bool, newlines: bool) -> None:
    """A copy of a CSV that DuckDB's strict reader takes, streamed: Windows-1252 made UTF-8
    (`cp1252`), and mixed line endings made LF (`newlines`).

    Line endings: CRLF becomes LF, and a carriage return that ends no line (a stray CR typed
    into a text field, or an LF file with one CR in it) becomes a space, so one stray CR never
    refuses an export and no row is split in two. LF count, and so the physical line numbers
    the quarantine gives, stay those of the original file. Neither byte occurs inside a
    multi-byte UTF-8 character, so the bytes are replaced as they are.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        first = True
        carry = b""
        while chunk := fin.read(READ_CHUNK_BYTES):
            if first and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[3:]
            first = False
            if cp1252:
                chunk = codecs.charmap_decode(chunk, "strict", _CP1252_TABLE)[0].encode("utf-8")
            if newlines:
                chunk = carry + chunk
                carry = b"\r" if chunk.endswith(b"\r") else b""  # may be half of a CRLF
                if carry:
                    chunk = chunk[:-1]
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b" ")
            fout.write(chunk)
        if carry:
            fout.write(b"\n")  # a CR as the file's very last byte ends its last line


def _connect() -> duckdb.DuckDBPyConnection:
    # DuckDB's default of one thread per core measured best: parsing the first batch is the
    # only work at the start, and later Polars and DuckDB share the cores (see _prefetch).
    return duckdb.connect()


class _Failed:
    """An exception raised in the prefetch thread, carried to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(items: Iterator[Any], depth: int) -> Generator[Any, None, None]:
    """Iterate `items` in a background thread, up to `depth` ahead of the consumer.

    DuckDB parses and Arrow converts with the GIL released, so the next batch is read while
    the current one is validated. The thread is always stopped and joined before returning.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            put(_Failed(exc))

    thread = threading.Thread(target=produce, name="costplan-ingest-read", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is end:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


def _batches(
    reader: Any, want: int, on_rows: Callable[[int], None]
) -> Generator[tuple[pl.DataFrame, bool], None, None]:
    """Regroup Arrow record batches into Polars frames of about `want` rows.

    Yields (frame, is_last): one Arrow batch is read ahead so the last frame is known as such.
    """
    pending: list[pl.DataFrame] = []
    n = 0
    frames = _prefetch(
        (_frame(rb) for rb in reader if rb.num_rows), depth=max(2, want // ARROW_BATCH_ROWS)
    )
    # A small first batch gets validation going while the reader thread parses the rest.
    target = min(want, FIRST_BATCH_ROWS)
    with contextlib.closing(frames):  # stops the reader thread even if the consumer fails
        df = next(frames, None)
        while df is not None:
            pending.append(df)
            n += df.height
            on_rows(df.height)
            df = next(frames, None)
            if n >= target or df is None:
                yield pl.concat(pending, rechunk=False), df is None
                pending, n, target = [], 0, want


def _frame(rb: Any) -> pl.DataFrame:
    df = pl.from_arrow(rb)
    assert isinstance(df, pl.DataFrame)
    return df


_CSV_QUERY = (
    "SELECT {cols} FROM read_csv($path, header = true, auto_detect = false, columns = $columns, "
    "delim = $delim, quote = $quote, escape = $quote, strict_mode = true, store_rejects = true, "
    "all_varchar = true)"
)
_REJECT_LINES_QUERY = "SELECT DISTINCT line FROM reject_errors ORDER BY line"
_REJECTS_QUERY = (
    "SELECT line, min(error_type) AS error_type, min(csv_line) AS csv_line, "
    "min(error_message) AS error_message FROM reject_errors GROUP BY line ORDER BY line"
)
