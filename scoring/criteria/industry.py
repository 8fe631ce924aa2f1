"""Industry synergy: how well the demand's industry fits the listing's park.

The listing's industries are its park's admitted industries plus its present
tenants'. The score of one pair of codes is the deepest GB/T 4754 level they share
(``industry.same_class`` for the same 小类, ``same_group`` 中类, ``same_division``
大类, ``same_section`` 门类, else 0), or ``industry.chain`` when the supply-chain
graph links them in either direction, whichever is higher
(:func:`scoring.industry.similarity_table`); the criterion is the best over the
listing's industries. A demand without an industry code, or a listing without
industries, scores ``industry.neutral``.

The table is built once per scorer on unique codes and unique lists; the block
only gathers from it.
"""

from __future__ import annotations

import functools

import numpy as np

from scoring.block import Block, gather
from scoring.criteria.base import Detail, key_columns
from scoring.industry import chain_links, similarity_table
from scoring.reference import industries

name, zh, en = "industry", "产业协同", "industry fit"


def score(b: Block) -> np.ndarray:
    return gather(b.tables.synergy, b.code_rows, b.l.related)


def _label(code: str) -> str:
    i = industries().index(code)
    return f"{code} {industries().names[i]}" if i is not None else code


@functools.lru_cache(maxsize=4096)
def _best(code: str, related: tuple[str, ...], levels: tuple[tuple[str, float], ...]) -> tuple[str, float, bool]:
    """The listing industry closest to ``code``, its score, and whether a supply-chain
    link gives it (codes and lists are few: each pair is worked out once)."""
    sims = similarity_table([code], list(related), dict(levels))[0]
    best = related[int(np.argmax(sims))]
    return best, float(sims.max()), bool(chain_links([code], [best])[0, 0])


def describe_key(b: Block, p: np.ndarray, i: np.ndarray) -> np.ndarray:
    """:meth:`~scoring.criteria.base.KeyedCriterion.describe_key`, float64 (n, 2): the
    demand's code row and the listing's list of industries (rows of the whole market's
    tables; -1 for no code)."""
    return key_columns(b.d.code[i], b.l.related[p])


def describe(b: Block, p: int = 0, i: int = 0) -> Detail:
    row = b.dp.code[i]
    code = b.d.codes[row] if row >= 0 else ""
    related = b.l.related_lists[b.lp.related[p]]
    inputs = {"industry_code": code or None, "listing_industries": list(related)}
    if not code:
        return Detail(inputs, "需求未填行业", "the demand gives no industry")
    if not related:
        return Detail(inputs, "房源未注明产业方向", "the listing names no industries")
    lv = b.profile["industry"]
    best, s, linked = _best(code, tuple(related), tuple(sorted(lv.items())))
    if linked and s == lv["chain"]:
        zh_, en_ = f"与园区 {_label(best)} 有产业链上下游关系", f"supply-chain link with {best} in the park"
    elif s == lv["same_class"]:
        zh_, en_ = f"与园区 {_label(best)} 同小类", f"same class as {best} in the park"
    elif s == lv["same_group"]:
        zh_, en_ = f"与园区 {_label(best)} 同中类", f"same group as {best} in the park"
    elif s == lv["same_division"]:
        zh_, en_ = f"与园区 {_label(best)} 同大类", f"same division as {best} in the park"
    elif s == lv["same_section"]:
        zh_, en_ = f"与园区 {_label(best)} 同门类", f"same section as {best} in the park"
    else:
        zh_, en_ = "与园区产业无关联", "unrelated to the park's industries"
    inputs["best_match"] = best
    return Detail(inputs, zh_, en_)
