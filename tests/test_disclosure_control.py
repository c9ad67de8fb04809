"""Disclosure control that survives differencing (issue 15, defect 3).

An attacker holding several published summaries of one store works suppressed counts back out
by differencing them: a margin (`--by borough`) against its breakdown (`--by
borough,call_source`), a week against its days, and two month queries whose `--from` differs
by a day. Each attack is written out below and run on a generated June 2020 (all boroughs,
`--suppress-below 10`): with suppression alone (`--disclosure suppress`) it recovers counts
exactly; with the cell key method (the default) it recovers none of the suppressed or
rounded counts exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from costplan.cellkey import KEY_MODULUS, key_salt, round_by_key
from costplan.cli import app
from costplan.errors import CostplanError
from costplan.store import Store
from costplan.summary import Summary, summarise
from costplan.synth.demo import build_archive

D = dt.date
N = 10
FIRST, LAST = D(2020, 6, 1), D(2020, 6, 30)
WEEK = (D(2020, 6, 8), D(2020, 6, 14))  # Monday to Sunday
Cells = dict[tuple[dt.date, tuple[str | None, ...]], int | None]


@pytest.fixture(scope="module")
def june(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(tmp_path_factory.mktemp("sdc") / "store", create=True)
    build_archive(store, FIRST, LAST)
    return store


def cells(s: Summary) -> Cells:
    """Published counts by (period, groups): None where suppressed."""
    return {(c.period_start, c.groups): c.count for c in s.cells}


Publish = Callable[..., Summary]


def publisher(store: Store, method: str) -> Publish:
    def publish(**kw: object) -> Summary:
        return summarise(store, suppress_below=N, method=method, **kw)  # type: ignore[arg-type]

    return publish


def truth(store: Store, **kw: object) -> Cells:
    return cells(summarise(store, **kw))  # type: ignore[arg-type]


def margin_attack(store: Store, publish: Publish) -> list[tuple[int, int]]:
    """(recovered, true) for each suppressed cell alone in its borough-day's breakdown by
    call source: the borough's total that day less the breakdown's published counts."""
    kw = {"period": "day", "date_from": FIRST, "date_to": LAST}
    fine = cells(publish(by=("borough", "call_source"), **kw))
    margin = cells(publish(by=("borough",), **kw))
    true = truth(store, by=("borough", "call_source"), **kw)
    rows: dict[tuple[dt.date, str | None], list[tuple[tuple[str | None, ...], int | None]]]
    rows = defaultdict(list)
    for (p, g), n in fine.items():
        rows[(p, g[0])].append((g, n))
    out = []
    for (p, b), group in rows.items():
        hidden = [g for g, n in group if n is None]
        total = margin.get((p, (b,)))
        if len(hidden) == 1 and total is not None:
            recovered = total - sum(n or 0 for _, n in group)
            out.append((recovered, true[(p, hidden[0])]))
    return out


def week_attack(store: Store, publish: Publish) -> list[tuple[int, int]]:
    """(recovered, true) for each suppressed day alone in its group's week: the week's count
    less the other days' published counts."""
    by = ("borough", "call_source", "grading")
    kw = {"by": by, "date_from": WEEK[0], "date_to": WEEK[1]}
    week = cells(publish(period="week", **kw))
    days = cells(publish(period="day", **kw))
    true = truth(store, period="day", **kw)
    per_group: dict[tuple[str | None, ...], list[tuple[dt.date, int | None]]] = defaultdict(list)
    for (p, g), n in days.items():
        per_group[g].append((p, n))
    out = []
    for g, group in per_group.items():
        hidden = [p for p, n in group if n is None]
        total = week.get((WEEK[0], g))
        if len(hidden) == 1 and total is not None:
            out.append((total - sum(n or 0 for _, n in group), true[(hidden[0], g)]))
    return out


