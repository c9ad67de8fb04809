"""The authority's own details (config/authority.toml, or a user's file): who signs letters,
where reviews go, and which requested fields are withheld under which exemption.

Nothing of this lives in code: a force replaces the shipped default with its own file
(`plan --settings FILE`). Read strictly, like every configuration file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from costplan._files import config_path
from costplan._toml import Table, read_toml
from costplan.costmodel.notices import LETTER_FAMILIES
from costplan.errors import ConfigError
from costplan.request import FIELDS

DEFAULT_PATH = config_path("authority.toml")
_KEYS = ("name", "unit", "address", "email", "signature", "salutation", "review", "withheld")


@dataclass(frozen=True)
class Withheld:
    """A requested field the authority does not release, with the exemption per family."""

    name: str
    what: str
    exemptions: Mapping[str, str]

    def exemption(self, family: str) -> str:
        """The exemption relied on under a template family's law.

        Raises:
            ConfigError: the settings name none for that family (never guessed).
        """
        if family not in self.exemptions:
            raise ConfigError(
                f"the settings withhold '{self.name}' but name no exemption for {family} letters",
                f'add `{family} = "..."` to [withheld.{self.name}] in the settings file',
            )
        return self.exemptions[family]


@dataclass(frozen=True)
class Authority:
    """Who answers: the letter's head, signature and review procedure."""

    name: str
    unit: str
    address: tuple[str, ...]
    signature: tuple[str, ...]
    salutation: str
    review: str
    email: str | None = None
    withheld: Mapping[str, Withheld] = field(default_factory=dict)
    source: str = "the default settings"

    def withheld_of(self, fields: tuple[str, ...]) -> list[Withheld]:
        """The requested fields that are withheld, in the order FIELDS lists them."""
        return [self.withheld[f] for f in FIELDS if f in fields and f in self.withheld]


def _lines(t: Table, key: str) -> tuple[str, ...]:
    value = t.raw(key)
    if isinstance(value, str):
        value = [value]
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)
    if not ok:
        raise t.fail(key, f"must be a line or an array of lines, not {value!r}")
    return tuple(v.strip() for v in value)


@cache
def load_authority(path: Path | None = None) -> Authority:
    """Read the settings file (the shipped default when `path` is None).

    Raises:
        InputError: a user's file is missing or unreadable.
        ConfigError: an unknown or missing key, or a value of the wrong type.
    """
    file = DEFAULT_PATH if path is None else Path(path)
    t = Table(read_toml(file, "settings file"), str(file), reference="docs/letters.md")
    t.allow(*_KEYS)
    t.done(_KEYS)
    withheld: dict[str, Withheld] = {}
    w = t.optional_sub("withheld")
    if w is not None:
        for name in w.data:
            if name not in FIELDS or name in ("count", "cad_refs"):
                raise w.fail(
                    name,
                    "is not a field that can be withheld",
                    "withhold one of: created_at, call_source",
                )
            f = w.sub(name)
            f.allow("what", *LETTER_FAMILIES)
            f.done(("what", *LETTER_FAMILIES))
            withheld[name] = Withheld(
                name,
                f.text("what").strip(),
                {fam: f.text(fam).strip() for fam in LETTER_FAMILIES if f.has(fam)},
            )
    email = t.text("email", default=None)
    return Authority(
        name=t.text("name").strip(),
        unit=t.text("unit").strip(),
        address=_lines(t, "address"),
        signature=_lines(t, "signature"),
        salutation=t.text("salutation").strip(),
        review=t.text("review").strip(),
        email=email.strip() if email else None,
        withheld=withheld,
        source=str(file) if path is not None else "the default settings",
    )
