"""Turn what staff type into canonical values.

Every parser takes one raw cell (a str, number, bool, date or None) and returns the
stored value in canonical units, or raises :class:`CellError` with a reason in
Chinese and in English (the reason does not repeat the cell: the report has it in
its own column, and alike reasons then read alike). Parsers never guess: text that is not fully understood is an
error, never a partial reading. A cell that says more than its field's value (a town
list with one unknown name, "2000平（可分割）", "需要行车") gives a :class:`Reading`:
the value, the other fields the cell fills, and a note for the report.

Units (DESIGN.md)
-----------------
* area in ㎡: ㎡ m2 m² sqm 平 平米 平方 平方米 方; 1 亩 = 10000/15 ㎡ (≈ 666.67 ㎡, the
  legal definition); 1 公顷 = 10000 ㎡;
* rent in 元/㎡/月: 元/㎡/天 × 30 (the local convention), 元/㎡/年 ÷ 12, 元/㎡/季 ÷ 3;
  a rent written without a period is per month; 毛/角 are 0.1 元, "1块5" is 1.5 元;
* sale price in 元/㎡; a total ("总价800万", "800万元", "每月1万2" for a rent) is divided
  by the area at the row level (see :mod:`matcher.io.ingest`). A price with no
  per-㎡ mark and no total mark is per ㎡ when it lies in the plausible per-㎡ range
  and a total above it;
* floor load in kg/㎡ (1 吨 = 1000 kg; 1 kN/㎡ = 1000/9.80665 kg/㎡), power in kVA (kW is
  not kVA and is rejected), crane in t, heights in m, distances in km, terms in months
  (1 年 = 12 个月), 亩均税收 in 万元/亩.

Numerals
--------
Text is first NFKC-normalised (full-width digits, ～ → ~, ㎡ → m2 → ㎡), thousands
separators are dropped, and every numeral becomes Arabic (:func:`numerals`): Chinese
一二三 两 〇 零, financial 壹贰叁肆伍陆柒捌玖拾佰仟萬, units 十百千万亿 after Arabic or
Chinese digits (``1.2万``, ``3千5`` = 3500, ``1万2`` = 12000, ``一千二`` = 1200, ``2k``,
``1w5`` = 15000), ``二点五``, years written digit by digit (``二〇二六``), and 半 after a
unit (``一亩半`` = 1.5 亩). A shared multiplier in a range applies to both ends
(``1-2万`` = 10000–20000). Forms with two readings (``三四百`` "three or four
hundred", ``1万25``) are left alone, so the cell is rejected.

Conventions
-----------
* "约" / "左右" / "大概" give a band of ±:data:`ABOUT_BAND` around an area; "多" / "余"
  ("2000多平") give ``[value, value × (1 + ABOUT_BAND)]``. A listing's area is the value
  written either way. Other quantities keep the value written.
* Dates: a month alone means its first day; 初 / 上旬 the 1st, 中旬 the 11th, 中 the 15th,
  下旬 the 21st, 底 / 末 / 内 the month's (or year's) last day; 前 / 之前 the first day of
  what follows it; a year alone, a half year or a quarter its first day. Words meaning
  now or as soon as possible (现房, 即可入驻, 尽快, 随时, 越快越好, 已空置 …) mean
  :data:`~matcher.records.AVAILABLE_NOW`. Dates relative to the day the file was
  written (明年3月, 下个月, 年底 without a year) are rejected: the day they count from
  is not known. "不限" / "待定" give no date (and no warning).
* Prices: 面议 and every phrase meaning "price on request" (电议, 详谈, 可议, 协商, 面谈,
  来电咨询, 价格可谈, 待定 …) set ``negotiable``; written beside a number, the number
  is kept too.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from matcher.io.numerals import CN_CHARS as _CN_CHARS
from matcher.io.numerals import UNIT_WORDS as _UNIT_WORDS
from matcher.io.numerals import fmt as _fmt
from matcher.io.numerals import numerals
from matcher.records import (
    AVAILABLE_NOW,
    DEAL_BOTH,
    DEAL_LEASE,
    DEAL_SALE,
    FIRE_CLASSES,
    ID_MAX_CHARS,
    RATINGS,
)
from scoring.reference import COUNTY_SEPARATOR, MAX_COUNTIES, gazetteer, industries

__all__ = [
    "ABOUT_BAND",
    "MU_M2",
    "QUANTITIES",
    "AreaRange",
    "CellError",
    "Price",
    "Reading",
    "clean_text",
    "is_blank",
    "numerals",
    "parse_area",
    "parse_bool",
    "parse_codes",
    "parse_coordinate_pair",
    "parse_crane",
    "parse_date",
    "parse_deal",
    "parse_fire_class",
    "parse_id",
    "parse_industry",
    "parse_listing_area",
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

_SHOWN_CHARS = 40  # a reason naming part of a cell quotes at most this much of it


class CellError(ValueError):
    """One cell could not be understood; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(en)


@dataclass(frozen=True)
class Reading:
    """A cell that says more than its field's value.

    Attributes
    ----------
    value : object or None
        The field's value; None when the cell gives none (the text is then kept in
        the records' ``unread``, so an explanation never calls the field blank).
    also : tuple of (field, value)
        Other fields the cell fills ("2000平，最小500平" also fills ``min_unit_m2``);
        a column of their own wins over them.
    note_zh, note_en : str
        A note for the report ("" for none): what was kept and what was not.
    severity : {"warning", "info"}
        Of the note.
    """

    value: Any = None
    also: tuple[tuple[str, Any], ...] = ()
    note_zh: str = ""
    note_en: str = ""
    severity: str = "warning"


def _show(raw: Any) -> str:
    """The cell as quoted in a reason: at most :data:`_SHOWN_CHARS` characters."""
    s = str(raw)
    return s if len(s) <= _SHOWN_CHARS else s[: _SHOWN_CHARS - 1] + "…"


def _not_understood(raw: Any, what_zh: str, what_en: str) -> CellError:
    return CellError(f"无法识别的{what_zh}", f"cannot read {what_en}")


# ---------------------------------------------------------------------------
# blanks and text

_BLANKS = frozenset({"", "-", "--", "---", "—", "——", "/", "\\", "n/a", "na", "null", "none", "nan", "#n/a",
                     "无数据", "空", "空白", "未填", "暂无", "?", "？", "...", "…", "……"})
_BLANK_MAX = max(len(b) for b in _BLANKS)


def is_blank(raw: Any) -> bool:
    """True for an empty cell: None, NaN, "" or a placeholder such as "-", "N/A", "未填".

    Cheap on the common case: text longer than any placeholder is never normalised.
    """
    if raw is None:
        return True
    if isinstance(raw, str):
        s = raw.strip()
        if len(s) > _BLANK_MAX:
            return False
        s = s.lower()
        if s in _BLANKS:
            return True
        return not s.isascii() and unicodedata.normalize("NFKC", s).strip().lower() in _BLANKS
    if isinstance(raw, float):
        return raw != raw  # NaN
    return False


# tabs and line breaks inside a cell are layout: they become one space
_LAYOUT = re.compile("\r\n|[\t\n\r\x0b\x0c\x85\u2028\u2029]")
# control, invisible and direction-override characters, lone surrogates: removed
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                      "\u2066-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]")


def clean_text(s: str) -> tuple[str, int]:
    """Text with line breaks and tabs as spaces and control characters removed.

    Returns the cleaned text and how many control characters were removed (line
    breaks and tabs do not count: they are kept, as spaces).

    >>> clean_text("朝南\\n带办公楼\\x00")
    ('朝南 带办公楼', 1)
    """
    if s.isprintable():  # the common case, in C
        return s, 0
    s = _LAYOUT.sub(" ", s)
    cleaned, removed = _CONTROL.subn("", s)
    return cleaned, removed


