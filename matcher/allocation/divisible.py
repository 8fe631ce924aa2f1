"""Divisible allocation: a listing with a unit size hosts several demands, in whole units.

Each candidate pair e = (demand i, listing j) takes a fixed area: for a divisible
listing (unit ``u_j`` > 0) the whole units it offers the demand
(:func:`scoring.units.offered_area`: the fewest whole units covering ``area_min_i``,
one fewer when that overshoots ``area_max_i``, at most the units it holds), which is
the area the pair's reasons state; an indivisible listing (unit 0) goes whole. The
problem, an integer program:

* ``x_e`` in {0, 1} for every candidate pair: i goes to j;
* each demand at most one listing: ``sum_j x_e <= 1``;
* a divisible listing never gives out more than its area: ``sum_i w_e x_e <= area_j``
  with ``w_e`` the pair's area; an indivisible one hosts at most one demand:
  ``sum_i x_e <= 1``;
* objective: maximise ``sum_e score_e x_e`` -- the same objective as one-to-one, so a
  demand counts once whatever area it gets, and sharing a plant only ever adds pairs.

Two ways to solve it (``method``), both deterministic (no wall-clock limit unless asked
for): the same inputs give the same allocation however busy the machine is.

* ``"milp"`` -- HiGHS (``scipy.optimize.milp``) within ``node_limit`` branch-and-bound
  nodes; the result reports the MIP gap (0 when proven optimal).
* ``"heuristic"`` -- for large markets: the LP relaxation over each demand's 32 best
  pairs (HiGHS, at most ``lp_iteration_limit`` simplex iterations), rounded: the pairs
  the LP chose are placed first, then the rest by score, while the listing has room.
  Its gap is measured against an upper bound on the LP relaxation of the whole problem.
  Relaxing the listings' capacity rows with prices ``lam_j >= 0`` gives, for any ``lam``,

      L(lam) = sum_j lam_j cap_j + sum_i max(0, max_j (s_ij - lam_j w_ij))

  (``w_ij`` the pair's area, or the one seat of an indivisible listing), and
  ``L(lam) >= LP optimum >= MILP optimum``. With ``lam`` the restricted LP's capacity
  duals this is the LP bound whenever the pairs left out could not improve the LP, and
  an upper bound on it always; so the reported gap is never smaller than the true gap
  to the LP bound.

``"auto"`` solves the MILP up to ``MILP_MAX_PAIRS`` candidate pairs, the heuristic above.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from matcher.allocation.apart import in_thread
from matcher.allocation.candidates import candidates
from scoring import offered_units

__all__ = ["LP_ITERATION_LIMIT", "MILP_MAX_PAIRS", "NODE_LIMIT", "DivisibleResult", "divisible", "lp_prices",
           "unit_sizes"]

_EPS = 1e-9

NODE_LIMIT = 20_000
"""Branch-and-bound nodes HiGHS may explore for the MILP (a work limit, not a time limit)."""

LP_ITERATION_LIMIT = 2_000_000
"""Simplex iterations HiGHS may spend on the heuristic's LP relaxation."""

MILP_MAX_PAIRS = 200_000
"""``method="auto"`` solves the MILP up to this many candidate pairs (about a 1k × 1k
market at 10 % candidates), and uses the heuristic above it."""

APART_VARIABLES = 2_000
"""From this many variables on, HiGHS (the MILP, the heuristic's LP) runs on a thread of
its own, so that Ctrl-C stops it at once (:mod:`matcher.allocation.apart`)."""


@dataclass(frozen=True, eq=False)
class DivisibleResult:
    """Pairs of a divisible allocation.

    Attributes
    ----------
    rows, cols : ndarray of int64
        Demand and listing indices, sorted by demand.
    area : ndarray of float64
        Floor area each pair gets, ㎡ (whole units, :func:`scoring.units.offered_area`,
        or the whole listing).
    objective : float
        Sum of the chosen pairs' scores.
    gap : float
        Relative gap ``(bound - objective) / bound``: 0 when proven optimal.
    optimal : bool
        Proven optimal (only the MILP, when not stopped by the time limit).
    bound : float
        Upper bound on the optimum: HiGHS's dual bound, or the heuristic's LP bound.
    method : str
        ``"milp"`` or ``"heuristic"``.
    limits : dict
        The work limits the solve ran under (``node_limit``, or ``lp_iteration_limit``
        and ``pairs_per_demand``; ``time_limit`` only when one was asked for).
    """

    rows: np.ndarray
    cols: np.ndarray
    area: np.ndarray
    objective: float
    gap: float
    optimal: bool
    bound: float
    method: str
    limits: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _Pairs:
    """The pairs that can be chosen, sorted by demand, with the area each takes."""

    shape: tuple[int, int]
    r: np.ndarray  # demand index
    j: np.ndarray  # listing index
    s: np.ndarray  # score
    taken: np.ndarray  # area the pair takes, ㎡
    need: np.ndarray  # capacity it uses: ㎡ of a divisible listing, or 1 seat
    cap: np.ndarray  # (n_listings,) capacity: area, or 1 seat when indivisible

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """Where each demand's run of pairs begins (the pairs are sorted by demand)."""
        return np.flatnonzero(np.r_[True, self.r[1:] != self.r[:-1]])


