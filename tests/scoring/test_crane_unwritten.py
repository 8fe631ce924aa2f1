"""A crane written without its tonnage (需要行车 / 带行车, ``crane_any``) in the rule,
both engines, the reference scorer and the explanations (issue 12, second pass)."""

import math

import numpy as np
import pytest

import scoring
import scoring.fast
from matcher.records import Demands, Listings
from scoring.reference import gazetteer
from tests.scoring.reference_scorer import RULE_BITS, reference_pair

ENGINES = ("numpy", *(["numba"] if scoring.fast.available() else []))
NAN = math.nan


def _market(need_t, need_any, have):
    """One demand (crane need ``need_t`` t or unwritten) against listings with the cranes ``have``
    (tonnage, or None for a crane of unwritten tonnage)."""
    g = gazetteer()
    t = int(g.find("周巷镇"))
    n = len(have)
    dem = {"demand_id": ["D1"], "deal": [1], "area_min_m2": [800.0], "area_max_m2": [1000.0], "towns": [[t]],
           "crane_t": [need_t], "crane_any": [need_any]}
    lis = {"listing_id": [f"L{k}" for k in range(n)], "deal": [1] * n, "town": [t] * n,
           "area_m2": [900.0] * n, "crane_t": [NAN if h is None else h for h in have],
           "crane_any": [h is None for h in have]}
    return Demands.from_columns(dem), Listings.from_columns(lis)


HAVE = [0.0, NAN, 3.0, 10.0, None]  # none, not stated, 3 t, 10 t, a crane of unwritten tonnage
CASES = [
    # need, need_any -> feasible per listing of HAVE (worked out from the rule as documented)
    (NAN, True, [False, False, True, True, True]),  # 需要行车: any crane
    (5.0, False, [False, False, False, True, True]),  # 5 t: an unwritten tonnage is shown, staff ask
    (NAN, False, [True, True, True, True, True]),  # no need
    (0.0, False, [True, True, True, True, True]),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("need", "need_any", "want"), CASES)
def test_the_crane_rule_reads_unwritten_tonnage(engine, need, need_any, want):
    d, listings = _market(need, need_any, HAVE)
    r = scoring.score(d, listings, engine=engine)
    assert r.feasible[0].tolist() == want
    profile = scoring.Scorer(d, listings).profile
    for j, ok in enumerate(want):
        bits = reference_pair(d, listings, 0, j, profile)[0]
        assert (bits >> RULE_BITS["crane"] & 1) == (not ok)


def _crane_check(e):
    return next(c for c in e.rules if c.name == "crane")


@pytest.mark.parametrize("engine", ENGINES)
def test_explanations_say_tonnage_not_given_never_0_or_inf(engine):
    d, listings = _market(NAN, True, [0.0, None, 5.0])
    r = scoring.score(d, listings, engine=engine)
    no_crane, unwritten, five = (r.explain(0, j) for j in range(3))
    c = _crane_check(no_crane)
    assert not c.passed and "吨位未注明" in c.zh and "tonnage not given" in c.en
    assert "1e-09" not in c.zh and "inf" not in c.zh
    assert "需求 需要行车，吨位未注明" in c.zh and "房源 0" in c.zh
    c = _crane_check(unwritten)
    assert c.passed and c.zh == "行车符合（需求 需要行车，吨位未注明，房源 有行车，吨位未注明）"
    for e in (unwritten, five):
        text = e.summary("zh")
        assert "需求未提设施要求" not in text and "需要行车（吨位未注明）" in text
    assert "有行车，吨位未注明" in unwritten.summary("zh")
    assert "行车 5 吨" in five.summary("zh")


def test_a_tonnage_need_against_an_unwritten_crane_is_explained():
    d, listings = _market(5.0, False, [None])
    e = scoring.score(d, listings).explain(0, 0)
    c = _crane_check(e)
    assert c.passed and "需求 5" in c.zh and "有行车，吨位未注明" in c.zh
    assert "行车不符" not in e.summary("zh")


def test_records_without_the_flag_still_prepare():
    d, listings = _market(5.0, False, [3.0])
    from scoring.prepare import prepare_listings

    class Bare:  # an object with the canonical fields but no crane_any
        def __getattr__(self, name):
            if name == "crane_any":
                raise AttributeError(name)
            return getattr(listings, name)

    side = prepare_listings(Bare(), scoring.Scorer(d, listings).profile)
    assert side.crane.tolist() == [3.0] and side.crane_any.tolist() == [False]
    assert np.isfinite(side.crane).all()