def parse_id(raw: Any, *, numbers_as_written: bool = True) -> str:
    """A record id: the cell's text, NFKC-normalised and trimmed.

    Parameters
    ----------
    raw : str, int or float
    numbers_as_written : bool
        True for cells of CSV and XLSX files, where a number is an id as written
        (``12`` and Excel's ``12.0`` are ``"12"``). False for JSON and in-memory
        records, where only str and int ids are accepted (a float, bool, list or
        object is rejected).

    Raises
    ------
    CellError
        Empty; longer than :data:`~matcher.records.ID_MAX_CHARS`; containing ``/``,
        ``\\``, a line break or a control character; or ``.`` / ``..``.

    >>> parse_id(" CX-L001 "), parse_id(12.0)
    ('CX-L001', '12')
    """
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        kind = "true/false" if isinstance(raw, bool) else type(raw).__name__
        raise CellError(f"编号必须是文字或整数，不能是 {kind}",
                        f"an id must be text or an integer, not {kind}")
    if isinstance(raw, float):
        if not numbers_as_written:
            raise CellError("编号必须是文字或整数，不能是小数",
                            f"an id must be text or an integer, not a float: {raw!r}")
        if not math.isfinite(raw):
            raise CellError("编号为空", "id is empty")
        s = str(int(raw)) if raw.is_integer() else repr(raw)
    elif isinstance(raw, int):
        s = str(raw)
    else:
        s = unicodedata.normalize("NFKC", raw).strip()
    if not s:
        raise CellError("编号为空", "id is empty")
    if len(s) > ID_MAX_CHARS:
        raise CellError(f"编号过长（{len(s)} 个字符，上限 {ID_MAX_CHARS}）",
                        f"id is too long ({len(s)} characters, at most {ID_MAX_CHARS})")
    if "/" in s or "\\" in s:
        raise CellError("编号不能含有 / 或 \\", "an id must not contain / or \\")
    if s in (".", ".."):
        raise CellError(f"编号不能是 {s}", f"an id must not be {s!r}")
    if not s.isprintable() or _CONTROL.search(s):
        raise CellError("编号含有换行或控制字符", "id contains a line break or control character")
    return s


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_RANGE = re.compile(r"(?<=[\w㎡%)\]])\s*(?:-|‐|‑|‒|–|—|―|~|〜|至|到)\s*(?=\d)")
# "1000+平", "2000平+": a "+" after a number (and its unit), not before another number, is "or more"
_OR_MORE = re.compile(r"(?<=\d)(\s*(?:㎡|平方米|平米|平方|平|方|亩|公顷|吨|t|kg|公斤|米|m|kva|元|块|万元|万"
                      r"|个月|月|年)?)\s*\+(?!\s*\d)")
_AREA_SPELLINGS = (("m²", "㎡"), ("m^2", "㎡"), ("sq.m", "㎡"), ("sq m", "㎡"), ("sqm", "㎡"), ("m2", "㎡"))


def prep(raw: Any, pre: tuple[tuple[re.Pattern[str], str], ...] = (), ranges: bool = True) -> str:
    """NFKC, lower case, thousands separators dropped, numerals to Arabic.

    ``pre`` substitutions run before the numeral conversion; ``m2`` becomes ``㎡``
    so that its digit is not read as a number; with ``ranges`` every range dash
    between two numbers becomes ``~``.

    >>> prep("２,０００平方米")
    '2000平方米'
    >>> prep("二点五亩")
    '2.5亩'
    >>> prep("3000～4000平")
    '3000~4000平'
    >>> prep("1000+平"), prep("2000平+")
    ('1000以上平', '2000平以上')
    """
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    for a, b in _AREA_SPELLINGS:
        s = s.replace(a, b)
    for pattern, repl in pre:
        s = pattern.sub(repl, s)
    s = _THOUSANDS.sub("", s)
    s = numerals(s)
    s = _OR_MORE.sub(r"\1以上", s)
    return _RANGE.sub("~", s) if ranges else s


# ---------------------------------------------------------------------------
# quantities with units

_AT_MOST = ("不超过", "不大于", "不高于", "不多于", "以下", "以内", "之内", "最多", "至多", "最大", "最高", "<=", "≤",
            "<")
_AT_LEAST = ("及以上", "以上", "至少", "不少于", "不低于", "不小于", "最少", "最低", ">=", "≥", ">", "起")
_ABOUT = ("大约", "大概", "差不多", "将近", "接近", "左右", "上下", "约")
_MORE = ("多一点", "多", "余", "出头")
_FILLER = ("需要", "要求", "需", "要", "带", "有", "含", "最好", "可", "的", "为", "是", "在", "共", "合计", "总共")
_SEPARATORS = frozenset(" ~/,.;:()、|+，。·*-_\"'“”‘’【】[]　")


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
    pre: tuple[tuple[re.Pattern[str], str], ...] = ()


@dataclass(frozen=True)
class _Scan:
    values: tuple[float, ...]
    about: bool
    at_least: bool
    at_most: bool
    more: bool
    ranged: bool


_SCAN_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], re.Pattern[str]] = {}


def _number_pattern(units: tuple[str, ...]) -> re.Pattern[str]:
    key = (units, ())
    pat = _SCAN_CACHE.get(key)
    if pat is None:
        alt = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
        unit_re = f"(?:{alt})" if alt else "(?!)"
        pat = _SCAN_CACHE[key] = re.compile(rf"(?<![\d.])(-?\d+(?:\.\d+)?)\s*({unit_re})?")
    return pat


@functools.lru_cache(maxsize=64)
def _word_order(units: tuple[str, ...], words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Label words longer than one character, then every word, filler and unit, longest first."""
    long = tuple(sorted((w for w in words if len(w) > 1), key=len, reverse=True))
    every = tuple(sorted((*words, *_FILLER, *(u for u in units if u)), key=len, reverse=True))
    return long, every


def _scan(s: str, units: Mapping[str, float], words: tuple[str, ...], counts: tuple[str, ...],
          raw: Any, q_zh: str, q_en: str) -> _Scan:
    """Every number in ``s`` with its unit; any text left over is an error."""
    unit_names = tuple(units)
    pattern = _number_pattern(tuple(u for u in (*unit_names, *counts) if u))
    long_words, every_word = _word_order(unit_names, words)
    found: list[tuple[float, str | None]] = []
    rest = []
    last = 0
    for m in pattern.finditer(s):
        rest.append(s[last : m.start()])
        last = m.end()
        found.append((float(m.group(1)), m.group(2)))
    rest.append(s[last:])
    residue = " ".join(rest)
    # label words first where they hold a flag word ("起租" is not "起"), then the flags
    for w in long_words:
        if w in residue:
            residue = residue.replace(w, " ")
    flags = {}
    for name, group in (("at_most", _AT_MOST), ("at_least", _AT_LEAST), ("about", _ABOUT), ("more", _MORE)):
        hit = False
        for w in group:
            if w in residue:
                residue = residue.replace(w, " ")
                hit = True
        flags[name] = hit
    for w in every_word:
        if w in residue:
            residue = residue.replace(w, " ")
    if any(c not in _SEPARATORS for c in residue):
        raise _not_understood(raw, q_zh, q_en)
    kept = [(v, u) for v, u in found if u not in counts]
    # a bare number takes the unit of the next number that has one ("500~800平")
    values = []
    next_unit: str | None = None
    for v, u in reversed(kept):
        unit = u if u is not None else next_unit
        if u is not None:
            next_unit = u
        key = unit if unit is not None else ""
        if key not in units:
            raise CellError(f"{q_zh}缺少单位", f"{q_en} has no unit")
        values.append(v * units[key])
    values.reverse()
    return _Scan(tuple(values), flags["about"], flags["at_least"], flags["at_most"], flags["more"], "~" in s)


def _no_value(raw: Any, q_zh: str, q_en: str) -> CellError:
    return CellError(f"未找到{q_zh}数值", f"no {q_en} value")


def _check_bounds(v: float, q: Quantity, raw: Any) -> float:
    lo, hi = q.bounds
    if v < 0 and lo >= 0:
        raise CellError(f"{q.what_zh}不能为负", f"{q.what_en} must be >= 0")
    if not (lo <= v <= hi):
        raise CellError(
            f"{q.what_zh}超出合理范围 [{_fmt(lo)}, {_fmt(hi)}]",
            f"{q.what_en} is outside the plausible range [{_fmt(lo)}, {_fmt(hi)}]",
        )
    return v


_PLAIN = re.compile(r"\s*\d+(?:\.\d+)?\s*")


def _plain_number(raw: Any) -> float | None:
    """A bare non-negative number (int, float or its plain text), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str) and _PLAIN.fullmatch(raw):
        return float(raw)
    return None


