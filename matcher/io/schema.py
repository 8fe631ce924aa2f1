"""Input columns: which headers name which field, and which parser reads it.

A header is recognised by its canonical name or one of its Chinese aliases, after
folding (:func:`fold_header`: NFKC, lower case, no spaces, no ``*`` or ``:``, no
leading "1." or "一、", no note in brackets: ``面积(㎡)*`` is ``面积``). When that fails,
:func:`resolve_header` tries the forms staff write around a known name: a word in
front or behind that adds nothing (``厂房面积``, ``租金要求``, ``是否可环评``) and the
two halves swapped (``面积需求`` for ``需求面积``); it takes such a reading only when
every way gives the same column.

A unit in the header's brackets (``面积（亩）``, ``租金（元/㎡/天）``, ``售价(万元)``)
applies to the column's bare numbers; a note in brackets that is not a unit
(``面积（必填）``) changes nothing.

Each column has a parser that turns one cell into its stored value, a
:class:`~matcher.io.normalise.Reading`, or a :class:`~matcher.io.normalise.CellError`;
parsers are pure, so ingestion caches them per distinct cell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matcher.io import normalise as nz

__all__ = ["DEMAND_COLUMNS", "LISTING_COLUMNS", "REQUIRED", "UPDATED_ALIASES", "Column", "column_lookup",
           "fold_header", "header_unit", "near_misses", "resolve_header"]

_BRACKETS = re.compile(r"\(.*?\)|\[.*?\]|【.*?】|《.*?》|<.*?>|\{.*?\}|（.*?）")
_NUMBERING = re.compile(r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})[.、):]|^\(\d{1,2}\)")
_NOTES = ("(必填)", "必填", "(选填)", "选填", "(可选)", "可选")


def fold_header(h: str) -> str:
    """Canonical form of a header for matching (``" 1.面积（㎡）* "`` → ``"面积"``)."""
    s = unicodedata.normalize("NFKC", str(h)).strip().lower()
    s = _NUMBERING.sub("", s)
    s = _BRACKETS.sub("", s)
    s = re.sub(r"[\s*:：\"'“”?？!！#＃]", "", s)
    for note in _NOTES:
        if s.endswith(note) and len(s) > len(note):
            s = s[: -len(note)]
    return s


_UNIT_TAIL = re.compile(r"(?:/|\s)?((?:元|万元|万|块)/.*|万元|㎡|m2|平方米|平米|亩|kva|吨|米|kg|公斤|公里|km)$")


def header_unit(h: str) -> str:
    """The unit a header gives its column's bare numbers: the text in its last
    brackets (``租金（元/㎡/天）`` → ``元/㎡/天``), or a unit written after the name
    (``面积㎡``), else ``""``. Whether it is a unit is for the column to decide."""
    s = unicodedata.normalize("NFKC", str(h)).strip()
    inside = re.findall(r"[(\[【<{（](.*?)[)\]】>}）]", s)
    if inside:
        return inside[-1].strip()
    m = _UNIT_TAIL.search(fold_header(s))
    return m.group(1) if m else ""


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return unicodedata.normalize("NFKC", str(raw)).strip() if isinstance(raw, str) else str(raw)


def _tri(raw: Any) -> int:
    return int(nz.parse_bool(raw))


def _price(kind: str) -> Callable[[Any], nz.Price]:
    return lambda raw: nz.parse_price(raw, kind)


def _quantity(kind: str) -> Callable[[Any], float]:
    q = nz.QUANTITIES[kind]
    return lambda raw: nz.parse_quantity(raw, q)


def _coordinate(what_zh: str, what_en: str) -> Callable[[Any], float]:
    return lambda raw: nz.parse_float(raw, what_zh, what_en)


@dataclass(frozen=True)
class Column:
    """One input column: the field it fills, its aliases, its parser, whether it is
    required, whether a unit in its header applies to its bare numbers, and the
    :func:`~matcher.io.normalise.screen` kind of its parser ("" for none)."""

    field: str
    aliases: tuple[str, ...]
    parse: Callable[[Any], Any]
    required: bool = False
    takes_unit: bool = False
    screen: str = ""


def _C(field: str, aliases: str, parse: Callable[[Any], Any], required: bool = False,
       takes_unit: bool = False, screen: str = "") -> Column:
    return Column(field, tuple(aliases.split()), parse, required, takes_unit, screen)


def _N(field: str, aliases: str, parse: Callable[[Any], Any], required: bool = False, screen: str = "") -> Column:
    """A numeric column: a unit in its header applies to its bare numbers."""
    return _C(field, aliases, parse, required, True, screen)


def _ID(raw: Any) -> str:
    return nz.parse_id(raw)


_COMMON_CONTACT = ("联系电话 电话 联系方式 手机 手机号 手机号码 电话号码 联系号码 联系人电话 联系人 联系人及电话 "
                   "联系人手机 contact phone")

LISTING_COLUMNS: tuple[Column, ...] = (
    _C("listing_id", "编号 房源编号 房源编码 编码 房源id id 房源号 房源代码 登记编号", _ID, True),
    _C("owner", "业主 企业名称 出租方 产权单位 房东 单位名称 权利人 出让方 业主名称 产权人 产权方 出租单位 出售方 "
                "业主单位 出租人 所属企业 公司名称 owner", _text),
    _C("contact", _COMMON_CONTACT, _text),
    _C("deal", "租售类型 类型 租售 交易类型 出租/出售 租售方式 交易方式 出租方式 租售情况 租售性质 出租出售 "
               "供应方式 租售形式 deal", lambda r: nz.parse_deal(r, "listing"), True),
    _C("town", "镇街 所在镇街 镇/街道 镇 乡镇 镇街道 所在镇 所属镇街 区域 所在区域 所属区域 镇街名称 街道 乡镇街道 "
               "town", nz.parse_town),
    _C("address", "地址 详细地址 坐落 位置 房源地址 厂房地址 坐落地址 具体地址 地点 房源位置 厂房位置 所在位置 "
                  "address", _text),
    _C("lat", "纬度 latitude lat", _coordinate("纬度", "latitude"), screen="float"),
    _C("lon", "经度 longitude lng lon", _coordinate("经度", "longitude"), screen="float"),
    _N("loc_approx_km", "位置精度", _quantity("distance"), screen="quantity:distance"),
    _C("park", "园区 所在园区 园区名称 所属园区 工业园区 park", _text),
    _C("micro_park", "小微园 是否小微园 小微企业园 是否小微企业园 小微园区 是否小微园区", _tri, screen="bool"),
    _N("area_m2", "面积 可租面积 可售面积 建筑面积 出租面积 房源面积 闲置面积 厂房面积 使用面积 空置面积 可用面积 "
                  "出售面积 租售面积 总面积 面积大小 area", nz.parse_listing_area, True, screen="listing_area"),
    _N("min_unit_m2", "最小分割面积 可分割最小面积 最小单元 最小单元面积 最小面积 起租面积 最小可租面积 分割面积 "
                      "最小出租面积 最小分割单元", _quantity("unit_area"), screen="quantity:unit_area"),
    _C("divisible_any", "可分割 是否可分割 能否分割 可否分割 是否分割", nz.parse_bool, screen="bool"),
    _N("rent", "租金 租价 出租价格 租金价格 租金单价 月租金 租金标准 出租单价 租赁价格 rent",
       _price("rent"), screen="rent"),
    _N("sale_price", "售价 出售价格 销售价格 出售单价 出售总价 总价 转让价格 转让价 销售单价",
       _price("sale"), screen="sale"),
    _C("negotiable", "面议 是否面议 价格面议 可议价 是否可议价", nz.parse_bool, screen="bool"),
    _N("floor", "楼层 所在楼层 层次 所在层 楼层位置 floor", _quantity("floor"), screen="quantity:floor"),
    _N("clear_height_m", "层高 净高 檐高 檐口高度 高度 厂房高度", _quantity("height"), screen="quantity:height"),
    _N("floor_load_kg_m2", "承重 楼面承重 地面承重 荷载 楼板承重 地坪承重 承重能力 楼面荷载 地面荷载",
       _quantity("load"), screen="quantity:load"),
    _N("power_kva", "配电 变压器容量 电力容量 配电容量 用电容量 变压器 电力 供电 供电容量 配电情况",
       _quantity("power"), screen="quantity:power"),
    _N("crane_t", "行车 行车吨位 行车情况 有无行车 是否有行车 行车配置 起重设备 吊车 天车 航车 crane",
       nz.parse_crane, screen="crane"),
    _C("crane_any", "", nz.parse_bool, screen="bool"),
    _C("fire_class", "火灾危险性 火灾危险性类别 消防类别 消防等级 火灾类别 生产类别",
       nz.parse_fire_class, screen="fire"),
    _C("eia_ok", "可环评 能否环评 可否环评 环评 能否办环评 可办环评", _tri, screen="bool"),
    _C("industries_allowed", "准入行业 允许行业 招商行业 准入产业 招商方向 产业定位 适合行业 可入驻行业",
       nz.parse_codes),
    _C("industries_banned", "禁入行业 禁止行业 限制行业 禁入产业 不准入行业 限制产业", nz.parse_codes),
    _C("tenant_industries", "行业 现有行业 入驻企业行业 园区行业 现有产业", nz.parse_codes),
    _C("title_certificate", "产权证 不动产权证 有无产权证 是否有产权证 产证 不动产证 房产证 权证 产权 产证情况 "
                            "产权情况", _tri, screen="bool"),
    _C("available_from", "可入驻日期 可入驻时间 交付时间 空置时间 可用日期 入驻时间 可租日期 交房时间 可交付时间 "
                         "起租时间 可使用时间 交付日期", nz.parse_date, screen="date"),
    _N("min_lease_months", "最短租期 起租期 租期要求 租期 最低租期 起租年限 租赁期限",
       _quantity("months"), screen="quantity:months"),
    _N("min_tax_per_mu", "亩均税收 亩均税收要求 准入亩均税收 亩均税收门槛", _quantity("tax"), screen="quantity:tax"),
    _C("min_rating", "亩均评价 亩均评价要求 准入亩均评价 亩均等级 亩均评价等级", nz.parse_rating, screen="rating"),
)

DEMAND_COLUMNS: tuple[Column, ...] = (
    _C("demand_id", "编号 需求编号 需求编码 编码 id 需求id 登记编号", _ID, True),
    _C("company", "企业名称 企业 公司 公司名称 需求企业 单位名称 需求方 企业全称 单位 申请单位 需求单位 "
                  "统一社会信用代码 信用代码 company", _text),
    _C("contact", _COMMON_CONTACT, _text),
    _C("deal", "需求类型 类型 租购类型 求租/求购 租售 租售类型 租购 租赁方式 交易方式 需求方式 租售方式 求租求购 "
               "租/购 租购方式 需求性质 交易类型 deal", lambda r: nz.parse_deal(r, "demand"), True),
    _N("area", "需求面积 面积 意向面积 所需面积 需要面积 拟租面积 拟购面积 需求厂房面积 area area_m2",
       nz.parse_area, screen="area"),
    _N("area_min_m2", "最小面积 面积下限 最小需求面积", _quantity("area_bound"), screen="quantity:area_bound"),
    _N("area_max_m2", "最大面积 面积上限 最大需求面积", _quantity("area_bound"), screen="quantity:area_bound"),
    _C("towns", "意向镇街 意向区域 意向位置 期望镇街 意向镇/街道 意向镇 意向地点 意向乡镇 目标区域 期望区域 选址意向 "
                "意向选址 需求区域 区域 意向地址 所需区域 towns", nz.parse_towns),
    _C("origin", "现址 现厂址 所在镇街 镇街 地址 现所在地 现地址 企业地址 现经营地址 所在地 现生产地址 origin",
       _text),
    _C("origin_lat", "纬度 latitude lat", _coordinate("纬度", "latitude"), screen="float"),
    _C("origin_lon", "经度 longitude lng lon", _coordinate("经度", "longitude"), screen="float"),
    _C("anchor", "配套企业 龙头企业 主要客户 产业链龙头 配套龙头 配套对象 anchor", _text),
    _C("anchor_lat", "配套企业纬度", _coordinate("纬度", "latitude"), screen="float"),
    _C("anchor_lon", "配套企业经度", _coordinate("经度", "longitude"), screen="float"),
    _N("max_distance_km", "最远距离 距离要求 可接受距离 距离 最大距离",
       _quantity("distance"), screen="quantity:distance"),
    _N("max_rent", "租金预算 租金要求 可承受租金 租金 意向租金 期望租金 租金上限 预算租金 可接受租金 租价",
       _price("rent"), screen="rent"),
    _N("max_sale_price", "购买预算 购买单价预算 购价预算 售价 意向售价 可承受价格 购买价格 购置预算 预算单价",
       _price("sale"), screen="sale"),
    _C("industry_code", "行业代码 行业 所属行业 行业类别 产业 所属产业 行业分类 主营行业 行业名称 industry",
       nz.parse_industry),
    _N("min_clear_height_m", "层高要求 净高要求 层高 净高 高度要求", _quantity("height"), screen="quantity:height"),
    _N("min_floor_load_kg_m2", "承重要求 承重 荷载要求 地面承重要求 楼面承重要求",
       _quantity("load"), screen="quantity:load"),
    _N("min_power_kva", "用电需求 配电需求 用电容量 配电 电力需求 配电要求 用电要求 变压器需求",
       _quantity("power"), screen="quantity:power"),
    _N("crane_t", "行车需求 行车要求 行车 是否需要行车 需要行车 需行车 行车吨位",
       lambda r: nz.parse_crane(r, "crane_any"), screen="crane"),
    _C("crane_any", "", nz.parse_bool, screen="bool"),
    _C("ground_floor", "需一楼 需要一楼 是否需一楼 一楼 是否需要一楼", _tri, screen="bool"),
    _C("fire_class", "火灾危险性 生产火灾危险性 火灾危险性类别 生产类别 火灾类别", nz.parse_fire_class, screen="fire"),
    _C("needs_eia", "需环评 是否需环评 需要环评 环评 环评需求 环评要求", _tri, screen="bool"),
    _C("needs_certificate", "需产权证 需要产权证 是否需产权证 产权证要求", _tri, screen="bool"),
    _C("move_in_by", "入驻时间 计划入驻时间 需求时间 期望入驻时间 入驻日期 拟入驻时间 计划入驻 用房时间 需求日期 "
                     "搬迁时间 预计入驻时间 时间要求", nz.parse_date, screen="date"),
    _N("lease_months", "租期 意向租期 租赁期限 租用期限 计划租期", _quantity("months"), screen="quantity:months"),
    _N("tax_per_mu", "亩均税收", _quantity("tax"), screen="quantity:tax"),
    _C("rating", "亩均评价 亩均评价等级 亩均等级", nz.parse_rating, screen="rating"),
    _C("srdi", "专精特新 是否专精特新 专精特新企业", _tri, screen="bool"),
)

UPDATED_ALIASES = frozenset(fold_header(a) for a in (
    "登记日期", "更新日期", "登记时间", "更新时间", "填报日期", "填报时间", "录入日期", "录入时间", "修改日期",
    "修改时间", "最后更新", "updated_at", "updated", "更新于"))
"""Headers of a column giving when a row was written or last updated: with two rows of
one id, the one with the latest date is kept (see :mod:`matcher.io.ingest`)."""

REQUIRED: dict[str, tuple[tuple[str, tuple[tuple[str, ...], ...], str, str], ...]] = {
    # side -> (name, alternatives (each a set of fields that together satisfy it), zh, en)
    "listing": (
        ("id", (("listing_id",),), "编号", "id"),
        ("deal", (("deal",),), "租售类型", "deal"),
        ("area", (("area_m2",),), "面积", "area"),
        ("location", (("town",), ("lat", "lon"), ("address",)), "镇街/经纬度/地址", "town, coordinates or address"),
    ),
    "demand": (
        ("id", (("demand_id",),), "编号", "id"),
        ("deal", (("deal",),), "需求类型", "deal"),
        ("area", (("area",), ("area_min_m2",), ("area_max_m2",)), "需求面积", "area"),
    ),
}
"""The columns a file must have, per side: a file without one is refused whole."""

# words a header that means a required field is likely to hold
_LOOKS_LIKE = {
    "id": ("编号", "编码", "序号", "代码", "号码", "id", "no"),
    "deal": ("租售", "出租", "出售", "求租", "求购", "租购", "类型", "方式", "交易", "性质", "租赁"),
    "area": ("面积", "平方", "平米", "㎡", "m2", "亩", "大小", "规模"),
    "location": ("镇", "街道", "地址", "位置", "坐落", "区域", "地点", "经度", "纬度", "坐标", "乡", "所在"),
}


def near_misses(requirement: str, headers: list[str]) -> list[str]:
    """Headers among ``headers`` (all unrecognised) that look like they mean ``requirement``."""
    words = _LOOKS_LIKE[requirement]
    return [h for h in headers if any(w in fold_header(h) for w in words)]


def column_lookup(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Folded header (canonical name or alias) → column."""
    out: dict[str, Column] = {}
    for col in columns:
        for name in (col.field, *col.aliases):
            out.setdefault(fold_header(name), col)
    return out


