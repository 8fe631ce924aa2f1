"""The whole ``changfang match`` run, stage by stage (issue #13: the write stage at most
25 % of the run on a 10k × 10k market).

``run_match`` on a generated market (``CHANGFANG_BENCH_MATCH_SIZE`` records a side,
default 2,000; the issue's figure is 10,000), once, with the default method. Beside it,
in the same run, a baseline: the stdlib ``csv`` module writing the same number of pairs
and recommendations rows with no explanation, which is what the write stage would cost
if it did nothing but print. The stage times come from ``run.json``.

    CHANGFANG_BENCH_MATCH_SIZE=10000 python -m pytest benchmarks/test_bench_batch.py --benchmark-enable -s
"""

import csv
import json
import os
import time

import pytest

from matcher import generate_market, write_records
from matcher.batch.run import run_match


@pytest.fixture(scope="module")
def market_files(tmp_path_factory, scale):
    n = max(int(int(os.environ.get("CHANGFANG_BENCH_MATCH_SIZE", 2000)) * scale), 50)
    d = tmp_path_factory.mktemp("batch")
    m = generate_market(n, n, seed=1)
    write_records(m.listings, d / "listings.csv")
    write_records(m.demands, d / "demands.csv")
    return d, n


def test_changfang_match_stages(benchmark, market_files):
    d, n = market_files

    def run():
        return run_match(d / "listings.csv", d / "demands.csv", d / "out", top_k=5)

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = json.loads((d / "out" / "run.json").read_text("utf-8"))["seconds"]
    total = sum(seconds.values())
    # baseline in the same run: the same number of rows, printed with the csv module
    rows = out.summary["counts"]["matched"] + 5 * n
    t0 = time.perf_counter()
    with open(d / "baseline.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        for k in range(rows):
            w.writerow([f"D{k:07d}", "慈溪市某某有限公司", f"L{k:07d}", 0.8765, 1.234,
                        "面积 900㎡ 在需求 800–1000㎡ 内"])
    baseline = time.perf_counter() - t0
    info = {"size": n, **{f"{k}_s": v for k, v in seconds.items()}, "write_share": seconds["write"] / total,
            "baseline_csv_s": baseline, "write_vs_baseline": seconds["write"] / max(baseline, 1e-9),
            "method": out.summary["method"], "pairs": out.summary["counts"]["matched"]}
    benchmark.extra_info.update(info)
    print(f"\nchangfang match {n} x {n}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in info.items()))
    assert set(seconds) == {"read", "score_and_allocate", "write"}
