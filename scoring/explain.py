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
from scoring.criteria.base import Detail, fmt
from scoring.criteria.location import nearest_place
from scoring.rules import RULES, dense
from scoring.written import amend, amend_part, not_given

if TYPE_CHECKING:
    from scoring.engine import Scorer

__all__ = ["CRANE_NEED_UNWRITTEN", "CRANE_UNWRITTEN", "CriterionPart", "Explanation", "PairSummary", "RuleCheck",
           "explain_many", "explain_pairs", "rule_sentences", "rule_values", "summarize_many"]

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


def rule_values(b: Block, name: str, distance_km: float | None, p: int = 0, i: int = 0) -> tuple[Any, Any]:
    """The demand's and the listing's values a rule compares, for the pair (demand
    ``i``, listing ``p``) of a block."""
    d, l = b.d, b.l
    code = d.codes[int(d.code[i])] if d.code[i] >= 0 else None
    table: dict[str, tuple[Any, Any]] = {
        "deal": (_DEMAND_DEAL[int(d.deal[i])][1], _LISTING_DEAL[int(l.deal[p])][1]),
        "area": ({"min": _f(d.lo[i]), "max": _f(d.hi[i]) if math.isfinite(d.hi[i]) else None},
                 _f(b.offered[i if b.offered.shape[0] > 1 else 0, p])),
        "fire_class": (_fire(int(d.fire[i])), _fire(int(l.fire[p]))),
        "eia": (_tri(int(d.eia[i])), _tri(int(l.eia[p]))),
        "industry_allowed": (code, list(l.allowed_lists[int(l.allowed[p])])),
        "industry_banned": (code, list(l.banned_lists[int(l.banned[p])])),
        "crane": (CRANE_NEED_UNWRITTEN if d.crane_any[i] else _f(d.crane[i]),
                  CRANE_UNWRITTEN if l.crane_any[p] else _f(l.crane[p])),
        "ground_floor": (_tri(int(d.ground[i])), _f(l.floor[p])),
        "floor_load": (_f(d.load[i]), _f(l.load[p])),
        "title_certificate": (_tri(int(d.certificate[i])), _tri(int(l.title[p]))),
        "park_tax": (_f(d.tax[i]), _f(l.min_tax[p])),
        "park_rating": (_rating(int(d.rating[i])), _rating(int(l.min_rating[p]))),
        "max_distance": (_f(d.max_distance[i]) if math.isfinite(d.max_distance[i]) else None, distance_km),
        "available": (_day(d.move_in[i]), _day(l.available[p])),
        "lease_term": (_f(d.lease_months[i]), _f(l.min_lease[p])),
    }
    return table[name]


# words for values in rule sentences: unknown, yes, no, an open upper bound, list
# separator, an empty list
_WORDS = {"zh": ("未知", "是", "否", "∞", "、", "不限"), "en": ("unknown", "yes", "no", "inf", ", ", "any")}


CRANE_UNWRITTEN = "crane_unwritten"
"""A listing's rule value standing for a crane written without its tonnage (带行车)."""
CRANE_NEED_UNWRITTEN = "crane_needed_unwritten"
"""A demand's rule value standing for a crane needed without a tonnage (需要行车)."""
_MARKERS = {CRANE_UNWRITTEN: {"zh": "有行车，吨位未注明", "en": "a crane, tonnage not given"},
            CRANE_NEED_UNWRITTEN: {"zh": "需要行车，吨位未注明", "en": "a crane, tonnage not given"}}


def _show(v: Any, lang: str) -> str:
    unknown, yes, no, inf, sep, anything = _WORDS[lang]
    if v is None:
        return unknown
    if isinstance(v, str) and v in _MARKERS:
        return _MARKERS[v][lang]
    if isinstance(v, bool):
        return yes if v else no
    if isinstance(v, float):
        return fmt(v)
    if isinstance(v, dict):
        return f"{_show(v['min'], lang)}–{_show(v['max'], lang) if v['max'] is not None else inf}"
    if isinstance(v, list):
        return sep.join(v) if v else anything
    return str(v)


