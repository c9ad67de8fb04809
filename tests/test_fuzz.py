"""Fuzzers with a fixed budget: fuzzed requests and exports never give a traceback, and every
export reconciles (rows read = stored + quarantined + duplicates). bench/fuzz.py runs the same
cases by the thousand and prints the counts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import fixture_frame, write_store
from hypothesis import HealthCheck, given, settings

from costplan.store import Store
from tests.fuzz_cases import (
    ExportCase,
    RequestCase,
    export_cases,
    request_cases,
    run_export,
    run_request,
)


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return write_store(tmp_path_factory.mktemp("fuzz") / "store", fixture_frame(per_day=20))


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=request_cases())
def test_fuzzed_requests_never_give_a_traceback(fuzz_store: Store, case: RequestCase) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kind, code = run_request(case, fuzz_store.root, Path(tmp))
    assert kind in ("ok", "user-error", "uncovered"), (kind, code, case)


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(case=export_cases)
def test_fuzzed_exports_reconcile(case: ExportCase) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = run_export(case, Path(tmp))
    assert out["kind"] in ("stored", "refused"), out
    assert out["reconciled"], out
    if case.damage in ("none", "cr", "lf_in_crlf", "crlf_all", "bom"):
        assert out["kind"] == "stored", out  # line endings and a BOM never refuse an export