def _chars(*parts: Any) -> frozenset[str]:
    """Every character of ``parts`` (strings, patterns, mappings and sequences of them)."""
    out: set[str] = set()
    for p in parts:
        if isinstance(p, str):
            out.update(p)
        elif isinstance(p, re.Pattern):  # its literal characters, not its syntax
            out.update(re.sub(r"\\[a-zA-Z]|[()\[\]{}?*+|^$\\]", "", p.pattern))
        elif isinstance(p, Mapping):
            out |= _chars(*p.keys())
        else:
            out |= _chars(*p)
    return frozenset(out)


# the characters any number, range or bound may be written with, once NFKC'd and lower-cased
_COMMON_CHARS = _chars("0123456789.", _SEPARATORS, "‐‑‒–—―~〜至到半个点两", _CN_CHARS, "kw%", _AT_MOST, _AT_LEAST,
                       _ABOUT, _MORE, _FILLER, _AREA_SPELLINGS, (w for w, _ in _UNIT_WORDS))


def _only(s: str, allowed: frozenset[str], raw: Any, what_zh: str, what_en: str) -> None:
    """Reject at once text holding a character no reading of it could use.

    ``allowed`` holds every character of every word, unit, note and pattern the parser
    consumes; anything else would be left over and rejected after the full reading, so
    junk (the bulk of a corrupted file) costs a set operation instead of a parse.
    """
    if not allowed.issuperset(s):
        raise _not_understood(raw, what_zh, what_en)


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
    plain = _plain_number(raw)
    if plain is not None:
        v = plain * q.units.get("", math.nan)
        if math.isnan(v):
            raise CellError(f"{q.what_zh}缺少单位", f"{q.what_en} has no unit")
        return _check_bounds(v, q, raw)
    if isinstance(raw, (int, float)):  # NaN, inf
        raise _not_understood(raw, q.what_zh, q.what_en)
    _only(unicodedata.normalize("NFKC", str(raw)).lower(), _quantity_chars(q), raw, q.what_zh, q.what_en)
    s = prep(raw, q.pre)
    if s in q.zero_words:
        return 0.0
    for a, b in q.replace:
        s = s.replace(a, b)
    scan = _scan(s, q.units, q.words, q.counts, raw, q.what_zh, q.what_en)
    return _pick(scan, q, raw)


_QUANTITY_CHARS: dict[int, frozenset[str]] = {}


def _quantity_chars(q: Quantity) -> frozenset[str]:
    chars = _QUANTITY_CHARS.get(id(q))
    if chars is None:
        chars = _QUANTITY_CHARS[id(q)] = _COMMON_CHARS | _chars(q.units, q.words, q.counts, q.zero_words,
                                                                (a for a, _ in q.replace), (p for p, _ in q.pre))
    return chars


def _pick(scan: _Scan, q: Quantity, raw: Any) -> float:
    values = scan.values
    if not values:
        raise _no_value(raw, q.what_zh, q.what_en)
    if len(values) == 1:
        v = values[0]
    elif (len(values) > 2 and q.pick != "max") or (not scan.ranged and q.pick != "max"):
        raise CellError(f"{q.what_zh}应为一个数值或一个范围",
                        f"{q.what_en} must be one value or one range")
    elif q.pick == "lo":
        v = min(values)
    elif q.pick in ("hi", "max"):
        v = max(values)
    else:
        raise CellError(f"{q.what_zh}应为单个数值", f"{q.what_en} must be one value")
    return _check_bounds(v, q, raw)


_AREA_UNITS = {"": 1.0, "㎡": 1.0, "平方米": 1.0, "平米": 1.0, "平方": 1.0, "平": 1.0, "方": 1.0, "亩": MU_M2,
               "公顷": 10_000.0}
_PER_AREA_WORDS = ("每平方米", "每平米", "每平方", "每平", "每㎡", "/平方米", "/平米", "/平方", "/平", "/㎡")
_KN = 1000.0 / 9.80665  # kg per kN under standard gravity
_CRANE_WORDS = ("桥式起重机", "电动葫芦", "龙门吊", "起重机", "行车", "航车", "天车", "吊车", "桥吊", "门吊", "吊机",
                "行吊")
_CRANE_FILLERS = ("配备", "配置", "装有", "安装", "已装", "现有", "自带", "双梁", "单梁", "各", "配", "带", "有", "含",
                  "需要", "需", "要", "吨位", "一台", "台")
_CRANE_ZERO = ("无", "没有", "否", "不需要", "不要", "不需", "无需", "不用", "免", "n", "no", "none", "×", "x")
_CRANE_YES = ("有", "是", "需要", "需", "要", "带", "配", "y", "yes", "√", "✓", "✔")

QUANTITIES: dict[str, Quantity] = {
    "height": Quantity("层高", "clear height", {"": 1.0, "米": 1.0, "m": 1.0, "厘米": 0.01, "cm": 0.01},
                       words=("层高", "净高", "檐高", "檐口", "下弦", "梁下", "净空", "高度", "高"), pick="lo",
                       bounds=(1.0, 60.0)),
    "load": Quantity("承重", "floor load",
                     {"": 1.0, "吨": 1000.0, "t": 1000.0, "公斤": 1.0, "千克": 1.0, "kg": 1.0, "kn": _KN},
                     words=("承重", "荷载", "地面", "楼面", "地坪", *_PER_AREA_WORDS), pick="lo",
                     bounds=(50.0, 50000.0),
                     # "一平方1吨", "1吨一平方": one ㎡ is "per ㎡"
                     pre=((re.compile(r"^(?:一|1)\s*个?\s*(?=平方米|平方|平米|平|㎡)"), "每"),
                          (re.compile(r"(吨|公斤|千克|kg|t)\s*(?:一|1)\s*个?\s*(?=平方米|平方|平米|平|㎡)"), r"\1/"))),
    "power": Quantity("配电", "power", {"": 1.0, "kva": 1.0, "kv·a": 1.0, "kv.a": 1.0},
                      words=("配电", "变压器", "用电", "容量", "专变", "电力"), pick="lo", bounds=(1.0, 1e6)),
    "crane": Quantity("行车", "crane", {"": 1.0, "吨": 1.0, "t": 1.0},
                      words=(*_CRANE_WORDS, *_CRANE_FILLERS), counts=("台", "部", "个", "套"),
                      pick="max", bounds=(0.0, 1000.0), zero_words=_CRANE_ZERO),
    "distance": Quantity("距离", "distance", {"": 1.0, "公里": 1.0, "km": 1.0, "里": 0.5, "米": 0.001, "m": 0.001},
                         words=("距离", "范围", "半径", "内", "车程"), pick="hi", bounds=(0.0, 1000.0)),
    "months": Quantity("期限", "term", {"": 1.0, "个月": 1.0, "月": 1.0, "年": 12.0},
                       words=("租期", "最短", "起租", "期限", "签"), pick="lo", bounds=(0.0, 1200.0),
                       replace=(("半年", "6月"),)),
    "tax": Quantity("亩均税收", "tax per mu", {"": 1.0, "万元/亩": 1.0, "万/亩": 1.0, "元/亩": 1e-4, "元": 1e-4},
                    words=("亩均税收", "亩均", "税收", "万元", "每亩", "/亩"), pick="lo", bounds=(0.0, 10000.0),
                    # 万 is 万元 here ("3万/亩", "每亩3万"); "一亩3万" is per mu
                    pre=((re.compile(r"万(?!元)"), "万元"), (re.compile(r"^(?:一|1)\s*个?\s*亩"), "每亩"))),
    "floor": Quantity("楼层", "floor", {"": 1.0, "楼": 1.0, "层": 1.0, "f": 1.0, "l": 1.0},
                      words=("第", "楼层"), pick="lo", bounds=(-5.0, 200.0),
                      replace=(("底楼", "1楼"), ("底层", "1层"), ("首层", "1层"), ("单层", "1层"), ("地面", "1层"),
                               ("平房", "1层"))),
    "unit_area": Quantity("最小分割面积", "minimum unit area", _AREA_UNITS,
                          words=("起租", "起售", "起分", "起", "可分割", "分割", "最小", "单元", "面积"),
                          pick="lo", bounds=(1.0, 1e7)),
}

QUANTITIES["area_bound"] = Quantity(
    "面积", "area bound", _AREA_UNITS, words=("最小", "最大", "面积"), bounds=(0.0, 1e7))


