"""Reading tables: required fields, warnings, duplicates, unknown columns, whole-file errors."""

import json
import math

import numpy as np
import pytest

from matcher import InputFileError, read_demands, read_listings
from matcher.records import AVAILABLE_NOW, DEAL_BOTH, DEAL_LEASE
from scoring.reference import gazetteer

GOOD_LISTING = {"编号": "L1", "租售类型": "出租", "镇街": "周巷", "面积": "2000平", "租金": "15元/平/月"}
GOOD_DEMAND = {"编号": "D1", "需求类型": "求租", "需求面积": "500-800平"}


def _problems(result, severity=None):
    return [(p.row, p.field, p.severity) for p in result.report if severity in (None, p.severity)]


def test_listing_fields_are_normalised_and_located_from_the_town():
    r = read_listings([{**GOOD_LISTING, "层高": "层高8米", "可入驻日期": "现房", "火灾危险性": "丙类",
                        "准入行业": "C38、2929", "产权证": "有", "亩均评价": "B类"}])
    rec = r.records.record(0)
    g = gazetteer()
    i = g.find("周巷镇")
    assert rec["town"] == "周巷镇" and rec["lat"] == g.lat[i] and rec["loc_approx_km"] == g.approx_km[i]
    assert rec["area_m2"] == 2000 and rec["rent"] == 15 and rec["clear_height_m"] == 8
    assert rec["available_from"] == "now" and rec["fire_class"] == "丙"
    assert rec["industries_allowed"] == ["38", "2929"] and rec["title_certificate"] is True
    assert rec["min_rating"] == "B"
    assert r.records.available_from[0] == AVAILABLE_NOW
    assert r.report.n_rows == 1 and r.report.n_accepted == 1 and not list(r.report)


def test_given_coordinates_win_over_the_town():
    r = read_listings([{**GOOD_LISTING, "纬度": "30.18", "经度": "121.13"}])
    assert r.records.lat[0] == 30.18 and r.records.lon[0] == 121.13 and r.records.loc_approx_km[0] == 0


def test_total_prices_are_divided_by_the_area():
    r = read_listings([{**GOOD_LISTING, "面积": "2000平", "租金": "月租3万", "租售类型": "租售均可",
                        "售价": "总价800万"}])
    assert r.records.rent[0] == pytest.approx(15.0)
    assert r.records.sale_price[0] == pytest.approx(4000.0)
    assert r.records.deal[0] == DEAL_BOTH


def test_demand_total_budget_uses_the_largest_wanted_area():
    r = read_demands([{**GOOD_DEMAND, "租金预算": "月租1万"}])
    assert r.records.max_rent[0] == pytest.approx(10000 / 800)


def test_demand_budget_range_keeps_the_upper_end():
    r = read_demands([{**GOOD_DEMAND, "租金预算": "15-20元/平/月"}])
    assert r.records.max_rent[0] == 20


def test_negotiable_listing():
    r = read_listings([{**GOOD_LISTING, "租金": "面议"}])
    assert r.records.negotiable[0] and math.isnan(r.records.rent[0])


def test_demand_area_forms_and_separate_columns():
    r = read_demands([
        {**GOOD_DEMAND, "编号": "D1", "需求面积": "约1000平"},
        {**GOOD_DEMAND, "编号": "D2", "需求面积": "800平以上"},
        {"编号": "D3", "需求类型": "求购", "area_min_m2": "600"},
        {"编号": "D4", "需求类型": "求购", "area_max_m2": "600"},
    ])
    d = r.records
    assert (d.area_min_m2[0], d.area_max_m2[0]) == (900, 1100)
    assert d.area_min_m2[1] == 800 and math.isinf(d.area_max_m2[1])
    assert d.area_min_m2[2] == 600 and math.isinf(d.area_max_m2[2])
    assert d.area_min_m2[3] == 0 and d.area_max_m2[3] == 600


def test_buyers_need_a_certificate_by_default():
    r = read_demands([
        {**GOOD_DEMAND, "编号": "D1", "需求类型": "求购"},
        {**GOOD_DEMAND, "编号": "D2", "需求类型": "求租"},
        {**GOOD_DEMAND, "编号": "D3", "需求类型": "求购", "需产权证": "否"},
    ])
    assert list(r.records.needs_certificate) == [1, -1, 0]


