"""``changfang match`` on a province: time and peak memory from 10k to 1M records a side
(issue #16: 100k × 100k in at most 5 minutes and 6 GB; 1M × 1M in at most 30 minutes and
16 GB, optimal or with a reported gap under 0.1 %).

Each size is a market of ``n / 10,000`` counties (``changfang generate --counties``),
written as CSV and run as the command a user types, in its own process (its peak
resident memory is the process's, from ``wait4``). Beside each run, in the same
session, the baseline: reading the same two files with the stdlib ``csv`` module, what
any run costs before it scores a pair.

    python -m pytest benchmarks/test_bench_province.py --benchmark-enable -s
    CHANGFANG_BENCH_PROVINCE=10000,20000,50000,100000 python -m pytest benchmarks/test_bench_province.py -s
    CHANGFANG_BENCH_PROVINCE_1M=1 python -m pytest benchmarks/test_bench_province.py -s   # adds 1M

``CHANGFANG_BENCH_PROVINCE_METHOD`` picks the method (default ``one_to_one``, the one
with a proof at every size; ``auto`` runs divisible on generated markets). With
benchmarks disabled (CI) one small size runs, so the benchmark cannot rot.
"""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _sizes(disabled: bool) -> list[int]:
    if disabled:
        return [2000]
    sizes = [int(x) for x in os.environ.get("CHANGFANG_BENCH_PROVINCE", "10000,20000").split(",") if x]
    if os.environ.get("CHANGFANG_BENCH_PROVINCE_1M"):
        sizes.append(1_000_000)
    return sizes


def _run(cmd: list[str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB) of one command in its own process."""
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t0
    assert os.waitstatus_to_exitcode(status) == 0, log.read_text("utf-8")
    return seconds, usage.ru_maxrss / 1e6  # kB on Linux


def _baseline(folder: Path) -> float:
    t0 = time.perf_counter()
    for name in ("listings.csv", "demands.csv"):
        with open(folder / name, encoding="utf-8-sig", newline="") as fh:
            for _ in csv.reader(fh):
                pass
    return time.perf_counter() - t0


def test_province(benchmark, tmp_path_factory):
    method = os.environ.get("CHANGFANG_BENCH_PROVINCE_METHOD", "one_to_one")
    exe = [sys.executable, "-m", "matcher"]
    rows = []
    for n in _sizes(benchmark.disabled):
        counties = max(1, n // 10_000)
        d = tmp_path_factory.mktemp(f"province{n}")
        subprocess.run([*exe, "generate", "--listings", str(n), "--demands", str(n), "--counties", str(counties),
                        "--seed", "1", "--out", str(d)], check=True, capture_output=True)
        base = _baseline(d)
        seconds, peak = _run([*exe, "match", str(d / "listings.csv"), str(d / "demands.csv"), "--out",
                              str(d / "out"), "--method", method, "--quiet"], d / "stderr.txt")
        run = json.loads((d / "out" / "run.json").read_text("utf-8"))
        rows.append({"per_side": n, "counties": counties, "seconds": round(seconds, 1), "peak_gb": round(peak, 2),
                     "read_csv_baseline_s": round(base, 2), "stages": run["seconds"], "method": run["method"],
                     "gap": run["gap"], "limits": run["limits"], "pairs": run["counts"]["matched"],
                     "feasible_pairs": run["counts"]["feasible_pairs"]})
        print(json.dumps(rows[-1], ensure_ascii=False))
        assert run["counts"]["matched"] > 0
    benchmark.extra_info["province"] = rows
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-s", "--benchmark-enable"])
