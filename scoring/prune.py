"""A pruning index over the listings: which listings a demand can pass the deal and area
rules with, without scoring the others.

Listings are grouped by (deal, divisible) and sorted by floor area within each group
(:class:`ListingIndex`). For a demand, :func:`spans` gives per group one contiguous span
of positions that holds every listing the demand could pass both rules with:

* **deal** -- a group whose deal shares no type with the demand's is skipped whole (the
  ``deal`` rule fails on every pair of it);
* **area, indivisible listings** -- the listings with ``lo <= area <= hi`` (the ``area``
  rule, exactly: a binary search on the sorted areas with the rule's own comparisons;
  a listing without area sorts last and fails the rule);
* **area, divisible listings** -- the listings with ``area >= lo (1 - 1e-6)``: whole
  units never offer more than the listing's area (``k <= area / unit + UNIT_EPS``), so
  a listing below that fails the rule; the upper side is not cut (one unit fewer may
  fit a demand's upper bound);
* a demand without an area range passes the area rule everywhere: its spans are whole
  groups.

The index never drops a feasible pair (``tests/scoring/test_sparse.py`` compares pruned
and unpruned results on random and edge-case markets). What it skips is counted as
failing the rule that ruled it out (:func:`skipped_counts`); other rules are not
evaluated on skipped pairs.

Distance caps (``max_distance_km``) are not cut here: a listing in one of the demand's
wanted towns is at distance 0 wherever its coordinates lie, so a spatial cut needs a
town key beside the grid; see ``benchmarks/README.md`` for what that would add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.conventions import DEAL_BOTH, DEAL_LEASE, DEAL_SALE
from scoring.prepare import DemandSide, ListingSide

__all__ = ["DIVISIBLE_MARGIN", "ListingIndex", "build_index", "skipped_counts", "spans"]

DIVISIBLE_MARGIN = 1e-6
"""Relative margin below a demand's ``lo`` down to which divisible listings are visited."""

_GROUPS = tuple((deal, div) for deal in (DEAL_LEASE, DEAL_SALE, DEAL_BOTH) for div in (False, True))


@dataclass(frozen=True, eq=False)
class ListingIndex:
    """Listings grouped by (deal, divisible), sorted by area within each group.

    Attributes
    ----------
    order : ndarray of int64, shape (n_listings,)
        Position p of the index holds listing row ``order[p]``.
    area : ndarray of float64, shape (n_listings,)
        ``area[p]`` is the area of listing ``order[p]`` (ascending within a group, NaN last).
    bounds : ndarray of int64, shape (n_groups + 1,)
        Group g occupies positions ``bounds[g]:bounds[g + 1]``.
    deal : ndarray of int8, shape (n_groups,)
        The deal of each group's listings.
    divisible : ndarray of bool, shape (n_groups,)
    """

    order: np.ndarray
    area: np.ndarray
    bounds: np.ndarray
    deal: np.ndarray
    divisible: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.deal)


def build_index(l: ListingSide) -> ListingIndex:
    """Group and sort the listings (one ``lexsort``)."""
    div = l.unit > 0
    group = np.full(l.n, -1, dtype=np.int64)
    for g, (deal, d) in enumerate(_GROUPS):
        group[(l.deal == deal) & (div == d)] = g
    order = np.lexsort((l.area, group)).astype(np.int64)  # NaN areas last within a group
    counts = np.bincount(group, minlength=len(_GROUPS))
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ListingIndex(order=order, area=np.ascontiguousarray(l.area[order]), bounds=bounds,
                        deal=np.array([g[0] for g in _GROUPS], dtype=np.int8),
                        divisible=np.array([g[1] for g in _GROUPS], dtype=bool))


def spans(index: ListingIndex, d: DemandSide, rows: np.ndarray) -> np.ndarray:
    """Per demand row and group, the span of index positions to score.

    Parameters
    ----------
    index : ListingIndex
    d : DemandSide
    rows : ndarray of int64, shape (n,)
        Demand rows.

    Returns
    -------
    ndarray of int64, shape (n, n_groups, 2)
        ``[start, end)`` positions of the index; ``start == end`` when the group is skipped.
    """
    n = len(rows)
    out = np.zeros((n, index.n_groups, 2), dtype=np.int64)
    deal, has_area, lo, hi = d.deal[rows], d.has_area[rows], d.lo[rows], d.hi[rows]
    for g in range(index.n_groups):
        a, b = int(index.bounds[g]), int(index.bounds[g + 1])
        if a == b:
            out[:, g] = a
            continue
        area = index.area[a:b]
        if index.divisible[g]:
            start = a + np.searchsorted(area, lo * (1.0 - DIVISIBLE_MARGIN), side="left")
            end = np.full(n, b)
        else:
            start = a + np.searchsorted(area, lo, side="left")
            end = a + np.searchsorted(area, hi, side="right")
        start = np.where(has_area, start, a)
        end = np.where(has_area, end, b)
        ok = (deal & index.deal[g]) != 0
        out[:, g, 0] = np.where(ok, start, a)
        out[:, g, 1] = np.where(ok, np.maximum(end, start), a)
    return out


def skipped_counts(index: ListingIndex, d: DemandSide, rows: np.ndarray,
                   sp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the spans skip, by the rule that rules it out.

    Returns
    -------
    d_deal, d_area : ndarray of int64, shape (len(rows),)
        Per demand: listings skipped because no deal type is shared, and because of area.
    l_deal, l_area : ndarray of int64, shape (n_listings,)
        Per index position: demands (of ``rows``) that skipped it for deal, and for area.
    """
    n_l = len(index.order)
    sizes = np.diff(index.bounds)
    deal = d.deal[rows]
    ok = (deal[:, None] & index.deal[None, :]) != 0  # (n, G)
    visited = (sp[:, :, 1] - sp[:, :, 0]).sum(axis=1)
    d_deal = (~ok * sizes[None, :]).sum(axis=1)
    d_area = n_l - d_deal - visited
    # per position: how many spans cover it (a difference array per group)
    cover = np.zeros(n_l + 1, dtype=np.int64)
    starts, ends = sp[:, :, 0].ravel(), sp[:, :, 1].ravel()
    keep = ends > starts
    np.add.at(cover, starts[keep], 1)
    np.add.at(cover, ends[keep], -1)
    cover = np.cumsum(cover)[:n_l]
    group_of = np.repeat(np.arange(index.n_groups), sizes)
    n_ok = ok.sum(axis=0)  # demands sharing a deal type with each group
    l_deal = (len(rows) - n_ok)[group_of]
    l_area = n_ok[group_of] - cover
    return d_deal, d_area, l_deal, l_area
