"""One block for a demand's explanations (``Scorer.explain_row``) says exactly what a
block per pair says: a wrong listing index anywhere in a rule or criterion shows here."""

import numpy as np
import pytest

import scoring
from matcher import generate_market


@pytest.fixture(scope="module")
def scorer():
    m = generate_market(40, 120, seed=17)
    return scoring.Scorer(m.demands, m.listings)


def same(a, b):
    """Equal, floats to 1e-6 (float32 kernels may round differently in another block shape)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, abs=1e-6, nan_ok=True)
    return a == b


@pytest.mark.parametrize("i", [0, 3, 15, 21])
def test_row_explanations_equal_one_pair_at_a_time(scorer, i):
    res = scorer.score()
    rng = np.random.default_rng(i)
    feas, infeas = np.flatnonzero(res.feasible[i]), np.flatnonzero(~res.feasible[i])
    js = rng.permutation(np.r_[feas[:10], rng.permutation(infeas)[:15]])
    row = scorer.explain_row(i, js)
    for j, e in zip(js, row):
        one = scorer.explain_row(i, [j])[0]
        assert same(e.to_dict(), one.to_dict()), (i, j)
        assert e.listing_id == str(scorer.listing_side.ids[j])
        assert e.feasible == bool(res.feasible[i, j])
        if e.feasible:
            assert e.total == pytest.approx(float(res.total[i, j]), abs=1e-6)
    assert {e.feasible for e in row} == {True, False}


def test_without_rules_the_criteria_are_the_same(scorer):
    js = np.arange(30)
    full, lean = scorer.explain_row(3, js), scorer.explain_row(3, js, rules=False)
    for a, b in zip(full, lean):
        assert b.rules == [] and a.failed == b.failed and a.criteria == b.criteria
        assert a.summary("zh") == b.summary("zh") or not a.feasible


def test_known_feasible_pairs_explain_the_same(scorer):
    i = 0
    rk = scorer.for_demand(i, 12)
    a = scorer.explain_row(i, rk.index, rules=False)
    b = scorer.explain_row(i, rk.index, rules=False, known_feasible=True)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in b]
    assert all(x.feasible for x in b)


@pytest.mark.parametrize("budget", [1, 37, 1 << 16])
def test_many_demands_per_block_say_what_one_pair_per_block_says(scorer, budget):
    from scoring.explain import explain_many

    res = scorer.score()
    rng = np.random.default_rng(budget)
    n_d, n_l = res.shape
    rows, cols = rng.integers(0, n_d, 60), rng.integers(0, n_l, 60)
    rows[:5], cols[:5] = rows[0], cols[0]  # repeated pairs come back in place, each
    many = explain_many(scorer, rows, cols, block_pairs=budget)
    assert len(many) == len(rows)
    for e, i, j in zip(many, rows, cols):
        one = scorer.explain(int(i), int(j))
        assert same(e.to_dict(), one.to_dict()), (i, j)
        assert (e.demand_id, e.listing_id) == (str(scorer.demand_side.ids[i]), str(scorer.listing_side.ids[j]))
        assert e.feasible == bool(res.feasible[i, j])
        if e.feasible:
            assert e.total == pytest.approx(float(res.total[i, j]), abs=1e-5)


def test_summaries_are_the_explanations_summaries(scorer):
    res = scorer.score()
    rows, cols = np.nonzero(res.feasible)
    rng = np.random.default_rng(4)
    pick = rng.permutation(len(rows))[:80]
    rows, cols = rows[pick], cols[pick]
    got = scorer.summarize_many(rows, cols)
    want = scorer.explain_many(rows, cols, rules=False, known_feasible=True)
    for s, e in zip(got, want, strict=True):
        assert (s.zh, s.en) == (e.summary("zh"), e.summary("en"))
        assert s.scores == {c.name: c.score for c in e.criteria}
        assert s.distance_km == next(c.inputs.get("distance_km") for c in e.criteria if c.name == "location")


@pytest.fixture(scope="module")
def wide():
    m = generate_market(160, 220, seed=29)
    return scoring.Scorer(m.demands, m.listings)


@pytest.mark.parametrize("budget", [1, 97, 1 << 16])
def test_summaries_shared_across_blocks_are_each_pairs_own(wide, budget):
    """A criterion's sentences are worked out once per distinct key and reused in later
    blocks: every pair still reads what its own explanation says."""
    rows, cols = np.nonzero(wide.score().feasible)
    rng = np.random.default_rng(budget)
    pick = rng.integers(0, len(rows), 700)  # repeats included
    rows, cols = rows[pick], cols[pick]
    got = scoring.explain.summarize_many(wide, rows, cols, block_pairs=budget)
    want = wide.explain_many(rows, cols, rules=False, known_feasible=True)
    for s, e in zip(got, want, strict=True):
        assert (s.zh, s.en) == (e.summary("zh"), e.summary("en"))
        assert s.scores == {c.name: c.score for c in e.criteria}


def _unusual(seed):
    """A market whose records also take the rarer values a sentence depends on: cranes of
    unwritten tonnage on both sides, negotiable prices, missing budgets and prices."""
    import dataclasses

    m = generate_market(160, 220, seed=seed)
    rng = np.random.default_rng(seed)
    L, D = m.listings, m.demands

    def some(n, p=0.3):
        return rng.random(n) < p

    l_any, d_any = some(len(L.crane_t)), some(len(D.crane_t))
    L = dataclasses.replace(L, crane_any=L.crane_any | l_any, crane_t=np.where(l_any, np.nan, L.crane_t),
                            negotiable=some(len(L.rent), 0.5), rent=np.where(some(len(L.rent), 0.1), np.nan, L.rent))
    D = dataclasses.replace(D, crane_any=D.crane_any | d_any, crane_t=np.where(d_any, np.nan, D.crane_t),
                            max_rent=np.where(some(len(D.max_rent), 0.2), np.nan, D.max_rent))
    return scoring.Scorer(D, L)


@pytest.mark.parametrize("which", ["generated", "unusual"])
def test_describe_keys_hold_everything_a_sentence_says(wide, which):
    """Two pairs with the same ``describe_key`` are described alike (inputs, both
    languages): otherwise sharing sentences by key would put one pair's words on another."""
    from scoring.criteria import CRITERIA

    sc = wide if which == "generated" else _unusual(31)
    b = sc.block(0, sc.shape[0], 0, sc.shape[1])
    ii, pp = (a.reshape(-1) for a in np.indices(b.shape))
    keyed = {name: mod for name, mod in CRITERIA.items() if hasattr(mod, "describe_key")}
    assert set(keyed) >= {"price", "industry", "facilities", "timing"}
    rng = np.random.default_rng(0)
    for name, mod in keyed.items():
        keys = np.ascontiguousarray(mod.describe_key(b, pp, ii), dtype=np.float64)
        assert keys.shape[0] == ii.size
        as_bytes = keys.view(np.dtype((np.void, keys.itemsize * keys.shape[1]))).reshape(-1)  # NaN equals NaN
        _, inverse, counts = np.unique(as_bytes, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        shared = np.flatnonzero(counts > 1)
        assert shared.size > 20, name  # the market repeats keys: the check below has teeth
        for g in rng.permutation(shared)[:300]:
            members = rng.permutation(np.flatnonzero(inverse == g))[:3]
            said = [mod.describe(b, int(pp[k]), int(ii[k])) for k in members]
            assert all(s == said[0] for s in said[1:]), (name, [(int(ii[k]), int(pp[k])) for k in members])


def test_whole_units_are_counted_in_good_english():
    """"1 unit, 420 m²" and "2 units, 840 m²": the count is the offered area over the unit."""
    import re

    m = generate_market(300, 60, seed=4)
    sc = scoring.Scorer(m.demands, m.listings)
    seen = set()
    for i in range(60):
        for e in sc.explain_row(i, np.arange(300)):
            area = next(c for c in e.to_dict()["criteria"] if c["name"] == "area")
            hit = re.match(r"(\d+) (units?), ", area["en"])
            if hit is None:
                continue
            k, word = int(hit.group(1)), hit.group(2)
            assert word == ("unit" if k == 1 else "units"), area["en"]
            assert k == round(area["inputs"]["offered_m2"] / area["inputs"]["unit_m2"])
            seen.add(min(k, 2))
    assert seen == {1, 2}  # both forms were met
