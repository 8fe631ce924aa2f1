"""Input columns: which headers name which field, and which parser reads it.

A column is recognised by its canonical name or one of its Chinese aliases, after
folding (NFKC, lower case, no spaces, no ``*``, no unit in brackets: ``面积(㎡)`` is
``面积``). Each column has a parser from :data:`PARSERS` that turns one cell into a
dict of field updates; parsers are pure, so ingestion caches them per distinct cell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matcher.io import normalise as nz

__all__ = ["DEMAND_COLUMNS", "LISTING_COLUMNS", "Column", "column_lookup", "fold_header"]


def fold_header(h: str) -> str:
    """Canonical form of a header for matching (``" 面积（㎡）* "`` → ``"面积"``)."""
    s = unicodedata.normalize("NFKC", h).strip().lower()
    s = re.sub(r"\(.*?\)|\[.*?\]", "", s)
    return re.sub(r"[\s*:]", "", s)


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return unicodedata.normalize("NFKC", str(raw)).strip() if isinstance(raw, str) else str(raw)


def _id(raw: Any) -> str:
    s = _text(raw)
    if not s:
        raise nz.CellError("编号为空", "id is empty")
    return s


def _tri(raw: Any) -> int:
    return int(nz.parse_bool(raw))


def _price(kind: str) -> Callable[[Any], nz.Price]:
    return lambda raw: nz.parse_price(raw, kind)


def _quantity(kind: str) -> Callable[[Any], float]:
    q = nz.QUANTITIES[kind]
    return lambda raw: nz.parse_quantity(raw, q)


def _coordinate(what_zh: str, what_en: str) -> Callable[[Any], float]:
    return lambda raw: nz.parse_float(raw, what_zh, what_en)


def _listing_area(raw: Any) -> float:
    area = nz.parse_area(raw)
    if area.lo == area.hi or area.about:
        return area.value  # "约2千平": a listing's area is the value written
    raise nz.CellError(f"房源面积应为一个数值，不能是范围：{raw}",
                       f"a listing's area must be one value, not a range: {str(raw)!r}")


@dataclass(frozen=True)
class Column:
    """One input column: the field it fills, its aliases, its parser, and whether required."""

    field: str
    aliases: tuple[str, ...]
    parse: Callable[[Any], Any]
    required: bool = False


def _C(field: str, aliases: str, parse: Callable[[Any], Any], required: bool = False) -> Column:
    return Column(field, tuple(aliases.split()), parse, required)


_COMMON_CONTACT = "联系电话 电话 联系方式 手机 手机号 联系人电话"

LISTING_COLUMNS: tuple[Column, ...] = (
    _C("listing_id", "编号 房源编号 房源id id", _id, True),
    _C("owner", "业主 企业名称 出租方 产权单位 房东 单位名称 权利人 出让方", _text),
    _C("contact", _COMMON_CONTACT, _text),
    _C("deal", "租售类型 类型 租售 交易类型 出租/出售", lambda r: nz.parse_deal(r, "listing"), True),
    _C("town", "镇街 所在镇街 镇(街道) 镇/街道 乡镇 镇街道", nz.parse_town),
    _C("address", "地址 详细地址 坐落 位置 房源地址", _text),
    _C("lat", "纬度 latitude", _coordinate("纬度", "latitude")),
    _C("lon", "经度 longitude lng", _coordinate("经度", "longitude")),
    _C("loc_approx_km", "位置精度", _quantity("distance")),
    _C("park", "园区 所在园区 园区名称", _text),
    _C("micro_park", "小微园 是否小微园 小微企业园 是否小微企业园", _tri),
    _C("area_m2", "面积 可租面积 可售面积 建筑面积 出租面积 房源面积 闲置面积 area", _listing_area, True),
    _C("min_unit_m2", "最小分割面积 可分割最小面积 最小单元 最小单元面积", _quantity("unit_area")),
    _C("rent", "租金 租价 出租价格 租金价格", _price("rent")),
    _C("sale_price", "售价 出售价格 销售价格 出售单价", _price("sale")),
    _C("negotiable", "面议 是否面议 价格面议", nz.parse_bool),
    _C("floor", "楼层 所在楼层 层次", _quantity("floor")),
    _C("clear_height_m", "层高 净高 檐高", _quantity("height")),
    _C("floor_load_kg_m2", "承重 楼面承重 地面承重 荷载", _quantity("load")),
    _C("power_kva", "配电 变压器容量 电力容量 配电容量 用电容量", _quantity("power")),
    _C("crane_t", "行车 行车吨位 行车情况", _quantity("crane")),
    _C("fire_class", "火灾危险性 火灾危险性类别 消防类别 消防等级", nz.parse_fire_class),
    _C("eia_ok", "可环评 能否环评 可否环评", _tri),
    _C("industries_allowed", "准入行业 允许行业 招商行业 准入产业", nz.parse_codes),
    _C("industries_banned", "禁入行业 禁止行业 限制行业 禁入产业", nz.parse_codes),
    _C("tenant_industries", "行业 现有行业 入驻企业行业 园区行业 现有产业", nz.parse_codes),
    _C("title_certificate", "产权证 不动产权证 有无产权证 产证 不动产证", _tri),
    _C("available_from", "可入驻日期 可入驻时间 交付时间 空置时间 可用日期", nz.parse_date),
    _C("min_lease_months", "最短租期 起租期 租期要求", _quantity("months")),
    _C("min_tax_per_mu", "亩均税收 亩均税收要求 准入亩均税收", _quantity("tax")),
    _C("min_rating", "亩均评价 亩均评价要求 准入亩均评价", nz.parse_rating),
)

DEMAND_COLUMNS: tuple[Column, ...] = (
    _C("demand_id", "编号 需求编号 id", _id, True),
    _C("company", "企业名称 企业 公司 公司名称 需求企业 单位名称", _text),
    _C("contact", _COMMON_CONTACT, _text),
    _C("deal", "需求类型 类型 租购类型 求租/求购", lambda r: nz.parse_deal(r, "demand"), True),
    _C("area", "需求面积 面积 意向面积 所需面积 area area_m2", nz.parse_area),
    _C("area_min_m2", "最小面积 面积下限", _quantity("area_bound")),
    _C("area_max_m2", "最大面积 面积上限", _quantity("area_bound")),
    _C("towns", "意向镇街 意向区域 意向位置 期望镇街 意向镇(街道)", nz.parse_towns),
    _C("origin", "现址 现厂址 所在镇街 镇街 地址 现所在地 现地址", _text),
    _C("origin_lat", "纬度 latitude", _coordinate("纬度", "latitude")),
    _C("origin_lon", "经度 longitude lng", _coordinate("经度", "longitude")),
    _C("anchor", "配套企业 龙头企业 主要客户 产业链龙头 配套龙头", _text),
    _C("anchor_lat", "配套企业纬度", _coordinate("纬度", "latitude")),
    _C("anchor_lon", "配套企业经度", _coordinate("经度", "longitude")),
    _C("max_distance_km", "最远距离 距离要求 可接受距离 距离", _quantity("distance")),
    _C("max_rent", "租金预算 租金要求 可承受租金 租金", _price("rent")),
    _C("max_sale_price", "购买预算 购买单价预算 购价预算 售价", _price("sale")),
    _C("industry_code", "行业代码 行业 所属行业 行业类别", nz.parse_industry),
    _C("min_clear_height_m", "层高要求 净高要求 层高", _quantity("height")),
    _C("min_floor_load_kg_m2", "承重要求 承重", _quantity("load")),
    _C("min_power_kva", "用电需求 配电需求 用电容量 配电", _quantity("power")),
    _C("crane_t", "行车需求 行车要求 行车", _quantity("crane")),
    _C("ground_floor", "需一楼 需要一楼 是否需一楼 一楼", _tri),
    _C("fire_class", "火灾危险性 生产火灾危险性 火灾危险性类别", nz.parse_fire_class),
    _C("needs_eia", "需环评 是否需环评 需要环评", _tri),
    _C("needs_certificate", "需产权证 需要产权证 是否需产权证", _tri),
    _C("move_in_by", "入驻时间 计划入驻时间 需求时间 期望入驻时间", nz.parse_date),
    _C("lease_months", "租期 意向租期", _quantity("months")),
    _C("tax_per_mu", "亩均税收", _quantity("tax")),
    _C("rating", "亩均评价 亩均评价等级", nz.parse_rating),
    _C("srdi", "专精特新 是否专精特新", _tri),
)


def column_lookup(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Folded header (canonical name or alias) → column."""
    out: dict[str, Column] = {}
    for col in columns:
        for name in (col.field, *col.aliases):
            out.setdefault(fold_header(name), col)
    return out
