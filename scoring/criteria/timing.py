"""Timing: how late the listing becomes free against the move-in date.

::

    late  = available_from - move_in_by      (days)
    score = K_late(max(late, 0))

with the profile's kernel ``timing.late`` (default linear: half score 30 days late,
0 at 60; the hard rule ``available`` already excludes more than ``grace_days``). A
listing available "now" is never late. A demand without a date, or a listing without
one, scores ``timing.neutral`` (see ``timing.as_of`` for what "now" means).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from scoring.block import Block, keep_known
from scoring.criteria.base import Detail, fmt, key_columns, neutral_fill

name, zh, en = "timing", "交付时间", "timing"


def score(b: Block) -> np.ndarray:
    p = b.profile
    neutral = p["timing"]["neutral"]
    out = neutral_fill(b.shape, neutral)
    rows = np.flatnonzero(~np.isnan(b.d.move_in))
    if rows.size == 0:
        return out
    known = ~np.isnan(b.l.available)
    late = (np.where(known, b.l.available, 0.0)[None, :] - b.d.move_in[rows, None]).astype(np.float32)
    s = keep_known(p.kernel("timing", "late")(late), known, neutral)
    out[rows] = s
    return out


@functools.lru_cache(maxsize=4096)
def _date(day: float) -> str:
    if day == -np.inf:
        return "now"
    return str(np.datetime64(int(day), "D"))


def describe_key(b: Block, p: np.ndarray, i: np.ndarray) -> np.ndarray:
    """:meth:`~scoring.criteria.base.KeyedCriterion.describe_key`, float64 (n, 2): the
    move-in day and the day the listing is available (days, NaN unknown)."""
    return key_columns(b.d.move_in[i], b.l.available[p])


def describe(b: Block, p: int = 0, i: int = 0) -> Detail:
    m, a = b.dp.move_in[i], b.lp.available[p]
    inputs = {"move_in_by": None if math.isnan(m) else _date(m), "available_from": None if math.isnan(a) else _date(a)}
    if math.isnan(m):
        return Detail(inputs, "需求未填入驻时间", "no move-in date given")
    if math.isnan(a):
        return Detail(inputs, "房源交付时间未知", "listing availability unknown")
    late = a - m
    if late <= 0:
        return Detail(inputs, f"可于 {_date(m)} 前交付", f"available by {_date(m)}")
    return Detail(inputs, f"交付比入驻时间晚 {fmt(late, 0)} 天",
                  f"available {fmt(late, 0)} days after the move-in date")
