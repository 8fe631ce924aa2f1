"""The compiled relaxation of :func:`matcher.allocation.one_to_one.assignment_duals`
(imported on first use, when numba is installed)."""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def longest_paths(indptr, dst, w, u, tol, limit):  # pragma: no cover - compiled
    """Raise ``u`` until no edge ``k -> dst[e]`` (``e`` in ``indptr[k]:indptr[k + 1]``)
    has ``u[k] + w[e] > u[dst[e]] + tol``: a FIFO queue of the records whose price rose
    (Bellman-Ford as it is usually run, each edge looked at again only when its tail
    moved). Returns False when more than ``limit`` edges were looked at (a positive
    cycle: the prices would never settle)."""
    n = u.shape[0]
    queue = np.empty(n, dtype=np.int64)
    waiting = np.ones(n, dtype=np.bool_)
    for k in range(n):
        queue[k] = k
    head, size = 0, n
    work = 0
    while size > 0:
        k = queue[head]
        head = head + 1 if head + 1 < n else 0
        size -= 1
        waiting[k] = False
        uk = u[k]
        for e in range(indptr[k], indptr[k + 1]):
            i = dst[e]
            x = uk + w[e]
            if x > u[i] + tol:
                u[i] = x
                if not waiting[i]:
                    waiting[i] = True
                    tail = head + size
                    queue[tail - n if tail >= n else tail] = i
                    size += 1
        work += indptr[k + 1] - indptr[k]
        if work > limit:
            return False
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def by_source(n, src, dst, w):  # pragma: no cover - compiled
    """The edges ``src[e] -> dst[e]`` (weights ``w``) grouped by source, each group in the
    edges' order: CSR ``indptr`` (n + 1,), and ``dst``, ``w`` reordered (a counting sort,
    no comparison sort of the edges)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(src.shape[0]):
        indptr[src[e] + 1] += 1
    for k in range(n):
        indptr[k + 1] += indptr[k]
    at = indptr[:-1].copy()
    out_d = np.empty_like(dst)
    out_w = np.empty_like(w)
    for e in range(src.shape[0]):
        k = src[e]
        out_d[at[k]] = dst[e]
        out_w[at[k]] = w[e]
        at[k] += 1
    return indptr, out_d, out_w
