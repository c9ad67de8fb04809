"""The Spark query engine: the same `cad` view and the same named queries, on Apache Spark.

The SQL library stays in DuckDB's dialect (queries/*.sql is the single source). Each query is
translated to Spark SQL with sqlglot the first time it is used and the translation is cached;
values are still bound as parameters (`$name` becomes Spark's `:name`, bound through
`spark.sql(sql, args=...)`), never formatted into the text.

What differs from DuckDB is handled here, not by callers:

* time zone: the store's days and hours come from the session time zone, as in DuckDB, so
  every engine sets `spark.sql.session.timeZone` to the store's force profile's zone;
* the view: Spark reads exactly the snapshot's files in scope (never a directory listing), with
  `basePath` at the store's `data/` so the partition keys are decoded from the hive paths
  (percent-encoded borough names included), then cast to the pinned types;
* sessions: one SparkSession per process, reused (start-up costs seconds); each engine works
  in its own child session, so its views and settings never leak into another engine's;
* object storage: `COSTPLAN_SPARK_DATA_ROOT` (e.g. `s3a://bucket/cad`) makes Spark read the
  snapshot's files from there while the manifest is read from the local store path.

pyspark and sqlglot are optional (`costplan[spark]`), imported here only when Spark is chosen.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from costplan._deps import lazy
from costplan._files import config_path
from costplan.engines.sql import EMPTY_VIEW, VIEW_PROJECTION, bind_params, load_query
from costplan.errors import EngineUnavailableError, InputError, QueryError, StoreError
from costplan.store import Snapshot
from costplan.store.manifest import locate

if TYPE_CHECKING:
    import polars as pl
    from pyspark.sql import DataFrame, SparkSession
else:
    pl = lazy("polars")
# pyspark warns on stderr about pandas 3 when it loads (locally and as a Connect client);
# costplan never hands Spark a pandas frame (results come back through Arrow): noise here.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)

# Where Spark reads the snapshot's files from, when not from the local store path.
DATA_ROOT_ENV = "COSTPLAN_SPARK_DATA_ROOT"
INSTALL_HINT = "pip install 'costplan[spark]'"
CONNECT_HINT = "pip install 'costplan[spark-connect]': the small Spark Connect client, no Java"
# Lines the JVM itself prints on stderr at start-up, whatever log4j says (Spark 4 enables the
# incubating vector module): dropped, so stderr carries only costplan's own one-line errors.
JVM_NOISE = ("WARNING: Using incubator modules:",)
LOG_CONFIG = config_path("spark-log4j2.properties")

# Settings for a session costplan starts itself on a local master. On a cluster the defaults
# (spark-defaults.conf) are the administrator's, so only the time zone is set there.
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",  # no web UI port to bind for a one-shot command
    "spark.sql.shuffle.partitions": "8",  # the default 200 is for clusters; tiny tasks here
    # The file list comes from the manifest; statting ~100 local files in a Spark job costs
    # ~0.8 s per engine, in the driver ~0.2 s (bench/bench_engines.py, "engine open").
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
}
COMMON_CONF: dict[str, str] = {
    "spark.app.name": "costplan",
    # Each engine's own child session sets the store's zone (SparkEngine); this is the
    # parent's, which runs no query of ours.
    "spark.sql.session.timeZone": "UTC",
    # The console progress bar goes to stderr mid-report; costplan has its own progress.
    "spark.ui.showConsoleProgress": "false",
}

_lock = threading.Lock()
_session: SparkSession | None = None


def _import(name: str) -> ModuleType:
    """Import an optional dependency of the Spark engine, or fail with the install hint."""
    try:
        return importlib.import_module(name)
    except ImportError:
        package = name.split(".")[0]
        raise EngineUnavailableError(
            f"the Spark engine needs the {package} package, which is not installed",
            INSTALL_HINT,
        ) from None


def find_java() -> str | None:
    """The java executable Spark would launch: $JAVA_HOME/bin/java if set, else java on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def is_connect(master: str) -> bool:
    """Whether a master URL names a Spark Connect server (sc://HOST:PORT)."""
    return master.startswith("sc://")


