"""Reference tables shipped as package data: Cixi's towns and GB/T 4754-2017.

Both tables are read lazily, once, on first use (nothing happens at import).

* :func:`gazetteer` -- Cixi's 19 towns and streets and its development zones with
  their statistical codes and approximate centroids (WGS-84 degrees). ``approx_km``
  says how far, roughly, a point in the town may lie from its centroid; a location
  resolved from a town name is only that precise. A :class:`Towns` table.
* :func:`towns` -- ``counties`` synthetic copies of that table placed side by side (a
  province-sized market for tests and benchmarks; one county is the gazetteer itself).
  Records store towns as rows of a towns table; the scoring engine takes the table
  (``Scorer(..., towns=...)``, default :func:`gazetteer`).
* :func:`industries` -- the GB/T 4754-2017 classification of national economic
  activities: 20 门类 (sections, a letter), 97 大类 (2 digits), 473 中类 (3 digits)
  and 1381 小类 (4 digits). Codes are stored as bare strings (``"2929"``, ``"38"``,
  ``"C"``), the parent of a 大类 is its section letter.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "COUNTY_SEPARATOR",
    "MAX_COUNTIES",
    "Gazetteer",
    "IndustryTable",
    "Towns",
    "covering",
    "gazetteer",
    "industries",
    "towns",
]

_TOWN_SUFFIXES = ("街道", "镇", "乡")
_COUNTY_PREFIXES = ("浙江省", "宁波市", "慈溪市", "慈溪")

COUNTY_SEPARATOR = "·"
"""Between a town's name and its county number in a synthetic copy: ``周巷镇·3`` is 周巷镇
of the third county (the first county keeps the plain names)."""
MAX_COUNTIES = 1000
"""The most county copies :func:`towns` makes (25,000 towns; records store town rows
as int16, up to 32,767)."""
COUNTY_GAP_KM = 10.0
"""Space between neighbouring county copies, beyond the extent of the county's centroids."""
_KM_PER_DEG_LAT = 111.2


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("scoring").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@dataclass(frozen=True, eq=False, repr=False)
class Towns:
    """A table of towns: what the town fields of records (``town``, ``towns``) index.

    Rows ``c * n_base + k`` are town ``k`` of county ``c`` (0-based); a table of one
    county (:func:`gazetteer`) has ``n_base == len(table)``.

    Attributes
    ----------
    names : ndarray of str, shape (n_towns,)
        Official names (``"周巷镇"``, ``"浒山街道"``, ``"滨海经济开发区"``); in the
        copies of :func:`towns` with the county number after :data:`COUNTY_SEPARATOR`
        (``"周巷镇·3"``).
    codes : ndarray of str, shape (n_towns,)
        Statistical codes (empty where none is published; in a copy, the original's
        code and the county number, ``"330282121·3"``).
    kinds : ndarray of str, shape (n_towns,)
        ``"town"``, ``"street"`` or ``"zone"``.
    lat, lon : ndarray of float64, shape (n_towns,)
        Approximate centroid, degrees (WGS-84).
    approx_km : ndarray of float64, shape (n_towns,)
        Rough radius of uncertainty of the centroid, km.
    county : ndarray of int16, shape (n_towns,)
        The county copy each town belongs to (0 = the first, whose names are plain).
    """

    names: np.ndarray
    codes: np.ndarray
    kinds: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    approx_km: np.ndarray
    county: np.ndarray
    _lookup: dict[str, int]

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Towns({len(self)} towns, {self.n_counties} count{'y' if self.n_counties == 1 else 'ies'})"

    @property
    def n_counties(self) -> int:
        """How many counties the table holds."""
        return int(self.county.max()) + 1 if len(self.county) else 0

    def same_as(self, other: Towns) -> bool:
        """Whether ``other`` is the same table (the same object, or the same names and
        centroids row for row)."""
        return self is other or (len(self) == len(other) and bool((self.names == other.names).all())
                                 and bool((self.lat == other.lat).all()) and bool((self.lon == other.lon).all())
                                 and bool((self.approx_km == other.approx_km).all()))

    def find(self, text: str) -> int | None:
        """Index of the town called ``text``, with or without 镇/街道, else None.

        >>> g = gazetteer()
        >>> str(g.names[g.find("周巷")])
        '周巷镇'
        >>> g.find("慈溪市周巷镇") == g.find("周巷镇")
        True
        >>> g.find("北京") is None
        True
        >>> t = towns(counties=3)
        >>> str(t.names[t.find("周巷·3")]), t.find("周巷·4") is None
        ('周巷镇·3', True)
        """
        key = text.strip()
        county = 1
        base, sep, number = key.rpartition(COUNTY_SEPARATOR)
        if sep and number.isdigit():
            key, county = base, int(number)
        for prefix in _COUNTY_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key = key[len(prefix):]
                break
        k = self._lookup.get(key)
        n_base = len(self) // max(self.n_counties, 1)
        if k is None or not 1 <= county <= self.n_counties:
            return None
        return k + (county - 1) * n_base

    def mentioned(self, text: str) -> list[int]:
        """Indices of every town whose full official name appears in ``text``.

        Used to read a town out of an address ("周巷镇环城北路 88 号"); only full
        names count, so a short name inside a company name does not. In a table of
        several counties a name followed by ``·N`` is the N-th county's town.
        """
        n_counties = self.n_counties
        if n_counties <= 1:
            return [i for i, name in enumerate(self.names) if name in text]
        n_base = len(self) // n_counties
        found = set()
        for k in range(n_base):
            name = str(self.names[k])
            at = text.find(name)
            while at >= 0:
                rest = text[at + len(name):]
                county = 1
                if rest.startswith(COUNTY_SEPARATOR):
                    digits = rest[1:len(rest) - len(rest[1:].lstrip("0123456789"))]
                    county = int(digits) if digits else 1
                if 1 <= county <= n_counties:
                    found.add(k + (county - 1) * n_base)
                at = text.find(name, at + 1)
        return sorted(found)


