"""The local hour of many CADs without converting each one: UTC buckets that never straddle one.

The planner's breakdown counts an item's CADs by local day and hour of the clock. Converting
every `created_at` to the force's zone (ICU in DuckDB) costs more than the rest of the scan, so
`plan_item_counts.sql` groups by a UTC bucket first (whole seconds since the epoch divided by
`bucket_seconds`) and converts only the grouped buckets, a few per hour of the scope.

That is exact when no bucket holds two local hours, or both sides of a time window's end: the
bucket (a divisor of an hour) must divide every UTC offset the zone uses over the years in
scope, every instant it changes offset (since the epoch, which is aligned to the hour), and the
window's end. Then every local hour and day starts on a bucket boundary, so all the CADs of one
bucket share a local day, hour and minute-of-day side. For Europe/London that is a whole hour;
a zone with half-hour offsets (Asia/Kolkata) gets 30 minutes, a historical offset of odd
seconds (London's 1847 mean time) a few seconds: still exact, only finer.

The zone's offsets and changes come from zoneinfo (Python's time-zone database), sampled every
hour over the days read (and a day either side) with the exact second of each change found by
bisection; a change and its reversal less than an hour apart would be missed (no zone has one).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from math import gcd
from zoneinfo import ZoneInfo

HOUR = 3600
_UTC = dt.UTC


def _offset(zone: ZoneInfo, ts: int) -> int:
    """The zone's UTC offset, in whole seconds, at the instant `ts` (seconds since the epoch)."""
    off = dt.datetime.fromtimestamp(ts, zone).utcoffset()
    assert off is not None  # a ZoneInfo always has one
    return int(off.total_seconds())


@cache
def span_bucket(zone_name: str, first: dt.date, last: dt.date) -> int:
    """The largest divisor of an hour dividing every offset and offset change of the zone
    from a day before `first` to two days after `last` (the local days' instants and more;
    cached: a zone's rules do not change in a run)."""
    zone = ZoneInfo(zone_name)
    start = int(dt.datetime.combine(first, dt.time(), tzinfo=_UTC).timestamp()) - 86_400
    end = int(dt.datetime.combine(last, dt.time(), tzinfo=_UTC).timestamp()) + 3 * 86_400
    before = _offset(zone, start)
    bucket = gcd(HOUR, before)
    for ts in range(start + HOUR, end + 1, HOUR):
        now = _offset(zone, ts)
        if now != before:
            # The first second at the new offset, in (ts - HOUR, ts].
            lo, hi = ts - HOUR, ts
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == before:
                    lo = mid
                else:
                    hi = mid
            bucket = gcd(bucket, gcd(now, hi % HOUR))
            before = now
    return bucket


def bucket_seconds(
    zone_name: str, first: dt.date, last: dt.date, minute_to: int | None = None
) -> int:
    """The UTC bucket (seconds) within which every CAD of the local days first..last shares
    a local day and hour, and falls on one side of a window ending at `minute_to` minutes
    after midnight (None: no window end to split at)."""
    bucket = span_bucket(zone_name, first, last)
    if minute_to is not None:
        bucket = gcd(bucket, minute_to * 60)
    return bucket
