"""The quarantine of one ingest: refused rows with their physical line and reason, staged once.

Every refused row is counted in the report, but a (source sha256, line) pair already in the
store's quarantine, or staged earlier in this run, is not appended again, so re-ingesting an
export never grows the quarantine.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from costplan.ingest.lines import physical_lines
from costplan.ingest.mapping import Mapping
from costplan.ingest.preflight import ExportPlan
from costplan.ingest.report import FileReport
from costplan.store import QUARANTINE_COLUMNS, Transaction, reading

_QROW: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
    "kinds": pl.List(pl.String()),  # each reason's kind, counted in the report; not stored
}
_KNOWN = {"source_sha256": pl.String, "line": pl.Int64, "_qfile": pl.String}


class Quarantine:
    """What one run quarantines, and which (sha256, line) pairs it has staged so far."""

    def __init__(self, txn: Transaction, mapping: Mapping) -> None:
        self.txn = txn
        self.mapping = mapping
        self.staged_keys: list[pl.DataFrame] = []  # (source_sha256, line) staged this run
        self.existing_qfile: str | None = None  # a quarantine file already holding some of them

    def known(self, sha: str) -> pl.DataFrame:
        """(sha256, line, file) already in the store's quarantine for one export."""
        files = [str(self.txn.store.root / q["path"]) for q in self.txn.base.quarantine]
        if not files:
            return pl.DataFrame(schema=_KNOWN)
        with reading(self.txn.store.root, files):
            return (
                pl.scan_parquet(files, include_file_paths="_qfile")
                .filter(pl.col("source_sha256") == sha)
                .select("source_sha256", "line", "_qfile")
                .unique(["source_sha256", "line"])
                .collect()
            )

    def finish_csv(
        self,
        plan: ExportPlan,
        src: Path,
        accepted: int,
        rejects: pl.DataFrame,
        bad: list[pl.DataFrame],
    ) -> pl.DataFrame:
        """Quarantine rows of a CSV: DuckDB's rejects plus refused rows, with physical lines."""
        if rejects.is_empty() and not bad:
            return pl.DataFrame(schema=_QROW)
        # Lines are looked up for the refused rows only, not for every accepted one.
        ords = [b["_ord"].to_numpy() for b in bad]
        wanted = np.unique(np.concatenate(ords)) if ords else np.zeros(0, np.int64)
        lines, reject_phys = physical_lines(
            src,
            self.mapping.delimiter,
            self.mapping.quote,
            accepted,
            rejects["line"].to_numpy().astype(np.int64),
            wanted.astype(np.int64),
        )

        def to_line(o: pl.Series) -> pl.Series:
            return pl.Series("line", lines[np.searchsorted(wanted, o.to_numpy())], pl.Int64)

        qframe = self.frame(bad, to_line)
        if rejects.is_empty():
            return qframe
        n_cols = len(plan.header)
        rows = []
        for r in rejects.iter_rows(named=True):
            text = (r["csv_line"] or "").lstrip("\r\n")
            reason = _reject_reason(r, text, n_cols, self.mapping)
            rows.append(
                {
                    "line": reject_phys[int(r["line"])],
                    "reason": reason,
                    "raw": _json_line(text),
                    "kinds": [reason.split(": ")[0].split(" (")[0]],
                }
            )
        rej = pl.DataFrame(rows, schema=_QROW)
        return pl.concat([qframe, rej]).sort("line")

    def frame(
        self, bad: list[pl.DataFrame], to_line: Callable[[pl.Series], pl.Series]
    ) -> pl.DataFrame:
        """Refused rows (_ord, _reason, raw) as quarantine rows, `_ord` mapped to a line."""
        if not bad:
            return pl.DataFrame(schema=_QROW)
        frame = pl.concat(bad).sort("_ord")
        return pl.DataFrame(
            {
                "line": to_line(frame["_ord"]).cast(pl.Int64),
                "reason": frame["_reason"],
                "raw": frame["raw"],
                "kinds": frame["_kinds"],
            },
            schema=_QROW,
        )

    def stage(self, plan: ExportPlan, qframe: pl.DataFrame, report: FileReport) -> None:
        """Count every quarantined row; append only (sha256, line) pairs not yet recorded."""
        report.quarantined = qframe.height
        if qframe.is_empty():
            return
        # Every reason of every row: a row failing three checks counts in three kinds.
        report.reasons.update(qframe["kinds"].explode().drop_nulls().to_list())
        keyed = qframe.with_columns(pl.lit(plan.sha256).alias("source_sha256"))
        known = self.known(plan.sha256)
        if not known.is_empty():
            hits = keyed.join(known, on=["source_sha256", "line"], how="inner")
            if not hits.is_empty():
                self.existing_qfile = str(hits["_qfile"].max())
            keyed = keyed.join(known, on=["source_sha256", "line"], how="anti")
        for staged in self.staged_keys:
            keyed = keyed.join(staged, on=["source_sha256", "line"], how="anti")
        if keyed.is_empty():
            return
        self.staged_keys.append(keyed.select("source_sha256", "line"))
        report.quarantine_new = self.txn.add_quarantine(
            keyed.with_columns(pl.lit(plan.source).alias("source_file")).select(
                [c for c in QUARANTINE_COLUMNS if c != "txn"]
            )
        )


_FOUND_RE = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _reject_reason(row: dict[str, Any], text: str, n_cols: int, mapping: Mapping) -> str:
    """The quarantine reason for one line DuckDB refused."""
    kind = str(row["error_type"] or "")
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
            m = _FOUND_RE.search(str(row["error_message"] or ""))
            found = int(m.group(2)) if m else -1
        return f"wrong column count (expected {n_cols}, found {found})"
    message = str(row["error_message"] or kind).strip().splitlines()[0]
    return f"malformed CSV line: {message}"


def _json_line(text: str) -> str:
    """Raw value of a line whose fields cannot be matched to columns: the line itself."""
    raw: str = (
        pl.DataFrame({"_line": [text]}).select(pl.struct("_line").struct.json_encode()).item()
    )
    return raw
