"""Evidence for the per-record time: a timed sample review and its uncertainty.

The ICO and the Tribunal expect the minutes-per-record figure to rest on evidence such as a
sample (law.md §1.8, *Cooksey*: "the margin of difference between the compliance estimate and
the costs limit is a relevant consideration"). Given seconds per record for a sample, this
module reports the mean, a Student-t confidence interval for the true mean, the implied
interval for the total hours, and how likely the total is to exceed the limit.

Method:
    * Point estimate: the exact mean of the sample, seconds / 60, never rounded. Values are
      read as Decimal (a timed "65.22" stays 65.22) and the mean is held to 60 significant
      digits, so `records × mean` rounds to the exact product at Decimal's usual 28 digits
      whenever that product has 28 digits or fewer: 1,008 records at a mean of 450/7 s is
      1,080 minutes, exactly the police limit and so within it, where a 28-digit mean would
      make it 1,080.000…001 and a refusal. Every figure, the decision and P(total > limit)
      start from this value; rounding happens only where a figure is shown.
    * Interval: mean ± t(1 − α/2, n − 1) · s / √n, the textbook t interval. It assumes the
      sampled records are a random sample of the records to be reviewed; review times are
      skewed, but the t interval is robust enough for n of about 20 or more. A lower bound
      below zero is clamped to zero (a record cannot take negative time). The half-width is
      computed in floating point (t and √ are not exact anyway) and laid around the exact
      mean, so low ≤ mean ≤ high always holds.
    * Total interval: records × each end of the interval, plus the other countable minutes
      (taken as known). Uncertainty in the record count itself is ignored.
    * P(total > limit): treats the unknown mean per-record time as mean + (s / √n) · T with T
      Student-t on n − 1 degrees of freedom (the usual flat-prior reading of the t interval),
      i.e. P = 1 − F_t((m* − mean) / (s / √n)), where m* is the per-record time at which the
      total reaches the limit. It is an approximation to support judgement, not a guarantee.
      Being symmetric about the mean, it is above one half exactly when the total at the
      mean exceeds the limit, and one half at a tie. Floating point cannot resolve a total
      within about 1e-16 of the limit, so there the computed P is held at one half, on the
      side the exact comparison decides: P ≥ 0.5 whenever the mean total exceeds the limit,
      P ≤ 0.5 whenever it does not. With no spread in the sample P is 1 or 0, by the same
      exact comparison.
    * The t distribution is `costplan.costmodel.student_t` (no scipy); reading sample files,
      seconds or m:ss, is `costplan.costmodel.sample_file`.

Robustness wording: a refusal is "robust" when the limit is exceeded even at the lower end of
the interval and "marginal — consider a larger sample" when it is exceeded at the mean only;
an answer is "robust" when the total stays within the limit even at the upper end, and
"marginal — consider a larger sample" otherwise. "At the mean" is the same exact comparison
the estimate's decision makes (`over_limit` on the unrounded total), so the wording, the
decision and P never disagree about which side of the limit the mean lies.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from costplan.costmodel.estimate import Estimate, over_limit
from costplan.costmodel.regimes import Regime
from costplan.costmodel.sample_file import MAX_SECONDS_PER_RECORD, TOO_LONG_HINT, seconds_value
from costplan.costmodel.student_t import t_cdf, t_quantile
from costplan.errors import InputError
from costplan.units import SIXTY, Number, fmt_number, round2, round_to, to_decimal

ROBUST = "robust"
MARGINAL = "marginal — consider a larger sample"

# Where a sample's mean and spread are worked out: 60 significant digits, more than twice the
# 28 the rest of the arithmetic uses, so a product with the mean rounds back to the exact value
# (see the module doc). Nothing else needs it; the result is an ordinary Decimal.
_EXACT = Context(prec=60)


# ---- summarising a sample ------------------------------------------------------------------


@dataclass(frozen=True)
class SampleStats:
    """Summary of a timed sample, in seconds per record.

    Attributes:
        n: sample size.
        mean_seconds: sample mean, exact (see the module doc).
        sd_seconds: sample standard deviation (n − 1 denominator).
        confidence: confidence level of the interval, e.g. 0.95.
        t_value: the t quantile used.
        source: where the sample came from.
    """

    n: int
    mean_seconds: Decimal
    sd_seconds: float
    confidence: float
    t_value: float
    source: str = ""

    @property
    def se_seconds(self) -> float:
        """Standard error of the mean."""
        return self.sd_seconds / math.sqrt(self.n)

    @property
    def mean_minutes(self) -> Decimal:
        """Mean minutes per record, exact: the figure every estimate from the sample uses."""
        return _EXACT.divide(self.mean_seconds, SIXTY)

    @property
    def half_width_minutes(self) -> Decimal:
        """Half the interval's width, minutes per record (t · s / √n / 60)."""
        return Decimal(repr(self.t_value * self.se_seconds / 60.0))

    @property
    def ci_low_minutes(self) -> Decimal:
        """Lower end of the interval, minutes per record (never below zero)."""
        return max(Decimal(0), _EXACT.subtract(self.mean_minutes, self.half_width_minutes))

    @property
    def ci_high_minutes(self) -> Decimal:
        """Upper end of the interval, minutes per record."""
        return _EXACT.add(self.mean_minutes, self.half_width_minutes)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return functools.reduce(_EXACT.add, values, Decimal(0))


