"""Render a volume Summary as a terminal table, CSV, JSON, Markdown or a self-contained HTML page.

Renderers see only the published Summary (suppressed counts are already gone), and the chart is
drawn from the same published cells, so no output format can reveal a suppressed value.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import textwrap
from collections.abc import Callable
from typing import Any

import polars as pl
from tabulate import tabulate

from costplan.summary import Summary

NONE_LABEL = "(none)"  # how a missing group value (an untagged CAD under --by tag) is shown
CHART_SERIES = 8  # lines drawn in the HTML chart: the groups with the largest published totals
_PERIOD_WORD = {"day": "day", "week": "ISO week", "month": "month"}
_INTERVAL = {"day": "1d", "week": "1w", "month": "1mo"}


# -- shared text --------------------------------------------------------------------------------
def title(summary: Summary) -> str:
    """A one-line heading, e.g. 'CAD volumes per ISO week by borough'."""
    by = f" by {', '.join(summary.by)}" if summary.by else ""
    return f"CAD volumes per {_PERIOD_WORD[summary.period]}{by}"


def scope_line(summary: Summary) -> str:
    """The London days covered and the store version the counts reflect."""
    lo = summary.date_from.isoformat() if summary.date_from else "start of data"
    hi = summary.date_to.isoformat() if summary.date_to else "end of data"
    version = summary.source.get("manifest_version")
    where = f"; store manifest version {version}" if version is not None else ""
    return f"London days {lo} to {hi}{where}"


def notes(summary: Summary) -> list[str]:
    """Footnotes a reader needs to interpret the counts and totals."""
    out = []
    if summary.period == "week":
        out.append("Weeks are ISO weeks; period_start is the Monday.")
    if summary.period != "day":
        out.append(
            "The first and last periods may be partial: only days inside the range asked for "
            "and held in the store are counted."
        )
    if "tag" in summary.by:
        out.append(
            f"A CAD with several tags counts under each of them; {NONE_LABEL} is untagged CADs."
        )
    if summary.marker:
        out.append(
            f'Counts below {summary.suppress_below} are shown as "{summary.marker}". Totals '
            "add up the published counts only, so no suppressed count can be worked out "
            "from them (and a total with suppressed cells is an undercount)."
        )
    return out


def _label(value: Any) -> str:
    return NONE_LABEL if value is None else str(value)


def _count_text(summary: Summary, row: dict[str, Any]) -> str:
    return summary.marker if row["suppressed"] else str(row["count"])  # type: ignore[return-value]


def _cell_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    headers = ["period_start", *summary.by, "count"]
    rows = [
        [
            r["period_start"].isoformat(),
            *[_label(r[c]) for c in summary.by],
            _count_text(summary, r),
        ]
        for r in summary.cells.iter_rows(named=True)
    ]
    return headers, rows


def _total_tables(summary: Summary) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, headers, rows) for the totals tables; none without --by (rows are totals)."""
    if not summary.by:
        return []
    extra = ["suppressed_cells"] if summary.marker else []
    pt = summary.period_totals()
    gt = summary.group_totals()
    by_period = [
        [r["period_start"].isoformat(), str(r["total"] or 0)]
        + ([str(r["suppressed_cells"])] if extra else [])
        for r in pt.iter_rows(named=True)
    ]
    by_group = [
        [*[_label(r[c]) for c in summary.by], str(r["total"] or 0)]
        + ([str(r["suppressed_cells"])] if extra else [])
        for r in gt.iter_rows(named=True)
    ]
    return [
        ("Totals by period", ["period_start", "total", *extra], by_period),
        (f"Totals by {', '.join(summary.by)}", [*summary.by, "total", *extra], by_group),
    ]


def _align(headers: list[str]) -> tuple[str, ...]:
    numeric = {"count", "total", "suppressed_cells"}
    return tuple("right" if h in numeric else "left" for h in headers)


def _tabulate(headers: list[str], rows: list[list[str]], fmt: str) -> str:
    return tabulate(rows, headers, tablefmt=fmt, colalign=_align(headers), disable_numparse=True)


# -- formats ------------------------------------------------------------------------------------
def render_table(summary: Summary) -> str:
    """A plain-text table for a terminal."""
    parts = [title(summary), scope_line(summary), ""]
    headers, rows = _cell_rows(summary)
    parts.append(_tabulate(headers, rows, "simple") if rows else "No CADs in range.")
    for heading, h, r in _total_tables(summary):
        parts += ["", heading, _tabulate(h, r, "simple")]
    parts += ["", f"Grand total: {summary.grand_total()}"]
    parts += [textwrap.fill(n, width=88) for n in notes(summary)]
    return "\n".join(parts) + "\n"


