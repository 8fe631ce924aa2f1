"""Two-sided stable allocation: demand-proposing deferred acceptance (Gale–Shapley).

Demands rank the listings they may take (the candidate pairs) by score; listings rank
the demands that may take them by their own preference (by default the same score).
Ties on either side are broken by index -- pass records in id order for a tie-break
by id. A listing holds up to its capacity (1 by default). The result is the
demand-optimal stable allocation: no demand and listing both prefer each other to
what they got (:func:`blocking_pairs` checks it), and every demand does at least as
well as in any other stable allocation.

Capacities as in ``divisible`` (pass ``area_min``, ``area_max``, ``area`` and
``unit``): a divisible listing hosts demands in whole units, each on its fewest whole
units within its range, while their areas fit in the listing; an indivisible one
hosts one demand. A landlord keeps demands in its order of preference as long as they
fit, and turns away the first that does not and everyone below it (it never lets a
smaller, less wanted firm take the room a more wanted one needs). A pair (i, j) then
blocks when i prefers j and the demands j holds above i leave room for i.

With sizes a stable allocation need not exist (Dean, Goemans and Immorlica, "The
unsplittable stable marriage problem", 2006), and deferred acceptance alone can leave
a blocking pair: a large firm the landlord prefers cuts the ones below it, then is
not there itself. So after deferred acceptance, blocking pairs are satisfied in
rounds (each listing takes in its best-ranked blocking demand, which leaves its old
listing) until none is left, for at most ``max_rounds`` rounds; call
:func:`blocking_pairs` on the result to confirm. Without areas this step never runs:
deferred acceptance with counted places is stable and demand-optimal.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from matcher.allocation.candidates import Candidates, candidates
from matcher.allocation.divisible import unit_sizes

__all__ = ["blocking_pairs", "stable"]


def _prefs(c: Candidates, listing_scores: Any) -> np.ndarray:
    """The listings' score of every candidate pair (float64, aligned with ``c``)."""
    if listing_scores is None:
        return c.scores
    if isinstance(listing_scores, Candidates):  # pairs of their own: looked up by (row, col)
        n_c = c.shape[1]
        key = listing_scores.rows * n_c + listing_scores.cols
        pos = np.searchsorted(key, c.rows * n_c + c.cols)
        pos = np.minimum(pos, max(len(key) - 1, 0))
        if len(key) == 0 or np.any(key[pos] != c.rows * n_c + c.cols):
            raise ValueError("listing_scores lacks a candidate pair")
        return listing_scores.scores[pos].astype(np.float64)
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


def _sizes(c: Candidates, capacity: Any, areas: tuple[Any, ...] | None
           ) -> tuple[Candidates, np.ndarray, np.ndarray]:
    """The candidates that fit, what each takes, and each listing's capacity."""
    n_l = c.shape[1]
    if areas is None:
        cap = np.ones(n_l) if capacity is None else np.broadcast_to(
            np.asarray(capacity, dtype=np.float64), (n_l,)).copy()
        if np.any(cap < 0):
            raise ValueError("capacities must be >= 0")
        return c, np.ones(len(c)), cap
    ok, _, _, _, need, cap = unit_sizes(c.rows, c.cols, *areas)
    return Candidates(c.shape, c.rows[ok], c.cols[ok], c.scores[ok]), need[ok], cap


def _area_args(area_min: Any, area_max: Any, area: Any, unit: Any, room: Any = None) -> tuple[Any, ...] | None:
    given = [v is not None for v in (area_min, area_max, area, unit)]
    if any(given) and not all(given):
        raise ValueError("area_min, area_max, area and unit go together")
    return (area_min, area_max, area, unit, room) if all(given) else None


