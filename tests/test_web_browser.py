"""The web page in a real browser, driven as an officer would: headless Chromium (Debian's
package) through Playwright, against the real `costplan serve` on a free localhost port.

Screenshots and downloads are kept in tests/artifacts/ (gitignored). Letter wording is the
letter module's to change: the tests assert only the reference, the decision word and the
hours figure in it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costplan.cli import app
from costplan.store import Store
from tests.browser import BROWSER_ENV, CHROMIUM_ARGS, artifact, chromium

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "ume-raves-2020.toml"
runner = CliRunner()


def cli_json(*args: str) -> dict[str, Any]:
    out = runner.invoke(app, [*args, "--format", "json"])
    assert out.exit_code in (0, 3), out.output
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(web_store: Store) -> Iterator[str]:
    """`costplan serve` as a process of its own, as an officer's machine would run it."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "costplan", "serve", "--store", str(web_store.root),
         "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate()
                pytest.fail(f"costplan serve did not start: {err.decode()[-2000:]}")
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, env=BROWSER_ENV)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def shot(tab: Any, name: str) -> None:
    path = artifact(f"{name}.png")
    tab.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def triage(tab: Any, base: str, area: str, day: str, tags: str = "", reference: str = "") -> None:
    """Fill in the triage form and press Plan, as an officer would."""
    tab.goto(f"{base}/")
    tab.get_by_label("Areas").fill(area)
    tab.get_by_label("First day").fill(day)
    if tags:
        tab.get_by_label("Tags").fill(tags)
    if reference:
        tab.get_by_label("Case reference").fill(reference)
    tab.get_by_role("button", name="Plan").click()
    tab.wait_for_selector("#decision, .error")


def test_the_seed_request_is_refused_with_its_figures_and_advice(
    server: str, page: Any, web_store: Store
) -> None:
    plan = cli_json("plan", str(SEED), "--store", str(web_store.root))
    page.goto(f"{server}/request")
    page.get_by_label("Request file (TOML)").set_input_files(str(SEED))
    page.get_by_role("button", name="Plan", exact=True).click()
    heading = page.wait_for_selector("#decision")
    assert heading.inner_text().strip() == "Refuse under section 12(1)"
    assert f"{plan['total_hours']:,.2f} hours" in page.inner_text(".headline")
    advice = page.locator("ol.advice > li")
    assert advice.count() == len(plan["advice"]) > 0
    assert "Section 16 advice" in page.content()
    assert "A member of the public" not in page.content()
    shot(page, "seed-request-refused")


def test_a_quick_lambeth_triage(server: str, page: Any, web_store: Store) -> None:
    plan = cli_json("plan", "--borough", "Lambeth", "--date", "2020-06-25",
                    "--store", str(web_store.root))  # fmt: skip
    triage(page, server, "Lambeth", "2020-06-25")
    assert "borough=Lambeth" in page.url and "date=2020-06-25" in page.url  # the URL is the ask
    word = {"refuse": "Refuse", "answer": "Answer"}[plan["decision"]]
    assert page.inner_text("#decision").startswith(word)
    assert f"{plan['total_hours']:,.2f} hours" in page.inner_text(".headline")
    rows = page.locator("table.strategies tbody tr")
    assert rows.count() == len(plan["items"][0]["strategies"])
    assert page.evaluate("navigator.language") == "en-GB"
    shot(page, "triage-lambeth")


def test_an_uncovered_date(server: str, page: Any) -> None:
    triage(page, server, "Lambeth", "2019-06-25")
    assert page.inner_text("#decision").startswith("Not covered by the archive")
    assert "none of the days asked about" in page.inner_text("#result")
    shot(page, "triage-uncovered")


def test_a_misspelt_area_shows_its_suggestion_beside_the_field(server: str, page: Any) -> None:
    triage(page, server, "Lamberth", "2020-06-25")
    field = page.locator(".field", has=page.get_by_label("Areas"))
    assert "did you mean Lambeth" in field.locator(".error").inner_text()
    assert page.get_by_label("Areas").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Areas").input_value() == "Lamberth"
    shot(page, "triage-misspelt")


def test_the_letter_downloads(server: str, page: Any, web_store: Store) -> None:
    plan = cli_json("plan", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME",
                    "--reference", "FOI-2026-0042", "--store", str(web_store.root))  # fmt: skip
    assert plan["decision"] == "refuse"
    triage(page, server, "Lambeth", "2020-06-25", tags="UME", reference="FOI-2026-0042")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the draft letter").click()
    saved = artifact("letter-lambeth.txt")
    info.value.save_as(str(saved))
    text = saved.read_text(encoding="utf-8")
    assert info.value.suggested_filename == "letter-FOI-2026-0042.txt"
    # Only the stable facts: the reference, the decision (its section), the hours figure.
    assert "FOI-2026-0042" in text and "12(1)" in text
    assert f"{plan['total_hours']:,.2f} hours" in text


def test_the_request_file_letter_downloads(server: str, page: Any) -> None:
    page.goto(f"{server}/request")
    page.get_by_label("Request (TOML)").fill(SEED.read_text())
    page.get_by_role("button", name="Plan", exact=True).click()
    page.wait_for_selector("#decision")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the draft letter").click()
    saved = artifact("letter-seed.txt")
    info.value.save_as(str(saved))
    assert "01.FOI.21.020843" in saved.read_text(encoding="utf-8")


def test_a_json_url_equals_the_cli_json(server: str, page: Any, web_store: Store) -> None:
    query = "borough=Lambeth&date=2020-06-25&tag=UME&keyword=rave&time-from=22:00&time-to=04:00"
    out = runner.invoke(app, ["plan", "--borough", "Lambeth", "--date", "2020-06-25",
                              "--tag", "UME", "--keyword", "rave", "--time-from", "22:00",
                              "--time-to", "04:00", "--store", str(web_store.root),
                              "--format", "json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    page.goto(f"{server}/")
    body = page.evaluate("async (u) => await (await fetch(u)).text()", f"/plan.json?{query}")
    assert body == out.stdout


def test_the_form_works_without_javascript(browser: Any, server: str) -> None:
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    tab = context.new_page()
    try:
        triage(tab, server, "Lambeth", "2020-06-25")
        assert tab.inner_text("#decision").strip()
        shot(tab, "triage-no-javascript")
    finally:
        context.close()


def test_volumes_with_their_chart(server: str, page: Any) -> None:
    page.goto(f"{server}/volumes?period=month&by=borough&suppress-below=10")
    frame = page.frame_locator("iframe.report")
    assert (
        frame.locator("img")
        .first.get_attribute("src", timeout=30_000)
        .startswith("data:image/png;base64,")
    )
    page.get_by_text("The report as text").click()
    assert "Lambeth" in page.inner_text("pre.report")
    shot(page, "volumes-by-borough")
