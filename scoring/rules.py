"""Hard rules: a pair is infeasible when any rule fails.

Each rule maps a :class:`~scoring.block.Block` to a bool mask of the pairs that
*fail* it (or None when none can), and has a bit in the ``failed`` bitmask of
:class:`~scoring.engine.ScoreResult`. What missing data does is part of each rule:

==================  ===  =====================================================================
rule                bit  fails when (missing data)
==================  ===  =====================================================================
deal                0    the demand's deal and the listing's deal share no type (unknown: any)
area                1    the offered area lies outside
                         ``[area_min (1 - area_below), area_max (1 + area_above)]``
                         (demand without area: passes; listing without area: fails)
fire_class          2    the process is more hazardous than the building's rating
                         (process unknown: passes; building unknown: profile's class)
eia                 3    the demand needs 环评 and the listing says it cannot (unknown: passes)
industry_allowed    4    the listing admits listed industries and the demand's code lies
                         under none of them (demand code unknown: fails)
industry_banned     5    the demand's code lies under a banned prefix (unknown: passes)
crane               6    the listing's crane is lighter than needed (listing unknown: no crane;
                         a crane of unwritten tonnage meets any need; a need of unwritten
                         tonnage is met by any crane > 0)
ground_floor        7    the demand needs the ground floor and the listing is on another
                         floor (floor unknown: passes)
floor_load          8    the floor load is below the demand's minimum (unknown: passes)
title_certificate   9    a purchase needs 不动产权证, the listing has none (or does not say), and
                         no lease is possible instead
park_tax            10   the park requires a 亩均税收 the firm does not reach (unknown: fails)
park_rating         11   the park requires a 亩均评价 class the firm does not reach
                         (unknown: fails)
max_distance        12   the nearest wanted place is farther than ``max_distance_km`` plus the
                         listing's location uncertainty plus ``distance_slack_km``
                         (no place, no limit or no location: passes)
available           13   the listing is free more than ``grace_days`` after the move-in date
                         (either date unknown: passes)
lease_term          14   the lease wanted is shorter than the listing's minimum and no
                         purchase is possible instead (either term unknown: passes)
==================  ===  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from scoring.block import Block, gather
from scoring.conventions import DEAL_LEASE, DEAL_SALE

__all__ = ["RULES", "RowFails", "Rule", "dense", "rule_names"]


@dataclass(frozen=True)
class Rule:
    """A named hard rule.

    Attributes
    ----------
    name : str
    bit : int
        Its bit in the ``failed`` mask (``failed & (1 << bit)``).
    zh, en : str
        Short labels.
    fails : callable
        ``fails(block)`` -> bool array broadcastable to the block's shape, a
        :class:`RowFails` (failures on some rows only), or None (nothing fails).
    """

    name: str
    bit: int
    zh: str
    en: str
    fails: Callable[[Block], Fails]

    @property
    def flag(self) -> int:
        return 1 << self.bit


class RowFails(NamedTuple):
    """Failures on some demand rows only: ``mask`` (len(rows), n_l) or (1, n_l) on ``rows``."""

    rows: np.ndarray
    mask: np.ndarray


Fails = np.ndarray | RowFails | None


def dense(fails: Fails, shape: tuple[int, int]) -> np.ndarray:
    """A rule's result as a full bool mask of ``shape``."""
    out = np.zeros(shape, dtype=bool)
    if isinstance(fails, RowFails):
        out[fails.rows] = fails.mask
    elif fails is not None:
        out[...] = fails
    return out


