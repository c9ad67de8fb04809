"""What a mapping adds to an export beyond naming its columns (see ingest/mapping.py).

Constants and defaults for fields the export lacks, value tables that translate the export's
own values (areas, call sources, priorities, codes, tags), and references composed from
several columns. Each runs once per batch, before validation, so every supplied or translated
value is validated exactly like an exported one.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from costplan.errors import ConfigError
from costplan.ingest.mapping import Mapping
from costplan.ingest.template import Reference
from costplan.ingest.values import _borough, _call_source, _grading, _text
from costplan.profile import Profile


# A validator of one field's value: value -> (canonical, reason). The area's is whatever
# validates the store's areas; today values._borough.
def _validators(profile: Profile) -> dict[str, Callable[[str], tuple[str | None, str | None]]]:
    """The validators ingest uses for the rows themselves, in the store's force profile."""
    return {
        "borough": _borough(profile),
        "call_source": _call_source({}, profile.call_sources),
        "grading": _grading({}, profile.gradings, profile.grading_names),
    }


def ref_column(i: int) -> str:
    """The name, in a raw batch, of the i-th export column a reference template reads."""
    return f"_ref{i}"


def check_targets(mapping: Mapping, profile: Profile) -> None:
    """Refuse, before anything is read, a table target, constant or default that is invalid.

    Call sources and gradings in value tables were checked when the mapping was loaded; the
    areas a table maps to, and every constant and default (after its own field's table), are
    checked here by the validator ingest uses for the rows themselves.

    Raises:
        ConfigError: naming the mapping, the key and the validator's reason.
    """
    source = f"mapping {mapping.path if mapping.path else mapping.name}"
    for fld, validate in _validators(profile).items():
        table = mapping.values.get(fld, {})
        checks = [(f"values.{fld}.{key!r}", target) for key, target in table.items()]
        for kind in ("constants", "defaults"):
            value = getattr(mapping, kind).get(fld)
            if value is not None:
                checks.append((f"{kind}.{fld}", table.get(value.strip().casefold(), value)))
        for where, value in checks:
            _, reason = validate(value)
            if reason is not None:
                raise ConfigError(
                    f"{source}: '{where}' must be a valid {fld}, not {value!r}", reason
                )


def supply(raw: pl.DataFrame, mapping: Mapping) -> tuple[pl.DataFrame, dict[str, int]]:
    """A raw batch with the mapping's constants, defaults and value tables applied.

    Returns:
        (batch, defaulted): defaulted counts, per field, the rows that took the default.
    """
    n = raw.height
    defaulted: dict[str, int] = {}
    added: list[pl.Series] = []
    for fld, value in mapping.constants.items():
        added.append(pl.repeat(value, n, dtype=pl.String(), eager=True).alias(fld))
    for fld, value in mapping.defaults.items():
        if fld not in raw.columns:
            added.append(pl.repeat(value, n, dtype=pl.String(), eager=True).alias(fld))
            defaulted[fld] = n
            continue
        col = raw[fld]
        if isinstance(col.dtype, pl.List):
            blank = col.is_null() | (col.list.len() == 0)
            filled = col.cast(pl.List(pl.String())).zip_with(~blank, pl.Series([[value]] * n))
        else:
            col = _text(raw, fld)
            blank = (col.is_null() | (col.str.strip_chars() == "")).fill_null(True)
            filled = col.zip_with(~blank, pl.repeat(value, n, dtype=pl.String(), eager=True))
        defaulted[fld] = int(blank.sum())
        added.append(filled.alias(fld))
    if added:
        raw = raw.with_columns(added)
    tables = [
        translate(_text(raw, fld), table).alias(fld)
        for fld, table in mapping.values.items()
        if fld != "tags" and fld in raw.columns
    ]
    if tables:
        raw = raw.with_columns(tables)
    return raw, {f: c for f, c in defaulted.items() if c}


def translate(values: pl.Series, table: dict[str, str]) -> pl.Series:
    """Values through a value table (keys case-folded and stripped); others unchanged.

    Each distinct value is looked up once: value tables are for short vocabularies.
    """
    hits = _hits(values, table)
    return values.replace(hits) if hits else values


def translate_items(lists: pl.Series, table: dict[str, str]) -> pl.Series:
    """Lists (tags) with each item through a value table."""
    if not table:
        return lists
    hits = _hits(lists.explode(), table)
    return lists.list.eval(pl.element().replace(hits)) if hits else lists


def _hits(values: pl.Series, table: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values.drop_nulls().unique().to_list():
        key = v.strip().casefold()
        if key in table and table[key] != v:
            out[v] = table[key]
    return out


def compose_reference(raw: pl.DataFrame, reference: Reference, day: pl.Series | None) -> pl.Series:
    """cad_ref text composed by the template; null where a part is blank.

    `day`: the rows' local days, for {created_at:...} parts (None if the template has none).
    """
    columns = reference.columns
    exprs: list[pl.Expr] = []
    for part in reference.parts:
        if part.literal:
            exprs.append(pl.lit(part.literal))
        if part.column is None:
            continue
        if part.day_format is not None:
            # Month names upper case, as references write them (25JUN20).
            e = pl.col("_day").dt.strftime(part.day_format).str.to_uppercase()
        else:
            e = pl.col(ref_column(columns.index(part.column))).cast(pl.String).str.strip_chars()
            e = pl.when(e.str.len_bytes() > 0).then(e)
            if part.pad:
                e = e.str.zfill(part.pad)
        exprs.append(e)
    frame = raw if day is None else raw.with_columns(day.alias("_day"))
    return frame.select(pl.concat_str(exprs).alias("cad_ref")).to_series()
