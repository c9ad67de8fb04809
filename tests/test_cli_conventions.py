"""Unix conventions the command line keeps (part of issue 14): -h, python -m, --out -,
and an optional extra that is missing fails in one line before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from costplan import __version__
from costplan.cli import app
from costplan.store import Store

runner = CliRunner()
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


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
