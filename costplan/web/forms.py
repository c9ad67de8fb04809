"""What the page's forms say, in the core's terms, and the core's errors placed beside a field.

Form inputs carry the command line's option names without '--' (`borough`, `date`, `to`,
`time-from`, `tag`, ...), so a result page's query string reads like the command it equals:
`/plan?borough=Lambeth&date=2020-06-25&tag=UME` is `costplan plan --borough Lambeth --date
2020-06-25 --tag UME`. Nothing here decides anything: the strings go to the same functions the
CLI calls (costplan.request, costplan.costmodel), and errors are the CLI's own lines.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import ImmutableMultiDict

from costplan.errors import FIELD_OPTIONS, CostplanError, wording
from costplan.planner.wording import day_words

# A key of a request item (as the core's strict reader names it in an error) -> the input
# that sets it on the triage form.
_ITEM_INPUTS = {
    "boroughs": "borough",
    "borough": "borough",
    "date": "date",
    "date_from": "date",
    "date_to": "to",
    "time_from": "time-from",
    "time_to": "time-to",
    "tags": "tag",
    "keywords": "keyword",
    "received": "received",
    "regime": "regime",
    "minutes_per_record": "minutes-per-record",
}
# "command line: 'items[0].boroughs' must be ..." / "command line: 'received' must be ...".
_LOCATED = re.compile(r"^[^:]*: '(?:items\[\d+\]\.)?([a-z_]+)' ")
# "--date: '2020-13-01' is not a date" (the CLI's option named in the message itself).
_OPTION = re.compile(r"^--([a-z][a-z-]*)(?::| )")


# Starlette's QueryParams and FormData: one value (`get`) or all values (`getlist`) of a name.
MultiDict = ImmutableMultiDict[str, Any]


@dataclass(frozen=True)
class Problem:
    """A core error as the page shows it: the CLI's line, and the input it belongs beside."""

    line: str
    input: str | None

    @property
    def short(self) -> str:
        """The line without the part that names the field (it is shown beside the field)."""
        if self.input is None:
            return self.line
        text = _OPTION.sub("", self.line, count=1).lstrip(": ")
        return _LOCATED.sub("", text, count=1)


def problem(exc: CostplanError, inputs: Iterable[str]) -> Problem:
    """Where on the form an error belongs (None: above the form), given the form's inputs."""
    line = wording(exc)
    known = set(inputs)
    name: str | None = None
    if exc.field:
        option = FIELD_OPTIONS.get(exc.field)
        name = option[2:] if option else exc.field.replace("_", "-")
    elif m := _OPTION.match(line):
        name = m.group(1)
    elif m := _LOCATED.match(line):
        name = _ITEM_INPUTS.get(m.group(1))
    if name == "from" and "from" not in known:
        name = "date"  # the core's date_from is the triage form's first day
    return Problem(line, name if name in known else None)


def text(params: MultiDict, name: str) -> str | None:
    """One text input: stripped, None when empty or absent (a browser sends empty inputs)."""
    value = params.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def texts(params: MultiDict, name: str) -> list[str]:
    """A repeatable input: every value, each split at commas ('rave, music' is two keywords;
    no borough, tag or keyword the archive knows has a comma), empties dropped."""
    out: list[str] = []
    for value in params.getlist(name):
        if isinstance(value, str):
            out += [part.strip() for part in value.split(",") if part.strip()]
    return out


# The inputs that may be given more than once (as the CLI's repeatable options).
REPEATABLE = frozenset({"borough", "tag", "keyword", "paused"})


def echo(params: MultiDict, names: Iterable[str]) -> dict[str, str]:
    """The values to put back into the form (a repeatable input joined with commas)."""
    return {
        name: ", ".join(texts(params, name)) if name in REPEATABLE else (text(params, name) or "")
        for name in names
    }


def json_text(text: str) -> str:
    """A report as the CLI prints it: the rendering, one newline at the end (typer.echo)."""
    return text.rstrip("\n") + "\n"


# -- en-GB presentation ---------------------------------------------------------------------


def gb_date(value: str | dt.date | None) -> str:
    """An ISO date as en-GB prose: 25 June 2020 (no leading zero)."""
    if value is None:
        return ""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return day_words(day)


def gb_number(value: float | int | None, places: int = 0) -> str:
    """A number with en-GB thousands separators: 1,507 / 76.02."""
    if value is None:
        return ""
    return f"{value:,.{places}f}"


def money(value: float | None, currency: str = "GBP") -> str:
    """An amount in the regime's currency: £1,900.42 / €2,500.00."""
    if value is None:
        return ""
    symbol = {"GBP": "£", "EUR": "€"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


FILTERS: Mapping[str, Any] = {"gb_date": gb_date, "gb_number": gb_number, "money": money}


_REQUESTER = re.compile(r"^[ \t]*requester[ \t]*=.*(?:\r?\n|$)", re.MULTILINE)


def without_requester(text: str) -> str | None:
    """A request's TOML without its `requester` line, to put back into the page (the
    requester is personal data and is never served, not even the user's own paste back).

    None when the line cannot be taken out cleanly (e.g. a multi-line string): the page then
    shows no copy of the request at all.
    """
    import tomllib

    try:
        whole = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text if "requester" not in text else None
    if "requester" not in whole:
        return text
    kept = _REQUESTER.sub("", text)
    try:
        rest = tomllib.loads(kept)
    except tomllib.TOMLDecodeError:
        return None
    whole.pop("requester")
    return kept if rest == whole else None
