"""``matcher.match``: score, allocate, explain, and say why the rest stayed unmatched.

A thin layer over :mod:`scoring` and the bare-matrix algorithms of
:mod:`matcher.allocation`:

1. score every demand against every listing (:func:`scoring.score`);
2. drop excluded pairs (refused by either side) and fix locked ones (already signed):
   a locked demand and listing leave the problem, their pair is kept as is;
3. put both sides in id order, so the result does not depend on row order and ties
   go to the smaller ids, and run the method on the rest;
4. give every unmatched record a reason (:func:`reasons`).

For ``stable``, landlords rank demands by :func:`landlord_scores` (亩均 class, price
offered against asked, lease length, industry fit).

Recommendations (the top k partners of every record) come with the result; with
``rounds=k`` they are instead k disjoint one-to-one allocations, so each demand gets k
distinct suggestions and no listing is suggested to more than k demands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

import scoring
from matcher.allocation import divisible, one_to_one, stable
from matcher.errors import PairConflictError, UnknownIdError
from matcher.reasons import no_feasible, unavailable

__all__ = ["LANDLORD_WEIGHTS", "MatchResult", "Unmatched", "landlord_scores", "match"]

Method = Literal["auto", "one_to_one", "divisible", "stable"]
METHODS: tuple[str, ...] = ("auto", "one_to_one", "divisible", "stable")
_SHARED = ("divisible", "stable")  # the methods that share divisible plants in whole units


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
        ``divisible``'s relative gap to its upper bound: the MIP gap, or the heuristic's
        gap to the LP bound on large markets (0 otherwise).
    rounds : list of (demand, listing) index arrays
        With ``match(..., rounds=k)``: k disjoint one-to-one allocations (else empty).
    limits : dict
        How the solve was bounded: for ``divisible``, the solver used (``milp`` or
        ``heuristic``) and its work limits (no wall-clock limit: the result does not
        depend on the machine's load).
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
    scores: scoring.ScoreResult = field(repr=False)
    rounds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)

    def explain(self, k: int) -> scoring.Explanation:
        """The explanation of pair ``k`` (with what the file said where a value is
        missing, see :mod:`matcher.written`)."""
        from matcher.written import explain

        return explain(self.scores.scorer, int(self.demand[k]), int(self.listing[k]))

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


def landlord_scores(res: scoring.ScoreResult) -> np.ndarray:
    """How much each listing's landlord wants each demand, float32 (n_demands, n_listings).

    A weighted sum (:data:`LANDLORD_WEIGHTS`) of

    * the firm's 亩均评价 class: A 1, B 0.75, C 0.5, D 0.25 (unknown 0.5);
    * the price it offers against the price asked: ``min(1, budget / price)`` on rent
      when the firm would lease and the listing is let, else on the sale price
      (unknown 0.5);
    * the lease it wants: ``min(1, lease_months / 36)`` (unknown 0.5; a purchase 1);
    * industry fit: the industry criterion of the score.
    """
    d, l = res.scorer.demand_side, res.scorer.listing_side
    w = LANDLORD_WEIGHTS
    rating = np.where(d.rating > 0, d.rating / 4.0, 0.5)
    lease = np.where(np.isnan(d.lease_months), 0.5, np.minimum(d.lease_months / 36.0, 1.0))
    lease = np.where(d.deal == 2, 1.0, lease)  # buyers commit for good

    def ratio(budget: np.ndarray, price: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.minimum(budget[:, None] / price[None, :], 1.0)
        return np.where(np.isnan(r), 0.5, r)

    by_rent = ((d.deal & 1) != 0)[:, None] & ((l.deal & 1) != 0)[None, :]
    price = np.where(by_rent, ratio(d.max_rent, l.rent), ratio(d.max_sale, l.sale))
    industry = res.criteria["industry"] if "industry" in res.criteria else res.scorer.criterion_matrix("industry")
    out = w["rating"] * rating[:, None] + w["price"] * price + w["lease"] * lease[:, None] + w["industry"] * industry
    return out.astype(np.float32)


def _offered(sc: scoring.Scorer, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Area each pair ``(rows[k], cols[k])`` is allocated, ㎡: the whole units its reasons
    state (:func:`scoring.offered_area`), or the whole of an indivisible listing."""
    d, l = sc.demand_side, sc.listing_side
    return scoring.offered_area(d.area_min[rows], d.hi[rows], l.area[cols], l.unit[cols])


def _solve(method: str, s: np.ndarray, reservation: float, sc: scoring.Scorer, od: np.ndarray, ol: np.ndarray,
           res: scoring.ScoreResult, room: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
    """Run the method on ``s`` (already in id order); indices in that order, the gap and
    the solver's work limits."""
    if method == "one_to_one":
        r, c = one_to_one(s, reservation)
        return r, c, 0.0, {}
    d, l = sc.demand_side, sc.listing_side
    areas = {"area_min": d.area_min[od], "area_max": d.hi[od], "area": l.area[ol], "unit": l.unit[ol],
             "room": room[ol]}
    if method == "stable":
        r, c = stable(s, landlord_scores(res)[np.ix_(od, ol)], reservation=reservation, **areas)
        return r, c, 0.0, {}
    out = divisible(s, reservation=reservation, **areas)
    return out.rows, out.cols, out.gap, {"solver": out.method, **out.limits}


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} == {value!r}, must be an integer >= 0")
    return int(value)


