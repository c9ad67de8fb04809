"""Unix conventions the command line keeps (part of issue 14): -h, python -m, `-` for stdin
and stdout, shell completion, readable help placeholders, and an optional extra that is
missing fails in one line before any work."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer import _click as click
from typer.main import get_command
from typer.testing import CliRunner

from costplan import __version__
from costplan.cli import app
from costplan.cli._options import complete_area, complete_by, complete_regime
from costplan.costmodel.regimes import load_regimes
from costplan.profile import load_profile
from costplan.schema import BOROUGHS, canonical_borough
from costplan.store import Store, read_quarantine

runner = CliRunner()
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
INPUTS = Path(__file__).parent / "golden" / "costs" / "inputs"


def every_command() -> list[tuple[str, click.Command]]:
    """Every command and subcommand, by its path ("summary refresh")."""
    out: list[tuple[str, click.Command]] = []

    def walk(path: str, cmd: click.Command) -> None:
        out.append((path, cmd))
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(f"{path} {name}".strip(), sub)

    walk("", get_command(app))
    return out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_dash_h(command: str) -> None:
    short = runner.invoke(app, [command, "-h"])
    assert short.exit_code == 0, short.output
    assert short.output == runner.invoke(app, [command, "--help"]).output


def test_python_dash_m_costplan(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "costplan", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == f"costplan {__version__}"


def test_summary_out_dash_is_stdout(planner_store: Store, tmp_path: Path) -> None:
    args = ["summary", "--store", str(planner_store.root), "--period", "month", "--format", "csv"]
    to_stdout = runner.invoke(app, [*args, "--out", "-"])
    assert to_stdout.exit_code == 0
    assert to_stdout.output == runner.invoke(app, args).output
    assert not Path("-").exists()


def test_html_without_matplotlib_is_one_line_naming_the_extra(
    planner_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    result = runner.invoke(app, ["summary", "--store", str(planner_store.root), "--format", "html"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "costplan[html]" in lines[0]


# ---- `-` is stdin for every file read, stdout for every file written -------------------------

REQUEST = """reference = "T-stdin"
[[items]]
name = "Lambeth rave"
boroughs = ["Lambeth"]
date_from = 2020-06-24
date_to = 2020-06-26
tags = ["UME"]
"""


def test_plan_reads_the_request_from_stdin(planner_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "req.toml"
    path.write_text(REQUEST, encoding="utf-8")
    args = ["--store", str(planner_store.root), "--format", "json"]
    from_file = runner.invoke(app, ["plan", str(path), *args])
    from_stdin = runner.invoke(app, ["plan", "-", *args], input=REQUEST)
    assert from_file.exit_code == from_stdin.exit_code == 0, from_stdin.output
    assert json.loads(from_stdin.stdout) == json.loads(from_file.stdout)


def test_a_bad_request_on_stdin_is_named_stdin(planner_store: Store) -> None:
    bad = REQUEST.replace('"Lambeth"]', '"Lambet"]')
    result = runner.invoke(app, ["plan", "-", "--store", str(planner_store.root)], input=bad)
    assert result.exit_code == 2 and "stdin" in result.stderr and "Lambet" in result.stderr


def test_sample_from_stdin_is_the_sample_from_the_file() -> None:
    sample = INPUTS / "sample.txt"
    args = ["estimate", "--records", "370", "--format", "json", "--sample"]
    from_file = runner.invoke(app, [*args, str(sample)])
    from_stdin = runner.invoke(app, [*args, "-"], input=sample.read_bytes())
    assert from_file.exit_code == from_stdin.exit_code == 0, from_stdin.output
    assert json.loads(from_stdin.stdout)["sample"] == json.loads(from_file.stdout)["sample"]


@pytest.mark.parametrize("name", ["register.csv", "register.toml"])
def test_aggregate_reads_the_register_from_stdin(name: str) -> None:
    register = INPUTS / name
    from_file = runner.invoke(app, ["aggregate", str(register), "--format", "json"])
    from_stdin = runner.invoke(
        app, ["aggregate", "-", "--format", "json"], input=register.read_bytes()
    )
    assert from_file.exit_code == from_stdin.exit_code == 0, from_stdin.output
    assert json.loads(from_stdin.stdout) == json.loads(from_file.stdout)


def test_regime_file_from_stdin() -> None:
    regimes = "[regime.test-only]\n" + "\n".join(
        line
        for line in (Path(__file__).parents[1] / "costplan/config/regimes.toml")
        .read_text(encoding="utf-8")
        .split("[regime.uk-foia-other]", 1)[1]
        .split("\n[regime.", 1)[0]
        .splitlines()
        if line.strip()
    )
    args = ["estimate", "--records", "10", "--regime", "test-only", "--format", "json"]
    result = runner.invoke(app, [*args, "--regime-file", "-"], input=regimes)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["regime"] == "test-only"


def test_mapping_from_stdin(tmp_path: Path) -> None:
    mapping = Path(__file__).parents[1] / "costplan/config/mappings/example-force.toml"
    export = tmp_path / "export.csv"
    export.write_text("Incident No\n", encoding="utf-8")  # the mapping is read first
    args = ["ingest", str(export), "--store", str(tmp_path / "s"), "--mapping"]
    via_file = runner.invoke(app, [*args, str(mapping)])
    via_pipe = runner.invoke(app, [*args, "-"], input=mapping.read_bytes())
    assert via_file.exit_code == via_pipe.exit_code == 2
    # The same complaint about the export's columns: the mapping was read alike.
    assert via_pipe.stderr.split(":", 2)[-1] == via_file.stderr.split(":", 2)[-1]
    both = runner.invoke(app, ["ingest", "-", "--store", str(tmp_path / "s"), "--mapping", "-"])
    assert both.exit_code == 2 and "both read stdin" in both.stderr


def test_stdin_can_be_named_only_once(planner_store: Store) -> None:
    result = runner.invoke(
        app, ["plan", "-", "--sample", "-", "--store", str(planner_store.root)], input=REQUEST
    )
    assert result.exit_code == 2
    assert "REQUEST and --sample both read stdin" in result.stderr


EXPORT = "\n".join(
    [
        "cad_ref,created_at,borough,call_source,grading,opening_code,closing_code,tags,"
        "linked_to,summary,officer_notes",
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,NOISE,NOISE,UME;DV,,plain row,PC 1",
        "2/01JUN21,2021-06-01 11:00:00,Gotham,999,I,,,,,,",
        "3/01JUN21,not a time,Camden,999,I,,,,,,",
        "1/01JUN21,2021-06-01 10:00:00,Camden,999,I,NOISE,NOISE,UME;DV,,plain row,PC 1",
    ]
)


def _ingest(store: Path, export: str | bytes, name: str | None) -> dict[str, object]:
    """Ingest `export` from a file called `name`, or from stdin when `name` is None."""
    args = ["ingest", "--store", str(store), "--format", "json"]
    if name is None:
        result = runner.invoke(app, [*args, "-"], input=export)
    else:
        path = store.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(export if isinstance(export, bytes) else export.encode())
        result = runner.invoke(app, [*args, str(path)])
    assert result.exit_code == 0, result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def _comparable(doc: dict[str, object], more: set[str]) -> dict[str, object]:
    """An ingest report without what differs by where the file sat (paths, the txn id)."""
    skip = {"store", "txn", "quarantine_file", "path", *more}
    out = {k: v for k, v in doc.items() if k not in skip and k != "files"}
    out["files"] = [{k: v for k, v in f.items() if k not in skip} for f in doc["files"]]  # type: ignore[attr-defined]
    return out


def test_ingest_from_stdin_is_the_ingest_of_the_same_file(tmp_path: Path) -> None:
    via_file = _ingest(tmp_path / "a" / "store", EXPORT + "\n", "stdin.csv")
    via_pipe = _ingest(tmp_path / "b" / "store", EXPORT + "\n", None)
    assert via_pipe["files"][0]["file"] == "-"  # type: ignore[index]
    skip_file = {"file"}
    assert _comparable(via_pipe, skip_file) == _comparable(via_file, skip_file)
    assert via_pipe["stored"] == 1 and via_pipe["duplicates"] == 1 and via_pipe["quarantined"] == 2
    # The quarantine is the same rows, lines and reasons, under the same file name.
    quarantines = [
        read_quarantine(Store.open(tmp_path / side / "store"))
        .select("source_file", "line", "reason", "raw")
        .sort("line")
        for side in ("a", "b")
    ]
    same = ("line", "reason", "raw")
    assert quarantines[0].select(same).equals(quarantines[1].select(same))
    assert quarantines[0].height == 2
    assert set(quarantines[1]["source_file"]) == {"-"}
    # Reconciliation: the same export again through the pipe adds nothing.
    again = _ingest(tmp_path / "b" / "store", EXPORT + "\n", None)
    assert again["stored"] == 0 and again["duplicates"] == 2
    # The spooled copy is gone.
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("costplan-stdin-*/stdin.csv"))


def test_ingest_reads_parquet_from_stdin(tmp_path: Path) -> None:
    frame = pl.read_csv(io.StringIO(EXPORT), infer_schema=False).head(1)
    buf = io.BytesIO()
    frame.write_parquet(buf)
    doc = _ingest(tmp_path / "store", buf.getvalue(), None)
    assert doc["stored"] == 1 and doc["files"][0]["format"] == "parquet"  # type: ignore[index]


def test_ingest_of_empty_stdin_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "-", "--store", str(tmp_path / "s")], input="")
    assert result.exit_code == 2 and "stdin is empty" in result.stderr
    assert not (tmp_path / "s").exists()


def test_disclose_dash_writes_the_references_to_stdout(planner_store: Store) -> None:
    args = ["plan", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME"]
    result = runner.invoke(app, [*args, "--store", str(planner_store.root), "--disclose", "-"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert lines[0] == "cad_reference"
    assert lines[1:] and all(re.fullmatch(r"CAD \d+/25JUN20", line) for line in lines[1:])
    assert "ANSWER" in result.stderr  # the report moved to stderr, out of the pipe
    assert not Path("-").exists()


def test_every_file_option_documents_dash() -> None:
    """Each option or argument that names a file to read or write says what - does."""
    file_params = {
        "mapping",
        "settings",
        "request_file",
        "sample",
        "regime_file",
        "register",
        "exports",
        "out",
        "disclose",
    }
    seen = set()
    for path, cmd in every_command():
        for param in cmd.params:
            if (path, param.name) == ("serve", "settings"):
                # The page rereads it for each letter, so serve refuses -, and says so.
                assert "not -" in (getattr(param, "help", "") or "")
                continue
            if param.name in file_params:
                seen.add(param.name)
                assert "- " in (getattr(param, "help", "") or ""), (cmd.name, param.name)
    assert seen == file_params


# ---- shell completion -------------------------------------------------------------------------


class _Ctx:
    """What a completion function reads of Click's context: the options parsed so far."""

    def __init__(self, **params: object) -> None:
        self.params = params