_ZH_VALUES = {"demand": {en: zh for zh, en in _DEMAND_DEAL.values()},
              "listing": {en: zh for zh, en in _LISTING_DEAL.values()}}
"""The English rule values (:func:`rule_values`) a Chinese sentence says in Chinese, per side."""


def _show_zh(v: Any, side: str) -> str:
    if isinstance(v, str) and v in _ZH_VALUES[side]:
        return _ZH_VALUES[side][v]
    if isinstance(v, str) and len(v) == 1 and "A" <= v <= "E":  # a 亩均评价 class
        return f"{v}类"
    return _show(v, "zh")


def rule_sentences(label_zh: str, label_en: str, passed: bool, dv: Any, lv: Any) -> tuple[str, str]:
    """Sentences for one rule: the verdict and both values (in Chinese, the deal types in
    Chinese too).

    >>> rule_sentences("交易方式", "deal type", False, "buy", "lease")[0]
    '交易方式不符（需求 求购，房源 出租）'
    """
    zh = f"{label_zh}{'符合' if passed else '不符'}（需求 {_show_zh(dv, 'demand')}，房源 {_show_zh(lv, 'listing')}）"
    en = f"{label_en} {'ok' if passed else 'fails'} (demand {_show(dv, 'en')}, listing {_show(lv, 'en')})"
    return zh, en


def explain_pairs(scorer: Scorer, i: int, js: Sequence[int] | np.ndarray, rules: bool = True,
                  known_feasible: bool = False) -> list[Explanation]:
    """Explanations of demand row ``i`` with each listing row in ``js``; the same as
    ``[scorer.explain(i, j) for j in js]`` (see :func:`explain_many`)."""
    idx = np.asarray(js, dtype=np.int64).reshape(-1)
    return explain_many(scorer, np.full(idx.size, i, dtype=np.int64), idx, rules=rules,
                        known_feasible=known_feasible)


EXPLAIN_BLOCK_PAIRS = 1 << 16
"""Largest block :func:`explain_many` evaluates at once (demands × listings of a chunk)."""


def _chunks(rows: np.ndarray, cols: np.ndarray, budget: int) -> list[np.ndarray]:
    """Positions of the pairs (sorted by demand) cut into chunks of whole demands whose
    demands × listings block stays within ``budget`` pairs (at least one demand each)."""
    out: list[np.ndarray] = []
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], rows.size].astype(np.int64)
    a = 0
    n_dem = 0
    seen: set[int] = set()
    for s, e in zip(starts.tolist(), ends.tolist()):
        new = seen.union(cols[s:e].tolist())
        if n_dem and (n_dem + 1) * len(new) > budget:
            out.append(np.arange(a, s))
            a, n_dem, new = s, 0, set(cols[s:e].tolist())
        seen = new
        n_dem += 1
    if rows.size:
        out.append(np.arange(a, rows.size))
    return out


