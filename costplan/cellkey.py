"""The cell key method's parts below the summary: record keys, cell keys and the rounding.

Each CAD has a fixed record key in 0..KEY_MODULUS-1, the first byte of md5(salt ||
cad_ref) (computed in SQL: queries/summary_cellkeys.sql; the salt, the rule and the sources
are in costplan/config/cellkey.toml); a cell's key is the sum of its CADs'
keys mod KEY_MODULUS, so one cell has one key in every table that publishes it. The
perturbation is unbiased random rounding to the suppression threshold, decided by the key
(`round_by_key`): see costplan/summary.py for why it survives differencing. The method
follows ONS's cell key method for Census 2021 outputs ("Protecting personal data in Census
2021 results", 2021), with rounding in place of its additive noise table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from costplan._files import config_path
from costplan._toml import Table, read_toml
from costplan.engines import Engine
from costplan.store import Snapshot

# A true count with its cell key sum (queries/summary_cellkeys.sql).
KeyedRow = tuple[dt.date, tuple[str | None, ...], int, int]

# Disclosure control methods (see the module docstring); the first is the default.
METHODS: tuple[str, ...] = ("cellkey", "suppress")
# Record keys are 0..255 (two hex digits of md5, in SQL); a cell's key is their sum mod this.
KEY_MODULUS = 256
# The record keys' salt and the method's sources (costplan/config/cellkey.toml).
CONFIG_PATH = config_path("cellkey.toml")


@cache
def key_salt(path: Path = CONFIG_PATH) -> str:
    """The record keys' salt, read strictly from the shipped configuration."""
    table = Table(read_toml(path, "cell key configuration"), str(path))
    salt = table.text("salt")
    table.done(("salt",))
    return salt


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
            salt=key_salt(),
            period=period,
            date_from=date_from,
            date_to=date_to,
            **flags,
        )
    source = snap.describe_counts(0, len(snap.select(years=years)))
    return rows, source
