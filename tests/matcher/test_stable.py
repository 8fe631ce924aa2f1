"""Stable allocation: no blocking pair, and the matching package's resident-optimal result."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.allocation.stable import blocking_pairs, stable

HospitalResident = pytest.importorskip("matching.games").HospitalResident


def instance(draw_values, n, m):
    return np.array(draw_values, dtype=float).reshape(n, m)


games = st.integers(1, 7).flatmap(lambda n: st.integers(1, 7).flatmap(lambda m: st.tuples(
    st.lists(st.one_of(st.just(np.nan), st.sampled_from([0.2, 0.5, 0.8]), st.floats(0, 1)),  # ties too
             min_size=n * m, max_size=n * m).map(lambda v: instance(v, n, m)),
    st.lists(st.one_of(st.sampled_from([0.3, 0.6]), st.floats(0, 1)), min_size=n * m, max_size=n * m).map(
        lambda v: instance(v, n, m)),
    st.lists(st.integers(0, 3), min_size=m, max_size=m).map(np.array),
)))


def reference(s, ls, cap, reservation):
    """The matching package's HospitalResident, resident-optimal, with our tie-break."""
    n, m = s.shape
    ok = ~np.isnan(s) & (np.nan_to_num(s, nan=-1) >= reservation)
    ok &= (cap > 0)[None, :]  # the package needs a place in every hospital; an empty one takes nobody
    r_prefs = {f"d{i}": [f"l{j}" for j in sorted(np.flatnonzero(ok[i]), key=lambda j: (-s[i, j], j))]
               for i in range(n) if ok[i].any()}
    h_prefs = {f"l{j}": [f"d{i}" for i in sorted(np.flatnonzero(ok[:, j]), key=lambda i: (-ls[i, j], i))]
               for j in range(m) if ok[:, j].any()}
    if not r_prefs:
        return set()
    caps = {h: int(cap[int(h[1:])]) for h in h_prefs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(r_prefs, h_prefs, caps)
        result = game.solve(optimal="resident")
    return {(int(r.name[1:]), int(h.name[1:])) for h, rs in result.items() for r in rs}


@given(game=games, reservation=st.sampled_from([0.0, 0.4]))
@settings(max_examples=200)
def test_equals_the_matching_package_and_is_stable(game, reservation):
    s, ls, cap = game
    rows, cols = stable(s, ls, cap, reservation)
    assert set(zip(rows.tolist(), cols.tolist())) == reference(s, ls, cap, reservation)
    assert blocking_pairs(s, rows, cols, ls, cap, reservation).shape == (0, 2)
    assert np.all(np.bincount(cols, minlength=s.shape[1]) <= cap)
    assert len(set(rows.tolist())) == len(rows)


def test_the_checker_finds_blocking_pairs():
    s = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert blocking_pairs(s, np.array([0, 1]), np.array([1, 0])).tolist() == [[0, 0], [1, 1]]
    # demand 1 alone on listing 1 ... demand 0 unmatched: (0, 0) blocks; (1, 0) does not (1 prefers 1)
    assert blocking_pairs(s, np.array([1]), np.array([1])).tolist() == [[0, 0]]
    rows, cols = stable(s)
    assert list(zip(rows, cols)) == [(0, 0), (1, 1)]


def test_landlord_preferences_change_the_outcome():
    s = np.array([[0.9, 0.5], [0.8, 0.6]])  # both demands prefer listing 0
    by_score = stable(s)
    assert list(zip(*by_score)) == [(0, 0), (1, 1)]
    landlord = np.array([[0.1, 0.5], [0.9, 0.5]])  # listing 0 prefers demand 1
    rows, cols = stable(s, landlord)
    assert list(zip(rows, cols)) == [(0, 1), (1, 0)]
    assert blocking_pairs(s, rows, cols, landlord).shape == (0, 2)


def test_capacities():
    s = np.full((5, 2), 0.5)
    rows, cols = stable(s, capacity=[3, 1])
    assert np.bincount(cols, minlength=2).tolist() == [3, 1]
    with pytest.raises(ValueError, match="capacities"):
        stable(s, capacity=[-1, 1])
