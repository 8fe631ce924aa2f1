"""scoring.bounds: no pair scores above the bound of its demand's group and its
listing's cell, checked against the full score matrix of both engines."""

from dataclasses import replace

import numpy as np
import pytest

import scoring
from matcher import generate_market
from matcher.records import Ragged
from scoring.bounds import location_bounds


@pytest.mark.parametrize(("counties", "seed", "change"), [
    (1, 1, {}),
    (4, 2, {}),
    (9, 3, {"weights": {"location": 0.6}}),
    (9, 4, {"location": {"distance": {"kind": "linear", "offset": 0.0, "scale": 3.0}}}),
    (6, 5, {"location": {"neutral": 0.9}, "weights": {"location": 0.5}}),
])
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_no_pair_scores_above_its_bound(counties, seed, change, engine):
    if engine == "numba":
        pytest.importorskip("numba")
    m = generate_market(400, 400, seed=seed, counties=counties)
    profile = scoring.load_profile(change) if change else None
    sc = scoring.Scorer(m.demands, m.listings, profile=profile, towns=m.towns, engine=engine)
    b = location_bounds(sc)
    s = sc.score().total
    ub = b.ub[b.group[:, None], b.cell[None, :]]
    assert (np.nan_to_num(s, nan=0.0) <= ub).all()
    if counties > 1:  # and the bound is of use: far pairs are bounded well below 1
        assert (ub < 0.9).mean() > 0.2


def test_places_missing_on_either_side_are_bounded_by_the_neutral_score():
    m = generate_market(300, 300, seed=6, counties=4)
    d, li = m.demands, m.listings
    rng = np.random.default_rng(0)
    blank = rng.random(len(d)) < 0.3  # these demands name no place
    towns = Ragged.from_lists([[] if b else list(t) for b, t in zip(blank, d.towns)], dtype=d.towns.values.dtype)
    nan = np.where(blank, np.nan, 1.0)
    d = replace(d, towns=towns, origin=np.where(blank, "", d.origin), origin_lat=d.origin_lat * nan,
                origin_lon=d.origin_lon * nan, anchor=np.where(blank, "", d.anchor),
                anchor_lat=d.anchor_lat * nan, anchor_lon=d.anchor_lon * nan)
    lost = rng.random(len(li)) < 0.3  # these listings have no location
    # and some listings' coordinates lie a county away from their town (inside a wanted
    # town is 0 km wherever the coordinates say)
    moved = ~lost & (rng.random(len(li)) < 0.2)
    li = replace(li, town=np.where(lost, -1, li.town).astype(li.town.dtype),
                 lat=np.where(lost, np.nan, li.lat + 0.6 * moved), lon=np.where(lost, np.nan, li.lon + 0.8 * moved))
    profile = scoring.load_profile({"weights": {"location": 0.7}, "location": {"neutral": 0.8}})
    sc = scoring.Scorer(d, li, profile=profile, towns=m.towns)
    b = location_bounds(sc)
    s = np.nan_to_num(sc.score().total, nan=0.0)
    ub = b.ub[b.group[:, None], b.cell[None, :]]
    assert (s <= ub).all()
    # a pair with a missing place scores the neutral location: bounded by it, not by 1
    w = sc.weights["location"]
    assert np.allclose(ub[blank][:, ~lost], 1 - w * (1 - 0.8) + 1e-4)