def explain_many(scorer: Scorer, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray,
                 rules: bool = True, known_feasible: bool = False,
                 block_pairs: int = EXPLAIN_BLOCK_PAIRS) -> list[Explanation]:
    """Explanations of the pairs ``(rows[k], cols[k])``, many at once.

    The pairs are grouped by demand into blocks of whole demands against the union of
    their listings (at most ``block_pairs`` pairs each); every rule and criterion runs
    once per block, always on the numpy code (the definition). The result is the same
    as ``[scorer.explain(i, j) for i, j in zip(rows, cols)]``, in that order.

    Parameters
    ----------
    scorer : Scorer
        Both sides prepared, the profile and the weights.
    rows, cols : sequence of int, shape (n,)
        Demand and listing rows of each pair.
    rules : bool
        Also describe every rule (the failed ones are always in ``failed``). Without,
        ``rules`` is empty: enough for pairs known to be feasible, whose summaries
        only use the criteria.
    known_feasible : bool
        The caller knows every pair passes every rule (the pairs of an allocation or
        a ranking): the rules are not evaluated again.
    block_pairs : int
        Largest block evaluated at once.

    Returns
    -------
    list of Explanation, one per pair, in the order given
    """
    d, l = scorer.demand_side, scorer.listing_side
    records = getattr(scorer, "demands", None)
    rr = np.asarray(rows, dtype=np.int64).reshape(-1)
    cc = np.asarray(cols, dtype=np.int64).reshape(-1)
    if rr.shape != cc.shape:
        raise ValueError(f"rows and cols have different lengths ({rr.size} and {cc.size})")
    order = np.lexsort((cc, rr))
    out: list[Explanation | None] = [None] * rr.size
    weights = scorer.weights
    for chunk in _chunks(rr[order], cc[order], block_pairs):
        pos = order[chunk]
        dem, ii = np.unique(rr[pos], return_inverse=True)
        lis, pp = np.unique(cc[pos], return_inverse=True)
        b = Block(d.take(dem), l.take(lis), scorer.tables, scorer.profile)
        ii, pp = ii.reshape(-1), pp.reshape(-1)
        n = pos.size
        bits = np.zeros(n, dtype=np.int64)
        passed = {r.name: np.ones(n, dtype=bool) for r in RULES} if rules else {}
        for r in () if known_feasible else RULES:
            ok = ~dense(r.fails(b), b.shape)[ii, pp]
            passed[r.name] = ok
            bits |= np.where(ok, 0, r.flag)
        scores = {name: np.broadcast_to(CRITERIA[name].score(b), b.shape)[ii, pp] for name in weights}
        for k in range(n):
            i, p = int(ii[k]), int(pp[k])
            checks = []
            if rules:
                km = nearest_place(b, p, i)[0]
                for r in RULES:
                    ok_ = bool(passed[r.name][k])
                    dv, lv = rule_values(b, r.name, km, p, i)
                    zh, en = rule_sentences(r.zh, r.en, ok_, dv, lv)
                    checks.append(RuleCheck(r.name, r.zh, r.en, ok_, dv, lv, zh, en))
            parts = []
            for name, w in weights.items():
                mod = CRITERIA[name]
                sc = float(scores[name][k])
                det = mod.describe(b, p, i)
                parts.append(CriterionPart(name, mod.zh, mod.en, sc, w, w * sc, det.inputs, det.zh, det.en))
            f = int(bits[k])
            # "not given" sentences the file contradicts say what it said (scoring.written)
            out[int(pos[k])] = amend(Explanation(
                demand_id=str(d.ids[dem[i]]), listing_id=str(l.ids[lis[p]]), feasible=f == 0, failed=f,
                total=math.fsum(q.contribution for q in parts) if f == 0 else None, rules=checks, criteria=parts,
            ), records, int(dem[i]))
    return [e for e in out if e is not None]


@dataclass(frozen=True)
class PairSummary:
    """What a table row shows of a feasible pair: the criteria's scores (in the order of
    the weights), the distance to the nearest wanted place (km, None when unknown) and
    the reasons in Chinese and English (:meth:`Explanation.summary`)."""

    scores: dict[str, float]
    distance_km: float | None
    zh: str
    en: str


MEMO_KEYS = 1 << 16
"""Descriptions :func:`summarize_many` keeps per criterion for reuse across blocks."""


def _details(mod: Any, b: Block, pp: np.ndarray, ii: np.ndarray, memo: dict[bytes, Detail]) -> list[Detail]:
    """``mod.describe`` of the pairs (demand ``ii[k]``, listing ``pp[k]``) of block ``b``.

    A criterion with a ``describe_key`` (the values its sentences depend on, as a
    float64 (n, m) array) is described once per distinct key; ``memo`` keeps what was
    said for a key across the blocks of one call (the same bytes, the same values, the
    same sentences).
    """
    key_of = getattr(mod, "describe_key", None)
    if key_of is None:
        return [mod.describe(b, p, i) for p, i in zip(pp.tolist(), ii.tolist())]
    keys = np.ascontiguousarray(key_of(b, pp, ii), dtype=np.float64)
    rows = keys.view(np.dtype((np.void, keys.itemsize * keys.shape[1]))).reshape(-1)
    distinct, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    if len(memo) > MEMO_KEYS:
        memo.clear()  # a long call keeps at most this many descriptions per criterion
    said = []
    for kb, f in zip(distinct.tolist(), first.tolist()):
        det = memo.get(kb)
        if det is None:
            det = memo[kb] = mod.describe(b, int(pp[f]), int(ii[f]))
        said.append(det)
    return [said[x] for x in inverse.reshape(-1).tolist()]


