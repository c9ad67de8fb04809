"""The quarantine of one ingest: refused rows with their physical line and reason, staged once.

Every refused row is counted in the report, but a (source sha256, line) pair already in the
store's quarantine, or staged earlier in this run, is not appended again, so re-ingesting an
export never grows the quarantine.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from costplan.ingest.lines import physical_lines
from costplan.ingest.mapping import Mapping
from costplan.ingest.preflight import ExportPlan
from costplan.ingest.read import _REJECT_LINES_QUERY, _REJECTS_QUERY
from costplan.ingest.report import FileReport
from costplan.store import QUARANTINE_COLUMNS, Transaction, reading
from costplan.store.spool import Spool

_QROW: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
    "kinds": pl.List(pl.String()),  # each reason's kind, counted in the report; not stored
}
_KNOWN = {"line": pl.Int64, "_qfile": pl.Categorical}
# DuckDB's rejected lines made into quarantine rows this many at a time: each costs a few
# Python objects while it is made (200 k at a time raised the peak by 550 MB).
REJECTS_BATCH = 50_000


def spool(txn: Transaction, name: str) -> Spool:
    """A spool of one export's rows in the transaction's staging area."""
    return Spool(txn.store.root, txn.staging / "spool" / name, name=name)


class Quarantine:
    """What one run quarantines, and which (sha256, line) pairs it has staged so far."""

    def __init__(self, txn: Transaction, mapping: Mapping) -> None:
        self.txn = txn
        self.mapping = mapping
        self.staged_lines: dict[str, list[np.ndarray]] = {}  # by source sha256: lines staged
        self.existing_qfile: str | None = None  # a quarantine file already holding some of them

    def known(self, sha: str) -> pl.DataFrame:
        """(line, file) already in the store's quarantine for one export (by its sha256): 12
        bytes a line, the file's name held once (an export of 4 M refused rows ingested again
        holds them all)."""
        files = [str(self.txn.store.root / q["path"]) for q in self.txn.base.quarantine]
        if not files:
            return pl.DataFrame(schema=_KNOWN)
        with reading(self.txn.store.root, files):
            return (
                pl.scan_parquet(files, include_file_paths="_qfile")
                .filter(pl.col("source_sha256") == sha)
                .select("line", pl.col("_qfile").cast(pl.Categorical))
                .unique("line")
                .collect()
            )

    def finish_csv(
        self,
        plan: ExportPlan,
        src: Path,
        accepted: int,
        con: duckdb.DuckDBPyConnection,
        bad: Spool,
    ) -> tuple[int, Iterator[pl.DataFrame]]:
        """The lines DuckDB's CSV reader rejected (read from `con` now, written as quarantine
        rows to the staging area past a few hundred thousand), and the quarantine rows of the
        CSV a chunk at a time in order of line: those lines and the refused rows, with
        physical lines."""
        reject_lines = con.sql(_REJECT_LINES_QUERY).fetchnumpy()["line"].astype(np.int64)
        if not reject_lines.size and not bad:
            return 0, iter(())
        # Lines are looked up for the refused rows only, not for every accepted one.
        wanted = np.unique(bad.values("_ord"))
        lines, reject_phys = physical_lines(
            src, self.mapping.delimiter, self.mapping.quote, accepted, reject_lines, wanted
        )

        def to_line(o: pl.Series) -> pl.Series:
            return pl.Series("line", lines[np.searchsorted(wanted, o.to_numpy())], pl.Int64)

        rejected = spool(self.txn, f"{bad.name}.rejects")
        for batch in con.sql(_REJECTS_QUERY).to_arrow_reader(REJECTS_BATCH):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)  # a record batch is always a frame
            line = reject_phys[np.searchsorted(reject_lines, frame["line"].to_numpy())]
            rejected.append(self._rejected(frame, line, len(plan.header)))
        return reject_lines.size, _merged(self.frames(bad, to_line), rejected.chunks("line"))

    def _rejected(self, frame: pl.DataFrame, line: np.ndarray, n_cols: int) -> pl.DataFrame:
        """Quarantine rows of lines DuckDB rejected (line, error_type, csv_line,
        error_message), at their physical lines."""
        texts = [(t or "").lstrip("\r\n") for t in frame["csv_line"].to_list()]
        reasons = [
            _reject_reason(kind, message, text, n_cols, self.mapping)
            for kind, message, text in zip(
                frame["error_type"].to_list(), frame["error_message"].to_list(), texts, strict=True
            )
        ]
        # A line whose fields cannot be matched to columns keeps the line itself as its value.
        raw = pl.DataFrame({"_line": texts}, schema={"_line": pl.String})
        return pl.DataFrame(
            {
                "line": line,
                "reason": reasons,
                "raw": raw.select(pl.struct("_line").struct.json_encode()).to_series(),
                "kinds": [[r.split(": ")[0].split(" (")[0]] for r in reasons],
            },
            schema=_QROW,
        )

    def frames(
        self, bad: Spool, to_line: Callable[[pl.Series], pl.Series]
    ) -> Iterator[pl.DataFrame]:
        """Refused rows (_ord, _reason, raw) as quarantine rows, `_ord` mapped to a line, a
        chunk at a time."""
        for frame in bad.chunks("_ord"):
            yield pl.DataFrame(
                {
                    "line": to_line(frame["_ord"]).cast(pl.Int64),
                    "reason": frame["_reason"],
                    "raw": frame["raw"],
                    "kinds": frame["_kinds"],
                },
                schema=_QROW,
            )

    def stage(self, plan: ExportPlan, qframes: Iterator[pl.DataFrame], report: FileReport) -> None:
        """Count every quarantined row; append only (sha256, line) pairs not yet recorded."""
        known: pl.DataFrame | None = None
        # Lines of this export staged by an earlier file of the run (the same export twice).
        staged = self.staged_lines.setdefault(plan.sha256, [])
        earlier = np.concatenate(staged) if staged else None
        for qframe in qframes:
            report.quarantined += qframe.height
            if qframe.is_empty():
                continue
            # Every reason of every row: a row failing three checks counts in three kinds.
            report.reasons.update(qframe["kinds"].explode().drop_nulls().to_list())
            keyed = qframe.with_columns(pl.lit(plan.sha256).alias("source_sha256"))
            if known is None:
                known = self.known(plan.sha256)
            if not known.is_empty():
                hits = keyed.join(known, on="line", how="inner")
                if not hits.is_empty():
                    self.existing_qfile = max(hits["_qfile"].cast(pl.String).unique())
                keyed = keyed.join(known, on="line", how="anti")
            if earlier is not None:
                keyed = keyed.filter(~np.isin(keyed["line"].to_numpy(), earlier))
            if keyed.is_empty():
                continue
            staged.append(keyed["line"].to_numpy())
            report.quarantine_new += self.txn.add_quarantine(
                keyed.with_columns(pl.lit(plan.source).alias("source_file")).select(
                    [c for c in QUARANTINE_COLUMNS if c != "txn"]
                )
            )


def _merged(a: Iterator[pl.DataFrame], b: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Two streams of quarantine rows, each a chunk at a time in order of line, as one stream
    in order of line (holding a chunk of each at the most)."""
    streams = [a, b]
    held = [pl.DataFrame(schema=_QROW), pl.DataFrame(schema=_QROW)]
    ended = [False, False]
    while True:
        for i in (0, 1):
            while held[i].is_empty() and not ended[i]:
                nxt = next(streams[i], None)
                ended[i] = nxt is None
                held[i] = held[i] if nxt is None else nxt
        if held[0].is_empty() or held[1].is_empty():  # one stream is over: the other as it is
            rest = held[0] if held[1].is_empty() else held[1]
            if not rest.is_empty():
                yield rest
            yield from streams[0 if held[1].is_empty() else 1]
            return
        # Every row up to the smaller of the two last lines: all of one chunk at least.
        top = min(held[0]["line"].max(), held[1]["line"].max())  # type: ignore[type-var]
        yield pl.concat([h.filter(pl.col("line") <= top) for h in held]).sort("line")
        held = [h.filter(pl.col("line") > top) for h in held]


_FOUND_RE = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _reject_reason(
    kind: str | None, message: str | None, text: str, n_cols: int, mapping: Mapping
) -> str:
    """The quarantine reason for one line DuckDB refused."""
    kind = str(kind or "")
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        try:
            found = len(
                next(
                    csv.reader(
                        io.StringIO(text, newline=""),
                        delimiter=mapping.delimiter,
                        quotechar=mapping.quote,
                    ),
                    [],
                )
            )
        except csv.Error:
            m = _FOUND_RE.search(str(message or ""))
            found = int(m.group(2)) if m else -1
        return f"wrong column count (expected {n_cols}, found {found})"
    first = str(message or kind).strip().splitlines()[0]
    return f"malformed CSV line: {first}"
