"""Response letters (plain text and Markdown) and the case-file annex, from templates.

The wording lives in costplan/config/letters (one folder per template family, one file per
outcome, `string.Template` syntax): an authority can read and change every sentence a requester
receives without touching code. This module only works out the values the templates name
(the estimate and its breakdown, the s.16 advice, the due date...) and fills them in strictly:
a template naming a value that does not exist is an error, never a blank in a letter.

string.Template rather than a template engine: the letters are fill-in-the-blanks text, the
logic (which outcome, which sentence of evidence) stays in tested Python, and a template
supplied by an authority can never run code.

A letter says only what a requester should read. Query names, the store manifest, options,
file names and the officer's warnings go to the annex (`fmt="annex"`), for the case file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from costplan.costmodel.estimate import ACTIVITY_PHRASES, ANSWER, REFUSE, UNCOVERED
from costplan.errors import ConfigError, InputError
from costplan.planner.advice import NONE_FITS, Advice, alternatives
from costplan.planner.response import Response, held_finding
from costplan.planner.strategies import FULL_REVIEW, ItemPlan
from costplan.planner.wording import day_words, days_words
from costplan.render.plan import (
    _coverage_lines,
    _due_line,
    _headline,
    _snapshot_line,
    _warnings,
)
from costplan.render.templates import Values, fill, template
from costplan.request import QUICK_REFERENCE, Item, clock
from costplan.store.coverage import NOT_COVERED, Verdict
from costplan.units import and_list, fmt_number, round2

FORMATS: dict[str, tuple[str, ...]] = {"Response": ("text", "markdown", "annex")}


def _hours(value: Decimal) -> str:
    return f"{round2(value):,.2f}"


# ---- the values ----------------------------------------------------------------------------


def scope_words(item: Item) -> str:
    """An item's scope as a requester reads it: Lambeth, 25 June 2020, 20:00 to 04:00."""
    text = f"{and_list(item.boroughs)}, {days_words(item.date_from, item.date_to)}"
    if item.window is not None:
        start, end = (clock(m) for m in item.window)
        text += f", {start} to {end}" + (" (overnight)" if item.overnight else "")
    return text


_FIELD_WORDS = {
    "count": "the number of records",
    "cad_refs": "the CAD reference of each",
    "created_at": "the date and time each was created",
    "call_source": "how each call was made",
}


def _restated(r: Response) -> str:
    req = r.plan.request
    if req.question:
        quoted = "\n".join("> " + line if line else ">" for line in req.question.splitlines())
        return f"You asked:\n\n{quoted}"
    lines = ["You asked for information held in our incident (CAD) records about:", ""]
    for it in req.items:
        about = []
        if it.tags:
            about.append("incidents recorded as " + and_list(list(it.tags)))
        if it.keywords or it.opening_codes:
            about.append("incidents described in the terms you gave")
        subject = f" ({' or '.join(about)})" if about else ""
        wants = and_list([_FIELD_WORDS[f] for f in it.fields])
        name = f"{it.name}: " if len(req.items) > 1 else ""
        lines.append(f"- {name}{scope_words(it)}{subject}; {wants}.")
    return "\n".join(lines)


def _due(r: Response) -> str:
    d = r.plan.deadline
    if d is None:
        return ""
    text = (
        f"We received your request on {day_words(d.received)}. Under {d.provision or 'the law'}, "
        f"our response is due by {day_words(d.due)}"
    )
    if d.overdue:
        return text + ". We are sorry that this response is late."
    if d.working_days_left is not None:
        return text + f": {d.working_days_left} working days from the date of this letter."
    return text + "."


def _item_line(ip: ItemPlan, r: Response) -> str:
    s = ip.complete
    e = s.estimate
    if s.strategy == FULL_REVIEW:
        work = (
            f"{s.records:,} CAD records to read at "
            f"{fmt_number(_reading_minutes(ip, r))} minutes each"
        )
    else:
        work = f"an automated search of {s.records:,} CAD records"
    parts = [
        f"{ACTIVITY_PHRASES[i.activity]} {_hours(i.hours)} hours"
        for i in e.items
        if i.countable and i.minutes > 0
    ]
    what = (
        scope_words(ip.item)
        if len(r.plan.items) == 1
        else f"{ip.item.name} ({scope_words(ip.item)})"
    )
    return f"- {what}: {work}; {', '.join(parts)}; {_hours(e.total_hours)} hours in all."


