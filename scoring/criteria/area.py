"""Area fit: how well the offered area meets the demand's range, asymmetric.

With ``a`` the offered area (the whole listing, or whole units of a divisible one:
:attr:`scoring.block.Block.offered`), ``lo = area_min`` and ``hi = area_max``::

    short = max(lo - a, 0) / lo          (0 when lo = 0)
    over  = max(a - hi, 0) / hi          (0 when hi = inf)
    score = K_short(short) * K_over(over)

with the profile's kernels ``area.short`` (default: half score 5 % short) and
``area.over`` (half score 25 % over): too small hurts more than too large. A demand
that gives no area scores ``area.neutral`` everywhere.
"""

from __future__ import annotations

import math

import numpy as np

from scoring.block import Block
from scoring.criteria.base import Detail, fmt, neutral_fill, value

name, zh, en = "area", "面积", "area"


def _score(b: Block, rows: np.ndarray, a: np.ndarray) -> np.ndarray:
    """float32 (len(rows), a.shape[1]): the score of offered areas ``a`` (float64)."""
    p, d = b.profile, b.d
    lo, hi = d.area_min[rows], d.area_max[rows]
    inv_lo = np.where(lo > 0, 1.0 / np.where(lo > 0, lo, 1.0), 0.0).astype(np.float32)
    inv_hi = np.where(np.isfinite(hi) & (hi > 0), 1.0 / np.where(hi > 0, hi, 1.0), 0.0).astype(np.float32)
    a = a.astype(np.float32)
    short = a * -inv_lo[:, None]
    short += (lo > 0).astype(np.float32)[:, None]
    over = a * inv_hi[:, None]
    over -= (inv_hi > 0).astype(np.float32)[:, None]
    s = p.kernel("area", "short")(short, inplace=True)
    s *= p.kernel("area", "over")(over, inplace=True)
    return s


def score(b: Block) -> np.ndarray:
    d, p = b.d, b.profile
    rows = np.flatnonzero(d.has_area)
    if rows.size == 0:
        return neutral_fill(b.shape, p["area"]["neutral"])
    s = _score(b, rows, b.l.area[None, :])
    if b.divisible.size:
        units = b.offered_units
        s[:, b.divisible] = _score(b, rows, units if rows.size == d.n else units[rows])
    if rows.size == d.n:
        return s
    out = neutral_fill(b.shape, p["area"]["neutral"])
    out[rows] = s
    return out


def describe(b: Block, p: int = 0, i: int = 0) -> Detail:
    d = b.dp
    a = value(b.offered[i if b.offered.shape[0] > 1 else 0, p])  # (n_d or 1, n_l)
    lo, hi = d.area_min[i], d.area_max[i]
    unit = b.lp.unit[p]
    inputs = {"offered_m2": a, "area_min_m2": lo, "area_max_m2": hi if math.isfinite(hi) else None,
              "unit_m2": unit or None}
    if not d.has_area[i]:
        return Detail(inputs, "需求未填面积", "the demand gives no area")
    if not math.isfinite(hi):
        rng, rng_en = f"{fmt(lo, 0)}㎡以上", f"at least {fmt(lo, 0)} m²"
    elif lo == 0:
        rng, rng_en = f"不超过{fmt(hi, 0)}㎡", f"at most {fmt(hi, 0)} m²"
    else:
        rng, rng_en = f"{fmt(lo, 0)}–{fmt(hi, 0)}㎡", f"{fmt(lo, 0)}–{fmt(hi, 0)} m²"
    if unit and a is not None:
        k = round(a / unit)
        what, what_en = f"{k} 个单元共 {fmt(a, 2)}㎡", f"{k} unit{'' if k == 1 else 's'}, {fmt(a, 2)} m²"
    else:
        what, what_en = f"面积 {fmt(a, 2)}㎡", f"area {fmt(a, 2)} m²"
    if a is None:
        return Detail(inputs, "房源面积未知", "listing area unknown")
    if a < lo:
        pct = (lo - a) / lo * 100
        return Detail(inputs, f"{what}，比需求 {rng} 少 {fmt(pct)}%",
                      f"{what_en}, {fmt(pct)}% below the wanted {rng_en}")
    if a > hi:
        pct = (a - hi) / hi * 100 if hi > 0 else float("inf")
        return Detail(inputs, f"{what}，比需求 {rng} 多 {fmt(pct)}%",
                      f"{what_en}, {fmt(pct)}% above the wanted {rng_en}")
    if math.isfinite(hi) and lo > 0:
        return Detail(inputs, f"{what} 在需求 {rng} 内", f"{what_en} within the wanted {rng_en}")
    return Detail(inputs, f"{what}，满足需求 {rng}", f"{what_en}, meets the wanted {rng_en}")
