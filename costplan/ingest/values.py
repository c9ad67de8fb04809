"""Column-at-a-time parsers of export values: cad_ref, created_at, lists, text, value tables.

Each takes one column of a batch and returns the parsed column (and, where a value can be
refused, the reason), vectorised in Polars; normalise() runs them side by side and assembles
the record. Value lookups (boroughs, call sources, gradings) run once per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Literal, cast

import polars as pl

from costplan.ingest.mapping import Mapping, is_aware_format
from costplan.profile import Profile
from costplan.schema import (
    CAD_REF_RE,
    LABEL_NOT_CANONICAL,
    MONTHS,
    canonical_label,
)

_MONTHS = {m: i + 1 for i, m in enumerate(MONTHS)}
_UTC = pl.Datetime("us", "UTC")
_STRLIST = pl.List(pl.String())

# schema.CAD_REF_RE, tolerant of case and surrounding spaces so no column-wide strip/upper pass
# is needed first (the same strings match as with parse_cad_ref's strip().upper()).
assert CAD_REF_RE.pattern.startswith("^") and CAD_REF_RE.pattern.endswith("$")
_CAD_RE_LOOSE = r"(?i)^\s*" + CAD_REF_RE.pattern[1:-1] + r"\s*$"


# Canonical stored form, 'serial/DDMONYY': most exports already use it, and a plain match plus
# fixed slices is about twice as fast as capturing groups, so the general pattern only runs on
# the rows that are not canonical.
_CAD_CANON = (
    r"^[1-9][0-9]{0,5}/[0-3][0-9](?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[0-9]{2}$"
)
_CAD_KEY_DAYS = 1_000_000  # key = day number * this + serial (serials have at most 6 digits)


def _parse_cad(cad: pl.Series) -> pl.DataFrame:
    """cad_ref in canonical form, the day it encodes, and an integer key; nulls if malformed.

    Accepts exactly what schema.parse_cad_ref accepts ('CAD 0012/25jun20' -> '12/25JUN20').
    The key (day number x 10^6 + serial) identifies a cad_ref in 8 bytes, for fast joins.
    """
    n = cad.len()
    canon = cad.str.contains(_CAD_CANON).fill_null(False)
    all_canon = bool(canon.all())
    c = pl.col("c")
    pieces = {
        "serial": c.str.head(-8).str.to_integer(strict=False),
        "dd": c.str.slice(-7, 2).str.to_integer(strict=False),
        "mon": c.str.slice(-5, 3),
        "yy": c.str.slice(-2).str.to_integer(strict=False),
    }
    if not all_canon:
        pieces = {k: pl.when(pl.col("canon")).then(e) for k, e in pieces.items()}
    parts = pl.DataFrame({"c": cad, "canon": canon}).select(**pieces)
    # Canonical references are kept as they are (no copy); the others are rebuilt below.
    cad_ref = cad if all_canon else cad.zip_with(canon, _nulls(n, pl.String()))
    other = (~canon & cad.is_not_null()).arg_true()
    if not other.is_empty():
        g = cad.gather(other).str.extract_groups(_CAD_RE_LOOSE).struct.unnest()
        g.columns = ["serial", "dd", "mon", "yy"]
        slow = g.select(
            serial=pl.col("serial").str.to_integer(strict=False),
            dd=pl.col("dd").str.to_integer(strict=False),
            mon=pl.col("mon").str.to_uppercase(),
            yy=pl.col("yy").str.to_integer(strict=False),
        )
        parts = pl.DataFrame([parts[k].scatter(other, slow[k]) for k in parts.columns])
        fixed = g.select(pl.concat_str(["serial", pl.lit("/"), "dd", slow["mon"], "yy"]))
        cad_ref = cad_ref.scatter(other, fixed.to_series())
    # The encoded day as a day number, by integer arithmetic (Hinnant's days_from_civil):
    # several times faster than building dates, and an impossible day (31FEB) is simply null.
    # Eager select() does not share subexpressions, so each stage is materialised once.
    parts = parts.with_columns(
        _m=pl.col("mon").replace_strict(_MONTHS, default=None, return_dtype=pl.Int32),
        _d=pl.col("dd").cast(pl.Int32),
        _y=pl.col("yy").cast(pl.Int32) + 2000,
    )
    m, d, y = pl.col("_m"), pl.col("_d"), pl.col("_y")
    leap = ((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))).cast(pl.Int32)
    month_days = pl.when(m == 2).then(28 + leap).otherwise(30 + (m + m // 8) % 2)
    yp = y - (m <= 2).cast(pl.Int32)
    doy = (153 * (m + pl.when(m > 2).then(-3).otherwise(9)) + 2) // 5 + d - 1
    yoe = yp % 400
    days = (yp // 400) * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    parts = parts.with_columns(_n=days, _ok=((d >= 1) & (d <= month_days)).fill_null(False))
    ok = parts["_ok"]
    if not ok.all():
        cad_ref = cad_ref.zip_with(ok, _nulls(n, pl.String()))
        parts = parts.with_columns(_n=pl.when(pl.col("_ok")).then(pl.col("_n")))
    return parts.select(
        cad_ref.alias("cad_ref"),
        _cad_day=pl.col("_n").cast(pl.Date),
        _key=pl.col("_n").cast(pl.Int64) * _CAD_KEY_DAYS + pl.col("serial"),
    )


def _parse_ref(cad: pl.Series, profile: Profile) -> pl.DataFrame:
    """cad_ref for a profile whose references are not the MPS style (see profile.Reference).

    "unique": any non-blank text, stripped, unique in the force; no day is encoded, so the
    encoded day is taken to be the stored one. "pattern": the stripped text must match the
    pattern, whose `date` group (read with date_format) must be the stored local day. The key
    is the reference itself (text joins are exact; a hash could collide).
    """
    ref = profile.reference
    frame = pl.DataFrame({"c": cad.str.strip_chars()}).select(c=_blank_to_null(pl.col("c")))
    if ref.format == "unique":
        # No day in the reference: normalise() takes the stored day as the encoded one.
        return frame.select(cad_ref="c", _cad_day=pl.lit(None, pl.Date), _key="c")
    assert ref.pattern is not None and ref.date_format is not None  # the profile checked it
    group = re.compile(ref.pattern).groupindex["date"]
    ok = pl.col("c").str.contains(ref.pattern)
    date = (
        pl.col("c")
        .str.extract(ref.pattern, group)
        .str.strptime(pl.Date, ref.date_format, strict=False)
    )
    good = ok & date.is_not_null()
    return frame.select(
        cad_ref=pl.when(good).then(pl.col("c")),
        _cad_day=pl.when(good).then(date),
        _key=pl.when(good).then(pl.col("c")),
    )


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_bytes() > 0).then(e)


def _nulls(n: int, dtype: pl.DataType) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True)


def _text(raw: pl.DataFrame, fld: str) -> pl.Series:
    """A field as text exactly as read (typed Parquet values as text); absent -> all null."""
    if fld not in raw.columns:
        return _nulls(raw.height, pl.String()).alias(fld)
    s = raw[fld]
    if isinstance(s.dtype, pl.List):
        s = s.cast(_STRLIST).list.join(", ")
    elif s.dtype != pl.String:
        s = s.cast(pl.String)
    return s.alias(fld)


def _labels(values: pl.Series) -> pl.Series:
    """Tags or codes in their canonical form (schema.canonical_label); blanks become ''.

    Labels come from a short vocabulary, so the distinct values are looked at, not the rows:
    usually all are canonical and the column is returned as it is; otherwise each value that
    is not is mapped once.
    """
    fixed = _label_map(values)
    return values.replace(fixed) if fixed else values


def _label_lists(lists: pl.Series) -> pl.Series:
    """Lists of tags in canonical form, without the items that were only white space."""
    fixed = _label_map(lists.explode())
    if not fixed:
        return lists
    item = pl.element().replace(fixed)
    return lists.list.eval(item.filter(item.str.len_bytes() > 0))


def _label_map(values: pl.Series) -> dict[str, str]:
    """{value: canonical_label(value)} for the distinct values that may not be canonical."""
    distinct = values.drop_nulls().unique()
    odd = distinct.filter(distinct.str.contains(LABEL_NOT_CANONICAL))
    return {v: canonical_label(v) for v in odd.to_list()}


# The character set of a stored tag or code (docs/store.md, "Tags and codes"): letters and
# digits of any script, spaces and a few joiners, starting with a letter or digit, at most
# LABEL_MAX characters, checked on the canonical (stripped, upper-case) form. Nothing outside
# it is stored: no leading = + - @ (a spreadsheet formula), no tab, CR or other control, no
# < > (markup), no quote, comma, semicolon or pipe (list and table separators).
LABEL_JOINERS = "_-./&()':+#"
LABEL_MAX = 64
_LABEL_RE = r"^[\p{L}\p{N}][\p{L}\p{N} " + re.escape(LABEL_JOINERS) + rf"]{{0,{LABEL_MAX - 1}}}$"
LABEL_RULE = (
    f"letters, digits, spaces and {' '.join(LABEL_JOINERS)}, starting with a letter or digit, "
    f"at most {LABEL_MAX} characters"
)


def _label_problems(labels: dict[str, pl.Series], pool: Executor | None = None) -> pl.Series | None:
    """Why each row's tags or codes fall outside the label character set (None: all fine).

    `labels` maps what a column holds ("tag", "opening_code"...) to the canonical column, text
    or lists of text. Only distinct values are matched, so a clean vocabulary costs one
    regex pass over a few dozen strings; a row's reason names its first bad value per column.
    With a `pool` the columns are looked at side by side (finding a million rows' distinct
    values is most of the cost, and Polars releases the GIL).
    """
    items = list(labels.items())
    if pool is None:
        found = [_label_problem(what, col) for what, col in items]
    else:
        found = list(pool.map(lambda item: _label_problem(*item), items))
    reasons = [r for r in found if r is not None]
    if not reasons:
        return None
    joined = pl.DataFrame({str(i): r for i, r in enumerate(reasons)}).select(
        pl.concat_str(pl.all(), separator="; ", ignore_nulls=True)
    )
    out = joined.to_series()
    return out.zip_with(out != "", _nulls(out.len(), pl.String()))


def _label_problem(what: str, col: pl.Series) -> pl.Series | None:
    """One column's reasons (its first bad value a row), or None if every value is fine."""
    values = col.explode() if isinstance(col.dtype, pl.List) else col
    distinct = values.drop_nulls().unique()
    bad = distinct.filter(~distinct.str.contains(_LABEL_RE) & (distinct != ""))
    if bad.is_empty():
        return None
    shown = {v: f"invalid {what}: {_shown(v)} (allowed: {LABEL_RULE})" for v in bad}
    if isinstance(col.dtype, pl.List):
        first = col.list.eval(pl.element().filter(pl.element().is_in(bad.implode()))).list.first()
    else:
        hit = col.is_in(bad.implode()).fill_null(False)
        first = col.zip_with(hit, _nulls(col.len(), pl.String()))
    return first.replace_strict(shown, default=None, return_dtype=pl.String)


