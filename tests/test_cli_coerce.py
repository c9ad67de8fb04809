"""costplan.cli.coerce: option values coerced without Pydantic, exactly as Typer coerces them."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer.main
from processes import modules_loaded
from typer import _click as click
from typer._click.exceptions import BadParameter

from costplan.cli import app
from costplan.cli import coerce as cli_coerce


def _parameters() -> list[tuple[str, Any, click.Context]]:
    """(command path and name, parameter, context) for every parameter of every command."""
    out = []

    def walk(cmd: Any, path: str) -> None:
        ctx = click.Context(cmd)
        out.extend((f"{path}:{p.name}", p, ctx) for p in cmd.params)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "costplan")
    return out


PARAMETERS = _parameters()


def _samples(annotation: Any, tmp: Path) -> list[Any]:
    """Valid, borderline and invalid command-line values for one annotation."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        items = _samples(item, tmp)
        return [[], items[:1], items[:3], tuple(items[:2]), items[0]]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        return [*members, *(m.value for m in members), members[0].value.upper(), "nope", ""]
    if annotation is int:
        return ["5", "+5", "-3", "007", "0", "1", " 7", "1_000", "1.0", "1e3", "abc", "", 5, 0]
    if annotation is float:
        return ["3", "3.5", ".5", "5.", "1e3", "-1", "0", "inf", "nan", "abc", "", 0.0, 3, -2]
    if annotation is Path:
        (tmp / "file.txt").write_text("x", encoding="utf-8")
        return ["a/b", str(tmp), str(tmp / "file.txt"), str(tmp / "nowhere"), "", "-", tmp]
    if annotation is bool:
        return [True, False, "true", "1", "no"]
    return ["x", "", "Lambeth", "2020-06-25", " spaced "]


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        value = run()
    except BadParameter as exc:
        return "error", exc.format_message()
    return "value", (type(value), repr(value))  # repr: NaN never equals itself


@pytest.mark.parametrize("name,param,ctx", PARAMETERS, ids=[n for n, _, _ in PARAMETERS])
def test_fast_coercion_equals_typers_own(name: str, param: Any, ctx: Any, tmp_path: Path) -> None:
    descriptor = param.type_descriptor
    fast = cli_coerce.build_runtime_param(descriptor)
    typer_own = cli_coerce._typer_build_runtime_param(descriptor)
    for value in _samples(descriptor.annotation, tmp_path):
        want = _outcome(lambda v=value: typer_own.coerce(v, param=param, ctx=ctx))
        got = _outcome(lambda v=value: fast.coerce(v, param=param, ctx=ctx))
        assert got == want, (name, value)


def test_a_summary_run_never_imports_pydantic(tmp_path: Path) -> None:
    """Typer would import Pydantic (~0.12 s) to coerce these options; the fast path does not."""
    args = ["summary", "--store", str(tmp_path / "none"), "--period", "month", "--by", "borough"]
    args += ["--format", "csv", "--suppress-below", "5"]
    assert modules_loaded(args, ["pydantic", "pydantic_core"], exit_code=None) == []


def test_a_bad_value_is_still_typers_error() -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["summary", "--period", "fortnight"])
    assert res.exit_code == 2
    assert "'fortnight' is not one of 'day', 'week', 'month'" in res.stderr
