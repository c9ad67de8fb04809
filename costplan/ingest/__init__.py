"""Load a force's CAD exports (CSV or Parquet) into the store without ever losing a row.

Every row read ends in exactly one of three places, and the report proves it
(rows_read = stored + duplicates + quarantined, per file and in total, checked before commit):

* stored: a valid row whose cad_ref is new to the store and to this run;
* duplicates: an exact copy (after normalisation) of a stored row or of an earlier row of the
  same run; skipped, so re-ingesting an export is idempotent;
* quarantined: refused, with every reason that applies (each counted in the report), the
  file, the 1-based physical line (the header is line 1; for Parquet, the 1-based row number)
  and the raw values, in the store's quarantine file.

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

Modules, in the order a row meets them:

* mapping: a force's mapping file (column names, timestamp formats, value tables, constants
  and defaults); template: references composed from several columns;
* preflight: ExportPlan and inspect_export(), the checks before the writer lock;
* read: transcoding, DuckDB's CSV queries, batches and the prefetch thread;
* fill: what the mapping supplies (constants, defaults, value tables, composed references),
  applied to each batch before validation;
* values: column-at-a-time parsers (cad_ref, timestamps, lists, boroughs, codes);
* normalise: normalise() and the refusal reasons, the canonical form rows are compared in;
* lines: physical line numbers of CSV records, for the quarantine;
* quarantine: refused rows with their line and reason, each (sha256, line) staged once;
* run: the run's state (new rows, duplicates, conflicts) and ingest(), the entry point;
* report: FileReport and IngestReport, and the check that every row is accounted for.
"""

from __future__ import annotations

from costplan.ingest.report import FileReport, IngestReport
from costplan.ingest.run import ingest

__all__ = ["FileReport", "IngestReport", "ingest"]