def _empty_top(n: int, by: str) -> scoring.TopK:
    return scoring.TopK(index=np.zeros((n, 0), dtype=np.int64), scores=np.zeros((n, 0), dtype=np.float32),
                        count=np.zeros(n, dtype=np.int64), by=by)


def match(demands: Any, listings: Any, profile: Any = None, method: Method = "auto",
          top_k: int = 5, locks: Iterable[tuple[str, str]] | None = None,
          exclude: Iterable[tuple[str, str]] | None = None, rounds: int = 0) -> MatchResult:
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
        Recommendations per record (>= 0; at most the other side's size).
    locks : iterable of (demand_id, listing_id), optional
        Pairs already signed: kept whatever their score, their records leave the problem
        (under ``divisible`` and ``stable`` the rest of a divisible plant stays on offer).
    exclude : iterable of (demand_id, listing_id), optional
        Pairs refused by either side: never proposed.
    rounds : int
        When > 0, also make that many disjoint one-to-one allocations (each round
        excludes the pairs of the earlier ones): every demand gets up to ``rounds``
        distinct suggestions and no listing is suggested to more than ``rounds``.

    Returns
    -------
    MatchResult

    Raises
    ------
    ValueError
        An unknown method, or a negative ``top_k`` or ``rounds``.
    matcher.errors.UnknownIdError
        A lock or an exclusion names an id of neither side (``where`` says which).
    matcher.errors.PairConflictError
        A demand is locked twice (or, under ``one_to_one``, a listing), or a pair is
        both locked and excluded.
    """
    top_k = _check_count("top_k", top_k)
    rounds = _check_count("rounds", rounds)
    prof = scoring.load_profile(profile)
    sc = scoring.Scorer(demands, listings, prof)
    d_side, l_side = sc.demand_side, sc.listing_side
    used = resolve_method(method, l_side.unit)
    res = sc.score()
    ids_d, ids_l = d_side.ids, l_side.ids
    s = res.total.astype(np.float64)
    xr, xc = _pairs(ids_d, ids_l, exclude, "exclude")
    lr, lc = _pairs(ids_d, ids_l, locks, "locks")
    both = set(zip(xr.tolist(), xc.tolist())) & set(zip(lr.tolist(), lc.tolist()))
    if both:
        raise PairConflictError("a pair is both locked and excluded",
                                sorted((str(ids_d[i]), str(ids_l[j])) for i, j in both))
    s[xr, xc] = np.nan
    shared = used in _SHARED
    if len(set(lr.tolist())) != len(lr) or (not shared and len(set(lc.tolist())) != len(lc)):
        raise PairConflictError("a demand (or, under one_to_one, a listing) is locked twice")
    s[lr, :] = np.nan
    room = l_side.area.copy()  # area left in each listing once the locked pairs have theirs
    locked_area = _offered(sc, lr, lc)
    np.subtract.at(room, lc, locked_area)
    if not shared:
        s[:, lc] = np.nan
    else:  # an indivisible listing, or one without room for another unit, is taken
        s[:, lc[(l_side.unit[lc] <= 0) | (room[lc] < l_side.unit[lc])]] = np.nan
    od, ol = np.argsort(ids_d, kind="stable"), np.argsort(ids_l, kind="stable")
    r, c, gap, limits = _solve(used, s[np.ix_(od, ol)], prof.reservation, sc, od, ol, res, room)
    r, c = od[r], ol[c]
    demand = np.concatenate([r, lr])
    listing = np.concatenate([c, lc])
    areas = np.concatenate([_offered(sc, r, c), locked_area])
    locked = np.concatenate([np.zeros(len(r), bool), np.ones(len(lr), bool)])
    score = res.total[demand, listing].astype(np.float64)
    order = np.argsort(ids_d[demand], kind="stable")
    demand, listing, areas, locked, score = demand[order], listing[order], areas[order], locked[order], score[order]
    unmatched = reasons(res, s, demand, listing, prof.reservation, excluded=(xr, xc), locked=(lr, lc))
    n_d, n_l = res.shape
    k_d, k_l = min(top_k, n_l), min(top_k, n_d)
    return MatchResult(
        rounds=_rounds(s, od, ol, prof.reservation, rounds),
        method=used, demand=demand, listing=listing, score=score, area=areas, locked=locked,
        unmatched=unmatched,
        for_demand=res.top_k(k_d, by="demand") if k_d else _empty_top(n_d, "demand"),
        for_listing=res.top_k(k_l, by="listing") if k_l else _empty_top(n_l, "listing"),
        objective=float(np.nansum(score)), gap=gap, scores=res, limits=limits,
    )


def _rounds(s: np.ndarray, od: np.ndarray, ol: np.ndarray, reservation: float,
            k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k disjoint optimal one-to-one allocations, each excluding the pairs before it."""
    work = s[np.ix_(od, ol)].copy()
    out = []
    for _ in range(k):
        r, c = one_to_one(work, reservation)
        if r.size == 0:
            break
        work[r, c] = np.nan
        rows, cols = od[r], ol[c]
        order = np.argsort(rows, kind="stable")
        out.append((rows[order], cols[order]))
    return out


def reasons(res: scoring.ScoreResult, s: np.ndarray, demand: np.ndarray, listing: np.ndarray,
            reservation: float, excluded: tuple[np.ndarray, np.ndarray] | None = None,
            locked: tuple[np.ndarray, np.ndarray] | None = None) -> list[Unmatched]:
    """Why each unmatched demand and listing stayed unmatched.

    * ``no_feasible``: no partner passes the hard rules; the rules that excluded most
      candidates are named;
    * ``excluded``: feasible partners exist, but every one of them was excluded (a
      refused pair) or locked to another record; both are counted and named;
    * ``below_reservation``: feasible partners are left, none scores the reservation;
    * ``outbid``: its best partner went to another pair; names that partner and to
      whom.

    Parameters
    ----------
    res : scoring.ScoreResult
    s : ndarray of float64, shape (n_demands, n_listings)
        The scores the allocation saw (NaN where infeasible, excluded or locked away).
    demand, listing : ndarray of int64, shape (n_pairs,)
        The pairs made.
    reservation : float
    excluded, locked : (rows, cols), optional
        The pairs excluded and locked, as row and column indices.
    """
    ids_d, ids_l = res.scorer.demand_side.ids, res.scorer.listing_side.ids
    got_d = np.full(len(ids_d), -1)
    got_d[demand] = listing
    got_l: dict[int, list[int]] = {}
    for i, j in zip(demand.tolist(), listing.tolist()):
        got_l.setdefault(j, []).append(i)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    refused = set(zip(*(x.tolist() for x in (excluded or empty))))
    out: list[Unmatched] = []
    for side, n, other in (("demand", len(ids_d), "listing"), ("listing", len(ids_l), "demand")):
        matched = got_d >= 0 if side == "demand" else np.isin(np.arange(n), listing)
        ids_self = ids_d if side == "demand" else ids_l
        ids_other = ids_l if side == "demand" else ids_d
        word = "房源" if other == "listing" else "需求"
        for k in np.flatnonzero(~matched):
            row = s[k] if side == "demand" else s[:, k]
            if np.all(np.isnan(row)):
                feasible = np.flatnonzero(res.feasible[k] if side == "demand" else res.feasible[:, k]).tolist()
                counts = res.rule_counts(int(k), axis=1 if side == "demand" else 0)
                if row.size == 0:
                    out.append(Unmatched(side, int(k), str(ids_self[k]), f"没有任何{word}", f"there are no {other}s",
                                         "no_feasible"))
                elif feasible:
                    keys = [(int(k), o) if side == "demand" else (o, int(k)) for o in feasible]
                    ex = [o for o, key in zip(feasible, keys) if key in refused]
                    lk = [o for o, key in zip(feasible, keys) if key not in refused]
                    zh_, en_ = unavailable(side, ids_other, ex, lk)  # the wording is shared, not the logic
                    out.append(Unmatched(side, int(k), str(ids_self[k]), zh_, en_, "excluded", tuple(counts.items())))
                else:
                    zh_, en_ = no_feasible(counts, other)
                    out.append(Unmatched(side, int(k), str(ids_self[k]), zh_, en_, "no_feasible",
                                         tuple(counts.items())))
                continue
            best = int(np.nanargmax(np.where(np.isnan(row), -np.inf, row)))
            if row[best] < reservation:
                out.append(Unmatched(side, int(k), str(ids_self[k]),
                                     f"最佳匹配 {ids_other[best]} 得分 {row[best]:.2f}，低于保留分 {reservation:.2f}",
                                     f"best partner {ids_other[best]} scores {row[best]:.2f}, "
                                     f"below the reservation score {reservation:.2f}", "below_reservation"))
                continue
            if side == "demand":
                taker = got_l.get(best, [])
                whom = ", ".join(str(ids_d[t]) for t in taker) or "?"
            else:
                whom = str(ids_l[got_d[best]]) if got_d[best] >= 0 else "?"
            out.append(Unmatched(side, int(k), str(ids_self[k]),
                                 f"最佳匹配 {ids_other[best]}（{row[best]:.2f}）已分配给 {whom}",
                                 f"its best partner {ids_other[best]} ({row[best]:.2f}) went to {whom}", "outbid"))
    return out
