"""Towns tables beyond one county: the synthetic county copies, the engine's compact town
lists against the dense (demands x towns) table they replaced, and multi-county markets
on both engines against the reference scorer and the dense matrix."""

import math

import numpy as np
import pytest

import scoring
from matcher.generate import generate_market
from matcher.records import Demands, Listings
from scoring.reference import COUNTY_SEPARATOR, MAX_COUNTIES, gazetteer, towns
from tests.scoring.reference_scorer import reference_pair
from tests.scoring.test_sparse import check

ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not scoring.fast.available(),
                                                                   reason="numba not installed"))]


# ---- the tables ------------------------------------------------------------------------
def test_one_county_is_the_gazetteer():
    assert towns(1) is gazetteer() and towns() is gazetteer()
    assert gazetteer().n_counties == 1 and (gazetteer().county == 0).all()


def test_county_copies_side_by_side():
    g, t = gazetteer(), towns(counties=7)
    n = len(g)
    assert len(t) == 7 * n and t.n_counties == 7 and towns(7) is t  # cached: one object
    for c in range(7):
        rows = slice(c * n, (c + 1) * n)
        assert (t.county[rows] == c).all()
        suffix = "" if c == 0 else f"{COUNTY_SEPARATOR}{c + 1}"
        assert list(t.names[rows]) == [f"{name}{suffix}" for name in g.names]
        np.testing.assert_array_equal(t.approx_km[rows], g.approx_km)
        np.testing.assert_array_equal(t.kinds[rows], g.kinds)
        # the same layout, shifted: distances inside a county are (nearly) the county's own
        d_lat, d_lon = t.lat[rows] - g.lat, t.lon[rows] - g.lon
        assert np.ptp(d_lat) < 1e-9 and np.ptp(d_lon) < 1e-9
    # neighbours do not overlap: the nearest towns of two counties are more than the gap apart
    from scoring.geo import haversine_km

    a, b = slice(0, n), slice(n, 2 * n)
    gaps = haversine_km(t.lat[a][:, None], t.lon[a][:, None], t.lat[b][None, :], t.lon[b][None, :])
    assert 5 < gaps.min() < 30
    # deterministic
    np.testing.assert_array_equal(towns(7).lat, t.lat)


def test_find_and_mentioned_in_copies():
    t = towns(counties=12)
    n = len(gazetteer())
    zhouxiang = gazetteer().find("周巷镇")
    assert t.find("周巷镇") == zhouxiang
    assert t.find(f"周巷{COUNTY_SEPARATOR}12") == zhouxiang + 11 * n
    assert t.find(f"慈溪市周巷镇{COUNTY_SEPARATOR}3") == zhouxiang + 2 * n
    assert t.find(f"周巷镇{COUNTY_SEPARATOR}13") is None and t.find(f"周巷镇{COUNTY_SEPARATOR}0") is None
    assert t.mentioned(f"周巷镇{COUNTY_SEPARATOR}3环城北路，近观海卫镇") == sorted(
        [t.find("观海卫镇"), zhouxiang + 2 * n])
    for k in (0, 5, n * 12 - 1):
        assert t.find(str(t.names[k])) == k


@pytest.mark.parametrize("bad", [0, -1, MAX_COUNTIES + 1, 2.5, True])
def test_bad_counties(bad):
    with pytest.raises(ValueError, match="counties"):
        towns(bad)


# ---- the engine reads the table it is given -------------------------------------------------
def test_generated_counties():
    one = generate_market(300, 200, seed=3)
    assert one.towns is gazetteer()
    m = generate_market(300, 200, seed=3, counties=5)
    assert m.towns is towns(5)
    county_l = m.towns.county[m.listings.town]
    assert set(county_l.tolist()) == set(range(5))
    # a demand's wanted towns, site and anchor lie in its home county
    for i in range(len(m.demands)):
        ts = list(m.demands.towns[i])
        if len(ts) > 1:
            assert len({int(m.towns.county[x]) for x in ts}) == 1


def test_town_rows_outside_the_table_are_refused():
    m = generate_market(200, 200, seed=3, counties=4)
    with pytest.raises(ValueError, match="outside the towns table of 25 towns"):
        scoring.Scorer(m.demands, m.listings)
    prof = scoring.default_profile()
    d = scoring.prepare_demands(m.demands, prof, m.towns)
    l_ = scoring.prepare_listings(m.listings, prof, towns(5))
    with pytest.raises(ValueError, match="different towns"):
        scoring.Scorer.from_sides(m.demands, m.listings, d, l_, prof)
    l_ = scoring.prepare_listings(m.listings, prof, m.towns)
    with pytest.raises(ValueError, match="not the table"):
        scoring.Scorer.from_sides(m.demands, m.listings, d, l_, prof, towns=towns(5))
    s = scoring.Scorer.from_sides(m.demands, m.listings, d, l_, prof, towns=m.towns)
    assert s.towns is m.towns and s.with_demands(m.demands).towns is m.towns


