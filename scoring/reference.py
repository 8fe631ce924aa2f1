"""Reference tables shipped as package data: Cixi's towns and GB/T 4754-2017.

Both tables are read lazily, once, on first use (nothing happens at import).

* :func:`gazetteer` -- Cixi's 19 towns and streets and its development zones with
  their statistical codes and approximate centroids (WGS-84 degrees). ``approx_km``
  says how far, roughly, a point in the town may lie from its centroid; a location
  resolved from a town name is only that precise.
* :func:`industries` -- the GB/T 4754-2017 classification of national economic
  activities: 20 门类 (sections, a letter), 97 大类 (2 digits), 473 中类 (3 digits)
  and 1381 小类 (4 digits). Codes are stored as bare strings (``"2929"``, ``"38"``,
  ``"C"``), the parent of a 大类 is its section letter.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["Gazetteer", "IndustryTable", "gazetteer", "industries"]

_TOWN_SUFFIXES = ("街道", "镇", "乡")
_COUNTY_PREFIXES = ("浙江省", "宁波市", "慈溪市", "慈溪")


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("scoring").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """Cixi's towns, streets and zones.

    Attributes
    ----------
    names : ndarray of str, shape (n_towns,)
        Official names (``"周巷镇"``, ``"浒山街道"``, ``"滨海经济开发区"``).
    codes : ndarray of str, shape (n_towns,)
        Statistical codes (empty where none is published).
    kinds : ndarray of str, shape (n_towns,)
        ``"town"``, ``"street"`` or ``"zone"``.
    lat, lon : ndarray of float64, shape (n_towns,)
        Approximate centroid, degrees (WGS-84).
    approx_km : ndarray of float64, shape (n_towns,)
        Rough radius of uncertainty of the centroid, km.
    """

    names: np.ndarray
    codes: np.ndarray
    kinds: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    approx_km: np.ndarray
    _lookup: dict[str, int]

    def __len__(self) -> int:
        return len(self.names)

    def find(self, text: str) -> int | None:
        """Index of the town called ``text``, with or without 镇/街道, else None.

        >>> g = gazetteer()
        >>> str(g.names[g.find("周巷")])
        '周巷镇'
        >>> g.find("慈溪市周巷镇") == g.find("周巷镇")
        True
        >>> g.find("北京") is None
        True
        """
        key = text.strip()
        for prefix in _COUNTY_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key = key[len(prefix):]
                break
        return self._lookup.get(key)

    def mentioned(self, text: str) -> list[int]:
        """Indices of every town whose full official name appears in ``text``.

        Used to read a town out of an address ("周巷镇环城北路 88 号"); only full
        names count, so a short name inside a company name does not.
        """
        return [i for i, name in enumerate(self.names) if name in text]


@functools.cache
def gazetteer() -> Gazetteer:
    """Load the towns gazetteer shipped with the package (cached)."""
    rows = _read_csv("cixi_towns.csv")
    names = [r["name"] for r in rows]
    lookup: dict[str, int] = {}
    for i, name in enumerate(names):
        lookup[name] = i
        for suffix in _TOWN_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                lookup.setdefault(name[: -len(suffix)], i)
        if name.endswith("经济开发区"):
            lookup.setdefault(name.replace("经济开发区", "开发区"), i)
    return Gazetteer(
        names=np.array(names, dtype=str),
        codes=np.array([r["code"] for r in rows], dtype=str),
        kinds=np.array([r["kind"] for r in rows], dtype=str),
        lat=np.array([float(r["lat"]) for r in rows]),
        lon=np.array([float(r["lon"]) for r in rows]),
        approx_km=np.array([float(r["approx_km"]) for r in rows]),
        _lookup=lookup,
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
