"""`costplan serve` through CliRunner: its access-control checks, the missing extra, and what
it hands to uvicorn (the server itself runs in tests/test_web_browser.py)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.cli.serve import is_loopback
from costplan.store import Store

runner = CliRunner()
TOKEN = "a-token-of-enough-length"


def serve(store: Store, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["serve", "--store", str(store.root), *args], env=env)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run recorded instead of run (a test must not block on a server)."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def one_line(result: Any) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("costplan: error: ")
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "intranet.example", "::"])
def test_another_address_without_access_control_is_refused(
    planner_store: Store, ran: list[dict[str, Any]], host: str
) -> None:
    line = one_line(serve(planner_store, "--host", host))
    assert f"--host {host}" in line and "--token" in line and "--trusted-header" in line
    assert ran == []


def test_a_short_token_is_refused(planner_store: Store, ran: list[dict[str, Any]]) -> None:
    assert "--token: must be at least 16 characters" in one_line(
        serve(planner_store, "--host", "0.0.0.0", "--token", "short")
    )


def test_a_blank_trusted_header_is_refused(planner_store: Store, ran: list[dict[str, Any]]) -> None:
    assert "--trusted-header" in one_line(serve(planner_store, "--trusted-header", " "))


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "70000"], ["--max-upload", "10"]])
def test_bad_numbers_are_one_line(planner_store: Store, args: list[str]) -> None:
    one_line(serve(planner_store, *args))


def test_localhost_serves_without_a_token(planner_store: Store, ran: list[dict[str, Any]]) -> None:
    result = serve(planner_store, "--port", "8123")
    assert result.exit_code == 0, result.output
    (call,) = ran
    assert call["host"] == "127.0.0.1" and call["port"] == 8123
    assert call["app"].token is None and call["access_log"] is False
    assert call["app"].hosts == {"localhost", "127.0.0.1", "::1"}  # against DNS rebinding
    assert f"serving {planner_store.root}" in result.output


def test_a_token_from_the_environment_protects_another_address(
    planner_store: Store, ran: list[dict[str, Any]]
) -> None:
    result = serve(planner_store, "--host", "0.0.0.0", env={"COSTPLAN_WEB_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert ran[0]["app"].token == TOKEN and ran[0]["host"] == "0.0.0.0"
    assert ran[0]["app"].hosts is None  # any name the intranet gives it


def test_a_trusted_header_protects_another_address(
    planner_store: Store, ran: list[dict[str, Any]]
) -> None:
    result = serve(planner_store, "--host", "10.0.0.5", "--trusted-header", "X-Remote-User")
    assert result.exit_code == 0, result.output
    assert ran[0]["app"].trusted_header == b"x-remote-user"


def test_a_missing_store_is_one_line(tmp_path: Any, ran: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["serve", "--store", str(tmp_path / "none")])
    assert "no costplan store" in one_line(result)


@pytest.mark.parametrize("module", ["starlette", "uvicorn", "jinja2", "python_multipart"])
def test_without_the_web_extra_is_one_line_naming_it(
    planner_store: Store, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    line = one_line(serve(planner_store))
    assert "pip install 'costplan[web]'" in line


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("example.org", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_bad_settings_file_is_one_line(
    planner_store: Store, ran: list[dict[str, Any]], tmp_path: Any
) -> None:
    bad = tmp_path / "authority.toml"
    bad.write_text("nonsense = 1\n")
    assert "nonsense" in one_line(serve(planner_store, "--settings", str(bad)))
    assert ran == []


def test_the_settings_file_reaches_the_page(
    planner_store: Store, ran: list[dict[str, Any]]
) -> None:
    from costplan.planner.authority import DEFAULT_PATH

    assert serve(planner_store, "--settings", str(DEFAULT_PATH)).exit_code == 0
    assert ran[0]["app"].app.state.settings.authority == DEFAULT_PATH