def _reading_minutes(ip: ItemPlan, r: Response) -> Decimal:
    extract = [a for a in ip.complete.activities if a.name == "extract" and a.records]
    return extract[0].minutes_per_record if extract else r.plan.per_record.minutes


def _evidence(r: Response) -> str:
    per = r.plan.per_record
    m = fmt_number(per.minutes)
    if per.kind == "sample" and per.sample is not None:
        s = per.sample
        low, high = (fmt_number(Decimal(str(x))) for x in (s.ci_low_minutes, s.ci_high_minutes))
        return (
            f"The time to read one record, {m} minutes, is the average time taken to read "
            f"{s.n} of our own CAD records, timed for this estimate (95% confidence interval "
            f"{low} to {high} minutes)."
        )
    if per.kind == "published":
        return (
            f"The time to read one record, {m} minutes, is a figure published by another police "
            "force for the same task (Northumbria Police: 'a conservative estimate of 3 minutes "
            "per record')."
        )
    return f"The time to read one record, {m} minutes, is our estimate for this request."


def _cost_rules(r: Response) -> str:
    reg, notice = r.plan.regime, r.notice
    counted = [ACTIVITY_PHRASES[a] for a in ACTIVITY_PHRASES if a in reg.countable]
    if reg.advisory_only:
        return (
            "The Regulations set no cost limit; this estimate shows the work involved in "
            f"{and_list(counted)} the information."
        )
    rules = f"the rules in {notice.fees_regulations}" if notice.fees_regulations else "the law"
    out = f"Only the activities {rules} allow us to count are included: {and_list(counted)}."
    if "determine_held" not in reg.countable:
        out += " The cost of determining whether we hold the information is not counted."
    return out + " Time for redacting information or considering exemptions is not included."


def _estimate(r: Response) -> str:
    plan = r.plan
    paras: list[str] = []
    if any(ip.complete.strategy == FULL_REVIEW for ip in plan.items):
        # The store's words for its areas (the request was resolved in its force profile).
        first = plan.items[0].item
        paras.append(
            "The records you asked about are held in our Computer Aided Dispatch (CAD) system, "
            f"which records incidents by {first.area_word} and date. Incident tags are not "
            "applied consistently, and calls about one event from several places are often not "
            "linked, so the only way to identify every relevant record is to read each CAD "
            f"record created in the {first.areas_word}, on the dates and at the times you asked "
            "about."
        )
    paras.append("\n".join(_item_line(ip, r) for ip in plan.items))
    if len(plan.parts) > 1:
        paras.append(
            "\n".join(f"- {and_list(list(p.names))}: {p.estimate.arithmetic}" for p in plan.parts)
        )
    else:
        paras.append(plan.total.arithmetic)
    paras.append(_evidence(r) + " " + _cost_rules(r))
    return "\n\n".join(paras)


def _aggregation(r: Response) -> str:
    joined = [p for p in r.plan.parts if len(p.names) > 1]
    if not joined:
        return ""
    names = "; ".join(and_list([f"'{n}'" for n in p.names]) for p in joined)
    done = (
        f"we have added their costs together, as {r.plan.regime.aggregation} allows"
        if r.plan.regime.aggregation
        else "we have estimated the cost of complying with them as a whole"
    )
    return f"The parts of your request {names} ask for the same or similar information, so {done}."


def advice_section(advice: Sequence[Advice], provision: str) -> str:
    """The advice-and-assistance section: what would fit, or that nothing does."""
    lines = ["## Advice and assistance", "", f"We have a duty under {provision} to help you."]
    prose = [a.description for a in advice if a.kind == NONE_FITS]
    intro = alternatives(advice)
    prose += [intro] if intro else []
    asks = [a for a in advice if a.kind != NONE_FITS]
    if not advice:
        prose.append(
            "We have not found a narrower form of your request that we could answer within "
            "the limit."
        )
    for p in prose:
        lines += ["", p]
    if asks:
        lines += ["", *(f"{n}. {a.description}" for n, a in enumerate(asks, start=1))]
    lines += ["", "If you narrow your request, we will estimate its cost afresh."]
    return "\n".join(lines)


def _advice(r: Response) -> str:
    if r.plan.decision not in (REFUSE, "partial"):
        return ""
    return advice_section(r.plan.advice, r.notice.advice)