def require_connect() -> None:
    """Check that the Spark Connect client can run here (pyspark-client or pyspark[connect]).

    Raises:
        EngineUnavailableError: the client or one of its packages (grpcio, pandas...) is missing.
    """
    _import("sqlglot")
    try:
        importlib.import_module("pyspark.sql.connect.session")
    except ImportError:  # pyspark's own PySparkImportError is an ImportError too
        raise EngineUnavailableError(
            "Spark Connect (sc://) needs the spark-connect extra, which is not installed",
            CONNECT_HINT,
        ) from None


def require_spark(master: str = "local[*]") -> None:
    """Check that the Spark engine can run here: pyspark, sqlglot and (to start one) Java;
    for a Spark Connect master, the Connect client instead (no Java).

    Raises:
        EngineUnavailableError: a package is missing, or no session is running and there is
            no Java to start one.
    """
    if is_connect(master):
        require_connect()
        return
    _import("pyspark")
    _import("pyspark.sql")
    _import("sqlglot")
    if not (_session is not None and _alive(_session)) and find_java() is None:
        raise EngineUnavailableError(
            "the Spark engine needs Java 17 or later, and no java was found",
            "install a JDK (e.g. openjdk-17-jre-headless) and put java on PATH or set JAVA_HOME",
        )


def check_master(master: str) -> str:
    """Validate a Spark master URL before starting a JVM (which would print a stack trace).

    Raises:
        InputError: not a master URL Spark accepts.
    """
    if master == "yarn" or master.startswith(("local", "spark://", "k8s://")):
        return master
    if is_connect(master) and len(master) > len("sc://"):
        return master
    raise InputError(
        f"{master!r} is not a Spark master URL",
        "use local[*], local[N], spark://HOST:PORT, sc://HOST:PORT (Spark Connect), yarn or "
        "k8s://https://HOST:PORT",
        field="spark_master",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _spark_errors() -> tuple[type[BaseException], ...]:
    """Exceptions Spark raises for a failed query or read (Python-side and from the JVM)."""
    from pyspark.errors import PySparkException

    try:
        from py4j.protocol import Py4JError
    except ImportError:  # the Spark Connect client has no py4j
        return (PySparkException,)
    return (PySparkException, Py4JError)


def _alive(session: SparkSession) -> bool:
    try:
        return getattr(session.sparkContext, "_jsc", None) is not None
    except Exception:  # a Spark Connect session has no SparkContext
        return not getattr(session, "is_stopped", False)


def _forward_stderr(stream: Any) -> None:
    """Copy the JVM's stderr to ours in a background thread, without JVM_NOISE lines."""

    def pump() -> None:
        out = sys.__stderr__ or sys.stderr  # the process's own stderr, not a capture of it
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            if line.startswith(JVM_NOISE):
                continue
            try:
                out.write(line)
                out.flush()
            except (OSError, ValueError):
                pass  # keep draining: a JVM blocked on a full pipe would hang

    threading.Thread(target=pump, name="costplan-spark-stderr", daemon=True).start()


def _launch_jvm(master: str, settings: Mapping[str, str]) -> None:
    """Start the driver JVM with its stderr through _forward_stderr (pyspark would hand it
    our stderr, where the JVM's own start-up warning would break the one-line contract)."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None:
        return
    conf = SparkConf().setMaster(master)
    for key, value in settings.items():
        conf.set(key, value)
    gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})  # type: ignore[no-untyped-call]
    _forward_stderr(gateway.proc.stderr)
    SparkContext._ensure_initialized(gateway=gateway, conf=conf)


def _probe(master: str, timeout: float = 5.0) -> None:
    """Fail fast if nothing listens at a Spark Connect address (the client retries for minutes)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(master.split(";", 1)[0])
    host, port = parts.hostname or "localhost", parts.port or 15002
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise EngineUnavailableError(
            f"Spark Connect server {host}:{port} cannot be reached: {exc.strerror or exc}",
            "check the sc://HOST:PORT address and that the server runs "
            "(sbin/start-connect-server.sh)",
            field="spark_master",
        ) from None


def new_connect_session(master: str) -> SparkSession:
    """A new session on a Spark Connect server: its own temporary views and settings.

    Raises:
        EngineUnavailableError: the client is missing or the server cannot be reached.
    """
    check_master(master)
    require_connect()
    _probe(master)
    from pyspark.sql import SparkSession

    # Only session settings: the server's own (app name, UI, progress) are its administrator's.
    # The session's time zone is the store's, set by the caller once the session exists.
    builder = SparkSession.builder.remote(master)
    try:
        session: SparkSession = builder.create()
    except Exception as exc:  # grpc and pyspark errors: report one line
        raise EngineUnavailableError(
            f"Spark Connect server {master} cannot be reached: {_first_line(exc)}",
            "check the sc://HOST:PORT address and that the server runs "
            "(sbin/start-connect-server.sh)",
            field="spark_master",
        ) from None
    return session


def _quiet_query_loggers() -> None:
    """Stop pyspark logging failed queries as JSON on stderr (each is one QueryError line)."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def get_session(master: str, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The process's SparkSession, started on first use and reused afterwards.

    A session already running in the process (one costplan started, or the caller's own) is
    reused as it is: Spark allows one SparkContext per process, so `master` and `conf` only
    apply to the first start.

    Args:
        master: the Spark master URL (`local[*]`, `spark://host:7077`, `yarn`, ...).
        conf: extra Spark settings for a new session (override costplan's defaults).

    Raises:
        EngineUnavailableError: pyspark or Java is missing, or Spark failed to start.
        InputError: `master` is not a Spark master URL.
    """
    global _session
    check_master(master)
    if is_connect(master):
        return new_connect_session(master)
    require_spark()
    with _lock:
        if _session is not None and _alive(_session):
            return _session
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        _quiet_query_loggers()
        if active is not None and _alive(active):
            _session = active
            return active
        local = master.startswith("local")
        if local:
            # Spark otherwise binds to the first non-loopback interface and warns about it.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings = {**COMMON_CONF, **(LOCAL_CONF if local else {}), **(conf or {})}
        if "SPARK_CONF_DIR" not in os.environ and "spark.driver.extraJavaOptions" not in settings:
            # Quiet Spark's start-up chatter unless the user configures logging themselves.
            settings["spark.driver.extraJavaOptions"] = (
                f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
            )
        builder = SparkSession.builder.master(master)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            _launch_jvm(master, settings)
            _session = builder.getOrCreate()
        except Exception as exc:  # the JVM failed to start: report it as one line
            raise EngineUnavailableError(
                f"Spark could not start on master {master}: {_first_line(exc)}",
                "check the master URL and that Java 17 or later runs (java -version)",
                field="spark_master",
            ) from None
        return _session


def translate(sql: str, name: str = "sql") -> str:
    """Translate one DuckDB SQL statement to Spark SQL with sqlglot.

    Raises:
        QueryError: sqlglot cannot translate it (rewrite the query in a portable form).
    """
    sqlglot = _import("sqlglot")
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        out = sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
        )
    except SqlglotError as exc:
        raise QueryError(
            f"query {name!r} does not translate to Spark SQL: {_first_line(exc)}",
            "write it in the portable subset of DuckDB SQL (docs/scale-out.md)",
        ) from None
    if len(out) != 1:
        raise QueryError(f"query {name!r} must be one SQL statement, not {len(out)}")
    return str(out[0])