def unit_sizes(rows: np.ndarray, cols: np.ndarray, area_min: Any, area_max: Any, area: Any,
               unit: Any, room: Any = None) -> tuple[np.ndarray, ...]:
    """The area each pair ``(rows[e], cols[e])`` takes (module docstring).

    Parameters
    ----------
    rows, cols : ndarray of int, shape (n_pairs,)
    area_min, area_max : array-like of float, shape (n_demands,)
        The area each demand needs covered and the most it may take, ㎡ (NaN: 0 and no
        limit).
    area, unit : array-like of float, shape (n_listings,)
        Floor area and smallest unit of each listing, ㎡ (unit 0 or NaN: indivisible).
    room : array-like of float, shape (n_listings,), optional
        Area still free in each divisible listing (default: all of it), when pairs fixed
        earlier took some: the units a pair takes still come from ``area``.

    Returns
    -------
    ok : ndarray of bool
        The pair can be served (a divisible listing holds at least one unit).
    div : ndarray of bool
        The listing is divisible.
    units : ndarray of float64
        Whole units the pair takes (:func:`scoring.units.offered_units`; 0 when indivisible).
    taken : ndarray of float64
        Area the pair takes, ㎡: ``units * unit``, or the whole listing.
    need : ndarray of float64
        Capacity the pair uses: ``taken`` ㎡ of a divisible listing, or 1 (a seat).
    cap : ndarray of float64, shape (n_listings,)
        Capacity of each listing: its room (area) when divisible, else 1 seat.
    """
    lo = np.nan_to_num(np.asarray(area_min, dtype=np.float64).reshape(-1), nan=0.0)
    hi = np.nan_to_num(np.asarray(area_max, dtype=np.float64).reshape(-1), nan=np.inf)
    a = np.asarray(area, dtype=np.float64).reshape(-1)
    u = np.nan_to_num(np.asarray(unit, dtype=np.float64).reshape(-1), nan=0.0)
    div = u[cols] > 0
    uj = np.where(div, u[cols], 1.0)
    k = np.where(div, offered_units(lo[rows], hi[rows], a[cols], uj), 0.0)
    ok = ~div | (k >= 1)
    taken = np.where(div, k * uj, a[cols])
    need = np.where(div, taken, 1.0)
    free = a if room is None else np.asarray(room, dtype=np.float64).reshape(-1)
    cap = np.where(u > 0, free, 1.0)
    return ok, div, k, taken, need, cap


def _pairs(scores: Any, area_min: Any, area_max: Any, area: Any, unit: Any, reservation: float,
           room: Any = None) -> _Pairs:
    c = candidates(scores, reservation)
    keep = c.scores > 0  # a pair scoring <= 0 adds nothing
    r, j, s = c.rows[keep], c.cols[keep], c.scores[keep]
    ok, _, _, taken, need, cap = unit_sizes(r, j, area_min, area_max, area, unit, room)
    return _Pairs(c.shape, r[ok], j[ok], s[ok], taken[ok], need[ok], cap)


def _result(p: _Pairs, x: np.ndarray, bound: float, optimal: bool, method: str,
            limits: dict[str, Any]) -> DivisibleResult:
    """The chosen pairs (mask ``x``), sorted by demand."""
    objective = float(np.sum(p.s[x]))
    gap = 0.0 if optimal or bound <= 0 else max(0.0, (bound - objective) / bound)
    return DivisibleResult(p.r[x], p.j[x], p.taken[x], objective, gap, optimal,
                           objective if optimal else bound, method, limits)