def _exact_value(value: Number) -> Decimal:
    if isinstance(value, bool):
        raise InputError(f"sample times must be numbers, got {value!r}", field="sample")
    if isinstance(value, Decimal):
        return value
    number = seconds_value(str(value))  # a float by its shortest text: 172.5 stays 172.5
    if number is None:
        raise InputError(f"sample times must be numbers, got {value!r}", field="sample")
    return number


def summarize(seconds: Sequence[Number], confidence: float = 0.95, source: str = "") -> SampleStats:
    """Summarise sample times with a Student-t confidence interval.

    Args:
        seconds: seconds per record, at least two values (Decimal, int, float or text).
        confidence: the interval's confidence level (0 < confidence < 1).
        source: where the values came from.

    Raises:
        InputError: fewer than two values, a negative or non-finite value, a value over
            8 hours (MAX_SECONDS_PER_RECORD), or a mean of zero.
    """
    values = [_exact_value(v) for v in seconds]
    if len(values) < 2:
        raise InputError(
            f"sample has {len(values)} value{'' if len(values) == 1 else 's'}; at least 2 "
            "are needed to measure the spread",
            "time more records (20 or more is better)",
            field="sample",
        )
    if any(not v.is_finite() or v < 0 for v in values):
        raise InputError("sample times must be finite and not negative", field="sample")
    if any(v > MAX_SECONDS_PER_RECORD for v in values):
        raise InputError(
            f"a sample time is more than {MAX_SECONDS_PER_RECORD} seconds (8 hours) for one record",
            TOO_LONG_HINT,
            field="sample",
        )
    if all(v == 0 for v in values):
        raise InputError(
            f"every sample time is 0 seconds{f' in {source}' if source else ''}: a mean of "
            "0 minutes per record is not a reading time",
            "time how long each record takes to read",
            field="sample",
        )
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(values)
    mean = _EXACT.divide(_sum(values), n)
    variance = _EXACT.divide(_sum(_EXACT.power(_EXACT.subtract(v, mean), 2) for v in values), n - 1)
    t_value = t_quantile(0.5 + confidence / 2.0, float(n - 1))
    return SampleStats(n, mean, float(variance.sqrt(_EXACT)), confidence, t_value, source)


# ---- what the sample says about the decision -----------------------------------------------


