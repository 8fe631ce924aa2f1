"""The vectorised engine against the plain-Python reference scorer, pair by pair."""

import math

import numpy as np
import pytest
from hypothesis import given, settings

import scoring
from tests.scoring.markets import lenient_markets, markets
from tests.scoring.reference_scorer import reference_pair

PROFILES = {
    "default": None,
    "other_kernels": {
        "weights": {"area": 1, "location": 2, "price": 0.5, "industry": 1, "facilities": 0, "timing": 1},
        "rules": {"area_below": 0.2, "area_above": 1.0, "unknown_fire_class": "丁", "grace_days": 10},
        "area": {"short": {"kind": "gauss", "scale": 0.2}, "over": {"kind": "linear", "offset": 0.1, "scale": 0.5}},
        "location": {"distance": {"kind": "rational", "offset": 0.0, "scale": 3.0, "decay": 0.3}},
        "price": {"over": {"kind": "cauchy", "scale": 0.3}, "negotiable_discount": 0.2, "neutral": 0.1},
        "industry": {"chain": 0.6, "neutral": 0.0},
        "timing": {"late": {"kind": "step", "scale": 5.0}, "as_of": "2027-01-20"},
    },
}


ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not scoring.fast.available(),
                                                                   reason="numba not installed"))]


def compare(demands, listings, profile, engine="numpy"):
    prof = scoring.load_profile(profile)
    res = scoring.score(demands, listings, prof, criteria=True, engine=engine)
    lean = scoring.score(demands, listings, prof, engine=engine)  # criteria skipped where infeasible
    np.testing.assert_array_equal(lean.failed, res.failed)
    np.testing.assert_array_equal(lean.total, res.total)
    for i in range(len(demands.demand_id)):
        for j in range(len(listings.listing_id)):
            failed, crit, total = reference_pair(demands, listings, i, j, prof)
            assert int(res.failed[i, j]) == failed, (i, j, scoring.rules.rule_names(int(res.failed[i, j])),
                                                     scoring.rules.rule_names(failed))
            assert bool(res.feasible[i, j]) == (failed == 0)
            assert set(crit) == set(res.criteria)
            for name, v in crit.items():
                assert res.criteria[name][i, j] == pytest.approx(v, abs=1e-5), (name, i, j)
            if failed:
                assert math.isnan(res.total[i, j])
            else:
                assert res.total[i, j] == pytest.approx(total, abs=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(PROFILES))
@given(market=markets)
@settings(max_examples=40)
def test_engine_matches_reference(engine, name, market):
    """Every field drawn, missing values included: mostly the rules."""
    demands, listings = market
    compare(demands, listings, PROFILES[name], engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(PROFILES))
@given(market=lenient_markets)
@settings(max_examples=40)
def test_engine_matches_reference_feasible(engine, name, market):
    """Rule-only fields blank, so most pairs are feasible: mostly the totals."""
    demands, listings = market
    compare(demands, listings, PROFILES[name], engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_generated_market_matches_reference(engine):
    """A realistic generated market, every pair."""
    from matcher.generate import generate_market

    m = generate_market(40, 60, seed=7)
    compare(m.demands, m.listings, None, engine)
    res = scoring.score(m.demands, m.listings)
    assert 0 < res.feasible.mean() < 1  # the sample exercises both outcomes
