"""Facility margins: clear height, floor load and power above the demand's minimums.

For each of the three the demand asks a minimum ``need`` of (> 0), with the
listing's ``have``::

    have < need:  0
    otherwise:    at_minimum + (1 - at_minimum) * min(1, (have - need) / (need * full_margin))

(defaults: 0.5 at the minimum, 1 with 50 % to spare); a ``have`` the listing does not
state scores ``facilities.neutral``. The criterion is the mean over the facilities
the demand asks for; a demand asking for none scores ``facilities.neutral``. (The
floor load minimum is also a hard rule; height and power are preferences only.)

A crane is a hard rule only (:mod:`scoring.rules`), not scored here, but a demand that
needs one has its crane described with the other facilities, so that its explanation
never says 需求未提设施要求; a crane written without a tonnage reads 吨位未注明.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scoring.block import Block, keep_known
from scoring.criteria.base import Detail, fmt, key_columns, neutral_fill

name, zh, en = "facilities", "设施余量", "facilities"

_FACILITIES = (
    ("height", "净高", "clear height", "m", "m"),
    ("load", "承重", "floor load", "kg/㎡", "kg/m²"),
    ("power", "电力", "power", "kVA", "kVA"),
)


def _needs(b: Block) -> list[tuple[str, np.ndarray]]:
    return [(f, getattr(b.d, f) > 0) for f, *_ in _FACILITIES]


def score(b: Block) -> np.ndarray:
    p = b.profile["facilities"]
    at_min, full, neutral = p["at_minimum"], p["full_margin"], p["neutral"]
    needs = _needs(b)
    count = np.sum([m.astype(np.int64) for _, m in needs], axis=0)
    out = neutral_fill(b.shape, neutral)
    rows = np.flatnonzero(count > 0)
    if rows.size == 0:
        return out
    acc = np.zeros((rows.size, b.shape[1]), dtype=np.float32)
    for f, asked in needs:
        sub = np.flatnonzero(asked[rows])
        if sub.size == 0:
            continue
        need = getattr(b.d, f)[rows[sub]]
        have = getattr(b.l, f)
        known = ~np.isnan(have)
        have = np.where(known, have, 0.0)
        if full > 0:
            t = have.astype(np.float32)[None, :] * (1.0 / (need * full)).astype(np.float32)[:, None]
            t -= np.float32(1.0 / full)
            np.clip(t, 0, 1, out=t)
        else:  # any margin at all is full marks
            t = np.ones((sub.size, b.shape[1]), dtype=np.float32)
        t *= np.float32(1 - at_min)
        t += np.float32(at_min)
        t *= have[None, :] >= need[:, None]
        acc[sub] += keep_known(t, known, neutral)
    acc /= count[rows].astype(np.float32)[:, None]
    out[rows] = acc
    return out


def describe_key(b: Block, p: np.ndarray, i: np.ndarray) -> np.ndarray:
    """:meth:`~scoring.criteria.base.KeyedCriterion.describe_key`, float64 (n, 10):
    clear height (m), floor load (kg/㎡) and power (kVA), each needed and offered; the
    crane needed and offered (t) and whether either's tonnage is unwritten."""
    cols = [a for f, *_ in _FACILITIES for a in (getattr(b.d, f)[i], getattr(b.l, f)[p])]
    cols += [b.d.crane[i], b.l.crane[p], b.d.crane_any[i], b.l.crane_any[p]]
    return key_columns(*cols)


def describe(b: Block, p: int = 0, i: int = 0) -> Detail:
    inputs, zh_parts, en_parts = {}, [], []
    dp, lp = b.dp, b.lp
    for f, zh_w, en_w, unit, unit_en in _FACILITIES:
        need = getattr(dp, f)[i]
        if not need > 0:
            continue
        have = getattr(lp, f)[p]
        inputs[f] = {"need": need, "have": None if math.isnan(have) else have}
        if math.isnan(have):
            zh_parts.append(f"{zh_w}未知（需 {fmt(need)}{unit}）")
            en_parts.append(f"{en_w} unknown (needs {fmt(need)} {unit_en})")
        elif have < need:
            zh_parts.append(f"{zh_w} {fmt(have)}{unit}，低于要求 {fmt(need)}{unit}")
            en_parts.append(f"{en_w} {fmt(have)} {unit_en}, below the {fmt(need)} {unit_en} needed")
        elif have == need:
            zh_parts.append(f"{zh_w} {fmt(have)}{unit}，刚好达到要求")
            en_parts.append(f"{en_w} {fmt(have)} {unit_en}, exactly as needed")
        else:
            pct = (have - need) / need * 100
            zh_parts.append(f"{zh_w} {fmt(have)}{unit}，高于要求 {fmt(pct)}%")
            en_parts.append(f"{en_w} {fmt(have)} {unit_en}, {fmt(pct)}% above the {fmt(need)} {unit_en} needed")
    crane = _crane(dp, lp, p, i)
    if crane is not None:
        inputs["crane"], zh_c, en_c = crane
        zh_parts.append(zh_c)
        en_parts.append(en_c)
    if not zh_parts:
        return Detail(inputs, "需求未提设施要求", "no facility needs given")
    return Detail(inputs, "；".join(zh_parts), "; ".join(en_parts))


def _crane(dp: Any, lp: Any, p: int, i: int) -> tuple[dict[str, Any], str, str] | None:
    """The crane a demand needs against the listing's: inputs and sentences (None when
    no crane is needed). ``None`` in inputs is a tonnage not written."""
    need, have = dp.crane[i], lp.crane[p]
    if not need > 0:
        return None
    need_any, have_any = bool(dp.crane_any[i]), bool(lp.crane_any[p])
    inputs = {"need": None if need_any else need, "have": None if have_any else have}
    need_zh = "需要行车（吨位未注明）" if need_any else f"需要 {fmt(need)} 吨行车"
    need_en = "needs a crane (tonnage not given)" if need_any else f"needs a {fmt(need)} t crane"
    if have_any:
        return inputs, f"有行车，吨位未注明（{need_zh}）", f"has a crane, tonnage not given ({need_en})"
    if have <= 0:
        return inputs, f"无行车（{need_zh}）", f"no crane ({need_en})"
    if have < need:
        return inputs, f"行车 {fmt(have)} 吨，低于要求（{need_zh}）", f"crane {fmt(have)} t, below the need ({need_en})"
    return inputs, f"行车 {fmt(have)} 吨（{need_zh}）", f"crane {fmt(have)} t ({need_en})"