Gazetteer = Towns
"""The name the towns table had when it held Cixi only."""


def _name_lookup(names: list[str]) -> dict[str, int]:
    """Every name a town may be written as (full, without 镇/街道, 开发区 for 经济开发区) -> row."""
    lookup: dict[str, int] = {}
    for i, name in enumerate(names):
        lookup[name] = i
        for suffix in _TOWN_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                lookup.setdefault(name[: -len(suffix)], i)
        if name.endswith("经济开发区"):
            lookup.setdefault(name.replace("经济开发区", "开发区"), i)
    return lookup


@functools.cache
def gazetteer() -> Towns:
    """Load the towns gazetteer shipped with the package (cached): Cixi's towns."""
    rows = _read_csv("cixi_towns.csv")
    names = [r["name"] for r in rows]
    return Towns(
        names=np.array(names, dtype=str),
        codes=np.array([r["code"] for r in rows], dtype=str),
        kinds=np.array([r["kind"] for r in rows], dtype=str),
        lat=np.array([float(r["lat"]) for r in rows]),
        lon=np.array([float(r["lon"]) for r in rows]),
        approx_km=np.array([float(r["approx_km"]) for r in rows]),
        county=np.zeros(len(rows), dtype=np.int16),
        _lookup=_name_lookup(names),
    )


def towns(counties: int = 1) -> Towns:
    """``counties`` copies of :func:`gazetteer`'s county placed side by side (cached).

    County ``c`` (0-based) sits in row ``c // w`` and column ``c % w`` of a grid
    ``w = ceil(sqrt(counties))`` counties wide, going east along a row and north from
    row to row; neighbouring copies are one county's extent (of its centroids) plus
    :data:`COUNTY_GAP_KM` apart, so a distance cap near a border reaches into the next
    county as it would in a real province. Town ``k`` of county ``c`` is row
    ``c * n + k`` (``n = len(gazetteer())``), named ``name·(c + 1)`` from the second
    county on. The first county is :func:`gazetteer` exactly, so ``towns(1)`` is
    ``gazetteer()``. Deterministic.

    Parameters
    ----------
    counties : int
        1 to :data:`MAX_COUNTIES`.

    Returns
    -------
    Towns

    Examples
    --------
    >>> t = towns(counties=10)
    >>> len(t), t.n_counties, str(t.names[len(gazetteer()) + 5])
    (250, 10, '周巷镇·2')
    >>> towns(1) is gazetteer()
    True
    """
    if isinstance(counties, bool) or not isinstance(counties, (int, np.integer)) or not 1 <= counties <= MAX_COUNTIES:
        raise ValueError(f"counties == {counties!r}, must be an integer from 1 to {MAX_COUNTIES}")
    return _county_copies(int(counties))


