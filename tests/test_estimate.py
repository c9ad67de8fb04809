"""The section 12 arithmetic: published police figures, boundaries, 12(2), other regimes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costplan.costmodel.estimate import (
    Activity,
    estimate,
    estimate_records,
    parse_activity_spec,
    records_within_limit,
    review_activities,
)
from costplan.costmodel.regimes import COUNTABLE_ACTIVITIES, NON_COUNTABLE_ACTIVITIES, load_regimes
from costplan.errors import InputError
from costplan.units import MAX_INPUT, fmt_money, fmt_number, is_exact_at, round2

REGIMES = load_regimes()
POLICE = REGIMES.get("uk-foia-other")


# ---- published police estimates (law.md §3) ---------------------------------------------------


@pytest.mark.parametrize(
    ("records", "minutes", "exact_hours", "shown"),
    [
        (1144, 3, Decimal("57.2"), 57.2),  # Northumbria, social media offences
        (3715, 3, Decimal("185.75"), 185.75),  # Northumbria, criminal damage
        (5581, 10, Decimal(55810) / 60, 930.17),  # Gwent 2022/25420 ("930 hours")
    ],
)
def test_published_police_estimates(records, minutes, exact_hours, shown):
    e = estimate_records(POLICE, records, minutes)
    assert e.total_hours == exact_hours
    assert e.countable_minutes == records * minutes
    assert (e.decision, e.section) == ("refuse", "12(1)")
    assert e.to_dict()["total_hours"] == shown


def test_northumbria_explanation_is_quotable():
    e = estimate_records(POLICE, 1144, 3)
    assert e.explanation.startswith(
        "1,144 records × 3 minutes = 57.2 hours, which exceeds the appropriate limit of "
        "18 hours (£450 at £25 per hour) by 39.2 hours."
    )
    assert "section 12(1) of the Freedom of Information Act 2000" in e.explanation
    assert e.total_cost == Decimal(1430)


def test_gwent_display_is_rounded_not_exact():
    e = estimate_records(POLICE, 5581, 10)
    assert "5,581 records × 10 minutes ≈ 930.17 hours" in e.explanation
    assert e.to_dict()["total_cost"] == 23254.17  # 930.1666… × £25


def test_exactly_at_limit_answers_one_more_refuses():
    at = estimate_records(POLICE, 360, 3)
    assert at.total_hours == 18 and (at.decision, at.section) == ("answer", None)
    assert at.headroom_hours == 0 and at.excess_hours == 0
    assert "equals the appropriate limit" in at.explanation
    over = estimate_records(POLICE, 361, 3)
    assert (over.decision, over.section) == ("refuse", "12(1)")
    assert over.total_hours == Decimal("18.05")


def test_12_2_when_determining_held_alone_exceeds():
    e = estimate(POLICE, [Activity("determine_held", 400, 3), Activity("extract", 10, 2)])
    assert (e.decision, e.section) == ("refuse", "12(2)")
    assert e.held_exceeds
    assert "need not confirm or deny" in e.explanation
    assert "section 12(2)" in e.explanation


def test_12_1_when_only_the_total_exceeds():
    e = estimate(POLICE, [Activity("determine_held", 300, 3), Activity("extract", 100, 3)])
    assert e.total_hours == 20
    assert (e.decision, e.section) == ("refuse", "12(1)")
    assert not e.held_exceeds


def test_non_countable_listed_but_never_added():
    base = estimate_records(POLICE, 300, 3)
    e = estimate(
        POLICE,
        review_activities(300, 3)
        + [Activity("redaction", 300, 10), Activity("exemptions", fixed_minutes=600)],
    )
    assert e.countable_minutes == base.countable_minutes == 900
    assert e.non_countable_minutes == 3000 + 600
    assert e.decision == "answer"
    assert [i.countable for i in e.items[-2:]] == [False, False]
    assert "Not counted" in e.explanation and "redaction (50 hours)" in e.explanation
    assert e.to_dict()["non_countable_hours"] == 60.0


def test_review_split_is_exact_and_attributed_to_extract():
    acts = review_activities(5581, 10)
    assert [a.name for a in acts] == ["locate", "retrieve", "extract"]
    assert sum(a.minutes for a in acts) == 55810
    assert acts[2].minutes == 55810


def test_fixed_minutes_count_as_locate():
    e = estimate(POLICE, review_activities(100, 3), fixed_minutes=30)
    assert e.items[-1].activity == "locate" and e.items[-1].minutes == 30
    assert e.countable_minutes == 330


def test_foisa_excludes_determining_held():
    foisa = REGIMES.get("foisa")
    e = estimate(foisa, [Activity("determine_held", 2000, 3), Activity("extract", 100, 3)])
    assert e.countable_minutes == 300
    assert e.decision == "answer" and e.section is None
    assert "determining whether the information is held (100 hours)" in e.explanation
    at = estimate_records(foisa, 800, 3)
    assert at.total_hours == 40 and at.decision == "answer"
    over = estimate_records(foisa, 801, 3)
    assert (over.decision, over.section) == ("refuse", "12(1)")
    assert "Scotland" in over.explanation


def test_eir_is_advisory_never_refuses():
    eir = REGIMES.get("eir")
    e = estimate_records(eir, 100_000, 3)
    assert (e.decision, e.section) == ("answer", None)
    assert e.exceeds is None and e.limit_hours is None
    assert "12(4)(b)" in e.explanation and "public interest" in e.explanation
    guided = estimate_records(eir.with_overrides(limit=450), 100_000, 3)
    assert guided.exceeds and guided.decision == "answer"


def test_ireland_refuses_above_700_euro():
    ie = REGIMES.get("ireland-foi")
    assert estimate_records(ie, 700, 3).decision == "answer"  # 35 h = €700
    e = estimate_records(ie, 701, 3)
    assert (e.decision, e.section) == ("refuse", "27(12)")  # never "None" (issue 17)
    assert "section 27(12)" in e.explanation and "€700 at €20 per hour" in e.explanation
    assert e.to_dict()["currency"] == "EUR"


def test_overrides_are_flagged_in_explanation():
    e = estimate_records(POLICE.with_overrides(limit=600), 400, 3)
    assert e.decision == "answer"
    assert "figures set by the user" in e.explanation
    assert e.to_dict()["overrides"] == ["limit"]


def test_json_contract():
    d = estimate_records(POLICE, 1144, 3).to_dict()
    for key in (
        "regime",
        "total_hours",
        "limit_hours",
        "total_cost",
        "limit_cost",
        "currency",
        "decision",
        "section",
        "explanation",
        "activities",
    ):
        assert key in d
    assert d["limit_cost"] == 450.0 and d["limit_hours"] == 18.0
    item = d["activities"][2]
    assert set(item) >= {"activity", "records", "minutes_per_record", "hours", "countable"}
    assert item == {
        "activity": "extract",
        "records": 1144,
        "minutes_per_record": 3.0,
        "fixed_minutes": 0.0,
        "hours": 57.2,
        "cost": 1430.0,
        "countable": True,
    }


def test_records_within_limit():
    assert records_within_limit(POLICE, 3) == 360
    assert records_within_limit(POLICE, "2.7") == 400
    assert records_within_limit(POLICE, 3, other_minutes=60) == 340
    assert records_within_limit(POLICE, 3, other_minutes=5000) == 0
    assert records_within_limit(REGIMES.get("eir"), 3) is None
    assert records_within_limit(POLICE, 0) is None
    n = records_within_limit(POLICE, 7)
    assert estimate_records(POLICE, n, 7).decision == "answer"
    assert estimate_records(POLICE, n + 1, 7).decision == "refuse"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("extract=1144:3", ("extract", 1144, Decimal(3), Decimal(0))),
        ("locate=0:0+30", ("locate", 0, Decimal(0), Decimal(30))),
        (" Determine-Held = 1,000 : 2.5 ", ("determine_held", 1000, Decimal("2.5"), Decimal(0))),
        ("redaction=10:5+1.5", ("redaction", 10, Decimal(5), Decimal("1.5"))),
    ],
)
def test_parse_activity_spec(spec, expected):
    a = parse_activity_spec(spec)
    assert (a.name, a.records, a.minutes_per_record, a.fixed_minutes) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("extrct=10:3", "did you mean 'extract'"),
        ("review=10:3", "unknown activity"),
        ("extract", "bad activity"),
        ("extract=10", "bad activity"),
        ("extract=-1:3", "must not be negative"),
        ("extract=1.5:3", "whole number"),
        ("extract=10:x", "must be a number"),
        ("extract=10:nan", "must be a number"),
    ],
)
def test_bad_activity_specs(spec, message):
    with pytest.raises(InputError) as err:
        parse_activity_spec(spec)
    assert message in err.value.one_line()


def test_thousands_separators_but_not_decimal_commas():
    assert review_activities("1,144", 3)[2].records == 1144
    with pytest.raises(InputError, match="must be a number"):
        review_activities(10, "2,5")


def test_bad_numbers_rejected():
    # The core speaks of its own fields; the CLI names the option (costplan.cli._app).
    with pytest.raises(InputError, match="records must not be negative") as info:
        review_activities(-1, 3)
    assert info.value.field == "records"
    with pytest.raises(InputError, match="must be a number"):
        review_activities(True, 3)
    with pytest.raises(InputError, match="fixed minutes") as info:
        estimate(POLICE, [], fixed_minutes="-5")
    assert info.value.field == "fixed_minutes"


@pytest.mark.parametrize("value", ["1e400", "1e16", "1000000000000001", 10**20])
def test_huge_numbers_rejected_before_the_arithmetic(value):
    with pytest.raises(InputError, match="records is too large") as info:
        review_activities(value, 3)
    assert info.value.field == "records"
    assert "\n" not in info.value.one_line() and len(info.value.one_line()) < 120
    assert review_activities(MAX_INPUT, 0)[2].records == 10**15  # the bound itself is allowed


@pytest.mark.parametrize("value", [Decimal("1e30"), Decimal("-1e40"), Decimal(10) ** 400])
def test_display_never_fails_on_a_finite_number(value):
    # Decimal.quantize raises InvalidOperation past 28 digits; display must not.
    assert round2(value) == value
    assert fmt_number(value).replace(",", "").lstrip("-").startswith("1000")
    assert is_exact_at(value)


def test_huge_products_of_allowed_inputs_still_explain():
    e = estimate(POLICE, [Activity("extract", MAX_INPUT, MAX_INPUT)])  # 10^30 minutes
    assert e.decision == "refuse" and "exceeds the appropriate limit" in e.explanation
    assert fmt_money(e.total_cost, "GBP").startswith("£416,666,666,666,666,666,666,666,666")


# ---- properties --------------------------------------------------------------------------------

minutes_st = st.decimals(min_value=0, max_value=60, places=2)
activity_st = st.builds(
    Activity,
    name=st.sampled_from(COUNTABLE_ACTIVITIES + NON_COUNTABLE_ACTIVITIES),
    records=st.integers(0, 20_000),
    minutes_per_record=minutes_st,
    fixed_minutes=minutes_st,
)
regime_st = st.sampled_from([REGIMES.get(n) for n in REGIMES.names()])


@settings(max_examples=100, deadline=None)
@given(regime=regime_st, acts=st.lists(activity_st, max_size=8))
def test_total_is_sum_of_countable_activities(regime, acts):
    e = estimate(regime, acts)
    assert e.countable_minutes == sum(
        (a.minutes for a in acts if a.name in regime.countable), Decimal(0)
    )
    assert e.countable_minutes + e.non_countable_minutes == sum(
        (a.minutes for a in acts), Decimal(0)
    )


@settings(max_examples=100, deadline=None)
@given(
    regime=regime_st,
    acts=st.lists(activity_st, max_size=6),
    name=st.sampled_from(NON_COUNTABLE_ACTIVITIES),
    records=st.integers(0, 100_000),
    minutes=minutes_st,
)
def test_non_countable_never_changes_the_decision(regime, acts, name, records, minutes):
    before = estimate(regime, acts)
    after = estimate(regime, [*acts, Activity(name, records, minutes)])
    assert (after.decision, after.section) == (before.decision, before.section)
    assert after.countable_minutes == before.countable_minutes


@settings(max_examples=100, deadline=None)
@given(
    regime=regime_st,
    r1=st.integers(0, 5000),
    dr=st.integers(0, 5000),
    m1=minutes_st,
    dm=minutes_st,
    held=st.integers(0, 500),
)
def test_decision_is_monotone_in_records_and_minutes(regime, r1, dr, m1, dm, held):
    def refuses(records: int, minutes: Decimal) -> bool:
        acts = [Activity("determine_held", held, 1), *review_activities(records, minutes)]
        return estimate(regime, acts).decision == "refuse"

    if refuses(r1, m1):
        assert refuses(r1 + dr, m1)
        assert refuses(r1, m1 + dm)
        assert refuses(r1 + dr, m1 + dm)
