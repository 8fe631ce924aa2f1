"""Numerals as staff write them, turned into Arabic numbers in the text.

:func:`numerals` rewrites every run of numeral characters in a cell: Chinese 一二三 两
〇 零, financial 壹贰叁肆伍陆柒捌玖拾佰仟萬, the units 十百千万亿 after Arabic or Chinese
digits (``1.2万``, ``3千5`` = 3500, ``1万2`` = 12000, ``一千二`` = 1200), ``2k`` and ``1w5``,
``二点五``, years written digit by digit (``二〇二六``), "one" meaning "per" (``15元一个平方``,
``每一平米``, ``3万一亩``: no digit), 半 after a unit (``一亩半``), and a
multiplier shared by both ends of a range (``1-2万``). A run with two readings
(``三四百`` "three or four hundred", ``1万25``) is left as it is, so the cell it is in is
rejected: a reading is exact or there is none.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["CN_CHARS", "DIGITS", "UNIT_WORDS", "fmt", "numerals"]


_DIGITS = {"〇": 0, "零": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "貳": 2, "三": 3, "叁": 3, "四": 4,
           "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9,
           "玖": 9}
_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_CN_CHARS = "".join(_DIGITS) + "".join(_SMALL) + "".join(_BIG)
_NUM_RUN = re.compile(rf"(?:\d+(?:\.\d+)?|[{_CN_CHARS}点])+")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|.")
# a multiplier shared by both ends of a range: "1-2万" is 1万-2万
_SHARED_MULT = re.compile(rf"(?<![\d.{_CN_CHARS}])(\d+(?:\.\d+)?|[{''.join(_DIGITS)}])(\s*(?:-|~|到|至|—|–)\s*)"
                          rf"(\d+(?:\.\d+)?|[{''.join(_DIGITS)}])([百佰千仟万萬])")
# unit words that hold a numeral character, read before numerals are
_UNIT_WORDS = (("千伏安", "kva"), ("千瓦", "kw"), ("千克", "kg"), ("千米", "km"), ("千牛", "kn"), ("百分之", "%"))
_K_W = re.compile(r"(?<=\d)\s*([kw])(?![a-z])")
_HALF_AFTER = re.compile(r"(\d+)(个)?(亩|年|吨|月|米)半|(\d+)个半(月)")
_HALF_BEFORE = re.compile(r"(?<![\d.上下])半(个)?(亩|年|吨|月)")
# "one" meaning "per": 15元一个平方, 每一平米, 元/一平方/月, 3万元1亩, 15元/平一个月. The 一/1 is
# "each", not a digit, after 每 or /, after an amount of money, or between an area unit and a period.
_AREA_U = r"平方米|平方|平米|平|㎡|m2|方|亩"
_TIME_U = r"季度|季|月|年|天|日|周|星期"
_ONE = r"\s*(?:一|1|壹)\s*个?\s*"
_CN_NONZERO = "".join(d for d in _DIGITS if _DIGITS[d])
_PER_ONE = (
    (re.compile(rf"(每|/){_ONE}(?={_AREA_U}|{_TIME_U}|吨|公斤|kg|t)"), r"\1"),
    (re.compile(rf"(元|块钱|块|钱)(?:/|每)?{_ONE}(?={_AREA_U}|{_TIME_U})"), r"\1/"),
    (re.compile(rf"(万元?){_ONE}(?=亩)"), r"\1/"),
    # "一个" right after a digit or 万 is "each", not part of the numeral: 四千五一个平方, 0.45万一个平方,
    # 1.5万一个月 (after 十 百 千 零 it is: 十一个月 is 11 months, 一千零一个 1001)
    # (an Arabic 1 only after a character: 11个月 and 21个月 are numbers)
    (re.compile(rf"(?:(?<=[\d万萬{_CN_NONZERO}])\s*一|(?<=[万萬{_CN_NONZERO}])\s*1)\s*个\s*"
                rf"(?={_AREA_U}|{_TIME_U})"), "/"),
    (re.compile(rf"(平方米|平方|平米|平|㎡|亩)(?:/|每)?{_ONE}(?={_TIME_U})"), r"\1/"),
)


class _Tok(NamedTuple):
    kind: str  # "n" number, "u" small unit, "b" big unit, "p" point
    value: float
    digits: int  # integer digits of a number written as an integer; 0 for a decimal
    chinese: bool


def _tokens(run: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(run):
        t = m.group(0)
        if t[0].isdigit():
            out.append(_Tok("n", float(t), 0 if "." in t else len(t), False))
        elif t in _DIGITS:
            out.append(_Tok("n", float(_DIGITS[t]), 1, True))
        elif t in _SMALL:
            out.append(_Tok("u", float(_SMALL[t]), 0, True))
        elif t in _BIG:
            out.append(_Tok("b", float(_BIG[t]), 0, True))
        else:
            out.append(_Tok("p", 0.0, 0, True))
    return out


def _merge_points(toks: list[_Tok]) -> list[_Tok] | None:
    """Fold "digit 点 digits" (or "unit 点 digits") into one decimal number token."""
    if not any(t.kind == "p" for t in toks):
        return toks
    out: list[_Tok] = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.kind != "p":
            out.append(t)
            k += 1
            continue
        frac = ""
        k += 1
        while k < len(toks) and toks[k].kind == "n" and toks[k].digits == 1:
            frac += str(int(toks[k].value))
            k += 1
        if not frac:
            return None
        if out and out[-1].kind == "n" and out[-1].digits == 1:
            whole = out.pop().value
            out.append(_Tok("n", whole + float("0." + frac), 0, True))
        elif out and out[-1].kind == "u":
            out.append(_Tok("n", float("0." + frac), -1, True))  # -1: a fraction after a unit
        else:
            return None
    return out


def _trailing(cur: _Tok | None, unit: float, zero: bool, coef_decimal: bool) -> float | None:
    """Value of a number written after the last unit: "一千二" (implied 百), "1万2500"."""
    if cur is None:
        return 0.0
    if cur.digits == -1:  # "一百点五"
        return cur.value
    if cur.digits == 0:  # a decimal: only in the ones place ("十二点五")
        return cur.value if unit == 10 else None
    if zero:  # "一千零五": written as is
        return cur.value if cur.value < unit else None
    if coef_decimal:
        return None  # "1.5千2"
    if cur.digits == 1:
        return cur.value * unit / 10
    if cur.digits == len(str(int(unit))) - 1:  # "1万2500", "1千200"
        return cur.value
    return None


def _numeral(run: str) -> float | None:
    """The value of one run of numeral characters, None when it has two readings."""
    toks = _merge_points(_tokens(run))
    if toks is None:
        return None
    if not any(t.kind in "ub" for t in toks):
        if len(toks) == 1:
            return toks[0].value
        # digit by digit ("二〇二六"), only where a reading as an amount is impossible
        if all(t.digits == 1 for t in toks) and (len(toks) >= 4 or any(t.value == 0 for t in toks)):
            return float("".join(str(int(t.value)) for t in toks))
        return None
    total = section = 0.0
    cur: _Tok | None = None
    last_small: float | None = None
    last_big: float | None = None
    zero = coef_decimal = False
    for t in toks:
        if t.kind == "n":
            if t.value == 0 and t.chinese and cur is None and (section or total):
                zero = True
                continue
            if cur is not None:
                return None  # two numbers side by side: "三四百"
            cur = t
        elif t.kind == "u":
            if cur is None and t.value != 10:
                return None  # "百" alone
            if last_small is not None and t.value >= last_small:
                return None
            coef = 1.0 if cur is None else cur.value
            coef_decimal = cur is not None and cur.digits != 1 and coef != int(coef)
            section += coef * t.value
            last_small, cur, zero = t.value, None, False
        else:  # big unit
            if last_big is not None and t.value >= last_big:
                return None
            if last_small is not None:
                tail = _trailing(cur, last_small, zero, coef_decimal)
                if tail is None:
                    return None
                section += tail
            elif cur is not None:
                section += cur.value
                coef_decimal = cur.value != int(cur.value)
            if section == 0:
                return None  # "万" alone
            total += section * t.value
            section, last_small, last_big, cur, zero = 0.0, None, t.value, None, False
    if cur is not None:
        unit = last_small if last_small is not None else last_big
        tail = _trailing(cur, unit, zero, coef_decimal) if unit is not None else None
        if tail is None:
            return None
        section += tail
    return round(total + section, 9)


def fmt(v: float) -> str:
    """``v`` as written plainly: ``12`` for 12.0, ``12.5``."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _convert_run(m: re.Match[str]) -> str:
    run = m.group(0)
    if not any(c in _CN_CHARS for c in run):
        return run
    value = _numeral(run)
    return run if value is None else fmt(value)


