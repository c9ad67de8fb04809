"""The costplan command line: parse arguments, call the core, render the result.

The only layer that talks to the terminal (and the only importer of typer). Commands live in
one module per family, each registering on the one `app`:

* costplan.cli._app      the Typer app and the one-line error contract (exit 2);
* costplan.cli._options  options shared by several commands, the store, progress, output;
* costplan.cli.store     ingest, generate;
* costplan.cli.costs     estimate, deadline, aggregate;
* costplan.cli.plan      plan, check, demo;
* costplan.cli.summary   summary, summary refresh;
* costplan.cli.serve     serve (the web page, costplan.web);
* costplan.cli.query     sql;
* costplan.cli.completion  completion (the shell script);
* costplan.cli.coerce    fast coercion of plain option values (no Pydantic).
"""

import importlib

from costplan.cli._app import EXIT_USER_ERROR, app

# Importing the command modules registers their commands, in the order help lists them.
for _family in ("store", "costs", "plan", "summary", "serve", "query", "completion"):
    importlib.import_module(f"costplan.cli.{_family}")

__all__ = ["EXIT_USER_ERROR", "app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
