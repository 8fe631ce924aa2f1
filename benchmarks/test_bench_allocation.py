"""Allocation speed on generated markets (issue #4), each beside its baseline in the same run.

* ``one_to_one`` (the automatic choice, and each exact solver) against plain dense
  ``scipy.optimize.linear_sum_assignment`` on the same score matrix: same objective;
* ``stable`` (deferred acceptance) and ``divisible`` (MILP, with its gap).

Sizes: 1k and 5k a side by default; 10k with ``CHANGFANG_BENCH_10K=1`` (minutes: the
plain baseline alone is slow there). Scores come from ``scoring.score`` with the default
profile and its reservation score.
"""

import os
import tracemalloc

import numpy as np
import pytest

import scoring
from matcher import generate_market
from matcher.allocation import candidates, divisible, one_to_one, stable

SIZES = ["1k", "5k"] + (["10k"] if os.environ.get("CHANGFANG_BENCH_10K") else [])
RESERVATION = scoring.default_profile().reservation


@pytest.fixture(scope="module", params=SIZES)
def market(request, scale):
    n = max(int({"1k": 1000, "5k": 5000, "10k": 10_000}[request.param] * scale), 10)
    m = generate_market(n, n, seed=31)
    s = scoring.Scorer(m.demands, m.listings)
    return request.param, s, s.score().total


PLAIN: dict[str, float] = {}


def _plain(total):
    from scipy.optimize import linear_sum_assignment

    v = np.where(np.isnan(total) | (total < RESERVATION), 0.0, total.astype(np.float64))
    r, k = linear_sum_assignment(v, maximize=True)
    return float(v[r, k].sum())


def _traced(fn, *args, **kwargs):
    """Run ``fn`` with tracemalloc on: (result, peak MiB of traced allocations)."""
    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_baseline_plain_linear_sum_assignment(benchmark, market):
    size, _, total = market
    obj, peak = benchmark.pedantic(_traced, args=(_plain, total), rounds=1, iterations=1)
    PLAIN[size] = obj
    benchmark.extra_info.update(size=size, objective=obj, peak_mb=peak)


@pytest.mark.parametrize("method", ["auto", "dense", "sparse"])
def test_one_to_one(benchmark, market, method):
    size, _, total = market
    c = candidates(total, RESERVATION)
    (rows, cols), peak = benchmark.pedantic(_traced, args=(one_to_one, c), kwargs={"method": method},
                                            rounds=1, iterations=1)
    obj = c.objective(rows, cols)
    benchmark.extra_info.update(size=size, objective=obj, candidates=len(c), peak_mb=peak)
    assert obj == pytest.approx(PLAIN[size] if size in PLAIN else _plain(total), abs=1e-6)


def test_stable(benchmark, market):
    size, _, total = market
    c = candidates(total, RESERVATION)
    rows, cols = benchmark.pedantic(stable, args=(c,), rounds=1, iterations=1)
    benchmark.extra_info.update(size=size, pairs=len(rows), objective=c.objective(rows, cols))


def test_divisible(benchmark, market):
    size, s, total = market
    if size != "1k":
        pytest.skip("the MILP is measured at 1k x 1k")
    res = benchmark.pedantic(divisible, args=(total, s.d.lo, s.d.hi, s.l.area, s.l.unit, RESERVATION),
                             kwargs={"time_limit": 120}, rounds=1, iterations=1)
    benchmark.extra_info.update(size=size, objective=res.objective, gap=res.gap, pairs=len(res.rows))
