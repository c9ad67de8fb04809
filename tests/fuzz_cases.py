"""Fuzzed requests and exports, shared by tests/test_fuzz.py (a fixed budget in CI) and
bench/fuzz.py (10,000 requests and 2,000 exports, counts printed).

A request case is a request TOML file (mostly well formed, with hostile values: huge, tiny,
negative and non-finite numbers, control characters, wrong types, unknown keys, impossible
dates and times) plus the options `plan` is run with; a few cases are quick `check` and
`estimate` command lines with fuzzed numbers. An export case is a CSV from the property
test's row generator with byte-level damage (a stray CR, an LF line in a CRLF file, quotes,
NUL, invalid UTF-8, a BOM, truncation). Each runs through the real CLI entry in-process
(typer's CliRunner); the outcome is sorted into kinds, and a traceback is any exception that
is not the CLI's own exit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from typer.testing import CliRunner

from costplan.cli import app
from tests.test_ingest_property import _write, exports

runner = CliRunner()

BOROUGHS = ["Lambeth", "Haringey", "Barking and Dagenham", "kingston", "Atlantis", "", "LAMBETH"]
NASTY_TEXT = ["", " ", "\r", "\n", "\x00", "\x85", "\u2028", "=SUM(1)", "<b>", "'", '"', "\\",
              "é", "\U0001f600", "a" * 300, "--store", "UME", "ume", "DV"]  # fmt: skip
NUMBERS = ["0", "1", "3", "2.5", "-1", "1e30", "1e-30", "1e400", "-1e400", "inf", "-inf", "nan",
           "480", "480.0000001", "999999999999999999999999", "0.000000000000000000000001",
           "1_000", "0x10", "1e15", "1e16", "3.0", "true", '"3"', '"1e400"', "[]"]  # fmt: skip
DATES = ["2020-06-25", "2020-06-24", "2021-01-02", "2020-10-25", "2020-02-30", "1900-01-01",
         "9999-12-31", '"2020-06-25"', "2020-06-25T10:00:00", "0", '"yesterday"']  # fmt: skip
TIMES = ['"00:00"', '"24:00"', '"22:00"', '"04:00"', '"23:59"', '"24:01"', '"25:00"', '"7:5"',
         '"12:00:00"', '"-1:00"', "12", '""', '"noon"']  # fmt: skip


def _text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, and \\u escapes stay valid)."""
    return json.dumps(value, ensure_ascii=False)


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


text_values = st.sampled_from(NASTY_TEXT).map(_text)
borough_values = st.one_of(
    st.sampled_from(BOROUGHS).map(_text),
    st.lists(st.sampled_from(BOROUGHS).map(_text), max_size=4).map(_list),
    st.sampled_from(NUMBERS),
)
label_lists = st.one_of(
    st.lists(st.sampled_from(NASTY_TEXT).map(_text), max_size=4).map(_list),
    text_values,
    st.sampled_from(NUMBERS),
)
item_keys: dict[str, Any] = {
    "name": text_values,
    "boroughs": borough_values,
    "borough": borough_values,
    "date": st.sampled_from(DATES),
    "date_from": st.sampled_from(DATES),
    "date_to": st.sampled_from(DATES),
    "time_from": st.sampled_from(TIMES),
    "time_to": st.sampled_from(TIMES),
    "tags": label_lists,
    "keywords": label_lists,
    "opening_codes": label_lists,
    "fields": st.lists(
        st.sampled_from(["count", "cad_refs", "created_at", "call_source", "summary", ""]).map(
            _text
        ),
        max_size=4,
    ).map(_list),
    "minutes_per_record": st.sampled_from(NUMBERS),
    "related": st.sampled_from(["true", "false", '"yes"', "1"]),
    "colour": text_values,  # unknown
}
top_keys: dict[str, Any] = {
    "reference": text_values,
    "received": st.sampled_from(DATES),
    "requester": text_values,
    "regime": st.sampled_from(["uk-foia-other", "foisa", "eir", "ireland-foi", "nope", ""]).map(
        _text
    ),
    "minutes_per_record": st.sampled_from(NUMBERS),
    "colour": text_values,
}