def parse_crane(raw: Any, flag: str = "crane_any") -> float | Reading:
    """A crane: its tonnage (t, 0 = none), or a :class:`Reading` with no value and
    ``flag`` set when a crane is written without a tonnage ("带行车", "需要行车", "有").

    >>> parse_crane("10吨行车两台"), parse_crane("无")
    (10.0, 0.0)
    >>> parse_crane("需要行车").also
    (('crane_any', True),)
    """
    q = QUANTITIES["crane"]
    if isinstance(raw, bool):
        return _crane_any(flag) if raw else 0.0
    if isinstance(raw, (int, float)) or not isinstance(raw, str):
        return parse_quantity(raw, q)
    _only(unicodedata.normalize("NFKC", raw).lower(), _CRANE_CHARS, raw, q.what_zh, q.what_en)
    s = prep(raw)
    if s in _CRANE_YES:
        return _crane_any(flag)
    if s in _CRANE_ZERO:
        return 0.0
    if _CRANE_ZERO_RE.fullmatch(s):
        return 0.0
    scan = _scan(s, q.units, q.words, q.counts, raw, q.what_zh, q.what_en)
    if not scan.values:
        if any(w in s for w in _CRANE_WORDS):
            return _crane_any(flag)
        raise _no_value(raw, q.what_zh, q.what_en)
    return _pick(scan, q, raw)


_CRANE_ZERO_RE = re.compile(r"(无|没有|不需要?|不要|无需|不用)(行车|吊车|天车|航车|起重机)?")
_CRANE_CHARS = _quantity_chars(QUANTITIES["crane"]) | _chars(_CRANE_YES, _CRANE_ZERO, _CRANE_ZERO_RE)


def _crane_any(flag: str) -> Reading:
    return Reading(None, ((flag, True),))


class AreaRange(NamedTuple):
    """An area as written, in ㎡.

    ``lo == hi == value`` for a single value; ``hi = inf`` for "800平以上"; ``lo = 0``
    for "不超过1000平"; "约1000平" gives ``value × (1 ∓ ABOUT_BAND)`` and "1000多平"
    ``[value, value × (1 + ABOUT_BAND)]``, both with ``about = True``. ``value`` is the
    one number written (NaN for a range).
    """

    lo: float
    hi: float
    value: float
    about: bool


_AREA_WORDS = ("面积", "建筑面积", "使用面积", "占地", "需求", "需要", "大小", "总", "单层")
# what an area includes, written beside it: not a number, nothing to keep
_AREA_NOTES = re.compile(r"(?:不)?含(?:办公楼?|宿舍楼?|附房|公摊|配套用房|仓库|辅房|生活区)")


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
    plain = _plain_number(raw)
    if plain is not None:
        _check_area(plain, raw)
        return AreaRange(plain, plain, plain, False)
    if isinstance(raw, (int, float)):
        raise _not_understood(raw, "面积", "area")
    _only(unicodedata.normalize("NFKC", str(raw)).lower(), _AREA_CHARS, raw, "面积", "area")
    s = prep(raw, ((_AREA_NOTES, " "),))
    scan = _scan(s, _AREA_UNITS, _AREA_WORDS, (), raw, "面积", "area")
    if not scan.values:
        raise _no_value(raw, "面积", "area")
    for v in scan.values:
        _check_area(v, raw)
    if len(scan.values) == 2 and scan.ranged and not (scan.at_least or scan.at_most):
        lo, hi = sorted(scan.values)
        return AreaRange(lo, hi, math.nan, False)
    if len(scan.values) != 1 or (scan.at_least and scan.at_most):
        raise CellError("面积应为一个数值或一个范围",
                        "area must be one value or one range")
    v = scan.values[0]
    if scan.at_least:
        return AreaRange(v, math.inf, v, False)
    if scan.at_most:
        return AreaRange(0.0, v, v, False)
    if scan.more:
        return AreaRange(v, round(v * (1 + ABOUT_BAND), 6), v, True)
    if scan.about:
        return AreaRange(round(v * (1 - ABOUT_BAND), 6), round(v * (1 + ABOUT_BAND), 6), v, True)
    return AreaRange(v, v, v, False)


_AREA_CHARS = _COMMON_CHARS | _chars(_AREA_UNITS, _AREA_WORDS, _AREA_NOTES)


def _check_area(v: float, raw: Any) -> None:
    if not v > 0:
        raise CellError("面积必须大于0", "area must be > 0")
    if v > 1e7:
        raise CellError("面积超出合理范围", "area is implausibly large (> 1e7 m2)")


# divisibility written beside a listing's area
_INDIVISIBLE = re.compile(r"不可分割|不能分割|不可拆分|不分割|不拆分|不分租|整体(出租|出售|租售|转让)?|整租|整售|整栋")
_DIVISIBLE = re.compile(r"(可以?|能)?(分割|拆分|分租|分隔|分开)(出租|出售|租售)?|可分")
# divisible into parts, no size given: "可分割成2块", "可分两层", "可分层出租", "分割成3间"
_PARTS = re.compile(r"(?:可以?|能)?(?:分割|拆分|分隔|隔|分)(?:成|为)?\s*(?:\d+\s*)?"
                    r"(?:个|块|间|份|部分|单元|套|栋|幢|层|区)(?:出租|出售|租售)?")
_MIN_UNIT = re.compile(
    r"(?:最小(?:可?分割|单元|分割单元)?(?:面积)?(?:为|是)?|(?:可?分割|拆分)(?:至|到|成)(?:最小)?)\s*(?::)?\s*"
    r"(\d+(?:\.\d+)?)\s*(㎡|平方米|平米|平方|平|方|亩)?(?:起)?"
    r"|(\d+(?:\.\d+)?)\s*(㎡|平方米|平米|平方|平|方|亩)?\s*起(?:租|售|分)?")


def parse_listing_area(raw: Any) -> float | Reading:
    """A listing's area: one value, in ㎡ ("约2千平" is the 2000 written).

    Divisibility written beside it is kept: "2000平（可分割，最小500平）" also fills
    ``min_unit_m2``; "2000平（可分割）", "2000平（可分割成2块）", "2000平/可分层" set
    ``divisible_any`` with a note (no unit known); "整体出租" adds nothing (blank means
    indivisible).

    >>> parse_listing_area("约2千平")
    2000.0
    >>> r = parse_listing_area("2000平，可分割，最小500平"); (r.value, r.also)
    (2000.0, (('min_unit_m2', 500.0),))
    """
    if not isinstance(raw, str):
        return _one_area(raw, raw)
    _only(unicodedata.normalize("NFKC", raw).lower(), _LISTING_AREA_CHARS, raw, "面积", "area")
    s = prep(raw, ranges=False)
    whole = _INDIVISIBLE.search(s) is not None
    s = _INDIVISIBLE.sub(" ", s)
    parts = _PARTS.search(s) is not None
    s = _PARTS.sub(" ", s)
    unit: float | None = None
    m = _MIN_UNIT.search(s)
    if m and not whole:
        value, word = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        unit = float(value) * _AREA_UNITS.get(word or "", 1.0)
        s = s[: m.start()] + " " + s[m.end():]
    divisible = _DIVISIBLE.search(s) is not None or unit is not None or parts
    s = _DIVISIBLE.sub(" ", s)
    if whole and divisible:
        raise CellError("面积同时写了可分割与整体出租",
                        "the area says both divisible and whole")
    area = _one_area(s, raw)
    if unit is not None:
        if not 0 < unit <= area:
            raise CellError(f"最小分割面积 {_fmt(unit)}㎡ 不在 (0, {_fmt(area)}] 内",
                            f"smallest unit {_fmt(unit)} m2 is not within (0, {_fmt(area)}]")
        return Reading(area, (("min_unit_m2", unit),))
    if divisible:
        return Reading(area, (("divisible_any", True),),
                       "注明可分割，但没有最小分割面积：按整体计算（可填写“最小分割面积”列）",
                       "marked divisible without a smallest unit: matched as a whole (fill min_unit_m2)", "info")
    return area


_LISTING_AREA_CHARS = _AREA_CHARS | _chars(_INDIVISIBLE, _DIVISIBLE, _MIN_UNIT, _PARTS)


def _one_area(s: Any, raw: Any) -> float:
    area = parse_area(s)
    if area.lo == area.hi or area.about:
        return area.value  # "约2千平": a listing's area is the value written
    raise CellError("房源面积应为一个数值，不能是范围",
                    "a listing's area must be one value, not a range")


