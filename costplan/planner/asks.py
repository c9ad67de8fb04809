"""What every interface asks, from the strings a user typed: a result to render out.

The command line (`plan --borough/--date`, `estimate`, `deadline`) and the web page (its
triage form and calculators) give the same strings to these functions, so each conversion and
each check between values (a time window needs both ends, a sample needs a record count,
there must be something to estimate) exists once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costplan.errors import InputError

if TYPE_CHECKING:
    from costplan.costmodel.regimes import Regime
    from costplan.costmodel.sampling import EstimateReport
    from costplan.costmodel.workdays import Deadline
    from costplan.profile import Profile
    from costplan.request import Request


def estimate_report(
    regime: Regime,
    *,
    records: str | None = None,
    minutes_per_record: str | None = None,
    activities: Sequence[str] = (),
    fixed_minutes: str | None = None,
    sample: Path | None = None,
) -> EstimateReport:
    """`costplan estimate`: records x minutes (or a timed sample) plus extra activities.

    Raises:
        InputError: a sample without a record count, nothing to estimate, a bad value.
    """
    from costplan.costmodel.estimate import estimate as run_estimate
    from costplan.costmodel.estimate import parse_activity_spec, review_activities
    from costplan.costmodel.sampling import EstimateReport, assess_total
    from costplan.planner.reading import reading_time
    from costplan.units import parse_count

    extra = [parse_activity_spec(spec) for spec in activities]
    if sample is not None and records is None:
        raise InputError("--sample needs --records", "say how many records the sample covers")
    if records is None and not extra:
        raise InputError(
            "nothing to estimate", "give --records N, or one or more --activity NAME=R:M"
        )
    per = reading_time(regime, sample=sample, minutes=minutes_per_record)
    count = parse_count(records, "--records") if records is not None else None
    acts = review_activities(count, per.minutes) if count is not None else []
    result = run_estimate(regime, acts + extra, fixed_minutes or 0)
    assessment = None
    if per.sample is not None and count is not None:
        assessment = assess_total(per.sample, count, regime, result.countable_minutes)
    return EstimateReport(result, assessment)


def deadline_report(
    regime: Regime,
    received: str,
    *,
    paused: Sequence[str] = (),
    extension: str | None = None,
    working_days: str | None = None,
    today: str | None = None,
) -> Deadline:
    """`costplan deadline`: the due date under the regime, with pauses and an extension.

    Raises:
        InputError: a bad date, pause, extension or number of working days.
    """
    from costplan.costmodel.workdays import due, parse_date, parse_pause
    from costplan.units import parse_count

    days = None if working_days is None else parse_count(working_days, "--working-days")
    return due(
        regime,
        parse_date(received, "--received"),
        paused=[parse_pause(text) for text in paused],
        extension=extension,
        today=None if today is None else parse_date(today, "--today"),
        working_days=days,
    )


def window_of(time_from: str | None, time_to: str | None) -> tuple[int, int] | None:
    """The time window given as two HH:MM texts (None: whole days), for every interface.

    Raises:
        InputError: only one of the two, or a text that is not a time of day.
    """
    from costplan.request import clock_minutes, time_window

    if (time_from is None) != (time_to is None):
        raise InputError(
            "give --time-from and --time-to together",
            "or neither, for whole days",
            field="time_to" if time_to is None else "time_from",
        )
    if time_from is None or time_to is None:
        return None
    return time_window(clock_minutes(time_from, "time_from"), clock_minutes(time_to, "time_to"))


def quick_request(
    boroughs: Sequence[str],
    date: str,
    to: str | None = None,
    window: tuple[int, int] | None = None,
    tags: Sequence[str] = (),
    keywords: Sequence[str] = (),
    received: str | None = None,
    reference: str | None = None,
    profile: Profile | None = None,
) -> Request:
    """The one-item request the quick fields describe (`plan --borough/--date`, the web's
    triage form): validated by the same rules as a request file, areas in `profile` (the
    store's; None: the MPS). Comma lists of areas split here; groups and places are expanded
    by the request, which notes how."""
    from costplan.request import QUICK_REFERENCE, build_request, clock

    names = [n.strip() for b in boroughs for n in b.split(",") if n.strip()]
    item: dict[str, Any] = {"name": "request", "boroughs": names or list(boroughs)}
    item["date_from"] = date
    item["date_to"] = to or date
    if window is not None:
        item["time_from"], item["time_to"] = (clock(m) for m in window)
    if tags:
        item["tags"] = list(tags)
    if keywords:
        item["keywords"] = list(keywords)
    data: dict[str, Any] = {"reference": reference or QUICK_REFERENCE, "items": [item]}
    if received:
        data["received"] = received
    return build_request(data, "command line", profile)