@dataclass(frozen=True)
class SampleAssessment:
    """How firm a decision based on a sample is.

    Attributes:
        stats: the sample summary.
        records: records to be reviewed.
        other_minutes: other countable minutes, taken as known.
        regime: the regime.
        total_hours_point: total at the point estimate (the exact mean).
        total_hours_low: total at the lower end of the interval.
        total_hours_high: total at the upper end of the interval.
        p_exceeds: probability the total exceeds the limit (None without a limit).
        exceeds: whether the total at the mean exceeds the limit (None without a limit); the
            same exact comparison as the estimate's decision.
        robustness: ROBUST or MARGINAL (None without a limit).
        wording: a sentence for the report.
    """

    stats: SampleStats
    records: int
    other_minutes: Decimal
    regime: Regime
    total_hours_point: Decimal
    total_hours_low: Decimal
    total_hours_high: Decimal
    p_exceeds: float | None
    exceeds: bool | None
    robustness: str | None
    wording: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (hours to 2 dp, minutes to 3 dp, probability to 4 dp).

        `minutes_per_record_used` is the exact mean (as a JSON number): the figure the
        estimate multiplied, not its rounded display.
        """
        s = self.stats
        return {
            "n": s.n,
            "mean_seconds": float(round_to(s.mean_seconds, 2)),
            "sd_seconds": round(s.sd_seconds, 2),
            "mean_minutes": float(round_to(s.mean_minutes, 3)),
            "minutes_per_record_used": float(s.mean_minutes),
            "confidence": s.confidence,
            "ci_minutes": [
                float(round_to(s.ci_low_minutes, 3)),
                float(round_to(s.ci_high_minutes, 3)),
            ],
            "total_hours_interval": [
                float(round2(self.total_hours_low)),
                float(round2(self.total_hours_high)),
            ],
            "p_exceeds_limit": None if self.p_exceeds is None else round(self.p_exceeds, 4),
            "robustness": self.robustness,
            "wording": self.wording,
        }


def _percent(p: float) -> str:
    """A probability for prose; the approximation does not justify "0%" or "100%"."""
    if p < 0.01:
        return "under 1%"
    if p > 0.99:
        return "over 99%"
    return f"about {p:.0%}"


def _p_exceeds(
    stats: SampleStats, records: int, regime: Regime, point: Decimal, exceeds: bool
) -> float:
    """P(total > limit) given the total at the mean, on the side of one half `exceeds` says.

    `exceeds` is the exact comparison (`over_limit(regime, point)`); see the module doc.
    """
    limit_minutes = regime.limit_minutes
    assert limit_minutes is not None
    if records == 0 or stats.se_seconds == 0.0:
        return 1.0 if exceeds else 0.0  # nothing uncertain: the exact comparison is the answer
    # (m* − mean) per record, where m* is the per-record time that just reaches the limit.
    gap = (limit_minutes - point) / records
    z = float(gap) / (stats.se_seconds / 60.0)
    p = 1.0 - t_cdf(z, float(stats.n - 1))
    # A total within ~1e-16 of the limit is a tie to floating point (z or the CDF rounds to
    # the middle); the exact comparison has already said which side of the limit it is on.
    return max(p, 0.5) if exceeds else min(p, 0.5)


def probability_exceeds(
    stats: SampleStats, records: int, regime: Regime, other_minutes: Number = 0
) -> float | None:
    """P(records × true mean + other > limit) under the t approximation in the module doc."""
    if regime.limit is None:
        return None
    point = records * stats.mean_minutes + to_decimal(other_minutes, "other minutes")
    return _p_exceeds(stats, records, regime, point, over_limit(regime, point))


def assess(
    stats: SampleStats, records: int, regime: Regime, other_minutes: Number = 0
) -> SampleAssessment:
    """Judge how robust the decision is, given the sample's uncertainty.

    Args:
        stats: the sample summary.
        records: how many records the estimate covers.
        regime: the regime (with overrides).
        other_minutes: other countable minutes (not per-record review), taken as known.

    Returns:
        The assessment.
    """
    other = to_decimal(other_minutes, "other minutes")
    return _assess(stats, records, regime, records * stats.mean_minutes + other, other)


def assess_total(
    stats: SampleStats, records: int, regime: Regime, countable_minutes: Decimal
) -> SampleAssessment:
    """Assess an estimate whose `records` were costed at the sample's mean.

    The records read by hand vary with the per-record time; everything else in the estimate
    (held checks, queries, fixed minutes) is taken as known. One rule for `estimate --sample`
    and a planned request alike. The estimate's own total is the total at the mean, so the
    assessment's "at the mean" is the estimate's decision, not a recomputation of it.
    """
    other = countable_minutes - records * stats.mean_minutes
    return _assess(stats, records, regime, countable_minutes, other)


def _assess(
    stats: SampleStats, records: int, regime: Regime, point: Decimal, other: Decimal
) -> SampleAssessment:
    """The assessment, given the exact total at the mean (`point` minutes, `other` of them
    not per-record reading).

    The interval's ends are laid around `point` (low ≤ point ≤ high, whatever the rounding),
    and the decision, the wording and P all come from `over_limit` on these exact totals;
    only the sentence's figures are rounded, for reading.
    """
    low = point + records * (stats.ci_low_minutes - stats.mean_minutes)
    high = point + records * stats.half_width_minutes
    low_h, high_h, point_h = low / SIXTY, high / SIXTY, point / SIXTY
    pct = f"{stats.confidence:.0%}"
    interval = f"{pct} interval ({fmt_number(low_h)}–{fmt_number(high_h)} hours)"
    common: dict[str, Any] = {
        "stats": stats,
        "records": records,
        "other_minutes": other,
        "regime": regime,
        "total_hours_point": point_h,
        "total_hours_low": low_h,
        "total_hours_high": high_h,
    }
    if regime.limit is None:
        return SampleAssessment(
            **common,
            p_exceeds=None,
            exceeds=None,
            robustness=None,
            wording=f"No cost limit applies; the {interval}.",
        )
    exceeds = over_limit(regime, point)
    if exceeds:
        robust = over_limit(regime, low)
        wording = (
            f"the limit is exceeded even at the lower end of the {interval}."
            if robust
            else f"the limit is exceeded at the mean but not at the lower end of the {interval}."
        )
    else:
        robust = not over_limit(regime, high)
        wording = (
            f"the total stays within the limit even at the upper end of the {interval}."
            if robust
            else f"the total is within the limit at the mean but exceeds it at the upper end "
            f"of the {interval}."
        )
    robustness = ROBUST if robust else MARGINAL
    p = _p_exceeds(stats, records, regime, point, exceeds)
    return SampleAssessment(
        **common,
        p_exceeds=p,
        exceeds=exceeds,
        robustness=robustness,
        wording=f"{robustness[0].upper()}{robustness[1:]}: {wording} Probability that the "
        f"total exceeds the limit: {_percent(p)}.",
    )


@dataclass(frozen=True)
class EstimateReport:
    """An estimate and, when its per-record time came from a timed sample, how robust it is."""

    estimate: Estimate
    sample: SampleAssessment | None = None