def _held_statement(r: Response, names: Sequence[str] | None = None) -> str:
    """That the information is held (s.1(1)(a)): of the whole request, or of the parts
    `names` (a partial answer's refused parts)."""
    finding = held_finding(r.plan, names)
    if finding.held is True:
        scope = "your request" if names is None else and_list([f"'{n}'" for n in names])
        return f"We can confirm that we hold information within the scope of {scope}."
    if finding.held is False:
        raise InputError(
            "the request says the information is not held (held = false), but this letter "
            "refuses under the cost limit, which must confirm that it is held",
            "a request for information that is not held is answered by saying so",
        )
    raise InputError(
        "the letter must confirm or deny whether the information is held, and nothing in the "
        "plan shows it yet",
        "determine it, then set held = true in the request file (or give --held)",
        field="held",
    )


def _withheld(r: Response) -> str:
    rows = r.withheld()
    if not rows:
        return ""
    sentences = [f"We are not providing {w.what}: we rely on {ex}." for w, ex in rows]
    return (
        " ".join(sentences) + " This part of our response is a refusal notice for that information."
    )


def _parts(r: Response, decision: str) -> str:
    plan = r.plan
    named = [n for p in plan.parts if p.decision == decision for n in p.names]
    if not named or len(plan.parts) < 2:
        return ""
    quoted = and_list([f"'{n}'" for n in named])
    limit = plan.regime.limit_name
    if decision == ANSWER:
        return (
            f"We can answer {quoted} within the {limit}, and the information is enclosed with "
            "this letter."
        )
    if decision == REFUSE:
        return (
            f"We estimate that the cost of complying with {quoted} would exceed the {limit}, "
            f"and we are refusing {'that part' if len(named) == 1 else 'those parts'} under "
            f"{plan.regime.provision}."
        )
    return (
        f"For {quoted} we have not yet established whether we hold all of the information; we "
        "will send our decision within the time the law allows."
    )


def _parts_held(r: Response) -> str:
    """Whether the refused parts of a partial answer are held. The duty to confirm or deny
    survives a refusal under the cost limit for each part, unless determining whether that
    part's information is held would by itself exceed the limit (FOIA s.12(2), law.md §1.5):
    then that part is neither confirmed nor denied."""
    plan = r.plan
    refused = [p for p in plan.parts if p.decision == REFUSE]
    if len(plan.parts) < 2 or not refused or plan.regime.hold_section is None:
        return ""
    ncnd = [n for p in refused if p.estimate.held_exceeds for n in p.names]
    confirm = [n for p in refused if not p.estimate.held_exceeds for n in p.names]
    out = []
    if confirm:
        quoted = and_list([f"'{n}'" for n in confirm])
        they = "it asks" if len(confirm) == 1 else "they ask"
        out.append(
            f"Refusing {quoted} under the cost limit does not remove our duty to tell you "
            f"whether we hold the information {they} for. {_held_statement(r, confirm)}"
        )
    if ncnd:
        quoted = and_list([f"'{n}'" for n in ncnd])
        hold = r.notice.hold_refusal or ""
        out.append(
            f"For {quoted} we also rely on {plan.regime.hold_provision}: we neither confirm nor "
            f"deny that we hold the information. {hold} We estimate that the cost of determining "
            f"whether we hold it would by itself exceed the {plan.regime.limit_name}.".replace(
                "  ", " "
            )
        )
    return "\n\n".join(out)


def _coverage_words(v: Verdict) -> str:
    """What the archive lacks of a scope, with dates as a requester reads them (the
    verdict's own sentence, for reports, gives ISO dates)."""
    missing = "; ".join(
        f"{area}: {and_list([days_words(lo, hi) for lo, hi in days])}"
        for area, days in v.missing.items()
    )
    if v.status == NOT_COVERED:
        return f"The records we hold do not yet include any of the days asked about ({missing})."
    return (
        f"The records we hold do not yet include {missing}; the figures in this letter cover "
        "only the days they do include."
    )


def _uncovered_scopes(r: Response) -> str:
    plan = r.plan
    return " ".join(
        f"{ip.item.name} ({scope_words(ip.item)}): {_coverage_words(v)}"
        for ip, v in zip(plan.items, plan.coverage, strict=True)
        if not v.covered
    )


def _optional(value: str | None, what: str) -> Callable[[], str]:
    def make() -> str:
        if value is None:
            raise ConfigError(f"the regime's notice wording gives no {what}")
        return value

    return make