# words around a known name that add nothing to it
_PREFIXES = ("房源", "厂房", "需求", "意向", "企业", "拟", "所需", "期望", "是否", "有无", "可否", "能否", "目前",
             "现有", "要求", "计划", "预计", "希望")
_SUFFIXES = ("要求", "需求", "情况", "信息", "大小")


def resolve_header(header: str, lookup: dict[str, Column]) -> Column | None:
    """The column ``header`` names (see the module docstring), or None."""
    key = fold_header(header)
    col = lookup.get(key)
    if col is not None or not key:
        return col
    found: set[str] = set()
    hits: list[Column] = []

    def add(k: str) -> None:
        c = lookup.get(k)
        if c is not None and c.field not in found:
            found.add(c.field)
            hits.append(c)

    m = _UNIT_TAIL.search(key)
    if m and m.start() > 0:
        add(key[: m.start()].rstrip("/"))
    for p in _PREFIXES:
        if key.startswith(p) and len(key) > len(p) + 1:
            add(key[len(p):])
    for s in _SUFFIXES:
        if key.endswith(s) and len(key) > len(s) + 1:
            add(key[: -len(s)])
    if len(key) >= 4:
        for k in range(2, len(key) - 1):
            add(key[k:] + key[:k])
    return hits[0] if len(hits) == 1 else None
