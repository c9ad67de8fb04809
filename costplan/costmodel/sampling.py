"""Evidence for the per-record time: a timed sample review and its uncertainty.

The ICO and the Tribunal expect the minutes-per-record figure to rest on evidence such as a
sample (law.md §1.8, *Cooksey*: "the margin of difference between the compliance estimate and
the costs limit is a relevant consideration"). Given seconds per record for a sample, this
module reports the mean, a Student-t confidence interval for the true mean, the implied
interval for the total hours, and how likely the total is to exceed the limit.

Method:
    * Interval: mean ± t(1 − α/2, n − 1) · s / √n, the textbook t interval. It assumes the
      sampled records are a random sample of the records to be reviewed; review times are
      skewed, but the t interval is robust enough for n of about 20 or more. A lower bound
      below zero is clamped to zero (a record cannot take negative time).
    * Total interval: records × each end of the interval, plus the other countable minutes
      (taken as known). Uncertainty in the record count itself is ignored.
    * P(total > limit): treats the unknown mean per-record time as mean + (s / √n) · T with T
      Student-t on n − 1 degrees of freedom (the usual flat-prior reading of the t interval),
      i.e. P = 1 − F_t((m* − mean) / (s / √n)), where m* is the per-record time at which the
      total reaches the limit. It is an approximation to support judgement, not a guarantee.
    * The t distribution (CDF via the regularised incomplete beta function, quantile by
      bisection) is implemented here so the package needs no scipy.

Robustness wording: a refusal is "robust" when the limit is exceeded even at the lower end of
the interval and "marginal — consider a larger sample" when it is exceeded at the mean only;
an answer is "robust" when the total stays within the limit even at the upper end, and
"marginal — consider a larger sample" otherwise.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from costplan.costmodel.estimate import Estimate, over_limit
from costplan.costmodel.regimes import Regime
from costplan.errors import InputError
from costplan.units import SIXTY, Number, fmt_number, round2, to_decimal

SECONDS_COLUMNS: tuple[str, ...] = ("seconds", "seconds_per_record", "secs")
ROBUST = "robust"
MARGINAL = "marginal — consider a larger sample"

_FORMAT_HINT = "one seconds-per-record value per line, or a CSV with a 'seconds' column"


# ---- Student t distribution ----------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast only on one side of the mean; use symmetry.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=512)
def t_quantile(p: float, df: float) -> float:
    """Inverse of `t_cdf`: the t value with probability `p` below it (bisection, ~1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


# ---- reading and summarising a sample ------------------------------------------------------


def _parse_seconds(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: '{text}' is not a number", _FORMAT_HINT) from None
    if not math.isfinite(value):
        raise InputError(f"{where}: '{text}' is not a finite number")
    if value < 0:
        raise InputError(f"{where}: negative time {text} seconds")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_sample(text: str, source: str = "sample") -> list[float]:
    """Parse sample text: one seconds value per line, or CSV with a header naming `seconds`.

    Blank lines and lines starting with ``#`` are ignored.

    Args:
        text: the file's contents.
        source: its name, for error messages.

    Returns:
        Seconds per record, in file order.

    Raises:
        InputError: empty, non-numeric, negative or non-finite values, or no seconds column.
    """
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputError(f"sample file {source} has no values", _FORMAT_HINT)
    if "," not in lines[0][1] and _is_number(lines[0][1]):
        return [_parse_seconds(line, f"{source} line {n}") for n, line in lines]

    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(c) for c in SECONDS_COLUMNS if c in header), None)
    if column is None:
        raise InputError(
            f"sample file {source} has no 'seconds' column (columns: {', '.join(rows[0])})",
            _FORMAT_HINT,
        )
    values = []
    for (n, _), row in zip(lines[1:], rows[1:], strict=True):
        cell = row[column].strip() if column < len(row) else ""
        if not cell:
            raise InputError(f"{source} line {n}: empty '{header[column]}' value")
        values.append(_parse_seconds(cell, f"{source} line {n}"))
    if not values:
        raise InputError(f"sample file {source} has a header but no values", _FORMAT_HINT)
    return values


