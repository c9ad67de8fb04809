"""Tags a request names that the store does not use: a warning, with the tags it does hold.

A count of 0 for a tag the archive never uses (a typo, another force's word) looks like an
answer and is not one. So `plan` and `check` warn when a tag named is carried by no CAD of the
store partitions in scope: the boroughs asked about, in the years asked about (whole years,
not only the days), as `queries/held_tags.sql` lists them. That is one small query over the
partitions the count covers, never a scan of the whole archive, so "not used" means "not used
by those boroughs in those years", and the warning says so.

The queries run only when the count leaves the question open: no tags named, or one tag with a
count above zero, needs nothing more. Then each tag named is looked for first
(`queries/tag_held.sql`, which stops at the first CAD carrying it: a few row groups for a tag in
use, so a plan over every borough for a day reads about its day, not the boroughs' years), and
only a tag none carries costs the list of the tags held.

Warnings are for the officer: reports show them (table, Markdown, JSON `warnings`), the draft
letter to the requester never does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from costplan.engines import QueryEngine


def settled_by_count(tags: Sequence[str], tagged: int) -> bool:
    """True when the count of CADs carrying any of `tags` already shows every tag in use."""
    return not tags or (len(tags) == 1 and tagged > 0)


def held_tags(
    session: QueryEngine, boroughs: Sequence[str], date_from: dt.date, date_to: dt.date
) -> tuple[str, ...]:
    """The tags the CADs of the boroughs carry in the years of the dates, sorted."""
    rows = session.rows("held_tags", boroughs=list(boroughs), date_from=date_from, date_to=date_to)
    return tuple(str(r[0]) for r in rows)


class TagsFound:
    """Whether the CADs of some boroughs carry a tag in some years (queries/tag_held.sql),
    looked up once for each within one session: a plan of many items over the same boroughs
    and years asks once, not once an item."""

    def __init__(self, session: QueryEngine) -> None:
        self.session = session
        self._found: dict[tuple[str, tuple[str, ...], int, int], bool] = {}

    def carry(
        self, tag: str, boroughs: Sequence[str], date_from: dt.date, date_to: dt.date
    ) -> bool:
        # tag_held reads whole years, so the years are the key.
        key = (tag, tuple(sorted(boroughs)), date_from.year, date_to.year)
        if key not in self._found:
            scope = {"boroughs": list(boroughs), "date_from": date_from, "date_to": date_to}
            self._found[key] = bool(self.session.rows("tag_held", **scope, tag=tag))
        return self._found[key]


def tag_warning(
    session: QueryEngine,
    tags: Sequence[str],
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    found: TagsFound | None = None,
) -> str | None:
    """The warning for the tags named that no CAD of the boroughs carries in the years of the
    dates (with the tags they do carry), or None: the same as unheld_warning over held_tags,
    without listing the tags held while every tag named is found. `found`: the session's
    answers so far (None: a lookup of this call's own)."""
    found = found if found is not None else TagsFound(session)
    if all(found.carry(t, boroughs, date_from, date_to) for t in dict.fromkeys(tags)):
        return None
    held = held_tags(session, boroughs, date_from, date_to)
    return unheld_warning(tags, held, boroughs, date_from, date_to)


def unheld_warning(
    tags: Sequence[str],
    held: Sequence[str],
    boroughs: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
) -> str | None:
    """The warning for the tags named that none of the CADs in scope carries, or None.

    "tag NOSUCHTAG is not used in this archive for Lambeth in 2020; tags held there: ASB, DV"
    """
    missing = [t for t in dict.fromkeys(tags) if t not in set(held)]
    if not missing:
        return None
    names = ", ".join(missing)
    what = f"tag {names} is" if len(missing) == 1 else f"tags {names} are"
    years = (
        str(date_from.year)
        if date_from.year == date_to.year
        else f"{date_from.year} to {date_to.year}"
    )
    there = f"tags held there: {', '.join(held)}" if held else "no CAD there carries a tag"
    return f"{what} not used in this archive for {', '.join(boroughs)} in {years}; {there}"
