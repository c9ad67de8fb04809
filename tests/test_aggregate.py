"""Regulation 5 aggregation: one verdict per request, parties, topics, the 60-working-day
window, the s.10 due date and the answered date, and register validation.

Dates are hand-computed from working days counted from Monday 8 January 2024 (the first UK
bank holiday after it is Monday 18 March, St Patrick's Day in Northern Ireland): working day N is
``add_working_days(START, N - 1)``, and a request received on START is due on working day 21.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from costplan.costmodel.aggregate import (
    RegisterEntry,
    Verdict,
    aggregate,
    aggregate_register,
    read_register,
)
from costplan.costmodel.regimes import load_regimes
from costplan.costmodel.workdays import add_working_days
from costplan.errors import InputError

POLICE = load_regimes().get("uk-foia-other")
INPUTS = Path(__file__).parent / "golden" / "costs" / "inputs"
D = dt.date
START = D(2024, 1, 8)  # a Monday: working day 1


def wd(n: int) -> dt.date:
    """Working day `n`, counting START as day 1."""
    return add_working_days(START, n - 1)[0]


def entry(
    rid: str,
    received: dt.date,
    hours: float,
    requester: str = "Jane Private",
    topic: str = "ume",
    campaign: str | None = None,
    status: str = "open",
    answered: dt.date | None = None,
) -> RegisterEntry:
    minutes = Decimal(str(hours)) * 60
    return RegisterEntry(rid, requester, campaign, received, topic, minutes, status, answered)


def by_id(report) -> dict[str, Verdict]:
    verdicts = {v.entry.request_id: v for v in report.verdicts}
    assert len(verdicts) == len(report.verdicts)  # one verdict per request
    return verdicts


def brief(report) -> dict[str, tuple[str, str, list[str], Decimal]]:
    """Each request's (decision, basis, requests added to it, combined hours)."""
    return {
        rid: (v.decision, v.basis, [e.request_id for e in v.aggregated_with], v.total_hours)
        for rid, v in by_id(report).items()
    }


def test_hand_dates():
    assert (wd(1), wd(21), wd(50), wd(60), wd(100)) == (
        D(2024, 1, 8),
        D(2024, 2, 5),
        D(2024, 3, 15),
        D(2024, 4, 3),  # not 18 Mar (NI), Good Friday 29 Mar or Easter Monday 1 Apr
        D(2024, 5, 31),  # nor 6 and 27 May
    )


def test_same_requester_within_window_is_aggregated_and_refused():
    # B (1 Feb) arrives before A is due (5 Feb): each is judged with the other.
    report = aggregate([entry("A", START, 10), entry("B", D(2024, 2, 1), 9)], POLICE)
    assert brief(report) == {
        "A": ("refuse", "aggregated", ["B"], 19),
        "B": ("refuse", "aggregated", ["A"], 19),
    }
    a = by_id(report)["A"]
    assert a.section == "12(1)" and a.due == D(2024, 2, 5) == a.dealt_with
    assert "exceeds the appropriate limit of 18 hours" in a.explanation
    assert "A may be refused under section 12(1)" in a.explanation
    assert a.link == "same requester (requester A)"


def test_group_within_limit_answers():
    report = aggregate([entry("A", START, 9), entry("B", D(2024, 1, 9), 9)], POLICE)
    # exactly 18 hours is within the limit
    assert brief(report)["A"] == ("answer", "aggregated", ["B"], 18)
    assert "does not apply to A" in by_id(report)["A"].explanation


