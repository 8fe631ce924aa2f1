"""Solver calls run apart from the main thread (``matcher.allocation.apart``): the same
results, and a Ctrl-C that stops a solve at once whether the solver holds the GIL
(a child process) or releases it (a thread). The interrupt tests run real processes."""

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_array

from matcher.allocation import candidates, has_flow, solve_flow, solve_sparse
from matcher.allocation.apart import in_child, in_thread
from tests.matcher.test_interrupt import PROMPT_S

posix = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork and POSIX signals")
ROOT = Path(__file__).resolve().parents[2]
oto = importlib.import_module("matcher.allocation.one_to_one")  # (the package's name is the function)


@posix
def test_in_child_returns_the_result_computed_in_another_process():
    pid, out = in_child(lambda a: (os.getpid(), a * 2), np.arange(5))
    assert pid != os.getpid()
    assert out.tolist() == [0, 2, 4, 6, 8]


@posix
def test_an_error_in_the_child_is_raised_here_with_its_name():
    def fail():
        raise ValueError("bad arcs")

    with pytest.raises(ValueError, match="bad arcs"):
        in_child(fail)


@posix
def test_a_child_killed_by_the_kernel_is_out_of_memory():
    """The OOM killer's SIGKILL: the command then says which stage ran out (exit 2)."""
    with pytest.raises(MemoryError):
        in_child(lambda: os.kill(os.getpid(), signal.SIGKILL))


def test_off_the_main_thread_and_when_small_the_call_runs_in_place():
    seen = []
    t = threading.Thread(target=lambda: seen.append(in_child(os.getpid)))
    t.start()
    t.join()
    assert seen == [os.getpid()]
    assert in_child(os.getpid, apart=False) == os.getpid()
    assert in_thread(threading.get_ident, apart=False) == threading.get_ident()
    assert in_thread(threading.get_ident) != threading.get_ident()


def test_an_error_on_the_solver_thread_is_raised_here():
    def fail():
        raise KeyError("x")

    with pytest.raises(KeyError):
        in_thread(fail)


@posix
@pytest.mark.skipif(not has_flow(), reason="OR-tools not installed")
def test_the_flow_solved_in_a_child_equals_the_sparse_solver(monkeypatch):
    rng = np.random.default_rng(3)
    n, m = 400, 500
    dense = np.where(rng.random((n, m)) < 0.1, rng.random((n, m)), 0.0)
    c = candidates(csr_array(dense), reservation=0.0)
    calls = []
    real = oto._flow_here
    monkeypatch.setattr(oto, "_flow_here", lambda *a: (calls.append(os.getpid()), real(*a))[1])
    monkeypatch.setattr(oto, "APART_PAIRS", 0)
    r1, k1 = solve_flow(c)
    assert calls == []  # the patched function ran in the child (its list there, not here)
    r2, k2 = solve_sparse(c)
    assert np.isclose(dense[r1, k1].sum(), dense[r2, k2].sum())
    assert len(set(r1.tolist())) == len(r1) and len(set(k1.tolist())) == len(k1)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _interrupt_when(p: subprocess.Popen, ready) -> float:
    """Send SIGINT once ``ready()`` holds; seconds from the signal to the exit."""
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the solve never started"
            time.sleep(0.05)
        time.sleep(0.3)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=PROMPT_S * 6)
        except subprocess.TimeoutExpired:
            pytest.fail("the interrupted solve did not stop")
        return time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


SCRIPT = """
import os, sys, time
from matcher.allocation.apart import in_child, in_thread
{body}
try:
    run()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    os._exit(130)
print("finished", flush=True)
"""


@posix
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_ctrl_c_stops_a_solver_holding_the_gil_at_once_and_its_process_goes(tmp_path):
    """A regular expression's backtracking holds the GIL for minutes, as OR-tools'
    flow does: run in place, the interrupt would wait for it."""
    body = textwrap.dedent("""
        import re
        def hold():
            return re.match(r"(a+)+$", "a" * 40 + "b")
        def run():
            in_child(hold)
    """)
    script = tmp_path / "child.py"
    script.write_text(SCRIPT.format(body=body), encoding="utf-8")
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen: list[int] = []
    waited = _interrupt_when(p, lambda: bool(seen.extend(_children(p.pid)) or seen))
    assert p.returncode == 130 and p.stdout.read().strip() == "interrupted"
    assert waited < PROMPT_S
    time.sleep(0.2)
    for child in seen:  # killed and reaped, not left running
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


@posix
def test_ctrl_c_stops_a_solver_releasing_the_gil_at_once(tmp_path):
    """HiGHS releases the GIL but does not look at signals: run on the main thread, the
    interrupt would wait for its time limit (120 s here)."""
    body = textwrap.dedent("""
        import numpy as np
        import scipy.sparse as sp
        from scipy.optimize import Bounds, LinearConstraint, milp
        rng = np.random.default_rng(0)
        n, m = 3000, 600
        a = sp.random(m, n, density=0.02, random_state=0, format="csr")
        def solve():
            return milp(-rng.random(n), constraints=LinearConstraint(a, -np.inf, rng.random(m) * 3),
                        integrality=np.ones(n), bounds=Bounds(0, 1), options={"time_limit": 120})
        def run():
            open(sys.argv[1], "w").close()
            in_thread(solve)
    """)
    script, flag = tmp_path / "thread.py", tmp_path / "started"
    script.write_text(SCRIPT.format(body=body), encoding="utf-8")
    p = subprocess.Popen([sys.executable, str(script), str(flag)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    waited = _interrupt_when(p, flag.exists)
    assert p.returncode == 130 and p.stdout.read().strip() == "interrupted"
    assert waited < PROMPT_S
