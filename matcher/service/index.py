"""The service's in-memory columnar market: an immutable snapshot, replaced on each write.

A :class:`Market` holds the listings and demands as records, their prepared sides
(the columns the scoring engine reads) and a :class:`scoring.Scorer` over them. A
write prepares only the records it brings and splices them into the existing
columns (:meth:`Market.updated`: ``ListingSide.concat`` / ``DemandSide.concat``),
dropping the rows they replace; nothing else is re-read or re-prepared. Each write
makes a new snapshot and readers keep the one they started with, so a reader sees
every record either as it was before an upsert or as it is after, never half of each.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

import scoring
from matcher.records import Demands, Listings
from matcher.written import amend
from scoring import DemandSide, ListingSide

__all__ = ["ExplanationCache", "Market", "Reasons", "Update"]


@dataclass(frozen=True, eq=False)
class Market:
    """One consistent state of the market.

    Attributes
    ----------
    profile : scoring.Profile
    listings : Listings
    demands : Demands
    scorer : scoring.Scorer
        Over ``demands`` × ``listings``, on the prepared sides.
    l_rev, d_rev : ndarray of int64
        Revision of each row: the write that last set it (keys explanation caches).
    l_row, d_row : dict
        Row of each id.
    """

    profile: scoring.Profile
    listings: Listings
    demands: Demands
    scorer: scoring.Scorer
    l_rev: np.ndarray
    d_rev: np.ndarray
    l_row: dict[str, int]
    d_row: dict[str, int]

    @classmethod
    def build(cls, profile: scoring.Profile, listings: Listings, demands: Demands, l_side: ListingSide,
              d_side: DemandSide, rev: int = 0) -> Market:
        """A market of records already prepared (:func:`scoring.prepare_listings`,
        :func:`scoring.prepare_demands`), every row at revision ``rev``."""
        return cls._make(profile, listings, demands, l_side, d_side, np.full(len(listings), rev, dtype=np.int64),
                         np.full(len(demands), rev, dtype=np.int64))

    @classmethod
    def _make(cls, profile: scoring.Profile, listings: Listings, demands: Demands, l_side: ListingSide,
              d_side: DemandSide, l_rev: np.ndarray, d_rev: np.ndarray) -> Market:
        # one record against the market: the compiled loop when numba is there (about
        # 2.5x the numpy path on 10k listings), whatever the block size
        engine: scoring.engine.Engine = "numba" if scoring.fast.available() else "numpy"
        scorer = scoring.Scorer.from_sides(demands, listings, d_side, l_side, profile, workers=1, engine=engine)
        return cls(profile, listings, demands, scorer, l_rev, d_rev,
                   {str(x): k for k, x in enumerate(listings.listing_id.tolist())},
                   {str(x): k for k, x in enumerate(demands.demand_id.tolist())})

    @property
    def l_side(self) -> ListingSide:
        return self.scorer.listing_side

    @property
    def d_side(self) -> DemandSide:
        return self.scorer.demand_side

    def updated(self, listings: Update | None = None, demands: Update | None = None) -> Market:
        """This market with each side's :class:`Update` applied: its ``remove`` ids
        dropped, then its records added (they must not be present after the drop)."""
        ls, l_side, l_rev = self.listings, self.l_side, self.l_rev
        ds, d_side, d_rev = self.demands, self.d_side, self.d_rev
        if listings is not None:
            keep = np.flatnonzero(~np.isin(ls.listing_id, np.asarray(sorted(listings.remove), dtype=str)))
            ls = Listings.concat([ls.take(keep), listings.records])
            l_side = ListingSide.concat([l_side.take(keep), listings.side])
            l_rev = np.concatenate([l_rev[keep], np.full(len(listings.records), listings.rev, dtype=np.int64)])
        if demands is not None:
            keep = np.flatnonzero(~np.isin(ds.demand_id, np.asarray(sorted(demands.remove), dtype=str)))
            ds = Demands.concat([ds.take(keep), demands.records])
            d_side = DemandSide.concat([d_side.take(keep), demands.side])
            d_rev = np.concatenate([d_rev[keep], np.full(len(demands.records), demands.rev, dtype=np.int64)])
        return self._make(self.profile, ls, ds, l_side, d_side, l_rev, d_rev)

    @cached_property
    def l_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows in id order, the ids in that order), for pages of listings."""
        order = np.argsort(self.listings.listing_id, kind="stable")
        return order, self.listings.listing_id[order]

    @cached_property
    def d_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows in id order, the ids in that order), for pages of demands."""
        order = np.argsort(self.demands.demand_id, kind="stable")
        return order, self.demands.demand_id[order]


@dataclass(frozen=True)
class Update:
    """What one write (or one catch-up) changes on one side: ``remove`` (ids replaced
    or deleted) and the ``records`` added with their prepared ``side``, at revision
    ``rev``."""

    remove: frozenset[str]
    records: Any
    side: Any
    rev: int


@dataclass(frozen=True)
class Reasons:
    """What a recommendation shows of an explanation: the two summaries and the
    criterion scores (a few objects, so a full cache stays cheap to keep)."""

    zh: str
    en: str
    criteria: tuple[tuple[str, float], ...]
    distance_km: float | None = None


class ExplanationCache:
    """The reasons of pairs, keyed by both records' ids and revisions (bounded LRU).

    A pair's explanation depends only on the two records and the profile, so it stays
    valid until either record is written again (which gives it a new revision).
    """

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], Reasons] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, m: Market, i: int, j: int) -> tuple[Any, ...]:
        return (str(m.demands.demand_id[i]), int(m.d_rev[i]), str(m.listings.listing_id[j]), int(m.l_rev[j]))

    def pairs(self, m: Market, i: Sequence[int], j: Sequence[int], feasible: bool = False) -> list[Reasons]:
        """Reasons of the pairs ``(i[n], j[n])``, computing the missing ones one demand
        at a time on one block (``Scorer.explain_row``); ``feasible``: the pairs come
        from a ranking, so the rules need no second look."""
        keys = [self._key(m, a, b) for a, b in zip(i, j)]
        with self._lock:
            found: list[Reasons | None] = [self._data.get(k) for k in keys]
            for k, e in zip(keys, found):
                if e is not None:
                    self._data.move_to_end(k)
        todo: dict[int, list[int]] = {}
        for n, e in enumerate(found):
            if e is None:
                todo.setdefault(i[n], []).append(n)
        for a, ns in todo.items():
            fresh = m.scorer.explain_row(a, [j[n] for n in ns], rules=False, known_feasible=feasible)
            fresh = [amend(e, m.demands, a) for e in fresh]  # what the file said, not "未填"
            for n, ex in zip(ns, fresh):
                dist = next((c.inputs.get("distance_km") for c in ex.criteria if c.name == "location"), None)
                found[n] = Reasons(ex.summary("zh"), ex.summary("en"), tuple((c.name, c.score) for c in ex.criteria),
                                   None if dist is None or not np.isfinite(dist) else round(float(dist), 3))
        if todo:
            with self._lock:
                for n in (n for ns in todo.values() for n in ns):
                    reason = found[n]
                    assert reason is not None  # every missing one was computed above
                    self._data[keys[n]] = reason
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
        return [x for x in found if x is not None]
