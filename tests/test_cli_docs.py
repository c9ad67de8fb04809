"""The CLI reference (docs/cli.md) is generated from the commands' help and kept current, and
the README documents every command (as sqlite-utils checks its docs)."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from typer.main import get_command

from costplan.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts/cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_paths() -> list[str]:
    """Every command and subcommand, as typed: "plan", "summary refresh"."""
    out = []
    for name, cmd in get_command(app).commands.items():  # type: ignore[attr-defined]
        out.append(name)
        out += [f"{name} {sub}" for sub in getattr(cmd, "commands", {})]
    return out


def test_cli_reference_is_current() -> None:
    """docs/cli.md is what the generator writes now; UPDATE_GOLDEN=1 rewrites it."""
    text = _generator().reference()
    path = ROOT / "docs" / "cli.md"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, (
        "docs/cli.md is out of date: run python scripts/cli_reference.py and review the diff"
    )


def test_cli_reference_covers_every_command_and_option() -> None:
    text = _generator().reference()
    for path in command_paths():
        assert f"## `costplan {path}`" in text, path
    for name, cmd in get_command(app).commands.items():  # type: ignore[attr-defined]
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert f"`{opt}" in text, (name, opt)


def test_readme_documents_every_command() -> None:
    """Each command (and subcommand) appears in the README as `costplan NAME...`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p for p in command_paths() if not re.search(rf"`costplan {p}(\b|`)", readme)]
    assert not missing, f"commands not in the README's table: {missing}"
