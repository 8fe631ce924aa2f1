"""Picking the best partners of every record: the k highest scores of each row, ties by id.

Every ranking in changfang breaks ties by the partner's id (through its rank among the
ids, :func:`id_ranks`), so that results do not depend on row order. The compiled twin
of :func:`select_top` is :func:`scoring.fast.select_top`; the two give the same result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_top_k", "id_ranks", "select_top"]


def check_top_k(k: int, by: str) -> None:
    """Validate the ``k`` and ``by`` arguments of a top-k request.

    Raises
    ------
    ValueError
        ``by`` is not ``"demand"`` or ``"listing"``, or ``k < 1``.
    """
    if by not in ("demand", "listing"):
        raise ValueError(f"by == {by!r}, must be 'demand' or 'listing'")
    if k < 1:
        raise ValueError(f"k == {k}, must be >= 1")


def id_ranks(ids: np.ndarray) -> np.ndarray:
    """Rank of every id among all of them (the tie-break of every ranking).

    Parameters
    ----------
    ids : ndarray of str, shape (n,)
        Distinct ids.

    Returns
    -------
    ndarray of int64, shape (n,)
        ``0`` for the smallest id, ``n - 1`` for the largest.

    Examples
    --------
    >>> id_ranks(np.array(["b", "c", "a"])).tolist()
    [1, 2, 0]
    """
    order = np.argsort(ids, kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def select_top(t: np.ndarray, k: int, tie: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k highest finite values of every row, ties broken by ``tie`` (ascending).

    Parameters
    ----------
    t : ndarray of float32, shape (n, m)
        NaN for excluded entries.
    k : int
        1 <= k <= m.
    tie : ndarray of int64, shape (m,)
        Distinct ranks of the columns.

    Returns
    -------
    index : ndarray of int64, shape (n, k)
        Columns, best first; -1 pads rows with fewer than k finite values.
    scores : ndarray of float32, shape (n, k)
        Their values; NaN in the padding.
    count : ndarray of int64, shape (n,)
        Finite values listed per row (<= k).

    Examples
    --------
    >>> t = np.array([[0.2, np.nan, 0.9, 0.9]], dtype=np.float32)
    >>> index, scores, count = select_top(t, 3, np.array([3, 2, 1, 0]))
    >>> index.tolist(), count.tolist()   # the tie at 0.9 goes to the lower rank
    ([[3, 2, 0]], [3])
    """
    n, m = t.shape
    s = np.where(np.isnan(t), -np.inf, t)
    if k < m:
        kth = -np.partition(-s, k - 1, axis=1)[:, k - 1]
        cand = (s >= kth[:, None]) & (s > -np.inf)
    else:
        cand = s > -np.inf
    rows, cols = np.nonzero(cand)
    vals = s[rows, cols]
    order = np.lexsort((tie[cols], -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(n))
    pos = np.arange(len(rows)) - starts[rows]
    keep = pos < k
    index = np.full((n, k), -1, dtype=np.int64)
    scores = np.full((n, k), np.nan, dtype=np.float32)
    index[rows[keep], pos[keep]] = cols[keep]
    scores[rows[keep], pos[keep]] = vals[keep]
    count = np.minimum(np.bincount(rows, minlength=n), k).astype(np.int64)
    return index, scores, count