def _on_rows(rows: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> RowFails | None:
    """``fn(idx)`` on the demand rows ``idx`` where ``rows`` holds."""
    idx = np.flatnonzero(rows)
    if idx.size == 0:
        return None
    return RowFails(idx, fn(idx))


def _outer(rows: np.ndarray, cols: np.ndarray) -> RowFails | None:
    """Fails on rows × cols (given as bool vectors)."""
    return _on_rows(rows, lambda i: cols[None, :]) if cols.any() else None


def _deal(b: Block) -> np.ndarray:
    return b.shared == 0


def _area(b: Block) -> Fails:
    d, area, div = b.d, b.l.area, b.divisible

    def f(i: np.ndarray) -> np.ndarray:
        lo, hi = d.lo[i, None], d.hi[i, None]
        out = ~((lo <= area[None, :]) & (area[None, :] <= hi))
        if div.size:
            a = b.offered_units if i.size == d.n else b.offered_units[i]
            out[:, div] = ~((lo <= a) & (a <= hi))
        return out

    return _on_rows(d.has_area, f)


def _fire(b: Block) -> Fails:
    return _on_rows(b.d.fire > 0, lambda i: b.d.fire[i, None] < b.l.fire[None, :])


def _eia(b: Block) -> Fails:
    return _outer(b.d.eia == 1, b.l.eia == 0)


def _allowed(b: Block) -> Fails:
    if not (b.l.allowed > 0).any():
        return None
    return gather(~b.tables.allowed_ok, b.code_rows, b.l.allowed)


def _banned(b: Block) -> Fails:
    if not (b.l.banned > 0).any():
        return None
    return gather(b.tables.banned_hit, b.code_rows, b.l.banned)


def _crane(b: Block) -> Fails:
    return _on_rows(b.d.crane > 0, lambda i: b.l.crane[None, :] < b.d.crane[i, None])


def _ground(b: Block) -> Fails:
    return _outer(b.d.ground == 1, ~np.isnan(b.l.floor) & (b.l.floor != 1))


def _load(b: Block) -> Fails:
    return _on_rows(b.d.load > 0, lambda i: b.l.load[None, :] < b.d.load[i, None])


def _lost_all(b: Block, blocked: np.ndarray, mode: int) -> Fails:
    if not blocked.any():
        return None
    return blocked & ((b.shared & mode) != 0) & (b.modes == 0)


def _title(b: Block) -> Fails:
    return _lost_all(b, b.sale_blocked, DEAL_SALE)


def _lease_term(b: Block) -> Fails:
    return _lost_all(b, b.lease_blocked, DEAL_LEASE)


def _tax(b: Block) -> Fails:
    required = b.l.min_tax > 0
    if not required.any():
        return None
    # no requirement: -inf; an unknown tax: -inf too, below any requirement
    need = np.where(required, b.l.min_tax, -np.inf)
    return np.where(np.isnan(b.d.tax), -np.inf, b.d.tax)[:, None] < need[None, :]


def _rating(b: Block) -> Fails:
    if not (b.l.min_rating > 0).any():
        return None
    return b.d.rating[:, None] < b.l.min_rating[None, :]  # unknown (0) is below every class


def _distance(b: Block) -> Fails:
    limited = np.isfinite(b.d.max_distance[b.located])
    if not limited.any() or not b.l.has_loc.any():
        return None
    rows = b.located[limited]
    slack = b.profile["rules"]["distance_slack_km"]
    extra = np.where(b.l.has_loc, b.l.approx + slack, np.inf).astype(np.float32)  # no location: never too far
    km = b.distance if limited.all() else b.distance[limited]
    return RowFails(rows, km > (b.d.max_distance[rows].astype(np.float32)[:, None] + extra[None, :]))


def _available(b: Block) -> Fails:
    grace = b.profile["rules"]["grace_days"]
    return _on_rows(~np.isnan(b.d.move_in),
                    lambda i: (b.l.available[None, :] - b.d.move_in[i, None]) > grace)


RULES: tuple[Rule, ...] = (
    Rule("deal", 0, "交易方式", "deal type", _deal),
    Rule("area", 1, "面积", "area", _area),
    Rule("fire_class", 2, "火灾危险性", "fire class", _fire),
    Rule("eia", 3, "环评", "environmental approval", _eia),
    Rule("industry_allowed", 4, "准入行业", "admitted industries", _allowed),
    Rule("industry_banned", 5, "禁入行业", "banned industries", _banned),
    Rule("crane", 6, "行车", "crane", _crane),
    Rule("ground_floor", 7, "底层", "ground floor", _ground),
    Rule("floor_load", 8, "承重", "floor load", _load),
    Rule("title_certificate", 9, "产权证", "title certificate", _title),
    Rule("park_tax", 10, "亩均税收", "tax per mu", _tax),
    Rule("park_rating", 11, "亩均评价", "efficiency rating", _rating),
    Rule("max_distance", 12, "距离上限", "maximum distance", _distance),
    Rule("available", 13, "交付时间", "availability", _available),
    Rule("lease_term", 14, "租期", "lease term", _lease_term),
)


def rule_names(failed: int) -> list[str]:
    """Names of the rules whose bits are set in a ``failed`` value."""
    return [r.name for r in RULES if failed & r.flag]
