"""Renderers for plans and triage checks: table, Markdown and JSON (letters: render.letter).

Presentation only: takes the planner's results and returns text. Reports carry counts, CAD
references and hours; never the requester, caller details, free text or locations.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from costplan.planner.triage import CheckResult
from costplan.render.json_doc import to_json
from costplan.request import clock
from costplan.units import fmt_number, round2

if TYPE_CHECKING:
    from costplan.costmodel.estimate import Estimate
    from costplan.planner.advice import Advice
    from costplan.planner.plan import Plan


def _h(value: Decimal | float) -> str:
    return f"{round2(Decimal(str(value))):,.2f}"


def _minutes(plan: Plan) -> str:
    return fmt_number(plan.per_record.minutes)


def _sample_line(plan: Plan) -> str:
    a = plan.sample
    assert a is not None
    p = (
        ""
        if a.p_exceeds is None
        else f"; probability the total exceeds the limit {a.p_exceeds:.1%}"
    )
    return (
        f"{a.stats.n} timed records; total {_h(a.total_hours_low)}–{_h(a.total_hours_high)} "
        f"hours at 95% confidence{p}; {a.wording}"
    )


def _strategy_rows(plan: Plan) -> list[list[Any]]:
    rows = []
    for ip in plan.items:
        for s in ip.strategies:
            by = {a: Decimal(0) for a in ("determine_held", "locate", "retrieve", "extract")}
            for a in s.activities:
                by[a.name] = by.get(a.name, Decimal(0)) + a.minutes
            rows.append(
                [
                    ip.item.name,
                    s.title,
                    f"{s.records:,}",
                    *(_h(by[k] / 60) for k in ("determine_held", "locate", "retrieve", "extract")),
                    _h(s.estimate.total_hours),
                    s.estimate.decision
                    + (f" s.{s.estimate.section}" if s.estimate.section else ""),
                    "yes" if s.complete else "no",
                ]
            )
    return rows


STRATEGY_HEADERS = [
    "item",
    "strategy",
    "records",
    "held h",
    "locate h",
    "retrieve h",
    "extract h",
    "total h",
    "decision alone",
    "complete",
]


def _headline(plan: Plan) -> str:
    t = plan.total
    limit = f"{_h(t.limit_hours)} h" if t.limit_hours is not None else "no limit"
    if plan.decision == "partial":
        answered = [n for p in plan.parts if p.decision == "answer" for n in p.names]
        verdict = f"PARTLY ANSWERABLE (within the limit: {', '.join(answered)})"
        hours = "parts judged separately"
    elif plan.decision == "uncovered":
        verdict = "NOT COVERED by the archive, no decision"
        hours = f"at least {_h(t.total_hours)} h"
    else:
        verdict = "ANSWER" if t.decision == "answer" else f"REFUSE under section {t.section}"
        hours = f"{'at least ' if not plan.fully_covered else ''}{_h(t.total_hours)} h"
    against = f" against {limit}" if hours != "parts judged separately" else ""
    return f"Request {plan.request.reference}: {verdict} — {hours}{against} ({plan.regime.name})"


def _coverage_lines(plan: Plan) -> list[str]:
    """Per item, what the archive does not hold (nothing when it holds everything)."""
    return [
        f"Coverage, {ip.item.name}: {v.describe()}"
        for ip, v in zip(plan.items, plan.coverage, strict=True)
        if not v.covered
    ]


def _area_lines(plan: Plan) -> list[str]:
    """Per item, how the names asked for were expanded (a group, a place, all): nothing when
    every name was an area's own."""
    return [
        f"{ip.item.areas_word.capitalize()}, {ip.item.name}: {'; '.join(ip.item.notes)}"
        for ip in plan.items
        if ip.item.notes
    ]


def _due_line(plan: Plan) -> str | None:
    """When the response is due, and the working days left (a request with a received date)."""
    d = plan.deadline
    if d is None:
        return None
    left = ""
    if d.working_days_left is not None and d.as_of is not None:
        n = abs(d.working_days_left)
        left = (
            f"; overdue by {n} working days as of {d.as_of.isoformat()}"
            if d.overdue
            else f"; {n} working days left as of {d.as_of.isoformat()}"
        )
    return (
        f"Due: {d.due.isoformat()} ({d.working_days} working days after receipt on "
        f"{d.received.isoformat()}, {d.provision or 'the regime'}{left})"
    )


