"""The allocation of :func:`matcher.match` on sparse candidate pairs, and what it proves.

:class:`Market` holds the pairs the allocation may choose: the candidate pairs of one
blockwise scoring pass (every feasible pair scoring at least the reservation, or each
record's best ``keep``), without the excluded pairs, the locked demands and the
listings locks have taken, plus the per-record statistics of that pass.
:func:`allocate` splits them into independent parts
(:func:`matcher.allocation.components.parts`) and runs the method on each, in id
order.

With every candidate pair kept, the solve is the method's solve on the whole market.
With each record's best ``keep`` pairs only, every method checks its solution against
every pair of the market in one more blockwise pass (the pairs are scored again, never
stored) and, where pairs outside could change it, adds them and solves again:

* ``one_to_one``: dual prices of the allocation (:func:`assignment_duals`) are
  checked against every pair (:meth:`scoring.Scorer.dual_violations`); with none
  violated the allocation is optimal over all pairs. After :data:`MAX_CHECKS` passes
  the prices are raised to cover what is left, which bounds the optimum: the gap.
* ``stable``: deferred acceptance only ever proposes down a demand's list, so a demand
  whose list holds everything it prefers to what it got (or, unmatched, its whole
  list) would have ended the same with its full list. Demands whose lists were cut
  above their outcome get their lists lengthened (best ``4 × keep``, and so on) until
  none is left; no blocking pair can then involve a pair outside the lists.
* ``divisible``: the Lagrangian bound of :mod:`matcher.allocation.divisible` over
  every pair: with the capacity prices of the LP relaxation, each demand's best
  ``s_ij - price_j * area_ij`` among the kept pairs is checked against every pair
  (with the smallest area a listing can give); pairs above it are added and the parts
  solved again, and what is left raises the bound. The gap is reported against that
  bound.

A check does not score what is already proven (:func:`_violations`): pairs outside both
records' best ``keep`` that cannot beat the prices, pairs an earlier check cleared whose
prices have not fallen since, and on a province pairs whose records lie too far apart
to beat them (:mod:`scoring.bounds`). A one-to-one check also adds the pairs within
:data:`CHECK_MARGIN` of violating, so the next solve's small price moves leave them
proven, and it adds at most :data:`CHECK_PER_ROW` pairs per demand (the most violated):
like column generation, the next solve takes each demand's best few new pairs, and a
demand that left some out is checked again, so the pairs held grow with the records,
not with the violations. ``MatchResult.seconds`` splits the time between these passes
and the solves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import scoring
from matcher.allocation import Candidates, divisible, one_to_one, stable
from matcher.allocation.components import Part, parts
from matcher.allocation.divisible import lp_prices
from matcher.allocation.one_to_one import assignment_duals
from scoring.distributed import demand_rows

__all__ = ["DIVISIBLE_CHECKS", "MAX_CHECKS", "PART_PAIRS", "Market", "allocate", "disjoint_rounds"]

MAX_CHECKS = 6
"""Passes over every pair after which a one-to-one solve on kept pairs stops and reports
its gap."""

DIVISIBLE_CHECKS = 3
"""The same for ``divisible``, whose check (with the least area a listing can give) is
looser and whose gap is reported anyway."""

CHECK_BUCKETS = 8
"""Groups of rows a check after the first scores separately, by how far their prices
fell since the last check (each group against the columns it needs)."""

CHECK_MARGIN = 0.01
"""A one-to-one check also adds the pairs whose reduced score is within this of 0, so
that the next solve's prices (which move a little) leave most pairs proven."""

CHECK_PER_ROW = 16
"""A one-to-one check adds at most this many pairs per demand, those with the highest
reduced scores (the violations first, then the pairs within the margin); a demand with
more is proven only to the highest it left out, so the next check scores it again. At
100k × 100k the first check found 12 M violating pairs, most of them of a few thousand
demands with low prices (their best pairs are spread over the province); adding them all
tripled the pairs the solves hold (5.4 M to 18 M) and at 200k a run peaked at 20.6 GB."""

