"""Divisible allocation: the MILP against brute force on tiny instances."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.allocation.divisible import divisible
from tests.matcher.units_reference import plain_offered


def brute_force(s, lo, hi, area, unit, reservation):
    """Every way to send each demand to one listing or none; the whole units each pair
    takes (the documented rule) decide whether a listing can host them all."""
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
                taken = plain_offered(lo[i], hi[i], area[j], unit[j])
                if taken <= 0:
                    ok = False
                    break
                used[j] += taken
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
    check_feasible(res, s, lo, hi, area, unit, reservation)


def test_a_divisible_plant_is_shared():
    s = np.array([[0.9], [0.8], [0.7]])
    res = divisible(s, [400, 400, 400], [600, 600, 600], [1200], [200])
    assert res.rows.tolist() == [0, 1, 2] and res.area.tolist() == [400, 400, 400]
    res = divisible(s, [400, 400, 400], [600, 600, 600], [1200], [0])  # indivisible: one demand
    assert res.rows.tolist() == [0] and res.area.tolist() == [1200]
    res = divisible(np.full((2, 1), np.nan), [1, 1], [2, 2], [10], [1])
    assert res.rows.size == 0 and res.optimal


def check_feasible(res, s, lo, hi, area, unit, reservation):
    """Every pair feasible, each demand once, each pair the whole units the rule gives,
    no listing over."""
    assert len(set(res.rows.tolist())) == len(res.rows)
    for i, j, a in zip(res.rows, res.cols, res.area):
        assert not np.isnan(s[i, j]) and s[i, j] >= reservation
        if unit[j] > 0:
            assert a / unit[j] == pytest.approx(round(a / unit[j]))
            assert a == pytest.approx(plain_offered(lo[i], hi[i], area[j], unit[j])) and a > 0
        else:
            assert a == area[j] and (res.cols == j).sum() == 1
    for j in range(len(area)):
        assert res.area[res.cols == j].sum() <= area[j] + 1e-9
    assert res.objective == pytest.approx(sum(s[i, j] for i, j in zip(res.rows, res.cols)), abs=1e-9)


def lp_relaxation(s, lo, hi, area, unit, reservation):
    """The LP relaxation of the whole problem, written out independently with linprog."""
    from scipy.optimize import linprog

    n, m = s.shape
    pairs, w = [], []
    for i in range(n):
        for j in range(m):
            if np.isnan(s[i, j]) or s[i, j] < reservation or s[i, j] <= 0:
                continue
            if unit[j] > 0:
                taken = plain_offered(lo[i], hi[i], area[j], unit[j])
                if taken <= 0:
                    continue
                w.append(taken)
            else:
                w.append(1.0)
            pairs.append((i, j))
    if not pairs:
        return 0.0
    a = np.zeros((n + m, len(pairs)))
    for e, (i, j) in enumerate(pairs):
        a[i, e] = 1.0
        a[n + j, e] = w[e]
    b = np.r_[np.ones(n), [area[j] if unit[j] > 0 else 1.0 for j in range(m)]]
    res = linprog([-s[i, j] for i, j in pairs], A_ub=a, b_ub=b, bounds=(0, 1), method="highs")
    return -res.fun


@given(inst=instances(), reservation=st.sampled_from([0.0, 0.4]))
@settings(max_examples=150)
def test_heuristic_is_feasible_and_its_bound_holds(inst, reservation):
    s, lo, hi, area, unit = inst
    res = divisible(s, lo, hi, area, unit, reservation, method="heuristic")
    assert res.method == "heuristic"
    check_feasible(res, s, lo, hi, area, unit, reservation)
    best = brute_force(s, lo, hi, area, unit, reservation)
    lp = lp_relaxation(s, lo, hi, area, unit, reservation)
    assert res.objective <= best + 1e-9
    assert res.bound >= lp - 1e-7 >= best - 2e-7  # never claims more than the LP bound allows
    if res.bound > 0:
        assert res.gap == pytest.approx((res.bound - res.objective) / res.bound)


@pytest.mark.parametrize("seed", range(3))
def test_heuristic_close_to_the_milp_on_a_generated_market(seed):
    import scoring
    from matcher import generate_market

    m = generate_market(150, 120, seed=seed)
    sc = scoring.Scorer(m.demands, m.listings)
    total = sc.score().total
    d, l = sc.demand_side, sc.listing_side
    args = (total, d.area_min, d.hi, l.area, l.unit, 0.35)
    exact = divisible(*args, method="milp")
    fast = divisible(*args, method="heuristic")
    assert exact.optimal
    assert fast.objective <= exact.objective + 1e-9 <= fast.bound + 2e-9
    assert fast.gap < 0.05  # a weak heuristic or a loose bound would show here
    # the heuristic's bound is an LP bound: no lower than the LP relaxation itself
    lp = lp_relaxation(total.astype(float), d.area_min, d.hi, l.area, np.nan_to_num(l.unit), 0.35)
    assert fast.bound >= lp - 1e-6


def test_auto_takes_the_milp_on_small_problems_and_the_heuristic_on_large(monkeypatch):
    import importlib

    mod = importlib.import_module("matcher.allocation.divisible")  # the package attribute is the function
    s = np.array([[0.9, 0.5], [0.8, np.nan]])
    args = (s, [100, 100], [300, 300], [400, 300], [100, 0])
    assert divisible(*args).method == "milp"
    monkeypatch.setattr(mod, "MILP_MAX_PAIRS", 1)
    assert divisible(*args).method == "heuristic"
    with pytest.raises(ValueError, match="method"):
        divisible(*args, method="greedy")
