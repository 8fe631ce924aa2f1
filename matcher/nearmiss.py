"""Near misses: the best partners a record cannot have, and the hard rules in the way.

Staff who find a firm with few or no proposals want to know what to relax: a larger
area range, another town, a higher budget. A near miss is an infeasible pair ranked by

1. the number of hard rules it fails (fewest first: one rule is one conversation), then
2. the score it would have were those rules relaxed (the profile's weighted criteria,
   computed for every pair whatever the rules say), then
3. the partner's id,

so that the first near misses are the pairs closest to being proposed.

>>> import matcher, scoring
>>> m = matcher.generate_market(40, 30, seed=3)
>>> sc = scoring.Scorer(m.demands, m.listings)
>>> nm = near_misses(sc, 0, 3)
>>> bool((nm.n_failed >= 1).all()) and bool((nm.n_failed[:-1] <= nm.n_failed[1:]).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

import scoring

__all__ = ["NearMisses", "near_misses"]


@dataclass(frozen=True)
class NearMisses:
    """A record's best infeasible partners.

    Attributes
    ----------
    index : ndarray of int64, shape (n,)
        Rows of the other side, best first.
    relaxed : ndarray of float64, shape (n,)
        The score of each pair with its failed rules relaxed, in [0, 1].
    failed : ndarray of uint16, shape (n,)
        Bit mask of the rules each pair fails (:mod:`scoring.rules`).
    n_failed : ndarray of int64, shape (n,)
        How many rules each pair fails.
    """

    index: np.ndarray
    relaxed: np.ndarray
    failed: np.ndarray
    n_failed: np.ndarray


def near_misses(sc: scoring.Scorer, row: int, k: int, by: Literal["demand", "listing"] = "demand",
                drop: np.ndarray | None = None) -> NearMisses:
    """The ``k`` best infeasible partners of demand row ``row`` (or listing row, ``by="listing"``).

    Parameters
    ----------
    sc : scoring.Scorer
    row : int
        The record's row on its side.
    k : int
        At most this many near misses (fewer when fewer pairs are infeasible).
    by : {"demand", "listing"}
        The side of ``row``.
    drop : ndarray of int64, optional
        Rows of the other side never to name (refused pairs, records gone).

    Returns
    -------
    NearMisses
    """
    n_d, n_l = sc.shape
    b = sc.block(row, row + 1, 0, n_l) if by == "demand" else sc.block(0, n_d, row, row + 1)
    failed, _ = sc.evaluate(b)
    failed = failed.ravel()
    relaxed = np.zeros(failed.size, dtype=np.float64)
    # the numpy criteria (every pair scored, feasible or not), by the normalised weights
    for name, w in sc.weights.items():
        relaxed += float(w) * np.nan_to_num(np.asarray(scoring.CRITERIA[name].score(b), dtype=np.float64).ravel())
    relaxed = np.clip(relaxed, 0.0, 1.0)
    bits = failed.astype(np.uint32)
    n_failed = np.zeros(failed.size, dtype=np.int64)
    for bit in range(16):
        n_failed += (bits >> bit) & 1
    ok = n_failed > 0
    if drop is not None and len(drop):
        ok[np.asarray(drop, dtype=np.int64)] = False
    cand = np.flatnonzero(ok)
    ids = np.asarray(sc.listing_side.ids if by == "demand" else sc.demand_side.ids)[cand].astype(str)
    order = np.lexsort((ids, -relaxed[cand], n_failed[cand]))[:max(k, 0)]
    pick = cand[order]
    return NearMisses(pick.astype(np.int64), relaxed[pick], failed[pick], n_failed[pick])