def divisible(scores: Any, area_min: Any, area_max: Any, area: Any, unit: Any,
              reservation: float = 0.0, method: Literal["auto", "milp", "heuristic"] = "auto",
              node_limit: int = NODE_LIMIT, lp_iteration_limit: int = LP_ITERATION_LIMIT,
              time_limit: float | None = None, room: Any = None) -> DivisibleResult:
    """Allocation where divisible listings host several demands (see the module docstring).

    Parameters
    ----------
    scores : ndarray (n_demands, n_listings), scipy sparse matrix, or Candidates
        NaN (dense) or absent (sparse) marks an infeasible pair.
    area_min, area_max : array-like of float, shape (n_demands,)
        The area each demand needs covered and the most it may take, ㎡ (inf allowed):
        with :func:`scoring.units.offered_area` they decide the whole units each pair
        takes (``matcher.match`` passes ``area_min_m2`` and the area rule's tolerant
        upper bound).
    area : array-like of float, shape (n_listings,)
        Floor area of each listing, ㎡.
    unit : array-like of float, shape (n_listings,)
        Smallest divisible unit, ㎡; 0 or NaN for an indivisible listing.
    reservation : float
        Pairs scoring below it are never chosen.
    method : {"auto", "milp", "heuristic"}
        The exact MILP, the fast heuristic, or the MILP up to ``MILP_MAX_PAIRS`` pairs.
    node_limit : int
        Branch-and-bound nodes for the MILP (deterministic: the same on a busy machine).
    lp_iteration_limit : int
        Simplex iterations for the heuristic's LP.
    time_limit : float, optional
        Seconds for HiGHS on top of the work limits. None (the default) keeps the result
        independent of the machine's speed and load; a time limit does not.
    room : array-like of float, shape (n_listings,), optional
        Area still free in each divisible listing (default: its whole area).

    Returns
    -------
    DivisibleResult
    """
    if node_limit < 1 or lp_iteration_limit < 1:
        raise ValueError("node_limit and lp_iteration_limit must be >= 1")
    p = _pairs(scores, area_min, area_max, area, unit, reservation, room)
    if method == "auto":
        method = "milp" if len(p.s) <= MILP_MAX_PAIRS else "heuristic"
    if method not in ("milp", "heuristic"):
        raise ValueError(f"method == {method!r}, must be 'auto', 'milp' or 'heuristic'")
    limits: dict[str, Any] = ({"node_limit": int(node_limit)} if method == "milp"
                              else {"lp_iteration_limit": int(lp_iteration_limit), "pairs_per_demand": 32})
    if time_limit is not None:
        limits["time_limit"] = float(time_limit)
    if len(p.s) == 0:
        return _result(p, np.zeros(0, dtype=bool), 0.0, True, method, limits)
    return _milp(p, limits) if method == "milp" else _heuristic(p, limits)


