"""Upper bounds on a pair's total score from where its two records are.

A pass over every pair of a province (the checks of :mod:`matcher.solve`) can leave out
pairs that cannot score above a threshold. The location criterion is what separates a
county's pairs from the next county's: a listing ``d`` km from every place a demand
names scores at most ``K(d)`` on location (the profile's decay kernel, which never
rises with distance), so the pair's total is at most::

    1 - w_location * (1 - K(d))                  (weights normalised to sum 1)

whatever its other criteria. Records are put in cells:

* listings in the cells of a latitude/longitude grid :data:`CELL_DEG` degrees wide (a
  listing known by its town only sits at the town's centroid, as the scorer places it);
  listings without a location in a cell of their own;
* demands in groups by the grid cell of their first place; demands that name no place
  in a group of their own.

For a group and a cell the distance is bounded below by the angle between their centres
less both radii (the largest angle from a centre to a member's place), on the sphere
the scorer measures on; it is 0 when a demand of the group wants a town a listing of
the cell lies in (inside a wanted town is 0 km). A demand without a place or a listing
without a location scores ``location.neutral``. :data:`MARGIN` is added to every bound
to cover the float32 arithmetic of the engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from scoring.geo import EARTH_RADIUS_KM

__all__ = ["CELL_DEG", "MARGIN", "LocationBounds", "location_bounds"]

CELL_DEG = 0.25
"""Width of the grid's cells, degrees of latitude and longitude (about 25 km)."""

MARGIN = 1e-4
"""Added to every bound (the engines score in float32)."""


@dataclass(frozen=True, eq=False)
class LocationBounds:
    """Cells of a market's records and the best total a pair between them can score.

    Attributes
    ----------
    group : ndarray of int64, shape (n_demands,)
        Each demand's group.
    cell : ndarray of int64, shape (n_listings,)
        Each listing's cell.
    ub : ndarray of float64, shape (n_groups, n_cells)
        No pair of a demand of group g and a listing of cell c scores above ``ub[g, c]``.
    """

    group: np.ndarray
    cell: np.ndarray
    ub: np.ndarray

    def of(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float64 (len(rows),): the bound of pairs ``(rows[k], cols[k])``."""
        return self.ub[self.group[rows], self.cell[cols]]


def _cells(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """int64 keys of grid cells (NaN coordinates: -1)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    key = np.full(lat.shape, -1, dtype=np.int64)
    a = np.floor(np.where(ok, lat, 0.0) / CELL_DEG).astype(np.int64) + 1000
    b = np.floor(np.where(ok, lon, 0.0) / CELL_DEG).astype(np.int64) + 1000
    key[ok] = (a * 4000 + b)[ok]
    return key


def _centres(member: np.ndarray, vectors: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit centre (n, 3) and angular radius (n,), radians, of each group's vectors."""
    total = np.zeros((n, 3))
    np.add.at(total, member, vectors)
    norm = np.linalg.norm(total, axis=1)
    centre = total / np.where(norm > 0, norm, 1.0)[:, None]
    ang = np.arccos(np.clip(np.einsum("ij,ij->i", vectors, centre[member]), -1.0, 1.0))
    radius = np.zeros(n)
    np.maximum.at(radius, member, ang)
    return centre, radius * (1 + 1e-9) + 1e-12


def location_bounds(sc: Any) -> LocationBounds:
    """:class:`LocationBounds` of a :class:`scoring.Scorer`'s market.

    Parameters
    ----------
    sc : scoring.Scorer

    Returns
    -------
    LocationBounds

    Examples
    --------
    >>> import scoring
    >>> from matcher import generate_market
    >>> m = generate_market(200, 200, seed=1, counties=4)
    >>> sc = scoring.Scorer(m.demands, m.listings, towns=m.towns)
    >>> b = location_bounds(sc)
    >>> s = sc.score().total
    >>> bool((np.nan_to_num(s, nan=0.0) <= b.ub[b.group[:, None], b.cell[None, :]]).all())
    True
    """
    d, l = sc.demand_side, sc.listing_side
    w_loc = float(sc.weights.get("location", 0.0))
    neutral = float(sc.profile["location"]["neutral"])
    # listings: grid cells of their places, then one cell for those without a location
    lat = np.degrees(np.arcsin(np.clip(l.vectors[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(l.vectors[:, 1], l.vectors[:, 0]))
    key = np.where(l.has_loc, _cells(lat, lon), -1)
    _, cell = np.unique(key, return_inverse=True)
    cell = cell.reshape(-1).astype(np.int64)
    n_cells = int(cell.max()) + 1 if cell.size else 0
    # demands: by the cell of their first place; those without one in a group of their own
    n_pts = np.diff(d.point_offsets)
    has = n_pts > 0
    first = d.point_offsets[:-1][has]
    gkey = np.full(d.n, -1, dtype=np.int64)
    gkey[has] = _cells(d.point_lat[first].astype(np.float64), d.point_lon[first].astype(np.float64))
    gkey[has & (gkey < 0)] = -2  # places without coordinates (cannot happen; kept apart anyway)
    _, group = np.unique(gkey, return_inverse=True)
    group = group.reshape(-1).astype(np.int64)
    n_groups = int(group.max()) + 1 if group.size else 0
    ub = np.ones((n_groups, n_cells))
    if w_loc <= 0 or n_groups == 0 or n_cells == 0:
        return LocationBounds(group, cell, ub + MARGIN)
    # centres and radii of the cells' listings and the groups' places
    located = np.flatnonzero(l.has_loc)
    c_centre, c_radius = _centres(cell[located], l.vectors[located], n_cells)
    owner = np.repeat(np.arange(d.n), n_pts)  # demand of each point
    p_group = group[owner]
    g_centre, g_radius = _centres(p_group, d.points, n_groups)
    angle = np.arccos(np.clip(g_centre @ c_centre.T, -1.0, 1.0))
    km = np.maximum(angle - g_radius[:, None] - c_radius[None, :], 0.0) * EARTH_RADIUS_KM
    # inside a wanted town: 0 km
    towns = len(d.towns) + 1
    wt = d.point_town >= 0
    want = sp.csr_matrix((np.ones(int(wt.sum())), (p_group[wt], d.point_town[wt])), shape=(n_groups, towns))
    lt = l.has_loc & (l.town >= 0) & (l.town < towns)
    hold = sp.csr_matrix((np.ones(int(lt.sum())), (l.town[lt], cell[lt])), shape=(towns, n_cells))
    zero = (want @ hold).tocoo()
    km[zero.row, zero.col] = 0.0
    k = sc.profile.kernel("location", "distance")
    loc = np.asarray(k(km.astype(np.float32)), dtype=np.float64)
    # a demand without a place, a listing without a location: neutral
    no_place = np.unique(group[~has])
    loc[no_place, :] = neutral
    no_loc = np.unique(cell[~l.has_loc])
    loc[:, no_loc] = neutral
    ub = 1.0 - w_loc * (1.0 - np.clip(loc, 0.0, 1.0)) + MARGIN
    return LocationBounds(group, cell, ub)
