"""Coverage is part of the answer: what the archive does not hold is never "none held" (11.1)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.costmodel.regimes import load_regimes
from costplan.ingest import ingest
from costplan.planner import MinutesPerRecord, build_plan, check
from costplan.request import build_request
from costplan.store import Store
from costplan.store.coverage import NOT_COVERED, PARTIAL, Coverage, gaps, merge
from costplan.synth.demo import build_archive

runner = CliRunner()
REGIME = load_regimes().get("uk-foia-other")
PER = MinutesPerRecord(Decimal(3), "test")
D = dt.date


@pytest.fixture(scope="module")
def june(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A generated archive of two boroughs for June 2020 (declared coverage)."""
    store = Store.open(tmp_path_factory.mktemp("cov") / "store", create=True)
    build_archive(store, D(2020, 6, 1), D(2020, 6, 30), boroughs=["Lambeth", "Camden"])
    return store


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


def test_ranges_merge_and_gaps_are_exact() -> None:
    held = merge([(D(2020, 1, 1), D(2020, 1, 10)), (D(2020, 1, 11), D(2020, 1, 20)),
                  (D(2020, 2, 1), D(2020, 2, 5))])  # fmt: skip
    assert held == ((D(2020, 1, 1), D(2020, 1, 20)), (D(2020, 2, 1), D(2020, 2, 5)))
    assert gaps(held, D(2019, 12, 30), D(2020, 2, 10)) == (
        (D(2019, 12, 30), D(2019, 12, 31)),
        (D(2020, 1, 21), D(2020, 1, 31)),
        (D(2020, 2, 6), D(2020, 2, 10)),
    )
    cov = Coverage({"Lambeth": held})
    assert cov.verdict(["Lambeth"], D(2020, 1, 2), D(2020, 1, 3)).covered
    assert cov.verdict(["Lambeth"], D(2019, 1, 1), D(2019, 1, 3)).status == NOT_COVERED
    assert cov.verdict(["Lambeth", "Camden"], D(2020, 1, 2), D(2020, 1, 3)).status == PARTIAL


def test_generate_declares_its_period(june: Store) -> None:
    cov = june.snapshot().coverage
    assert cov.declared
    assert cov.by_area["Lambeth"] == ((D(2020, 6, 1), D(2020, 6, 30)),)


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_an_uncovered_date_is_never_an_answer(june: Store, fmt: str) -> None:
    args = ["--borough", "Lambeth", "--date", "2019-03-01", "--store", str(june.root)]
    result = run("check", *args, "--format", fmt)
    assert result.exit_code == 3, result.output  # not a decision: scripts must not read "answer"
    if fmt == "json":
        data = json.loads(result.output)
        assert data["decision"] == "uncovered" and data["coverage"]["status"] == "not_covered"
        assert data["section"] is None
    else:
        assert "NOT COVERED" in result.output and "answer" not in result.output.split("→")[1]
    planned = run("plan", *args, "--tag", "UME", "--format", fmt)
    assert planned.exit_code == 3, planned.output
    assert "Answer the request" not in planned.output
    if fmt == "json":
        assert json.loads(planned.output)["decision"] == "uncovered"
    else:
        assert "NOT COVERED" in planned.output and "lower bound" in planned.output
    letter = run("plan", *args, "--tag", "UME", "--letter")
    assert letter.exit_code == 3
    assert "do not cover" in letter.output and "0 CAD" not in letter.output
    assert "within the appropriate limit" not in letter.output


def test_a_borough_the_store_never_held_is_not_covered(june: Store) -> None:
    result = run("check", "--borough", "Hackney", "--date", "2020-06-10",
                 "--store", str(june.root), "--format", "json")  # fmt: skip
    assert result.exit_code == 3
    assert json.loads(result.output)["coverage"]["missing"] == {
        "Hackney": [["2020-06-10", "2020-06-10"]]
    }


