"""Candidates, per-record statistics, the dual check and the pruning index against the
dense matrix of ``Scorer.score()``, on both engines."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from matcher.generate import generate_market
from matcher.records import Listings, Ragged
from scoring.prune import build_index, spans
from tests.scoring.markets import lenient_markets, markets

ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not scoring.fast.available(),
                                                                   reason="numba not installed"))]
MODES = [(None, None), (3, None), (None, 2), (2, 3)]


def best_first(values, partners, tie, k):
    """Partners sorted by value descending, ties by rank; the first k."""
    order = sorted(range(len(values)), key=lambda q: (-float(values[q]), int(tie[partners[q]])))
    return [int(partners[q]) for q in order[:k]]


def expected_pairs(total, reservation, per_d, per_l, tie_d, tie_l):
    keep = ~np.isnan(total) & (total >= np.float32(reservation)) & (total > 0)
    if per_d is None and per_l is None:
        return set(zip(*(a.tolist() for a in np.nonzero(keep))))
    out = set()
    if per_d:
        for i in range(total.shape[0]):
            js = np.flatnonzero(keep[i])
            out |= {(i, j) for j in best_first(total[i, js], js, tie_l, per_d)}
    if per_l:
        for j in range(total.shape[1]):
            is_ = np.flatnonzero(keep[:, j])
            out |= {(i, j) for i in best_first(total[is_, j], is_, tie_d, per_l)}
    return out


def check(scorer, c, full, reservation, per_d, per_l):
    total, failed = full.total, full.failed
    tie_d, tie_l = scorer.id_ranks("demand"), scorer.id_ranks("listing")
    got = list(zip(c.demand.tolist(), c.listing.tolist()))
    assert got == sorted(got) and len(set(got)) == len(got)  # sorted by demand, then listing
    assert set(got) == expected_pairs(total, reservation, per_d, per_l, tie_d, tie_l)
    np.testing.assert_array_equal(c.score, total[c.demand, c.listing])
    np.testing.assert_array_equal(np.diff(c.indptr), np.bincount(c.demand, minlength=total.shape[0]))
    feas = ~np.isnan(total)
    np.testing.assert_array_equal(c.demands.n_feasible, feas.sum(axis=1))
    np.testing.assert_array_equal(c.listings.n_feasible, feas.sum(axis=0))
    for stats, t, tie_other in ((c.demands, total, tie_l), (c.listings, total.T, tie_d)):
        for k in range(t.shape[0]):
            js = np.flatnonzero(~np.isnan(t[k]))
            if js.size == 0:
                assert np.isnan(stats.best[k]) and stats.best_partner[k] == -1
            else:
                b = best_first(t[k, js], js, tie_other, 1)[0]
                assert stats.best_partner[k] == b and stats.best[k] == t[k, b]
    for col, r in enumerate(scoring.RULES):
        hit = (failed & np.uint16(r.flag)) != 0
        if c.exact_rule_counts:
            np.testing.assert_array_equal(c.demands.rule_counts[:, col], hit.sum(axis=1), err_msg=r.name)
            np.testing.assert_array_equal(c.listings.rule_counts[:, col], hit.sum(axis=0), err_msg=r.name)
        else:  # skipped pairs count only under the rule that skipped them: lower bounds
            assert (c.demands.rule_counts[:, col] <= hit.sum(axis=1)).all(), r.name
            assert (c.listings.rule_counts[:, col] <= hit.sum(axis=0)).all(), r.name
    # every infeasible pair is counted under at least one rule
    assert (c.demands.rule_counts.sum(axis=1) >= (~feas).sum(axis=1)).all()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prune", [False, True])
@pytest.mark.parametrize(("per_d", "per_l"), MODES)
def test_candidates_equal_the_dense_matrix(engine, prune, per_d, per_l):
    m = generate_market(150, 120, seed=4)
    s = scoring.Scorer(m.demands, m.listings, engine=engine)
    full = s.score()
    c = s.candidates(0.35, per_demand=per_d, per_listing=per_l, prune=prune)
    check(s, c, full, 0.35, per_d, per_l)
    assert c.exact_rule_counts == (engine == "numpy" or not prune)


@pytest.mark.parametrize("engine", ENGINES)
@given(market=st.one_of(markets, lenient_markets), mode=st.sampled_from(MODES), prune=st.booleans(),
       reservation=st.sampled_from([0.0, 0.35, 0.7]))
@settings(max_examples=30)
def test_candidates_on_messy_markets(engine, market, mode, prune, reservation):
    d, listings = market
    s = scoring.Scorer(d, listings, engine=engine)
    check(s, s.candidates(reservation, *mode, prune=prune), s.score(), reservation, *mode)


@pytest.mark.parametrize("engine", ENGINES)
def test_ties_go_to_the_lower_id(engine):
    m = generate_market(30, 30, seed=9)
    first = m.listings.take(np.array([8]))
    cols = {}
    for f in Listings.FIELDS:
        v = getattr(first, f.name)
        cols[f.name] = [list(v[0])] * 30 if isinstance(v, Ragged) else [v[0]] * 30
    cols["listing_id"] = [f"L{k:02d}" for k in range(30)][::-1]
    same = Listings.from_columns(cols)
    s = scoring.Scorer(m.demands, same, engine=engine)
    full = s.score()
    for mode in MODES:
        check(s, s.candidates(0.0, *mode), full, 0.0, *mode)
    c = s.candidates(0.0, per_demand=2)
    for i in np.flatnonzero(c.demands.n_feasible):
        assert same.listing_id[c.demands.best_partner[i]] == "L00"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("n_d", "n_l"), [(0, 5), (5, 0), (0, 0)])
def test_empty_sides(engine, n_d, n_l):
    m = generate_market(max(n_l, 1), max(n_d, 1), seed=1)
    d, listings = m.demands.take(np.arange(n_d)), m.listings.take(np.arange(n_l))
    s = scoring.Scorer(d, listings, engine=engine)
    c = s.candidates(per_demand=2)
    assert len(c) == 0 and c.shape == (n_d, n_l) and c.indptr.shape == (n_d + 1,)
    assert c.demands.rule_counts.shape == (n_d, len(scoring.RULES))
    assert c.listings.n_feasible.shape == (n_l,)
    assert len(s.dual_violations(np.zeros(n_d), np.zeros(n_l))) == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_all_infeasible(engine):
    import dataclasses

    m = generate_market(40, 30, seed=2)
    listings = dataclasses.replace(m.listings, deal=np.full(40, 2, np.int8))  # for sale only
    d = dataclasses.replace(m.demands, deal=np.full(30, 1, np.int8))  # lease only
    s = scoring.Scorer(d, listings, engine=engine)
    c = s.candidates(0.0)
    assert len(c) == 0 and (c.demands.n_feasible == 0).all() and np.isnan(c.demands.best).all()
    assert next(iter(c.demands.rules(0).items())) == ("deal", 40)  # largest first
    assert (c.listings.rule_counts[:, 0] == 30).all()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prune", [False, True])
def test_a_tiny_memory_budget_changes_nothing(engine, prune):
    m = generate_market(90, 80, seed=3)
    s = scoring.Scorer(m.demands, m.listings, engine=engine)
    big = s.candidates(0.3, prune=prune)
    small = s.candidates(0.3, memory_bytes=1, prune=prune)  # one row (or one pair buffer) at a time
    for a, b in ((big.demand, small.demand), (big.listing, small.listing), (big.score, small.score),
                 (big.demands.rule_counts, small.demands.rule_counts),
                 (big.listings.rule_counts, small.listings.rule_counts),
                 (big.listings.best_partner, small.listings.best_partner)):
        np.testing.assert_array_equal(a, b)


def expected_ranking(t, tie_other, k):
    """Each row's best k feasible partners of the dense matrix ``t`` (any score)."""
    out = []
    for row in t:
        js = np.flatnonzero(~np.isnan(row))
        out.append(best_first(row[js], js, tie_other, k))
    return out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prune", [False, True])
