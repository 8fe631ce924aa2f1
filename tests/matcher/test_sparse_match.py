"""matcher.match sparse end to end, against the dense path it replaced.

``tests/matcher/dense_match.py`` is the previous ``match``: it scores the full matrix,
masks it and hands it to the bare-matrix algorithms. On a county market of 2k × 2k the
sparse path must give its results (every candidate pair kept); starting from each
record's best few pairs it must prove one-to-one optimal, end stable on the same
allocation, and report a divisible gap that is a true bound (checked against the LP
relaxation over every pair, solved independently with scipy).
"""

import numpy as np
import pytest

import scoring
from matcher import generate_market, match
from matcher.allocation import blocking_pairs
from tests.matcher import dense_match

N = 2000


@pytest.fixture(scope="module")
def county():
    return generate_market(N, N, seed=21)


@pytest.fixture(scope="module")
def dense(county):
    return {m: dense_match.match(county.demands, county.listings, method=m, top_k=3)
            for m in ("one_to_one", "stable", "divisible")}


def _pairs(r):
    return sorted(zip(r.demand.tolist(), r.listing.tolist()))


def _unmatched(r):
    return [(u.side, u.index, u.kind, u.reason_zh, u.rules) for u in r.unmatched]


@pytest.mark.parametrize("method", ["one_to_one", "stable", "divisible"])
def test_every_pair_kept_gives_the_dense_result(county, dense, method):
    want = dense[method]
    got = match(county.demands, county.listings, method=method, top_k=3)
    assert got.limits["pairs"] == "all"
    assert _pairs(got) == _pairs(want)
    np.testing.assert_array_equal(got.demand, want.demand)
    np.testing.assert_array_equal(got.score, want.score)
    np.testing.assert_array_equal(got.area, want.area)
    assert got.objective == want.objective and got.gap == pytest.approx(want.gap, rel=1e-12, abs=1e-15)
    assert _unmatched(got) == _unmatched(want)
    np.testing.assert_array_equal(got.for_demand.index, want.for_demand.index)
    np.testing.assert_array_equal(got.for_listing.index, want.for_listing.index)
    assert got.feasible_pairs == int(want.scores.feasible.sum())


@pytest.mark.parametrize("per_record", [None, 4])
def test_recommendations_ranked_in_the_first_pass_equal_the_dense_rankings(county, dense, per_record):
    want = dense["one_to_one"]  # rankings from the full matrix (ScoreResult.top_k)
    got = match(county.demands, county.listings, method="one_to_one", top_k=3, per_record=per_record)
    for a, b in ((got.for_demand, want.for_demand), (got.for_listing, want.for_listing)):
        np.testing.assert_array_equal(a.index, b.index)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.count, b.count)


def test_one_to_one_from_best_pairs_is_proven_optimal(county, dense):
    want = dense["one_to_one"]
    got = match(county.demands, county.listings, method="one_to_one", top_k=0, per_record=4)
    assert got.limits["pairs"] == {"per_record": 4} and got.limits["checks"] >= 2  # it had to add pairs
    assert got.gap == 0.0
    # optimal up to the check's tolerance (1e-7 per pair) and float32 scores summed
    assert got.objective == pytest.approx(want.objective, abs=1e-6)
    # the kinds of reason do not depend on which optimum was found
    assert sorted((u.side, u.kind) for u in got.unmatched) == sorted((u.side, u.kind) for u in want.unmatched)


def test_stable_from_best_pairs_is_the_same_allocation(county, dense):
    want = dense["stable"]
    got = match(county.demands, county.listings, method="stable", top_k=0, per_record=4)
    assert got.limits["checks"] >= 1
    assert _pairs(got) == _pairs(want)
    # and no blocking pair over every pair of the market
    res = want.scores
    sc = res.scorer
    s = np.where(res.feasible, res.total, np.nan).astype(np.float64)
    b = blocking_pairs(s, got.demand, got.listing, dense_match.landlord_scores(res),
                       reservation=sc.profile.reservation, area_min=sc.demand_side.area_min,
                       area_max=sc.demand_side.hi, area=sc.listing_side.area, unit=sc.listing_side.unit)
    assert b.shape == (0, 2)