# Sane values of optional keys, so most requests get past validation into the planner.
SANE_ITEM = {
    "date_from": ["2020-06-24"],
    "date_to": ["2020-06-26", "2021-01-02", "2020-10-25"],
    "time_from": ['"22:00"', '"00:00"', '"10:00"'],
    "time_to": ['"04:00"', '"24:00"', '"10:30"'],
    "keywords": ['["music"]', '["rave", "party"]'],
    "opening_codes": ['["NOISE"]', '["ume"]'],
    "fields": ['["count", "cad_refs"]', '["created_at", "call_source"]'],
    "minutes_per_record": ["1", "0.5", "3", "12"],
    "boroughs": ['["Lambeth", "Haringey"]', '["Barking and Dagenham"]', '["Camden"]'],
    "related": ["false"],
    "tags": ['["UME", "DV"]', '["MH"]', '["ZZ"]', "[]"],
}
HOSTILE_COUNTS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3]


@st.composite
def _item(draw: st.DrawFn) -> str:
    # Usually a scope the fixture store answers, sane options, and now and then hostile keys.
    lines = {"boroughs": '["Lambeth"]', "date": "2020-06-25", "tags": '["UME"]'}
    for key in draw(st.lists(st.sampled_from(sorted(SANE_ITEM)), max_size=4, unique=True)):
        lines[key] = draw(st.sampled_from(SANE_ITEM[key]))
    if "date_from" in lines:
        del lines["date"]
    if ("time_from" in lines) != ("time_to" in lines):  # a window has both ends
        lines.setdefault("time_from", '"21:00"')
        lines.setdefault("time_to", '"03:00"')
    n = draw(st.sampled_from(HOSTILE_COUNTS))
    for key in draw(st.lists(st.sampled_from(sorted(item_keys)), max_size=n, unique=True)):
        lines[key] = draw(item_keys[key])
    if draw(st.integers(0, 4)) == 0:
        del lines[draw(st.sampled_from(sorted(lines)))]
    return "[[items]]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items())


@dataclass(frozen=True)
class RequestCase:
    """One command: a request file's text (None: a command without one) and its arguments."""

    toml: str | None
    args: tuple[str, ...]


