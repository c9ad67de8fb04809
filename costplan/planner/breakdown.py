"""An item's breakdown: the records in its scope by borough, local day and hour of the clock.

The s.16 advice lays the breakdown out as prefix sums (planner/slices.py), and a year of
every borough is 280 k rows, so the rows are held as columns and never as objects. A column
is a tuple, or a NumPy array when the engine fetched that many rows as arrays
(`QueryEngine.columns`): the advice then reads it without a Python value per row. A plan of a
few days never loads NumPy (its import costs about 57 ms, a quarter of such a plan), so
nothing here imports it: a column can only be an array once NumPy is loaded.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload


class BreakdownRow(NamedTuple):
    """Records in an item's scope for one borough, day and hour of the clock.

    `day` is the day of the item's window the records belong to: for an overnight window,
    the CADs of 01:00 on 6 November belong to the night of 5 November.
    """

    borough: str
    day: dt.date
    hour: int
    records: int
    relevant: int  # of which tagged or matching a keyword/code


def is_array(values: object) -> bool:
    """Whether `values` is a NumPy array (it cannot be one unless NumPy is loaded)."""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(values, np.ndarray)


def plain(values: Sequence[Any]) -> Sequence[Any]:
    """A column's values as Python values (dates as datetime.date, integers as int)."""
    return values.tolist() if is_array(values) else values  # type: ignore[attr-defined]


def total(values: Sequence[int]) -> int:
    """The sum of a column, as a Python int."""
    return int(values.sum()) if is_array(values) else sum(values)  # type: ignore[attr-defined]


def any_set(values: Sequence[Any]) -> bool:
    """Whether any value of a column is true (non-zero)."""
    return bool(values.any()) if is_array(values) else any(values)  # type: ignore[attr-defined]


def _column(values: Sequence[Any]) -> Sequence[Any]:
    return values if is_array(values) else tuple(values)


class Breakdown(Sequence[BreakdownRow]):
    """An item's breakdown rows as columns: a sequence of BreakdownRow made on demand.

    The advice reads the columns (`borough`, `day`, `hour`, `records`, `relevant`, of equal
    length: tuples, or NumPy arrays of object, datetime64[D] and integer dtype) without a
    Python object per row. Equal to another breakdown, or to a sequence of rows, with the same
    rows in the same order, whichever way its columns are held.
    """

    __slots__ = ("borough", "day", "hour", "records", "relevant")

    def __init__(
        self,
        borough: Sequence[str],
        day: Sequence[dt.date],
        hour: Sequence[int],
        records: Sequence[int],
        relevant: Sequence[int],
    ) -> None:
        self.borough = _column(borough)
        self.day = _column(day)
        self.hour = _column(hour)
        self.records = _column(records)
        self.relevant = _column(relevant)
        if not len(self.borough) == len(self.day) == len(self.hour) == len(self.records):
            raise ValueError("breakdown columns of different lengths")
        if len(self.relevant) != len(self.records):
            raise ValueError("breakdown columns of different lengths")

    @classmethod
    def of(cls, rows: Iterable[BreakdownRow]) -> Breakdown:
        """The breakdown of these rows."""
        cols = tuple(zip(*rows, strict=True))
        return cls(*cols) if cols else cls((), (), (), (), ())

    def _columns(self) -> tuple[Sequence[Any], ...]:
        return tuple(plain(getattr(self, c)) for c in self.__slots__)

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, i: int) -> BreakdownRow: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[BreakdownRow, ...]: ...

    def __getitem__(self, i: int | slice) -> BreakdownRow | tuple[BreakdownRow, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        if not -len(self) <= i < len(self):
            raise IndexError("breakdown row out of range")
        j = slice(i, i + 1 if i != -1 else None)
        return BreakdownRow._make(plain(getattr(self, c)[j])[0] for c in self.__slots__)

    def __iter__(self) -> Iterator[BreakdownRow]:
        return map(BreakdownRow._make, zip(*self._columns(), strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Breakdown):
            mine, theirs = self._columns(), other._columns()
            return all(tuple(a) == tuple(b) for a, b in zip(mine, theirs, strict=True))
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Breakdown(<{len(self)} rows>)"