def test_three_requests_on_days_1_50_100_get_one_verdict_each():
    # The old report made two groups, {1, 50} and {50, 100}, and put day 50 in both. Now:
    # day 1 is due on day 21, before day 50 arrives: judged alone, 10 h, answered.
    # day 50 adds day 1 (day 50 is within the 60 working days from day 1): 19 h, refused.
    # day 100 adds day 50 (day 100 is working day 51 from day 50), not day 1: 17 h, answered.
    report = aggregate(
        [entry("A", wd(1), 10), entry("B", wd(50), 9), entry("C", wd(100), 8)], POLICE
    )
    assert brief(report) == {
        "A": ("answer", "alone", [], 10),
        "B": ("refuse", "aggregated", ["A"], 19),
        "C": ("answer", "aggregated", ["B"], 17),
    }
    a, b, c = (by_id(report)[k] for k in "ABC")
    assert [(e.request_id, why) for e, why in a.not_counted] == [
        ("B", "received 2024-03-15, after A's s.10 due date 2024-02-05")
    ]
    assert "may be refused" not in a.explanation and "may be refused" not in c.explanation
    assert (b.window_start, b.window_end) == (wd(1), wd(60))
    assert (c.window_start, c.window_end) == (wd(50), wd(109))
    assert c.not_counted == ()  # day 1 is out of reach: not worth a word


def test_equal_hours_on_days_1_50_100():
    report = aggregate(
        [entry("A", wd(1), 10), entry("B", wd(50), 10), entry("C", wd(100), 10)], POLICE
    )
    assert [v.decision for v in report.verdicts] == ["answer", "refuse", "refuse"]


def test_answered_before_a_later_request_is_not_refused_because_of_it():
    # A is answered on day 3; B arrives on day 6. A stays answered on its own 10 hours; B
    # may add A (answered requests still count for later ones) and is refused on 20 hours.
    report = aggregate(
        [
            entry("A", wd(1), 10, status="answered", answered=wd(3)),
            entry("B", wd(6), 10),
        ],
        POLICE,
    )
    assert brief(report) == {
        "A": ("answer", "alone", [], 10),
        "B": ("refuse", "aggregated", ["A"], 20),
    }
    a = by_id(report)["A"]
    assert a.dealt_with == wd(3) and a.due == wd(21)
    assert a.not_counted[0][1] == "received 2024-01-15, after A was answered on 2024-01-10"
    assert "may be refused" not in a.explanation
    assert "judged as at 2024-01-10, when it was answered" in a.explanation


def test_answered_on_the_day_the_later_request_arrived_comes_first():
    report = aggregate(
        [entry("A", wd(1), 10, answered=wd(6), status="refused"), entry("B", wd(6), 10)],
        POLICE,
    )
    assert brief(report)["A"] == ("answer", "alone", [], 10)
    assert "after A was refused on the same day" in by_id(report)["A"].not_counted[0][1]
    # the register says refused but the figures do not support it: say so
    assert "The register records it as refused." in by_id(report)["A"].explanation
    assert brief(report)["B"] == ("refuse", "aggregated", ["A"], 20)


def test_due_date_is_the_last_day_a_later_request_counts():
    on_due = aggregate([entry("A", wd(1), 10), entry("B", wd(21), 10)], POLICE)
    assert brief(on_due)["A"] == ("refuse", "aggregated", ["B"], 20)
    after = aggregate([entry("A", wd(1), 10), entry("B", wd(22), 10)], POLICE)
    assert brief(after)["A"] == ("answer", "alone", [], 10)
    # dates of receipt are compared as dates: a Saturday receipt before the due date counts,
    # though its own working days start on the due date (Monday 5 February)
    saturday = aggregate([entry("A", wd(1), 10), entry("B", D(2024, 2, 3), 10)], POLICE)
    assert brief(saturday)["A"] == ("refuse", "aggregated", ["B"], 20)


def test_late_answer_does_not_extend_the_time_to_aggregate():
    report = aggregate(
        [entry("A", wd(1), 10, status="answered", answered=wd(30)), entry("B", wd(25), 10)], POLICE
    )
    a = by_id(report)["A"]
    assert a.dealt_with == wd(21) and brief(report)["A"] == ("answer", "alone", [], 10)
    assert "(the response was sent late, on 2024-02-16)" in a.explanation


