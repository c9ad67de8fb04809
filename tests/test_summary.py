"""`costplan summary`: exact counts, suppression that totals cannot undo, output formats, errors.

Golden files live in tests/golden/summary/. Regenerate with UPDATE_GOLDEN=1 after an intended
change to the output contract, and read the diff.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from processes import modules_loaded
from test_volumes import DAYS, build_store, scan
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines import DuckDB, volumes
from costplan.render.summary import RENDERERS, render_html
from costplan.store import Snapshot, Store
from costplan.summary import BY_COLUMNS, PERIODS, CountRow, Summary, build, summarise

GOLDEN = Path(__file__).parent / "golden" / "summary"
TEXT_FORMATS = ("table", "csv", "json", "markdown")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = build_store(tmp_path_factory.mktemp("summary") / "store")
    volumes.refresh(store)
    return store


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def cell_rows(s: Summary) -> list[tuple[object, ...]]:
    """A summary's cells as (period_start, *by values, count) tuples, in the Summary's order."""
    return [(c.period_start, *c.groups, c.count) for c in s.cells]


def polars_counts(
    snap: Snapshot,
    period: str,
    by: tuple[str, ...],
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> pl.DataFrame:
    """Independent counts per period and group, straight from the partitions with Polars."""
    df = scan(snap)
    if date_from:
        df = df.filter(pl.col("day") >= date_from)
    if date_to:
        df = df.filter(pl.col("day") <= date_to)
    start = {
        "day": pl.col("day"),
        "week": pl.col("day").dt.truncate("1w"),  # Polars weeks start on Monday
        "month": pl.col("day").dt.truncate("1mo"),
    }[period]
    if "tag" in by:
        tags = pl.col("tags").fill_null([]).list.unique().list.drop_nulls()
        none = pl.lit([None], dtype=pl.List(pl.String()))
        df = df.with_columns(
            pl.when(tags.list.len() == 0).then(none).otherwise(tags).alias("tag")
        ).explode("tag")
    out = df.group_by(start.alias("period_start"), *by).agg(pl.len().cast(pl.Int64).alias("count"))
    return out.select("period_start", *by, "count").sort(pl.all(), nulls_last=True)


# -- exact counts -------------------------------------------------------------------------------
@pytest.mark.parametrize("period", PERIODS)
def test_summary_equals_polars_for_every_by_combination(store: Store, period: str) -> None:
    snap = store.snapshot()
    for n in range(len(BY_COLUMNS) + 1):
        for by in itertools.combinations(BY_COLUMNS, n):
            s = summarise(snap, period=period, by=by)
            # Same rows in the same order: periods, then by values ascending with None last.
            assert cell_rows(s) == polars_counts(snap, period, by).rows(), (period, by)
            # The table holds no tags or gradings: such a summary counts from every partition.
            direct = len(snap.partitions) if {"tag", "grading"} & set(by) else 0
            assert s.source["partitions_counted_directly"] == direct, by
            assert s.source["partitions_from_table"] == len(snap.partitions) - direct, by


def test_summary_with_a_date_range(store: Store) -> None:
    snap = store.snapshot()
    d0, d1 = dt.date(2020, 1, 1), dt.date(2020, 10, 25)
    s = summarise(snap, period="week", by=("borough", "tag"), date_from=d0, date_to=d1)
    want = polars_counts(snap, "week", ("borough", "tag"), d0, d1)
    assert cell_rows(s) == want.rows()


@pytest.mark.parametrize("period", PERIODS)
def test_borough_totals_query_equals_the_volume_query(store: Store, period: str) -> None:
    """summary_totals over daily_total answers exactly as summary_volumes over daily_volume."""
    ranges = [(None, None), (dt.date(2020, 3, 5), None), (None, dt.date(2020, 10, 25))]
    ranges += [(dt.date(2020, 3, 29), dt.date(2020, 3, 29)), (dt.date(2021, 6, 1), None)]
    eng, _ = DuckDB().daily_volumes(store.snapshot())
    with eng:
        for by_borough, (d0, d1) in itertools.product((True, False), ranges):
            common = {"period": period, "by_borough": by_borough, "date_from": d0, "date_to": d1}
            flags = {"by_call_source": False}
            want = sorted(eng.rows("summary_volumes", **common, **flags), key=repr)
            got = sorted(eng.rows("summary_totals", **common), key=repr)
            assert got == want, common
            assert want or (d0 and d0.year == 2021), common  # only the empty range is empty


def test_weeks_are_iso_weeks_starting_monday(store: Store) -> None:
    s = summarise(store, period="week")
    starts = [c.period_start for c in s.cells]
    assert all(d.isoweekday() == 1 for d in starts)
    # 2019-12-30 and 2020-01-01 share ISO week 1 of 2020; 2021-01-03 is in week 53 of 2020.
    assert dt.date(2019, 12, 30) in starts and dt.date(2020, 12, 28) in starts
    assert dt.date(2021, 1, 4) not in starts


def test_summary_is_exact_without_any_refresh(tmp_path: Path) -> None:
    """Never refreshed: every partition is counted directly, and nothing is written."""
    store = build_store(tmp_path / "store")
    s = summarise(store, period="month", by=("grading",))
    assert s.source["partitions_from_table"] == 0
    assert s.source["partitions_counted_directly"] == len(store.snapshot().partitions)
    want = polars_counts(store.snapshot(), "month", ("grading",))
    assert cell_rows(s) == want.rows()
    assert not volumes.volumes_dir(store.root).exists()


def test_cli_json_rows(store: Store) -> None:
    res = run("summary", "--store", str(store.root), "--by", "borough,tag", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == "1" and doc["by"] == ["borough", "tag"]
    rows = [{k: v for k, v in r.items() if k != "suppressed"} for r in doc["rows"]]
    assert set(rows[0]) == {"period_start", "borough", "tag", "count"}
    want = polars_counts(store.snapshot(), "week", ("borough", "tag"))
    got = pl.DataFrame(rows).with_columns(pl.col("period_start").str.to_date())
    assert got.sort(pl.all(), nulls_last=True).equals(want)


# -- suppression --------------------------------------------------------------------------------
def _counts(cells: dict[tuple[int, int], int]) -> list[CountRow]:
    # Deliberately not in Summary order: build() sorts.
    return [
        (dt.date(2020, 1 + p, 1), (f"B{g}",), n)
        for (p, g), n in sorted(cells.items(), reverse=True)
        if n > 0
    ]


def _published(counts: list[CountRow], threshold: int) -> tuple[dict[str, str], tuple[object, ...]]:
    s = build(counts, period="month", by=("borough",), suppress_below=threshold)
    outputs = {fmt: RENDERERS[fmt](s) for fmt in TEXT_FORMATS}
    totals = (s.period_totals(), s.group_totals(), s.grand_total())
    # The Summary holds no suppressed value at all, not only none that is rendered.
    assert all(c.count is None for c in s.cells if c.suppressed)
    # Every published total is the sum of the published cells it covers, nothing more.
    published = [c for c in s.cells if not c.suppressed]
    assert s.grand_total() == sum(c.count or 0 for c in published)
    for period, total, _ in s.period_totals():
        assert total == sum(c.count or 0 for c in published if c.period_start == period)
    for groups, total, _ in s.group_totals():
        assert total == sum(c.count or 0 for c in published if c.groups == groups)
    return outputs, totals


@settings(max_examples=60, deadline=None)
@given(
    threshold=st.integers(2, 12),
    cells=st.dictionaries(
        st.tuples(st.integers(0, 3), st.integers(0, 4)), st.integers(0, 40), min_size=1
    ),
    data=st.data(),
)
def test_no_suppressed_value_can_be_derived_from_published_totals(
    threshold: int, cells: dict[tuple[int, int], int], data: st.DataObject
) -> None:
    """Indistinguishability: change any suppressed counts to any other values that would also
    be suppressed, and every published byte (cells, row and column totals, grand total) stays
    the same. So no combination of published figures can determine a suppressed value."""
    base_out, base_totals = _published(_counts(cells), threshold)
    hidden = [k for k, n in cells.items() if 0 < n < threshold]
    for variant in ("low", "high", "random"):
        other = dict(cells)
        for k in hidden:
            other[k] = {
                "low": 1,
                "high": threshold - 1,
                "random": data.draw(st.integers(1, threshold - 1)),
            }[variant]
        out, totals = _published(_counts(other), threshold)
        assert out == base_out and totals == base_totals
    if hidden:
        assert f"<{threshold}" in base_out["csv"] and '"suppressed": true' in base_out["json"]


def test_suppressed_cells_are_markers_in_every_format(store: Store) -> None:
    """Suppression alone (--disclosure suppress): the other counts are exact."""
    args = ["--by", "borough,call_source,grading", "--period", "month", "--suppress-below", "5"]
    args += ["--disclosure", "suppress"]
    by = ("borough", "call_source", "grading")
    s = summarise(store, period="month", by=by, suppress_below=5, method="suppress")
    assert 0 < s.suppressed_cells < len(s.cells)
    doc = json.loads(run("summary", "--store", str(store.root), *args, "--format", "json").stdout)
    rows = doc["rows"]
    assert doc["suppress_below"] == 5
    # A suppressed count is null and flagged, never the marker text: counts are numbers or null.
    markers = [r for r in rows if r["suppressed"]]
    assert all(r["count"] is None for r in markers)
    assert len(markers) == s.suppressed_cells
    assert all(isinstance(r["count"], int) and r["count"] >= 5 for r in rows if r not in markers)
    raw = polars_counts(store.snapshot(), "month", ("borough", "call_source", "grading"))
    assert int(raw.filter(pl.col("count") < 5).height) == s.suppressed_cells
    assert s.grand_total() == int(raw.filter(pl.col("count") >= 5)["count"].sum())


def test_cells_sort_by_period_then_groups_with_none_last() -> None:
    d1, d2 = dt.date(2020, 1, 1), dt.date(2020, 2, 1)
    counts: list[CountRow] = [
        (d2, ("B", None), 1),
        (d1, (None, "X"), 2),
        (d1, ("B", "Y"), 3),
        (d1, ("B", None), 4),
        (d1, ("A", "Z"), 5),
    ]
    s = build(counts, period="month", by=("borough", "tag"))
    assert cell_rows(s) == [
        (d1, "A", "Z", 5),
        (d1, "B", "Y", 3),
        (d1, "B", None, 4),
        (d1, None, "X", 2),
        (d2, "B", None, 1),
    ]
    groups = [g.groups for g in s.group_totals()]
    assert groups == [("A", "Z"), ("B", "Y"), ("B", None), (None, "X")]
    assert [(p.period_start, p.total) for p in s.period_totals()] == [(d1, 14), (d2, 1)]


def test_html_chart_hides_suppressed_values() -> None:
    base = {(0, 0): 3, (0, 1): 25, (1, 0): 30, (1, 1): 4, (2, 0): 17, (2, 1): 22}
    other = {**base, (0, 0): 8, (1, 1): 1}
    pages = [
        render_html(build(_counts(c), period="month", by=("borough",), suppress_below=10))
        for c in (base, other)
    ]
    assert pages[0] == pages[1]


# -- formats ------------------------------------------------------------------------------------
GOLDEN_CASES = {
    "month-borough-source": [
        "--period", "month", "--by", "borough,call_source", "--from", "2020-01-01",
        "--to", "2020-12-31", "--suppress-below", "10",
    ],
    "week-tag": ["--period", "week", "--by", "tag", "--from", "2020-03-23"],
    "day": ["--period", "day", "--to", "2020-01-01"],
}  # fmt: skip
SUFFIX = {"table": "txt", "csv": "csv", "json": "json", "markdown": "md"}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_golden_output(store: Store, case: str, fmt: str) -> None:
    res = run("summary", "--store", str(store.root), *GOLDEN_CASES[case], "--format", fmt)
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    path = GOLDEN / f"{case}.{SUFFIX[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(res.stdout, encoding="utf-8")
    assert res.stdout == path.read_text(encoding="utf-8")


# Modules the summary path must not import, per format: Polars and PyArrow cost ~0.4 s of a
# whole-process run that must stay under 0.3 s; tabulate is only for table and markdown.
HEAVY = ("polars", "pyarrow", "numpy", "tabulate", "matplotlib")
NOT_IMPORTED = {
    "csv": HEAVY,
    "json": HEAVY,
    "table": ("polars", "pyarrow", "numpy", "matplotlib"),
    "markdown": ("polars", "pyarrow", "numpy", "matplotlib"),
}


@pytest.mark.parametrize("fmt", sorted(NOT_IMPORTED))
def test_summary_never_imports_polars_or_pyarrow(store: Store, fmt: str) -> None:
    """A whole `costplan summary` process, from a fresh table, loads none of the heavy modules."""
    args = ["summary", "--store", str(store.root), "--period", "month", "--by", "borough"]
    assert modules_loaded([*args, "--format", fmt], NOT_IMPORTED[fmt]) == []


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.headers: list[list[str]] = []
        self.rows: list[int] = []
        self._in_th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "table":
            self.headers.append([])
            self.rows.append(0)
        elif tag == "th":
            self._in_th = True
        elif tag == "tr" and self.headers and self.headers[-1]:
            self.rows[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_th:
            self.headers[-1].append(data)


def test_html_is_a_self_contained_page(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = ["--period", "month", "--by", "borough", "--suppress-below", "10"]
    res = run("summary", "--store", str(store.root), *args, "--format", "html", "--out", str(out))
    assert res.exit_code == 0 and res.stdout == "", res.output
    text = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert text.startswith("<!DOCTYPE html>") and "table" in page.tags
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    png = base64.b64decode(page.images[0].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    (tmp_path / "chart.png").write_bytes(png)
    assert page.headers[0] == ["period_start", "borough", "count"]
    s = summarise(store, period="month", by=("borough",), suppress_below=10)
    assert page.rows[0] == len(s.cells)
    assert f"Grand total: {s.grand_total()}" in text
    # Self-contained: nothing is fetched from anywhere.
    assert not {"script", "link", "iframe"} & set(page.tags)
    assert "http://" not in text and "https://" not in text and 'src="/' not in text


def test_out_is_written_atomically(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "week.csv"
    out.write_text("old report\n", encoding="utf-8")
    res = run("summary", "--store", str(store.root), "--format", "csv", "--out", str(out))
    assert res.exit_code == 0 and res.stdout == ""
    plain = run("summary", "--store", str(store.root), "--format", "csv")
    assert out.read_text(encoding="utf-8") == plain.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["week.csv"]  # no temporary file left


# -- errors and help ----------------------------------------------------------------------------
ERRORS = {
    "bad period": ["--period", "fortnight"],
    "bad by": ["--by", "borough,colour"],
    "repeated by": ["--by", "tag,tag"],
    "reversed dates": ["--from", "2020-12-01", "--to", "2020-01-01"],
    "malformed date": ["--from", "01/02/2020"],
    "impossible date": ["--to", "2020-02-30"],
    "zero threshold": ["--suppress-below", "0"],
    "bad format": ["--format", "xlsx"],
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_are_one_line_exit_2(store: Store, case: str) -> None:
    res = run("summary", "--store", str(store.root), *ERRORS[case])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("costplan: error:") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.output


def test_missing_store_and_directory_out(tmp_path: Path, store: Store) -> None:
    for args in (
        ["--store", str(tmp_path / "nowhere")],
        ["--store", str(store.root), "--out", str(tmp_path)],
    ):
        res = run("summary", *args)
        assert res.exit_code == 2, args
        assert res.stderr.startswith("costplan: error:") and res.stderr.count("\n") == 1


@pytest.mark.parametrize("cmd", [["summary"], ["summary", "refresh"]])
def test_help_has_an_example(cmd: list[str]) -> None:
    res = run(*cmd, "--help")
    assert res.exit_code == 0 and "Example:" in res.stdout


def test_summary_help_states_the_suppression_method() -> None:
    text = " ".join(run("summary", "--help").stdout.split())
    assert "--suppress-below" in text and "--disclosure" in text
    assert "rounded up or down to a multiple of N" in text and "cell key" in text


def test_by_tag_days_cover_the_dst_changes(store: Store) -> None:
    s = summarise(store, period="day", by=("tag",), date_from=DAYS[2], date_to=DAYS[6])
    days = {c.period_start for c in s.cells}
    assert {dt.date(2020, 3, 29), dt.date(2020, 10, 25)} <= days


@pytest.mark.parametrize(
    ("by", "date_from", "date_to"),
    [
        ((), None, None),
        (("borough",), None, None),
        (("borough",), dt.date(2020, 1, 1), dt.date(2020, 3, 31)),
        ((), dt.date(2019, 12, 1), dt.date(2020, 10, 31)),
    ],
)
def test_monthly_summary_from_the_state_equals_the_query(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    by: tuple[str, ...],
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> None:
    """Whole months by borough come from state.json alone, with the query's exact answer."""
    answered: list[bool] = []
    real = volumes.monthly_counts

    def spy(*args: object, **kwargs: object) -> object:
        got = real(*args, **kwargs)  # type: ignore[arg-type]
        answered.append(got is not None)
        return got

    scope = {"period": "month", "by": by, "date_from": date_from, "date_to": date_to}
    monkeypatch.setattr(volumes, "monthly_counts", spy)
    fast = summarise(store, **scope)  # type: ignore[arg-type]
    assert answered == [True]
    monkeypatch.setattr(volumes, "monthly_counts", lambda *a, **k: None)
    slow = summarise(store, **scope)  # type: ignore[arg-type]
    assert fast.cells == slow.cells and fast.cells
    assert fast.source == slow.source


