"""The score matrix: every demand against every listing, in cache-sized blocks.

:class:`Scorer` prepares both sides once (:mod:`scoring.prepare`) and the industry
tables (:class:`scoring.block.Tables`), then evaluates blocks of demands × listings:
every rule of :mod:`scoring.rules` into a ``failed`` bitmask, every criterion of
:mod:`scoring.criteria` with a positive weight, and the weighted total::

    total[i, j] = sum_c w_c * s_c[i, j] / sum_c w_c      (NaN when failed[i, j] != 0)

Blocks run on a small thread pool (numpy releases the GIL inside its loops); each
block writes its own slice of the outputs, so the result does not depend on the
number of threads.

Entry points: :func:`score` (the full matrices), :func:`top_k` (the k best partners
of every record, block by block under a memory budget, never holding the matrix),
and :meth:`Scorer.for_demand` / :meth:`Scorer.for_listing` (one record against the
other side, for the portal).

Ties are broken by the partner's id, so results do not depend on row order.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

import numpy as np

from scoring import fast
from scoring.block import Block, Tables
from scoring.criteria import CRITERIA
from scoring.explain import Explanation, PairSummary, explain_many, explain_pairs, summarize_many
from scoring.prepare import DemandSide, ListingSide, prepare_demands, prepare_listings
from scoring.profile import Profile, load_profile
from scoring.prune import ListingIndex, build_index
from scoring.reference import Towns
from scoring.results import CriterionArrays, Ranking, ScoreResult, TopK
from scoring.rules import RULES, RowFails
from scoring.select import check_top_k, id_ranks, select_top
from scoring.sparse import Candidates, DualViolations, candidates, dual_violations, row_top_pruned, top_k_pruned

__all__ = ["Engine", "Scorer", "score", "top_k"]

ProfileLike = Profile | Mapping[str, Any] | str | Path | None
Engine = Literal["auto", "numpy", "numba"]
_T = TypeVar("_T")

BLOCK_PAIRS = 1 << 18
"""Pairs per block when computing the full matrix (about 1 MB per float32 array)."""

FAST_MIN_PAIRS = 1 << 20
"""Blocks at least this large use the compiled path when ``engine="auto"``."""

LINES_BLOCK_PAIRS = 1 << 22
"""Pairs per block of :meth:`Scorer.rule_counts_many` on the compiled path (24 MB of
rule bits and totals; past :data:`FAST_MIN_PAIRS`, so a wide market's lines take that
path); the numpy path keeps to :data:`BLOCK_PAIRS`."""

ROW_TOP_MAX = 1000
"""The largest k for which a single demand's query keeps its k best as it scores
(:meth:`Scorer.for_demand`); a larger k scores the row whole, then selects."""

BYTES_PER_PAIR = 96
"""Rough peak of temporaries per pair of a numpy block, for the memory budget of top_k."""



def _bounds(s: slice, n: int) -> slice:
    """A block's slice with explicit start and stop."""
    start, stop, _ = s.indices(n)
    return slice(start, stop)


def _workers(workers: int | None) -> int:
    return max(1, workers if workers is not None else min(2, os.cpu_count() or 1))


