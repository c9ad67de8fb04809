"""Normalisation and validation of a batch of raw export rows (vectorised).

normalise() splits a batch into records in the stored form and refused rows with every reason
that applies; _canonical() and _differing() put stored rows in the same form and name the
fields where two rows differ, so "exact duplicate" and "conflict" are decided by one rule.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

from costplan.ingest.fill import compose_reference, translate_items
from costplan.ingest.mapping import Mapping
from costplan.ingest.values import (
    _blank_to_null,
    _borough,
    _call_source,
    _grading,
    _label_lists,
    _label_problems,
    _labels,
    _list,
    _nulls,
    _parse_cad,
    _parse_created,
    _parse_ref,
    _text,
    _value_map,
)
from costplan.profile import Profile, mps
from costplan.schema import RECORD_COLUMNS, RECORD_SCHEMA

# Fields compared to decide "exact duplicate" or "conflict"; day and year follow created_at.
COMPARE_FIELDS: tuple[str, ...] = tuple(
    c for c in RECORD_COLUMNS if c not in ("cad_ref", "day", "year")
)
_TEXT_FIELDS = ("opening_code", "closing_code", "summary")
_LABEL_FIELDS = ("opening_code", "closing_code")
_LIST_FIELDS = ("tags", "linked_to")
# A refused row: its ordinal, every reason joined with '; ', and each reason's kind.
_REFUSED: dict[str, pl.DataType] = {
    "_ord": pl.Int64(),
    "_reason": pl.String(),
    "_kinds": pl.List(pl.String()),
}


@functools.cache
def _workers() -> ThreadPoolExecutor:
    """Threads for normalise()'s independent column jobs (one per core, at most seven)."""
    return ThreadPoolExecutor(
        max_workers=min(7, os.cpu_count() or 2), thread_name_prefix="costplan-normalise"
    )


