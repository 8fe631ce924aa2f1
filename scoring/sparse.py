"""Sparse results: the candidate pairs of a market and what every record's row says, without
the full matrix.

:func:`candidates` scores the market block by block and keeps

* the feasible pairs scoring at least ``reservation`` (and more than 0): all of them, or
  only each demand's best ``per_demand`` and/or each listing's best ``per_listing``
  (their union), as sorted COO/CSR arrays (:class:`Candidates`);
* on request (``top_k``), each demand's and each listing's best ``top_k`` feasible
  partners whatever the reservation: the rankings of :meth:`scoring.Scorer.top_k`
  (recommendations), from the same pass;
* per demand and per listing, from the same pass (:class:`SideStats`): how many feasible
  partners it has, its best feasible score and that partner (below the reservation
  too), and how many pairs fail each rule: what "no feasible listing: 31 fail area,
  8 fail fire class" and "best partner scores 0.21, below the reservation" are made of.

:func:`dual_violations` checks a one-to-one solution's duals against every feasible
pair: the pairs scoring at least the reservation whose reduced score
``s_ij - u_i - v_j`` exceeds a tolerance (none: the solution is optimal over all pairs).

Both run on the compiled loop (:mod:`scoring.fast`) when the scorer's engine takes it,
else on numpy blocks; both give the same pairs and the same float32 scores as
:meth:`scoring.Scorer.score` for the same pairs. Nothing of size n_demands x n_listings
is allocated: numpy blocks are sized by ``memory_bytes``, the compiled loop keeps per
worker one buffer of pairs within ``memory_bytes`` (a block of rows that overflows it is
split and scored again) and per listing its counts (about 84 bytes per listing and
worker, 170 MB for a million listings on two threads).

With ``prune=True`` (the default on the compiled path) demands only visit the listings
the deal and area rules can pass (:mod:`scoring.prune`): the pairs, best scores and
feasible counts are exact; rule counts then count a skipped pair only under the rule
that skipped it (``Candidates.exact_rule_counts`` is False), so the other rules'
counts are lower bounds (:meth:`scoring.Scorer.rule_counts` gives exact counts for a
few records).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scoring import fast
from scoring.prune import ListingIndex, skipped_counts, spans
from scoring.results import TopK
from scoring.rules import RULES
from scoring.select import select_top

if TYPE_CHECKING:
    from scoring.engine import Scorer

__all__ = ["Candidates", "DualViolations", "SideStats", "candidates", "dual_violations", "row_top_pruned",
           "top_k_pruned"]

N_BITS = max(r.bit for r in RULES) + 1
_RULE_BITS = np.array([r.bit for r in RULES], dtype=np.int64)
_PAIR_BYTES = 20  # a buffered pair: row, column, score
_NUMPY_BYTES_PER_PAIR = 112  # a numpy block: its evaluation and the masks taken from it


@dataclass(frozen=True, eq=False)
class SideStats:
    """Per record of one side, over its feasible partners.

    Attributes
    ----------
    n_feasible : ndarray of int64, shape (n,)
        Partners passing every rule.
    best : ndarray of float32, shape (n,)
        Best feasible score (whatever the reservation); NaN without a feasible partner.
    best_partner : ndarray of int64, shape (n,)
        Its row on the other side (ties by id rank, as every ranking); -1 when none.
    rule_counts : ndarray of int64, shape (n, n_rules)
        Pairs failing each rule, columns in the order of :data:`scoring.rules.RULES`.
    """

    n_feasible: np.ndarray
    best: np.ndarray
    best_partner: np.ndarray
    rule_counts: np.ndarray

    def rules(self, k: int) -> dict[str, int]:
        """Record ``k``'s failing pairs by rule name, largest first, zeros left out (the
        shape of :meth:`scoring.ScoreResult.rule_counts`)."""
        counts = {r.name: int(c) for r, c in zip(RULES, self.rule_counts[k])}
        return dict(sorted(((n, c) for n, c in counts.items() if c), key=lambda kv: -kv[1]))


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate pairs and per-record statistics (see :func:`candidates`).

    Attributes
    ----------
    demand, listing : ndarray of int64, shape (n_pairs,)
        Rows of the pairs, sorted by demand row, then listing row.
    score : ndarray of float32, shape (n_pairs,)
        Their totals, equal to ``Scorer.score().total[demand, listing]``.
    indptr : ndarray of int64, shape (n_demands + 1,)
        CSR: demand i's pairs are ``indptr[i]:indptr[i + 1]``.
    demands, listings : SideStats
    reservation : float
    per_demand, per_listing : int or None
    exact_rule_counts : bool
        False when a pruning index skipped pairs (see the module docstring).
    shape : tuple of int
        ``(n_demands, n_listings)``.
    top_demand, top_listing : TopK or None
        Each demand's (listing's) best ``top_k`` feasible partners, whatever the
        reservation, as :meth:`scoring.Scorer.top_k` ranks them; None when not asked.

    Examples
    --------
    >>> from matcher import generate_market
    >>> import scoring
    >>> m = generate_market(60, 50, seed=1)
    >>> s = scoring.Scorer(m.demands, m.listings)
    >>> c = s.candidates(reservation=0.35)
    >>> full = s.score().total
    >>> bool((full[c.demand, c.listing] == c.score).all())
    True
    >>> int(c.demands.n_feasible.sum()) == int((~np.isnan(full)).sum())
    True
    """

    demand: np.ndarray
    listing: np.ndarray
    score: np.ndarray
    indptr: np.ndarray
    demands: SideStats
    listings: SideStats
    reservation: float
    per_demand: int | None
    per_listing: int | None
    exact_rule_counts: bool
    shape: tuple[int, int]
    top_demand: TopK | None = None
    top_listing: TopK | None = None

    def __len__(self) -> int:
        return len(self.demand)

    def to_csr(self) -> Any:
        """The scores as a ``scipy.sparse.csr_array`` of ``shape`` (float32)."""
        from scipy.sparse import csr_array

        return csr_array((self.score, self.listing, self.indptr), shape=self.shape)


