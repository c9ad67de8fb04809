"""`costplan completion SHELL`: print the shell's completion script.

The script calls costplan back with _COSTPLAN_COMPLETE set; CostplanGroup.main then registers
Typer's completion classes and answers (commands, options, choices, and the areas, regimes and
--by columns of the callbacks in cli/_options.py). Typer's own --install-completion is not
offered: it edits the user's shell start-up files, and printing the script lets them choose.
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
) -> None:
    """Print the shell completion script (commands, options, formats, areas and regimes).

    Example:

    \b
        eval "$(costplan completion bash)"            # this shell only
        costplan completion bash >> ~/.bashrc         # every new bash
        costplan completion zsh > ~/.zfunc/_costplan  # zsh, with ~/.zfunc on fpath
        costplan completion fish > ~/.config/fish/completions/costplan.fish
    """
    from typer._completion_shared import get_completion_script

    typer.echo(
        get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value)
    )
