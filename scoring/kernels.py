"""Decay kernels: how a criterion's score falls as a gap grows.

Every kernel maps a non-negative gap ``x`` (km beyond a wanted place, ㎡ short of a
wanted area, 元 over a budget ...) to a score in [0, 1], with the vocabulary of
Elasticsearch's decay functions and recordlinkage's numeric comparators:

* ``offset`` -- gaps up to ``offset`` score 1 (a tolerance);
* ``scale`` -- at ``x = offset + scale`` the score is ``decay`` (the half-score point
  when ``decay = 0.5``, the default);
* beyond that the score keeps falling to 0.

With ``d = max(x - offset, 0) / scale`` and ``q = decay``:

===========  ==========================================  ============================
kind         score                                       shape
===========  ==========================================  ============================
``step``     1 if d <= 1 else 0                          all or nothing at the scale
``linear``   max(0, 1 - (1 - q) d)                       reaches 0 at d = 1 / (1 - q)
``exp``      q ** d                                      exponential, long tail
``gauss``    q ** (d ** 2)                               flat near 0, then fast
``rational`` 1 / (1 + (1/q - 1) d)                       exp-like tail, no ``exp`` call
``cauchy``   1 / (1 + (1/q - 1) d ** 2)                  gauss-like top, no ``exp`` call
===========  ==========================================  ============================

(``step`` ignores ``decay``.) ``rational`` and ``cauchy`` have the same value at
``offset`` and at ``offset + scale`` as ``exp`` and ``gauss`` and need one division
instead of an exponential, which is what dominates a large score matrix.

NaN gaps give NaN scores: what a missing value means is each criterion's decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["KERNELS", "decay", "decay_scalar"]


def _check(offset: float, scale: float, q: float) -> None:
    if not (math.isfinite(offset) and offset >= 0):
        raise ValueError(f"offset == {offset!r}, must be a finite number >= 0")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale == {scale!r}, must be a finite number > 0")
    if not (0.0 < q < 1.0):
        raise ValueError(f"decay == {q!r}, must be strictly between 0 and 1")


# Each kernel takes the clipped gap max(x - offset, 0) in place and folds 1 / scale
# into its first multiplication.
def _step(d: np.ndarray, q: float, scale: float) -> np.ndarray:
    nan = np.isnan(d)
    out = np.less_equal(d, np.float32(scale), out=np.empty(d.shape, dtype=bool))
    d[...] = out
    if nan.any():
        d[nan] = np.nan
    return d


def _linear(d: np.ndarray, q: float, scale: float) -> np.ndarray:
    d *= np.float32(-(1 - q) / scale)
    d += np.float32(1)
    return np.maximum(d, np.float32(0), out=d)


def _exp(d: np.ndarray, q: float, scale: float) -> np.ndarray:
    d *= np.float32(math.log(q) / scale)
    return np.exp(d, out=d)


def _gauss(d: np.ndarray, q: float, scale: float) -> np.ndarray:
    d *= np.float32(1 / scale)
    np.square(d, out=d)
    return _exp(d, q, 1.0)


def _rational(d: np.ndarray, q: float, scale: float) -> np.ndarray:
    d *= np.float32((1 / q - 1) / scale)
    d += np.float32(1)
    return np.reciprocal(d, out=d)


def _cauchy(d: np.ndarray, q: float, scale: float) -> np.ndarray:
    d *= np.float32(1 / scale)
    np.square(d, out=d)
    return _rational(d, q, 1.0)


KERNELS: dict[str, Callable[[np.ndarray, float, float], np.ndarray]] = {
    "step": _step, "linear": _linear, "exp": _exp, "gauss": _gauss, "rational": _rational, "cauchy": _cauchy,
}


def decay(x: np.ndarray, kind: str, offset: float, scale: float, q: float = 0.5,
          inplace: bool = False) -> np.ndarray:
    """Score gaps with a decay kernel.

    Parameters
    ----------
    x : array_like of float, any shape
        Gaps in the criterion's unit; negative gaps count as 0.
    kind : {"step", "linear", "exp", "gauss", "rational", "cauchy"}
    offset : float
        Gap still scoring 1, same unit as ``x``; >= 0.
    scale : float
        Distance past ``offset`` at which the score is ``q``; > 0.
    q : float
        Score at ``offset + scale``, strictly between 0 and 1 (default 0.5).
    inplace : bool
        Overwrite ``x`` (a float32 ndarray) with the scores, saving a copy.

    Returns
    -------
    ndarray of float32, same shape as ``x``
        Scores in [0, 1]; NaN where ``x`` is NaN.

    Examples
    --------
    >>> decay([0.0, 3.0, 5.0, 13.0], "exp", offset=3, scale=2).tolist()
    [1.0, 1.0, 0.5, 0.03125]
    """
    fn = KERNELS.get(kind)
    if fn is None:
        raise ValueError(f"kind == {kind!r}, must be one of {', '.join(KERNELS)}")
    _check(offset, scale, q)
    # a fresh array unless the caller lends its own: the kernels work in place
    own = inplace and isinstance(x, np.ndarray) and x.dtype == np.float32
    d = x if own else np.array(x, dtype=np.float32)
    if offset:
        d -= np.float32(offset)
    np.maximum(d, np.float32(0), out=d)
    return fn(d, q, scale)


_SCALAR: dict[str, Callable[[float, float], float]] = {
    "step": lambda d, q: 1.0 if d <= 1 else 0.0,
    "linear": lambda d, q: max(0.0, 1.0 - (1.0 - q) * d),
    "exp": lambda d, q: q**d,
    "gauss": lambda d, q: q ** (d * d),
    "rational": lambda d, q: 1.0 / (1.0 + (1.0 / q - 1.0) * d),
    "cauchy": lambda d, q: 1.0 / (1.0 + (1.0 / q - 1.0) * d * d),
}


def decay_scalar(x: float, kind: str, offset: float, scale: float, q: float = 0.5) -> float:
    """The same kernels for one gap, in float64 Python (for explanations)."""
    fn = _SCALAR.get(kind)
    if fn is None:
        raise ValueError(f"kind == {kind!r}, must be one of {', '.join(KERNELS)}")
    _check(offset, scale, q)
    if math.isnan(x):
        return math.nan
    return fn(max(x - offset, 0.0) / scale, q)