def _shown(value: str, limit: int = 40) -> str:
    """A refused value for a reason: quoted, control characters escaped, long ones cut."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


def _list(
    raw: pl.DataFrame, fld: str, sep: str, *, refs: bool = False, labels: bool = False
) -> pl.Series:
    """A list field: split text on the separator (or take a list column), strip, drop blanks.

    `refs`: items are CAD references, in their stored form; `labels`: items are tags, in their
    canonical form (schema.canonical_label). The item-by-item clean-up (list.eval) costs 4x a
    plain split, so it runs only when some value of the batch needs it.
    """
    if fld not in raw.columns:
        return pl.select(pl.repeat(pl.lit([], dtype=_STRLIST), raw.height)).to_series().alias(fld)
    s = raw[fld]
    if isinstance(s.dtype, pl.List):
        lst, messy = s.cast(_STRLIST), True
    else:
        s = s.cast(pl.String)
        e = re.escape(sep)
        # Labels that canonical_label would change take the slow path too (in the same pass):
        # a lower-case letter, or a separator control str.strip() removes and \s does not.
        cased = r"|\p{Changes_When_Uppercased}|[\x1c-\x1f]" if labels else ""
        messy = bool(s.str.contains(rf"(^|{e})\s|\s($|{e})|{e}{e}|^{e}|{e}$|^${cased}").any())
        if refs and not messy:
            messy = bool(s.str.contains(rf"[a-z]|CAD|(^|{e})0").any())
        lst = s.str.split(sep)
    if messy:
        item = pl.element().str.strip_chars()
        if refs:
            # Linked CAD references in their canonical stored form ('CAD 0012/...' -> '12/...').
            item = item.str.to_uppercase().str.replace(r"^(?:CAD\s*)?0*", "")
        lst = lst.list.eval(item.filter(item.str.len_bytes() > 0))
        if labels:
            lst = _label_lists(lst)
    return lst.fill_null([]).alias(fld)


def _parse_created(
    raw: pl.DataFrame, text: pl.Series, mapping: Mapping, zone: str
) -> tuple[pl.Series, pl.Series, pl.Series | None]:
    """created_at as UTC instants, its local day in `zone` (the store's), and reasons for
    impossible local times.

    Naive timestamps are local times in the mapping's zone, by default the store's. Formats
    are tried in order on the rows still unparsed, first on the text as read, then on the
    leftovers stripped of spaces, so a clean file that uses the first format pays for one
    parse. Parquet timestamp columns are taken as typed values.
    """
    n = text.len()
    special: pl.Series | None = None
    naive_zone = mapping.timezone or zone
    dtype = raw.schema.get("created_at")
    if isinstance(dtype, pl.Datetime):
        col = raw["created_at"].dt.cast_time_unit("us")
        if dtype.time_zone is None:
            utc, special = _localise(col, text, mapping, naive_zone)
            return utc.alias("created_at"), _day(col, utc, naive_zone, zone), special
        utc = col.dt.convert_time_zone("UTC").alias("created_at")
        return utc, utc.dt.convert_time_zone(zone).dt.date().alias("day"), None
    utc = _nulls(n, _UTC)
    day = _nulls(n, pl.Date())
    todo = text.is_not_null()
    for attempt in ("as read", "stripped"):
        if attempt == "stripped":
            if not todo.any():
                break
            text = text.str.strip_chars()
        for fmt in mapping.timestamp_formats:
            whole = bool(todo.all())
            idx = None if whole else todo.arg_true()
            if idx is not None and idx.is_empty():
                break
            sub = text if idx is None else text.gather(idx)
            # cache=False: timestamps are nearly all distinct, so the parse cache only costs.
            parsed = sub.str.strptime(pl.Datetime("us"), fmt, strict=False, cache=False)
            hit = parsed.is_not_null()
            n_hit = int(hit.sum())
            if n_hit == 0:
                continue
            if n_hit < sub.len():
                parsed, sub = parsed.filter(hit), sub.filter(hit)
            if is_aware_format(fmt):
                u = parsed.dt.convert_time_zone("UTC")
                d = u.dt.convert_time_zone(zone).dt.date()
                sp = None
            else:
                u, sp = _localise(parsed, sub, mapping, naive_zone)
                d = _day(parsed, u, naive_zone, zone)
            if idx is None and n_hit == n:
                utc, day, todo = u, d, pl.repeat(False, n, eager=True)
                special = sp
                break
            where = (pl.int_range(n, eager=True) if idx is None else idx).filter(hit)
            utc = utc.scatter(where, u)
            day = day.scatter(where, d)
            if sp is not None:
                special = (_nulls(n, pl.String()) if special is None else special).scatter(
                    where, sp
                )
            todo = todo.scatter(where, False)
    return utc.alias("created_at"), day.alias("day"), special


def _day(naive: pl.Series, utc: pl.Series, naive_zone: str, zone: str) -> pl.Series:
    """The local day in `zone` of times read as naive in `naive_zone`: their own date when the
    zones are one (the usual case, and cheaper), else the date of the instant in `zone`."""
    if naive_zone == zone:
        return naive.dt.date().alias("day")
    return utc.dt.convert_time_zone(zone).dt.date().alias("day")


def _localise(
    naive: pl.Series, text: pl.Series, mapping: Mapping, tz: str
) -> tuple[pl.Series, pl.Series | None]:
    """Naive local times -> UTC in zone `tz`; reasons for impossible/ambiguous ones."""
    special: pl.Series | None = None
    if mapping.ambiguous == "quarantine":
        local = naive.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
        # Only a time that came out null can be ambiguous: look at those again, not them all.
        earliest = local
        unsure = (local.is_null() & naive.is_not_null()).arg_true()
        if not unsure.is_empty():
            again = naive.gather(unsure).dt.replace_time_zone(
                tz, ambiguous="earliest", non_existent="null"
            )
            earliest = local.clone().scatter(unsure, again)  # scatter writes in place
        amb = local.is_null() & earliest.is_not_null()
        if amb.any():
            special = _nulls(naive.len(), pl.String())
            i = amb.arg_true()
            special = special.scatter(
                i, "ambiguous timestamp: '" + text.gather(i) + f"' occurs twice in {tz}"
            )
    else:
        # "earliest" or "latest": the mapping validated it (ingest/mapping.py).
        choice = cast(Literal["earliest", "latest"], mapping.ambiguous)
        local = naive.dt.replace_time_zone(tz, ambiguous=choice, non_existent="null")
        earliest = local
    gap = naive.is_not_null() & earliest.is_null()
    if gap.any():
        special = _nulls(naive.len(), pl.String()) if special is None else special
        i = gap.arg_true()
        special = special.scatter(
            i,
            "impossible timestamp: '"
            + text.gather(i)
            + f"' does not exist in {tz} (clocks went forward)",
        )
    return local.dt.convert_time_zone("UTC"), special


def _value_map(
    values: pl.Series,
    fn: Callable[[str], tuple[str | None, str | None]],
    canonical: Sequence[str] = (),
) -> tuple[pl.Series, pl.Series]:
    """Map each distinct value once through fn -> (canonical, reason), as two columns.

    When every value is already canonical (the usual case) the lookup is skipped.
    """
    n = values.len()
    if canonical and bool(values.is_in(list(canonical)).fill_null(True).all()):
        return values, _nulls(n, pl.String())
    canon: dict[str, str] = {}
    why: dict[str, str] = {}
    for u in values.drop_nulls().unique().to_list():
        c, r = fn(u)
        if c is not None:
            canon[u] = c
        if r is not None:
            why[u] = r
    c_out = (
        values.replace_strict(canon, default=None, return_dtype=pl.String)
        if canon
        else _nulls(n, pl.String())
    )
    r_out = (
        values.replace_strict(why, default=None, return_dtype=pl.String)
        if why
        else _nulls(n, pl.String())
    )
    return c_out, r_out


def _borough(profile: Profile) -> Callable[[str], tuple[str | None, str | None]]:
    """The area a value names in the store's profile (names, codes, aliases), or why not."""
    word = profile.area_word

    def fn(value: str) -> tuple[str | None, str | None]:
        if not value.strip():
            return None, "missing required value: borough"
        name = profile.canonical(value)
        if name is not None:
            return name, None
        elsewhere = profile.elsewhere_reason(value)
        if elsewhere is not None:
            return None, elsewhere
        hint = profile.suggest(value, 1)
        return None, f"unknown {word}: {value!r}" + (f" (did you mean {hint[0]}?)" if hint else "")

    return fn


def _call_source(
    table: dict[str, str], sources: Sequence[str]
) -> Callable[[str], tuple[str | None, str | None]]:
    def fn(value: str) -> tuple[str | None, str | None]:
        key = value.strip().casefold()
        if not key:
            return None, "missing required value: call_source"
        if key in table:
            return table[key], None
        key = re.sub(r"[\s\-]+", "_", key)
        if key in sources:
            return key, None
        return None, f"invalid call_source: {value!r} (expected one of {', '.join(sources)})"

    return fn


def _grading(
    table: dict[str, str], gradings: Sequence[str], names: dict[str, str]
) -> Callable[[str], tuple[str | None, str | None]]:
    def fn(value: str) -> tuple[str | None, str | None]:
        key = value.strip().casefold()
        if not key:
            return None, "missing required value: grading"
        if key in table:
            return table[key], None
        if key.upper() in gradings:
            return key.upper(), None
        if key in names:
            return names[key], None
        return None, f"invalid grading: {value!r} (expected one of {', '.join(gradings)})"

    return fn
