"""The Typer application and its error contract: one stderr line and exit 2, never a traceback.

Core modules raise CostplanError subclasses in their own terms; `wording` turns one into the
line a command-line user reads (naming the option when the error names the field it came from).
With `--format json` on the command line the error is one JSON object on stderr instead
(`{"schema_version", "error": {"kind", "message", "hint", "field"}}`,
costplan/schemas/error.schema.json), with the same exit code, so a script reading JSON never
has to parse prose.
"""

# No `from __future__ import annotations` in the CLI modules: Typer reads every command's
# signature on every run, and string annotations would each be eval()'d (about 15 ms a
# process, a twentieth of `costplan summary`'s budget).
import os
import sys
from typing import Annotated, Any

import typer

# Typer 0.29 vendors Click as typer._click; its exception types are not re-exported, and the
# one-line error contract needs them (hence the <0.30 pin in pyproject.toml).
from typer import _click as click
from typer._click import exceptions as click_exc
from typer.core import TyperArgument, TyperGroup

from costplan import __version__
from costplan.cli import coerce as cli_coerce
from costplan.errors import FIELD_OPTIONS, CostplanError, wording

EXIT_USER_ERROR = 2

# Shell completion: the script `costplan completion SHELL` prints calls the program back with
# this variable set (Typer's naming, so its scripts work unchanged).
PROG_NAME = "costplan"
COMPLETE_VAR = "_COSTPLAN_COMPLETE"

# Plain option values are coerced without importing Pydantic (0.12 s a process; see the module).
cli_coerce.install()


def _argument_type(self: TyperArgument, ctx: click.Context) -> str | None:
    """An argument's placeholder in help: its metavar alone when it has one (REGISTER, not
    "REGISTER <path>"), Typer's type label otherwise. Options already work this way."""
    return None if self.metavar is not None else TyperArgument.display_type(self, ctx)


# Help placeholders say what to give (FILE, DATE), never a Python type (<list[str]>); every
# option names a metavar, and tests/test_cli_conventions.py checks every command's help.
TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]

# The option for each core field (FIELD_OPTIONS) and the one line for an error (wording) are
# shared with the web page, whose form inputs carry the same names: costplan.errors.
__all__ = ["FIELD_OPTIONS", "app", "wording"]


def _one_line(message: str) -> str:
    """`message` with control characters folded to spaces (it must stay one line)."""
    return "".join(" " if (c < " " or c in "\x7f\x85\u2028\u2029") else c for c in message)


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (`--format json` or `--format=json`), so
    an error is reported as JSON too. Read from the raw arguments: a usage error may come
    before any option is parsed."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--format=json" or (arg == "--format" and args[i + 1 : i + 2] == ["json"]):
            return True
    return False


# Set by CostplanGroup.main for one run: errors are then a JSON object as well as the line.
_json_errors = False


def error_kind(exc: BaseException) -> str:
    """A stable machine name for an error's kind: InputError -> "input",
    StoreLockedError -> "store_locked"; "usage" for a bad command line, "os" for a system one."""
    if isinstance(exc, click_exc.UsageError):
        return "usage"
    if isinstance(exc, OSError):
        return "os"
    name = type(exc).__name__.removesuffix("Error") or "costplan"
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def error_line(
    message: str,
    *,
    kind: str = "error",
    hint: str | None = None,
    field: str | None = None,
    detail: str | None = None,
) -> None:
    """Print one error line on stderr (control characters folded to spaces); with
    `--format json` the error is one JSON object on stderr instead (schema error.schema.json):
    kind, message, hint and field (the option named), so a script can tell errors apart.

    `message` is the whole line; `detail` the message alone (without hint) for the JSON.
    """
    if _json_errors:
        from costplan._files import dumps
        from costplan.render.json_doc import versioned

        error = {
            "kind": kind,
            "message": _one_line(detail if detail is not None else message),
            "hint": hint,
            "field": field,
        }
        click.echo(dumps(versioned({"error": error}), indent=None), err=True)
        return
    click.echo(f"costplan: error: {_one_line(message)}", err=True)


def report(exc: CostplanError) -> None:
    """A core error on stderr: the one line, or the JSON object."""
    option = FIELD_OPTIONS.get(exc.field or "")
    error_line(
        wording(exc),
        kind=error_kind(exc),
        hint=exc.hint,
        field=option or exc.field,
        detail=exc.message,
    )


def _usage_field(exc: click_exc.UsageError) -> str | None:
    """The option or argument a usage error is about, where Click says (a bad --format)."""
    param = getattr(exc, "param", None)
    if param is None:
        return None
    opts = getattr(param, "opts", None)
    return str(opts[0]) if opts else (param.human_readable_name or None)


class CostplanGroup(TyperGroup):
    """A Typer group whose failures are one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CostplanError as exc:
            report(exc)
            ctx.exit(EXIT_USER_ERROR)
        except OSError as exc:
            # Disk full, permission denied, a file vanishing mid-run: the user's to fix.
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            error_line(f"{exc.strerror or exc}{where}", kind="os")
            ctx.exit(EXIT_USER_ERROR)

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - click entry point
        global _json_errors
        kwargs["standalone_mode"] = False
        if os.environ.get(COMPLETE_VAR):
            # A completion request from the shell: Typer's completion classes answer it (its
            # scripts' protocol), registered only here so other runs never import them.
            from typer._completion_classes import completion_init

            completion_init()
            kwargs.setdefault("prog_name", PROG_NAME)
            kwargs.setdefault("complete_var", COMPLETE_VAR)
        given = kwargs.get("args", args[0] if args else None)
        _json_errors = wants_json(list(sys.argv[1:] if given is None else given))
        try:
            rv = super().main(*args, **kwargs)
        except click_exc.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(EXIT_USER_ERROR)
        except click_exc.UsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx else "costplan"
            hint = f"see '{cmd} --help'"
            error_line(
                f"{exc.format_message()} ({hint})",
                kind="usage",
                hint=hint,
                field=_usage_field(exc),
                detail=exc.format_message(),
            )
            sys.exit(EXIT_USER_ERROR)
        except click_exc.ClickException as exc:
            error_line(exc.format_message(), kind="usage")
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