def normalise(
    raw: pl.DataFrame, mapping: Mapping, profile: Profile | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split raw export rows into valid records and refused rows with their reasons.

    Args:
        raw: one column per mapped schema field present in the export (named by the field),
            plus `_ord` (the row's ordinal in its file). CSV columns are text; Parquet columns
            may be typed.
        mapping: timestamp formats, zone, list separators and value tables.
        profile: the store's force profile (None: the MPS): its areas, references,
            vocabularies and the zone of the stored day.

    Returns:
        (valid, refused): valid has `_ord`, `_key` (the cad_ref as an integer) and
        RECORD_COLUMNS in RECORD_SCHEMA types; refused has `_ord`, `_reason` (every
        applicable reason, joined with '; ') and `_kinds` (each reason's kind, for counting).
    """
    force = profile or mps()
    ts = _text(raw, "created_at")
    b_raw, s_raw, g_raw = (_text(raw, f) for f in ("borough", "call_source", "grading"))
    ref = mapping.reference
    early: tuple[pl.Series, pl.Series, pl.Series | None] | None = None
    if ref is None:
        cad = _text(raw, "cad_ref")
    elif ref.uses_day:
        # The composed reference carries the row's day: parse the times first.
        early = _parse_created(raw, ts, mapping, force.time_zone)
        cad = compose_reference(raw, ref, early[1])
    else:
        cad = compose_reference(raw, ref, None)
    tag_table = mapping.values.get("tags", {})
    # The column groups are independent and each step below works on one column at a time:
    # run them side by side (Polars releases the GIL) to use both cores.
    jobs: dict[str, Callable[[], Any]] = {
        "created": (
            (lambda: early)
            if early
            else (lambda: _parse_created(raw, ts, mapping, force.time_zone))
        ),
        "cad": lambda: (
            _parse_cad(cad)
            if force.reference.format == "serial/DDMONYY"
            else _parse_ref(cad, force)
        ),
        # The mapping's value tables were applied before validation (ingest/fill.py): the
        # validators see the profile's own words, so they take no table of their own.
        "borough": lambda: _value_map(b_raw, _borough(force), force.area_names),
        "source": lambda: _value_map(
            s_raw, _call_source({}, force.call_sources), force.call_sources
        ),
        "grading": lambda: _value_map(
            g_raw, _grading({}, force.gradings, force.grading_names), force.gradings
        ),
        "tags": lambda: translate_items(
            _list(raw, "tags", mapping.tags_separator, labels=True), tag_table
        ),
        "opening": lambda: _labels(_text(raw, "opening_code")),
        "closing": lambda: _labels(_text(raw, "closing_code")),
        "linked": lambda: _list(raw, "linked_to", mapping.linked_to_separator, refs=True),
    }
    pool = _workers()
    futures = {k: pool.submit(fn) for k, fn in jobs.items()}
    done = {k: f.result() for k, f in futures.items()}
    created, day, special = done["created"]
    borough, b_reason = done["borough"]
    source, s_reason = done["source"]
    grading, g_reason = done["grading"]
    frame = pl.DataFrame(
        [
            raw["_ord"],
            cad.alias("_cad"),
            ts.alias("_ts"),
            created,
            day,
            (special if special is not None else _nulls(raw.height, pl.String())).alias("_tsr"),
            b_raw.alias("_b"),
            borough.alias("borough"),
            b_reason.alias("_br"),
            s_raw.alias("_s"),
            source.alias("call_source"),
            s_reason.alias("_sr"),
            g_raw.alias("_g"),
            grading.alias("grading"),
            g_reason.alias("_gr"),
            done["opening"].alias("opening_code"),
            done["closing"].alias("closing_code"),
            _text(raw, "summary").alias("summary"),
            done["tags"],
            done["linked"],
        ]
    ).hstack(done["cad"])
    if force.reference.format == "unique":  # no day in the reference: nothing to compare
        frame = frame.with_columns(_cad_day=pl.col("day"))
    # Tags and codes outside the documented character set are refused (ingest/values.py).
    labels = _label_problems(
        {
            "tag": done["tags"],
            "opening_code": done["opening"],
            "closing_code": done["closing"],
        },
        pool,
    )
    frame = frame.with_columns(
        (labels if labels is not None else _nulls(raw.height, pl.String())).alias("_lr")
    )
    frame = frame.with_columns(
        # Tags and codes in canonical form (schema.canonical_label); a blank code is no code.
        opening_code=_blank_to_null(pl.col("opening_code")),
        closing_code=_blank_to_null(pl.col("closing_code")),
        # DuckDB reads an empty field as null already; Parquet may hold empty strings.
        summary=_blank_to_null(pl.col("summary"))
        if bool((frame["summary"].str.len_bytes() == 0).any())
        else pl.col("summary"),
        year=pl.col("day").dt.year().cast(pl.Int16),
        _ok=(
            pl.col("cad_ref").is_not_null()
            & pl.col("created_at").is_not_null()
            & pl.col("borough").is_not_null()
            & pl.col("call_source").is_not_null()
            & pl.col("grading").is_not_null()
            & (pl.col("_cad_day") == pl.col("day"))
            & pl.col("_lr").is_null()
        ).fill_null(False),
    )
    ok = frame["_ok"]
    if ok.all():
        return frame.select("_ord", "_key", *RECORD_COLUMNS), pl.DataFrame(schema=_REFUSED)
    valid = frame.select("_ord", "_key", *RECORD_COLUMNS).filter(ok)
    return valid, _reasons(frame.filter(~ok), mapping, force)


def _reasons(bad: pl.DataFrame, mapping: Mapping, profile: Profile) -> pl.DataFrame:
    """Why each refused row was refused (computed for the refused rows only)."""

    def blank(col: str) -> pl.Expr:
        return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")

    def missing(col: str, fld: str) -> pl.Expr:
        return pl.when(pl.col(col).is_null()).then(pl.lit(f"missing required value: {fld}"))

    expected = " or ".join(mapping.timestamp_formats[:3])
    if len(mapping.timestamp_formats) > 3:
        expected += "..."
    reasons = pl.concat_list(
        [
            pl.when(blank("_cad")).then(pl.lit("missing required value: cad_ref")),
            pl.when(~blank("_cad") & pl.col("cad_ref").is_null()).then(
                pl.lit("malformed cad_ref: '") + pl.col("_cad").str.strip_chars() + pl.lit("'")
            ),
            pl.when(blank("_ts")).then(pl.lit("missing required value: created_at")),
            pl.col("_tsr"),
            pl.when(~blank("_ts") & pl.col("created_at").is_null() & pl.col("_tsr").is_null()).then(
                pl.lit("unparseable timestamp: '")
                + pl.col("_ts").str.strip_chars()
                + pl.lit(f"' (expected {expected})")
            ),
            missing("_b", "borough"),
            pl.col("_br"),
            missing("_s", "call_source"),
            pl.col("_sr"),
            missing("_g", "grading"),
            pl.col("_gr"),
            pl.col("_lr"),
            pl.when(
                pl.col("cad_ref").is_not_null()
                & pl.col("created_at").is_not_null()
                & (pl.col("_cad_day") != pl.col("day"))
            ).then(
                pl.lit("cad_ref date does not match created_at: ")
                + pl.col("cad_ref")
                + pl.lit(f" vs {profile.day_word} ")
                + pl.col("day").cast(pl.String)
            ),
        ]
    ).list.drop_nulls()
    # Every refused row has a reason above; the fallback only guards against a silent gap.
    reasons = pl.when(reasons.list.len() == 0).then(pl.lit(["invalid row"])).otherwise(reasons)
    framed = bad.select("_ord", reasons.alias("_why"))
    return framed.select(
        "_ord",
        pl.col("_why").list.join("; ").alias("_reason"),
        pl.col("_why").list.eval(reason_kind(pl.element())).alias("_kinds"),
    )


def reason_kind(reason: pl.Expr) -> pl.Expr:
    """The kind of one reason, without its values: 'unknown borough: 'X'' -> 'unknown borough'.

    Kinds are counted from each row's list of reasons, never by splitting the joined text
    (a quoted value may itself contain '; ').
    """
    return reason.str.split(": ").list.first().str.split(" (").list.first()


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Stored rows in the form normalise() produces, so equal content compares equal.

    A store written before tags and codes had one form (schema.canonical_label) may hold 'ume':
    its row and a new export's 'UME' are the same record, a duplicate, not a conflict.
    """
    present = [c for c in RECORD_COLUMNS if c in frame.columns]
    frame = frame.select(present).cast({c: RECORD_SCHEMA[c] for c in present})
    frame = frame.with_columns(
        [_labels(frame[c]) for c in _LABEL_FIELDS if c in present]
        + ([_label_lists(frame["tags"])] if "tags" in present else [])
    )
    return frame.with_columns(
        *[pl.col(c).fill_null([]) for c in _LIST_FIELDS if c in present],
        *[_blank_to_null(pl.col(c)) for c in _TEXT_FIELDS if c in present],
    )


def _differing(fields: Sequence[str] = COMPARE_FIELDS) -> pl.Expr:
    """'a, b' naming the fields where a row differs from its `<field>_ref` twin ('' if none)."""
    return pl.concat_str(
        [pl.when(~pl.col(f).eq_missing(pl.col(f + "_ref"))).then(pl.lit(f)) for f in fields],
        separator=", ",
        ignore_nulls=True,
    )
