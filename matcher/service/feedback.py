"""Feedback as the service holds it: what staff recorded about pairs, settled.

The ``feedback`` table (:class:`~matcher.service.store.Store`) keeps every piece of
feedback, numbered, never rewritten. :class:`FeedbackBook` reads it back whenever its
last number changes (one cheap query per request; other server processes' feedback
is seen at once) and settles it (:func:`matcher.feedback.settle`: the last row of a
pair counts). What it means for one market (:meth:`FeedbackBook.effects`):

* a refused pair is never proposed again, to either side, nor named as a near miss;
* a signed pair is locked in every later global run (``POST /v1/match``); a firm that
  has signed leaves every listing's recommendations, and a plant it took leaves every
  other firm's, unless it is divisible with room for another unit
  (:func:`matcher.feedback.taken_listings`).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.feedback import settle, taken_listings
from matcher.service.store import Store

__all__ = ["Effects", "FeedbackBook", "Settled"]


@dataclass(frozen=True)
class Settled:
    """Feedback up to number ``seq``, settled.

    Attributes
    ----------
    seq : int
    last : dict of (demand_id, listing_id) to str
        Each pair's last action.
    locks, exclude : list of (demand_id, listing_id)
        Signed pairs and refused pairs.
    """

    seq: int
    last: dict[tuple[str, str], str] = field(default_factory=dict)
    locks: list[tuple[str, str]] = field(default_factory=list)
    exclude: list[tuple[str, str]] = field(default_factory=list)

    def signed_by(self, demand_id: str) -> list[str]:
        """The listings this demand has signed."""
        return [l for d, l in self.locks if d == demand_id]


@dataclass(frozen=True)
class Effects:
    """What settled feedback means on one market (rows of that market).

    Attributes
    ----------
    refused_of_demand, refused_of_listing : dict of int to ndarray of int64
        The other side's rows each record refused (or was refused by).
    signed_demands : ndarray of int64
        Demands that have signed: they leave every listing's lists.
    taken : ndarray of bool, shape (n_listings,)
        Listings no other firm may be offered.
    """

    refused_of_demand: dict[int, np.ndarray]
    refused_of_listing: dict[int, np.ndarray]
    signed_demands: np.ndarray
    taken: np.ndarray

    def drop(self, kind: str, row: int) -> np.ndarray:
        """Rows of the other side never to propose to record ``row`` of side ``kind``."""
        if kind == "demand":
            return np.union1d(self.refused_of_demand.get(row, np.zeros(0, np.int64)), np.flatnonzero(self.taken))
        return np.union1d(self.refused_of_listing.get(row, np.zeros(0, np.int64)), self.signed_demands)


class FeedbackBook:
    """The store's feedback, settled, and its effects on the current market (cached)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._settled = Settled(-1)
        self._rows: list[tuple[str, str, str]] = []
        self._effects: tuple[Any, int, Effects] | None = None

    def settled(self) -> Settled:
        """The feedback stored so far, settled (read again only when there is more)."""
        seq = self.store.feedback_seq()
        with self._lock:
            if seq != self._settled.seq:
                new = self.store.feedback(after=max(self._settled.seq, 0))
                self._rows += [(d, l, a) for _, d, l, a, *_ in new]
                last: dict[tuple[str, str], str] = {}
                for d, l, a in self._rows:
                    last.pop((d, l), None)
                    last[(d, l)] = a
                locks, exclude = settle(self._rows)
                self._settled = Settled(new[-1][0] if new else seq, last, locks, exclude)
            return self._settled

    def effects(self, market: Any) -> Effects:
        """What the settled feedback means on ``market`` (a
        :class:`~matcher.service.index.Market`); ids no longer in it are ignored."""
        s = self.settled()
        cached = self._effects
        if cached is not None and cached[0] is market and cached[1] == s.seq:
            return cached[2]
        d_row, l_row = market.d_row, market.l_row
        refused_d: dict[int, list[int]] = defaultdict(list)
        refused_l: dict[int, list[int]] = defaultdict(list)
        for d, l in s.exclude:
            if d in d_row and l in l_row:
                refused_d[d_row[d]].append(l_row[l])
                refused_l[l_row[l]].append(d_row[d])
        pairs = [(d_row[d], l_row[l]) for d, l in s.locks if d in d_row and l in l_row]
        rows = np.asarray([p[0] for p in pairs], dtype=np.int64)
        cols = np.asarray([p[1] for p in pairs], dtype=np.int64)
        ds, ls = market.d_side, market.l_side
        taken, _ = taken_listings(ds.area_min, ds.hi, ls.area, ls.unit, rows, cols)
        eff = Effects({k: np.asarray(sorted(v), dtype=np.int64) for k, v in refused_d.items()},
                      {k: np.asarray(sorted(v), dtype=np.int64) for k, v in refused_l.items()},
                      np.unique(rows), taken)
        self._effects = (market, s.seq, eff)
        return eff
