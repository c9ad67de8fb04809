"""Running costplan as a whole process, to see which modules a command imports.

Several commands must stay fast as whole processes, which depends on what they never import
(Polars, DuckDB, Pydantic, pyspark...): only a fresh interpreter can show that.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Sequence


def modules_loaded(
    args: Sequence[str], modules: Sequence[str], *, exit_code: int | None = 0
) -> list[str]:
    """Run `costplan ARGS` in a fresh interpreter; which of `modules` it imported, sorted.

    Args:
        args: the command line after `costplan`.
        modules: the module names to look for in sys.modules afterwards.
        exit_code: the exit code the command must end with (None: any).
    """
    # Through the console script's entry point, as a user runs it (it registers only the named
    # command's family; `costplan.cli.app` would register them all).
    code = (
        "import sys\n"
        "from costplan.cli import main\n"
        f"sys.argv = ['costplan', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        f"    assert {exit_code!r} is None or e.code == {exit_code!r}, e.code\n"
        f"print('LOADED', sorted(m for m in {tuple(modules)!r} if m in sys.modules))"
    )
    # The default engine, whatever the developer's shell says.
    env = {k: v for k, v in os.environ.items() if k != "COSTPLAN_ENGINE"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    last = out.stdout.rstrip().splitlines()[-1]
    assert last.startswith("LOADED "), out.stdout[-300:] + out.stderr[-300:]
    return list(ast.literal_eval(last.removeprefix("LOADED ")))
