"""A run registers only the family of the command it names (issue 14: `check` pays nothing for
the other commands), and the whole command line is still there for help, typos and `app`."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from processes import modules_loaded

from costplan import cli
from costplan.store import Store

# Modules `check` must never import: other families, the write path, the s.16 advice and the
# timed-sample statistics (each a few dataclasses, about 0.4 ms apiece to create).
NOT_FOR_CHECK = (
    "costplan.cli.store",
    "costplan.cli.costs",
    "costplan.cli.summary",
    "costplan.cli.serve",
    "costplan.cli.query",
    "costplan.cli.completion",
    "costplan.store.transaction",
    "costplan.planner.advice",
    "costplan.planner.slices",
    "costplan.costmodel.sampling",
    "costplan.costmodel.sample_file",
)


def _registered_by(family: str) -> set[str]:
    """The top-level command names a family's module registers, read from a fresh process (so
    no other family is registered beside it)."""
    code = (
        "import costplan.cli as c\n"
        f"c.register({family!r})\n"
        "from costplan.cli._app import app\n"
        "names = [c.name or c.callback.__name__ for c in app.registered_commands]\n"
        "names += [g.name for g in app.registered_groups]\n"
        "print(sorted(n.replace('_', '-') for n in names))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(ast.literal_eval(out.stdout))


@pytest.mark.parametrize("family", sorted(cli.FAMILIES))
def test_families_name_exactly_what_each_module_registers(family: str) -> None:
    assert _registered_by(family) == set(cli.FAMILIES[family])


def test_every_command_of_the_app_is_in_a_family() -> None:
    app = cli.app  # every family registered
    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups if g.name}
    assert names == {n for names in cli.FAMILIES.values() for n in names}


@pytest.mark.parametrize(
    ("args", "family"),
    [
        (["check", "--borough", "Lambeth"], "plan"),
        (["-h"], None),
        ([], None),
        (["--version"], None),
        (["summary", "refresh"], "summary"),
        (["chekc"], None),  # a typo: every command, so Click can suggest the right one
        (["--", "check"], None),
    ],
)
def test_family_of_the_command_line(args: list[str], family: str | None) -> None:
    assert cli.family_of(args) == family


def test_check_loads_its_family_only(planner_store: Store) -> None:
    args = ["check", "--store", str(planner_store.root), "--borough", "Lambeth"]
    loaded = modules_loaded([*args, "--date", "2020-06-25"], ("costplan.cli.plan", *NOT_FOR_CHECK))
    assert loaded == ["costplan.cli.plan"]


def test_a_typo_still_gets_a_suggestion() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "costplan", "chek"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert "check" in out.stderr and out.stderr.count("\n") == 1


def test_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "costplan", "--help"], capture_output=True, text=True, check=True
    )
    for names in cli.FAMILIES.values():
        for name in names:
            assert f" {name} " in out.stdout or f" {name}\n" in out.stdout, name