def lp_prices(scores: Any, area_min: Any, area_max: Any, area: Any, unit: Any, reservation: float = 0.0,
              room: Any = None, lp_iteration_limit: int = LP_ITERATION_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """Capacity prices of the LP relaxation over every candidate pair, and each pair's
    best use of them: what ``L(lam)`` of the module docstring is made of.

    Parameters
    ----------
    scores, area_min, area_max, area, unit, reservation, room
        As for :func:`divisible`.
    lp_iteration_limit : int
        Simplex iterations for the LP (HiGHS).

    Returns
    -------
    lam : ndarray of float64, shape (n_listings,)
        Price of a unit of each listing's capacity (a ㎡ of a divisible listing, the seat
        of an indivisible one), >= 0; zeros when the LP stopped without a solution.
    gain : ndarray of float64, shape (n_demands,)
        ``max(0, max_j (s_ij - lam_j * need_ij))`` over the demand's candidate pairs,
        so that ``L(lam) = sum(gain) + lam @ capacity``.
    """
    p = _pairs(scores, area_min, area_max, area, unit, reservation, room)
    n_d, n_l = p.shape
    gain = np.zeros(n_d)
    if len(p.s) == 0:
        return np.zeros(n_l), gain
    lam, _ = _lp(p, np.arange(len(p.s)), {"lp_iteration_limit": int(lp_iteration_limit)})
    np.maximum.at(gain, p.r, p.s - lam[p.j] * p.need)
    return lam, gain


def _highs(limits: dict[str, Any], iterations: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "time_limit" in limits:
        out["time_limit"] = limits["time_limit"]
    if iterations is not None:
        out[iterations] = limits[iterations]
    return out


def _milp(p: _Pairs, limits: dict[str, Any]) -> DivisibleResult:
    """The MILP with HiGHS, within the node limit."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    e = len(p.s)
    ar = np.arange(e)
    di = np.searchsorted(np.unique(p.r), p.r)  # each demand at most once
    lj = np.searchsorted(np.unique(p.j), p.j)  # each listing within its capacity
    n_d, n_l = int(di.max()) + 1, int(lj.max()) + 1
    a = coo_array((np.r_[np.ones(e), p.need], (np.r_[di, n_d + lj], np.r_[ar, ar])), shape=(n_d + n_l, e))
    cap = p.cap[np.unique(p.j)]
    cons = LinearConstraint(a.tocsr(), -np.inf, np.r_[np.ones(n_d), cap + _EPS])
    options = {**_highs(limits), "node_limit": int(limits["node_limit"])}
    # HiGHS releases the GIL: a large solve runs on a thread of its own (Ctrl-C at once)
    res = in_thread(lambda: milp(-p.s, constraints=cons, integrality=np.ones(e),
                                 bounds=Bounds(np.zeros(e), np.ones(e)), options=options), apart=e >= APART_VARIABLES)
    if res.x is None:  # no feasible point within the limits (cannot happen: all-zero is feasible)
        return _result(p, np.zeros(e, dtype=bool), float(np.sum(p.s)), False, "milp", limits)
    x = np.round(res.x) > 0.5
    dual = getattr(res, "mip_dual_bound", None)  # of the minimisation, so -bound
    bound = -float(dual) if dual is not None and np.isfinite(dual) else float(np.sum(p.s))
    return _result(p, x, bound, res.status == 0, "milp", limits)


def _heuristic(p: _Pairs, limits: dict[str, Any], keep: int = 32) -> DivisibleResult:
    """LP relaxation over each demand's best pairs, rounded; gap to the LP bound."""
    n_l = p.shape[1]
    pool = _best_per_demand(p, p.s, keep)
    lam, lp_x = _lp(p, pool, limits)
    key = p.s.copy()
    if lp_x is not None:
        key[pool] += 2.0 * lp_x  # the LP's choices first, the rest by score
    x = _greedy(p, key, keep)
    bound = min(_lagrangian(p, lam), _lagrangian(p, np.zeros(n_l)))
    return _result(p, x, bound, False, "heuristic", limits)


def _lp(p: _Pairs, pool: np.ndarray, limits: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """The LP relaxation over the pairs ``pool``: capacity prices (0 where the LP
    stopped without a solution) and its solution."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, vstack

    n_d, n_l = p.shape
    e = len(pool)
    cols = np.arange(e)
    a = vstack([coo_array((np.ones(e), (p.r[pool], cols)), shape=(n_d, e)),
                coo_array((p.need[pool], (p.j[pool], cols)), shape=(n_l, e))]).tocsr()
    options = _highs(limits)
    if "lp_iteration_limit" in limits:
        options["maxiter"] = int(limits["lp_iteration_limit"])
    lp = in_thread(lambda: linprog(-p.s[pool], A_ub=a, b_ub=np.r_[np.ones(n_d), p.cap], bounds=(0, 1),
                                   method="highs", options=options), apart=e >= APART_VARIABLES)
    if lp.x is None:
        return np.zeros(n_l), None
    return np.maximum(-lp.ineqlin.marginals[n_d:], 0.0), lp.x


def _lagrangian(p: _Pairs, lam: np.ndarray) -> float:
    """``L(lam)`` of the module docstring: an upper bound on the LP and MILP optima."""
    top = np.maximum.reduceat(p.s - lam[p.j] * p.need, p.starts)
    return float(np.sum(np.maximum(top, 0.0)) + lam @ p.cap)


def _best_per_demand(p: _Pairs, key: np.ndarray, keep: int) -> np.ndarray:
    """Indices of each demand's ``keep`` pairs of highest ``key`` (ties by listing)."""
    starts = p.starts
    order = np.lexsort((p.j, -key, p.r))  # by demand, best first
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return np.sort(order[rank < keep])


def _greedy(p: _Pairs, key: np.ndarray, keep: int) -> np.ndarray:
    """Pairs placed one by one, highest ``key`` first (ties by index), each demand on its
    fewest whole units while the listing has room; ``keep`` best pairs per demand are
    tried first, then every pair of the demands still out. Mask over the pairs."""
    n_d = p.shape[0]
    first = _best_per_demand(p, key, keep)
    x = np.zeros(len(p.s), dtype=bool)
    placed = np.zeros(n_d, dtype=bool)
    free = p.cap.astype(np.float64).copy()
    for pool in (first, np.setdiff1d(np.arange(len(p.s)), first, assume_unique=True)):
        pool = pool[np.lexsort((p.j[pool], p.r[pool], -key[pool]))]
        pool = pool[~placed[p.r[pool]]]
        r, j, ww = p.r[pool].tolist(), p.j[pool].tolist(), p.need[pool].tolist()
        for e, i, jj, need in zip(pool.tolist(), r, j, ww):
            if not placed[i] and need <= free[jj] + _EPS:
                placed[i] = True
                free[jj] -= need
                x[e] = True
    return x
