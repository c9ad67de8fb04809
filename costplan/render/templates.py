"""Letter templates: reading them from costplan/config/letters, filling them strictly.

A template is fill-in-the-blanks text (`string.Template`): `%%` lines are comments (their
sources), `## ` lines headings. Filling is strict (a template naming a value letters do not
provide is an error) and lazy (a value is worked out only when a template names it); empty
paragraphs, and headings left with nothing under them, are dropped. The values themselves are
render.letter's.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping

from costplan._files import config_path
from costplan.errors import ConfigError

_COMMENT = "%%"
_HEADING = "## "


def template(family: str, name: str) -> str:
    """A template's text without its comment lines.

    Raises:
        ConfigError: the family has no such template (a regime reaches an outcome its family
            does not word).
    """
    folder = config_path("letters")
    path = (
        folder.joinpath(name + ".txt") if family == "" else folder.joinpath(family, name + ".txt")
    )
    if not path.is_file():
        raise ConfigError(
            f"no letter template {family + '/' if family else ''}{name}.txt",
            "add it to costplan/config/letters (see its README.md)",
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith(_COMMENT)).strip() + "\n"


class Values(Mapping[str, str]):
    """The values a template may name, each worked out only when a template names it (so a
    value that needs a finding, such as whether the information is held, is asked for only by
    the letters that state it)."""

    def __init__(self, makers: Mapping[str, Callable[[], str]]) -> None:
        self._makers = makers
        self._done: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self._done:
            self._done[key] = self._makers[key]()  # KeyError: not a value letters provide
        return self._done[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


def fill(text: str, values: Mapping[str, str], where: str) -> str:
    """Fill a template strictly, then drop empty paragraphs and headings left with no text."""
    try:
        filled = string.Template(text).substitute(values)
    except KeyError as exc:
        raise ConfigError(
            f"letter template {where} names ${exc.args[0]}, which letters do not provide",
            "see docs/letters.md for the values a template may use",
        ) from None
    except ValueError as exc:
        raise ConfigError(f"letter template {where}: {exc}", "write $$ for a dollar sign") from None
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", filled) if p.strip()]
    kept: list[str] = []
    for i, p in enumerate(paragraphs):
        nxt = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
        if p.startswith(_HEADING) and (nxt is None or nxt.startswith(_HEADING)):
            continue  # a heading whose section came out empty
        kept.append(p)
    return "\n\n".join(kept)
