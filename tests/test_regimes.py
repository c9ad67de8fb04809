"""Regime profiles: built-in figures, strict validation of TOML, user files and overrides."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from costplan.costmodel.regimes import load_regimes, parse_regimes
from costplan.errors import ConfigError, InputError

GOOD = """
[regime.test-regime]
title = "Test"
act = "Test Act"
currency = "GBP"
limit = 300
rate = 20
countable = ["locate", "extract"]
advisory_only = false
provision = "section 1 of the Test Act"
"""


@pytest.fixture(scope="module")
def regimes():
    return load_regimes()


@pytest.mark.parametrize(
    ("name", "limit", "rate", "hours", "currency"),
    [
        ("uk-foia-other", 450, 25, 18, "GBP"),
        ("uk-foia-central", 600, 25, 24, "GBP"),
        ("foisa", 600, 15, 40, "GBP"),
        ("ireland-foi", 700, 20, 35, "EUR"),
    ],
)
def test_builtin_figures(regimes, name, limit, rate, hours, currency):
    r = regimes.get(name)
    assert (r.limit, r.rate, r.limit_hours, r.currency) == (limit, rate, hours, currency)
    assert r.minutes_per_record == Decimal(3)
    assert not r.advisory_only


def test_default_is_police_limit(regimes):
    assert regimes.default == "uk-foia-other"
    assert regimes.get().limit_hours == 18


def test_uk_sections_and_countable(regimes):
    r = regimes.get("uk-foia-other")
    assert (r.section, r.hold_section) == ("12(1)", "12(2)")
    assert r.countable == {"determine_held", "locate", "retrieve", "extract"}
    assert r.aggregation is not None


def test_foisa_does_not_count_determining_held(regimes):
    r = regimes.get("foisa")
    assert not r.is_countable("determine_held")
    assert r.hold_section is None
    assert "Scotland" in r.provision
    assert r.rate_is_cap


def test_eir_is_advisory_without_limit(regimes):
    r = regimes.get("eir")
    assert r.advisory_only and r.limit is None and r.limit_hours is None
    assert "12(4)(b)" in (r.advisory or "")


def test_ireland_names_its_provision(regimes):
    r = regimes.get("ireland-foi")
    # Information Commissioner decisions cite s.27(12) (law.md §2.3, §5), never "None".
    assert r.section == "27(12)"
    assert "section 27(12)" in r.provision
    assert r.is_countable("schedule")


def test_every_builtin_regime_cites_sources():
    text = resources.files("costplan").joinpath("config", "regimes.toml").read_text("utf-8")
    # One block per [regime.NAME] table (its [regime.NAME.extension.EXT] tables belong to it).
    blocks = re.split(r"^\[regime\.[a-z0-9-]+\]", text, flags=re.M)[1:]
    assert len(blocks) == 5
    for block in blocks:
        comments = [line for line in block.splitlines() if line.startswith("#")]
        assert any("http" in line for line in comments), block.splitlines()[0]


def test_unknown_regime_suggests_names(regimes):
    with pytest.raises(InputError) as err:
        regimes.get("fosia")
    assert "did you mean 'foisa'" in err.value.one_line()
    assert "uk-foia-other" in err.value.one_line()


def test_good_extra_file_adds_a_regime(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    regimes = load_regimes(path)
    assert regimes.get("test-regime").limit_hours == 15
    assert "uk-foia-other" in regimes.names()
    assert regimes.default == "uk-foia-other"


def test_extra_file_can_replace_builtin_and_default(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'default = "uk-foia-other"\n' + GOOD.replace("test-regime", "uk-foia-other"), "utf-8"
    )
    assert load_regimes(path).get().limit_hours == 15


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("rate = 20", "rate = 20\nlimt = 600"), "'regime.test-regime.limt' is an unknown key"),
        (("limit = 300", 'limit = "300"'), "'regime.test-regime.limit' must be a number"),
        (("limit = 300", "limit = true"), "'regime.test-regime.limit' must be a number"),
        (("limit = 300", "limit = -5"), "'regime.test-regime.limit' must be zero or more, not -5"),
        (("rate = 20", "rate = 0"), "'regime.test-regime.rate' must be above zero"),
        (("limit = 300\n", ""), "'regime.test-regime.limit' is missing"),
        (('currency = "GBP"', 'currency = "pounds"'), "ISO code"),
        (("advisory_only = false", 'advisory_only = "no"'), "true or false"),
        (('["locate", "extract"]', '["locate", "redaction"]'), "can never be counted"),
        (('countable = ["locate", "extract"]', 'countable = "locate"'), "list of activity"),
        (('title = "Test"\n', ""), "'regime.test-regime.title' is missing"),
        (
            ("rate = 20", "rate = 20\nminutes_per_record = 0"),
            "'regime.test-regime.minutes_per_record' must be above 0 and at most 480 (8 hours)",
        ),
        (
            ("rate = 20", "rate = 20\nminutes_per_record = 1e9"),
            "at most 480 (8 hours), not 1000000000.0",
        ),
    ],
)
def test_invalid_regime_files(tmp_path: Path, change, message):
    old, new = change
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_regimes(path)
    line = err.value.one_line()
    assert message in line
    assert str(path) in line  # names the file
    assert "\n" not in line


def test_unknown_top_level_key_and_bad_toml():
    with pytest.raises(ConfigError, match="'regimes' is an unknown key"):
        parse_regimes("[regimes.x]\ntitle = 'x'\n", "f.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_regimes("[regime.x\n", "f.toml")
    with pytest.raises(ConfigError, match="'regime' is missing"):
        parse_regimes('default = "x"\n', "f.toml")


def test_default_must_exist(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text('default = "nope"\n' + GOOD, "utf-8")
    with pytest.raises(ConfigError, match="default regime 'nope'"):
        load_regimes(path)


def test_missing_extra_file(tmp_path: Path):
    with pytest.raises(InputError, match="regime file not found"):
        load_regimes(tmp_path / "absent.toml")


def test_overrides(regimes):
    r = regimes.get().with_overrides(limit="600")
    assert r.limit_hours == 24 and r.overrides == ("limit",)
    r = regimes.get().with_overrides(rate=30)
    assert r.limit_hours == 15 and r.overrides == ("rate",)
    assert regimes.get().with_overrides() is regimes.get()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": "-1"}, "must not be negative"),
        ({"limit": "lots"}, "must be a number"),
        ({"rate": "0"}, "above zero"),
        ({"rate": "nan"}, "must be a number"),
    ],
)
def test_bad_overrides(regimes, kwargs, message):
    with pytest.raises(InputError, match=message):
        regimes.get().with_overrides(**kwargs)


def test_foisa_rate_is_a_cap(regimes):
    with pytest.raises(InputError, match="cap"):
        regimes.get("foisa").with_overrides(rate=20)
    assert regimes.get("foisa").with_overrides(rate=10).limit_hours == 60


# ---- the time for compliance ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "days", "calendar", "provision", "pauses", "extensions"),
    [
        # FOIA s.10(1), s.10(6), s.10(2), s.10(3) (law.md §1.9, §5).
        ("uk-foia-other", 20, "uk-any", "section 10(1)", True, {"public-interest": 20}),
        ("uk-foia-central", 20, "uk-any", "section 10(1)", True, {"public-interest": 20}),
        # FOISA s.10 and s.73: Scottish bank holidays only; no extension, no stated pause.
        ("foisa", 20, "scotland", "section 10(1)", False, {}),
        # EIR reg. 5(2) and 7(1): FOIA's working days, 40 when complex and voluminous.
        ("eir", 20, "uk-any", "regulation 5(2)", False, {"eir-complex": 20}),
        # Ireland s.13(1): 4 weeks of 5 weekdays excluding public holidays; s.14 up to 4 more.
        ("ireland-foi", 20, "ireland", "section 13(1)", False, {"many-records": 20}),
    ],
)
def test_builtin_deadlines(regimes, name, days, calendar, provision, pauses, extensions):
    rule = regimes.get(name).deadline
    assert rule is not None
    assert (rule.working_days, rule.calendar) == (days, calendar)
    assert rule.provision.startswith(provision)
    assert (rule.pause_provision is not None) == pauses
    assert {n: e.working_days for n, e in rule.extensions.items()} == extensions
    assert all(e.provision and e.note for e in rule.extensions.values())


DEADLINE = """deadline_days = 15
calendar = "scotland"
deadline_provision = "section 2 of the Test Act"
"""


def test_a_regime_file_may_state_a_deadline_or_none(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, "utf-8")
    assert load_regimes(path).get("test-regime").deadline is None
    path.write_text(
        GOOD
        + DEADLINE
        + 'pause_provision = "section 3"\n'
        + "[regime.test-regime.extension.long]\nworking_days = 5\nprovision = 'section 4'\n",
        "utf-8",
    )
    rule = load_regimes(path).get("test-regime").deadline
    assert rule is not None
    assert (rule.working_days, rule.calendar, rule.pause_provision) == (15, "scotland", "section 3")
    assert rule.extensions["long"].working_days == 5 and rule.extensions["long"].note is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('deadline_days = 20\ncalendar = "uk-any"\n', "'regime.test-regime.deadline_provision'"),
        (DEADLINE.replace('"scotland"', '"england"'), "'regime.test-regime.calendar' must be one"),
        (DEADLINE.replace("15", "0"), "'regime.test-regime.deadline_days' must be an integer"),
        (DEADLINE.replace("15", "61"), "must be an integer in [1, 60]"),
        (DEADLINE.replace("15", '"15"'), "'regime.test-regime.deadline_days' must be an integer"),
        ('pause_provision = "s.3"\n', "'regime.test-regime.pause_provision' needs a deadline"),
        (
            DEADLINE + "[regime.test-regime.extension.long]\nworking_days = 5\n",
            "'regime.test-regime.extension.long.provision' is missing",
        ),
        (
            DEADLINE + "[regime.test-regime.extension.long]\nworking_days = 5\nprovision = 'x'\n"
            "dayz = 3\n",
            "'regime.test-regime.extension.long.dayz' is an unknown key",
        ),
        (
            DEADLINE + "[regime.test-regime.extension.Long]\nworking_days = 5\nprovision = 'x'\n",
            "'regime.test-regime.extension.Long' is not a valid extension name",
        ),
        (
            DEADLINE + "[regime.test-regime.extension.long]\nworking_days = 0\nprovision = 'x'\n",
            "'regime.test-regime.extension.long.working_days' must be an integer in [1, 60]",
        ),
    ],
)
def test_invalid_deadlines(tmp_path: Path, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_regimes(path)
    assert message in err.value.one_line()
    assert str(path) in err.value.one_line()
