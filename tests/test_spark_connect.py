"""Spark Connect (`sc://` masters) and a clean stderr on Spark.

The `spark-connect` extra is the small client (pyspark-client: no JVM on the client); the
URL check, the missing-extra error and an unreachable server need no server. The end-to-end
test starts a local Spark Connect server from the full pyspark package (Java 17+) and checks
that `check` and `summary` give DuckDB's JSON through it, with nothing on stderr.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines import spark_engine
from costplan.errors import InputError
from costplan.store import Store

runner = CliRunner()
CHECK = ["check", "--borough", "Lambeth", "--date", "2020-06-25", "--format", "json"]


def _connect_client() -> bool:
    try:
        return importlib.util.find_spec("pyspark.sql.connect.session") is not None and all(
            importlib.util.find_spec(m) is not None for m in ("grpc", "pandas", "sqlglot")
        )
    except ModuleNotFoundError:
        return False


needs_client = pytest.mark.skipif(not _connect_client(), reason="no Spark Connect client")
needs_java = pytest.mark.skipif(
    spark_engine.find_java() is None or importlib.util.find_spec("pyspark") is None,
    reason="no Java or pyspark",
)


def test_master_urls_accept_spark_connect() -> None:
    assert spark_engine.check_master("sc://spark.force.internal:15002") == (
        "sc://spark.force.internal:15002"
    )
    assert spark_engine.check_master("sc://localhost:15002/;user_id=foi") == (
        "sc://localhost:15002/;user_id=foi"
    )
    with pytest.raises(InputError, match="is not a Spark master URL") as err:
        spark_engine.check_master("sc://")
    assert "sc://HOST:PORT" in str(err.value.hint)


def test_spark_connect_without_the_extra_is_one_line(
    planner_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql.connect.session", None)
    args = [*CHECK, "--store", str(planner_store.root), "--engine", "spark"]
    res = runner.invoke(app, [*args, "--spark-master", "sc://localhost:15002"])
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "costplan[spark-connect]" in err[0], res.stderr


@needs_client
def test_an_unreachable_connect_server_is_one_line(planner_store: Store) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [*CHECK, "--store", str(planner_store.root), "--engine", "spark"]
    res = runner.invoke(app, [*args, "--spark-master", f"sc://127.0.0.1:{port}"])
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot be reached" in err[0], res.stderr


def _costplan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTPLAN_ENGINE")}
    return subprocess.run(
        [sys.executable, "-m", "costplan", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _same(spark_out: str, duck_out: str) -> None:
    got, want = json.loads(spark_out), json.loads(duck_out)
    if isinstance(got, dict) and "counted_from" in got:  # how it counted, not what
        got["counted_from"] = want["counted_from"] = None
    assert got == want


@pytest.mark.spark
@needs_java
def test_a_local_spark_run_leaves_stderr_empty(planner_store: Store) -> None:
    """The JVM's own start-up warning (incubator modules) never reaches stderr."""
    args = [*CHECK, "--store", str(planner_store.root)]
    out = _costplan(*args, "--engine", "spark", "--spark-master", "local[1]")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    _same(out.stdout, _costplan(*args).stdout)


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Spark Connect server on a free port, for this module's tests."""
    import pyspark

    home = Path(pyspark.__file__).parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("connect") / "server.log"
    command = [str(home / "bin" / "spark-submit"), "--master", "local[2]"]
    command += ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    for conf in (
        f"spark.connect.grpc.binding.port={port}",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "spark.ui.enabled=false",
        "spark.sql.shuffle.partitions=4",
    ):
        command += ["--conf", conf]
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(command, stdout=fh, stderr=fh, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "Spark Connect server started" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "the Spark Connect server did not start"
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.mark.spark
@needs_java
@needs_client
def test_spark_connect_gives_duckdbs_json(planner_store: Store, connect_server: str) -> None:
    store = ["--store", str(planner_store.root)]
    for args in (
        [*CHECK, *store],
        ["summary", *store, "--period", "month", "--by", "borough", "--format", "json"],
    ):
        out = _costplan(*args, "--engine", "spark", "--spark-master", connect_server)
        assert out.returncode == 0 and out.stderr == "", out.stderr
        _same(out.stdout, _costplan(*args).stdout)


@pytest.mark.spark
@needs_java
def test_spark_reads_an_older_snapshot_whose_files_were_retired(tmp_path: Path) -> None:
    """Spark, like DuckDB, finds a replaced file in retired/ for a snapshot taken before."""
    from conftest import fixture_frame, write_store
    from test_store_glob import extra_rows

    from costplan.engines import Spark

    store = write_store(tmp_path / "store", fixture_frame())
    old = store.snapshot()
    with store.writer() as txn:
        txn.add(extra_rows([("Lambeth", 2020)]))
        txn.compact(min_files=1, keys=["Lambeth|2020"])  # an append alone replaces nothing
        txn.commit()
    with Spark("local[1]").open(old) as eng:
        assert any("/retired/" in f for f in eng.files)
        assert sum(r["n"] for r in eng.records("volume_counts")) == old.total_rows