# ---------------------------------------------------------------------------
# prices

# what "price on request" is made of: a cell of these (and no number) is negotiable
_NEGOTIABLE_CORE = ("面议", "议价", "可议", "另议", "再议", "详议", "商议", "协商", "商谈", "洽谈", "面谈", "详谈",
                    "再谈", "可谈", "好谈", "电议", "电谈", "电联", "来电", "致电", "咨询", "联系", "待定", "未定",
                    "另定", "再定", "暂定", "私聊", "私信", "商量", "协议价", "随行就市", "市场价", "详询", "议")
_NEGOTIABLE_FILL = ("价格", "价钱", "租金", "售价", "单价", "总价", "价", "具体", "可以", "可", "请", "欢迎", "电话",
                    "当面", "见面", "面", "双方", "一下", "为准", "好", "再", "另", "详", "为", "或", "具体", "事宜",
                    "本人", "业主", "房东", "直接", "随时", "有", "的", "都", "均", "先", "后", "定", "谈", "商",
                    "量", "洽", "私", "聊", "电", "话", "来", "联", "系", "咨", "询", "详情", "情", "请问", "问")
_NEGOTIABLE_PHRASE = re.compile(
    "(?:价格|价钱|租金|售价|具体|可以|可|欢迎|请)?(?:" + "|".join(sorted(_NEGOTIABLE_CORE, key=len, reverse=True))
    + ")(?:为准|一下|事宜)?")
_PRICE_NOTES = re.compile(
    r"押[一二三四五六1-6]付[一二三四五六十1-9]+|(?:半年|年|季|月)付|(?:不)?含(?:税|物业费?|水电费?|管理费|增值税)|"
    r"(?:物业费?|水电费?|管理费|税费?)另(?:计|算|付)?|可开(?:具)?(?:专用)?(?:发)?票|(?:需|要)?开票|可优惠|优惠|"
    r"价格实惠|仅供参考|参考价?|起步价|不含")
