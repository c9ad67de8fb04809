"""The Typer application and its error contract: one stderr line and exit 2, never a traceback.

Core modules raise CostplanError subclasses in their own terms; `wording` turns one into the
line a command-line user reads (naming the option when the error names the field it came from).
"""

# No `from __future__ import annotations` in the CLI modules: Typer reads every command's
# signature on every run, and string annotations would each be eval()'d (about 15 ms a
# process, a twentieth of `costplan summary`'s budget).
import sys
from typing import Annotated, Any

import typer

# Typer 0.29 vendors Click as typer._click; its exception types are not re-exported, and the
# one-line error contract needs them (hence the <0.30 pin in pyproject.toml).
from typer import _click as click
from typer._click import exceptions as click_exc
from typer.core import TyperGroup

from costplan import __version__
from costplan.cli import coerce as cli_coerce
from costplan.errors import CostplanError

EXIT_USER_ERROR = 2

# Plain option values are coerced without importing Pydantic (0.12 s a process; see the module).
cli_coerce.install()

# The core names the field an error is about in its own terms; the command line names the
# option that sets it. One table for every command.
FIELD_OPTIONS: dict[str, str] = {
    "records": "--records",
    "minutes_per_record": "--minutes-per-record",
    "fixed_minutes": "--fixed-minutes",
    "working_days": "--working-days",
    "regime": "--regime",
    "paused": "--paused",
    "extension": "--extension",
    "limit": "--limit-gbp",
    "rate": "--rate",
    "spark_master": "--spark-master",
    "by": "--by",
    "suppress_below": "--suppress-below",
    "date_from": "--from",
    "date_to": "--to",
    "start": "--start",
    "end": "--end",
    "mapping": "--mapping",
    "store": "--store",
    "sample": "--sample",
    "time_from": "--time-from",
    "time_to": "--time-to",
    "force": "--force",
    "held": "--held",
    "reference": "--reference",
    "disclose_refs": "--disclose-refs",
    "fmt": "--format",
}


def wording(exc: CostplanError) -> str:
    """The one line for a core error, naming the option where the error names its field."""
    line = exc.one_line()
    option = FIELD_OPTIONS.get(exc.field or "")
    return f"{option}: {line}" if option else line


def error_line(message: str) -> None:
    """Print one error line on stderr (control characters folded to spaces)."""
    text = "".join(" " if (c < " " or c in "\x7f\x85\u2028\u2029") else c for c in message)
    click.echo(f"costplan: error: {text}", err=True)


class CostplanGroup(TyperGroup):
    """A Typer group whose failures are one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostplanError as exc:
            error_line(wording(exc))
            ctx.exit(EXIT_USER_ERROR)
        except OSError as exc:
            # Disk full, permission denied, a file vanishing mid-run: the user's to fix.
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            error_line(f"{exc.strerror or exc}{where}")
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
            error_line(f"{exc.format_message()} (see '{cmd} --help')")
            sys.exit(EXIT_USER_ERROR)
        except click_exc.ClickException as exc:
            error_line(exc.format_message())
            sys.exit(exc.exit_code or 1)
        except typer.Abort:  # Typer 0.29's vendored Click has no Abort of its own
            error_line("aborted")
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
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
