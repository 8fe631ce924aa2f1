"""One-to-one allocation: each demand at most one listing and each listing at most one
demand, maximising the total score of the chosen pairs. Exact.

Only candidate pairs (feasible, at or above the reservation score, and above 0: a
pair scoring 0 adds nothing) may be chosen; records left unmatched cost nothing, so a record with no candidate, or whose
candidates all do better elsewhere, simply stays unmatched.

Three exact solvers, the same optimum:

* :func:`solve_dense` -- scipy's ``linear_sum_assignment`` on the score matrix with
  non-candidates at 0: an assignment through a 0 entry is a record left unmatched,
  so the rectangular assignment is the optimum of the problem with slack.
* :func:`solve_sparse` -- scipy's ``min_weight_full_bipartite_matching`` (LAPJVsp)
  on the candidate pairs only, at weight ``K - score``, plus one slack column per
  demand at weight ``K`` (the demand stays unmatched). There are more columns than
  rows, so a full matching always exists; it has exactly one edge per demand, so the
  constant ``K`` (which keeps weights positive) does not move the optimum.

  Measured on generated markets (10 % of pairs candidates), this construction beat
  the one with a transposed mirror copy of the graph that the issue suggested
  (5k × 5k: 2.9 s against 23 s), and plain dense ``linear_sum_assignment`` (12.9 s).

:func:`solve_flow` -- OR-tools' min-cost flow (optional: the ``[fast]`` extra) with
  source → demand → listing → sink arcs of capacity 1 and one slack arc per demand
  straight to the sink at cost 0; a pair's arc costs ``-round(score · 2**k)``. The
  scale ``2**k`` is the largest power of two (at most ``2**40``) that keeps every
  cost computation inside int64; scores of a float32 matrix at or above 0.25 are then
  integers after scaling, so the optimum is exactly the one of the float problem.
  Otherwise each pair's score is rounded by at most ``2**-(k+1)`` (about 1e-12).
  Measured on the 10k × 10k benchmark market: 6 s against LAPJVsp's 22 s.

:func:`one_to_one` takes the dense one when the problem is small and dense (see
``DENSE_MAX``), otherwise the flow one when OR-tools is installed, otherwise LAPJVsp.
Different exact solvers may pick different pairs among equally good optima; the
objective is the same.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any, Literal

import numpy as np

from matcher.allocation.apart import in_child, in_thread
from matcher.allocation.candidates import Candidates, candidates, renumber

__all__ = ["DENSE_MAX", "assignment_duals", "has_flow", "one_to_one", "solve_dense", "solve_flow", "solve_sparse"]

DENSE_MAX = 250_000
"""The dense solver is used up to this many cells (rows × columns with candidates)
when at least ``DENSE_DENSITY`` of them are candidates; otherwise the sparse one."""

DENSE_DENSITY = 0.3

APART_PAIRS = 200_000
"""From this many pairs on, a solve runs apart from the main thread, so that Ctrl-C stops
it at once (:mod:`matcher.allocation.apart`: the flow in a child process, the dense
solver on a thread); below, it takes well under a second."""


Local = tuple[np.ndarray, np.ndarray]


def _on_used(c: Candidates, solve: Any) -> tuple[np.ndarray, np.ndarray]:
    """Run ``solve`` on the pairs worth choosing (score > 0), renumbered over the rows
    and columns they use, and map its choice back.

    ``solve(r, k, s, n, m)`` gets the pairs' local row and column indices, their scores
    and the numbers of rows and columns used, and returns the chosen pairs as local
    ``(rows, cols)``, sorted by row. Empty arrays when no pair is worth choosing.
    """
    keep = c.scores > 0  # a pair scoring <= 0 adds nothing
    rows, cols, scores = c.rows[keep], c.cols[keep], c.scores[keep]
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    (ur, ri), (uc, ci) = renumber(rows, c.shape[0]), renumber(cols, c.shape[1])
    del rows, cols  # the solver's peak memory should not hold the market's indices too
    r, k = solve(ri, ci, scores, len(ur), len(uc))
    return ur[r], uc[k]


def _dense(ri: np.ndarray, ci: np.ndarray, s: np.ndarray, n: int, m: int) -> Local:
    from scipy.optimize import linear_sum_assignment

    value = np.zeros((n, m))
    value[ri, ci] = s
    r, k = in_thread(linear_sum_assignment, value, True, apart=value.size >= APART_PAIRS)
    chosen = value[r, k] > 0  # an assignment through a 0 leaves both unmatched
    return r[chosen], k[chosen]


def _sparse(ri: np.ndarray, ci: np.ndarray, s: np.ndarray, n: int, m: int) -> Local:
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    big = float(np.max(s)) + 1.0
    rows = np.concatenate([ri, np.arange(n)])
    cols = np.concatenate([ci, m + np.arange(n)])
    w = np.concatenate([big - s, np.full(n, big)])
    r, k = min_weight_full_bipartite_matching(csr_array((w, (rows, cols)), shape=(n, m + n)))
    real = k < m  # a demand on its own slack column stays unmatched
    return r[real], k[real]


def _flow(ri: np.ndarray, ci: np.ndarray, s: np.ndarray, n: int, m: int) -> Local:
    # OR-tools holds the GIL while it solves: a large solve runs in a child process
    return in_child(_flow_here, ri, ci, s, n, m, apart=len(ri) >= APART_PAIRS)


def _flow_here(ri: np.ndarray, ci: np.ndarray, s: np.ndarray, n: int, m: int) -> Local:
    from ortools.graph.python import min_cost_flow

    source, sink = n + m, n + m + 1
    scale = _flow_scale(float(np.max(s)), n + m + 2, n)
    dem, lis = np.arange(n, dtype=np.int64), np.arange(n, n + m, dtype=np.int64)
    tails = np.concatenate([np.full(n, source), ri, dem, lis])
    heads = np.concatenate([dem, n + ci, np.full(n, sink), np.full(m, sink)])
    costs = np.concatenate([np.zeros(n, np.int64), -np.rint(s * scale).astype(np.int64),
                            np.zeros(n + m, np.int64)])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, np.ones(len(tails), np.int64), costs)
    pair_arcs = slice(int(arcs[n]), int(arcs[n]) + len(ri)) if len(ri) else slice(0, 0)  # added in order
    del tails, heads, costs, arcs  # the solver holds its own copy: ours would only add to its peak
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n, -n]))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"OR-tools min-cost flow ended with {status!r}")
    used = flow.flows(np.arange(pair_arcs.start, pair_arcs.stop, dtype=np.int64)) > 0
    return ri[used], ci[used]


def solve_dense(c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one pairs with ``linear_sum_assignment`` (see the module docstring).

    Returns
    -------
    rows, cols : ndarray of int64
        The chosen candidate pairs, sorted by row.
    """
    return _on_used(c, _dense)


