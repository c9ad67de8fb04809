"""The costplan command line: parse arguments, call the core, render the result.

The only layer that talks to the terminal (and the only importer of typer). Commands live in
one module per family, each registering on the one `app`:

* costplan.cli._app      the Typer app and the one-line error contract (exit 2);
* costplan.cli._options  options shared by several commands, the store, progress, output;
* costplan.cli.store     ingest, generate, coverage, compact;
* costplan.cli.costs     estimate, deadline, aggregate;
* costplan.cli.plan      plan, check, demo;
* costplan.cli.summary   summary, summary refresh;
* costplan.cli.serve     serve (the web page, costplan.web);
* costplan.cli.query     sql;
* costplan.cli.completion  completion (the shell script);
* costplan.cli.coerce    fast coercion of plain option values (no Pydantic).

A run registers only the family of the command it names (`costplan check` builds one family's
options, not all of them: Typer reads every registered command's signature on every run, and
importing the other families costs `check` a few milliseconds for nothing). `costplan.cli.app`,
help and anything unrecognised get every family, in the order help lists them.
"""

import importlib
import sys
from typing import Any

from costplan.cli._app import EXIT_USER_ERROR

# Each family's commands, by the name a user types. tests/test_cli_lazy.py checks this against
# what each module registers, so a new command cannot be left out.
FAMILIES: dict[str, tuple[str, ...]] = {
    "store": ("ingest", "generate", "coverage", "compact"),
    "costs": ("estimate", "deadline", "aggregate"),
    "plan": ("plan", "check", "demo"),
    "summary": ("summary",),
    "serve": ("serve",),
    "query": ("sql",),
    "completion": ("completion",),
}
_FAMILY_OF = {command: family for family, names in FAMILIES.items() for command in names}

__all__ = ["EXIT_USER_ERROR", "FAMILIES", "app", "main"]


def register(*families: str) -> None:
    """Import the command modules of `families` (all of them when none is named); importing a
    module registers its commands on the app."""
    for family in families or tuple(FAMILIES):
        importlib.import_module(f"costplan.cli.{family}")


def family_of(args: list[str]) -> str | None:
    """The family of the command `args` name, or None (help, a typo, no command): the first
    argument that is not an option. The root takes no option with a value, so that is it."""
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return _FAMILY_OF.get(arg)
    return None


def __getattr__(name: str) -> Any:
    # `costplan.cli.app` is the whole command line (tests, the CLI reference, the web's
    # completion helpers): every family registered on first access.
    if name == "app":
        from costplan.cli._app import app

        register()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point: registers the named command's family only."""
    from costplan.cli._app import app

    family = family_of(sys.argv[1:])
    register(*((family,) if family else ()))
    app()