def summarize_many(scorer: Scorer, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray,
                   block_pairs: int = EXPLAIN_BLOCK_PAIRS) -> list[PairSummary]:
    """The summaries of feasible pairs ``(rows[k], cols[k])``, many at once.

    The same criteria, blocks and sentences as :func:`explain_many` with
    ``known_feasible=True`` (``summary("zh")`` of that explanation equals ``zh`` here),
    without building the explanation objects: what a run's tables need, for tens of
    thousands of pairs. A criterion whose sentences depend on a few values of each
    side (``describe_key``: price, industry, facilities, timing) is described once per
    distinct set of values in the call; the parts of each pair are ordered by
    contribution in one array sort.

    Parameters
    ----------
    scorer : Scorer
    rows, cols : sequence of int, shape (n,)
        Pairs that pass every rule (the pairs of an allocation or a ranking).
    block_pairs : int
        Largest block evaluated at once.

    Returns
    -------
    list of PairSummary, one per pair, in the order given
    """
    d, l = scorer.demand_side, scorer.listing_side
    records = getattr(scorer, "demands", None)
    rr = np.asarray(rows, dtype=np.int64).reshape(-1)
    cc = np.asarray(cols, dtype=np.int64).reshape(-1)
    if rr.shape != cc.shape:
        raise ValueError(f"rows and cols have different lengths ({rr.size} and {cc.size})")
    order = np.lexsort((cc, rr))
    out: list[PairSummary | None] = [None] * rr.size
    names = list(scorer.weights)
    w = np.array([scorer.weights[name] for name in names], dtype=np.float64)
    mods = [CRITERIA[name] for name in names]
    at_location = names.index("location") if "location" in names else -1
    memos: list[dict[bytes, Detail]] = [{} for _ in mods]
    for chunk in _chunks(rr[order], cc[order], block_pairs):
        pos = order[chunk]
        dem, ii = np.unique(rr[pos], return_inverse=True)
        lis, pp = np.unique(cc[pos], return_inverse=True)
        b = Block(d.take(dem), l.take(lis), scorer.tables, scorer.profile)
        ii, pp = ii.reshape(-1), pp.reshape(-1)
        scores = np.stack([np.broadcast_to(mod.score(b), b.shape)[ii, pp] for mod in mods], axis=1)
        # parts by contribution, highest first; a stable sort keeps the weights' order
        # between equal ones, as Explanation.summary does
        ranked = np.argsort(-(w * scores.astype(np.float64)), axis=1, kind="stable")
        said = [_details(mod, b, pp, ii, memo) for mod, memo in zip(mods, memos)]
        zh = np.empty((pos.size, len(mods)), dtype=object)
        en = np.empty_like(zh)
        for c, (name, dets) in enumerate(zip(names, said)):
            zh[:, c] = [x.zh for x in dets]
            en[:, c] = [x.en for x in dets]
            marker = not_given(name)
            if records is not None and marker is not None:
                for k in [k for k, x in enumerate(dets) if marker in x.zh]:
                    zh[k, c], en[k, c] = amend_part(name, dets[k].zh, dets[k].en, records, int(dem[ii[k]]))
        km = [x.inputs.get("distance_km") for x in said[at_location]] if at_location >= 0 else [None] * pos.size
        zh_joined = ["；".join(filter(None, r)) for r in np.take_along_axis(zh, ranked, axis=1).tolist()]
        en_joined = ["; ".join(filter(None, r)) for r in np.take_along_axis(en, ranked, axis=1).tolist()]
        for p_k, s_k, km_k, z, e in zip(pos.tolist(), scores.tolist(), km, zh_joined, en_joined):
            out[p_k] = PairSummary(dict(zip(names, s_k)), km_k, z, e)
    return [s for s in out if s is not None]