@pytest.mark.parametrize(("per_d", "per_l"), MODES)
@pytest.mark.parametrize(("k", "memory"), [(1, 256 << 20), (4, 1), (500, 256 << 20)])
def test_rankings_from_the_candidates_pass(engine, prune, per_d, per_l, k, memory):
    m = generate_market(90, 80, seed=11)
    s = scoring.Scorer(m.demands, m.listings, engine=engine)
    total = s.score().total
    tie_d, tie_l = s.id_ranks("demand"), s.id_ranks("listing")
    c = s.candidates(0.35, per_d, per_l, memory_bytes=memory, prune=prune, top_k=k)
    for got, t, tie, by in ((c.top_demand, total, tie_l, "demand"), (c.top_listing, total.T, tie_d, "listing")):
        assert got.by == by and got.index.shape == (t.shape[0], k) and got.scores.shape == (t.shape[0], k)
        want = expected_ranking(t, tie, k)
        assert [row[:n].tolist() for row, n in zip(got.index, got.count)] == want
        assert all((row[n:] == -1).all() for row, n in zip(got.index, got.count))
        for r, js in enumerate(want):
            np.testing.assert_array_equal(got.scores[r, :len(js)], t[r, js])
            assert np.isnan(got.scores[r, len(js):]).all()
    plain = s.candidates(0.35, per_d, per_l, memory_bytes=memory, prune=prune)
    assert plain.top_demand is None and plain.top_listing is None
    for a, b in ((plain.demand, c.demand), (plain.listing, c.listing), (plain.score, c.score),
                 (plain.demands.rule_counts, c.demands.rule_counts), (plain.listings.best, c.listings.best)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prune", [False, True])
def test_dual_violations_equal_brute_force(engine, prune):
    m = generate_market(120, 100, seed=6)
    s = scoring.Scorer(m.demands, m.listings, engine=engine)
    total = s.score().total
    rng = np.random.default_rng(0)
    u, v = rng.uniform(0, 0.5, 100), rng.uniform(0, 0.5, 120)
    dv = s.dual_violations(u, v, reservation=0.35, tol=1e-9, prune=prune)
    with np.errstate(invalid="ignore"):
        exp = (total >= np.float32(0.35)) & (total.astype(np.float64) - u[:, None] - v[None, :] > 1e-9)
    assert list(zip(dv.demand.tolist(), dv.listing.tolist())) == list(zip(*map(list, np.nonzero(exp))))
    np.testing.assert_array_equal(dv.score, total[dv.demand, dv.listing])
    np.testing.assert_allclose(dv.reduced, total[dv.demand, dv.listing] - u[dv.demand] - v[dv.listing])
    # duals large enough certify every pair
    assert len(s.dual_violations(np.ones(100), np.zeros(120), prune=prune)) == 0
    with pytest.raises(ValueError, match="u has shape"):
        s.dual_violations(np.zeros(3), v)


def test_bad_arguments():
    m0 = generate_market(5, 5, seed=1)
    with pytest.raises(ValueError, match="top_k"):
        scoring.Scorer(m0.demands, m0.listings).candidates(top_k=-1)
    m = generate_market(5, 5, seed=1)
    s = scoring.Scorer(m.demands, m.listings)
    with pytest.raises(ValueError, match="per_demand == 0"):
        s.candidates(per_demand=0)


# ---- the pruning index --------------------------------------------------------------
def covered(scorer):
    """bool (n_d, n_l): the pairs the index's spans visit."""
    idx = build_index(scorer.listing_side)
    n_d, n_l = scorer.shape
    sp = spans(idx, scorer.demand_side, np.arange(n_d))
    out = np.zeros((n_d, n_l), dtype=bool)
    for i in range(n_d):
        for a, b in sp[i]:
            out[i, idx.order[a:b]] = True
    return out


@given(market=st.one_of(markets, lenient_markets))
@settings(max_examples=60)
def test_the_index_never_skips_a_feasible_pair(market):
    d, listings = market
    s = scoring.Scorer(d, listings)
    res = s.score()
    cov = covered(s)
    assert not (res.feasible & ~cov).any()
    # what it skips fails the deal or the area rule
    skipped = ~cov
    deal_or_area = (res.failed & np.uint16(0b11)) != 0
    assert not (skipped & ~deal_or_area).any()


def test_the_index_on_area_edges():
    """Areas exactly at the tolerant bounds, divisible units at the edges, no areas."""
    from matcher.records import Demands

    lo, hi = 900.0, 1300.0  # area_min 1000 (-10 %), area_max 1000 (+30 %)
    areas = [lo, hi, lo - 1e-9, hi + 1e-9, np.nan, 450.0, 900.0, 1299.99, 2600.0, 200.0]
    units = [np.nan, np.nan, np.nan, np.nan, np.nan, 450.0, 300.0, 650.0, 1300.0, 200.0]
    n = len(areas)
    listings = Listings.from_columns({"listing_id": [f"L{k}" for k in range(n)], "deal": [1] * n,
                                      "area_m2": areas, "min_unit_m2": units})
    d = Demands.from_columns({"demand_id": ["D0", "D1", "D2", "D3"], "deal": [1, 1, 3, 2],
                              "area_min_m2": [1000.0, np.nan, 1000.0, 1000.0],
                              "area_max_m2": [1000.0, np.nan, np.inf, 1000.0]})
    s = scoring.Scorer(d, listings)
    res = s.score()
    cov = covered(s)
    assert not (res.feasible & ~cov).any()
    assert res.feasible[0, :2].all() and not res.feasible[0, 2:4].any()
    assert cov[1].all()  # no area: every listing of a shared deal
    assert not cov[3].any()  # wants to buy, every listing is for lease


# ---- whole units and single rules ----------------------------------------------------
@given(st.floats(0, 5000), st.floats(0, 8000), st.one_of(st.just(np.nan), st.floats(50, 9000)),
       st.sampled_from([0.0, 50.0, 200.0, 333.3, 600.0]), st.sampled_from([0.0, 0.1, 0.3]))
def test_offered_area_is_the_documented_formula(amin, span, area, unit, above):
    import math

    hi = (amin + span) * (1 + above)
    got = float(scoring.offered_area(amin, hi, area, unit))
    if unit <= 0:
        exp = area
    else:
        k = max(math.ceil(amin / unit - 1e-9), 1)
        if k * unit > hi and k > 1:
            k -= 1
        k = min(k, math.floor(area / unit + 1e-9)) if area == area else math.nan
        exp = k * unit
    assert (got == exp) or (math.isnan(got) and math.isnan(exp))
    arr = scoring.offered_area(np.array([amin]), np.array([hi]), np.array([area]), np.array([unit]))
    assert (arr[0] == got) or (math.isnan(got) and np.isnan(arr[0]))


def _single_rule_market(rule):
    """A demand and a listing that pass every rule, then one change that fails ``rule``."""
    from matcher.records import Demands
    from scoring.reference import gazetteer

    g = gazetteer()
    t = int(g.find("周巷镇"))
    dem = {"demand_id": ["D1"], "deal": [1], "area_min_m2": [800.0], "area_max_m2": [1000.0], "towns": [[t]],
           "max_distance_km": [20.0], "max_rent": [20.0], "industry_code": ["2929"], "min_clear_height_m": [6.0],
           "min_floor_load_kg_m2": [1000.0], "min_power_kva": [100.0], "crane_t": [3.0], "ground_floor": [1],
           "fire_class": [3], "needs_eia": [1], "needs_certificate": [-1],
           "move_in_by": [np.datetime64("2027-03-01")], "lease_months": [24.0], "tax_per_mu": [30.0],
           "rating": [3]}
    lis = {"listing_id": ["L1"], "deal": [1], "town": [t], "lat": [float(g.lat[t])], "lon": [float(g.lon[t])],
           "loc_approx_km": [0.0], "area_m2": [900.0], "rent": [18.0], "floor": [1.0], "clear_height_m": [8.0],
           "floor_load_kg_m2": [2000.0], "power_kva": [500.0], "crane_t": [5.0], "fire_class": [3],
           "eia_ok": [1], "industries_allowed": [["29"]], "industries_banned": [[]], "title_certificate": [1],
           "available_from": [np.datetime64("2027-03-01")], "min_lease_months": [12.0],
           "min_tax_per_mu": [10.0], "min_rating": [2]}
    change = {
        "deal": ({}, {"deal": [2]}),
        "area": ({}, {"area_m2": [5000.0]}),
        "fire_class": ({}, {"fire_class": [4]}),
        "eia": ({}, {"eia_ok": [0]}),
        "industry_allowed": ({}, {"industries_allowed": [["38"]]}),
        "industry_banned": ({}, {"industries_banned": [["29"]]}),
        "crane": ({}, {"crane_t": [1.0]}),
        "ground_floor": ({}, {"floor": [2.0]}),
        "floor_load": ({}, {"floor_load_kg_m2": [500.0]}),
        "title_certificate": ({"deal": [2], "needs_certificate": [1]}, {"deal": [2], "title_certificate": [0]}),
        "park_tax": ({}, {"min_tax_per_mu": [50.0]}),
        "park_rating": ({}, {"min_rating": [4]}),
        "max_distance": ({}, {"town": [-1], "lat": [float(g.lat[t]) + 1.0]}),
        "available": ({}, {"available_from": [np.datetime64("2027-06-01")]}),
        "lease_term": ({}, {"min_lease_months": [36.0]}),
    }[rule]
    dem.update(change[0])
    lis.update(change[1])
    return Demands.from_columns(dem), Listings.from_columns(lis)


def test_the_base_pair_passes_every_rule():
    from matcher.records import Demands

    d, listings = _single_rule_market("area")
    base = Listings.from_columns({**{f.name: getattr(listings, f.name) for f in Listings.FIELDS},
                                  "area_m2": [900.0]})
    assert isinstance(d, Demands)
    for engine in ("numpy", *(["numba"] if scoring.fast.available() else [])):
        assert scoring.score(d, base, engine=engine).feasible.all()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rule", [r.name for r in scoring.RULES])
def test_each_rule_alone(engine, rule):
    """A market where only ``rule`` fails: both engines, the explanation and the
    candidate statistics name exactly that rule."""
    d, listings = _single_rule_market(rule)
    s = scoring.Scorer(d, listings, engine=engine)
    res = s.score()
    assert scoring.rules.rule_names(int(res.failed[0, 0])) == [rule]
    assert s.explain(0, 0).failed_rules == [rule]
    c = s.candidates(0.0, prune=False)
    assert c.demands.rules(0) == {rule: 1} and c.listings.rules(0) == {rule: 1}
    assert s.rule_counts(0) == {rule: 1}


@pytest.mark.parametrize("engine", ["auto", *ENGINES])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_one_records_rule_counts_equal_its_line_of_the_matrix(engine, data):
    """``Scorer.rule_counts`` (what an unmatched record's reason names when a pruned pass
    left lower bounds) counts each rule's failures over the whole line, on any engine."""
    d, listings = data.draw(st.one_of(markets, lenient_markets))
    s = scoring.Scorer(d, listings, engine=engine)
    ref = scoring.Scorer(d, listings, engine="numpy").score()
    n_d, n_l = ref.shape
    side = data.draw(st.sampled_from(["demand", "listing"]))
    n = n_d if side == "demand" else n_l
    if n == 0:
        return
    k = data.draw(st.integers(0, n - 1))
    assert s.rule_counts(k, side) == ref.rule_counts(k, axis=1 if side == "demand" else 0)
    ks = data.draw(st.lists(st.integers(0, n - 1), max_size=8))
    assert s.rule_counts_many(ks, side) == [ref.rule_counts(q, axis=1 if side == "demand" else 0) for q in ks]


@pytest.mark.parametrize("side", ["demand", "listing"])
@pytest.mark.parametrize("block", [None, 7_000])
def test_many_lines_counted_at_once_on_a_wide_market(side, block, monkeypatch):
    """Lines counted together in blocks wide enough for the compiled loop count what
    each line alone counts on numpy."""
    m = generate_market(3000, 500, seed=12)
    if block:  # many blocks, on both paths
        monkeypatch.setattr(scoring.engine, "LINES_BLOCK_PAIRS", block)
        monkeypatch.setattr(scoring.engine, "BLOCK_PAIRS", block)
    s = scoring.Scorer(m.demands, m.listings)
    one = scoring.Scorer(m.demands, m.listings, engine="numpy")
    n = 500 if side == "demand" else 3000
    ks = np.random.default_rng(1).choice(n, 420, replace=False)
    got = s.rule_counts_many(ks, side)
    assert got == [one.rule_counts(int(k), side) for k in ks]
    assert sum(sum(c.values()) for c in got) > 0


def test_rule_counts_of_records_that_are_only_arrays():
    """Scorers are also built from plain objects with the fields as arrays (no ``take``):
    many lines count the same for them, and a repeated record gets a dict of its own."""
    from types import SimpleNamespace

    m = generate_market(60, 40, seed=4)
    bare_l = SimpleNamespace(**{f.name: getattr(m.listings, f.name) for f in Listings.FIELDS})
    bare_d = SimpleNamespace(**{f.name: getattr(m.demands, f.name) for f in type(m.demands).FIELDS})
    s = scoring.Scorer(bare_d, bare_l)
    ref = scoring.Scorer(m.demands, m.listings, engine="numpy").score()
    for side, axis in (("demand", 1), ("listing", 0)):
        got = s.rule_counts_many([3, 5, 3], side)
        assert got == [ref.rule_counts(k, axis=axis) for k in (3, 5, 3)]
        assert got[0] is not got[2]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prepared_first", [True, False])
def test_a_subset_scores_bit_for_bit_as_the_whole_market(engine, prepared_first):
    m = generate_market(160, 140, seed=12, counties=2)
    from scoring.reference import towns

    s = scoring.Scorer(m.demands, m.listings, engine=engine, towns=towns(counties=2))
    full = s.score()
    if prepared_first and engine == "numba":
        s.candidates(0.35)  # the whole market's compiled arrays exist: the subset takes from them
    rng = np.random.default_rng(3)
    rows = rng.permutation(140)[:57]  # any rows, in any order (demands name 0 to several places)
    cols = rng.permutation(160)[:71]
    for r, c in ((rows, cols), (rows, None), (None, cols)):
        sub = s.subset(r, c)
        rr = np.arange(140) if r is None else r
        cc = np.arange(160) if c is None else c
        got = sub.score()
        np.testing.assert_array_equal(got.total, full.total[np.ix_(rr, cc)])
        np.testing.assert_array_equal(got.failed, full.failed[np.ix_(rr, cc)])
        fresh = scoring.Scorer(m.demands.take(rr), m.listings.take(cc), engine=engine, towns=towns(counties=2))
        np.testing.assert_array_equal(sub.candidates(0.35).score, fresh.candidates(0.35).score)
        assert list(sub.demand_side.ids) == [m.demands.demand_id[i] for i in rr]