def _snapshot_line(plan: Plan) -> str:
    s = plan.snapshot
    return (
        f"store manifest v{s['manifest_version']} ({s['rows']:,} CADs, {s['partitions']} "
        f"partitions, committed {s['committed_at']}), costplan {s['costplan_version']}, "
        f"regime {plan.regime.name}"
    )


def _warnings(warnings: tuple[str, ...]) -> list[str]:
    """The officer's warnings (tags the store does not use), one line each; never in a letter."""
    return [f"Warning: {w}" for w in warnings]


def _asks(advice: Sequence[Advice]) -> list[tuple[int, Advice]]:
    """The suggestions, numbered from 1 (the statement that none fits is not one)."""
    from costplan.planner.advice import NONE_FITS  # plans only: `check` never loads advice

    return list(enumerate((a for a in advice if a.kind != NONE_FITS), start=1))


def _advice_prose(advice: Sequence[Advice]) -> list[str]:
    """The paragraphs before the list: that nothing fits (if so), and that these are
    alternatives (and which, if any, could be combined)."""
    from costplan.planner.advice import NONE_FITS, alternatives

    out = [a.description for a in advice if a.kind == NONE_FITS]
    intro = alternatives(advice)
    return [*out, intro] if intro else out


def advice_table(advice: Sequence[Advice]) -> list[str]:
    """The section 16 advice for the terminal report."""
    from tabulate import tabulate  # deferred: `check` never renders a table with it

    lines = ["Section 16 advice:"]
    lines += [textwrap.fill(p, 100) for p in _advice_prose(advice)]
    asks = _asks(advice)
    if asks:
        lines.append(
            tabulate(
                [[n, a.description, f"{a.records:,}", _h(a.hours)] for n, a in asks],
                headers=["#", "refinement", "records", "hours"],
                disable_numparse=True,
                maxcolwidths=[None, 80, None, None],
            )
        )
    return lines


def plan_table(plan: Plan) -> str:
    """The default terminal report."""
    from tabulate import tabulate  # deferred: `check` never renders a table with it

    lines = [_headline(plan), *_warnings(plan.warnings), *_area_lines(plan), ""]
    lines.append(tabulate(_strategy_rows(plan), headers=STRATEGY_HEADERS, disable_numparse=True))
    lines += ["", *_coverage_lines(plan)] if not plan.fully_covered else []
    label = "Decision" if plan.fully_covered else "Counted in the archive (a lower bound)"
    lines += ["", f"{label}: {plan.total.explanation}", f"Recommendation: {plan.recommendation}"]
    lines.append(f"Per-record reading time: {_minutes(plan)} minutes, {plan.per_record.source}.")
    if plan.sample is not None:
        lines.append(f"Sample: {_sample_line(plan)}")
    if (due_line := _due_line(plan)) is not None:
        lines.append(due_line)
    if plan.advice:
        lines += ["", *advice_table(plan.advice)]
    lines += ["", f"Snapshot: {_snapshot_line(plan)}"]
    return "\n".join(lines)


def plan_markdown(plan: Plan) -> str:
    """A Markdown report for case files."""
    from tabulate import tabulate  # deferred: `check` never renders a table with it

    t = plan.total
    out = [f"# Cost estimate: request {plan.request.reference}", ""]
    out.append(f"**Decision:** {_headline(plan).split(': ', 1)[1]}")
    out += ["", *_area_lines(plan)] if _area_lines(plan) else []
    out += ["", *_coverage_lines(plan), ""] if not plan.fully_covered else []
    out += [f"\n> **Warning:** {w}" for w in plan.warnings]
    out += ["", t.explanation, "", "## Strategies", ""]
    out.append(
        tabulate(
            _strategy_rows(plan), headers=STRATEGY_HEADERS, tablefmt="github", disable_numparse=True
        )
    )
    out += ["", "### Caveats", ""]
    seen: set[str] = set()
    for ip in plan.items:
        for s in ip.strategies:
            if s.title not in seen:
                seen.add(s.title)
                out.append(f"- **{s.title}** — {s.caveat}")
    out += ["", "## Recommendation", "", plan.recommendation, ""]
    out.append(f"Per-record reading time: {_minutes(plan)} minutes, {plan.per_record.source}.")
    if plan.sample is not None:
        out += ["", f"Sample: {_sample_line(plan)}"]
    if (due_line := _due_line(plan)) is not None:
        out += ["", due_line]
    if plan.advice:
        out += ["", "## Section 16 advice", ""]
        out += [line for p in _advice_prose(plan.advice) for line in (p, "")]
        out += [f"{n}. {a.description}" for n, a in _asks(plan.advice)]
    out += ["", "## Reproducibility", "", f"- {_snapshot_line(plan)}"]
    out.append(
        "- Queries: " + ", ".join(sorted({s.query for ip in plan.items for s in ip.strategies}))
    )
    return "\n".join(out) + "\n"