class Scorer:
    """Both sides prepared once, scored block by block.

    Parameters
    ----------
    demands, listings : records
        Objects with the canonical fields of DESIGN.md as arrays
        (``matcher.Demands`` / ``matcher.Listings``).
    profile : Profile, mapping, path or None
        The scoring profile (default: :func:`scoring.profile.default_profile`).
    workers : int, optional
        Threads for the numpy path (default: up to 2).
    engine : {"auto", "numpy", "numba"}
        How large blocks are evaluated: numpy array passes, or the compiled loop of
        :mod:`scoring.fast` (needs the ``[fast]`` extra). ``"auto"`` takes numba
        when it is installed and a block has at least :data:`FAST_MIN_PAIRS` pairs
        (so a single record, one row, takes numpy unless the other side has that
        many records). :meth:`score`, :meth:`top_k`, :meth:`candidates` and
        :meth:`dual_violations` count the whole market as their block: with numba
        installed, markets of a million pairs and more take the compiled loop, where
        ``top_k``, ``candidates`` and ``dual_violations`` also use the pruning index
        (:mod:`scoring.prune`). ``"numba"`` takes the compiled loop for every block
        (a long-lived scorer answering single-record queries), ``"numpy"`` never.
        Explanations always use numpy. Both paths give the same rule bits and, within
        float32 rounding, the same scores (the tests hold both to the reference scorer).
    towns : Towns, optional
        The towns table the records' town rows index (``listings.town``,
        ``demands.towns``): default :func:`scoring.reference.gazetteer` (Cixi);
        :func:`scoring.reference.towns` gives several counties side by side.
    """

    def __init__(self, demands: Any, listings: Any, profile: ProfileLike = None, workers: int | None = None,
                 engine: Engine = "auto", towns: Towns | None = None) -> None:
        prof = load_profile(profile)
        self._setup(demands, listings, prof, prepare_demands(demands, prof, towns),
                    prepare_listings(listings, prof, towns), workers, engine)

    @classmethod
    def from_sides(cls, demands: Any, listings: Any, demand_side: DemandSide, listing_side: ListingSide,
                   profile: ProfileLike = None, workers: int | None = None, engine: Engine = "auto",
                   towns: Towns | None = None, prepared: fast.Prepared | None = None) -> Scorer:
        """A scorer over sides already prepared (:func:`scoring.prepare_demands` and
        :func:`scoring.prepare_listings` with the same profile and towns), for callers
        that keep prepared sides and splice them (a service that updates a few records
        at a time).

        Parameters
        ----------
        demands, listings : records
            The records the sides were prepared from, row for row.
        demand_side : DemandSide
        listing_side : ListingSide
        profile, workers, engine
            As for :class:`Scorer`.
        towns : Towns, optional
            The towns table the sides were prepared with (default: theirs); a
            different one, or sides prepared with different tables, is an error.
        prepared : scoring.fast.Prepared, optional
            What the compiled loop reads of these sides (:attr:`compiled_market`), when
            the caller has it already (:meth:`subset` takes it from a larger market's).
        """
        if demand_side.n != len(demands.demand_id) or listing_side.n != len(listings.listing_id):
            raise ValueError("the prepared sides and the records have different numbers of rows")
        if not demand_side.towns.same_as(listing_side.towns):
            raise ValueError("the prepared sides index different towns tables")
        if towns is not None and not towns.same_as(demand_side.towns):
            raise ValueError("towns is not the table the sides were prepared with")
        self = cls.__new__(cls)
        self._setup(demands, listings, load_profile(profile), demand_side, listing_side, workers, engine)
        if prepared is not None:
            self.__dict__["compiled_market"] = prepared  # the cached property's value
        return self

    def subset(self, rows: np.ndarray | None = None, cols: np.ndarray | None = None, demands: Any = None,
               listings: Any = None, engine: Engine | None = None) -> Scorer:
        """A scorer of this one's demand rows ``rows`` against its listing rows ``cols``
        (all of a side when None).

        What the compiled loop reads is taken from this scorer's when it is made already,
        not prepared again (its tables and codes stay the whole market's, so each pair
        evaluates bit for bit as here; preparing a check's block of a province afresh
        cost more than scoring it).

        Parameters
        ----------
        rows : ndarray of int64, shape (k,), optional
        cols : ndarray of int64, shape (m,), optional
        demands, listings : records, optional
            The records of those rows, row for row (default: their ids only, enough to
            score, rank and count rules).
        engine : {"auto", "numpy", "numba"}, optional
            Default: this scorer's.

        Returns
        -------
        Scorer
            Row ``q`` is this scorer's row ``rows[q]``; column ``p`` is ``cols[p]``.
        """
        d = self._d if rows is None else self._d.take(np.asarray(rows, dtype=np.int64))
        l = self._l if cols is None else self._l.take(np.asarray(cols, dtype=np.int64))
        pre = self.__dict__.get("compiled_market")  # made already (never made here for this)
        if pre is not None:
            pre = pre if rows is None else pre.take_demands(rows)
            pre = pre if cols is None else pre.take_listings(np.asarray(cols, dtype=np.int64))
        return Scorer.from_sides(SimpleNamespace(demand_id=d.ids) if demands is None else demands,
                                 SimpleNamespace(listing_id=l.ids) if listings is None else listings,
                                 d, l, self.profile, self.workers, self.engine if engine is None else engine,
                                 prepared=pre)

    def _setup(self, demands: Any, listings: Any, profile: Profile, d: DemandSide, l: ListingSide,
               workers: int | None, engine: Engine) -> None:
        if engine not in ("auto", "numpy", "numba"):
            raise ValueError(f"engine == {engine!r}, must be 'auto', 'numpy' or 'numba'")
        if engine == "numba" and not fast.available():
            raise ImportError("engine='numba' needs numba: pip install '.[fast]' in changfang's folder")
        self.profile = profile
        self.towns: Towns = d.towns
        self.demands, self.listings = demands, listings
        self._d, self._l = d, l
        self.tables = Tables.build(d, l, profile)
        self.workers = _workers(workers)
        self.engine: Engine = engine
        w = profile.weights
        wsum = sum(w.values())
        self.weights = {name: w[name] / wsum for name in CRITERIA if w[name] > 0}
        self._rank_d: np.ndarray | None = None
        self._rank_l: np.ndarray | None = None

    @property
    def demand_side(self) -> DemandSide:
        """The demands as the engine reads them (prepared once; see :mod:`scoring.prepare`)."""
        return self._d

    @property
    def listing_side(self) -> ListingSide:
        """The listings as the engine reads them."""
        return self._l

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_demands, n_listings)``."""
        return (self._d.n, self._l.n)

    def with_demands(self, demands: Any) -> Scorer:
        """A scorer of other demands against the same (already prepared) listings."""
        return Scorer.from_sides(demands, self.listings, prepare_demands(demands, self.profile, self.towns), self._l,
                                 self.profile, self.workers, self.engine)

    def with_listings(self, listings: Any) -> Scorer:
        """A scorer of the same demands against other listings."""
        return Scorer.from_sides(self.demands, listings, self._d, prepare_listings(listings, self.profile, self.towns),
                                 self.profile, self.workers, self.engine)

    def block(self, r0: int, r1: int, c0: int, c1: int) -> Block:
        """Demands ``r0:r1`` against listings ``c0:c1``."""
        return Block(self._d.slice(r0, r1), self._l.slice(c0, c1), self.tables, self.profile,
                     slice(r0, r1), slice(c0, c1))

    @functools.cached_property
    def compiled_market(self) -> fast.Prepared:
        """Both sides as the compiled loop reads them (:func:`scoring.fast.prepare`), made
        on first use and kept."""
        return fast.prepare(self.block(0, self._d.n, 0, self._l.n), self.weights)

    @functools.cached_property
    def pruned_market(self) -> tuple[fast.Prepared, np.ndarray, ListingIndex]:
        """The compiled loop's listings in the order of the pruning index, the listing row
        of each position, and the index (:mod:`scoring.prune`)."""
        idx = build_index(self._l)
        return self.compiled_market.take_listings(idx.order), idx.order, idx

    @functools.cached_property
    def pruned_ties(self) -> np.ndarray:
        """int64 (n_listings,): the listings' id ranks in the order of the pruning index."""
        return np.ascontiguousarray(self.id_ranks("listing")[self.pruned_market[1]])

    # ---- evaluation -------------------------------------------------------------
    @property
    def market_engine(self) -> Literal["numpy", "numba"]:
        """The engine a pass over the whole market takes: a scorer of part of it
        (:meth:`subset`) given this one scores every pair bit for bit as here."""
        return "numba" if self.compiled(self.shape[0] * self.shape[1]) else "numpy"

    def compiled(self, pairs: int) -> bool:
        """Whether a block of ``pairs`` pairs runs on the compiled path."""
        if self.engine == "auto":
            return pairs >= FAST_MIN_PAIRS and fast.available()
        return self.engine == "numba"

    def evaluate(self, b: Block, failed: np.ndarray | None = None, total: np.ndarray | None = None,
                 criteria: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rules, criteria and total of one block, written into the given outputs.

        Parameters
        ----------
        b : Block
        failed : ndarray of uint16, shape b.shape, optional
        total : ndarray of float32, shape b.shape, optional
        criteria : dict of name to float32 ndarray of shape b.shape, optional
            Where to keep each criterion's scores (not kept when None).

        Returns
        -------
        failed, total : the outputs (new arrays where none were given)
        """
        if self.compiled(b.shape[0] * b.shape[1]):
            failed = np.empty(b.shape, dtype=np.uint16) if failed is None else failed
            total = np.empty(b.shape, dtype=np.float32) if total is None else total
            crit = None if criteria is None else np.empty((len(CRITERIA), *b.shape), dtype=np.float32)
            fast.evaluate_block(self.compiled_market, _bounds(b.rows, self._d.n), _bounds(b.cols, self._l.n),
                                failed, total, crit)
            if criteria is not None and crit is not None:
                for k, name in enumerate(fast.criteria_order()):
                    if name in criteria:
                        criteria[name][...] = crit[k]
            return failed, total
        if failed is None:
            failed = np.zeros(b.shape, dtype=np.uint16)
        else:
            failed[...] = 0
        for rule in RULES:
            fails = rule.fails(b)
            if fails is None:
                continue
            # (a where= mask is several times slower than a shift and an or)
            if isinstance(fails, RowFails):
                bits = np.left_shift(fails.mask, rule.bit, dtype=np.uint16)
                if fails.rows.size == b.shape[0]:
                    np.bitwise_or(failed, bits, out=failed)
                else:
                    failed[fails.rows] |= bits
            else:
                np.bitwise_or(failed, np.left_shift(fails, rule.bit, dtype=np.uint16), out=failed)
        if total is None:
            total = np.zeros(b.shape, dtype=np.float32)
        else:
            total[...] = 0
        for name, w in self.weights.items():
            s = CRITERIA[name].score(b)
            if criteria is not None:
                criteria[name][...] = s
            total += np.float32(w) * s
        # NaN where infeasible: OR-ing a quiet-NaN bit pattern makes any float a NaN,
        # and is a plain SIMD pass (boolean assignment is not)
        nan_bits = np.multiply(failed != 0, np.uint32(0x7FC00000), dtype=np.uint32)
        bits = total.view(np.uint32)
        np.bitwise_or(bits, nan_bits, out=bits)
        return failed, total

    def _row_blocks(self, pairs: int) -> Iterator[tuple[int, int]]:
        n_d, n_l = self.shape
        step = max(1, pairs // max(n_l, 1))
        for r0 in range(0, n_d, step):
            yield r0, min(r0 + step, n_d)

    def score(self, criteria: bool = False) -> ScoreResult:
        """The full matrices (see :class:`ScoreResult`).

        Parameters
        ----------
        criteria : bool
            Keep every criterion's matrix now (default: on first access).
        """
        n_d, n_l = self.shape
        failed = np.empty((n_d, n_l), dtype=np.uint16)
        total = np.empty((n_d, n_l), dtype=np.float32)
        if self.compiled(n_d * n_l):  # one call: the compiled loop runs its rows in parallel
            crit3 = np.empty((len(CRITERIA), n_d, n_l), dtype=np.float32) if criteria else None
            fast.evaluate_block(self.compiled_market, slice(0, n_d), slice(0, n_l), failed, total, crit3)
            kept = None if crit3 is None else {name: crit3[k] for k, name in enumerate(fast.criteria_order())
                                               if name in self.weights}
            return ScoreResult(total=total, failed=failed, criteria=CriterionArrays(self, kept), scorer=self)
        crit = {name: np.empty((n_d, n_l), dtype=np.float32) for name in self.weights} if criteria else None

        def run(rows: tuple[int, int]) -> None:
            r0, r1 = rows
            self.evaluate(self.block(r0, r1, 0, n_l), failed[r0:r1], total[r0:r1],
                          None if crit is None else {k: v[r0:r1] for k, v in crit.items()})

        self._map(run, list(self._row_blocks(BLOCK_PAIRS)))
        return ScoreResult(total=total, failed=failed, criteria=CriterionArrays(self, crit), scorer=self)

    def criterion_matrix(self, name: str) -> np.ndarray:
        """float32 (n_demands, n_listings): one criterion's scores on every pair."""
        mod = CRITERIA[name]
        n_d, n_l = self.shape
        out = np.empty((n_d, n_l), dtype=np.float32)

        def run(rows: tuple[int, int]) -> None:
            r0, r1 = rows
            out[r0:r1] = mod.score(self.block(r0, r1, 0, n_l))

        self._map(run, list(self._row_blocks(BLOCK_PAIRS)))
        return out

    def _map(self, fn: Callable[[Any], _T], items: list[Any]) -> list[_T]:
        if self.workers == 1 or len(items) < 2:
            return [fn(x) for x in items]
        pool = ThreadPoolExecutor(self.workers)
        try:
            return list(pool.map(fn, items))
        finally:
            # on Ctrl-C (or an error) drop the blocks not yet started rather than
            # score them all before the interrupt goes on
            pool.shutdown(wait=True, cancel_futures=True)

    # ---- rankings ---------------------------------------------------------------
    def id_ranks(self, side: Literal["demand", "listing"]) -> np.ndarray:
        """int64 (n,): the rank of every record's id on one side, the tie-break of every
        ranking (see :func:`scoring.select.id_ranks`); computed once."""
        if side == "demand":
            if self._rank_d is None:
                self._rank_d = id_ranks(self._d.ids)
            return self._rank_d
        if self._rank_l is None:
            self._rank_l = id_ranks(self._l.ids)
        return self._rank_l

    def top_k(self, k: int, by: Literal["demand", "listing"] = "demand",
              memory_bytes: int = 256 << 20) -> TopK:
        """The k best feasible partners of every demand (``by="demand"``) or listing.

        The compiled path scores and selects in one pass (each tile of pairs goes
        straight into the partners' best-first lists: no memory per pair); the numpy
        path evaluates blocks sized so their temporaries stay within ``memory_bytes``
        (about :data:`BYTES_PER_PAIR` per pair, per worker). The full matrix is never
        held.

        Returns
        -------
        TopK
        """
        check_top_k(k, by)
        n_d, n_l = self.shape
        n_self, n_other = (n_d, n_l) if by == "demand" else (n_l, n_d)
        kk = min(k, n_other)
        index = np.full((n_self, k), -1, dtype=np.int64)
        scores = np.full((n_self, k), np.nan, dtype=np.float32)
        count = np.zeros(n_self, dtype=np.int64)
        tie = self.id_ranks("listing" if by == "demand" else "demand")
        if kk == 0:
            return TopK(index=index, scores=scores, count=count, by=by)
        if self.compiled(n_d * n_l):
            # fused: each tile is scored and selected at once, nothing per pair is kept;
            # demands visit only the listings the deal and area rules can pass
            index[:, :kk], scores[:, :kk], count[:] = top_k_pruned(self, kk, by)
            return TopK(index=index, scores=scores, count=count, by=by)
        step = max(1, memory_bytes // (BYTES_PER_PAIR * self.workers * max(n_other, 1)))
        ranges = [(a, min(a + step, n_self)) for a in range(0, n_self, step)]

        def run(rng: tuple[int, int]) -> None:
            a, b = rng
            blk = self.block(a, b, 0, n_l) if by == "demand" else self.block(0, n_d, a, b)
            _, total = self.evaluate(blk)
            t = total if by == "demand" else total.T
            index[a:b, :kk], scores[a:b, :kk], count[a:b] = select_top(t, kk, tie)

        self._map(run, ranges)
        return TopK(index=index, scores=scores, count=count, by=by)

    def candidates(self, reservation: float | None = None, per_demand: int | None = None,
                   per_listing: int | None = None, memory_bytes: int = 256 << 20,
                   prune: bool | None = None, top_k: int = 0) -> Candidates:
        """Feasible pairs scoring at least ``reservation`` (default: the profile's), all or
        each record's best, with per-record statistics (and, with ``top_k``, each record's
        ranking), in one blockwise pass; never the full matrix. See
        :func:`scoring.sparse.candidates`."""
        return candidates(self, reservation, per_demand, per_listing, memory_bytes, prune, top_k)

    def dual_violations(self, u: np.ndarray, v: np.ndarray, reservation: float | None = None, tol: float = 1e-9,
                        memory_bytes: int = 256 << 20, prune: bool | None = None) -> DualViolations:
        """Feasible pairs scoring at least the reservation with ``s_ij - u_i - v_j > tol``,
        blockwise (the optimality check of a one-to-one solution over every pair; see
        :func:`scoring.sparse.dual_violations`)."""
        return dual_violations(self, u, v, reservation, tol, memory_bytes, prune)

    def rule_counts(self, k: int, side: Literal["demand", "listing"] = "demand") -> dict[str, int]:
        """Exact failing pairs by rule of one record against the whole other side (the
        shape of :meth:`ScoreResult.rule_counts`), for the few records whose
        :class:`scoring.sparse.SideStats` a pruned pass left as lower bounds."""
        n_d, n_l = self.shape
        blk = self.block(k, k + 1, 0, n_l) if side == "demand" else self.block(0, n_d, k, k + 1)
        failed, _ = self.evaluate(blk)
        return _largest_first(_count_rules(failed, 1 if side == "demand" else 0)[0])

    def rule_counts_many(self, ks: Sequence[int] | np.ndarray,
                         side: Literal["demand", "listing"] = "demand") -> list[dict[str, int]]:
        """:meth:`rule_counts` of each record ``ks[r]`` of ``side``, many lines at once.

        The records are taken into a scorer of their own against the whole other side,
        evaluated in blocks of about :data:`LINES_BLOCK_PAIRS` pairs (many lines per
        block, so the compiled loop runs wide instead of once per line).

        Parameters
        ----------
        ks : sequence of int, shape (n,)
            Rows (demands) or columns (listings) of this scorer; repeats allowed.
        side : {"demand", "listing"}
            Which side ``ks`` index: each demand is counted against every listing, or
            each listing against every demand.

        Returns
        -------
        list of dict, one per entry of ``ks``
            Failing pairs by rule name, largest first, as :meth:`rule_counts`.
        """
        asked = np.asarray(ks, dtype=np.int64).reshape(-1)
        if asked.size == 0:
            return []
        ks, back = np.unique(asked, return_inverse=True)  # each record once
        # the sub-scorer only counts: its records need nothing but their ids
        sub = self.subset(ks, None) if side == "demand" else self.subset(None, ks)
        n_d, n_l = sub.shape
        counts = np.zeros((ks.size, len(RULES)), dtype=np.int64)
        wide = LINES_BLOCK_PAIRS if sub.compiled(LINES_BLOCK_PAIRS) else BLOCK_PAIRS  # numpy's temporaries are many
        step = max(1, wide // max(n_l, 1))
        for r0 in range(0, n_d, step):
            r1 = min(r0 + step, n_d)
            failed, _ = sub.evaluate(sub.block(r0, r1, 0, n_l))
            if side == "demand":
                counts[r0:r1] = _count_rules(failed, 1)
            else:
                counts += _count_rules(failed, 0)
        said = [_largest_first(row) for row in counts]
        return [dict(said[q]) for q in back.reshape(-1).tolist()]  # a dict of its own for a repeated record

    def warm(self) -> None:
        """Do now what the first single-record query would: load the compiled loop,
        prepare its arrays, rank the ids for ties (a service calls this after each
        write, so that readers never pay for it)."""
        self.id_ranks("listing")
        self.id_ranks("demand")
        if self._d.n and self._l.n:
            self.for_demand(0, 1)
            self.for_listing(0, 1)

    def for_demand(self, i: int, k: int | None = None) -> Ranking:
        """The best feasible listings for demand row ``i`` (all of them when k is None).

        On the compiled path with k given (at most :data:`ROW_TOP_MAX`), the demand
        visits only the listings the pruning index leaves it, in parallel across them,
        and keeps the k best as it goes (:func:`scoring.sparse.row_top_pruned`);
        otherwise its row is scored whole, then selected."""
        n_l = self._l.n
        if k is not None and 0 < k <= min(ROW_TOP_MAX, n_l) and self.compiled(n_l):
            idx, sc = row_top_pruned(self, i, k)
            return Ranking(idx, self._l.ids[idx], sc)
        _, total = self.evaluate(self.block(i, i + 1, 0, n_l))
        return self._ranking(total, k, self._l.ids, self.id_ranks("listing"))

    def for_listing(self, j: int, k: int | None = None) -> Ranking:
        """The best feasible demands for listing column ``j``."""
        _, total = self.evaluate(self.block(0, self._d.n, j, j + 1))
        return self._ranking(total.T, k, self._d.ids, self.id_ranks("demand"))

    def _ranking(self, t: np.ndarray, k: int | None, ids: np.ndarray, tie: np.ndarray) -> Ranking:
        n = t.shape[1]
        kk = n if k is None else min(k, n)
        if kk == 0:
            return Ranking(np.zeros(0, np.int64), ids[:0], np.zeros(0, np.float32))
        idx, sc, cnt = (fast.select_top if self.compiled(n) else select_top)(t, kk, tie)
        c = int(cnt[0])
        return Ranking(idx[0, :c], ids[idx[0, :c]], sc[0, :c])

    # ---- explanations -----------------------------------------------------------
    def explain(self, i: int, j: int) -> Explanation:
        """Every rule and criterion for demand row ``i`` and listing row ``j``.

        Always the numpy rule and criterion code, each evaluated once.
        """
        return explain_pairs(self, i, [j])[0]

    def explain_row(self, i: int, js: Sequence[int] | np.ndarray, rules: bool = True,
                    known_feasible: bool = False) -> list[Explanation]:
        """Explanations of demand row ``i`` with each listing row in ``js``, on one block
        (see :func:`scoring.explain.explain_pairs`)."""
        return explain_pairs(self, i, js, rules=rules, known_feasible=known_feasible)

    def explain_many(self, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray, rules: bool = True,
                     known_feasible: bool = False) -> list[Explanation]:
        """Explanations of the pairs ``(rows[k], cols[k])``, many demands per block
        (see :func:`scoring.explain.explain_many`): the same as one :meth:`explain` per pair."""
        return explain_many(self, rows, cols, rules=rules, known_feasible=known_feasible)

    def summarize_many(self, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray) -> list[PairSummary]:
        """Scores, distance and reasons of feasible pairs, without the explanation objects
        (see :func:`scoring.explain.summarize_many`): what a run's tables show."""
        return summarize_many(self, rows, cols)


def _count_rules(failed: np.ndarray, axis: int) -> np.ndarray:
    """int64 (n_lines, len(RULES)): pairs failing each rule, per row (``axis=1``) or
    column (``axis=0``) of a block of rule bits."""
    return np.stack([np.count_nonzero(failed & np.uint16(r.flag), axis=axis) for r in RULES], axis=-1)


def _largest_first(counts: np.ndarray) -> dict[str, int]:
    """Counts per rule (in the order of RULES) as a dict, largest first, zeros left out."""
    named = {r.name: int(c) for r, c in zip(RULES, counts.tolist())}
    return dict(sorted(((n, c) for n, c in named.items() if c), key=lambda kv: -kv[1]))


def score(demands: Any, listings: Any, profile: ProfileLike = None, workers: int | None = None,
          criteria: bool = False, engine: Engine = "auto", towns: Towns | None = None) -> ScoreResult:
    """Score every demand against every listing.

    Parameters
    ----------
    demands, listings : records
        ``matcher.Demands`` and ``matcher.Listings`` (or objects with the same fields).
    profile : Profile, mapping, path or None
    workers : int, optional
        Threads (default up to 2).
    criteria : bool
        Compute every criterion's matrix now rather than on first access.
    engine : {"auto", "numpy", "numba"}
        See :class:`Scorer`.
    towns : Towns, optional
        See :class:`Scorer` (default: Cixi's gazetteer).

    Returns
    -------
    ScoreResult
        ``total`` float32 (n_demands, n_listings) with NaN where infeasible,
        ``feasible``, ``failed`` (rule bitmask), ``criteria`` and ``explain(i, j)``.
    """
    return Scorer(demands, listings, profile, workers, engine, towns).score(criteria=criteria)


def top_k(demands: Any, listings: Any, k: int, profile: ProfileLike = None,
          by: Literal["demand", "listing"] = "demand", memory_bytes: int = 256 << 20,
          workers: int | None = None, engine: Engine = "auto", towns: Towns | None = None) -> TopK:
    """The k best feasible partners of every demand (or listing), block by block.

    Parameters
    ----------
    demands, listings : records
    k : int
    profile : Profile, mapping, path or None
    by : {"demand", "listing"}
        Whose partners: listings for each demand, or demands for each listing.
    memory_bytes : int
        Budget for the temporaries of the blocks in flight.
    workers, engine, towns
        See :class:`Scorer`.

    Returns
    -------
    TopK
        ``index`` (n, k) partner rows best first (-1 padded), ``scores``, ``count``.
    """
    return Scorer(demands, listings, profile, workers, engine, towns).top_k(k, by=by, memory_bytes=memory_bytes)
