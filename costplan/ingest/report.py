"""What one ingest did, per file and in total, and the check that no row went unaccounted for.

The report is built while the run stages rows and checked before the commit, so a bookkeeping
error is never published.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from costplan.ingest.mapping import Mapping


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
    reasons: Counter[str] = field(default_factory=Counter)  # a row counts once per reason
    defaulted: Counter[str] = field(default_factory=Counter)  # field -> rows given its default

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
            "defaulted": dict(sorted(self.defaulted.items())),
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
    mapping_used: Mapping | None = None  # for the constants and defaults it supplied

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
        defaulted: Counter[str] = Counter()
        for f in self.files:
            reasons.update(f.reasons)
            defaulted.update(f.defaulted)
        m = self.mapping_used
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
            # What the mapping supplied, so no value it gave is taken for exported data.
            "constants": dict(sorted(m.constants.items())) if m else {},
            "defaults": {
                f: {"value": v, "rows": defaulted.get(f, 0)}
                for f, v in sorted((m.defaults if m else {}).items())
            },
            "dropped_columns": self.dropped_columns,
            "files": [f.to_dict() for f in self.files],
        }
