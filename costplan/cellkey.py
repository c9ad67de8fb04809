"""The cell key method's parts below the summary: record keys, cell keys and the rounding.

Each CAD has a fixed record key in 0..KEY_MODULUS-1, the first byte of md5(KEY_SALT ||
cad_ref) (computed in SQL: queries/summary_cellkeys.sql); a cell's key is the sum of its CADs'
keys mod KEY_MODULUS, so one cell has one key in every table that publishes it. The
perturbation is unbiased random rounding to the suppression threshold, decided by the key
(`round_by_key`): see costplan/summary.py for why it survives differencing. The method
follows ONS's cell key method for Census 2021 outputs ("Protecting personal data in Census
2021 results", 2021), with rounding in place of its additive noise table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from costplan.engines import Engine
from costplan.store import Snapshot

# A true count with its cell key sum (queries/summary_cellkeys.sql).
KeyedRow = tuple[dt.date, tuple[str | None, ...], int, int]

# Disclosure control methods (see the module docstring); the first is the default.
METHODS: tuple[str, ...] = ("cellkey", "suppress")
# Record keys are 0..255; a cell's key is their sum mod KEY_MODULUS.
KEY_MODULUS = 256
# The record key's salt: fixed and published (a key is not a secret: knowing every reference
# in a cell already tells its count; the key only makes the rounding the same everywhere).
KEY_SALT = "costplan-cellkey-v1:"


BY_FLAGS: tuple[str, ...] = ("borough", "call_source", "grading", "tag")


def round_by_key(count: int, key: int, base: int) -> int:
    """`count` rounded to a multiple of `base`, up for a share (count mod base) / base of the
    cell keys 0..KEY_MODULUS-1 (unbiased: the expected published count is the true one) and
    down for the rest; a multiple of `base` is kept. The same (count, key) always rounds the
    same way: this is the perturbation table, written as its rule."""
    r = count % base
    up = key % KEY_MODULUS * base < KEY_MODULUS * r
    return count - r + (base if up else 0)


def keyed_counts(
    snap: Snapshot,
    period: str,
    by: Sequence[str],
    date_from: dt.date | None,
    date_to: dt.date | None,
    years: Sequence[int] | None,
    engine: Engine,
) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """True counts with their cell key sums, counted from the partitions in range (the volume
    table holds no record keys): the query's rows (period_start, borough, call_source, grading,
    tag, count, key_sum) and where they came from."""
    flags = {f"by_{c}": c in by for c in BY_FLAGS}
    with engine.open(snap, years=years) as session:
        rows = session.rows(
            "summary_cellkeys",
            salt=KEY_SALT,
            period=period,
            date_from=date_from,
            date_to=date_to,
            **flags,
        )
    source = {
        **snap.describe(),
        "partitions_from_table": 0,
        "partitions_counted_directly": len(snap.select(years=years)),
    }
    return rows, source
