"""Categorical draws through 65,536-entry lookup tables (one uint16 and one gather per row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from costplan import schema
from costplan.synth.calibration import TAGS, Calibration
from costplan.synth.tables import _tables_for

_SOURCE_INDEX = {c: i for i, c in enumerate(schema.CALL_SOURCES)}
_SRC_999 = _SOURCE_INDEX["999"]

_LUT_BITS = 16
_LUT_SIZE = 1 << _LUT_BITS


def _lut(probs: Sequence[float] | np.ndarray) -> np.ndarray:
    """A 65,536-entry table mapping a uniform uint16 to a category (int8).

    Categorical draws then cost one uint16 draw and one gather per row instead of a float draw
    and a binary search; probabilities are resolved to 1/65,536, far below sampling noise.
    """
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64))
    cdf /= cdf[-1]
    u = (np.arange(_LUT_SIZE) + 0.5) / _LUT_SIZE
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1).astype(np.int8)


def _u16(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniform uint16 draws (the index into a _lut table)."""
    return rng.integers(0, _LUT_SIZE, n, dtype=np.uint16)


def _draw_given(rng: np.random.Generator, table: np.ndarray, given: np.ndarray) -> np.ndarray:
    """One draw per row from the LUT row `table[given]` of a (k, 65536) table.

    Flat indexing: numpy's 2-D fancy indexing is several times slower on this hot path.
    """
    index = given.astype(np.int32) << _LUT_BITS
    index |= _u16(rng, given.size)
    draws: np.ndarray = table.ravel()[index]
    return draws


def _threshold(share: float) -> int:
    """uint16 draws below this value happen with probability `share`."""
    return round(share * _LUT_SIZE)


@dataclass(frozen=True)
class _Luts:
    """Draw tables for one calibration and year."""

    sources: np.ndarray  # (65536,)
    grades: np.ndarray  # (n_sources, 65536): grading given the call source
    boroughs: np.ndarray  # (65536,)
    opening: np.ndarray  # (65536,)
    tags: np.ndarray  # (n_codes, 65536): tag bitmask given the opening code (no UME bit)
    ume_first_sources: np.ndarray
    ume_later_sources: np.ndarray
    ume_untagged_codes: np.ndarray
    ume_boroughs: np.ndarray
    phrases: np.ndarray  # (n_codes, 65536) int32: summary phrase given the opening code
    false_positive: np.ndarray  # (65536,) int32: 0 = none, else a false-positive suffix


@lru_cache(maxsize=32)
def _luts(cal: Calibration, year: int) -> _Luts:
    """Build the draw tables for a calibration and year (cached: they are reused monthly)."""
    tables = _tables_for(cal)
    sources = cal.sources_for(year)
    s999 = sources[_SRC_999]
    overall = np.array(cal.grading_overall)
    given = np.array(cal.grading_999)
    # The non-999 mix that keeps the overall grade shares [D]; clipped at 0 where 999's share is
    # too large for the overall share to be met (2024+: 50% x I 30% > I 14%).
    other = np.clip((overall - s999 * given) / max(1.0 - s999, 1e-9), 0.0, None)
    grades = np.stack(
        [_lut(given if i == _SRC_999 else other) for i in range(len(schema.CALL_SOURCES))]
    )
    # Tags are independent Bernoullis given the code: tabulate the 2^k bitmask distribution.
    masks = np.arange(1 << len(TAGS))
    bits = (masks[:, None] >> np.arange(len(TAGS))) & 1  # (masks, tags)
    tag_rows = []
    for rates in cal.tag_by_code:
        r = np.array(rates)
        tag_rows.append(_lut(np.prod(np.where(bits == 1, r, 1.0 - r), axis=1)))
    return _Luts(
        sources=_lut(sources),
        grades=grades,
        boroughs=_lut(cal.borough_shares),
        opening=_lut(cal.opening_codes),
        tags=np.stack(tag_rows),
        ume_first_sources=_lut(cal.ume_first_sources),
        ume_later_sources=_lut(cal.ume_later_sources),
        ume_untagged_codes=_lut(cal.ume_untagged_codes),
        ume_boroughs=_lut(cal.ume_borough_weights),
        phrases=np.stack(
            [
                (start + _lut(np.ones(count))).astype(np.int32)
                for start, count in zip(tables.phrase_start, tables.phrase_count, strict=True)
            ]
        ),
        false_positive=_lut(
            [1.0 - cal.false_positive_share]
            + [cal.false_positive_share / (tables.n_fp - 1)] * (tables.n_fp - 1)
        ).astype(np.int32),
    )
