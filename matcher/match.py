"""``matcher.match``: score, allocate, explain, and say why the rest stayed unmatched.

A thin layer over :mod:`scoring` and the bare-pair algorithms of
:mod:`matcher.allocation`, sparse from end to end (nothing of size n_demands ×
n_listings is ever allocated):

1. the candidate pairs come from one blockwise pass of the scorer
   (:meth:`scoring.Scorer.candidates`): every feasible pair scoring at least the
   reservation on a county-sized market, or each record's best ``per_record`` on a
   larger one, with per-record statistics (feasible partners, best partner, failing
   pairs by rule) for the reasons;
2. excluded pairs (refused by either side) are dropped and locked ones (already
   signed) fixed: a locked demand and listing leave the problem, their pair is kept
   as is;
3. both sides are put in id order, so the result does not depend on row order and ties
   go to the smaller ids; the pairs split into independent parts
   (:func:`matcher.allocation.components.parts`: a province falls apart by county) and
   the method runs on each (:mod:`matcher.solve`);
4. when only each record's best pairs were kept, the solution is checked against every
   pair of the market in another blockwise pass, pairs that could improve it are added
   and the parts solved again (:mod:`matcher.solve` says what is proven per method);
5. every unmatched record gets a reason (:mod:`matcher.reasons`).

For ``stable``, landlords rank demands by :func:`landlord_scores` (亩均 class, price
offered against asked, lease length, industry fit).

Recommendations (the top k partners of every record) come with the result; with
``rounds=k`` they are instead k disjoint one-to-one allocations, so each demand gets k
distinct suggestions and no listing is suggested to more than k demands.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

import scoring
from matcher.errors import PairConflictError, UnknownIdError
from scoring.rules import rule_names

__all__ = ["FULL_PAIRS", "LANDLORD_WEIGHTS", "PER_RECORD", "MatchResult", "Unmatched", "landlord_scores", "match",
           "memory_needed"]

Method = Literal["auto", "one_to_one", "divisible", "stable"]
METHODS: tuple[str, ...] = ("auto", "one_to_one", "divisible", "stable")
_SHARED = ("divisible", "stable")  # the methods that share divisible plants in whole units

FULL_PAIRS = 150_000_000
"""Markets of up to this many demand × listing pairs keep every candidate pair (a county
of 12k × 12k); larger ones start from each record's best :data:`PER_RECORD`."""

PER_RECORD = 32
"""Best partners per demand and per listing a large market's solve starts from."""

# Measured peaks of `changfang match` (benchmarks/README.md, "A province"), resident GB:
# a county of 10k x 10k with every pair kept 2.53; 20k, 30k, 50k, 100k a side on best-32
# lists 0.78, 1.08, 1.84, 5.27 (one_to_one); 30k with the divisible method 2.72.
_BASE_BYTES = 700_000_000  # the interpreter and libraries, and numba compiling on a first run (0.65 GB seen)
_BYTES_PER_FULL_PAIR = 170  # a county's pair at or above the reservation, through the solve
_BYTES_PER_KEPT_PAIR = 700  # a pair of a record's best list, with those the checks add and the solver's arcs
_BYTES_PER_RECORD = 4_000  # prepared sides, statistics, recommendations, reasons
_FULL_SHARE = 0.15  # share of a county's pairs at or above the reservation, generously
_SHARED_FACTOR = 1.7  # the divisible and stable solves hold more per pair (HiGHS's LP)