@dataclass(frozen=True, eq=False)
class DualViolations:
    """Feasible pairs whose reduced score exceeds the tolerance (see :func:`dual_violations`).

    Attributes
    ----------
    demand, listing : ndarray of int64, shape (n,)
        Sorted by demand row, then listing row.
    score : ndarray of float32, shape (n,)
    reduced : ndarray of float64, shape (n,)
        ``score - u[demand] - v[listing]``.
    """

    demand: np.ndarray
    listing: np.ndarray
    score: np.ndarray
    reduced: np.ndarray

    def __len__(self) -> int:
        return len(self.demand)


def _check_k(name: str, k: int | None) -> int:
    if k is None:
        return 0
    if int(k) < 1:
        raise ValueError(f"{name} == {k}, must be >= 1 or None")
    return int(k)


# ---- the compiled path -------------------------------------------------------------------
def _pruned(scorer: Scorer, prune: bool) -> tuple[fast.Prepared, np.ndarray, ListingIndex | None]:
    """The prepared market the loop visits, the listing row of each position, the index."""
    if not prune:
        return scorer.compiled_market, np.arange(scorer.shape[1], dtype=np.int64), None
    return scorer.pruned_market


def _row_order(scorer: Scorer, index: ListingIndex | None) -> np.ndarray:
    """Demand rows in visiting order: when pruning, by (deal, has an area, lo, hi), the
    keys a row's spans follow, so that the rows of a work item have nearly the same
    spans and each walks long runs of its own (sorting by ``lo`` alone mixed deal types
    and upper bounds: 37 % more CPU time in the pruned passes, ``benchmarks/README.md``)."""
    n = scorer.shape[0]
    if index is None:
        return np.arange(n, dtype=np.int64)
    d = scorer.demand_side
    return np.lexsort((d.hi, d.lo, ~d.has_area.astype(bool), d.deal)).astype(np.int64)


def _spans_of(scorer: Scorer, index: ListingIndex | None, rows: np.ndarray) -> np.ndarray:
    if index is None:
        sp = np.zeros((len(rows), 1, 2), dtype=np.int64)
        sp[:, 0, 1] = scorer.shape[1]
        return sp
    return spans(index, scorer.demand_side, rows)


def _blocks(n: int, first: int) -> list[tuple[int, int]]:
    return [(a, min(a + first, n)) for a in range(0, n, max(first, 1))]


