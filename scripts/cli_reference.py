"""Write docs/cli.md, the command-line reference, from the commands' own help.

    python scripts/cli_reference.py          # rewrite docs/cli.md
    UPDATE_GOLDEN=1 pytest tests/test_cli_docs.py   # the same, through the test

tests/test_cli_docs.py regenerates the text in memory and fails when docs/cli.md differs, so
the reference cannot fall behind the code: change a command's help, then rerun this.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer import _click as click
from typer.main import get_command

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "cli.md"

HEADER = """# Command-line reference

Generated from the commands' own `--help` by `scripts/cli_reference.py`; a test fails when
this file is out of date. Every command also takes `-h`. Conventions for all of them:

- `-` in place of a file name reads stdin (a request, `--sample`, `--regime-file`,
  `--mapping`, a register, one ingest export) or writes stdout (`summary --out -`,
  `plan --disclose -`).
- Errors are one line on stderr and exit code 2; with `--format json` the error is one JSON
  object on stderr instead (`costplan/schemas/error.schema.json`).
- Every JSON output starts with `"schema_version"` and is described by a JSON Schema shipped
  in `costplan/schemas/`.
"""


def _help_markdown(text: str) -> str:
    """A command's docstring as Markdown: paragraphs kept, an indented example block fenced."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            while block and not block[-1].strip():
                block.pop()
            out.extend(["```sh", *block, "```"])
            block.clear()

    for line in text.replace("\b\n", "").replace("\b", "").splitlines():
        if line.startswith("    "):
            block.append(line[4:].rstrip())
        elif not line.strip() and block:
            block.append("")
        else:
            flush()
            out.append(line.rstrip())
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _context(cmd: click.Command, name: str, parent: click.Context | None) -> click.Context:
    """The context a run of `cmd` has (its settings: -h as well as --help)."""
    return click.Context(cmd, info_name=name, parent=parent, **cmd.context_settings)


def _section(cmd: click.Command, ctx: click.Context, path: str, level: int) -> list[str]:
    lines = [f"{'#' * level} `{path}`", ""]
    if cmd.help:
        lines += [_help_markdown(cmd.help), ""]
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    lines += ["```", f"{path} {usage}".rstrip(), "```", ""]
    records = [
        (p.param_type_name, p.get_help_record(ctx)) for p in cmd.get_params(ctx) if not p.hidden
    ]
    for kind, title in (("argument", "Arguments"), ("option", "Options")):
        rows = [rec for k, rec in records if k == kind and rec is not None]
        if rows:
            lines += [f"**{title}**", ""]
            lines += [f"- `{name}`" + (f": {text}" if text else "") for name, text in rows]
            lines.append("")
    sub = getattr(cmd, "commands", {})
    for name in sorted(sub) if sub else []:
        child = sub[name]
        lines += _section(child, _context(child, name, ctx), f"{path} {name}", level + 1)
    return lines


def reference() -> str:
    """The whole reference, as docs/cli.md holds it."""
    from costplan.cli import app

    root = get_command(app)
    ctx = _context(root, "costplan", None)
    lines = [HEADER]
    commands: dict[str, click.Command] = root.commands  # type: ignore[attr-defined]
    names = list(commands)  # in the order `costplan --help` lists them
    lines += ["## Commands", ""]
    for name in names:
        short = commands[name].get_short_help_str(200)
        lines.append(f"- [`costplan {name}`](#costplan-{name}): {short}")
    lines.append("")
    for name in names:
        cmd = commands[name]
        lines += _section(cmd, _context(cmd, name, ctx), f"costplan {name}", 2)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    OUTPUT.write_text(reference(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
