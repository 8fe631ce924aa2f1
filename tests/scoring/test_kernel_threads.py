"""How the compiled drivers run: :func:`scoring.fast.run_items` spreads work items over
threads, and every driver calls one compiled ``eval_rows`` (a fresh install compiles it
once, not once per driver)."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

import scoring
from scoring import fast

needs_numba = pytest.mark.skipif(not fast.available(), reason="numba not installed")


def recorder():
    calls = []
    lock = threading.Lock()

    def driver(tag, i0, i1, wk):
        assert tag == "args"
        with lock:
            calls.append((i0, i1, wk, threading.get_ident()))

    return driver, calls


@needs_numba
@pytest.mark.parametrize("n_items", [0, 1, 2, 7, 64, 1001])
@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("chunks", [1, 8])
def test_every_item_runs_once_on_a_slot_of_its_own_thread(n_items, workers, chunks):
    driver, calls = recorder()
    fast.run_items(driver, ("args",), n_items, workers, chunks=chunks)
    covered = sorted(i for i0, i1, _, _ in calls for i in range(i0, i1))
    assert covered == list(range(n_items))
    assert all(i1 > i0 for i0, i1, _, _ in calls)
    slots = {}
    for _, _, wk, ident in calls:
        assert 0 <= wk < max(1, min(workers, n_items))
        slots.setdefault(wk, set()).add(ident)
    # a slot is one thread's: per-worker outputs are never written by two threads at once
    assert all(len(idents) == 1 for idents in slots.values())
    nw = min(workers, n_items)
    if nw > 1:  # cut into about `chunks` calls per thread, not one call each
        assert max(i1 - i0 for i0, i1, _, _ in calls) <= -(-n_items // (nw * chunks))


@needs_numba
def test_one_worker_runs_on_the_calling_thread():
    driver, calls = recorder()
    fast.run_items(driver, ("args",), 5, 1)
    assert [(c[0], c[1], c[2]) for c in calls] == [(0, 5, 0)]
    assert calls[0][3] == threading.get_ident()


@needs_numba
def test_an_error_in_a_chunk_is_raised_and_stops_the_other_threads():
    started = []

    def driver(i0, i1, wk):
        started.append(i0)
        if i0 == 0:
            raise ValueError("boom in chunk 0")
        time.sleep(0.002)

    with pytest.raises(ValueError, match="boom in chunk 0"):
        fast.run_items(driver, (), 400, 2, chunks=100)  # chunks of 2 items: 200 chunks
    assert len(started) < 200  # the other thread stopped early instead of running every chunk


@needs_numba
def test_every_driver_shares_one_compiled_scoring_loop(tmp_path):
    """With an empty numba cache, score(), both rankings, candidates, the dual check and
    a single query compile ``eval_rows`` once (each distinct argument type would compile
    it again, ~7 s each on a fresh install) and no driver is a parallel loop of its own."""
    code = """
import json, numpy as np, scoring
from matcher.generate import generate_market
from scoring import fast
m = generate_market(300, 300, seed=3)
s = scoring.Scorer(m.demands, m.listings, engine="numba")
s.score(); s.top_k(3); s.top_k(3, by="listing"); s.candidates(per_demand=2, per_listing=2)
s.dual_violations(np.zeros(300), np.zeros(300)); s.for_demand(0, 3)
k = fast.kernel()
out = {name: len(getattr(k, name).overloads) for name in ("eval_rows", "dense", "candidates", "dual", "row_top")}
print(json.dumps(out))
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900,
                          cwd=os.path.dirname(os.path.dirname(scoring.__file__)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["eval_rows"] == 1
    assert all(out[name] == 1 for name in ("dense", "candidates", "dual", "row_top"))
    assert "NumbaPerformanceWarning" not in proc.stderr


@needs_numba
@pytest.mark.parametrize("name", ["dense", "candidates", "dual", "row_top"])
def test_no_driver_compiles_a_parallel_loop_of_its_own(name):
    import inspect

    src = inspect.getsource(getattr(fast.kernel(), name).py_func)
    assert "numba.prange" not in src
    assert "i0, i1, wk" in src.splitlines()[1] + src  # it takes its items and worker from run_items
