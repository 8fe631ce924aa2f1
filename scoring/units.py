"""Whole units: the area a listing offers a demand.

One definition, used by the area rule and criterion, the explanations and every
allocation method, so that the area a pair is allocated is always the area its reasons
state. For a divisible listing (``unit > 0``)::

    k = max(ceil(area_min / unit), 1)     the fewest whole units covering the demand's minimum
    k = k - 1  if k * unit > hi and k > 1  one fewer when that overshoots the upper bound
    k = min(k, floor(area / unit))         at most the units the listing holds
    offered = k * unit

and an indivisible listing (``unit`` 0 or NaN) offers its whole area. ``hi`` is the
demand's upper bound with its tolerance (``area_max_m2 * (1 + area_above)``); whether
the offered area is acceptable is the area rule's decision (:mod:`scoring.rules`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["UNIT_EPS", "offered_area", "offered_units"]

UNIT_EPS = 1e-9
"""Slack in the unit counts: ``k`` units cover ``x`` when ``k >= x / unit - UNIT_EPS``."""


def offered_units(area_min: np.ndarray | float, hi: np.ndarray | float, area: np.ndarray | float,
                  unit: np.ndarray | float) -> np.ndarray:
    """The number of whole units a divisible listing offers (see the module docstring).

    Arguments broadcast against each other (a column of demands against a row of
    listings gives the block's matrix). Plain arithmetic on arrays: the compiled loop
    runs the same steps on scalars.

    Parameters
    ----------
    area_min, hi : array_like of float64
        The demand's minimum and tolerant maximum, ㎡ (``hi`` may be inf).
    area, unit : array_like of float64
        The listing's floor area and unit, ㎡ (``unit > 0``).

    Returns
    -------
    ndarray of float64
        Whole units, >= 0 (0 only when one unit is larger than the listing).

    Examples
    --------
    >>> float(offered_units(800.0, 1000.0, 5000.0, 300.0))     # 3 units cover 800 ㎡
    3.0
    >>> float(offered_units(1000.0, 1100.0, 5000.0, 300.0))    # 4 would overshoot 1100 ㎡
    3.0
    """
    u = np.asarray(unit, dtype=np.float64)
    k = np.asarray(area_min, dtype=np.float64) / u
    k = k - UNIT_EPS
    k = np.maximum(np.ceil(k), 1.0)
    k = k - ((k * u > np.asarray(hi, dtype=np.float64)) & (k > 1.0))
    return np.minimum(k, np.floor(np.asarray(area, dtype=np.float64) / u + UNIT_EPS))


def offered_area(area_min: np.ndarray | float, hi: np.ndarray | float, area: np.ndarray | float,
                 unit: np.ndarray | float) -> np.ndarray:
    """The area a listing offers a demand, ㎡ (see the module docstring).

    Parameters
    ----------
    area_min, hi : array_like of float64
        The demand's minimum and tolerant maximum, ㎡.
    area, unit : array_like of float64
        The listing's floor area and unit, ㎡ (0 or NaN: indivisible).

    Returns
    -------
    ndarray of float64
        Broadcast shape of the arguments.

    Examples
    --------
    >>> offered_area([800.0, 800.0], [1000.0, 1000.0], [5000.0, 5000.0], [300.0, np.nan]).tolist()
    [900.0, 5000.0]
    """
    u = np.nan_to_num(np.asarray(unit, dtype=np.float64), nan=0.0)
    div = u > 0
    k = offered_units(area_min, hi, area, np.where(div, u, 1.0))
    return np.where(div, k * u, np.asarray(area, dtype=np.float64))
