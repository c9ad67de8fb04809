"""Every command offers exactly the formats it renders; anything else is one line, exit 2."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from costplan.cli import app
from costplan.render import formats

# Every format name any command knows.
ALL_FORMATS = ("table", "json", "markdown", "csv", "html", "letter", "xlsx")
# Which result family each command renders with --format (plan's letter is --letter, and
# renders a Response: tests/test_letters.py).
RENDERS = {
    "ingest": ("IngestReport", ()),
    "generate": ("GenerateReport", ()),
    "estimate": ("EstimateReport", ()),
    "deadline": ("Deadline", ()),
    "aggregate": ("AggregateReport", ()),
    "plan": ("Plan", ()),
    "check": ("CheckResult", ()),
    "coverage": ("CoverageReport", ()),
    "summary": ("Summary", ()),
    "sql": ("SqlResult", ()),
    "compact": ("CompactReport", ()),
}


def _commands() -> dict[str, object]:
    root = get_command(app)
    out = {}
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        out[name] = cmd
    return out


def _format_choices(cmd: object) -> tuple[str, ...] | None:
    for param in cmd.params:  # type: ignore[attr-defined]
        if "--format" in getattr(param, "opts", ()):
            return tuple(m.value for m in param.type_descriptor.annotation)
    return None


def test_every_command_with_a_format_is_known_here() -> None:
    with_format = {n for n, c in _commands().items() if _format_choices(c) is not None}
    assert with_format == set(RENDERS)


@pytest.mark.parametrize("command", sorted(RENDERS))
def test_a_command_offers_exactly_what_its_renderer_renders(command: str) -> None:
    kind, elsewhere = RENDERS[command]
    offered = _format_choices(_commands()[command])
    assert offered is not None
    assert set(offered) | set(elsewhere) == set(formats(kind))


CASES = [
    (command, fmt)
    for command, (kind, _) in sorted(RENDERS.items())
    for fmt in ALL_FORMATS
    if fmt not in formats(kind)
]


@pytest.mark.parametrize(("command", "fmt"), CASES, ids=[f"{c}-{f}" for c, f in CASES])
def test_an_unrendered_format_is_one_line_and_exit_2(command: str, fmt: str) -> None:
    # --format first: Click checks options in the order given, before any missing argument.
    result = CliRunner().invoke(app, [command, "--format", fmt])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("costplan: error:"), result.output
    assert "--format" in lines[0] and fmt in lines[0]
