"""How the compiled drivers run: :func:`scoring.fast.run_items` spreads work items over
threads, and every driver calls one compiled ``eval_rows`` (a fresh install compiles it
once, not once per driver)."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
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
    it again, ~7 s each on a fresh install), and no compiled function of the kernel is a
    parallel loop: every one runs on run_items' threads (numba's own, started from a
    service's request threads, oversubscribe the cores or, on its workqueue layer, abort
    the process on concurrent launches)."""
    code = """
import json, numba, numpy as np, scoring
from numba.core.registry import CPUDispatcher
from matcher.generate import generate_market
from scoring import fast
m = generate_market(300, 300, seed=3)
s = scoring.Scorer(m.demands, m.listings, engine="numba")
s.score(); s.top_k(3); s.top_k(3, by="listing"); s.candidates(per_demand=2, per_listing=2)
s.candidates(); s.dual_violations(np.zeros(300), np.zeros(300)); s.for_demand(0, 3); s.for_listing(0, 3)
import os
from numba.np.ufunc import parallel
started = {"numba_threads": parallel._is_initialized, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}

@numba.njit(parallel=True)
def control(x):  # a parallel loop: shows the count below sees one
    t = 0.0
    for i in numba.prange(x.shape[0]):
        t += x[i]
    return t

control(np.ones(10))

def parfors(d):  # (plain njit functions never run numba's parfor pass: no initial_parfors)
    return sum(len(getattr(cr.metadata.get("parfor_diagnostics"), "initial_parfors", ()))
               for cr in d.overloads.values())

k = fast.kernel()
compiled = {name: d for name, d in vars(k).items() if isinstance(d, CPUDispatcher)}
out = {name: len(d.overloads) for name, d in compiled.items()}
out["parfors"] = {name: parfors(d) for name, d in compiled.items()}
out["control"] = parfors(control)
out["started"] = started
print(json.dumps(out))
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("OMP_WAIT_POLICY", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900,
                          cwd=os.path.dirname(os.path.dirname(scoring.__file__)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["eval_rows"] == 1
    assert all(out[name] == 1 for name in ("dense", "candidates", "dual", "row_top"))
    assert all(out[name] >= 1 for name in ("select_top", "merge_top", "merge_best", "place_rows"))  # (all ran)
    # no compiled function is a parallel loop (run_items is their threads; a parallel
    # loop in a driver would also compile the scoring loop again)
    assert out["control"] >= 1
    assert {name: n for name, n in out["parfors"].items() if n} == {}
    # so numba's threading layer is never started, and the environment is left as it was
    assert out["started"] == {"numba_threads": False, "omp_wait_policy": None}
    assert "NumbaPerformanceWarning" not in proc.stderr


@needs_numba
@pytest.mark.parametrize("name", ["dense", "candidates", "dual", "row_top"])
def test_every_driver_takes_its_items_and_worker_last(name):
    import inspect

    params = list(inspect.signature(getattr(fast.kernel(), name).py_func).parameters)
    assert params[-3:] == ["i0", "i1", "wk"]  # what run_items appends


@needs_numba
def test_a_call_progresses_while_the_helpers_are_busy_with_another():
    """A service answers a query while a long pass holds the helper threads: the query
    runs on its own thread instead of waiting behind the pass (or, called from a helper,
    forever)."""
    release = threading.Event()
    a_started = threading.Event()
    import numba

    n_helpers = max(1, numba.config.NUMBA_NUM_THREADS - 1)  # the pool's size: the pass holds them all

    def slow(i0, i1, wk):
        a_started.set()
        assert release.wait(30)

    a = threading.Thread(target=fast.run_items, args=(slow, (), 4 * (n_helpers + 1), n_helpers + 1), daemon=True)
    a.start()
    assert a_started.wait(10)
    done = []
    driver, calls = recorder()
    b = threading.Thread(target=lambda: (fast.run_items(driver, ("args",), 50, 2), done.append(1)), daemon=True)
    b.start()
    b.join(10)
    finished_first = bool(done) and not release.is_set()
    release.set()
    a.join(30)
    assert finished_first
    assert sorted(i for i0, i1, _, _ in calls for i in range(i0, i1)) == list(range(50))


@needs_numba
def test_a_call_from_inside_a_driver_completes():
    inner_calls = []

    def inner(i0, i1, wk):
        inner_calls.append((i0, i1))

    def outer(i0, i1, wk):
        fast.run_items(inner, (), 10, 2)

    t = threading.Thread(target=fast.run_items, args=(outer, (), 8, 2, 8), daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive()
    assert sum(i1 - i0 for i0, i1 in inner_calls) == 8 * 10


def test_limit_threads_caps_every_thread(monkeypatch):
    if not fast.available():
        pytest.skip("numba not installed")
    monkeypatch.setattr(fast, "_LIMIT", [])
    fast.limit_threads(1)
    seen = []
    t = threading.Thread(target=lambda: seen.append(fast.threads()))
    t.start()
    t.join()
    assert seen == [1] and fast.threads() == 1
    fast.limit_threads(None)
    assert fast.threads() >= 1


@needs_numba
def test_full_scoring_across_tile_seams_equals_numpy():
    """The dense driver scores a market wider than two tiles (and not a multiple of one)
    as the numpy engine does: same rule bits everywhere, same totals and criteria (the
    kept and the lean pass), at every column of every tile."""
    from matcher.generate import generate_market

    tile = fast.kernel().TILE
    n_l = 2 * tile + 37
    m = generate_market(n_l, 40, seed=5)
    fast_res = scoring.Scorer(m.demands, m.listings, engine="numba").score(criteria=True)
    lean = scoring.Scorer(m.demands, m.listings, engine="numba").score()
    ref = scoring.Scorer(m.demands, m.listings, engine="numpy").score(criteria=True)
    np.testing.assert_array_equal(fast_res.failed, ref.failed)
    np.testing.assert_array_equal(lean.failed, ref.failed)
    np.testing.assert_allclose(fast_res.total, ref.total, atol=1e-5)  # (NaN in the same places)
    np.testing.assert_array_equal(lean.total, fast_res.total)
    for name in ref.criteria:
        got, exp = fast_res.criteria[name], ref.criteria[name]
        ok = ref.feasible
        np.testing.assert_allclose(got[ok], exp[ok], atol=1e-5, err_msg=name)
    feasible_cols = np.flatnonzero(ref.feasible.any(axis=0))
    assert feasible_cols.max() >= 2 * tile  # the last, partial tile is scored too
