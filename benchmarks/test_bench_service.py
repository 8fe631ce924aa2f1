"""The service under load (issue #6): ``benchmarks/load_service.py`` at a small size, so
that the script cannot rot; the 10k × 10k figures come from running the script itself::

    python benchmarks/load_service.py --size 10000 --clients 8 --requests 250
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")


def _load():
    spec = importlib.util.spec_from_file_location("load_service", Path(__file__).with_name("load_service.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["load_service"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_recommendations_under_concurrent_clients(benchmark, scale):
    size = max(int(int(os.environ.get("CHANGFANG_BENCH_SERVICE_SIZE", 300)) * scale), 20)
    run = _load().run
    out = benchmark.pedantic(run, kwargs={"size": size, "clients": 4, "requests": 15}, rounds=1, iterations=1)
    assert out["recommendations"]["errors"] == 0 and out["baseline_healthz"]["errors"] == 0
    assert out["recommendations"]["n"] == 60
    benchmark.extra_info.update(out)
