"""Explanations of one pair: every rule with the values it compared, every criterion
with its inputs, score, weight and contribution, and sentences in Chinese and English.

An :class:`Explanation` is built from a 1 × 1 block by the same rule and criterion
code as the matrix, so ``explanation.total`` equals ``total[i, j]`` (to float32
rounding of the weighted sum, far below 1e-6).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scoring.block import Block
from scoring.conventions import DEAL_BOTH, DEAL_LEASE, DEAL_SALE, FIRE_CLASSES, RATINGS
from scoring.criteria import CRITERIA
from scoring.criteria.base import fmt
from scoring.criteria.location import nearest_place
from scoring.rules import RULES, dense

if TYPE_CHECKING:
    from scoring.engine import Scorer

__all__ = ["CriterionPart", "Explanation", "RuleCheck", "explain_pairs", "rule_sentences", "rule_values"]

_DEMAND_DEAL = {DEAL_LEASE: ("求租", "lease"), DEAL_SALE: ("求购", "buy"), DEAL_BOTH: ("租购均可", "either")}
_LISTING_DEAL = {DEAL_LEASE: ("出租", "lease"), DEAL_SALE: ("出售", "sale"), DEAL_BOTH: ("租售均可", "lease or sale")}


@dataclass
class RuleCheck:
    """One hard rule for one pair."""

    name: str
    label_zh: str
    label_en: str
    passed: bool
    demand: Any
    listing: Any
    zh: str
    en: str


@dataclass
class CriterionPart:
    """One criterion for one pair: ``contribution = weight * score``."""

    name: str
    label_zh: str
    label_en: str
    score: float
    weight: float
    contribution: float
    inputs: dict[str, Any] = field(default_factory=dict)
    zh: str = ""
    en: str = ""


@dataclass
class Explanation:
    """Why a pair scores what it scores.

    Attributes
    ----------
    total : float or None
        Sum of the contributions (weights are normalised to sum to 1); None when a
        rule fails.
    failed : int
        Bitmask of the failed rules (see :mod:`scoring.rules`).
    """

    demand_id: str
    listing_id: str
    feasible: bool
    failed: int
    total: float | None
    rules: list[RuleCheck]
    criteria: list[CriterionPart]

    @property
    def failed_rules(self) -> list[str]:
        return [r.name for r in self.rules if not r.passed]

    def sentences(self, lang: str = "zh") -> list[str]:
        """The failed rules' sentences when infeasible, else each criterion's, best first."""
        if not self.feasible:
            return [getattr(r, lang) for r in self.rules if not r.passed]
        parts = sorted(self.criteria, key=lambda c: -c.contribution)
        return [getattr(c, lang) for c in parts if getattr(c, lang)]

    def summary(self, lang: str = "zh") -> str:
        """One line: the sentences joined."""
        return ("；" if lang == "zh" else "; ").join(self.sentences(lang))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        out = asdict(self)
        out["failed_rules"] = self.failed_rules
        out["reasons_zh"] = self.summary("zh")
        out["reasons_en"] = self.summary("en")
        return out


def _f(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _tri(v: int) -> bool | None:
    return None if v < 0 else bool(v)


def _fire(v: int) -> str | None:
    return FIRE_CLASSES[v - 1] if v > 0 else None


def _rating(v: int) -> str | None:
    return RATINGS[v - 1] if v > 0 else None


def _day(v: float) -> str | None:
    if math.isnan(v):
        return None
    if v == -math.inf:
        return "now"
    return str(np.datetime64(int(v), "D"))


def rule_values(b: Block, name: str, distance_km: float | None, p: int = 0) -> tuple[Any, Any]:
    """The demand's and the listing's values a rule compares, for the pair (demand 0,
    listing ``p``) of a one-demand block."""
    d, l = b.d, b.l
    code = d.codes[int(d.code[0])] if d.code[0] >= 0 else None
    table: dict[str, tuple[Any, Any]] = {
        "deal": (_DEMAND_DEAL[int(d.deal[0])][1], _LISTING_DEAL[int(l.deal[p])][1]),
        "area": ({"min": _f(d.lo[0]), "max": _f(d.hi[0]) if math.isfinite(d.hi[0]) else None},
                 _f(b.offered[0, p])),
        "fire_class": (_fire(int(d.fire[0])), _fire(int(l.fire[p]))),
        "eia": (_tri(int(d.eia[0])), _tri(int(l.eia[p]))),
        "industry_allowed": (code, list(l.allowed_lists[int(l.allowed[p])])),
        "industry_banned": (code, list(l.banned_lists[int(l.banned[p])])),
        "crane": (_f(d.crane[0]), _f(l.crane[p])),
        "ground_floor": (_tri(int(d.ground[0])), _f(l.floor[p])),
        "floor_load": (_f(d.load[0]), _f(l.load[p])),
        "title_certificate": (_tri(int(d.certificate[0])), _tri(int(l.title[p]))),
        "park_tax": (_f(d.tax[0]), _f(l.min_tax[p])),
        "park_rating": (_rating(int(d.rating[0])), _rating(int(l.min_rating[p]))),
        "max_distance": (_f(d.max_distance[0]) if math.isfinite(d.max_distance[0]) else None, distance_km),
        "available": (_day(d.move_in[0]), _day(l.available[p])),
        "lease_term": (_f(d.lease_months[0]), _f(l.min_lease[p])),
    }
    return table[name]


# words for values in rule sentences: unknown, yes, no, an open upper bound, list
# separator, an empty list
_WORDS = {"zh": ("未知", "是", "否", "∞", "、", "不限"), "en": ("unknown", "yes", "no", "inf", ", ", "any")}


def _show(v: Any, lang: str) -> str:
    unknown, yes, no, inf, sep, anything = _WORDS[lang]
    if v is None:
        return unknown
    if isinstance(v, bool):
        return yes if v else no
    if isinstance(v, float):
        return fmt(v)
    if isinstance(v, dict):
        return f"{_show(v['min'], lang)}–{_show(v['max'], lang) if v['max'] is not None else inf}"
    if isinstance(v, list):
        return sep.join(v) if v else anything
    return str(v)


def rule_sentences(label_zh: str, label_en: str, passed: bool, dv: Any, lv: Any) -> tuple[str, str]:
    """Sentences for one rule: the verdict and both values."""
    zh = f"{label_zh}{'符合' if passed else '不符'}（需求 {_show(dv, 'zh')}，房源 {_show(lv, 'zh')}）"
    en = f"{label_en} {'ok' if passed else 'fails'} (demand {_show(dv, 'en')}, listing {_show(lv, 'en')})"
    return zh, en


def explain_pairs(scorer: Scorer, i: int, js: Sequence[int] | np.ndarray, rules: bool = True,
                  known_feasible: bool = False) -> list[Explanation]:
    """Explanations of demand row ``i`` with each listing row in ``js``.

    The rules and criteria run once, on one 1 × len(js) block, always on the numpy
    code (the definition), so a demand's recommendations cost little more than one
    pair: the same as ``[scorer.explain(i, j) for j in js]``.

    Parameters
    ----------
    scorer : Scorer
        Both sides prepared, the profile and the weights.
    i : int
        Demand row.
    js : sequence of int, shape (n,)
        Listing rows.
    rules : bool
        Also describe every rule (the failed ones are always in ``failed``). Without,
        ``rules`` is empty: enough for pairs known to be feasible, whose summaries
        only use the criteria.
    known_feasible : bool
        The caller knows every pair passes every rule (the pairs of a ranking, say):
        the rules are not evaluated again.

    Returns
    -------
    list of Explanation, one per listing of ``js``
    """
    d, l = scorer.demand_side, scorer.listing_side
    idx = np.asarray(js, dtype=np.int64).reshape(-1)
    b = Block(d.slice(i, i + 1), l.take(idx), scorer.tables, scorer.profile)
    n = len(idx)
    bits = np.zeros(n, dtype=np.int64)
    passed = {r.name: np.ones(n, dtype=bool) for r in RULES} if rules else {}
    for r in () if known_feasible else RULES:
        ok = ~dense(r.fails(b), (1, n))[0]
        passed[r.name] = ok
        bits |= np.where(ok, 0, r.flag)
    weights = scorer.weights
    scores = {name: np.broadcast_to(CRITERIA[name].score(b), (1, n))[0] for name in weights}
    out = []
    for p in range(n):
        checks = []
        if rules:
            km = nearest_place(b, p)[0]
            for r in RULES:
                ok = bool(passed[r.name][p])
                dv, lv = rule_values(b, r.name, km, p)
                zh, en = rule_sentences(r.zh, r.en, ok, dv, lv)
                checks.append(RuleCheck(r.name, r.zh, r.en, ok, dv, lv, zh, en))
        parts = []
        for name, w in weights.items():
            mod = CRITERIA[name]
            s = float(scores[name][p])
            det = mod.describe(b, p)
            parts.append(CriterionPart(name, mod.zh, mod.en, s, w, w * s, det.inputs, det.zh, det.en))
        f = int(bits[p])
        out.append(Explanation(
            demand_id=str(d.ids[i]), listing_id=str(l.ids[idx[p]]), feasible=f == 0, failed=f,
            total=math.fsum(q.contribution for q in parts) if f == 0 else None, rules=checks, criteria=parts,
        ))
    return out
