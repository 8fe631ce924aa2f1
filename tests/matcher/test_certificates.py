"""What the sparse solve leans on: dual prices that prove a one-to-one allocation optimal,
and the split of a problem into independent parts."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.allocation import candidates, one_to_one
from matcher.allocation.components import parts
from matcher.allocation.one_to_one import assignment_duals
from scoring.fast import available
from tests.matcher.test_one_to_one import brute_force, matrices

one_to_one_module = importlib.import_module("matcher.allocation.one_to_one")  # the package exports the function


@given(s=matrices, reservation=st.sampled_from([0.0, 0.3]))
@settings(max_examples=200)
def test_duals_are_feasible_and_as_large_as_the_optimum(s, reservation):
    rows, cols = one_to_one(s, reservation)
    c = candidates(s, reservation)
    u, v = assignment_duals(c, rows, cols)
    assert (u >= 0).all() and (v >= 0).all()
    # every candidate pair is covered: u_i + v_j >= s_ij (pairs scoring <= 0 add nothing)
    pos = c.scores > 0
    assert (u[c.rows[pos]] + v[c.cols[pos]] >= c.scores[pos] - 1e-9).all()
    # strong duality: the prices add up to the optimum found by brute force
    assert u.sum() + v.sum() == pytest.approx(brute_force(s, reservation), abs=1e-9)


@pytest.mark.skipif(not available(), reason="numba not installed")
@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_relaxation_gives_the_prices_of_the_vectorised_one(seed, monkeypatch):
    # a deep alternating structure: many rounds of the vectorised relaxation
    rng = np.random.default_rng(seed)
    n, m = 400, 380
    s = np.where(rng.random((n, m)) < 0.04, rng.random((n, m)).round(3), np.nan)
    c = candidates(s, 0.0)
    rows, cols = one_to_one(c)
    for tol in (0.0, 1e-9):
        compiled = assignment_duals(c, rows, cols, tol=tol)
        monkeypatch.setattr(one_to_one_module, "_relax_compiled", lambda *a: False)
        vectorised = assignment_duals(c, rows, cols, tol=tol)
        monkeypatch.undo()
        np.testing.assert_allclose(compiled[0], vectorised[0], rtol=0, atol=max(tol, 1e-12) * n)
        np.testing.assert_allclose(compiled[1], vectorised[1], rtol=0, atol=max(tol, 1e-12) * n)
        u, v = compiled
        pos = c.scores > 0
        assert (u[c.rows[pos]] + v[c.cols[pos]] >= c.scores[pos] - 1e-9).all()
        assert u.sum() + v.sum() == pytest.approx(c.objective(rows, cols), abs=1e-9)


def test_a_suboptimal_allocation_has_no_certificate():
    s = np.array([[0.9, 0.8], [0.85, np.nan]])
    with pytest.raises(ValueError, match="not optimal"):
        assignment_duals(s, np.array([0]), np.array([0]))  # 0.9 alone, against 0.8 + 0.85
    with pytest.raises(ValueError, match="not a candidate"):
        assignment_duals(s, np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="at most once"):
        assignment_duals(s, np.array([0, 0]), np.array([0, 1]))


@given(s=matrices, min_pairs=st.sampled_from([0, 3, 1000]))
@settings(max_examples=200)
def test_parts_are_independent_and_cover_every_pair(s, min_pairs):
    c = candidates(s)
    ps = parts(c, min_pairs=min_pairs)
    seen = np.concatenate([p.pairs for p in ps]) if ps else np.zeros(0, int)
    assert sorted(seen.tolist()) == list(range(len(c)))  # every pair exactly once
    rows = [set(p.rows.tolist()) for p in ps]
    cols = [set(p.cols.tolist()) for p in ps]
    for a in range(len(ps)):
        for b in range(a + 1, len(ps)):
            assert not rows[a] & rows[b] and not cols[a] & cols[b]
    for p in ps:  # local pairs map back to the whole problem's
        assert (p.rows[p.candidates.rows] == c.rows[p.pairs]).all()
        assert (p.cols[p.candidates.cols] == c.cols[p.pairs]).all()
        assert (p.candidates.scores == c.scores[p.pairs]).all()
    # solving the parts apart gives the optimum of the whole
    whole = c.objective(*one_to_one(c))
    apart = sum(float(p.candidates.objective(*one_to_one(p.candidates))) for p in ps)
    assert apart == pytest.approx(whole, abs=1e-9)


def _best_per_row(want: np.ndarray, red: np.ndarray, per_row: int | None) -> np.ndarray:
    """``want`` cut to the ``per_row`` pairs of each row with the highest ``red`` (ties by
    column), one row at a time."""
    if per_row is None:
        return want
    out = np.zeros_like(want)
    for i in range(want.shape[0]):
        cols = np.flatnonzero(want[i])
        ranked = sorted(cols.tolist(), key=lambda j: (-red[i, j], j))
        out[i, ranked[:per_row]] = True
    return out


@pytest.mark.parametrize(("spatial", "margin", "per_row"),
                         [(False, 0.0, None), (True, 0.0, None), (True, 0.02, None), (False, 0.02, 2),
                          (True, 0.02, 1)])
def test_checks_after_the_first_find_every_violation(monkeypatch, spatial, margin, per_row):
    """``solve._violations`` skips pairs an earlier check proved, and (by location groups)
    pairs too far apart to score above their prices; over a sequence of price vectors
    (rising and falling, as between solves) it must still return exactly the allowed,
    unheld pairs with ``s - u - v > tol`` (or ``> -margin``), found by brute force on the dense matrix.
    With ``per_row``, exactly the ``per_row`` of each demand with the highest reduced
    scores, and every pair left out must stay covered by the prices the next check
    trusts (``proven_u + proven_v``), so that later checks still find it."""
    import scoring
    from matcher import generate_market, solve
    from matcher.solve import Market, _check_plan, _violations

    mk = generate_market(300, 260, seed=11, counties=9 if spatial else 1)
    sc = scoring.Scorer(mk.demands, mk.listings, towns=mk.towns)
    monkeypatch.setattr(solve, "SPATIAL_PAIRS", 0 if spatial else 10**12)
    s = sc.score().total.astype(np.float64)  # NaN: infeasible
    reservation, tol = 0.35, 1e-7
    n_d, n_l = s.shape
    excluded = (np.array([0, 1, 2], np.int64), np.array([5, 6, 7], np.int64))
    m = Market.build(sc, "one_to_one", reservation, 3, excluded, np.zeros(0, np.int64),
                     np.zeros(n_l, bool), np.asarray(mk.listings.area_m2, np.float64))
    rng = np.random.default_rng(0)
    u, v = rng.uniform(0.35, 0.5, n_d), rng.uniform(0.35, 0.5, n_l)  # sums near a pair's score
    skipped_some = False
    planned = []
    for step in range(6):
        planned.append(sum(r.size * c.size for r, c in _check_plan(m, u, v, min(tol, -margin))))
        if spatial and step == 0:  # the same check without location groups
            monkeypatch.setattr(solve, "SPATIAL_PAIRS", 10**12)
            without = sum(r.size * c.size for r, c in _check_plan(m, u, v, tol))
            monkeypatch.setattr(solve, "SPATIAL_PAIRS", 0)
        held = np.zeros((n_d, n_l), bool)
        held[m.rows, m.cols] = True
        allowed = np.ones((n_d, n_l), bool)
        allowed[excluded] = False
        feasible = np.nan_to_num(s, nan=-np.inf) >= reservation
        reduced = s - u[:, None] - v[None, :]
        open_ = allowed & ~held & feasible
        every = open_ & (reduced > min(tol, -margin))
        want = _best_per_row(every, reduced, per_row)
        r, c, got_s, red = _violations(m, u, v, tol, margin, per_row=per_row)
        got = np.zeros_like(want)
        got[r, c] = True
        assert (got == want).all(), f"check {step}: {int((got != want).sum())} pairs differ"
        # what the next check trusts: every open pair not returned scores at most the proven prices
        rest = open_ & ~got
        bound = m.proven_u[:, None] + m.proven_v[None, :]
        assert (s[rest] <= bound[rest] + 1e-6).all()
        if per_row is not None and step == 0:
            assert (want.sum(axis=1) <= per_row).all() and every.sum() > want.sum()  # some were left out
        np.testing.assert_allclose(got_s, s[r, c], rtol=1e-6)
        np.testing.assert_allclose(red, s[r, c] - u[r] - v[c], atol=1e-6)
        m.add(r, c, got_s)
        # the next prices: some rise, some fall (a fall forces those rows or columns again)
        du, dv_ = rng.normal(0, 0.05, n_d), rng.normal(0, 0.05, n_l)
        du[rng.random(n_d) < 0.7] = 0.0
        dv_[rng.random(n_l) < 0.7] = 0.0
        skipped_some |= bool((du >= 0).any() and (dv_ >= 0).any())
        u, v = np.maximum(u + du, 0.0), np.maximum(v + dv_, 0.0)
    assert skipped_some
    assert (m.location_bounds() is not None) == spatial
    if spatial:  # the location groups leave out pairs even on the first check
        assert planned[0] < 0.8 * without


@given(x=st.lists(st.integers(0, 40), max_size=60))
def test_renumber_is_unique_with_its_inverse(x):
    from matcher.allocation.candidates import renumber

    a = np.array(x, dtype=np.int64)
    used, local = renumber(a, 41)
    want_used, want_local = np.unique(a, return_inverse=True)
    np.testing.assert_array_equal(used, want_used)
    np.testing.assert_array_equal(local, want_local.reshape(-1))