def covering(rows: Any) -> Towns:
    """The smallest table of :func:`towns` holding every row in ``rows`` (town rows of
    records: row ``c * n + k`` is town ``k`` of county ``c``); :func:`gazetteer` when
    they all lie in the first county.

    Parameters
    ----------
    rows : int or array-like of int
        Town rows (negative: no town, ignored).

    Examples
    --------
    >>> covering([3, -1]) is gazetteer(), covering(len(gazetteer()) * 4 + 2).n_counties
    (True, 5)
    """
    a = np.asarray(rows, dtype=np.int64).reshape(-1)
    top = int(a.max()) if a.size else -1
    return towns(max(top, 0) // len(gazetteer()) + 1)


@functools.cache
def _county_copies(counties: int) -> Towns:
    g = gazetteer()
    if counties == 1:
        return g
    n = len(g)
    width = math.ceil(math.sqrt(counties))
    c = np.arange(counties)
    row, col = c // width, c % width
    mid = math.radians(float(g.lat.mean()))
    step_lat = float(g.lat.max() - g.lat.min()) + COUNTY_GAP_KM / _KM_PER_DEG_LAT
    step_lon = float(g.lon.max() - g.lon.min()) + COUNTY_GAP_KM / (_KM_PER_DEG_LAT * math.cos(mid))
    suffix = np.array([""] + [f"{COUNTY_SEPARATOR}{k + 1}" for k in range(1, counties)])
    return Towns(
        names=np.char.add(np.tile(g.names, counties), np.repeat(suffix, n)),
        codes=np.where(np.tile(g.codes, counties) == "", "", np.char.add(np.tile(g.codes, counties),
                                                                          np.repeat(suffix, n))),
        kinds=np.tile(g.kinds, counties),
        lat=np.tile(g.lat, counties) + np.repeat(row * step_lat, n),
        lon=np.tile(g.lon, counties) + np.repeat(col * step_lon, n),
        approx_km=np.tile(g.approx_km, counties),
        county=np.repeat(c, n).astype(np.int16),
        _lookup=_name_lookup([str(x) for x in g.names]),
    )


@dataclass(frozen=True, eq=False)
class IndustryTable:
    """The GB/T 4754-2017 classification.

    Attributes
    ----------
    codes : ndarray of str, shape (n_codes,)
        Every code, sections first as in the standard (``"A"``, ``"01"``, ``"011"``,
        ``"0111"``, ...).
    levels : ndarray of int8, shape (n_codes,)
        1 门类 (section), 2 大类, 3 中类, 4 小类.
    sections : ndarray of str, shape (n_codes,)
        The section letter of each code.
    parents : ndarray of int32, shape (n_codes,)
        Index of the parent code, -1 for a section.
    names : ndarray of str, shape (n_codes,)
        Chinese names.
    """

    codes: np.ndarray
    levels: np.ndarray
    sections: np.ndarray
    parents: np.ndarray
    names: np.ndarray
    _index: dict[str, int]
    _by_name: dict[str, int]

    def __len__(self) -> int:
        return len(self.codes)

    def index(self, code: str) -> int | None:
        """Row of a bare code (``"2929"``, ``"38"``, ``"C"``), else None."""
        return self._index.get(code)

    def by_name(self, name: str) -> str | None:
        """Code of an exact name, else None.

        Where a 中类 and its only 小类 share a name, the more specific 小类 wins.

        >>> industries().by_name("家用厨房电器具制造")
        '3854'
        """
        i = self._by_name.get(name)
        return None if i is None else str(self.codes[i])

    def section_of(self, code: str) -> str | None:
        """Section letter of a known code, else None."""
        i = self._index.get(code)
        return None if i is None else str(self.sections[i])


@functools.cache
def industries() -> IndustryTable:
    """Load the GB/T 4754-2017 table shipped with the package (cached)."""
    rows = _read_csv("gbt4754_2017.csv")
    index = {r["code"]: i for i, r in enumerate(rows)}
    by_name: dict[str, int] = {}
    for i, r in enumerate(rows):
        j = by_name.get(r["name"])
        if j is None or int(rows[j]["level"]) < int(r["level"]):
            by_name[r["name"]] = i
    return IndustryTable(
        codes=np.array([r["code"] for r in rows], dtype=str),
        levels=np.array([int(r["level"]) for r in rows], dtype=np.int8),
        sections=np.array([r["section"] for r in rows], dtype=str),
        parents=np.array([index.get(r["parent"], -1) for r in rows], dtype=np.int32),
        names=np.array([r["name"] for r in rows], dtype=str),
        _index=index,
        _by_name=by_name,
    )
