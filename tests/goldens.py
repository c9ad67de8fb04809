"""Golden files: compare output with a reviewed copy; UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_ROOT = Path(__file__).parent / "golden"


def check_golden(folder: str, name: str, text: str) -> None:
    """Assert `text` equals tests/golden/FOLDER/NAME (or write it with UPDATE_GOLDEN=1)."""
    path = GOLDEN_ROOT / folder / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
