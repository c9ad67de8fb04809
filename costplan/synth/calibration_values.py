"""Readers for the shaped values in calibration.toml (boroughs, years, weekdays, hours, months).

Each takes a `costplan._toml.Table` and a key, and returns the value as the generator uses it
(vectors in schema.BOROUGH_NAMES or WEEKDAYS order) or raises the table's error naming the
file and the dotted key. Kept apart so calibration.py holds the dataclasses and the assembly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from costplan import schema
from costplan._toml import Table

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS: tuple[str, ...] = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip


def _borough_name(table: Table, key: str, text: str | None = None) -> str:
    """Canonical borough name for `text` (default: the key itself), or a ConfigError."""
    text = key if text is None else text
    name = schema.canonical_borough(text)
    if name is None:
        hint = ", ".join(schema.suggest_boroughs(text)) or "use a London borough name"
        what = "is not a London borough" if text == key else f"{text!r} is not a London borough"
        raise table.fail(key, what, f"did you mean: {hint}")
    return name


def _borough_vector(table: Table, default: float = 0.0) -> tuple[float, ...]:
    """A per-borough number table (keys: names or aliases) as a vector in BOROUGH_NAMES order."""
    values = dict.fromkeys(schema.BOROUGH_NAMES, default)
    given: set[str] = set()
    for key in table.data:
        name = _borough_name(table, key)
        if name in given:
            raise table.fail(key, f"gives {name} a second time")
        given.add(name)
        values[name] = table.number(key)
    return tuple(values[n] for n in schema.BOROUGH_NAMES)


def _normalised_mean(values: Sequence[float]) -> tuple[float, ...]:
    """Scale `values` to mean 1 (so multipliers keep the annual mean)."""
    mean = sum(values) / len(values)
    return tuple(v / mean for v in values)


def _borough_shares(t: Table) -> tuple[float, ...]:
    """Population x area uplift x borough uplift, then pinned shares (calibration.md §7.1)."""
    uplift_inner = t.number("inner_uplift")
    inner = {_borough_name(t, "inner", str(b)) for b in t.array("inner")}
    pop_table = t.sub("population")
    population = _borough_vector(pop_table)
    pop_table.done()
    missing = [n for n, p in zip(schema.BOROUGH_NAMES, population, strict=True) if p <= 0]
    if missing:
        raise t.fail("population", f"has no positive population for {missing[0]}")
    up_table = t.sub("uplift")
    uplift = _borough_vector(up_table, default=1.0)
    pin_table = t.sub("pinned_shares")
    pinned = {_borough_name(pin_table, k): pin_table.share(k) for k in pin_table.data}
    index = np.array(
        [
            p * (uplift_inner if n in inner else 1.0) * u
            for n, p, u in zip(schema.BOROUGH_NAMES, population, uplift, strict=True)
        ]
    )
    free = np.array([n not in pinned for n in schema.BOROUGH_NAMES])
    rest = 1.0 - sum(pinned.values())
    if rest <= 0 or not free.any():
        raise t.fail("pinned_shares", "must leave a positive share to the other boroughs")
    shares = np.where(free, index / index[free].sum() * rest, 0.0)
    for name, share in pinned.items():
        shares[schema.BOROUGH_NAMES.index(name)] = share
    return tuple(float(s) for s in shares)


def _daily_by_year(t: Table) -> tuple[tuple[int, float], ...]:
    """The (year, CADs per day) anchors, sorted by year."""
    table = t.sub("daily_by_year")
    out = []
    for key in table.data:
        if not key.isdigit() or not 1990 <= int(key) <= 2100:
            raise table.fail(key, "must be a year like 2020")
        out.append((int(key), table.number(key, 1.0)))
    if not out:
        raise t.fail("daily_by_year", "needs at least one year")
    return tuple(sorted(out))


def _weekday_table(t: Table, key: str) -> tuple[float, ...]:
    """A mon..sun table of multipliers, normalised to mean 1."""
    table = t.sub(key)
    values = tuple(table.number(d) for d in WEEKDAYS)
    table.done()
    if sum(values) <= 0:
        raise t.fail(key, "must have a positive weekday")
    return _normalised_mean(values)


def _hours(t: Table, key: str) -> tuple[int, ...]:
    """A list of wall-clock hours 0..23."""
    values = t.array(key)
    if not all(isinstance(h, int) and not isinstance(h, bool) and 0 <= h <= 23 for h in values):
        raise t.fail(key, "must be a list of hours 0..23")
    return tuple(values)


def _weekdays(t: Table, key: str) -> frozenset[int]:
    """A list of weekday names as weekday numbers (Monday = 0)."""
    values = t.array(key)
    bad = [v for v in values if v not in WEEKDAYS]
    if bad:
        raise t.fail(key, f"has unknown weekday {bad[0]!r}", f"use {', '.join(WEEKDAYS)}")
    return frozenset(WEEKDAYS.index(v) for v in values)


def _months_list(t: Table, key: str) -> list[int]:
    """A list of months 1..12."""
    values = t.array(key)
    if not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in values):
        raise t.fail(key, "must be a list of months 1..12")
    return values
