"""Blockwise scoring as tasks on a Dask cluster (the ``[distributed]`` extra).

The passes over every pair of a market -- candidate selection
(:func:`scoring.sparse.candidates`), the optimality check
(:func:`scoring.sparse.dual_violations`) and the recommendations
(:meth:`scoring.Scorer.top_k`) -- split by demand rows: each task scores one block of
demands against every listing with the compiled loop, on a worker, and returns what it
kept; the client merges the blocks. The listing side and the profile go to the workers
once (scattered); each task carries its block of prepared demands.

The merge gives exactly what one local pass gives (the same pairs, scores, statistics
and tie-breaks): a demand's best pairs are found whole in its block, a listing's best
pairs over all demands are among the union of its best in every block (ties by the
demand's id rank, which orders a block's demands as it orders all of them), and the
per-record counts add up. ``dask.distributed`` is imported only when these functions
run.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from scoring.rules import RULES
from scoring.sparse import Candidates, DualViolations, SideStats

if TYPE_CHECKING:
    from scoring.engine import Scorer
    from scoring.results import TopK

__all__ = ["BLOCK_PAIRS", "candidates", "demand_rows", "dual_violations", "dual_violations_blocks", "share", "top_k"]

BLOCK_PAIRS = 2_000_000_000
"""Pairs (demands × listings) per task, at most; at least two tasks per worker."""


def demand_rows(sc: Scorer, rows: np.ndarray, cols: np.ndarray | None = None) -> Scorer:
    """A scorer of demand rows ``rows`` of ``sc`` against its listings (or listing rows
    ``cols``), on the engine the whole market's passes take (so every pair scores bit for
    bit as in ``sc``).

    Parameters
    ----------
    sc : Scorer
    rows : ndarray of int64, shape (k,)
    cols : ndarray of int64, shape (m,), optional

    Returns
    -------
    Scorer
        Row ``q`` is ``sc``'s row ``rows[q]``; column ``p`` is ``cols[p]`` (or ``p``).
    """
    rows = np.asarray(rows, dtype=np.int64)
    recs = sc.demands.take(rows) if hasattr(sc.demands, "take") else None
    return sc.subset(rows, cols, demands=recs, listings=sc.listings if cols is None else None, engine=sc.market_engine)


# ---- on the workers ------------------------------------------------------------------
def _block_scorer(shared: dict[str, Any], d_block: Any) -> Scorer:
    from scoring.engine import Scorer

    recs_d = types.SimpleNamespace(demand_id=d_block.ids)
    recs_l = types.SimpleNamespace(listing_id=shared["listing_side"].ids)
    return Scorer.from_sides(recs_d, recs_l, d_block, shared["listing_side"], shared["profile"], 1,
                             shared["engine"])


def _candidates_task(shared: dict[str, Any], d_block: Any, reservation: float, per_d: int | None,
                     per_l: int | None, prune: bool | None) -> tuple[Any, ...]:
    c = _block_scorer(shared, d_block).candidates(reservation, per_d, per_l, prune=prune)
    return c.demand, c.listing, c.score, c.demands, c.listings, c.exact_rule_counts


def _violations_task(shared: dict[str, Any], d_block: Any, u: np.ndarray, v: np.ndarray, reservation: float,
                     tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dv = _block_scorer(shared, d_block).dual_violations(u, v, reservation, tol)
    return dv.demand, dv.listing, dv.score


def _violations_cols_task(shared: dict[str, Any], d_block: Any, cols: np.ndarray, u: np.ndarray, v: np.ndarray,
                          reservation: float, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scoring.engine import Scorer

    l_side = shared["listing_side"].take(cols)
    sc = Scorer.from_sides(types.SimpleNamespace(demand_id=d_block.ids), types.SimpleNamespace(listing_id=l_side.ids),
                           d_block, l_side, shared["profile"], 1, shared["engine"])
    dv = sc.dual_violations(u, v, reservation, tol)
    return dv.demand, dv.listing, dv.score


def _top_k_task(shared: dict[str, Any], d_block: Any, k: int, by: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = _block_scorer(shared, d_block).top_k(k, by=by)  # type: ignore[arg-type]
    return t.index, t.scores, t.count


# ---- on the client -------------------------------------------------------------------
def _best_first(key_rows: np.ndarray, scores: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Order of pairs by row, then score (highest first), then the partner's id rank."""
    return np.lexsort((tie, -scores.astype(np.float64), key_rows))


def _rank_within(sorted_rows: np.ndarray) -> np.ndarray:
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]) if sorted_rows.size else sorted_rows
    lengths = np.diff(np.r_[starts, sorted_rows.size])
    return np.arange(sorted_rows.size) - np.repeat(starts, lengths)


