"""Location: distance from the listing to the nearest place the demand names.

The places are the demand's wanted towns (their centroids), its present site
(``origin``) and its chain anchor (``anchor``). A listing inside a wanted town is at
distance 0; otherwise the distance is the great-circle distance to the nearest
place, computed for the whole block with one BLAS product of unit vectors
(:mod:`scoring.geo`)::

    score = K_distance(distance_km)

with the profile's kernel ``location.distance`` (default: 1 km free, half score at
6 km). A demand that names no place, or a listing without a location, scores
``location.neutral``.
"""

from __future__ import annotations

import math

import numpy as np

from scoring.block import Block, keep_known
from scoring.criteria.base import Detail, fmt, neutral_fill
from scoring.geo import haversine_km_scalar
from scoring.prepare import POINT_ANCHOR, POINT_ORIGIN
from scoring.reference import Towns, gazetteer

name, zh, en = "location", "区位", "location"


def score(b: Block) -> np.ndarray:
    p = b.profile
    neutral = p["location"]["neutral"]
    out = neutral_fill(b.shape, neutral)
    if b.located.size == 0:
        return out
    s = keep_known(p.kernel("location", "distance")(b.distance), b.l.has_loc, neutral)
    out[b.located] = s
    return out


def nearest_place(b: Block, p: int = 0, i: int = 0) -> tuple[float | None, int, int]:
    """For the pair (demand ``i``, listing ``p``) of a block: (km, point kind, town) of
    the nearest place, exactly.

    Returns ``(None, -1, -1)`` when the demand names no place or the listing has no
    location.
    """
    d, l = b.dp, b.lp
    first, last = d.point_offsets[i], d.point_offsets[i + 1]
    if first == last or not l.has_loc[p]:
        return None, -1, -1
    best = (math.inf, -1, -1)
    here = l.town[p]
    for k in range(first, last):
        town = d.point_town[k]
        if town >= 0 and town == here:
            km = 0.0
        else:
            km = haversine_km_scalar(d.point_lat[k], d.point_lon[k], l.lat[p], l.lon[p])
        if km < best[0]:
            best = (km, d.point_kind[k], town)
    return best


def place_name(kind: int, town: int, towns: Towns | None = None) -> tuple[str, str]:
    """Chinese and English name of a place (``town``: its row in ``towns``, default
    :func:`scoring.reference.gazetteer`)."""
    if kind == POINT_ORIGIN:
        return "现址", "the present site"
    if kind == POINT_ANCHOR:
        return "配套龙头企业", "the chain anchor"
    name_ = str((gazetteer() if towns is None else towns).names[town])
    return name_, name_


def describe(b: Block, p: int = 0, i: int = 0) -> Detail:
    km, kind, town = nearest_place(b, p, i)
    if km is None:
        named = b.dp.point_offsets[i + 1] > b.dp.point_offsets[i]
        why = ("需求未指定区位", "the demand names no place") if not named else (
            "房源位置未知", "listing location unknown")
        return Detail({"distance_km": None}, *why)
    zh_name, en_name = place_name(kind, town, b.d.towns)
    limit = b.dp.max_distance[i]
    inputs = {"distance_km": km, "nearest": zh_name, "max_distance_km": None if math.isinf(limit) else limit}
    if km == 0 and town >= 0:
        return Detail(inputs, f"位于{zh_name}", f"in {en_name}")
    return Detail(inputs, f"距{zh_name} {fmt(km)} km", f"{fmt(km)} km from {en_name}")