def test_answered_without_a_date_is_dealt_with_by_its_due_date():
    report = aggregate([entry("A", wd(1), 10, status="answered"), entry("B", wd(10), 10)], POLICE)
    a = by_id(report)["A"]
    assert a.dealt_with == wd(21) and a.decision == "refuse"
    assert "A could have been refused" in a.explanation
    assert "The register records it as answered." in a.explanation


def test_withdrawn_request_is_not_decided_and_adds_nothing():
    report = aggregate([entry("A", wd(1), 10, status="withdrawn"), entry("B", wd(2), 10)], POLICE)
    assert brief(report) == {
        "A": ("withdrawn", "withdrawn", [], 10),
        "B": ("answer", "alone", [], 10),
    }


def test_the_costliest_period_containing_the_request_is_used():
    # B (day 50) can add A (day 1) or C (day 65, before B's due day 70), not both: A and C
    # are 65 working days apart. C's 14 hours outweigh A's 5: B is judged with C, 19 hours.
    report = aggregate(
        [entry("A", wd(1), 5), entry("B", wd(50), 5), entry("C", wd(65), 14)], POLICE
    )
    assert brief(report)["B"] == ("refuse", "aggregated", ["C"], 19)
    b = by_id(report)["B"]
    assert (b.window_start, b.window_end) == (wd(50), wd(109))
    assert [e.request_id for e, _ in b.not_counted] == ["A"]
    assert b.not_counted[0][1] == "not within one 60-working-day period with those counted"
    assert brief(report)["C"] == ("refuse", "aggregated", ["B"], 19)
    assert brief(report)["A"] == ("answer", "alone", [], 5)


def test_own_cost_over_the_limit_is_refused_alone():
    report = aggregate([entry("A", wd(1), 20), entry("B", wd(2), 1)], POLICE)
    assert brief(report) == {
        "A": ("refuse", "alone", [], 20),
        "B": ("refuse", "aggregated", ["A"], 21),
    }
    assert "On its own, without aggregation, it needs 20 hours" in by_id(report)["A"].explanation


def test_campaign_links_different_requesters():
    report = aggregate(
        [
            entry("A", wd(1), 10, requester="P", campaign="C1"),
            entry("B", wd(3), 10, requester="Q", campaign="c1"),
            entry("C", wd(4), 10, requester="R"),
        ],
        POLICE,
    )
    assert brief(report) == {
        "A": ("refuse", "aggregated", ["B"], 20),
        "B": ("refuse", "aggregated", ["A"], 20),
        "C": ("answer", "alone", [], 10),
    }
    a = by_id(report)["A"]
    assert a.link == "same campaign 'C1' (requester A, requester B)"
    assert "B (requester B, received 2024-01-10, while A was still being dealt with)" in (
        a.explanation
    )


def test_links_are_transitive_within_a_party():
    report = aggregate(
        [
            entry("A", wd(1), 7, requester="P", campaign="C1"),
            entry("B", wd(3), 7, requester="Q", campaign="C1"),
            entry("C", wd(5), 7, requester="Q"),
        ],
        POLICE,
    )
    assert {k: v[3] for k, v in brief(report).items()} == {"A": 21, "B": 21, "C": 21}
    assert by_id(report)["A"].link.startswith("acting in concert")


def test_different_topics_are_never_aggregated():
    report = aggregate(
        [
            entry("A", wd(1), 10),
            entry("B", wd(1), 10, topic="stop-search"),
            entry("C", wd(2), 10, topic="stop-search"),  # the reader lower-cases topics
        ],
        POLICE,
    )
    assert brief(report) == {
        "A": ("answer", "alone", [], 10),
        "B": ("refuse", "aggregated", ["C"], 20),
        "C": ("refuse", "aggregated", ["B"], 20),
    }
    assert by_id(report)["A"].not_counted == ()