def _lists(n: int, k: int, workers: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty best-first lists of ``k`` for ``n`` records (index, scores, count), one set
    per worker when ``workers`` > 0 (what the loop fills)."""
    lead = (workers, n) if workers else (n,)
    return np.zeros((*lead, max(k, 1)), np.int64), np.zeros((*lead, max(k, 1)), np.float32), np.zeros(lead, np.int64)


def _demand_lists(lists: tuple[np.ndarray, np.ndarray, np.ndarray], rows: np.ndarray, order: np.ndarray,
                  k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lists the loop filled by row position (demand ``rows[p]``, listings by index
    position) as (index, scores, count) by demand row, listing rows, padded."""
    idx, sc, cnt = (x[:, :k] if x.ndim == 2 else x for x in lists)
    out_i, out_s, out_c = np.empty_like(idx), np.empty_like(sc), np.empty_like(cnt)
    out_i[rows], out_s[rows], out_c[rows] = idx, sc, cnt
    fast.kernel().finish(out_i, out_s, out_c, k, 0, len(out_c))
    return np.where(out_i >= 0, order[np.maximum(out_i, 0)], -1), out_s, out_c


def _listing_lists(lists: tuple[np.ndarray, np.ndarray, np.ndarray], order: np.ndarray, tie_d: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The workers' lists of each listing position merged into one of ``k``, by listing row."""
    n_l = lists[0].shape[1]
    li, ls, lc = np.empty((n_l, k), np.int64), np.empty((n_l, k), np.float32), np.empty(n_l, np.int64)
    fast.run_items(fast.kernel().merge_top, (*lists, k, tie_d, li, ls, lc), n_l)
    out_i, out_s, out_c = np.empty_like(li), np.empty_like(ls), np.empty_like(lc)
    out_i[order], out_s[order], out_c[order] = li, ls, lc
    return out_i, out_s, out_c


def _top(lists: tuple[np.ndarray, np.ndarray, np.ndarray], k: int, by: str) -> TopK:
    """A ranking of ``kk`` <= ``k`` columns as :meth:`Scorer.top_k` returns it: ``k``
    columns, -1 / NaN padded."""
    idx, sc, cnt = lists
    n, kk = idx.shape
    index, scores = np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.nan, dtype=np.float32)
    index[:, :kk], scores[:, :kk] = idx, sc
    return TopK(index=index, scores=scores, count=cnt.astype(np.int64), by=by)


def _candidates_compiled(scorer: Scorer, reservation: float, per_d: int, per_l: int, memory_bytes: int,
                         prune: bool, top: int = 0) -> Candidates:
    k = fast.kernel()
    n_d, n_l = scorer.shape
    pre, order, index = _pruned(scorer, prune)
    tie_d = scorer.id_ranks("demand")
    tie_l = np.ascontiguousarray(scorer.id_ranks("listing")[order])
    nw = fast.threads()
    keep_all = per_d == 0 and per_l == 0
    cap = max(1024, memory_bytes // (_PAIR_BYTES * nw)) if keep_all else 1
    rows_all = _row_order(scorer, index)
    sp_all = _spans_of(scorer, index, rows_all)

    d_count = np.zeros(n_d, dtype=np.int64)
    d_best = np.full(n_d, np.nan, dtype=np.float32)
    d_best_j = np.full(n_d, -1, dtype=np.int64)
    d_rules = np.zeros((n_d, N_BITS), dtype=np.int64)
    d_visits = np.zeros(n_d, dtype=np.int64)
    l_count = np.zeros((nw, n_l), dtype=np.int64)
    l_best = np.full((nw, n_l), -np.inf, dtype=np.float32)
    l_best_i = np.full((nw, n_l), -1, dtype=np.int64)
    l_rules = np.zeros((nw, N_BITS, n_l), dtype=np.int32)
    hl = _lists(n_l, per_l, nw)
    top_d, top_l = min(top, n_l), min(top, n_d)
    td = _lists(n_d, top_d)  # by row position, as the loop visits them
    tl = _lists(n_l, top_l, nw)
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    buf = (np.empty((nw, cap), dtype=np.int64), np.empty((nw, cap), dtype=np.int64),
           np.empty((nw, cap), dtype=np.float32))

    def run(a: int, b: int) -> None:
        rows, sp = rows_all[a:b], np.ascontiguousarray(sp_all[a:b])
        m = b - a
        cnt, best, best_j = np.empty(m, np.int64), np.empty(m, np.float32), np.empty(m, np.int64)
        rules, visits = np.empty((m, N_BITS), np.int64), np.empty(m, np.int64)
        hd = _lists(m, per_d)
        fill = np.zeros(nw, dtype=np.int64)
        state: list[np.ndarray] = [l_count, l_best, l_best_i, l_rules, *hl, *tl]  # what a retry must undo
        saved = [x.copy() for x in state] if keep_all else []
        td[2][a:b] = 0
        args = (*pre.args, rows, sp, np.float32(reservation), True, True, per_d, per_l, keep_all, tie_l, tie_d,
                N_BITS, cnt, best, best_j, rules, visits, l_count, l_best, l_best_i, l_rules, *buf, fill, *hd, *hl,
                top_d, top_l, td[0][a:b], td[1][a:b], td[2][a:b], *tl)
        fast.run_items(k.candidates, args, k.row_items(m), nw)
        if keep_all and (fill < 0).any():  # a worker's buffer overflowed: undo, split, again
            for dst, src in zip(state, saved):
                dst[...] = src
            if m == 1:
                raise MemoryError(f"one demand has more candidate pairs than memory_bytes == {memory_bytes} holds")
            half = a + m // 2
            run(a, half)
            run(half, b)
            return
        d_count[rows], d_best[rows], d_best_j[rows] = cnt, best, np.where(best_j >= 0, order[best_j], -1)
        d_rules[rows], d_visits[rows] = rules, visits
        if keep_all:
            indptr = np.empty(m + 1, dtype=np.int64)
            out_j = np.empty(int(fill.sum()), dtype=np.int64)
            out_s = np.empty(int(fill.sum()), dtype=np.float32)
            k.assemble(*buf, fill, m, indptr, out_j, out_s)
            pairs.append((np.repeat(rows, np.diff(indptr)), order[out_j], out_s))
        if per_d:
            hi_, hs, hc = hd
            mask = np.arange(per_d)[None, :] < hc[:, None]
            pairs.append((np.repeat(rows, hc), order[hi_[mask]], hs[mask]))

    step = n_d if not keep_all else max(1, min(n_d, cap * nw // max(n_l // 8, 1)))
    for a, b in _blocks(n_d, step):
        run(a, b)
    # the pair buffers go before the result is built
    buf = (np.empty((nw, 0), np.int64), np.empty((nw, 0), np.int64), np.empty((nw, 0), np.float32))

    # per listing: merge the workers' slots, then back from index positions to rows
    lc = l_count.sum(axis=0)
    lb, lbi = np.empty(n_l, np.float32), np.empty(n_l, np.int64)
    fast.run_items(k.merge_best, (l_best, l_best_i, tie_d, lb, lbi), n_l, nw)
    lr = l_rules.sum(axis=0, dtype=np.int64).T  # (n_l, N_BITS)
    if per_l:
        li, ls, lcnt = _listing_lists(hl, order, tie_d, per_l)
        mask = np.arange(per_l)[None, :] < lcnt[:, None]
        pairs.append((li[mask], np.repeat(np.arange(n_l), lcnt), ls[mask]))
    hl = _lists(0, 0, nw)
    l_stats = _side_stats(n_l, order, lc, np.where(lbi >= 0, lb, np.nan), lbi, lr)
    d_stats = SideStats(d_count, d_best, d_best_j, d_rules[:, _RULE_BITS])
    exact = index is None
    if index is not None:  # skipped pairs count under the rule that skipped them
        dd, da, ld, la = skipped_counts(index, scorer.demand_side, rows_all, sp_all)
        deal_col, area_col = _col("deal"), _col("area")
        d_stats.rule_counts[rows_all, deal_col] += dd
        d_stats.rule_counts[rows_all, area_col] += da
        l_stats.rule_counts[order, deal_col] += ld
        l_stats.rule_counts[order, area_col] += la
        exact = bool((dd + da).sum() == 0)
    tops = (_top(_demand_lists(td, rows_all, order, top_d), top, "demand"),
            _top(_listing_lists(tl, order, tie_d, top_l), top, "listing")) if top else (None, None)
    return _result(pairs, n_d, n_l, reservation, per_d, per_l, d_stats, l_stats, exact,
                   presorted=keep_all and index is None, rows_in_runs=keep_all and index is not None, tops=tops)


def _col(name: str) -> int:
    return next(k for k, r in enumerate(RULES) if r.name == name)


def _side_stats(n: int, order: np.ndarray, count: np.ndarray, best: np.ndarray, best_x: np.ndarray,
                rules: np.ndarray) -> SideStats:
    """Per-position statistics scattered back to rows."""
    out = SideStats(np.empty(n, np.int64), np.empty(n, np.float32), np.empty(n, np.int64),
                    np.empty((n, len(RULES)), np.int64))
    out.n_feasible[order] = count
    out.best[order] = best
    out.best_partner[order] = best_x
    out.rule_counts[order] = rules[:, _RULE_BITS]
    return out


def _result(pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_d: int, n_l: int, reservation: float,
            per_d: int, per_l: int, d_stats: SideStats, l_stats: SideStats, exact: bool,
            presorted: bool = False, rows_in_runs: bool = False,
            tops: tuple[TopK | None, TopK | None] = (None, None)) -> Candidates:
    if pairs:
        dem = np.concatenate([p[0] for p in pairs]).astype(np.int64)
        lis = np.concatenate([p[1] for p in pairs]).astype(np.int64)
        sco = np.concatenate([p[2] for p in pairs]).astype(np.float32)
        pairs.clear()  # the parts go as soon as they are joined
    else:
        dem, lis, sco = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    if rows_in_runs and len(dem):
        # every demand's pairs in one run (each row is found whole, by one worker): put
        # the runs in demand order and sort each by listing, without a global sort
        indptr = np.zeros(n_d + 1, dtype=np.int64)
        np.cumsum(np.bincount(dem, minlength=n_d), out=indptr[1:])
        starts = np.flatnonzero(np.diff(dem, prepend=-1)).astype(np.int64)
        starts = np.append(starts, len(dem))
        out_l, out_s = np.empty_like(lis), np.empty_like(sco)
        fast.run_items(fast.kernel().place_rows, (dem, lis, sco, starts, indptr, out_l, out_s), starts.size - 1)
        dem = np.repeat(np.arange(n_d, dtype=np.int64), np.diff(indptr))
        return Candidates(demand=dem, listing=out_l, score=out_s, indptr=indptr, demands=d_stats,
                          listings=l_stats, reservation=float(reservation), per_demand=None, per_listing=None,
                          exact_rule_counts=exact, shape=(n_d, n_l), top_demand=tops[0], top_listing=tops[1])
    if not presorted or (per_d and per_l):
        key = dem * max(n_l, 1) + lis
        key, first = np.unique(key, return_index=True)  # sorted; the union's duplicates once
        dem, lis, sco = dem[first], lis[first], sco[first]
    indptr = np.zeros(n_d + 1, dtype=np.int64)
    np.cumsum(np.bincount(dem, minlength=n_d), out=indptr[1:])
    return Candidates(demand=dem, listing=lis, score=sco, indptr=indptr, demands=d_stats, listings=l_stats,
                      reservation=float(reservation), per_demand=per_d or None, per_listing=per_l or None,
                      exact_rule_counts=exact, shape=(n_d, n_l), top_demand=tops[0], top_listing=tops[1])


def top_k_pruned(scorer: Scorer, k: int, by: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`Scorer.top_k` on the compiled path with the pruning index: demands visit
    only the listings the deal and area rules can pass, each feasible pair goes straight
    into its demand's best-first list (``by="demand"``) or its listing's, one list per
    worker, merged at the end (``by="listing"``). Same result as scoring every pair.

    Returns
    -------
    index : ndarray of int64, shape (n, k)
    scores : ndarray of float32, shape (n, k)
    count : ndarray of int64, shape (n,)
    """
    n_d, n_l = scorer.shape
    pre, order, index = _pruned(scorer, True)
    tie_d = scorer.id_ranks("demand")
    tie_l = np.ascontiguousarray(scorer.id_ranks("listing")[order])
    nw = fast.threads()
    rows = _row_order(scorer, index)
    sp = _spans_of(scorer, index, rows)
    top_d, top_l = (k, 0) if by == "demand" else (0, k)
    td, tl = _lists(n_d if top_d else 0, k), _lists(n_l if top_l else 0, k, nw)
    z64, zf = np.zeros(0, np.int64), np.zeros(0, np.float32)
    kern = fast.kernel()
    args = (*pre.args, rows, sp, np.float32(-np.inf), False, False, 0, 0, False, tie_l, tie_d, N_BITS,
            z64, zf, z64, np.zeros((0, N_BITS), np.int64), z64, np.zeros((nw, 0), np.int64),
            np.zeros((nw, 0), np.float32), np.zeros((nw, 0), np.int64), np.zeros((nw, N_BITS, 0), np.int32),
            np.zeros((nw, 0), np.int64), np.zeros((nw, 0), np.int64), np.zeros((nw, 0), np.float32),
            np.zeros(nw, np.int64), *_lists(0, 0), *_lists(0, 0, nw), top_d, top_l, *td, *tl)
    fast.run_items(kern.candidates, args, kern.row_items(rows.size), nw)
    if by == "demand":
        return _demand_lists(td, rows, order, k)
    return _listing_lists(tl, order, tie_d, k)


def row_top_pruned(scorer: Scorer, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Scorer.for_demand` on the compiled path: demand row ``i`` against the
    listings of its spans in the pruning index, parallel across the listings, each
    work item keeping its k best (no score per listing is written). Same result as
    selecting from the scored row.

    Returns
    -------
    index : ndarray of int64, shape (c,)
        Listing rows, best first (ties by id rank); c <= k feasible listings.
    scores : ndarray of float32, shape (c,)
    """
    pre, order, index = scorer.pruned_market
    tie_l = scorer.pruned_ties
    sp = np.ascontiguousarray(spans(index, scorer.demand_side, np.array([i], dtype=np.int64))[0])
    idx, sc, cnt = np.empty((1, k), np.int64), np.empty((1, k), np.float32), np.empty(1, np.int64)
    kern = fast.kernel()
    # work items: each span cut into runs of at most ITEM positions
    runs = [np.arange(a, b, kern.ITEM, dtype=np.int64) for a, b in sp.tolist()]
    starts = np.concatenate([np.zeros(0, np.int64), *runs])
    ends = np.concatenate([np.zeros(0, np.int64),
                           *(np.minimum(r + kern.ITEM, b) for r, (_, b) in zip(runs, sp.tolist()))])
    n_items = starts.size
    hi, hs, hc = np.empty((n_items, 1, k), np.int64), np.empty((n_items, 1, k), np.float32), \
        np.zeros((n_items, 1), np.int64)
    fast.run_items(kern.row_top, (*pre.args, i, starts, ends, k, tie_l, hi, hs, hc), n_items, chunks=1)
    kern.merge_top(hi, hs, hc, k, tie_l, idx, sc, cnt, 0, 1, 0)  # (one row: no threads)
    c = int(cnt[0])
    return order[idx[0, :c]], sc[0, :c]


# ---- the numpy path ------------------------------------------------------------------------
def _merge_lists(idx_a: np.ndarray, sc_a: np.ndarray, idx_b: np.ndarray, sc_b: np.ndarray, k: int,
                 tie: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k best of two best-first lists (-1 / NaN padded), ties by ``tie``."""
    idx = np.concatenate([idx_a, idx_b], axis=1)
    sc = np.concatenate([sc_a, sc_b], axis=1)
    neg = np.where(idx >= 0, -sc.astype(np.float64), np.inf)
    rank = np.where(idx >= 0, tie[np.maximum(idx, 0)], np.iinfo(np.int64).max)
    order = np.lexsort((rank, neg), axis=-1)[:, :k]
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(sc, order, axis=1)


def _column_top(t: np.ndarray, k: int, tie: np.ndarray, a: int) -> tuple[np.ndarray, np.ndarray]:
    """Each column's best ``k`` of a block of demand rows ``a ...`` (its values ``t``,
    NaN: left out), as demand rows, padded to ``k`` columns."""
    n, m = t.shape
    kk = min(k, n)
    ti, ts, _ = select_top(t.T, kk, tie[a:a + n])
    ti = np.where(ti >= 0, ti + a, -1)
    if kk < k:
        ti = np.concatenate([ti, np.full((m, k - kk), -1, np.int64)], axis=1)
        ts = np.concatenate([ts, np.full((m, k - kk), np.nan, np.float32)], axis=1)
    return ti, ts


def _candidates_numpy(scorer: Scorer, reservation: float, per_d: int, per_l: int, memory_bytes: int,
                      top: int = 0) -> Candidates:
    n_d, n_l = scorer.shape
    tie_d, tie_l = scorer.id_ranks("demand"), scorer.id_ranks("listing")
    step = max(1, memory_bytes // (_NUMPY_BYTES_PER_PAIR * max(n_l, 1)))
    d_count = np.zeros(n_d, np.int64)
    d_best = np.full(n_d, np.nan, np.float32)
    d_best_j = np.full(n_d, -1, np.int64)
    d_rules = np.zeros((n_d, len(RULES)), np.int64)
    l_count = np.zeros(n_l, np.int64)
    l_best = np.full((n_l, 1), np.nan, np.float32)
    l_best_i = np.full((n_l, 1), -1, np.int64)
    l_rules = np.zeros((n_l, len(RULES)), np.int64)
    l_top = (np.full((n_l, max(per_l, 1)), -1, np.int64), np.full((n_l, max(per_l, 1)), np.nan, np.float32))
    top_d, top_l = min(top, n_l), min(top, n_d)
    td = (np.full((n_d, top_d), -1, np.int64), np.full((n_d, top_d), np.nan, np.float32), np.zeros(n_d, np.int64))
    tl = (np.full((n_l, top_l), -1, np.int64), np.full((n_l, top_l), np.nan, np.float32))
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    keep_all = per_d == 0 and per_l == 0
    for a in range(0, n_d, step):
        b = min(a + step, n_d)
        failed, total = scorer.evaluate(scorer.block(a, b, 0, n_l))
        feas = failed == 0
        d_count[a:b] = feas.sum(axis=1)
        l_count += feas.sum(axis=0)
        for c, r in enumerate(RULES):
            hit = (failed & np.uint16(r.flag)) != 0
            d_rules[a:b, c] = hit.sum(axis=1)
            l_rules[:, c] += hit.sum(axis=0)
        if n_l:
            bi, bs, _ = select_top(total, 1, tie_l)
            d_best[a:b], d_best_j[a:b] = bs[:, 0], bi[:, 0]
            ci, cs, _ = select_top(total.T, 1, tie_d[a:b])
            ci = np.where(ci >= 0, ci + a, -1)
            l_best_i, l_best = _merge_lists(l_best_i, l_best, ci, cs, 1, tie_d)
        keep = (total >= np.float32(reservation)) & (total > 0)
        kept = np.where(keep, total, np.float32(np.nan))
        if keep_all:
            pr, pc = np.nonzero(keep)
            pairs.append((pr + a, pc, total[pr, pc]))
        if per_d and n_l:
            kk = min(per_d, n_l)
            ti, ts, tc = select_top(kept, kk, tie_l)
            mask = np.arange(kk)[None, :] < tc[:, None]
            pairs.append((np.repeat(np.arange(a, b), tc), ti[mask], ts[mask]))
        if per_l and n_l:
            l_top = _merge_lists(*l_top, *_column_top(kept, per_l, tie_d, a), per_l, tie_d)
        if top_d:  # every feasible pair, whatever the reservation (rankings)
            td[0][a:b], td[1][a:b], td[2][a:b] = select_top(total, top_d, tie_l)
        if top_l:
            tl = _merge_lists(*tl, *_column_top(total, top_l, tie_d, a), top_l, tie_d)
    if per_l:
        li, ls = l_top
        mask = li >= 0
        rows_l = np.repeat(np.arange(n_l), mask.sum(axis=1))
        pairs.append((li[mask], rows_l, ls[mask]))
    d_stats = SideStats(d_count, d_best, d_best_j, d_rules)
    l_stats = SideStats(l_count, l_best[:, 0].copy(), l_best_i[:, 0].copy(), l_rules)
    tops = (_top(td, top, "demand"), _top((*tl, (tl[0] >= 0).sum(axis=1)), top, "listing")) if top else (None, None)
    return _result(pairs, n_d, n_l, reservation, per_d, per_l, d_stats, l_stats, True, presorted=keep_all,
                   tops=tops)


def candidates(scorer: Scorer, reservation: float | None = None, per_demand: int | None = None,
               per_listing: int | None = None, memory_bytes: int = 256 << 20,
               prune: bool | None = None, top_k: int = 0) -> Candidates:
    """Candidate pairs of a market and per-record statistics, in one blockwise pass.

    Parameters
    ----------
    scorer : Scorer
    reservation : float, optional
        Keep pairs scoring at least this (and more than 0); default: the profile's.
    per_demand, per_listing : int, optional
        Keep only each demand's best ``per_demand`` and/or each listing's best
        ``per_listing`` of those pairs (their union); all of them when both are None.
        Ties by the partner's id rank, as every ranking.
    memory_bytes : int
        Budget for the blocks and buffers in flight (the result itself is not counted).
    prune : bool, optional
        Visit only the listings the deal and area rules can pass (:mod:`scoring.prune`);
        default: on the compiled path. The numpy path never prunes.
    top_k : int
        Also rank each demand's and each listing's best ``top_k`` feasible partners,
        whatever the reservation (``Candidates.top_demand``, ``top_listing``: equal to
        :meth:`scoring.Scorer.top_k`), in the same pass; 0: not.

    Returns
    -------
    Candidates
    """
    per_d, per_l = _check_k("per_demand", per_demand), _check_k("per_listing", per_listing)
    if top_k < 0:
        raise ValueError(f"top_k == {top_k}, must be >= 0")
    res = scorer.profile.reservation if reservation is None else float(reservation)
    n_d, n_l = scorer.shape
    if scorer.compiled(n_d * n_l) and n_d and n_l:
        return _candidates_compiled(scorer, res, per_d, per_l, memory_bytes, prune is not False, top_k)
    return _candidates_numpy(scorer, res, per_d, per_l, memory_bytes, top_k)


def dual_violations(scorer: Scorer, u: np.ndarray, v: np.ndarray, reservation: float | None = None,
                    tol: float = 1e-9, memory_bytes: int = 256 << 20, prune: bool | None = None) -> DualViolations:
    """Feasible pairs scoring at least the reservation whose reduced score exceeds ``tol``.

    For a one-to-one allocation solved on a subset of the pairs with duals ``u``, ``v``
    (the LP ``max sum s_ij x_ij``, each record at most once, pairs below the reservation
    left out): when no pair of the whole market has ``s_ij - u_i - v_j > tol``, the
    duals are feasible for the full problem and the solution is optimal over all
    pairs; otherwise add the pairs returned and solve again.

    Parameters
    ----------
    scorer : Scorer
    u : array_like of float, shape (n_demands,)
    v : array_like of float, shape (n_listings,)
    reservation : float, optional
        Default: the profile's.
    tol : float
    memory_bytes : int
        Budget for the blocks and buffers in flight.
    prune : bool, optional
        As for :func:`candidates` (pruned pairs are infeasible, so nothing is missed).

    Returns
    -------
    DualViolations
    """
    n_d, n_l = scorer.shape
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if u.shape != (n_d,):
        raise ValueError(f"u has shape {u.shape}, must be ({n_d},)")
    if v.shape != (n_l,):
        raise ValueError(f"v has shape {v.shape}, must be ({n_l},)")
    res = scorer.profile.reservation if reservation is None else float(reservation)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if scorer.compiled(n_d * n_l) and n_d and n_l:
        k = fast.kernel()
        pre, order, index = _pruned(scorer, prune is not False)
        vv = np.ascontiguousarray(v[order])
        nw = fast.threads()
        cap = max(1024, memory_bytes // (_PAIR_BYTES * nw))
        buf = (np.empty((nw, cap), np.int64), np.empty((nw, cap), np.int64), np.empty((nw, cap), np.float32))
        rows_all = _row_order(scorer, index)
        sp_all = _spans_of(scorer, index, rows_all)
        todo = [(0, n_d)]
        while todo:
            a, b = todo.pop()
            fill = np.zeros(nw, np.int64)
            rows = rows_all[a:b]
            args = (*pre.args, rows, np.ascontiguousarray(sp_all[a:b]), np.float32(res), u, vv, float(tol), *buf,
                    fill)
            fast.run_items(k.dual, args, k.row_items(b - a), nw)
            if (fill < 0).any():
                if b - a == 1:
                    raise MemoryError(f"one demand has more violations than memory_bytes == {memory_bytes} holds")
                todo += [(a, a + (b - a) // 2), (a + (b - a) // 2, b)]
                continue
            indptr = np.empty(b - a + 1, np.int64)
            out_j, out_s = np.empty(int(fill.sum()), np.int64), np.empty(int(fill.sum()), np.float32)
            k.assemble(*buf, fill, b - a, indptr, out_j, out_s)
            parts.append((np.repeat(rows, np.diff(indptr)), order[out_j], out_s))
    else:
        step = max(1, memory_bytes // (_NUMPY_BYTES_PER_PAIR * max(n_l, 1)))
        for a in range(0, n_d, step):
            b = min(a + step, n_d)
            _, total = scorer.evaluate(scorer.block(a, b, 0, n_l))
            with np.errstate(invalid="ignore"):
                hit = (total >= np.float32(res)) & (total.astype(np.float64) - u[a:b, None] - v[None, :] > tol)
            r, c = np.nonzero(hit)
            parts.append((r + a, c, total[r, c]))
    if parts:
        dem = np.concatenate([p[0] for p in parts]).astype(np.int64)
        lis = np.concatenate([p[1] for p in parts]).astype(np.int64)
        sco = np.concatenate([p[2] for p in parts]).astype(np.float32)
    else:
        dem, lis, sco = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    order_ = np.lexsort((lis, dem))
    dem, lis, sco = dem[order_], lis[order_], sco[order_]
    return DualViolations(dem, lis, sco, sco.astype(np.float64) - u[dem] - v[lis])
