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

from costplan.costmodel.aggregate import AGGREGATED, AggregateReport, Verdict
from costplan.costmodel.estimate import PER_RECORD_DP, REFUSE, Estimate
from costplan.costmodel.register import WITHDRAWN
from costplan.costmodel.sampling import EstimateReport, SampleAssessment
from costplan.costmodel.workdays import Deadline
from costplan.render import json_doc
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
    """Stable, readable, versioned JSON (UTF-8 kept, so "£" stays "£")."""
    return json_doc.to_json(data)


def _h(value: Decimal | None) -> str:
    return "-" if value is None else f"{round2(value):,.2f}"


def _m(value: Decimal | None, currency: str) -> str:
    return "-" if value is None else fmt_money(round2(value), currency)


def _table(rows: list[list[str]], headers: list[str], tablefmt: str, align: tuple[str, ...]) -> str:
    """A tabulate table of pre-formatted strings, numbers right-aligned."""
    table: str = tabulate(rows, headers, tablefmt=tablefmt, disable_numparse=True, colalign=align)
    return table


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


def _days_left(dl: Deadline) -> str:
    left = dl.working_days_left or 0
    if dl.overdue:
        late = f", {-left} working {'day' if left == -1 else 'days'} late" if left else ""
        return f"overdue (past the due date{late})"
    if left == 0:
        return "due today"
    return f"{left} working {'day' if left == 1 else 'days'} left"


def _regime_lines(dl: Deadline) -> list[tuple[str, str]]:
    """What the deadline rests on: regime, period, calendar, extension, pauses, days left."""
    ext = dl.extension
    stopped = sum(p.working_days for p in dl.pauses)
    lines = [
        ("regime", dl.regime or "-"),
        ("period", f"{dl.base_days} working days, {dl.provision}"),
        ("calendar", f"{dl.calendar}: {dl.calendar_rule}"),
        (
            "extension",
            "none"
            if ext is None
            else f"{ext.name}: {ext.working_days} more working days at most, {ext.provision}"
            + (f" ({ext.note})" if ext.note else ""),
        ),
        (
            "paused",
            "no"
            if not dl.pauses
            else f"{stopped} working {'day' if stopped == 1 else 'days'} "
            f"({len(dl.pauses)} {'pause' if len(dl.pauses) == 1 else 'pauses'})",
        ),
    ]
    if dl.as_of is not None:
        lines.append(("as of", f"{dl.as_of.isoformat()} ({dl.as_of:%A}): {_days_left(dl)}"))
    return lines


def render_deadline(dl: Deadline, fmt: str) -> str:
    """Render a deadline as table or json."""
    if fmt == JSON:
        return to_json(dl.to_dict())
    head = [
        ("received", f"{dl.received.isoformat()} ({dl.received:%A})"),
        ("due", f"{dl.due.isoformat()} ({dl.due:%A})"),
        ("working days", str(dl.working_days)),
    ]
    if dl.regime is not None:
        head += _regime_lines(dl)
    skipped = [[d.isoformat(), f"{d:%a}", reason] for d, reason in dl.skipped]
    parts = [tabulate(head, tablefmt="plain", disable_numparse=True), ""]
    if dl.pauses:
        pauses = [[p.start.isoformat(), p.end.isoformat(), str(p.working_days)] for p in dl.pauses]
        parts += [
            f"Clock stopped under {dl.pause_provision}:",
            tabulate(
                pauses,
                ["from", "to", "working days not counted"],
                tablefmt="simple",
                disable_numparse=True,
            ),
            "",
        ]
    if skipped:
        parts += [
            "Non-working days skipped:",
            tabulate(skipped, ["date", "day", "reason"], tablefmt="simple"),
        ]
    else:
        parts.append("No non-working days skipped.")
    return "\n".join(parts)


# ---- aggregate -------------------------------------------------------------------------------


def _verdict_text(v: Verdict) -> str:
    """ "refuse (section 12(1)) by aggregation", "refuse (section 12(1)) alone", "answer"."""
    if v.decision == WITHDRAWN:
        return "withdrawn (not decided)"
    text = _decision_text(v.decision, v.section)
    if v.decision == REFUSE:
        text += " by aggregation" if v.basis == AGGREGATED else " alone"
    return text


def render_aggregate(report: AggregateReport, fmt: str) -> str:
    """Render an aggregation report as table, json or markdown (requesters pseudonymised)."""
    if fmt == JSON:
        return to_json(report.to_dict())
    r = report.regime
    labels = report.labels
    rows = [
        [
            v.entry.request_id,
            v.requester_label,
            v.entry.topic,
            v.entry.received.isoformat(),
            v.dealt_with.isoformat(),
            _h(v.entry.hours),
            ", ".join(f"{e.request_id} ({labels[e.requester]})" for e in v.aggregated_with) or "-",
            f"{v.window_start.isoformat()} to {v.window_end.isoformat()}"
            if v.aggregated_with
            else "-",
            _h(v.total_hours),
            _verdict_text(v),
        ]
        for v in report.verdicts
    ]
    limit = "no limit" if r.limit_hours is None else f"{_h(r.limit_hours)} hours"
    title = f"Aggregation under {r.aggregation} — regime {r.name}, limit {limit}"
    lead = (
        "One verdict per request, each judged as at the day it is dealt with (answered, or "
        "its s.10 due date): earlier similar requests count within 60 working days, later "
        "ones only if received while it was still being dealt with."
    )
    table = _table(
        rows,
        [
            "request",
            "requester",
            "topic",
            "received",
            "judged at",
            "hours",
            "aggregated with",
            "window",
            "total hours",
            "decision",
        ],
        "github" if fmt == MARKDOWN else "simple",
        ("left", "left", "left", "left", "left", "right", "left", "left", "right", "left"),
    )
    why = [f"- {v.explanation}" if fmt == MARKDOWN else v.explanation for v in report.verdicts]
    head = [f"## {title}", "", lead] if fmt == MARKDOWN else [title, lead]
    return "\n".join([*head, "", table, "", "Why:" if fmt != MARKDOWN else "### Why", "", *why])
