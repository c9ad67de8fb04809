"""A real browser for the tests: Debian's chromium, driven by Playwright's bundled driver.

Playwright's own browser download cannot work here (no internet), so the tests launch the
system's chromium (`.ci/run` installs it: `apt-get install -y chromium`). Where it is missing
a test is skipped on a developer's machine but FAILS under CI (the CI environment variable,
which .ci/run sets): nothing in CI is skipped for want of a browser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Screenshots and downloads the browser tests keep (gitignored), for a person to look at.
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # The browser's own language: date inputs show dd/mm/yyyy (the context's locale alone
    # sets navigator.language and Accept-Language, not how a date field is drawn).
    "--lang=en-GB",
]  # fmt: skip


# The browser process's language as well (chromium on Linux reads it from the environment).
BROWSER_ENV = {**os.environ, "LANG": "en_GB.UTF-8", "LANGUAGE": "en_GB"}


def chromium() -> str:
    """The chromium executable; skip (or, under CI, fail) the test without one."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "headless Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run every browser test")
        pytest.skip(message)
    return found


def artifact(name: str) -> Path:
    """A path under tests/artifacts/ for a screenshot or a download."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
