"""Deferred imports for heavy libraries.

`costplan check` must answer in well under half a second as a whole process, and importing
Polars costs a fifth of that on its own. Modules on that path name Polars through `lazy()`:
the library is imported on first use, so a command that never touches a DataFrame never pays.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """A stand-in for a module, imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def lazy(name: str) -> Any:
    """A module that is imported when first used (typed as Any; import it under TYPE_CHECKING)."""
    return LazyModule(name)