def test_monthly_summary_inside_a_month_runs_the_query(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[object] = []
    monkeypatch.setattr(volumes, "monthly_counts", lambda *a, **k: called.append(a))
    s = summarise(store, period="month", by=["borough"], date_from=dt.date(2020, 3, 29))
    assert called == [] and s.cells  # a bound inside March: the state's months cannot say


def test_monthly_summary_by_borough_does_not_load_duckdb(store: Store) -> None:
    """A fresh table answers a whole-month summary from state.json: not even DuckDB loads."""
    args = ["summary", "--store", str(store.root), "--period", "month", "--by", "borough"]
    assert modules_loaded([*args, "--format", "csv"], ["duckdb"]) == []


def test_html_opens_in_headless_chromium(store: Store, tmp_path: Path) -> None:
    """The page loads in a real browser, which lays it out with the chart image decoded."""
    from tests.browser import chromium

    browser_path = chromium()  # skipped without one, except under CI, where it fails
    page = tmp_path / "week.html"
    res = run(
        "summary", "--store", str(store.root), "--by", "borough", "--suppress-below", "10",
        "--format", "html", "--out", str(page),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    shot = tmp_path / "week.png"
    browser = [browser_path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    out = subprocess.run(
        [*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert "<img" in out.stdout and "data:image/png;base64," in out.stdout
    assert "<table" in out.stdout
    subprocess.run(
        [*browser, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


HOSTILE_TAGS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3",
                "<img src=x onerror=alert(1)>", "a|b"]  # fmt: skip


def test_values_from_data_never_become_formulas_or_markup(tmp_path: Path) -> None:
    """Tags come from a force's export: CSV cells stay text, Markdown stays text (issue 15.5)."""
    import csv as csvlib
    import io

    from tests.conftest import fixture_frame, write_store

    frame = fixture_frame(seed=3, per_day=6)
    tags = [[HOSTILE_TAGS[i % len(HOSTILE_TAGS)]] for i in range(frame.height)]
    store = write_store(tmp_path / "store", frame.with_columns(pl.Series("tags", tags)))
    args = ["summary", "--store", str(store.root), "--period", "month", "--by", "tag"]
    out = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert out.exit_code == 0, out.output
    cells = [c for row in csvlib.reader(io.StringIO(out.output)) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or c.startswith("-2")]
    assert '\'=HYPERLINK("http://x","y")' in cells
    md = CliRunner().invoke(app, [*args, "--format", "markdown"]).output
    assert "\\<img" in md and "<img" not in md.replace("\\<img", "")
