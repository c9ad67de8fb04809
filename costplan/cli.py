"""The costplan command line: parse arguments, call the core, render the result.

This is the only module that talks to the terminal. Core modules raise CostplanError
subclasses; the group below turns them into one stderr line and exit code 2.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

# Typer 0.29 vendors Click as typer._click; its exception types are not re-exported, and the
# one-line error contract needs them (hence the <0.30 pin in pyproject.toml).
from typer import _click as click
from typer._click import exceptions as click_exc
from typer.core import TyperGroup

from costplan import __version__
from costplan.errors import CostplanError

EXIT_USER_ERROR = 2


def _error_line(message: str) -> None:
    click.echo(f"costplan: error: {message}", err=True)


class CostplanGroup(TyperGroup):
    """A Typer group whose failures are one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostplanError as exc:
            _error_line(exc.one_line())
            ctx.exit(EXIT_USER_ERROR)
        except OSError as exc:
            # Disk full, permission denied, a file vanishing mid-run: the user's to fix.
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            _error_line(f"{exc.strerror or exc}{where}")
            ctx.exit(EXIT_USER_ERROR)

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - click entry point
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click_exc.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(EXIT_USER_ERROR)
        except click_exc.UsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx else "costplan"
            _error_line(f"{exc.format_message()} (see '{cmd} --help')")
            sys.exit(EXIT_USER_ERROR)
        except click_exc.ClickException as exc:
            _error_line(exc.format_message())
            sys.exit(exc.exit_code or 1)
        except (click_exc.Abort, typer.Abort):
            _error_line("aborted")
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=CostplanGroup,
    help=(
        "Estimate the cost of answering FOI requests about police CAD records, decide under "
        "FOIA section 12, and advise how a request could be narrowed (section 16).\n\n"
        "Example:\n\n    costplan demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(str, Enum):
    """Output formats shared by the reporting commands."""

    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"
    html = "html"


def version_callback(value: bool) -> None:
    if value:
        click.echo(f"costplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """costplan: FOIA section 12 cost estimates over police CAD archives."""


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store directory. Default: the demo archive in the per-user cache (built on first use).",
        envvar="COSTPLAN_STORE",
    ),
]


def main() -> None:
    """Console-script entry point."""
    app()


# ---- store commands (issue 2) ----

# ---- cost model commands (issue 3) ----

# ---- planner commands (issue 4) ----

# ---- summary commands (issue 5) ----
