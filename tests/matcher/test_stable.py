"""Stable allocation: no blocking pair, and the matching package's resident-optimal result."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.allocation.stable import blocking_pairs, stable
from tests.matcher.units_reference import plain_offered

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
    _rows, cols = stable(s, capacity=[3, 1])
    assert np.bincount(cols, minlength=2).tolist() == [3, 1]
    with pytest.raises(ValueError, match="capacities"):
        stable(s, capacity=[-1, 1])


@st.composite
def shared_plants(draw):
    """Tiny markets with divisible plants (unit > 0) beside indivisible ones."""
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    vals = st.one_of(st.just(np.nan), st.sampled_from([0.3, 0.6, 0.6]), st.floats(0, 1))
    s = instance(draw(st.lists(vals, min_size=n * m, max_size=n * m)), n, m)
    ls = instance(draw(st.lists(st.sampled_from([0.2, 0.5, 0.9]), min_size=n * m, max_size=n * m)), n, m)
    lo = np.array(draw(st.lists(st.sampled_from([0.0, 200.0, 450.0, 900.0]), min_size=n, max_size=n)))
    hi = lo + np.array(draw(st.lists(st.sampled_from([0.0, 300.0, np.inf]), min_size=n, max_size=n)))
    area = np.array(draw(st.lists(st.sampled_from([300.0, 1000.0, 1800.0]), min_size=m, max_size=m)))
    unit = np.array(draw(st.lists(st.sampled_from([0.0, 100.0, 250.0]), min_size=m, max_size=m)))
    return s, ls, lo, hi, area, unit


def plain_sizes(i, j, lo, hi, area, unit):
    """What pair (i, j) takes of listing j (the rule's whole units, or its one seat);
    None if not even one unit fits."""
    if unit[j] <= 0:
        return 1.0
    taken = plain_offered(lo[i], hi[i], area[j], unit[j])
    return taken if taken > 0 else None


def all_stable(s, ls, lo, hi, area, unit, reservation):
    """Every stable allocation, by enumerating every assignment (plain Python)."""
    n, m = s.shape
    cap = [area[j] if unit[j] > 0 else 1.0 for j in range(m)]
    size = {(i, j): plain_sizes(i, j, lo, hi, area, unit) for i in range(n) for j in range(m)}
    ok = {(i, j) for i in range(n) for j in range(m)
          if not np.isnan(s[i, j]) and s[i, j] >= reservation and size[i, j] is not None}

    def d_better(i, j, k):  # does i prefer j to k (None: unmatched)?
        return k is None or (-s[i, j], j) < (-s[i, k], k)

    def l_above(j, a, i):  # does j rank demand a above demand i?
        return (-ls[a, j], a) < (-ls[i, j], i)

    out = []
    for choice in itertools.product(*[[None] + [j for j in range(m) if (i, j) in ok] for i in range(n)]):
        load = [sum(size[i, j] for i in range(n) if choice[i] == j) for j in range(m)]
        if any(load[j] > cap[j] + 1e-9 for j in range(m)):
            continue
        blocked = any(
            d_better(i, j, choice[i])
            and sum(size[a, j] for a in range(n) if choice[a] == j and l_above(j, a, i)) + size[i, j] <= cap[j] + 1e-9
            for i, j in ok)
        if not blocked:
            out.append(choice)
    return out, d_better


@given(game=shared_plants(), reservation=st.sampled_from([0.0, 0.4]))
@settings(max_examples=300)
def test_shared_plants_give_the_demand_optimal_stable_allocation(game, reservation):
    s, ls, lo, hi, area, unit = game
    kw = {"area_min": lo, "area_max": hi, "area": area, "unit": unit}
    rows, cols = stable(s, ls, reservation=reservation, **kw)
    assert blocking_pairs(s, rows, cols, ls, reservation=reservation, **kw).shape == (0, 2)
    n = s.shape[0]
    ours = [None] * n
    for i, j in zip(rows.tolist(), cols.tolist()):
        ours[i] = j
    stables, d_better = all_stable(s, ls, lo, hi, area, unit, reservation)
    if not stables:  # with sizes a stable allocation need not exist (module docstring)
        return
    assert tuple(ours) in stables  # feasible and stable by the plain definition
    for other in stables:  # and every demand does at least as well as in any other
        for i, (o, k) in enumerate(zip(ours, other)):
            assert o == k or (o is not None and d_better(i, o, k)), (i, ours, other)


def test_the_area_checker_finds_a_blocking_pair():
    # one plant of 1000 ㎡ in 100 ㎡ units; the landlord prefers demand 1
    s = np.array([[0.9], [0.8]])
    ls = np.array([[0.2], [0.9]])
    kw = {"area_min": [600.0, 500.0], "area_max": [700.0, 600.0], "area": [1000.0], "unit": [100.0]}
    # demand 0 holds 600 ㎡; demand 1 (preferred, 500 ㎡) would fit if 0 left: blocks
    assert blocking_pairs(s, np.array([0]), np.array([0]), ls, **kw).tolist() == [[1, 0]]
    rows, cols = stable(s, ls, **kw)
    assert list(zip(rows.tolist(), cols.tolist())) == [(1, 0)]  # 500 + 600 > 1000
    kw["area"] = [1100.0]
    rows, cols = stable(s, ls, **kw)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0), (1, 0)]  # both fit
    with pytest.raises(ValueError, match="together"):
        stable(s, area=[1000.0])
