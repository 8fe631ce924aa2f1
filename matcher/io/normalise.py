"""Turn what staff type into canonical values.

Every parser takes one raw cell (a str, number, bool, date or None) and returns the
stored value in canonical units, or raises :class:`CellError` with a reason in
Chinese and in English. Parsers never guess: text that is not fully understood is an
error, never a partial reading.

Units (DESIGN.md)
-----------------
* area in ㎡; 1 亩 = 10000/15 ㎡ (≈ 666.67 ㎡, the legal definition);
* rent in 元/㎡/月: 元/㎡/天 × 30 (the local convention), 元/㎡/年 ÷ 12;
* sale price in 元/㎡; a total ("总价800万", "800万元") is divided by the area at the
  row level (see :mod:`matcher.io.ingest`);
* floor load in kg/㎡ (1 吨 = 1000 kg), power in kVA, crane in t, heights in m,
  distances in km, terms in months (1 年 = 12 个月), 亩均税收 in 万元/亩.

Text is first NFKC-normalised (full-width digits, ～ → ~, m2 → ㎡), thousands
separators are dropped, Chinese numerals become Arabic (``二点五`` → 2.5, ``两千`` →
2000, via :mod:`cn2an`), and 千/万 multiply the number before them.

"约" / "左右" give a band of ±:data:`ABOUT_BAND` around the value (areas only).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from matcher.records import AVAILABLE_NOW, DEAL_BOTH, DEAL_LEASE, DEAL_SALE, FIRE_CLASSES, RATINGS
from scoring.reference import gazetteer, industries

__all__ = [
    "ABOUT_BAND",
    "MU_M2",
    "QUANTITIES",
    "AreaRange",
    "CellError",
    "Price",
    "is_blank",
    "parse_area",
    "parse_bool",
    "parse_codes",
    "parse_coordinate_pair",
    "parse_date",
    "parse_deal",
    "parse_fire_class",
    "parse_industry",
    "parse_price",
    "parse_quantity",
    "parse_rating",
    "parse_town",
    "parse_towns",
]

MU_M2 = 10000.0 / 15.0
"""Square metres in one 亩 (mu)."""

ABOUT_BAND = 0.10
"""Relative half-width of the range an approximate area ("约1000平") stands for."""


class CellError(ValueError):
    """One cell could not be understood; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(en)


_BLANKS = frozenset({"", "-", "--", "—", "/", "n/a", "na", "null", "none", "nan", "#n/a", "无数据", "空"})


def is_blank(raw: Any) -> bool:
    """True for an empty cell: None, NaN, "" or a placeholder such as "-" or "N/A"."""
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, str):
        return unicodedata.normalize("NFKC", raw).strip().lower() in _BLANKS
    return False


# ---------------------------------------------------------------------------
# text preparation

