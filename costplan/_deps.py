"""Heavy and optional dependencies, declared once.

`costplan check` must answer in well under half a second as a whole process, and importing
Polars costs a fifth of that on its own. Modules on that path name Polars (or DuckDB) through
`lazy()`: the library is imported on first use, so a command that never touches a DataFrame
never pays.

Optional extras (html, xlsx, spark) are imported through `optional()`, which turns a missing
package into one error naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from costplan.errors import EngineUnavailableError

# What each optional import needs: module -> (extra, what it is for).
EXTRAS: dict[str, tuple[str, str]] = {
    "matplotlib": ("html", "charts in HTML summaries"),
    "xlsxwriter": ("xlsx", "writing .xlsx files"),
    "pyspark": ("spark", "the Spark engine"),
    "sqlglot": ("spark", "the Spark engine"),
    "starlette": ("web", "the web page"),
    "jinja2": ("web", "the web page"),
    "python_multipart": ("web", "the web page"),
    "uvicorn": ("web", "the web page"),
}


class LazyModule:
    """A stand-in for a module, imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def lazy(name: str) -> Any:
    """A module that is imported when first used (typed as Any; import it under TYPE_CHECKING)."""
    return LazyModule(name)


def optional(name: str) -> ModuleType:
    """Import an optional dependency, or fail with the extra that provides it.

    Raises:
        EngineUnavailableError: the package is not installed.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        top = name.split(".")[0]
        extra, purpose = EXTRAS.get(top, (top, top))
        raise EngineUnavailableError(
            f"{purpose} needs the {top} package, which is not installed",
            f"pip install 'costplan[{extra}]'",
        ) from None


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Any, Any]:
    """`__getattr__` and `__dir__` for a package face that imports its modules on first use.

    A face re-exports names from its modules so callers need not know the layout; importing
    every module up front would make `check` pay for the planner's advice code and the volume
    table's refresh path. Returns (getattr, dir) to assign in the package's `__init__`.

    Args:
        package: the package's name (`__name__`).
        exports: public name -> the module (relative to the package) that defines it.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(importlib.import_module(package), name, value)  # later look-ups skip this
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
