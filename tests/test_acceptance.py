"""End to end on real-shaped data: the synthetic archive, the real CLI, the example request.

The session fixture generates summer 2020 for all 32 boroughs with the default seed (the demo
archive's generator and seed; the demo itself covers the whole year). One test runs the real
`costplan demo` in a subprocess from another directory, as the README's first command does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.store import Store
from costplan.synth.demo import DEMO_SEED, build_archive

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ume-raves-2020.toml"
runner = CliRunner()


@pytest.fixture(scope="session")
def summer_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(tmp_path_factory.mktemp("summer") / "store", create=True)
    build_archive(store, dt.date(2020, 6, 1), dt.date(2020, 8, 31), seed=DEMO_SEED)
    return store


def test_duckdb_count_lambeth_25_june_2020_over_500(summer_store: Store) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/London'")
    rel = con.read_parquet(summer_store.snapshot().files(), hive_partitioning=True)
    rel.create_view("cad")
    (n,) = con.execute(
        "SELECT count(*) FROM cad WHERE borough = $b AND day = $d",
        {"b": "Lambeth", "d": dt.date(2020, 6, 25)},
    ).fetchall()[0]
    assert n > 500  # "in Lambeth there were over 500 CADs created for 25 June 2020 alone"
    top = [
        b
        for (b, _) in con.execute(
            "SELECT borough, count(*) AS n FROM cad GROUP BY borough ORDER BY n DESC LIMIT 5"
        ).fetchall()
    ]
    assert "Westminster" in top and "Lambeth" in top
    assert top[0] == "Westminster"


def test_check_lambeth_refuses(summer_store: Store) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            "--borough",
            "Lambeth",
            "--date",
            "2020-06-25",
            "--store",
            str(summer_store.root),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["records"] > 500
    # Reading every CAD, after the 10-minute check of what is held (config/planner.toml).
    assert data["hours"] == round((data["records"] * 3 + 10) / 60, 2)
    assert data["decision"] == "refuse"


def test_plan_example_request_refuses_with_advice(summer_store: Store) -> None:
    result = runner.invoke(
        app, ["plan", str(EXAMPLE), "--store", str(summer_store.root), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision"] == "refuse" and data["section"] == "12(1)"
    assert data["recommended"] == "full_review"
    assert len(data["items"]) == 4
    for item in data["items"]:
        by = {s["strategy"]: s for s in item["strategies"]}
        assert by["tag_query"]["records"] > 0, item["name"]  # the tag-query counts are shown
        assert by["full_review"]["records"] > by["tag_query"]["records"]
    assert "records × 3 minutes" in data["explanation"] or "× 3 minutes" in data["explanation"]
    assert any(a["hours"] <= data["limit_hours"] for a in data["advice"])
    brixton = data["items"][0]
    assert {s["strategy"]: s for s in brixton["strategies"]}["full_review"]["records"] > 500


def test_plan_letter_reads_as_a_refusal(summer_store: Store) -> None:
    result = runner.invoke(
        app, ["plan", str(EXAMPLE), "--store", str(summer_store.root), "--letter"]
    )
    assert result.exit_code == 0
    text = result.output
    assert "section 12(1)" in text and "section 16" in text
    assert "A member of the public" not in text


@pytest.mark.slow
def test_demo_runs_from_another_directory(tmp_path: Path) -> None:
    """The README's main command, as a real process, away from the repository."""
    exe = Path(sys.executable).with_name("costplan")
    env = {**os.environ, "COSTPLAN_CACHE": str(tmp_path / "cache")}
    out = subprocess.run(
        [str(exe), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "REFUSE under section 12(1)" in out.stdout
    assert "Section 16 advice" in out.stdout
    # Built once, then reused.
    again = subprocess.run(
        [str(exe), "check", "--borough", "Lambeth", "--date", "2020-06-25"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert "refuse under s.12(1)" in again.stdout


def test_wheel_ships_the_sql_library_and_examples(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("costplan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sql in (ROOT / "queries").glob("*.sql"):
        assert f"costplan/queries/{sql.name}" in names
    assert "costplan/examples/ume-raves-2020.toml" in names
    assert "costplan/config/regimes.toml" in names
    # Versioned JSON's schemas and the typing marker ship with the package (issue 14).
    for schema in (ROOT / "costplan" / "schemas").glob("*.schema.json"):
        assert f"costplan/schemas/{schema.name}" in names
    assert "costplan/py.typed" in names
    # The web page's templates and its vendored htmx, with its licence (no CDN).
    for page in (ROOT / "costplan" / "web" / "templates").glob("*.html"):
        assert f"costplan/web/templates/{page.name}" in names
    for static in ("htmx.min.js", "htmx.LICENSE", "NOTICE", "style.css"):
        assert f"costplan/web/static/{static}" in names


@pytest.mark.parametrize("day", ["2019-03-01", "2023-03-01"])
def test_a_date_outside_the_archive_is_uncovered_in_every_output(
    summer_store: Store, day: str
) -> None:
    """Never "0 CADs → answer" for days the archive does not hold (issue 11.1)."""
    base = ["--borough", "Lambeth", "--date", day, "--store", str(summer_store.root)]
    table = runner.invoke(app, ["check", *base])
    assert table.exit_code == 3 and "NOT COVERED" in table.output
    data = json.loads(runner.invoke(app, ["check", *base, "--format", "json"]).output)
    assert data["decision"] == "uncovered" and data["coverage"]["status"] == "not_covered"
    plan = runner.invoke(app, ["plan", *base, "--tag", "UME", "--format", "json"])
    assert plan.exit_code == 3 and json.loads(plan.output)["decision"] == "uncovered"
    letter = runner.invoke(app, ["plan", *base, "--tag", "UME", "--letter"])
    assert letter.exit_code == 3
    assert "falls within the appropriate limit" not in letter.output
    assert "do not cover" in letter.output


def test_a_range_beyond_the_archive_is_a_lower_bound(summer_store: Store) -> None:
    """2019 to 2021 asked, summer 2020 held: the summer's count, stated as a lower bound."""
    args = ["--borough", "Lambeth", "--store", str(summer_store.root), "--format", "json"]
    wide = json.loads(
        runner.invoke(app, ["check", *args, "--date", "2019-06-01", "--to", "2021-06-30"]).output
    )
    held = json.loads(
        runner.invoke(app, ["check", *args, "--date", "2020-06-01", "--to", "2020-08-31"]).output
    )
    assert wide["records"] == held["records"] > 0
    assert wide["coverage"]["status"] == "partial" and wide["lower_bound"] is True
    assert wide["coverage"]["missing"]["Lambeth"] == [
        ["2019-06-01", "2020-05-31"],
        ["2020-09-01", "2021-06-30"],
    ]
    assert wide["decision"] == "refuse"  # the held part alone exceeds the limit
