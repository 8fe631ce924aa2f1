"""Price against budget, asymmetric: cheaper than budget is never worse.

For each deal type the pair allows (:attr:`scoring.block.Block.modes`)::

    price = rent (lease) or sale_price (sale), times (1 - negotiable_discount) when 面议
    over  = max(price - budget, 0) / budget
    score = K_over(over)

with the budget ``max_rent`` or ``max_sale_price`` and the profile's kernel
``price.over`` (default: half score 10 % over budget). A missing budget or a missing
price scores ``price.neutral`` for that deal type. A demand that would lease or buy
("either") gets the better of the deal types the pair allows; an infeasible pair
is scored on the types both sides name (or, when they share none, the demand's).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scoring.block import Block, keep_known
from scoring.conventions import DEAL_LEASE, DEAL_SALE
from scoring.criteria.base import Detail, fmt, key_columns

name, zh, en = "price", "价格", "price"


def _effective(b: Block, prices: np.ndarray) -> np.ndarray:
    disc = b.profile["price"]["negotiable_discount"]
    return np.where(b.l.negotiable, prices * (1.0 - disc), prices)


def _one(b: Block, rows: np.ndarray, budget: np.ndarray, price: np.ndarray) -> np.ndarray:
    """float32 (len(rows), n_l): the score of one deal type for the demand rows ``rows``."""
    neutral = b.profile["price"]["neutral"]
    known = ~np.isnan(price)
    eff = _effective(b, np.where(known, price, 0.0)).astype(np.float32)
    budget = budget[rows]
    has = ~np.isnan(budget)
    inv = np.where(has, 1.0 / np.where(has, budget, 1.0), 0.0).astype(np.float32)
    x = eff[None, :] * inv[:, None]
    x -= np.float32(1)
    s = keep_known(b.profile.kernel("price", "over")(x), known, neutral)
    s[~has] = neutral
    return s


def score(b: Block) -> np.ndarray:
    d = b.d
    out = np.empty(b.shape, dtype=np.float32)
    for deal, budget, price in ((DEAL_LEASE, d.max_rent, b.l.rent), (DEAL_SALE, d.max_sale, b.l.sale)):
        rows = np.flatnonzero(d.deal == deal)
        if rows.size:
            out[rows] = _one(b, rows, budget, price)
    rows = np.flatnonzero(d.deal == DEAL_LEASE | DEAL_SALE)
    if rows.size:
        # the better of the deal types the pair allows (or, infeasible, both sides name)
        modes = b.modes[rows]
        modes = modes + (modes == 0) * b.shared[rows]
        modes += (modes == 0) * np.int8(DEAL_LEASE | DEAL_SALE)
        best = None
        for deal, budget, price in ((DEAL_LEASE, d.max_rent, b.l.rent), (DEAL_SALE, d.max_sale, b.l.sale)):
            s = _one(b, rows, budget, price)
            s -= np.float32(2) * ((modes & deal) == 0)  # a type the pair does not allow drops below 0
            best = s if best is None else np.maximum(best, s, out=best)
        out[rows] = best
    return out


def describe_key(b: Block, p: np.ndarray, i: np.ndarray) -> np.ndarray:
    """:meth:`~scoring.criteria.base.KeyedCriterion.describe_key`, float64 (n, 6): the
    deal types the sentence speaks of, the rent budget and rent (元/㎡/月), the price
    budget and price (元/㎡), whether the price is negotiable (the profile's discount is
    the same for every pair)."""
    return key_columns(_modes(b, p, i), b.d.max_rent[i], b.l.rent[p], b.d.max_sale[i], b.l.sale[p],
                       b.l.negotiable[p])


def _modes(b: Block, p: Any, i: Any) -> Any:
    """The deal types a pair's price sentence speaks of: those the rules leave, else
    those both sides accept, else the demand's (an int, or an int64 array for arrays
    ``p``, ``i``)."""
    if isinstance(p, np.ndarray):
        modes = b.modes[i, p].astype(np.int64)
        modes = np.where(modes == 0, b.shared[i, p], modes)
        return np.where(modes == 0, b.d.deal[i], modes)
    return int(b.modes[i, p]) or int(b.shared[i, p]) or int(b.d.deal[i])


def describe(b: Block, p: int = 0, i: int = 0) -> Detail:
    d, l = b.dp, b.lp
    modes = _modes(b, p, i)
    parts_zh, parts_en, inputs = [], [], {}
    for mode, budget, price, zh_w, en_w, unit_zh, unit_en in (
        (DEAL_LEASE, d.max_rent[i], l.rent[p], "租金", "rent", "元/㎡/月", "yuan/m²/month"),
        (DEAL_SALE, d.max_sale[i], l.sale[p], "售价", "price", "元/㎡", "yuan/m²"),
    ):
        if not modes & mode:
            continue
        key = "rent" if mode == DEAL_LEASE else "sale_price"
        inputs[key] = None if math.isnan(price) else price
        inputs["budget_" + key] = None if math.isnan(budget) else budget
        neg = "（面议）" if l.negotiable[p] else ""
        neg_en = " (negotiable)" if l.negotiable[p] else ""
        if math.isnan(price):
            parts_zh.append(f"{zh_w}面议" if l.negotiable[p] else f"{zh_w}未知")
            parts_en.append(f"{en_w} negotiable" if l.negotiable[p] else f"{en_w} unknown")
        elif math.isnan(budget):
            parts_zh.append(f"{zh_w} {fmt(price)} {unit_zh}{neg}，需求未填预算")
            parts_en.append(f"{en_w} {fmt(price)} {unit_en}{neg_en}, no budget given")
        else:
            eff = price * (1.0 - b.profile["price"]["negotiable_discount"]) if l.negotiable[p] else price
            pct = (eff - budget) / budget * 100
            if pct > 0:
                parts_zh.append(f"{zh_w} {fmt(price)} {unit_zh}{neg}，超预算 {fmt(pct)}%")
                parts_en.append(f"{en_w} {fmt(price)} {unit_en}{neg_en}, {fmt(pct)}% over budget")
            else:
                parts_zh.append(f"{zh_w} {fmt(price)} {unit_zh}{neg}，在预算 {fmt(budget)} 内")
                parts_en.append(f"{en_w} {fmt(price)} {unit_en}{neg_en}, within the budget of {fmt(budget)}")
    return Detail(inputs, "；".join(parts_zh), "; ".join(parts_en))
