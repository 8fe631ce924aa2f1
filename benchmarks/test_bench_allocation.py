"""Allocation speed on generated markets (issue #4), each beside its baseline in the same run.

* ``one_to_one`` (the automatic choice, and each exact solver: dense, LAPJVsp, and
  OR-tools' min-cost flow when the ``[fast]`` extra is installed) against plain dense
  ``scipy.optimize.linear_sum_assignment`` on the same score matrix: same objective;
* ``stable`` (deferred acceptance) and ``divisible`` (the MILP at 1k, and the
  heuristic at every size, each with its gap).

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
from matcher.allocation import blocking_pairs, candidates, divisible, has_flow, one_to_one, stable

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


def _status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def _rss_reset():
    """Reset the peak resident size (Linux); the RSS before, or None where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_mb("VmRSS")
    except OSError:
        return None


def _traced(fn, *args, **kwargs):
    """Run ``fn`` measuring memory: (result, peak MiB of traced Python allocations, peak
    growth of resident MiB -- which also sees native solvers -- or NaN where unsupported)."""
    before = _rss_reset()
    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    rss = _status_mb("VmHWM") - before if before is not None else float("nan")
    return out, traced, rss


def test_baseline_plain_linear_sum_assignment(benchmark, market):
    size, _, total = market
    obj, peak, rss = benchmark.pedantic(_traced, args=(_plain, total), rounds=1, iterations=1)
    PLAIN[size] = obj
    benchmark.extra_info.update(size=size, objective=obj, peak_mb=peak, rss_mb=rss)


@pytest.mark.parametrize("method", ["auto", "dense", "sparse", "flow"])
def test_one_to_one(benchmark, market, method):
    if method == "flow" and not has_flow():
        pytest.skip("OR-tools (the [fast] extra) is not installed")
    size, _, total = market
    c = candidates(total, RESERVATION)
    (rows, cols), peak, rss = benchmark.pedantic(_traced, args=(one_to_one, c), kwargs={"method": method},
                                                 rounds=1, iterations=1)
    obj = c.objective(rows, cols)
    benchmark.extra_info.update(size=size, objective=obj, candidates=len(c), peak_mb=peak, rss_mb=rss)
    assert obj == pytest.approx(PLAIN[size] if size in PLAIN else _plain(total), abs=1e-6)


@pytest.mark.parametrize("capacity", ["one", "areas"])
def test_stable(benchmark, market, capacity):
    size, s, total = market
    c = candidates(total, RESERVATION)
    d, l = s.demand_side, s.listing_side
    kw = {} if capacity == "one" else {"area_min": d.lo, "area_max": d.hi, "area": l.area, "unit": l.unit}
    rows, cols = benchmark.pedantic(stable, args=(c,), kwargs=kw, rounds=1, iterations=1)
    blocking = len(blocking_pairs(c, rows, cols, **kw))
    assert blocking == 0
    benchmark.extra_info.update(size=size, pairs=len(rows), objective=c.objective(rows, cols), blocking=blocking)


@pytest.mark.parametrize("method", ["milp", "heuristic"])
def test_divisible(benchmark, market, method):
    size, s, total = market
    if method == "milp" and size != "1k":
        pytest.skip("the MILP is measured at 1k x 1k")
    d, l = s.demand_side, s.listing_side
    res = benchmark.pedantic(divisible, args=(total, d.lo, d.hi, l.area, l.unit, RESERVATION),
                             kwargs={"time_limit": 120, "method": method}, rounds=1, iterations=1)
    benchmark.extra_info.update(size=size, objective=res.objective, bound=res.bound, gap=res.gap,
                                pairs=len(res.rows))
