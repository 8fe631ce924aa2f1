"""One-to-one allocation: each demand at most one listing and each listing at most one
demand, maximising the total score of the chosen pairs. Exact.

Only candidate pairs (feasible, at or above the reservation score, and above 0: a
pair scoring 0 adds nothing) may be chosen; records left unmatched cost nothing, so a record with no candidate, or whose
candidates all do better elsewhere, simply stays unmatched.

Two exact solvers, the same optimum:

* :func:`solve_dense` -- scipy's ``linear_sum_assignment`` on the score matrix with
  non-candidates at 0: an assignment through a 0 entry is a record left unmatched,
  so the rectangular assignment is the optimum of the problem with slack.
* :func:`solve_sparse` -- scipy's ``min_weight_full_bipartite_matching`` (LAPJVsp)
  on the candidate pairs only, made to always have a full matching by the mirror
  construction: rows are the demands plus a mirror of every listing, columns the
  listings plus a mirror of every demand; a demand may pair with its own mirror
  (staying unmatched), a listing's mirror with the listing (the listing unmatched),
  and every candidate pair appears twice -- demand to listing at weight ``K - s``, and
  transposed, listing mirror to demand mirror, at ``K``. Every perfect matching has
  ``n_demands + n_listings`` edges, so the constant ``K`` (which keeps weights
  positive) does not move the optimum, and the optimum picks the candidate pairs
  of largest total score.

:func:`one_to_one` takes the dense one unless the matrix would be too large (see
``DENSE_MAX``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from matcher.allocation.candidates import Candidates, candidates

__all__ = ["DENSE_MAX", "one_to_one", "solve_dense", "solve_sparse"]

DENSE_MAX = 120_000_000
"""The dense solver is used up to this many cells (rows × columns of the rows and
columns with candidates): measured faster than the sparse one at every size up to
10k × 10k with 10 % of pairs feasible (0.11 s / 0.21 s at 1k, 14.6 s / 23.3 s at 5k,
89 s / 177 s at 10k); beyond it the dense matrix would not fit in memory."""


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)


def _compact(c: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The pairs worth choosing (score > 0), renumbered over the rows and columns they use.

    Returns ``(used_rows, used_cols, r, k, scores)`` with ``r``, ``k`` indices into the
    used rows and columns, or None when no pair is worth choosing.
    """
    keep = c.scores > 0  # a pair scoring <= 0 adds nothing
    rows, cols, scores = c.rows[keep], c.cols[keep], c.scores[keep]
    if rows.size == 0:
        return None
    ur, uc = np.unique(rows), np.unique(cols)
    return ur, uc, np.searchsorted(ur, rows), np.searchsorted(uc, cols), scores


def solve_dense(c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one pairs with ``linear_sum_assignment`` (see the module docstring).

    Returns
    -------
    rows, cols : ndarray of int64
        The chosen candidate pairs, sorted by row.
    """
    from scipy.optimize import linear_sum_assignment

    compact = _compact(c)
    if compact is None:
        return _empty()
    ur, uc, ri, ci, s = compact
    value = np.zeros((len(ur), len(uc)))
    value[ri, ci] = s
    r, k = linear_sum_assignment(value, maximize=True)
    chosen = value[r, k] > 0  # an assignment through a 0 leaves both unmatched
    return ur[r[chosen]], uc[k[chosen]]


def solve_sparse(c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one pairs with LAPJVsp on the mirrored candidate graph.

    Returns
    -------
    rows, cols : ndarray of int64
        The chosen candidate pairs, sorted by row.
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    compact = _compact(c)
    if compact is None:
        return _empty()
    ur, uc, ri, ci, s = compact
    n, m = len(ur), len(uc)
    big = float(np.max(s)) + 1.0
    e = len(s)
    ar_n, ar_m = np.arange(n), np.arange(m)
    rows = np.concatenate([ri, ar_n, n + ar_m, n + ci])
    cols = np.concatenate([ci, m + ar_n, ar_m, m + ri])
    w = np.concatenate([big - s, np.full(n + m + e, big)])
    graph = csr_array((w, (rows, cols)), shape=(n + m, m + n))
    r, k = min_weight_full_bipartite_matching(graph)
    real = (r < n) & (k < m)
    order = np.argsort(r[real], kind="stable")
    return ur[r[real][order]], uc[k[real][order]]


def one_to_one(scores: Any, reservation: float = 0.0,
               method: Literal["auto", "dense", "sparse"] = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one allocation on a bare score matrix.

    Parameters
    ----------
    scores : ndarray (n_demands, n_listings), scipy sparse matrix, or Candidates
        Dense with NaN for infeasible pairs, or sparse with the feasible pairs stored.
    reservation : float
        Pairs scoring below it are never chosen.
    method : {"auto", "dense", "sparse"}
        The solver; ``"auto"`` takes the dense one unless it would not fit in memory.

    Returns
    -------
    rows, cols : ndarray of int64
        Demand and listing indices of the chosen pairs, sorted by demand. Each index
        appears at most once; the total score is the maximum over all such choices.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[0.9, 0.8], [0.85, np.nan]])
    >>> one_to_one(s)   # 0.8 + 0.85 beats 0.9 alone
    (array([0, 1]), array([1, 0]))
    """
    c = candidates(scores, reservation)
    if method == "auto":
        cells = len(np.unique(c.rows)) * len(np.unique(c.cols))
        method = "dense" if cells <= DENSE_MAX else "sparse"
    if method == "dense":
        return solve_dense(c)
    if method == "sparse":
        return solve_sparse(c)
    raise ValueError(f"method == {method!r}, must be 'auto', 'dense' or 'sparse'")
