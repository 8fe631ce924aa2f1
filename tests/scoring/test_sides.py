"""Prepared sides taken and concatenated (the service's index updates) score exactly as
sides prepared from the whole market; records concatenate back to the whole."""

import itertools

import numpy as np
import pytest

import scoring
from matcher import generate_market
from matcher.records import Demands, Listings
from scoring.prepare import DemandSide, ListingSide, prepare_demands, prepare_listings


@pytest.fixture(scope="module")
def market():
    return generate_market(120, 90, seed=21)


def _resolved(side, lists, index):
    return [tuple(getattr(side, lists)[k]) for k in getattr(side, index)]


@pytest.mark.parametrize("cuts", [(0,), (40,), (13, 57, 88), (89,)])
def test_concat_of_parts_scores_as_the_whole(market, cuts):
    prof = scoring.default_profile()
    d_all, l_all = market.demands, market.listings
    bounds_l = [0, *[c for c in cuts if 0 < c < len(l_all)], len(l_all)]
    bounds_d = [0, *[min(c, len(d_all)) for c in cuts if 0 < c < len(d_all)], len(d_all)]
    lparts = [prepare_listings(l_all.take(np.arange(a, b)), prof) for a, b in itertools.pairwise(bounds_l)]
    dparts = [prepare_demands(d_all.take(np.arange(a, b)), prof) for a, b in itertools.pairwise(bounds_d)]
    l_side, d_side = ListingSide.concat(lparts), DemandSide.concat(dparts)
    whole_l, whole_d = prepare_listings(l_all, prof), prepare_demands(d_all, prof)
    assert _resolved(l_side, "related_lists", "related") == _resolved(whole_l, "related_lists", "related")
    assert [d_side.codes[c] if c >= 0 else None for c in d_side.code] == \
        [whole_d.codes[c] if c >= 0 else None for c in whole_d.code]
    glued = scoring.Scorer.from_sides(d_all, l_all, d_side, l_side, prof).score()
    ref = scoring.Scorer(d_all, l_all, prof).score()
    np.testing.assert_array_equal(glued.failed, ref.failed)
    np.testing.assert_allclose(glued.total, ref.total, atol=1e-6, equal_nan=True)


def test_take_scores_as_the_records_taken(market):
    prof = scoring.default_profile()
    rng = np.random.default_rng(2)
    di, li = rng.permutation(len(market.demands))[:50], rng.permutation(len(market.listings))[:40]
    taken = scoring.Scorer.from_sides(market.demands.take(di), market.listings.take(li),
                                      prepare_demands(market.demands, prof).take(di),
                                      prepare_listings(market.listings, prof).take(li), prof).score()
    ref = scoring.Scorer(market.demands.take(di), market.listings.take(li), prof).score()
    np.testing.assert_array_equal(taken.failed, ref.failed)
    np.testing.assert_allclose(taken.total, ref.total, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("cls_name", ["Listings", "Demands"])
def test_records_concat(market, cls_name):
    recs = market.listings if cls_name == "Listings" else market.demands
    cls = Listings if cls_name == "Listings" else Demands
    parts = [recs.take(np.arange(0, 30)), recs.take(np.arange(30, 31)), recs.take(np.arange(31, len(recs)))]
    assert cls.concat(parts).equals(recs)
    assert len(cls.concat([])) == 0
    with pytest.raises(ValueError, match="unique"):
        cls.concat([recs.take(np.arange(3)), recs.take(np.arange(2, 4))])


def test_take_counts_negative_positions_from_the_end(market):
    side = prepare_demands(market.demands, scoring.default_profile())
    pos = np.array([3, len(market.demands) - 1, 0, 7])
    a, b = side.take(pos), side.take(pos - len(market.demands))
    np.testing.assert_array_equal(a.point_offsets, b.point_offsets)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.point_town, b.point_town)
    np.testing.assert_array_equal(np.diff(a.point_offsets), np.diff(side.point_offsets)[pos])
