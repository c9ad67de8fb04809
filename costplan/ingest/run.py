"""One ingest command: every file staged in one transaction, every row accounted for.

_Run holds what the command has staged so far (to tell duplicates and conflicts from new rows
across batches and files) and hands refused rows to its Quarantine; ingest() is the entry point
that takes the writer lock, runs the files and commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from costplan.errors import InputError
from costplan.ingest.dbsource import SqlSource, inspect_sql
from costplan.ingest.fill import check_targets, supply
from costplan.ingest.keys import MEMORY_KEYS, KeyIndex
from costplan.ingest.mapping import Mapping, load_mapping
from costplan.ingest.normalise import (
    _REFUSED,
    COMPARE_FIELDS,
    _canonical,
    _differing,
    normalise,
)
from costplan.ingest.preflight import ExportPlan, file_sha256, inspect_export
from costplan.ingest.quarantine import Quarantine, spool
from costplan.ingest.read import (
    _CSV_QUERY,
    ARROW_BATCH_ROWS,
    _batches,
    _connect,
    _readable_copy,
)
from costplan.ingest.report import FileReport, IngestReport
from costplan.profile import Profile, load_profile
from costplan.schema import RECORD_COLUMNS
from costplan.store import LOCK_WAIT_SECONDS, MANIFEST, Store, Transaction, writing
from costplan.store.spool import Spool

ProgressFn = Callable[[int, int], None]

# Rows validated together. Large enough to amortise the per-batch store lookup, small enough to
# bound memory (a 1M-row batch of CAD rows is ~200 MB in Polars).
BATCH_ROWS = 1_000_000
# Rows the transaction buffers before spilling them to its staging area, and keys the
# duplicate check holds in memory before its runs go there too (docs/store.md: the bound).
SPILL_ROWS = 1_000_000
KEYS_IN_MEMORY = MEMORY_KEYS


class _Run:
    """State of one ingest command: the transaction, what this run has staged, the counts."""

    def __init__(
        self,
        txn: Transaction,
        mapping: Mapping,
        batch_rows: int,
        progress: ProgressFn | None,
        total: int,
        profile: Profile,
    ) -> None:
        self.txn = txn
        self.mapping = mapping
        self.profile = profile
        self.batch_rows = batch_rows
        self.progress = progress
        self.total = max(total, 1)
        self.done = 0
        # cad_ref keys of every row staged by this run; past MEMORY_KEYS they go to disk.
        self.seen = KeyIndex(txn.staging / "ingest-keys", memory_keys=KEYS_IN_MEMORY)
        # The staged rows themselves are the transaction's (Transaction.staged): a reference
        # seen again is compared with them, so this run keeps no copy of what it staged.
        txn.spill_rows = SPILL_ROWS
        # "unique" references name no day: an earlier row may be in any year.
        self._dated = profile.reference.format != "unique"
        self.last_file = False  # set while the run reads its last file
        self.quarantine = Quarantine(txn, mapping)
        # The file being read: its areas and first and last day (its coverage).
        self.areas: set[str] = set()
        self.span: tuple[Any, Any] | None = None
        self.sources: dict[int, SqlSource] = {}  # open queries, by position (--from-sql)

    # -- progress ------------------------------------------------------------------------
    def tick(self, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            self.total = max(self.total, self.done)
            self.progress(self.done, self.total)

    # -- one file ------------------------------------------------------------------------
    def ingest_file(self, index: int, plan: ExportPlan, digest: Future[str]) -> FileReport:
        """Read, validate and stage one export; quarantine what it cannot store.

        `digest` is the file's sha256, computed in the background while the file is read.
        """
        report = FileReport(
            file=plan.given,
            path=plan.source,
            sha256="",
            format=plan.kind,
            encoding=plan.encoding,
            dropped_columns=list(plan.dropped),
        )
        bad = spool(self.txn, f"{index:04d}")  # _ord, _reason, _kinds, raw
        fields = sorted(plan.positions, key=plan.positions.__getitem__)
        con = _connect()
        try:
            if plan.kind == "csv":
                src = plan.path
                cp1252 = plan.encoding == "windows-1252"
                if cp1252 or plan.mixed_newlines:
                    src = self.txn.staging / "ingest" / f"{index:04d}.csv"
                    with writing(self.txn.store.root):
                        _readable_copy(plan.path, src, cp1252=cp1252, newlines=plan.mixed_newlines)
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
                    rejected, qframes = self.quarantine.finish_csv(plan, src, accepted, con, bad)
                except (duckdb.Error, pa.ArrowException) as exc:
                    # The reader thread may raise past the first batch, through Arrow.
                    msg = str(exc).strip().splitlines()[0]
                    raise InputError(f"{plan.given}: cannot parse as CSV: {msg}") from None
                report.rows_read = accepted + rejected
            elif plan.kind == "sql":
                accepted = self._consume(
                    self.sources[index].batches(fields, plan.positions), plan, fields, report, bad
                )
                qframes = self.quarantine.frames(bad, lambda o: o + 1)  # 1-based result row
                report.rows_read = accepted
            else:
                # Parquet columns are read by name through pyarrow: no SQL text at all.
                try:
                    pf = pq.ParquetFile(plan.path)
                    names = [plan.header[plan.positions[f]] for f in fields]
                    # A column may feed a field and a composed reference: read it once.
                    batches = (
                        pa.RecordBatch.from_arrays(
                            [rb.column(name) for name in names], names=fields
                        )
                        for rb in pf.iter_batches(
                            ARROW_BATCH_ROWS, columns=list(dict.fromkeys(names))
                        )
                    )
                    accepted = self._consume(batches, plan, fields, report, bad)
                except (OSError, pa.ArrowException) as exc:
                    msg = str(exc).strip().splitlines()[0]
                    raise InputError(f"{plan.given}: cannot read Parquet: {msg}") from None
                qframes = self.quarantine.frames(bad, lambda o: o + 1)
                report.rows_read = accepted
        finally:
            con.close()
        plan.sha256 = report.sha256 = digest.result()
        self.quarantine.stage(plan, qframes, report)
        report.check()
        return report

    def _consume(
        self,
        reader: Any,
        plan: ExportPlan,
        fields: list[str],
        report: FileReport,
        bad: Spool,
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
        bad: Spool,
        *,
        final: bool = False,
    ) -> None:
        """Validate one batch; stage the new rows; keep the refused ones for the quarantine.

        `final`: no batch follows in this run, so the new rows need not be remembered.
        """
        # The quarantine keeps the export's values as read, not as the mapping supplied them.
        supplied, defaulted = supply(raw, self.mapping)
        report.defaulted.update(defaulted)
        good, invalid = normalise(supplied, self.mapping, self.profile)
        refused: list[pl.DataFrame] = [invalid]
        if not good.is_empty():  # valid rows, duplicates included: what the file covers
            self.areas.update(good["borough"].unique().to_list())
            lo, hi = good["day"].min(), good["day"].max()
            self.span = (min(self.span[0], lo), max(self.span[1], hi)) if self.span else (lo, hi)

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
            known = self.seen.contains(good["_key"])
            if known.any():
                earlier = self._staged_rows(good.filter(known))
                # A text key is indexed by its hash: a hit with no staged row is a new row.
                known = known & good["cad_ref"].is_in(earlier["cad_ref"].implode())
                hit = good.filter(known)
                pair = hit.join(earlier, on="cad_ref", how="inner", suffix="_ref")
                refused.append(self._compare(pair, "an earlier row of this ingest", report))
                good = good.filter(~known)

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
            pl.lit([f"conflicts with {against}"]).alias("_kinds"),
        )

    def _remember(self, staged: pl.DataFrame) -> None:
        """Index the keys of the rows just staged so later batches and files find them."""
        with writing(self.txn.store.root):  # the index may spill a run to the staging area
            self.seen.add(staged["_key"])

    def _staged_rows(self, hit: pl.DataFrame) -> pl.DataFrame:
        """The rows this run staged for the references of `hit` (cad_ref, COMPARE_FIELDS)."""
        years = hit["year"].unique().to_list() if self._dated else None
        earlier = self.txn.staged(hit["cad_ref"], years)
        return earlier.select("cad_ref", *COMPARE_FIELDS).unique("cad_ref", keep="first")

    @staticmethod
    def _raw_json(rows: pl.DataFrame, plan: ExportPlan, fields: list[str]) -> pl.Series:
        """Each row's raw values as a JSON object keyed by the export's column names.

        Only mapped columns: dropped columns are never stored, not even in quarantine. A column
        read for two purposes (a field and a composed reference) appears once.
        """
        by_name: dict[str, str] = {}
        for f in fields:
            by_name.setdefault(plan.header[plan.positions[f]], f)
        return rows.select(
            pl.struct([pl.col(f).alias(name) for name, f in by_name.items()]).struct.json_encode()
        ).to_series()


def ingest(
    store_root: str | Path,
    exports: Sequence[str | Path],
    mapping: Mapping | str | Path | None = None,
    *,
    progress: ProgressFn | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
    batch_rows: int = BATCH_ROWS,
    period: tuple[Any, Any] | None = None,
    names: Sequence[str | None] | None = None,
    force: Profile | str | Path | None = None,
    from_sql: tuple[str, str] | None = None,
) -> IngestReport:
    """Load CAD exports into a store in one all-or-nothing transaction.

    Every row read is stored, a duplicate, or quarantined with every reason that applies.
    Tags and codes are stored in canonical form and must be in the label character set
    (letters and digits, spaces and _-./&()':+#, starting with a letter or digit, at most 64
    characters: `ingest.values.LABEL_RULE`, docs/store.md); a row with one outside it is
    quarantined. Mixed CR/LF line endings are read as LF (a stray CR as a space).

    Args:
        store_root: the store directory; created if it does not exist yet.
        exports: CSV or Parquet files.
        mapping: a Mapping, a mapping file or bundled mapping name (None: the default mapping).
        progress: called as progress(rows_done, rows_total) while reading; rows_total is
            estimated from file sizes for CSV and may grow.
        lock_wait: seconds to wait for another writer before StoreLockedError.
        batch_rows: rows validated and staged together (bounds memory).
        period: the (first, last) day the exports cover for the areas they hold, even days
            with no CADs; None: each file covers its own first to last day.
        names: what the report and the quarantine call each export (None: its path as
            given); "-" for one read from stdin through a temporary copy.
        force: the force profile (a Profile, a shipped name or a file) a new store belongs
            to; None: the store's own, or the MPS for a new store. An existing store's must
            match.
        from_sql: (query, connection URL): also ingest a query's rows (ingest.dbsource),
            after the files, in the same transaction.

    Returns:
        The report: counts per file and in total, where the quarantine went.

    Raises:
        InputError: a bad input file (checked before the store is touched).
        ConfigError: a bad mapping file.
        StoreError: the store cannot be opened, or StoreLockedError if another writer holds it.
    """
    if not exports and from_sql is None:
        raise InputError("no export files given", "name export files, or use --from-sql")
    profile = _store_profile(Path(store_root), force)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(
            mapping, call_sources=profile.call_sources, gradings=profile.gradings
        )
    # Every table target, constant and default, in the store's profile, before any row.
    check_targets(mapping, profile)
    shown = list(names) if names is not None else [None] * len(exports)
    plans = [
        inspect_export(e, mapping, hash_file=False, name=n)
        for e, n in zip(exports, shown, strict=True)
    ]
    sources = _open_sql(from_sql, mapping, plans)
    fresh = not (Path(store_root).expanduser() / MANIFEST).exists()
    try:
        store = Store.open(store_root, create=True, force=profile)
        try:
            return _ingest(store, plans, sources, mapping, progress, lock_wait, batch_rows, period)
        except BaseException:
            if fresh:  # a failed first ingest leaves no empty store behind
                store.discard_if_unused()
            raise
    finally:
        for source in sources.values():
            source.close()


def _ingest(
    store: Store,
    plans: list[ExportPlan],
    sources: dict[int, SqlSource],
    mapping: Mapping,
    progress: ProgressFn | None,
    lock_wait: float,
    batch_rows: int,
    period: tuple[Any, Any] | None,
) -> IngestReport:
    """ingest() once the inputs are checked and the store is open."""
    with store.writer(wait=lock_wait) as txn, ThreadPoolExecutor(max_workers=1) as hasher:
        # Hashing is I/O and hashlib releases the GIL: it runs while the files are parsed.
        # A query's rows are hashed as they are read.
        digests = [
            sources[i].digest if i in sources else hasher.submit(file_sha256, p.path)
            for i, p in enumerate(plans)
        ]
        profile = txn.base.profile  # the store's own, as committed
        est = sum(p.est_rows for p in plans)
        run = _Run(txn, mapping, batch_rows, progress, est, profile)
        run.sources = sources
        files = []
        for i, plan in enumerate(plans):
            run.last_file = i == len(plans) - 1
            run.areas, run.span = set(), None
            report = run.ingest_file(i, plan, digests[i])
            for covers in (period, run.span):
                if covers is not None and run.areas:
                    txn.declare_coverage(sorted(run.areas), *covers)
            txn.log_ingest(
                {
                    "file": plan.path.name,
                    "path": plan.source,
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
        pending = IngestReport(str(store.root), mapping.name, files, 0, txn_id, None, mapping)
        pending.check()  # before the commit: a bookkeeping error must never be published
        result = txn.commit()
    if progress is not None:
        progress(run.done, run.done)
    qfile = result.quarantine_file or run.quarantine.existing_qfile
    root = str(store.root.resolve())
    qpath = str(Path(qfile).resolve()) if qfile else None
    return IngestReport(root, mapping.name, files, result.version, txn_id, qpath, mapping)


def _store_profile(root: Path, force: Profile | str | Path | None) -> Profile:
    """The profile an ingest validates against: the store's, or `force` for a new store.

    Raises:
        StoreError: `force` is not the existing store's profile.
        ConfigError: `force` names no profile.
    """
    wanted = force if isinstance(force, Profile) or force is None else load_profile(force)
    if (root.expanduser() / MANIFEST).exists():
        store = Store.open(root, force=wanted)
        return store.snapshot().profile
    return wanted or load_profile(None)


def _open_sql(
    from_sql: tuple[str, str] | None, mapping: Mapping, plans: list[ExportPlan]
) -> dict[int, SqlSource]:
    """Run --from-sql's query (checked like a file's header, before the lock) as one more
    source after the files; its plan is appended to `plans`."""
    if from_sql is None:
        return {}
    query, url = from_sql
    plan, source = inspect_sql(query, url, mapping)
    plans.append(plan)
    return {len(plans) - 1: source}
