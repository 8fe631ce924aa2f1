"""Explanations that never call a field blank when the file had text there.

The scoring engine sees stored values only: a demand's move-in date "尽快" is stored
as "now" (:data:`~matcher.records.AVAILABLE_NOW`), which scoring counts as no date
unless the profile sets ``timing.as_of``; a budget "面议" or a date "下个月" give no
value at all. Its sentences then say "需求未填入驻时间" / "需求未填预算", which is
wrong about the file. The readers keep what such cells said (``records.unread``);
:func:`amend` puts it back into the sentences, so staff read "需求希望尽快入驻" or
"需求预算写的是“面议”" instead.

Only the demand-side "not given" sentences are concerned: a listing's missing value
is worded "未知" (unknown), which stays true.

Every explanation the engine builds (:meth:`scoring.Scorer.explain`,
``scoring.score(...).explain``, ``explain_row``, ``explain_many``) is amended here when
its records carry ``unread`` (``matcher.Demands`` do), so the library's own
explanations and the CLI's say the same; :mod:`matcher.written` re-exports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from scoring.conventions import AVAILABLE_NOW

__all__ = ["amend", "amend_part", "amend_summary", "explain", "explain_row", "not_given"]

# criterion -> (its "not given" wording, zh and en; the demand fields behind it; their name)
_NOT_GIVEN: dict[str, tuple[str, str, tuple[str, ...], str, str]] = {
    "timing": ("需求未填入驻时间", "no move-in date given", ("move_in_by",), "入驻时间", "move-in date"),
    "price": ("需求未填预算", "no budget given", ("max_rent", "max_sale_price"), "预算", "budget"),
    "industry": ("需求未填行业", "the demand gives no industry", ("industry_code",), "行业", "industry"),
    "facilities": ("需求未提设施要求", "no facility needs given",
                   ("min_clear_height_m", "min_floor_load_kg_m2", "min_power_kva"), "设施要求", "facility needs"),
    "location": ("需求未指定区位", "the demand names no place", ("towns", "origin", "anchor"), "区位", "places"),
    "area": ("需求未填面积", "the demand gives no area", ("area_min_m2", "area_max_m2"), "面积", "area"),
}
_NOW_ZH = "需求希望尽快入驻（未设定基准日 timing.as_of，交付时间不计分）"
_NOW_EN = "the demand wants to move in now (no reference date timing.as_of is set, so timing is not scored)"


def _written(demands: Any, i: int, fields: tuple[str, ...]) -> str:
    unread = getattr(demands, "unread", {})
    for f in fields:
        col = unread.get(f)
        if col is not None and col[i]:
            return str(col[i])
    return ""


def _sentences(name: str, demands: Any, i: int) -> tuple[str, str] | None:
    """What to say instead of the criterion's "not given" sentence, or None."""
    if name == "timing":
        move_in = getattr(demands, "move_in_by", None)
        if move_in is not None and move_in[i] == AVAILABLE_NOW:
            return _NOW_ZH, _NOW_EN
    _, _, fields, label_zh, label_en = _NOT_GIVEN[name]
    text = _written(demands, i, fields)
    if not text:
        return None
    return (f"需求{label_zh}写的是“{text}”，未读出可比较的值",
            f"the demand's {label_en} reads {text!r}, which gives no value to compare")


def amend(e: Any, demands: Any, i: int) -> Any:
    """``e`` (a :class:`scoring.Explanation` of demand row ``i``) with every "not given"
    sentence that the file contradicts rewritten; ``e`` itself is left as it was.

    Parameters
    ----------
    e : scoring.Explanation
    demands : matcher.Demands
        The records the explanation's demand comes from.
    i : int
        The demand's row in ``demands``.
    """
    parts = []
    changed = False
    for c in e.criteria:
        zh, en = amend_part(c.name, c.zh, c.en, demands, i)
        if (zh, en) != (c.zh, c.en):
            c = dataclasses.replace(c, zh=zh, en=en)
            changed = True
        parts.append(c)
    return dataclasses.replace(e, criteria=parts) if changed else e


def not_given(name: str) -> str | None:
    """The Chinese "not given" sentence of criterion ``name`` that :func:`amend` may rewrite.

    Returns
    -------
    str or None
        The sentence; None when the criterion has none.
    """
    rule = _NOT_GIVEN.get(name)
    return None if rule is None else rule[0]


def amend_part(name: str, zh: str, en: str, demands: Any, i: int) -> tuple[str, str]:
    """One criterion's sentences about demand row ``i`` as :func:`amend` leaves them:
    ``(zh, en)`` unchanged unless they hold a "not given" sentence the file contradicts.

    Parameters
    ----------
    name : str
        The criterion (a key of :data:`scoring.criteria.CRITERIA`).
    zh, en : str
        Its sentences in Chinese and English.
    demands : matcher.Demands
    i : int
        The demand's row in ``demands``.

    Returns
    -------
    zh, en : str
        The sentences, rewritten where the file said something.
    """
    rule = _NOT_GIVEN.get(name)
    if rule is None or rule[0] not in zh:
        return zh, en
    said = _sentences(name, demands, i)
    if said is None:
        return zh, en
    return zh.replace(rule[0], said[0]), en.replace(rule[1], said[1])


def explain(scorer: Any, i: int, j: int) -> Any:
    """:meth:`scoring.Scorer.explain` of (demand ``i``, listing ``j``), amended."""
    return amend(scorer.explain(i, j), scorer.demands, i)


def explain_row(scorer: Any, i: int, js: Sequence[int] | np.ndarray) -> list[Any]:
    """:meth:`scoring.Scorer.explain_row`, amended."""
    return [amend(e, scorer.demands, i) for e in scorer.explain_row(i, js)]


def amend_summary(zh: str, en: str, demands: Any, i: int) -> tuple[str, str]:
    """The same as :func:`amend` for a pair's joined reasons (``Explanation.summary`` or
    :class:`scoring.explain.PairSummary`): every "not given" sentence the file
    contradicts, rewritten.

    Parameters
    ----------
    zh, en : str
        The reasons in Chinese and English.
    demands : matcher.Demands
    i : int
        The demand's row in ``demands``.
    """
    for name in _NOT_GIVEN:
        zh, en = amend_part(name, zh, en, demands, i)
    return zh, en