_CN_DIGIT = "零〇一二两三四五六七八九十百"
_CN_RUN = re.compile(f"[{_CN_DIGIT}千万点]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_RANGE = re.compile(r"(?<=[\d平米方亩㎡a-z])\s*(?:-|‐|‑|‒|–|—|―|~|〜|至|到)\s*(?=\d)")


def _cn_number(m: re.Match[str]) -> str:
    run = m.group(0)
    if not any(c in _CN_DIGIT for c in run):
        return run
    import cn2an  # deferred: keeps the package import fast

    try:
        value = cn2an.cn2an(run, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return run
    return _fmt(float(value))


def _fmt(v: float) -> str:
    return str(int(v)) if v.is_integer() else repr(v)


def prep(raw: Any, pre: tuple[tuple[re.Pattern[str], str], ...] = (), ranges: bool = True) -> str:
    """NFKC, lower case, thousands separators dropped, Chinese numerals to Arabic.

    ``pre`` substitutions run before the numeral conversion; ``m2`` becomes ``㎡``
    so that its digit is not read as a number; with ``ranges`` every range dash
    between two numbers becomes ``~``.

    >>> prep("２,０００平方米")
    '2000平方米'
    >>> prep("二点五亩")
    '2.5亩'
    >>> prep("3000～4000平")
    '3000~4000平'
    """
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    s = s.replace("m²", "㎡").replace("m2", "㎡")
    for pattern, repl in pre:
        s = pattern.sub(repl, s)
    s = _THOUSANDS.sub("", s)
    s = _CN_RUN.sub(_cn_number, s)
    return _RANGE.sub("~", s) if ranges else s


def _not_understood(raw: Any, what_zh: str, what_en: str) -> CellError:
    return CellError(f"无法识别的{what_zh}：{raw}", f"cannot read {what_en} from {str(raw)!r}")


# ---------------------------------------------------------------------------
# quantities with units

_ABOUT = ("大约", "大概", "差不多", "左右", "上下", "约")
_AT_LEAST = ("及以上", "以上", "至少", "不少于", "不低于", "不小于", ">=", "≥", ">", "起")
_AT_MOST = ("不超过", "不大于", "不高于", "以下", "以内", "最多", "至多", "<=", "≤", "<")
_FILLER = ("左右", "需要", "要求", "需", "要", "带", "有", "含", "最好", "可", "的")
_SEPARATORS = set(" ~/,.;:()、|+，。·*")
_MULTIPLIERS = {"千": 1e3, "k": 1e3, "万": 1e4, "w": 1e4}


@dataclass(frozen=True)
class Quantity:
    """How to read one kind of quantity.

    Attributes
    ----------
    what_zh, what_en : str
        Name of the quantity for messages.
    units : mapping of str to float
        Unit token → factor to the canonical unit; ``""`` for a bare number.
    words : tuple of str
        Label words that may stand around the number ("层高", "净高").
    counts : tuple of str
        Units that mark a count to ignore ("两台5吨行车": 台).
    pick : {"one", "lo", "hi", "max"}
        What several numbers become: exactly one allowed, the lowest, the
        highest, or the highest of a list.
    bounds : (float, float)
        Plausible range in canonical units; outside it is an error.
    """

    what_zh: str
    what_en: str
    units: Mapping[str, float]
    words: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    pick: str = "one"
    bounds: tuple[float, float] = (0.0, math.inf)
    replace: tuple[tuple[str, str], ...] = ()
    zero_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Scan:
    values: tuple[float, ...]
    about: bool
    at_least: bool
    at_most: bool
    ranged: bool


def _scan(s: str, units: Mapping[str, float], words: tuple[str, ...], counts: tuple[str, ...],
          raw: Any, q_zh: str, q_en: str) -> _Scan:
    unit_alt = "|".join(re.escape(u) for u in sorted((u for u in (*units, *counts) if u), key=len, reverse=True))
    unit_re = f"(?:{unit_alt})" if unit_alt else "(?!)"
    pattern = re.compile(
        rf"(?<![\d.])(-?\d+(?:\.\d+)?)\s*(?:({unit_re})|(千|万|k|w)\s*({unit_re})?)?"
    )
    found: list[tuple[float, str | None]] = []
    rest = []
    last = 0
    for m in pattern.finditer(s):
        rest.append(s[last : m.start()])
        last = m.end()
        value = float(m.group(1))
        unit = m.group(2)
        if m.group(3):
            value *= _MULTIPLIERS[m.group(3)]
            unit = m.group(4)
        found.append((value, unit))
    rest.append(s[last:])
    residue = " ".join(rest)
    flags = {}
    for name, group in (("about", _ABOUT), ("at_least", _AT_LEAST), ("at_most", _AT_MOST)):
        hit = False
        for w in group:
            if w in residue:
                residue = residue.replace(w, " ")
                hit = True
        flags[name] = hit
    for w in sorted((*words, *_FILLER, *(u for u in units if u)), key=len, reverse=True):
        residue = residue.replace(w, " ")
    if any(c not in _SEPARATORS for c in residue):
        raise _not_understood(raw, q_zh, q_en)
    kept = [(v, u) for v, u in found if u not in counts]
    if not kept:
        raise CellError(f"未找到{q_zh}数值：{raw}", f"no {q_en} value in {str(raw)!r}")
    # a bare number takes the unit of the next number that has one ("500~800平")
    values = []
    next_unit: str | None = None
    for v, u in reversed(kept):
        unit = u if u is not None else next_unit
        if u is not None:
            next_unit = u
        key = unit if unit is not None else ""
        if key not in units:
            raise CellError(f"{q_zh}缺少单位：{raw}", f"{q_en} has no unit: {str(raw)!r}")
        values.append(v * units[key])
    values.reverse()
    return _Scan(tuple(values), flags["about"], flags["at_least"], flags["at_most"], "~" in s)


def _check_bounds(v: float, q: Quantity, raw: Any) -> float:
    lo, hi = q.bounds
    if v < 0 and lo >= 0:
        raise CellError(f"{q.what_zh}不能为负：{raw}", f"{q.what_en} must be >= 0, got {str(raw)!r}")
    if not (lo <= v <= hi):
        raise CellError(
            f"{q.what_zh}超出合理范围 [{_fmt(lo)}, {_fmt(hi)}]：{raw}",
            f"{q.what_en} {str(raw)!r} is outside the plausible range [{_fmt(lo)}, {_fmt(hi)}]",
        )
    return v


def parse_quantity(raw: Any, q: Quantity) -> float:
    """Read one quantity in the canonical unit of ``q``.

    >>> parse_quantity("层高8米", QUANTITIES["height"])
    8.0
    >>> parse_quantity("2T", QUANTITIES["load"])
    2000.0
    >>> parse_quantity("带两台5吨行车", QUANTITIES["crane"])
    5.0
    """
    if isinstance(raw, bool):
        raise _not_understood(raw, q.what_zh, q.what_en)
    if isinstance(raw, (int, float)):
        v = float(raw) * q.units.get("", math.nan)
        if math.isnan(v):
            raise CellError(f"{q.what_zh}缺少单位：{raw}", f"{q.what_en} has no unit: {raw!r}")
        return _check_bounds(v, q, raw)
    s = prep(raw)
    if s in q.zero_words:
        return 0.0
    for a, b in q.replace:
        s = s.replace(a, b)
    scan = _scan(s, q.units, q.words, q.counts, raw, q.what_zh, q.what_en)
    values = scan.values
    if len(values) == 1:
        v = values[0]
    elif (len(values) > 2 and q.pick != "max") or (not scan.ranged and q.pick != "max"):
        raise CellError(f"{q.what_zh}应为一个数值或一个范围：{raw}",
                        f"{q.what_en} must be one value or one range, got {str(raw)!r}")
    elif q.pick == "lo":
        v = min(values)
    elif q.pick in ("hi", "max"):
        v = max(values)
    else:
        raise CellError(f"{q.what_zh}应为单个数值：{raw}", f"{q.what_en} must be one value, got {str(raw)!r}")
    return _check_bounds(v, q, raw)


_PER_M2 = {"kg/㎡": 1.0, "kg/平方米": 1.0, "kg/平": 1.0}
QUANTITIES: dict[str, Quantity] = {
    "height": Quantity("层高", "clear height", {"": 1.0, "米": 1.0, "m": 1.0, "厘米": 0.01, "cm": 0.01},
                       words=("层高", "净高", "檐高", "高度", "高"), pick="lo", bounds=(1.0, 60.0)),
    "load": Quantity("承重", "floor load",
                     {"": 1.0, "吨/㎡": 1000.0, "吨/平方米": 1000.0, "吨/平": 1000.0, "t/㎡": 1000.0,
                      "吨": 1000.0, "t": 1000.0, "公斤": 1.0, "千克": 1.0, "kg": 1.0, **_PER_M2},
                     words=("承重", "地面", "楼面", "每平方米", "每平方", "每平", "/㎡", "/平方米", "/平"),
                     pick="lo", bounds=(50.0, 50000.0)),
    "power": Quantity("配电", "power", {"": 1.0, "kva": 1.0, "千伏安": 1.0, "kv·a": 1.0, "kv.a": 1.0},
                      words=("配电", "变压器", "用电", "容量", "专变"), pick="lo", bounds=(1.0, 1e6)),
    "crane": Quantity("行车", "crane", {"": 1.0, "吨": 1.0, "t": 1.0},
                      words=("行车", "航车", "吊车", "桥吊", "起重机"), counts=("台", "部", "个"),
                      pick="max", bounds=(0.0, 1000.0),
                      zero_words=("无", "没有", "否", "不需要", "不要", "无行车", "不需", "n", "no")),
    "distance": Quantity("距离", "distance", {"": 1.0, "公里": 1.0, "km": 1.0, "千米": 1.0, "里": 0.5,
                                              "米": 0.001, "m": 0.001},
                         words=("距离", "范围", "半径", "内"), pick="hi", bounds=(0.0, 1000.0)),
    "months": Quantity("期限", "term", {"": 1.0, "个月": 1.0, "月": 1.0, "年": 12.0},
                       words=("租期", "最短", "起租", "期限"), pick="lo", bounds=(0.0, 1200.0),
                       replace=(("半年", "6月"),)),
    "tax": Quantity("亩均税收", "tax per mu", {"": 1.0, "万元/亩": 1.0, "万/亩": 1.0, "元/亩": 1e-4},
                    words=("亩均税收", "税收", "万元", "每亩", "/亩"), pick="lo", bounds=(0.0, 10000.0)),
    "floor": Quantity("楼层", "floor", {"": 1.0, "楼": 1.0, "层": 1.0, "f": 1.0, "l": 1.0},
                      words=("第", "楼层"), pick="lo", bounds=(-5.0, 200.0),
                      replace=(("底楼", "1楼"), ("首层", "1层"), ("单层", "1层"), ("地面", "1层"))),
    "unit_area": Quantity("最小分割面积", "minimum unit area",
                          {"": 1.0, "㎡": 1.0, "平方米": 1.0, "平米": 1.0, "平方": 1.0, "平": 1.0, "方": 1.0,
                           "亩": MU_M2}, words=("起租", "起售", "起", "可分割", "分割", "最小"),
                          pick="lo", bounds=(1.0, 1e7)),
}

QUANTITIES["area_bound"] = Quantity(
    "面积", "area bound", QUANTITIES["unit_area"].units, words=("最小", "最大", "面积"), bounds=(0.0, 1e7))

_AREA_UNITS = {"": 1.0, "㎡": 1.0, "平方米": 1.0, "平米": 1.0, "平方": 1.0, "平": 1.0, "方": 1.0, "亩": MU_M2}
_AREA_BOUNDS = (1.0, 1e7)


class AreaRange(NamedTuple):
    """An area as written, in ㎡.

    ``lo == hi == value`` for a single value; ``hi = inf`` for "800平以上"; ``lo = 0``
    for "不超过1000平"; "约1000平" gives ``value × (1 ∓ ABOUT_BAND)`` with
    ``about = True``. ``value`` is the one number written (NaN for a range).
    """

    lo: float
    hi: float
    value: float
    about: bool


def parse_area(raw: Any) -> AreaRange:
    """Read an area or an area range, in ㎡.

    >>> parse_area("约2千平")
    AreaRange(lo=1800.0, hi=2200.0, value=2000.0, about=True)
    >>> parse_area("3亩").lo
    2000.0
    >>> parse_area("500到800平")[:2]
    (500.0, 800.0)
    """
    if isinstance(raw, bool):
        raise _not_understood(raw, "面积", "area")
    if isinstance(raw, (int, float)):
        v = float(raw)
        _check_area(v, raw)
        return AreaRange(v, v, v, False)
    s = prep(raw)
    scan = _scan(s, _AREA_UNITS, ("面积", "建筑面积", "占地", "需求", "左右", "需要", "共", "合计"),
                 (), raw, "面积", "area")
    for v in scan.values:
        _check_area(v, raw)
    if len(scan.values) == 2 and scan.ranged:
        lo, hi = sorted(scan.values)
        return AreaRange(lo, hi, math.nan, False)
    if len(scan.values) != 1:
        raise CellError(f"面积应为一个数值或一个范围：{raw}", f"area must be one value or one range, got {str(raw)!r}")
    v = scan.values[0]
    if scan.at_least:
        return AreaRange(v, math.inf, v, False)
    if scan.at_most:
        return AreaRange(0.0, v, v, False)
    if scan.about:
        return AreaRange(round(v * (1 - ABOUT_BAND), 6), round(v * (1 + ABOUT_BAND), 6), v, True)
    return AreaRange(v, v, v, False)


def _check_area(v: float, raw: Any) -> None:
    _lo, hi = _AREA_BOUNDS
    if v <= 0:
        raise CellError(f"面积必须大于0：{raw}", f"area must be > 0, got {str(raw)!r}")
    if v > hi:
        raise CellError(f"面积超出合理范围：{raw}", f"area {str(raw)!r} is implausibly large (> {_fmt(hi)} m2)")


# ---------------------------------------------------------------------------
# prices

_NEGOTIABLE = ("价格面议", "租金面议", "面议", "电话详谈", "详谈", "电议", "协商", "商议", "议价", "待定", "面谈")
_PER_AREA = re.compile(r"(/|每|单价)\s*(㎡|平方米|平米|平方|平|方)|单价|元/㎡|/㎡")
_TOTAL_WORDS = ("总价", "总租金", "总额", "月租", "年租", "一口价", "整租", "整体")
_PRICE_PRE = (
    (re.compile(r"[一每]\s*(平方米|平米|平方|平|方|㎡)"), r"/\1"),
    (re.compile(r"[一每]\s*(年|月|天|日)"), r"/\1"),
)
_PRICE_WORDS = (
    "人民币", "rmb", "元", "块", "¥", "/", "㎡", "平方米", "平米", "平方", "平", "方", "月", "天", "日", "年",
    "租金", "租", "单价", "总价", "售价", "价格", "价", "总", "预算", "含税", "不含税", "金", "每", "整", "一口",
    "出售", "出租", "额", "以内", "以下", "不超过", "最多", "最高", "约", "左右", "左", "右", "可", "整体",
)


@dataclass(frozen=True)
class Price:
    """A price as written: per ㎡ or a total, before division by an area.

    Attributes
    ----------
    lo, hi : float
        Amount in 元 per ㎡ per month (rent) or 元 per ㎡ (sale); a total in 元 per
        month (rent) or 元 (sale) when ``total``. NaN when negotiable only.
    total : bool
        The amount is for the whole space and must be divided by its area.
    negotiable : bool
        面议 was written.
    """

    lo: float
    hi: float
    total: bool
    negotiable: bool

    @property
    def is_range(self) -> bool:
        return self.lo != self.hi


def parse_price(raw: Any, kind: str) -> Price:
    """Read a rent (``kind="rent"``, → 元/㎡/月) or a sale price (``"sale"``, → 元/㎡).

    >>> parse_price("0.55元/㎡/天", "rent").lo
    16.5
    >>> parse_price("一年180一平", "rent").lo
    15.0
    >>> p = parse_price("总价800万", "sale"); (p.lo, p.total)
    (8000000.0, True)
    >>> parse_price("面议", "rent").negotiable
    True
    """
    zh, en = ("租金", "rent") if kind == "rent" else ("售价", "sale price")
    if isinstance(raw, bool):
        raise _not_understood(raw, zh, en)
    if isinstance(raw, (int, float)):
        v = float(raw)
        _check_price(v, kind, False, raw)
        return Price(v, v, False, False)
    s = prep(raw, _PRICE_PRE)
    negotiable = False
    for w in _NEGOTIABLE:
        if w in s:
            negotiable = True
            s = s.replace(w, " ")
    if negotiable and not re.search(r"\d", s):
        rest = s.replace("可", "").replace("价格", "").replace("租金", "")
        if any(c not in _SEPARATORS and not c.isspace() for c in rest):
            raise _not_understood(raw, zh, en)
        return Price(math.nan, math.nan, False, True)
    per_area = bool(_PER_AREA.search(s))
    total = not per_area and (any(w in s for w in _TOTAL_WORDS) or "万" in s)
    factor = 1.0
    if kind == "rent":
        if "天" in s or "日" in s:
            factor = 30.0
        elif "年" in s:
            factor = 1.0 / 12.0
    scan = _scan(s, {"": 1.0}, _PRICE_WORDS, (), raw, zh, en)
    if len(scan.values) > 2 or (len(scan.values) == 2 and not scan.ranged):
        raise CellError(f"{zh}应为一个数值或一个范围：{raw}", f"{en} must be one value or one range, got {str(raw)!r}")
    lo, hi = min(scan.values) * factor, max(scan.values) * factor
    for v in (lo, hi):
        _check_price(v, kind, total, raw)
    return Price(lo, hi, total, negotiable)


_PRICE_BOUNDS = {"rent": (2.0, 500.0), "sale": (100.0, 300000.0)}


def _check_price(v: float, kind: str, total: bool, raw: Any) -> None:
    zh, en = ("租金", "rent") if kind == "rent" else ("售价", "sale price")
    if v <= 0:
        raise CellError(f"{zh}必须大于0：{raw}", f"{en} must be > 0, got {str(raw)!r}")
    if total:
        return  # checked once divided by the area
    lo, hi = _PRICE_BOUNDS[kind]
    unit = "元/㎡/月" if kind == "rent" else "元/㎡"
    if not (lo <= v <= hi):
        raise CellError(
            f"{zh}超出合理范围 [{_fmt(lo)}, {_fmt(hi)}] {unit}：{raw}（请写明单位，如 元/㎡/天）",
            f"{en} {str(raw)!r} is outside the plausible range [{_fmt(lo)}, {_fmt(hi)}] {unit}; write the unit",
        )


def check_unit_price(v: float, kind: str, raw: Any) -> float:
    """Bounds check of a per-㎡ price obtained from a total."""
    _check_price(v, kind, False, raw)
    return v


# ---------------------------------------------------------------------------
# categorical values

_TRUE = frozenset({"是", "有", "可", "可以", "能", "需要", "需", "要", "y", "yes", "true", "t", "1", "√", "✓", "✔",
                   "对", "具备", "已办", "已有"})
_FALSE = frozenset({"否", "无", "不可", "不可以", "不能", "不需要", "不需", "不要", "没有", "n", "no", "false",
                    "f", "0", "×", "✗", "✘", "不具备", "未办"})


def parse_bool(raw: Any) -> bool:
    """Read yes/no: 是 否 有 无 可 不可 Y N true false 1 0 (and a few more).

    >>> parse_bool("不可"), parse_bool("Y")
    (False, True)
    """
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError(f"无法识别的是/否：{raw}", f"cannot read yes/no from {str(raw)!r}")


_LISTING_DEALS = {
    **dict.fromkeys(("出租", "租", "招租", "租赁", "lease", "rent", "for lease", "for rent"), DEAL_LEASE),
    **dict.fromkeys(("出售", "售", "转让", "卖", "sale", "sell", "for sale"), DEAL_SALE),
    **dict.fromkeys(("租售均可", "可租可售", "租售", "出租/出售", "出租或出售", "出租、出售", "lease_or_sale",
                     "lease or sale", "both"), DEAL_BOTH),
}
_DEMAND_DEALS = {
    **dict.fromkeys(("求租", "租", "租赁", "承租", "租用", "lease", "rent"), DEAL_LEASE),
    **dict.fromkeys(("求购", "购买", "买", "购", "购置", "buy", "purchase"), DEAL_SALE),
    **dict.fromkeys(("租购均可", "租购", "可租可购", "租或购", "租或买", "租买均可", "均可", "either", "both",
                     "lease_or_buy", "lease or buy"), DEAL_BOTH),
}


def parse_deal(raw: Any, side: str) -> int:
    """Read a deal type as bit flags (1 lease, 2 sale/buy, 3 both).

    ``side`` is ``"listing"`` (出租 出售 租售均可) or ``"demand"`` (求租 求购 租购均可).
    """
    table = _LISTING_DEALS if side == "listing" else _DEMAND_DEALS
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    code = table.get(s)
    if code is None:
        other = _DEMAND_DEALS if side == "listing" else _LISTING_DEALS
        hint_zh = "（这是需求方的类型）" if side == "listing" and s in other else ""
        hint_zh = "（这是房源方的类型）" if side == "demand" and s in other else hint_zh
        allowed = "出租/出售/租售均可" if side == "listing" else "求租/求购/租购均可"
        raise CellError(f"无法识别的租售类型：{raw}{hint_zh}，应为 {allowed}",
                        f"cannot read a {side} deal type from {str(raw)!r}")
    return code


_FIRE = re.compile(r"^([甲乙丙丁戊])(?:[12一二])?类?(?:厂房|仓库|火灾危险性)?$")


def parse_fire_class(raw: Any) -> int:
    """Read a 火灾危险性 class 甲…戊 (also "丙类", "丙二类") as 1…5."""
    s = unicodedata.normalize("NFKC", str(raw)).strip().replace(" ", "")
    m = _FIRE.match(s)
    if not m:
        raise CellError(f"无法识别的火灾危险性类别：{raw}（应为 甲/乙/丙/丁/戊）",
                        f"cannot read a fire hazard class (甲..戊) from {str(raw)!r}")
    return FIRE_CLASSES.index(m.group(1)) + 1


_RATING = re.compile(r"^([abcd])(?:类|级|档)?$")


def parse_rating(raw: Any) -> int:
    """Read a 亩均评价 class A…D (also "A类", "B级") as 4…1 (higher is better)."""
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    m = _RATING.match(s)
    if not m:
        raise CellError(f"无法识别的亩均评价等级：{raw}（应为 A/B/C/D）",
                        f"cannot read a rating class (A..D) from {str(raw)!r}")
    return RATINGS.index(m.group(1).upper()) + 1


_NOW_WORDS = frozenset({"现房", "即可入驻", "随时", "随时入驻", "立即", "马上", "尽快", "现在", "now", "即时",
                        "已空置", "空置"})
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*[日号]?|月)?(?:前|之前|以前|左右)?$")


def parse_date(raw: Any) -> np.datetime64:
    """Read a date; a month alone means its first day; "现房" etc. mean now.

    >>> parse_date("2026年3月")
    np.datetime64('2026-03-01')
    >>> bool(parse_date("即可入驻") == AVAILABLE_NOW)
    True
    """
    if isinstance(raw, _dt.datetime):
        return np.datetime64(raw.date(), "D")
    if isinstance(raw, _dt.date):
        return np.datetime64(raw, "D")
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    if s in _NOW_WORDS:
        return AVAILABLE_NOW
    m = _DATE.match(prep(s, ranges=False))
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        try:
            return np.datetime64(_dt.date(year, month, day), "D")
        except ValueError:
            pass
        raise CellError(f"日期不存在：{raw}", f"no such date: {str(raw)!r}")
    raise CellError(f"无法识别的日期：{raw}（如 2026-03-01、2026年3月、现房）",
                    f"cannot read a date from {str(raw)!r}")


# ---------------------------------------------------------------------------
# places and industries

_LIST_SPLIT = re.compile(r"[、,;/|\n]+|\s+")
_ANY = frozenset({"不限", "均可", "任意", "全市", "慈溪", "慈溪市", "都可以", "无要求", "any"})


def parse_town(raw: Any) -> int:
    """Gazetteer row of a town, street or zone (``周巷`` = ``周巷镇``)."""
    s = unicodedata.normalize("NFKC", str(raw)).strip()
    i = gazetteer().find(s)
    if i is None:
        raise CellError(f"未知镇街：{raw}", f"unknown town: {str(raw)!r}")
    return i


def parse_towns(raw: Any) -> tuple[int, ...]:
    """Gazetteer rows of one or several towns separated by 、 , ， / ； or |.

    "不限" / "均可" give an empty tuple (no preference). One unknown name makes the
    whole cell an error: the list is never silently shortened.
    """
    if isinstance(raw, (list, tuple)):
        parts = [unicodedata.normalize("NFKC", str(p)).strip() for p in raw]
    else:
        s = unicodedata.normalize("NFKC", str(raw)).strip()
        if s.lower() in _ANY:
            return ()
        parts = _LIST_SPLIT.split(s)
    out: list[int] = []
    unknown = []
    for p in parts:
        if not p:
            continue
        i = gazetteer().find(p)
        if i is None:
            unknown.append(p)
        elif i not in out:
            out.append(i)
    if unknown:
        raise CellError(f"未知镇街：{'、'.join(unknown)}", f"unknown town(s): {', '.join(unknown)}")
    return tuple(out)


_CODE = re.compile(r"^([a-t])?\s*(\d{2,4})(?:\s+\S.*)?$")


def parse_industry(raw: Any) -> str:
    """A GB/T 4754-2017 code as bare digits (or a section letter), from a code or exact name.

    >>> parse_industry("C2929"), parse_industry("家用厨房电器具制造"), parse_industry("38")
    ('2929', '3854', '38')
    """
    if isinstance(raw, bool):
        raise CellError(f"未知行业：{raw}", f"unknown industry: {raw!r}")
    raw_s = str(int(raw)) if isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer()) else str(raw)
    s = unicodedata.normalize("NFKC", raw_s).strip()
    table = industries()
    m = _CODE.match(s.lower())
    if m:
        letter, digits = m.group(1), m.group(2)
        section = table.section_of(digits)
        if section is None:
            raise CellError(f"GB/T 4754-2017 中没有行业代码 {digits}：{raw}", f"unknown GB/T 4754-2017 code {digits!r}")
        if letter and letter.upper() != section:
            raise CellError(f"行业代码 {digits} 属于门类 {section}，不是 {letter.upper()}：{raw}",
                            f"code {digits} is in section {section}, not {letter.upper()}")
        return digits
    if len(s) == 1 and s.upper() in "ABCDEFGHIJKLMNOPQRST":
        return s.upper()
    code = table.by_name(s)
    if code is None:
        raise CellError(f"未知行业（需 GB/T 4754-2017 代码或完整名称）：{raw}",
                        f"unknown industry (need a GB/T 4754-2017 code or exact name): {raw_s!r}")
    return code


