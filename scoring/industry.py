"""Industry relations: GB/T 4754 prefixes, hierarchy levels and supply-chain links.

Codes are bare GB/T 4754-2017 strings: a section letter (``"C"``) or 2, 3 or 4
digits (大类, 中类, 小类). Everything here works on *unique* codes, so tables are
small (codes × codes) and the score matrix only gathers from them.

* :func:`prefix_table` -- ``code`` lies under ``prefix``: the code starts with the
  prefix's digits, or the prefix is the code's section letter.
* :func:`similarity_table` -- the industry-synergy score of two codes: the deepest
  level of the hierarchy both are known to share (the length of their common digit
  prefix: 4 same 小类, 3 same 中类, 2 same 大类, else the same 门类), or the profile's
  ``chain`` score when the supply-chain graph links them, whichever is higher.
* :func:`chain_graph` -- the supply-chain graph shipped as data
  (``scoring/data/supply_chain.csv``): a :class:`networkx.DiGraph` from supplier to
  customer industry. Node codes are prefixes: an edge ``2929 -> 385`` links every
  code under 2929 with every code under 385, in either direction.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from scoring.reference import industries

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["chain_graph", "chain_links", "prefix_table", "section_of", "similarity_table"]


@functools.cache
def chain_graph() -> nx.DiGraph:
    """The supply-chain graph: supplier industry -> customer industry (cached).

    Edge attributes ``chain`` (the chain's name) and ``note`` (a Chinese gloss).
    """
    import networkx as nx

    text = resources.files("scoring").joinpath("data", "supply_chain.csv").read_text("utf-8")
    g = nx.DiGraph()
    for row in csv.DictReader(io.StringIO(text)):
        g.add_edge(row["supplier"], row["customer"], chain=row["chain"], note=row["note"])
    return g


def section_of(code: str) -> str:
    """Section letter of a code ('' when unknown)."""
    if len(code) == 1 and code.isalpha():
        return code
    return industries().section_of(code) or ""


def _under(codes: Sequence[str], prefix: str) -> np.ndarray:
    """Bool (len(codes),): each code lies under ``prefix``."""
    if prefix.isdigit():
        return np.array([c.startswith(prefix) for c in codes], dtype=bool)
    return np.array([section_of(c) == prefix for c in codes], dtype=bool)


def prefix_table(codes: Sequence[str], prefixes: Sequence[str]) -> np.ndarray:
    """Which codes lie under which prefixes.

    Parameters
    ----------
    codes : sequence of str, length n
    prefixes : sequence of str, length p
        Digit prefixes or section letters.

    Returns
    -------
    ndarray of bool, shape (n, p)
    """
    out = np.zeros((len(codes), len(prefixes)), dtype=bool)
    for k, p in enumerate(prefixes):
        out[:, k] = _under(codes, p)
    return out


@functools.cache
def _edges() -> tuple[tuple[str, str], ...]:
    """The supply-chain graph's edges (supplier, customer), in a fixed order."""
    return tuple((str(u), str(v)) for u, v in chain_graph().edges)


def _is_under(code: str, prefix: str) -> bool:
    return code.startswith(prefix) if prefix.isdigit() else section_of(code) == prefix


@functools.lru_cache(maxsize=1 << 14)
def _chain_bits(code: str) -> tuple[int, int]:
    """Bit k of the first: ``code`` lies under the supplier of edge k (:func:`_edges`);
    of the second: under its customer. Worked out once per code."""
    supplier = customer = 0
    for k, (u, v) in enumerate(_edges()):
        supplier |= _is_under(code, u) << k
        customer |= _is_under(code, v) << k
    return supplier, customer


def chain_links(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Bool (len(a), len(b)): the supply-chain graph links a[i] and b[j], either way.

    Each code's edges are two bit sets (:func:`_chain_bits`, kept per code), so a pair
    is linked when a supplier bit of one meets a customer bit of the other: one
    explanation's handful of codes costs a few integer operations, not a pass over
    every edge."""
    dtype = np.uint64 if len(_edges()) <= 64 else object
    bits_a = np.array([_chain_bits(c) for c in a], dtype=dtype).reshape(len(a), 2)
    bits_b = np.array([_chain_bits(c) for c in b], dtype=dtype).reshape(len(b), 2)
    links = (bits_a[:, 0, None] & bits_b[None, :, 1]) | (bits_a[:, 1, None] & bits_b[None, :, 0])
    return np.asarray(links != 0, dtype=bool).reshape(len(a), len(b))


def similarity_table(a: Sequence[str], b: Sequence[str], levels: dict[str, float]) -> np.ndarray:
    """Industry-synergy scores of every pair of codes.

    Parameters
    ----------
    a, b : sequence of str
        Codes (section letters or 2–4 digits).
    levels : mapping
        ``same_class``, ``same_group``, ``same_division``, ``same_section`` and
        ``chain`` scores (the profile's ``[industry]`` table).

    Returns
    -------
    ndarray of float32, shape (len(a), len(b))
    """
    out = np.zeros((len(a), len(b)), dtype=np.float32)
    sa = np.array([section_of(c) or "?" for c in a])
    sb = np.array([section_of(c) or "!" for c in b])
    out[sa[:, None] == sb[None, :]] = levels["same_section"]
    for n, key in ((2, "same_division"), (3, "same_group"), (4, "same_class")):
        pa = np.array([c[:n] if c.isdigit() and len(c) >= n else "?" for c in a])
        pb = np.array([c[:n] if c.isdigit() and len(c) >= n else "!" for c in b])
        out[pa[:, None] == pb[None, :]] = levels[key]
    np.maximum(out, np.where(chain_links(a, b), np.float32(levels["chain"]), np.float32(0)), out=out)
    return out
