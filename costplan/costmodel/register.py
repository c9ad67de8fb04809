"""The aggregation register: the requests `costplan aggregate` groups under reg. 5.

Read strictly, naming the file and the line (CSV) or the dotted key (TOML), because a missed
column or a misspelt key would silently change which requests are added together.

Register format (CSV with a header row, or TOML with ``[[request]]`` tables):
    id (or request_id), requester, received (YYYY-MM-DD), topic, campaign (optional), and
    either ``hours`` (estimated countable hours) or ``activities`` (``NAME=RECORDS:MINUTES``
    items separated by ``;`` in CSV, a list of such strings in TOML), costed under the regime.
"""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from costplan.costmodel.estimate import estimate, parse_activity_spec
from costplan.costmodel.regimes import Regime
from costplan.costmodel.workdays import parse_date
from costplan.errors import InputError
from costplan.units import SIXTY, to_decimal

_ID_COLUMNS = ("id", "request_id")
_REQUIRED = ("requester", "received", "topic")
_TOML_KEYS = set(_ID_COLUMNS) | set(_REQUIRED) | {"campaign", "hours", "activities"}


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
    """

    request_id: str
    requester: str
    campaign: str | None
    received: dt.date
    topic: str
    minutes: Decimal

    @property
    def hours(self) -> Decimal:
        """Countable hours (exact)."""
        return self.minutes / SIXTY


def _entry(
    row: dict[str, Any], where: str, regime: Regime, id_key: str, seen: set[str]
) -> RegisterEntry:
    def text(key: str) -> str:
        value = row.get(key)
        if value is None or str(value).strip() == "":
            raise InputError(f"{where}: empty '{key}'")
        return str(value).strip()

    request_id = text(id_key)
    if request_id in seen:
        raise InputError(f"{where}: duplicate request id '{request_id}'")
    seen.add(request_id)
    received_raw = row.get("received")
    if isinstance(received_raw, dt.datetime):
        received = received_raw.date()
    elif isinstance(received_raw, dt.date):
        received = received_raw
    else:
        received = parse_date(text("received"), f"{where}: received")

    hours_raw = row.get("hours")
    acts_raw = row.get("activities")
    has_hours = hours_raw is not None and str(hours_raw).strip() != ""
    has_acts = acts_raw is not None and acts_raw not in ("", [])
    if has_hours == has_acts:
        raise InputError(f"{where}: give either 'hours' or 'activities' (exactly one)")
    if has_hours:
        try:
            minutes = to_decimal(hours_raw, "hours") * SIXTY
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}") from None
    else:
        if isinstance(acts_raw, str):
            specs = [s for s in acts_raw.split(";") if s.strip()]
        elif isinstance(acts_raw, list) and all(isinstance(s, str) for s in acts_raw):
            specs = acts_raw
        else:
            raise InputError(f"{where}: 'activities' must be text like 'extract=120:3'")
        try:
            minutes = estimate(regime, [parse_activity_spec(s) for s in specs]).countable_minutes
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}", exc.hint) from None

    campaign = row.get("campaign")
    campaign = str(campaign).strip() if campaign is not None and str(campaign).strip() else None
    return RegisterEntry(
        request_id=request_id,
        requester=text("requester"),
        campaign=campaign,
        received=received,
        topic=text("topic").lower(),
        minutes=minutes,
    )


def _check_columns(columns: Iterable[str], source: str, noun: str = "column") -> str:
    present = set(columns)
    id_key = next((c for c in _ID_COLUMNS if c in present), None)
    if id_key is None:
        raise InputError(f"{source}: missing {noun} 'id'", "or name it 'request_id'")
    for column in _REQUIRED:
        if column not in present:
            raise InputError(f"{source}: missing {noun} '{column}'")
    if "hours" not in present and "activities" not in present:
        raise InputError(f"{source}: missing {noun} 'hours'", f"or give an 'activities' {noun}")
    return id_key


def _read_csv(text: str, source: str, regime: Regime) -> list[RegisterEntry]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise InputError(f"register {source} is empty")
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    id_key = _check_columns(reader.fieldnames, source)
    seen: set[str] = set()
    entries = [
        _entry(row, f"{source} line {reader.line_num}", regime, id_key, seen) for row in reader
    ]
    return entries


def _read_toml(text: str, source: str, regime: Regime) -> list[RegisterEntry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"request"})
    if unknown:
        raise InputError(f"{source}: unknown key '{unknown[0]}'", "use [[request]] tables")
    rows = data.get("request", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{source}: 'request' must be [[request]] tables")
    seen: set[str] = set()
    entries = []
    for number, row in enumerate(rows, 1):
        where = f"{source} request {number}"
        bad = sorted(set(row) - _TOML_KEYS)
        if bad:
            raise InputError(f"{where}: unknown key '{bad[0]}'")
        entries.append(_entry(row, where, regime, _check_columns(row, where, "key"), seen))
    return entries


def read_register(path: Path | str, regime: Regime) -> list[RegisterEntry]:
    """Read a register file (CSV, or TOML when the name ends in .toml).

    Args:
        path: the register.
        regime: the regime used to cost ``activities`` rows.

    Returns:
        The requests, in file order.

    Raises:
        InputError: missing or unreadable file, a missing column (named), or a bad value.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"register not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read register {path}: {exc}") from None
    if path.suffix.lower() == ".toml":
        entries = _read_toml(text, str(path), regime)
    else:
        entries = _read_csv(text, str(path), regime)
    if not entries:
        raise InputError(f"register {path} has no requests")
    return entries
