"""Distances against geopy: the per-pair formula and the BLAS matrix path."""

import math

import numpy as np
import pytest
from geopy.distance import geodesic, great_circle
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from matcher.records import Demands, Listings
from scoring.geo import EARTH_RADIUS_KM, chord2_to_km, haversine_km, haversine_km_scalar, unit_vectors

# edge cases from geopy's own distance tests, plus a few of ours
FIJI = (-16.1333333, 180.0)
EDGE_PAIRS = [
    ((0, 0), (0, 0)),                                  # coincident points
    ((40.753153, -73.982276), (40.753153, -73.982276)),  # "zero measure"
    ((0, 0), (0, 1)),                                  # distinct points
    ((90, 0), (-90, 0)),                               # pole to pole
    ((0, 0), (0, 180)),                                # antipodes on the equator
    ((0, 180), (0, -180)),                             # the same meridian written twice
    (FIJI, (-16.1333333, -179.9)),                     # across the antimeridian
    (FIJI, (-16.1333333, 179.9)),
    ((30.17, 121.266), (30.17, 121.266001)),           # 10 cm in Cixi
    ((30.17, 121.266), (30.2, 121.3)),                 # a few km in Cixi
    ((89.9, 10), (89.9, -170)),                        # over the pole
]

lat = st.floats(-90, 90, allow_nan=False)
lon = st.floats(-180, 180, allow_nan=False)


def matrix_km(a, b):
    """The engine's path: float64 BLAS product of unit vectors, then chord2_to_km."""
    ua = unit_vectors([p[0] for p in a], [p[1] for p in a])
    ub = unit_vectors([p[0] for p in b], [p[1] for p in b])
    return chord2_to_km(2.0 - 2.0 * (ua @ ub.T))


def close(ours, ref):
    """1e-6 relative, with 1 m absolute for distances under 100 m (documented)."""
    return abs(ours - ref) <= max(1e-6 * ref, 1e-3 if ref < 0.1 else 0.0)


def test_radius_is_geopys():
    from geopy.distance import EARTH_RADIUS

    assert EARTH_RADIUS_KM == EARTH_RADIUS


@pytest.mark.parametrize(("a", "b"), EDGE_PAIRS)
def test_edge_cases_match_great_circle(a, b):
    ref = great_circle(a, b).km
    assert float(haversine_km(*a, *b)) == pytest.approx(ref, rel=1e-9, abs=1e-9)
    assert close(float(matrix_km([a], [b])[0, 0]), ref)


@pytest.mark.parametrize(("a", "b"), EDGE_PAIRS)
def test_scalar_haversine_matches_great_circle(a, b):
    assert close(haversine_km_scalar(a[0], a[1], b[0], b[1]), great_circle(a, b).km)


@pytest.mark.parametrize(("a", "b"), EDGE_PAIRS)
def test_edge_cases_within_half_percent_of_geodesic(a, b):
    ref = geodesic(a, b).km
    ours = float(haversine_km(*a, *b))
    assert abs(ours - ref) <= 0.005 * ref + 1e-9


@given(st.lists(st.tuples(lat, lon), min_size=1, max_size=5), st.lists(st.tuples(lat, lon), min_size=1, max_size=5))
@settings(max_examples=80)
def test_matrix_matches_great_circle(a, b):
    km = matrix_km(a, b)
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            ref = great_circle(p, q).km
            assert close(float(km[i, j]), ref), (p, q, float(km[i, j]), ref)


china = st.tuples(st.floats(18, 54), st.floats(73, 135))


@given(china, china)
@settings(max_examples=80)
def test_sphere_within_half_percent_of_geodesic_in_china(p, q):
    """A sphere is not the ellipsoid: up to 0.56 % off along a meridian at the equator,
    under 0.5 % at the latitudes of China (18-54 N), which is where the engine works."""
    ref = geodesic(p, q).km
    assert abs(float(haversine_km(*p, *q)) - ref) <= 0.005 * ref + 1e-9


@given(st.tuples(st.floats(29.9, 30.5), st.floats(120.9, 121.7)),
       st.lists(st.tuples(st.floats(29.9, 30.5), st.floats(120.9, 121.7)), min_size=1, max_size=8))
@settings(max_examples=50)
def test_engine_distance_is_nearest_place(origin, spots):
    """Through the scorer: the demand's present site against listings at given points."""
    d = Demands.from_columns({"demand_id": ["D1"], "deal": [1], "origin_lat": [origin[0]],
                              "origin_lon": [origin[1]]})
    listings = Listings.from_columns({"listing_id": [f"L{k}" for k in range(len(spots))], "deal": [1] * len(spots),
                                      "lat": [s[0] for s in spots], "lon": [s[1] for s in spots],
                                      "area_m2": [1000.0] * len(spots)})
    s = scoring.Scorer(d, listings)
    km = s.block(0, 1, 0, len(spots)).distance[0]
    for j, spot in enumerate(spots):
        assert close(float(km[j]), great_circle(origin, spot).km)
        # and the explanation reports the exact distance
        assert s.explain(0, j).criteria[1].inputs["distance_km"] == pytest.approx(great_circle(origin, spot).km,
                                                                                  rel=1e-9, abs=1e-9)


def test_inside_a_wanted_town_is_zero_km():
    from scoring.reference import gazetteer

    g = gazetteer()
    t = int(np.flatnonzero(g.names == "周巷镇")[0])
    d = Demands.from_columns({"demand_id": ["D1"], "deal": [1], "towns": [[t]]})
    listings = Listings.from_columns({"listing_id": ["in", "out"], "deal": [1, 1], "town": [t, (t + 1) % len(g)],
                                      "lat": [g.lat[t] + 0.05, g.lat[t]], "lon": [g.lon[t], g.lon[t] + 0.05],
                                      "area_m2": [1000.0, 1000.0]})
    km = scoring.Scorer(d, listings).block(0, 1, 0, 2).distance[0]
    assert km[0] == 0
    assert km[1] == pytest.approx(great_circle((g.lat[t], g.lon[t]), (g.lat[t], g.lon[t] + 0.05)).km, rel=1e-6)
    assert math.isclose(float(km[1]), 4.8, rel_tol=0.1)  # 0.05° of longitude at 30° N