@st.composite
def request_cases(draw: st.DrawFn) -> RequestCase:
    kind = draw(st.sampled_from(["plan"] * 8 + ["check", "estimate"]))
    number = st.sampled_from([n.strip('"') for n in NUMBERS if n != "[]"])
    if kind == "estimate":
        args = ["estimate", "--records", draw(number), "--minutes-per-record", draw(number)]
        return RequestCase(None, tuple(args))
    if kind == "check":
        args = ["check", "--borough", draw(st.sampled_from(BOROUGHS[:4])), "--date", "2020-06-25"]
        args += ["--minutes-per-record", draw(number)]
        if draw(st.booleans()):
            args += ["--time-from", draw(st.sampled_from(TIMES)).strip('"')]
            args += ["--time-to", draw(st.sampled_from(TIMES)).strip('"')]
        return RequestCase(None, tuple(args))
    n = draw(st.sampled_from(HOSTILE_COUNTS))
    keys = draw(st.lists(st.sampled_from(sorted(top_keys)), max_size=n, unique=True))
    top = {k: draw(top_keys[k]) for k in keys}
    body = "".join(f"{k} = {v}\n" for k, v in top.items())
    body += "\n".join(draw(st.lists(_item(), min_size=1, max_size=3)))
    if draw(st.integers(0, 19)) == 0:  # now and then, not TOML at all
        cut = draw(st.integers(len(body) // 2, len(body)))
        body = body[:cut] + draw(st.sampled_from(["[[", "= =", '"']))
    fmt = draw(st.sampled_from(["json", "table", "markdown"]))
    args = ["plan", "{request}", "--format", fmt]
    if draw(st.integers(0, 3)) == 0:
        args += ["--disclose", "{out}"]
    if draw(st.integers(0, 5)) == 0:
        args += ["--letter"]
    return RequestCase(body, tuple(args))


def run_request(case: RequestCase, store: Path, tmp: Path) -> tuple[str, int | None]:
    """Run one request case; returns (kind, exit code). Kinds: ok, user-error (exit 2, one
    line), uncovered (3), other-exit, traceback (any exception but the CLI's exit), and
    multi-line (an error that is more than one stderr line)."""
    request = tmp / "request.toml"
    if case.toml is not None:
        request.write_text(case.toml, encoding="utf-8")
    out = tmp / "release.csv"
    out.unlink(missing_ok=True)
    args = [a.format(request=request, out=out) for a in case.args] + ["--store", str(store)]
    if case.args[0] == "estimate":
        args = args[:-2]
    res = runner.invoke(app, args, catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return "traceback", None
    if res.exit_code == 2 and len(res.stderr.strip().splitlines()) != 1:
        return "multi-line", 2
    return {0: "ok", 2: "user-error", 3: "uncovered"}.get(res.exit_code, "other-exit"), (
        res.exit_code
    )


# -- exports ------------------------------------------------------------------------------------
DAMAGE = ["none", "cr", "cr", "lf_in_crlf", "crlf_all", "quote", "nul", "bad_utf8", "bom", "cut"]
# Damage that never changes how many rows the export holds (so rows in is known exactly).
KEEPS_ROWS = {"none", "cr", "lf_in_crlf", "crlf_all", "bom", "nul"}


@dataclass(frozen=True)
class ExportCase:
    rows: list[dict[str, Any]]
    damage: str
    at: float  # where the damage goes, as a fraction of the file
    batch_rows: int


export_cases = st.builds(
    ExportCase,
    rows=exports,
    damage=st.sampled_from(DAMAGE),
    at=st.floats(0.0, 1.0),
    batch_rows=st.sampled_from([3, 8, 1_000_000]),
)


def _damaged(body: bytes, damage: str, at: float) -> bytes:
    header_end = body.find(b"\n") + 1  # damage the data, not the header line
    if damage == "none" or len(body) <= header_end:
        return body
    i = header_end + int(at * (len(body) - header_end - 1))
    if damage == "crlf_all" or damage == "lf_in_crlf":
        crlf = body.replace(b"\n", b"\r\n")
        if damage == "crlf_all":
            return crlf
        ends = [j for j in range(len(crlf)) if crlf[j : j + 2] == b"\r\n"][1:]
        if not ends:
            return crlf
        j = ends[int(at * (len(ends) - 1))]
        return crlf[:j] + crlf[j + 1 :]  # one line ends in a bare LF
    if damage in ("cr", "nul"):
        # Inside a line (a NUL after the last line break is a line of its own), never next to
        # a quote (a field opened after it would swallow the next line break).
        i = min(i, len(body) - 2)
        while i < len(body) - 1 and b'"' in body[i - 1 : i + 1]:
            i += 1
        return body[:i] + (b"\r" if damage == "cr" else b"\x00") + body[i:]
    if damage == "quote":
        return body[:i] + b'"' + body[i:]
    if damage == "bad_utf8":
        return body[:i] + b"\xff\xfe" + body[i:]
    if damage == "bom":
        return b"\xef\xbb\xbf" + body
    return body[:i]  # cut


def run_export(case: ExportCase, tmp: Path) -> dict[str, Any]:
    """Ingest one damaged export into a fresh store through the CLI; the outcome and counts.

    Returns kind (stored, refused, traceback, multi-line), rows_in (None when the damage may
    change the row count), the report's counts, and whether reconciliation held: rows read =
    stored + quarantined + duplicates, rows read = rows in where known, and the store holds
    exactly the stored rows.
    """
    from costplan.store import Store, read_quarantine

    path = tmp / "export.csv"
    _write(path, case.rows)
    path.write_bytes(_damaged(path.read_bytes(), case.damage, case.at))
    root = tmp / "store"
    rows_in = len(case.rows) if case.damage in KEEPS_ROWS else None
    args = ["ingest", str(path), "--store", str(root), "--format", "json"]
    res = runner.invoke(app, args, catch_exceptions=True)
    out: dict[str, Any] = {"rows_in": rows_in, "damage": case.damage}
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return {**out, "kind": "traceback", "error": repr(res.exception)}
    if res.exit_code != 0:
        lines = res.stderr.strip().splitlines()
        kind = "refused" if res.exit_code == 2 and len(lines) == 1 else "multi-line"
        left = (root / "manifest.json").exists()
        return {**out, "kind": kind, "error": lines[:1], "reconciled": not left}
    report = json.loads(res.stdout)
    read, stored, dups, quar = (
        report[k] for k in ("rows_read", "stored", "duplicates", "quarantined")
    )
    store = Store.open(root)
    held = store.snapshot().total_rows
    in_quarantine = read_quarantine(store).height
    reconciled = (
        read == stored + dups + quar
        and (rows_in is None or read == rows_in)
        and held == stored
        and in_quarantine == report["quarantine_new"]
    )
    return {
        **out,
        "kind": "stored",
        "rows_read": read,
        "stored": stored,
        "duplicates": dups,
        "quarantined": quar,
        "reconciled": reconciled,
    }


__all__ = [
    "ExportCase",
    "RequestCase",
    "export_cases",
    "request_cases",
    "run_export",
    "run_request",
]