def solve_sparse(c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one pairs with LAPJVsp on the candidate pairs plus one slack per demand.

    Returns
    -------
    rows, cols : ndarray of int64
        The chosen candidate pairs, sorted by row.
    """
    return _on_used(c, _sparse)


def has_flow() -> bool:
    """True when OR-tools (the ``[fast]`` extra) is installed, so :func:`solve_flow` can run."""
    return importlib.util.find_spec("ortools") is not None


def _flow_scale(max_score: float, n_nodes: int, n_units: int) -> float:
    """The power of two that turns scores into int64 arc costs with room to spare.

    OR-tools' cost scaling multiplies costs by about the number of nodes, and a total
    cost adds up to ``n_units`` of them; keep the product under 2**60.
    """
    room = 60 - math.log2(max(max_score, 1e-300) * (n_nodes + 1) * (n_units + 1))
    return 2.0 ** min(40, math.floor(room))


def solve_flow(c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one pairs as a min-cost flow with OR-tools (see the module docstring).

    Returns
    -------
    rows, cols : ndarray of int64
        The chosen candidate pairs, sorted by row.

    Raises
    ------
    ModuleNotFoundError
        Without OR-tools (``pip install '.[fast]'`` in changfang's folder).
    RuntimeError
        If the solver reports anything but an optimum.
    """
    return _on_used(c, _flow)


def one_to_one(scores: Any, reservation: float = 0.0,
               method: Literal["auto", "dense", "sparse", "flow"] = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one allocation on a bare score matrix.

    Parameters
    ----------
    scores : ndarray (n_demands, n_listings), scipy sparse matrix, or Candidates
        Dense with NaN for infeasible pairs, or sparse with the feasible pairs stored.
    reservation : float
        Pairs scoring below it are never chosen.
    method : {"auto", "dense", "sparse", "flow"}
        The solver; ``"auto"`` takes the dense one on small dense problems, otherwise
        ``"flow"`` when OR-tools is installed and ``"sparse"`` when it is not.

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
        cells = np.count_nonzero(np.bincount(c.rows)) * np.count_nonzero(np.bincount(c.cols))
        if cells <= DENSE_MAX and len(c) >= DENSE_DENSITY * cells:
            method = "dense"
        else:
            method = "flow" if has_flow() else "sparse"
    solvers = {"dense": solve_dense, "sparse": solve_sparse, "flow": solve_flow}
    if method not in solvers:
        raise ValueError(f"method == {method!r}, must be 'auto', 'dense', 'sparse' or 'flow'")
    return solvers[method](c)


def _relax_passes(src: np.ndarray, dst: np.ndarray, w: np.ndarray, u: np.ndarray, tol: float, passes: int) -> None:
    """Raise ``u`` (in place) until ``u[dst] >= u[src] + w - tol`` on every edge: rounds
    of vectorised relaxation over all edges at once (each round as long as the longest
    path is deep)."""
    order = np.argsort(dst, kind="stable")
    src, dst, w = src[order], dst[order], w[order]
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]]) if dst.size else np.zeros(0, dtype=np.int64)
    targets = dst[starts] if dst.size else dst
    for _ in range(passes):
        if not dst.size:
            return
        best = np.maximum.reduceat(u[src] + w, starts)
        grow = best > u[targets] + tol
        if not grow.any():
            return
        u[targets[grow]] = best[grow]
    raise ValueError("the allocation is not optimal: the dual prices do not settle")