SPATIAL_PAIRS = 50_000_000
"""Markets of at least this many pairs check by location groups
(:mod:`scoring.bounds`): a pair whose records lie too far apart to score above its
prices is not scored."""

PART_PAIRS = 200_000
"""Independent components are merged into parts of at least this many pairs."""


def _keys(rows: np.ndarray, cols: np.ndarray, n_l: int) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64) * max(n_l, 1) + np.asarray(cols, dtype=np.int64)


def _inverse(rank: np.ndarray) -> np.ndarray:
    out = np.empty_like(rank)
    out[rank] = np.arange(len(rank), dtype=rank.dtype)
    return out


@dataclass(eq=False)
class Market:
    """The pairs an allocation may choose, and what the scoring pass found per record.

    Attributes
    ----------
    sc : scoring.Scorer
    method : str
    reservation : float
    keep : int or None
        Best pairs per record kept (None: every candidate pair).
    rank_d, rank_l : ndarray of int64, shape (n_demands,), (n_listings,)
        Each record's id rank (:meth:`scoring.Scorer.id_ranks`).
    locked_rows : ndarray of int64
        Demands fixed by locks (out of the problem).
    taken : ndarray of bool, shape (n_listings,)
        Listings locks have filled (out of the problem).
    room : ndarray of float64, shape (n_listings,)
        Area left in each listing after the locks, ㎡.
    excluded : tuple of (rows, cols)
    demands, listings : scoring.sparse.SideStats
        Per record over every pair of the market (before exclusions and locks).
    exact_rule_counts : bool
    rows, cols : ndarray of int64, shape (n_pairs,)
        The pairs the allocation may choose, sorted by ``(row, col)``.
    s : ndarray of float32, shape (n_pairs,)
    depth : ndarray of int64, shape (n_demands,)
        How many of its best pairs each demand's list was cut to (0: not cut).
    cut_at : ndarray of float32, shape (n_demands,)
        The score of the last pair of a cut list (NaN where not cut).
    cut_rank : ndarray of int64, shape (n_demands,)
        Id rank of that pair's listing.
    lcut_at : ndarray of float32, shape (n_listings,)
        The same for each listing's list of demands: the score of its ``keep``-th best
        (NaN where the listing has fewer, all of them held). A pair held by neither list
        scores at most ``min(cut_at[i], lcut_at[j])``.
    checks : int
        Passes over every pair made so far.
    pass_seconds : float
        Time spent in the scorer's passes (the first, the checks, lengthened lists), s.
    proven_u, proven_v : ndarray of float64, shape (n_demands,), (n_listings,)
        Prices every pair not held was checked against by the passes so far: such a pair
        scores at most ``proven_u[i] + proven_v[j] + tol`` (+inf before the first pass).
    client : dask.distributed.Client or None
        Where the passes over every pair run (None: here).
    top_demand, top_listing : scoring.TopK or None
        Each record's best ``top_k`` feasible partners, ranked in the first pass when
        :meth:`build` was asked for them (None otherwise).
    """

    sc: scoring.Scorer
    method: str
    reservation: float
    keep: int | None
    rank_d: np.ndarray
    rank_l: np.ndarray
    locked_rows: np.ndarray
    taken: np.ndarray
    room: np.ndarray
    excluded: tuple[np.ndarray, np.ndarray]
    demands: Any
    listings: Any
    exact_rule_counts: bool
    rows: np.ndarray
    cols: np.ndarray
    s: np.ndarray
    depth: np.ndarray
    cut_at: np.ndarray
    cut_rank: np.ndarray
    lcut_at: np.ndarray
    checks: int = 0
    client: Any = None
    proven_u: np.ndarray | None = None
    proven_v: np.ndarray | None = None
    pass_seconds: float = 0.0
    top_demand: Any = None
    top_listing: Any = None
    _bounds: Any = None
    _shared: Any = None

    def scattered(self) -> Any:
        """The market's listing side scattered to the cluster's workers, once per market
        (:func:`scoring.distributed.share`)."""
        if self._shared is None:
            from scoring.distributed import share

            self._shared = share(self.client, self.sc)
        return self._shared

    def location_bounds(self) -> Any:
        """:func:`scoring.bounds.location_bounds` of the market (computed once), or None
        below :data:`SPATIAL_PAIRS` pairs."""
        n_d, n_l = self.sc.shape
        if n_d * n_l < SPATIAL_PAIRS:
            return None
        if self._bounds is None:
            from scoring.bounds import location_bounds

            self._bounds = location_bounds(self.sc)
        return self._bounds

    @classmethod
    def build(cls, sc: scoring.Scorer, method: str, reservation: float, keep: int | None,
              excluded: tuple[np.ndarray, np.ndarray], locked_rows: np.ndarray, taken: np.ndarray,
              room: np.ndarray, client: Any = None, top_k: int = 0) -> Market:
        """One blockwise pass of the scorer (on a Dask cluster with ``client``); with
        ``top_k`` (here only), each record's ranking from the same pass."""
        t0 = time.perf_counter()
        n_d = sc.shape[0]
        # every pair kept: no pruning, so that the rule counts of the reasons are exact
        prune = None if keep is not None else False
        if client is not None:
            from scoring.distributed import candidates as dask_candidates

            cand = dask_candidates(client, sc, reservation, keep, keep, prune=prune)
        else:
            cand = sc.candidates(reservation=reservation, per_demand=keep, per_listing=keep, prune=prune,
                                 top_k=top_k)
        seconds = time.perf_counter() - t0
        m = cls(sc=sc, method=method, reservation=reservation, keep=keep,
                rank_d=sc.id_ranks("demand"), rank_l=sc.id_ranks("listing"),
                locked_rows=np.asarray(locked_rows, dtype=np.int64), taken=taken, room=room,
                excluded=excluded, demands=cand.demands, listings=cand.listings,
                exact_rule_counts=cand.exact_rule_counts,
                rows=np.zeros(0, np.int64), cols=np.zeros(0, np.int64), s=np.zeros(0, np.float32),
                depth=np.zeros(n_d, np.int64), cut_at=np.full(n_d, np.nan, np.float32),
                cut_rank=np.full(n_d, -1, np.int64), lcut_at=np.full(sc.shape[1], np.nan, np.float32),
                client=client, pass_seconds=seconds, top_demand=cand.top_demand, top_listing=cand.top_listing)
        if keep is not None:
            m.cut(cand.demand, cand.listing, cand.score, np.arange(n_d), keep)
            o = np.lexsort((-cand.score.astype(np.float64), cand.listing))
            lis = cand.listing[o]
            counts = np.bincount(lis, minlength=sc.shape[1])
            starts = np.searchsorted(lis, np.arange(sc.shape[1]))
            cut = np.flatnonzero(counts >= keep)
            m.lcut_at[cut] = cand.score[o][starts[cut] + keep - 1]
        m.add(cand.demand, cand.listing, cand.score)
        return m

    # ---- passes over every pair --------------------------------------------------------
    def dual_violations(self, sc: scoring.Scorer, u: np.ndarray, v: np.ndarray, tol: float) -> Any:
        """:meth:`scoring.Scorer.dual_violations` of ``sc`` (the market's scorer or one of
        a part of it) at the reservation, here or on the cluster."""
        t0 = time.perf_counter()
        if self.client is not None:
            from scoring.distributed import dual_violations

            out = dual_violations(self.client, sc, u, v, self.reservation, tol)
        else:
            out = sc.dual_violations(u, v, reservation=self.reservation, tol=tol)
        self.pass_seconds += time.perf_counter() - t0
        return out

    # ---- the pairs -------------------------------------------------------------------
    @property
    def n_listings(self) -> int:
        return int(self.sc.shape[1])

    @property
    def feasible_pairs(self) -> int:
        """Pairs of the market passing every hard rule."""
        return int(self.demands.n_feasible.sum())

    def allowed(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """bool: the pairs neither excluded, nor of a locked demand, nor of a taken listing."""
        ok = ~self.taken[cols]
        if self.locked_rows.size:
            ok &= ~np.isin(rows, self.locked_rows)
        xr, xc = self.excluded
        if xr.size:
            ok &= ~np.isin(_keys(rows, cols, self.n_listings), _keys(xr, xc, self.n_listings))
        return ok

    def has(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """bool: the pairs already among the allocation's."""
        key, want = _keys(self.rows, self.cols, self.n_listings), _keys(rows, cols, self.n_listings)
        pos = np.minimum(np.searchsorted(key, want), max(len(key) - 1, 0))
        return (key[pos] == want) if len(key) else np.zeros(len(want), dtype=bool)

    def add(self, rows: np.ndarray, cols: np.ndarray, s: np.ndarray) -> int:
        """Add the allowed pairs among ``(rows, cols)`` not yet held; how many were new."""
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        s = np.asarray(s, dtype=np.float32)
        ok = self.allowed(rows, cols) & (s >= np.float32(self.reservation))
        if len(self.rows):
            ok &= ~self.has(rows, cols)
        if not ok.any():
            return 0
        r = np.concatenate([self.rows, rows[ok]])
        c = np.concatenate([self.cols, cols[ok]])
        v = np.concatenate([self.s, s[ok]])
        key = _keys(r, c, self.n_listings)
        key, first = np.unique(key, return_index=True)
        self.rows, self.cols, self.s = r[first], c[first], v[first]
        return int(ok.sum())

    def score_of(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float64: the scores of pairs held (each must be)."""
        key, want = _keys(self.rows, self.cols, self.n_listings), _keys(rows, cols, self.n_listings)
        return self.s[np.searchsorted(key, want)].astype(np.float64)

    def candidates(self) -> Candidates:
        """The pairs in id order (rows and columns are id ranks), sorted."""
        n_d, n_l = self.sc.shape
        r, c = self.rank_d[self.rows], self.rank_l[self.cols]
        order = np.lexsort((c, r))
        return Candidates((n_d, n_l), r[order], c[order], self.s[order].astype(np.float64))

    def histogram(self, bins: int) -> np.ndarray:
        """Counts of the pairs' scores in ``bins`` equal bins over [0, 1]."""
        return np.histogram(self.s, bins=np.linspace(0.0, 1.0, bins + 1))[0].astype(np.int64)

    # ---- lists cut at each demand's best pairs ---------------------------------------
    def cut(self, rows: np.ndarray, cols: np.ndarray, s: np.ndarray, who: np.ndarray, depth: int) -> None:
        """Record, for demands ``who`` whose best ``depth`` pairs are among ``(rows,
        cols, s)`` (every pair at or above the reservation of theirs, best ones first),
        whether their list was cut and where."""
        n_d = self.sc.shape[0]
        mine = np.isin(rows, who)
        rows, cols, s = rows[mine], cols[mine], s[mine]
        order = np.lexsort((self.rank_l[cols], -s.astype(np.float64), rows))
        rows, cols, s = rows[order], cols[order], s[order]
        starts = np.searchsorted(rows, np.arange(n_d))
        counts = np.bincount(rows, minlength=n_d)
        self.depth[who] = 0
        self.cut_at[who] = np.nan
        self.cut_rank[who] = -1
        cut = who[counts[who] >= depth]
        if cut.size:
            last = starts[cut] + depth - 1
            self.depth[cut] = depth
            self.cut_at[cut] = s[last]
            self.cut_rank[cut] = self.rank_l[cols[last]]

    def lists_short_of(self, demand: np.ndarray, listing: np.ndarray) -> np.ndarray:
        """Demands (rows) whose cut list may miss a pair they prefer to their outcome in
        the allocation ``(demand, listing)``: unmatched with a cut list, or matched below
        where their list was cut."""
        n_d = self.sc.shape[0]
        got = np.full(n_d, -1, dtype=np.int64)
        got[demand] = listing
        cut = self.depth > 0
        cut[self.locked_rows] = False
        short = cut & (got < 0)
        m = cut & (got >= 0)
        if m.any():
            i = np.flatnonzero(m)
            j = got[i]
            s = self.score_of(i, j).astype(np.float32)
            above = (s > self.cut_at[i]) | ((s == self.cut_at[i]) & (self.rank_l[j] <= self.cut_rank[i]))
            short[i[~above]] = True
        return np.flatnonzero(short)

    def lengthen(self, who: np.ndarray) -> int:
        """Give demands ``who`` their best ``4 × depth`` pairs; how many pairs were new."""
        added = 0
        t0 = time.perf_counter()
        for depth in np.unique(self.depth[who]).tolist():
            rows = who[self.depth[who] == depth]
            deeper = int(depth) * 4
            sub = demand_rows(self.sc, rows)
            top = sub.top_k(min(deeper, self.sc.shape[1]), by="demand")
            n = top.index.shape[1]
            rr = np.repeat(rows, n)
            cc, ss = top.index.reshape(-1), top.scores.reshape(-1)
            ok = (cc >= 0) & (ss >= np.float32(self.reservation))
            rr, cc, ss = rr[ok], cc[ok], ss[ok]
            self.cut(rr, cc, ss, rows, deeper)
            added += self.add(rr, cc, ss)
        self.checks += 1
        self.pass_seconds += time.perf_counter() - t0
        return added


# ---- solving -------------------------------------------------------------------------
def _areas(m: Market, part: Part, od: np.ndarray, ol: np.ndarray) -> dict[str, Any]:
    d, l = m.sc.demand_side, m.sc.listing_side
    rows, cols = od[part.rows], ol[part.cols]
    return {"area_min": d.area_min[rows], "area_max": d.hi[rows], "area": l.area[cols], "unit": l.unit[cols],
            "room": m.room[cols]}


def _solve_parts(m: Market) -> tuple[np.ndarray, np.ndarray, list[tuple[Part, np.ndarray, np.ndarray, Any]]]:
    """The method on every part; rows and columns as market rows, and per part its local
    solution (and divisible's result)."""
    od, ol = _inverse(m.rank_d), _inverse(m.rank_l)
    ps = parts(m.candidates(), PART_PAIRS)  # each part holds its own pairs: the whole list goes
    out_r, out_c = [], []
    solved: list[tuple[Part, np.ndarray, np.ndarray, Any]] = []
    for part in ps:
        pc = part.candidates
        extra: Any = None
        if m.method == "one_to_one":
            r, k = one_to_one(pc, m.reservation)
        elif m.method == "stable":
            from matcher.match import landlord_pair_scores

            land = landlord_pair_scores(m.sc, od[part.rows[pc.rows]], ol[part.cols[pc.cols]])
            prefs = Candidates(pc.shape, pc.rows, pc.cols, land.astype(np.float64))
            r, k = stable(pc, prefs, reservation=m.reservation, **_areas(m, part, od, ol))
        else:
            extra = divisible(pc, reservation=m.reservation, **_areas(m, part, od, ol))
            r, k = extra.rows, extra.cols
        solved.append((part, r, k, extra))
        out_r.append(od[part.rows[r]])
        out_c.append(ol[part.cols[k]])
    if not out_r:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), solved
    return np.concatenate(out_r).astype(np.int64), np.concatenate(out_c).astype(np.int64), solved


def allocate(m: Market) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
    """Solve the market's method; the pairs (market rows), the gap and the limits.

    Returns
    -------
    demand, listing : ndarray of int64
        Rows of the pairs chosen (not sorted).
    gap : float
        Relative gap to an upper bound over every pair of the market (module docstring).
    limits : dict
        ``pairs`` ("all" or ``{"per_record": keep}``), ``checks`` (passes over every
        pair), ``optimal`` where proven, and the divisible solver's limits.
    """
    limits: dict[str, Any] = {"pairs": "all" if m.keep is None else {"per_record": int(m.keep)}}
    if m.method == "one_to_one":
        r, c, gap = _one_to_one(m)
    elif m.method == "stable":
        r, c, gap = _stable(m)
    else:
        r, c, gap, solver = _divisible(m)
        limits.update(solver)
    limits["checks"] = int(m.checks)
    return r, c, gap, limits


def _one_to_one(m: Market) -> tuple[np.ndarray, np.ndarray, float]:
    while True:
        r, c, solved = _solve_parts(m)
        if m.keep is None:
            return r, c, 0.0
        n_d, n_l = m.sc.shape
        u, v = np.zeros(n_d), np.zeros(n_l)
        od, ol = _inverse(m.rank_d), _inverse(m.rank_l)
        for part, pr, pk, _ in solved:
            pu, pv = assignment_duals(part.candidates, pr, pk, tol=1e-7)
            u[od[part.rows]], v[ol[part.cols]] = pu, pv
        near = _violations(m, u, v, tol=1e-7, margin=CHECK_MARGIN, per_row=CHECK_PER_ROW)
        viol = tuple(x[near[3] > 1e-7] for x in near)
        m.checks += 1
        if len(viol[0]) == 0:
            return r, c, 0.0
        if m.checks >= MAX_CHECKS:
            extra = np.zeros(n_d)
            np.maximum.at(extra, viol[0], viol[3])
            bound = float(u.sum() + v.sum() + extra.sum())
            obj = float(m.score_of(r, c).sum())
            return r, c, max(0.0, (bound - obj) / bound) if bound > 0 else 0.0
        m.add(near[0], near[1], near[2])  # the violations and the pairs near them


def _violations(m: Market, u: np.ndarray, v: np.ndarray, tol: float = 1e-7, margin: float = 0.0,
                per_row: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Allowed pairs not held whose reduced score ``s - u - v`` exceeds ``tol`` (over
    every pair of the market), and with ``margin`` those within ``margin`` of it too
    (reduced score above ``-margin``): rows, columns, scores, reduced scores.

    Only pairs that nothing proves already are scored again (:func:`_check_plan`):

    * a pair the scoring pass did not keep lies outside both records' best ``keep``, so
      it scores at most ``min(cut_at[i], lcut_at[j])``: only demands with ``cut_at > u``
      and listings with ``lcut_at > v`` can hold one that violates;
    * a pair checked by an earlier pass scores at most ``proven_u[i] + proven_v[j]``, so
      it needs scoring only if its prices fell in sum below that: the eligible rows are
      taken in groups by how far their price fell, each against the columns whose price
      rose by less than the group's largest fall;
    * on a province, a pair whose records lie too far apart to score above their prices
      (:mod:`scoring.bounds`).

    Afterwards every pair not held scores at most ``u[i] + v[j] + t`` (``t = tol``, or
    ``-margin``), except those returned, which the caller adds to the held pairs before
    it checks again. With a margin the next check scores only the pairs whose prices
    fell by more than it, after prices moved a little with the pairs added.

    With ``per_row``, at most that many pairs of each demand are returned, those with the
    highest reduced scores (ties by listing); a demand with more is proven only to the
    highest reduced score it left out (``proven_u``), so the next check scores it again.
    Each demand's highest reduced score is always returned: an upper bound on the
    optimum made from the returned violations stays one."""
    u = u.astype(np.float64)
    v = v.astype(np.float64)
    u[m.locked_rows] = np.inf  # out of the problem: nothing to check
    v[m.taken] = np.inf
    n_d, n_l = m.sc.shape
    floor = min(tol, -margin)
    found = []
    plan = _check_plan(m, u, v, floor)
    if m.client is not None and plan:  # every block as tasks at once, the listings scattered once
        from scoring.distributed import dual_violations_blocks

        t0 = time.perf_counter()
        found = dual_violations_blocks(m.client, m.sc, plan, u, v, m.reservation, floor, m.scattered())
        m.pass_seconds += time.perf_counter() - t0
        plan = []
    for rows, cols in plan:
        if rows.size == n_d and cols.size == n_l:
            dv = m.dual_violations(m.sc, u, v, floor)
            found.append((dv.demand, dv.listing, dv.score, dv.reduced))
        else:
            dv = m.dual_violations(demand_rows(m.sc, rows, cols), u[rows], v[cols], floor)
            found.append((rows[dv.demand], cols[dv.listing], dv.score, dv.reduced))
    m.proven_u, m.proven_v = u + floor, v
    if not found:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32), np.zeros(0)
    dem, lis, sco, red = (np.concatenate(x) for x in zip(*found))
    ok = m.allowed(dem, lis) & ~m.has(dem, lis)
    dem, lis, sco, red = dem[ok], lis[ok], sco[ok], red[ok]
    if per_row is not None:
        keep = _closest(dem, lis, red, per_row)
        if not keep.all():  # a demand whose pairs were left out is proven to the highest of them only
            np.maximum.at(m.proven_u, dem[~keep], u[dem[~keep]] + red[~keep])
            dem, lis, sco, red = dem[keep], lis[keep], sco[keep], red[keep]
    return dem, lis, sco, red


def _closest(dem: np.ndarray, lis: np.ndarray, red: np.ndarray, per_row: int) -> np.ndarray:
    """Which pairs to keep: the ``per_row`` with the highest reduced score of each demand
    (ties by listing)."""
    o = np.lexsort((lis, -red, dem))
    d = dem[o]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if d.size else np.zeros(0, np.int64)
    rank = np.arange(d.size) - np.repeat(starts, np.diff(np.r_[starts, d.size]))
    keep = np.zeros(d.size, dtype=bool)
    keep[o[rank < per_row]] = True
    return keep


def _check_plan(m: Market, u: np.ndarray, v: np.ndarray, floor: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The blocks (rows, columns) a check for reduced scores above ``floor`` scores:
    every pair outside them is proven not to hold one (see :func:`_violations`). Rows
    are grouped by their location group (on markets of :data:`SPATIAL_PAIRS` pairs or
    more), then by how far their price fell, then by price; each group of rows takes
    the columns one of its rows may need."""
    with np.errstate(invalid="ignore"):
        rows_e = np.flatnonzero(m.cut_at.astype(np.float64) > u + floor)
        cols_e = np.flatnonzero(m.lcut_at.astype(np.float64) > v + floor)
        fell = (np.full(rows_e.size, np.inf) if m.proven_u is None else m.proven_u[rows_e] - u[rows_e] - floor)
        rose = (np.full(cols_e.size, -np.inf) if m.proven_v is None else v[cols_e] - m.proven_v[cols_e])
    if rows_e.size == 0 or cols_e.size == 0:
        return []
    bounds = m.location_bounds()
    if bounds is None:
        by_place = [np.arange(rows_e.size)]
    else:
        g = bounds.group[rows_e]
        o = np.argsort(g, kind="stable")
        by_place = np.split(o, np.flatnonzero(np.diff(g[o])) + 1)
        ub_cols = bounds.ub[:, bounds.cell[cols_e]]  # (n_groups, len(cols_e))
    # buckets of rows by how far their dual fell since the last check, then by the dual
    # itself (only where location bounds make it count): CHECK_BUCKETS shared out
    n_fell, n_price = {(False, False): (1, 1), (False, True): (1, CHECK_BUCKETS),
                       (True, False): (CHECK_BUCKETS, 1),
                       (True, True): (2, CHECK_BUCKETS // 2)}[(m.proven_u is not None, bounds is not None)]
    plan = []
    for place in by_place:
        for part in np.array_split(place[np.argsort(fell[place], kind="stable")], min(n_fell, place.size)):
            up = u[rows_e[part]]
            for bucket in np.array_split(part[np.argsort(up, kind="stable")], min(n_price, part.size)):
                need = rose < fell[bucket].max()
                if bounds is not None:
                    need &= ub_cols[bounds.group[rows_e[bucket[0]]]] > u[rows_e[bucket]].min() + v[cols_e] + floor
                if need.any():
                    plan.append((np.sort(rows_e[bucket]), cols_e[need]))
    return plan


def _stable(m: Market) -> tuple[np.ndarray, np.ndarray, float]:
    while True:
        r, c, _ = _solve_parts(m)
        if m.keep is None:
            return r, c, 0.0
        short = m.lists_short_of(r, c)
        if short.size == 0:
            return r, c, 0.0
        m.lengthen(short)


def _divisible(m: Market) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
    if m.keep is None:
        r, c, solved = _solve_parts(m)
        results = [x for *_, x in solved]
        solver = _solver_limits(results)
        obj, bound = float(sum(x.objective for x in results)), float(sum(x.bound for x in results))
        return r, c, (max(0.0, (bound - obj) / bound) if bound > 0 and not solver["optimal"] else 0.0), solver
    # column generation on the LP relaxation: prices from the kept pairs, checked
    # against every pair; the integer problem is solved once, on the pairs it ends with
    unit = np.nan_to_num(m.sc.listing_side.unit, nan=0.0)
    while True:
        lam, gain = _prices(m)
        v = lam * np.where(unit > 0, unit, 1.0)  # the least capacity a pair can use
        viol = _violations(m, gain, v, tol=1e-9)
        m.checks += 1
        if not len(viol[0]) or m.checks >= DIVISIBLE_CHECKS:
            break
        m.add(viol[0], viol[1], viol[2])
    r, c, solved = _solve_parts(m)
    results = [x for *_, x in solved]
    obj = float(sum(x.objective for x in results))
    top = gain.copy()
    if len(viol[0]):  # what the pairs left out could still add to the bound
        np.maximum.at(top, viol[0], viol[2].astype(np.float64) - v[viol[1]])
    top[m.locked_rows] = 0.0
    cap = np.where(unit > 0, m.room, 1.0)
    bound = float(np.maximum(top, 0.0).sum() + (lam * cap)[~m.taken].sum())
    return r, c, (max(0.0, (bound - obj) / bound) if bound > 0 else 0.0), _solver_limits(results)


def _prices(m: Market) -> tuple[np.ndarray, np.ndarray]:
    """The LP relaxation's capacity prices over the held pairs (per part) and each
    demand's best ``s - price * need`` among them (market rows)."""
    n_d, n_l = m.sc.shape
    lam, gain = np.zeros(n_l), np.zeros(n_d)
    od, ol = _inverse(m.rank_d), _inverse(m.rank_l)
    for part in parts(m.candidates(), PART_PAIRS):
        pl, pg = lp_prices(part.candidates, reservation=m.reservation, **_areas(m, part, od, ol))
        lam[ol[part.cols]] = pl
        gain[od[part.rows]] = pg
    return lam, gain


def _solver_limits(results: list[Any]) -> dict[str, Any]:
    """The divisible solvers the parts used and their limits, in one dict."""
    methods = sorted({x.method for x in results})
    out: dict[str, Any] = {"solver": methods[0] if len(methods) == 1 else "+".join(methods) if methods else "milp"}
    for x in results:
        for k, val in x.limits.items():
            out.setdefault(k, val)
    out["optimal"] = all(x.optimal for x in results)
    out["parts"] = len(results)
    return out


def disjoint_rounds(m: Market, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k disjoint optimal one-to-one allocations over the market's pairs, each excluding
    the pairs of the ones before it; rows sorted by demand row."""
    if k == 0:
        return []
    od, ol = _inverse(m.rank_d), _inverse(m.rank_l)
    c = m.candidates()
    alive = np.ones(len(c), dtype=bool)
    key = c.rows * max(c.shape[1], 1) + c.cols
    out = []
    for _ in range(k):
        cur = Candidates(c.shape, c.rows[alive], c.cols[alive], c.scores[alive])
        r, cc = one_to_one(cur, m.reservation)
        if r.size == 0:
            break
        alive[np.searchsorted(key, r * max(c.shape[1], 1) + cc)] = False
        rows, cols = od[r], ol[cc]
        order = np.argsort(rows, kind="stable")
        out.append((rows[order], cols[order]))
    return out
