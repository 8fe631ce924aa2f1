"""Divisible allocation: the MILP against brute force on tiny instances."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.allocation.divisible import divisible


def brute_force(s, lo, hi, area, unit, reservation):
    """Every way to send each demand to one listing or none; the fewest whole units
    in range for each pair decides whether a listing can host them all."""
    n, m = s.shape
    best = 0.0
    for choice in itertools.product(range(-1, m), repeat=n):
        total, used, ok = 0.0, [0.0] * m, True
        count = [0] * m
        for i, j in enumerate(choice):
            if j < 0:
                continue
            if np.isnan(s[i, j]) or s[i, j] < reservation or s[i, j] <= 0:
                ok = False
                break
            count[j] += 1
            if unit[j] > 0:
                k = max(math.ceil(lo[i] / unit[j] - 1e-9), 1)
                if k * unit[j] > min(hi[i], area[j]) + 1e-9:
                    ok = False
                    break
                used[j] += k * unit[j]
            total += s[i, j]
        if not ok:
            continue
        if any(unit[j] > 0 and used[j] > area[j] + 1e-9 for j in range(m)):
            continue
        if any(unit[j] <= 0 and count[j] > 1 for j in range(m)):
            continue
        best = max(best, total)
    return best


@st.composite
def instances(draw):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    s = np.array(draw(st.lists(st.one_of(st.just(np.nan), st.sampled_from([0.3, 0.5, 0.5, 0.9])),
                               min_size=n * m, max_size=n * m)), dtype=float).reshape(n, m)
    lo = np.array(draw(st.lists(st.sampled_from([0.0, 200.0, 450.0, 900.0]), min_size=n, max_size=n)))
    hi = lo + np.array(draw(st.lists(st.sampled_from([0.0, 150.0, 600.0, np.inf]), min_size=n, max_size=n)))
    area = np.array(draw(st.lists(st.sampled_from([300.0, 1000.0, 1800.0]), min_size=m, max_size=m)))
    unit = np.array(draw(st.lists(st.sampled_from([0.0, 100.0, 250.0]), min_size=m, max_size=m)))
    return s, lo, hi, area, unit


@given(inst=instances(), reservation=st.sampled_from([0.0, 0.4]))
@settings(max_examples=150)
def test_milp_equals_brute_force(inst, reservation):
    s, lo, hi, area, unit = inst
    res = divisible(s, lo, hi, area, unit, reservation)
    assert res.optimal and res.gap <= 1e-9
    assert res.objective == pytest.approx(brute_force(s, lo, hi, area, unit, reservation), abs=1e-9)
    # invariants: feasible pairs, demands once, areas in range and within each listing
    assert len(set(res.rows.tolist())) == len(res.rows)
    for i, j, a in zip(res.rows, res.cols, res.area):
        assert not np.isnan(s[i, j]) and s[i, j] >= reservation
        if unit[j] > 0:
            assert a / unit[j] == pytest.approx(round(a / unit[j]))
            assert lo[i] - 1e-9 <= a <= min(hi[i], area[j]) + 1e-9
        else:
            assert a == area[j] and (res.cols == j).sum() == 1
    for j in range(len(area)):
        assert res.area[res.cols == j].sum() <= area[j] + 1e-9


def test_a_divisible_plant_is_shared():
    s = np.array([[0.9], [0.8], [0.7]])
    res = divisible(s, [400, 400, 400], [600, 600, 600], [1200], [200])
    assert res.rows.tolist() == [0, 1, 2] and res.area.tolist() == [400, 400, 400]
    res = divisible(s, [400, 400, 400], [600, 600, 600], [1200], [0])  # indivisible: one demand
    assert res.rows.tolist() == [0] and res.area.tolist() == [1200]
    res = divisible(np.full((2, 1), np.nan), [1, 1], [2, 2], [10], [1])
    assert res.rows.size == 0 and res.optimal