def test_a_partly_covered_range_is_a_lower_bound(june: Store) -> None:
    snap = june.snapshot()
    res = check(snap, ("Lambeth",), D(2020, 5, 25), D(2020, 7, 5), REGIME, Decimal(3))
    inside = check(snap, ("Lambeth",), D(2020, 6, 1), D(2020, 6, 30), REGIME, Decimal(3))
    assert res.records == inside.records > 0  # the count is what June holds...
    assert res.coverage is not None and res.coverage.status == PARTIAL
    assert res.to_dict()["lower_bound"] is True
    # ...and it exceeds the limit, so the refusal stands on what the archive holds.
    assert res.decision == "refuse"
    small = check(snap, ("Lambeth",), D(2020, 6, 30), D(2020, 7, 1), REGIME, Decimal("0.01"))
    assert small.decision == "uncovered"  # a lower bound within the limit decides nothing


def test_advice_never_offers_a_part_the_archive_does_not_hold(june: Store) -> None:
    req = build_request(
        {"items": [
            {"name": "held", "boroughs": ["Lambeth", "Camden"], "date_from": "2020-06-01",
             "date_to": "2020-06-30", "tags": ["UME"]},
            {"name": "not held", "boroughs": ["Lambeth"], "date": "2019-06-01", "tags": ["UME"]},
        ]},
        "t",
    )  # fmt: skip
    plan = build_plan(june.snapshot(), req, REGIME, PER)
    assert plan.decision == "refuse" and plan.coverage_status == PARTIAL
    assert not any("not held" in a.description for a in plan.advice)
    data = plan.to_dict()
    assert [i["coverage"]["status"] for i in data["items"]] == ["covered", "not_covered"]
    assert data["lower_bound"] is True


def _export(path: Path, days: list[dt.date]) -> Path:
    lines = ["cad_ref,created_at,borough,call_source,grading"]
    for i, day in enumerate(days, start=1):
        ref = f"{i}/{day:%d}{day:%b}{day:%y}".upper()
        lines.append(f"{ref},{day.isoformat()} 12:00:00,Lambeth,999,I")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_ingest_covers_its_file_or_its_declared_period(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ingest(root, [_export(tmp_path / "jan.csv", [D(2021, 1, 3), D(2021, 1, 20)])])
    cov = Store.open(root).snapshot().coverage
    assert cov.by_area["Lambeth"] == ((D(2021, 1, 3), D(2021, 1, 20)),)
    # A declared period covers every day of it, even days with no CADs.
    march = _export(tmp_path / "mar.csv", [D(2021, 3, 10)])
    ingest(root, [march], period=(D(2021, 3, 1), D(2021, 3, 31)))
    cov = Store.open(root).snapshot().coverage
    assert cov.by_area["Lambeth"] == (
        (D(2021, 1, 3), D(2021, 1, 20)),
        (D(2021, 3, 1), D(2021, 3, 31)),
    )
    report = json.loads(run("coverage", "--store", str(root), "--format", "json").output)
    assert report["areas"][0]["gaps"] == [["2021-01-21", "2021-02-28"]]
    assert report["recorded"] is True and report["last_ingest"]["file"] == "mar.csv"
    table = run("coverage", "--store", str(root))
    assert table.exit_code == 0 and "2021-01-21 to 2021-02-28" in table.output


def test_ingest_period_flag(tmp_path: Path) -> None:
    root = tmp_path / "store"
    export = _export(tmp_path / "x.csv", [D(2021, 5, 2)])
    result = run("ingest", str(export), "--store", str(root), "--period", "2021-05-01:2021-05-31")
    assert result.exit_code == 0, result.output
    verdict = (
        Store.open(root).snapshot().coverage.verdict(["Lambeth"], D(2021, 5, 20), D(2021, 5, 31))
    )
    assert verdict.covered
    bad = run("ingest", str(export), "--store", str(root), "--period", "2021-05-31:2021-05-01")
    assert bad.exit_code == 2 and "swap" in bad.output
