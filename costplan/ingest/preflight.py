"""Pre-flight: everything that can be wrong with an input, checked before the writer lock.

A bad command (missing file, directory, extension, empty, header without the required columns)
never touches the store. The same pass decides each CSV's encoding (UTF-8 with or without BOM,
else Windows-1252) and matches the export's columns to the mapping.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from costplan.errors import InputError
from costplan.ingest.fill import ref_column
from costplan.ingest.mapping import FIELDS, Mapping
from costplan.ingest.read import _CP1252_TABLE, READ_CHUNK_BYTES
from costplan.schema import REQUIRED_COLUMNS

SUPPORTED_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
HEADER_PROBE_BYTES = 1 << 20


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
    # CR and LF line endings mixed: read from a copy with every line ending made LF (ingest/read)
    mixed_newlines: bool = False

    @property
    def source(self) -> str:
        """Where the rows came from, as the quarantine and the ingest log record it: the
        absolute path, or "-" for stdin (read through a temporary copy that is then gone)."""
        return "-" if self.given == "-" else str(self.path)


def inspect_export(
    given: str | Path, mapping: Mapping, *, hash_file: bool = True, name: str | None = None
) -> ExportPlan:
    """Check one input file and learn its encoding, header and (optionally) hash. Never writes.

    `name` is what reports and the quarantine call the file (default: `given` as written);
    an export piped in on stdin is read from a temporary copy but named "-".

    Raises:
        InputError: missing, a directory, unsupported extension, empty, unreadable, or a header
            without the columns the mapping requires.
    """
    name = str(given) if name is None else name
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


def _scan_bytes(path: Path) -> tuple[bool, bool]:
    """(valid UTF-8, mixed line endings) of a file, in one streamed pass.

    Pure-ASCII chunks skip the decoder. Line endings are mixed when the file holds a carriage
    return that does not end a CRLF line while LF ends lines (a stray CR in an LF file), or
    lines ending in a bare LF among CRLF lines: DuckDB's strict CSV reader refuses either.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    cr = lf = crlf = 0
    bare_lf = False  # an LF in a chunk with no CR (and none before it): never part of a CRLF
    last = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_CHUNK_BYTES):
            n_cr = chunk.count(b"\r")
            joined = last == b"\r" and chunk[:1] == b"\n"
            if n_cr or joined:
                cr += n_cr
                lf += chunk.count(b"\n")
                crlf += chunk.count(b"\r\n") + joined
            elif not bare_lf:
                # An LF file (the usual kind) is counted no further: a bare LF anywhere makes
                # any CR elsewhere mixed, which is all the counts below decide.
                bare_lf = b"\n" in chunk
            last = chunk[-1:]
            if not utf8 or (chunk.isascii() and not decoder.getstate()[0]):
                continue
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    # All LF, all CRLF, or all bare CR (old Mac files, which DuckDB reads as they are).
    mixed = bool(cr) and (bool(lf) or bare_lf) and (bare_lf or not cr == lf == crlf)
    return utf8, mixed


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

    def find(src: str) -> int | None:
        hits = exact.get(src) or folded.get(src.casefold()) or []
        if len(hits) > 1:
            raise InputError(
                f"{name}: column {src!r} appears {len(hits)} times in the header",
                "rename or remove the duplicates",
            )
        return hits[0] if hits else None

    for fld in FIELDS:
        if mapping.read_from_export(fld) and (at := find(mapping.source(fld))) is not None:
            positions[fld] = at
    if mapping.reference is not None:
        for j, col in enumerate(mapping.reference.columns):
            at = find(col)
            if at is None:
                raise InputError(
                    f"{name}: header lacks column {col!r}, which the reference template "
                    f"{mapping.reference.template!r} of mapping {mapping.name!r} reads",
                    "check the column names in [reference] against the export's header",
                    field="mapping",
                )
            positions[ref_column(j)] = at
    missing = [f for f in REQUIRED_COLUMNS if f not in positions and not mapping.supplies(f)]
    if missing:
        wanted = ", ".join(
            f"{mapping.source(f)!r}" + (f" (for {f})" if mapping.source(f) != f else "")
            for f in missing
        )
        shown = first_line if len(first_line) <= 80 else first_line[:77] + "..."
        expects = [f for f in REQUIRED_COLUMNS if not mapping.supplies(f)]
        raise InputError(
            f"{name}: header lacks required column(s) {wanted}; first line is {shown!r}",
            f"does the file start with a header row? mapping {mapping.name!r} expects "
            f"{', '.join(repr(mapping.source(f)) for f in expects)}; use a mapping "
            "for other column names, or give the field a constant or a default",
            field="mapping",
        )
    used = set(positions.values())
    dropped = tuple(col for i, col in enumerate(header) if i not in used)
    return positions, dropped


# A byte-order mark decoded as Windows-1252 (or Latin-1) and encoded as UTF-8 again, once or
# twice: what a tool that "converts to UTF-8" a file that already was makes of its BOM. Read
# as text it would become part of the first column's name ('ï»¿cad_ref').
_MANGLED_BOMS = (
    codecs.BOM_UTF8.decode("cp1252").encode("utf-8").decode("cp1252"),  # 'Ã¯Â»Â¿'
    codecs.BOM_UTF8.decode("cp1252"),  # 'ï»¿' (the bytes C3 AF C2 BB C2 BF in UTF-8)
    "\ufeff",  # a BOM left after one layer was removed
)


def _strip_mangled_bom(text: str) -> str:
    """The header text without byte-order marks that were encoded twice (or three times).

    DuckDB skips the header line itself, so only the header's first name needs the repair.
    """
    stripped = True
    while stripped:
        stripped = False
        for mark in _MANGLED_BOMS:
            if text.startswith(mark):
                text, stripped = text[len(mark) :], True
    return text


def _inspect_csv(name: str, path: Path, size: int, mapping: Mapping) -> ExportPlan:
    with open(path, "rb") as fh:
        head = fh.read(HEADER_PROBE_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(
            f"{name}: file is UTF-16 encoded", "save it as 'CSV UTF-8' or Windows-1252 CSV"
        )
    utf8, mixed = _scan_bytes(path)
    bom = head.startswith(codecs.BOM_UTF8)
    if utf8:
        encoding = "utf-8-sig" if bom else "utf-8"
        text = head.decode("utf-8-sig", errors="ignore")  # a probe may end mid-character
    else:
        encoding = "windows-1252"
        text = codecs.charmap_decode(head[3:] if bom else head, "strict", _CP1252_TABLE)[0]
    text = _strip_mangled_bom(text)
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
        name,
        path,
        "csv",
        size,
        "",
        encoding,
        header,
        positions,
        dropped,
        est_rows=max(est - 1, 0),
        mixed_newlines=mixed,
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
