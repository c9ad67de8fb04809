"""Force profiles: the areas, names, time zone, references and vocabularies of one police force.

A profile is data (costplan/config/forces/NAME.toml, or a user's own file by path; see
docs/forces.md). A store records the profile it was created with (costplan.store.manifest), so
every command knows the areas, what they are called and the time zone without flags; ingest
validates exports against it, requests resolve area names through it, and the engines take
the day and the hour in its zone.

The shipped `mps` profile is the Metropolitan Police Service: 32 London boroughs, BCUs as
groups, Europe/London. It reproduces what costplan did before profiles existed, and is what a
store written before profiles were recorded holds (that layout was MPS-only).

API for other layers (the web form, the CLI's completion): `load_profile(spec)`, `mps()`,
`bundled_profiles()`, and on a Profile `areas`, `area_names`, `groups`, `resolve(text)`,
`expand(text)`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costplan._files import config_path
from costplan._toml import Table, parse_toml
from costplan.errors import ConfigError, InputError

FORCES_DIR = config_path("forces")
DEFAULT_FORCE = "mps"
# What a profile's reference format may be: the MPS style 'serial/DDMONYY' (unique per local
# day; the day must match the stored day), any text unique in the force, or a pattern whose
# `date` group names the local day.
REFERENCE_FORMATS = ("serial/DDMONYY", "unique", "pattern")
# Words a user may type for every area of the force.
ALL_WORDS = frozenset({"all", "*"})
_PUNCTUATION = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Area:
    """One area of a force (a borough, district, division, local policing area...)."""

    name: str
    code: str | None = None
    group: str | None = None  # the code of the group it belongs to
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A group of areas (a BCU, a command): a name a request may use for all its members."""

    code: str
    name: str
    areas: tuple[str, ...]

    def label(self, word: str) -> str:
        """'Central South BCU (AS)'."""
        return f"{self.name} {word} ({self.code})" if word else f"{self.name} ({self.code})"


@dataclass(frozen=True)
class Elsewhere:
    """Names of places inside the force's map that another force polices, and why."""

    names: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Reference:
    """How the force's incident references look (see REFERENCE_FORMATS)."""

    format: str
    pattern: str | None = None  # for "pattern": a regex with a `date` named group
    date_format: str | None = None  # strptime format of the `date` group


@dataclass(frozen=True)
class Expansion:
    """What one name in a request stands for: its areas and, if not simply an area, how."""

    text: str
    areas: tuple[str, ...]
    note: str | None = None  # 'North West BCU: Barnet, Brent, Harrow'; None for an area name


