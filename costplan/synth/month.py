"""One calendar month of CADs as numpy arrays, sorted by created_at.

The generator draws whole calendar months at once: Poisson counts per (London day, hour
slot), time-ordered offsets within each slot, boroughs by share, linked repeat calls and UME
events merged in, then per-row categorical draws through lookup tables. Each month has its own
random streams derived from (seed, year, month), so a month's rows never depend on the
requested range or the borough filter.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np

from costplan import schema
from costplan.synth.calibration import Calibration
from costplan.synth.clock import _US_PER_HOUR, _is_bank_holiday, _slots, _utc_us
from costplan.synth.events import _Ume, _ume_cads, _ume_events_per_day
from costplan.synth.luts import _draw_given, _lut, _luts, _threshold, _u16
from costplan.synth.tables import _GENERIC_LOCATIONS, _tables_for


@dataclass
class _Month:
    """A generated month, sorted by created_at (all boroughs, every day of the month)."""

    days: list[dt.date]
    t: np.ndarray  # created_at, microseconds since the epoch (UTC)
    day: np.ndarray  # index into `days`
    serial: np.ndarray
    borough: np.ndarray
    source: np.ndarray
    grade: np.ndarray
    opening: np.ndarray
    closing: np.ndarray
    tags: np.ndarray  # bitmask over TAGS
    summary: np.ndarray  # index into _Tables.summaries
    head: np.ndarray  # row of the linked-to CAD, -1 if none
    event: np.ndarray  # UME event number, -1 if none
    event_labels: list[str]


def _day_profile(cal: Calibration, days: list[dt.date], nxt: dt.date) -> tuple[np.ndarray, ...]:
    """Per-day expected London CADs and the 24 wall-clock hour weights (rows sum to 1)."""
    year = days[0].year
    base = cal.daily_volume(year) * cal.month[days[0].month - 1]
    volume = np.empty(len(days))
    weights = np.tile(np.array(cal.hour_profile), (len(days), 1))
    wm_hours, le_hours = list(cal.weekend_morning_hours), list(cal.late_evening_hours)
    following = [*days[1:], nxt]
    for i, day in enumerate(days):
        dow = day.weekday()
        factor = base * cal.weekday[dow]
        holiday = _is_bank_holiday(day)
        eve = cal.bank_holiday_night_profile and _is_bank_holiday(following[i])
        if holiday:
            factor *= cal.bank_holiday_factor
        if dow in cal.weekend_morning_days or (holiday and cal.bank_holiday_night_profile):
            weights[i, wm_hours] *= cal.weekend_morning_factor
        if dow in cal.late_evening_days or eve:
            weights[i, le_hours] *= cal.late_evening_factor
        for sp in cal.special_days:
            if sp.applies(day):
                factor *= sp.factor
                weights[i, list(sp.hours)] *= sp.hour_factor
        for period in cal.periods:
            if period.start <= day <= period.end:
                factor *= period.factor
        volume[i] = factor
    weights /= weights.sum(axis=1, keepdims=True)
    return volume, weights


def _borough_days(
    seed: int, year: int, month: int, n_days: int, cal: Calibration
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per (day, borough) demand weights (share x gamma day factor) and per-day draw tables.

    A gamma factor of mean 1 and coefficient of variation `cv` makes a borough-day's count
    negative binomial: variance = mean + (cv x mean)^2. On its own stream, so the factors of a
    month never depend on anything else drawn. cv = 0 gives the plain shares (and no tables).
    """
    shares = np.array(cal.borough_shares)
    cv = cal.day_dispersion_cv
    if cv <= 0:
        return np.tile(shares, (n_days, 1)), None
    grng = _month_rng(seed, year, month, 4)
    k = 1.0 / (cv * cv)
    weights = shares * grng.gamma(k, 1.0 / k, (n_days, shares.size))
    return weights, np.stack([_lut(w) for w in weights])


def _sorted_offsets(rng: np.random.Generator, counts: np.ndarray, width: int) -> np.ndarray:
    """Sorted uniform offsets in [0, width) for consecutive groups of `counts` rows.

    The k-th of c sorted uniforms is distributed as the k-th of c + 1 exponential gaps'
    partial sums over their total; drawing them that way gives rows in time order without
    sorting the month (an argsort was the single largest cost).
    """
    gaps = np.cumsum(rng.standard_exponential(int(counts.sum()) + counts.size))
    ends = np.cumsum(counts + 1) - 1  # each group's last (extra) gap
    before = np.concatenate([[0.0], gaps[ends[:-1]]])  # cumulative sum before each group
    scale = width / (gaps[ends] - before)
    keep = np.ones(gaps.size, dtype=bool)
    keep[ends] = False
    offsets = (gaps[keep] - np.repeat(before, counts)) * np.repeat(scale, counts)
    return np.minimum(offsets.astype(np.int64), width - 1)


