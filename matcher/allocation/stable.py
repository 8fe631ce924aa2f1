"""Two-sided stable allocation: demand-proposing deferred acceptance (Gale–Shapley).

Demands rank the listings they may take (the candidate pairs) by score; listings rank
the demands that may take them by their own preference (by default the same score).
Ties on either side are broken by index -- pass records in id order for a tie-break
by id. A listing holds up to its capacity (1 by default). The result is the
demand-optimal stable allocation: no demand and listing both prefer each other to
what they got (:func:`blocking_pairs` checks it), and every demand does at least as
well as in any other stable allocation.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from matcher.allocation.candidates import Candidates, candidates

__all__ = ["blocking_pairs", "stable"]


def _prefs(c: Candidates, listing_scores: Any) -> np.ndarray:
    """The listings' score of every candidate pair (float64, aligned with ``c``)."""
    if listing_scores is None:
        return c.scores
    if hasattr(listing_scores, "tocsr"):
        m = listing_scores.tocsr()
        return np.asarray(m[c.rows, c.cols]).reshape(-1).astype(np.float64)
    a = np.asarray(listing_scores, dtype=np.float64)
    if a.shape != c.shape:
        raise ValueError(f"listing_scores has shape {a.shape}, the scores {c.shape}")
    return a[c.rows, c.cols]


def _ranks(c: Candidates, lscore: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate pair: its position in the demand's list, and the listing's rank of
    the demand (0 = best). Higher scores first, ties by the other side's index."""
    n = len(c)
    d_order = np.lexsort((c.cols, -c.scores, c.rows))  # demand lists: best first
    l_order = np.lexsort((c.rows, -np.nan_to_num(lscore, nan=-np.inf), c.cols))
    l_rank = np.empty(n, dtype=np.int64)
    l_rank[l_order] = np.arange(n)  # a global order: comparable within each listing
    return d_order, l_rank


def stable(scores: Any, listing_scores: Any = None, capacity: Any = None,
           reservation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Demand-optimal stable allocation on a bare score matrix.

    Parameters
    ----------
    scores : ndarray (n_demands, n_listings), scipy sparse matrix, or Candidates
        The demands' preferences: NaN (dense) or absent (sparse) marks an infeasible
        pair; pairs below ``reservation`` are unacceptable to both sides.
    listing_scores : array-like of the same shape, optional
        The listings' preferences over demands (higher is better); default ``scores``.
    capacity : int or array-like of int, shape (n_listings,), optional
        Demands each listing can hold (default 1).
    reservation : float

    Returns
    -------
    rows, cols : ndarray of int64
        Demand and listing indices of the allocation, sorted by demand.
    """
    c = candidates(scores, reservation)
    n_d, n_l = c.shape
    cap = np.ones(n_l, dtype=np.int64) if capacity is None else np.broadcast_to(
        np.asarray(capacity, dtype=np.int64), (n_l,)).copy()
    if np.any(cap < 0):
        raise ValueError("capacities must be >= 0")
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lscore = _prefs(c, listing_scores)
    d_order, l_rank = _ranks(c, lscore)
    starts = np.searchsorted(c.rows[d_order], np.arange(n_d + 1))
    # plain Python from here: each proposal is a few dictionary-free list operations
    order = d_order.tolist()
    start, nxt = starts.tolist(), starts[:-1].tolist()
    cols, rank = c.cols.tolist(), l_rank.tolist()
    capl = cap.tolist()
    held: list[list[tuple[int, int, int]]] = [[] for _ in range(n_l)]  # max-heap of (-rank, demand, pair)
    free = list(range(n_d - 1, -1, -1))
    while free:
        i = free.pop()
        while nxt[i] < start[i + 1]:
            e = order[nxt[i]]
            nxt[i] += 1
            j = cols[e]
            if capl[j] == 0:
                continue
            h = held[j]
            if len(h) < capl[j]:
                heapq.heappush(h, (-rank[e], i, e))
                break
            worst = h[0]
            if -worst[0] > rank[e]:  # j prefers i to the worst demand it holds
                heapq.heapreplace(h, (-rank[e], i, e))
                free.append(worst[1])
                break
    pairs = sorted((i, j) for j in range(n_l) for _, i, _ in held[j])
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    out = np.array(pairs, dtype=np.int64)
    return out[:, 0], out[:, 1]


def blocking_pairs(scores: Any, rows: np.ndarray, cols: np.ndarray, listing_scores: Any = None,
                   capacity: Any = None, reservation: float = 0.0) -> np.ndarray:
    """The candidate pairs that block an allocation (empty when it is stable).

    A pair (i, j) blocks when i prefers j to what it got (or got nothing) and j has a
    free place or prefers i to the worst demand it holds, with ties broken by index as
    in :func:`stable`.

    Returns
    -------
    ndarray of int64, shape (n_blocking, 2)
    """
    c = candidates(scores, reservation)
    n_d, n_l = c.shape
    cap = np.ones(n_l, dtype=np.int64) if capacity is None else np.broadcast_to(
        np.asarray(capacity, dtype=np.int64), (n_l,))
    if len(c) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    lscore = _prefs(c, listing_scores)
    d_order, l_rank = _ranks(c, lscore)
    d_pos = np.empty(len(c), dtype=np.int64)
    d_pos[d_order] = np.arange(len(c))  # global order, comparable within each demand
    key = c.rows * n_l + c.cols
    got = np.searchsorted(key, np.asarray(rows, dtype=np.int64) * n_l + np.asarray(cols, dtype=np.int64))
    own_pos = np.full(n_d, np.iinfo(np.int64).max)  # unmatched: anything is better
    own_pos[np.asarray(rows, dtype=np.int64)] = d_pos[got]
    worst = np.full(n_l, -1)  # the rank of the worst demand held; -1 when none
    np.maximum.at(worst, np.asarray(cols, dtype=np.int64), l_rank[got])
    load = np.bincount(np.asarray(cols, dtype=np.int64), minlength=n_l)
    wants = d_pos < own_pos[c.rows]
    takes = (load[c.cols] < cap[c.cols]) | (l_rank < worst[c.cols])
    b = wants & takes
    return np.stack([c.rows[b], c.cols[b]], axis=1)
