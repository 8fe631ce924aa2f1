"""Long solver calls run apart from the main thread, so that Ctrl-C stops them at once.

Python runs a signal's handler in the main thread, between two of its bytecodes: while
the main thread is inside a solver's C++ code, a Ctrl-C waits for the solver to return
(tens of seconds for a province's min-cost flow). Two ways round it, by what the solver
does with the GIL:

* :func:`in_thread` -- for a solver that releases the GIL (HiGHS through
  ``scipy.optimize.milp``, ``linear_sum_assignment``): the call runs on a thread of its
  own while the main thread waits on it, and the interrupt reaches the main thread
  at once. The solver's thread is left to finish in the background (its result is
  dropped): the ``changfang`` command then ends its process at once; a library caller
  gets the ``KeyboardInterrupt`` at once and the thread ends when the solve does.
* :func:`in_child` -- for a solver that holds the GIL (OR-tools' min-cost flow): the
  call runs in a forked child process and its result comes back through a pipe. The
  waiting main thread takes the interrupt at once and kills the child.

Both run the call in place when there is nothing to gain: off the main thread (no
signal reaches it there), or where ``fork`` is not available (:func:`in_child`), or
for a small call (``apart=False``, chosen by the caller: a fork costs a few ms).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["in_child", "in_thread"]

_T = TypeVar("_T")


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def in_thread(fn: Callable[..., _T], *args: Any, apart: bool = True) -> _T:
    """``fn(*args)`` on a thread of its own, waited for by this one (see the module
    docstring); its exception, if any, raised here."""
    if not apart or not _on_main_thread():
        return fn(*args)
    out: list[Any] = []

    def call() -> None:
        try:
            out.append((True, fn(*args)))
        except BaseException as exc:  # handed to the waiting thread
            out.append((False, exc))

    worker = threading.Thread(target=call, name="changfang-solver", daemon=True)
    worker.start()
    worker.join()  # a signal interrupts the wait (POSIX), and its handler runs here
    ok, value = out[0]
    if not ok:
        raise value
    return value


def in_child(fn: Callable[..., _T], *args: Any, apart: bool = True) -> _T:
    """``fn(*args)`` in a forked child process, its (picklable) result sent back (see
    the module docstring). An exception in the child is raised here (as
    :class:`RuntimeError` naming it if it cannot be pickled); a child killed by SIGKILL
    (the kernel's out-of-memory killer) as :class:`MemoryError`, one that died
    otherwise without a result as :class:`RuntimeError`."""
    if not apart or not _on_main_thread() or not hasattr(os, "fork"):
        return fn(*args)
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that a fork of a process with threads may deadlock the
        # child on a lock another thread held: the child here runs only the solver's
        # own code, numpy and a write to the pipe, and numba's threading layer is
        # never started (scoring.fast); the idle threads of the scoring pool hold none
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            pid = os.fork()
        except OSError:  # no room for a process (a strict overcommit policy): solve here
            os.close(read_fd)
            os.close(write_fd)
            return fn(*args)
    if pid == 0:  # the child: solve, send, leave without running anything of the parent's
        code = 0
        try:
            os.close(read_fd)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                payload = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # the exception itself (a MemoryError stays one)
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:
                    payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    except BaseException:  # Ctrl-C (or anything else) while the child solves: stop it
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:  # already gone (and reaped)
            pass
        raise
    if not chunks:
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:  # the kernel's OOM killer
            raise MemoryError("the solver's process was killed (out of memory)")
        raise RuntimeError(f"the solver's process ended without a result (wait status {status})")
    ok, value = pickle.loads(b"".join(chunks))
    if not ok:
        raise value
    return value
