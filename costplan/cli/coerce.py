"""Command-line values coerced without importing Pydantic, when Typer's answer is plain.

Typer 0.29 coerces every parameter through a Pydantic TypeAdapter, even a `str` or a default
left as None. Importing Pydantic and building the adapters costs about 0.12 s per process,
which `costplan summary` and `costplan check` cannot afford (docs/benchmarks.md §4). The values
our commands take are plain (str, Path, a StrEnum choice, int or float with an optional
bound, lists of those), and for a value that is valid the result is obvious: this module
computes it directly. Anything else (a bad choice, a number that does not parse or is out of
range, a type not listed here) goes to Typer's own coercion, so every error message, and every
result for a value this module does not recognise, is Typer's exactly. tests/test_cli_coerce.py
checks the two agree for every parameter of every command.

Typer is pinned below 0.30 (pyproject.toml) because this module, like costplan.cli, uses its
internals (`typer.core.build_runtime_param`, `typer._coercion.RuntimeParam`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, cast, get_args, get_origin

import typer.core
from typer import _coercion
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
from typer.models import ParameterInfo

_typer_build_runtime_param = _coercion.build_runtime_param
# What Pydantic (lax mode) turns into the same number as int() / float() does, and nothing
# else: other spellings ("1_000", " 7", "1e3" for an int) go to Typer and are decided there.
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class _Unknown(Exception):
    """This value is not one the fast path is sure about: Typer's coercion must decide."""


def _in_range(value: float, info: ParameterInfo) -> bool:
    return (info.min is None or value >= info.min) and (info.max is None or value <= info.max)


def _number(
    value: Any,
    kind: type[int] | type[float],
    accepted: tuple[type, ...],
    spelling: re.Pattern[str],
    info: ParameterInfo,
) -> int | float:
    """`value` as a number of `kind` if it is plainly one (a number, or text Pydantic and
    kind() read alike) and within the option's bounds; else _Unknown, for Typer to decide."""
    if isinstance(value, accepted) and not isinstance(value, bool):
        number = kind(cast(Any, value))  # an int or float, checked just above
    elif isinstance(value, str) and spelling.fullmatch(value):
        number = kind(value)
    else:
        raise _Unknown
    if _in_range(number, info):
        return number
    raise _Unknown


def _leaf(annotation: Any, info: ParameterInfo, value: Any, ctx: Context, param: Any) -> Any:
    """The coerced value of one item, exactly as Typer gives it, or raise _Unknown."""
    if annotation is str and isinstance(value, str):
        return value
    if annotation is bool and isinstance(value, bool):
        return value
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        try:
            # Typer's own choice matching (case, token normalisation), minus the adapter.
            return coerce_cli_choice(
                value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx
            )
        except ValueError:
            raise _Unknown from None
    if annotation is int and info.clamp is not True:
        return _number(value, int, (int,), _INT, info)
    if annotation is float and info.clamp is not True:
        return _number(value, float, (int, float), _FLOAT, info)
    if annotation is Path and routes_to_path(annotation, info) and info.path_type is None:
        if not isinstance(value, str | Path) or value == "":
            raise _Unknown
        try:
            # Typer's own path checks (exists, file/dir, readable...), given a Path so that it
            # has nothing left for Pydantic to convert.
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        except BadParameter:
            raise _Unknown from None
    raise _Unknown


@dataclass(frozen=True)
class PlainRuntimeParam(_coercion.RuntimeParam):
    """Coerce plain values directly; hand anything else to the runtime Typer would build."""

    descriptor: _coercion.TypeDescriptor

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        annotation, info = self.annotation, self.parameter_info
        try:
            origin: Any = get_origin(annotation)  # typed loosely by Typer: any annotation
            if origin is list:
                (item_type,) = get_args(annotation)
                # Typer's list adapter wraps a lone value in a list; here only real lists.
                if not isinstance(value, list | tuple):
                    raise _Unknown
                return [_leaf(item_type, info, v, ctx, param) for v in value]
            return _leaf(annotation, info, value, ctx, param)
        except _Unknown:
            typer_param = _typer_build_runtime_param(self.descriptor)
            return typer_param._coerce_value(value, param=param, ctx=ctx)


def build_runtime_param(descriptor: _coercion.TypeDescriptor) -> _coercion.RuntimeParam:
    """Typer's runtime coercion for a parameter, with the plain fast path in front.

    Parameters that open files or have a custom parser keep Typer's own runtime unchanged.
    """
    if descriptor.file_annotation is not None or descriptor.parameter_info.parser is not None:
        return _typer_build_runtime_param(descriptor)
    return PlainRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=descriptor.annotation,
        descriptor=descriptor,
    )


def install() -> None:
    """Make Typer build parameters' runtime coercion with build_runtime_param (idempotent)."""
    typer.core.build_runtime_param = build_runtime_param  # type: ignore[attr-defined]
