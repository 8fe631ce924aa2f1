"""A screen (the characters a parser can read at all) never rejects a cell its parser
would read: the readers reject junk by its characters before parsing it (issue 12:
bad input within 2× the clean time), so a screen too narrow would silently refuse
good cells. Cells are built from the parsers' own words, numerals and units, with
characters no parser knows mixed in."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from matcher.io import normalise as nz

PARSERS = {
    "quantity:height": lambda s: nz.parse_quantity(s, nz.QUANTITIES["height"]),
    "quantity:load": lambda s: nz.parse_quantity(s, nz.QUANTITIES["load"]),
    "quantity:months": lambda s: nz.parse_quantity(s, nz.QUANTITIES["months"]),
    "quantity:unit_area": lambda s: nz.parse_quantity(s, nz.QUANTITIES["unit_area"]),
    "area": nz.parse_area,
    "listing_area": nz.parse_listing_area,
    "rent": lambda s: nz.parse_price(s, "rent"),
    "sale": lambda s: nz.parse_price(s, "sale"),
    "crane": nz.parse_crane,
    "date": nz.parse_date,
    "bool": nz.parse_bool,
    "fire": nz.parse_fire_class,
}

TOKENS = [
    "15", "2000", "0.5", "3", "二", "两", "千", "万", "十五", "壹仟", "1万2", "平", "㎡", "m2", "平方米", "亩",
    "元", "块",
    "/", "月", "天", "年", "每", "一平", "吨", "t", "kg", "米", "m", "kva", "千伏安", "行车", "带", "需要", "无", "有",
    "约", "左右", "以上", "不超过", "~", "-", "到", "面议", "可议", "价格", "租金", "总价", "可分割", "最小", "起租",
    "2026", "年", "3月", "底", "中旬", "现房", "尽快", "入驻", "是", "否", "丙类", "（", "）", "，", " ", "含税",
    "押一付三", "层高", "承重", "半", "点", "Ｔ", "２０", "丙", "丁", "戊", "类", "仓库", "的", "x", "#", "?", "好",
    "房", "€", "ß",
]


SEEDS = {  # cells each parser reads: the property is checked on them too, whatever is drawn
    "quantity:height": ["层高8米", "8.5m"], "quantity:load": ["2吨/㎡", "800kg"], "quantity:months": ["一年半", "3年"],
    "quantity:unit_area": ["500平起租", "最小1亩"], "area": ["约2千平", "500~800平方"],
    "listing_area": ["2000平（可分割，最小500平）", "3亩"], "rent": ["每月1万2", "15元/平/月（可议）"],
    "sale": ["总价800万", "0.45万/平"], "crane": ["带两台5吨行车", "需要行车"],
    "date": ["二〇二六年三月底", "尽快入驻"],
    "bool": ["是", "不需要"], "fire": ["丙类", "丁二类仓库"],
}


@pytest.fixture
def unchecked(monkeypatch):
    """The parsers without their own character check."""
    monkeypatch.setattr(nz, "_only", lambda *a: None)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_a_screen_never_rejects_a_readable_cell(unchecked, kind):
    screen = nz.screen(kind)
    read = 0

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None,
              derandomize=True)
    @given(cell=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map("".join))
    def check(cell):
        nonlocal read
        try:
            PARSERS[kind](cell)
        except nz.CellError:
            return
        read += 1
        assert screen.passes(cell), (kind, cell, set(cell) - screen.chars)

    for seed in SEEDS[kind]:
        check = example(cell=seed)(check)
    check()
    assert read >= len(SEEDS[kind])  # the seeds are read (and so, checked)
