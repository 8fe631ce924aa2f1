"""A block of the score matrix: demands ``r0:r1`` against listings ``c0:c1``.

Rules and criteria read their inputs from a :class:`Block`: the two sliced sides,
the joint industry tables, the profile, and a few intermediate results several of
them share (deal modes, offered area, distances), each computed once per block on
first use. Every array a rule or criterion returns has the block's shape
``(n_demands, n_listings)`` or broadcasts to it.

An explanation is the same code on a 1 × 1 block, so it agrees with the matrix by
construction; the independent check is the plain-Python reference scorer in the
tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.conventions import DEAL_LEASE, DEAL_SALE
from scoring.geo import chord2_to_km
from scoring.industry import prefix_table, similarity_table
from scoring.prepare import DemandSide, ListingSide
from scoring.profile import Profile
from scoring.units import offered_area

__all__ = ["Block", "PyView", "Tables", "gather", "keep_known"]


@dataclass(frozen=True, eq=False)
class Tables:
    """Industry relations between one demand side and one listing side.

    Rows are the demands' unique codes plus a last row for "no code" (index -1).

    Attributes
    ----------
    allowed_ok : ndarray of bool, shape (n_codes + 1, n_allowed_lists)
    banned_hit : ndarray of bool, shape (n_codes + 1, n_banned_lists)
    synergy : ndarray of float32, shape (n_codes + 1, n_related_lists)
    """

    allowed_ok: np.ndarray
    banned_hit: np.ndarray
    synergy: np.ndarray

    @classmethod
    def build(cls, d: DemandSide, l: ListingSide, profile: Profile) -> Tables:
        codes = d.codes
        nc = len(codes)

        def any_under(lists: list, empty: bool) -> np.ndarray:
            prefixes = sorted({p for lst in lists for p in lst})
            hit = prefix_table(codes, prefixes)
            col = {p: k for k, p in enumerate(prefixes)}
            out = np.zeros((nc + 1, len(lists)), dtype=bool)
            for s, lst in enumerate(lists):
                if not lst:
                    out[:, s] = empty
                else:
                    out[:nc, s] = hit[:, [col[p] for p in lst]].any(axis=1)
            return out

        levels = profile["industry"]
        neutral = np.float32(levels["neutral"])
        flat = sorted({c for lst in l.related_lists for c in lst})
        sim = similarity_table(codes, flat, levels)
        col = {c: k for k, c in enumerate(flat)}
        synergy = np.full((nc + 1, len(l.related_lists)), neutral, dtype=np.float32)
        for s, lst in enumerate(l.related_lists):
            if lst and nc:
                synergy[:nc, s] = sim[:, [col[c] for c in lst]].max(axis=1)
        return cls(any_under(l.allowed_lists, True), any_under(l.banned_lists, False), synergy)


class cached:
    """A lazily computed attribute, kept in the instance (no lock).

    ``functools.cached_property`` takes one lock per property for *all* instances
    before Python 3.12, which serialises the worker threads of the engine.
    """

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


def keep_known(s: np.ndarray, known: np.ndarray, neutral: float) -> np.ndarray:
    """Set the columns where ``known`` is false to ``neutral``, in place, without a scatter.

    ``s`` must be finite in those columns (fill unknown inputs before scoring).
    """
    if known.all():
        return s
    k = known.astype(np.float32)
    s *= k[None, :]
    s += (np.float32(neutral) * (1 - k))[None, :]
    return s


def gather(table: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``table[rows[:, None], cols[None, :]]``, as a row take then a column take."""
    return np.take(table[rows], cols, axis=1)


class PyView:
    """The arrays of a prepared side as Python lists, each converted on first use.

    Explanations read a few values per pair, one at a time; indexing a list and doing
    arithmetic on Python floats costs a fraction of what numpy scalars cost.
    """

    def __init__(self, side: Any) -> None:
        self.side = side

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.side, name)
        out = value.tolist() if isinstance(value, np.ndarray) else value
        setattr(self, name, out)
        return out


