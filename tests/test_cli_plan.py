"""`costplan plan` and `costplan check` through the CLI: golden files and every error path.

Golden files live in tests/golden/plan/. Regenerate with UPDATE_GOLDEN=1 after an intended
change to the output contract, and read the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.store import Store
from tests.goldens import check_golden
from tests.test_planner import FULL_REVIEW, independent_counts

GOLDEN = Path(__file__).parent / "golden" / "plan"
REQUEST = """
reference = "T-1"
received = 2021-12-06
requester = "Jane Private"
regime = "uk-foia-other"

[[items]]
name = "Lambeth rave"
boroughs = ["Lambeth", "Barking & Dagenham"]
date_from = 2020-06-24
date_to = 2020-06-26
tags = ["UME"]
keywords = ["rave", "music"]
fields = ["count", "created_at", "call_source"]

[[items]]
name = "Haringey night"
boroughs = ["Haringey"]
date = 2020-06-25
time_from = "20:00"
time_to = "04:00"
tags = ["UME"]
"""

runner = CliRunner()


def normalise(text: str, store: Store) -> str:
    """Mask what legitimately varies between runs: the store path and commit time."""
    text = text.replace(str(store.root), "<STORE>")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<TIME>", text)
    text = re.sub(r"\d{8}T\d{6}[0-9a-f]{8}", "<TXN>", text)
    return re.sub(r"costplan \d+\.\d+\.\d+", "costplan <VERSION>", text)


def golden(name: str, text: str) -> None:
    check_golden("plan", name, text)


@pytest.fixture()
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "req.toml"
    path.write_text(REQUEST, encoding="utf-8")
    return path


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("plan.table.txt", []),
        ("plan.markdown.md", ["--format", "markdown"]),
        ("plan.json", ["--format", "json"]),
        ("plan.letter.txt", ["--letter"]),
    ],
)
def test_plan_golden(planner_store: Store, request_file: Path, name: str, args: list[str]) -> None:
    # A fixed as-of day: the working days left would otherwise change every day.
    as_of = ["--today", "2021-12-20"]
    result = run("plan", str(request_file), "--store", str(planner_store.root), *as_of, *args)
    assert result.exit_code == 0, result.output
    assert "Jane Private" not in result.output  # the requester never appears
    assert "rave, loud music" not in result.output  # nor any record's free text
    golden(name, normalise(result.output, planner_store))


def test_plan_json_contract(planner_store: Store, request_file: Path) -> None:
    result = run("plan", str(request_file), "--store", str(planner_store.root), "--format", "json")
    data = json.loads(result.output)
    for key in (
        "request",
        "regime",
        "decision",
        "section",
        "total_hours",
        "limit_hours",
        "items",
        "recommended",
        "advice",
        "snapshot",
    ):
        assert key in data
    for item in data["items"]:
        assert {"name", "strategies"} <= set(item)
        for s in item["strategies"]:
            assert {"strategy", "records", "hours", "decision", "caveat"} <= set(s)
    for a in data["advice"]:
        assert {"description", "hours"} <= set(a)
    assert data["snapshot"]["manifest_version"] == planner_store.snapshot().version


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("check.table.txt", []),
        ("check.json", ["--format", "json"]),
        ("check.tag.json", ["--tag", "ume", "--to", "2020-06-26", "--format", "json"]),
    ],
)
def test_check_golden(planner_store: Store, name: str, args: list[str]) -> None:
    result = run(
        "check",
        "--borough",
        "lambeth",
        "--date",
        "2020-06-25",
        "--store",
        str(planner_store.root),
        *args,
    )
    assert result.exit_code == 0, result.output
    golden(name, normalise(result.output, planner_store))


def test_check_json_contract(planner_store: Store) -> None:
    result = run(
        "check",
        "--borough",
        "Lambeth",
        "--date",
        "2020-06-25",
        "--minutes-per-record",
        "2",
        "--store",
        str(planner_store.root),
        "--format",
        "json",
    )
    data = json.loads(result.output)
    assert {
        "borough",
        "date_from",
        "date_to",
        "records",
        "hours",
        "limit_hours",
        "decision",
    } <= set(data)
    assert data["hours"] == round((data["records"] * 2 + 10) / 60, 2)  # + the held check
    assert data["strategy"] == "full_review" and data["complete"] is True


QUICK = ["--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME"]


def test_quick_plan_from_flags(planner_store: Store) -> None:
    result = run("plan", *QUICK, "--store", str(planner_store.root), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["items"][0]["strategies"][0]["strategy"] == "tag_query"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_disclose_for_answerable_request(planner_store: Store, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"release{suffix}"
    result = run(
        "plan",
        *QUICK,
        "--minutes-per-record",
        "1",
        "--store",
        str(planner_store.root),
        "--disclose",
        str(out),
    )
    assert result.exit_code == 0, result.output
    if suffix == ".xlsx":
        assert out.read_bytes()[:2] == b"PK"  # a zip container, as .xlsx files are
        return
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "cad_reference"
    assert lines[1:] and all(re.fullmatch(r"CAD \d+/25JUN20", line) for line in lines[1:])
    # The plan answers by full review, so the schedule lists every CAD it reads.
    item = {"boroughs": ["Lambeth"], "date": "2020-06-25"}
    assert len(lines) - 1 == independent_counts(planner_store, item)[FULL_REVIEW]


def test_disclosure_follows_the_decisions_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit between the plan and the disclosure does not change what is disclosed."""
    import polars as pl

    from costplan import planner
    from tests.conftest import fixture_frame, write_store

    frame = fixture_frame()
    store = write_store(tmp_path / "store", frame)
    real_build_plan = planner.build_plan
    late = (
        frame.filter((pl.col("borough") == "Lambeth") & (pl.col("day").dt.day() == 25))
        .head(5)
        .with_columns(
            pl.format("{}/25JUN20", pl.int_range(900, 905)).alias("cad_ref"),
            pl.lit(["UME"]).alias("tags"),
        )
    )

    def plan_then_commit(*args: object, **kwargs: object) -> object:
        result = real_build_plan(*args, **kwargs)  # type: ignore[arg-type]
        with store.writer() as txn:  # another writer commits five more tagged CADs
            txn.add(late)
            txn.commit()
        return result

    monkeypatch.setattr(planner, "build_plan", plan_then_commit)
    out = tmp_path / "release.csv"
    result = run(
        "plan",
        *QUICK,
        "--minutes-per-record",
        "1",
        "--store",
        str(store.root),
        "--format",
        "json",
        "--disclose",
        str(out),
        "--disclose-tagged",
    )
    assert result.exit_code == 0, result.output
    decided = json.loads(result.output)["items"][0]["strategies"][0]
    assert decided["strategy"] == "tag_query"
    released = [r for r in out.read_text().splitlines() if not r.startswith("#")][1:]
    assert len(released) == decided["records"] > 0
    assert not any(re.fullmatch(r"CAD 90[0-4]/25JUN20", r) for r in released)
    assert store.snapshot().version == 2  # the late commit did land, after the decision


