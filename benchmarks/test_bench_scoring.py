"""Scoring speed and memory, each beside a baseline measured in the same run.

* the plain-Python reference scorer (``tests/scoring/reference_scorer.py``) on a
  sample of pairs: the baseline for pairs per second;
* ``scoring.score`` (every rule and criterion, total and rule bitmask) on generated
  markets of 1k × 1k and 10k × 10k;
* the portal's single-record path: the top 20 listings for one demand out of 10k;
* ``scoring.top_k`` over 20k × 20k, with its peak of traced memory beyond the inputs.

Targets (issue #3): full scoring at least 1000× the reference's pairs per second and
at least 100 M pairs/s; top 20 of 10k in at most 5 ms (median); top_k 20k × 20k
under 1 GB beyond the inputs. The ratios are in ``extra_info`` and in the summary
printed at the end (``-s``); figures go into ``benchmarks/README.md``.
"""

import time
import tracemalloc

import numpy as np
import pytest

import scoring
from matcher import generate_market
from tests.scoring.reference_scorer import reference_pair

RATES: dict[str, float] = {}


def _median(benchmark) -> float | None:
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else stats.stats.median


def _record(benchmark, name: str, pairs: int, fallback_s: float) -> None:
    seconds = _median(benchmark) or fallback_s
    RATES[name] = pairs / seconds
    benchmark.extra_info["pairs_per_s"] = RATES[name]
    if "reference" in RATES and name != "reference":
        benchmark.extra_info["vs_reference"] = RATES[name] / RATES["reference"]


@pytest.fixture(scope="module")
def market_1k(scale):
    n = max(int(1000 * scale), 10)
    return generate_market(n, n, seed=21)


@pytest.fixture(scope="module")
def market_10k(scale):
    n = max(int(10_000 * scale), 10)
    return generate_market(n, n, seed=22)


def test_baseline_reference_scorer(benchmark, market_1k):
    d, listings = market_1k.demands, market_1k.listings
    prof = scoring.default_profile()
    rng = np.random.default_rng(0)
    pairs = [(int(i), int(j)) for i, j in zip(rng.integers(0, len(d), 400), rng.integers(0, len(listings), 400))]

    def run():
        for i, j in pairs:
            reference_pair(d, listings, i, j, prof)

    t = time.perf_counter()
    benchmark.pedantic(run, rounds=3, iterations=1)
    _record(benchmark, "reference", len(pairs), (time.perf_counter() - t) / 3)


ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not scoring.fast.available(),
                                                                   reason="numba not installed"))]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("size", ["1k", "10k"])
def test_score_full_matrix(benchmark, request, size, engine):
    m = request.getfixturevalue(f"market_{size}")
    scorer = scoring.Scorer(m.demands, m.listings, engine=engine)
    scorer.score()  # warm up: numba loads (or compiles) its cached code once per process
    t = time.perf_counter()
    res = benchmark.pedantic(scorer.score, rounds=3, iterations=1)
    _record(benchmark, f"score_{size}_{engine}", res.total.size, (time.perf_counter() - t) / 3)
    benchmark.extra_info["feasible_share"] = float(res.feasible.mean())
    assert res.total.shape == (len(m.demands), len(m.listings))


def test_top20_for_one_demand(benchmark, market_10k):
    """The portal's path: one demand against 10k prepared listings (numpy, one row)."""
    scorer = scoring.Scorer(market_10k.demands, market_10k.listings)
    rows = iter(range(10**9))
    n = len(market_10k.demands)
    ranking = benchmark(lambda: scorer.for_demand(next(rows) % n, k=20))
    assert len(ranking) <= 20


def test_top_k_20k_memory(benchmark, scale):
    n = max(int(20_000 * scale), 10)
    m = generate_market(n, n, seed=23)
    scorer = scoring.Scorer(m.demands, m.listings)  # inputs prepared outside the trace
    if scoring.fast.available():  # warm up: numba loads (or compiles) its code outside the trace
        few = np.arange(min(n, 50))
        scoring.Scorer(m.demands.take(few), m.listings.take(few), engine="numba").top_k(2)

    def run():
        tracemalloc.start()
        tracemalloc.reset_peak()
        tk = scorer.top_k(20)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return tk, peak

    t = time.perf_counter()
    tk, peak = benchmark.pedantic(run, rounds=1, iterations=1)
    _record(benchmark, "top_k_20k", n * n, time.perf_counter() - t)
    benchmark.extra_info["peak_mb"] = peak / 2**20
    assert tk.index.shape == (n, 20)
    assert peak < 2**30  # the budget: under 1 GB beyond the inputs


def test_summary(capsys):
    """Print the same-run ratios (run last in this module)."""
    if "reference" not in RATES:
        pytest.skip("run with the other benchmarks of this module")
    ref = RATES["reference"]
    with capsys.disabled():
        for name, rate in RATES.items():
            print(f"\n{name:16s} {rate / 1e6:10.3f} M pairs/s  {rate / ref:10.0f}× reference")