def memory_needed(n_demands: int, n_listings: int, per_record: int | None = None, method: str = "auto") -> int:
    """A generous estimate of the memory :func:`match` (and ``changfang match``) needs, bytes.

    Parameters
    ----------
    n_demands, n_listings : int
    per_record : int, optional
        As for :func:`match` (None: its default for the market's size).
    method : {"auto", "one_to_one", "divisible", "stable"}
        ``auto`` is counted as the divisible method, the larger.

    Returns
    -------
    int
        What the process holds before it reads a record, plus per candidate pair (all of
        a county's pairs scoring the reservation, taken as 15 %; or each record's best
        ``per_record``) and per record; calibrated on the peaks measured in
        ``benchmarks/README.md`` and above each of them.

    Examples
    --------
    >>> round(memory_needed(100_000, 100_000, method="one_to_one") / 1e9, 1)  # measured: 5.27
    6.0
    """
    keep = per_record if per_record is not None else (None if n_demands * n_listings <= FULL_PAIRS else PER_RECORD)
    if keep is None:
        pair_bytes = n_demands * n_listings * _FULL_SHARE * _BYTES_PER_FULL_PAIR
    else:
        pair_bytes = (n_demands + n_listings) * keep * _BYTES_PER_KEPT_PAIR
    if method != "one_to_one":
        pair_bytes *= _SHARED_FACTOR
    return int(_BASE_BYTES + pair_bytes + (n_demands + n_listings) * _BYTES_PER_RECORD)


HIST_BINS = 40
"""Bins over [0, 1] of :attr:`MatchResult.histogram`."""


