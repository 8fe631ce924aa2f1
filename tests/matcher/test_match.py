"""matcher.match: invariants, locks, exclusions, determinism and reasons."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from matcher import generate_market, match
from tests.scoring.markets import lenient_markets


@pytest.fixture(scope="module")
def market():
    return generate_market(60, 80, seed=13)


def check_invariants(r, m, reservation, exclude=(), locks=()):
    res = scoring.score(m.demands, m.listings)
    ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
    pairs = {(ids_d[i], ids_l[j]) for i, j in zip(r.demand, r.listing)}
    assert len(set(r.demand.tolist())) == len(r.demand)
    for k, (i, j) in enumerate(zip(r.demand, r.listing)):
        if not r.locked[k]:
            assert res.feasible[i, j] and res.total[i, j] >= reservation
            assert r.score[k] == pytest.approx(float(res.total[i, j]))
    assert not pairs & set(exclude)
    assert set(locks) <= pairs
    unmatched = {(u.side, u.index) for u in r.unmatched}
    assert unmatched == ({("demand", i) for i in range(len(ids_d))} - {("demand", int(i)) for i in r.demand})\
        | ({("listing", j) for j in range(len(ids_l))} - {("listing", int(j)) for j in r.listing})


def check_capacity(r, listings, method):
    """One demand per listing under one_to_one; otherwise whole units within the area of a
    divisible plant, and an indivisible one (no unit) whole to one demand."""
    if method == "one_to_one":
        assert len(set(r.listing.tolist())) == len(r.listing)
        return
    unit = np.nan_to_num(np.asarray(listings.min_unit_m2, dtype=float))
    for j in set(r.listing.tolist()):
        mine = r.listing == j
        assert r.area[mine].sum() <= listings.area_m2[j] + 1e-6
        if unit[j] > 0:
            assert np.allclose(r.area[mine] / unit[j], np.round(r.area[mine] / unit[j]))
        else:
            assert mine.sum() == 1 and r.area[mine][0] == listings.area_m2[j]


@pytest.mark.parametrize("method", ["one_to_one", "stable", "divisible"])
def test_invariants(market, method):
    r = match(market.demands, market.listings, method=method)
    reservation = scoring.default_profile().reservation
    check_invariants(r, market, reservation)
    check_capacity(r, market.listings, method)
    assert r.objective == pytest.approx(r.score.sum())
    e = r.explain(0)
    assert e.feasible and abs(e.total - r.score[0]) <= 1e-6


def test_divisible_never_worse_than_one_to_one(market):
    one = match(market.demands, market.listings)
    div = match(market.demands, market.listings, method="divisible")
    assert div.objective >= one.objective - 1e-9


def test_locks_and_exclusions(market):
    base = match(market.demands, market.listings)
    ids_d, ids_l = market.demands.demand_id, market.listings.listing_id
    refused = [(ids_d[i], ids_l[j]) for i, j in zip(base.demand[:5], base.listing[:5])]
    signed = [(ids_d[base.demand[6]], ids_l[base.listing[7]])]  # a pair the optimum did not choose
    r = match(market.demands, market.listings, exclude=refused, locks=signed)
    check_invariants(r, market, scoring.default_profile().reservation, exclude=refused, locks=signed)
    assert r.locked.sum() == 1
    with pytest.raises(KeyError, match="unknown"):
        match(market.demands, market.listings, locks=[("nobody", ids_l[0])])


def test_same_result_whatever_the_row_order(market):
    a = match(market.demands, market.listings)
    rng = np.random.default_rng(1)
    pd_, pl = rng.permutation(80), rng.permutation(60)
    b = match(market.demands.take(pd_), market.listings.take(pl))
    def pairs(r, d, l):
        return sorted((d.demand_id[i], l.listing_id[j]) for i, j in zip(r.demand, r.listing))
    assert pairs(a, market.demands, market.listings) == pairs(b, market.demands.take(pd_), market.listings.take(pl))


def test_reasons(market):
    r = match(market.demands, market.listings)
    res = r.scores
    kinds = {u.kind for u in r.unmatched}
    assert kinds <= {"no_feasible", "below_reservation", "outbid"}
    for u in r.unmatched:
        assert u.reason_zh and u.reason_en
        if u.side == "demand" and u.kind == "no_feasible":
            assert not res.feasible[u.index].any()
            top = next(iter(res.rule_counts(u.index)))
            assert top.replace("_", " ") in u.reason_en
        if u.side == "demand" and u.kind == "outbid":
            # the named listing went to someone else
            name = u.reason_en.split("its best partner ")[1].split(" ")[0]
            j = int(np.flatnonzero(market.listings.listing_id == name)[0])
            assert j in r.listing
    assert "no_feasible" in kinds


def test_bad_method(market):
    with pytest.raises(ValueError, match="method"):
        match(market.demands, market.listings, method="greedy")


def test_recommendations_are_the_top_k(market):
    r = match(market.demands, market.listings, top_k=4)
    tk = scoring.top_k(market.demands, market.listings, 4)
    np.testing.assert_array_equal(r.for_demand.index, tk.index)
    assert r.for_listing.index.shape == (60, 4)


def test_rounds_are_disjoint_allocations(market):
    r = match(market.demands, market.listings, method="one_to_one", rounds=3)
    assert 1 <= len(r.rounds) <= 3
    first = set(zip(r.rounds[0][0].tolist(), r.rounds[0][1].tolist()))
    assert first == set(zip(r.demand.tolist(), r.listing.tolist()))  # round 1 is the allocation
    seen = set()
    per_listing = np.zeros(60, int)
    for rows, cols in r.rounds:
        assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
        pairs = set(zip(rows.tolist(), cols.tolist()))
        assert not pairs & seen
        seen |= pairs
        np.add.at(per_listing, cols, 1)
    assert per_listing.max() <= 3
    assert len(seen) > len(first)


def test_stable_uses_the_landlord_preference_and_is_stable(market):
    from matcher.allocation import blocking_pairs
    from matcher.match import landlord_scores

    r = match(market.demands, market.listings, method="stable")
    res = r.scores
    land = landlord_scores(res)
    s = np.where(res.feasible, res.total, np.nan).astype(np.float64)
    od = np.argsort(market.demands.demand_id, kind="stable")
    ol = np.argsort(market.listings.listing_id, kind="stable")
    inv_d, inv_l = np.argsort(od), np.argsort(ol)
    sc = res.scorer
    b = blocking_pairs(s[np.ix_(od, ol)], inv_d[r.demand], inv_l[r.listing], land[np.ix_(od, ol)],
                       reservation=scoring.default_profile().reservation, area_min=sc.demand_side.area_min[od],
                       area_max=sc.demand_side.hi[od], area=sc.listing_side.area[ol], unit=sc.listing_side.unit[ol])
    assert b.shape == (0, 2)
    assert len(set(r.listing.tolist())) < len(r.listing)  # divisible plants are shared
    # the documented formula, by hand, on one pair
    i, j = 3, 5
    d, l = market.demands, market.listings
    rating = d.rating[i] / 4 if d.rating[i] > 0 else 0.5
    lease = 1.0 if d.deal[i] == 2 else (0.5 if np.isnan(d.lease_months[i]) else min(d.lease_months[i] / 36, 1))
    lets = (d.deal[i] & 1) and (l.deal[j] & 1)
    budget, price = (d.max_rent[i], l.rent[j]) if lets else (d.max_sale_price[i], l.sale_price[j])
    p = 0.5 if np.isnan(budget) or np.isnan(price) else min(budget / price, 1)
    want = 0.4 * rating + 0.3 * p + 0.15 * lease + 0.15 * float(res.criteria["industry"][i, j])
    assert land[i, j] == pytest.approx(want, abs=1e-6)



@given(market=lenient_markets, method=st.sampled_from(["one_to_one", "stable", "divisible"]), data=st.data())
@settings(max_examples=40)
def test_invariants_with_locks_and_exclusions(market, method, data):
    d, l = market
    ids_d, ids_l = list(d.demand_id), list(l.listing_id)
    pairs = [(a, b) for a in ids_d for b in ids_l]
    exclude = data.draw(st.lists(st.sampled_from(pairs), max_size=4, unique=True))
    free = [p for p in pairs if p not in exclude]
    lock = data.draw(st.lists(st.sampled_from(free), max_size=1)) if free else []
    r = match(d, l, method=method, exclude=exclude, locks=lock)
    res = scoring.score(d, l)
    reservation = scoring.default_profile().reservation
    got = {(ids_d[i], ids_l[j]) for i, j in zip(r.demand, r.listing)}
    assert set(lock) <= got and not got & set(exclude)
    assert len(set(r.demand.tolist())) == len(r.demand)
    for k, (i, j) in enumerate(zip(r.demand, r.listing)):
        if not r.locked[k]:
            assert res.feasible[i, j] and res.total[i, j] >= reservation
    check_capacity(r, l, method)
    every = {("demand", i) for i in range(len(ids_d))} | {("listing", j) for j in range(len(ids_l))}
    paired = {("demand", int(i)) for i in r.demand} | {("listing", int(j)) for j in r.listing}
    assert {(u.side, u.index) for u in r.unmatched} == every - paired


@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not scoring.fast.available(), reason="numba not installed"))])
def test_one_sided_and_empty_markets(engine):
    m = generate_market(5, 4, seed=1)
    none_d, none_l = m.demands.take(np.arange(0)), m.listings.take(np.arange(0))
    for d, l, shape in [(none_d, m.listings, (0, 5)), (m.demands, none_l, (4, 0)), (none_d, none_l, (0, 0))]:
        assert scoring.score(d, l, engine=engine).total.shape == shape
        tk = scoring.top_k(d, l, 3, engine=engine)
        assert tk.index.shape == (shape[0], 3) and (tk.count == 0).all()
        r = match(d, l)
        assert len(r) == 0 and len(r.unmatched) == sum(shape)
        assert all(u.kind == "no_feasible" and u.reason_en.startswith("there are no") for u in r.unmatched)
