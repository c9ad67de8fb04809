"""A typed, described package (issue 14): py.typed, a LICENSE that matches the metadata,
classifiers and URLs, a changelog, and a README that lists every optional extra."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from costplan._deps import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_file_matches_the_declared_license() -> None:
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_the_package_says_it_is_typed() -> None:
    assert (ROOT / "costplan" / "py.typed").is_file()
    assert "Typing :: Typed" in PROJECT["classifiers"]


def test_classifiers_and_urls() -> None:
    classifiers = PROJECT["classifiers"]
    assert any(c.startswith("Development Status ::") for c in classifiers)
    # Every Python the package claims is at least requires-python.
    claimed = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    floor = PROJECT["requires-python"].removeprefix(">=")
    assert claimed and all(tuple(map(int, v.split("."))) >= tuple(map(int, floor.split(".")))
                           for v in claimed)  # fmt: skip
    # A license expression replaces license classifiers (PEP 639): none may be given too.
    assert not any(c.startswith("License ::") for c in classifiers)
    assert {"Homepage", "Documentation", "Changelog"} <= set(PROJECT["urls"])


def test_changelog_keeps_the_keep_a_changelog_form() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog") and "## [Unreleased]" in text
    assert f"## {PROJECT['version']}" in text
    sections = re.findall(r"^### (\w+)$", text, flags=re.M)
    assert sections and set(sections) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed",
                                          "Security"}  # fmt: skip


def test_readme_lists_every_optional_extra() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    extras = set(PROJECT["optional-dependencies"])
    # Every extra the code names in a missing-dependency error, and every one pyproject offers.
    named = {extra for extra, _purpose in EXTRAS.values()}
    assert named <= extras
    for extra in extras:
        assert f"costplan[{extra}]" in readme or f"'.[{extra}]'" in readme, extra
