"""Portable writes: no POSIX-only module on an import path, the lock library only when writing.

Windows has no `fcntl`; a fresh interpreter with it made unimportable must still import every
command's module and show every command's help. `check` only reads, so it never loads the
lock library at all.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import fixture_frame, write_store
from processes import modules_loaded

from costplan import _files

WITHOUT_FCNTL = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
    import costplan.cli
    from costplan.cli import app
    from typer.main import get_command
    from typer.testing import CliRunner
    for info in pkgutil.iter_modules(costplan.cli.__path__, "costplan.cli."):
        importlib.import_module(info.name)
    for name in ("costplan.store", "costplan.ingest", "costplan.engines", "costplan.synth.demo"):
        importlib.import_module(name)

    def paths(cmd, prefix=()):
        for name, sub in getattr(cmd, "commands", {}).items():
            yield (*prefix, name)
            yield from paths(sub, (*prefix, name))

    runner = CliRunner()
    done = []
    for path in paths(get_command(app)):
        res = runner.invoke(app, [*path, "--help"])
        assert res.exit_code == 0, (path, res.output, res.exception)
        done.append(" ".join(path))
    assert "fcntl" not in sys.modules or sys.modules["fcntl"] is None
    print("HELP", len(done), ",".join(done))
    """
)


def test_every_command_imports_and_helps_without_fcntl() -> None:
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("HELP ")
    count, names = last.removeprefix("HELP ").split(" ", 1)
    assert int(count) >= 10 and {"check", "ingest", "plan"} <= set(names.split(","))


def test_check_never_loads_the_lock_library(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_store(root, fixture_frame())
    args = ["check", "--store", str(root), "--borough", "Lambeth", "--date", "2020-06-25"]
    assert modules_loaded(args, ["filelock"], exit_code=None) == []


def test_the_lock_names_its_holder_and_frees_on_exit(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / ".lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from costplan._files import file_lock\n"
            "with file_lock(Path(sys.argv[1]), 1) as h:\n"
            "    assert h is None; print('locked', flush=True); time.sleep(30)\n",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with _files.file_lock(lock, 0.2) as got:
            assert got == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()
    with _files.file_lock(lock, 5) as got:  # the kernel freed the dead holder's lock
        assert got is None


def test_fsync_dir_is_harmless_on_any_path(tmp_path: Path) -> None:
    _files.fsync_dir(tmp_path)
    _files.fsync_dir(tmp_path / "missing")
