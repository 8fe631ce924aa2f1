"""What the compiled path costs a fresh install: numba compiles the scoring drivers on
first use and caches them on disk (issue #16).

One process with an empty numba cache runs every compiled path once on a small market
(``score()``, ``top_k`` both ways, ``candidates``, ``dual_violations``, a single query),
timing each step: what a first ``changfang match`` (or the service's first query) pays
before any pair is scored. The baseline, in the same run: the same process again with
the cache that run left, i.e. loading the compiled code instead of compiling it.

    python -m pytest benchmarks/test_bench_compile.py --benchmark-enable -s
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import scoring

STEPS = """
import json, time, numpy as np, scoring
from matcher.generate import generate_market
m = generate_market(300, 300, seed=3)
s = scoring.Scorer(m.demands, m.listings, engine="numba")
out = {}
for name, f in [("score", s.score), ("top_k by demand", lambda: s.top_k(3)),
                ("top_k by listing", lambda: s.top_k(3, by="listing")),
                ("candidates", lambda: s.candidates(per_demand=2, per_listing=2)),
                ("dual_violations", lambda: s.dual_violations(np.zeros(300), np.zeros(300))),
                ("for_demand", lambda: s.for_demand(0, 3))]:
    t = time.perf_counter(); f(); out[name] = time.perf_counter() - t
print(json.dumps(out))
"""


def _steps(cache: Path) -> tuple[float, dict[str, float]]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
                          cwd=Path(scoring.__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return time.perf_counter() - t0, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not scoring.fast.available(), reason="numba not installed")
def test_fresh_install_compile(benchmark, tmp_path):
    cache = tmp_path / "numba-cache"
    cold: dict[str, object] = {}

    def run() -> None:
        cold["wall"], cold["steps"] = _steps(cache)

    benchmark.pedantic(run, rounds=1, iterations=1)
    warm_wall, warm_steps = _steps(cache)  # the baseline: the cache the cold run left
    benchmark.extra_info.update(cold_s=cold["wall"], warm_s=warm_wall, cold_steps=cold["steps"],
                                warm_steps=warm_steps)
    print(f"\nfresh cache {cold['wall']:.1f} s, warm cache {warm_wall:.1f} s (whole process)")
    for name, sec in cold["steps"].items():  # type: ignore[union-attr]
        print(f"  {name:18s} {sec:6.2f} s cold   {warm_steps[name]:6.3f} s warm")