def test_origin_and_anchor_are_located():
    r = read_demands([{**GOOD_DEMAND, "现址": "宗汉街道", "配套企业": "公牛集团（观海卫镇）"},
                      {**GOOD_DEMAND, "编号": "D2", "现址": "30.2,121.2", "配套企业": "某龙头"}])
    g = gazetteer()
    assert r.records.origin_lat[0] == g.lat[g.find("宗汉街道")]
    assert r.records.anchor_lon[0] == g.lon[g.find("观海卫镇")]
    assert (r.records.origin_lat[1], r.records.origin_lon[1]) == (30.2, 121.2)
    assert math.isnan(r.records.anchor_lat[1]) and r.records.anchor[1] == "某龙头"
    assert _problems(r) == [(3, "anchor", "warning")]


def test_geocoder_hook_locates_free_addresses_and_failures_are_warnings():
    calls = []

    class Loc:
        latitude, longitude = 30.25, 121.3

    class Geo:
        def geocode(self, query):
            calls.append(query)
            if "坏" in query:
                raise RuntimeError("service down")
            return Loc()

    rows = [
        {"编号": "L1", "租售类型": "出租", "地址": "某路1号", "面积": "100"},
        {"编号": "L2", "租售类型": "出租", "地址": "某路1号", "面积": "100"},
        {"编号": "L3", "租售类型": "出租", "地址": "坏地址", "面积": "100"},
    ]
    r = read_listings(rows, geocoder=Geo())
    assert list(r.records.ids) == ["L1", "L2"] and r.records.lat[0] == 30.25
    assert math.isnan(r.records.loc_approx_km[0])
    assert calls == ["某路1号", "坏地址"]  # once per distinct address
    assert _problems(r, "error") == [(4, "address", "error")]
    # with no geocoder nothing is located and nothing touches the network
    assert read_listings(rows).report.n_accepted == 0


@pytest.mark.parametrize(("cells", "field"), [
    ({"编号": ""}, "listing_id"),
    ({"租售类型": ""}, "deal"),
    ({"租售类型": "求租"}, "deal"),
    ({"面积": ""}, "area_m2"),
    ({"面积": "面议"}, "area_m2"),
    ({"面积": "500-800平"}, "area_m2"),
    ({"镇街": "北京"}, "town"),
    ({"镇街": ""}, "town"),
])
def test_listing_required_fields_reject_the_row(cells, field):
    r = read_listings([GOOD_LISTING, {**GOOD_LISTING, "编号": "L2", **cells}])
    assert r.report.n_accepted == 1 and r.report.rejected_rows == [3]
    assert (3, field, "error") in _problems(r)


@pytest.mark.parametrize(("cells", "field"), [
    ({"需求类型": "出租"}, "deal"), ({"需求面积": ""}, "area"), ({"需求面积": "面议"}, "area"),
    ({"编号": None}, "demand_id"),
])
def test_demand_required_fields_reject_the_row(cells, field):
    r = read_demands([GOOD_DEMAND, {**GOOD_DEMAND, "编号": "D2", **cells}])
    assert r.report.n_accepted == 1 and (3, field, "error") in _problems(r)


@pytest.mark.parametrize(("cells", "field", "attr"), [
    ({"租金": "-5"}, "rent", "rent"),
    ({"纬度": "121.2", "经度": "30.1"}, "lat", None),
    ({"纬度": "95", "经度": "121.1"}, "lat", None),
    ({"纬度": "30.2"}, "lat", None),
    ({"准入行业": "C9999"}, "industries_allowed", None),
    ({"火灾危险性": "高"}, "fire_class", "fire_class"),
    ({"可入驻日期": "2026-02-30"}, "available_from", "available_from"),
    ({"承重": "2"}, "floor_load_kg_m2", "floor_load_kg_m2"),
    ({"最小分割面积": "5000平"}, "min_unit_m2", "min_unit_m2"),
])
def test_bad_optional_fields_are_emptied_and_warned(cells, field, attr):
    r = read_listings([{**GOOD_LISTING, **cells}])
    assert r.report.n_accepted == 1
    assert _problems(r) == [(2, field, "warning")]
    rec = r.records.record(0)
    if attr:
        assert rec[attr] in (None, "", [])
    # a swapped pair falls back to the town, never to the swapped numbers
    assert rec["lat"] == pytest.approx(gazetteer().lat[gazetteer().find("周巷镇")])


