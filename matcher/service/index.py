"""The service's in-memory columnar market: an immutable snapshot, replaced on each write.

A :class:`Market` holds the listings and demands as records, their prepared sides
(the columns the scoring engine reads) and a :class:`scoring.Scorer` over them. An
upsert prepares only the records it brings and splices them into the existing
columns (``ListingSide.concat`` / ``DemandSide.concat``), dropping the rows they
replace; nothing else is re-read or re-prepared. Each write makes a new snapshot and
readers keep the one they started with, so a reader sees every record either as it
was before an upsert or as it is after, never half of each.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import scoring
from matcher.records import Demands, Listings
from matcher.written import amend
from scoring import DemandSide, ListingSide, prepare_demands, prepare_listings

__all__ = ["ExplanationCache", "Market", "Reasons"]


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
    def build(cls, profile: scoring.Profile, listings: Listings, demands: Demands, rev: int = 0) -> Market:
        """A market prepared from scratch (at start-up)."""
        return cls._make(profile, listings, demands, prepare_listings(listings, profile),
                         prepare_demands(demands, profile), np.full(len(listings), rev, dtype=np.int64),
                         np.full(len(demands), rev, dtype=np.int64))

    @classmethod
    def _make(cls, profile: scoring.Profile, listings: Listings, demands: Demands, l_side: ListingSide,
              d_side: DemandSide, l_rev: np.ndarray, d_rev: np.ndarray) -> Market:
        # one record against the market: the compiled loop when numba is there (about
        # 2.5x the numpy path on 10k listings), whatever the block size
        engine: scoring.engine.Engine = "numba" if scoring.fast.available() else "numpy"
        scorer = scoring.Scorer.from_sides(demands, listings, d_side, l_side, profile, workers=1, engine=engine)
        return cls(profile, listings, demands, scorer, l_rev, d_rev,
                   {str(x): k for k, x in enumerate(listings.listing_id)},
                   {str(x): k for k, x in enumerate(demands.demand_id)})

    @property
    def l_side(self) -> ListingSide:
        return self.scorer.listing_side

    @property
    def d_side(self) -> DemandSide:
        return self.scorer.demand_side

    def with_listings(self, new: Listings, rev: int) -> Market:
        """This market with ``new`` listings added or replacing those with their ids."""
        keep = np.flatnonzero(~np.isin(self.listings.listing_id, new.listing_id))
        return self._make(self.profile, Listings.concat([self.listings.take(keep), new]), self.demands,
                          ListingSide.concat([self.l_side.take(keep), prepare_listings(new, self.profile)]),
                          self.d_side, np.concatenate([self.l_rev[keep], np.full(len(new), rev)]), self.d_rev)

    def with_demands(self, new: Demands, rev: int) -> Market:
        """This market with ``new`` demands added or replacing those with their ids."""
        keep = np.flatnonzero(~np.isin(self.demands.demand_id, new.demand_id))
        return self._make(self.profile, self.listings, Demands.concat([self.demands.take(keep), new]),
                          self.l_side, DemandSide.concat([self.d_side.take(keep), prepare_demands(new, self.profile)]),
                          self.l_rev, np.concatenate([self.d_rev[keep], np.full(len(new), rev)]))

    def without(self, side: str, record_id: str) -> Market:
        """This market without one listing or demand (which must be present)."""
        if side == "listing":
            keep = np.flatnonzero(self.listings.listing_id != record_id)
            return self._make(self.profile, self.listings.take(keep), self.demands, self.l_side.take(keep),
                              self.d_side, self.l_rev[keep], self.d_rev)
        keep = np.flatnonzero(self.demands.demand_id != record_id)
        return self._make(self.profile, self.listings, self.demands.take(keep), self.l_side,
                          self.d_side.take(keep), self.l_rev, self.d_rev[keep])


@dataclass(frozen=True)
class Reasons:
    """What a recommendation shows of an explanation: the two summaries and the
    criterion scores (a few objects, so a full cache stays cheap to keep)."""

    zh: str
    en: str
    criteria: tuple[tuple[str, float], ...]


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
                found[n] = Reasons(ex.summary("zh"), ex.summary("en"), tuple((c.name, c.score) for c in ex.criteria))
        if todo:
            with self._lock:
                for n in (n for ns in todo.values() for n in ns):
                    reason = found[n]
                    assert reason is not None  # every missing one was computed above
                    self._data[keys[n]] = reason
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
        return [x for x in found if x is not None]
