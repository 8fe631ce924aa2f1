"""The pairs an allocation may choose: feasible, at or above the reservation score.

A :class:`Candidates` is the COO list of those pairs, built once from a dense score
matrix (NaN infeasible) or a scipy sparse matrix (stored entries feasible), so every
algorithm sees the same set whatever the input's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Candidates", "candidates", "renumber"]


def renumber(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)`` for integers in ``[0, n)``, without a sort.

    Parameters
    ----------
    x : ndarray of int64, shape (k,)
    n : int
        Bound of the values (a side's size).

    Returns
    -------
    used : ndarray of int64, shape (u,)
        The distinct values, ascending.
    local : ndarray of int64, shape (k,)
        Each value's position in ``used``.
    """
    seen = np.zeros(n, dtype=bool)
    seen[x] = True
    local = np.cumsum(seen, dtype=np.int64) - 1
    return np.flatnonzero(seen), local[x]


@dataclass(frozen=True, eq=False)
class Candidates:
    """Allowed pairs of an ``n_rows × n_cols`` problem.

    Attributes
    ----------
    shape : tuple of int
    rows, cols : ndarray of int64, shape (n_pairs,)
        Sorted by row, then column.
    scores : ndarray of float64, shape (n_pairs,)
    """

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def dense(self, fill: float = np.nan) -> np.ndarray:
        """float64 (n_rows, n_cols): the scores, ``fill`` elsewhere."""
        out = np.full(self.shape, fill)
        out[self.rows, self.cols] = self.scores
        return out

    def objective(self, rows: np.ndarray, cols: np.ndarray) -> float:
        """Sum of the scores of the pairs ``(rows[k], cols[k])`` (all must be candidates)."""
        if len(rows) == 0:
            return 0.0
        key = self.rows * self.shape[1] + self.cols
        want = np.asarray(rows, dtype=np.int64) * self.shape[1] + np.asarray(cols, dtype=np.int64)
        pos = np.searchsorted(key, want)
        if np.any(pos >= len(key)) or np.any(key[np.minimum(pos, len(key) - 1)] != want):
            raise ValueError("a pair is not a candidate")
        return float(np.sum(self.scores[pos]))


def candidates(scores: Any, reservation: float = 0.0) -> Candidates:
    """The candidate pairs of a score matrix.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_cols), or scipy sparse matrix, or Candidates
        Dense: NaN marks an infeasible pair. Sparse: the stored entries are the
        feasible pairs (an explicit 0 is a feasible pair scoring 0).
    reservation : float
        Pairs scoring below it are not candidates.

    Returns
    -------
    Candidates
    """
    if isinstance(scores, Candidates):
        keep = scores.scores >= reservation
        return Candidates(scores.shape, scores.rows[keep], scores.cols[keep], scores.scores[keep])
    if hasattr(scores, "tocoo"):  # scipy sparse
        coo = scores.tocoo()
        rows, cols, vals = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
        keep = ~np.isnan(vals) & (vals >= reservation)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        if len(rows) > 1 and np.any((np.diff(rows) == 0) & (np.diff(cols) == 0)):
            raise ValueError("the sparse score matrix has duplicate entries")
        return Candidates(tuple(coo.shape), rows, cols, vals)
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"scores must be 2-d, got shape {a.shape}")
    with np.errstate(invalid="ignore"):
        rows, cols = np.nonzero(~np.isnan(a) & (a >= reservation))
    return Candidates(a.shape, rows.astype(np.int64), cols.astype(np.int64), a[rows, cols])