def _relax_compiled(n: int, src: np.ndarray, dst: np.ndarray, w: np.ndarray, u: np.ndarray, tol: float,
                    passes: int) -> bool:
    """:func:`_relax_passes` on the compiled loop (a queue of the records whose price
    rose: each edge is looked at again only when its tail moved; on a province's check,
    seconds instead of minutes). False, leaving ``u`` as it was, without numba."""
    from scoring.fast import available

    if not available():
        return False
    from matcher.allocation import _relax

    indptr, dst_k, w_k = _relax.by_source(n, np.ascontiguousarray(src), np.ascontiguousarray(dst),
                                         np.ascontiguousarray(w, dtype=np.float64))
    limit = passes * max(len(src), 1)
    if not _relax.longest_paths(indptr, dst_k, w_k, u, float(tol), limit):
        raise ValueError("the allocation is not optimal: the dual prices do not settle")
    return True


def assignment_duals(scores: Any, rows: np.ndarray, cols: np.ndarray, tol: float = 1e-9,
                     max_passes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dual prices that prove a one-to-one allocation optimal.

    The allocation problem's LP dual is: ``u_i >= 0``, ``v_j >= 0`` and
    ``u_i + v_j >= s_ij`` for every candidate pair, minimising ``sum u + sum v``. For an
    optimal allocation, complementary slackness fixes ``u_i + v_j = s_ij`` on the pairs
    chosen and 0 on the records left out; the smallest such ``u`` is a longest-path
    problem over the alternating edges (``u_i >= u_k + s_ij - s_kj`` where ``k`` holds
    ``j``), solved here by rounds of vectorised relaxation. ``sum(u) + sum(v)`` then
    equals the allocation's total score, and any pair outside the candidates with
    ``s_ij > u_i + v_j`` is the only thing that could improve it (checked by
    :meth:`scoring.Scorer.dual_violations` over every pair of a market).

    Parameters
    ----------
    scores : ndarray (n_rows, n_cols), scipy sparse matrix, or Candidates
        The candidate pairs (as :func:`one_to_one` takes them).
    rows, cols : ndarray of int, shape (n_pairs,)
        An allocation of candidate pairs, each row and column at most once.
    tol : float
        Slack allowed in the certificate's checks.
    max_passes : int, optional
        Relaxation rounds (default: as many as rows; far fewer are needed in practice).

    Returns
    -------
    u : ndarray of float64, shape (n_rows,)
    v : ndarray of float64, shape (n_cols,)

    Raises
    ------
    ValueError
        The allocation is not optimal over the candidates (an augmenting path or cycle
        exists), or not an allocation of candidate pairs.

    Examples
    --------
    >>> s = np.array([[0.9, 0.8], [0.85, np.nan]])
    >>> u, v = assignment_duals(s, np.array([0, 1]), np.array([1, 0]))
    >>> float(u.sum() + v.sum())   # = 0.8 + 0.85, the optimum
    1.65
    """
    c = candidates(scores)
    n_r, n_c = c.shape
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if len(set(rows.tolist())) != len(rows) or len(set(cols.tolist())) != len(cols):
        raise ValueError("rows and cols must each name a record at most once")
    key = c.rows * n_c + c.cols
    pos = np.searchsorted(key, rows * n_c + cols)
    if rows.size and (np.any(pos >= len(key)) or np.any(key[np.minimum(pos, len(key) - 1)] != rows * n_c + cols)):
        raise ValueError("a pair of the allocation is not a candidate")
    chosen_s = c.scores[pos] if rows.size else np.zeros(0)
    mate = np.full(n_c, -1, dtype=np.int64)  # row holding each column
    mate[cols] = rows
    held = np.zeros(n_c)
    held[cols] = chosen_s
    keep = c.scores > 0
    r, k, s = c.rows[keep], c.cols[keep], c.scores[keep]
    u = np.zeros(n_r)
    free_col = mate[k] < 0
    if free_col.any():  # a free column: u_i >= s_ij
        np.maximum.at(u, r[free_col], s[free_col])
    taken = ~free_col & (mate[k] != r)  # alternating edges: mate(j) -> i, weight s_ij - s_mate(j),j
    src, dst, w = mate[k[taken]], r[taken], s[taken] - held[k[taken]]
    passes = max_passes if max_passes is not None else n_r + 1
    if not _relax_compiled(n_r, src, dst, w, u, tol, passes):
        _relax_passes(src, dst, w, u, tol, passes)
    v = np.zeros(n_c)
    v[cols] = chosen_s - u[rows]
    unmatched = np.ones(n_r, dtype=bool)
    unmatched[rows] = False
    if np.any(u[unmatched] > tol) or np.any(v < -tol):
        raise ValueError("the allocation is not optimal: an augmenting path exists")
    return u, np.maximum(v, 0.0)