def _dense_wanted_km(scorer):
    """km from every listing to every demand's nearest place, with the dense (n_demands,
    n_towns + 1) table of wanted towns the engine used to build (the behaviour the
    compact town lists replaced)."""
    d, l = scorer.demand_side, scorer.listing_side
    wanted = np.zeros((d.n, len(scorer.towns) + 1), dtype=bool)
    for i in range(d.n):
        wanted[i, d.wanted_towns(i)] = True
    km = np.full((d.n, l.n), np.nan)
    for i in range(d.n):
        a, b = d.point_offsets[i], d.point_offsets[i + 1]
        if a == b:
            continue
        dots = (d.points[a:b] @ l.vectors.T).max(axis=0)
        c2 = np.maximum(2 - 2 * dots, 0)
        km[i] = 2 * scoring.geo.EARTH_RADIUS_KM * np.arcsin(np.sqrt(c2) / 2)
        km[i, wanted[i, l.town]] = 0.0
    return km


@pytest.mark.parametrize("counties", [1, 3, 40])
def test_town_lists_equal_the_dense_table(counties):
    m = generate_market(300, 250, seed=11, counties=counties)
    s = scoring.Scorer(m.demands, m.listings, towns=m.towns)
    exp = _dense_wanted_km(s)
    blk = s.block(0, s.shape[0], 0, s.shape[1])
    got = np.full(exp.shape, np.nan)
    got[blk.located] = blk.distance
    has = ~np.isnan(exp)
    np.testing.assert_allclose(got[has], exp[has], rtol=1e-5, atol=2e-4)
    np.testing.assert_array_equal(got[has] == 0, exp[has] == 0)  # inside a wanted town exactly
    assert (exp == 0).any()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_county_market_matches_the_reference(engine):
    m = generate_market(40, 50, seed=12, counties=3)
    prof = scoring.default_profile()
    res = scoring.score(m.demands, m.listings, prof, criteria=True, engine=engine, towns=m.towns)
    assert 0 < res.feasible.mean() < 1
    for i in range(len(m.demands)):
        for j in range(len(m.listings)):
            failed, crit, total = reference_pair(m.demands, m.listings, i, j, prof, m.towns)
            assert int(res.failed[i, j]) == failed, (i, j)
            for name, v in crit.items():
                assert res.criteria[name][i, j] == pytest.approx(v, abs=1e-5), (name, i, j)
            if not failed:
                assert res.total[i, j] == pytest.approx(total, abs=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("per_d", "per_l"), [(None, None), (3, 2)])
def test_county_markets_sparse_equal_dense(engine, per_d, per_l):
    m = generate_market(200, 180, seed=13, counties=6)
    s = scoring.Scorer(m.demands, m.listings, engine=engine, towns=m.towns)
    full = s.score()
    check(s, s.candidates(0.35, per_demand=per_d, per_listing=per_l), full, 0.35, per_d, per_l)
    tk = s.top_k(4)
    np.testing.assert_array_equal(tk.index, full.top_k(4).index)


def test_explanations_name_the_county_copy():
    t = towns(3)
    home = t.find(f"周巷镇{COUNTY_SEPARATOR}3")
    d = Demands.from_columns({"demand_id": ["D1"], "deal": [1], "towns": [[home]], "area_min_m2": [900.0],
                              "area_max_m2": [1100.0]})
    listings = Listings.from_columns({"listing_id": ["in", "near"], "deal": [1, 1], "town": [home, -1],
                                      "lat": [t.lat[home] + 0.3, t.lat[home] + 0.01], "lon": [t.lon[home]] * 2,
                                      "area_m2": [1000.0, 1000.0]})
    s = scoring.Scorer(d, listings, towns=t)
    inside, near = s.explain(0, 0), s.explain(0, 1)
    assert inside.criteria[1].inputs["distance_km"] == 0 and f"周巷镇{COUNTY_SEPARATOR}3" in inside.summary("zh")
    assert math.isclose(near.criteria[1].inputs["distance_km"], 1.11, rel_tol=0.01)
