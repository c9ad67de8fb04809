"""Render cost-model results (estimate, deadline, aggregate) as table, JSON or Markdown.

Presentation only: the numbers and sentences come from the core objects. JSON output is the
object's ``to_dict()``: hours are numbers rounded to 2 decimal places, money is a number with 2
decimal places in the regime's currency (``currency`` says which), dates are ISO strings.
Tables and Markdown show the same figures rounded to 2 places.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tabulate import tabulate

from costplan._files import dumps
from costplan.costmodel.aggregate import AggregateReport, Member
from costplan.costmodel.estimate import PER_RECORD_DP, Estimate
from costplan.costmodel.sampling import EstimateReport, SampleAssessment
from costplan.costmodel.workdays import Deadline
from costplan.units import fmt_money, fmt_number, round2, round_to

TABLE = "table"
JSON = "json"
MARKDOWN = "markdown"


# The formats each result family renders in (the CLI offers exactly these).
FORMATS: dict[str, tuple[str, ...]] = {
    "EstimateReport": (TABLE, JSON, MARKDOWN),
    "Deadline": (TABLE, JSON),
    "AggregateReport": (TABLE, JSON, MARKDOWN),
}


def render(result: EstimateReport | Deadline | AggregateReport, fmt: str) -> str:
    """Render a cost-model result in one of its FORMATS."""
    if isinstance(result, EstimateReport):
        return render_estimate(result.estimate, fmt, result.sample)
    if isinstance(result, Deadline):
        return render_deadline(result, fmt)
    return render_aggregate(result, fmt)


def to_json(data: dict[str, Any]) -> str:
    """Stable, readable JSON (UTF-8 kept, so "£" stays "£")."""
    return dumps(data)


def _h(value: Decimal | None) -> str:
    return "-" if value is None else f"{round2(value):,.2f}"


def _m(value: Decimal | None, currency: str) -> str:
    return "-" if value is None else fmt_money(round2(value), currency)


def _table(rows: list[list[str]], headers: list[str], tablefmt: str, align: tuple[str, ...]) -> str:
    """A tabulate table of pre-formatted strings, numbers right-aligned."""
    return tabulate(rows, headers, tablefmt=tablefmt, disable_numparse=True, colalign=align)


def _decision_text(decision: str, section: str | None) -> str:
    return f"{decision} (section {section})" if section else decision


# ---- estimate --------------------------------------------------------------------------------


def _estimate_rows(est: Estimate) -> list[list[str]]:
    r = est.regime
    return [
        [
            item.activity,
            fmt_number(item.records),
            fmt_number(item.minutes_per_record, PER_RECORD_DP),
            fmt_number(item.fixed_minutes, 4),
            _h(item.hours),
            _m(item.cost(r.rate), r.currency),
            "yes" if item.countable else "no",
        ]
        for item in est.items
    ]


_ESTIMATE_HEADERS = ["activity", "records", "min/record", "fixed min", "hours", "cost", "counted"]
_ESTIMATE_ALIGN = ("left", "right", "right", "right", "right", "right", "left")


def _summary_lines(est: Estimate) -> list[tuple[str, str]]:
    r = est.regime
    lines = [("total (countable)", f"{_h(est.total_hours)} h  {_m(est.total_cost, r.currency)}")]
    if est.non_countable_minutes:
        lines.append(("not counted", f"{_h(est.non_countable_hours)} h"))
    if r.limit is not None:
        lines.append((r.limit_name, f"{_h(est.limit_hours)} h  {_m(r.limit, r.currency)}"))
        if est.exceeds:
            lines.append(("excess", f"{_h(est.excess_hours)} h"))
        else:
            lines.append(("headroom", f"{_h(est.headroom_hours)} h"))
    lines.append(("decision", _decision_text(est.decision, est.section)))
    return lines


def _sample_lines(sample: SampleAssessment) -> list[tuple[str, str]]:
    s = sample.stats
    pct = f"{s.confidence:.0%}"
    return [
        ("sample size", str(s.n)),
        ("mean per record", f"{round_to(s.mean_seconds, 1)} s ({round_to(s.mean_minutes, 3)} min)"),
        (
            f"{pct} interval",
            f"{round_to(s.ci_low_minutes, 3)}–{round_to(s.ci_high_minutes, 3)} min per record",
        ),
        (
            "total hours",
            f"{_h(sample.total_hours_low)}–{_h(sample.total_hours_high)} h ({pct} interval)",
        ),
        (
            "P(total > limit)",
            "-" if sample.p_exceeds is None else f"{sample.p_exceeds:.4f}",
        ),
        ("robustness", sample.robustness or "-"),
    ]


def render_estimate(est: Estimate, fmt: str, sample: SampleAssessment | None = None) -> str:
    """Render an estimate (and optional sample assessment) as table, json or markdown."""
    r = est.regime
    if fmt == JSON:
        data = est.to_dict()
        data["sample"] = None if sample is None else sample.to_dict()
        return to_json(data)
    rows = _estimate_rows(est)
    if fmt == MARKDOWN:
        parts = [
            f"## Cost estimate: {_decision_text(est.decision, est.section)}",
            "",
            f"**Regime:** {r.title} (`{r.name}`)",
            "",
            _table(rows, _ESTIMATE_HEADERS, "github", _ESTIMATE_ALIGN),
            "",
            *[f"- **{label}:** {value}" for label, value in _summary_lines(est)],
            "",
            f"> {est.explanation}",
        ]
        if sample is not None:
            parts += [
                "",
                "### Timed sample",
                "",
                *[f"- **{label}:** {value}" for label, value in _sample_lines(sample)],
                "",
                sample.wording,
            ]
        return "\n".join(parts)
    parts = [
        f"Regime: {r.name} — {r.title}",
        "",
        _table(rows, _ESTIMATE_HEADERS, "simple", _ESTIMATE_ALIGN),
        "",
        tabulate(_summary_lines(est), tablefmt="plain", disable_numparse=True),
        "",
        est.explanation,
    ]
    if sample is not None:
        parts += [
            "",
            "Timed sample:",
            tabulate(_sample_lines(sample), tablefmt="plain", disable_numparse=True),
            sample.wording,
        ]
    return "\n".join(parts)


# ---- deadline --------------------------------------------------------------------------------


def render_deadline(dl: Deadline, fmt: str) -> str:
    """Render a deadline as table or json."""
    if fmt == JSON:
        return to_json(dl.to_dict())
    head = [
        ("received", f"{dl.received.isoformat()} ({dl.received:%A})"),
        ("due", f"{dl.due.isoformat()} ({dl.due:%A})"),
        ("working days", str(dl.working_days)),
    ]
    skipped = [[d.isoformat(), f"{d:%a}", reason] for d, reason in dl.skipped]
    parts = [tabulate(head, tablefmt="plain", disable_numparse=True), ""]
    if skipped:
        parts += [
            "Non-working days skipped:",
            tabulate(skipped, ["date", "day", "reason"], tablefmt="simple"),
        ]
    else:
        parts.append("No non-working days skipped.")
    return "\n".join(parts)


# ---- aggregate -------------------------------------------------------------------------------


def _member_rows(members: tuple[Member, ...], group: str) -> list[list[str]]:
    return [
        [
            group,
            m.entry.request_id,
            m.requester_label,
            m.entry.campaign or "-",
            m.entry.received.isoformat(),
            _h(m.entry.hours),
            m.reason,
        ]
        for m in members
    ]


def render_aggregate(report: AggregateReport, fmt: str) -> str:
    """Render an aggregation report as table, json or markdown (requesters pseudonymised)."""
    if fmt == JSON:
        return to_json(report.to_dict())
    r = report.regime
    tablefmt = "github" if fmt == MARKDOWN else "simple"
    group_rows = [
        [
            str(n),
            g.topic,
            ", ".join(m.entry.request_id for m in g.members),
            g.link,
            f"{g.window_start.isoformat()} to {g.window_end.isoformat()}",
            str(g.span_working_days),
            _h(g.total_hours),
            _decision_text(g.decision, g.section),
        ]
        for n, g in enumerate(report.groups, 1)
    ]
    member_rows = [
        row for n, g in enumerate(report.groups, 1) for row in _member_rows(g.members, str(n))
    ]
    alone_rows = [
        [
            m.entry.request_id,
            m.requester_label,
            m.entry.topic,
            m.entry.received.isoformat(),
            _h(m.entry.hours),
            _decision_text(d, s),
        ]
        for m, (d, s) in zip(report.standalone, report.standalone_decisions, strict=True)
    ]
    limit = "no limit" if r.limit_hours is None else f"{_h(r.limit_hours)} hours"
    title = f"Aggregation under {r.aggregation} — regime {r.name}, limit {limit}"
    parts = [f"## {title}" if fmt == MARKDOWN else title, ""]
    if group_rows:
        parts += [
            _table(
                group_rows,
                ["group", "topic", "requests", "link", "window", "span (wd)", "hours", "decision"],
                tablefmt,
                ("right", "left", "left", "left", "left", "right", "right", "left"),
            ),
            "",
            _table(
                member_rows,
                ["group", "request", "requester", "campaign", "received", "hours", "why"],
                tablefmt,
                ("right", "left", "left", "left", "left", "right", "left"),
            ),
            "",
        ]
        parts += [f"Group {n}: {g.explanation}" for n, g in enumerate(report.groups, 1)]
    else:
        parts.append("No requests can be aggregated.")
    if alone_rows:
        parts += [
            "",
            "Not aggregated:",
            _table(
                alone_rows,
                ["request", "requester", "topic", "received", "hours", "decision"],
                tablefmt,
                ("left", "left", "left", "left", "right", "left"),
            ),
        ]
    return "\n".join(parts)