@dataclass(frozen=True)
class Profile:
    """A validated force profile."""

    name: str
    title: str
    time_zone: str
    area_word: str  # singular: "borough"
    areas_word: str  # plural: "boroughs"
    group_word: str  # "BCU"
    areas: tuple[Area, ...]
    groups: tuple[Group, ...]
    places: dict[str, str]  # normalised place name -> area
    elsewhere: tuple[Elsewhere, ...]
    reference: Reference
    call_sources: tuple[str, ...]
    gradings: tuple[str, ...]
    grading_names: dict[str, str]  # casefolded word -> grading ("immediate" -> "I")
    strip_words: tuple[str, ...] = ()
    day_word: str = "local day"  # how messages name a calendar day in the zone
    area_phrase: str = ""  # "London borough": an area in a sentence (default: area_word)
    source: str = ""  # where it was read from: "bundled" or a path
    text: str = field(default="", repr=False)  # the TOML text, recorded in a store
    _lookup: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _elsewhere_keys: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _groups_by_key: dict[str, Group] = field(default_factory=dict, repr=False, compare=False)

    # -- names --------------------------------------------------------------------------------
    @property
    def area_names(self) -> tuple[str, ...]:
        """The areas' canonical names, in the profile's order."""
        return tuple(a.name for a in self.areas)

    @functools.cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @functools.cached_property
    def _strip(self) -> re.Pattern[str] | None:
        # Compiled once: every area, alias and place of the profile is keyed when it is read.
        if not self.strip_words:
            return None
        return re.compile(rf"\b({'|'.join(re.escape(w) for w in self.strip_words)})\b")

    def key(self, text: str) -> str:
        """Normalise a spelling for lookup: case, '&', punctuation, spaces, the strip words."""
        text = _PUNCTUATION.sub(" ", text.strip().lower().replace("&", " and "))
        if self._strip is not None:
            text = self._strip.sub(" ", text)
        return _SPACES.sub(" ", text).strip()

    def canonical(self, text: str) -> str | None:
        """The area a spelling, code or alias names, or None (places are not areas here)."""
        return self._lookup.get(self.key(text))

    def elsewhere_reason(self, text: str) -> str | None:
        """Why a name is not this force's (another force polices it), or None."""
        return self._elsewhere_keys.get(self.key(text))

    def suggest(self, text: str, n: int = 3) -> list[str]:
        """The nearest area names, for 'did you mean' hints."""
        keys = difflib.get_close_matches(self.key(text), list(self._lookup), n=n * 2, cutoff=0.5)
        seen: list[str] = []
        for k in keys:
            name = self._lookup[k]
            if name not in seen:
                seen.append(name)
        return seen[:n]

    def group(self, text: str) -> Group | None:
        """The group a name or code names, or None."""
        return self._groups_by_key.get(self.key(text))

    # -- requests -----------------------------------------------------------------------------
    def expand(self, text: str, where: str) -> Expansion:
        """What one name a user typed stands for: an area, every area, a group or a place.

        Raises:
            InputError: another force's area (with the reason) or an unknown name (with the
                nearest names), naming `where`.
        """
        area = self.canonical(text)
        if area is not None:
            return Expansion(text, (area,))
        if text.strip().lower() in ALL_WORDS:
            return Expansion(text, self.area_names, f"all {len(self.areas)} {self.areas_word}")
        grp = self.group(text)
        if grp is not None:
            note = f"{grp.label(self.group_word)}: {', '.join(grp.areas)}"
            return Expansion(text, grp.areas, note)
        place = self.places.get(self.key(text))
        if place is not None:
            return Expansion(text, (place,), f"{text.strip()} is in {place}")
        reason = self.elsewhere_reason(text)
        if reason is not None:
            raise InputError(f"{where}: {reason}")
        near = self.suggest(text)
        hint = f"did you mean {', '.join(near)}?" if near else f"use a {self.area_word} name"
        raise InputError(f"{where}: unknown {self.area_word} {text!r}", hint)

    def expand_all(self, texts: Iterable[str], where: str) -> tuple[tuple[str, ...], list[str]]:
        """Names (each may be a comma list) as areas without repeats, and the notes."""
        names: list[str] = []
        notes: list[str] = []
        for text in texts:
            for part in text.split(","):
                if not part.strip():
                    continue
                got = self.expand(part, where)
                names += got.areas
                if got.note:
                    notes.append(got.note)
        return tuple(dict.fromkeys(names)), notes

    # -- time -----------------------------------------------------------------------------------
    def local_day(self, ts: dt.datetime) -> dt.date:
        """The calendar day of an aware timestamp in the force's zone."""
        return ts.astimezone(self.zone).date()

    def day_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """UTC instants [start, end) of a local calendar day (23, 24 or 25 hours long)."""
        start = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self.zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    # -- the store's record ---------------------------------------------------------------------
    def store_doc(self) -> dict[str, Any]:
        """What a store's manifest records: a shipped profile by name, a user's whole text."""
        if self.source == "bundled":
            return {"name": self.name, "bundled": True}
        return {"name": self.name, "bundled": False, "source": self.source, "toml": self.text}

    def describe(self) -> dict[str, Any]:
        """What a report records about the profile."""
        return {"name": self.name, "title": self.title, "time_zone": self.time_zone}


# -- loading -------------------------------------------------------------------------------------
def bundled_profiles() -> dict[str, Path]:
    """The profiles shipped with costplan, by name."""
    return {p.stem: p for p in sorted(FORCES_DIR.glob("*.toml"))}


@functools.cache
def _bundled(name: str) -> Profile:
    path = bundled_profiles()[name]
    text = path.read_text(encoding="utf-8")
    return parse_profile(text, f"force profile {path}", origin="bundled")


def mps() -> Profile:
    """The Metropolitan Police profile (the default, and what an unrecorded store holds)."""
    return _bundled(DEFAULT_FORCE)