def test_completion_of_areas() -> None:
    ctx: Any = _Ctx()
    assert complete_area(ctx, "Barn") == ["Barnet"]
    assert complete_area(ctx, "barking") == ["barking-and-dagenham"]
    assert complete_area(ctx, "Kingston") == ["Kingston-upon-Thames"]
    # Every borough is offered, each as one shell word that the CLI reads back as itself.
    offered = complete_area(ctx, "")
    assert len(offered) == len(BOROUGHS) and all(" " not in name for name in offered)
    assert [canonical_borough(n) for n in offered] == [b.name for b in BOROUGHS]
    assert complete_area(ctx, "Gotham") == []
    # A store that cannot be read offers the default's areas, never an error.
    assert complete_area(_Ctx(store=Path("/nonexistent/store")), "Barn") == ["Barnet"]


def test_completion_offers_the_stores_own_areas(tmp_path: Path) -> None:
    root = tmp_path / "wyp"
    Store.open(root, create=True, force=load_profile("wyp"))
    offered = complete_area(_Ctx(store=root), "")
    assert offered and "Lambeth" not in offered
    assert offered == [n.replace(" ", "-") for n in Store.open(root).snapshot().profile.area_names]


def test_completion_of_regimes_and_columns() -> None:
    assert complete_regime("") == load_regimes().names()
    assert complete_regime("uk-foia-o") == ["uk-foia-other"]
    assert complete_by("") == ["borough", "call_source", "grading", "tag"]
    assert complete_by("borough,g") == ["borough,grading"]
    assert "borough,borough" not in complete_by("borough,")


