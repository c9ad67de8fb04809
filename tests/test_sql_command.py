"""`costplan sql`: read-only SQL over one snapshot's `cad` view, without free text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import fixture_frame, write_store
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines import Spark
from costplan.errors import InputError
from costplan.schema import SHAREABLE_COLUMNS
from costplan.store import Store

runner = CliRunner()
BY_BOROUGH = "SELECT borough, count(*) AS cads FROM cad GROUP BY borough ORDER BY borough"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sql") / "store"
    write_store(root, fixture_frame())
    return root


def sql(store: Path, statement: str, fmt: str = "json") -> tuple[int, str, str]:
    res = runner.invoke(app, ["sql", statement, "--store", str(store), "--format", fmt])
    return res.exit_code, res.stdout, res.stderr


def test_counts_match_the_fixture_in_every_format(store: Path) -> None:
    frame = fixture_frame()
    want = {b: n for b, n in frame.group_by("borough").len().iter_rows()}
    code, out, _ = sql(store, BY_BOROUGH)
    assert code == 0
    doc = json.loads(out)
    assert doc["columns"] == ["borough", "cads"]
    assert {r["borough"]: r["cads"] for r in doc["rows"]} == want
    assert doc["snapshot"]["manifest_version"] == Store.open(store).snapshot().version
    code, out, _ = sql(store, BY_BOROUGH, "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["borough", "cads"] and {r[0]: int(r[1]) for r in rows[1:]} == want
    code, out, _ = sql(store, BY_BOROUGH, "table")
    assert code == 0 and all(b in out for b in want)


def test_the_view_holds_no_free_text(store: Path) -> None:
    code, out, _ = sql(store, "SELECT * FROM cad LIMIT 3")
    assert code == 0
    doc = json.loads(out)
    assert tuple(doc["columns"]) == SHAREABLE_COLUMNS
    assert "summary" not in doc["columns"] and "summary" not in out
    code, _, err = sql(store, "SELECT summary FROM cad")
    assert code == 2 and "summary" in err


@pytest.mark.parametrize(
    "statement, says",
    [
        ("COPY (SELECT * FROM cad) TO 'out.csv'", "single SELECT"),
        ("SELECT 1; SELECT 2", "single SELECT"),
        ("CREATE TABLE t AS SELECT * FROM cad", "single SELECT"),
        ("ATTACH 'x.db'", "single SELECT"),
        ("SET enable_external_access = true", "single SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "table functions"),
        ("SELECT * FROM cad WHERE cad_ref IN (SELECT * FROM glob('*'))", "table functions"),
        ("SELECT * FROM 'STORE/data/borough=Lambeth/year=2020/part.parquet'", "only the view"),
        ("SELECT * FROM information_schema.tables", "only the view"),
        ("SELECT * FROM duckdb_settings()", "table functions"),
        ("SELEC nonsense", "does not parse"),
    ],
)
def test_anything_but_one_select_over_cad_is_refused(
    store: Path, statement: str, says: str
) -> None:
    code, out, err = sql(store, statement.replace("STORE", str(store)))
    assert code == 2 and out == ""
    assert says in err and len(err.strip().splitlines()) == 1


def test_files_are_out_of_reach_even_inside_a_select(store: Path, tmp_path: Path) -> None:
    """A SELECT passing the checks still cannot touch the file system."""
    target = tmp_path / "leak.csv"
    code, _, err = sql(store, f"SELECT count(*) FROM cad WHERE '{target}' IS NOT NULL")
    assert code == 0 and not target.exists()
    with_cte = (
        "WITH per AS (SELECT day, count(*) AS n FROM cad GROUP BY day) SELECT sum(n) FROM per"
    )
    code, out, _ = sql(store, with_cte)
    assert code == 0 and list(json.loads(out)["rows"][0].values()) == [fixture_frame().height]


def test_an_empty_store_has_an_empty_view(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    Store.open(root, create=True)
    code, out, _ = sql(root, "SELECT count(*) AS n FROM cad")
    assert code == 0 and json.loads(out)["rows"] == [{"n": 0}]


def test_spark_says_clearly_it_does_not_run_sql(store: Path) -> None:
    with pytest.raises(InputError, match="not available on the spark engine"):
        Spark().sql(Store.open(store).snapshot(), "SELECT 1")