def render_markdown(summary: Summary) -> str:
    """A Markdown document (GitHub pipe tables)."""
    parts = [f"# {title(summary)}", "", scope_line(summary), ""]
    headers, rows = _cell_rows(summary)
    parts.append(_tabulate(headers, rows, "github") if rows else "No CADs in range.")
    for heading, h, r in _total_tables(summary):
        parts += ["", f"## {heading}", "", _tabulate(h, r, "github")]
    parts += ["", f"**Grand total: {summary.grand_total()}**"]
    if notes(summary):
        parts += [""] + [f"- {n}" for n in notes(summary)]
    return "\n".join(parts) + "\n"


def render_csv(summary: Summary) -> str:
    """CSV rows: period_start, one column per --by, count (a number or the marker)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["period_start", *summary.by, "count"])
    for r in summary.cells.iter_rows(named=True):
        by = ["" if r[c] is None else r[c] for c in summary.by]
        writer.writerow([r["period_start"].isoformat(), *by, _count_text(summary, r)])
    return buf.getvalue()


def render_json(summary: Summary) -> str:
    """A JSON list of row objects (period_start, one key per --by column, count)."""
    return json.dumps(summary.records(), indent=2, ensure_ascii=False) + "\n"


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    align = _align(headers)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if a == "right" else "txt"}">{html.escape(v)}</td>'
            for v, a in zip(row, align, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def chart_png(summary: Summary) -> bytes | None:
    """A PNG chart of the published counts: lines per period for the top groups, or bars.

    Suppressed cells are gaps in the lines (never drawn), so the chart shows only what the
    table shows. None when there is nothing to draw.
    """
    if summary.cells.is_empty():
        return None
    # Lazy import: matplotlib is an optional extra and slow to import; the Agg canvas needs
    # no display and no pyplot global state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    key = (
        pl.concat_str([pl.col(c).fill_null(NONE_LABEL) for c in summary.by], separator=" · ").alias(
            "group"
        )
        if summary.by
        else pl.lit("all CADs").alias("group")
    )
    cells = summary.cells.select("period_start", key, "count", "suppressed")
    totals = cells.group_by("group").agg(pl.col("count").sum().alias("t"))
    top = totals.sort(["t", "group"], descending=[True, False]).head(CHART_SERIES)["group"]
    periods = pl.date_range(
        cells["period_start"].min(),  # type: ignore[arg-type]
        cells["period_start"].max(),  # type: ignore[arg-type]
        interval=_INTERVAL[summary.period],
        eager=True,
    )
    fig = Figure(figsize=(10, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if periods.len() == 1:
        bars = totals.sort(["t", "group"], descending=[True, False]).head(20).reverse()
        ax.barh(bars["group"].to_list(), bars["t"].fill_null(0).to_list(), color="#2b6ca3")
        word = _PERIOD_WORD[summary.period]
        ax.set_xlabel(f"CADs in the {word} from {periods[0].isoformat()}")
    else:
        grid = pl.DataFrame({"period_start": periods})
        for name in top.to_list():
            series = grid.join(cells.filter(pl.col("group") == name), on="period_start", how="left")
            # No row means no CADs (0); a suppressed cell is a gap, never a drawn value.
            y = [
                float("nan") if hidden else (v or 0)
                for v, hidden in zip(series["count"], series["suppressed"], strict=True)
            ]
            marker = "o" if periods.len() <= 60 else None
            ax.plot(series["period_start"].to_list(), y, label=name, marker=marker, ms=3, lw=1.4)
        ax.set_ylabel("CADs")
        ax.set_xlabel(f"period start ({_PERIOD_WORD[summary.period]})")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.autofmt_xdate()
    ax.set_title(title(summary), fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; }
th { background: #eef2f6; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
"""


def render_html(summary: Summary) -> str:
    """A self-contained HTML page: chart (inline PNG), counts table, totals and notes."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>{esc(title(summary))}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<h1>{esc(title(summary))}</h1>",
        f'<p class="scope">{esc(scope_line(summary))}</p>',
    ]
    png = chart_png(summary)
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img alt="{esc(title(summary))}: chart" src="data:image/png;base64,{data}">'
            f'<figcaption class="note">Top {CHART_SERIES} groups by published total; '
            "suppressed counts are gaps.</figcaption></figure>"
        )
    headers, rows = _cell_rows(summary)
    parts.append("<h2>Counts</h2>")
    parts.append(_html_table(headers, rows) if rows else "<p>No CADs in range.</p>")
    for heading, h, r in _total_tables(summary):
        parts += [f"<h2>{esc(heading)}</h2>", _html_table(h, r)]
    parts.append(f"<p><strong>Grand total: {summary.grand_total()}</strong></p>")
    parts += [f'<p class="note">{esc(n)}</p>' for n in notes(summary)]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


RENDERERS: dict[str, Callable[[Summary], str]] = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}


def render(summary: Summary, fmt: str) -> str:
    """Render in one of RENDERERS' formats."""
    return RENDERERS[fmt](summary)
