"""What reaches people agrees with itself: areas equal the reasons' areas under every
method, reasons name exclusions and locks, bounds are enforced, solves are deterministic."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from matcher import generate_market, match
from matcher.errors import PairConflictError
from tests.matcher.units_reference import plain_offered
from tests.scoring.markets import lenient_markets

METHODS = ["auto", "one_to_one", "divisible", "stable"]


def _offered_in_reasons(r, k):
    e = r.explain(k)
    return next(c.inputs["offered_m2"] for c in e.criteria if c.name == "area")


@given(market=lenient_markets, method=st.sampled_from(METHODS), data=st.data())
@settings(max_examples=60)
def test_allocated_area_is_the_area_the_reasons_state(market, method, data):
    d, l = market
    ids_d, ids_l = list(d.demand_id), list(l.listing_id)
    pairs = [(a, b) for a in ids_d for b in ids_l]
    lock = data.draw(st.lists(st.sampled_from(pairs), max_size=1))
    r = match(d, l, method=method, locks=lock)
    sc = r.scores.scorer
    lo, hi = sc.demand_side.area_min, sc.demand_side.hi
    for k, (i, j) in enumerate(zip(r.demand, r.listing)):
        want = plain_offered(lo[i], hi[i], l.area_m2[j], np.nan_to_num(l.min_unit_m2[j]))
        assert r.area[k] == pytest.approx(want), (method, i, j)
        said = _offered_in_reasons(r, k)
        if said is not None:  # a listing of unknown area states none
            assert r.area[k] == pytest.approx(said)
        unit = l.min_unit_m2[j]
        if unit > 0:  # whole units: a divisible plant never goes whole to a firm asking a fraction of it
            assert r.area[k] / unit == pytest.approx(round(r.area[k] / unit))
    if r.method in ("divisible", "stable"):
        for j in set(r.listing.tolist()):
            assert r.area[r.listing == j].sum() <= l.area_m2[j] + 1e-6


def test_auto_shares_plants_when_any_listing_is_divisible():
    m = generate_market(60, 80, seed=13)
    assert (m.listings.min_unit_m2 > 0).any()
    assert match(m.demands, m.listings).method == "divisible"
    whole = m.listings.take(np.flatnonzero(~(m.listings.min_unit_m2 > 0)))
    assert match(m.demands, whole).method == "one_to_one"
    with pytest.raises(ValueError, match="method"):
        match(m.demands, m.listings, method="greedy")


def _market_with_one_feasible_listing():
    """Demand 0 is feasible with listing 0 only; demand 1 too (they compete for it)."""
    m = generate_market(40, 30, seed=5)
    res = scoring.score(m.demands, m.listings)
    counts = res.feasible.sum(axis=1)
    i = int(np.flatnonzero(counts >= 1)[0])
    return m, res, i


def test_reasons_name_the_exclusions_that_removed_every_feasible_partner():
    m, res, i = _market_with_one_feasible_listing()
    ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
    feasible = np.flatnonzero(res.feasible[i])
    refused = [(ids_d[i], ids_l[j]) for j in feasible]
    r = match(m.demands, m.listings, exclude=refused)
    u = next(u for u in r.unmatched if u.side == "demand" and u.index == i)
    assert u.kind == "excluded"
    assert f"{len(feasible)} 个可行房源" in u.reason_zh and "已排除" in u.reason_zh
    assert str(ids_l[feasible[0]]) in u.reason_zh and str(ids_l[feasible[0]]) in u.reason_en
    assert "excluded" in u.reason_en and "no feasible" not in u.reason_en


def test_reasons_name_the_locks_that_took_every_feasible_partner():
    m, res, i = _market_with_one_feasible_listing()
    ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
    feasible = np.flatnonzero(res.feasible[i])
    others = [k for k in range(len(ids_d)) if k != i]
    locks = [(ids_d[others[n]], ids_l[j]) for n, j in enumerate(feasible)]
    r = match(m.demands, m.listings, method="one_to_one", locks=locks)
    u = next(u for u in r.unmatched if u.side == "demand" and u.index == i)
    assert u.kind == "excluded" and "锁定" in u.reason_zh and "locked" in u.reason_en


def test_bounds_are_errors_or_caps():
    m = generate_market(6, 5, seed=2)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="top_k"):
            match(m.demands, m.listings, top_k=bad)
        with pytest.raises(ValueError, match="rounds"):
            match(m.demands, m.listings, rounds=bad)
    r = match(m.demands, m.listings, top_k=10**9)  # capped at the other side's size, at once
    assert r.for_demand.index.shape == (5, 6) and r.for_listing.index.shape == (6, 5)
    r0 = match(m.demands, m.listings, top_k=0)
    assert r0.for_demand.index.shape == (5, 0)
    pair = (m.demands.demand_id[0], m.listings.listing_id[0])
    with pytest.raises(PairConflictError, match="both locked and excluded"):
        match(m.demands, m.listings, locks=[pair], exclude=[pair])
    with pytest.raises(scoring.ProfileError, match="finite"):
        match(m.demands, m.listings, profile={"weights": {"area": 1e308, "location": 1e308}})


def test_divisible_runs_under_work_limits_not_a_clock(monkeypatch):
    import scipy.optimize

    seen = []
    real_milp, real_lp = scipy.optimize.milp, scipy.optimize.linprog

    def spy_milp(*a, **kw):
        seen.append(("milp", dict(kw.get("options") or {})))
        return real_milp(*a, **kw)

    def spy_lp(*a, **kw):
        seen.append(("lp", dict(kw.get("options") or {})))
        return real_lp(*a, **kw)

    monkeypatch.setattr(scipy.optimize, "milp", spy_milp)
    monkeypatch.setattr(scipy.optimize, "linprog", spy_lp)
    m = generate_market(60, 80, seed=13)
    a = match(m.demands, m.listings, method="divisible")
    import importlib

    div = importlib.import_module("matcher.allocation.divisible")  # the package attribute is the function
    monkeypatch.setattr(div, "MILP_MAX_PAIRS", 1)  # the heuristic's LP too
    b = match(m.demands, m.listings, method="divisible")
    kinds = {k for k, _ in seen}
    assert kinds == {"milp", "lp"}
    for _, options in seen:
        assert "time_limit" not in options
        assert options.get("node_limit", 0) > 0 or options.get("maxiter", 0) > 0
    assert a.limits["solver"] == "milp" and b.limits["solver"] == "heuristic"
    again = match(m.demands, m.listings, method="divisible")
    assert (again.demand.tolist(), again.listing.tolist()) == (b.demand.tolist(), b.listing.tolist())


def test_unmatched_sentences_read_as_written():
    """The wording staff read for a record left without a partner (the dense reference
    in tests/matcher/dense_match.py shares it, so it is pinned here)."""
    from matcher.reasons import no_feasible, unavailable

    ids = np.array(["L1", "L2", "L3", "L4", "L5"])
    zh, en = unavailable("demand", ids, [0, 1], [2, 3, 4])
    assert zh == "5 个可行房源均不可用：已排除 2 个（L1、L2），已锁定给其他需求 3 个（L3、L4、L5）"
    assert en == "all 5 feasible listings are unavailable: 2 excluded (L1, L2); 3 locked to other demands (L3, L4, L5)"
    zh, en = unavailable("listing", np.array(["D1", "D2", "D3", "D4"]), [0, 1, 2, 3], [])
    assert zh == "4 个可行需求均不可用：已排除 4 个（D1、D2、D3…）"
    assert en == "all 4 feasible demands are unavailable: 4 excluded (D1, D2, D3…)"
    label = {r.name: r.zh for r in scoring.RULES}
    zh, en = no_feasible({"deal": 5, "area": 3, "max_distance": 2, "crane": 1}, "listing")
    assert zh == (f"没有可行的房源：5 个房源{label['deal']}不符，3 个房源{label['area']}不符，"
                  f"2 个房源{label['max_distance']}不符")
    assert en == "no feasible listing: 5 listings fail deal, 3 listings fail area, 2 listings fail max distance"
