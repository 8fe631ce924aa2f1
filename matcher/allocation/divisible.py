"""Divisible allocation: a listing with a unit size hosts several demands, in whole units.

The problem, a mixed-integer program solved exactly by HiGHS (``scipy.optimize.milp``)
within a time limit:

* ``x_e`` in {0, 1} for every candidate pair e = (demand i, listing j): i goes to j;
* ``k_e`` >= 0 integer, for a divisible listing (unit ``u_j`` > 0): the units i gets,
  with ``ceil(lo_i / u_j) x_e <= k_e <= floor(min(hi_i, area_j) / u_j) x_e`` -- whole
  units within the demand's (tolerant) range;
* each demand at most one listing: ``sum_j x_e <= 1``;
* a divisible listing never gives out more than its area: ``sum_i u_j k_e <= area_j``;
  an indivisible one (unit 0) goes whole to at most one demand: ``sum_i x_e <= 1``;
* objective: maximise ``sum_e score_e x_e`` -- the same objective as one-to-one, so a
  demand counts once whatever area it gets, and sharing a plant only ever adds pairs.

The result reports the MIP gap (0 when proven optimal within the time limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.allocation.candidates import candidates

__all__ = ["DivisibleResult", "divisible"]

_EPS = 1e-9


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
        Relative MIP gap to the best bound: 0 when proven optimal.
    optimal : bool
        Proven optimal (not stopped by the time limit).
    """

    rows: np.ndarray
    cols: np.ndarray
    area: np.ndarray
    objective: float
    gap: float
    optimal: bool


def divisible(scores: Any, area_min: Any, area_max: Any, area: Any, unit: Any,
              reservation: float = 0.0, time_limit: float = 60.0) -> DivisibleResult:
    """Optimal allocation where divisible listings host several demands.

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
        Seconds for HiGHS; the result then carries the gap.

    Returns
    -------
    DivisibleResult
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    c = candidates(scores, reservation)
    n_d, n_l = c.shape
    lo = np.asarray(area_min, dtype=np.float64).reshape(n_d)
    hi = np.asarray(area_max, dtype=np.float64).reshape(n_d)
    a = np.asarray(area, dtype=np.float64).reshape(n_l)
    u = np.nan_to_num(np.asarray(unit, dtype=np.float64).reshape(n_l), nan=0.0)
    keep = c.scores > 0
    r, j, s = c.rows[keep], c.cols[keep], c.scores[keep]
    div = u[j] > 0
    uj = np.where(div, u[j], 1.0)
    kmin = np.where(div, np.maximum(np.ceil(np.nan_to_num(lo[r], nan=0.0) / uj - _EPS), 1.0), 0.0)
    kmax = np.where(div, np.floor(np.minimum(np.nan_to_num(hi[r], nan=np.inf), a[j]) / uj + _EPS), 0.0)
    ok = ~div | (kmin <= kmax)  # a divisible pair needs a whole number of units in range
    r, j, s, div, uj, kmin, kmax = r[ok], j[ok], s[ok], div[ok], uj[ok], kmin[ok], kmax[ok]
    e = len(s)
    empty = np.zeros(0, dtype=np.int64)
    if e == 0:
        return DivisibleResult(empty, empty, np.zeros(0), 0.0, 0.0, True)
    dv = np.flatnonzero(div)  # the k variables: one per divisible pair, after the e x variables
    nk = len(dv)
    # constraints, as rows of one sparse matrix
    rows_, cols_, vals, lb, ub = [], [], [], [], []
    nrow = 0

    def add(rr, cc, vv, lo_, hi_):
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
        return DivisibleResult(empty, empty, np.zeros(0), 0.0, 1.0, False)
    x = np.round(res.x[:e]) > 0.5
    k = np.zeros(e)
    if nk:
        k[dv] = np.round(res.x[e:])
    area_out = np.where(div, k * uj, a[j])
    order = np.argsort(r[x], kind="stable")
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    return DivisibleResult(r[x][order], j[x][order], area_out[x][order], float(np.sum(s[x])),
                           gap, res.status == 0)
