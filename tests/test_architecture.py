"""House rules that keep the code easy to change: a thin CLI over a core, SQL in files."""

from __future__ import annotations

import ast
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from costplan.engines.duckdb_engine import Engine
from costplan.engines.sql import all_queries, load_query, queries_dir
from costplan.store import Store

PACKAGE = Path(__file__).resolve().parent.parent / "costplan"
# The interfaces are folders, not a hand-kept list: a new module under cli/, web/ or render/ is
# presentation, anything else is core (the import contracts in pyproject.toml say the same).
INTERFACES = ("cli", "web", "render")


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = sorted(_module(p) for p in PACKAGE.rglob("*.py"))
CORE = [
    m
    for m in MODULES
    if m.split(".")[1:2] not in ([i] for i in INTERFACES)
    and m not in ("costplan", "costplan.__main__")  # the package face and `python -m`
]


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_the_cli_stack(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in ('typer', 'tabulate', 'costplan.cli') if m in sys.modules); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()}"


def _source(module: str) -> Path:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("module", MODULES)
def test_no_module_is_a_package_in_disguise(module: str) -> None:
    """One concept a module: about 500 lines at most (split along its sections beyond that)."""
    lines = len(_source(module).read_text(encoding="utf-8").splitlines())
    assert lines <= 500, f"{module} has {lines} lines"


def test_the_import_contracts_hold() -> None:
    """The layer rules in pyproject.toml ([tool.importlinter]), checked by import-linter."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint), "--no-cache"], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


@pytest.mark.parametrize("module", CORE)
def test_core_never_prints(module: str) -> None:
    tree = ast.parse(_source(module).read_text(encoding="utf-8"))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
    ]
    assert not calls, f"{module} calls print() on line {calls[0].lineno}"


def test_every_query_has_a_header_and_binds_its_values() -> None:
    queries = all_queries()
    assert queries, "the SQL library is empty"
    for q in queries:
        assert q.description, f"{q.name}.sql has no description"
        text = q.sql
        assert not re.search(r"\{[a-z_]+\}|%\([a-z_]+\)s", text), f"{q.name}.sql formats strings"
        used = set(re.findall(r"\$([a-z_]+)", text))
        assert used == set(q.params), f"{q.name}.sql: params header {q.params} vs used {used}"


VALUES = {
    "VARCHAR[]": ["Lambeth", "UME"],
    "DATE": dt.date(2020, 6, 25),
    "INTEGER": None,
    "BIGINT": 0,
    "SMALLINT": 2020,
    "VARCHAR": None,
    "BOOLEAN": True,
}
# Parameters whose meaning needs a specific value rather than any value of the type.
NAMED_VALUES = {
    "period": "week",
    "keyword_pattern": "(?i)rave",
    "bucket_seconds": 3600,
    "items": [
        chr(31).join(["0", "Lambeth", "2020-06-25", "2020-06-25", "2020-06-25", "2020-06-26"])
    ],
}


def _params_of(path: Path) -> dict[str, str]:
    header = next(
        (
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("-- params:")
        ),
        "-- params: none",
    )
    out: dict[str, str] = {}
    for part in header.split(":", 1)[1].split(","):
        bits = part.split()
        if len(bits) >= 2:
            out[bits[0]] = bits[1]
    return out


def test_every_query_runs_on_a_fixture_store(planner_store: Store) -> None:
    """Each .sql file parses and runs against the `cad` view with values of its declared types."""
    ran = []
    with Engine(planner_store.snapshot()) as engine:
        for path in sorted(queries_dir().glob("*.sql")):
            types = _params_of(path)
            if not all(t in VALUES for t in types.values()):
                pytest.fail(f"{path.name}: a parameter type not covered here: {types}")
            if "FROM cad" not in load_query(path.stem).sql:
                continue  # queries over other logical views are run by their own tests
            engine.rows(path.stem, **{k: NAMED_VALUES.get(k, VALUES[t]) for k, t in types.items()})
            ran.append(path.stem)
    assert {"count_scope", "plan_item_counts", "tagged_refs"} <= set(ran)
