"""One-to-one allocation against brute force and scipy."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_array

from matcher.allocation import candidates, has_flow, one_to_one

METHODS = ("dense", "sparse", "auto") + (("flow",) if has_flow() else ())


def brute_force(s: np.ndarray, reservation: float) -> float:
    """Best total over every partial one-to-one matching (NaN / below reservation banned):
    each row in turn takes a free allowed column or nothing, over all subsets of columns."""
    n, m = s.shape
    ok = [[not np.isnan(s[r, c]) and s[r, c] >= reservation for c in range(m)] for r in range(n)]

    @functools.cache
    def best(r: int, used: int) -> float:
        if r == n:
            return 0.0
        out = best(r + 1, used)
        for c in range(m):
            if ok[r][c] and not used >> c & 1:
                out = max(out, s[r, c] + best(r + 1, used | 1 << c))
        return out

    return best(0, 0)


def check(s, rows, cols, reservation):
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    for r, c in zip(rows, cols):
        assert not np.isnan(s[r, c]) and s[r, c] >= reservation
    return float(sum(s[r, c] for r, c in zip(rows, cols)))


matrices = st.integers(0, 7).flatmap(lambda n: st.integers(0, 7).flatmap(lambda m: st.lists(
    st.one_of(st.just(np.nan), st.sampled_from([0.0, 0.25, 0.5, 0.5, 0.75, 1.0]), st.floats(0, 1)),
    min_size=n * m, max_size=n * m).map(lambda v: np.array(v, dtype=float).reshape(n, m))))


@given(s=matrices, reservation=st.sampled_from([0.0, 0.3, 0.6]))
@settings(max_examples=300)
def test_equals_brute_force(s, reservation):
    best = brute_force(s, reservation)
    for method in METHODS:
        rows, cols = one_to_one(s, reservation, method=method)
        assert check(s, rows, cols, reservation) == pytest.approx(best, abs=1e-9), method
        assert list(rows) == sorted(rows)


@pytest.mark.parametrize("seed", range(6))
def test_dense_and_sparse_agree_on_200_by_300(seed):
    rng = np.random.default_rng(seed)
    s = rng.random((200, 300))
    s[rng.random((200, 300)) < 0.9] = np.nan  # about 10 % feasible, as generated markets
    res = 0.2
    dense = check(s, *one_to_one(s, res, method="dense"), res)
    sparse = check(s, *one_to_one(s, res, method="sparse"), res)
    assert dense == pytest.approx(sparse, abs=1e-9)
    if has_flow():
        assert check(s, *one_to_one(s, res, method="flow"), res) == pytest.approx(dense, abs=1e-9)
    # and plain scipy on the slack form gives the same optimum
    v = np.where(np.isnan(s) | (s < res), 0.0, s)
    r, c = linear_sum_assignment(v, maximize=True)
    assert v[r, c].sum() == pytest.approx(dense, abs=1e-9)
    # a sparse input of the feasible pairs is the same problem
    rows, cols = np.nonzero(~np.isnan(s))
    sp = csr_array((s[rows, cols], (rows, cols)), shape=s.shape)
    assert check(s, *one_to_one(sp, res), res) == pytest.approx(dense, abs=1e-9)


def test_empty_and_one_sided_inputs_are_not_errors():
    for shape in [(0, 0), (0, 5), (5, 0), (3, 4)]:
        rows, cols = one_to_one(np.full(shape, np.nan))
        assert rows.size == cols.size == 0
    rows, cols = one_to_one(np.array([[0.2, 0.9]]), reservation=0.95)
    assert rows.size == 0


def test_candidates_and_errors():
    s = np.array([[0.5, np.nan], [0.1, 0.7]])
    c = candidates(s, 0.2)
    assert list(zip(c.rows, c.cols)) == [(0, 0), (1, 1)]
    assert c.objective(np.array([0, 1]), np.array([0, 1])) == pytest.approx(1.2)
    with pytest.raises(ValueError, match="not a candidate"):
        c.objective(np.array([1]), np.array([0]))
    with pytest.raises(ValueError, match="method"):
        one_to_one(s, method="greedy")
    with pytest.raises(ValueError, match="2-d"):
        candidates(np.zeros(3))
