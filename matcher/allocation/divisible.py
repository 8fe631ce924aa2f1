"""Divisible allocation: a listing with a unit size hosts several demands, in whole units.

The problem, a mixed-integer program:

* ``x_e`` in {0, 1} for every candidate pair e = (demand i, listing j): i goes to j;
* ``k_e`` >= 0 integer, for a divisible listing (unit ``u_j`` > 0): the units i gets,
  with ``ceil(lo_i / u_j) x_e <= k_e <= floor(min(hi_i, area_j) / u_j) x_e`` -- whole
  units within the demand's (tolerant) range;
* each demand at most one listing: ``sum_j x_e <= 1``;
* a divisible listing never gives out more than its area: ``sum_i u_j k_e <= area_j``;
  an indivisible one (unit 0) goes whole to at most one demand: ``sum_i x_e <= 1``;
* objective: maximise ``sum_e score_e x_e`` -- the same objective as one-to-one, so a
  demand counts once whatever area it gets, and sharing a plant only ever adds pairs.

Two ways to solve it (``method``):

* ``"milp"`` -- exact: HiGHS (``scipy.optimize.milp``) within a time limit; the result
  reports the MIP gap (0 when proven optimal).
* ``"heuristic"`` -- for large markets: the LP relaxation over each demand's 32 best
  pairs (HiGHS, seconds where the MILP takes hours), rounded: the pairs the LP chose
  are placed first, then the rest by score, each demand on its fewest whole units
  while the listing has room. Its gap is measured against an upper bound on the LP
  relaxation of the whole problem. Relaxing the listings' capacity rows with prices
  ``lam_j >= 0`` gives, for any ``lam``,

      L(lam) = sum_j lam_j cap_j + sum_i max(0, max_j (s_ij - lam_j w_ij))

  (``w_ij`` the area of the fewest whole units, or the one seat of an indivisible
  listing), and ``L(lam) >= LP optimum >= MILP optimum``. With ``lam`` the restricted
  LP's capacity duals this is the LP bound whenever the pairs left out could not
  improve the LP, and an upper bound on it always; so the reported gap is never
  smaller than the true gap to the LP bound.

``"auto"`` solves the MILP up to ``MILP_MAX_PAIRS`` candidate pairs, the heuristic above.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from matcher.allocation.candidates import candidates

__all__ = ["MILP_MAX_PAIRS", "DivisibleResult", "divisible", "unit_sizes"]

_EPS = 1e-9

MILP_MAX_PAIRS = 200_000
"""``method="auto"`` solves the MILP up to this many candidate pairs (about a 1k × 1k
market at 10 % candidates), and uses the heuristic above it."""


@dataclass(frozen=True, eq=False)
class DivisibleResult:
    """Pairs of a divisible allocation.

    Attributes
    ----------
    rows, cols : ndarray of int64
        Demand and listing indices, sorted by demand.
    area : ndarray of float64
        Floor area each pair gets, ㎡ (whole units, or the whole listing).
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
    """

    rows: np.ndarray
    cols: np.ndarray
    area: np.ndarray
    objective: float
    gap: float
    optimal: bool
    bound: float
    method: str


@dataclass(frozen=True, eq=False)
class _Pairs:
    """The pairs that can be chosen, sorted by demand, with their unit ranges."""

    shape: tuple[int, int]
    r: np.ndarray  # demand index
    j: np.ndarray  # listing index
    s: np.ndarray  # score
    div: np.ndarray  # the listing is divisible
    uj: np.ndarray  # unit, ㎡ (1 for an indivisible listing)
    kmin: np.ndarray  # fewest whole units in range (0 when indivisible)
    kmax: np.ndarray  # most whole units in range (0 when indivisible)
    area: np.ndarray  # (n_listings,) floor area, ㎡
    need: np.ndarray  # capacity taken on the fewest units: ㎡, or 1 seat
    cap: np.ndarray  # (n_listings,) capacity: area, or 1 seat when indivisible

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """Where each demand's run of pairs begins (the pairs are sorted by demand)."""
        return np.flatnonzero(np.r_[True, self.r[1:] != self.r[:-1]])

    def units_area(self, k: np.ndarray) -> np.ndarray:
        """Area each pair gets with ``k`` units: whole units, or the whole listing."""
        return np.where(self.div, k * self.uj, self.area[self.j])


