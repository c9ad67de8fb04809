"""UME events: how many start each London day, and the CADs each one produces.

Generic events follow the calibration's daily rates; planted events (the example request's)
are the same CADs at a fixed place and time. Their rows are drawn before the month's merge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from costplan.synth.calibration import _CODE_INDEX, TAGS, Calibration
from costplan.synth.clock import _US_PER_HOUR, _is_bank_holiday
from costplan.synth.luts import _draw_given, _Luts, _u16
from costplan.synth.tables import _Tables

_UME_CODE = _CODE_INDEX["UME"]
_NOISE_CODE = _CODE_INDEX["NOISE"]
_UME_BIT = 1 << TAGS.index("UME")


def _ume_events_per_day(cal: Calibration, days: list[dt.date], nxt: dt.date) -> np.ndarray:
    """Expected UME events per London day (calibration.md §7.4)."""
    following = [*days[1:], nxt]
    out = np.empty(len(days))
    wave = cal.wave
    for i, day in enumerate(days):
        dow = day.weekday()
        if wave is not None and wave.start <= day <= wave.end:
            rate = wave.events_per_day * wave.weekday[dow]
            if day == wave.peak_day:
                rate = wave.peak_events
        else:
            rate = cal.ume_events_per_day * cal.ume_weekday[dow]
            summer = day.month in cal.ume_boost_months and dow in cal.ume_boost_days
            if summer or (day.month, day.day) == (10, 31) or _is_bank_holiday(following[i]):
                rate *= cal.ume_boost_factor
        out[i] = rate
    return out


@dataclass
class _Ume:
    """CADs of UME events, generated before the month's sort (they are few)."""

    t: np.ndarray
    borough: np.ndarray
    source: np.ndarray
    grade: np.ndarray
    opening: np.ndarray
    closing: np.ndarray
    tags: np.ndarray
    summary: np.ndarray
    head: np.ndarray  # index within this block, -1 if none
    event: np.ndarray  # event number within this block


def _ume_cads(
    rng: np.random.Generator,
    cal: Calibration,
    luts: _Luts,
    tables: _Tables,
    start: np.ndarray,
    borough: np.ndarray,
    n_cads: np.ndarray,
    loc: np.ndarray,
    alt: tuple[np.ndarray, np.ndarray],
    shares: tuple[float, float],
    month_end: int,
) -> _Ume:
    """The CADs of UME events: the first at the start, the rest within the window.

    Args:
        rng: the random stream.
        cal: the calibration.
        luts: draw tables for the year.
        tables: text tables.
        start: first-CAD instant per event (us since the epoch).
        borough: borough index per event.
        n_cads: CADs per event.
        loc: location index per event (linked CADs are reported from it).
        alt: (first, count) location range per event for unlinked CADs.
        shares: (tagged share, linked share of the later CADs).
        month_end: first instant of the next month; CADs stay before it.

    Returns:
        The CADs, in event order.
    """
    tagged_share, linked_share = shares
    n = int(n_cads.sum())
    event = np.repeat(np.arange(start.size, dtype=np.int32), n_cads)
    first = np.concatenate([[0], np.cumsum(n_cads)[:-1]]).astype(np.int32)
    later = np.arange(n) > first[event]
    window = int(cal.ume_window_hours * _US_PER_HOUR)
    span = np.minimum(window, month_end - 1 - start[event])
    # Squared uniform: callers cluster early in the event.
    t = start[event] + (later * rng.random(n) ** 2 * span).astype(np.int64)
    linked = later & (rng.random(n) < linked_share)
    tagged = rng.random(n) < tagged_share

    source = np.where(
        later, luts.ume_later_sources[_u16(rng, n)], luts.ume_first_sources[_u16(rng, n)]
    )
    grade = _draw_given(rng, luts.grades, source)
    opened_ume = rng.random(n) < cal.ume_tagged_opening_ume_share
    opening = np.where(
        tagged,
        np.where(opened_ume, _UME_CODE, _NOISE_CODE),
        luts.ume_untagged_codes[_u16(rng, n)],
    ).astype(np.int8)
    closing = np.where(tagged, _UME_CODE, opening).astype(np.int8)
    tags = _draw_given(rng, luts.tags, opening) | np.where(tagged, _UME_BIT, 0).astype(np.int8)

    (tg_first, tg_n), (un_first, un_n) = tables.ume_tagged, tables.ume_untagged
    phrase = np.where(
        tagged,
        tg_first + rng.integers(0, tg_n, n),
        un_first + rng.integers(0, un_n, n),
    )
    # Unlinked later CADs come from elsewhere nearby (the MPS "not always linked" caveat).
    alt_first, alt_count = alt
    other = alt_first[event] + (rng.random(n) * alt_count[event]).astype(np.int64)
    where = np.where(later & ~linked, other, loc[event])
    return _Ume(
        t=t,
        borough=borough[event].astype(np.int8),
        source=source.astype(np.int8),
        grade=grade,
        opening=opening,
        closing=closing,
        tags=tags,
        summary=((phrase * tables.n_locs + where) * tables.n_fp).astype(np.int32),
        head=np.where(linked, first[event], -1).astype(np.int32),
        event=event,
    )
