"""Records turned into the arrays the engine reads: one pass per side, done once.

:func:`prepare_demands` and :func:`prepare_listings` read any object with the
canonical field names of DESIGN.md as numpy arrays (``matcher.Demands`` and
``matcher.Listings``; the engine never imports :mod:`matcher`). They resolve what
missing values mean once, so the hot loop has no special cases:

* an unknown deal matches every deal;
* a demand without an area has ``[0, inf)``; a listing without ``min_unit_m2`` is
  indivisible (unit 0);
* places become unit vectors (:mod:`scoring.geo`), so one BLAS product gives the
  angle between every demand place and every listing; a demand's places are a
  compact list per demand (CSR: ``point_offsets``), wanted towns first, each with its
  town row (``point_town``; -1 for a present site or an anchor), which is how
  "inside a wanted town is 0 km" is looked up (no table of demands × towns);
* town rows index a :class:`scoring.reference.Towns` table (default:
  :func:`scoring.reference.gazetteer`; ``towns=`` another, such as
  :func:`scoring.reference.towns` for several counties), which gives the centroids
  of wanted towns and of listings known by their town only;
* a listing without a fire rating gets the profile's ``unknown_fire_class``; a
  listing without crane data has no crane;
* a crane written without a tonnage (``crane_any`` with ``crane_t`` unknown: 需要行车,
  带行车) is a need for *some* crane on a demand (``crane`` = :data:`CRANE_ANY_NEED`, a
  tonnage above 0 that any crane meets and no crane does not) and a crane that meets any
  tonnage on a listing (``crane`` = inf): staff would rather see such a pair and ask
  than miss it. ``crane_any`` keeps the flag so explanations say 吨位未注明;
* dates become day numbers (float64, NaN unknown); "now" becomes the profile's
  ``timing.as_of`` when set, else -inf for a listing (always on time) and NaN for a
  demand (no date);
* industry codes and code lists become indices into small tables of unique values.

Sides slice by contiguous ranges (:meth:`DemandSide.slice`), which is how blocks of
the score matrix are cut.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from scoring.conventions import AVAILABLE_NOW, DEAL_BOTH
from scoring.geo import unit_vectors
from scoring.profile import Profile
from scoring.reference import Towns, gazetteer

__all__ = ["CRANE_ANY_NEED", "DemandSide", "ListingSide", "prepare_demands", "prepare_listings", "ragged_take"]

POINT_TOWN, POINT_ORIGIN, POINT_ANCHOR = 0, 1, 2
CRANE_ANY_NEED = 1e-9
"""Tonnage (t) standing for a demand's need for a crane of unwritten tonnage: above 0, below any crane."""
_POINT_FIELDS = ("points", "point_kind", "point_town", "point_lat", "point_lon", "point_offsets")


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _days(dates: Any, now: float) -> np.ndarray:
    d = np.asarray(dates, dtype="datetime64[D]")
    out = d.astype(np.int64).astype(np.float64)
    out[np.isnat(d)] = np.nan
    out[d == AVAILABLE_NOW] = now
    return out


def _deal(deal: Any) -> np.ndarray:
    d = np.asarray(deal, dtype=np.int8)
    return np.where(d == 0, np.int8(DEAL_BOTH), d).astype(np.int8)


def _index_lists(lists: Any) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Index of every row's list among the unique lists; row -> (0 = the empty list)."""
    uniq: dict[tuple[str, ...], int] = {(): 0}
    idx = np.empty(len(lists), dtype=np.int32)
    for i, row in enumerate(lists):
        key = tuple(sorted(str(v) for v in row))
        idx[i] = uniq.setdefault(key, len(uniq))
    return idx, list(uniq)


def _take_fields(obj: Any, idx: np.ndarray, n: int, skip: tuple[str, ...]) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name)[idx] for f in fields(obj)
            if f.name not in skip and isinstance(getattr(obj, f.name), np.ndarray)
            and getattr(obj, f.name).ndim >= 1 and len(getattr(obj, f.name)) == n}


def _concat_fields(parts: list[Any], skip: tuple[str, ...]) -> dict[str, Any]:
    first = parts[0]
    return {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(first)
            if f.name not in skip and isinstance(getattr(first, f.name), np.ndarray)
            and getattr(first, f.name).ndim >= 1 and len(getattr(first, f.name)) == first.n}


