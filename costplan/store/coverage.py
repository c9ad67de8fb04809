"""What the archive covers: per area, the days it holds, and the gaps.

A count of 0 means "none held" only for days the archive covers. Coverage is recorded in the
manifest by every write: `generate` declares the period it generated for each area, `ingest`
the span of each export file (or the period given with `ingest --period`, which covers every
day of it, even a day with no CADs) for the areas the file holds. A store written before
coverage was recorded reads its coverage from its partitions' first and last days.

The verdict for a scope is one of:

* covered      every area holds every day asked about;
* partial      some days or areas are missing: a count is a lower bound, and the missing
               days must be looked for elsewhere;
* not_covered  nothing asked about is in the archive: no decision can rest on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Days = tuple[dt.date, dt.date]  # an inclusive range of days

COVERED = "covered"
PARTIAL = "partial"
NOT_COVERED = "not_covered"
_ONE_DAY = dt.timedelta(days=1)


def merge(ranges: Iterable[Days]) -> tuple[Days, ...]:
    """Overlapping or adjacent ranges joined, in order."""
    out: list[Days] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + _ONE_DAY:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def clip(ranges: Iterable[Days], first: dt.date, last: dt.date) -> tuple[Days, ...]:
    """The parts of `ranges` inside [first, last]."""
    return tuple((max(lo, first), min(hi, last)) for lo, hi in ranges if lo <= last and hi >= first)


def gaps(ranges: Sequence[Days], first: dt.date, last: dt.date) -> tuple[Days, ...]:
    """The days of [first, last] that `ranges` (merged) do not hold."""
    out: list[Days] = []
    day = first
    for lo, hi in clip(ranges, first, last):
        if lo > day:
            out.append((day, lo - _ONE_DAY))
        day = max(day, hi + _ONE_DAY)
    if day <= last:
        out.append((day, last))
    return tuple(out)


def span_text(ranges: Iterable[Days]) -> str:
    """ "2020-01-01 to 2020-12-31, 2022-03-01" for people."""
    return ", ".join(
        lo.isoformat() if lo == hi else f"{lo.isoformat()} to {hi.isoformat()}" for lo, hi in ranges
    )


@dataclass(frozen=True)
class Verdict:
    """Whether the archive holds what a scope asks about."""

    status: str  # COVERED, PARTIAL or NOT_COVERED
    first: dt.date
    last: dt.date
    missing: Mapping[str, tuple[Days, ...]] = field(default_factory=dict)  # area -> gaps

    @property
    def covered(self) -> bool:
        return self.status == COVERED

    def describe(self) -> str:
        """One plain sentence for reports and letters."""
        if self.status == COVERED:
            return "The archive holds every day asked about."
        missing = "; ".join(f"{area}: {span_text(days)}" for area, days in self.missing.items())
        if self.status == NOT_COVERED:
            return f"The archive holds none of the days asked about ({missing})."
        return f"The archive does not hold {missing}; counts cover only the days it holds."

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "missing": {
                area: [[lo.isoformat(), hi.isoformat()] for lo, hi in days]
                for area, days in self.missing.items()
            },
            "description": self.describe(),
        }


@dataclass(frozen=True)
class Coverage:
    """Per area, the merged ranges of days the archive holds.

    Attributes:
        by_area: area name -> merged day ranges.
        declared: whether writes recorded it (False: read from the partitions' day spans).
    """

    by_area: Mapping[str, tuple[Days, ...]]
    declared: bool = True

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Coverage:
        """From the manifest's `coverage` object: {area: [[from, to], ...]}."""
        return cls(
            {
                area: merge(
                    (dt.date.fromisoformat(lo), dt.date.fromisoformat(hi)) for lo, hi in ranges
                )
                for area, ranges in doc.items()
            }
        )

    def to_doc(self) -> dict[str, list[list[str]]]:
        return {
            area: [[lo.isoformat(), hi.isoformat()] for lo, hi in ranges]
            for area, ranges in sorted(self.by_area.items())
            if ranges
        }

    def add(self, areas: Iterable[str], first: dt.date, last: dt.date) -> Coverage:
        """This coverage with [first, last] held for `areas` too."""
        out = dict(self.by_area)
        for area in areas:
            out[area] = merge([*out.get(area, ()), (first, last)])
        return Coverage(out, self.declared)

    def verdict(self, areas: Sequence[str], first: dt.date, last: dt.date) -> Verdict:
        """Covered, partly covered or not covered, for `areas` over [first, last]."""
        missing = {
            area: hole for area in areas if (hole := gaps(self.by_area.get(area, ()), first, last))
        }
        if not missing:
            return Verdict(COVERED, first, last)
        days = (last - first).days + 1
        held_any = any(
            sum((hi - lo).days + 1 for lo, hi in hole) < days for hole in missing.values()
        ) or len(missing) < len(areas)
        return Verdict(PARTIAL if held_any else NOT_COVERED, first, last, missing)

    def summary(self) -> list[dict[str, Any]]:
        """Per area: the ranges held, the gaps between them, and the days held."""
        out = []
        for area, ranges in sorted(self.by_area.items()):
            if not ranges:
                continue
            between = gaps(ranges, ranges[0][0], ranges[-1][1])
            out.append(
                {
                    "area": area,
                    "held": [[lo.isoformat(), hi.isoformat()] for lo, hi in ranges],
                    "gaps": [[lo.isoformat(), hi.isoformat()] for lo, hi in between],
                    "days": sum((hi - lo).days + 1 for lo, hi in ranges),
                }
            )
        return out


@dataclass(frozen=True)
class CoverageReport:
    """What `costplan coverage` shows: per area the days held and the gaps; the store."""

    coverage: Coverage
    store: str
    manifest_version: int
    rows: int
    last_ingest: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        last = self.last_ingest
        return {
            "store": self.store,
            "manifest_version": self.manifest_version,
            "rows": self.rows,
            "recorded": self.coverage.declared,
            "last_ingest": (
                {k: last.get(k) for k in ("file", "at", "stored", "duplicates", "quarantined")}
                if last
                else None
            ),
            "areas": self.coverage.summary(),
        }
