"""The ingest's index of staged keys answers exactly as a set would, whatever the batches."""

from __future__ import annotations

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
    sizes = [r.len() for r in index.runs]
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
