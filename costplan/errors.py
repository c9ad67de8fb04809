"""Typed errors. Every user-facing failure is a CostplanError carrying a hint.

The CLI turns these into one line on stderr and exit code 2; the core never prints.
"""

from __future__ import annotations


class CostplanError(Exception):
    """Base class for errors a user can fix.

    Args:
        message: what is wrong, in one sentence, in the core's own terms.
        hint: how to fix it, in one sentence (optional).
        field: the input field the error is about, in the core's terms (e.g.
            "minutes_per_record"), so an interface can name its own control for it: the CLI
            its option, a web page the form field.
    """

    def __init__(self, message: str, hint: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field

    def one_line(self) -> str:
        """Render as a single line: 'message (hint)'."""
        text = self.message.replace("\n", " ").strip()
        if self.hint:
            text = f"{text} ({self.hint.replace(chr(10), ' ').strip()})"
        return text


class InputError(CostplanError):
    """A bad argument or input file (missing, empty, malformed)."""


class ConfigError(CostplanError):
    """A bad TOML configuration: regime, calibration, mapping or request file."""


class StoreError(CostplanError):
    """The store is missing, unreadable, or locked by another writer."""


class StoreLockedError(StoreError):
    """Another process holds the store's writer lock."""


class QueryError(CostplanError):
    """A named query is missing or failed to run."""


class EngineUnavailableError(CostplanError):
    """The chosen query engine cannot run here: a missing optional package, or no Java."""


# The core names the field an error is about in its own terms; the command line names the
# option that sets it, and the web page's form input has the option's name without '--'
# (so a result page's query string reads like the command line). One table for both.
FIELD_OPTIONS: dict[str, str] = {
    "records": "--records",
    "minutes_per_record": "--minutes-per-record",
    "fixed_minutes": "--fixed-minutes",
    "working_days": "--working-days",
    "regime": "--regime",
    "paused": "--paused",
    "extension": "--extension",
    "limit": "--limit-gbp",
    "rate": "--rate",
    "spark_master": "--spark-master",
    "by": "--by",
    "suppress_below": "--suppress-below",
    "disclosure": "--disclosure",
    "date_from": "--from",
    "date_to": "--to",
    "start": "--start",
    "end": "--end",
    "mapping": "--mapping",
    "store": "--store",
    "sample": "--sample",
    "time_from": "--time-from",
    "time_to": "--time-to",
    "force": "--force",
    "held": "--held",
    "reference": "--reference",
    "disclose_refs": "--disclose-refs",
    "fmt": "--format",
}


def wording(exc: CostplanError) -> str:
    """The one line for a core error, naming the option where the error names its field (the
    CLI's stderr line without its 'costplan: error: ' prefix; the web page shows the same)."""
    line = exc.one_line()
    option = FIELD_OPTIONS.get(exc.field or "")
    return f"{option}: {line}" if option else line