def test_formats_complete_from_the_choices() -> None:
    ctx = click.Context(get_command(app))
    check = get_command(app).commands["check"]  # type: ignore[attr-defined]
    fmt = next(p for p in check.params if p.name == "fmt")
    assert [c.value for c in fmt.shell_complete(ctx, "")] == ["table", "json"]
    borough = next(p for p in check.params if p.name == "borough")
    assert [c.value for c in borough.shell_complete(ctx, "Lam")] == ["Lambeth"]
    regime = next(p for p in check.params if p.name == "regime")
    assert [c.value for c in regime.shell_complete(ctx, "foi")] == ["foisa"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_prints_the_script(shell: str) -> None:
    result = runner.invoke(app, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_COSTPLAN_COMPLETE" in result.stdout and "costplan" in result.stdout


def test_completion_install_writes_the_script_and_sources_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    result = runner.invoke(app, ["completion", "bash", "--install"])
    assert result.exit_code == 0, result.output
    script = tmp_path / ".bash_completions" / "costplan.sh"
    assert "_COSTPLAN_COMPLETE=complete_bash" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


def test_completion_of_an_unknown_shell_is_one_line() -> None:
    result = runner.invoke(app, ["completion", "csh"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_the_shell_gets_completions_back(tmp_path: Path) -> None:
    """The protocol the printed bash script speaks: costplan called back with the variable."""
    env = dict(os.environ, _COSTPLAN_COMPLETE="complete_bash", COMP_CWORD="3")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])  # this checkout's costplan
    env["COMP_WORDS"] = "costplan check --borough Lamb"
    out = subprocess.run(
        [sys.executable, "-m", "costplan"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Lambeth"]
    env["COMP_WORDS"] = "costplan summary --format "
    out = subprocess.run(
        [sys.executable, "-m", "costplan"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["table", "csv", "json", "markdown", "html"]


# ---- help placeholders -------------------------------------------------------------------------

# Python's names for types, as Typer prints them when no metavar is given.
PYTHON_TYPES = re.compile(r"<(str|int|float|bool|path|list\[|[a-z]+ range|Path)")


@pytest.mark.parametrize(("path", "cmd"), every_command(), ids=lambda v: v or "costplan")
def test_help_placeholders_are_readable(path: str, cmd: click.Command) -> None:
    result = runner.invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert not PYTHON_TYPES.search(result.output), result.output
    for param in cmd.params:
        if getattr(param, "is_flag", False) or getattr(param, "hidden", False):
            continue
        # A metavar says what to give (FILE, DATE, N), or the choices are listed.
        choices = getattr(getattr(param, "type_descriptor", None), "is_choice", False)
        assert param.metavar is not None or choices, (path, param.name)