def _merge_lists(parts: list[Any], lists: str, index: str) -> tuple[list, np.ndarray]:
    """Concatenate the parts' unique-list tables, each part's indices shifted to match."""
    table: list = []
    idx = []
    for p in parts:
        idx.append(np.asarray(getattr(p, index)) + len(table))
        table += list(getattr(p, lists))
    return table, np.concatenate(idx).astype(getattr(parts[0], index).dtype)


def _slice_fields(obj: Any, sl: slice, n: int, skip: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if f.name not in skip and isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n:
            out[f.name] = v[sl]
    return out


def ragged_take(offsets: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx`` of a ragged (CSR) array: their new offsets, and the positions of their
    entries in the old one.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n + 1,)
        Row r holds entries ``offsets[r]:offsets[r + 1]``.
    idx : ndarray of int64, shape (k,)

    Returns
    -------
    new_offsets : ndarray of int64, shape (k + 1,)
    positions : ndarray of int64, shape (new_offsets[-1],)
    """
    starts = offsets[:-1][idx]  # (not a diff over every row: a few may be taken)
    lengths = offsets[1:][idx] - starts
    out = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out, np.repeat(starts - out[:-1], lengths) + np.arange(out[-1])


@dataclass(frozen=True, eq=False)
class DemandSide:
    """Demands as the engine reads them; every array has shape (n,) unless noted.

    Attributes
    ----------
    points : ndarray of float64, shape (n_points, 3)
        Every demand's places (wanted towns, origin, anchor) as unit vectors.
    point_offsets : ndarray of int64, shape (n + 1,)
        Points of demand i are ``points[point_offsets[i]:point_offsets[i + 1]]``.
    point_kind, point_town, point_lat, point_lon : ndarray, shape (n_points,)
        ``POINT_TOWN`` / ``POINT_ORIGIN`` / ``POINT_ANCHOR``, the town row (int32; -1
        for a site or an anchor), and the place in degrees. A demand's points list
        its wanted towns first, so its wanted towns are the ``point_town`` of its
        points of kind ``POINT_TOWN`` (:meth:`wanted_towns`).
    codes : list of str
        Unique industry codes; ``code`` indexes it (-1: none).
    towns : Towns
        The towns table the town rows index.
    """

    n: int
    ids: np.ndarray
    deal: np.ndarray
    has_area: np.ndarray
    area_min: np.ndarray
    area_max: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    points: np.ndarray
    point_offsets: np.ndarray
    point_kind: np.ndarray
    point_town: np.ndarray
    point_lat: np.ndarray
    point_lon: np.ndarray
    max_distance: np.ndarray
    max_rent: np.ndarray
    max_sale: np.ndarray
    code: np.ndarray
    codes: list
    height: np.ndarray
    load: np.ndarray
    power: np.ndarray
    crane: np.ndarray
    crane_any: np.ndarray
    ground: np.ndarray
    fire: np.ndarray
    eia: np.ndarray
    certificate: np.ndarray
    move_in: np.ndarray
    lease_months: np.ndarray
    tax: np.ndarray
    rating: np.ndarray
    towns: Towns

    @property
    def has_place(self) -> np.ndarray:
        """Bool (n,): the demand names at least one place."""
        return np.diff(self.point_offsets) > 0

    def wanted_towns(self, i: int) -> np.ndarray:
        """int32 (k,): the town rows demand ``i`` wants."""
        a, b = self.point_offsets[i], self.point_offsets[i + 1]
        return self.point_town[a:b][self.point_kind[a:b] == POINT_TOWN]

    def take(self, idx: np.ndarray) -> DemandSide:
        """Demands at positions ``idx`` (int array), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        kw = _take_fields(self, idx, self.n, skip=_POINT_FIELDS)
        offsets, pts = ragged_take(self.point_offsets, idx)
        kw.update({f: getattr(self, f)[pts] for f in _POINT_FIELDS if f != "point_offsets"})
        return replace(self, n=len(idx), point_offsets=offsets, **kw)

    @staticmethod
    def concat(parts: list[DemandSide]) -> DemandSide:
        """Demands of ``parts`` one after another (sides prepared with the same profile
        and towns)."""
        _same_towns(parts)
        kw = _concat_fields(parts, skip=(*_POINT_FIELDS, "code"))
        kw.update({f: np.concatenate([getattr(p, f) for p in parts]) for f in _POINT_FIELDS if f != "point_offsets"})
        sizes = np.array([len(p.points) for p in parts[:-1]], dtype=np.int64)
        shift = np.concatenate([[0], np.cumsum(sizes)])
        kw["point_offsets"] = np.concatenate([parts[0].point_offsets[:1]]
                                             + [p.point_offsets[1:] + s for p, s in zip(parts, shift)])
        codes = list(dict.fromkeys(c for p in parts for c in p.codes))
        where = {c: k for k, c in enumerate(codes)}
        kw["code"] = np.concatenate([np.array([-1] + [where[c] for c in p.codes], dtype=p.code.dtype)[p.code + 1]
                                     for p in parts])
        return replace(parts[0], n=sum(p.n for p in parts), codes=codes, **kw)

    def slice(self, start: int, stop: int) -> DemandSide:
        """Demands ``start:stop`` (views, no copies of the big arrays; the side itself
        when that is all of it)."""
        start, stop, _ = slice(start, stop).indices(self.n)
        if start == 0 and stop == self.n:
            return self
        sl = slice(start, stop)
        kw = _slice_fields(self, sl, self.n, skip=_POINT_FIELDS)
        a, b = self.point_offsets[start], self.point_offsets[stop]
        kw.update({f: getattr(self, f)[a:b] for f in _POINT_FIELDS if f != "point_offsets"})
        return replace(self, n=stop - start, point_offsets=self.point_offsets[start:stop + 1] - a, **kw)


@dataclass(frozen=True, eq=False)
class ListingSide:
    """Listings as the engine reads them; every array has shape (n,) unless noted.

    Attributes
    ----------
    vectors : ndarray of float64, shape (n, 3)
        Unit vector of the location; zeros without one.
    town : ndarray of int64
        Row of the town in ``towns``; ``len(towns)`` when unknown (no demand wants it).
    allowed, banned, related : ndarray of int32
        Index of the listing's admitted, banned and related (admitted + tenants)
        industry lists in ``allowed_lists`` ..., 0 being the empty list.
    """

    n: int
    ids: np.ndarray
    deal: np.ndarray
    area: np.ndarray
    unit: np.ndarray
    has_loc: np.ndarray
    vectors: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    town: np.ndarray
    approx: np.ndarray
    rent: np.ndarray
    sale: np.ndarray
    negotiable: np.ndarray
    floor: np.ndarray
    height: np.ndarray
    load: np.ndarray
    power: np.ndarray
    crane: np.ndarray
    crane_any: np.ndarray
    fire: np.ndarray
    eia: np.ndarray
    title: np.ndarray
    available: np.ndarray
    min_lease: np.ndarray
    min_tax: np.ndarray
    min_rating: np.ndarray
    allowed: np.ndarray
    banned: np.ndarray
    related: np.ndarray
    allowed_lists: list
    banned_lists: list
    related_lists: list
    towns: Towns

    def take(self, idx: np.ndarray) -> ListingSide:
        """Listings at positions ``idx`` (int array), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return replace(self, n=len(idx), **_take_fields(self, idx, self.n, skip=()))

    @staticmethod
    def concat(parts: list[ListingSide]) -> ListingSide:
        """Listings of ``parts`` one after another (sides prepared with the same profile
        and towns)."""
        _same_towns(parts)
        kw = _concat_fields(parts, skip=("allowed", "banned", "related"))
        for lists, index in (("allowed_lists", "allowed"), ("banned_lists", "banned"), ("related_lists", "related")):
            kw[lists], kw[index] = _merge_lists(parts, lists, index)
        return replace(parts[0], n=sum(p.n for p in parts), **kw)

    def slice(self, start: int, stop: int) -> ListingSide:
        """Listings ``start:stop`` (views; the side itself when that is all of it)."""
        start, stop, _ = slice(start, stop).indices(self.n)
        if start == 0 and stop == self.n:
            return self
        return replace(self, n=stop - start, **_slice_fields(self, slice(start, stop), self.n, skip=()))


def _same_towns(parts: list[Any]) -> None:
    if any(not p.towns.same_as(parts[0].towns) for p in parts[1:]):
        raise ValueError("the parts were prepared with different towns tables")


def _towns(towns: Towns | None) -> Towns:
    if towns is None:
        return gazetteer()
    if not isinstance(towns, Towns):
        raise TypeError(f"towns must be a scoring.reference.Towns table, got {type(towns).__name__}")
    return towns


def _check_rows(field: str, rows: np.ndarray, t: Towns, lowest: int = -1) -> None:
    """Town rows must index ``t`` (``lowest`` -1: -1 means none)."""
    bad = rows[(rows < lowest) | (rows >= len(t))]
    if bad.size:
        raise ValueError(f"{field} holds town row {int(bad[0])}, outside the towns table of {len(t)} towns; "
                         "pass towns= the table the records index (scoring.reference.towns(counties=k) for a "
                         "generated market of k counties)")


def _now(profile: Profile, default: float) -> float:
    as_of = profile.as_of
    return default if np.isnat(as_of) else float(as_of.astype(np.int64))


def prepare_demands(d: Any, profile: Profile, towns: Towns | None = None) -> DemandSide:
    """Read demand records (see the module docstring for what missing values become).

    Parameters
    ----------
    d : records
        Demands with the canonical fields (``matcher.Demands``).
    profile : Profile
    towns : Towns, optional
        The table the ``towns`` field indexes (default :func:`scoring.reference.gazetteer`).
    """
    n = len(d.demand_id)
    g = _towns(towns)
    rules = profile["rules"]
    amin, amax = _f(d.area_min_m2), _f(d.area_max_m2)
    has_area = ~(np.isnan(amin) & np.isnan(amax))
    amin = np.where(np.isnan(amin), 0.0, amin)
    amax = np.where(np.isnan(amax), np.inf, amax)

    # places: wanted towns, then origin, then anchor, per demand
    town_vals = np.asarray(d.towns.values, dtype=np.int64)
    _check_rows("demands.towns", town_vals, g, lowest=0)
    town_rows = np.repeat(np.arange(n), np.diff(d.towns.offsets))
    olat, olon, alat, alon = _f(d.origin_lat), _f(d.origin_lon), _f(d.anchor_lat), _f(d.anchor_lon)
    has_o = ~(np.isnan(olat) | np.isnan(olon))
    has_a = ~(np.isnan(alat) | np.isnan(alon))
    rows = np.concatenate([town_rows, np.flatnonzero(has_o), np.flatnonzero(has_a)])
    kind = np.concatenate([np.full(len(town_vals), POINT_TOWN), np.full(has_o.sum(), POINT_ORIGIN),
                           np.full(has_a.sum(), POINT_ANCHOR)]).astype(np.int8)
    ptown = np.concatenate([town_vals, np.full(has_o.sum() + has_a.sum(), -1)]).astype(np.int32)
    lat = np.concatenate([g.lat[town_vals], olat[has_o], alat[has_a]])
    lon = np.concatenate([g.lon[town_vals], olon[has_o], alon[has_a]])
    order = np.argsort(rows, kind="stable")
    rows, kind, ptown, lat, lon = rows[order], kind[order], ptown[order], lat[order], lon[order]
    points = unit_vectors(lat, lon).reshape(-1, 3)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])

    code_idx, code_lists = _index_lists([(c,) if c else () for c in np.asarray(d.industry_code)])
    codes = [c[0] for c in code_lists[1:]]
    crane, crane_any = _crane(d, CRANE_ANY_NEED)
    return DemandSide(
        n=n, ids=np.asarray(d.demand_id), deal=_deal(d.deal), has_area=has_area,
        area_min=amin, area_max=amax,
        lo=amin * (1.0 - rules["area_below"]), hi=amax * (1.0 + rules["area_above"]),
        points=points, point_offsets=offsets, point_kind=kind, point_town=ptown, point_lat=lat, point_lon=lon,
        max_distance=np.where(np.isnan(_f(d.max_distance_km)), np.inf, _f(d.max_distance_km)),
        max_rent=_f(d.max_rent), max_sale=_f(d.max_sale_price),
        code=(code_idx - 1).astype(np.int32), codes=codes,
        height=_f(d.min_clear_height_m), load=_f(d.min_floor_load_kg_m2), power=_f(d.min_power_kva),
        crane=crane, crane_any=crane_any,
        ground=np.asarray(d.ground_floor, dtype=np.int8), fire=np.asarray(d.fire_class, dtype=np.int8),
        eia=np.asarray(d.needs_eia, dtype=np.int8), certificate=np.asarray(d.needs_certificate, dtype=np.int8),
        move_in=_days(d.move_in_by, _now(profile, np.nan)), lease_months=_f(d.lease_months),
        tax=_f(d.tax_per_mu), rating=np.asarray(d.rating, dtype=np.int8), towns=g,
    )


def prepare_listings(l: Any, profile: Profile, towns: Towns | None = None) -> ListingSide:
    """Read listing records (see the module docstring for what missing values become).

    Parameters
    ----------
    l : records
        Listings with the canonical fields (``matcher.Listings``).
    profile : Profile
    towns : Towns, optional
        The table the ``town`` field indexes (default :func:`scoring.reference.gazetteer`).
    """
    n = len(l.listing_id)
    g = _towns(towns)
    lat, lon, town = _f(l.lat), _f(l.lon), np.asarray(l.town, dtype=np.int64)
    _check_rows("listings.town", town, g)
    # a listing with a town but no coordinates sits at the town's centroid
    fill = (np.isnan(lat) | np.isnan(lon)) & (town >= 0)
    lat = np.where(fill, g.lat[np.maximum(town, 0)], lat)
    lon = np.where(fill, g.lon[np.maximum(town, 0)], lon)
    approx = _f(l.loc_approx_km)
    approx = np.where(fill & np.isnan(approx), g.approx_km[np.maximum(town, 0)], approx)
    has_loc = ~(np.isnan(lat) | np.isnan(lon))
    vectors = np.zeros((n, 3))
    vectors[has_loc] = unit_vectors(lat[has_loc], lon[has_loc])
    unit = _f(l.min_unit_m2)
    fire = np.asarray(l.fire_class, dtype=np.int8)
    crane, crane_any = _crane(l, np.inf)
    allowed, allowed_lists = _index_lists(l.industries_allowed)
    banned, banned_lists = _index_lists(l.industries_banned)
    related, related_lists = _index_lists(
        [tuple(a) + tuple(t) for a, t in zip(l.industries_allowed, l.tenant_industries, strict=True)])
    return ListingSide(
        n=n, ids=np.asarray(l.listing_id), deal=_deal(l.deal), area=_f(l.area_m2),
        unit=np.where(np.isnan(unit) | (unit <= 0), 0.0, unit),
        has_loc=has_loc, vectors=vectors, lat=lat, lon=lon, town=np.where(town >= 0, town, len(g)),
        approx=np.where(np.isnan(approx), 0.0, approx),
        rent=_f(l.rent), sale=_f(l.sale_price), negotiable=np.asarray(l.negotiable, dtype=bool),
        floor=_f(l.floor), height=_f(l.clear_height_m), load=_f(l.floor_load_kg_m2), power=_f(l.power_kva),
        crane=crane, crane_any=crane_any,
        fire=np.where(fire == 0, np.int8(profile.unknown_fire_class), fire).astype(np.int8),
        eia=np.asarray(l.eia_ok, dtype=np.int8), title=np.asarray(l.title_certificate, dtype=np.int8),
        available=_days(l.available_from, _now(profile, -np.inf)), min_lease=_f(l.min_lease_months),
        min_tax=_f(l.min_tax_per_mu), min_rating=np.asarray(l.min_rating, dtype=np.int8),
        allowed=allowed, banned=banned, related=related,
        allowed_lists=allowed_lists, banned_lists=banned_lists, related_lists=related_lists, towns=g,
    )


def _crane(r: Any, unwritten: float) -> tuple[np.ndarray, np.ndarray]:
    """Crane tonnage (t; unknown → 0) with a crane of unwritten tonnage as ``unwritten``,
    and the bool (n,) mask of those (records without ``crane_any`` have none)."""
    t = _f(r.crane_t)
    flag = getattr(r, "crane_any", None)
    any_ = np.zeros(t.shape, dtype=bool) if flag is None else np.asarray(flag, dtype=bool) & np.isnan(t)
    return np.where(any_, unwritten, np.where(np.isnan(t), 0.0, t)), any_
