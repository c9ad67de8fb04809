"""Response letters, the case-file annex and disclosure schedules (issue 17).

Golden letters for each regime and each outcome it can reach; the rights each regime's law
requires (FOIA s.17(7) and its equivalents, law.md §5); nothing internal in any letter; and
schedules that follow the decision, checked against an independent count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.costmodel.regimes import load_regimes
from costplan.errors import ConfigError, InputError
from costplan.planner import (
    MinutesPerRecord,
    build_plan,
    build_schedule,
    load_authority,
    load_config,
    respond,
)
from costplan.planner.plan import Plan
from costplan.render import render
from costplan.request import build_request
from costplan.store import Store
from tests.goldens import check_golden
from tests.test_planner import FULL_REVIEW, TAG_QUERY, independent_counts

runner = CliRunner()
REGIMES = load_regimes()
LETTER_DATE = dt.date(2021, 12, 20)
# Query names ("scope" is also an English word, so only the compound names are looked for).
QUERIES = [p.stem for p in (Path(__file__).parents[1] / "queries").glob("*.sql") if "_" in p.stem]

LAMBETH = {
    "name": "Lambeth rave",
    "boroughs": ["Lambeth", "Barking and Dagenham"],
    "date_from": "2020-06-24",
    "date_to": "2020-06-26",
    "tags": ["UME"],
    "keywords": ["rave"],
    "fields": ["count", "created_at", "call_source"],
}
HARINGEY = {
    "name": "Haringey night",
    "boroughs": ["Haringey"],
    "date_from": "2020-06-25",
    "time_from": "20:00",
    "time_to": "04:00",
    "tags": ["UME"],
}
UNCOVERED_ITEM = {"name": "Lambeth 2019", "boroughs": ["Lambeth"], "date_from": "2019-06-25"}

# (items, minutes per record, a planner config change): the request that reaches an outcome.
OUTCOME_CASES: dict[str, tuple[list[dict], int, dict]] = {
    "answer": ([HARINGEY], 3, {}),
    "refuse": ([LAMBETH, HARINGEY], 20, {}),
    # Determining whether held alone over every limit: 50 hours of checking.
    "refuse-ncnd": ([LAMBETH], 20, {"held_check_minutes": Decimal(3000)}),
    "partial": ([{**LAMBETH, "related": False}, {**HARINGEY, "related": False}], 20, {}),
    "uncovered": ([UNCOVERED_ITEM], 3, {}),
}
# What each regime can reach: the EIR never refuse on cost; only FOIA has s.12(2).
REACHES = {
    "uk-foia-other": tuple(OUTCOME_CASES),
    "uk-foia-central": ("refuse", "answer"),
    "foisa": ("answer", "refuse", "partial", "uncovered"),
    "eir": ("answer", "uncovered"),
    "ireland-foi": ("answer", "refuse", "partial", "uncovered"),
}
CASES = [(regime, outcome) for regime, outcomes in REACHES.items() for outcome in outcomes]


def plan_for(store: Store, regime: str, outcome: str, **request: object) -> Plan:
    items, minutes, config = OUTCOME_CASES[outcome]
    if outcome == "refuse" and regime in ("foisa", "ireland-foi"):
        minutes = 60  # their limits are 40 and 35 hours
    data = {"reference": "T-17", "received": "2021-12-06", "items": items, **request}
    req = build_request(data, "test")
    cfg = dataclasses.replace(load_config(), **config)
    per = MinutesPerRecord(Decimal(minutes), "set in the request", kind="request")
    plan = build_plan(
        store.snapshot(), req, REGIMES.get(regime), per, config=cfg, today=LETTER_DATE
    )
    assert {"partial": "partial"}.get(plan.decision, plan.decision) == outcome.split("-")[0]
    return plan


def letter_of(plan: Plan, fmt: str = "text") -> str:
    out = render(respond(plan, load_authority(), LETTER_DATE), fmt)
    assert isinstance(out, str)
    return out


@pytest.mark.parametrize(("regime", "outcome"), CASES)
def test_golden_letter(planner_store: Store, regime: str, outcome: str) -> None:
    plan = plan_for(planner_store, regime, outcome)
    assert respond(plan, load_authority(), LETTER_DATE).outcome == outcome
    check_golden("letters", f"{regime}.{outcome}.txt", letter_of(plan))


def test_golden_markdown_letter_and_annex(planner_store: Store) -> None:
    plan = plan_for(planner_store, "uk-foia-other", "refuse")
    markdown = letter_of(plan, "markdown")
    assert "## Our decision" in markdown and "## Your right to a review" in markdown
    check_golden("letters", "uk-foia-other.refuse.md", markdown)
    annex = letter_of(plan, "annex")
    assert "plan_item_counts" in annex and "manifest" in annex  # the case file has them
    assert "Case-file annex" in annex


URL = re.compile(r"https?://\S+")


@pytest.mark.parametrize(("regime", "outcome"), CASES)
def test_no_letter_says_anything_internal(planner_store: Store, regime: str, outcome: str) -> None:
    text = letter_of(plan_for(planner_store, regime, outcome))
    plain = URL.sub("", text)
    assert not any(q in text for q in QUERIES), "a query name"
    assert "manifest" not in text and "snapshot" not in text
    assert not re.search(r"(?<![\w-])--?[a-z][a-z-]+", plain.replace(" - ", " ")), "a flag"
    # A path has a name on each side of a slash ("SI 2004/3244" is a citation, not a path).
    assert not re.search(r"[A-Za-z_][\w.-]*/[A-Za-z_]|\.(toml|csv|sql|xlsx)\b", plain), "a path"
    assert "(command line)" not in text and "None" not in text
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), "an ISO date: letters word dates"
    assert "Warning" not in text and "may be refused" not in text
    assert "Dear Sir or Madam," in text and "Yours sincerely," in text
    assert "20 December 2021" in text and "Our reference: T-17" in text
    assert "due by 7 January 2022" in text or regime == "ireland-foi"


# The rights each law requires a notice to give (law.md §5).
RIGHTS = {
    "uk-foia-other": ["internal review", "section 50", "the Information Commissioner"],
    "uk-foia-central": ["internal review", "section 50", "the Information Commissioner"],
    "foisa": ["section 20", "section 47", "Scottish Information Commissioner", "section 56"],
    "eir": ["regulation 11", "regulation 18", "section 50", "the Information Commissioner"],
    "ireland-foi": ["section 21", "within 4 weeks", "section 22", "the Information Commissioner"],
}


@pytest.mark.parametrize(("regime", "outcome"), CASES)
def test_every_letter_gives_the_rights_its_law_requires(
    planner_store: Store, regime: str, outcome: str
) -> None:
    text = letter_of(plan_for(planner_store, regime, outcome))
    for phrase in RIGHTS[regime]:
        assert phrase in text, phrase
    assert "To ask for a review, please write to" in text  # the authority's own procedure


@pytest.mark.parametrize("regime", ["uk-foia-other", "uk-foia-central"])
def test_foia_refusal_is_a_notice_that_confirms_what_is_held(
    planner_store: Store, regime: str
) -> None:
    text = letter_of(plan_for(planner_store, regime, "refuse"))
    assert "refuse your request under section 12(1) of the Freedom of Information Act" in text
    assert "refusal notice under section 17(5)" in text
    assert "We can confirm that we hold information" in text
    assert "Freedom of Information and Data Protection (Appropriate Limit and Fees)" in text
    assert "duty under section 16 of the Freedom of Information Act 2000" in text


def test_section_12_2_neither_confirms_nor_denies(planner_store: Store) -> None:
    text = letter_of(plan_for(planner_store, "uk-foia-other", "refuse-ncnd"))
    assert "We neither confirm nor deny that we hold the information" in text
    assert "section 12(2) of the Freedom of Information Act 2000" in text
    assert "We can confirm" not in text


def test_foisa_letters_use_scottish_terms(planner_store: Store) -> None:
    text = letter_of(plan_for(planner_store, "foisa", "refuse"))
    assert "prescribed amount" in text and "appropriate limit" not in text
    assert "duty under section 15 of the Freedom of Information (Scotland) Act" in text
    assert "notice under section 16(4)" in text
    assert "determining whether the information is held 0" not in text  # not counted
    assert "The cost of determining whether we hold the information is not counted" in text


def test_eir_letters_never_refuse_on_cost(planner_store: Store) -> None:
    plan = plan_for(planner_store, "eir", "answer", items=[LAMBETH, HARINGEY])
    text = letter_of(plan)
    assert "appropriate limit" not in text and "12(4)(b)" not in text
    assert "will make the information you asked for available" in text
    assert "12(4)(b)" in letter_of(plan, "annex")  # the officer's judgement, in the case file


def test_ireland_cites_27_12_helps_amend_and_offers_the_charge(planner_store: Store) -> None:
    text = letter_of(plan_for(planner_store, "ireland-foi", "refuse"))
    assert "section 27(12)" in text and "section 15(4)" in text
    assert "no more than €500" in text and "€700" in text
    assert "section 16" not in text and "appropriate limit" not in text


def test_a_refusal_letter_needs_a_finding_on_whether_held(planner_store: Store) -> None:
    untagged = {k: v for k, v in LAMBETH.items() if k != "tags"}
    req = {"items": [untagged]}
    plan = plan_for(planner_store, "uk-foia-other", "refuse", **req)
    with pytest.raises(InputError) as err:
        letter_of(plan)
    assert err.value.field == "held"
    held = plan_for(planner_store, "uk-foia-other", "refuse", held=True, **req)
    assert "We can confirm that we hold" in letter_of(held)
    # FOISA has no duty to confirm or deny beside s.12: its letter needs no finding.
    assert "refuse your request" in letter_of(plan_for(planner_store, "foisa", "refuse", **req))


def test_the_evidence_for_the_reading_time_is_stated(planner_store: Store) -> None:
    plan = plan_for(planner_store, "uk-foia-other", "refuse")
    published = dataclasses.replace(plan, per_record=MinutesPerRecord(Decimal(20), "default"))
    assert "published by another police force" in letter_of(published)
    assert "A timed sample of this force's own records is better evidence" in letter_of(
        published, "annex"
    )


def test_settings_come_from_the_users_file(planner_store: Store, tmp_path: Path) -> None:
    default = Path(__file__).parents[1] / "costplan" / "config" / "authority.toml"
    own = tmp_path / "authority.toml"
    own.write_text(
        default.read_text(encoding="utf-8").replace("Metropolitan Police Service", "Kent Police")
    )
    plan = plan_for(planner_store, "uk-foia-other", "refuse")
    text = render(respond(plan, load_authority(own), LETTER_DATE), "text")
    assert isinstance(text, str) and text.startswith("Kent Police\n")
    bad = tmp_path / "bad.toml"
    bad.write_text('colour = "blue"\n' + default.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="'colour' is an unknown key"):
        load_authority(bad)


def test_a_template_naming_an_unknown_value_is_an_error(
    planner_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costplan.render import letter

    real = letter.template
    monkeypatch.setattr(
        letter, "template", lambda f, n: real(f, n) + ("$nonsense\n" if n == "rights" else "")
    )
    with pytest.raises(ConfigError, match=r"names \$nonsense"):
        letter_of(plan_for(planner_store, "uk-foia-other", "refuse"))


# ---- disclosure schedules -------------------------------------------------------------------


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


def test_schedule_header_names_strategy_count_and_exemptions(
    planner_store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "schedule.csv"
    args = ["plan", "--store", str(planner_store.root), "--borough", "Lambeth"]
    args += ["--date", "2020-06-25", "--tag", "UME", "--minutes-per-record", "1"]
    result = run(*args, "--disclose", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    head = [line for line in text.splitlines() if line.startswith("#")]
    rows = [line for line in text.splitlines() if not line.startswith("#")][1:]
    n = independent_counts(planner_store, {"boroughs": ["Lambeth"], "date": "2020-06-25"})
    assert len(rows) == n[FULL_REVIEW]
    assert f"# records: {n[FULL_REVIEW]:,}" in head
    assert "# strategy: Full manual review" in head
    assert any(line.startswith("# completeness: Complete") for line in head)
    assert any("manifest v1" in line for line in head)
    assert any("carries the date" in line for line in head)  # the reference's own disclosure


def test_a_tagged_schedule_is_chosen_explicitly(planner_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "tagged.csv"
    args = ["plan", "--store", str(planner_store.root), "--borough", "Lambeth"]
    args += ["--date", "2020-06-25", "--tag", "UME", "--minutes-per-record", "1"]
    result = run(*args, "--disclose", str(out), "--disclose-tagged", "--disclose-refs", "opaque")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if not line.startswith("#")]
    item = {"boroughs": ["Lambeth"], "date": "2020-06-25", "tags": ["UME"]}
    n = independent_counts(planner_store, item)
    assert rows[0] == "record" and len(rows) - 1 == n[TAG_QUERY] > 0
    assert rows[1] == "R0001" and not any("/" in r for r in rows)
    assert "# strategy: Tag query" in lines
    assert any(line.startswith("# completeness: Incomplete") for line in lines)


def test_withheld_fields_and_their_exemptions_are_in_the_header(planner_store: Store) -> None:
    req = build_request(
        {"reference": "T-W", "items": [{**HARINGEY, "fields": ["count", "created_at"]}]}, "t"
    )
    snap = planner_store.snapshot()
    plan = build_plan(snap, req, REGIMES.get("foisa"), MinutesPerRecord(Decimal(3), "t"))
    schedule = build_schedule(plan, snap, load_authority())
    (what, exemption), *_ = schedule.withheld
    assert "date and time" in what and "35(1)(a)" in exemption
    csv = render(schedule, "csv")
    assert isinstance(csv, bytes) and b"withheld: the date and time" in csv


def test_an_empty_answer_is_never_a_silent_empty_file(planner_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    args = ["plan", "--store", str(planner_store.root), "--borough", "Lambeth"]
    args += ["--date", "2020-06-25", "--tag", "NOSUCHTAG", "--minutes-per-record", "1"]
    result = run(*args, "--disclose", str(out), "--disclose-tagged")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "# records: 0" in text and "no information is held" in text


def test_schedule_checks_come_before_any_work(planner_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    settings = tmp_path / "s.toml"
    default = Path(__file__).parents[1] / "costplan" / "config" / "authority.toml"
    settings.write_text(
        "\n".join(
            line
            for line in default.read_text(encoding="utf-8").splitlines()
            if not line.startswith("foisa")
        )
    )
    args = ["plan", "--store", str(planner_store.root), "--borough", "Haringey"]
    args += ["--date", "2020-06-25"]
    cases = [
        (["--disclose-tagged"], "names no tag"),
        (["--regime", "foisa", "--settings", str(settings)], "no exemption for foisa"),
    ]
    req = tmp_path / "r.toml"
    req.write_text(
        'reference = "R"\n[[items]]\nname = "n"\nboroughs = ["Haringey"]\ndate = 2020-06-25\n'
        'fields = ["count", "created_at"]\n'
    )
    for extra, message in cases:
        base = args if "--disclose-tagged" in extra else ["plan", str(req), "--store"]
        if base is not args:
            base = [*base, str(planner_store.root)]
        result = run(*base, *extra, "--disclose", str(out))
        assert result.exit_code == 2, result.output
        assert message in result.output and "Request" not in result.output  # nothing printed
        assert not out.exists()


def test_letter_options_through_the_cli(planner_store: Store) -> None:
    base = ["plan", "--store", str(planner_store.root), "--borough", "Lambeth"]
    base += ["--date", "2020-06-25", "--tag", "UME", "--today", "2021-12-20"]
    quick = run(*base, "--reference", "Q-1", "--received", "2021-12-06", "--letter")
    assert quick.exit_code == 0, quick.output
    assert "Our reference: Q-1" in quick.output and "due by 7 January 2022" in quick.output
    bare = run(*base, "--letter")
    assert bare.exit_code == 0 and "Our reference" not in bare.output  # never "(command line)"
    md = run(*base, "--letter", "--format", "markdown")
    assert md.exit_code == 0 and "## Our decision" in md.output
    annex = run(*base, "--annex")
    assert annex.exit_code == 0 and "Case-file annex" in annex.output
    for extra, message in [
        (["--letter", "--annex"], "not both"),
        # With --format json the error is the JSON object of the error contract (issue 14).
        (["--letter", "--format", "json"], '"message": "a letter is text or markdown"'),
    ]:
        result = run(*base, *extra)
        assert result.exit_code == 2 and message in result.output, result.output
    # A refusal about a keyword alone: nothing shows whether the information is held.
    keyword = [a for a in base if a not in ("--tag", "UME")]
    keyword += ["--keyword", "rave", "--minutes-per-record", "400", "--letter"]
    untagged = run(*keyword)
    assert untagged.exit_code == 2 and "--held" in untagged.output, untagged.output
    assert "We can confirm" in run(*keyword, "--held").output


# A partial answer's refused parts: the duty to confirm or deny survives each refusal under
# s.12(1) (law.md §1.5), unless determining whether that part is held alone exceeds (s.12(2)).
def test_a_partial_letter_confirms_the_refused_part_is_held(planner_store: Store) -> None:
    text = letter_of(plan_for(planner_store, "uk-foia-other", "partial"))
    assert "does not remove our duty to tell you whether we hold" in text
    assert "We can confirm that we hold information within the scope of 'Lambeth rave'." in text
    assert "neither confirm nor deny" not in text


def test_a_partial_letter_neither_confirms_nor_denies_a_part_past_s12_2(
    planner_store: Store,
) -> None:
    plan = plan_for(planner_store, "uk-foia-other", "partial")
    parts = tuple(
        dataclasses.replace(p, estimate=dataclasses.replace(p.estimate, held_exceeds=True))
        if p.decision == "refuse"
        else p
        for p in plan.parts
    )
    text = letter_of(dataclasses.replace(plan, parts=parts))
    assert "'Lambeth rave' we also rely on section 12(2)" in text
    assert "we neither confirm nor deny that we hold the information" in text
    assert "We can confirm that we hold information within the scope of 'Lambeth rave'" not in text


def test_a_partial_letter_cannot_refuse_a_part_said_not_to_be_held(planner_store: Store) -> None:
    plan = plan_for(planner_store, "uk-foia-other", "partial", held=False)
    with pytest.raises(InputError, match="not held"):
        letter_of(plan)


def test_a_partial_letter_takes_the_held_finding_of_the_refused_parts_only(
    planner_store: Store,
) -> None:
    untagged = {**LAMBETH, "related": False, "tags": []}
    items = [untagged, {**HARINGEY, "related": False}]
    data = {"reference": "T-17", "received": "2021-12-06", "items": items}
    per = MinutesPerRecord(Decimal(20), "set in the request", kind="request")
    plan = build_plan(
        planner_store.snapshot(),
        build_request(data, "test"),
        REGIMES.get("uk-foia-other"),
        per,
        today=LETTER_DATE,
    )
    assert plan.decision == "partial"
    # Haringey's tagged records say nothing about whether the Lambeth part is held.
    with pytest.raises(InputError, match="confirm or deny"):
        letter_of(plan)


def test_a_partly_held_scope_is_worded_with_dates_in_words() -> None:
    from costplan.render.letter import _coverage_words
    from costplan.store.coverage import PARTIAL, Verdict

    v = Verdict(
        PARTIAL,
        dt.date(2020, 6, 1),
        dt.date(2020, 6, 30),
        {"Lambeth": ((dt.date(2020, 6, 1), dt.date(2020, 6, 3)), (dt.date(2020, 6, 9),) * 2)},
    )
    assert _coverage_words(v) == (
        "The records we hold do not yet include Lambeth: 1 to 3 June 2020 and 9 June 2020; "
        "the figures in this letter cover only the days they do include."
    )