def candidates(client: Any, sc: Scorer, reservation: float | None = None, per_demand: int | None = None,
               per_listing: int | None = None, prune: bool | None = None) -> Candidates:
    """:func:`scoring.sparse.candidates` of ``sc``, with blocks of demands scored as
    tasks on the cluster of ``client``; the same result."""
    res = sc.profile.reservation if reservation is None else float(reservation)
    n_d, n_l = sc.shape
    per_task = _per_task(client, sc)
    parts = _map_with(client, sc, _candidates_task, per_task,
                      [(res, per_demand, per_listing, prune)] * len(range(0, n_d, per_task)))
    dem = np.concatenate([p[0] + a for a, p in parts]) if parts else np.zeros(0, np.int64)
    lis = np.concatenate([p[1] for _, p in parts]) if parts else np.zeros(0, np.int64)
    sco = np.concatenate([p[2] for _, p in parts]) if parts else np.zeros(0, np.float32)
    d_stats = SideStats(*(np.concatenate([getattr(p[3], f) for _, p in parts]) for f in
                          ("n_feasible", "best", "best_partner", "rule_counts")))
    l_stats = _merge_listing_stats([(a, p[4]) for a, p in parts], sc, n_l)
    exact = all(p[5] for _, p in parts)
    if per_listing is not None and len(dem):
        rank_d, rank_l = sc.id_ranks("demand"), sc.id_ranks("listing")
        keep = np.zeros(len(dem), dtype=bool)
        if per_demand is not None:
            o = _best_first(dem, sco, rank_l[lis])
            keep[o[_rank_within(dem[o]) < per_demand]] = True
        o = _best_first(lis, sco, rank_d[dem])
        keep[o[_rank_within(lis[o]) < per_listing]] = True
        dem, lis, sco = dem[keep], lis[keep], sco[keep]
    order = np.lexsort((lis, dem))
    dem, lis, sco = dem[order].astype(np.int64), lis[order].astype(np.int64), sco[order].astype(np.float32)
    indptr = np.zeros(n_d + 1, dtype=np.int64)
    np.cumsum(np.bincount(dem, minlength=n_d), out=indptr[1:])
    return Candidates(demand=dem, listing=lis, score=sco, indptr=indptr, demands=d_stats, listings=l_stats,
                      reservation=res, per_demand=per_demand, per_listing=per_listing, exact_rule_counts=exact,
                      shape=(n_d, n_l))


def _merge_listing_stats(parts: list[tuple[int, SideStats]], sc: Scorer, n_l: int) -> SideStats:
    """Per-listing statistics of blocks of demands added up: counts summed, the best
    partner the best of the blocks' (ties by demand id rank)."""
    rank_d = sc.id_ranks("demand")
    count = np.zeros(n_l, np.int64)
    rules = np.zeros((n_l, len(RULES)), np.int64)
    best = np.full(n_l, np.nan, np.float32)
    partner = np.full(n_l, -1, np.int64)
    for a, st in parts:
        count += st.n_feasible
        rules += st.rule_counts
        p = np.where(st.best_partner >= 0, st.best_partner + a, -1)
        have = p >= 0
        cur = partner >= 0
        better = have & (~cur | (st.best > best)
                         | ((st.best == best) & (rank_d[np.maximum(p, 0)] < rank_d[np.maximum(partner, 0)])))
        best[better] = st.best[better]
        partner[better] = p[better]
    return SideStats(count, best, partner, rules)


def dual_violations(client: Any, sc: Scorer, u: np.ndarray, v: np.ndarray, reservation: float | None = None,
                    tol: float = 1e-9) -> DualViolations:
    """:func:`scoring.sparse.dual_violations` of ``sc`` as tasks on the cluster."""
    res = sc.profile.reservation if reservation is None else float(reservation)
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    n_d = sc.shape[0]
    per_task = _per_task(client, sc)
    uu = [u[a:a + per_task] for a in range(0, n_d, per_task)]
    parts = _map_with(client, sc, _violations_task, per_task, [(x, v, res, tol) for x in uu])
    dem = np.concatenate([p[0] + a for a, p in parts]) if parts else np.zeros(0, np.int64)
    lis = np.concatenate([p[1] for _, p in parts]) if parts else np.zeros(0, np.int64)
    sco = np.concatenate([p[2] for _, p in parts]) if parts else np.zeros(0, np.float32)
    order = np.lexsort((lis, dem))
    dem, lis, sco = dem[order].astype(np.int64), lis[order].astype(np.int64), sco[order].astype(np.float32)
    return DualViolations(dem, lis, sco, sco.astype(np.float64) - u[dem] - v[lis])


def share(client: Any, sc: Scorer) -> dict[str, Any]:
    """The listing side, profile and engine of ``sc`` scattered to every worker once
    (futures, for :func:`dual_violations_blocks`)."""
    # a list, not a dict: a scattered dict's keys would be the data's keys, the same in
    # every call, and one call releasing them would take them from the next
    names = ("listing_side", "profile", "engine")
    return dict(zip(names, client.scatter([sc.listing_side, sc.profile, sc.market_engine], broadcast=True, hash=False)))