def read_sample(path: Path | str) -> list[float]:
    """Read a sample file (see `parse_sample`).

    Raises:
        InputError: the file is missing or unreadable, or its contents are invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"sample file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read sample file {path}: {exc}") from None
    return parse_sample(text, str(path))


@dataclass(frozen=True)
class SampleStats:
    """Summary of a timed sample, in seconds per record.

    Attributes:
        n: sample size.
        mean_seconds: sample mean.
        sd_seconds: sample standard deviation (n − 1 denominator).
        confidence: confidence level of the interval, e.g. 0.95.
        t_value: the t quantile used.
        source: where the sample came from.
    """

    n: int
    mean_seconds: float
    sd_seconds: float
    confidence: float
    t_value: float
    source: str = ""

    @property
    def se_seconds(self) -> float:
        """Standard error of the mean."""
        return self.sd_seconds / math.sqrt(self.n)

    @property
    def mean_minutes(self) -> float:
        """Mean minutes per record (unrounded)."""
        return self.mean_seconds / 60.0

    @property
    def ci_low_minutes(self) -> float:
        """Lower end of the interval, minutes per record (never below zero)."""
        return max(0.0, (self.mean_seconds - self.t_value * self.se_seconds) / 60.0)

    @property
    def ci_high_minutes(self) -> float:
        """Upper end of the interval, minutes per record."""
        return (self.mean_seconds + self.t_value * self.se_seconds) / 60.0

    @property
    def point_minutes(self) -> Decimal:
        """The per-record figure used in the estimate: the mean, rounded to 0.01 minute.

        Rounding keeps the quoted arithmetic ("1,144 records × 2.83 minutes") checkable by hand.
        """
        return round2(Decimal(repr(self.mean_minutes)))


def summarize(seconds: Sequence[float], confidence: float = 0.95, source: str = "") -> SampleStats:
    """Summarise sample times with a Student-t confidence interval.

    Args:
        seconds: seconds per record, at least two values.
        confidence: the interval's confidence level (0 < confidence < 1).
        source: where the values came from.

    Raises:
        InputError: fewer than two values, or a negative / non-finite value.
    """
    values = [float(v) for v in seconds]
    if len(values) < 2:
        raise InputError(
            f"sample has {len(values)} value{'' if len(values) == 1 else 's'}; at least 2 "
            "are needed to measure the spread",
            "time more records (20 or more is better)",
        )
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise InputError("sample times must be finite and not negative")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(values)
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    t_value = t_quantile(0.5 + confidence / 2.0, float(n - 1))
    return SampleStats(n, mean, math.sqrt(variance), confidence, t_value, source)


# ---- what the sample says about the decision -----------------------------------------------


@dataclass(frozen=True)
class SampleAssessment:
    """How firm a decision based on a sample is.

    Attributes:
        stats: the sample summary.
        records: records to be reviewed.
        other_minutes: other countable minutes, taken as known.
        regime: the regime.
        total_hours_point: total at the point estimate (rounded mean).
        total_hours_low: total at the lower end of the interval.
        total_hours_high: total at the upper end of the interval.
        p_exceeds: probability the total exceeds the limit (None without a limit).
        exceeds: whether the point estimate exceeds the limit (None without a limit).
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
        """JSON-ready summary (hours to 2 dp, minutes to 3 dp, probability to 4 dp)."""
        s = self.stats
        return {
            "n": s.n,
            "mean_seconds": round(s.mean_seconds, 2),
            "sd_seconds": round(s.sd_seconds, 2),
            "mean_minutes": round(s.mean_minutes, 3),
            "minutes_per_record_used": float(s.point_minutes),
            "confidence": s.confidence,
            "ci_minutes": [round(s.ci_low_minutes, 3), round(s.ci_high_minutes, 3)],
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


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def probability_exceeds(
    stats: SampleStats, records: int, regime: Regime, other_minutes: Decimal = Decimal(0)
) -> float | None:
    """P(records × true mean + other > limit) under the t approximation in the module doc."""
    limit_minutes = regime.limit_minutes
    if limit_minutes is None:
        return None
    if records == 0:
        return 1.0 if over_limit(regime, other_minutes) else 0.0
    threshold = float((limit_minutes - other_minutes) / records)  # minutes per record
    se = stats.se_seconds / 60.0
    if se == 0.0:
        return 1.0 if stats.mean_minutes > threshold else 0.0
    return 1.0 - t_cdf((threshold - stats.mean_minutes) / se, float(stats.n - 1))


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
    point = records * stats.point_minutes + other
    low = records * _dec(stats.ci_low_minutes) + other
    high = records * _dec(stats.ci_high_minutes) + other
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
    p = probability_exceeds(stats, records, regime, other)
    p_text = "" if p is None else f" Probability that the total exceeds the limit: {_percent(p)}."
    return SampleAssessment(
        **common,
        p_exceeds=p,
        exceeds=exceeds,
        robustness=robustness,
        wording=f"{robustness[0].upper()}{robustness[1:]}: {wording}{p_text}",
    )


def assess_total(
    stats: SampleStats, records: int, regime: Regime, countable_minutes: Decimal
) -> SampleAssessment:
    """Assess an estimate whose `records` were costed at the sample's mean.

    The records read by hand vary with the per-record time; everything else in the estimate
    (held checks, queries, fixed minutes) is taken as known. One rule for `estimate --sample`
    and a planned request alike.
    """
    other = countable_minutes - records * stats.point_minutes
    return assess(stats, records, regime, other)


@dataclass(frozen=True)
class EstimateReport:
    """An estimate and, when its per-record time came from a timed sample, how robust it is."""

    estimate: Estimate
    sample: SampleAssessment | None = None