def shifted_month_attack(store: Store, publish: Publish) -> list[tuple[int, int]]:
    """(recovered, true) for 1 June in each group: the month from the 1st less the month
    from the 2nd, where the true day count is suppressed or rounded in the day's table."""
    by = ("borough", "call_source", "grading")
    whole = cells(publish(period="month", by=by, date_from=FIRST, date_to=LAST))
    later = cells(publish(period="month", by=by, date_from=FIRST + dt.timedelta(1), date_to=LAST))
    day = truth(store, period="day", by=by, date_from=FIRST, date_to=FIRST)
    out = []
    for (_, g), n in day.items():
        a, b = whole.get((FIRST, g)), later.get((FIRST, g), 0)
        if a is not None and b is not None:
            out.append((a - b, n))
    return out


ATTACKS = {"margins": margin_attack, "week": week_attack, "shifted month": shifted_month_attack}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_differencing_recovers_suppressed_counts_under_suppression_alone(
    june: Store, name: str
) -> None:
    """The attacks work on suppression alone (so the test below is not empty)."""
    found = ATTACKS[name](june, publisher(june, "suppress"))
    exact = [t for r, t in found if r == t]
    assert exact and len(exact) == len(found)
    assert any(t < N for t in exact)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_differencing_recovers_no_protected_count_under_the_cell_key_method(
    june: Store, name: str
) -> None:
    """Every suppressed count (1..N-1) and every rounded one (not a multiple of N) stays
    unrecovered: every published figure is a multiple of N, and so is any difference."""
    found = ATTACKS[name](june, publisher(june, "cellkey"))
    protected = [(r, t) for r, t in found if t % N]
    assert protected and any(t < N for _, t in protected)
    assert [t for r, t in protected if r == t] == []


def test_one_cell_is_published_alike_in_every_table(june: Store) -> None:
    """The same cell (June, Lambeth) gets the same figure whatever else is asked."""
    publish = publisher(june, "cellkey")
    alone = cells(publish(period="month", by=("borough",), date_from=FIRST, date_to=LAST))
    wider = cells(publish(period="month", by=("borough",), date_from=D(2020, 5, 1)))
    key = (FIRST, ("Lambeth",))
    assert alone[key] == wider[key] and alone[key] is not None and alone[key] % N == 0


def test_the_cli_protects_by_default_and_names_the_method(june: Store) -> None:
    runner = CliRunner()
    base = ["summary", "--store", str(june.root), "--period", "month", "--by", "borough"]
    base += ["--suppress-below", "7", "--format", "csv"]
    default = runner.invoke(app, base)
    assert default.exit_code == 0, default.output
    counts = [line.rsplit(",", 1)[1] for line in default.stdout.splitlines()[1:]]
    assert counts and all(c == "<7" or int(c) % 7 == 0 for c in counts)
    exact = runner.invoke(app, [*base, "--disclosure", "suppress"])
    assert exact.exit_code == 0 and exact.stdout != default.stdout
    bad = runner.invoke(app, [*base, "--disclosure", "nope"])
    assert bad.exit_code == 2 and "--disclosure" in bad.output


@given(st.integers(0, 10**9), st.integers(0, 10**6), st.integers(1, 1000))
def test_rounding_by_key_is_a_near_multiple(count: int, key: int, base: int) -> None:
    out = round_by_key(count, key, base)
    assert out % base == 0 and abs(out - count) < base
    if count % base == 0:
        assert out == count


@given(st.integers(0, 10**6), st.integers(1, 100))
def test_rounding_by_key_is_unbiased_over_the_keys(count: int, base: int) -> None:
    """Over all keys the rounding's mean is the count, to within one key's share of base."""
    mean = sum(round_by_key(count, k, base) for k in range(KEY_MODULUS)) / KEY_MODULUS
    assert abs(mean - count) <= base / KEY_MODULUS


def test_the_salt_is_shipped_data_read_strictly(tmp_path: Path) -> None:
    assert key_salt() == "costplan-cellkey-v1:"
    bad = tmp_path / "cellkey.toml"
    bad.write_text('salt = "x"\npepper = "y"\n', encoding="utf-8")
    with pytest.raises(CostplanError, match="pepper"):
        key_salt(bad)