def test_sixty_working_day_boundary():
    inside = aggregate([entry("A", START, 1), entry("B", wd(60), 1)], POLICE)
    b = by_id(inside)["B"]
    assert brief(inside)["B"] == ("answer", "aggregated", ["A"], 2)
    assert (b.window_start, b.window_end) == (START, wd(60))
    outside = aggregate([entry("A", START, 1), entry("B", wd(61), 1)], POLICE)
    assert brief(outside) == {"A": ("answer", "alone", [], 1), "B": ("answer", "alone", [], 1)}


def test_weekend_receipt_counts_from_next_working_day():
    # Received Saturday 6 Jan 2024: counted from Monday 8 Jan, so the window ends on the 60th
    # working day from 8 Jan, not from Friday 5 Jan.
    report = aggregate([entry("A", D(2024, 1, 6), 1), entry("B", wd(60), 1)], POLICE)
    b = by_id(report)["B"]
    assert [e.request_id for e in b.aggregated_with] == ["A"]
    assert b.window_start == START


def test_advisory_regime_never_refuses():
    advisory = dataclasses.replace(POLICE, advisory_only=True, advisory="Advice only.")
    report = aggregate([entry("A", wd(1), 10), entry("B", wd(2), 10)], advisory)
    assert [v.decision for v in report.verdicts] == ["answer", "answer"]
    assert "more than the appropriate limit of 18 hours" in report.verdicts[0].explanation


def test_requesters_are_pseudonymised(tmp_path: Path):
    report = aggregate_register(INPUTS / "register.csv", POLICE)
    text = json.dumps(report.to_dict())
    for name in ("Jane", "Private", "Bob", "Alice", "Zed", "Example"):
        assert name not in text
    assert "requester A" in text and "requester D" in text


def test_register_csv_golden_input():
    # Hand-computed (dates from `costplan deadline`; 3 Aug and 31 Aug 2020 are bank holidays
    # in Scotland and in England, Wales and NI, so not working days anywhere in the UK):
    report = aggregate_register(INPUTS / "register.csv", POLICE)
    assert brief(report) == {
        # Jane Private, topic ume. R1 was answered on 8 Jul, before R2 (10 Jul) and R9 (20 Jul)
        # arrived: 6 h alone. R10 was withdrawn: never added. R2 + R1 + R9 = 6 + 8 + 5 = 19.
        "R1": ("answer", "alone", [], 6),
        "R2": ("refuse", "aggregated", ["R1", "R9"], 19),
        "R9": ("refuse", "aggregated", ["R1", "R2"], 19),
        "R10": ("withdrawn", "withdrawn", [], 4),
        # SaveRaves (Bob and Alice) and Bob's own R8. R3 (Sat 18 Jul) is due 17 Aug, before
        # R8 (1 Sep): 4 + 5.5 with R4. R4 (3 Aug) is due 1 Sep, the day R8 arrived: 19 h.
        "R3": ("answer", "aggregated", ["R4"], Decimal("9.5")),
        "R4": ("refuse", "aggregated", ["R3", "R8"], 19),
        "R8": ("refuse", "aggregated", ["R3", "R4"], 19),
        # R5 is more than 60 working days after the rest; R6 is another topic; R7 another
        # requester with 30 h of its own (recorded as refused, which the figures support).
        "R5": ("answer", "alone", [], 5),
        "R6": ("answer", "alone", [], 2),
        "R7": ("refuse", "alone", [], 30),
    }
    got = by_id(report)
    assert got["R3"].not_counted[0][1] == "received 2020-09-01, after R3's s.10 due date 2020-08-17"
    assert got["R4"].due == D(2020, 9, 1)
    assert got["R1"].dealt_with == D(2020, 7, 8)
    assert [e.request_id for e, _ in got["R1"].not_counted] == ["R2", "R9"]
    assert "The register records" not in got["R7"].explanation


def test_register_toml():
    entries = read_register(INPUTS / "register.toml", POLICE)
    assert [e.received for e in entries] == [D(2020, 6, 25), D(2020, 7, 2)]
    assert (entries[0].status, entries[0].answered) == ("answered", D(2020, 6, 30))
    assert entries[1].hours == 9 and entries[1].topic == "ume" and entries[1].status == "open"
    report = aggregate(entries, POLICE)
    assert brief(report) == {
        "T1": ("answer", "alone", [], 10),
        "T2": ("refuse", "aggregated", ["T1"], 19),
    }


