"""`ingest --from-sql`: a database's rows go through the same mapping, validation, quarantine
and reconciliation as an export file's."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
import sys
from pathlib import Path

import pytest
from test_ingest_crash import make_export
from typer.testing import CliRunner

from costplan.cli import app
from costplan.errors import InputError
from costplan.ingest import ingest
from costplan.ingest.dbsource import redacted
from costplan.store import Store, read_quarantine

runner = CliRunner()


def to_sqlite(export: Path, db: Path) -> None:
    """The CSV's rows as a table `cad_export`, every value as the text the CSV holds."""
    with open(export, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    con = sqlite3.connect(db)
    cols = ", ".join(f'"{c}" TEXT' for c in header)
    con.execute(f"CREATE TABLE cad_export (n INTEGER PRIMARY KEY, {cols})")
    marks = ", ".join("?" for _ in header)
    names = ", ".join(f'"{c}"' for c in header)
    con.executemany(f"INSERT INTO cad_export ({names}) VALUES ({marks})", body)
    con.commit()
    con.close()


QUERY = (
    "SELECT cad_ref, created_at, borough, call_source, grading, summary FROM cad_export ORDER BY n"
)


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    export = tmp_path / "export.csv"
    make_export(export, 3_000, dt.date(2021, 4, 1), 3, bad_every=500)
    with open(export, "a", encoding="utf-8") as fh:  # a duplicate and a conflict
        lines = export.read_text(encoding="utf-8").splitlines()
        fh.write(lines[2] + "\n")
        fh.write(lines[3].replace(",999,", ",101,") + "\n")
    db = tmp_path / "force.db"
    to_sqlite(export, db)
    return export, db


def counts(report: object) -> dict[str, int]:
    doc = report.to_dict()  # type: ignore[attr-defined]
    return {k: doc[k] for k in ("rows_read", "stored", "duplicates", "quarantined")}


def test_sqlite_rows_reconcile_as_the_same_csv(sources: tuple[Path, Path], tmp_path: Path):
    export, db = sources
    from_csv = ingest(tmp_path / "a", [export])
    from_db = ingest(tmp_path / "b", [], from_sql=(QUERY, f"sqlite:///{db}"))
    assert counts(from_db) == counts(from_csv)
    assert counts(from_db)["quarantined"] == 6 + 1 and counts(from_db)["duplicates"] == 1
    a, b = Store.open(tmp_path / "a").snapshot(), Store.open(tmp_path / "b").snapshot()
    assert a.total_rows == b.total_rows and set(a.partitions) == set(b.partitions)
    qa, qb = (
        read_quarantine(Store.open(tmp_path / "a")),
        read_quarantine(Store.open(tmp_path / "b")),
    )
    assert sorted(qa["reason"].to_list()) == sorted(qb["reason"].to_list())
    # Re-running the same query is recognised: nothing new stored, nothing quarantined twice.
    again = ingest(tmp_path / "b", [], from_sql=(QUERY, f"sqlite:///{db}"))
    assert again.stored == 0
    assert read_quarantine(Store.open(tmp_path / "b")).height == qb.height


def test_the_cli_ingests_from_sqlite(sources: tuple[Path, Path], tmp_path: Path) -> None:
    _, db = sources
    args = ["ingest", "--from-sql", QUERY, "--connection", f"sqlite:///{db}"]
    res = runner.invoke(app, [*args, "--store", str(tmp_path / "s"), "--format", "json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["stored"] == 3_000 - 6


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--from-sql", QUERY], "together"),
        (["--from-sql", "SELECT nope FROM nowhere", "--connection", "sqlite:///DB"], "failed"),
        (["--from-sql", "SELECT 1 AS x", "--connection", "sqlite:///DB"], "required column"),
        (["--from-sql", QUERY, "--connection", "sqlite:///missing.db"], "no SQLite database"),
        (["--from-sql", QUERY, "--connection", "oracle://x/y"], "unsupported database URL"),
    ],
)
def test_bad_sources_fail_in_one_line_before_the_store(
    sources: tuple[Path, Path], tmp_path: Path, extra: list[str], says: str
) -> None:
    _, db = sources
    extra = [e.replace("DB", str(db)) for e in extra]
    res = runner.invoke(app, ["ingest", *extra, "--store", str(tmp_path / "s")])
    assert res.exit_code == 2 and says in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_a_password_is_never_recorded() -> None:
    assert (
        redacted("postgresql://cad:s3cret@db.force:5432/cad")
        == "postgresql://cad@db.force:5432/cad"
    )
    assert redacted("sqlite:///x.db") == "sqlite:///x.db"


def test_postgres_without_a_driver_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("psycopg", "adbc_driver_postgresql", "adbc_driver_postgresql.dbapi"):
        monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(InputError, match="psycopg") as err:
        ingest(tmp_path / "s", [], from_sql=("SELECT 1", "postgresql://u@localhost/cad"))
    assert "costplan[postgres]" in str(err.value.hint)
    assert not (tmp_path / "s").exists()
