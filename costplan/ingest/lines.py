"""Physical line numbers of CSV records, for the quarantine.

DuckDB numbers lines by records (a quoted line break does not count), so the lines a user can
find in the file are recomputed from it, only when a file has something to quarantine: by a
vectorised scan of newlines and quotes, else (stray quotes) by the csv module.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import numpy as np

from costplan.errors import InputError


def _record_lines_fast(
    path: Path, delimiter: str, quote: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """(DuckDB line, physical line) of every non-blank data record, by vectorised scan.

    A newline ends a record unless an odd number of quote characters precede it. That holds
    when every quote opens or closes a quoted field; a stray quote inside an unquoted field
    (which DuckDB reads literally) makes this return None and the caller falls back to the csv
    module.
    """
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    size = mm.shape[0]
    step = 1 << 26
    nl_parts, q_parts = [], []
    qb, db = ord(quote), ord(delimiter)
    for lo in range(0, size, step):
        a = mm[lo : lo + step]
        nl_parts.append(np.flatnonzero(a == 10) + lo)
        q_parts.append(np.flatnonzero(a == qb) + lo)
    nl = np.concatenate(nl_parts) if nl_parts else np.zeros(0, np.int64)
    q = np.concatenate(q_parts) if q_parts else np.zeros(0, np.int64)
    bom = 3 if size >= 3 and bytes(mm[:3]) == codecs.BOM_UTF8 else 0
    if q.size:
        opening, closing = q[0::2], q[1::2]
        prev = mm[np.maximum(opening - 1, 0)]
        ok_open = (opening == bom) | np.isin(prev, [db, 10, qb])
        nxt_pos = closing + 1
        nxt = mm[np.minimum(nxt_pos, size - 1)]
        ok_close = (nxt_pos >= size) | np.isin(nxt, [db, 10, 13, qb])
        if not (ok_open.all() and ok_close.all()):
            return None
        term = nl[np.searchsorted(q, nl) % 2 == 0]
    else:
        term = nl
    starts = np.concatenate(([0], term + 1))
    ends = np.concatenate((term, [size]))
    if starts[-1] >= size:
        starts, ends = starts[:-1], ends[:-1]
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (mm[np.minimum(starts, size - 1)] == 13))
    rec = np.arange(starts.size)
    data = (rec >= 1) & ~blank
    duck_line = rec[data] + 1
    phys_line = np.searchsorted(nl, starts[data]) + 1
    del mm
    return duck_line.astype(np.int64), phys_line.astype(np.int64)


def _record_lines_csv(path: Path, delimiter: str, quote: str) -> tuple[np.ndarray, np.ndarray]:
    """The slow, exact twin of _record_lines_fast, using the csv module's line counting."""
    duck, phys = [], []
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
        except csv.Error:
            # An unterminated quote swallows the rest of the file: one record, as DuckDB sees it.
            duck.append(rec + 1)
            phys.append(prev_end + 1)
    return np.asarray(duck, dtype=np.int64), np.asarray(phys, dtype=np.int64)


def physical_lines(
    path: Path, delimiter: str, quote: str, n_accepted: int, reject_lines: np.ndarray
) -> tuple[np.ndarray, dict[int, int]]:
    """Physical line numbers for DuckDB's accepted rows (in order) and its reject lines.

    Raises:
        InputError: the file's records cannot be reconciled with what DuckDB read.
    """
    for finder in (_record_lines_fast, _record_lines_csv):
        found = finder(path, delimiter, quote)
        if found is None:
            continue
        duck, phys = found
        rejected = np.isin(duck, reject_lines)
        if int(rejected.sum()) == len(reject_lines) and int((~rejected).sum()) == n_accepted:
            return phys[~rejected], dict(
                zip(duck[rejected].tolist(), phys[rejected].tolist(), strict=True)
            )
    raise InputError(
        f"{path.name}: cannot match the CSV reader's {n_accepted} rows and "
        f"{len(reject_lines)} malformed lines to lines of the file; nothing was stored",
        "check the file for stray quote characters or unusual line endings",
    )
