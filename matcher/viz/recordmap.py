"""The map of one record's page: the county's towns by name, the record and its partners.

For a demand: the towns it wants (in red), its present site and chain anchor, the
listings proposed (filled squares, numbered by rank in their titles) and the near
misses (hollow squares). For a listing: the listing and the firms proposed, each drawn
at its place nearest the listing. Inline SVG from :func:`matcher.viz.svgmap.render_map`:
no tiles, nothing fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matcher.viz import svgmap

__all__ = ["demand_map", "listing_map"]

_POINT_KIND_ZH = {0: "意向镇街", 1: "现址", 2: "配套龙头"}
MAX_TOWNS_DRAWN = 60
"""A table of many counties (a province) is cut to the towns near what is shown."""


def _towns(towns: Any, wanted: set[int], lat: Sequence[float], lon: Sequence[float]) -> list[svgmap.Town]:
    keep = np.arange(len(towns.names))
    pts = [(a, b) for a, b in zip(lat, lon) if np.isfinite(a) and np.isfinite(b)]
    if len(keep) > MAX_TOWNS_DRAWN and pts:
        la, lo = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        pad = 0.08
        inside = ((towns.lat >= la.min() - pad) & (towns.lat <= la.max() + pad)
                  & (towns.lon >= lo.min() - pad) & (towns.lon <= lo.max() + pad))
        keep = np.union1d(np.flatnonzero(inside), np.asarray(sorted(wanted), dtype=np.int64))
    return [svgmap.Town(str(towns.names[t]), float(towns.lat[t]), float(towns.lon[t]), kind=str(towns.kinds[t]),
                        cls="wanted" if t in wanted else "") for t in keep.tolist()]


def _listing_point(l_side: Any, j: int, label: str, cls: str, rank: int) -> svgmap.Point:
    return svgmap.Point(str(l_side.ids[j]), float(l_side.lat[j]), float(l_side.lon[j]), label=label, cls=cls,
                        data={"rank": str(rank)})


def demand_map(d_side: Any, l_side: Any, towns: Any, i: int, wanted: Sequence[int], proposed: Sequence[int],
               near: Sequence[int] = (), labels: dict[int, str] | None = None) -> str:
    """The map of demand row ``i``.

    Parameters
    ----------
    d_side, l_side : scoring.DemandSide, scoring.ListingSide
    towns : scoring.reference.Towns
        The table the town fields index (names, lat, lon, kinds).
    i : int
    wanted : sequence of int
        The demand's wanted towns (rows of ``towns``).
    proposed, near : sequence of int
        Listing rows proposed (best first) and near misses.
    labels : dict of int to str, optional
        The hover text of each listing row (default: its id).

    Returns
    -------
    str
        ``<svg class="svgmap">``.
    """
    labels = labels or {}
    a, b = int(d_side.point_offsets[i]), int(d_side.point_offsets[i + 1])
    sites = [svgmap.Point(f"site-{k}", float(d_side.point_lat[k]), float(d_side.point_lon[k]),
                          label=_POINT_KIND_ZH.get(int(d_side.point_kind[k]), "需求地点"),
                          cls=f"site kind-{int(d_side.point_kind[k])}") for k in range(a, b)
             if int(d_side.point_kind[k]) != 0]  # wanted towns are marked on the town layer
    shown = [*proposed, *near]
    lat = [q.lat for q in sites] + [float(l_side.lat[j]) for j in shown] + [float(towns.lat[t]) for t in wanted]
    lon = [q.lon for q in sites] + [float(l_side.lon[j]) for j in shown] + [float(towns.lon[t]) for t in wanted]
    layers = [
        svgmap.Layer("near", [_listing_point(l_side, j, labels.get(j, str(l_side.ids[j])), "near", 0) for j in near],
                     shape="square", size=4.0),
        svgmap.Layer("proposed", [_listing_point(l_side, j, labels.get(j, str(l_side.ids[j])), "proposed", r)
                                  for r, j in enumerate(proposed, 1)], shape="square", size=5.0),
        svgmap.Layer("sites", sites, shape="circle", size=5.5),
    ]
    return svgmap.render_map(_towns(towns, {int(t) for t in wanted}, lat, lon), layers, width=800,
                             font_size=13, label="地图：意向镇街（红字）、需求地点（圆点）、推荐房源（实心方块）、"
                                                 "差一点的房源（空心方块）；方向键逐个查看",
                             css_class="recordmap", element_id="record-map")


def listing_map(l_side: Any, d_side: Any, towns: Any, j: int, proposed: Sequence[int],
                labels: dict[int, str] | None = None) -> str:
    """The map of listing row ``j``: the listing and the demands proposed (best first),
    each at its place nearest the listing.

    Parameters
    ----------
    l_side, d_side : scoring.ListingSide, scoring.DemandSide
    towns : scoring.reference.Towns
    j : int
    proposed : sequence of int
        Demand rows.
    labels : dict of int to str, optional
        The hover text of each demand row (default: its id).

    Returns
    -------
    str
    """
    from scoring.geo import haversine_km

    labels = labels or {}
    pts = []
    for r, i in enumerate(proposed, 1):
        a, b = int(d_side.point_offsets[i]), int(d_side.point_offsets[i + 1])
        if b <= a:
            continue
        k = np.arange(a, b)
        best = k[0]
        if np.isfinite(l_side.lat[j]):
            best = k[int(np.argmin(haversine_km(d_side.point_lat[k], d_side.point_lon[k], l_side.lat[j],
                                                l_side.lon[j])))]
        pts.append(svgmap.Point(str(d_side.ids[i]), float(d_side.point_lat[best]), float(d_side.point_lon[best]),
                                label=labels.get(i, str(d_side.ids[i])), cls="proposed", data={"rank": str(r)}))
    me = svgmap.Point(str(l_side.ids[j]), float(l_side.lat[j]), float(l_side.lon[j]), label="本房源", cls="self")
    lat, lon = [q.lat for q in pts] + [me.lat], [q.lon for q in pts] + [me.lon]
    layers = [svgmap.Layer("proposed", pts, shape="circle", size=5.0),
              svgmap.Layer("self", [me], shape="square", size=6.5)]
    t = int(l_side.town[j]) if hasattr(l_side, "town") else -1
    return svgmap.render_map(_towns(towns, {t} if t >= 0 else set(), lat, lon), layers, width=800, font_size=13,
                             label="地图：本房源（方块）、推荐企业（圆点）；方向键逐个查看",
                             css_class="recordmap", element_id="record-map")
