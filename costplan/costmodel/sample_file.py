"""Reading a timed sample: seconds per record, one a line or in a CSV column.

A value is seconds ("65", "65.5") or a stopwatch reading, m:ss or h:mm:ss ("1:05" is 65
seconds, "0:59.5" is 59.5, "1:02:03" is 3,723). Values are kept exact (Decimal, as written),
and each is checked where its line number can be named: not negative, finite, and no more
than a working day (MAX_MINUTES_PER_RECORD, `costplan.costmodel.regimes`).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import MAX_PREC, Context, Decimal
from pathlib import Path

from costplan._files import is_stdio, read_text
from costplan.costmodel.regimes import MAX_MINUTES_PER_RECORD
from costplan.errors import InputError
from costplan.units import SIXTY

SECONDS_COLUMNS: tuple[str, ...] = ("seconds", "seconds_per_record", "secs")

# No one record takes longer than this to read (see MAX_MINUTES_PER_RECORD for why).
MAX_SECONDS_PER_RECORD = MAX_MINUTES_PER_RECORD * SIXTY
TOO_LONG_HINT = "sample values are seconds per record, e.g. 180 or 3:00 for three minutes"

_FORMAT_HINT = (
    "one time per record per line, in seconds (65.5) or as a stopwatch shows it (1:05.5, "
    "1:02:03), or a CSV with a 'seconds' column"
)
# A stopwatch reading: m:ss or h:mm:ss, seconds (and minutes after hours) 00-59, seconds may
# have a fraction. "1:5" is refused rather than guessed (1:05 or 1:50?).
_CLOCK = re.compile(r"^(?:(?P<h>\d+):(?P<hm>[0-5]\d)|(?P<m>\d+)):(?P<s>[0-5]\d(?:\.\d+)?)$")
# Adds without rounding, however many digits the seconds were written with.
_WHOLE = Context(prec=MAX_PREC)


def _number(text: str) -> Decimal | None:
    """The exact value of a plain number ("172.5", "1e2"), or None."""
    try:
        return Decimal(text.strip())
    except ArithmeticError:  # decimal.InvalidOperation
        return None


def _clock_seconds(text: str) -> Decimal | None:
    """The exact seconds of a stopwatch reading ("1:05" is 65, "0:59.5" 59.5), or None."""
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hours, minutes = int(match["h"] or 0), int(match["hm"] or match["m"])
    return _WHOLE.add(Decimal(hours * 3600 + minutes * 60), Decimal(match["s"]))


def seconds_value(text: str) -> Decimal | None:
    """Seconds from either form: a plain number of seconds, or m:ss / h:mm:ss."""
    return _clock_seconds(text) if ":" in text else _number(text)


def _parse_seconds(text: str, where: str) -> Decimal:
    value = seconds_value(text)
    if value is None and ":" in text:
        raise InputError(
            f"{where}: '{text}' is not a time",
            "write m:ss or h:mm:ss with two-digit seconds and minutes, e.g. 1:05 or 1:02:03.5",
            field="sample",
        )
    if value is None:
        raise InputError(f"{where}: '{text}' is not a number", _FORMAT_HINT, field="sample")
    if not value.is_finite():
        raise InputError(f"{where}: '{text}' is not a finite number", field="sample")
    if value < 0:
        raise InputError(f"{where}: negative time {text} seconds", field="sample")
    if value > MAX_SECONDS_PER_RECORD:
        unit = "" if ":" in text else " seconds"
        raise InputError(
            f"{where}: {text}{unit} is more than 8 hours to read one record",
            TOO_LONG_HINT,
            field="sample",
        )
    return value.copy_abs() if value.is_zero() else value


def _is_value(text: str) -> bool:
    return seconds_value(text) is not None


def parse_sample(text: str, source: str = "sample") -> list[Decimal]:
    """Parse sample text: one time per line, or CSV with a header naming `seconds`.

    A time is seconds ("65", "65.5") or a stopwatch reading, m:ss or h:mm:ss ("1:05" is
    65 seconds, "0:59.5" 59.5, "1:02:03" 3,723); either way the value is kept exact.
    Blank lines and lines starting with ``#`` are ignored.

    Args:
        text: the file's contents.
        source: its name, for error messages.

    Returns:
        Seconds per record, in file order, exactly as written.

    Raises:
        InputError: empty, non-numeric, negative or non-finite values, values over 8 hours,
            or no seconds column.
    """
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputError(f"sample file {source} has no values", _FORMAT_HINT, field="sample")
    if "," not in lines[0][1] and _is_value(lines[0][1]):
        return [_parse_seconds(line, f"{source} line {n}") for n, line in lines]

    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(c) for c in SECONDS_COLUMNS if c in header), None)
    if column is None:
        raise InputError(
            f"sample file {source} has no 'seconds' column (columns: {', '.join(rows[0])})",
            _FORMAT_HINT,
            field="sample",
        )
    values = []
    for (n, _), row in zip(lines[1:], rows[1:], strict=True):
        cell = row[column].strip() if column < len(row) else ""
        if not cell:
            raise InputError(f"{source} line {n}: empty '{header[column]}' value", field="sample")
        values.append(_parse_seconds(cell, f"{source} line {n}"))
    if not values:
        raise InputError(
            f"sample file {source} has a header but no values", _FORMAT_HINT, field="sample"
        )
    return values


def read_sample(path: Path | str) -> list[Decimal]:
    """Read a sample file (see `parse_sample`).

    Raises:
        InputError: the file is missing or unreadable, or its contents are invalid.
    """
    text = read_text(path, "sample file", encoding="utf-8-sig", field="sample")
    return parse_sample(text, "stdin" if is_stdio(path) else str(path))
