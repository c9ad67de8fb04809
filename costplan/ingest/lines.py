"""Physical line numbers of CSV records, for the quarantine.

DuckDB numbers lines by records (a quoted line break does not count), so the lines a user can
find in the file are recomputed from it, only when a file has something to quarantine: by a
vectorised scan of newlines and quotes, else (stray quotes) by the csv module.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from costplan.errors import InputError

# Bytes of the file scanned at a time: the scan's memory is a few times this, whatever the
# file's size (a 10 M-row export with ten refused rows peaked at 3.6 GB when the whole file's
# newlines and quotes were held at once; docs/benchmarks.md §16).
STEP = 1 << 24
# Records of the csv module's fallback gathered at a time.
CSV_BLOCK = 1 << 16

Blocks = Iterator[tuple[np.ndarray, np.ndarray]]


class _StrayQuote(Exception):
    """A quote character that neither opens nor closes a quoted field."""


def _blocks_fast(path: Path, delimiter: str, quote: str, step: int = STEP) -> Blocks:
    """(DuckDB line, physical line) of the non-blank data records, a block of the file at a
    time, by vectorised scan.

    A newline ends a record unless an odd number of quote characters precede it. That holds
    when every quote opens or closes a quoted field; a stray quote inside an unquoted field
    (which DuckDB reads literally) raises _StrayQuote, and the caller falls back to the csv
    module. The file is memory-mapped, so a quote's neighbours are read wherever they are.
    """
    empty = path.stat().st_size == 0  # a zero-length file cannot be mapped
    mm = np.zeros(0, np.uint8) if empty else np.memmap(path, dtype=np.uint8, mode="r")
    size = mm.shape[0]
    qb, db = ord(quote), ord(delimiter)
    bom = 3 if size >= 3 and bytes(mm[:3]) == codecs.BOM_UTF8 else 0
    quotes = newlines = records = 0  # seen before the block
    start, start_line = 0, 1  # the open record's first byte and physical line
    for lo in range(0, size, step):
        a = mm[lo : lo + step]
        nl = np.flatnonzero(a == 10) + lo
        q = np.flatnonzero(a == qb) + lo
        if q.size:
            odd = (quotes + np.arange(q.size)) % 2 == 1
            opening, closing = q[~odd], q[odd]
            prev = mm[np.maximum(opening - 1, 0)]
            ok_open = (opening == bom) | np.isin(prev, [db, 10, qb])
            nxt_pos = closing + 1
            nxt = mm[np.minimum(nxt_pos, size - 1)]
            ok_close = (nxt_pos >= size) | np.isin(nxt, [db, 10, 13, qb])
            if not (ok_open.all() and ok_close.all()):
                raise _StrayQuote
            term = nl[(quotes + np.searchsorted(q, nl)) % 2 == 0]
        else:
            term = nl if quotes % 2 == 0 else nl[:0]
        if term.size:
            # Records ending in this block: the open one, then one after each terminator.
            after = newlines + np.searchsorted(nl, term) + 2  # the line after each terminator
            starts = np.concatenate(([start], term[:-1] + 1))
            lines = np.concatenate(([start_line], after[:-1]))
            yield _data(mm, records, starts, term, lines)
            records += term.size
            start, start_line = int(term[-1]) + 1, int(after[-1])
        quotes += q.size
        newlines += nl.size
    if start < size:  # a last record with no line break after it
        yield _data(mm, records, np.array([start]), np.array([size]), np.array([start_line]))
    del mm


def _data(
    mm: np.ndarray, first: int, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (DuckDB line, physical line) of the data records among consecutive records
    (record `first` onwards): not the header (record 0), not a blank line (empty, or a lone
    carriage return)."""
    size = mm.shape[0]
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (mm[np.minimum(starts, size - 1)] == 13))
    rec = first + np.arange(starts.size)
    data = (rec >= 1) & ~blank
    return (rec[data] + 1).astype(np.int64), lines[data].astype(np.int64)


def _blocks_csv(path: Path, delimiter: str, quote: str, block: int = CSV_BLOCK) -> Blocks:
    """The slow, exact twin of _blocks_fast, using the csv module's line counting."""
    duck: list[int] = []
    phys: list[int] = []
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar=quote)
        prev_end = 0
        rec = 0
        try:
            for row in reader:
                start = prev_end + 1
                prev_end = reader.line_num
                rec += 1
                if rec > 1 and row:
                    duck.append(rec)
                    phys.append(start)
                    if len(duck) == block:
                        yield np.asarray(duck, dtype=np.int64), np.asarray(phys, dtype=np.int64)
                        duck, phys = [], []
        except csv.Error:
            # An unterminated quote swallows the rest of the file: one record, as DuckDB sees it.
            duck.append(rec + 1)
            phys.append(prev_end + 1)
    yield np.asarray(duck, dtype=np.int64), np.asarray(phys, dtype=np.int64)


def _joined(blocks: Blocks) -> tuple[np.ndarray, np.ndarray]:
    parts = list(blocks)
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate([d for d, _ in parts]), np.concatenate([p for _, p in parts])


def _record_lines_fast(
    path: Path, delimiter: str, quote: str, step: int = STEP
) -> tuple[np.ndarray, np.ndarray] | None:
    """Every data record's (DuckDB line, physical line) by the vectorised scan; None for a
    file with a stray quote. (The whole file's: for tests and small files.)"""
    try:
        return _joined(_blocks_fast(path, delimiter, quote, step))
    except _StrayQuote:
        return None


def _record_lines_csv(path: Path, delimiter: str, quote: str) -> tuple[np.ndarray, np.ndarray]:
    """Every data record's (DuckDB line, physical line) by the csv module."""
    return _joined(_blocks_csv(path, delimiter, quote))


def physical_lines(
    path: Path,
    delimiter: str,
    quote: str,
    n_accepted: int,
    reject_lines: np.ndarray,
    wanted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Physical line numbers of some of DuckDB's accepted rows (`wanted`: their positions
    among the accepted rows, sorted, unique) and of its reject lines (sorted, unique; the
    lines of each, in order), in one pass over the file that holds only what it returns.

    Raises:
        InputError: the file's records cannot be reconciled with what DuckDB read.
    """
    for scan in (_blocks_fast, _blocks_csv):
        found = np.zeros(wanted.size, dtype=np.int64)
        rejected = np.zeros(reject_lines.size, dtype=np.int64)
        accepted = hits = 0
        try:
            for duck, phys in scan(path, delimiter, quote):
                hit = np.isin(duck, reject_lines)
                rejected[np.searchsorted(reject_lines, duck[hit])] = phys[hit]
                hits += int(hit.sum())
                kept = phys[~hit]
                lo, hi = np.searchsorted(wanted, [accepted, accepted + kept.size])
                found[lo:hi] = kept[wanted[lo:hi] - accepted]
                accepted += kept.size
        except _StrayQuote:
            continue
        if hits == reject_lines.size and accepted == n_accepted:
            return found, rejected
    raise InputError(
        f"{path.name}: cannot match the CSV reader's {n_accepted} rows and "
        f"{reject_lines.size} malformed lines to lines of the file; nothing was stored",
        "check the file for stray quote characters or unusual line endings",
    )
