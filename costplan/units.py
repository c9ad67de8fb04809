"""Numbers for the cost model: exact parsing, rounding and display of hours and money.

Arithmetic stays in `decimal.Decimal` from input to output so that 3,715 × 3 minutes is
185.75 hours exactly and £450 / £25 is 18 hours exactly; rounding happens only here, for
display (hours and money to 2 decimal places, half-up as people round by hand). The few words
numbers are shown with live here too (plural, lists), so every layer words them alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from costplan.errors import InputError

Number = int | float | str | Decimal

TWO_DP = Decimal("0.01")
SIXTY = Decimal(60)

CURRENCY_SYMBOLS: dict[str, str] = {"GBP": "£", "EUR": "€", "USD": "$"}

# The largest number any input may be: 10^15 (a thousand million million). No record count,
# minutes, money or day count in a request comes near it, so a larger value is a typo or a
# probe ("1e400"); rejecting it at the door keeps the products of inputs within the range the
# arithmetic and the display are written for.
MAX_INPUT = Decimal(10) ** 15

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def to_decimal(value: Number, what: str, *, field: str | None = None) -> Decimal:
    """Convert a user or config value to a finite, non-negative Decimal.

    Floats go through `str` so 2.8 stays 2.8 rather than its binary approximation.

    Args:
        value: the number, or its text.
        what: what the value is, for the error message (e.g. "minutes per record").
        field: the input field it came from (see CostplanError.field).

    Returns:
        The value as a Decimal.

    Raises:
        InputError: the value is not a number, is not finite, is negative, or is larger than
            `MAX_INPUT`.
    """
    if isinstance(value, bool):  # bool is an int subclass; True records is a bug, not 1
        raise InputError(f"{what} must be a number, got {value!r}", field=field)
    text = str(value).strip()
    # Accept "1,144" but not "1,5": a decimal comma must not silently become 15.
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = Decimal(text) if text else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InputError(f"{what} must be a number, got {value!r}", "e.g. 3 or 2.5", field=field)
    if number < 0:
        raise InputError(f"{what} must not be negative, got {value}", field=field)
    if number > MAX_INPUT:
        raise InputError(
            f"{what} is too large, got {_shown(text)}", f"at most {MAX_INPUT:,}", field=field
        )
    # Normalise -0 to 0 without arithmetic: `number + 0` would also round to the context's 28
    # digits, and an exact value (a sample's mean is held to more) must stay exact.
    return number.copy_abs() if number.is_zero() else number


def _shown(text: str, limit: int = 40) -> str:
    """Text for an error message, shortened when a value is absurdly long."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def parse_count(value: Number, what: str, *, field: str | None = None) -> int:
    """Parse a whole, non-negative count such as a number of records.

    Args:
        value: the count, or its text ("1,144" is accepted).
        what: what the value is, for the error message.

    Returns:
        The count as an int.

    Raises:
        InputError: the value is not a whole number or is negative.
    """
    number = to_decimal(value, what, field=field)
    if number != number.to_integral_value():
        raise InputError(f"{what} must be a whole number, got {value}", field=field)
    return int(number)


def _quantize(value: Decimal, quantum: Decimal) -> Decimal:
    """`value` rounded half up to `quantum`, however many digits that takes.

    `Decimal.quantize` raises InvalidOperation when the result needs more digits than the
    context holds (28), e.g. 10^30 to 2 places; display must never fail on a finite number.
    """
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, value.adjusted() - quantum.adjusted() + 2)
        return value.quantize(quantum, rounding=ROUND_HALF_UP)


def round_to(value: Decimal, places: int) -> Decimal:
    """Round to `places` decimal places, half up (display only)."""
    return _quantize(value, Decimal(1).scaleb(-places))


def round2(value: Decimal) -> Decimal:
    """Round to 2 decimal places, half up (display only)."""
    return _quantize(value, TWO_DP)


def minutes_to_hours(minutes: Decimal) -> Decimal:
    """Exact hours for a number of minutes (Decimal division keeps 28 significant digits)."""
    return minutes / SIXTY


def fmt_number(value: Decimal | int, max_dp: int = 2) -> str:
    """Format for prose: thousands separators, at most `max_dp` places, no trailing zeros.

    Examples: 1144 -> "1,144"; 57.20 -> "57.2"; 930.1666 -> "930.17".
    """
    quantum = Decimal(1).scaleb(-max_dp)
    rounded = _quantize(Decimal(value), quantum)
    text = f"{rounded:,.{max_dp}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt_money(value: Decimal, currency: str) -> str:
    """Format money: "£450", "£1,430", "£11.25" (pence shown only when there are some)."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    rounded = round2(value)
    text = f"{rounded:,.0f}" if rounded == rounded.to_integral_value() else f"{rounded:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def is_exact_at(value: Decimal, max_dp: int = 2) -> bool:
    """True when `value` needs no rounding to show it with `max_dp` places."""
    return value == _quantize(value, Decimal(1).scaleb(-max_dp))


def and_list(names: Sequence[str], word: str = "and") -> str:
    """A, B and C (how every report, letter and message lists things)."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def or_list(names: Sequence[str]) -> str:
    return and_list(names, "or")


def plural(count: Decimal | int, word: str, max_dp: int = 2) -> str:
    """`fmt_number(count, max_dp)` followed by `word`, with an "s" unless the count is exactly 1."""
    return f"{fmt_number(count, max_dp)} {word}{'' if Decimal(count) == 1 else 's'}"
