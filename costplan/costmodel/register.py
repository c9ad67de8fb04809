"""The aggregation register: the requests `costplan aggregate` groups under reg. 5.

Read strictly, naming the file and the line (CSV) or the dotted key (TOML), because a missed
column or a misspelt key would silently change which requests are added together.

Register format (CSV with a header row, or TOML with ``[[request]]`` tables):
    id (or request_id), requester, received (YYYY-MM-DD), topic, campaign (optional), and
    either ``hours`` (estimated countable hours) or ``activities`` (``NAME=RECORDS:MINUTES``
    items separated by ``;`` in CSV, a list of such strings in TOML), costed under the regime.

Two optional columns (keys) say where a request stands, because whether it may be aggregated
with a later request depends on whether it was still being dealt with when that one arrived
(see `costplan.costmodel.aggregate`):
    status      one of `STATUSES` (case-insensitive; empty = not given):
                    open       not yet answered (the default without an answered date);
                    answered   the response was sent (the default with an answered date);
                    refused    a refusal notice was sent;
                    withdrawn  the requester withdrew it: it is not decided, and its cost is
                               never added to another request's.
    answered    YYYY-MM-DD: the day the response or refusal notice was sent; only with status
                answered or refused (or none), and not before the date of receipt.
An answered or refused request without an answered date is taken to have been dealt with by
its s.10 due date.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from costplan._files import is_stdio, read_text
from costplan._toml import Table, parse_toml
from costplan.costmodel.estimate import estimate, parse_activity_spec
from costplan.costmodel.regimes import Regime
from costplan.costmodel.workdays import MAX_YEAR, MIN_YEAR, parse_date
from costplan.errors import ConfigError, InputError
from costplan.units import SIXTY, to_decimal

_ID_COLUMNS = ("id", "request_id")
_REQUIRED = ("requester", "received", "topic")
_TOML_KEYS = (
    set(_ID_COLUMNS)
    | set(_REQUIRED)
    | {
        "campaign",
        "hours",
        "activities",
        "status",
        "answered",
    }
)

OPEN, ANSWERED, REFUSED, WITHDRAWN = "open", "answered", "refused", "withdrawn"
STATUSES = (OPEN, ANSWERED, REFUSED, WITHDRAWN)


@dataclass(frozen=True)
class RegisterEntry:
    """One request from the register.

    Attributes:
        request_id: the authority's reference.
        requester: requester text (personal data: never shown; see `pseudonyms`).
        campaign: campaign id, or None.
        received: date of receipt.
        topic: topic key (lower-cased), the user's judgement of "same or similar".
        minutes: countable minutes for this request under the regime.
        status: one of `STATUSES`.
        answered: the day the response (or refusal notice) was sent, or None if not recorded.
    """

    request_id: str
    requester: str
    campaign: str | None
    received: dt.date
    topic: str
    minutes: Decimal
    status: str = OPEN
    answered: dt.date | None = None

    @property
    def hours(self) -> Decimal:
        """Countable hours (exact)."""
        return self.minutes / SIXTY


def _check_columns(columns: Iterable[str], source: str) -> None:
    """The CSV header names every required column (checked once, not per row)."""
    present = set(columns)
    id_key = next((c for c in _ID_COLUMNS if c in present), None)
    if id_key is None:
        raise InputError(f"{source}: missing column 'id'", "or name it 'request_id'")
    for column in _REQUIRED:
        if column not in present:
            raise InputError(f"{source}: missing column '{column}'")
    if "hours" not in present and "activities" not in present:
        raise InputError(f"{source}: missing column 'hours'", "or give an 'activities' column")


def _read_csv(text: str, source: str, regime: Regime) -> list[RegisterEntry]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise InputError(f"register {source} is empty")
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    _check_columns(reader.fieldnames, source)
    seen: set[str] = set()
    # A CSV row is read as a table of its own, so both formats share one reader and one
    # wording; extra columns are allowed (exports carry notes), unlike unknown TOML keys.
    return [
        _entry(Table(row, f"{source} line {reader.line_num}", error=InputError), regime, seen)
        for row in reader
    ]


def _entry(t: Table, regime: Regime, seen: set[str], *, strict: bool = False) -> RegisterEntry:
    """One request (a [[request]] table or a CSV row): with `strict`, unknown keys first;
    then missing ones, then the values."""
    if strict:
        t.allow(*_TOML_KEYS)
        t.done(_TOML_KEYS)
    id_key = next((k for k in _ID_COLUMNS if t.has(k)), None)
    if id_key is None:
        raise t.fail("id", "is missing", "or name it 'request_id'")
    for key in _REQUIRED:
        t.raw(key)
    if not t.has("hours") and not t.has("activities"):
        raise t.fail("hours", "is missing", "or give 'activities'")

    def text(key: str) -> str:
        value = t.raw(key)
        if value is None or str(value).strip() == "":
            raise t.fail(key, f"must not be empty, not {value!r}")
        return str(value).strip()

    def date(key: str) -> dt.date:
        value = t.get(key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(text(key), key)
        except InputError:
            raise t.fail(
                key, f"must be a date in {MIN_YEAR}–{MAX_YEAR}, not {value!r}", "use YYYY-MM-DD"
            ) from None

    request_id = text(id_key)
    if request_id in seen:
        raise t.fail(id_key, f"must be a unique request id, not {request_id!r} again")
    seen.add(request_id)
    received = date("received")

    hours_raw, acts_raw = t.get("hours"), t.get("activities")
    has_hours = hours_raw is not None and str(hours_raw).strip() != ""
    has_acts = acts_raw is not None and acts_raw not in ("", [])
    exactly_one = "give either 'hours' or 'activities', exactly one"
    if has_hours and has_acts:
        raise t.fail("activities", "cannot be given with 'hours'", exactly_one)
    if not has_hours and not has_acts:
        key, value = ("hours", hours_raw) if t.has("hours") else ("activities", acts_raw)
        raise t.fail(key, f"must not be empty, not {value!r}", exactly_one)
    if has_hours:
        try:
            minutes = to_decimal(hours_raw, "hours") * SIXTY
        except InputError as exc:
            raise t.fail(
                "hours", f"must be a number of hours, zero or more, not {hours_raw!r}", exc.hint
            ) from None
    else:
        if isinstance(acts_raw, str):
            specs = [s for s in acts_raw.split(";") if s.strip()]
        elif isinstance(acts_raw, list) and all(isinstance(s, str) for s in acts_raw):
            specs = acts_raw
        else:
            raise t.fail(
                "activities", f"must be a list of activities like 'extract=120:3', not {acts_raw!r}"
            )
        activities = []
        for spec in specs:
            try:
                activities.append(parse_activity_spec(spec))
            except InputError as exc:
                why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
                raise t.fail(
                    "activities", f"must be activities like 'extract=120:3', not {spec!r}", why
                ) from None
        minutes = estimate(regime, activities).countable_minutes

    campaign = t.get("campaign")
    campaign = str(campaign).strip() if campaign is not None and str(campaign).strip() else None
    status, answered = _status(t, date, received, strict)
    return RegisterEntry(
        request_id=request_id,
        requester=text("requester"),
        campaign=campaign,
        received=received,
        topic=text("topic").lower(),
        minutes=minutes,
        status=status,
        answered=answered,
    )


def _status(
    t: Table, date: Callable[[str], dt.date], received: dt.date, strict: bool
) -> tuple[str, dt.date | None]:
    """The optional status and answered date, checked against each other and the receipt.

    An empty CSV cell means "not given"; in TOML a key is either absent or has a value.
    """

    def given(key: str) -> bool:
        value = t.get(key)
        return value is not None and (strict or str(value).strip() != "")

    raw = t.get("status")
    answered = date("answered") if given("answered") else None
    if not given("status"):
        status = OPEN if answered is None else ANSWERED
    elif isinstance(raw, str) and raw.strip().lower() in STATUSES:
        status = raw.strip().lower()
    else:
        raise t.fail("status", f"must be one of {', '.join(STATUSES)}, not {raw!r}")
    if answered is not None and status not in (ANSWERED, REFUSED):
        raise t.fail(
            "answered",
            f"cannot be given with status {status!r}",
            "it is the day a response or refusal was sent: use status answered or refused",
        )
    if answered is not None and answered < received:
        raise t.fail(
            "answered",
            f"must not be before the date of receipt ({received.isoformat()}), "
            f"not {answered.isoformat()!r}",
        )
    return status, answered


def _read_toml(text: str, source: str, regime: Regime) -> list[RegisterEntry]:
    try:
        data = parse_toml(text, source)
    except ConfigError as exc:  # a user's register, like the CSV one: an InputError
        raise InputError(exc.message, exc.hint) from None
    root = Table(data, source, error=InputError)
    root.allow("request")
    root.done(("request",))
    seen: set[str] = set()
    return [_entry(t, regime, seen, strict=True) for t in root.tables("request")]


def _is_toml(text: str) -> bool:
    """Whether a register read from stdin (no file name to go by) is TOML: its first line that
    is not blank or a comment opens a table (`[[request]]`); a CSV register starts with its
    header row."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("[")
    return False


def read_register(path: Path | str, regime: Regime) -> list[RegisterEntry]:
    """Read a register file (CSV, or TOML when the name ends in .toml); `-` reads stdin
    (TOML when it opens with a table, else CSV).

    Args:
        path: the register.
        regime: the regime used to cost ``activities`` rows.

    Returns:
        The requests, in file order.

    Raises:
        InputError: missing or unreadable file, a missing column (named), or a bad value.
    """
    text = read_text(path, "register", encoding="utf-8-sig")
    source = "stdin" if is_stdio(path) else str(path)
    if _is_toml(text) if is_stdio(path) else Path(path).suffix.lower() == ".toml":
        entries = _read_toml(text, source, regime)
    else:
        entries = _read_csv(text, source, regime)
    if not entries:
        raise InputError(f"register {source} has no requests")
    return entries
