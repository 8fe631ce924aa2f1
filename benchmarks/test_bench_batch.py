"""The whole ``changfang match`` run, stage by stage (issue #13: the write stage at most
25 % of the run on a 10k × 10k market).

``run_match`` on a generated market (``CHANGFANG_BENCH_MATCH_SIZE`` records a side,
default 2,000; the issue's figure is 10,000), once with the default method and once with ``one_to_one``. Beside it,
in the same run, a baseline: the stdlib ``csv`` module writing the same number of pairs
and recommendations rows with no explanation, which is what the write stage would cost
if it did nothing but print. The stage times come from ``run.json``; wall and CPU
shares (CPU: this process and the workbook process; the machine may be shared) from a
progress callback, the write share counting everything from the writing stage on.

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


class _StageClock:
    """A ``progress`` callback that notes wall and CPU time (this process and its
    finished children: the workbook writer) as each stage starts."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = []

    @staticmethod
    def cpu() -> float:
        import resource

        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def __call__(self, stage: str) -> None:
        self.marks.append((stage, time.perf_counter(), self.cpu()))

    def shares(self) -> dict[str, float]:
        """Wall and CPU seconds of reading, scoring and allocating, and writing (every
        stage from "writing" on: tables, report, per-party workbooks, run.json)."""
        end = ("end", time.perf_counter(), self.cpu())
        spans = {}
        for (name, w0, c0), (_, w1, c1) in zip(self.marks, [*self.marks[1:], end]):
            key = name if name in ("reading", "scoring and allocating") else "writing"
            w, c = spans.get(key, (0.0, 0.0))
            spans[key] = (w + w1 - w0, c + c1 - c0)
        wall, cpu = sum(w for w, _ in spans.values()), sum(c for _, c in spans.values())
        return {"write_wall_s": spans["writing"][0], "write_cpu_s": spans["writing"][1],
                "write_share": spans["writing"][0] / wall, "write_cpu_share": spans["writing"][1] / cpu,
                "total_wall_s": wall, "total_cpu_s": cpu}


@pytest.mark.parametrize("method", ["auto", "one_to_one"])
def test_changfang_match_stages(benchmark, market_files, method):
    d, n = market_files
    clock = _StageClock()

    def run():
        return run_match(d / "listings.csv", d / "demands.csv", d / f"out-{method}", top_k=5, method=method,
                         progress=clock)

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = json.loads((d / f"out-{method}" / "run.json").read_text("utf-8"))["seconds"]
    seconds.pop("score_and_allocate_parts")
    # baseline in the same run: the same number of rows, printed with the csv module
    rows = out.summary["counts"]["matched"] + 5 * n
    t0 = time.perf_counter()
    with open(d / "baseline.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        for k in range(rows):
            w.writerow([f"D{k:07d}", "慈溪市某某有限公司", f"L{k:07d}", 0.8765, 1.234,
                        "面积 900㎡ 在需求 800–1000㎡ 内"])
    baseline = time.perf_counter() - t0
    info = {"size": n, **{f"{k}_s": v for k, v in seconds.items()}, **clock.shares(),
            "baseline_csv_s": baseline, "write_vs_baseline": seconds["write"] / max(baseline, 1e-9),
            "method": out.summary["method"], "pairs": out.summary["counts"]["matched"]}
    benchmark.extra_info.update(info)
    print(f"\nchangfang match {n} x {n}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in info.items()))
    assert set(seconds) == {"read", "score_and_allocate", "write"}
