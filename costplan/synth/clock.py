"""London days and hours: UTC instants of wall-clock times, hour slots, bank holidays.

Rows are drawn per (London day, elapsed hour since midnight), so DST days have 23 or 25
slots and every drawn instant is real; timestamps are microseconds since the epoch (UTC).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

from costplan import schema

_US_PER_HOUR = 3_600_000_000
_SLOTS = 25  # elapsed hours in the longest (autumn DST) London day


def _utc_us(day: dt.date, time: dt.time = dt.time(0)) -> int:
    """Microseconds since the epoch of a London wall-clock time (first fold if ambiguous)."""
    local = dt.datetime.combine(day, time, tzinfo=schema.LONDON)
    return int(local.timestamp()) * 1_000_000 + local.microsecond


def _slots(days: list[dt.date], nxt: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC start of each (day, elapsed-hour) slot, its London wall-clock hour, and validity.

    Slots are elapsed hours since London midnight, so a DST day has 23 or 25 valid slots and
    every timestamp drawn inside a slot is a real instant.
    """
    day_start = np.array([_utc_us(d) for d in [*days, nxt]], dtype=np.int64)
    slot_start = day_start[:-1, None] + np.arange(_SLOTS, dtype=np.int64) * _US_PER_HOUR
    valid = slot_start < day_start[1:, None]
    wall = np.zeros(slot_start.shape, dtype=np.int64)
    for i, s in zip(*np.nonzero(valid), strict=True):
        wall[i, s] = dt.datetime.fromtimestamp(slot_start[i, s] / 1e6, schema.LONDON).hour
    return day_start, slot_start, np.where(valid, wall, -1)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    """England & Wales weekday bank holidays (calibration.md §6, `holidays` package)."""
    import holidays  # local: only the generator needs it

    return frozenset(
        d for d in holidays.country_holidays("GB", subdiv="ENG", years=year) if d.weekday() < 5
    )


def _is_bank_holiday(day: dt.date) -> bool:
    """True on an England & Wales weekday bank holiday."""
    return day in _bank_holidays(day.year)
