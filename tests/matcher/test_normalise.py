"""Table-driven tests: every form staff type (issue #2, section 4) and malformed forms."""

import math

import numpy as np
import pytest

from matcher.io import normalise as nz
from matcher.records import AVAILABLE_NOW, DEAL_BOTH, DEAL_LEASE, DEAL_SALE
from scoring.reference import gazetteer

MU = 10000 / 15

AREAS = [
    ("2000", 2000, 2000),
    (2000, 2000, 2000),
    ("2000㎡", 2000, 2000),
    ("2000m2", 2000, 2000),
    ("2,000平方米", 2000, 2000),
    ("２０００平米", 2000, 2000),
    ("3亩", 3 * MU, 3 * MU),
    ("二点五亩", 2.5 * MU, 2.5 * MU),
    ("约2千平", 1800, 2200),
    ("约1000平", 900, 1100),
    ("1000平左右", 900, 1100),
    ("1.2万平", 12000, 12000),
    ("500-800平", 500, 800),
    ("500~800", 500, 800),
    ("3000～4000平", 3000, 4000),
    ("500到800平", 500, 800),
    ("500平-800平", 500, 800),
    ("800平以上", 800, math.inf),
    ("不超过1000平", 0, 1000),
    ("一千五百平", 1500, 1500),
]


@pytest.mark.parametrize(("raw", "lo", "hi"), AREAS)
def test_area_forms(raw, lo, hi):
    got = nz.parse_area(raw)
    assert got.lo == pytest.approx(lo) and got.hi == pytest.approx(hi)


@pytest.mark.parametrize("raw", ["面议", "500间", "abc", "-200平", "0", "2000平300平", "约", True, "3亩地块"])
def test_area_malformed(raw):
    with pytest.raises(nz.CellError) as exc:
        nz.parse_area(raw)
    assert exc.value.zh and exc.value.en


RENTS = [
    ("15元/平/月", 15), ("15元/㎡/月", 15), ("15元/平方米/月", 15), ("0.55元/㎡/天", 16.5),
    ("0.5元/平方米/天", 15), ("180元/㎡/年", 15), ("一年180一平", 15), ("15", 15), (15, 15),
    ("十五元", 15), ("18元/平方米·月", 18),
]


@pytest.mark.parametrize(("raw", "value"), RENTS)
def test_rent_forms(raw, value):
    p = nz.parse_price(raw, "rent")
    assert p.lo == pytest.approx(value) and not p.total and not p.negotiable


@pytest.mark.parametrize(("raw", "total"), [("月租5万", 50000), ("年租金30万", 25000)])
def test_rent_totals_are_per_month_before_division(raw, total):
    p = nz.parse_price(raw, "rent")
    assert p.total and p.lo == pytest.approx(total)


SALES = [("4000元/㎡", 4000, False), ("单价4000", 4000, False), ("0.4万/平", 4000, False),
         ("总价800万", 8e6, True), ("800万元", 8e6, True), ("4000元每平方米", 4000, False)]


@pytest.mark.parametrize(("raw", "value", "total"), SALES)
def test_sale_forms(raw, value, total):
    p = nz.parse_price(raw, "sale")
    assert p.lo == pytest.approx(value) and p.total is total


@pytest.mark.parametrize("raw", ["面议", "价格面议", "电话详谈", "租金面议"])
def test_negotiable_gives_no_price(raw):
    p = nz.parse_price(raw, "rent")
    assert p.negotiable and math.isnan(p.lo)


@pytest.mark.parametrize("raw", ["-5", "0", "便宜", "15元/平/月 20元/平/月", "0.55", "9999元/㎡/月"])
def test_rent_malformed(raw):
    with pytest.raises(nz.CellError):
        nz.parse_price(raw, "rent")


QUANTITIES = [
    ("height", "层高8米", 8), ("height", "9m", 9), ("height", "净高6.5m", 6.5), ("height", 7, 7),
    ("load", "1吨", 1000), ("load", "2T", 2000), ("load", "800公斤", 800), ("load", "1.5吨/㎡", 1500),
    ("load", "800kg/m2", 800),
    ("power", "500KVA", 500), ("power", "630千伏安", 630), ("power", "500kva", 500),
    ("crane", "10吨行车", 10), ("crane", "带两台5吨行车", 5), ("crane", "无", 0), ("crane", "16T", 16),
    ("floor", "一楼", 1), ("floor", "1F", 1), ("floor", "底楼", 1), ("floor", "首层", 1), ("floor", "3楼", 3),
    ("floor", "1-3层", 1),
    ("months", "3年", 36), ("months", "36个月", 36), ("months", "半年", 6),
    ("distance", "10公里", 10), ("distance", "10km", 10),
    ("tax", "30万元/亩", 30), ("tax", "30", 30),
]


@pytest.mark.parametrize(("kind", "raw", "value"), QUANTITIES)
def test_quantity_forms(kind, raw, value):
    assert nz.parse_quantity(raw, nz.QUANTITIES[kind]) == pytest.approx(value)


@pytest.mark.parametrize(("kind", "raw"), [
    ("height", "很高"), ("height", "-3米"), ("load", "2"), ("power", "500千瓦时"), ("crane", "有"),
    ("floor", "顶楼"), ("height", "8米9米"),
])
def test_quantity_malformed(kind, raw):
    with pytest.raises(nz.CellError):
        nz.parse_quantity(raw, nz.QUANTITIES[kind])