def resolve_method(method: str, unit: np.ndarray) -> str:
    """The method ``"auto"`` stands for: ``"divisible"`` when any listing is divisible
    (``unit`` > 0: plants are shared in whole units), else ``"one_to_one"``.

    Parameters
    ----------
    method : {"auto", "one_to_one", "divisible", "stable"}
    unit : ndarray of float64, shape (n_listings,)
        Each listing's smallest unit, ㎡ (0 or NaN: indivisible).

    Raises
    ------
    ValueError
        An unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"method == {method!r}, must be one of {', '.join(METHODS)}")
    if method != "auto":
        return method
    return "divisible" if bool(np.any(np.nan_to_num(unit) > 0)) else "one_to_one"


@dataclass(frozen=True)
class Unmatched:
    """A record left without a partner, and why."""

    side: str  # "demand" or "listing"
    index: int
    id: str
    reason_zh: str
    reason_en: str
    kind: str  # "no_feasible", "excluded", "below_reservation", "outbid"
    rules: tuple[tuple[str, int], ...] = ()  # no_feasible: (rule, candidates it excluded), most first


@dataclass(eq=False)
class MatchResult:
    """An allocation with its scores, explanations and the reasons for the rest.

    Attributes
    ----------
    method : str
        The method used (``"auto"`` resolved: ``one_to_one``, ``divisible`` or ``stable``).
    demand, listing : ndarray of int64, shape (n_pairs,)
        Row indices of each pair in the inputs, sorted by demand id.
    score : ndarray of float64, shape (n_pairs,)
        Each pair's total (a locked pair the hard rules exclude: its criteria's weighted
        sum, see ``locked_infeasible``).
    area : ndarray of float64, shape (n_pairs,)
        Area allocated, ㎡: the whole units of a divisible listing its reasons state
        (:func:`scoring.offered_area`), or the whole of an indivisible listing.
    locked : ndarray of bool, shape (n_pairs,)
        Pairs fixed by the caller.
    unmatched : list of Unmatched
    for_demand, for_listing : scoring.TopK
        The recommendations: the top k listings of every demand, and demands of every
        listing.
    objective : float
        Sum of the pairs' scores.
    gap : float
        Relative gap to an upper bound on the best objective over every pair of the
        market: ``divisible``'s MIP gap or its heuristic's gap to the LP bound, and on
        large markets (each record's best pairs kept) the gap the check over every pair
        left (0 when proven optimal).
    scorer : scoring.Scorer
        The scorer of the market (explanations, rankings, any pair's score).
    feasible_pairs : int
        Pairs passing every hard rule, counted in the blockwise pass.
    histogram : ndarray of int64, shape (HIST_BINS,)
        Scores of the candidate pairs the allocation chose from, in ``HIST_BINS`` equal
        bins over [0, 1].
    rounds : list of (demand, listing) index arrays
        With ``match(..., rounds=k)``: k disjoint one-to-one allocations (else empty).
    limits : dict
        How the solve was bounded and what was proven: ``pairs`` (``"all"`` candidate
        pairs, or ``per_record`` best ones), ``checks`` (passes over every pair), for
        ``divisible`` the solver used (``milp`` or ``heuristic``) and its work limits
        (no wall-clock limit: the result does not depend on the machine's load).
    seconds : dict of str to float
        Where the time went, seconds: ``scoring`` (the passes over every pair: candidate
        pairs and the checks; what a Dask cluster spreads over its workers),
        ``allocation`` (the solves, here), ``recommendations`` (the top k lists, a pass
        too) and ``reasons``. Measured, so the only part of a result that varies from
        run to run.
    locked_infeasible : list of (demand_id, listing_id, list of rule names)
        Locked pairs that a hard rule fails: kept (a signed pair is a fact), scored by
        their criteria as if they passed, and named here so that callers warn.
    """

    method: str
    demand: np.ndarray
    listing: np.ndarray
    score: np.ndarray
    area: np.ndarray
    locked: np.ndarray
    unmatched: list[Unmatched]
    for_demand: scoring.TopK
    for_listing: scoring.TopK
    objective: float
    gap: float
    scorer: scoring.Scorer = field(repr=False)
    feasible_pairs: int = 0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(HIST_BINS, dtype=np.int64), repr=False)
    rounds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict, compare=False)
    locked_infeasible: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @functools.cached_property
    def scores(self) -> scoring.ScoreResult:
        """The full score matrices of the market (n_demands × n_listings, computed on
        first use: for markets that fit in memory; the allocation never needs them)."""
        return self.scorer.score()

    def explain(self, k: int) -> scoring.Explanation:
        """The explanation of pair ``k`` (with what the file said where a value is
        missing, see :mod:`matcher.written`)."""
        from matcher.written import explain

        return explain(self.scorer, int(self.demand[k]), int(self.listing[k]))

    def __len__(self) -> int:
        return len(self.demand)


def _pairs(ids_d: np.ndarray, ids_l: np.ndarray, pairs: Iterable[tuple[str, str]] | None,
           where: str) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each (demand_id, listing_id) pair; :class:`UnknownIdError`
    naming ``where`` ("locks" or "exclude") for an id of neither side."""
    if pairs is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos_d = {str(x): k for k, x in enumerate(ids_d)}
    pos_l = {str(x): k for k, x in enumerate(ids_l)}
    rows, cols = [], []
    for d, l in pairs:
        if str(d) not in pos_d:
            raise UnknownIdError("demand", str(d), where)
        if str(l) not in pos_l:
            raise UnknownIdError("listing", str(l), where)
        rows.append(pos_d[str(d)])
        cols.append(pos_l[str(l)])
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)


LANDLORD_WEIGHTS = {"rating": 0.4, "price": 0.3, "lease": 0.15, "industry": 0.15}
"""How landlords rank demands in ``stable`` (see :func:`landlord_scores`)."""


def landlord_pair_scores(sc: scoring.Scorer, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """How much listing ``cols[k]``'s landlord wants demand ``rows[k]``, float32 (n_pairs,).

    A weighted sum (:data:`LANDLORD_WEIGHTS`) of

    * the firm's 亩均评价 class: A 1, B 0.75, C 0.5, D 0.25 (unknown 0.5);
    * the price it offers against the price asked: ``min(1, budget / price)`` on rent
      when the firm would lease and the listing is let, else on the sale price
      (unknown 0.5);
    * the lease it wants: ``min(1, lease_months / 36)`` (unknown 0.5; a purchase 1);
    * industry fit: the industry criterion of the score.
    """
    d, l = sc.demand_side, sc.listing_side
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    w = LANDLORD_WEIGHTS
    rating = np.where(d.rating > 0, d.rating / 4.0, 0.5)[rows]
    lease = np.where(np.isnan(d.lease_months), 0.5, np.minimum(d.lease_months / 36.0, 1.0))
    lease = np.where(d.deal == 2, 1.0, lease)[rows]  # buyers commit for good

    def ratio(budget: np.ndarray, price: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.minimum(budget / price, 1.0)
        return np.where(np.isnan(r), 0.5, r)

    by_rent = ((d.deal[rows] & 1) != 0) & ((l.deal[cols] & 1) != 0)
    price = np.where(by_rent, ratio(d.max_rent[rows], l.rent[cols]), ratio(d.max_sale[rows], l.sale[cols]))
    industry = sc.tables.synergy[d.code[rows], l.related[cols]]
    out = w["rating"] * rating + w["price"] * price + w["lease"] * lease + w["industry"] * industry
    return out.astype(np.float32)


def landlord_scores(res: scoring.ScoreResult) -> np.ndarray:
    """:func:`landlord_pair_scores` of every pair of a scored market, float32
    (n_demands, n_listings)."""
    n_d, n_l = res.shape
    rows, cols = np.divmod(np.arange(n_d * n_l, dtype=np.int64), max(n_l, 1))
    return landlord_pair_scores(res.scorer, rows, cols).reshape(n_d, n_l)


def _offered(sc: scoring.Scorer, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Area each pair ``(rows[k], cols[k])`` is allocated, ㎡: the whole units its reasons
    state (:func:`scoring.offered_area`), or the whole of an indivisible listing."""
    d, l = sc.demand_side, sc.listing_side
    return scoring.offered_area(d.area_min[rows], d.hi[rows], l.area[cols], l.unit[cols])


def _check_count(name: str, value: Any, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} == {value!r}, must be an integer >= {least}")
    return int(value)


def _empty_top(n: int, by: str) -> scoring.TopK:
    return scoring.TopK(index=np.zeros((n, 0), dtype=np.int64), scores=np.zeros((n, 0), dtype=np.float32),
                        count=np.zeros(n, dtype=np.int64), by=by)


def match(demands: Any, listings: Any, profile: Any = None, method: Method = "auto",
          top_k: int = 5, locks: Iterable[tuple[str, str]] | None = None,
          exclude: Iterable[tuple[str, str]] | None = None, rounds: int = 0,
          per_record: int | None = None, client: Any = None, towns: Any = None,
          on_rankings: Callable[[scoring.Scorer, scoring.TopK, scoring.TopK], None] | None = None) -> MatchResult:
    """Allocate listings to demands and explain the result.

    Parameters
    ----------
    demands, listings : matcher.Demands, matcher.Listings
    profile : scoring profile (path, mapping, Profile or None for the default)
    method : {"auto", "one_to_one", "divisible", "stable"}
        ``"auto"`` (the default) shares divisible plants in whole units
        (``"divisible"``) when any listing is divisible, else ``"one_to_one"``
        (:func:`resolve_method`). Every method allocates a pair the area its reasons
        state: the whole units :func:`scoring.offered_area` gives for a divisible
        listing (under ``one_to_one`` too, where the rest of the plant stays unused),
        the whole of an indivisible one.
    top_k : int
        Recommendations per record (>= 0; at most the other side's size). They leave
        out excluded pairs, demands that have signed (locks) and listings locks have
        filled (a divisible plant with room left stays on offer):
        :func:`matcher.recommend.recommend`.
    locks : iterable of (demand_id, listing_id), optional
        Pairs already signed: kept whatever their score, their records leave the problem
        (under ``divisible`` and ``stable`` the rest of a divisible plant stays on offer).
    exclude : iterable of (demand_id, listing_id), optional
        Pairs refused by either side: never proposed.
    rounds : int
        When > 0, also make that many disjoint one-to-one allocations (each round
        excludes the pairs of the earlier ones): every demand gets up to ``rounds``
        distinct suggestions and no listing is suggested to more than ``rounds``.
    per_record : int, optional
        Start the solve from each demand's and each listing's best ``per_record``
        candidate pairs (their union), then check the solution against every pair of
        the market (:mod:`matcher.solve`). Default: every candidate pair on markets of
        up to :data:`FULL_PAIRS` pairs, else :data:`PER_RECORD`.
    client : dask.distributed.Client, optional
        Score the market and select the candidate pairs as tasks on a Dask cluster
        (the ``[distributed]`` extra); the allocation runs here. The result is the
        same as without.
    towns : scoring.reference.Towns, optional
        The towns table the records' town fields index (default: the county's, or as
        many counties of a province as the records reach,
        :func:`matcher.records.towns_table`).
    on_rankings : callable, optional
        ``on_rankings(scorer, for_demand, for_listing)``, called as soon as the
        recommendations are known when they do not depend on the allocation (nothing
        refused or signed): right after the first pass, before the allocation, so that
        a caller may write them meanwhile. Not called otherwise.

    Returns
    -------
    MatchResult

    Raises
    ------
    ValueError
        An unknown method, or a negative ``top_k`` or ``rounds``, or ``per_record`` < 1.
    matcher.errors.UnknownIdError
        A lock or an exclusion names an id of neither side (``where`` says which).
    matcher.errors.PairConflictError
        A demand is locked twice (or, under ``one_to_one``, a listing), or a pair is
        both locked and excluded.
    """
    from matcher import reasons as why
    from matcher import solve
    from matcher.feedback import taken_listings
    from matcher.recommend import recommend

    top_k = _check_count("top_k", top_k)
    rounds = _check_count("rounds", rounds)
    if per_record is not None:
        per_record = _check_count("per_record", per_record, least=1)
    prof = scoring.load_profile(profile)
    if towns is None:
        from matcher.records import towns_table

        towns = towns_table(demands, listings)
    sc = scoring.Scorer(demands, listings, prof, towns=towns)
    d_side, l_side = sc.demand_side, sc.listing_side
    used = resolve_method(method, l_side.unit)
    ids_d, ids_l = d_side.ids, l_side.ids
    n_d, n_l = sc.shape
    xr, xc = _pairs(ids_d, ids_l, exclude, "exclude")
    lr, lc = _pairs(ids_d, ids_l, locks, "locks")
    both = set(zip(xr.tolist(), xc.tolist())) & set(zip(lr.tolist(), lc.tolist()))
    if both:
        raise PairConflictError("a pair is both locked and excluded",
                                sorted((str(ids_d[i]), str(ids_l[j])) for i, j in both),
                                reason_zh="同一配对既被锁定又被排除")
    shared = used in _SHARED
    if len(set(lr.tolist())) != len(lr) or (not shared and len(set(lc.tolist())) != len(lc)):
        raise PairConflictError("a demand (or, under one_to_one, a listing) is locked twice",
                                reason_zh="同一需求（或一对一分配下同一房源）被锁定两次")
    locked_score, locked_infeasible = _locked_scores(sc, lr, lc)
    locked_area = _offered(sc, lr, lc)
    # listings no one else may take, and the area left in each once the locked pairs have
    # theirs: an indivisible listing, or one without room for another unit, is taken
    taken, room = taken_listings(d_side.area_min, d_side.hi, l_side.area, l_side.unit, lr, lc)
    if not shared:
        taken[lc] = True
    keep = per_record if per_record is not None else (None if n_d * n_l <= FULL_PAIRS else PER_RECORD)
    k_d, k_l = min(top_k, n_l), min(top_k, n_d)
    # with nothing refused or signed, the recommendations are the plain rankings: ranked
    # in the first pass (else recommend() ranks the rest of the market after it)
    plain = client is None and not (xr.size or lr.size or taken.any())
    t0 = time.perf_counter()
    market = solve.Market.build(sc, used, prof.reservation, keep, excluded=(xr, xc), locked_rows=lr,
                                taken=taken, room=room, client=client, top_k=max(k_d, k_l) if plain else 0)
    ranked = (_first(market.top_demand, k_d), _first(market.top_listing, k_l)) if market.top_demand is not None \
        else None
    if ranked is not None and on_rankings is not None:
        on_rankings(sc, *ranked)
    r, c, gap, limits = solve.allocate(market)
    t1 = time.perf_counter()
    demand = np.concatenate([r, lr])
    listing = np.concatenate([c, lc])
    areas = np.concatenate([_offered(sc, r, c), locked_area])
    locked = np.concatenate([np.zeros(len(r), bool), np.ones(len(lr), bool)])
    score = np.concatenate([market.score_of(r, c), locked_score])
    order = np.argsort(market.rank_d[demand], kind="stable")
    demand, listing, areas, locked, score = demand[order], listing[order], areas[order], locked[order], score[order]
    unmatched = why.reasons(market, demand, listing)
    t2 = time.perf_counter()
    rank = None
    if client is not None:
        from scoring.distributed import top_k as dask_top_k

        def rank(s: scoring.Scorer, kk: int, by: Literal["demand", "listing"]) -> scoring.TopK:
            return dask_top_k(client, s, kk, by)
    if ranked is not None:
        for_demand, for_listing = ranked
    else:
        for_demand = recommend(sc, k_d, "demand", (xr, xc), lr, taken, rank) if k_d else _empty_top(n_d, "demand")
        for_listing = recommend(sc, k_l, "listing", (xr, xc), lr, taken, rank) if k_l else _empty_top(n_l, "listing")
    t3 = time.perf_counter()
    seconds = {"scoring": market.pass_seconds, "allocation": (t1 - t0) - market.pass_seconds,
               "reasons": t2 - t1, "recommendations": t3 - t2}
    return MatchResult(
        rounds=solve.disjoint_rounds(market, rounds),
        method=used, demand=demand, listing=listing, score=score, area=areas, locked=locked,
        unmatched=unmatched, for_demand=for_demand, for_listing=for_listing,
        objective=float(np.nansum(score)), gap=gap, scorer=sc, limits=limits,
        feasible_pairs=market.feasible_pairs, histogram=market.histogram(HIST_BINS),
        seconds={k: round(v, 3) for k, v in seconds.items()}, locked_infeasible=locked_infeasible,
    )


def _first(t: scoring.TopK, k: int) -> scoring.TopK:
    """A ranking's first ``k`` columns (the rest is padding when ``k`` is the other side's size)."""
    return scoring.TopK(index=t.index[:, :k], scores=t.scores[:, :k], count=np.minimum(t.count, k), by=t.by)


def _locked_scores(sc: scoring.Scorer, rows: np.ndarray,
                   cols: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str, list[str]]]]:
    """The totals of the locked pairs (float64), and those of them a hard rule excludes.

    A signed pair stays locked even when a rule now fails it (the data changed, or it
    was signed against the rules): its total is then the criteria's weighted sum as if
    it passed (never NaN), and it is listed as ``(demand_id, listing_id, rule names)``
    for the caller to warn about.
    """
    out = np.empty(rows.size)
    infeasible: list[tuple[str, str, list[str]]] = []
    for k, (i, j) in enumerate(zip(rows.tolist(), cols.tolist())):
        b = sc.block(i, i + 1, j, j + 1)
        crit = {name: np.empty((1, 1), dtype=np.float32) for name in sc.weights}
        failed, total = sc.evaluate(b, criteria=crit)
        if int(failed[0, 0]):
            t = np.zeros((1, 1), dtype=np.float32)
            for name, w in sc.weights.items():  # the sum evaluate() takes before masking
                t += np.float32(w) * crit[name]
            total = t
            infeasible.append((str(sc.demand_side.ids[i]), str(sc.listing_side.ids[j]),
                               rule_names(int(failed[0, 0]))))
        out[k] = total[0, 0]
    return out, infeasible
