"""Monotonicity, the criterion contract, explanations, row-order independence."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from matcher.generate import generate_market
from matcher.records import Demands, Listings
from scoring.criteria import CRITERIA
from scoring.rules import RULES, rule_names
from tests.scoring.markets import lenient_markets, markets


def replace(records, **columns):
    return dataclasses.replace(records, **{k: np.asarray(v, dtype=getattr(records, k).dtype)
                                           for k, v in columns.items()})


# ---- monotonicity -----------------------------------------------------------------
@given(market=lenient_markets, factor=st.floats(1.0, 3.0))
@settings(max_examples=40)
def test_higher_budget_never_lowers_price_score(market, factor):
    d, listings = market
    before = scoring.score(d, listings).criteria["price"]
    richer = replace(d, max_rent=d.max_rent * factor, max_sale_price=d.max_sale_price * factor)
    after = scoring.score(richer, listings).criteria["price"]
    assert np.all(after >= before - 1e-6)


@given(origin=st.tuples(st.floats(29.9, 30.5), st.floats(120.9, 121.7)),
       bearing=st.floats(0, 2 * np.pi), steps=st.lists(st.floats(0, 0.5), min_size=2, max_size=8, unique=True),
       kind=st.sampled_from(["step", "linear", "exp", "gauss", "rational", "cauchy"]))
@settings(max_examples=40)
def test_farther_listing_never_scores_higher_on_location(origin, bearing, steps, kind):
    steps = sorted(steps)
    lat = [origin[0] + s * np.cos(bearing) for s in steps]
    lon = [origin[1] + s * np.sin(bearing) for s in steps]
    d = Demands.from_columns({"demand_id": ["D"], "deal": [1], "origin_lat": [origin[0]], "origin_lon": [origin[1]]})
    listings = Listings.from_columns({"listing_id": [f"L{k}" for k in range(len(steps))], "deal": [1] * len(steps),
                                      "lat": lat, "lon": lon, "area_m2": [500.0] * len(steps)})
    prof = {"location": {"distance": {"kind": kind, "offset": 0.5, "scale": 4.0}}}
    s = scoring.score(d, listings, prof).criteria["location"][0]
    assert np.all(np.diff(s) <= 1e-7)


@given(market=markets, data=st.data())
@settings(max_examples=40)
def test_more_hazardous_building_class_never_loses_a_pair(market, data):
    d, listings = market
    before = scoring.score(d, listings).feasible
    lower = np.array([data.draw(st.integers(1, max(1, int(c) or 3))) for c in listings.fire_class])
    after = scoring.score(d, replace(listings, fire_class=np.minimum(lower, np.where(listings.fire_class > 0,
                                                                                      listings.fire_class, 3))))
    assert np.all(after.feasible | ~before)


# ---- the criterion contract -------------------------------------------------------
@pytest.mark.parametrize("name", list(CRITERIA))
@given(market=markets)
@settings(max_examples=25)
def test_criterion_contract(name, market):
    d, listings = market
    scorer = scoring.Scorer(d, listings)
    b = scorer.block(0, scorer.shape[0], 0, scorer.shape[1])
    s = np.asarray(CRITERIA[name].score(b))
    assert s.dtype == np.float32
    full = np.broadcast_to(s, scorer.shape)
    assert not np.isnan(full).any()
    assert full.min() >= 0 and full.max() <= 1
    assert np.array_equal(scorer.score().criteria[name], full)
    for i in range(scorer.shape[0]):
        for j in range(scorer.shape[1]):
            part = next(p for p in scorer.explain(i, j).criteria if p.name == name)
            assert part.score == pytest.approx(float(full[i, j]), abs=1e-7)
            assert part.zh and part.en
            assert 0 <= part.contribution <= part.weight + 1e-12


def test_every_criterion_has_a_weight_and_module_docs():
    prof = scoring.default_profile()
    assert set(prof.weights) == set(CRITERIA)
    for mod in CRITERIA.values():
        assert mod.__doc__ and mod.zh and mod.en
    assert len({r.bit for r in RULES}) == len(RULES) and max(r.bit for r in RULES) < 16


# ---- explanations -----------------------------------------------------------------
@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not scoring.fast.available(), reason="numba not installed"))])
def test_explanations_reproduce_every_total(engine):
    m = generate_market(60, 80, seed=3)
    res = scoring.score(m.demands, m.listings, engine=engine)
    for i in range(80):
        for j in range(60):
            e = res.explain(i, j)
            assert e.feasible == bool(res.feasible[i, j])
            assert e.failed_rules == rule_names(int(res.failed[i, j]))
            assert [r.name for r in e.rules] == [r.name for r in RULES]
            if e.feasible:
                assert abs(e.total - float(res.total[i, j])) <= 1e-6
                assert sum(p.contribution for p in e.criteria) == pytest.approx(e.total, abs=1e-12)
                assert sum(p.weight for p in e.criteria) == pytest.approx(1.0)
            else:
                assert e.total is None
                assert e.sentences("zh") and all("不符" in s for s in e.sentences("zh"))


def test_explanation_sentences():
    from scoring.geo import EARTH_RADIUS_KM
    from scoring.reference import gazetteer

    g = gazetteer()
    t = int(np.flatnonzero(g.names == "周巷镇")[0])
    # a listing 3.2 km due north of the town's centroid, its town not given
    north = float(g.lat[t]) + np.degrees(3.2 / EARTH_RADIUS_KM)
    d = Demands.from_columns({"demand_id": ["D1"], "deal": [1], "area_min_m2": [600.0], "area_max_m2": [1000.0],
                              "towns": [[t]], "max_rent": [16.0]})
    listings = Listings.from_columns({"listing_id": ["L1"], "deal": [1], "area_m2": [800.0], "rent": [18.0],
                                      "lat": [north], "lon": [float(g.lon[t])]})
    e = scoring.Scorer(d, listings).explain(0, 0)
    zh = e.summary("zh")
    assert "面积 800㎡ 在需求 600–1000㎡ 内" in zh
    assert "距周巷镇 3.2 km" in zh
    assert "租金 18 元/㎡/月，超预算 12.5%" in zh
    en = e.summary("en")
    assert "3.2 km from 周巷镇" in en and "12.5% over budget" in en
    as_dict = e.to_dict()
    assert as_dict["feasible"] and as_dict["reasons_zh"] == zh


def test_rule_masks_are_the_bits():
    m = generate_market(30, 40, seed=5)
    res = scoring.score(m.demands, m.listings)
    union = np.zeros(res.shape, dtype=bool)
    for r in RULES:
        mask = res.rule_mask(r.name)
        assert mask.shape == res.shape and mask.dtype == bool
        union |= mask
    np.testing.assert_array_equal(union, ~res.feasible)
    with pytest.raises(KeyError):
        res.rule_mask("colour")


def test_why_nothing_is_feasible_is_one_bitmask_away():
    m = generate_market(50, 50, seed=5)
    res = scoring.score(m.demands, m.listings)
    i = int(np.argmin(res.feasible.sum(axis=1)))
    counts = res.rule_counts(i)
    for name, n in counts.items():
        bit = next(r.flag for r in RULES if r.name == name)
        assert n == int(((res.failed[i] & bit) != 0).sum())
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not scoring.fast.available(), reason="numba not installed"))])
def test_row_order_does_not_change_scores(engine):
    m = generate_market(40, 50, seed=11)
    rng = np.random.default_rng(0)
    pd_, pl = rng.permutation(50), rng.permutation(40)
    a = scoring.score(m.demands, m.listings, engine=engine)
    b = scoring.score(m.demands.take(pd_), m.listings.take(pl), engine=engine)
    np.testing.assert_array_equal(a.failed[np.ix_(pd_, pl)], b.failed)
    np.testing.assert_array_equal(a.total[np.ix_(pd_, pl)], b.total)


def test_threads_and_blocks_do_not_change_the_result(monkeypatch):
    import scoring.engine

    m = generate_market(70, 90, seed=2)
    one = scoring.score(m.demands, m.listings, workers=1, criteria=True, engine="numpy")
    monkeypatch.setattr(scoring.engine, "BLOCK_PAIRS", 300)
    two = scoring.score(m.demands, m.listings, workers=2, criteria=True, engine="numpy")
    np.testing.assert_array_equal(one.total, two.total)
    np.testing.assert_array_equal(one.failed, two.failed)
    for name in one.criteria:
        np.testing.assert_array_equal(one.criteria[name], two.criteria[name])
        np.testing.assert_array_equal(one.criteria[name], two.scorer.criterion_matrix(name))


def test_the_bundled_sample_scores_and_explains():
    """Real ingested records (messy sheet values, town-only locations, names for codes)."""
    from matcher import read_demands, read_listings
    from matcher.sample import sample_paths

    listings_path, demands_path = sample_paths()
    listings = read_listings(listings_path).records
    demands = read_demands(demands_path).records
    res = scoring.score(demands, listings, criteria=True)
    assert res.feasible.any() and not res.feasible.all()
    for name, arr in res.criteria.items():
        assert not np.isnan(arr).any(), name
    for i in range(len(demands)):
        r = res.scorer.for_demand(i, k=3)
        for j in r.index:
            e = res.explain(i, int(j))
            assert e.feasible and abs(e.total - float(res.total[i, j])) <= 1e-6
            assert e.summary("zh") and e.summary("en")
