"""Recommendations that respect what the parties said: the best k partners of every
record, leaving out refused pairs and records that have signed.

* a refused (excluded) pair is never recommended, to either side;
* a demand that has signed (a lock) leaves every listing's recommendations; a listing
  that has signed leaves every demand's, unless it is a divisible plant with room for
  another unit, which stays on offer (``taken`` says which listings are gone).

Without exclusions or locks this is :meth:`scoring.Scorer.top_k`. With them, the
records that left are taken out of the other side before ranking (a scorer on the rest,
:meth:`scoring.Scorer.from_sides`), and each record's list is ranked a few places
deeper than k (as many as its most-refused record has refusals), then cut back to k
without the refused pairs: the same lists as ranking every pair and skipping those.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

import scoring

__all__ = ["recommend"]


def _empty(n: int, k: int, by: str) -> scoring.TopK:
    return scoring.TopK(index=np.full((n, k), -1, dtype=np.int64), scores=np.full((n, k), np.nan, dtype=np.float32),
                        count=np.zeros(n, dtype=np.int64), by=by)


def recommend(sc: scoring.Scorer, k: int, by: Literal["demand", "listing"],
              excluded: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64)),
              locked_rows: np.ndarray | None = None, taken: np.ndarray | None = None,
              top_k: Any = None) -> scoring.TopK:
    """The best ``k`` partners of every demand (``by="demand"``) or listing.

    Parameters
    ----------
    sc : scoring.Scorer
    k : int
        Partners per record (at most the other side's size).
    by : {"demand", "listing"}
    excluded : (rows, cols)
        Refused pairs (demand and listing rows).
    locked_rows : ndarray of int64, optional
        Demands that have signed: never recommended to a listing.
    taken : ndarray of bool, shape (n_listings,), optional
        Listings no longer on offer: never recommended to a demand.
    top_k : callable, optional
        ``top_k(scorer, k, by)`` ranking every record of a scorer (default
        :meth:`scoring.Scorer.top_k`; a Dask cluster's in :func:`matcher.match`).

    Returns
    -------
    scoring.TopK
        Rows of the other side in the whole market's numbering.
    """
    rank = top_k or (lambda s, kk, b: s.top_k(kk, by=b))
    n_d, n_l = sc.shape
    n_self, n_other = (n_d, n_l) if by == "demand" else (n_l, n_d)
    xr, xc = (np.asarray(x, dtype=np.int64) for x in excluded)
    gone = np.zeros(n_other, dtype=bool)
    if by == "demand" and taken is not None:
        gone |= np.asarray(taken, dtype=bool)
    if by == "listing" and locked_rows is not None:
        gone[np.asarray(locked_rows, dtype=np.int64)] = True
    if k == 0:
        return _empty(n_self, 0, by)
    if not gone.any() and xr.size == 0:
        return rank(sc, k, by)
    keep = np.flatnonzero(~gone)
    if by == "demand":
        sub = sc.subset(None, keep, demands=sc.demands, listings=_take(sc.listings, keep), engine=sc.market_engine)
        mine, theirs = xr, xc
    else:
        sub = sc.subset(keep, None, demands=_take(sc.demands, keep), listings=sc.listings, engine=sc.market_engine)
        mine, theirs = xc, xr
    deeper = int(np.bincount(mine, minlength=n_self).max()) if mine.size else 0
    kk = min(k + deeper, len(keep))
    out = _empty(n_self, k, by)
    if kk == 0:
        return out
    t = rank(sub, kk, by)
    idx = np.where(t.index >= 0, keep[np.maximum(t.index, 0)], -1)
    refused = np.zeros(idx.shape, dtype=bool)
    if mine.size:
        key = mine * max(n_other, 1) + theirs
        refused = np.isin(np.arange(n_self)[:, None] * max(n_other, 1) + idx, key) & (idx >= 0)
    ok = (idx >= 0) & ~refused
    # the first k acceptable of each list, in order
    place = np.cumsum(ok, axis=1) - 1
    rows, cols = np.nonzero(ok & (place < k))
    out.index[rows, place[rows, cols]] = idx[rows, cols]
    out.scores[rows, place[rows, cols]] = t.scores[rows, cols]
    out.count[:] = np.minimum(ok.sum(axis=1), k)
    return out


def _take(records: Any, rows: np.ndarray) -> Any:
    """The records at ``rows`` (None, ids only, for records without ``take``)."""
    return records.take(rows) if hasattr(records, "take") else None
