"""Load a force's CAD exports (CSV or Parquet) into the store without ever losing a row.

Every row read ends in exactly one of three places, and the report proves it
(rows_read = stored + duplicates + quarantined, per file and in total, checked before commit):

* stored: a valid row whose cad_ref is new to the store and to this run;
* duplicates: an exact copy (after normalisation) of a stored row or of an earlier row of the
  same run; skipped, so re-ingesting an export is idempotent;
* quarantined: refused, with a reason, the file, the 1-based physical line (the header is line
  1; for Parquet, the 1-based row number) and the raw values, in the store's quarantine file.

How (and why):

* Inputs are checked before the writer lock is taken (missing, directory, extension, empty,
  header), so a bad command never touches the store. The same pass decides each CSV's
  encoding: UTF-8 (with or without BOM), else Windows-1252, which DuckDB cannot decode
  offline, so such a file is transcoded to UTF-8 inside the transaction's staging area. Each
  file's sha256 (for the ingest log and the quarantine) is computed beside the parsing.
* DuckDB's CSV reader parses with store_rejects; rows with the wrong column count (and other
  malformed lines) come back in reject_errors with their line and raw text and are quarantined.
  DuckDB numbers lines by records (a quoted line break does not count), so physical line numbers
  are recomputed from the file when, and only when, a file has something to quarantine.
* Validation is vectorised: Polars expressions over ~1M-row batches streamed from DuckDB; value
  lookups (boroughs, call sources, gradings) run once per distinct value, not per row.
* All files of one command are staged in one transaction and published by one manifest swap.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import hashlib
import io
import os
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from costplan.errors import InputError
from costplan.ingest.mapping import FIELDS, Mapping, is_aware_format, load_mapping
from costplan.schema import (
    BOROUGH_NAMES,
    CAD_REF_RE,
    CALL_SOURCES,
    GRADINGS,
    LONDON,
    MONTHS,
    RECORD_COLUMNS,
    RECORD_SCHEMA,
    REQUIRED_COLUMNS,
    canonical_borough,
    is_city_of_london,
    suggest_boroughs,
)
from costplan.store import LOCK_WAIT_SECONDS, QUARANTINE_COLUMNS, Store, Transaction

ProgressFn = Callable[[int, int], None]

SUPPORTED_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Rows validated together. Large enough to amortise the per-batch store lookup, small enough to
# bound memory (a 1M-row batch of CAD rows is ~200 MB in Polars).
BATCH_ROWS = 1_000_000
FIRST_BATCH_ROWS = 262_144
# Rows per Arrow batch fetched from DuckDB (its natural multiple of 2048-row vectors).
ARROW_BATCH_ROWS = 131_072
HEADER_PROBE_BYTES = 1 << 20
READ_CHUNK_BYTES = 1 << 23
CITY_OF_LONDON_REASON = "City of London is policed by the City of London Police, not the MPS"
# Fields compared to decide "exact duplicate" or "conflict"; day and year follow created_at.
COMPARE_FIELDS: tuple[str, ...] = tuple(
    c for c in RECORD_COLUMNS if c not in ("cad_ref", "day", "year")
)
_TEXT_FIELDS = ("opening_code", "closing_code", "summary")
_LIST_FIELDS = ("tags", "linked_to")
_MONTHS = {m: i + 1 for i, m in enumerate(MONTHS)}
_GRADING_NAMES = {"immediate": "I", "significant": "S", "extended": "E", "referred": "R"}
_UTC = pl.Datetime("us", "UTC")
_QROW = {"line": pl.Int64, "reason": pl.String, "raw": pl.String}
_REFUSED = {"_ord": pl.Int64, "_reason": pl.String}
_KNOWN = {"source_sha256": pl.String, "line": pl.Int64, "_qfile": pl.String}
_STRLIST = pl.List(pl.String())
# Windows-1252 as Excel writes it: the five bytes cp1252 leaves undefined map to the C1 controls
# of the same value (as Windows itself decodes them), so transcoding never fails.
_CP1252_TABLE = "".join(
    bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b)
    for b in range(256)
)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
@dataclass
class FileReport:
    """Counts for one export file."""

    file: str
    path: str
    sha256: str
    format: str
    encoding: str
    dropped_columns: list[str]
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantine_new: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def check(self) -> None:
        """Raise if a row is unaccounted for: rows_read must equal stored+duplicates+quarantined."""
        if self.rows_read != self.stored + self.duplicates + self.quarantined:
            raise RuntimeError(
                f"ingest bookkeeping error for {self.file}: read {self.rows_read} rows but "
                f"stored {self.stored} + duplicates {self.duplicates} + quarantined "
                f"{self.quarantined}; nothing was committed"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "encoding": self.encoding,
            "rows_read": self.rows_read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "quarantine_new": self.quarantine_new,
            "reasons": dict(sorted(self.reasons.items())),
            "dropped_columns": list(self.dropped_columns),
        }


@dataclass
class IngestReport:
    """What one `costplan ingest` did."""

    store: str
    mapping: str
    files: list[FileReport]
    manifest_version: int
    txn: str
    quarantine_file: str | None

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def stored(self) -> int:
        return sum(f.stored for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def dropped_columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.files:
            seen.update(dict.fromkeys(f.dropped_columns))
        return list(seen)

    def check(self) -> None:
        """Raise if any row is unaccounted for, per file and in total."""
        for f in self.files:
            f.check()
        if self.rows_read != self.stored + self.duplicates + self.quarantined:
            raise RuntimeError("ingest bookkeeping error in the totals; nothing was committed")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: totals, then one entry per file."""
        reasons: Counter[str] = Counter()
        for f in self.files:
            reasons.update(f.reasons)
        return {
            "store": self.store,
            "mapping": self.mapping,
            "manifest_version": self.manifest_version,
            "txn": self.txn,
            "rows_read": self.rows_read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "quarantine_new": sum(f.quarantine_new for f in self.files),
            "quarantine_file": self.quarantine_file,
            "reasons": dict(sorted(reasons.items())),
            "dropped_columns": self.dropped_columns,
            "files": [f.to_dict() for f in self.files],
        }


