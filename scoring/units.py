"""Whole units: the area a listing offers a demand, the one definition.

A divisible listing (``min_unit_m2`` given, ``unit > 0``) is let or sold in whole units
of ``unit`` ㎡; an indivisible one (``unit == 0``) only as a whole. The area listing j
offers demand i is

    k · unit, with k the fewest whole units covering ``area_min`` (at least 1), one
    fewer when that overshoots the demand's upper tolerant bound ``hi`` (and k > 1),
    and at most the whole units the listing holds (``floor(area / unit)``);

an indivisible listing offers its whole area. ``hi`` is the demand's ``area_max``
widened by the profile's ``rules.area_above`` (:attr:`scoring.DemandSide.hi`).

:func:`offered_area` is written with plain arithmetic and numpy ufuncs only, so the same
function runs vectorised on numpy arrays (broadcasting, as :attr:`scoring.block.Block.offered_units`
uses it) and compiles under numba on scalars. It is made of two halves,
:func:`units_wanted` (the demand and the unit size) and :func:`units_held` (the
listing), which the compiled loop of :mod:`scoring.fast` compiles as they are and
combines the same way, taking the first once per unit size and the second once per
listing. The area rule, the area criterion,
explanations and the allocation of areas (``allocated_area_m2``) all use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["UNIT_EPS", "offered_area", "offered_units", "units_held", "units_wanted"]

UNIT_EPS = 1e-9
"""Tolerance of the unit counts: k units cover x when ``k >= x / unit - UNIT_EPS``, and a
listing holds k units when ``k <= area / unit + UNIT_EPS`` (so 600 ㎡ in units of 200 ㎡
is 3 units whatever the rounding of the division)."""


def units_wanted(area_min: Any, hi: Any, unit: Any) -> Any:
    """The whole units of ``unit`` ㎡ a demand asks for, before the listing's own limit:
    the fewest covering ``area_min`` (at least 1), one fewer when that overshoots ``hi``
    (and more than one). The first half of :func:`offered_area` (it depends on the
    demand and the unit only, so a loop over listings can take it per unit size).

    >>> float(units_wanted(700.0, 1300.0, 200.0)), float(units_wanted(700.0, 650.0, 200.0))
    (4.0, 3.0)
    """
    k = np.maximum(np.ceil(area_min / unit - UNIT_EPS), 1.0)
    return k - ((k * unit > hi) & (k > 1.0)) * 1.0


def units_held(area: Any, unit: Any) -> Any:
    """The whole units of ``unit`` ㎡ a listing of ``area`` ㎡ holds (NaN when the area is
    unknown). The second half of :func:`offered_area` (it depends on the listing only).

    >>> float(units_held(600.0, 200.0)), float(units_held(500.0, 200.0))
    (3.0, 2.0)
    """
    return np.floor(area / unit + UNIT_EPS)


def offered_area(area_min: Any, hi: Any, area: Any, unit: Any) -> Any:
    """The area a listing offers a demand, ㎡: whole units of a divisible listing, else all of it.

    Parameters
    ----------
    area_min : float or ndarray of float64
        The demand's wanted minimum, ㎡ (0 when it gives none; :attr:`DemandSide.area_min`).
    hi : float or ndarray of float64
        The demand's upper tolerant bound, ㎡ (``inf`` when open; :attr:`DemandSide.hi`).
    area : float or ndarray of float64
        The listing's floor area, ㎡ (NaN when unknown).
    unit : float or ndarray of float64
        The listing's unit, ㎡; 0 for an indivisible listing (never NaN or negative:
        :attr:`ListingSide.unit`).

    Returns
    -------
    float or ndarray of float64
        Broadcast shape of the arguments (``area_min[:, None]`` against ``area[None, :]``
        gives the (n_demands, n_listings) matrix). NaN where ``area`` is NaN. For a
        divisible listing this is exactly ``np.minimum(units_wanted(area_min, hi, unit),
        units_held(area, unit)) * unit``, which is how the compiled loop computes it.

    Examples
    --------
    >>> float(offered_area(700.0, 1300.0, 2000.0, 200.0))   # 4 units cover 700 m2
    800.0
    >>> float(offered_area(700.0, 650.0, 2000.0, 200.0))    # 800 > hi: one unit fewer
    600.0
    >>> float(offered_area(700.0, 1300.0, 500.0, 200.0))    # the listing holds 2 units
    400.0
    >>> float(offered_area(700.0, 1300.0, 2000.0, 0.0))     # indivisible: all of it
    2000.0
    """
    # (comparisons times 1.0: float arithmetic only, which the compiled loop vectorises)
    div = (unit > 0) * 1.0
    u = unit + (1.0 - div)  # 1 where indivisible: keeps the unit arithmetic finite
    k = np.minimum(units_wanted(area_min, hi, u), units_held(area, u))
    return div * (k * u) + (1.0 - div) * area


def offered_units(area_min: Any, hi: Any, area: Any, unit: Any) -> Any:
    """The whole units a divisible listing (``unit > 0``) offers a demand: the
    :func:`offered_area` divided by the unit (0 when one unit is larger than the listing).

    Examples
    --------
    >>> float(offered_units(700.0, 1300.0, 2000.0, 200.0))
    4.0
    """
    u = np.asarray(unit, dtype=np.float64)
    return np.rint(offered_area(area_min, hi, area, u) / u)
