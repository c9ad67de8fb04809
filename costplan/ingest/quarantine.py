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
from typing import Any

import numpy as np
import polars as pl

from costplan.ingest.lines import physical_lines
from costplan.ingest.mapping import Mapping
from costplan.ingest.preflight import ExportPlan
from costplan.ingest.report import FileReport
from costplan.store import QUARANTINE_COLUMNS, Transaction, reading, writing
from costplan.store.manifest import QUARANTINE_SPILL_ROWS

_QROW: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
    "kinds": pl.List(pl.String()),  # each reason's kind, counted in the report; not stored
}
_KNOWN = {"line": pl.Int64, "_qfile": pl.Categorical}


class Refused:
    """The rows refused from one export (_ord, _reason, _kinds, raw), in the order read: held
    in memory up to QUARANTINE_SPILL_ROWS, then written to the staging directory (Arrow IPC),
    so an export of mostly refused rows is never all in memory."""

    def __init__(self, txn: Transaction, index: int) -> None:
        self._dir = txn.staging / "refused" / f"{index:04d}"
        self._root = txn.store.root
        self._held: list[pl.DataFrame] = []
        self._rows = 0
        self._spilled: list[Path] = []

    def append(self, frame: pl.DataFrame) -> None:
        self._held.append(frame)
        self._rows += frame.height
        if self._rows >= QUARANTINE_SPILL_ROWS:
            path = self._dir / f"{len(self._spilled):06d}.arrow"
            with writing(self._root):
                path.parent.mkdir(parents=True, exist_ok=True)
                pl.concat(self._held).write_ipc(path, compression="lz4")
            self._spilled.append(path)
            self._held, self._rows = [], 0

    def __bool__(self) -> bool:
        return bool(self._held or self._spilled)

    def ordinals(self) -> np.ndarray:
        """Every refused row's position in the export, sorted, once each (8 bytes a row)."""
        parts = [pl.read_ipc(p, columns=["_ord"]) for p in self._spilled]
        parts += [f.select("_ord") for f in self._held]
        if not parts:
            return np.zeros(0, np.int64)
        return np.unique(pl.concat(parts)["_ord"].to_numpy()).astype(np.int64)

    def chunks(self) -> Iterator[pl.DataFrame]:
        """The refused rows a chunk at a time, each sorted by `_ord`. Rows are refused batch by
        batch in the order read, so each chunk's positions all come after the last one's."""
        for path in self._spilled:
            yield pl.read_ipc(path).sort("_ord")
        if self._held:
            yield pl.concat(self._held).sort("_ord")


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
        rejects: pl.DataFrame,
        bad: Refused,
    ) -> Iterator[pl.DataFrame]:
        """Quarantine rows of a CSV, a chunk at a time in order of line: DuckDB's rejects plus
        refused rows, with physical lines."""
        if rejects.is_empty() and not bad:
            return iter(())
        # Lines are looked up for the refused rows only, not for every accepted one.
        wanted = bad.ordinals()
        lines, reject_phys = physical_lines(
            src,
            self.mapping.delimiter,
            self.mapping.quote,
            accepted,
            rejects["line"].to_numpy().astype(np.int64),
            wanted,
        )

        def to_line(o: pl.Series) -> pl.Series:
            return pl.Series("line", lines[np.searchsorted(wanted, o.to_numpy())], pl.Int64)

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
        return _merged(self.frames(bad, to_line), pl.DataFrame(rows, schema=_QROW).sort("line"))

    def frames(
        self, bad: Refused, to_line: Callable[[pl.Series], pl.Series]
    ) -> Iterator[pl.DataFrame]:
        """Refused rows (_ord, _reason, raw) as quarantine rows, `_ord` mapped to a line, a
        chunk at a time."""
        for frame in bad.chunks():
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


def _merged(refused: Iterator[pl.DataFrame], rejects: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """Refused rows (chunks in order of line) and DuckDB's rejects (sorted) in one order."""
    for qframe in refused:
        top = qframe["line"].max() if qframe.height else None
        if top is None:
            continue
        now = rejects.filter(pl.col("line") <= top)
        rejects = rejects.filter(pl.col("line") > top)
        yield pl.concat([qframe, now]).sort("line") if now.height else qframe
    if rejects.height:
        yield rejects


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
