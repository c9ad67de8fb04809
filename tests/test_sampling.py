"""Timed samples: the t distribution, interval coverage, robustness wording, bad files."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costplan.costmodel.estimate import estimate, review_activities
from costplan.costmodel.regimes import load_regimes
from costplan.costmodel.sample_file import parse_sample, read_sample
from costplan.costmodel.sampling import (
    MARGINAL,
    ROBUST,
    assess,
    assess_total,
    probability_exceeds,
    summarize,
)
from costplan.costmodel.student_t import t_cdf, t_quantile
from costplan.errors import InputError

POLICE = load_regimes().get("uk-foia-other")


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (5, 2.5706), (10, 2.2281), (30, 2.0423), (1e6, 1.9600)],
)
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_t_cdf_properties():
    assert t_cdf(0.0, 7) == pytest.approx(0.5)
    assert t_cdf(-1.3, 7) == pytest.approx(1 - t_cdf(1.3, 7))
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/pi
    for p in (0.01, 0.2, 0.9, 0.999):
        assert t_cdf(t_quantile(p, 4), 4) == pytest.approx(p, abs=1e-9)


def test_summarize_known_values():
    s = summarize([1, 2, 3, 4, 5])
    assert s.n == 5 and s.mean_seconds == 3
    assert s.sd_seconds == pytest.approx(math.sqrt(2.5))
    half = t_quantile(0.975, 4) * math.sqrt(2.5) / math.sqrt(5)
    assert float(s.ci_high_minutes) == pytest.approx((3 + half) / 60)
    assert float(s.ci_low_minutes) == pytest.approx((3 - half) / 60)


def test_interval_covers_true_mean_at_stated_rate():
    # Normal review times: the t interval is exact, so coverage should be close to 95%. With
    # n = 5 a normal (z = 1.96) interval would cover only ~88%, so this also checks the t value.
    rng = np.random.default_rng(20240304)
    true_mean, trials, covered = 180.0, 400, 0
    for _ in range(trials):
        s = summarize(rng.normal(true_mean, 40.0, size=5).tolist())
        covered += s.ci_low_minutes * 60 <= true_mean <= s.ci_high_minutes * 60
    assert 0.90 * trials <= covered <= 0.99 * trials


def test_interval_narrows_with_sample_size():
    rng = np.random.default_rng(1)
    small = summarize(rng.normal(180, 40, 10).tolist())
    large = summarize(rng.normal(180, 40, 400).tolist())
    assert (large.ci_high_minutes - large.ci_low_minutes) < (
        small.ci_high_minutes - small.ci_low_minutes
    ) / 3


def test_the_mean_is_exact_never_rounded():
    s = summarize(["65.22", "60.22", "70.22"])
    assert s.mean_seconds == Decimal("65.22") and s.mean_minutes == Decimal("1.087")
    s = summarize([170, 180])  # 175 s = 2.91666… min, once rounded to 2.92
    assert s.mean_minutes * 60 == 175 and str(s.mean_minutes).startswith("2.91666666666")
    assert s.ci_low_minutes <= s.mean_minutes <= s.ci_high_minutes
    assert summarize([172.5, 150.1]).mean_seconds == Decimal("161.3")  # floats by their text


def test_probability_half_when_mean_is_on_the_limit():
    s = summarize([150, 210, 170, 190])  # mean 180 s = 3 min
    assert probability_exceeds(s, 360, POLICE) == pytest.approx(0.5)
    assert probability_exceeds(s, 1144, POLICE) > 0.99
    assert probability_exceeds(s, 100, POLICE) < 0.01
    assert probability_exceeds(s, 0, POLICE) == 0.0
    assert probability_exceeds(s, 10, load_regimes().get("eir")) is None


@pytest.mark.parametrize(
    ("records", "exceeds", "robustness", "phrase"),
    [
        (1144, True, ROBUST, "exceeded even at the lower end"),
        (370, True, MARGINAL, "exceeded at the mean but not at the lower end"),
        (300, False, ROBUST, "within the limit even at the upper end"),
        (355, False, MARGINAL, "within the limit at the mean but exceeds it"),
    ],
)
def test_robustness_wording(records, exceeds, robustness, phrase):
    s = summarize([150, 210, 170, 190, 160, 200, 175, 185])  # mean 180 s, ± ~0.3 min
    a = assess(s, records, POLICE)
    assert (a.exceeds, a.robustness) == (exceeds, robustness)
    assert phrase in a.wording
    assert a.wording.lower().startswith(robustness)
    assert a.total_hours_low <= a.total_hours_point <= a.total_hours_high


def test_a_timed_mean_of_1_087_is_not_rounded_to_1_09():
    # Issue 11: 993 records at a measured 1.087 minutes is 1,079.391 minutes = 17.98985 hours,
    # within the 18-hour limit; rounded to 1.09 first it was 18.04 hours and a refusal.
    s = summarize([Decimal("60.22"), Decimal("70.22")] * 10)  # mean 65.22 s
    assert s.mean_minutes == Decimal("1.087")
    e = estimate(POLICE, review_activities(993, s.mean_minutes))
    assert e.total_hours == Decimal("17.98985") and (e.decision, e.exceeds) == ("answer", False)
    a = assess_total(s, 993, POLICE, e.countable_minutes)
    assert a.total_hours_point == Decimal("17.98985") and a.exceeds is False
    assert a.p_exceeds is not None and 0.4 < a.p_exceeds < 0.5
    assert "exceeded" not in a.wording
    assert "within the limit at the mean" in a.wording and a.robustness == MARGINAL
    assert "993 records × 1.087 minutes ≈ 17.99 hours" in e.explanation


@pytest.mark.parametrize(
    ("values", "records"),
    [
        # 162 × 400 s = 1,080 minutes, the limit exactly.
        ([390, 410], 162),
        # 1,008 × 450 s / 7 = 1,080 minutes; a mean held to Decimal's usual 28 digits makes
        # the product 1,080.000…001, and a refusal of a request that is exactly at the limit.
        ([60, 62, 64, 64, 66, 66, 68], 1008),
    ],
)
def test_a_mean_total_exactly_at_the_limit_is_within_it(values, records):
    s = summarize(values)
    e = estimate(POLICE, review_activities(records, s.mean_minutes))
    assert e.countable_minutes == 1080 and e.total_hours == 18 and e.decision == "answer"
    a = assess_total(s, records, POLICE, e.countable_minutes)
    assert a.total_hours_point == 18 and a.exceeds is False and a.p_exceeds == 0.5
    assert "within the limit at the mean" in a.wording
    flat = assess(summarize([s.mean_seconds] * 3), records, POLICE)  # no spread
    assert (flat.exceeds, flat.p_exceeds, flat.robustness) == (False, 0.0, ROBUST)


def test_assess_includes_other_minutes_and_json():
    s = summarize([180, 180, 180])  # no spread
    a = assess(s, 300, POLICE, other_minutes=180)  # 15 h + 3 h = exactly the limit
    assert a.exceeds is False and a.robustness == ROBUST and a.p_exceeds == 0.0
    d = a.to_dict()
    assert d["n"] == 3 and d["total_hours_interval"] == [18.0, 18.0]
    assert d["robustness"] == "robust"


def test_assess_without_limit():
    s = summarize([170, 190])
    a = assess(s, 1000, load_regimes().get("eir"))
    assert a.robustness is None and a.p_exceeds is None
    assert "No cost limit" in a.wording


def test_parse_plain_and_csv():
    assert parse_sample("# timings\n150\n\n172.5\n") == [150.0, 172.5]
    assert parse_sample("record,Seconds,notes\nA,150,x\nB,180,\n") == [150.0, 180.0]
    assert parse_sample("seconds_per_record\n12\n14\n") == [12.0, 14.0]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1:05", Decimal(65)),
        ("0:59.5", Decimal("59.5")),
        ("00:00", Decimal(0)),
        ("12:34.125", Decimal("754.125")),
        ("75:00", Decimal(4500)),  # a stopwatch past the hour without an hours field
        ("1:02:03", Decimal(3723)),
        ("0:00:59.25", Decimal("59.25")),
        ("8:00:00", Decimal(28800)),  # the bound itself
        ("65", Decimal(65)),
        ("65.22", Decimal("65.22")),
    ],
)
def test_stopwatch_times_are_exact_seconds(text, seconds):
    values = parse_sample(f"# stopwatch\n{text}\n1:00\n")
    assert values == [seconds, 60] and all(isinstance(v, Decimal) for v in values)
    assert parse_sample(f"record,seconds\nA,{text}\nB,1:00\n") == [seconds, 60]


def test_stopwatch_and_seconds_files_give_the_same_mean():
    clock = summarize(parse_sample("1:00.22\n1:10.22\n" * 10))
    plain = summarize(parse_sample("60.22\n70.22\n" * 10))
    assert clock == plain and clock.mean_minutes == Decimal("1.087")


def test_read_sample_file(tmp_path: Path):
    path = tmp_path / "s.csv"
    path.write_text("\ufeffseconds\n100\n200\n", encoding="utf-8")  # Excel's BOM
    assert read_sample(path) == [100.0, 200.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "has no values"),
        ("# only a comment\n\n", "has no values"),
        ("150\n-3\n", "negative time"),
        ("150\nabc\n", "'abc' is not a number"),
        ("150\ninf\n", "not a finite number"),
        ("record,notes\nA,x\n", "no 'seconds' column"),
        ("seconds\n", "header but no values"),
        ("seconds,notes\n,x\n", "empty 'seconds' value"),
        ("150\n1:5\n", "line 2: '1:5' is not a time (write m:ss or h:mm:ss"),
        ("150\n1:75\n", "'1:75' is not a time"),
        ("150\n1:60:00\n", "'1:60:00' is not a time"),
        ("150\n-1:05\n", "'-1:05' is not a time"),
        ("150\n1:05:\n", "'1:05:' is not a time"),
        ("seconds\n150\n2:3:4\n", "line 3: '2:3:4' is not a time"),
        ("150\n8:00:00.5\n", "line 2: 8:00:00.5 is more than 8 hours to read one record"),
    ],
)
def test_bad_sample_text(text, message):
    with pytest.raises(InputError) as err:
        parse_sample(text, "s.txt")
    assert message in err.value.one_line()
    assert "\n" not in err.value.one_line()
    assert err.value.field == "sample"  # the core's name for the input; the CLI's is --sample


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("150\n1e9\n", "s.txt line 2: 1e9 seconds is more than 8 hours to read one record"),
        ("seconds\n150\n28800.01\n", "s.txt line 3: 28800.01 seconds is more than 8 hours"),
        ("150\n1e400\n", "line 2: 1e400 seconds is more than 8 hours"),
        ("150\nnan\n", "'nan' is not a finite number"),
    ],
)
def test_implausible_sample_values(text, message):
    with pytest.raises(InputError) as err:
        parse_sample(text, "s.txt")
    assert message in err.value.one_line() and err.value.field == "sample"


def test_the_bound_itself_and_a_zero_mean():
    assert parse_sample("28800\n0\n") == [28800, 0]  # 8 hours exactly; a zero among others
    assert summarize([28800, 0]).mean_minutes == 240
    with pytest.raises(InputError, match="a mean of 0 minutes per record") as err:
        summarize(parse_sample("0\n0.0\n"))
    assert err.value.field == "sample"
    with pytest.raises(InputError, match="more than 28800 seconds"):
        summarize([150, 28801])


def test_single_value_and_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="at least 2"):
        summarize(parse_sample("150\n"))
    with pytest.raises(InputError, match="sample file not found"):
        read_sample(tmp_path / "absent.txt")
    with pytest.raises(InputError, match="not negative"):
        summarize([1.0, -2.0])


# ---- the figures and the verdict never contradict each other ---------------------------------

REGIMES = load_regimes()
LIMITED = [REGIMES.get(n) for n in REGIMES.names() if REGIMES.get(n).limit is not None]
seconds_st = st.decimals(min_value=1, max_value=1200, places=2)
TIE_VALUES, TIE_RECORDS = [60, 62, 64, 64, 66, 66, 68], 1008  # 1,008 × 450 s / 7 = 1,080 min


@st.composite
def sample_and_records(draw):
    """A sample, a regime and a record count, often on or next to the limit."""
    values = draw(st.lists(seconds_st, min_size=2, max_size=30))
    if draw(st.booleans()):
        values = [values[0]] * len(values)  # no spread
    regime = draw(st.sampled_from(LIMITED))
    other = draw(st.sampled_from([Decimal(0), Decimal(20), Decimal("37.5")]))
    s = summarize(values)
    if draw(st.booleans()):
        records = draw(st.integers(0, 20_000))
    else:  # the record count at which the mean total crosses the limit, and its neighbours
        spare = max(Decimal(0), regime.limit_minutes - other)
        records = max(0, int(spare / s.mean_minutes) + draw(st.integers(-2, 2)))
    if draw(st.integers(0, 9)) == 0:  # now and then, a mean total exactly at the limit
        values, records, other = [Decimal(v) for v in TIE_VALUES], TIE_RECORDS, Decimal(0)
        regime, s = POLICE, summarize(TIE_VALUES)
    return values, s, regime, records, other


@settings(max_examples=300, deadline=None)
@given(sample_and_records())
def test_verdict_wording_and_probability_agree(case):
    values, s, regime, records, other = case
    est = estimate(regime, review_activities(records, s.mean_minutes), fixed_minutes=other)
    a = assess_total(s, records, regime, est.countable_minutes)
    limit_hours = regime.limit_hours
    # An oracle outside Decimal: the true total at the mean, as a fraction.
    true_point = records * sum(map(Fraction, values)) / (60 * len(values)) + Fraction(other)
    truly_exceeds = true_point * Fraction(regime.rate) > Fraction(regime.limit) * 60
    point = records * s.mean_minutes + other
    # The total at the mean is the estimate's, unrounded, and "exceeds" is its decision.
    assert a.total_hours_point == est.total_hours == point / 60
    assert abs(Fraction(a.total_hours_point) - true_point / 60) < Fraction(1, 10**20)
    assert a.exceeds is est.exceeds is truly_exceeds is (a.total_hours_point > limit_hours)
    assert est.decision == ("refuse" if truly_exceeds else "answer")
    assert a.total_hours_low <= a.total_hours_point <= a.total_hours_high
    # The wording says what `exceeds` says, and robustness what the interval's ends say.
    if a.exceeds:
        assert "exceeded" in a.wording and "within the limit at the mean" not in a.wording
        assert (a.robustness == ROBUST) is (a.total_hours_low > limit_hours)
    else:
        assert "exceeded" not in a.wording and "within the limit" in a.wording
        assert (a.robustness == ROBUST) is (a.total_hours_high <= limit_hours)
    assert a.wording.lower().startswith(a.robustness)
    # P is on the side of one half that the exact comparison says; a tie is one half.
    p = a.p_exceeds
    assert p is not None and 0.0 <= p <= 1.0
    assert p >= 0.5 if a.exceeds else p <= 0.5
    if records == 0 or s.se_seconds == 0:
        assert p == (1.0 if a.exceeds else 0.0)
        return
    z = float((regime.limit_minutes - point) / records) / (s.se_seconds / 60)
    if true_point * Fraction(regime.rate) == Fraction(regime.limit) * 60:  # a tie
        assert p == 0.5 and not a.exceeds
    elif abs(z) > 1e-12:  # resolvable in floating point: strictly on its side
        assert (p > 0.5) is a.exceeds and (p < 0.5) is (not a.exceeds)