def test_duplicate_id_with_the_same_content_is_kept_once():
    r = read_listings([GOOD_LISTING, {**GOOD_LISTING, "编号": "L2"}, GOOD_LISTING])
    assert list(r.records.ids) == ["L1", "L2"]
    assert r.report.n_merged == 1 and r.report.n_rejected == 0 and not r.report.by_severity("error")
    (p,) = r.report.by_severity("warning")
    assert p.row == 4 and p.field == "listing_id" and "row 2" in p.reason_en and "第 2 行" in p.reason_zh


def test_unknown_columns_are_carried_through_and_listed_once():
    r = read_listings([{**GOOD_LISTING, "备注": "朝南"}, {**GOOD_LISTING, "编号": "L2", "备注": ""}])
    assert r.unknown_columns == ("备注",)
    assert list(r.records.extra["备注"]) == ["朝南", ""]
    info = r.report.by_severity("info")
    assert len(info) == 1 and info[0].field == "备注" and info[0].row == 1


def test_problem_rows_carry_every_report_column():
    r = read_listings([{**GOOD_LISTING, "租金": "-5"}])
    (p,) = r.report.problems
    assert p.as_row() == {"file": "<list>", "row": 2, "id": "L1", "field": "rent", "value": "-5",
                          "severity": "warning", "reason_zh": p.reason_zh, "reason_en": p.reason_en}
    assert "租金" in p.reason_zh and "rent" in p.reason_en


def test_headers_with_units_and_spaces_are_recognised():
    r = read_listings([{" 编号 ": "L1", "租售类型*": "出租", "镇街": "周巷", "面积(㎡)": "100",
                        "租金（元/㎡/月）": 12}])
    assert r.records.area_m2[0] == 100 and r.records.rent[0] == 12 and not r.unknown_columns


def test_canonical_headers_work():
    r = read_demands([{"demand_id": "D1", "deal": "either", "area_min_m2": 100, "area_max_m2": 200,
                       "towns": "周巷镇|长河镇", "industry_code": "2929"}])
    d = r.records
    assert d.deal[0] == DEAL_BOTH and list(d.towns[0]) == [gazetteer().find("周巷"), gazetteer().find("长河")]


def test_dict_of_columns_and_dataframe():
    pd = pytest.importorskip("pandas")
    cols = {"编号": ["L1", "L2"], "租售类型": ["出租", "出售"], "镇街": ["周巷", "浒山"], "面积": [100, None]}
    a = read_listings(cols)
    b = read_listings(pd.DataFrame(cols))
    assert a.records.equals(b.records) and list(a.records.ids) == ["L1"]
    assert a.report.rejected_rows == b.report.rejected_rows == [3]


def _csv_text():
    return "编号,租售类型,镇街,面积,租金\nL1,出租,周巷,2000平,15元/平/月\nL2,出租,长河镇,3亩,面议\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = tmp_path / "l.csv"
    path.write_bytes(_csv_text().encode(encoding))
    r = read_listings(path)
    assert list(r.records.ids) == ["L1", "L2"] and r.records.area_m2[1] == pytest.approx(2000)
    assert r.records.town[1] == gazetteer().find("长河镇")


def test_title_row_above_the_header_is_skipped_and_rows_are_sheet_rows(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("慈溪市厂房登记表,,,,\n" + _csv_text().replace("2000平", "-3"), encoding="utf-8")
    r = read_listings(path)
    assert r.report.rejected_rows == [3]  # title 1, header 2, first record 3


def test_tab_separated_and_blank_rows(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text(_csv_text().replace(",", "\t").replace("\nL2", "\n\t\t\t\t\nL2"), encoding="utf-8")
    r = read_listings(path)
    assert r.report.n_rows == 2 and r.report.n_accepted == 2 and r.records.rows.tolist() == [2, 4]


def test_xlsx_named_sheet(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["无关"])
    ws = wb.create_sheet("房源")
    for line in _csv_text().splitlines():
        ws.append(line.split(","))
    path = tmp_path / "l.xlsx"
    wb.save(path)
    assert list(read_listings(path, sheet="房源").records.ids) == ["L1", "L2"]
    with pytest.raises(InputFileError, match="no sheet named"):
        read_listings(path, sheet="missing")


@pytest.mark.parametrize(("content", "name", "reason"), [
    (None, "missing.csv", "file not found"),
    (b"", "empty.csv", "file is empty"),
    (b"\x00\x01\x02\x03binary", "bin.csv", "binary"),
    (b"abc,\x80\xff\n", "bad.csv", "neither UTF-8 nor GB18030"),
    ("名称,电话\n甲,1\n".encode(), "noid.csv", "缺少必填列"),
    ("编号,面积\n".encode(), "header.csv", "no records"),
    (b"[1, 2]", "x.json", "not an object"),
    (b"{\"a\": 1", "x.json", "invalid JSON"),
    (b"{\"a\": 1}", "x.json", "array of objects"),
    (b"PK\x03\x04garbage", "x.xlsx", "not a readable XLSX"),
    (b"whatever", "x.xls", "save it as .xlsx"),
])
def test_whole_file_problems_raise_one_clear_error(tmp_path, content, name, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError) as exc:
        read_listings(path)
    assert reason in str(exc.value) and str(path) in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_json_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({**GOOD_DEMAND, "编号": f"D{k}"}, ensure_ascii=False) for k in range(3)))
    r = read_demands(path)
    assert list(r.records.ids) == ["D0", "D1", "D2"] and r.records.deal[0] == DEAL_LEASE
    assert np.all(r.records.area_max_m2 == 800)


