"""Disclosure selection: the CAD references an answer may release (references only)."""

from __future__ import annotations

from costplan.engines import DEFAULT, Engine
from costplan.planner.strategies import scope_params
from costplan.request import Request
from costplan.store import Snapshot


def disclosure_refs(snapshot: Snapshot, request: Request, *, engine: Engine = DEFAULT) -> list[str]:
    """CAD references a tag-query answer may release, from the same snapshot as the plan.

    Pass the snapshot the decision was made on (`Plan.snapshot_ref`), so the references and
    the decision can never come from different versions of the store.
    """
    refs: list[str] = []
    boroughs = sorted({b for it in request.items for b in it.boroughs})
    years = sorted({y for it in request.items for y in it.years})
    with engine.open(snapshot, boroughs=boroughs, years=years) as session:
        for it in request.items:
            if not it.tags:
                continue
            rows = session.records("tagged_refs", **scope_params(it), tags=list(it.tags))
            refs += [r["cad_ref"] for r in rows]
    return refs
