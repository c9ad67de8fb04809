"""What a transaction reads while it writes: the stored rows an ingest compares with, and the
rows it has itself staged so far (split from store/transaction.py, Transaction's base).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from costplan import schema
from costplan._deps import lazy
from costplan.schema import RECORD_COLUMNS
from costplan.store.faults import reading

if TYPE_CHECKING:
    import polars as pl

    from costplan.store import Store
    from costplan.store.manifest import Snapshot
else:
    pl = lazy("polars")


class TransactionReads:
    """Transaction's reads (a base class: the fields are the Transaction's)."""

    store: Store
    base: Snapshot
    _chunks: dict[str, list[Path]]
    _buffer: dict[str, list[pl.DataFrame]]

    def settle(self) -> None:
        """Wait for staged rows being written (Transaction overrides this)."""

    def existing(self, cad_refs: pl.Series, years: Iterable[int]) -> pl.DataFrame:
        """Stored rows whose cad_ref is in cad_refs, searched in the given years (all boroughs).

        cad_refs are unique per local day (or per force), so the year of a reference bounds
        where it can be.
        """
        files = self.base.files(years=set(years))
        if not files or cad_refs.is_empty():
            return pl.DataFrame(schema=schema.RECORD_SCHEMA)
        wanted = pl.DataFrame({"cad_ref": cad_refs.unique()})
        scan = _scan(files)
        # A reference names its London day ("/25JUN20") and a stored row's `day` always equals
        # it (ingest quarantines a mismatch; generate mints it so). Bounding the search by those
        # days lets the reader skip row groups (files are sorted by time): re-ingesting a week
        # does not read the whole year. If any reference does not parse, search everything.
        # Only the MPS style names a day so; other profiles' references are searched everywhere.
        dated = self.base.profile.reference.format == "serial/DDMONYY"
        days = wanted["cad_ref"].str.slice(-7).unique().str.to_date("%d%b%y", strict=False)
        if dated and days.null_count() == 0:
            scan = scan.filter(pl.col("day").is_between(days.min(), days.max()))
        with reading(self.store.root, files):
            return (
                scan.join(wanted.lazy(), on="cad_ref", how="semi").select(RECORD_COLUMNS).collect()
            )

    def staged(self, cad_refs: pl.Series, years: Iterable[int] | None = None) -> pl.DataFrame:
        """Rows this transaction has added (buffered or spilled, not yet sealed) whose cad_ref
        is in `cad_refs`, searched in the partitions of `years` (None: every year).

        An ingest compares a repeated reference with the row it staged before through this,
        so it keeps no copy of its staged rows of its own.
        """
        self.settle()
        wanted = set(years) if years is not None else None
        refs = cad_refs.unique().implode()
        parts: list[pl.LazyFrame] = []
        files: list[str] = []
        for key in sorted(set(self._chunks) | set(self._buffer)):
            borough, year = key.split("|")
            if wanted is not None and int(year) not in wanted:
                continue
            pieces = [pl.concat(self._buffer[key]).lazy()] if self._buffer.get(key) else []
            if self._chunks.get(key):
                chunks = [str(c) for c in self._chunks[key]]
                files += chunks
                pieces.append(pl.scan_ipc(chunks))
            for piece in pieces:
                parts.append(
                    piece.filter(pl.col("cad_ref").is_in(refs)).with_columns(
                        borough=pl.lit(borough, pl.String()), year=pl.lit(int(year), pl.Int16())
                    )
                )
        if not parts:
            return pl.DataFrame(schema=schema.RECORD_SCHEMA)
        with reading(self.store.root, files):
            return pl.concat(parts).select(RECORD_COLUMNS).collect().cast(schema.RECORD_SCHEMA)


def _scan(files: list[str]) -> pl.LazyFrame:
    """A Polars scan of stored files with the partition keys restored from the paths."""
    return pl.scan_parquet(
        files,
        hive_partitioning=True,
        hive_schema={"borough": pl.String(), "year": pl.Int16()},
    )