class Block:
    """Demands ``d`` against listings ``l`` (both already sliced).

    Attributes
    ----------
    d : DemandSide
    l : ListingSide
    tables : Tables
    profile : Profile
    shape : tuple of int
        ``(d.n, l.n)``.
    rows, cols : slice
        Where the block lies in the whole market.
    """

    def __init__(self, d: DemandSide, l: ListingSide, tables: Tables, profile: Profile,
                 rows: slice = slice(None), cols: slice = slice(None)) -> None:
        self.d, self.l, self.tables, self.profile = d, l, tables, profile
        self.rows, self.cols = rows, cols
        self.shape = (d.n, l.n)

    @cached
    def dp(self) -> PyView:
        """The demand side's arrays as Python lists (for explanations)."""
        return PyView(self.d)

    @cached
    def lp(self) -> PyView:
        """The listing side's arrays as Python lists (for explanations)."""
        return PyView(self.l)

    # ---- deal modes --------------------------------------------------------
    @cached
    def shared(self) -> np.ndarray:
        """int8 (n_d, n_l): deal types both sides accept (lease 1, sale 2)."""
        return self.d.deal[:, None] & self.l.deal[None, :]

    @cached
    def sale_blocked(self) -> np.ndarray:
        """bool (n_d, n_l): a purchase needs a title certificate the listing lacks."""
        return (self.d.certificate == 1)[:, None] & (self.l.title != 1)[None, :]

    @cached
    def lease_blocked(self) -> np.ndarray:
        """bool (n_d, n_l): the lease wanted is shorter than the listing's minimum."""
        return self.d.lease_months[:, None] < self.l.min_lease[None, :]

    @cached
    def modes(self) -> np.ndarray:
        """int8 (n_d, n_l): deal types left once the title and lease-term rules apply."""
        keep = np.full(self.shape, DEAL_LEASE | DEAL_SALE, dtype=np.int8)
        keep -= np.multiply(self.sale_blocked, np.int8(DEAL_SALE), dtype=np.int8)
        keep -= np.multiply(self.lease_blocked, np.int8(DEAL_LEASE), dtype=np.int8)
        return np.bitwise_and(self.shared, keep)

    # ---- area ---------------------------------------------------------------
    @cached
    def divisible(self) -> np.ndarray:
        """int64 (n_div,): columns of divisible listings."""
        return np.flatnonzero(self.l.unit > 0)

    @cached
    def offered_units(self) -> np.ndarray:
        """float64 (n_d, n_div): the area each divisible listing offers each demand, ㎡.

        :func:`scoring.units.offered_area`: ``k * unit``, where k is the fewest whole
        units covering ``area_min`` (at least 1), one fewer when that overshoots the
        demand's upper tolerance, and at most the units the listing holds.
        """
        div = self.divisible
        return offered_area(self.d.area_min[:, None], self.d.hi[:, None], self.l.area[div][None, :],
                            self.l.unit[div][None, :])

    @cached
    def offered(self) -> np.ndarray:
        """float64 (n_d, n_l) or (1, n_l): the area the listing offers this demand, ㎡.

        An indivisible listing offers its whole area, a divisible one
        :attr:`offered_units`. (Rules and criteria work on the two parts separately;
        this whole matrix is for explanations.)
        """
        whole = self.l.area[None, :]
        if self.divisible.size == 0:
            return whole
        out = np.repeat(whole, self.d.n, axis=0)
        out[:, self.divisible] = self.offered_units
        return out

    # ---- location -----------------------------------------------------------
    @cached
    def located(self) -> np.ndarray:
        """int64 (n_located,): rows of demands that name at least one place."""
        return np.flatnonzero(self.d.has_place)

    @cached
    def distance(self) -> np.ndarray:
        """float32 (n_located, n_l): km from each listing to the nearest place of
        each located demand; 0 inside a wanted town; meaningless for a listing without a
        location (``l.has_loc`` false), which rules and criteria mask."""
        d, l = self.d, self.l
        if self.located.size == 0:
            return np.zeros((0, l.n), dtype=np.float32)
        rows = self.located
        starts = d.point_offsets[rows]
        counts = d.point_offsets[rows + 1] - starts
        vt = l.vectors.T
        if (counts == counts[0]).all():
            groups = [np.arange(rows.size)]
        else:
            groups = [np.flatnonzero(counts == c) for c in np.unique(counts)]
        best = np.empty((rows.size, l.n))
        inside = None
        for g in groups:
            # demands with the same number of places: one product, then a max over places
            c = int(counts[g[0]])
            pick = (starts[g][:, None] + np.arange(c)[None, :]).ravel()
            prod = (d.points[pick] @ vt).reshape(g.size, c, l.n)
            top = prod[:, 0]
            for k in range(1, c):
                np.maximum(top, prod[:, k], out=top)
            if g.size == rows.size:
                best = top
            else:
                best[g] = top
            # inside a wanted town (a place's town row equals the listing's): 0 km
            towns = d.point_town[pick].reshape(g.size, c)
            for col in np.flatnonzero((towns >= 0).any(axis=0)).tolist():
                hit = towns[:, col, None] == l.town[None, :]
                if inside is None:
                    inside = np.zeros((rows.size, l.n), dtype=bool)
                inside[g] |= hit
        best *= -2.0
        best += 2.0
        km = chord2_to_km(best)
        if inside is not None:
            km *= ~inside
        return km

    # ---- industry -----------------------------------------------------------
    @cached
    def code_rows(self) -> np.ndarray:
        """int32 (n_d,): each demand's row in the industry tables (last = no code)."""
        return self.d.code
