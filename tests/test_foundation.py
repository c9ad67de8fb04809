"""The foundation every layer shares: the strict TOML reader and the file primitives."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costplan._files import collect_retired, inside, relative_parts, write_atomic
from costplan._toml import Table, parse_toml, read_toml
from costplan.errors import ConfigError, InputError


def test_unknown_and_missing_keys_have_one_wording() -> None:
    table = Table({"a": 1, "typo": 2}, "f.toml")
    assert table.number("a") == 1.0
    with pytest.raises(ConfigError, match=r"^f\.toml: 'typo' is an unknown key$") as info:
        table.done(["a", "b"])
    assert info.value.hint == "allowed: a, b"
    with pytest.raises(ConfigError, match=r"^f\.toml: 'b' is missing$"):
        table.raw("b")


def test_nested_keys_are_named_by_their_dotted_path() -> None:
    doc = parse_toml("[x]\n[[x.y]]\nn = 'one'\n", "f.toml")
    items = Table(doc, "f.toml").sub("x").tables("y")
    with pytest.raises(ConfigError, match=r"'x\.y\[0\]\.n' must be a number, not 'one'"):
        items[0].number("n")


def test_the_error_type_follows_the_file() -> None:
    with pytest.raises(InputError, match="'n' must be an integer"):
        Table({"n": 1.5}, "request.toml", error=InputError).integer("n", 0, 9)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), True, "3"])
def test_numbers_are_finite_and_not_booleans_or_text(value: object) -> None:
    with pytest.raises(ConfigError, match="must be a number"):
        Table({"n": value}, "f").number("n")


def test_read_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="request not found"):
        read_toml(tmp_path / "absent.toml", "request")
    bad = tmp_path / "bad.toml"
    bad.write_text("a = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        read_toml(bad)


@pytest.mark.parametrize(
    "relative", ["../outside", "/etc/passwd", "a/../../b", "C:/x", "a\\..\\..\\b", "", "x\x00y"]
)
def test_metadata_never_names_a_path_outside_the_root(tmp_path: Path, relative: str) -> None:
    assert inside(tmp_path, relative) is None


def test_collect_retired_deletes_only_expired_files_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "data").mkdir(parents=True)
    old, young = root / "data" / "old.parquet", root / "data" / "young.parquet"
    victim = tmp_path / "victim.txt"
    for path in (old, young, victim):
        path.write_text("x")
    long_ago = time.time() - 10_000
    kept = collect_retired(
        root,
        [
            {"path": "data/old.parquet", "retired_at": long_ago},
            {"path": "data/young.parquet", "retired_at": time.time()},
            {"path": "../victim.txt", "retired_at": long_ago},
            {"path": str(victim), "retired_at": long_ago},
        ],
    )
    assert not old.exists() and young.exists() and victim.exists()
    assert [k["path"] for k in kept] == ["data/young.parquet"]


def test_write_atomic_replaces_whole_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.csv"
    write_atomic(target, "a\n")
    write_atomic(target, b"b\n")
    assert target.read_bytes() == b"b\n"
    assert os.listdir(target.parent) == ["report.csv"]
    with pytest.raises(InputError, match="is a directory"):
        write_atomic(tmp_path, "x")


def test_a_hostile_manifest_never_makes_the_store_delete_outside_itself(tmp_path: Path) -> None:
    """The writer's clean-up reads `retired` from the manifest: metadata is not trusted
    (issue 15.8)."""
    import json

    from costplan.store import Store

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    store = Store.open(tmp_path / "store", create=True)
    manifest = store.root / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["retired"] = [
        {"path": "../victim.txt", "retired_at": 0},
        {"path": str(victim), "retired_at": 0},
        {"path": "data/../../victim.txt", "retired_at": 0},
    ]
    manifest.write_text(json.dumps(doc))
    with store.writer() as txn:
        txn.commit()
    assert victim.read_text() == "keep me"
    assert store.snapshot().retired == ()


def _parts_by_pathlib(relative: str) -> tuple[str, ...] | None:
    """The rule as it was written with PurePosixPath (the oracle for relative_parts)."""
    from pathlib import PurePosixPath

    if not relative or "\x00" in relative:
        return None
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or parts[0] == "//" or ".." in parts or ":" in parts[0]:
        return None
    return parts


@given(st.text(alphabet="ab./\\:\x00 ", max_size=12))
def test_relative_parts_split_as_pathlib_does(text: str) -> None:
    got = relative_parts(text)
    assert (tuple(got) if got is not None else None) == _parts_by_pathlib(text)