def load_profile(spec: str | Path | None = None) -> Profile:
    """A shipped profile by name, or a profile file by path (None: the MPS).

    Raises:
        ConfigError: no such profile, or the file is not a valid profile.
    """
    if spec is None:
        return mps()
    bundled = bundled_profiles()
    if str(spec) in bundled:
        return _bundled(str(spec))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"no force profile {spec}",
            f"give a profile TOML file, or a shipped one: {', '.join(bundled)}",
            field="force",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"force profile {path}: cannot read it: {exc}") from None
    return parse_profile(text, f"force profile {path}", origin=str(path))


def from_store_doc(doc: Mapping[str, Any] | None) -> Profile:
    """The profile a store's manifest records (None: a store from before profiles, the MPS).

    Raises:
        ConfigError: the record names a shipped profile this costplan does not have.
    """
    if doc is None:
        return mps()
    if doc.get("bundled"):
        name = str(doc.get("name"))
        if name not in bundled_profiles():
            raise ConfigError(
                f"the store belongs to force profile {name!r}, which this costplan does not ship",
                "upgrade costplan, or use the costplan that wrote the store",
            )
        return _bundled(name)
    name = doc.get("name") or "(unnamed)"
    return _recorded(str(name), str(doc.get("toml", "")), str(doc.get("source", "")))


@functools.lru_cache(maxsize=8)
def _recorded(name: str, text: str, origin: str) -> Profile:
    """A profile recorded in a store as text, parsed once per process."""
    return parse_profile(text, f"the store's force profile {name!r}", origin=origin)


_TOP_KEYS = (
    "name",
    "title",
    "time_zone",
    "area_word",
    "areas_word",
    "group_word",
    "strip_words",
    "day_word",
    "area_phrase",
    "areas",
    "groups",
    "places",
    "elsewhere",
    "reference",
    "vocabulary",
    "sources",
)