def plan_json(plan: Plan) -> str:
    """One JSON object (see Plan.to_dict for the contract)."""
    return to_json(plan.to_dict())


# ---- triage check --------------------------------------------------------------------------


def _when(c: CheckResult) -> str:
    it = c.item
    span = (
        it.date_from.isoformat()
        if it.date_from == it.date_to
        else f"{it.date_from.isoformat()} to {it.date_to.isoformat()}"
    )
    if it.window is not None:
        start, end = (clock(m) for m in it.window)
        span += f", {start}-{end}" + (" overnight" if it.overnight else "")
    return span


def _verdict(e: Estimate) -> str:
    return "answer" if e.decision == "answer" else f"refuse under s.{e.section}"


def check_line(c: CheckResult) -> str:
    """The one-line feasibility answer for triage (and, with a tag, its incomplete figure)."""
    e = c.estimate
    limit = _h(e.limit_hours) if e.limit_hours is not None else "no limit"
    held = e.held_minutes
    check_min = f" + {fmt_number(held)} min held check" if held else ""
    verdict = (
        "NOT COVERED by the archive, no decision" if c.decision == "uncovered" else _verdict(e)
    )
    at_least = "at least " if c.coverage is not None and not c.coverage.covered else ""
    line = (
        f"{', '.join(c.boroughs)}, {_when(c)}: {at_least}{c.records:,} CADs "
        f"× {fmt_number(c.minutes_per_record)} min{check_min} "
        f"= {at_least}{_h(e.total_hours)} h (limit {limit} h) → {verdict}"
    )
    if c.item.notes:
        line += "\n" + "; ".join(c.item.notes)
    if c.coverage is not None and not c.coverage.covered:
        line += f"\n{c.coverage.describe()}"
    if c.narrowed is not None:
        n = c.narrowed
        line += (
            f"\nTagged {'/'.join(n.tags)} only: {n.records:,} CADs, "
            f"{_h(n.estimate.total_hours)} h → {_verdict(n.estimate)}. {n.caveat}"
        )
    return line


def check_table(c: CheckResult) -> str:
    """The check's figures as a two-column table."""
    e = c.estimate
    rows = [
        [c.item.areas_word, ", ".join(c.boroughs)],
        ["dates", _when(c)],
        ["strategy", "full manual review (complete)"],
        ["records", f"{c.records:,}"],
        ["minutes per record", fmt_number(c.minutes_per_record)],
        ["hours", _h(e.total_hours)],
        ["limit hours", _h(e.limit_hours) if e.limit_hours is not None else "none"],
        ["decision", c.decision + (f" s.{c.section}" if c.section else "")],
        ["coverage", c.coverage.status if c.coverage else "not checked"],
        ["counted from", c.counted_from],
    ]
    if c.narrowed is not None:
        n = c.narrowed
        rows += [
            ["tags", ", ".join(n.tags)],
            ["tagged records", f"{n.records:,} (incomplete: untagged records are missed)"],
            ["tagged hours", _h(n.estimate.total_hours)],
        ]
    # Two columns need no table library; `check` must answer fast (docs/benchmarks.md).
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


# The formats each result family renders in (the CLI offers exactly these).
FORMATS: dict[str, tuple[str, ...]] = {
    "Plan": ("table", "markdown", "json"),
    "CheckResult": ("table", "json"),
}


def render(result: Plan | CheckResult, fmt: str) -> str:
    """Render a plan (table, markdown, json) or a triage check (table, json)."""
    if isinstance(result, CheckResult):
        if fmt == "json":
            return to_json(result.to_dict())
        return "\n".join([check_line(result), *_warnings(result.warnings)]) + (
            "\n\n" + check_table(result)
        )
    renderers = {"table": plan_table, "markdown": plan_markdown, "json": plan_json}
    return renderers[fmt](result)
