"""What scoring returns: the full matrices (:class:`ScoreResult`), the best partners of
every record (:class:`TopK`) and of one record (:class:`Ranking`)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from scoring.rules import RULES
from scoring.select import check_top_k, select_top

if TYPE_CHECKING:
    from scoring.engine import Scorer
    from scoring.explain import Explanation

__all__ = ["CriterionArrays", "Ranking", "ScoreResult", "TopK"]


@dataclass(frozen=True, eq=False)
class Ranking:
    """The best partners of one record.

    Attributes
    ----------
    index : ndarray of int64, shape (k,)
        Partner rows, best first.
    ids : ndarray of str, shape (k,)
    scores : ndarray of float32, shape (k,)
    """

    index: np.ndarray
    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True, eq=False)
class TopK:
    """The k best feasible partners of every record of one side.

    Attributes
    ----------
    index : ndarray of int64, shape (n, k)
        Partner rows, best first; -1 pads rows with fewer than k feasible partners.
    scores : ndarray of float32, shape (n, k)
        Their totals; NaN in the padding.
    count : ndarray of int64, shape (n,)
        Feasible partners listed per row (<= k).
    by : {"demand", "listing"}
        The side the rows belong to.
    """

    index: np.ndarray
    scores: np.ndarray
    count: np.ndarray
    by: str


class CriterionArrays(Mapping[str, np.ndarray]):
    """Each weighted criterion's full score matrix, computed on first access and kept.

    Computing them with the total would write one more full float32 matrix per
    criterion; most callers only need the total and a few explanations.
    """

    def __init__(self, scorer: Scorer, kept: dict[str, np.ndarray] | None = None) -> None:
        self._scorer = scorer
        self._kept = dict(kept or {})

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._scorer.weights:
            raise KeyError(name)
        if name not in self._kept:
            self._kept[name] = self._scorer.criterion_matrix(name)
        return self._kept[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scorer.weights)

    def __len__(self) -> int:
        return len(self._scorer.weights)


@dataclass(eq=False)
class ScoreResult:
    """The score matrix and its parts.

    Attributes
    ----------
    total : ndarray of float32, shape (n_demands, n_listings)
        Weighted score in [0, 1]; NaN where a hard rule fails.
    feasible : ndarray of bool, shape (n_demands, n_listings)
    failed : ndarray of uint16, shape (n_demands, n_listings)
        Bitmask of the failed rules: bit ``rule.bit`` of :data:`scoring.rules.RULES`.
    criteria : mapping of str to ndarray of float32, shape (n_demands, n_listings)
        Each weighted criterion's score in [0, 1] (defined on every pair, feasible or
        not), computed on first access unless ``score(..., criteria=True)``.
    scorer : Scorer
        The scorer that made it (both sides prepared; explanations).
    """

    total: np.ndarray
    failed: np.ndarray
    criteria: Mapping[str, np.ndarray]
    scorer: Scorer

    @functools.cached_property
    def feasible(self) -> np.ndarray:
        """bool (n_demands, n_listings): no rule fails."""
        return self.failed == 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.criteria[name]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_demands, n_listings)``."""
        return (int(self.total.shape[0]), int(self.total.shape[1]))

    def explain(self, i: int, j: int) -> Explanation:
        """Explain pair (demand ``i``, listing ``j``); see :meth:`Scorer.explain`."""
        return self.scorer.explain(i, j)

    def top_k(self, k: int, by: Literal["demand", "listing"] = "demand") -> TopK:
        """The k best feasible partners of every record, from the matrix held here
        (the same result as :meth:`Scorer.top_k`, without scoring again)."""
        check_top_k(k, by)
        t = self.total if by == "demand" else self.total.T
        n_self, n_other = t.shape
        index = np.full((n_self, k), -1, dtype=np.int64)
        scores = np.full((n_self, k), np.nan, dtype=np.float32)
        count = np.zeros(n_self, dtype=np.int64)
        kk = min(k, n_other)
        if kk > 0:
            tie = self.scorer.id_ranks("listing" if by == "demand" else "demand")
            index[:, :kk], scores[:, :kk], count[:] = select_top(t, kk, tie)
        return TopK(index=index, scores=scores, count=count, by=by)

    def rule_mask(self, name: str) -> np.ndarray:
        """bool (n_demands, n_listings): the pairs that fail rule ``name``."""
        for r in RULES:
            if r.name == name:
                return (self.failed & np.uint16(r.flag)) != 0
        raise KeyError(name)

    def rule_counts(self, i: int | None = None, axis: int = 1) -> dict[str, int]:
        """How many pairs each rule excludes.

        Parameters
        ----------
        i : int, optional
            A demand row (``axis=1``) or listing column (``axis=0``); all pairs when None.
        axis : {0, 1}
            Whether ``i`` is a listing column (0) or a demand row (1).

        Returns
        -------
        dict of rule name to count, largest first, rules that exclude nothing left out.
        """
        f = self.failed if i is None else (self.failed[i] if axis == 1 else self.failed[:, i])
        counts = {r.name: int(np.count_nonzero(f & np.uint16(r.flag))) for r in RULES}
        return dict(sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: -kv[1]))
