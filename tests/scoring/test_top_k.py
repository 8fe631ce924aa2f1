"""top_k and the single-record path against sorting the full matrix."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from matcher.generate import generate_market
from tests.scoring.markets import lenient_markets


def full_sort(total: np.ndarray, ids: np.ndarray, k: int) -> list[list[int]]:
    """Per row: feasible columns by score descending, ties by id, first k."""
    out = []
    for row in total:
        cols = [j for j in range(len(row)) if not np.isnan(row[j])]
        cols.sort(key=lambda j: (-float(row[j]), str(ids[j])))
        out.append(cols[:k])
    return out


def check(tk, total, ids, k):
    expected = full_sort(total, ids, k)
    for r, exp in enumerate(expected):
        got = [int(x) for x in tk.index[r] if x >= 0]
        assert got == exp
        assert tk.count[r] == len(exp)
        np.testing.assert_array_equal(tk.scores[r, : len(exp)], total[r, exp])
        assert np.isnan(tk.scores[r, len(exp):]).all()


ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not scoring.fast.available(),
                                                                   reason="numba not installed"))]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("by", ["demand", "listing"])
@pytest.mark.parametrize("k", [1, 5, 40])
@pytest.mark.parametrize("budget", [4_000, 256 << 20])  # tiny budget: one row per block
def test_top_k_equals_sorting_the_full_matrix(engine, by, k, budget):
    m = generate_market(120, 150, seed=4)
    res = scoring.score(m.demands, m.listings, engine=engine)
    tk = scoring.top_k(m.demands, m.listings, k, by=by, memory_bytes=budget, engine=engine)
    assert tk.index.shape == ((150 if by == "demand" else 120), k)
    if by == "demand":
        check(tk, res.total, m.listings.listing_id, k)
    else:
        check(tk, res.total.T, m.demands.demand_id, k)


@given(market=lenient_markets, k=st.integers(1, 8), by=st.sampled_from(["demand", "listing"]))
@settings(max_examples=40)
def test_top_k_with_ties_and_empty_rows(market, k, by):
    d, listings = market
    res = scoring.score(d, listings)
    tk = scoring.top_k(d, listings, k, by=by)
    if by == "demand":
        check(tk, res.total, listings.listing_id, k)
    else:
        check(tk, res.total.T, d.demand_id, k)


def test_ties_are_broken_by_id_not_row_order():
    m = generate_market(30, 30, seed=9)
    # every listing identical but its id (written in descending order): all scores tie
    from matcher.records import Listings, Ragged

    first = m.listings.take(np.array([8]))  # feasible for 8 of the 30 demands
    cols = {}
    for f in Listings.FIELDS:
        v = getattr(first, f.name)
        cols[f.name] = [list(v[0])] * 30 if isinstance(v, Ragged) else [v[0]] * 30
    cols["listing_id"] = [f"L{k:02d}" for k in range(30)][::-1]
    same = Listings.from_columns(cols)
    tk = scoring.top_k(m.demands, same, 5)
    assert (tk.count == 5).sum() == 8  # each of them sees five tied listings
    for r in range(30):
        ids = [same.listing_id[j] for j in tk.index[r] if j >= 0]
        assert ids == sorted(ids)


def test_single_record_paths_equal_the_matrix():
    m = generate_market(200, 120, seed=8)
    s = scoring.Scorer(m.demands, m.listings)
    res = s.score()
    for i in range(0, 120, 7):
        r = s.for_demand(i, k=20)
        exp = full_sort(res.total[i:i + 1], m.listings.listing_id, 20)[0]
        assert list(r.index) == exp
        assert list(r.ids) == [m.listings.listing_id[j] for j in exp]
        np.testing.assert_array_equal(r.scores, res.total[i, exp])
    for j in range(0, 200, 11):
        r = s.for_listing(j, k=None)
        exp = full_sort(res.total[:, j:j + 1].T, m.demands.demand_id, 10**9)[0]
        assert list(r.index) == exp


def test_scoring_a_new_demand_against_prepared_listings():
    m = generate_market(100, 60, seed=12)
    s = scoring.Scorer(m.demands.take(np.arange(50)), m.listings)
    fresh = s.with_demands(m.demands.take(np.arange(50, 60)))
    direct = scoring.score(m.demands.take(np.arange(50, 60)), m.listings)
    np.testing.assert_array_equal(fresh.score().total, direct.total)
    assert fresh.listing_side is s.listing_side  # the listings were not prepared again


def test_auto_engine_takes_the_compiled_path_for_large_blocks(monkeypatch):
    import scoring.engine

    m = generate_market(30, 40, seed=6)
    s = scoring.Scorer(m.demands, m.listings)
    assert not s.compiled(30 * 40)
    monkeypatch.setattr(scoring.engine, "FAST_MIN_PAIRS", 100)
    assert s.compiled(30 * 40) == scoring.fast.available()
    assert not scoring.Scorer(m.demands, m.listings, engine="numpy").compiled(10**9)
    with pytest.raises(ValueError, match="engine"):
        scoring.Scorer(m.demands, m.listings, engine="gpu")


def test_bad_arguments():
    m = generate_market(5, 5, seed=1)
    with pytest.raises(ValueError, match="by"):
        scoring.top_k(m.demands, m.listings, 3, by="firm")
    with pytest.raises(ValueError, match="k =="):
        scoring.top_k(m.demands, m.listings, 0)
    tk = scoring.top_k(m.demands, m.listings, 10)  # k larger than the other side
    assert tk.index.shape == (5, 10) and (tk.index[:, 5:] == -1).all()


@pytest.mark.skipif(not scoring.fast.available(), reason="numba not installed")
@given(st.integers(1, 12), st.integers(1, 30), st.integers(1, 10), st.integers(0, 2**32 - 1))
@settings(max_examples=60)
def test_compiled_selection_equals_numpy(n, m, k, seed):
    from scoring.select import select_top

    rng = np.random.default_rng(seed)
    t = rng.choice(np.array([0.1, 0.5, 0.5, 0.9, np.nan], dtype=np.float32), size=(n, m))  # ties, gaps
    tie = rng.permutation(m).astype(np.int64)
    k = min(k, m)
    a, b = select_top(t, k, tie), scoring.fast.select_top(t, k, tie)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("by", ["demand", "listing"])
def test_top_k_of_a_held_matrix_equals_the_blockwise_one(by):
    m = generate_market(90, 70, seed=14)
    res = scoring.score(m.demands, m.listings)
    for k in (1, 6, 200):
        a, b = res.top_k(k, by=by), scoring.top_k(m.demands, m.listings, k, by=by)
        np.testing.assert_array_equal(a.index, b.index)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.count, b.count)


@pytest.mark.skipif(not scoring.fast.available(), reason="numba not installed")
@pytest.mark.parametrize("k", [1, 7, 50])
def test_compiled_single_demand_query_equals_sorting_its_row(k):
    """for_demand on the compiled path keeps the k best as it scores, across work items
    of 4096 listings run in parallel: the same as sorting the scored row."""
    m = generate_market(9000, 12, seed=31)
    s = scoring.Scorer(m.demands, m.listings, engine="numba")
    total = s.score().total
    for i in range(12):
        r = s.for_demand(i, k=k)
        exp = full_sort(total[i:i + 1], m.listings.listing_id, k)[0]
        assert list(r.index) == exp
        assert list(r.ids) == [m.listings.listing_id[j] for j in exp]
        np.testing.assert_array_equal(r.scores, total[i, exp])


@pytest.mark.skipif(not scoring.fast.available(), reason="numba not installed")
def test_compiled_single_demand_query_breaks_ties_by_id_across_work_items():
    m = generate_market(30, 30, seed=9)
    from matcher.records import Listings, Ragged

    first = m.listings.take(np.array([8]))
    n = 9000  # three work items of the same listing, ids descending
    cols = {}
    for f in Listings.FIELDS:
        v = getattr(first, f.name)
        cols[f.name] = [list(v[0])] * n if isinstance(v, Ragged) else [v[0]] * n
    cols["listing_id"] = [f"L{k:05d}" for k in range(n)][::-1]
    same = Listings.from_columns(cols)
    s = scoring.Scorer(m.demands, same, engine="numba")
    total = s.score().total
    fed = [i for i in range(30) if not np.isnan(total[i]).all()]
    assert fed  # some demand takes this listing
    for i in fed:
        r = s.for_demand(i, k=12)
        assert list(r.ids) == sorted(same.listing_id)[:12]
        np.testing.assert_array_equal(r.scores, total[i, list(r.index)])
