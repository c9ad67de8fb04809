"""The generator's calibration: what it is told, and reading it from calibration.toml.

`Calibration` (with `SpecialDay`, `Period`, `UmeWave` and `PlantedEvent`) is the validated,
hashable form of ``costplan/config/calibration.toml``; `load_calibration` reads that file
strictly (an unknown or missing key is a ConfigError naming the file and the dotted key).
The readers of individual shaped values (boroughs, weekdays, hours...) are in calibration_values.
Every figure in the file cites shared/reference/calibration.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from costplan import schema
from costplan._files import config_path
from costplan._toml import Table, parse_toml
from costplan.errors import ConfigError
from costplan.synth.calibration_values import (
    MONTHS,
    WEEKDAYS,
    _borough_name,
    _borough_shares,
    _borough_vector,
    _daily_by_year,
    _hours,
    _months_list,
    _normalised_mean,
    _weekday_table,
    _weekdays,
)

DEFAULT_CALIBRATION = config_path("calibration.toml")
# Named in messages about a missing key: where every key is documented.
_REFERENCE = "costplan/config/calibration.toml"

# Tags a CAD may carry; "UME" only on UME CADs (see calibration [ume]).
TAGS: tuple[str, ...] = ("UME", "DV", "MH", "ASB", "CHILD")

_CODE_INDEX = {c: i for i, c in enumerate(schema.INCIDENT_CODES)}


@dataclass(frozen=True)
class SpecialDay:
    """A day-level multiplier, optionally reshaping some hours of that day.

    Attributes:
        month: calendar month (every year), or 0 when `date` is set.
        day: day of month (every year), or 0 when `date` is set.
        date: a single London day, or None for a yearly day.
        factor: multiplier of the day's total.
        hours: London wall-clock hours weighted by `hour_factor` (before renormalisation).
        hour_factor: weight of `hours` relative to the rest of the day.
    """

    month: int
    day: int
    date: dt.date | None
    factor: float
    hours: tuple[int, ...]
    hour_factor: float

    def applies(self, day: dt.date) -> bool:
        """True if this special day is `day`."""
        if self.date is not None:
            return self.date == day
        return (day.month, day.day) == (self.month, self.day)


@dataclass(frozen=True)
class Period:
    """A multiplier over an inclusive range of London days (e.g. the 2020 lockdown)."""

    start: dt.date
    end: dt.date
    factor: float


@dataclass(frozen=True)
class UmeWave:
    """The summer-2020 UME wave: events per day, weekday shape and the peak day."""

    start: dt.date
    end: dt.date
    events_per_day: float
    weekday: tuple[float, ...]
    peak_day: dt.date
    peak_events: float


@dataclass(frozen=True)
class PlantedEvent:
    """A UME of the example request, planted at a fixed place and time.

    Attributes:
        name: short identifier (the truth label of its CADs).
        borough: canonical borough name.
        date: London day of the first CAD.
        start: London wall-clock time of the first CAD.
        location: where linked CADs are reported from (appears in their summary).
        nearby: where unlinked CADs are reported from.
        cads: number of CADs in the burst.
        tagged_share: share carrying the UME tag / code.
        linked_share: share of the later CADs linked to the first.
    """

    name: str
    borough: str
    date: dt.date
    start: dt.time
    location: str
    nearby: tuple[str, ...]
    cads: int
    tagged_share: float
    linked_share: float


@dataclass(frozen=True)
class Calibration:
    """Validated generator calibration (see costplan/config/calibration.toml).

    Share vectors are normalised and ordered like schema.CALL_SOURCES, schema.GRADINGS,
    schema.INCIDENT_CODES, schema.BOROUGH_NAMES, WEEKDAYS and TAGS.
    """

    path: str
    daily_by_year: tuple[tuple[int, float], ...]
    link_share: float
    cluster_geometric_p: float
    link_window_hours: float
    day_dispersion_cv: float
    month: tuple[float, ...]
    weekday: tuple[float, ...]
    hour_profile: tuple[float, ...]
    weekend_morning_days: frozenset[int]
    weekend_morning_hours: tuple[int, ...]
    weekend_morning_factor: float
    late_evening_days: frozenset[int]
    late_evening_hours: tuple[int, ...]
    late_evening_factor: float
    bank_holiday_factor: float
    bank_holiday_night_profile: bool
    special_days: tuple[SpecialDay, ...]
    periods: tuple[Period, ...]
    borough_shares: tuple[float, ...]
    call_sources: tuple[float, ...]
    later_from_year: int
    later_call_sources: tuple[float, ...]
    grading_overall: tuple[float, ...]
    grading_999: tuple[float, ...]
    opening_codes: tuple[float, ...]
    reclassify_share: float
    tag_base: tuple[float, ...]
    tag_by_code: tuple[tuple[float, ...], ...]
    false_positive_share: float
    ume_events_per_day: float
    ume_weekday: tuple[float, ...]
    ume_boost_factor: float
    ume_boost_months: frozenset[int]
    ume_boost_days: frozenset[int]
    ume_night_share: float
    ume_extra_cads_mean: float
    ume_window_hours: float
    ume_tagged_share: float
    ume_tagged_opening_ume_share: float
    ume_untagged_codes: tuple[float, ...]
    ume_linked_share: float
    ume_first_sources: tuple[float, ...]
    ume_later_sources: tuple[float, ...]
    ume_borough_weights: tuple[float, ...]
    wave: UmeWave | None
    planted: tuple[PlantedEvent, ...]

    def daily_volume(self, year: int) -> float:
        """London-wide CADs per day in `year` (linear between anchors, flat outside)."""
        years = [y for y, _ in self.daily_by_year]
        values = [v for _, v in self.daily_by_year]
        return float(np.interp(year, years, values))

    def sources_for(self, year: int) -> tuple[float, ...]:
        """Call-source shares in force in `year`."""
        return self.later_call_sources if year >= self.later_from_year else self.call_sources


def _special_day(t: Table) -> SpecialDay:
    """One [[special_days]] entry."""
    if t.has("date"):
        date, month, day = t.date("date"), 0, 0
    else:
        date, month, day = None, t.integer("month", 1, 12), t.integer("day", 1, 31)
        try:
            dt.date(2020, month, day)  # a leap year, so 29 February is allowed
        except ValueError:
            raise t.fail("day", f"{day} is not a day of month {month}") from None
    hours = _hours(t, "hours") if t.has("hours") else ()
    hour_factor = t.number("hour_factor") if t.has("hour_factor") else 1.0
    special = SpecialDay(month, day, date, t.number("factor"), hours, hour_factor)
    t.done()
    return special


def _planted(t: Table) -> PlantedEvent:
    """One [[planted]] event."""
    start_text = t.text("start")
    try:
        start = dt.time.fromisoformat(start_text)
    except ValueError:
        raise t.fail("start", f"must be a time like '21:30', not {start_text!r}") from None
    nearby = t.array("nearby")
    if not nearby or not all(isinstance(n, str) and n.strip() for n in nearby):
        raise t.fail("nearby", "must be a non-empty list of location strings")
    event = PlantedEvent(
        name=t.text("name"),
        borough=_borough_name(t, "borough", t.text("borough")),
        date=t.date("date"),
        start=start,
        location=t.text("location"),
        nearby=tuple(nearby),
        cads=t.integer("cads", 1, 10_000),
        tagged_share=t.share("tagged_share"),
        linked_share=t.share("linked_share"),
    )
    t.done()
    return event


def _parse(data: dict[str, Any], file: str) -> Calibration:
    """Validate parsed TOML into a Calibration; every key must be read exactly once."""
    root = Table(data, file, error=ConfigError, reference=_REFERENCE)

    vol = root.sub("volume")
    daily = _daily_by_year(vol)
    link_share = vol.number("link_share", 0.0, 0.9)
    cluster_p = vol.number("cluster_geometric_p", 0.01, 1.0)
    link_window = vol.number("link_window_hours", 0.0, 48.0)
    dispersion = vol.number("day_dispersion_cv", 0.0, 1.0)
    vol.done()

    mon = root.sub("month")
    month = _normalised_mean([mon.number(m, 0.01) for m in MONTHS])
    mon.done()
    wk = root.sub("weekday")
    weekday = _normalised_mean([wk.number(d, 0.01) for d in WEEKDAYS])
    wk.done()

    hr = root.sub("hour")
    profile = hr.array("profile")
    if len(profile) != 24 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in profile
    ):
        raise hr.fail("profile", "must be 24 positive numbers (hours 00..23)")
    total = float(sum(profile))
    hour_profile = tuple(float(v) / total for v in profile)
    wm_days, wm_hours = _weekdays(hr, "weekend_morning_days"), _hours(hr, "weekend_morning_hours")
    wm_factor = hr.number("weekend_morning_factor")
    le_days, le_hours = _weekdays(hr, "late_evening_days"), _hours(hr, "late_evening_hours")
    le_factor = hr.number("late_evening_factor")
    hr.done()

    bh = root.sub("bank_holidays")
    bh_factor, bh_night = bh.number("factor"), bh.boolean("weekend_night_profile")
    bh.done()

    special_days = tuple(_special_day(t) for t in root.tables("special_days"))
    periods = []
    for t in root.tables("periods"):
        periods.append(Period(t.date("start"), t.date("end"), t.number("factor")))
        t.done()

    bor = root.sub("boroughs")
    borough_shares = _borough_shares(bor)
    bor.done()

    cs = root.sub("call_sources")
    sources = cs.shares("shares", schema.CALL_SOURCES)
    later_year = cs.integer("later_from_year", 1990, 2100)
    later_sources = cs.shares("later_shares", schema.CALL_SOURCES)
    cs.done()

    gr = root.sub("gradings")
    grading_overall = gr.shares("overall", schema.GRADINGS)
    grading_999 = gr.shares("given_999", schema.GRADINGS)
    gr.done()

    co = root.sub("codes")
    opening = co.shares("opening", schema.INCIDENT_CODES)
    reclassify = co.share("reclassify_share")
    co.done()

    tg = root.sub("tags")
    other_tags = TAGS[1:]
    base = tg.numbers("base", other_tags)
    if any(v > 1 for v in base.values()):
        raise tg.fail("base", "rates must be in [0, 1]")
    tag_base = (0.0, *(base.get(k, 0.0) for k in other_tags))
    by_code_table = tg.sub("by_code")
    by_code = [tag_base] * len(schema.INCIDENT_CODES)
    for code in by_code_table.data:
        if code not in _CODE_INDEX:
            raise by_code_table.fail(code, "is not an incident code")
        rates = by_code_table.numbers(code, other_tags)
        if any(v > 1 for v in rates.values()):
            raise by_code_table.fail(code, "rates must be in [0, 1]")
        by_code[_CODE_INDEX[code]] = (0.0, *(rates.get(k, base.get(k, 0.0)) for k in other_tags))
    tg.done()

    tx = root.sub("text")
    fp_share = tx.share("false_positive_share")
    tx.done()

    um = root.sub("ume")
    ume_weights_table = um.sub("borough_weights")
    other_weight = um.number("other_boroughs_weight")
    ume_weights = _borough_vector(ume_weights_table, default=other_weight)
    if sum(ume_weights) <= 0:
        raise um.fail("borough_weights", "must give some borough a positive weight")
    wave = None
    if um.has("wave"):
        wv = um.sub("wave")
        wave = UmeWave(
            start=wv.date("start"),
            end=wv.date("end"),
            events_per_day=wv.number("events_per_day"),
            weekday=_weekday_table(wv, "weekday"),
            peak_day=wv.date("peak_day"),
            peak_events=wv.number("peak_events"),
        )
        wv.done()
    ume_kwargs: dict[str, Any] = dict(
        ume_events_per_day=um.number("events_per_day"),
        ume_weekday=_weekday_table(um, "weekday"),
        ume_boost_factor=um.number("boost_factor"),
        ume_boost_months=frozenset(_months_list(um, "boost_summer_months")),
        ume_boost_days=_weekdays(um, "boost_summer_days"),
        ume_night_share=um.share("night_share"),
        ume_extra_cads_mean=um.number("extra_cads_mean", 0.0, 1000.0),
        ume_window_hours=um.number("window_hours", 0.0, 48.0),
        ume_tagged_share=um.share("tagged_share"),
        ume_tagged_opening_ume_share=um.share("tagged_opening_ume_share"),
        ume_untagged_codes=um.shares("untagged_codes", schema.INCIDENT_CODES),
        ume_linked_share=um.share("linked_share"),
        ume_first_sources=um.shares("first_sources", schema.CALL_SOURCES),
        ume_later_sources=um.shares("later_sources", schema.CALL_SOURCES),
        ume_borough_weights=ume_weights,
        wave=wave,
    )
    um.done()

    planted = tuple(_planted(t) for t in root.tables("planted"))
    names = [p.name for p in planted]
    if len(set(names)) != len(names):
        raise root.fail("planted", "has duplicate event names")
    root.done()

    return Calibration(
        path=file,
        daily_by_year=daily,
        link_share=link_share,
        cluster_geometric_p=cluster_p,
        link_window_hours=link_window,
        day_dispersion_cv=dispersion,
        month=month,
        weekday=weekday,
        hour_profile=hour_profile,
        weekend_morning_days=wm_days,
        weekend_morning_hours=wm_hours,
        weekend_morning_factor=wm_factor,
        late_evening_days=le_days,
        late_evening_hours=le_hours,
        late_evening_factor=le_factor,
        bank_holiday_factor=bh_factor,
        bank_holiday_night_profile=bh_night,
        special_days=special_days,
        periods=tuple(periods),
        borough_shares=borough_shares,
        call_sources=sources,
        later_from_year=later_year,
        later_call_sources=later_sources,
        grading_overall=grading_overall,
        grading_999=grading_999,
        opening_codes=opening,
        reclassify_share=reclassify,
        tag_base=tag_base,
        tag_by_code=tuple(by_code),
        false_positive_share=fp_share,
        planted=planted,
        **ume_kwargs,
    )


def load_calibration(path: Path | None = None) -> Calibration:
    """Load and strictly validate a calibration TOML file.

    Args:
        path: the TOML file; None for the packaged costplan/config/calibration.toml.

    Returns:
        The validated Calibration.

    Raises:
        ConfigError: the file is missing, is not TOML, has an unknown or missing key, or a
            value out of range; the message names the file and the key.
    """
    path = Path(path) if path is not None else DEFAULT_CALIBRATION
    # Read here, not with read_toml: an unreadable calibration is a ConfigError, not an input.
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read calibration ({exc.strerror or exc})") from None
    return _parse(parse_toml(text, str(path)), str(path))
