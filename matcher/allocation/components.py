"""Independent parts of an allocation problem.

Two pairs that share no record, directly or through a chain of candidate pairs, never
compete: the candidate graph (demands and listings as nodes, candidate pairs as edges)
falls apart into connected components, and every method of :mod:`matcher.allocation`
may solve each part on its own. A province of counties whose firms look for space in
their own county splits into roughly one part per county, so the solvers see
county-sized problems however large the market.

:func:`parts` groups the components into parts of at least ``min_pairs`` pairs (small
components merged, in order of their smallest row), so that thousands of tiny
components do not each pay a solver's fixed cost.
"""

from __future__ import annotations

import numpy as np

from matcher.allocation.candidates import Candidates, renumber

__all__ = ["Part", "parts"]


class Part:
    """One independent part: a subset of the pairs, renumbered.

    Attributes
    ----------
    pairs : ndarray of int64, shape (n_pairs,)
        Positions of the part's pairs in the whole problem's candidates.
    rows, cols : ndarray of int64
        The whole problem's rows and columns the part uses, sorted; local row ``k``
        is ``rows[k]``.
    candidates : Candidates
        The part's pairs on local rows and columns, sorted by row, then column.
    """

    __slots__ = ("candidates", "cols", "pairs", "rows")

    def __init__(self, c: Candidates, pairs: np.ndarray) -> None:
        self.pairs = pairs
        r, k = c.rows[pairs], c.cols[pairs]
        self.rows, ri = renumber(r, c.shape[0])
        self.cols, ci = renumber(k, c.shape[1])
        # rows stay sorted (c is sorted by row, then column, and the maps keep order)
        self.candidates = Candidates((len(self.rows), len(self.cols)), ri, ci, c.scores[pairs])

    def __len__(self) -> int:
        return len(self.pairs)


def parts(c: Candidates, min_pairs: int = 200_000) -> list[Part]:
    """The candidate pairs split into independent parts.

    Parameters
    ----------
    c : Candidates
        Sorted by row, then column (as :func:`matcher.allocation.candidates` makes them).
    min_pairs : int
        Components are merged, in order of their smallest row, until a part holds at
        least this many pairs (the last part may hold fewer). 0 keeps every component
        apart; a value above ``len(c)`` gives one part.

    Returns
    -------
    list of Part
        Every pair in exactly one part; parts in order of their smallest row, each
        part's pairs in the order of ``c``.

    Examples
    --------
    >>> import numpy as np
    >>> from matcher.allocation import candidates
    >>> s = np.array([[0.9, np.nan, np.nan], [0.8, np.nan, np.nan], [np.nan, np.nan, 0.7]])
    >>> [p.rows.tolist() for p in parts(candidates(s), min_pairs=0)]
    [[0, 1], [2]]
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    n_r, n_c = c.shape
    if len(c) == 0:
        return []
    if len(c) <= min_pairs:
        return [Part(c, np.arange(len(c), dtype=np.int64))]
    graph = coo_array((np.ones(len(c), dtype=np.int8), (c.rows, c.cols + n_r)), shape=(n_r + n_c, n_r + n_c))
    _, label = connected_components(graph, directed=False)
    comp = label[c.rows]
    # components numbered by their smallest row (the pairs are sorted by row)
    first = np.full(label.max() + 1, len(c), dtype=np.int64)
    np.minimum.at(first, comp, np.arange(len(c)))
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    comp = rank[comp]
    order = np.argsort(comp, kind="stable")
    sizes = np.bincount(comp, minlength=len(first))
    out: list[Part] = []
    start, held = 0, 0
    ends = np.cumsum(sizes)
    for k in range(len(sizes)):
        held += int(sizes[k])
        if held >= min_pairs or k == len(sizes) - 1:
            if held:
                out.append(Part(c, np.sort(order[start:int(ends[k])])))
            start, held = int(ends[k]), 0
    return out