def dual_violations_blocks(client: Any, sc: Scorer, blocks: list[tuple[np.ndarray, np.ndarray]], u: np.ndarray,
                           v: np.ndarray, reservation: float, tol: float, shared: dict[str, Any] | None = None
                           ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`scoring.sparse.dual_violations` over blocks of pairs of ``sc`` (demand rows
    × listing columns), all as tasks on the cluster at once.

    Parameters
    ----------
    client : dask.distributed.Client
    sc : Scorer
    blocks : list of (rows, cols), int64 arrays
        Rows (sorted) and columns of ``sc`` to check against each other.
    u, v : ndarray of float64, shape (n_demands,), (n_listings,)
    reservation, tol : float
    shared : dict, optional
        :func:`share` of ``sc`` (scattered here when not given).

    Returns
    -------
    list of (demand, listing, score, reduced) per block, rows and columns of ``sc``
    """
    shared = share(client, sc) if shared is None else shared
    per_task = _per_task(client, sc)
    jobs = [(rows[a:a + per_task], cols) for rows, cols in blocks for a in range(0, rows.size, per_task)]
    results = _run_tasks(client, shared, _violations_cols_task,
                         [(sc.demand_side.take(r), (cols, u[r], v[cols], float(reservation), float(tol)))
                          for r, cols in jobs])
    out = []
    for (r, cols), (dem, lis, sco) in zip(jobs, results):
        dem, lis = r[np.asarray(dem, dtype=np.int64)], cols[np.asarray(lis, dtype=np.int64)]
        sco = np.asarray(sco, dtype=np.float32)
        out.append((dem, lis, sco, sco.astype(np.float64) - u[dem] - v[lis]))
    return out


def _per_task(client: Any, sc: Scorer) -> int:
    n_d, n_l = sc.shape
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    return max(1, min(-(-n_d // (2 * workers)), BLOCK_PAIRS // max(n_l, 1)))


def _map_with(client: Any, sc: Scorer, fn: Any, per_task: int, args: list[tuple[Any, ...]]) -> list[tuple[int, Any]]:
    """Run ``fn(shared, block, *args[b])`` on every block ``b`` of ``per_task`` demand
    rows; (start row, result) per block, in row order."""
    n_d = sc.shape[0]
    starts = list(range(0, n_d, per_task))
    return list(zip(starts, _run_tasks(client, share(client, sc), fn,
                                       [(sc.demand_side.slice(a, min(a + per_task, n_d)), x)
                                        for a, x in zip(starts, args)])))


def _run_tasks(client: Any, shared: dict[str, Any], fn: Any, tasks: list[tuple[Any, tuple[Any, ...]]]) -> list[Any]:
    """``fn(shared, demands, *args)`` for each ``(demands, args)`` of ``tasks``, all
    submitted to the cluster at once; the results in the order of ``tasks``."""
    return client.gather([client.submit(fn, shared, d, *args, pure=False) for d, args in tasks])


def top_k(client: Any, sc: Scorer, k: int, by: Literal["demand", "listing"] = "demand") -> TopK:
    """:meth:`scoring.Scorer.top_k` of ``sc`` as tasks on the cluster."""
    from scoring.results import TopK
    from scoring.select import check_top_k

    check_top_k(k, by)
    n_d, n_l = sc.shape
    n_self = n_d if by == "demand" else n_l
    index = np.full((n_self, k), -1, dtype=np.int64)
    scores = np.full((n_self, k), np.nan, dtype=np.float32)
    count = np.zeros(n_self, dtype=np.int64)
    if k == 0 or n_d == 0 or n_l == 0:
        return TopK(index=index, scores=scores, count=count, by=by)
    per_task = _per_task(client, sc)
    parts = _map_with(client, sc, _top_k_task, per_task, [(k, by)] * len(range(0, n_d, per_task)))
    if by == "demand":
        for a, (idx, s, c) in parts:
            index[a:a + len(c)], scores[a:a + len(c)], count[a:a + len(c)] = idx, s, c
        return TopK(index=index, scores=scores, count=count, by=by)
    rank_d = sc.id_ranks("demand")
    idx = np.concatenate([np.where(p[0] >= 0, p[0] + a, -1) for a, p in parts], axis=1)
    s = np.concatenate([p[1] for _, p in parts], axis=1)
    total = np.sum([p[2] for _, p in parts], axis=0)
    tie = np.where(idx >= 0, rank_d[np.maximum(idx, 0)], np.iinfo(np.int64).max)
    key = np.where(idx >= 0, -s.astype(np.float64), np.inf)
    order = np.lexsort((tie, key), axis=1)[:, :k]
    index[:] = np.take_along_axis(idx, order, axis=1)
    scores[:] = np.take_along_axis(s, order, axis=1)
    count[:] = np.minimum(total, k)
    return TopK(index=index, scores=scores, count=count, by=by)
