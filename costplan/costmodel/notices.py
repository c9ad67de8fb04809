"""What a regime's notices say: the provisions a response letter names, as validated data.

Each regime in `config/regimes.toml` may carry a `[regime.NAME.notice]` table: the letter
templates it uses (`config/letters/FAMILY/`), the provision under which a refusal notice is
given, the wording of the refusal provision (and of the neither-confirm-nor-deny rule where the
law has one), the duty to advise, the fees regulations, and the commissioner the requester may
go to. Every value cites its source in the TOML (law.md §5). A regime without the table can
cost a request but cannot write a letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from costplan._files import config_path
from costplan._toml import Table

# The template families shipped in costplan/config/letters (one folder each).
LETTER_FAMILIES: tuple[str, ...] = tuple(
    sorted(
        p.name
        for p in config_path("letters").iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    )
)

_REQUIRED = ("letters", "refusal", "advice", "commissioner", "commissioner_contact")
_OPTIONAL = ("refusal_notice", "hold_refusal", "fees_regulations")


@dataclass(frozen=True)
class Notice:
    """The legal wording a regime's letters use.

    Attributes:
        letters: the template family, a folder of costplan/config/letters.
        refusal: what the refusal provision says, in plain words (quoted in a refusal).
        advice: the duty to advise and assist ("section 16 of the Freedom of Information Act
            2000").
        commissioner: who decides complaints ("the Information Commissioner").
        commissioner_contact: how to reach them (a web address and postal address).
        refusal_notice: the provision under which a refusal notice is given (FOIA s.17(5)),
            or None where the sources name none.
        hold_refusal: the neither-confirm-nor-deny rule in plain words (FOIA s.12(2)), or None
            where the law has none.
        fees_regulations: the regulations that say what may be counted, or None.
    """

    letters: str
    refusal: str
    advice: str
    commissioner: str
    commissioner_contact: str
    refusal_notice: str | None = None
    hold_refusal: str | None = None
    fees_regulations: str | None = None


def parse_notice(t: Table | None) -> Notice | None:
    """One `[regime.NAME.notice]` table, strictly (None when the regime has none)."""
    if t is None:
        return None
    t.allow(*_REQUIRED, *_OPTIONAL)
    t.done()
    for key in _REQUIRED:
        t.raw(key)
    letters = t.choice("letters", LETTER_FAMILIES)

    def opt(key: str) -> str | None:
        value = t.text(key, default=None)
        return value.strip() if value else None

    return Notice(
        letters=letters,
        refusal=t.text("refusal").strip(),
        advice=t.text("advice").strip(),
        commissioner=t.text("commissioner").strip(),
        commissioner_contact=t.text("commissioner_contact").strip(),
        refusal_notice=opt("refusal_notice"),
        hold_refusal=opt("hold_refusal"),
        fees_regulations=opt("fees_regulations"),
    )
