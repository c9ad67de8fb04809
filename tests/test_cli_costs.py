"""`costplan estimate`, `deadline` and `aggregate` through the CLI: goldens and error paths.

Golden files live in tests/golden/costs/. After an intended change to the output, regenerate
them with ``UPDATE_GOLDEN=1 pytest tests/test_cli_costs.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costplan.cli import app

GOLDEN = Path(__file__).parent / "golden" / "costs"
INPUTS = GOLDEN / "inputs"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))

runner = CliRunner()


def run_ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return result.stdout


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


ESTIMATE = ["estimate", "--records", "1144", "--minutes-per-record", "3"]
GOLDEN_CASES = [
    ("estimate.table.txt", ESTIMATE),
    ("estimate.json", [*ESTIMATE, "--format", "json"]),
    ("estimate.markdown.md", [*ESTIMATE, "--format", "markdown"]),
    (
        "estimate.activities.json",
        [
            "estimate",
            "--activity",
            "determine_held=400:3",
            "--activity",
            "extract=10:2",
            "--activity",
            "redaction=10:5",
            "--format",
            "json",
        ],
    ),
    (
        "estimate.sample.json",
        [
            "estimate",
            "--records",
            "370",
            "--sample",
            str(INPUTS / "sample.txt"),
            "--format",
            "json",
        ],
    ),
    (
        "estimate.sample.table.txt",
        ["estimate", "--records", "370", "--sample", str(INPUTS / "sample.txt")],
    ),
    (
        "estimate.foisa.table.txt",
        [*ESTIMATE, "--regime", "foisa", "--activity", "determine_held=50:3"],
    ),
    # --today fixes the working days left, which would otherwise change every day.
    (
        "deadline.json",
        ["deadline", "--received", "2020-12-18", "--today", "2021-01-11", "--format", "json"],
    ),
    ("deadline.table.txt", ["deadline", "--received", "2022-09-10", "--today", "2022-09-26"]),
    (
        "deadline.foisa.table.txt",
        ["deadline", "--received", "2025-08-15", "--regime", "foisa", "--today", "2025-09-16"],
    ),
    (
        "deadline.paused.table.txt",
        [
            "deadline",
            "--received",
            "2025-08-15",
            "--paused",
            "2025-08-20:2025-08-27",
            "--extension",
            "public-interest",
            "--today",
            "2025-09-01",
        ],
    ),
    ("aggregate.json", ["aggregate", str(INPUTS / "register.csv"), "--format", "json"]),
    ("aggregate.table.txt", ["aggregate", str(INPUTS / "register.csv")]),
    ("aggregate.markdown.md", ["aggregate", str(INPUTS / "register.toml"), "--format", "markdown"]),
]


@pytest.mark.parametrize(("name", "args"), GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES])
def test_golden(name, args):
    check_golden(name, run_ok(args))


def test_estimate_json_contract():
    data = json.loads(run_ok([*ESTIMATE, "--format", "json"]))
    assert data["regime"] == "uk-foia-other"
    assert (data["total_hours"], data["limit_hours"]) == (57.2, 18.0)
    assert (data["total_cost"], data["limit_cost"], data["currency"]) == (1430.0, 450.0, "GBP")
    assert (data["decision"], data["section"]) == ("refuse", "12(1)")
    assert data["explanation"].startswith("1,144 records × 3 minutes = 57.2 hours")
    for item in data["activities"]:
        assert {"activity", "records", "minutes_per_record", "hours", "countable"} <= set(item)
    assert data["sample"] is None


def test_estimate_12_2_and_non_countable_via_cli():
    data = json.loads(
        run_ok(
            [
                "estimate",
                "--activity",
                "determine_held=400:3",
                "--activity",
                "redaction=1000:5",
                "--format",
                "json",
            ]
        )
    )
    assert (data["decision"], data["section"]) == ("refuse", "12(2)")
    assert data["total_hours"] == 20.0 and data["non_countable_hours"] == 83.33


def test_estimate_boundary_and_overrides():
    at = json.loads(run_ok(["estimate", "--records", "360", "--format", "json"]))
    assert (at["decision"], at["total_hours"]) == ("answer", 18.0)  # regime default 3 min
    over = json.loads(run_ok(["estimate", "--records", "361", "--format", "json"]))
    assert over["decision"] == "refuse"
    central = json.loads(
        run_ok(["estimate", "--records", "361", "--limit-gbp", "600", "--format", "json"])
    )
    assert (central["decision"], central["limit_hours"]) == ("answer", 24.0)
    rate = json.loads(run_ok(["estimate", "--records", "300", "--rate", "30", "--format", "json"]))
    assert (rate["limit_hours"], rate["total_cost"], rate["decision"]) == (15.0, 450.0, "answer")


def test_estimate_a_timed_mean_is_multiplied_unrounded(tmp_path: Path):
    # Issue 11: 993 records at a measured 1.087 minutes (65.22 s) is 17.99 hours, an answer;
    # the mean rounded to 1.09 first gave 18.04 hours and "exceeded at the mean" beside P 0.48.
    sample = tmp_path / "timings.txt"
    sample.write_text("60.22\n70.22\n" * 10, encoding="utf-8")
    data = json.loads(
        run_ok(["estimate", "--records", "993", "--sample", str(sample), "--format", "json"])
    )
    assert (data["decision"], data["total_hours"], data["headroom_hours"]) == (
        "answer",
        17.99,
        0.01,
    )
    assert data["explanation"].startswith(
        "993 records × 1.087 minutes ≈ 17.99 hours, which is within"
    )
    s = data["sample"]
    assert s["minutes_per_record_used"] == 1.087 and s["p_exceeds_limit"] < 0.5
    assert "exceeded" not in s["wording"] and "within the limit at the mean" in s["wording"]
    table = run_ok(["estimate", "--records", "993", "--sample", str(sample)])
    assert "decision           answer" in table and "exceeded" not in table


def test_estimate_reads_stopwatch_times(tmp_path: Path):
    clock, plain = tmp_path / "clock.csv", tmp_path / "plain.txt"
    clock.write_text("record,seconds\n" + "A,1:00.22\nB,0:01:10.22\n" * 10, encoding="utf-8")
    plain.write_text("60.22\n70.22\n" * 10, encoding="utf-8")
    outputs = [
        run_ok(["estimate", "--records", "993", "--sample", str(path), "--format", "json"])
        for path in (clock, plain)
    ]
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["sample"]["minutes_per_record_used"] == 1.087


def test_estimate_eir_never_refuses_and_regime_file(tmp_path: Path):
    eir = json.loads(
        run_ok(["estimate", "--records", "99999", "--regime", "eir", "--format", "json"])
    )
    assert (eir["decision"], eir["section"], eir["limit_hours"]) == ("answer", None, None)
    path = tmp_path / "mine.toml"
    path.write_text(
        "[regime.tiny]\ntitle = 'T'\nact = 'Test Act'\ncurrency = 'GBP'\nlimit = 25\n"
        "rate = 25\ncountable = ['extract']\nadvisory_only = false\nprovision = 's.1'\n",
        encoding="utf-8",
    )
    data = json.loads(
        run_ok(
            [
                "estimate",
                "--records",
                "21",
                "--regime-file",
                str(path),
                "--regime",
                "tiny",
                "--format",
                "json",
            ]
        )
    )
    assert (data["limit_hours"], data["decision"]) == (1.0, "refuse")


def test_aggregate_json_gives_one_verdict_per_request():
    data = json.loads(run_ok(["aggregate", str(INPUTS / "register.csv"), "--format", "json"]))
    assert "groups" not in data and data["response_working_days"] == 20
    verdicts = {v["id"]: v for v in data["verdicts"]}
    assert len(verdicts) == len(data["verdicts"]) == 10
    r1, r4 = verdicts["R1"], verdicts["R4"]
    # R1 was answered (8 Jul) before R2 and R9 arrived: they do not count against it.
    assert (r1["decision"], r1["basis"], r1["total_hours"]) == ("answer", "alone", 6.0)
    assert [n["id"] for n in r1["not_counted"]] == ["R2", "R9"]
    assert (r4["decision"], r4["section"], r4["basis"]) == ("refuse", "12(1)", "aggregated")
    assert [(e["id"], e["requester"]) for e in r4["aggregated_with"]] == [
        ("R3", "requester B"),
        ("R8", "requester B"),
    ]
    assert (r4["window_start"], r4["window_end"], r4["total_hours"]) == (
        "2020-07-20",
        "2020-10-13",
        19.0,
    )
    assert verdicts["R10"]["decision"] == "withdrawn"


def test_aggregate_table_days_1_50_100(tmp_path: Path):
    # Working days 1, 50 and 100 from Monday 8 Jan 2024: 8 Jan, 15 Mar, 31 May.
    path = tmp_path / "register.csv"
    path.write_text(
        "id,requester,received,topic,hours\n"
        "A,Jane Private,2024-01-08,ume,10\n"
        "B,Jane Private,2024-03-15,ume,9\n"
        "C,Jane Private,2024-05-31,ume,8\n",
        encoding="utf-8",
    )
    out = run_ok(["aggregate", str(path)])
    table, why = out.split("\nWhy:\n")
    rows = {line.split()[0]: line for line in table.splitlines() if line[:2] in ("A ", "B ", "C ")}
    assert len(rows) == 3 and len([ln for ln in why.splitlines() if ln]) == 3
    assert rows["A"].rstrip().endswith("10.00  answer")
    assert "B (requester A)" not in rows["A"]
    assert rows["B"].rstrip().endswith("19.00  refuse (section 12(1)) by aggregation")
    assert "A (requester A)" in rows["B"]
    assert rows["C"].rstrip().endswith("17.00  answer")
    assert "Jane" not in out and "each of these requests" not in out
    assert "Not counted: B (received 2024-03-15, after A's s.10 due date 2024-02-05)" in out


@pytest.mark.parametrize(
    ("args", "due", "days", "left"),
    [
        # Issue 17: FOISA counts Scottish bank holidays only (Mon 25 Aug 2025 is a working day).
        (["--regime", "foisa"], "2025-09-12", 20, 4),
        # FOIA skips 25 Aug (England, Wales, NI): one working day later.
        ([], "2025-09-15", 20, 5),
        # Ireland: no holiday from 18 Aug to 12 Sep 2025.
        (["--regime", "ireland-foi"], "2025-09-12", 20, 4),
        # EIR reg. 7(1): 40 working days; FOIA's calendar (Mon 13 Oct, as for s.10(3)).
        (["--regime", "eir", "--extension", "eir-complex"], "2025-10-13", 40, 25),
        # A what-if period still works: 10 working days of FOIA's (25 Aug skipped) is Mon 1 Sep,
        # so on Mon 8 Sep it is 5 working days late (Sep 2, 3, 4, 5, 8).
        (["--working-days", "10"], "2025-09-01", 10, -5),
    ],
)
def test_deadline_regimes(args, due, days, left):
    # All received Fri 15 Aug 2025, as of Mon 8 Sep 2025.
    out = run_ok(
        ["deadline", "--received", "2025-08-15", "--today", "2025-09-08", "--format", "json", *args]
    )
    data = json.loads(out)
    assert (data["due"], data["working_days"], data["working_days_left"]) == (due, days, left)


def test_deadline_regime_file_and_repeated_pauses(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[regime.mine]\ntitle = "Mine"\nact = "Mine"\ncurrency = "GBP"\nlimit = 1\nrate = 1\n'
        'countable = []\nadvisory_only = false\nprovision = "s.1"\ndeadline_days = 20\n'
        'calendar = "scotland"\ndeadline_provision = "s.10"\npause_provision = "s.10(2)"\n',
        "utf-8",
    )
    args = ["deadline", "--received", "2025-08-15", "--regime-file", str(path), "--regime", "mine"]
    # FOISA's count (Fri 12 Sep) with two one-day pauses, Mon 18 Aug and Mon 1 Sep: Tue 16 Sep.
    out = run_ok(
        [
            *args,
            "--paused",
            "2025-09-01:2025-09-01",
            "--paused",
            "2025-08-18:2025-08-18",
            "--format",
            "json",
        ]
    )
    data = json.loads(out)
    assert data["due"] == "2025-09-16" and data["calendar"]["name"] == "scotland"
    assert [p["from"] for p in data["pauses"]] == ["2025-08-18", "2025-09-01"]


def test_help_has_examples():
    for command in ("estimate", "deadline", "aggregate"):
        out = run_ok([command, "--help"])
        assert "Example:" in out and f"costplan {command}" in out


BAD_SAMPLES = {
    "empty.txt": "",
    "negative.txt": "150\n-3\n",
    "text.txt": "150\nabc\n",
    "single.txt": "150\n",
    "nocol.csv": "record,notes\nA,x\n",
    "zeros.txt": "0\n0\n0\n",
    "billion.txt": "150\n1e9\n",
    "overday.csv": "seconds\n150\n28800.5\n",
    "huge.txt": "150\n1e400\n",
    "clock.txt": "1:05\n1:5\n",
}

ERROR_CASES = [
    (["estimate", "--records", "-5"], "must not be negative"),
    (["estimate", "--records", "abc"], "--records must be a number"),
    (["estimate", "--records", "1.5"], "whole number"),
    (["estimate", "--records", "10", "--minutes-per-record", "x"], "must be a number"),
    (["estimate", "--records", "10", "--minutes-per-record", "-1"], "must not be negative"),
    # Implausible reading times and sizes: one clean line, never a Decimal traceback.
    (
        ["estimate", "--records", "993", "--minutes-per-record", "0"],
        "--minutes-per-record: minutes per record must be above zero",
    ),
    (
        ["estimate", "--records", "10", "--minutes-per-record", "480.01"],
        "--minutes-per-record: minutes per record of 480.01 is more than 480 minutes (8 hours)",
    ),
    (["estimate", "--records", "10", "--minutes-per-record", "1e9"], "more than 480 minutes"),
    (
        ["estimate", "--records", "10", "--minutes-per-record", "1e26"],
        "--minutes-per-record: minutes per record is too large",
    ),
    (["estimate", "--records", "10", "--minutes-per-record", "NaN"], "must be a number"),
    (["estimate", "--records", "1e400"], "--records is too large, got 1e400"),
    (["estimate", "--records", "1e400", "--minutes-per-record", "3"], "--records is too large"),
    (["estimate", "--records", "10", "--fixed-minutes", "1e99"], "--fixed-minutes: fixed"),
    (["estimate", "--records", "10", "--limit-gbp", "1e300"], "--limit-gbp: the limit is too"),
    (["estimate", "--activity", "extract=1e400:3"], "extract records is too large"),
    (["estimate", "--records", "10", "--regime", "fosia"], "did you mean 'foisa'"),
    (["estimate", "--activity", "bogus=1:2"], "unknown activity 'bogus'"),
    (["estimate", "--activity", "extract"], "bad activity"),
    (["estimate"], "nothing to estimate"),
    (
        ["estimate", "--records", "10", "--limit-gbp", "abc"],
        "--limit-gbp: the limit must be a number",
    ),
    (["estimate", "--records", "10", "--rate", "0"], "above zero"),
    (["estimate", "--records", "10", "--regime", "foisa", "--rate", "20"], "cap"),
    (["estimate", "--records", "10", "--fixed-minutes", "-3"], "--fixed-minutes"),
    (["estimate", "--records", "10", "--format", "xml"], "'xml' is not one of"),
    (["estimate", "--records", "10", "--sample", "MISSING"], "sample file not found"),
    (["estimate", "--sample", "SAMPLE"], "--sample needs --records"),
    (
        ["estimate", "--records", "9", "--sample", "SAMPLE", "--minutes-per-record", "3"],
        "not both",
    ),
    *[
        (["estimate", "--records", "10", "--sample", f"BAD:{name}"], message)
        for name, message in [
            ("empty.txt", "has no values"),
            ("negative.txt", "negative time"),
            ("text.txt", "is not a number"),
            ("single.txt", "at least 2"),
            ("nocol.csv", "no 'seconds' column"),
            ("zeros.txt", "a mean of 0 minutes per record is not a reading time"),
            ("billion.txt", "line 2: 1e9 seconds is more than 8 hours to read one record"),
            ("overday.csv", "line 3: 28800.5 seconds is more than 8 hours"),
            ("huge.txt", "line 2: 1e400 seconds is more than 8 hours"),
            ("clock.txt", "line 2: '1:5' is not a time"),
        ]
    ],
    (["estimate", "--records", "10", "--regime-file", "MISSING"], "regime file not found"),
    (
        ["estimate", "--records", "10", "--regime-file", "BADREGIME"],
        "'regime.x.limt' is an unknown key",
    ),
    (["deadline", "--received", "2024-13-01"], "is not a valid date"),
    (["deadline", "--received", "yesterday"], "is not a valid date"),
    (["deadline", "--received", "1066-10-14"], "supported years"),
    (["deadline", "--received", "2024-01-02", "--working-days", "0"], "at least 1"),
    (["deadline", "--received", "2024-01-02", "--working-days", "-4"], "must not be negative"),
    (
        ["deadline", "--received", "2024-01-02", "--working-days", "x"],
        "--working-days must be a number",
    ),
    (["deadline"], "Missing option '--received'"),
    (
        ["deadline", "--received", "2025-08-15", "--paused", "2025-08-20"],
        "--paused: pause '2025-08-20' is not FROM:TO",
    ),
    (
        ["deadline", "--received", "2025-08-15", "--paused", "2025-08-20:2025-02-30"],
        "--paused: pause to: '2025-02-30' is not a valid date",
    ),
    (
        ["deadline", "--received", "2025-08-15", "--paused", "2025-08-27:2025-08-20"],
        "--paused: pause 2025-08-27:2025-08-20 ends before it begins",
    ),
    (
        [
            "deadline",
            "--received",
            "2025-08-15",
            "--regime",
            "foisa",
            "--paused",
            "2025-08-20:2025-08-27",
        ],
        "--paused: regime 'foisa' has no rule that stops the clock",
    ),
    (
        [
            "deadline",
            "--received",
            "2025-08-15",
            "--regime",
            "foisa",
            "--extension",
            "public-interest",
        ],
        "--extension: regime 'foisa' has no 'public-interest' extension (it allows no extension)",
    ),
    (
        [
            "deadline",
            "--received",
            "2025-08-15",
            "--regime",
            "eir",
            "--extension",
            "public-interest",
        ],
        "--extension: regime 'eir' has no 'public-interest' extension (its extensions: eir-",
    ),
    (
        [
            "deadline",
            "--received",
            "2025-08-15",
            "--extension",
            "public-interest",
            "--working-days",
            "30",
        ],
        "--working-days: an extension adds to the regime's period",
    ),
    (["deadline", "--received", "2025-08-15", "--today", "soon"], "--today: 'soon' is not a valid"),
    (["deadline", "--received", "2025-08-15", "--regime", "scotland"], "unknown regime 'scotland'"),
    (
        ["deadline", "--received", "2025-08-15", "--regime-file", "BADREGIME"],
        "'regime.x.limt' is an unknown key",
    ),
    (["aggregate", "MISSING"], "register not found"),
    (["aggregate", "NOCOLUMN"], "missing column 'topic'"),
    (["aggregate", "BADDATE"], "'received' must be a date"),
    (["aggregate", "BADSTATUS"], "line 2: 'status' must be one of open, answered, refused"),
    (["aggregate", "REGISTER", "--regime", "foisa"], "no aggregation rule"),
    (["aggregate", "REGISTER", "--regime", "bogus"], "unknown regime 'bogus'"),
]


@pytest.fixture
def error_files(tmp_path: Path) -> dict[str, str]:
    files = {"MISSING": str(tmp_path / "absent.txt"), "SAMPLE": str(INPUTS / "sample.txt")}
    for name, text in BAD_SAMPLES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        files[f"BAD:{name}"] = str(tmp_path / name)
    bad_regime = tmp_path / "bad.toml"
    bad_regime.write_text(
        "[regime.x]\ntitle = 'x'\nact = 'x'\ncurrency = 'GBP'\nlimit = 1\nlimt = 2\nrate = 1\n"
        "countable = []\nadvisory_only = false\nprovision = 'x'\n",
        encoding="utf-8",
    )
    files["BADREGIME"] = str(bad_regime)
    (tmp_path / "nocol.csv").write_text("id,requester,received,hours\n1,x,2024-01-01,1\n")
    files["NOCOLUMN"] = str(tmp_path / "nocol.csv")
    (tmp_path / "baddate.csv").write_text("id,requester,received,topic,hours\n1,x,2024-02-30,t,1\n")
    files["BADDATE"] = str(tmp_path / "baddate.csv")
    (tmp_path / "badstatus.csv").write_text(
        "id,requester,received,topic,hours,status\n1,x,2024-02-01,t,1,done\n"
    )
    files["BADSTATUS"] = str(tmp_path / "badstatus.csv")
    files["REGISTER"] = str(INPUTS / "register.csv")
    return files


@pytest.mark.parametrize(
    ("args", "message"), ERROR_CASES, ids=[" ".join(c[0]) for c in ERROR_CASES]
)
def test_error_paths(error_files, args, message):
    args = [error_files.get(a, a) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("costplan: error:")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
