"""Ragged behaves like a read-only sequence of rows, as a list of lists would."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher import Ragged, generate_market

lists = st.lists(st.lists(st.integers(0, 30), max_size=4), max_size=8)


@given(lists, st.data())
def test_indexing_and_slicing_agree_with_a_list_of_lists(rows, data):
    r = Ragged.from_lists(rows, dtype=np.int16)
    assert [x.tolist() for x in r] == rows
    assert len(r) == len(rows)
    if rows:
        i = data.draw(st.integers(-len(rows), len(rows) - 1))
        assert r[i].tolist() == rows[i]
        assert r[np.int64(i)].tolist() == rows[i]
    a = data.draw(st.integers(-10, 10) | st.none())
    b = data.draw(st.integers(-10, 10) | st.none())
    step = data.draw(st.sampled_from([None, 1, 2, -1, -3]))
    part = r[a:b:step]
    assert isinstance(part, Ragged)
    assert [x.tolist() for x in part] == rows[a:b:step]
    assert [x.tolist() for x in reversed(r)] == rows[::-1]
    picks = data.draw(st.lists(st.integers(-len(rows), len(rows) - 1), max_size=5)) if rows else []
    assert [x.tolist() for x in r[picks]] == [rows[k] for k in picks]
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows))), dtype=bool)
    assert [x.tolist() for x in r[mask]] == [row for row, m in zip(rows, mask) if m]


def test_out_of_range_rows_raise_index_error():
    r = Ragged.from_lists([[1], [2, 3]], dtype=np.int16)
    for bad in (2, -3):
        with pytest.raises(IndexError):
            r[bad]
    with pytest.raises(IndexError):
        r[[0, 5]]


def test_membership_index_and_count():
    r = Ragged.from_lists([[1], [], [2, 3], [1]], dtype=np.int16)
    assert [2, 3] in r and [3, 2] not in r
    assert r.index([1]) == 0 and r.index([1], 1) == 3 and r.count([1]) == 2 and r.count([]) == 1
    with pytest.raises(ValueError):
        r.index([9])


def test_records_take_negative_rows_and_town_names():
    m = generate_market(6, 9, seed=3)
    d = m.demands
    assert d.record(-1) == d.record(len(d) - 1)
    assert d.record(-1)["towns"] == d.town_names(-1) == d.town_names(len(d) - 1)
    assert d.towns[-1].tolist() == d.towns[len(d) - 1].tolist()
