"""Great-circle distances, per pair and as whole matrices.

The sphere has geopy's mean Earth radius (:data:`EARTH_RADIUS_KM`), so distances
agree with ``geopy.distance.great_circle``, and with the WGS-84 ``geodesic`` to
within 0.5 %.

Matrices go through one BLAS product of unit vectors: for points ``p`` and ``q`` on
the unit sphere, ``|p - q|**2 = 2 - 2 p.q`` is the squared chord, and the angle is
``2 asin(chord / 2)``. The product is taken in float64 (the chord of a 1 m distance
is 1.6e-7, so float32 would lose it); :func:`chord2_to_km` then converts in float32
with a series for ``asin`` that is exact to float32 precision up to about 1300 km
(and calls float64 ``arcsin`` beyond). The result is within 1e-6 relative of
:func:`haversine_km` for distances over 100 m and within 1 m absolute below.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EARTH_RADIUS_KM", "chord2_to_km", "haversine_km", "haversine_km_scalar", "unit_vectors"]

EARTH_RADIUS_KM = 6371.009
"""Mean Earth radius in km, as ``geopy.distance.EARTH_RADIUS``."""

# beyond this half-chord (about 1400 km) the asin series is not float32-exact
_SERIES_LIMIT = np.float32(0.1)
# below this half-chord (about 130 km) two terms of the series are exact to float32
_SHORT_LIMIT = np.float32(0.01)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere.

    Parameters
    ----------
    lat, lon : array_like of float, shape (n,)
        Degrees (WGS-84 treated as a sphere).

    Returns
    -------
    ndarray of float64, shape (n, 3)
        NaN rows where either coordinate is NaN.
    """
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    c = np.cos(la)
    return np.stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)], axis=-1)


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance, float64, broadcasting over its arguments.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like of float
        Degrees.

    Returns
    -------
    ndarray of float64
        Kilometres; NaN where a coordinate is NaN.

    Examples
    --------
    >>> round(float(haversine_km(0, 0, 0, 180)), 3)  # half the circumference
    20015.115
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def haversine_km_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_km` for one pair of points, with the math module (an
    explanation asks for a few distances, where numpy's per-call cost dominates)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


def chord2_to_km(c2: np.ndarray) -> np.ndarray:
    """Great-circle km from squared chords on the unit sphere.

    Parameters
    ----------
    c2 : ndarray of float64, any shape
        ``2 - 2 cos(angle)``, in [0, 4]; negative values (rounding) count as 0.

    Returns
    -------
    ndarray of float32, same shape
        ``2 R asin(sqrt(c2) / 2)``: a float32 series below about 1300 km (exact to
        float32 precision), float64 ``arcsin`` beyond (where float32 would lose the
        angle near the antipode).
    """
    c2 = np.asarray(c2, dtype=np.float64)
    x = c2.astype(np.float32)
    np.maximum(x, np.float32(0), out=x)
    np.sqrt(x, out=x)
    x *= np.float32(0.5)  # y = sin(angle / 2)
    top = float(x.max()) if x.size else 0.0
    # asin(y) = y (1 + y^2/6 + 3 y^4/40 + 5 y^6/112 + ...), Horner in y^2; within a
    # county (y < 0.01) the first two terms are exact to float32
    y2 = np.square(x)
    if top < _SHORT_LIMIT:
        y2 *= np.float32(1 / 6)
    else:
        poly = y2 * np.float32(5 / 112)
        poly += np.float32(3 / 40)
        poly *= y2
        poly += np.float32(1 / 6)
        poly *= y2
        y2 = poly
    y2 += np.float32(1)
    x *= y2
    if top > _SERIES_LIMIT:
        far = x > _SERIES_LIMIT
        y = np.sqrt(np.clip(c2[far], 0.0, 4.0)) / 2
        x[far] = np.arcsin(np.minimum(y, 1.0))
    x *= np.float32(2 * EARTH_RADIUS_KM)
    return x