def _lp_bound(county, n):
    """The LP relaxation of the divisible problem over every candidate pair (scipy)."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, vstack

    sc = scoring.Scorer(county.demands, county.listings)
    t = sc.score().total.astype(np.float64)
    d, l = sc.demand_side, sc.listing_side
    r, c = np.nonzero(np.isfinite(t) & (t >= sc.profile.reservation) & (t > 0))
    s = t[r, c]
    lo = np.nan_to_num(d.area_min, nan=0.0)[r]
    hi = np.nan_to_num(d.hi, nan=np.inf)[r]
    unit = np.nan_to_num(l.unit, nan=0.0)
    div = unit[c] > 0
    k = np.where(div, scoring.offered_units(lo, hi, l.area[c], np.where(div, unit[c], 1.0)), 0.0)
    ok = ~div | (k >= 1)
    r, c, s, need = r[ok], c[ok], s[ok], np.where(div, k * unit[c], 1.0)[ok]
    cap = np.where(unit > 0, l.area, 1.0)
    e = np.arange(len(s))
    a = vstack([coo_array((np.ones(len(s)), (r, e)), shape=(n, len(s))),
                coo_array((need, (c, e)), shape=(n, len(s)))]).tocsr()
    lp = linprog(-s, A_ub=a, b_ub=np.r_[np.ones(n), cap], bounds=(0, 1), method="highs")
    return -lp.fun


def test_divisible_from_best_pairs_reports_a_true_gap():
    small = generate_market(1000, 1000, seed=22)
    got = match(small.demands, small.listings, method="divisible", top_k=0, per_record=4)
    lp = _lp_bound(small, 1000)
    bound = got.objective / (1.0 - got.gap)
    assert bound >= lp - 1e-6  # the gap is measured against a bound on every pair
    assert got.objective <= lp + 1e-6
    assert got.gap < 0.02


def test_locks_and_exclusions_from_best_pairs(county):
    full = match(county.demands, county.listings, method="one_to_one", top_k=0)
    ids_d, ids_l = county.demands.demand_id, county.listings.listing_id
    refused = [(ids_d[i], ids_l[j]) for i, j in zip(full.demand[:40], full.listing[:40])]
    signed = [(ids_d[full.demand[50]], ids_l[full.listing[51]])]
    a = match(county.demands, county.listings, method="one_to_one", top_k=0, exclude=refused, locks=signed)
    b = match(county.demands, county.listings, method="one_to_one", top_k=0, exclude=refused, locks=signed,
              per_record=4)
    assert b.gap == 0.0 and b.objective == pytest.approx(a.objective, abs=1e-6)
    got = {(ids_d[i], ids_l[j]) for i, j in zip(b.demand, b.listing)}
    assert set(signed) <= got and not got & set(refused)
    assert sorted((u.side, u.index, u.kind) for u in b.unmatched if u.kind in ("excluded", "no_feasible")) == \
        sorted((u.side, u.index, u.kind) for u in a.unmatched if u.kind in ("excluded", "no_feasible"))


@pytest.mark.parametrize("per_record", [None, 6])
def test_no_matrix_is_scored(monkeypatch, per_record):
    """The allocation never asks for the full matrices."""
    def refuse(*a, **k):
        raise AssertionError("the full matrix was scored")

    m = generate_market(500, 600, seed=4)
    ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
    monkeypatch.setattr(scoring.Scorer, "score", refuse)
    monkeypatch.setattr(scoring.Scorer, "criterion_matrix", refuse)
    for method in ("one_to_one", "stable", "divisible"):
        r = match(m.demands, m.listings, method=method, top_k=2, rounds=2, per_record=per_record,
                  exclude=[(ids_d[0], ids_l[0])], locks=[(ids_d[1], ids_l[1])])
        assert len(r) > 0 and len(r.unmatched) > 0