def test_no_wording_refuses_a_whole_group():
    for name in ("register.csv", "register.toml"):
        text = json.dumps(aggregate_register(INPUTS / name, POLICE).to_dict())
        assert "each of these requests" not in text


HEADER = "id,requester,campaign,received,topic,hours"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("requester,received,topic,hours\nx,2024-01-01,t,1\n", "missing column 'id'"),
        ("id,received,topic,hours\n1,2024-01-01,t,1\n", "missing column 'requester'"),
        ("id,requester,topic,hours\n1,x,t,1\n", "missing column 'received'"),
        ("id,requester,received,hours\n1,x,2024-01-01,1\n", "missing column 'topic'"),
        ("id,requester,received,topic\n1,x,2024-01-01,t\n", "missing column 'hours'"),
        (f"{HEADER}\n1,x,,2024-02-30,t,1\n", "line 2: 'received' must be a date"),
        (f"{HEADER}\n1,x,,2024-02-01,t,-1\n", "'hours' must be a number of hours, zero or more"),
        (f"{HEADER}\n1,x,,2024-02-01,t,lots\n", "must be a number"),
        (f'{HEADER}\n1,x,,2024-02-01,t,"1,5"\n', "must be a number"),
        (f"{HEADER}\n1,x,,2024-02-01,t,\n", "give either 'hours' or 'activities'"),
        (f"{HEADER}\n1,,,2024-02-01,t,1\n", "'requester' must not be empty"),
        (
            f"{HEADER}\n1,x,,2024-02-01,t,1\n1,y,,2024-02-02,t,1\n",
            "line 3: 'id' must be a unique request id, not '1' again",
        ),
        (
            "id,requester,received,topic,hours,activities\n1,x,2024-02-01,t,1,extract=1:1\n",
            "exactly one",
        ),
        (
            "id,requester,received,topic,activities\n1,x,2024-02-01,t,extract=1:y\n",
            "must be a number",
        ),
        ("id,requester,received,topic,activities\n1,x,2024-02-01,t,review=1:1\n", "unknown"),
        (f"{HEADER}\n", "has no requests"),
        ("", "is empty"),
    ],
)
def test_bad_csv_registers(tmp_path: Path, text, message):
    path = tmp_path / "register.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_register(path, POLICE)
    line = err.value.one_line()
    assert message in line
    assert str(path) in line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[request]]\nid = "1"\nrequester = "x"\nreceived = 2024-01-01\nhours = 1\n',
            r"'request\[0\]\.topic' is missing",
        ),
        (
            '[[request]]\nid = "1"\nrequester = "x"\nreceived = 2024-01-01\ntopic = "t"\n'
            "hours = 1\nnotes = 'x'\n",
            r"'request\[0\]\.notes' is an unknown key",
        ),
        ('title = "x"\n', "'title' is an unknown key"),
        (
            2
            * (
                '[[request]]\nid = "1"\nrequester = "x"\nreceived = 2024-01-01\ntopic = "t"\n'
                "hours = 1\n"
            ),
            r"'request\[1\]\.id' must be a unique request id, not '1' again",
        ),
        ("[[request]\n", "not valid TOML"),
    ],
)
def test_bad_toml_registers(tmp_path: Path, text, message):
    path = tmp_path / "register.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_register(path, POLICE)


def test_missing_register_and_regime_without_aggregation(tmp_path: Path):
    with pytest.raises(InputError, match="register not found"):
        read_register(tmp_path / "absent.csv", POLICE)
    with pytest.raises(InputError, match="no aggregation rule"):
        aggregate([entry("A", D(2024, 1, 8), 1)], load_regimes().get("foisa"))


# ---- status and answered date ------------------------------------------------------------