_PER_AREA = re.compile(r"(/|每|单价)\s*(㎡|平方米|平米|平方|平|方)|单价")
_TOTAL_WORDS = ("总价", "总租金", "总额", "月租", "年租", "一口价", "整租", "整体", "整栋", "全部", "合计", "共计")
_PRICE_PRE = (
    (re.compile(r"一口价"), "总价"),
    # 一 is "per" unless it ends a Chinese numeral ("二十一平方" is 21): 一个平方15元, 一年180一平
    (re.compile(rf"每\s*个?\s*(平方米|平米|平方|平|方|㎡)|(?<![{_CN_CHARS}])一\s*个?\s*(平方米|平米|平方|平|方|㎡)"),
     r"/\1\2"),
    (re.compile(rf"每\s*个?\s*(年|月|天|日|季度|季)|(?<![{_CN_CHARS}])一\s*个?\s*(年|月|天|日|季度|季)"), r"/\1\2"),
)
_MONEY_SMALL = (
    (re.compile(r"(?<![\d.])(\d+)\s*(?:元|块)\s*(\d)\s*(?:角|毛)?(?![\d.])"), r"\1.\2元"),
    (re.compile(r"(?<![\d.])(\d)\s*(?:角|毛)(?:钱)?"), r"0.\1元"),
)
_PRICE_WORDS = (
    "人民币", "rmb", "元", "块钱", "块", "¥", "/", "㎡", "平方米", "平米", "平方", "平", "方", "月", "天", "日", "年",
    "季度", "季", "租金", "租", "单价", "总价", "售价", "价格", "价", "总", "预算", "金", "每", "整", "一口", "出售",
    "出租", "额", "约", "左右", "可", "整体", "整栋", "全部", "合计", "共计", "个", "为", "是", "钱", "大概", "在",
)
_PRICE_BOUNDS = {"rent": (2.0, 500.0), "sale": (100.0, 300000.0)}
_PERIODS = {"天": 30.0, "日": 30.0, "月": 1.0, "季": 1.0 / 3.0, "年": 1.0 / 12.0}  # rent factor to a month
_RENT_NO_PERIOD_MAX = 100.0  # 元/㎡: above this a rent written without a period may be per year
# a price with no per-㎡ mark and no total mark is per ㎡ up to this, a total above
_PER_M2_TYPICAL = {"rent": 500.0, "sale": 50000.0}


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
        面议 (or any phrase meaning "price on request") was written.
    at_most : bool
        Written as an upper bound ("不超过20元"): a budget, not a listing's price.
    at_least : bool
        Written as a lower bound ("15元起", "20元以上").
    """

    lo: float
    hi: float
    total: bool
    negotiable: bool
    at_most: bool = False
    at_least: bool = False

    @property
    def is_range(self) -> bool:
        return self.lo != self.hi


def _negotiable_only(s: str) -> bool:
    """True when ``s`` (no digits) says only "price on request"."""
    if not any(c in s for c in "议谈商洽询联定聊市"):
        return False
    rest = s
    for w in sorted((*_NEGOTIABLE_CORE, *_NEGOTIABLE_FILL), key=len, reverse=True):
        rest = rest.replace(w, " ")
    return all(c in _SEPARATORS or c.isspace() for c in rest)


def parse_price(raw: Any, kind: str) -> Price:
    """Read a rent (``kind="rent"``, → 元/㎡/月) or a sale price (``"sale"``, → 元/㎡).

    >>> parse_price("0.55元/㎡/天", "rent").lo
    16.5
    >>> parse_price("一年180一平", "rent").lo
    15.0
    >>> p = parse_price("总价800万", "sale"); (p.lo, p.total)
    (8000000.0, True)
    >>> parse_price("价格可谈", "rent").negotiable
    True
    """
    zh, en = ("租金", "rent") if kind == "rent" else ("售价", "sale price")
    if isinstance(raw, bool):
        raise _not_understood(raw, zh, en)
    plain = _plain_number(raw)
    if plain is not None:
        return _bare_price(plain, kind, raw)
    if isinstance(raw, (int, float)):
        raise _not_understood(raw, zh, en)
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    _only(s, _PRICE_CHARS, raw, zh, en)
    had_wan = bool(re.search(r"[万萬]|(?<=\d)\s*w(?![a-z])", s))
    if not re.search(rf"[\d{_CN_CHARS}]", s):
        if _negotiable_only(s):
            return Price(math.nan, math.nan, False, True)
        raise _not_understood(raw, zh, en)
    s = _PRICE_NOTES.sub(" ", s)
    s, n_neg = _NEGOTIABLE_PHRASE.subn(" ", s)
    s = prep(s, _PRICE_PRE)
    for pattern, repl in _MONEY_SMALL:
        s = pattern.sub(repl, s)
    per_area = bool(_PER_AREA.search(s))
    total_word = any(w in s for w in _TOTAL_WORDS)
    periods = {_PERIODS[c] for c in s if c in _PERIODS}
    periods_written = bool(periods)
    if kind == "sale" and periods:
        raise CellError("售价不应带期限（天/月/年）", "a sale price has no period")
    if len(periods) > 1:
        raise CellError(f"{zh}的期限不明确", f"{en} has more than one period")
    factor = periods.pop() if periods else 1.0
    scan = _scan(s, {"": 1.0}, _PRICE_WORDS, (), raw, zh, en)
    if not scan.values:
        raise _no_value(raw, zh, en)
    if len(scan.values) > 2 or (len(scan.values) == 2 and not scan.ranged):
        raise CellError(f"{zh}应为一个数值或一个范围",
                        f"{en} must be one value or one range")
    lo, hi = min(scan.values) * factor, max(scan.values) * factor
    if per_area:
        total = False
    elif total_word or had_wan:
        total = True
    else:  # nothing says: per ㎡ where that is plausible, else a total
        total = hi > _PER_M2_TYPICAL[kind]
    _check_period(kind, total, not periods_written, hi, raw)
    for v in (lo, hi):
        _check_price(v, kind, total, raw)
    return Price(lo, hi, total, n_neg > 0, scan.at_most, scan.at_least)


def _check_period(kind: str, total: bool, no_period: bool, value: float, raw: Any) -> None:
    """A rent without a period is per month only where that is the plain reading."""
    if kind != "rent" or not no_period:
        return
    if total:
        raise CellError("总租金请写明按月还是按年（如 月租5万、年租金60万）",
                        "a total rent needs its period (per month or per year)")
    if value > _RENT_NO_PERIOD_MAX:
        raise CellError(f"租金 {_fmt(value)} 元/㎡ 未写期限，按月偏高（请写明 元/㎡/月 或 元/㎡/年）",
                        "rent has no period and is high for a month; write 元/㎡/月 or 元/㎡/年")


_PRICE_CHARS = _COMMON_CHARS | _chars(
    _PRICE_WORDS, _TOTAL_WORDS, _NEGOTIABLE_CORE, _NEGOTIABLE_FILL, _NEGOTIABLE_PHRASE, _PRICE_NOTES,
    (p for p, _ in _PRICE_PRE), (p for p, _ in _MONEY_SMALL), _PER_AREA, _PERIODS, "万萬w¥￥$元角毛块")


def _bare_price(v: float, kind: str, raw: Any) -> Price:
    total = v > _PER_M2_TYPICAL[kind]
    _check_period(kind, total, True, v, raw)
    _check_price(v, kind, total, raw)
    return Price(v, v, total, False)


def _check_price(v: float, kind: str, total: bool, raw: Any) -> None:
    zh, en = ("租金", "rent") if kind == "rent" else ("售价", "sale price")
    if v <= 0:
        raise CellError(f"{zh}必须大于0", f"{en} must be > 0")
    if total:
        return  # checked once divided by the area
    lo, hi = _PRICE_BOUNDS[kind]
    unit = "元/㎡/月" if kind == "rent" else "元/㎡"
    if not (lo <= v <= hi):
        raise CellError(
            f"{zh}超出合理范围 [{_fmt(lo)}, {_fmt(hi)}] {unit}（请写明单位，如 元/㎡/天）",
            f"{en} is outside the plausible range [{_fmt(lo)}, {_fmt(hi)}] {unit}; write the unit",
        )


def check_unit_price(v: float, kind: str, raw: Any) -> float:
    """Bounds check of a per-㎡ price obtained from a total."""
    _check_price(v, kind, False, raw)
    return v


# ---------------------------------------------------------------------------
# categorical values

_TRUE = frozenset({"是", "有", "可", "可以", "能", "需要", "需", "要", "y", "yes", "true", "t", "1", "√", "✓", "✔",
                   "对", "具备", "已办", "已有", "必须", "必需", "是的", "有的", "能够", "允许", "ok"})
_FALSE = frozenset({"否", "无", "不可", "不可以", "不能", "不需要", "不需", "不要", "没有", "n", "no", "false",
                    "f", "0", "×", "✗", "✘", "不具备", "未办", "无需", "不用", "不是", "不允许", "没", "x"})


def parse_bool(raw: Any) -> bool:
    """Read yes/no: 是 否 有 无 可 不可 Y N true false 1 0 (and a few more).

    >>> parse_bool("不可"), parse_bool("Y")
    (False, True)
    """
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower().rstrip("。.!")
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError("无法识别的是/否", "cannot read yes/no")


_LISTING_DEALS = {
    **dict.fromkeys(("出租", "租", "招租", "租赁", "对外出租", "lease", "rent", "for lease", "for rent"), DEAL_LEASE),
    **dict.fromkeys(("出售", "售", "转让", "卖", "销售", "对外出售", "sale", "sell", "for sale"), DEAL_SALE),
    **dict.fromkeys(("租售均可", "可租可售", "租售", "出租/出售", "出租或出售", "出租、出售", "租售皆可", "出租出售",
                     "租/售", "租或售", "租、售", "lease_or_sale", "lease or sale", "both"), DEAL_BOTH),
}
_DEMAND_DEALS = {
    **dict.fromkeys(("求租", "租", "租赁", "承租", "租用", "租房", "需租", "想租", "lease", "rent"), DEAL_LEASE),
    **dict.fromkeys(("求购", "购买", "买", "购", "购置", "需购", "想买", "收购", "buy", "purchase"), DEAL_SALE),
    **dict.fromkeys(("租购均可", "租购", "可租可购", "租或购", "租或买", "租买均可", "均可", "求租/求购", "求租或求购",
                     "租/购", "租、购", "租购皆可", "租售均可", "租售皆可", "either", "both", "lease_or_buy",
                     "lease or buy"), DEAL_BOTH),
}


def parse_deal(raw: Any, side: str) -> int:
    """Read a deal type as bit flags (1 lease, 2 sale/buy, 3 both).

    ``side`` is ``"listing"`` (出租 出售 租售均可) or ``"demand"`` (求租 求购 租购均可).
    """
    table = _LISTING_DEALS if side == "listing" else _DEMAND_DEALS
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    code = table.get(s)
    if code is None:
        code = table.get(s.replace(" ", ""))
    if code is None:
        other = _DEMAND_DEALS if side == "listing" else _LISTING_DEALS
        hint_zh = "（这是需求方的类型）" if side == "listing" and s in other else ""
        hint_zh = "（这是房源方的类型）" if side == "demand" and s in other else hint_zh
        allowed = "出租/出售/租售均可" if side == "listing" else "求租/求购/租购均可"
        raise CellError(f"无法识别的租售类型{hint_zh}，应为 {allowed}",
                        f"cannot read a {side} deal type")
    return code


def other_side_deal(raw: Any, side: str) -> bool:
    """True when ``raw`` is a deal type of the other side only (出租 on a demand)."""
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    mine, other = (_LISTING_DEALS, _DEMAND_DEALS) if side == "listing" else (_DEMAND_DEALS, _LISTING_DEALS)
    return s in other and s not in mine


_FIRE = re.compile(r"^([甲乙丙丁戊])(?:[12一二])?类?(?:厂房|仓库|火灾危险性)?$")


def parse_fire_class(raw: Any) -> int:
    """Read a 火灾危险性 class 甲…戊 (also "丙类", "丙二类") as 1…5."""
    s = unicodedata.normalize("NFKC", str(raw)).strip().replace(" ", "")
    m = _FIRE.match(s)
    if not m:
        raise CellError("无法识别的火灾危险性类别（应为 甲/乙/丙/丁/戊）",
                        "cannot read a fire hazard class (甲..戊)")
    return FIRE_CLASSES.index(m.group(1)) + 1


_RATING = re.compile(r"^([abcd])(?:类|级|档)?$")


def parse_rating(raw: Any) -> int:
    """Read a 亩均评价 class A…D (also "A类", "B级") as 4…1 (higher is better)."""
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    m = _RATING.match(s)
    if not m:
        raise CellError("无法识别的亩均评价等级（应为 A/B/C/D）",
                        "cannot read a rating class (A..D)")
    return RATINGS.index(m.group(1).upper()) + 1


# ---------------------------------------------------------------------------
# dates

_NOW_CORE = ("越快越好", "越早越好", "现房", "现成", "现在", "即日", "即可", "即时", "即刻", "立即", "立刻",
             "立马", "马上", "随时", "尽快", "尽早", "空置", "空闲", "闲置", "已空", "空着", "腾空", "已交付",
             "可交付", "已竣工", "已完工", "已建成", "当前", "目前", "急需", "急用", "急", "now", "asap",
             "immediately", "available", "拎包入住", "拎包入驻", "现可", "已可", "现已", "空关", "空房", "现空",
             "即租即用", "随租随用",
             "即来即用", "随到随用", "随时入驻", "直接入驻", "直接入住", "直接使用", "today", "at once",
             "any time", "anytime")
_NOW_FILL = ("可以", "可", "能", "即", "就", "已经", "已", "的", "都", "均", "行", "好", "了", "中", "状态",
             "入驻", "入住", "进驻", "进场", "搬入", "搬迁", "使用", "交付", "交房", "开始", "需要", "希望",
             "最好", "要", "租用", "租", "用", "厂房", "房子", "房", "场地", "拎包", "生产", "投产", "看房",
             "签约", "起租", "可租", "越", "快", "早", "好", "是", "为", "起", "现", "已可", "都可", "直接",
             "就要", "就能", "就可", "要求", "最快", "越快", "越早", "please", "可以用")
# punctuation that adds nothing to "now" ("越快越好！", "马上!!")
_NOW_MARKS = frozenset("!?！？~～…·、,，.。;；:：\"'“”‘’()（）[]【】 ")
_UNDECIDED = frozenset({"不限", "均可", "都可以", "都行", "无要求", "没有要求", "无", "待定", "未定",
                        "不确定", "暂定", "看情况", "视情况", "协商", "商定", "面议", "不急", "不着急"})
_RELATIVE = ("明年", "今年", "后年", "去年", "下个月", "下月", "本月", "这个月", "下半月", "年后", "年前",
             "节后", "节前", "春节", "国庆", "元旦", "月内", "个月内", "个月后", "周内", "天内", "日内",
             "近期", "最近", "年底", "年初", "年中", "月底", "月初", "月中", "上旬", "中旬", "下旬", "上半年",
             "下半年", "季度", "以后", "之后")
_DATE = re.compile(
    r"^(?P<y>\d{4}|\d{2}(?=年))\s*(?:年|[-/.])?\s*"
    r"(?:(?:第)?(?P<q>[1-4])\s*季度?|(?P<h>上|下)半年|(?P<m>\d{1,2})\s*(?:月份|月)?"
    r"(?:\s*(?:[-/.]|月)?\s*(?P<d>\d{1,2})\s*[日号]?)?)?"
    r"\s*(?P<s>上旬|中旬|下旬|初|中|底|末|内|之内|以内|前|之前|以前|左右|份|开始|起|以后|后)?$")
# words around a date that add nothing to it ("预计2026年9月前交付")
_DATE_WORDS_AROUND = re.compile(
    r"^(?:预计|计划|大约|约|最迟|最晚)|(?:可以|可)?(?:交付|交房|入驻|入住|起租|租用|使用|投产)$")
_DATE8 = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")
_TIME = re.compile(r"[ t]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _now_words_only(s: str) -> bool:
    """True when ``s`` says only "now / as soon as possible" (空置中, 随时可入驻, 越快越好！).

    A negation or a "not yet" word (不 未 非 暂 准 将 待 预计) keeps it from meaning now.
    """
    if any(c in s for c in "不未非暂准将待") or "预计" in s:
        return False
    if not any(w in s for w in _NOW_CORE):
        return False
    rest = s
    for w in sorted((*_NOW_CORE, *_NOW_FILL), key=len, reverse=True):
        rest = rest.replace(w, " ")
    return all(c in _SEPARATORS or c in _NOW_MARKS or c.isspace() for c in rest)


_DATE_CHARS = _chars("0123456789-/.: t年月日号第季度上下半旬初中底末内之以前后左右份开始起q", _SEPARATORS, _CN_CHARS,
                     _NOW_CORE, _NOW_FILL, _UNDECIDED, _RELATIVE, _DATE_WORDS_AROUND, _NOW_MARKS)


def _last_day(year: int, month: int) -> int:
    return (_dt.date(year + month // 12, month % 12 + 1, 1) - _dt.timedelta(days=1)).day


def _date_from(m: re.Match[str], raw: Any) -> np.datetime64:
    y = int(m.group("y"))
    year = y + 2000 if y < 100 else y
    suffix = m.group("s") or ""
    end = suffix in ("底", "末", "内", "之内", "以内")
    if m.group("q"):
        first = 3 * int(m.group("q")) - 2
        month, day = (first + 2, None) if end else (first, 1)
    elif m.group("h"):
        first = 1 if m.group("h") == "上" else 7
        month, day = (first + 5, None) if end else (first, 1)
    elif m.group("m"):
        month = int(m.group("m"))
        if m.group("d"):
            if suffix not in ("", "前", "之前", "以前", "左右", "开始", "起", "以后", "后"):
                raise _date_error(raw)
            day = int(m.group("d"))
        else:
            day = {"上旬": 1, "初": 1, "中旬": 11, "中": 15, "下旬": 21}.get(suffix, 1)
            if end:
                day = None
    else:
        if suffix in ("上旬", "中旬", "下旬"):
            raise _date_error(raw)
        month, day = (12, 31) if end else ({"中": 7}.get(suffix, 1), 1)
    if not 1990 <= year <= 2100:
        raise CellError("年份不合理", "implausible year")
    try:
        if day is None:
            day = _last_day(year, month)
        return np.datetime64(_dt.date(year, month, day), "D")
    except ValueError:
        raise CellError("日期不存在", "no such date") from None


def _date_error(raw: Any) -> CellError:
    return CellError("无法识别的日期（如 2026-03-01、2026年3月、现房）",
                     "cannot read a date")


def parse_date(raw: Any) -> np.datetime64 | Reading:
    """Read a date (see the module docstring for months, periods and "now").

    >>> parse_date("2026年3月")
    np.datetime64('2026-03-01')
    >>> parse_date("2026年3月底"), parse_date("26年3月中旬")
    (np.datetime64('2026-03-31'), np.datetime64('2026-03-11'))
    >>> bool(parse_date("越快越好") == AVAILABLE_NOW)
    True
    """
    if isinstance(raw, _dt.datetime):
        return np.datetime64(raw.date(), "D")
    if isinstance(raw, _dt.date):
        return np.datetime64(raw, "D")
    if isinstance(raw, np.datetime64):
        return raw.astype("datetime64[D]")
    if not isinstance(raw, str):  # numbers: an Excel serial or a year? Either way not as written
        raise _date_error(raw)
    s = unicodedata.normalize("NFKC", raw).strip().lower()
    _only(s, _DATE_CHARS, raw, "日期", "a date")
    s = _TIME.sub("", s).strip().rstrip("。.!?~…").strip()
    compact = re.sub(r"\s+", "", s)
    if compact in _UNDECIDED:
        return Reading(None)
    if _now_words_only(compact):
        return AVAILABLE_NOW
    s = prep(compact, ranges=False).replace("年年", "年")
    s = _DATE_WORDS_AROUND.sub("", s)
    has_year = re.search(r"\d{4}|(?<!\d)\d{2}年", s) is not None
    if not has_year and (any(w in compact for w in _RELATIVE) or re.fullmatch(r"\d{1,2}月.*", s)):
        raise CellError("相对日期无法确定（不知道从哪天算起），请写明年月，如 2026年3月",
                        "a date relative to when it was written cannot be read; write the year")
    s = re.sub(r"q([1-4])", r"第\1季度", s)
    m8 = _DATE8.match(s)
    if m8:
        s = f"{m8.group(1)}-{m8.group(2)}" + (f"-{m8.group(3)}" if m8.group(3) else "")
    m = _DATE.match(s)
    if m is None:
        raise _date_error(raw)
    return _date_from(m, raw)


# ---------------------------------------------------------------------------
# places and industries

_LIST_SPLIT = re.compile(r"[、,;/|\n+&]+|\s+|和|及|与|或者|或")
_ANY = frozenset({"不限", "均可", "任意", "全市", "慈溪", "慈溪市", "都可以", "都行", "无要求", "any", "全部",
                  "不限区域", "区域不限", "慈溪全市", "慈溪市内", "市内"})
_PLACE_SUFFIXES = ("附近", "周边", "周围", "一带", "区域", "地区", "片区", "范围", "以内", "内", "优先",
                   "为主", "镇区", "辖区", "等地", "等")
_BRACKETED = re.compile(r"\(.*?\)|\[.*?\]|【.*?】")
_PLACE_PREFIXES = ("浙江省", "浙江", "宁波市", "宁波", "慈溪市", "慈溪")
_TOWN_ALIASES = {"高新区": "高新技术产业园区", "高新园区": "高新技术产业园区", "杭州湾": "杭州湾新区",
                 "前湾新区": "杭州湾新区", "前湾": "杭州湾新区", "滨海区": "滨海经济开发区",
                 "滨海开发区": "滨海经济开发区", "慈溪滨海": "滨海经济开发区", "白沙": "白沙路街道"}


def find_town(text: str) -> int | None:
    """Gazetteer row of a town written as staff write it, or None.

    Beside the gazetteer's own forms (with or without 镇/街道, after 慈溪市), it takes
    the province and city in front, a place word after ("周巷附近", "周巷一带") and a
    few established aliases (高新区, 前湾新区 for 杭州湾新区). A county number after
    :data:`scoring.reference.COUNTY_SEPARATOR` (``周巷镇·3``) names the town in that
    county of a province of copies (:func:`scoring.reference.towns`): its row there.
    """
    g = gazetteer()
    written = unicodedata.normalize("NFKC", text).strip()
    base, sep, number = written.rpartition(COUNTY_SEPARATOR)
    if sep and number.isdigit() and base:  # "周巷镇·3": the town of the 3rd county of a province
        county = int(number)
        hit = find_town(base) if 1 <= county <= MAX_COUNTIES and COUNTY_SEPARATOR not in base else None
        return None if hit is None else hit + (county - 1) * len(g)
    hit = g.find(written)
    if hit is not None:
        return hit
    # "周巷(优先)": a note beside the name; "(周巷)": the name in brackets
    s = _BRACKETED.sub("", written).strip() or written.strip(" ()[]【】")
    changed = True
    while changed and s:
        changed = False
        for p in _PLACE_PREFIXES:
            if s.startswith(p) and len(s) > len(p):
                s, changed = s[len(p):], True
        for w in _PLACE_SUFFIXES:
            if s.endswith(w) and len(s) > len(w):
                s, changed = s[: -len(w)], True
    hit = g.find(s)
    if hit is None and s in _TOWN_ALIASES:
        hit = g.find(_TOWN_ALIASES[s])
    if hit is None:  # "周巷镇天元工业区", "公牛集团（观海卫镇）": one full town name in the text
        named = set(_full_town_names().findall(written))
        hit = g.find(named.pop()) if len(named) == 1 else None
    return hit


@functools.cache
def _full_town_names() -> re.Pattern[str]:
    """Every full town name of the gazetteer (as :meth:`Gazetteer.mentioned` counts them)."""
    names = sorted((str(n) for n in gazetteer().names), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


def parse_town(raw: Any) -> int:
    """Gazetteer row of a town, street or zone (``周巷`` = ``周巷镇``)."""
    i = find_town(str(raw))
    if i is None:
        raise CellError("未知镇街", "unknown town")
    return i


def parse_towns(raw: Any) -> tuple[int, ...] | Reading:
    """Gazetteer rows of one or several towns (separated by 、 , ， / ； | 和 或 or spaces).

    "不限" / "均可" give an empty tuple (no preference). Unknown names are left out
    with a note naming them (a :class:`Reading`); when no name is known the cell
    is an error.

    >>> r = parse_towns("周巷/天元"); (len(r.value), r.note_en)
    (1, "unknown town(s) left out: '天元'")
    """
    if isinstance(raw, (list, tuple)):
        parts = [unicodedata.normalize("NFKC", str(p)).strip() for p in raw]
    else:
        s = unicodedata.normalize("NFKC", str(raw)).strip()
        if s.lower().replace(" ", "") in _ANY:
            return ()
        parts = _LIST_SPLIT.split(s)
    out: list[int] = []
    unknown = []
    for p in parts:
        p = p.strip()
        if not p or p in _PLACE_SUFFIXES or p in ("等", "等地", "等镇"):
            continue
        i = find_town(p)
        if i is None:
            unknown.append(p)
        elif i not in out:
            out.append(i)
    if unknown and not out:
        raise CellError(f"未知镇街：{'、'.join(_show(u) for u in unknown)}",
                        f"unknown town(s): {', '.join(_show(u) for u in unknown)}")
    if unknown:
        return Reading(tuple(out), (), f"未知镇街已略去：{'、'.join(_show(u) for u in unknown)}",
                       f"unknown town(s) left out: {', '.join(repr(_show(u)) for u in unknown)}")
    return tuple(out)


_CODE = re.compile(r"^([a-t])?\s*(\d{2,4})(?:\s+\S.*)?$")


def parse_industry(raw: Any) -> str:
    """A GB/T 4754-2017 code as bare digits (or a section letter), from a code or exact name.

    >>> parse_industry("C2929"), parse_industry("家用厨房电器具制造"), parse_industry("38")
    ('2929', '3854', '38')
    """
    if isinstance(raw, bool):
        raise CellError("未知行业", "unknown industry")
    raw_s = str(int(raw)) if isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer()) else str(raw)
    s = unicodedata.normalize("NFKC", raw_s).strip()
    table = industries()
    m = _CODE.match(s.lower())
    if m:
        letter, digits = m.group(1), m.group(2)
        section = table.section_of(digits)
        if section is None:
            raise CellError(f"GB/T 4754-2017 中没有行业代码 {digits}",
                            f"unknown GB/T 4754-2017 code {digits!r}")
        if letter and letter.upper() != section:
            raise CellError(f"行业代码 {digits} 属于门类 {section}，不是 {letter.upper()}",
                            f"code {digits} is in section {section}, not {letter.upper()}")
        return digits
    if len(s) == 1 and s.upper() in "ABCDEFGHIJKLMNOPQRST":
        return s.upper()
    code = table.by_name(s)
    if code is None:
        raise CellError("未知行业（需 GB/T 4754-2017 代码或完整名称）",
                        "unknown industry (need a GB/T 4754-2017 code or exact name)")
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
        raise CellError("坐标无效", "invalid coordinates")
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0:
            raise CellError(f"经纬度似乎填反了（纬度 {_fmt(lat)}，经度 {_fmt(lon)}）",
                            f"latitude and longitude look swapped (lat {_fmt(lat)}, lon {_fmt(lon)})")
        raise CellError("坐标超出范围（纬度 ±90，经度 ±180）",
                        "coordinates out of range (lat within ±90, lon within ±180)")
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
    """A bare number (coordinates), finite."""
    if isinstance(raw, bool):
        raise _not_understood(raw, what_zh, what_en)
    try:
        v = float(unicodedata.normalize("NFKC", str(raw)).strip().rstrip("°"))
    except ValueError:
        raise _not_understood(raw, what_zh, what_en) from None
    if not math.isfinite(v):
        raise _not_understood(raw, what_zh, what_en)
    return v


Parser = Callable[[Any], Any]


# ---------------------------------------------------------------------------
# screens: what each parser can read at all


@dataclass(frozen=True)
class Screen:
    """The characters a parser's input may hold, and what to say of a cell with others.

    Every character a reading consumes (digits, numerals, units, label words, notes,
    separators) is in ``chars``; a cell holding another one would be rejected after
    the full reading anyway, so the reader rejects it at once: a file of junk cells
    costs a set operation per cell, not a parse (issue 12: 30 % corrupted cells within
    2× the clean time).
    """

    chars: frozenset[str]
    zh: str
    en: str

    def passes(self, s: str) -> bool:
        """False when ``s`` holds a character no reading uses (NFKC and case aside)."""
        return self.chars.issuperset(s) or self.chars.issuperset(unicodedata.normalize("NFKC", s).lower())


def _screen(chars: frozenset[str], what_zh: str, what_en: str) -> Screen:
    err = _not_understood("", what_zh, what_en)
    return Screen(chars | frozenset(" "), err.zh, err.en)


@functools.cache
def screen(kind: str) -> Screen | None:
    """The :class:`Screen` of a parser: ``"quantity:<name>"`` (see :data:`QUANTITIES`),
    ``"area"``, ``"listing_area"``, ``"rent"``, ``"sale"``, ``"crane"``, ``"date"``, ``"float"``,
    ``"bool"``, ``"fire"``, ``"rating"``; None for any other kind (text, towns and
    industries are not screened: a town list keeps its known names whatever else it
    holds, a code may be followed by its name)."""
    if kind.startswith("quantity:"):
        q = QUANTITIES[kind.split(":", 1)[1]]
        return _screen(_quantity_chars(q), q.what_zh, q.what_en)
    table: dict[str, tuple[Callable[[], frozenset[str]], str, str]] = {
        "area": (lambda: _AREA_CHARS, "面积", "area"),
        "listing_area": (lambda: _LISTING_AREA_CHARS, "面积", "area"),
        "rent": (lambda: _PRICE_CHARS, "租金", "rent"),
        "sale": (lambda: _PRICE_CHARS, "售价", "sale price"),
        "crane": (lambda: _CRANE_CHARS, "行车", "crane"),
        "date": (lambda: _DATE_CHARS, "日期", "a date"),
        "float": (lambda: _chars("0123456789.-+e°"), "数值", "a number"),
        "bool": (lambda: _chars(_TRUE, _FALSE, "。.!"), "是/否", "yes/no"),
        "fire": (lambda: _chars("甲乙丙丁戊12一二类厂房仓库火灾危险性"), "火灾危险性类别", "a fire hazard class"),
        "rating": (lambda: _chars("abcd类级档"), "亩均评价等级", "a rating class"),
    }
    if kind not in table:
        return None
    make, zh, en = table[kind]
    return _screen(make(), zh, en)
