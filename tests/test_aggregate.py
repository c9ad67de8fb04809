"""Regulation 5 aggregation: parties, topics, 60-working-day windows, register validation."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from costplan.costmodel.aggregate import RegisterEntry, aggregate, aggregate_register, read_register
from costplan.costmodel.regimes import load_regimes
from costplan.costmodel.workdays import add_working_days
from costplan.errors import InputError

POLICE = load_regimes().get("uk-foia-other")
INPUTS = Path(__file__).parent / "golden" / "costs" / "inputs"
D = dt.date


def entry(
    rid: str,
    received: dt.date,
    hours: float,
    requester: str = "Jane Private",
    topic: str = "ume",
    campaign: str | None = None,
) -> RegisterEntry:
    return RegisterEntry(rid, requester, campaign, received, topic, Decimal(str(hours)) * 60)


def ids(report) -> list[list[str]]:
    return [[m.entry.request_id for m in g.members] for g in report.groups]


def test_same_requester_within_window_is_aggregated_and_refused():
    report = aggregate([entry("A", D(2024, 1, 8), 10), entry("B", D(2024, 2, 1), 9)], POLICE)
    assert ids(report) == [["A", "B"]]
    group = report.groups[0]
    assert group.total_hours == 19
    assert (group.decision, group.section) == ("refuse", "12(1)")
    assert "exceeds the appropriate limit of 18 hours" in group.explanation
    assert group.link == "same requester (requester A)"


def test_group_within_limit_answers():
    report = aggregate([entry("A", D(2024, 1, 8), 9), entry("B", D(2024, 1, 9), 9)], POLICE)
    assert report.groups[0].decision == "answer"  # exactly 18 hours is within the limit


def test_campaign_links_different_requesters():
    report = aggregate(
        [
            entry("A", D(2024, 1, 8), 5, requester="P", campaign="C1"),
            entry("B", D(2024, 1, 10), 5, requester="Q", campaign="c1"),
            entry("C", D(2024, 1, 11), 5, requester="R"),
        ],
        POLICE,
    )
    assert ids(report) == [["A", "B"]]
    assert report.groups[0].link == "same campaign 'C1' (requester A, requester B)"
    assert [m.entry.request_id for m in report.standalone] == ["C"]


def test_links_are_transitive_within_a_party():
    report = aggregate(
        [
            entry("A", D(2024, 1, 8), 5, requester="P", campaign="C1"),
            entry("B", D(2024, 1, 10), 5, requester="Q", campaign="C1"),
            entry("C", D(2024, 1, 12), 5, requester="Q"),
        ],
        POLICE,
    )
    assert ids(report) == [["A", "B", "C"]]
    assert report.groups[0].link.startswith("acting in concert")


def test_different_topics_are_not_aggregated():
    report = aggregate(
        [entry("A", D(2024, 1, 8), 10), entry("B", D(2024, 1, 9), 10, topic="stop-search")],
        POLICE,
    )
    assert report.groups == ()
    assert [d for d, _ in report.standalone_decisions] == ["answer", "answer"]


def test_sixty_working_day_boundary():
    start = D(2024, 1, 8)
    day60 = add_working_days(start, 59)[0]  # the 60th working day counting the first as 1
    day61 = add_working_days(start, 60)[0]
    inside = aggregate([entry("A", start, 1), entry("B", day60, 1)], POLICE)
    assert ids(inside) == [["A", "B"]]
    assert inside.groups[0].span_working_days == 60
    assert inside.groups[0].window_end == day60
    outside = aggregate([entry("A", start, 1), entry("B", day61, 1)], POLICE)
    assert outside.groups == ()


def test_windows_are_not_chained():
    start = D(2024, 1, 8)
    middle = add_working_days(start, 40)[0]
    late = add_working_days(start, 80)[0]
    report = aggregate([entry("A", start, 8), entry("B", middle, 8), entry("C", late, 8)], POLICE)
    assert ids(report) == [["A", "B"], ["B", "C"]]
    assert all(g.total_hours == 16 for g in report.groups)


def test_weekend_receipt_counts_from_next_working_day():
    # Received Saturday 6 Jan 2024: counted from Monday 8 Jan, so the window ends on the 60th
    # working day from 8 Jan, not from Friday 5 Jan.
    day60 = add_working_days(D(2024, 1, 8), 59)[0]
    report = aggregate([entry("A", D(2024, 1, 6), 1), entry("B", day60, 1)], POLICE)
    assert ids(report) == [["A", "B"]]
    assert report.groups[0].window_start == D(2024, 1, 8)


def test_requesters_are_pseudonymised(tmp_path: Path):
    report = aggregate_register(INPUTS / "register.csv", POLICE)
    text = json.dumps(report.to_dict())
    for name in ("Jane", "Private", "Bob", "Alice", "Zed", "Example"):
        assert name not in text
    assert "requester A" in text and "requester D" in text


def test_register_csv_golden_input():
    report = aggregate_register(INPUTS / "register.csv", POLICE)
    assert ids(report) == [["R1", "R2"], ["R3", "R4", "R8"]]
    first, second = report.groups
    assert first.total_hours == 14  # 6 h + 160 records × 3 min
    assert second.total_hours == 19  # 4 + (100 × 3 + 30 min) + 9.5; redaction not counted
    assert (second.decision, second.section) == ("refuse", "12(1)")
    pairs = zip(report.standalone, report.standalone_decisions, strict=True)
    standalone = {m.entry.request_id: d for m, d in pairs}
    assert standalone == {
        "R6": ("answer", None),
        "R7": ("refuse", "12(1)"),
        "R5": ("answer", None),
    }


def test_register_toml():
    entries = read_register(INPUTS / "register.toml", POLICE)
    assert [e.received for e in entries] == [D(2020, 6, 25), D(2020, 7, 2)]
    assert entries[1].hours == 9 and entries[1].topic == "ume"
    report = aggregate(entries, POLICE)
    assert report.groups[0].total_hours == 19 and report.groups[0].decision == "refuse"


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