def unit_sizes(rows: np.ndarray, cols: np.ndarray, area_min: Any, area_max: Any, area: Any,
               unit: Any) -> tuple[np.ndarray, ...]:
    """Whole-unit ranges of pairs ``(rows[e], cols[e])`` (module docstring).

    Parameters
    ----------
    rows, cols : ndarray of int, shape (n_pairs,)
    area_min, area_max : array-like of float, shape (n_demands,)
        Area each demand may get, ㎡ (NaN: no bound).
    area, unit : array-like of float, shape (n_listings,)
        Floor area and smallest unit of each listing, ㎡ (unit 0 or NaN: indivisible).

    Returns
    -------
    ok : ndarray of bool
        The pair can be given whole units in range (always, for an indivisible listing).
    div : ndarray of bool
        The listing is divisible.
    uj, kmin, kmax : ndarray of float64
        Unit (1 when indivisible), fewest and most whole units in range (0 when indivisible).
    need : ndarray of float64
        Capacity the pair takes on its fewest units: ``kmin * uj`` ㎡, or 1 (a seat).
    cap : ndarray of float64, shape (n_listings,)
        Capacity of each listing: its area when divisible, else 1 seat.
    """
    lo = np.asarray(area_min, dtype=np.float64).reshape(-1)
    hi = np.asarray(area_max, dtype=np.float64).reshape(-1)
    a = np.asarray(area, dtype=np.float64).reshape(-1)
    u = np.nan_to_num(np.asarray(unit, dtype=np.float64).reshape(-1), nan=0.0)
    div = u[cols] > 0
    uj = np.where(div, u[cols], 1.0)
    kmin = np.where(div, np.maximum(np.ceil(np.nan_to_num(lo[rows], nan=0.0) / uj - _EPS), 1.0), 0.0)
    kmax = np.where(div, np.floor(np.minimum(np.nan_to_num(hi[rows], nan=np.inf), a[cols]) / uj + _EPS), 0.0)
    ok = ~div | (kmin <= kmax)
    need = np.where(div, kmin * uj, 1.0)
    cap = np.where(u > 0, a, 1.0)
    return ok, div, uj, kmin, kmax, need, cap


def _pairs(scores: Any, area_min: Any, area_max: Any, area: Any, unit: Any, reservation: float) -> _Pairs:
    c = candidates(scores, reservation)
    keep = c.scores > 0  # a pair scoring <= 0 adds nothing
    r, j, s = c.rows[keep], c.cols[keep], c.scores[keep]
    ok, div, uj, kmin, kmax, need, cap = unit_sizes(r, j, area_min, area_max, area, unit)
    a = np.asarray(area, dtype=np.float64).reshape(c.shape[1])
    return _Pairs(c.shape, r[ok], j[ok], s[ok], div[ok], uj[ok], kmin[ok], kmax[ok], a, need[ok], cap)


def _result(p: _Pairs, x: np.ndarray, k: np.ndarray, bound: float, optimal: bool, method: str) -> DivisibleResult:
    """The chosen pairs (mask ``x``, units ``k``), sorted by demand."""
    objective = float(np.sum(p.s[x]))
    gap = 0.0 if optimal or bound <= 0 else max(0.0, (bound - objective) / bound)
    return DivisibleResult(p.r[x], p.j[x], p.units_area(k)[x], objective, gap, optimal,
                           objective if optimal else bound, method)


def divisible(scores: Any, area_min: Any, area_max: Any, area: Any, unit: Any,
              reservation: float = 0.0, time_limit: float = 60.0,
              method: Literal["auto", "milp", "heuristic"] = "auto") -> DivisibleResult:
    """Allocation where divisible listings host several demands (see the module docstring).

    Parameters
    ----------
    scores : ndarray (n_demands, n_listings), scipy sparse matrix, or Candidates
        NaN (dense) or absent (sparse) marks an infeasible pair.
    area_min, area_max : array-like of float, shape (n_demands,)
        Area each demand may get, ㎡ (the scoring rule's tolerant bounds; inf allowed).
    area : array-like of float, shape (n_listings,)
        Floor area of each listing, ㎡.
    unit : array-like of float, shape (n_listings,)
        Smallest divisible unit, ㎡; 0 or NaN for an indivisible listing.
    reservation : float
        Pairs scoring below it are never chosen.
    time_limit : float
        Seconds for HiGHS: the MILP, or the heuristic's LP.
    method : {"auto", "milp", "heuristic"}
        The exact MILP, the fast heuristic, or the MILP up to ``MILP_MAX_PAIRS`` pairs.

    Returns
    -------
    DivisibleResult
    """
    p = _pairs(scores, area_min, area_max, area, unit, reservation)
    if method == "auto":
        method = "milp" if len(p.s) <= MILP_MAX_PAIRS else "heuristic"
    if method not in ("milp", "heuristic"):
        raise ValueError(f"method == {method!r}, must be 'auto', 'milp' or 'heuristic'")
    if len(p.s) == 0:
        return _result(p, np.zeros(0, dtype=bool), p.kmin, 0.0, True, method)
    return _milp(p, time_limit) if method == "milp" else _heuristic(p, time_limit)


