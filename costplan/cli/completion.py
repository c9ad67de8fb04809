"""`costplan completion SHELL`: print the shell's completion script.

The script calls costplan back with _COSTPLAN_COMPLETE set; CostplanGroup.main then registers
Typer's completion classes and answers (commands, options, choices, and the areas, regimes and
--by columns of the callbacks in cli/_options.py). `--install` does what Typer's
--install-completion does (writes the script and sources it from the shell's start-up file);
the root options themselves are not offered, because Typer would build them on every run.
"""

from enum import StrEnum
from typing import Annotated

import typer

from costplan.cli._app import COMPLETE_VAR, PROG_NAME, app


class Shell(StrEnum):
    """Shells Typer writes completion scripts for."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"
    pwsh = "pwsh"


@app.command()
def completion(
    shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh, fish or powershell.")],
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Install it instead: write the script and source it from the shell's start-up "
            "file (~/.bashrc, ~/.zshrc, fish's completions folder, the PowerShell profile).",
        ),
    ] = False,
) -> None:
    """Print the shell completion script (commands, options, formats, areas and regimes).

    Example:

    \b
        eval "$(costplan completion bash)"            # this shell only
        costplan completion bash >> ~/.bashrc         # every new bash
        costplan completion zsh > ~/.zfunc/_costplan  # zsh, with ~/.zfunc on fpath
        costplan completion fish > ~/.config/fish/completions/costplan.fish
        costplan completion bash --install            # as Typer's --install-completion
    """
    from typer._completion_shared import get_completion_script
    from typer._completion_shared import install as install_script

    if install:
        name, path = install_script(
            shell=shell.value, prog_name=PROG_NAME, complete_var=COMPLETE_VAR
        )
        typer.echo(f"{name} completion installed in {path}; it takes effect in a new shell")
        return
    typer.echo(
        get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value)
    )
