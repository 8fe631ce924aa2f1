"""The contract every criterion keeps, and helpers they share.

A criterion is an object with

* ``name`` (the key of its weight in the profile), ``zh`` and ``en`` labels;
* ``score(block)`` -> float32 array of the block's shape (or broadcastable to it),
  every value in [0, 1], never NaN: missing data gives the criterion's documented
  neutral score;
* ``describe(block, p=0, i=0)`` -> :class:`Detail` for the pair (demand ``i``,
  listing ``p``) of a block: the inputs compared and one sentence in Chinese and in
  English (one block serves the explanations of many pairs);
* optionally ``describe_key(block, p, i)`` -> float64 (n, m) array: for the pairs
  (demand ``i[k]``, listing ``p[k]``), every value ``describe`` depends on (in terms of
  the whole market, the same in every block), so that pairs with equal keys share one
  description (:func:`scoring.explain.summarize_many`). A test checks that equal keys
  give equal descriptions.

The tests hold every registered criterion to this contract.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from scoring.block import Block

__all__ = ["Criterion", "Detail", "KeyedCriterion", "fmt", "key_columns", "neutral_fill"]


@dataclass
class Detail:
    """What a criterion compared for one pair, and what it says about it."""

    inputs: dict[str, Any] = field(default_factory=dict)
    zh: str = ""
    en: str = ""


class Criterion(Protocol):
    name: str
    zh: str
    en: str

    def score(self, b: Block) -> np.ndarray: ...

    def describe(self, b: Block, p: int = 0, i: int = 0) -> Detail: ...


class KeyedCriterion(Criterion, Protocol):
    def describe_key(self, b: Block, p: np.ndarray, i: np.ndarray) -> np.ndarray:
        """What ``describe`` of the pairs (demand ``i[k]``, listing ``p[k]``) depends on.

        Parameters
        ----------
        b : Block
        p, i : ndarray of int, shape (n,)
            Listing and demand positions in the block.

        Returns
        -------
        ndarray of float64, shape (n, m)
            Every value the sentences read, in terms of the whole market (the same in
            every block): equal rows, equal descriptions (:func:`key_columns` makes it).
        """
        ...


def key_columns(*columns: np.ndarray) -> np.ndarray:
    """The columns of a ``describe_key`` (each shape (n,)) as one float64 (n, m) array."""
    return np.column_stack(columns).astype(np.float64)


def neutral_fill(shape: tuple[int, int], value: float) -> np.ndarray:
    """A float32 block filled with ``value``."""
    return np.full(shape, value, dtype=np.float32)


def fmt(x: float | None, digits: int = 1) -> str:
    """A number for a sentence: ``800``, ``3.2``, ``'?'`` when unknown."""
    return "?" if x is None else _fmt(float(x), digits)


@functools.lru_cache(maxsize=65536)
def _fmt(v: float, digits: int) -> str:
    # explanations format the same few numbers over and over (a demand's range, a
    # listing's price): each is worked out once
    if math.isnan(v):
        return "?"
    if math.isinf(v):
        return "∞"
    r = round(v, digits)
    return str(int(r)) if r == int(r) else f"{r:.{digits}f}"


def value(a: np.ndarray) -> float | None:
    """The one value of a 1 × 1 (or length-1) array as a float, None when NaN."""
    v = float(np.asarray(a).reshape(-1)[0])
    return None if math.isnan(v) else v