# ---------------------------------------------------------------------------------------------
# Pre-flight: everything that can be wrong with an input, checked before the writer lock
# ---------------------------------------------------------------------------------------------
@dataclass
class ExportPlan:
    """A checked input file, ready to be read."""

    given: str  # as the user wrote it
    path: Path  # absolute
    kind: str  # csv | parquet
    size: int
    sha256: str  # "" until hashed (ingest() hashes in the background while reading)
    encoding: str  # utf-8 | utf-8-sig | windows-1252 | parquet
    header: tuple[str, ...]  # export columns in file order
    positions: dict[str, int]  # schema field -> column index, for the fields present
    dropped: tuple[str, ...]  # export columns not in the mapping (not stored)
    dtypes: dict[str, pl.DataType] = field(default_factory=dict)  # Parquet column types
    est_rows: int = 0


def inspect_export(given: str | Path, mapping: Mapping, *, hash_file: bool = True) -> ExportPlan:
    """Check one input file and learn its encoding, header and (optionally) hash. Never writes.

    Raises:
        InputError: missing, a directory, unsupported extension, empty, unreadable, or a header
            without the columns the mapping requires.
    """
    name = str(given)
    path = Path(given).expanduser()
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(
            f"{name}: is a directory, not an export file", "name the CSV or Parquet files in it"
        )
    kind = SUPPORTED_EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{name}: unsupported file type {path.suffix or '(no extension)'!r}",
            "export the data as .csv or .parquet",
        )
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name}: file is empty (0 bytes)")
    path = path.resolve()
    if kind == "csv":
        plan = _inspect_csv(name, path, size, mapping)
    else:
        plan = _inspect_parquet(name, path, size, mapping)
    if hash_file:
        plan.sha256 = file_sha256(path)
    return plan


def file_sha256(path: Path) -> str:
    """sha256 of a file, streamed (hashlib releases the GIL, so it can run beside parsing)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _is_utf8(path: Path) -> bool:
    """Whether a file is valid UTF-8, streamed; pure-ASCII chunks skip the decoder."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_CHUNK_BYTES):
            if chunk.isascii() and not decoder.getstate()[0]:
                continue
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _match_columns(
    name: str, header: Sequence[str], mapping: Mapping, first_line: str
) -> tuple[dict[str, int], tuple[str, ...]]:
    """Find each mapped field's column: exact name first, then ignoring case."""
    positions: dict[str, int] = {}
    folded: dict[str, list[int]] = {}
    exact: dict[str, list[int]] = {}
    for i, col in enumerate(header):
        exact.setdefault(col, []).append(i)
        folded.setdefault(col.casefold(), []).append(i)
    for fld in FIELDS:
        src = mapping.source(fld)
        hits = exact.get(src) or folded.get(src.casefold()) or []
        if len(hits) > 1:
            raise InputError(
                f"{name}: column {src!r} appears {len(hits)} times in the header",
                "rename or remove the duplicates",
            )
        if hits:
            positions[fld] = hits[0]
    missing = [f for f in REQUIRED_COLUMNS if f not in positions]
    if missing:
        wanted = ", ".join(
            f"{mapping.source(f)!r}" + (f" (for {f})" if mapping.source(f) != f else "")
            for f in missing
        )
        shown = first_line if len(first_line) <= 80 else first_line[:77] + "..."
        raise InputError(
            f"{name}: header lacks required column(s) {wanted}; first line is {shown!r}",
            f"does the file start with a header row? mapping {mapping.name!r} expects "
            f"{', '.join(repr(mapping.source(f)) for f in REQUIRED_COLUMNS)}; use --mapping "
            "for other column names",
        )
    used = set(positions.values())
    dropped = tuple(col for i, col in enumerate(header) if i not in used)
    return positions, dropped


def _inspect_csv(name: str, path: Path, size: int, mapping: Mapping) -> ExportPlan:
    with open(path, "rb") as fh:
        head = fh.read(HEADER_PROBE_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(
            f"{name}: file is UTF-16 encoded", "save it as 'CSV UTF-8' or Windows-1252 CSV"
        )
    utf8 = _is_utf8(path)
    bom = head.startswith(codecs.BOM_UTF8)
    if utf8:
        encoding = "utf-8-sig" if bom else "utf-8"
        text = head.decode("utf-8-sig", errors="ignore")  # a probe may end mid-character
    else:
        encoding = "windows-1252"
        text = codecs.charmap_decode(head[3:] if bom else head, "strict", _CP1252_TABLE)[0]
    if "\n" not in text and size > len(head):
        raise InputError(f"{name}: first line is longer than {HEADER_PROBE_BYTES} bytes")
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=mapping.delimiter, quotechar=mapping.quote
    )
    try:
        first = next(reader, [])
    except csv.Error as exc:
        raise InputError(f"{name}: cannot read the header line: {exc}") from None
    header = tuple(col.strip() for col in first)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not any(header):
        raise InputError(
            f"{name}: first line is empty; expected a header row",
            "the first line must name the columns",
        )
    positions, dropped = _match_columns(name, header, mapping, first_line)
    newlines = text.count("\n")
    est = int(size / (len(head) / newlines)) if newlines else 1
    return ExportPlan(
        name, path, "csv", size, "", encoding, header, positions, dropped, est_rows=max(est - 1, 0)
    )


def _inspect_parquet(name: str, path: Path, size: int, mapping: Mapping) -> ExportPlan:
    try:
        schema = pl.read_parquet_schema(path)
        rows = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except Exception as exc:  # Polars raises several error types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name}: not a readable Parquet file: {first}") from None
    header = tuple(schema)
    positions, dropped = _match_columns(name, header, mapping, ", ".join(header))
    return ExportPlan(
        name,
        path,
        "parquet",
        size,
        "",
        "parquet",
        header,
        positions,
        dropped,
        dtypes=dict(schema),
        est_rows=rows,
    )


# ---------------------------------------------------------------------------------------------
# Normalisation and validation (vectorised)
# ---------------------------------------------------------------------------------------------
# schema.CAD_REF_RE, tolerant of case and surrounding spaces so no column-wide strip/upper pass
# is needed first (the same strings match as with parse_cad_ref's strip().upper()).
assert CAD_REF_RE.pattern.startswith("^") and CAD_REF_RE.pattern.endswith("$")
_CAD_RE_LOOSE = r"(?i)^\s*" + CAD_REF_RE.pattern[1:-1] + r"\s*$"


