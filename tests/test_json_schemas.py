"""Versioned JSON (issue 14): every command's --format json output carries schema_version and
validates against the JSON Schema the package ships for it; errors with --format json are a
JSON object on stderr that validates too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.render import _MODULES, formats
from costplan.render.json_doc import SCHEMA_VERSION, SCHEMAS, schema_path
from costplan.store import Store

runner = CliRunner()
GOLDEN = Path(__file__).parent / "golden"
INPUTS = GOLDEN / "costs" / "inputs"

EXPORT = "\n".join(
    [
        "cad_ref,created_at,borough,call_source,grading,opening_code,closing_code,tags,"
        "linked_to,summary,officer_notes",
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,NOISE,NOISE,UME;DV,,plain row,PC 1",
        "2/01JUN21,2021-06-01 11:00:00,Gotham,999,I,,,,,,",
    ]
)


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check(name: str, text: str) -> dict[str, Any]:
    doc = json.loads(text)
    assert isinstance(doc, dict) and next(iter(doc)) == "schema_version"
    assert doc["schema_version"] == SCHEMA_VERSION
    validator(name).validate(doc)
    return doc


def run_json(args: list[str], stdin: str | None = None) -> str:
    result = runner.invoke(app, [*args, "--format", "json"], input=stdin)
    assert result.exit_code in (0, 3), result.output
    return result.stdout


# The commands whose output this file validates; a new command with --format json must be
# added here, with a schema, for the test below to pass.
VALIDATED = {
    "estimate", "deadline", "aggregate", "check", "plan", "coverage", "summary", "generate",
    "ingest", "sql", "compact",
}  # fmt: skip


def test_every_command_with_json_output_is_validated_here() -> None:
    from typer.main import get_command

    with_json = set()
    for name, cmd in get_command(app).commands.items():  # type: ignore[attr-defined]
        for param in cmd.params:
            choices = getattr(getattr(param, "type_descriptor", None), "choices", None) or ()
            if "--format" in getattr(param, "opts", ()) and "json" in {str(c) for c in choices}:
                with_json.add(name)
    assert with_json == VALIDATED


def test_every_family_that_renders_json_has_a_shipped_schema() -> None:
    with_json = {kind for kind in _MODULES if "json" in formats(kind)}
    assert with_json <= set(SCHEMAS)
    for name in SCHEMAS.values():
        validator(name)  # a valid JSON Schema (check_schema), shipped inside the package
    assert {p.name for p in schema_path("plan").parent.glob("*.schema.json")} == {
        f"{n}.schema.json" for n in SCHEMAS.values()
    }


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("estimate", ["estimate", "--records", "1144", "--minutes-per-record", "3"]),
        ("estimate", ["estimate", "--records", "370", "--sample", str(INPUTS / "sample.txt")]),
        ("deadline", ["deadline", "--received", "2020-12-18", "--today", "2021-01-11"]),
        ("deadline", ["deadline", "--received", "2025-08-15", "--regime", "foisa"]),
        ("aggregate", ["aggregate", str(INPUTS / "register.csv")]),
        ("aggregate", ["aggregate", str(INPUTS / "register.toml")]),
    ],
)
def test_cost_model_outputs_validate(name: str, args: list[str]) -> None:
    check(name, run_json(args))


def test_store_outputs_validate(planner_store: Store, tmp_path: Path) -> None:
    st = ["--store", str(planner_store.root)]
    check("check", run_json(["check", *st, "--borough", "Lambeth", "--date", "2020-06-25"]))
    tagged = ["check", *st, "--borough", "Lambeth", "--date", "2020-06-24", "--to", "2020-06-26"]
    check(
        "check", run_json([*tagged, "--tag", "UME", "--time-from", "22:00", "--time-to", "04:00"])
    )
    # Uncovered days: the JSON still validates (and the command exits 3).
    check("check", run_json(["check", *st, "--borough", "Lambeth", "--date", "2019-01-01"]))
    quick = ["plan", *st, "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME"]
    check("plan", run_json(quick))
    check("plan", run_json(["plan", *st, "--borough", "Lambeth", "--date", "2020-06-24", "--to",
                            "2021-01-02"]))  # fmt: skip
    check("coverage", run_json(["coverage", *st]))
    query = "SELECT borough, day, count(*) AS n FROM cad GROUP BY ALL ORDER BY ALL"
    doc = check("sql", run_json(["sql", query, *st]))
    assert doc["columns"] == ["borough", "day", "n"] and doc["rows"]
    for extra in ([], ["--by", "borough,tag", "--period", "month", "--suppress-below", "20"]):
        doc = check("summary", run_json(["summary", *st, *extra]))
        assert doc["rows"]


def test_suppressed_summary_counts_are_null_and_flagged(planner_store: Store) -> None:
    args = ["summary", "--store", str(planner_store.root), "--by", "borough,call_source,grading"]
    doc = check("summary", run_json([*args, "--suppress-below", "10"]))
    hidden = [r for r in doc["rows"] if r["suppressed"]]
    assert hidden and all(r["count"] is None for r in hidden)
    assert all(isinstance(r["count"], int) for r in doc["rows"] if not r["suppressed"])
    assert "<10" not in json.dumps(doc)


def test_plan_from_a_request_file_validates(planner_store: Store, tmp_path: Path) -> None:
    request = tmp_path / "r.toml"
    request.write_text(
        'reference = "T-9"\nreceived = 2021-12-06\n[[items]]\nname = "one"\n'
        'boroughs = ["Lambeth", "Haringey"]\ndate_from = 2020-06-24\ndate_to = 2020-06-26\n',
        encoding="utf-8",
    )
    doc = check("plan", run_json(["plan", str(request), "--store", str(planner_store.root)]))
    assert doc["due"] is not None


def test_generate_and_ingest_outputs_validate(tmp_path: Path) -> None:
    gen = ["generate", "--store", str(tmp_path / "g"), "--start", "2020-01-01"]
    check("generate", run_json([*gen, "--end", "2020-01-02", "--boroughs", "Lambeth"]))
    export = tmp_path / "export.csv"
    export.write_text(EXPORT + "\n", encoding="utf-8")
    doc = check("ingest", run_json(["ingest", str(export), "--store", str(tmp_path / "s")]))
    assert doc["stored"] == 1 and doc["quarantined"] == 1
    doc = check("compact", run_json(["compact", "--store", str(tmp_path / "g")]))
    assert doc["partitions"] == 0 and doc["manifest_version"] == 1


def test_check_json_keeps_utf8_like_every_other_command(planner_store: Store) -> None:
    out = run_json(["check", "--store", str(planner_store.root), "--borough", "Lambeth",
                    "--date", "2020-06-25"])  # fmt: skip
    assert "×" in out and "£" in out and "\\u" not in out


@pytest.mark.parametrize(
    ("args", "kind", "field"),
    [
        (["estimate", "--records", "10", "--minutes-per-record", "-1"], "input",
         "--minutes-per-record"),
        (["deadline", "--received", "2020-13-01"], "input", None),
        (["estimate", "--no-such-option"], "usage", None),
        (["check", "--date", "2020-06-25"], "usage", "--area"),
        (["check", "--store", "/nonexistent/store", "--borough", "Lambeth", "--date",
          "2020-06-25"], "store", "--store"),
    ],
)  # fmt: skip
def test_errors_with_format_json_are_one_json_object_on_stderr(
    args: list[str], kind: str, field: str | None
) -> None:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    doc = check("error", lines[0])
    assert doc["error"]["kind"] == kind and doc["error"]["message"]
    if field is not None:
        assert doc["error"]["field"] == field
    # Without --format json, the same error is the one text line of the contract.
    plain = runner.invoke(app, args)
    assert plain.exit_code == 2 and plain.stderr.startswith("costplan: error: ")
    assert doc["error"]["message"] in plain.stderr


def test_format_equals_json_also_gives_json_errors() -> None:
    result = runner.invoke(app, ["estimate", "--records", "x", "--format=json"])
    assert result.exit_code == 2
    assert check("error", result.stderr)["error"]["kind"] == "input"