def stable(scores: Any, listing_scores: Any = None, capacity: Any = None,
           reservation: float = 0.0, area_min: Any = None, area_max: Any = None,
           area: Any = None, unit: Any = None, max_rounds: int = 1000,
           room: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Demand-optimal stable allocation on a bare score matrix.

    Parameters
    ----------
    scores : ndarray (n_demands, n_listings), scipy sparse matrix, or Candidates
        The demands' preferences: NaN (dense) or absent (sparse) marks an infeasible
        pair; pairs below ``reservation`` are unacceptable to both sides.
    listing_scores : array-like of the same shape, or Candidates, optional
        The listings' preferences over demands (higher is better); default ``scores``.
        As :class:`Candidates` (sorted by row, then column), it must hold every
        candidate pair.
    capacity : int or array-like of int, shape (n_listings,), optional
        Demands each listing can hold (default 1). Ignored with the areas below.
    reservation : float
    area_min, area_max : array-like of float, shape (n_demands,), optional
        The area each demand needs covered and the most it may take, ㎡.
    area, unit : array-like of float, shape (n_listings,), optional
        Floor area and smallest unit (0: indivisible) of each listing, ㎡. With the
        two above: each pair takes the whole units of :func:`scoring.units.offered_area`
        and capacities are as in ``divisible`` (module docstring).
    max_rounds : int
        With areas, the most rounds spent settling blocking pairs after deferred acceptance.
    room : array-like of float, shape (n_listings,), optional
        With areas: the area still free in each divisible listing (default: all of it).

    Returns
    -------
    rows, cols : ndarray of int64
        Demand and listing indices of the allocation, sorted by demand.
    """
    areas = _area_args(area_min, area_max, area, unit, room)
    c, need, cap = _sizes(candidates(scores, reservation), capacity, areas)
    n_d, n_l = c.shape
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lscore = _prefs(c, listing_scores)
    d_order, l_rank = _ranks(c, lscore)
    starts = np.searchsorted(c.rows[d_order], np.arange(n_d + 1))
    # plain Python from here: each listing keeps its held demands sorted by its rank
    order = d_order.tolist()
    start, nxt = starts.tolist(), starts[:-1].tolist()
    cols, rank, size = c.cols.tolist(), l_rank.tolist(), need.tolist()
    room = cap.tolist()
    held: list[list[tuple[int, int, float, int]]] = [[] for _ in range(n_l)]  # (rank, demand, size, pair)
    free = list(range(n_d - 1, -1, -1))
    while free:
        i = free.pop()
        while nxt[i] < start[i + 1]:
            e = order[nxt[i]]
            nxt[i] += 1
            h = held[cols[e]]
            bisect.insort(h, (rank[e], i, size[e], e))
            cut = _cut(h, room[cols[e]])
            free.extend(d for _, d, _, _ in reversed(cut) if d != i)
            if not any(d == i for _, d, _, _ in cut):
                break
    if areas is not None:  # sizes: settle the pairs a cut left blocking (module docstring)
        _settle(c, need, cap, d_order, l_rank, held, max_rounds)
    chosen = sorted((i, int(c.cols[e])) for h in held for _, i, _, e in h)
    if not chosen:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    out = np.array(chosen, dtype=np.int64)
    return out[:, 0], out[:, 1]


def _settle(c: Candidates, need: np.ndarray, cap: np.ndarray, d_order: np.ndarray, l_rank: np.ndarray,
            held: list[list[tuple[int, int, float, int]]], max_rounds: int) -> None:
    """Satisfy blocking pairs in rounds until none is left or ``max_rounds`` pass: each
    round, every listing takes in its best-ranked demand among those for which it is
    the best blocking partner (the demand leaves its listing), cutting its prefix."""
    d_pos = np.empty(len(c), dtype=np.int64)
    d_pos[d_order] = np.arange(len(c))
    for _ in range(max_rounds):
        got = np.array(sorted(e for h in held for _, _, _, e in h), dtype=np.int64)
        b = _blocking(c, need, cap, d_pos, l_rank, got)
        if b.size == 0:
            return
        b = b[np.argsort(d_pos[b], kind="stable")]
        b = b[np.r_[True, c.rows[b][1:] != c.rows[b][:-1]]] if b.size > 1 else b  # each demand's best
        b = b[np.lexsort((l_rank[b], c.cols[b]))]
        b = b[np.r_[True, c.cols[b][1:] != c.cols[b][:-1]]] if b.size > 1 else b  # each listing's best
        where = {i: j for j, h in enumerate(held) for _, i, _, _ in h}
        for e in b.tolist():
            i, j = int(c.rows[e]), int(c.cols[e])
            if i in where:
                old = held[where[i]]
                old[:] = [x for x in old if x[1] != i]
            bisect.insort(held[j], (int(l_rank[e]), i, float(need[e]), e))
            for _, d, _, _ in _cut(held[j], float(cap[j])):
                where.pop(d, None)
            where[i] = j


def _blocking(c: Candidates, need: np.ndarray, cap: np.ndarray, d_pos: np.ndarray, l_rank: np.ndarray,
              got: np.ndarray) -> np.ndarray:
    """Indices (into ``c``) of the pairs blocking the allocation made of pairs ``got``."""
    n_d, n_l = c.shape
    rows, cols = c.rows[got], c.cols[got]
    own_pos = np.full(n_d, np.iinfo(np.int64).max)  # unmatched: anything is better
    own_pos[rows] = d_pos[got]
    wants = np.flatnonzero(d_pos < own_pos[c.rows])
    # room the held demands ranked above each wanting pair leave: per listing, the
    # held sizes in rank order, summed up to the pair's rank
    h_order = np.lexsort((l_rank[got], cols))
    h_col, h_rank, h_size = cols[h_order], l_rank[got][h_order], need[got][h_order]
    cum = np.r_[0.0, np.cumsum(h_size)]
    first = np.searchsorted(h_col, np.arange(n_l))  # where each listing's held run starts
    w_col = c.cols[wants]
    above = np.searchsorted(h_col * (len(c) + 1) + h_rank, w_col * (len(c) + 1) + l_rank[wants])
    used = cum[above] - cum[first[w_col]]
    return wants[used + need[wants] <= cap[w_col] + 1e-9]


def _cut(h: list[tuple[int, int, float, int]], room: float) -> list[tuple[int, int, float, int]]:
    """Keep the longest prefix of ``h`` (sorted by rank) that fits in ``room``; return the rest."""
    used = 0.0
    for k, item in enumerate(h):
        used += item[2]
        if used > room + 1e-9:
            rest = h[k:]
            del h[k:]
            return rest
    return []


def blocking_pairs(scores: Any, rows: np.ndarray, cols: np.ndarray, listing_scores: Any = None,
                   capacity: Any = None, reservation: float = 0.0, area_min: Any = None,
                   area_max: Any = None, area: Any = None, unit: Any = None, room: Any = None) -> np.ndarray:
    """The candidate pairs that block an allocation (empty when it is stable).

    A pair (i, j) blocks when i prefers j to what it got (or got nothing) and the
    demands j holds that it prefers to i leave room for i (with unit capacities: j has
    a free place or prefers i to the worst demand it holds), ties broken by index as in
    :func:`stable`. Arguments as in :func:`stable`.

    Returns
    -------
    ndarray of int64, shape (n_blocking, 2)
    """
    c, need, cap = _sizes(candidates(scores, reservation), capacity,
                          _area_args(area_min, area_max, area, unit, room))
    _n_d, n_l = c.shape
    if len(c) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    d_order, l_rank = _ranks(c, _prefs(c, listing_scores))
    d_pos = np.empty(len(c), dtype=np.int64)
    d_pos[d_order] = np.arange(len(c))  # global order, comparable within each demand
    got = np.searchsorted(c.rows * n_l + c.cols, np.asarray(rows, dtype=np.int64) * n_l
                          + np.asarray(cols, dtype=np.int64))
    b = _blocking(c, need, cap, d_pos, l_rank, got)
    return np.stack([c.rows[b], c.cols[b]], axis=1)