def _milp(p: _Pairs, time_limit: float) -> DivisibleResult:
    """The exact MILP with HiGHS."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    r, j, s, div, uj, kmin, kmax, a = p.r, p.j, p.s, p.div, p.uj, p.kmin, p.kmax, p.area
    e = len(s)
    dv = np.flatnonzero(div)  # the k variables: one per divisible pair, after the e x variables
    nk = len(dv)
    # constraints, as rows of one sparse matrix
    rows_, cols_, vals, lb, ub = [], [], [], [], []
    nrow = 0

    def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray, lo_: float, hi_: float | np.ndarray) -> None:
        nonlocal nrow
        rows_.append(rr + nrow)
        cols_.append(cc)
        vals.append(vv)
        nr = int(rr.max()) + 1 if rr.size else 0
        lb.append(np.broadcast_to(lo_, nr))
        ub.append(np.broadcast_to(hi_, nr))
        nrow += nr

    ar = np.arange(e)
    # each demand at most once
    di = np.searchsorted(np.unique(r), r)
    add(di, ar, np.ones(e), -np.inf, 1.0)
    # indivisible listings: at most one demand
    ind = np.flatnonzero(~div)
    if ind.size:
        li = np.searchsorted(np.unique(j[ind]), j[ind])
        add(li, ind, np.ones(ind.size), -np.inf, 1.0)
    if nk:
        kk = e + np.arange(nk)
        # divisible listings: units given out within the area
        jl = np.unique(j[dv])
        li = np.searchsorted(jl, j[dv])
        add(li, kk, uj[dv], -np.inf, a[jl] + _EPS)
        # linking: k - kmin x >= 0 and k - kmax x <= 0
        pr = np.arange(nk)
        add(np.concatenate([pr, pr]), np.concatenate([kk, dv]), np.concatenate([np.ones(nk), -kmin[dv]]), 0.0, np.inf)
        add(np.concatenate([pr, pr]), np.concatenate([kk, dv]), np.concatenate([np.ones(nk), -kmax[dv]]), -np.inf, 0.0)
    A = coo_array((np.concatenate(vals), (np.concatenate(rows_), np.concatenate(cols_))), shape=(nrow, e + nk))
    cons = LinearConstraint(A.tocsr(), np.concatenate(lb), np.concatenate(ub))
    cost = np.concatenate([-s, np.zeros(nk)])
    upper = np.concatenate([np.ones(e), kmax[dv]])
    res = milp(cost, constraints=cons, integrality=np.ones(e + nk), bounds=Bounds(np.zeros(e + nk), upper),
               options={"time_limit": float(time_limit)})
    if res.x is None:  # no feasible point within the limit (cannot happen: all-zero is feasible)
        return _result(p, np.zeros(e, dtype=bool), kmin, float(np.sum(s)), False, "milp")
    x = np.round(res.x[:e]) > 0.5
    k = np.zeros(e)
    if nk:
        k[dv] = np.round(res.x[e:])
    dual = getattr(res, "mip_dual_bound", None)  # of the minimisation, so -bound
    bound = -float(dual) if dual is not None and np.isfinite(dual) else float(np.sum(s))
    return _result(p, x, k, bound, res.status == 0, "milp")


def _heuristic(p: _Pairs, time_limit: float, keep: int = 32) -> DivisibleResult:
    """LP relaxation over each demand's best pairs, rounded; gap to the LP bound."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, vstack

    n_d, n_l = p.shape
    pool = _best_per_demand(p, p.s, keep)
    e = len(pool)
    cols = np.arange(e)
    a = vstack([coo_array((np.ones(e), (p.r[pool], cols)), shape=(n_d, e)),
                coo_array((p.need[pool], (p.j[pool], cols)), shape=(n_l, e))]).tocsr()
    lp = linprog(-p.s[pool], A_ub=a, b_ub=np.r_[np.ones(n_d), p.cap], bounds=(0, 1), method="highs",
                 options={"time_limit": float(time_limit)})
    lam = np.zeros(n_l)
    key = p.s.copy()
    if lp.x is not None:
        lam = np.maximum(-lp.ineqlin.marginals[n_d:], 0.0)
        key[pool] += 2.0 * lp.x  # the LP's choices first, the rest by score
    x = _greedy(p, key, keep)
    bound = min(_lagrangian(p, lam), _lagrangian(p, np.zeros(n_l)))
    return _result(p, x, p.kmin, bound, False, "heuristic")


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
