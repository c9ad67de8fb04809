"""The per-record reading time and its evidence: one precedence ladder for every command.

Precedence, highest first: a timed sample (the force's own evidence), a time given for this
run, a time set in the request file, the regime's default (a published police estimate).
An item's own `minutes_per_record` overrides the request's figure for that item only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from costplan._files import is_stdio
from costplan.costmodel.regimes import Regime, reading_minutes
from costplan.errors import InputError
from costplan.request import Item
from costplan.units import Number, round_to

if TYPE_CHECKING:
    from costplan.costmodel.sampling import SampleStats

DEFAULT_SOURCE = (
    "the default reading time for one CAD, from published police estimates "
    "(Northumbria Police: 'a conservative estimate of 3 minutes per record')"
)


@dataclass(frozen=True)
class MinutesPerRecord:
    """The per-record reading time and where it came from (reported as evidence)."""

    minutes: Decimal
    source: str
    sample: SampleStats | None = None  # a timed sample, when the figure came from one
    # Where the figure came from, for the letter's evidence sentence: "sample" (the force's own
    # records, timed), "given" (an option), "request" (the request file) or "published"
    # (another force's published figure: the weakest evidence, and the letter says so).
    kind: str = "published"


def reading_time(
    regime: Regime,
    *,
    sample: Path | None = None,
    minutes: Number | None = None,
    request_minutes: Number | None = None,
) -> MinutesPerRecord:
    """The per-record reading time by precedence: sample, given, request, regime.

    Raises:
        InputError: both a sample and a fixed time were given (which one is meant?), or a
            time is not a number above zero and at most MAX_MINUTES_PER_RECORD (8 hours,
            `costplan.costmodel.regimes`), or the sample is unreadable or implausible.
    """
    if sample is not None and minutes is not None:
        raise InputError(
            "give a timed sample or a fixed minutes per record, not both",
            "the sample's mean becomes the minutes per record",
            field="minutes_per_record",
        )
    if sample is not None:
        # Imported here: most runs take the published figure and never read a sample.
        from costplan.costmodel.sample_file import read_sample
        from costplan.costmodel.sampling import summarize

        name = "stdin" if is_stdio(sample) else sample.name
        stats = summarize(read_sample(sample), source="stdin" if is_stdio(sample) else str(sample))
        # The exact mean is the figure; the interval is rounded here for reading only.
        low, high = round_to(stats.ci_low_minutes, 2), round_to(stats.ci_high_minutes, 2)
        return MinutesPerRecord(
            stats.mean_minutes,
            f"the mean of a timed sample of {stats.n} records ({name}); 95% interval "
            f"{low}-{high} minutes",
            sample=stats,
            kind="sample",
        )
    if minutes is not None:
        value = reading_minutes(minutes, "minutes per record", field="minutes_per_record")
        return MinutesPerRecord(value, "given for this run", kind="given")
    if request_minutes is not None:
        # A request file's figure, not an option: no field, the message names the key.
        value = reading_minutes(request_minutes, "the request's minutes_per_record")
        return MinutesPerRecord(value, "set in the request", kind="request")
    return MinutesPerRecord(regime.minutes_per_record, DEFAULT_SOURCE)  # checked on loading


def item_minutes(item: Item, per_record: MinutesPerRecord) -> Decimal:
    """The reading time for one item: its own figure if the request sets one, else the run's.

    Raises:
        InputError: the item's figure is zero or more than MAX_MINUTES_PER_RECORD.
    """
    if item.minutes_per_record is not None:
        return reading_minutes(item.minutes_per_record, f"{item.name}: minutes_per_record")
    return per_record.minutes
