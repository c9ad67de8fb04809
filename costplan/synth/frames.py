"""Frames: month arrays as RECORD_SCHEMA Polars frames, and the public `generate` / `ume_truth`.

Each month's frame is built from its arrays by gathers from small string tables, so no Python
code runs per row; the next month is drawn on a worker thread while this one is consumed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pyarrow as pa

from costplan import schema
from costplan.errors import InputError
from costplan.synth.calibration import Calibration, load_calibration
from costplan.synth.month import _generate_month, _Month
from costplan.synth.tables import _serials_as_text, _tables_for

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _day_suffixes(days: list[dt.date]) -> pl.Series:
    """The canonical "/DDMONYY" part of each day's cad_refs (format_cad_ref minus the serial)."""
    return pl.Series([schema.format_cad_ref(1, d)[1:] for d in days], dtype=pl.String)


def _frame(m: _Month, rows: np.ndarray | slice, cal: Calibration, truth: bool) -> pl.DataFrame:
    """Build the RECORD_SCHEMA frame for the selected rows of a month."""
    tables = _tables_for(cal)
    suffix = _day_suffixes(m.days)
    day = m.day[rows]
    cad_ref = _serials_as_text(m.serial[rows]) + suffix.gather(day)

    head = m.head[rows]
    has = head >= 0
    target = head[has]
    refs = _serials_as_text(m.serial[target]) + suffix.gather(m.day[target])
    offsets = np.zeros(head.size + 1, dtype=np.int32)
    np.cumsum(has, out=offsets[1:])
    # A List column straight from offsets + values (no per-row Python).
    linked = pl.from_arrow(pa.ListArray.from_arrays(pa.array(offsets), refs.to_arrow()))
    assert isinstance(linked, pl.Series)

    ordinals = np.array([d.toordinal() - _EPOCH_ORDINAL for d in m.days], dtype=np.int32)
    # The values, column by column; their types come from the record's one definition
    # (schema.RECORD): microseconds since the epoch become UTC instants, day ordinals dates.
    columns = [
        cad_ref.alias("cad_ref"),
        pl.Series("created_at", m.t[rows]),
        pl.Series("day", ordinals[day]),
        tables.sources.gather(m.source[rows]).alias("call_source"),
        tables.grades.gather(m.grade[rows]).alias("grading"),
        tables.codes.gather(m.opening[rows]).alias("opening_code"),
        tables.codes.gather(m.closing[rows]).alias("closing_code"),
        tables.tag_lists.gather(m.tags[rows].astype(np.int64)).alias("tags"),
        linked.alias("linked_to"),
        tables.summaries.gather(m.summary[rows]).alias("summary"),
        tables.boroughs.gather(m.borough[rows]).alias("borough"),
        pl.Series("year", np.full(day.size, m.days[0].year, dtype=np.int16)),
    ]
    frame = pl.DataFrame(columns).cast(schema.RECORD_SCHEMA)
    if truth:
        event = m.event[rows]
        labels = pl.Series([*m.event_labels, None], dtype=pl.String)
        none = len(m.event_labels)  # index of the trailing null label
        frame = frame.with_columns(
            labels.gather(np.where(event >= 0, event, none)).alias("ume_event")
        )
    return frame


def _resolve_boroughs(boroughs: Sequence[str] | None) -> list[str] | None:
    """Canonical names for a borough filter (aliases accepted), or an InputError."""
    if boroughs is None:
        return None
    if isinstance(boroughs, str):
        boroughs = [boroughs]
    if not boroughs:
        raise InputError("no boroughs given", "omit the borough filter to generate all of London")
    names: list[str] = []
    for text in boroughs:
        name = schema.canonical_borough(text)
        if name is None:
            if schema.is_city_of_london(text):
                raise InputError(
                    f"'{text}' is policed by the City of London Police, not the MPS",
                    "choose one of the 32 London boroughs",
                )
            hint = ", ".join(schema.suggest_boroughs(text))
            raise InputError(
                f"unknown borough '{text}'",
                f"did you mean: {hint}" if hint else "use one of the 32 London borough names",
            )
        if name not in names:
            names.append(name)
    return names