ERRORS = [
    (["plan", "{req}", "--borough", "Lambeth", "--date", "2020-06-25"], "not both"),
    (["plan"], "nothing to plan"),
    (["plan", "{missing}"], "not found"),
    (["plan", "{dir}"], "directory"),
    (["plan", "{bad_borough}"], "did you mean Lambeth"),
    (["plan", "{reversed}"], "before date_from"),
    (["plan", "{unknown_key}"], "'items[0].colour' is an unknown key"),
    (["plan", "{empty_items}"], "at least one"),
    (["plan", "{city}"], "City of London Police"),
    (["plan", "{req}", "--regime", "narnia"], "narnia"),
    (["plan", "{req}", "--format", "csv"], "is not one of"),
    (["plan", "{req}", "--disclose", "{out_csv}"], "exceeds the limit; no disclosure schedule"),
    (["plan", "{req}", "--minutes-per-record", "-3"], "negative"),
    (["plan", "{req}", "--minutes-per-record", "0"], "--minutes-per-record: minutes per record"),
    (["plan", "{req}", "--minutes-per-record", "600"], "more than 480 minutes (8 hours)"),
    (["plan", "{slow_request}"], "the request's minutes_per_record of 600.0 is more than 480"),
    (["plan", "{slow_item}"], "Haringey night: minutes_per_record of 481.0 is more than 480"),
    (["check", "--borough", "Lambet", "--date", "2020-06-25"], "did you mean Lambeth"),
    (["check", "--borough", "Lambeth", "--date", "2020-13-45"], "not a valid date"),
    (["check", "--borough", "Lambeth", "--date", "2020-06-25", "--to", "2020-06-01"], "swap"),
    (["check", "--borough", "Lambeth"], "--date"),
    (["check", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", " "], "must not be blank"),
    (
        ["check", "--borough", "Lambeth", "--date", "2020-06-25", "--store", "{nostore}"],
        "no costplan store",
    ),
]


@pytest.mark.parametrize(("argv", "needle"), ERRORS, ids=[e[1] for e in ERRORS])
def test_errors_are_one_line(
    planner_store: Store, request_file: Path, tmp_path: Path, argv: list[str], needle: str
) -> None:
    files = {
        "req": request_file,
        "missing": tmp_path / "nope.toml",
        "dir": tmp_path,
        "out_csv": tmp_path / "out.csv",
        "nostore": tmp_path / "nostore",
    }
    bad = {
        "bad_borough": REQUEST.replace('["Haringey"]', '["Lambet"]'),
        "reversed": REQUEST.replace("date_to = 2020-06-26", "date_to = 2020-06-01"),
        "unknown_key": REQUEST.replace('tags = ["UME"]\n', 'tags = ["UME"]\ncolour = "red"\n', 1),
        "empty_items": 'reference = "x"\nitems = []\n',
        "city": REQUEST.replace('["Haringey"]', '["City of London"]'),
        "slow_request": REQUEST.replace("[[items]]", "minutes_per_record = 600\n\n[[items]]", 1),
        "slow_item": REQUEST.replace(
            'time_to = "04:00"', 'time_to = "04:00"\nminutes_per_record = 481'
        ),
    }
    for key, text in bad.items():
        files[key] = tmp_path / f"{key}.toml"
        files[key].write_text(text, encoding="utf-8")
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    if args[0] in ("plan", "check") and "--store" not in args:
        args += ["--store", str(planner_store.root)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("costplan: error:"), result.stderr
    assert needle in err[0]
    assert "Traceback" not in result.output + result.stderr


def test_every_command_has_help_with_an_example() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"{name} --help has no example"


def test_plan_with_a_timed_sample(planner_store: Store, request_file: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text("150\n170\n190\n160\n200\n175\n185\n", encoding="utf-8")
    result = run(
        "plan",
        str(request_file),
        "--store",
        str(planner_store.root),
        "--sample",
        str(sample),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # The exact mean, never rounded before it is multiplied.
    assert data["minutes_per_record"] == pytest.approx(
        (150 + 170 + 190 + 160 + 200 + 175 + 185) / 7 / 60, rel=1e-15
    )
    assert "timed sample of 7 records" in data["minutes_per_record_source"]
    s = data["sample"]
    assert (
        s["n"] == 7
        and s["total_hours_interval"][0] <= data["total_hours"] <= s["total_hours_interval"][1]
    )


# ---- tags and codes in one form (schema.canonical_label) ---------------------------------------

EXPORT = [
    "cad_ref,created_at,borough,call_source,grading,opening_code,closing_code,tags",
    "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,noise,noise,ume",
    "2/01JUN21,2021-06-01 10:01:00,Camden,999,I,NOISE,NOISE,UME",
    '3/01JUN21,2021-06-01 10:02:00,Camden,999,I, Noise ,THEFT," Ume ;dv"',
    "4/01JUN21,2021-06-01 10:03:00,Camden,999,I,THEFT,theft,dv",
    "5/01JUN21,2021-06-01 10:04:00,Camden,999,I,THEFT,THEFT,",
]
CAMDEN = ["--borough", "Camden", "--date", "2021-06-01"]


@pytest.fixture()
def spelled_store(tmp_path: Path) -> Store:
    """A store ingested from an export that spells tags and codes every which way."""
    from costplan.ingest import ingest

    export = tmp_path / "export.csv"
    export.write_text("\n".join(EXPORT) + "\n", encoding="utf-8")
    ingest(tmp_path / "store", [export])
    return Store.open(tmp_path / "store")


def _check(store: Store, *args: str) -> dict[str, object]:
    result = run("check", *args, "--store", str(store.root), "--format", "json")
    assert result.exit_code in (0, 3), result.output  # 3: the archive does not cover it all
    return dict(json.loads(result.output))


def _tagged(store: Store, *args: str) -> int:
    """What the tag alone finds (check's incomplete figure; its decision reads every CAD)."""
    narrowed = _check(store, *args)["narrowed"]
    assert isinstance(narrowed, dict)
    return int(narrowed["records"])


def _records(plan: dict[str, object]) -> list[dict[str, int]]:
    """Each item's records per strategy."""
    items: list[dict[str, object]] = plan["items"]  # type: ignore[assignment]
    return [{s["strategy"]: s["records"] for s in it["strategies"]} for it in items]  # type: ignore[index,union-attr]


@pytest.mark.parametrize("tag", ["ume", "UME", " Ume "])
def test_every_spelling_of_a_tag_counts_every_spelling_stored(
    spelled_store: Store, tag: str
) -> None:
    from costplan.engines import DuckDB

    assert _tagged(spelled_store, *CAMDEN, "--tag", tag) == 3
    assert _tagged(spelled_store, *CAMDEN, "--tag", tag, "--tag", "DV") == 4
    result = run(
        "plan", *CAMDEN, "--tag", tag, "--store", str(spelled_store.root), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["items"][0]["tags"] == ["UME"]
    assert _records(plan)[0]["tag_query"] == 3
    # The same from the daily volume table.
    DuckDB().refresh_volumes(spelled_store)
    answer = _check(spelled_store, *CAMDEN, "--tag", tag)
    assert (answer["narrowed"]["records"], answer["counted_from"]) == (3, "volumes")  # type: ignore[index]


def test_every_spelling_of_a_code_counts_every_spelling_stored(
    spelled_store: Store, tmp_path: Path
) -> None:
    request = tmp_path / "codes.toml"
    request.write_text(
        '[[items]]\nboroughs = ["Camden"]\ndate = 2021-06-01\n'
        'tags = [" ume"]\nopening_codes = ["noise"]\n',
        encoding="utf-8",
    )
    result = run("plan", str(request), "--store", str(spelled_store.root), "--format", "json")
    assert result.exit_code == 0, result.output
    counts = _records(json.loads(result.output))[0]
    assert (counts["tag_query"], counts["keyword"], counts["full_review"]) == (3, 3, 5)


def _as_before_the_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """The fixture's rows as a store written before tags and codes had one form holds them."""
    return frame.with_columns(
        pl.col("tags").list.eval(pl.element().str.to_lowercase()),
        pl.col("opening_code").str.to_lowercase(),
        pl.col("closing_code").str.to_titlecase(),
    )


def test_a_store_written_before_the_rule_gives_the_same_answers(
    planner_store: Store, request_file: Path, tmp_path: Path
) -> None:
    """Lower-case tags and codes stored by an older costplan are matched as upper case (the
    queries compare upper-cased values), by check, by plan and by the volume table."""
    from costplan.engines import DuckDB
    from tests.conftest import fixture_frame, write_store

    old = write_store(tmp_path / "old", _as_before_the_rule(fixture_frame()))
    with_codes = tmp_path / "codes.toml"
    with_codes.write_text(
        REQUEST.replace('keywords = ["rave", "music"]', 'opening_codes = ["Noise", "ume"]'),
        encoding="utf-8",
    )

    def answers(store: Store) -> tuple[object, ...]:
        plans = []
        for req in (request_file, with_codes):
            result = run("plan", str(req), "--store", str(store.root), "--format", "json")
            assert result.exit_code == 0, result.output
            plans.append(_records(json.loads(result.output)))
        checks = [
            _check(store, "--borough", b, "--date", "2020-06-24", "--to", "2021-01-02", *tags)[
                "narrowed"
            ]
            for b in ("Lambeth", "Haringey")
            for tags in (["--tag", "UME"], ["--tag", "dv", "--tag", "MH"], [])
        ]
        return (*plans, checks)

    expected = answers(planner_store)
    assert expected[0][0]["tag_query"] > 0 and expected[1][0]["keyword"] > 0
    assert answers(old) == expected
    DuckDB().refresh_volumes(old)
    assert (
        _check(old, "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME")["counted_from"]
        == "volumes"
    )
    assert answers(old) == expected


# ---- a tag the store does not use: a warning with the tags it holds --------------------------

UNUSED = (
    "tag NOSUCHTAG is not used in this archive for Lambeth in 2020; tags held there: DV, MH, UME"
)
LAMBETH = ["--borough", "Lambeth", "--date", "2020-06-25"]


@pytest.mark.parametrize("volumes", [False, True], ids=["partitions", "volumes"])
def test_check_warns_of_a_tag_the_store_does_not_use(
    planner_store: Store, tmp_path: Path, volumes: bool
) -> None:
    store = planner_store
    if volumes:
        from costplan.engines import DuckDB
        from tests.conftest import fixture_frame, write_store

        store = write_store(tmp_path / "store", fixture_frame())
        DuckDB().refresh_volumes(store)
    table = run("check", *LAMBETH, "--tag", "nosuchtag", "--store", str(store.root))
    assert table.exit_code == 0, table.output
    assert f"Warning: {UNUSED}" in table.output.splitlines()
    answer = _check(store, *LAMBETH, "--tag", "NOSUCHTAG")
    assert (answer["narrowed"]["records"], answer["warnings"]) == (0, [UNUSED])  # type: ignore[index]
    assert answer["counted_from"] == ("volumes" if volumes else "partitions")
    # Named beside a tag in use, it is still named; the count is the other tag's.
    both = _check(store, *LAMBETH, "--tag", "UME", "--tag", "NoSuchTag")
    assert (
        _tagged(store, *LAMBETH, "--tag", "UME", "--tag", "NoSuchTag")
        == _tagged(store, *LAMBETH, "--tag", "UME")
        > 0
    )
    assert both["warnings"] == [UNUSED]
    assert _check(store, *LAMBETH, "--tag", "UME", "--tag", "dv")["warnings"] == []


def test_no_warning_for_a_tag_in_use_that_no_cad_of_the_days_carries(spelled_store: Store):
    """UME is used in Camden in 2021, just not on 2 June: a count of 0 is then an answer."""
    answer = _check(spelled_store, "--borough", "Camden", "--date", "2021-06-02", "--tag", "UME")
    assert (answer["narrowed"]["records"], answer["warnings"]) == (0, [])  # type: ignore[index]
    elsewhere = _check(
        spelled_store, "--borough", "Lambeth", "--date", "2021-06-01", "--tag", "UME"
    )
    assert elsewhere["warnings"] == [
        "tag UME is not used in this archive for Lambeth in 2021; no CAD there carries a tag"
    ]


def test_plan_warns_in_every_report_but_the_letter(planner_store: Store) -> None:
    args = ["plan", *LAMBETH, "--tag", "NOSUCHTAG", "--store", str(planner_store.root)]
    out = {fmt: run(*args, "--format", fmt) for fmt in ("table", "markdown", "json")}
    out["letter"] = run(*args, "--letter")
    assert all(r.exit_code == 0 for r in out.values()), [r.output for r in out.values()]
    assert out["table"].output.splitlines()[1] == f"Warning: {UNUSED}"
    assert f"> **Warning:** {UNUSED}\n" in out["markdown"].output
    assert json.loads(out["json"].output)["warnings"] == [UNUSED]
    assert "NOSUCHTAG is not used" not in out["letter"].output
    assert "Warning" not in out["letter"].output


def test_plan_names_the_item_whose_tag_is_not_used(
    planner_store: Store, request_file: Path, tmp_path: Path
) -> None:
    request = tmp_path / "two.toml"
    request.write_text(
        request_file.read_text(encoding="utf-8").replace(
            'time_to = "04:00"\ntags = ["UME"]', 'time_to = "04:00"\ntags = ["ume", "Rave "]'
        ),
        encoding="utf-8",
    )
    result = run("plan", str(request), "--store", str(planner_store.root), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["warnings"] == [
        "Haringey night: tag RAVE is not used in this archive for Haringey in 2020; "
        "tags held there: DV, MH, UME"
    ]