@cache
def spark_sql(name: str) -> str:
    """The Spark SQL of a named query, translated once per process."""
    return translate(load_query(name).sql, name)


def _spark_value(value: Any) -> Any:
    """A bound value in a form Spark's literal conversion accepts (sequences as lists)."""
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return value


class SparkEngine:
    """A Spark session with `cad` bound to a snapshot's files in scope.

    Args:
        snapshot: the store snapshot to read (fixes the file list for the engine's lifetime).
        boroughs: restrict the view to these boroughs' partitions (None: all).
        years: restrict the view to these years' partitions (None: all).
        master: the Spark master URL, used if this process has no session yet.
        time_zone: the zone of calendar days and hours (None: the snapshot's force profile's).
        data_root: where Spark reads the store's files (default: $COSTPLAN_SPARK_DATA_ROOT,
            else the snapshot's own directory).

    Raises:
        EngineUnavailableError: pyspark, sqlglot or Java is missing, or Spark cannot start.
        StoreError: the snapshot's files cannot be read.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        boroughs: Iterable[str] | None = None,
        years: Iterable[int] | None = None,
        master: str,
        data_root: str | None = None,
        time_zone: str | None = None,
    ) -> None:
        self.snapshot = snapshot
        root = data_root or os.environ.get(DATA_ROOT_ENV) or str(snapshot.root.absolute())
        root = root.rstrip("/")
        rels = [f.path for p in snapshot.select(boroughs, years) for f in p.files]
        if not (data_root or os.environ.get(DATA_ROOT_ENV)):
            # Local files: where they are now (a replaced one waits in retired/).
            rels = [locate(snapshot.root, r).relative_to(snapshot.root).as_posix() for r in rels]
        self.files = [f"{root}/{r}" for r in rels]
        self._views: list[str] = []
        if is_connect(master):
            self.spark = new_connect_session(master)
        else:
            self.spark = get_session(master).newSession()
        self.time_zone = zone = time_zone or snapshot.profile.time_zone
        self.spark.conf.set("spark.sql.session.timeZone", zone)
        if not self.files:
            self.spark.sql(translate(EMPTY_VIEW, "cad"))
            self._views.append("cad")
            return
        # The partition keys are decoded from the hive paths below each tree's base (data/,
        # or retired/ for an older snapshot's replaced files).
        trees: dict[str, list[str]] = {}
        for r in rels:
            trees.setdefault(r.split("/", 1)[0], []).append(f"{root}/{r}")
        try:
            parts = [
                self.spark.read.option("basePath", f"{root}/{base}").parquet(*paths)
                for base, paths in sorted(trees.items())
            ]
            files = functools.reduce(lambda a, b: a.unionByName(b), parts)
        except _spark_errors() as exc:
            raise StoreError(f"store files are unreadable: {_first_line(exc)}") from None
        files.createOrReplaceTempView("cad_files")
        # The same projection (and so the same column types) as the DuckDB view.
        view = self.spark.sql(translate(f"SELECT {VIEW_PROJECTION} FROM cad_files", "cad"))
        view.createOrReplaceTempView("cad")
        self._views += ["cad_files", "cad"]

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop this engine's views; the process's session stays up for the next engine."""
        for view in reversed(self._views):
            self.spark.catalog.dropTempView(view)
        self._views.clear()

    def _df(self, name: str, params: Mapping[str, Any]) -> DataFrame:
        query = load_query(name)
        args = {k: _spark_value(v) for k, v in bind_params(query, params).items()}
        sql = spark_sql(name)
        try:
            return self.spark.sql(sql, args=args)
        except _spark_errors() as exc:
            raise QueryError(f"query {name!r} failed on Spark: {_first_line(exc)}") from None

    def rows(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a named query and return its rows as tuples."""
        df = self._df(name, params)
        try:
            return [tuple(r) for r in df.collect()]
        except _spark_errors() as exc:
            raise QueryError(f"query {name!r} failed on Spark: {_first_line(exc)}") from None

    def records(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named query and return its rows keyed by column name (never by position)."""
        df = self._df(name, params)
        try:
            return [r.asDict() for r in df.collect()]
        except _spark_errors() as exc:
            raise QueryError(f"query {name!r} failed on Spark: {_first_line(exc)}") from None

    def columns(self, name: str, **params: Any) -> dict[str, Sequence[Any]]:
        """Run a named query and return its columns by name (none for no rows)."""
        recs = self.records(name, **params)
        return {k: tuple(r[k] for r in recs) for k in (recs[0] if recs else ())}

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        """Run a named query and return a Polars DataFrame (through Arrow)."""
        df = self._df(name, params)
        try:
            table = df.toArrow()
        except _spark_errors() as exc:
            raise QueryError(f"query {name!r} failed on Spark: {_first_line(exc)}") from None
        out = pl.from_arrow(table)
        assert isinstance(out, pl.DataFrame)  # a Table always gives a DataFrame
        return out

    def scalar(self, name: str, **params: Any) -> Any:
        """Run a named query that returns one value."""
        return next((r[0] for r in self.rows(name, **params)), None)

    def create_view(self, view: str, name: str, **params: Any) -> None:
        """Define the temporary view `view` as a named query's result (computed when read)."""
        self._df(name, params).createOrReplaceTempView(view)
        self._views.append(view)

    def register(self, view: str, frame: pl.DataFrame) -> None:
        """Make a Polars frame readable by queries as the view `view`."""
        self.spark.createDataFrame(frame.to_arrow()).createOrReplaceTempView(view)
        self._views.append(view)
