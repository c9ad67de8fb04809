"""Render a volume Summary as a terminal table, CSV, JSON, Markdown or a self-contained HTML page.

Renderers see only the published Summary (suppressed counts are already gone), and the chart is
drawn from the same published cells, so no output format can reveal a suppressed value.

Everything here works on the Summary's plain Python cells: `costplan summary --format csv`
must answer in a fraction of a second, so neither Polars nor PyArrow is imported on this path,
and tabulate (table, markdown) and matplotlib (html) only by the formats that use them.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import math
import textwrap
from collections.abc import Callable

from costplan.render.cells import csv_cell, markdown_cell
from costplan.summary import Cell, Summary

NONE_LABEL = "(none)"  # how a missing group value (an untagged CAD under --by tag) is shown
CHART_SERIES = 8  # lines drawn in the HTML chart: the groups with the largest published totals
_PERIOD_WORD = {"day": "day", "week": "ISO week", "month": "month"}


# -- shared text --------------------------------------------------------------------------------
def title(summary: Summary) -> str:
    """A one-line heading, e.g. 'CAD volumes per ISO week by borough'."""
    by = f" by {', '.join(summary.shown_by)}" if summary.by else ""
    return f"CAD volumes per {_PERIOD_WORD[summary.period]}{by}"


def scope_line(summary: Summary) -> str:
    """The local days covered (in the store's words) and the store version counted."""
    lo = summary.date_from.isoformat() if summary.date_from else "start of data"
    hi = summary.date_to.isoformat() if summary.date_to else "end of data"
    version = summary.source.get("manifest_version")
    where = f"; store manifest version {version}" if version is not None else ""
    return f"{summary.day_word}s {lo} to {hi}{where}"


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


def _label(value: str | None) -> str:
    return NONE_LABEL if value is None else value


def _count_text(summary: Summary, cell: Cell) -> str:
    return summary.marker if cell.suppressed else str(cell.count)  # type: ignore[return-value]


def _cell_rows(
    summary: Summary, escape: Callable[[str], str] = str
) -> tuple[list[str], list[list[str]]]:
    headers = ["period_start", *summary.shown_by, "count"]
    rows = [
        [
            c.period_start.isoformat(),
            *[escape(_label(g)) for g in c.groups],
            _count_text(summary, c),
        ]
        for c in summary.cells
    ]
    return headers, rows


def _total_tables(
    summary: Summary, escape: Callable[[str], str] = str
) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, headers, rows) for the totals tables; none without --by (rows are totals)."""
    if not summary.by:
        return []
    extra = ["suppressed_cells"] if summary.marker else []
    by_period = [
        [t.period_start.isoformat(), str(t.total)] + ([str(t.suppressed_cells)] if extra else [])
        for t in summary.period_totals()
    ]
    by_group = [
        [*[escape(_label(g)) for g in t.groups], str(t.total)]
        + ([str(t.suppressed_cells)] if extra else [])
        for t in summary.group_totals()
    ]
    return [
        ("Totals by period", ["period_start", "total", *extra], by_period),
        (
            f"Totals by {', '.join(summary.shown_by)}",
            [*summary.shown_by, "total", *extra],
            by_group,
        ),
    ]


def _align(headers: list[str]) -> tuple[str, ...]:
    numeric = {"count", "total", "suppressed_cells"}
    return tuple("right" if h in numeric else "left" for h in headers)


def _tabulate(headers: list[str], rows: list[list[str]], fmt: str) -> str:
    # Imported here, not at the top: csv and json output never pay for it.
    from tabulate import tabulate

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
    headers, rows = _cell_rows(summary, markdown_cell)
    parts.append(_tabulate(headers, rows, "github") if rows else "No CADs in range.")
    for heading, h, r in _total_tables(summary, markdown_cell):
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
    for c in summary.cells:
        by = ["" if g is None else csv_cell(g) for g in c.groups]
        writer.writerow([c.period_start.isoformat(), *by, _count_text(summary, c)])
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


def _period_starts(period: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """Every period start from `first` to `last` inclusive (both are period starts)."""
    out = []
    day = first
    while day <= last:
        out.append(day)
        if period == "day":
            day += dt.timedelta(days=1)
        elif period == "week":
            day += dt.timedelta(weeks=1)
        else:  # month: period starts are the 1st
            day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _point(cell: Cell | None) -> float:
    """A chart value: the published count, 0 for no CADs, NaN (a gap) where suppressed."""
    if cell is None:
        return 0.0
    return math.nan if cell.suppressed else float(cell.count or 0)


def chart_png(summary: Summary) -> bytes | None:
    """A PNG chart of the published counts: lines per period for the top groups, or bars.

    Suppressed cells are gaps in the lines (never drawn), so the chart shows only what the
    table shows. None when there is nothing to draw.
    """
    if not summary.cells:
        return None
    # Lazy import: matplotlib is an optional extra and slow to import; the Agg canvas needs
    # no display and no pyplot global state.
    from costplan._deps import optional

    optional("matplotlib")  # the html extra: one line naming it, never a traceback
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # One series per group, named by its by values; totals are of the published counts only.
    series: dict[str, dict[dt.date, Cell]] = {}
    for c in summary.cells:
        name = " · ".join(_label(g) for g in c.groups) if summary.by else "all CADs"
        series.setdefault(name, {})[c.period_start] = c
    totals = {
        name: sum(c.count or 0 for c in by_period.values()) for name, by_period in series.items()
    }
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    periods = _period_starts(
        summary.period,
        min(c.period_start for c in summary.cells),
        max(c.period_start for c in summary.cells),
    )
    fig = Figure(figsize=(10, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if len(periods) == 1:
        bars = ranked[:20][::-1]
        ax.barh(bars, [totals[name] for name in bars], color="#2b6ca3")
        word = _PERIOD_WORD[summary.period]
        ax.set_xlabel(f"CADs in the {word} from {periods[0].isoformat()}")
    else:
        marker = "o" if len(periods) <= 60 else None
        for name in ranked[:CHART_SERIES]:
            cells = series[name]
            # No cell means no CADs (0); a suppressed cell is a gap, never a drawn value.
            y = [_point(cells.get(p)) for p in periods]
            # Dates plot through matplotlib's date converter; its stubs accept numbers only.
            ax.plot(periods, y, label=name, marker=marker, ms=3, lw=1.4)  # type: ignore[arg-type]
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


FORMATS: dict[str, tuple[str, ...]] = {"Summary": tuple(RENDERERS)}


def render(summary: Summary, fmt: str) -> str:
    """Render in one of RENDERERS' formats."""
    return RENDERERS[fmt](summary)