def numerals(s: str) -> str:
    """Every numeral in ``s`` as an Arabic number (see the module docstring).

    >>> numerals("每月1万2"), numerals("一千二百平"), numerals("壹仟贰佰元"), numerals("3千5")
    ('每月12000', '1200平', '1200元', '3500')
    >>> numerals("1-2万平"), numerals("三四百平")
    ('10000-20000平', '三四百平')

    "One" meaning "per" is not a digit:

    >>> numerals("15元一个平方"), numerals("每一平米12元"), numerals("十五元/一平方/一个月")
    ('15元/平方', '每平米12元', '15元/平方/月')
    """
    for word, unit in _UNIT_WORDS:
        s = s.replace(word, unit)
    for pattern, repl in _PER_ONE:
        s = pattern.sub(repl, s)
    s = _K_W.sub(lambda m: "千" if m.group(1) == "k" else "万", s)
    s = _SHARED_MULT.sub(_share_multiplier, s)
    s = _NUM_RUN.sub(_convert_run, s)
    s = _HALF_AFTER.sub(_half, s)
    return _HALF_BEFORE.sub(lambda m: f"0.5{m.group(1) or ''}{m.group(2)}", s)


def _half(m: re.Match[str]) -> str:
    if m.group(4):  # "2个半月"
        return f"{m.group(4)}.5个{m.group(5)}"
    return f"{m.group(1)}.5{m.group(2) or ''}{m.group(3)}"


def _share_multiplier(m: re.Match[str]) -> str:
    a, sep, b, mult = m.groups()
    va, vb = _numeral(a), _numeral(b)
    if va is None or vb is None or not va < vb:
        return m.group(0)  # "500-1千": the first end has its own size
    return f"{a}{mult}{sep}{b}{mult}"


DIGITS = _DIGITS
"""Chinese and financial digits → their value."""
CN_CHARS = _CN_CHARS
"""Every numeral character (digits and units) :func:`numerals` reads."""
UNIT_WORDS = _UNIT_WORDS
"""Unit words holding a numeral character (千伏安 …), read as units before numerals."""