STATUS_HEADER = "id,requester,received,topic,hours,status,answered"


def test_status_and_answered_columns_are_read(tmp_path: Path):
    path = tmp_path / "register.csv"
    path.write_text(
        f"{STATUS_HEADER}\n"
        "1,x,2024-01-08,t,1,,\n"  # neither: open
        "2,x,2024-01-08,t,1,,2024-01-10\n"  # a date alone: answered
        "3,x,2024-01-08,t,1, Refused ,2024-01-08\n"  # case and spaces; same day is fine
        "4,x,2024-01-08,t,1,withdrawn,\n"
        "5,x,2024-01-08,t,1,answered,\n",  # answered, day not recorded
        encoding="utf-8",
    )
    got = [(e.status, e.answered) for e in read_register(path, POLICE)]
    assert got == [
        ("open", None),
        ("answered", D(2024, 1, 10)),
        ("refused", D(2024, 1, 8)),
        ("withdrawn", None),
        ("answered", None),
    ]


def test_status_and_answered_keys_are_read_from_toml(tmp_path: Path):
    path = tmp_path / "register.toml"
    path.write_text(
        '[[request]]\nid = "1"\nrequester = "x"\nreceived = 2024-01-08\ntopic = "t"\nhours = 1\n'
        'status = "answered"\nanswered = 2024-01-12\n\n'
        '[[request]]\nid = "2"\nrequester = "x"\nreceived = 2024-01-08\ntopic = "t"\nhours = 1\n'
        'answered = "2024-01-15"\n',
        encoding="utf-8",
    )
    got = [(e.status, e.answered) for e in read_register(path, POLICE)]
    assert got == [("answered", D(2024, 1, 12)), ("answered", D(2024, 1, 15))]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,x,2024-01-08,t,1,closed,", "line 2: 'status' must be one of open, answered, refused"),
        ("1,x,2024-01-08,t,1,,2024-13-01", "line 2: 'answered' must be a date"),
        ("1,x,2024-01-08,t,1,,soon", "line 2: 'answered' must be a date"),
        (
            "1,x,2024-01-08,t,1,open,2024-01-09",
            "line 2: 'answered' cannot be given with status 'open'",
        ),
        (
            "1,x,2024-01-08,t,1,withdrawn,2024-01-09",
            "'answered' cannot be given with status 'withdrawn'",
        ),
        (
            "1,x,2024-01-08,t,1,answered,2024-01-05",
            "line 2: 'answered' must not be before the date of receipt (2024-01-08)",
        ),
    ],
)
def test_bad_status_or_answered_in_csv(tmp_path: Path, row, message):
    path = tmp_path / "register.csv"
    path.write_text(f"{STATUS_HEADER}\n{row}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_register(path, POLICE)
    line = err.value.one_line()
    assert message in line
    assert str(path) in line and "\n" not in line


TOML_REQUEST = (
    '[[request]]\nid = "1"\nrequester = "x"\nreceived = 2024-01-08\ntopic = "t"\nhours = 1\n'
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('status = "closed"\n', r"'request\[0\]\.status' must be one of open, answered"),
        ("status = 3\n", r"'request\[0\]\.status' must be one of .*, not 3"),
        ('status = ""\n', r"'request\[0\]\.status' must be one of .*, not ''"),
        ('answered = ""\n', r"'request\[0\]\.answered' must be a date"),
        ("answered = 2024-01-01\n", r"'request\[0\]\.answered' must not be before the date"),
        ('status = "open"\nanswered = 2024-01-09\n', r"'request\[0\]\.answered' cannot be given"),
        ("answerd = 2024-01-09\n", r"'request\[0\]\.answerd' is an unknown key"),
    ],
)
def test_bad_status_or_answered_in_toml(tmp_path: Path, extra, message):
    path = tmp_path / "register.toml"
    path.write_text(TOML_REQUEST + extra, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        read_register(path, POLICE)
    assert str(path) in err.value.one_line()
