"""The calculators as every interface asks them: text values in, a result to render out.

`costplan estimate` and `costplan deadline` and the web page's calculators give the same
strings (what a user typed) to these functions, so the checks between the values (a sample
needs a record count, there must be something to estimate) exist once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from costplan.errors import InputError

if TYPE_CHECKING:
    from costplan.costmodel.regimes import Regime
    from costplan.costmodel.sampling import EstimateReport
    from costplan.costmodel.workdays import Deadline


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
