"""Timed samples: the t distribution, interval coverage, robustness wording, bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from costplan.costmodel.regimes import load_regimes
from costplan.costmodel.sampling import (
    MARGINAL,
    ROBUST,
    assess,
    parse_sample,
    probability_exceeds,
    read_sample,
    summarize,
    t_cdf,
    t_quantile,
)
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
    assert s.ci_high_minutes == pytest.approx((3 + half) / 60)
    assert s.ci_low_minutes == pytest.approx((3 - half) / 60)


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


def test_point_minutes_rounded_for_checkable_arithmetic():
    s = summarize([170, 180])  # 175 s = 2.91666… min
    assert str(s.point_minutes) == "2.92"


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
    ],
)
def test_bad_sample_text(text, message):
    with pytest.raises(InputError) as err:
        parse_sample(text, "s.txt")
    assert message in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_single_value_and_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="at least 2"):
        summarize(parse_sample("150\n"))
    with pytest.raises(InputError, match="sample file not found"):
        read_sample(tmp_path / "absent.txt")
    with pytest.raises(InputError, match="not negative"):
        summarize([1.0, -2.0])
