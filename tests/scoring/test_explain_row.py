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