def test_empty_in_memory_tables_raise():
    with pytest.raises(InputFileError):
        read_listings([])
    with pytest.raises(InputFileError):
        read_listings({"编号": [1], "面积": [1, 2]})
    with pytest.raises(InputFileError):
        read_listings(42)


ISSUE_ALIASES = [
    "编号", "业主", "企业名称", "租售类型", "需求类型", "镇街", "意向镇街", "地址", "经度", "纬度", "面积",
    "需求面积", "最小分割面积", "租金", "售价", "租金预算", "购买预算", "楼层", "层高", "层高要求", "承重",
    "承重要求", "配电", "用电需求", "行车", "行车需求", "需一楼", "火灾危险性", "可环评", "需环评", "产权证",
    "可入驻日期", "入驻时间", "行业", "行业代码", "准入行业", "禁入行业", "亩均税收", "亩均评价", "联系电话",
]


def test_every_header_alias_named_in_the_issue_is_recognised():
    from matcher.io.schema import DEMAND_COLUMNS, LISTING_COLUMNS, column_lookup, fold_header

    known = set(column_lookup(LISTING_COLUMNS)) | set(column_lookup(DEMAND_COLUMNS))
    assert [a for a in ISSUE_ALIASES if fold_header(a) not in known] == []


def test_demand_sheet_with_chinese_headers():
    row = {"编号": "D9", "企业名称": "甲", "需求类型": "求购", "需求面积": "3亩", "意向镇街": "周巷", "地址": "长河镇",
           "购买预算": "单价4000", "层高要求": "8米", "承重要求": "2吨", "用电需求": "500KVA", "行车需求": "5吨行车",
           "需一楼": "是", "火灾危险性": "丁", "需环评": "否", "入驻时间": "2027年1月", "行业代码": "C3451",
           "亩均税收": "30", "亩均评价": "A", "联系电话": "13900000000"}
    r = read_demands([row])
    rec = r.records.record(0)
    assert not list(r.report)
    assert rec["area_min_m2"] == pytest.approx(2000) and rec["max_sale_price"] == 4000
    assert rec["min_clear_height_m"] == 8 and rec["min_floor_load_kg_m2"] == 2000 and rec["min_power_kva"] == 500
    assert rec["crane_t"] == 5 and rec["ground_floor"] is True and rec["fire_class"] == "丁"
    assert rec["needs_eia"] is False and str(rec["move_in_by"]) == "2027-01-01" and rec["industry_code"] == "3451"
    assert rec["tax_per_mu"] == 30 and rec["rating"] == "A" and rec["needs_certificate"] is True
    assert rec["origin"] == "长河镇" and rec["origin_lat"] == gazetteer().lat[gazetteer().find("长河镇")]


def test_cell_cache_tells_true_from_one():
    rows = [{**GOOD_LISTING, "编号": "L1", "行车": True}, {**GOOD_LISTING, "编号": "L2", "行车": 1}]
    r = read_listings(rows)
    assert not list(r.report)
    # True: a crane of unwritten tonnage; 1: a one-tonne crane
    assert np.isnan(r.records.crane_t[0]) and r.records.crane_any[0]
    assert r.records.crane_t[1] == 1 and not r.records.crane_any[1]