def _as_date(value: dt.date, what: str) -> dt.date:
    """A date argument (a datetime is cut to its date), or an InputError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if not isinstance(value, dt.date):
        raise InputError(f"{what} must be a date, not {value!r}")
    return value


def _generate(
    start: dt.date,
    end: dt.date,
    seed: int,
    boroughs: Sequence[str] | None,
    calibration: Calibration | None,
    truth: bool,
) -> Iterator[pl.DataFrame]:
    """Validate the arguments now (not at the first next()), then iterate over months."""
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if end < start:
        raise InputError(f"end {end} is before start {start}", "swap the two dates")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, not {seed!r}")
    names = _resolve_boroughs(boroughs)
    cal = calibration if calibration is not None else load_calibration()
    wanted = None if names is None else np.array([n in names for n in schema.BOROUGH_NAMES])
    return _months(start, end, int(seed), wanted, cal, truth)


def _months(
    start: dt.date,
    end: dt.date,
    seed: int,
    wanted: np.ndarray | None,
    cal: Calibration,
    truth: bool,
) -> Iterator[pl.DataFrame]:
    """Yield the frame of each calendar month in start..end (see generate()).

    The next month's arrays are drawn on a worker thread (numpy releases the GIL) while this
    month's frame is built and consumed: about 1.4x the throughput on 2 cores. Months are
    independent streams, so this changes no value. Closing the iterator early waits for at most
    the one month in flight.
    """
    keys = [(y, m) for y in range(start.year, end.year + 1) for m in range(1, 13)]
    keys = [k for k in keys if (start.year, start.month) <= k <= (end.year, end.month)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="costplan-synth") as pool:
        pending = pool.submit(_generate_month, seed, *keys[0], cal)
        for i in range(len(keys)):
            m = pending.result()
            if i + 1 < len(keys):
                pending = pool.submit(_generate_month, seed, *keys[i + 1], cal)
            # Rows are in time order, so a day range is a contiguous slice.
            lo = max((start - m.days[0]).days, 0)
            hi = min((end - m.days[0]).days + 1, len(m.days))
            a, b = np.searchsorted(m.day, [lo, hi], side="left")
            rows: np.ndarray | slice = slice(int(a), int(b))
            if wanted is not None:
                rows = int(a) + np.flatnonzero(wanted[m.borough[a:b]])
            frame = _frame(m, rows, cal, truth)
            del m  # keep at most two months alive
            if frame.height:
                yield frame


def generate(
    start: dt.date,
    end: dt.date,
    *,
    seed: int = 2020,
    boroughs: Sequence[str] | None = None,
    calibration: Calibration | None = None,
) -> Iterator[pl.DataFrame]:
    """Generate the synthetic CAD archive for London days start..end (inclusive).

    Yields one frame per calendar month (months with no selected rows are skipped), each with
    exactly the columns and dtypes of schema.RECORD_SCHEMA, rows sorted by created_at. The
    output is a pure function of the seed, the calibration and the month: every month is drawn
    whole for all boroughs, then cut to the requested days and boroughs, so neither the range
    nor the borough filter changes any row or cad_ref serial.

    Args:
        start: first London day.
        end: last London day (inclusive).
        seed: random seed (non-negative integer).
        boroughs: keep only these boroughs (canonical names or aliases); None for all.
        calibration: the calibration; None loads costplan/config/calibration.toml.

    Yields:
        Polars DataFrames, one per month.

    Raises:
        InputError: end before start, a bad seed, or an unknown borough.
        ConfigError: the default calibration file is invalid.
    """
    return _generate(start, end, seed, boroughs, calibration, truth=False)


def ume_truth(
    start: dt.date,
    end: dt.date,
    *,
    seed: int = 2020,
    boroughs: Sequence[str] | None = None,
    calibration: Calibration | None = None,
) -> pl.DataFrame:
    """The ground truth of UME CADs in the archive that generate() would produce.

    Useful to measure how well a search plan (tags, codes, keywords, links) finds UME CADs,
    including the untagged and unlinked ones.

    Args:
        start: first London day.
        end: last London day (inclusive).
        seed: random seed, as for generate().
        boroughs: borough filter, as for generate().
        calibration: the calibration, as for generate().

    Returns:
        A frame of every UME CAD (all RECORD_SCHEMA columns plus `ume_event`: the event label,
        "UME-<yyyymmdd>-<n>" with the London day the event was drawn for (a night event's CADs
        may fall after midnight), or a planted event's name such as "brixton").
    """
    frames = [
        f.filter(pl.col("ume_event").is_not_null())
        for f in _generate(start, end, seed, boroughs, calibration, truth=True)
    ]
    if not frames:
        return pl.DataFrame(schema={**schema.RECORD_SCHEMA, "ume_event": pl.String()})
    return pl.concat(frames)