def parse_profile(text: str, source: str, *, origin: str = "") -> Profile:
    """Validate a profile's TOML text strictly (unknown keys, types, references between tables).

    Raises:
        ConfigError: naming the file and the dotted key.
    """
    root = Table(parse_toml(text, source), source, reference="docs/forces.md")
    root.allow(*_TOP_KEYS)
    root.done(_TOP_KEYS)
    name = root.text("name")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise root.fail("name", f"must be a short lower-case name like 'mps', not {name!r}")
    title = root.text("title")
    zone = root.text("time_zone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        what = f"must be an IANA time zone like Europe/London, not {zone!r}"
        raise root.fail("time_zone", what) from None
    area_word = root.text("area_word")
    areas_word = root.text("areas_word", default=area_word + "s")
    group_word = root.get("group_word", "group")
    if not isinstance(group_word, str):
        raise root.fail("group_word", f"must be a string, not {group_word!r}")
    strip_words = tuple(w.lower() for w in root.strings("strip_words", default=[]))
    day_word = root.text("day_word", default="local day")
    area_phrase = root.text("area_phrase", default=area_word)
    root.strings("sources", default=[])  # citations: kept in the file, not used

    groups_t = root.optional_sub("groups") or Table({}, source, "groups")
    group_names: dict[str, str] = {}
    for code in groups_t.data:
        g = groups_t.sub(code)
        group_names[code] = g.text("name")
        g.done(["name"])

    areas: list[Area] = []
    for t in root.tables("areas"):
        area = Area(
            name=t.text("name"),
            code=t.text("code", default=None),
            group=t.text("group", default=None),
            aliases=tuple(t.strings("aliases", default=[])),
        )
        t.done(["name", "code", "group", "aliases"])
        if area.group is not None and area.group not in group_names:
            raise t.fail("group", f"must be a code from [groups], not {area.group!r}")
        areas.append(area)
    if not areas:
        raise root.fail("areas", "is missing", "list the force's areas as [[areas]] tables")
    profile_areas = {a.name for a in areas}

    lookup: dict[str, str] = {}
    draft = Profile(
        name, title, zone, area_word, areas_word, group_word, (), (), {}, (),
        Reference("unique"), (), (), {}, strip_words,
    )  # fmt: skip

    def claim(table: Table, key: str, spelling: str, area: str) -> None:
        k = draft.key(spelling)
        if not k:
            raise table.fail(key, f"must not be blank, not {spelling!r}")
        if lookup.get(k, area) != area:
            raise table.fail(key, f"{spelling!r} already names {lookup[k]}")
        lookup[k] = area

    for i, a in enumerate(areas):
        t = Table({}, source, f"areas[{i}]")
        claim(t, "name", a.name, a.name)
        if a.code:
            lookup[a.code.lower()] = a.name  # a code is matched as typed, case aside
        for alias in a.aliases:
            claim(t, "aliases", alias, a.name)

    groups = tuple(
        Group(code, gname, tuple(a.name for a in areas if a.group == code))
        for code, gname in group_names.items()
    )
    groups_by_key: dict[str, Group] = {}
    for grp in groups:
        for spelling in (grp.code, grp.name, f"{grp.name} {group_word}"):
            k = draft.key(spelling)
            if k in lookup:
                raise groups_t.fail(grp.code, f"{spelling!r} is also the name of {lookup[k]}")
            groups_by_key[k] = grp

    places_t = root.optional_sub("places") or Table({}, source, "places")
    places = _names_of(places_t, profile_areas, f"name one of the {areas_word}", draft.key)

    elsewhere: list[Elsewhere] = []
    elsewhere_keys: dict[str, str] = {}
    for t in root.tables("elsewhere"):
        e = Elsewhere(tuple(t.strings("names")), t.text("reason"))
        t.done(["names", "reason"])
        for n in e.names:
            if draft.key(n) in lookup:
                raise t.fail("names", f"{n!r} is one of this force's {areas_word}")
            elsewhere_keys[draft.key(n)] = e.reason
            elsewhere_keys[n.strip().lower()] = e.reason
        elsewhere.append(e)

    ref_t = root.sub("reference")
    fmt = ref_t.choice("format", REFERENCE_FORMATS)
    pattern = ref_t.text("pattern", default=None)
    date_format = ref_t.text("date_format", default=None)
    ref_t.done(["format", "pattern", "date_format"])
    if fmt == "pattern":
        if pattern is None or date_format is None:
            raise ref_t.fail("pattern", "is missing", "a pattern needs pattern and date_format")
        try:
            if "date" not in re.compile(pattern).groupindex:
                raise ref_t.fail("pattern", "must have a (?P<date>...) group")
        except re.error as exc:
            raise ref_t.fail("pattern", f"must be a regular expression: {exc}") from None
    elif pattern is not None or date_format is not None:
        raise ref_t.fail("pattern", f"is only for format = 'pattern', not {fmt!r}")

    voc = root.sub("vocabulary")
    call_sources = tuple(voc.strings("call_sources"))
    gradings = tuple(voc.strings("gradings"))
    names_t = voc.optional_sub("grading_names") or Table({}, source, "vocabulary.grading_names")
    grading_names = _names_of(
        names_t, gradings, "be one of the gradings", lambda word: word.strip().casefold()
    )
    voc.done(["call_sources", "gradings", "grading_names"])
    for key, values in (("call_sources", call_sources), ("gradings", gradings)):
        if not values or len(set(values)) != len(values) or not all(v.strip() for v in values):
            raise voc.fail(key, "must be a non-empty list of distinct values")

    return Profile(
        name=name,
        title=title,
        time_zone=zone,
        area_word=area_word,
        areas_word=areas_word,
        group_word=group_word,
        areas=tuple(areas),
        groups=groups,
        places=places,
        elsewhere=tuple(elsewhere),
        reference=Reference(fmt, pattern, date_format),
        call_sources=call_sources,
        gradings=gradings,
        grading_names=grading_names,
        strip_words=strip_words,
        day_word=day_word,
        area_phrase=area_phrase,
        source=origin,
        text=text,
        _lookup=lookup,
        _elsewhere_keys=elsewhere_keys,
        _groups_by_key=groups_by_key,
    )


def _names_of(
    table: Table, members: Collection[str], must: str, key: Callable[[str], str]
) -> dict[str, str]:
    """A table of names each naming one of `members` (a place's area, a word's grading), keyed
    by the name's normalised spelling.

    Raises:
        ConfigError: a value names no member ("must <must>, not 'X'").
    """
    out: dict[str, str] = {}
    for name in table.data:
        target = table.text(name)
        if target not in members:
            raise table.fail(name, f"must {must}, not {target!r}")
        out[key(name)] = target
    return out