def _values(r: Response, markdown: bool) -> Values:
    plan, notice, auth = r.plan, r.notice, r.authority
    brk = "  \n" if markdown else "\n"
    head = [auth.name, auth.unit, *auth.address] + ([auth.email] if auth.email else [])
    makers: dict[str, Callable[[], str]] = {
        "letterhead": lambda: brk.join(head),
        "letter_date": lambda: day_words(r.date),
        # A quick request has no case reference: the letter then has no reference line.
        "reference_line": lambda: (
            ""
            if plan.request.reference == QUICK_REFERENCE
            else f"Our reference: {plan.request.reference}"
        ),
        "salutation": lambda: auth.salutation,
        "signature": lambda: brk.join(auth.signature),
        "authority": lambda: auth.name,
        "review": lambda: auth.review,
        "restated": lambda: _restated(r),
        "due": lambda: _due(r),
        "refusal_provision": lambda: plan.regime.provision,
        "hold_provision": _optional(plan.regime.hold_provision, "neither-confirm-nor-deny rule"),
        "refusal": lambda: notice.refusal,
        "hold_refusal": _optional(notice.hold_refusal, "neither-confirm-nor-deny wording"),
        "refusal_notice": _optional(notice.refusal_notice, "refusal notice provision"),
        "advice_provision": lambda: notice.advice,
        "commissioner": lambda: notice.commissioner,
        "commissioner_contact": lambda: notice.commissioner_contact,
        "held_statement": lambda: _held_statement(r),
        "estimate": lambda: _estimate(r),
        "aggregation": lambda: _aggregation(r),
        "advice": lambda: _advice(r),
        "release": lambda: "The information is enclosed with this letter.",
        "withheld": lambda: _withheld(r),
        "parts_answered": lambda: _parts(r, ANSWER),
        "parts_refused": lambda: _parts(r, REFUSE),
        "parts_uncovered": lambda: _parts(r, UNCOVERED),
        "parts_held": lambda: _parts_held(r),
        "uncovered_scopes": lambda: _uncovered_scopes(r),
    }
    values = Values(makers)
    fam = r.family
    makers["body"] = lambda: fill(template(fam, r.outcome), values, f"{fam}/{r.outcome}.txt")
    makers["rights"] = lambda: fill(template(fam, "rights"), values, f"{fam}/rights.txt")
    return values


def letter(r: Response, *, markdown: bool = False) -> str:
    """The letter to send, as plain text or Markdown."""
    text = fill(template("", "letter"), _values(r, markdown), "letter.txt")
    if not markdown:
        text = re.sub(r"(?m)^## ", "", text)
    return text + "\n"


def annex(r: Response) -> str:
    """The case-file annex: what the decision rests on, for the officer, never the requester."""
    plan, per = r.plan, r.plan.per_record
    held = held_finding(plan)
    lines = [
        f"Case-file annex, request {plan.request.reference} (for the case file; not for the "
        "requester)",
        "",
        _headline(plan),
        f"Letter: {r.family}/{r.outcome}.txt, dated {r.date.isoformat()}; settings: "
        f"{r.authority.source}",
        f"Held (s.1(1)(a)): {'yes' if held.held else 'no' if held.held is False else 'open'}"
        f" — {held.basis}",
        f"Per-record time: {fmt_number(per.minutes)} minutes, {per.source}",
    ]
    if per.kind == "published":
        lines.append(
            "Evidence: the per-record time is another force's published figure. A timed sample "
            "of this force's own records is better evidence (plan again with --sample FILE)."
        )
    lines += [f"Estimate: {plan.total.explanation}", f"Recommendation: {plan.recommendation}"]
    if plan.regime.advisory_only and plan.regime.advisory:
        lines.append(f"Officer's note: {plan.regime.advisory}")
    due = _due_line(plan)
    lines += [due] if due else []
    lines += _coverage_lines(plan) + _warnings(plan.warnings)
    lines.append(f"Snapshot: {_snapshot_line(plan)}")
    queries = sorted({s.query for ip in plan.items for s in ip.strategies})
    lines.append(f"Queries: {', '.join(queries)}")
    return "\n".join(lines) + "\n"


def render(result: Response, fmt: str) -> str:
    """A response as a letter (text, markdown) or its case-file annex."""
    return annex(result) if fmt == "annex" else letter(result, markdown=fmt == "markdown")