# Canonical stored form, 'serial/DDMONYY': most exports already use it, and a plain match plus
# fixed slices is about twice as fast as capturing groups, so the general pattern only runs on
# the rows that are not canonical.
_CAD_CANON = (
    r"^[1-9][0-9]{0,5}/[0-3][0-9](?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[0-9]{2}$"
)
_CAD_KEY_DAYS = 1_000_000  # key = day number * this + serial (serials have at most 6 digits)


def _parse_cad(cad: pl.Series) -> pl.DataFrame:
    """cad_ref in canonical form, the day it encodes, and an integer key; nulls if malformed.

    Accepts exactly what schema.parse_cad_ref accepts ('CAD 0012/25jun20' -> '12/25JUN20').
    The key (day number x 10^6 + serial) identifies a cad_ref in 8 bytes, for fast joins.
    """
    n = cad.len()
    canon = cad.str.contains(_CAD_CANON).fill_null(False)
    all_canon = bool(canon.all())
    c = pl.col("c")
    pieces = {
        "serial": c.str.head(-8).str.to_integer(strict=False),
        "dd": c.str.slice(-7, 2).str.to_integer(strict=False),
        "mon": c.str.slice(-5, 3),
        "yy": c.str.slice(-2).str.to_integer(strict=False),
    }
    if not all_canon:
        pieces = {k: pl.when(pl.col("canon")).then(e) for k, e in pieces.items()}
    parts = pl.DataFrame({"c": cad, "canon": canon}).select(**pieces)
    # Canonical references are kept as they are (no copy); the others are rebuilt below.
    cad_ref = cad if all_canon else cad.zip_with(canon, _nulls(n, pl.String()))
    other = (~canon & cad.is_not_null()).arg_true()
    if not other.is_empty():
        g = cad.gather(other).str.extract_groups(_CAD_RE_LOOSE).struct.unnest()
        g.columns = ["serial", "dd", "mon", "yy"]
        slow = g.select(
            serial=pl.col("serial").str.to_integer(strict=False),
            dd=pl.col("dd").str.to_integer(strict=False),
            mon=pl.col("mon").str.to_uppercase(),
            yy=pl.col("yy").str.to_integer(strict=False),
        )
        parts = pl.DataFrame([parts[k].scatter(other, slow[k]) for k in parts.columns])
        fixed = g.select(pl.concat_str(["serial", pl.lit("/"), "dd", slow["mon"], "yy"]))
        cad_ref = cad_ref.scatter(other, fixed.to_series())
    # The encoded day as a day number, by integer arithmetic (Hinnant's days_from_civil):
    # several times faster than building dates, and an impossible day (31FEB) is simply null.
    # Eager select() does not share subexpressions, so each stage is materialised once.
    parts = parts.with_columns(
        _m=pl.col("mon").replace_strict(_MONTHS, default=None, return_dtype=pl.Int32),
        _d=pl.col("dd").cast(pl.Int32),
        _y=pl.col("yy").cast(pl.Int32) + 2000,
    )
    m, d, y = pl.col("_m"), pl.col("_d"), pl.col("_y")
    leap = ((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))).cast(pl.Int32)
    month_days = pl.when(m == 2).then(28 + leap).otherwise(30 + (m + m // 8) % 2)
    yp = y - (m <= 2).cast(pl.Int32)
    doy = (153 * (m + pl.when(m > 2).then(-3).otherwise(9)) + 2) // 5 + d - 1
    yoe = yp % 400
    days = (yp // 400) * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    parts = parts.with_columns(_n=days, _ok=((d >= 1) & (d <= month_days)).fill_null(False))
    ok = parts["_ok"]
    if not ok.all():
        cad_ref = cad_ref.zip_with(ok, _nulls(n, pl.String()))
        parts = parts.with_columns(_n=pl.when(pl.col("_ok")).then(pl.col("_n")))
    return parts.select(
        cad_ref.alias("cad_ref"),
        _cad_day=pl.col("_n").cast(pl.Date),
        _key=pl.col("_n").cast(pl.Int64) * _CAD_KEY_DAYS + pl.col("serial"),
    )


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_bytes() > 0).then(e)


def _nulls(n: int, dtype: pl.DataType) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True)


def _text(raw: pl.DataFrame, fld: str) -> pl.Series:
    """A field as text exactly as read (typed Parquet values as text); absent -> all null."""
    if fld not in raw.columns:
        return _nulls(raw.height, pl.String()).alias(fld)
    s = raw[fld]
    if isinstance(s.dtype, pl.List):
        s = s.cast(_STRLIST).list.join(", ")
    elif s.dtype != pl.String:
        s = s.cast(pl.String)
    return s.alias(fld)


def _list(raw: pl.DataFrame, fld: str, sep: str, *, refs: bool = False) -> pl.Series:
    """A list field: split text on the separator (or take a list column), strip, drop blanks.

    The item-by-item clean-up (list.eval) costs 4x a plain split, so it runs only when some
    value of the batch needs it.
    """
    if fld not in raw.columns:
        return pl.select(pl.repeat(pl.lit([], dtype=_STRLIST), raw.height)).to_series().alias(fld)
    s = raw[fld]
    if isinstance(s.dtype, pl.List):
        lst, messy = s.cast(_STRLIST), True
    else:
        s = s.cast(pl.String)
        e = re.escape(sep)
        messy = bool(s.str.contains(rf"(^|{e})\s|\s($|{e})|{e}{e}|^{e}|{e}$|^$").any())
        if refs and not messy:
            messy = bool(s.str.contains(rf"[a-z]|CAD|(^|{e})0").any())
        lst = s.str.split(sep)
    if messy:
        item = pl.element().str.strip_chars()
        if refs:
            # Linked CAD references in their canonical stored form ('CAD 0012/...' -> '12/...').
            item = item.str.to_uppercase().str.replace(r"^(?:CAD\s*)?0*", "")
        lst = lst.list.eval(item.filter(item.str.len_bytes() > 0))
    return lst.fill_null([]).alias(fld)


def _parse_created(
    raw: pl.DataFrame, text: pl.Series, mapping: Mapping
) -> tuple[pl.Series, pl.Series, pl.Series | None]:
    """created_at as UTC instants, its London day, and reasons for impossible local times.

    Formats are tried in order on the rows still unparsed, first on the text as read, then on
    the leftovers stripped of spaces, so a clean file that uses the first format pays for one
    parse. Parquet timestamp columns are taken as typed values.
    """
    n = text.len()
    dtype = raw.schema.get("created_at")
    if isinstance(dtype, pl.Datetime):
        col = raw["created_at"].dt.cast_time_unit("us")
        if dtype.time_zone is None:
            utc, special = _localise(col, text, mapping)
            return utc.alias("created_at"), col.dt.date().alias("day"), special
        utc = col.dt.convert_time_zone("UTC").alias("created_at")
        return utc, utc.dt.convert_time_zone(str(LONDON)).dt.date().alias("day"), None
    utc = _nulls(n, _UTC)
    day = _nulls(n, pl.Date())
    special: pl.Series | None = None
    todo = text.is_not_null()
    for attempt in ("as read", "stripped"):
        if attempt == "stripped":
            if not todo.any():
                break
            text = text.str.strip_chars()
        for fmt in mapping.timestamp_formats:
            whole = bool(todo.all())
            idx = None if whole else todo.arg_true()
            if idx is not None and idx.is_empty():
                break
            sub = text if idx is None else text.gather(idx)
            # cache=False: timestamps are nearly all distinct, so the parse cache only costs.
            parsed = sub.str.strptime(pl.Datetime("us"), fmt, strict=False, cache=False)
            hit = parsed.is_not_null()
            n_hit = int(hit.sum())
            if n_hit == 0:
                continue
            if n_hit < sub.len():
                parsed, sub = parsed.filter(hit), sub.filter(hit)
            if is_aware_format(fmt):
                u = parsed.dt.convert_time_zone("UTC")
                d = u.dt.convert_time_zone(str(LONDON)).dt.date()
                sp = None
            else:
                u, sp = _localise(parsed, sub, mapping)
                d = parsed.dt.date()
            if idx is None and n_hit == n:
                utc, day, todo = u, d, pl.repeat(False, n, eager=True)
                special = sp
                break
            where = (pl.int_range(n, eager=True) if idx is None else idx).filter(hit)
            utc = utc.scatter(where, u)
            day = day.scatter(where, d)
            if sp is not None:
                special = (_nulls(n, pl.String()) if special is None else special).scatter(
                    where, sp
                )
            todo = todo.scatter(where, False)
    return utc.alias("created_at"), day.alias("day"), special


def _localise(
    naive: pl.Series, text: pl.Series, mapping: Mapping
) -> tuple[pl.Series, pl.Series | None]:
    """Naive local times -> UTC in the mapping's zone; reasons for impossible/ambiguous ones."""
    tz = mapping.timezone
    special: pl.Series | None = None
    if mapping.ambiguous == "quarantine":
        local = naive.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
        earliest = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        amb = local.is_null() & earliest.is_not_null()
        if amb.any():
            special = _nulls(naive.len(), pl.String())
            i = amb.arg_true()
            special = special.scatter(
                i, "ambiguous timestamp: '" + text.gather(i) + f"' occurs twice in {tz}"
            )
    else:
        local = naive.dt.replace_time_zone(tz, ambiguous=mapping.ambiguous, non_existent="null")
        earliest = local
    gap = naive.is_not_null() & earliest.is_null()
    if gap.any():
        special = _nulls(naive.len(), pl.String()) if special is None else special
        i = gap.arg_true()
        special = special.scatter(
            i,
            "impossible timestamp: '"
            + text.gather(i)
            + f"' does not exist in {tz} (clocks went forward)",
        )
    return local.dt.convert_time_zone("UTC"), special


def _value_map(
    values: pl.Series,
    fn: Callable[[str], tuple[str | None, str | None]],
    canonical: Sequence[str] = (),
) -> tuple[pl.Series, pl.Series]:
    """Map each distinct value once through fn -> (canonical, reason), as two columns.

    When every value is already canonical (the usual case) the lookup is skipped.
    """
    n = values.len()
    if canonical and bool(values.is_in(list(canonical)).fill_null(True).all()):
        return values, _nulls(n, pl.String())
    canon: dict[str, str] = {}
    why: dict[str, str] = {}
    for u in values.drop_nulls().unique().to_list():
        c, r = fn(u)
        if c is not None:
            canon[u] = c
        if r is not None:
            why[u] = r
    c_out = (
        values.replace_strict(canon, default=None, return_dtype=pl.String)
        if canon
        else _nulls(n, pl.String())
    )
    r_out = (
        values.replace_strict(why, default=None, return_dtype=pl.String)
        if why
        else _nulls(n, pl.String())
    )
    return c_out, r_out


def _plain(values: Sequence[str], mapping: Mapping) -> tuple[str, ...]:
    """Values that map to themselves: all of them unless the mapping's tables re-map one."""
    tables = {**mapping.call_source_values, **mapping.grading_values}
    if any(v.casefold() in tables and tables[v.casefold()] != v for v in values):
        return ()
    return tuple(values)


def _borough(value: str) -> tuple[str | None, str | None]:
    if not value.strip():
        return None, "missing required value: borough"
    name = canonical_borough(value)
    if name is not None:
        return name, None
    if is_city_of_london(value):
        return None, CITY_OF_LONDON_REASON
    hint = suggest_boroughs(value, 1)
    return None, f"unknown borough: {value!r}" + (f" (did you mean {hint[0]}?)" if hint else "")


def _call_source(table: dict[str, str]) -> Callable[[str], tuple[str | None, str | None]]:
    def fn(value: str) -> tuple[str | None, str | None]:
        key = value.strip().casefold()
        if not key:
            return None, "missing required value: call_source"
        if key in table:
            return table[key], None
        key = re.sub(r"[\s\-]+", "_", key)
        if key in CALL_SOURCES:
            return key, None
        return None, f"invalid call_source: {value!r} (expected one of {', '.join(CALL_SOURCES)})"

    return fn


def _grading(table: dict[str, str]) -> Callable[[str], tuple[str | None, str | None]]:
    def fn(value: str) -> tuple[str | None, str | None]:
        key = value.strip().casefold()
        if not key:
            return None, "missing required value: grading"
        if key in table:
            return table[key], None
        if key.upper() in GRADINGS:
            return key.upper(), None
        if key in _GRADING_NAMES:
            return _GRADING_NAMES[key], None
        return None, f"invalid grading: {value!r} (expected one of {', '.join(GRADINGS)})"

    return fn


@functools.cache
def _workers() -> ThreadPoolExecutor:
    """Threads for normalise()'s independent column jobs (one per core, at most seven)."""
    return ThreadPoolExecutor(
        max_workers=min(7, os.cpu_count() or 2), thread_name_prefix="costplan-normalise"
    )


def normalise(raw: pl.DataFrame, mapping: Mapping) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split raw export rows into valid records and refused rows with their reasons.

    Args:
        raw: one column per mapped schema field present in the export (named by the field),
            plus `_ord` (the row's ordinal in its file). CSV columns are text; Parquet columns
            may be typed.
        mapping: timestamp formats, zone, list separators and value tables.

    Returns:
        (valid, refused): valid has `_ord`, `_key` (the cad_ref as an integer) and
        RECORD_COLUMNS in RECORD_SCHEMA types; refused has `_ord` and `_reason` (every
        applicable reason, joined with '; ').
    """
    ts = _text(raw, "created_at")
    b_raw, s_raw, g_raw = (_text(raw, f) for f in ("borough", "call_source", "grading"))
    cad = _text(raw, "cad_ref")
    # The column groups are independent and each step below works on one column at a time:
    # run them side by side (Polars releases the GIL) to use both cores.
    jobs: dict[str, Callable[[], Any]] = {
        "created": lambda: _parse_created(raw, ts, mapping),
        "cad": lambda: _parse_cad(cad),
        "borough": lambda: _value_map(b_raw, _borough, BOROUGH_NAMES),
        "source": lambda: _value_map(
            s_raw, _call_source(mapping.call_source_values), _plain(CALL_SOURCES, mapping)
        ),
        "grading": lambda: _value_map(
            g_raw, _grading(mapping.grading_values), _plain(GRADINGS, mapping)
        ),
        "tags": lambda: _list(raw, "tags", mapping.tags_separator),
        "linked": lambda: _list(raw, "linked_to", mapping.linked_to_separator, refs=True),
    }
    pool = _workers()
    futures = {k: pool.submit(fn) for k, fn in jobs.items()}
    done = {k: f.result() for k, f in futures.items()}
    created, day, special = done["created"]
    borough, b_reason = done["borough"]
    source, s_reason = done["source"]
    grading, g_reason = done["grading"]
    frame = pl.DataFrame(
        [
            raw["_ord"],
            cad.alias("_cad"),
            ts.alias("_ts"),
            created,
            day,
            (special if special is not None else _nulls(raw.height, pl.String())).alias("_tsr"),
            b_raw.alias("_b"),
            borough.alias("borough"),
            b_reason.alias("_br"),
            s_raw.alias("_s"),
            source.alias("call_source"),
            s_reason.alias("_sr"),
            g_raw.alias("_g"),
            grading.alias("grading"),
            g_reason.alias("_gr"),
            _text(raw, "opening_code").alias("opening_code"),
            _text(raw, "closing_code").alias("closing_code"),
            _text(raw, "summary").alias("summary"),
            done["tags"],
            done["linked"],
        ]
    ).hstack(done["cad"])
    frame = frame.with_columns(
        opening_code=_blank_to_null(pl.col("opening_code").str.strip_chars()),
        closing_code=_blank_to_null(pl.col("closing_code").str.strip_chars()),
        # DuckDB reads an empty field as null already; Parquet may hold empty strings.
        summary=_blank_to_null(pl.col("summary"))
        if bool((frame["summary"].str.len_bytes() == 0).any())
        else pl.col("summary"),
        year=pl.col("day").dt.year().cast(pl.Int16),
        _ok=(
            pl.col("cad_ref").is_not_null()
            & pl.col("created_at").is_not_null()
            & pl.col("borough").is_not_null()
            & pl.col("call_source").is_not_null()
            & pl.col("grading").is_not_null()
            & (pl.col("_cad_day") == pl.col("day"))
        ).fill_null(False),
    )
    ok = frame["_ok"]
    if ok.all():
        return frame.select("_ord", "_key", *RECORD_COLUMNS), pl.DataFrame(schema=_REFUSED)
    valid = frame.select("_ord", "_key", *RECORD_COLUMNS).filter(ok)
    return valid, _reasons(frame.filter(~ok), mapping)


def _reasons(bad: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """Why each refused row was refused (computed for the refused rows only)."""

    def blank(col: str) -> pl.Expr:
        return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")

    def missing(col: str, fld: str) -> pl.Expr:
        return pl.when(pl.col(col).is_null()).then(pl.lit(f"missing required value: {fld}"))

    expected = " or ".join(mapping.timestamp_formats[:3])
    if len(mapping.timestamp_formats) > 3:
        expected += "..."
    reason = pl.concat_str(
        [
            pl.when(blank("_cad")).then(pl.lit("missing required value: cad_ref")),
            pl.when(~blank("_cad") & pl.col("cad_ref").is_null()).then(
                pl.lit("malformed cad_ref: '") + pl.col("_cad").str.strip_chars() + pl.lit("'")
            ),
            pl.when(blank("_ts")).then(pl.lit("missing required value: created_at")),
            pl.col("_tsr"),
            pl.when(~blank("_ts") & pl.col("created_at").is_null() & pl.col("_tsr").is_null()).then(
                pl.lit("unparseable timestamp: '")
                + pl.col("_ts").str.strip_chars()
                + pl.lit(f"' (expected {expected})")
            ),
            missing("_b", "borough"),
            pl.col("_br"),
            missing("_s", "call_source"),
            pl.col("_sr"),
            missing("_g", "grading"),
            pl.col("_gr"),
            pl.when(
                pl.col("cad_ref").is_not_null()
                & pl.col("created_at").is_not_null()
                & (pl.col("_cad_day") != pl.col("day"))
            ).then(
                pl.lit("cad_ref date does not match created_at: ")
                + pl.col("cad_ref")
                + pl.lit(" vs London day ")
                + pl.col("day").cast(pl.String)
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    # Every refused row has a reason above; the fallback only guards against a silent gap.
    reason = pl.when(reason == "").then(pl.lit("invalid row")).otherwise(reason)
    return bad.select("_ord", reason.alias("_reason"))


def reason_category(reason: str) -> str:
    """The kind of a reason, without its values: 'unknown borough: 'X'' -> 'unknown borough'."""
    return reason.split("; ")[0].split(": ")[0].split(" (")[0]


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Stored rows in the form normalise() produces, so equal content compares equal."""
    present = [c for c in RECORD_COLUMNS if c in frame.columns]
    frame = frame.select(present).cast({c: RECORD_SCHEMA[c] for c in present})  # type: ignore[arg-type]
    return frame.with_columns(
        *[pl.col(c).fill_null([]) for c in _LIST_FIELDS if c in present],
        *[_blank_to_null(pl.col(c)) for c in _TEXT_FIELDS if c in present],
    )


def _differing(fields: Sequence[str] = COMPARE_FIELDS) -> pl.Expr:
    """'a, b' naming the fields where a row differs from its `<field>_ref` twin ('' if none)."""
    return pl.concat_str(
        [pl.when(~pl.col(f).eq_missing(pl.col(f + "_ref"))).then(pl.lit(f)) for f in fields],
        separator=", ",
        ignore_nulls=True,
    )


# ---------------------------------------------------------------------------------------------
# Physical line numbers
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
def _transcode_cp1252(src: Path, dst: Path) -> None:
    """Windows-1252 -> UTF-8, streaming (single-byte encoding: chunks never split a char)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        first = True
        while chunk := fin.read(READ_CHUNK_BYTES):
            if first and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[3:]
            first = False
            fout.write(codecs.charmap_decode(chunk, "strict", _CP1252_TABLE)[0].encode("utf-8"))


def _connect() -> duckdb.DuckDBPyConnection:
    # DuckDB's default of one thread per core measured best: parsing the first batch is the
    # only work at the start, and later Polars and DuckDB share the cores (see _prefetch).
    return duckdb.connect()


class _Failed:
    """An exception raised in the prefetch thread, carried to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(items: Iterator[Any], depth: int) -> Iterator[Any]:
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
) -> Iterator[tuple[pl.DataFrame, bool]]:
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
_REJECTS_QUERY = (
    "SELECT line, min(error_type) AS error_type, min(csv_line) AS csv_line, "
    "min(error_message) AS error_message FROM reject_errors GROUP BY line ORDER BY line"
)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------
class _Run:
    """State of one ingest command: the transaction, what this run has staged, the counts."""

    def __init__(
        self,
        txn: Transaction,
        mapping: Mapping,
        batch_rows: int,
        progress: ProgressFn | None,
        total: int,
    ) -> None:
        self.txn = txn
        self.mapping = mapping
        self.batch_rows = batch_rows
        self.progress = progress
        self.total = max(total, 1)
        self.done = 0
        self.seen: list[pl.Series] = []  # cad_ref keys of every row staged by this run
        self._recent: pl.DataFrame | None = None  # the last staged batch (COMPARE_FIELDS)
        self._spilled: list[Path] = []  # earlier staged batches, as Arrow IPC
        self.last_file = False  # set while the run reads its last file
        self.quarantined_keys: list[pl.DataFrame] = []  # (source_sha256, line) staged this run
        self.existing_qfile: str | None = None

    # -- progress ------------------------------------------------------------------------
    def tick(self, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            self.total = max(self.total, self.done)
            self.progress(self.done, self.total)

    # -- quarantine bookkeeping ----------------------------------------------------------
    def known_quarantine(self, sha: str) -> pl.DataFrame:
        """(sha256, line, file) already in the store's quarantine for one export."""
        files = [str(self.txn.store.root / q["path"]) for q in self.txn.base.quarantine]
        if not files:
            return pl.DataFrame(schema=_KNOWN)
        return (
            pl.scan_parquet(files, include_file_paths="_qfile")
            .filter(pl.col("source_sha256") == sha)
            .select("source_sha256", "line", "_qfile")
            .unique(["source_sha256", "line"])
            .collect()
        )

    # -- one file ------------------------------------------------------------------------
    def ingest_file(self, index: int, plan: ExportPlan, digest: Future[str]) -> FileReport:
        """Read, validate and stage one export; quarantine what it cannot store.

        `digest` is the file's sha256, computed in the background while the file is read.
        """
        report = FileReport(
            file=plan.given,
            path=str(plan.path),
            sha256="",
            format=plan.kind,
            encoding=plan.encoding,
            dropped_columns=list(plan.dropped),
        )
        bad: list[pl.DataFrame] = []  # _ord, reason, raw
        fields = sorted(plan.positions, key=plan.positions.__getitem__)
        con = _connect()
        try:
            if plan.kind == "csv":
                src = plan.path
                if plan.encoding == "windows-1252":
                    src = self.txn.staging / "ingest" / f"{index:04d}.csv"
                    _transcode_cp1252(plan.path, src)
                cols = ", ".join(f"c{plan.positions[f]} AS {f}" for f in fields)
                params = {
                    "path": str(src),
                    "columns": {f"c{i}": "VARCHAR" for i in range(len(plan.header))},
                    "delim": self.mapping.delimiter,
                    "quote": self.mapping.quote,
                }
                try:
                    rel = con.sql(_CSV_QUERY.format(cols=cols), params=params)
                    reader = rel.to_arrow_reader(ARROW_BATCH_ROWS)
                    accepted = self._consume(reader, plan, fields, report, bad)
                    rejects = con.sql(_REJECTS_QUERY).pl()
                except duckdb.Error as exc:
                    msg = str(exc).strip().splitlines()[0]
                    raise InputError(f"{plan.given}: cannot parse as CSV: {msg}") from None
                qframe = self._finish_csv(plan, src, accepted, rejects, bad)
                report.rows_read = accepted + rejects.height
            else:
                # Parquet columns are read by name through pyarrow: no SQL text at all.
                try:
                    pf = pq.ParquetFile(plan.path)
                    names = [plan.header[plan.positions[f]] for f in fields]
                    batches = (
                        rb.rename_columns(fields)
                        for rb in pf.iter_batches(ARROW_BATCH_ROWS, columns=names)
                    )
                    accepted = self._consume(batches, plan, fields, report, bad)
                except (OSError, pa.ArrowException) as exc:
                    msg = str(exc).strip().splitlines()[0]
                    raise InputError(f"{plan.given}: cannot read Parquet: {msg}") from None
                qframe = self._quarantine_frame(plan, bad, lambda o: o + 1)
                report.rows_read = accepted
        finally:
            con.close()
        plan.sha256 = report.sha256 = digest.result()
        self._stage_quarantine(plan, qframe, report)
        report.check()
        return report

    def _consume(
        self,
        reader: Any,
        plan: ExportPlan,
        fields: list[str],
        report: FileReport,
        bad: list[pl.DataFrame],
    ) -> int:
        """Validate and stage every batch; returns the number of rows the reader produced."""
        offset = 0
        batches = _batches(reader, self.batch_rows, self.tick)
        # closing(): on an error the reader thread is stopped before the connection closes.
        with contextlib.closing(batches):
            for batch, last in batches:
                batch = batch.with_columns(
                    pl.int_range(offset, offset + batch.height, dtype=pl.Int64).alias("_ord")
                )
                offset += batch.height
                self._process(batch, plan, fields, report, bad, final=last and self.last_file)
        return offset

    def _process(
        self,
        raw: pl.DataFrame,
        plan: ExportPlan,
        fields: list[str],
        report: FileReport,
        bad: list[pl.DataFrame],
        *,
        final: bool = False,
    ) -> None:
        """Validate one batch; stage the new rows; keep the refused ones for the quarantine.

        `final`: no batch follows in this run, so the new rows need not be remembered.
        """
        good, invalid = normalise(raw, self.mapping)
        refused: list[pl.DataFrame] = [invalid]

        # 1. Against the store: equal content -> duplicate, different -> conflict.
        if not good.is_empty() and self.txn.base.partitions:
            stored = self.txn.existing(good["cad_ref"], good["year"].unique().to_list())
            if not stored.is_empty():
                # unique(): a store should hold a cad_ref once; never let a duplicate there
                # multiply this batch's rows in the join below.
                stored = _canonical(stored).unique("cad_ref", keep="first")
                pair = good.join(stored, on="cad_ref", how="inner", suffix="_ref")
                refused.append(self._compare(pair, "the stored row", report))
                good = good.join(stored.select("cad_ref"), on="cad_ref", how="anti")

        # 2. Against rows staged by earlier batches and files of this run.
        if not good.is_empty() and self.seen:
            seen = pl.concat(self.seen).to_frame("_key")
            hit = good.join(seen, on="_key", how="semi")
            if not hit.is_empty():
                earlier = self._staged_rows(hit["_key"])
                pair = hit.join(earlier, on="_key", how="inner", suffix="_ref")
                refused.append(self._compare(pair, "an earlier row of this ingest", report))
                good = good.join(seen, on="_key", how="anti")

        # 3. Within this batch: the first occurrence of a cad_ref wins.
        if not good.is_empty() and good["_key"].n_unique() < good.height:
            good = good.with_columns(_k=pl.int_range(pl.len()).over("_key"))
            first = good.filter(pl.col("_k") == 0).drop("_k")
            later = good.filter(pl.col("_k") > 0).drop("_k")
            pair = later.join(
                first.select("_key", *COMPARE_FIELDS), on="_key", how="inner", suffix="_ref"
            )
            refused.append(self._compare(pair, "an earlier row of this ingest", report))
            good = first

        # 4. Stage what is new.
        if not good.is_empty():
            report.stored += self.txn.add(good.select(RECORD_COLUMNS))
            if not final:
                self._remember(good)

        refused_all = pl.concat(refused)
        if not refused_all.is_empty():
            first_ord = int(raw["_ord"][0])
            rows = raw.gather(refused_all["_ord"] - first_ord)
            bad.append(refused_all.with_columns(self._raw_json(rows, plan, fields).alias("raw")))

    @staticmethod
    def _compare(pair: pl.DataFrame, against: str, report: FileReport) -> pl.DataFrame:
        """Count rows equal to their `_ref` twin as duplicates; return the others' reasons."""
        if pair.is_empty():
            return pl.DataFrame(schema=_REFUSED)
        pair = pair.with_columns(_diff=_differing())
        report.duplicates += pair.filter(pl.col("_diff") == "").height
        return pair.filter(pl.col("_diff") != "").select(
            "_ord",
            (
                pl.lit(f"conflicts with {against}: cad_ref ")
                + pl.col("cad_ref")
                + pl.lit(" differs in ")
                + pl.col("_diff")
            ).alias("_reason"),
        )

    def _remember(self, staged: pl.DataFrame) -> None:
        """Keep the rows just staged so later batches and files can be compared with them.

        The newest batch stays in memory; older ones are spilled to this run's own Arrow IPC
        files in the transaction's staging directory (removed with it), so memory holds one
        batch however many come. Only the cad_ref index stays in memory for all of them.
        """
        if self._recent is not None:
            path = self.txn.staging / "ingest-seen" / f"{len(self._spilled):06d}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._recent.write_ipc(path, compression="uncompressed")
            self._spilled.append(path)
        self._recent = staged.select("_key", *COMPARE_FIELDS)
        self.seen.append(staged["_key"])

    def _staged_rows(self, keys: pl.Series) -> pl.DataFrame:
        """The rows this run staged for these cad_ref keys (COMPARE_FIELDS), memory or spill."""
        wanted = pl.DataFrame({"_key": keys.unique()}).lazy()
        parts = [pl.scan_ipc(self._spilled)] if self._spilled else []
        if self._recent is not None:
            parts.append(self._recent.lazy())
        return (
            pl.concat(parts)
            .join(wanted, on="_key", how="semi")
            .unique("_key", keep="first")
            .collect()
        )

    @staticmethod
    def _raw_json(rows: pl.DataFrame, plan: ExportPlan, fields: list[str]) -> pl.Series:
        """Each row's raw values as a JSON object keyed by the export's column names.

        Only mapped columns: dropped columns are never stored, not even in quarantine.
        """
        return rows.select(
            pl.struct(
                [pl.col(f).alias(plan.header[plan.positions[f]]) for f in fields]
            ).struct.json_encode()
        ).to_series()

    def _finish_csv(
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
        lines, reject_phys = physical_lines(
            src,
            self.mapping.delimiter,
            self.mapping.quote,
            accepted,
            rejects["line"].to_numpy().astype(np.int64),
        )
        lookup = pl.Series("line", lines, dtype=pl.Int64)
        qframe = self._quarantine_frame(plan, bad, lambda o: lookup.gather(o))
        if rejects.is_empty():
            return qframe
        n_cols = len(plan.header)
        rows = []
        for r in rejects.iter_rows(named=True):
            text = (r["csv_line"] or "").lstrip("\r\n")
            rows.append(
                {
                    "line": reject_phys[int(r["line"])],
                    "reason": _reject_reason(r, text, n_cols, self.mapping),
                    "raw": _json_line(text),
                }
            )
        rej = pl.DataFrame(rows, schema=_QROW)
        return pl.concat([qframe, rej]).sort("line")

    def _quarantine_frame(
        self, plan: ExportPlan, bad: list[pl.DataFrame], to_line: Callable[[pl.Series], pl.Series]
    ) -> pl.DataFrame:
        if not bad:
            return pl.DataFrame(schema=_QROW)
        frame = pl.concat(bad).sort("_ord")
        return pl.DataFrame(
            {
                "line": to_line(frame["_ord"]).cast(pl.Int64),
                "reason": frame["_reason"],
                "raw": frame["raw"],
            },
            schema=_QROW,
        )

    def _stage_quarantine(self, plan: ExportPlan, qframe: pl.DataFrame, report: FileReport) -> None:
        """Count every quarantined row; append only (sha256, line) pairs not yet recorded."""
        report.quarantined = qframe.height
        if qframe.is_empty():
            return
        report.reasons.update(reason_category(r) for r in qframe["reason"].to_list())
        keyed = qframe.with_columns(pl.lit(plan.sha256).alias("source_sha256"))
        known = self.known_quarantine(plan.sha256)
        if not known.is_empty():
            hits = keyed.join(known, on=["source_sha256", "line"], how="inner")
            if not hits.is_empty():
                self.existing_qfile = str(hits["_qfile"].max())
            keyed = keyed.join(known, on=["source_sha256", "line"], how="anti")
        for staged in self.quarantined_keys:
            keyed = keyed.join(staged, on=["source_sha256", "line"], how="anti")
        if keyed.is_empty():
            return
        self.quarantined_keys.append(keyed.select("source_sha256", "line"))
        report.quarantine_new = self.txn.add_quarantine(
            keyed.with_columns(pl.lit(str(plan.path)).alias("source_file")).select(
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
    return pl.DataFrame({"_line": [text]}).select(pl.struct("_line").struct.json_encode()).item()


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def ingest(
    store_root: str | Path,
    exports: Sequence[str | Path],
    mapping: Mapping | str | Path | None = None,
    *,
    progress: ProgressFn | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
    batch_rows: int = BATCH_ROWS,
) -> IngestReport:
    """Load CAD exports into a store in one all-or-nothing transaction.

    Args:
        store_root: the store directory; created if it does not exist yet.
        exports: CSV or Parquet files.
        mapping: a Mapping, a mapping file or bundled mapping name (None: the default mapping).
        progress: called as progress(rows_done, rows_total) while reading; rows_total is
            estimated from file sizes for CSV and may grow.
        lock_wait: seconds to wait for another writer before StoreLockedError.
        batch_rows: rows validated and staged together (bounds memory).

    Returns:
        The report: counts per file and in total, where the quarantine went.

    Raises:
        InputError: a bad input file (checked before the store is touched).
        ConfigError: a bad mapping file.
        StoreError: the store cannot be opened, or StoreLockedError if another writer holds it.
    """
    if not exports:
        raise InputError("no export files given")
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    plans = [inspect_export(e, mapping, hash_file=False) for e in exports]
    store = Store.open(store_root, create=True)
    with store.writer(wait=lock_wait) as txn, ThreadPoolExecutor(max_workers=1) as hasher:
        # Hashing is I/O and hashlib releases the GIL: it runs while the files are parsed.
        digests = [hasher.submit(file_sha256, p.path) for p in plans]
        run = _Run(txn, mapping, batch_rows, progress, sum(p.est_rows for p in plans))
        files = []
        for i, plan in enumerate(plans):
            run.last_file = i == len(plans) - 1
            report = run.ingest_file(i, plan, digests[i])
            txn.log_ingest(
                {
                    "file": plan.path.name,
                    "path": str(plan.path),
                    "sha256": plan.sha256,
                    "format": plan.kind,
                    "encoding": plan.encoding,
                    "mapping": mapping.name,
                    "rows_read": report.rows_read,
                    "stored": report.stored,
                    "duplicates": report.duplicates,
                    "quarantined": report.quarantined,
                }
            )
            files.append(report)
        txn_id = txn.txn
        pending = IngestReport(str(store.root), mapping.name, files, 0, txn_id, None)
        pending.check()  # before the commit: a bookkeeping error must never be published
        result = txn.commit()
    if progress is not None:
        progress(run.done, run.done)
    qfile = result.quarantine_file or run.existing_qfile
    root = str(store.root.resolve())
    qpath = str(Path(qfile).resolve()) if qfile else None
    return IngestReport(root, mapping.name, files, result.version, txn_id, qpath)


__all__ = [
    "BATCH_ROWS",
    "CITY_OF_LONDON_REASON",
    "ExportPlan",
    "FileReport",
    "IngestReport",
    "ingest",
    "inspect_export",
    "normalise",
    "physical_lines",
    "reason_category",
]