_CODE_SPLIT = re.compile(r"[、,;/|\n]+")


def parse_codes(raw: Any) -> tuple[str, ...]:
    """Several industry codes or names; "不限" gives an empty tuple."""
    if isinstance(raw, (list, tuple)):
        parts = list(raw)
    else:
        s = unicodedata.normalize("NFKC", str(raw)).strip()
        if s.lower() in _ANY:
            return ()
        parts = [p.strip() for p in _CODE_SPLIT.split(s)]
    out: list[str] = []
    for p in parts:
        if is_blank(p):
            continue
        code = parse_industry(p)
        if code not in out:
            out.append(code)
    return tuple(out)


def check_coordinates(lat: float, lon: float, raw: Any) -> tuple[float, float]:
    """Validate a WGS-84 point; swapped or out-of-range values are errors."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise CellError(f"坐标无效：{raw}", f"invalid coordinates: {raw!r}")
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0:
            raise CellError(f"经纬度似乎填反了（纬度 {_fmt(lat)}，经度 {_fmt(lon)}）",
                            f"latitude and longitude look swapped (lat {_fmt(lat)}, lon {_fmt(lon)})")
        raise CellError(f"坐标超出范围（纬度 ±90，经度 ±180）：{raw}",
                        f"coordinates out of range (lat within ±90, lon within ±180): {raw!r}")
    if lat == 0.0 and lon == 0.0:
        raise CellError("坐标为 (0, 0)，应是缺失值", "coordinates (0, 0) look like a missing value")
    return lat, lon


_PAIR = re.compile(r"^\(?\s*(-?\d+(?:\.\d+)?)\s*[,\s]\s*(-?\d+(?:\.\d+)?)\s*\)?$")


def parse_coordinate_pair(raw: Any) -> tuple[float, float] | None:
    """``"30.17,121.12"`` → (lat, lon); None when the text is not a number pair."""
    m = _PAIR.match(unicodedata.normalize("NFKC", str(raw)).strip())
    if not m:
        return None
    return check_coordinates(float(m.group(1)), float(m.group(2)), raw)


def parse_float(raw: Any, what_zh: str, what_en: str) -> float:
    """A bare number (coordinates)."""
    if isinstance(raw, bool):
        raise _not_understood(raw, what_zh, what_en)
    try:
        return float(unicodedata.normalize("NFKC", str(raw)).strip())
    except ValueError:
        raise _not_understood(raw, what_zh, what_en) from None


Parser = Callable[[Any], Any]