def _month_rng(seed: int, year: int, month: int, stream: int) -> np.random.Generator:
    """An independent random stream per (seed, month, purpose), so months never interact."""
    return np.random.default_rng(np.random.SeedSequence([seed, year, month, stream]))


def _generate_month(seed: int, year: int, month: int, cal: Calibration) -> _Month:
    """All CADs created in one calendar month (London time), sorted by created_at.

    Primaries are drawn already in time order; linked followers and UME rows (about an eighth
    of the month) are sorted and merged in. The per-row attributes of ordinary CADs are
    independent draws, so they are drawn after the merge, directly in final order.
    """
    tables = _tables_for(cal)
    luts = _luts(cal, year)
    first_day = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    days = [first_day + dt.timedelta(days=i) for i in range((nxt - first_day).days)]
    day_start, slot_start, wall = _slots(days, nxt)
    month_end = int(day_start[-1])
    volume, hour_w = _day_profile(cal, days, nxt)
    slot_weight = np.where(wall >= 0, np.take_along_axis(hour_w, np.maximum(wall, 0), 1), 0.0)

    # Ordinary CADs: Poisson per (day, hour slot) over London, boroughs by share (equivalent to
    # independent Poissons per borough). Primaries carry (1 - link_share) of the volume; linked
    # repeat calls (calibration.md §7.5) make up the rest.
    rng = _month_rng(seed, year, month, 1)
    # Each borough-day has its own demand factor (gamma, mean 1): real area-days vary more than
    # Poisson counts would (calibration [volume] day_dispersion_cv). London's intensity is the
    # share-weighted sum, and a row's borough is drawn from that day's weights.
    day_weights, day_luts = _borough_days(seed, year, month, len(days), cal)
    counts = rng.poisson(
        (volume * day_weights.sum(axis=1))[:, None] * slot_weight * (1.0 - cal.link_share)
    ).ravel()
    n_prim = int(counts.sum())
    t = slot_start.ravel()[np.repeat(np.arange(counts.size), counts)]
    t += _sorted_offsets(rng, counts, _US_PER_HOUR)  # already in time order: no sort needed
    if day_luts is None:
        borough = luts.boroughs[_u16(rng, n_prim)]
    else:
        row_day = np.repeat(np.arange(counts.size) // slot_start.shape[1], counts)
        borough = _draw_given(rng, day_luts, row_day)
    # Clusters: heads with probability h and Geometric(p) followers each give link_share
    # followers overall: h * (1/p) = link_share / (1 - link_share).
    p = cal.cluster_geometric_p
    h = cal.link_share * p / (1.0 - cal.link_share)
    heads = np.flatnonzero(rng.random(n_prim) < h).astype(np.int32)
    head = np.repeat(heads, rng.geometric(p, heads.size))
    # Followers stay inside the month (bounded chunks): the window shrinks near its end.
    span = np.minimum(int(cal.link_window_hours * _US_PER_HOUR), month_end - 1 - t[head])
    t_parts = [t[head] + (rng.random(head.size) * span).astype(np.int64)]
    borough_parts = [borough[head]]
    head_parts = [head]

    # UME events: generic ones, then the planted events of the example request (each on its own
    # stream so that it never moves).
    umes: list[_Ume] = []
    labels: list[str] = []
    urng = _month_rng(seed, year, month, 2)
    ume_per_day = urng.poisson(_ume_events_per_day(cal, days, nxt))
    n_ev = int(ume_per_day.sum())
    if n_ev:
        ev_day = np.repeat(np.arange(len(days)), ume_per_day)
        night = urng.random(n_ev) < cal.ume_night_share
        # Night events start 20:00–04:00, the rest 10:00–20:00 (elapsed hours from midnight).
        hours = np.where(night, 20.0 + 8.0 * urng.random(n_ev), 10.0 + 10.0 * urng.random(n_ev))
        start = day_start[ev_day] + (hours * _US_PER_HOUR).astype(np.int64)
        n_loc = len(_GENERIC_LOCATIONS)
        umes.append(
            _ume_cads(
                urng,
                cal,
                luts,
                tables,
                start=np.minimum(start, month_end - 1),
                borough=luts.ume_boroughs[_u16(urng, n_ev)],
                n_cads=1 + urng.poisson(cal.ume_extra_cads_mean, n_ev),
                loc=urng.integers(0, n_loc, n_ev),
                alt=(np.zeros(n_ev, np.int64), np.full(n_ev, n_loc, np.int64)),
                shares=(cal.ume_tagged_share, cal.ume_linked_share),
                month_end=month_end,
            )
        )
        labels.extend(
            f"UME-{days[d]:%Y%m%d}-{k + 1:03d}"
            for d, count in enumerate(ume_per_day)
            for k in range(count)
        )
    for ev in cal.planted:
        if (ev.date.year, ev.date.month) != (year, month):
            continue
        prng = np.random.default_rng(
            np.random.SeedSequence([seed, zlib.crc32(ev.name.encode()), 7])
        )
        loc_i, near_first, near_n = tables.planted_loc[ev.name]
        umes.append(
            _ume_cads(
                prng,
                cal,
                luts,
                tables,
                start=np.array([min(_utc_us(ev.date, ev.start), month_end - 1)], np.int64),
                borough=np.array([schema.BOROUGH_NAMES.index(ev.borough)], np.int8),
                n_cads=np.array([ev.cads], np.int64),
                loc=np.array([loc_i], np.int64),
                alt=(np.array([near_first], np.int64), np.array([near_n], np.int64)),
                shares=(ev.tagged_share, ev.linked_share),
                month_end=month_end,
            )
        )
        labels.append(ev.name)

    # Merge the extra rows (followers, then UME rows: their generation index is n_prim + k) into
    # the sorted primaries. Only the extras need sorting; `inverse` maps generation index to row.
    n_ord = n_prim + head.size
    ume_base, ev_base = n_ord, 0
    event_parts = [np.full(head.size, -1, np.int32)]
    for u in umes:
        t_parts.append(u.t)
        borough_parts.append(u.borough)
        head_parts.append(np.where(u.head >= 0, u.head + ume_base, -1).astype(np.int32))
        event_parts.append(u.event + ev_base)
        ume_base += u.t.size
        ev_base += int(u.event.max()) + 1
    t_x = np.concatenate(t_parts)
    order = np.argsort(t_x, kind="stable")  # stable: ties keep generation order (heads first)
    t_x = t_x[order]
    n = n_prim + t_x.size
    # After equal primaries ('right'), so a follower never precedes its head.
    pos_x = np.searchsorted(t, t_x, side="right") + np.arange(t_x.size)
    is_x = np.zeros(n, dtype=bool)
    is_x[pos_x] = True
    pos_p = np.flatnonzero(~is_x)
    inverse = np.empty(n, dtype=np.int32)
    inverse[:n_prim] = pos_p
    inverse[n_prim + order] = pos_x

    def merged(prim: np.ndarray | None, extra_sorted: np.ndarray, fill: int) -> np.ndarray:
        out = np.full(n, fill, dtype=extra_sorted.dtype)
        if prim is not None:
            out[pos_p] = prim
        out[pos_x] = extra_sorted
        return out

    t = merged(t, t_x, 0)
    borough = merged(borough, np.concatenate(borough_parts)[order], 0)
    head_x = np.concatenate(head_parts)[order]  # generation indices; only extras have heads
    has_head = head_x >= 0
    head_x[has_head] = inverse[head_x[has_head]]
    head = merged(None, head_x, -1)
    event = merged(None, np.concatenate(event_parts)[order], -1)

    # Day and serial: rows are in time order, so each London day is a contiguous run and the
    # serial (1-based, all of London, restarting at 00:00 London time) is the position in it.
    day_first = np.searchsorted(t, day_start, side="left")
    per_day = np.diff(day_first)
    day = np.repeat(np.arange(len(days), dtype=np.int16), per_day)
    day_offset = np.repeat(day_first[:-1].astype(np.int32), per_day)
    serial = np.arange(1, n + 1, dtype=np.int32) - day_offset

    # Ordinary attributes, drawn in final order; linked followers copy their head's code and
    # location (heads are never followers, so one pass suffices).
    arng = _month_rng(seed, year, month, 3)
    source = luts.sources[_u16(arng, n)]
    grade = _draw_given(arng, luts.grades, source)
    opening = luts.opening[_u16(arng, n)]
    loc = arng.integers(0, len(_GENERIC_LOCATIONS), n, dtype=np.int32)
    linked = np.flatnonzero(head >= 0)
    opening[linked] = opening[head[linked]]
    loc[linked] = loc[head[linked]]
    reclass = _u16(arng, n) < _threshold(cal.reclassify_share)
    closing = np.where(reclass, luts.opening[_u16(arng, n)], opening)
    tags = _draw_given(arng, luts.tags, opening)
    phrase = _draw_given(arng, luts.phrases, opening)
    fp = luts.false_positive[_u16(arng, n)]
    summary = (phrase * tables.n_locs + loc) * tables.n_fp + fp

    # UME rows overwrite theirs (their values were drawn with the events).
    if umes:
        pos = inverse[n_ord:]
        for name, arr in (
            ("source", source),
            ("grade", grade),
            ("opening", opening),
            ("closing", closing),
            ("tags", tags),
            ("summary", summary),
        ):
            arr[pos] = np.concatenate([getattr(u, name) for u in umes])
    return _Month(
        days=days,
        t=t,
        day=day,
        serial=serial,
        borough=borough,
        source=source,
        grade=grade,
        opening=opening,
        closing=closing,
        tags=tags,
        summary=summary,
        head=head,
        event=event,
        event_labels=labels,
    )
