"""The ingest's index of staged keys answers exactly as a set would, whatever the batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from costplan.ingest.keys import KeyIndex

batches_of = st.lists(st.lists(st.integers(-50, 500), max_size=40), max_size=12)


@given(batches=batches_of, probe=st.lists(st.integers(-60, 520), max_size=60))
def test_the_index_is_a_set_of_int_keys(batches: list[list[int]], probe: list[int]) -> None:
    index, seen = KeyIndex(), set[int]()
    for batch in batches:
        new = sorted(set(batch) - seen)  # an ingest adds only keys it has not staged yet
        asked = pl.Series(probe + batch, dtype=pl.Int64)
        assert index.contains(asked).to_list() == [k in seen for k in asked.to_list()]
        index.add(pl.Series(new, dtype=pl.Int64))
        seen |= set(new)
        assert len(index) == len(seen)
    sizes = [len(r) for r in index.runs]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)


@given(
    batches=st.lists(st.lists(st.text("ab/1", max_size=4), max_size=20), max_size=8),
    probe=st.lists(st.text("ab/1", max_size=4), max_size=20),
)
def test_the_index_is_a_set_of_text_keys(batches: list[list[str]], probe: list[str]) -> None:
    index, seen = KeyIndex(), set[str]()
    for batch in batches:
        new = sorted(set(batch) - seen)
        asked = pl.Series(probe + batch, dtype=pl.String)
        assert index.contains(asked).to_list() == [k in seen for k in asked.to_list()]
        index.add(pl.Series(new, dtype=pl.String))
        seen |= set(new)


def test_an_empty_index_holds_nothing() -> None:
    index = KeyIndex()
    assert not index
    assert index.contains(pl.Series([1, 2], dtype=pl.Int64)).to_list() == [False, False]
    index.add(pl.Series([], dtype=pl.Int64))
    assert not index


@given(
    batches=batches_of,
    probe=st.lists(st.integers(-60, 520), max_size=60),
    memory=st.integers(1, 30),
)
def test_a_spilled_index_answers_as_one_in_memory(
    batches: list[list[int]], probe: list[int], memory: int, tmp_path_factory: Any
) -> None:
    # Past `memory` keys the runs go to disk: the answers must not change, whatever the order.
    spill = Path(tmp_path_factory.mktemp("keys"))
    small, whole, seen = KeyIndex(spill, memory_keys=memory), KeyIndex(), set[int]()
    for batch in batches:
        new = sorted(set(batch) - seen)
        asked = pl.Series(probe + batch + [None], dtype=pl.Int64)
        expected = [k in seen if k is not None else False for k in asked.to_list()]
        assert small.contains(asked).to_list() == expected
        assert whole.contains(asked).to_list() == expected
        small.add(pl.Series(new, dtype=pl.Int64))
        whole.add(pl.Series(new, dtype=pl.Int64))
        seen |= set(new)
        assert len(small) == len(seen)
        assert sum(len(r) for r in small.runs) <= memory  # memory holds at most that many
    assert len(small.spilled) == len(list(spill.glob("keys-*.npy")))


def test_spilled_text_keys_are_found(tmp_path: Path) -> None:
    index = KeyIndex(tmp_path, memory_keys=2)
    index.add(pl.Series(["1/01JAN20", "2/01JAN20", "3/01JAN20"]))
    index.add(pl.Series(["4/01JAN20"]))
    assert index.spilled
    asked = pl.Series(["4/01JAN20", "9/01JAN20", "1/01JAN20", None])
    assert index.contains(asked).to_list() == [True, False, True, False]
