"""Text and string tables, built once per calibration and gathered per row.

Summaries are phrase x location x false-positive combinations held once in a String series,
so a row's summary is an index; call sources, gradings, codes, boroughs, tag lists and cad_ref
serials are gathered the same way. Nothing here is real data: summaries come from fixed
templates and invented street names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from costplan import schema
from costplan.synth.calibration import TAGS, Calibration

# Ordinary summaries by opening code; "{loc}" is replaced by a location. Some deliberately
# contain keywords ("music", "party") so naive keyword searches get realistic false hits.
_ORDINARY_TEXT: dict[str, tuple[str, ...]] = {
    "NOISE": (
        "Noise complaint about neighbours at {loc}",
        "Loud music from a flat at {loc}, ongoing for hours",
        "Shouting and banging heard at {loc}",
    ),
    "PARTY": (
        "House party at {loc}, guests refusing to leave",
        "Noisy birthday party at {loc}",
        "Party guests arguing outside {loc}",
    ),
    "ASB": (
        "Youths causing a nuisance at {loc}",
        "Group drinking and being abusive at {loc}",
        "Fireworks thrown at passers-by near {loc}",
    ),
    "DISTURBANCE": (
        "Disturbance between two males at {loc}",
        "Argument spilling into the street at {loc}",
        "Customer refusing to leave a shop at {loc}",
    ),
    "UME": (
        "Possible unlicensed event being set up at {loc}",
        "Reports of a sound system being unloaded at {loc}",
        "Caller expects an unlicensed event tonight at {loc}",
    ),
    "THEFT": (
        "Phone snatched from victim at {loc}",
        "Bicycle stolen from outside {loc}",
        "Shoplifter detained by security at {loc}",
    ),
    "BURGLARY": (
        "Burglary reported at {loc}, rear door forced",
        "Suspects seen climbing into a property at {loc}",
        "Shed broken into at {loc}",
    ),
    "ASSAULT": (
        "Male assaulted at {loc}, suspect made off",
        "Fight outside a bar at {loc}",
        "Victim punched at a bus stop at {loc}",
    ),
    "DOMESTIC": (
        "Domestic argument at {loc}, female screaming",
        "Ex-partner refusing to leave {loc}",
        "Caller threatened by partner at {loc}",
    ),
    "RTC": (
        "Two-vehicle collision at {loc}, no injuries",
        "Car mounted the pavement at {loc}",
        "Cyclist struck by a van at {loc}",
    ),
    "SUSPICIOUS": (
        "Suspicious male trying car doors at {loc}",
        "Unattended bag at {loc}",
        "Persons acting suspiciously near {loc}",
    ),
    "CONCERN": (
        "Concern for welfare of an elderly resident at {loc}",
        "Person in distress near {loc}",
        "Caller worried about a neighbour at {loc}",
    ),
    "MISSING": (
        "Missing teenager last seen at {loc}",
        "Vulnerable adult missing from {loc}",
        "Child not returned home to {loc}",
    ),
    "ALARM": (
        "Intruder alarm sounding at {loc}",
        "Panic alarm activated at {loc}",
        "Commercial premises alarm at {loc}, keyholder attending",
    ),
    "DAMAGE": (
        "Car windows smashed at {loc}",
        "Graffiti sprayed on a wall at {loc}",
        "Criminal damage to a bus shelter at {loc}",
    ),
    "ADMIN": (
        "Caller asking for an update on a crime report, {loc}",
        "Lost property handed in, {loc}",
        "Enquiry about a towed vehicle, {loc}",
    ),
}
# UME CADs with the UME tag/code.
_UME_TAGGED_TEXT: tuple[str, ...] = (
    "UME: rave in progress at {loc}, loud music and a large crowd",
    "Unlicensed music event at {loc}, sound system set up",
    "Illegal rave at {loc}, several hundred people, music very loud",
)
# UME CADs coded as noise / party / ASB: each says "rave", "music" or "party" (calibration.md
# §7.4: the rest "with rave, music, party or UME in the free text").
_UME_UNTAGGED_TEXT: tuple[str, ...] = (
    "Very loud music from a gathering at {loc}, caller cannot sleep",
    "Large party at {loc}, hundreds of people arriving",
    "Rave going on at {loc}, cars blocking the road",
    "Street party with a sound system at {loc}",
    "Music blaring at {loc}, people fighting",
    "Crowds heading to a party at {loc}, bottles thrown",
)
# False-positive free text for naive substring searches ("ume", "rave", "music", "party"):
# calibration.md §3 (West Midlands FOI [S]) and §7.4. Index 0 = none.
_FALSE_POSITIVE_TEXT: tuple[str, ...] = (
    "",
    ". Caller also lost travel documents",
    ". A musical instrument was taken",
    ". Suspect was wearing a costume",
    ". Linked to a party wall dispute",
    ". Caller is a music teacher",
    ". Gravel thrown at a window",
    ". Caller says the volume of traffic is high",
)
# Invented street-like names (not a gazetteer).
_STREET_NAMES: tuple[str, ...] = (
    "Acacia", "Albion", "Alma", "Ashgrove", "Beaumont", "Belmont", "Cedar", "Chapel", "Church",
    "Clarence", "Cromwell", "Elm", "Gordon", "Grove", "Hawthorn", "Highfield", "King's",
    "Lansdowne", "Manor", "Market", "Mill", "Nelson", "Oak", "Park", "Queen's", "Railway",
    "Stanley", "Station", "Victoria", "Windsor",
)  # fmt: skip
_STREET_KINDS: tuple[str, ...] = (
    "Road", "Street", "Lane", "Avenue", "Close", "Gardens", "Court", "Estate",
)  # fmt: skip
_GENERIC_LOCATIONS: tuple[str, ...] = tuple(
    f"{n} {k}" for n in _STREET_NAMES for k in _STREET_KINDS
)


@dataclass(frozen=True)
class _Tables:
    """Lookup tables shared by all months of one calibration."""

    summaries: pl.Series  # index (phrase * n_locs + loc) * n_fp + fp
    n_locs: int
    n_fp: int
    phrase_start: np.ndarray  # first phrase index per incident code
    phrase_count: np.ndarray  # phrases per incident code
    ume_tagged: tuple[int, int]  # (first phrase, count)
    ume_untagged: tuple[int, int]
    planted_loc: dict[str, tuple[int, int, int]]  # name -> (location, first nearby, n nearby)
    tag_lists: pl.Series  # List(String) per tag bitmask
    boroughs: pl.Series
    sources: pl.Series
    grades: pl.Series
    codes: pl.Series


def _split(template: str) -> tuple[str, str]:
    """Split a text template around its {loc} placeholder."""
    before, _, after = template.partition("{loc}")
    return before, after


@lru_cache(maxsize=8)
def _tables(planted_locations: tuple[tuple[str, str, tuple[str, ...]], ...]) -> _Tables:
    """Build the phrase x location x false-positive summary table and the other string tables."""
    phrases: list[tuple[str, str]] = []
    starts, counts = [], []
    for code in schema.INCIDENT_CODES:
        texts = _ORDINARY_TEXT.get(code, (f"{code.title()} incident at {{loc}}",))
        starts.append(len(phrases))
        counts.append(len(texts))
        phrases.extend(_split(t) for t in texts)
    ume_tagged = (len(phrases), len(_UME_TAGGED_TEXT))
    phrases.extend(_split(t) for t in _UME_TAGGED_TEXT)
    ume_untagged = (len(phrases), len(_UME_UNTAGGED_TEXT))
    phrases.extend(_split(t) for t in _UME_UNTAGGED_TEXT)

    locations = list(_GENERIC_LOCATIONS)
    planted_loc: dict[str, tuple[int, int, int]] = {}
    for name, location, nearby in planted_locations:
        planted_loc[name] = (len(locations), len(locations) + 1, len(nearby))
        locations.append(location)
        locations.extend(nearby)

    n_p, n_l, n_f = len(phrases), len(locations), len(_FALSE_POSITIVE_TEXT)
    idx = np.arange(n_p * n_l * n_f)
    # Every (phrase, location, false-positive) combination once; rows then gather by index.
    frame = pl.DataFrame(
        {
            "pre": pl.Series([p[0] for p in phrases]).gather(idx // (n_l * n_f)),
            "loc": pl.Series(locations).gather(idx // n_f % n_l),
            "post": pl.Series([p[1] for p in phrases]).gather(idx // (n_l * n_f)),
            "fp": pl.Series(_FALSE_POSITIVE_TEXT).gather(idx % n_f),
        }
    )
    summaries = frame.select(pl.concat_str(["pre", "loc", "post", "fp"])).to_series()

    tag_lists = pl.Series(
        "tags",
        # Sorted, as the store keeps tag lists (a tag set is then one canonical value).
        [sorted(t for k, t in enumerate(TAGS) if mask >> k & 1) for mask in range(1 << len(TAGS))],
        dtype=pl.List(pl.String),
    )
    return _Tables(
        summaries=summaries,
        n_locs=n_l,
        n_fp=n_f,
        phrase_start=np.array(starts, dtype=np.int64),
        phrase_count=np.array(counts, dtype=np.int64),
        ume_tagged=ume_tagged,
        ume_untagged=ume_untagged,
        planted_loc=planted_loc,
        tag_lists=tag_lists,
        boroughs=pl.Series(schema.BOROUGH_NAMES, dtype=pl.String),
        sources=pl.Series(schema.CALL_SOURCES, dtype=pl.String),
        grades=pl.Series(schema.GRADINGS, dtype=pl.String),
        codes=pl.Series(schema.INCIDENT_CODES, dtype=pl.String),
    )


def _tables_for(cal: Calibration) -> _Tables:
    """The text tables for a calibration (cached by its planted locations)."""
    return _tables(tuple((p.name, p.location, p.nearby) for p in cal.planted))


@lru_cache(maxsize=4)
def _serial_strings(size: int) -> pl.Series:
    """'0', '1', ... as a String series, so serials become text by a gather."""
    return pl.Series([str(i) for i in range(size)], dtype=pl.String)


def _serials_as_text(serials: np.ndarray) -> pl.Series:
    """Serial numbers as strings, by a gather from a cached table."""
    top = int(serials.max()) + 1 if serials.size else 1
    size = 1 << max(15, (top - 1).bit_length())  # grow in powers of two; 32,768 covers a day
    return _serial_strings(size).gather(serials)