@pytest.mark.parametrize(("raw", "value"), [
    ("是", True), ("否", False), ("有", True), ("无", False), ("可", True), ("不可", False),
    ("Y", True), ("N", False), ("true", True), ("false", False), ("TRUE", True), (1, True), (0, False),
    (True, True),
])
def test_yes_no(raw, value):
    assert nz.parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["也许", "2", "yes please"])
def test_yes_no_malformed(raw):
    with pytest.raises(nz.CellError):
        nz.parse_bool(raw)


@pytest.mark.parametrize(("raw", "iso"), [
    ("2026-03-01", "2026-03-01"), ("2026/3/1", "2026-03-01"), ("2026年3月", "2026-03-01"),
    ("2026-03", "2026-03-01"), ("2026年3月15日", "2026-03-15"), ("2026.3.15", "2026-03-15"),
])
def test_dates(raw, iso):
    assert nz.parse_date(raw) == np.datetime64(iso)


def test_date_objects_and_now():
    import datetime as dt

    assert nz.parse_date(dt.datetime(2026, 5, 4, 13, 0)) == np.datetime64("2026-05-04")
    for raw in ("现房", "即可入驻", "now"):
        assert nz.parse_date(raw) == AVAILABLE_NOW


@pytest.mark.parametrize("raw", ["2026-02-30", "2027年13月", "下个月", "46082"])
def test_dates_malformed(raw):
    with pytest.raises(nz.CellError):
        nz.parse_date(raw)


@pytest.mark.parametrize(("raw", "code"), [("甲", 1), ("乙", 2), ("丙", 3), ("丁", 4), ("戊", 5), ("丙类", 3),
                                           ("丁类厂房", 4), ("丙二类", 3)])
def test_fire_class(raw, code):
    assert nz.parse_fire_class(raw) == code


@pytest.mark.parametrize("raw", ["高", "A", "丙丁", ""])
def test_fire_class_malformed(raw):
    with pytest.raises(nz.CellError):
        nz.parse_fire_class(raw)


@pytest.mark.parametrize(("raw", "side", "code"), [
    ("出租", "listing", DEAL_LEASE), ("出售", "listing", DEAL_SALE), ("租售均可", "listing", DEAL_BOTH),
    ("lease", "listing", DEAL_LEASE), ("lease_or_sale", "listing", DEAL_BOTH), ("Sale", "listing", DEAL_SALE),
    ("求租", "demand", DEAL_LEASE), ("求购", "demand", DEAL_SALE), ("租购均可", "demand", DEAL_BOTH),
    ("buy", "demand", DEAL_SALE), ("either", "demand", DEAL_BOTH),
])
def test_deals(raw, side, code):
    assert nz.parse_deal(raw, side) == code


@pytest.mark.parametrize(("raw", "side"), [("求租", "listing"), ("出租", "demand"), ("换租", "listing")])
def test_deals_wrong_side_or_unknown(raw, side):
    with pytest.raises(nz.CellError):
        nz.parse_deal(raw, side)


def _names(idx):
    return [str(gazetteer().names[i]) for i in idx]


@pytest.mark.parametrize(("raw", "names"), [
    ("周巷", ["周巷镇"]), ("周巷镇", ["周巷镇"]), ("浒山", ["浒山街道"]), ("慈溪市观海卫镇", ["观海卫镇"]),
    ("周巷、长河", ["周巷镇", "长河镇"]), ("周巷,长河", ["周巷镇", "长河镇"]), ("周巷，长河", ["周巷镇", "长河镇"]),
    ("周巷/长河", ["周巷镇", "长河镇"]), ("周巷；长河", ["周巷镇", "长河镇"]), ("周巷|长河", ["周巷镇", "长河镇"]),
    ("滨海经济开发区", ["滨海经济开发区"]), ("不限", []),
])
def test_towns(raw, names):
    assert _names(nz.parse_towns(raw)) == names


@pytest.mark.parametrize("raw", ["北京", "北京、上海"])
def test_towns_all_unknown_is_an_error(raw):
    with pytest.raises(nz.CellError):
        nz.parse_towns(raw)


@pytest.mark.parametrize(("raw", "code"), [
    ("C2929", "2929"), ("2929", "2929"), (2929, "2929"), ("家用厨房电器具制造", "3854"), ("38", "38"),
    ("C38", "38"), ("c3854", "3854"), ("塑料零件及其他塑料制品制造", "2929"), ("电气机械和器材制造业", "38"),
    ("C", "C"),
])
def test_industry(raw, code):
    assert nz.parse_industry(raw) == code


@pytest.mark.parametrize("raw", ["C9999", "9999", "A2929", "塑料", "纺织品制造"])
def test_industry_malformed(raw):
    with pytest.raises(nz.CellError):
        nz.parse_industry(raw)


def test_industry_lists():
    assert nz.parse_codes("C29、385、3854") == ("29", "385", "3854")
    assert nz.parse_codes("38|39") == ("38", "39")
    assert nz.parse_codes("不限") == ()


@pytest.mark.parametrize(("lat", "lon"), [(121.2, 30.1), (95.0, 30.0), (0.0, 0.0), (30.0, 200.0)])
def test_bad_coordinates(lat, lon):
    with pytest.raises(nz.CellError):
        nz.check_coordinates(lat, lon, f"{lat},{lon}")


def test_swapped_coordinates_are_named_as_such():
    with pytest.raises(nz.CellError, match="swapped"):
        nz.check_coordinates(121.2, 30.1, "")


@pytest.mark.parametrize("raw", [None, "", "  ", "-", "—", "N/A", float("nan")])
def test_blank(raw):
    assert nz.is_blank(raw)


@pytest.mark.parametrize("raw", ["0", 0, "无", "否"])
def test_not_blank(raw):
    assert not nz.is_blank(raw)
