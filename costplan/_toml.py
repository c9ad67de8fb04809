"""The one strict TOML reader: every configuration and input file is read through it.

Regimes, requests, mappings, calibration, the planner's settings and aggregation registers all
share one wording for what is wrong with a file, so a user who has seen one message can read
them all:

    FILE: 'dotted.key' is missing (HINT)
    FILE: 'dotted.key' is an unknown key (allowed: a, b, c)
    FILE: 'dotted.key' must be ... (HINT)

`Table` is a typed view over one TOML table. Each getter marks its key as known; `done()`
then rejects the first key that no getter asked for, so a misspelt key is an error rather
than a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from costplan._files import read_text
from costplan.errors import ConfigError, CostplanError


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text, naming `source` in the error.

    Raises:
        ConfigError: the text is not valid TOML.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def read_toml(path: Path, what: str = "file") -> dict[str, Any]:
    """Read and parse a TOML file.

    Raises:
        InputError: the file is missing or unreadable (a user's path to fix).
        ConfigError: the file is not valid TOML.
    """
    return parse_toml(read_text(Path(path), what), str(path))


class Table:
    """Strict typed access to one TOML table.

    Args:
        data: the table's keys and values.
        source: the file (or other source) the table came from, for messages.
        path: the table's dotted path inside the file ("" for the top level).
        error: the error type to raise (ConfigError for configuration, InputError for a
            user's request or register).
        reference: where the allowed keys are documented, for the unknown-key hint.
    """

    def __init__(
        self,
        data: Mapping[str, Any],
        source: str,
        path: str = "",
        *,
        error: type[CostplanError] = ConfigError,
        reference: str | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.path = path
        self.error = error
        self.reference = reference
        self.seen: set[str] = set()

    # -- messages ------------------------------------------------------------------------------
    def where(self, key: str) -> str:
        """The dotted path of `key`."""
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, what: str, hint: str | None = None) -> CostplanError:
        """An error naming the source and the dotted key: "FILE: 'a.b' WHAT (HINT)"."""
        return self.error(f"{self.source}: '{self.where(key)}' {what}", hint)

    # -- presence ------------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        """True if the table has `key` (does not mark it as known)."""
        return key in self.data

    def raw(self, key: str, hint: str | None = None) -> Any:
        """The value of a required key, marked as known."""
        if key not in self.data:
            raise self.fail(key, "is missing", hint or self._reference_hint())
        self.seen.add(key)
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of an optional key (marked as known), or `default`."""
        self.seen.add(key)
        return self.data.get(key, default)

    def allow(self, *keys: str) -> None:
        """Mark keys as known without reading them (read elsewhere, or ignored on purpose)."""
        self.seen.update(keys)

    def done(self, allowed: Iterable[str] | None = None) -> None:
        """Reject the first key that no getter asked for.

        Args:
            allowed: the full list of keys to name in the hint (default: those read).
        """
        for key in self.data:
            if key not in self.seen:
                names = sorted(set(allowed) if allowed is not None else self.seen)
                hint = f"allowed: {', '.join(names)}" if names else self._reference_hint()
                raise self.fail(key, "is an unknown key", hint)

    def _reference_hint(self) -> str | None:
        return f"see {self.reference}" if self.reference else None

    # -- typed getters ---------------------------------------------------------------------------
    def _check(self, key: str, value: Any, ok: bool, what: str, hint: str | None = None) -> Any:
        if not ok:
            raise self.fail(key, f"must be {what}, not {value!r}", hint)
        return value

    def number(
        self, key: str, lo: float | None = 0.0, hi: float | None = None, *, default: Any = ...
    ) -> float:
        """A finite number in [lo, hi] (an int or float in the TOML)."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        is_num = isinstance(value, int | float) and not isinstance(value, bool)
        self._check(key, value, is_num and math.isfinite(value), "a number")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(key, f"must be in [{lo}, {hi if hi is not None else 'inf'}]")
        return float(value)

    def share(self, key: str) -> float:
        """A number in [0, 1]."""
        return self.number(key, 0.0, 1.0)

    def integer(self, key: str, lo: int, hi: int, *, default: Any = ...) -> int:
        """An integer in [lo, hi]."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        return self._check(key, value, ok, f"an integer in [{lo}, {hi}]")  # type: ignore[no-any-return]

    def boolean(self, key: str, *, default: Any = ...) -> bool:
        """A TOML boolean."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        return self._check(key, value, isinstance(value, bool), "true or false")  # type: ignore[no-any-return]

    def text(self, key: str, *, default: Any = ...) -> str:
        """A non-empty string."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        ok = isinstance(value, str) and bool(value.strip())
        return self._check(key, value, ok, "a non-empty string")  # type: ignore[no-any-return]

    def string(self, key: str, *, default: Any = ...) -> str:
        """Any non-empty string: unlike `text`, whitespace counts (a tab delimiter, a space)."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        ok = isinstance(value, str) and value != ""
        return self._check(key, value, ok, "a non-empty string")  # type: ignore[no-any-return]

    def choice(self, key: str, choices: Sequence[str], *, default: Any = ...) -> str:
        """One of `choices`."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        ok = isinstance(value, str) and value in choices
        return self._check(key, value, ok, f"one of {', '.join(choices)}")  # type: ignore[no-any-return]

    def date(self, key: str) -> dt.date:
        """A TOML local date (not a date-time)."""
        value = self.raw(key)
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        return self._check(key, value, ok, "a TOML date like 2020-06-25")  # type: ignore[no-any-return]

    def array(self, key: str, *, default: Any = ...) -> list[Any]:
        """A TOML array."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.raw(key)
        return self._check(key, value, isinstance(value, list), "an array")  # type: ignore[no-any-return]

    def strings(self, key: str, *, default: Any = ...) -> list[str]:
        """An array of strings."""
        if default is not ... and key not in self.data:
            self.seen.add(key)
            return default  # type: ignore[no-any-return]
        value = self.array(key)
        ok = all(isinstance(v, str) for v in value)
        return self._check(key, value, ok, "an array of strings")  # type: ignore[no-any-return]

    def sub(self, key: str) -> Table:
        """A required sub-table."""
        value = self.raw(key)
        self._check(key, value, isinstance(value, dict), "a table")
        return self._child(value, self.where(key))

    def optional_sub(self, key: str) -> Table | None:
        """An optional sub-table (None when absent)."""
        if key not in self.data:
            self.seen.add(key)
            return None
        return self.sub(key)

    def tables(self, key: str) -> list[Table]:
        """An optional array of tables ([[key]])."""
        if key not in self.data:
            self.seen.add(key)
            return []
        value = self.raw(key)
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        self._check(key, value, ok, "an array of tables ([[...]])")
        return [self._child(v, f"{self.where(key)}[{i}]") for i, v in enumerate(value)]

    def numbers(self, key: str, allowed: Sequence[str] | None = None) -> dict[str, float]:
        """A table of name -> non-negative number; names must be in `allowed` if given."""
        table = self.sub(key)
        out: dict[str, float] = {}
        for name in table.data:
            if allowed is not None and name not in allowed:
                raise table.fail(name, "is an unknown key", f"allowed: {', '.join(allowed)}")
            out[name] = table.number(name)
        return out

    def shares(self, key: str, names: Sequence[str]) -> tuple[float, ...]:
        """A share table over `names` (missing names = 0) that sums to 1 (within 0.001)."""
        values = self.numbers(key, names)
        total = sum(values.values())
        if abs(total - 1.0) > 1e-3:
            raise self.fail(key, f"shares sum to {total:.4f}, not 1")
        return tuple(values.get(n, 0.0) / total for n in names)

    def _child(self, data: Mapping[str, Any], path: str) -> Table:
        return Table(data, self.source, path, error=self.error, reference=self.reference)
