"""The optional compiled path: every rule and criterion fused into one loop per pair.

With the ``[fast]`` extra (numba) installed, :class:`scoring.Scorer` evaluates large
blocks here instead of with numpy array passes: one pass over the pairs, parallel
over demand rows, nothing materialised but the outputs. It implements the same
documented formulas as the rule and criterion modules (the numpy path stays the
definition, and explanations always use it); the tests hold both paths to the
plain-Python reference scorer. Arithmetic here is float64 throughout, so criterion
scores may differ from the numpy path's float32 in the 7th digit.

Nothing is imported or compiled until first use; compiled code is cached on disk
by numba.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scoring.block import Block
from scoring.criteria import CRITERIA
from scoring.geo import EARTH_RADIUS_KM
from scoring.kernels import KERNELS

__all__ = ["Prepared", "available", "criteria_order", "evaluate_block", "prepare", "select_top"]

_KIND = {name: k for k, name in enumerate(KERNELS)}  # step linear exp gauss rational cauchy
_CRITERIA = tuple(CRITERIA)  # the loop computes them in the registry's order


def available() -> bool:
    """True when numba can be imported."""
    return importlib.util.find_spec("numba") is not None


@functools.cache
def _kernel() -> Callable[..., None]:
    from scoring._fast_kernel import run

    return run


def _profile_arrays(b: Block, weights: dict[str, float]) -> tuple[np.ndarray, ...]:
    prof = b.profile
    specs = [prof.kernel("area", "short"), prof.kernel("area", "over"), prof.kernel("location", "distance"),
             prof.kernel("price", "over"), prof.kernel("timing", "late")]
    kinds = np.array([_KIND[k.kind] for k in specs], dtype=np.int64)
    kparams = np.array([[k.offset, k.scale, k.decay, math.log(k.decay)] for k in specs], dtype=np.float64)
    p = np.array([
        EARTH_RADIUS_KM, prof["rules"]["distance_slack_km"], prof["rules"]["grace_days"],
        prof["price"]["negotiable_discount"], prof["area"]["neutral"], prof["location"]["neutral"],
        prof["price"]["neutral"], prof["facilities"]["neutral"], prof["timing"]["neutral"],
        prof["facilities"]["at_minimum"], prof["facilities"]["full_margin"],
    ], dtype=np.float64)
    w = np.array([weights.get(name, 0.0) for name in _CRITERIA], dtype=np.float64)
    return kinds, kparams, p, w


def _class_bits(b: Block) -> tuple[np.ndarray, ...]:
    """The rules that compare few-valued demand fields with listing fields, per class.

    Demands fall into few classes of (fire class, needs 环评, needs the ground floor,
    亩均 rating), and into few industry codes; the failed bits of those rules against
    every listing are computed once per class (and per code) with numpy, and the loop
    only looks them up.

    Returns
    -------
    d_cat : int64 (n_d,), d_code_row : int64 (n_d,)
    cat_bits : uint16 (n_classes, n_l)
    code_bits : uint16 (n_codes + 1, n_l)
    """
    d, l, t = b.d, b.l, b.tables
    keys = np.stack([d.fire.astype(np.int64), d.eia == 1, d.ground == 1, d.rating.astype(np.int64)], axis=1)
    classes, d_cat = np.unique(keys, axis=0, return_inverse=True)
    fire, eia, ground, rating = (classes[:, k][:, None] for k in range(4))
    u16 = np.uint16
    cat_bits = (((fire > 0) & (fire < l.fire[None, :])).astype(u16) << u16(2)
                | (eia.astype(bool) & (l.eia == 0)[None, :]).astype(u16) << u16(3)
                | (ground.astype(bool) & (~np.isnan(l.floor) & (l.floor != 1))[None, :]).astype(u16) << u16(7)
                | (rating < l.min_rating[None, :]).astype(u16) << u16(11))
    code_bits = ((~t.allowed_ok[:, l.allowed]).astype(u16) << u16(4)
                 | t.banned_hit[:, l.banned].astype(u16) << u16(5))
    rows = np.where(d.code >= 0, d.code, t.allowed_ok.shape[0] - 1).astype(np.int64)
    c = np.ascontiguousarray
    return d_cat.reshape(-1).astype(np.int64), rows, c(cat_bits), c(code_bits)


@dataclass(frozen=True, eq=False)
class Prepared:
    """What the loop needs beyond the prepared sides, computed once per scorer.

    Demand-side arrays have shape (n_d,), listing-side ones (n_l,) or (k, n_l).
    """

    d_cat: np.ndarray
    d_code_row: np.ndarray
    cat_bits: np.ndarray
    code_bits: np.ndarray
    level: np.ndarray
    levels: np.ndarray
    inv_unit: np.ndarray
    units: np.ndarray
    tax_need: np.ndarray
    profile: tuple[np.ndarray, ...]


def prepare(b: Block, weights: dict[str, float]) -> Prepared:
    """Precompute for the whole market ``b`` (all demands against all listings)."""
    l = b.l
    # listings' location uncertainty (+ slack) takes few values: one distance limit each
    slack = b.profile["rules"]["distance_slack_km"]
    levels, level = np.unique(l.approx + slack, return_inverse=True)
    if levels.size == 0:
        levels = np.zeros(1)
    # per listing: 1 / unit (0 when indivisible) and the whole units it holds
    div = l.unit > 0
    unit = np.where(div, l.unit, 1.0)
    d_cat, d_code_row, cat_bits, code_bits = _class_bits(b)
    return Prepared(
        d_cat=d_cat, d_code_row=d_code_row, cat_bits=cat_bits, code_bits=code_bits,
        level=level.reshape(-1).astype(np.int64), levels=levels,
        inv_unit=np.where(div, 1.0 / unit, 0.0), units=np.where(div, np.floor(l.area / unit + 1e-9), 1.0),
        tax_need=np.where(l.min_tax > 0, l.min_tax, -np.inf), profile=_profile_arrays(b, weights),
    )


def evaluate_block(b: Block, pre: Prepared, failed: np.ndarray, total: np.ndarray,
                   crit: np.ndarray | None) -> None:
    """Fill ``failed``, ``total`` (and ``crit``, shape (6, n_d, n_l), when given) for a block.

    Parameters
    ----------
    b : Block
        Demands ``b.rows`` against listings ``b.cols`` of the market ``pre`` was made for.
    pre : Prepared
    failed : ndarray of uint16, shape b.shape
    total : ndarray of float32, shape b.shape
    crit : ndarray of float32, shape (6, n_d, n_l), optional
        In the order area, location, price, industry, facilities, timing.
    """
    d, l = b.d, b.l
    rs, cs = b.rows, b.cols
    c = np.ascontiguousarray
    keep = crit is not None
    if crit is None:
        crit = np.empty((6, 0, 0), dtype=np.float32)
    _kernel()(
        d.deal, d.has_area, d.area_min, d.area_max, d.lo, d.hi, c(d.points), d.point_offsets, c(d.wanted),
        d.max_distance, d.max_rent, d.max_sale, d.height, d.load, d.power, d.crane, d.certificate, d.move_in,
        d.lease_months, d.tax, pre.d_cat[rs], pre.d_code_row[rs],
        l.deal, l.area, l.unit, l.has_loc, c(l.vectors), l.town, l.rent, l.sale, l.negotiable,
        l.height, l.load, l.power, l.crane, l.title, l.available, l.min_lease, l.related,
        pre.level[cs], pre.inv_unit[cs], pre.units[cs], pre.tax_need[cs],
        pre.levels, c(pre.cat_bits[:, cs]), c(pre.code_bits[:, cs]), b.tables.synergy, *pre.profile,
        failed, total, crit, keep,
    )


def select_top(t: np.ndarray, k: int, tie: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`scoring.engine.select_top` (same arguments, same result)."""
    from scoring._fast_kernel import select_top as run

    n = t.shape[0]
    index = np.empty((n, k), dtype=np.int64)
    scores = np.empty((n, k), dtype=np.float32)
    count = np.empty(n, dtype=np.int64)
    run(t, k, tie.astype(np.int64), index, scores, count)
    return index, scores, count


def criteria_order() -> tuple[str, ...]:
    """Criterion names in the order of ``crit``'s first axis."""
    return _CRITERIA
