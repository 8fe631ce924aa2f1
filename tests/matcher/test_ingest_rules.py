"""Issue 12: required columns, the wrong side, ids, duplicates in any order, text limits,
units in headers, one report line per bad cell, and what the file said kept for
explanations."""

import itertools
import math

import numpy as np
import pytest

from matcher import InputFileError, read_demands, read_listings, write_records
from matcher.records import ID_MAX_CHARS, TEXT_MAX_CHARS

L = {"编号": "L1", "租售类型": "出租", "镇街": "周巷", "面积": "2000平", "租金": "15元/平/月"}
D = {"编号": "D1", "需求类型": "求租", "需求面积": "500-800平"}


# ---------------------------------------------------------------------------
# required columns and the wrong side, refused whole


def _without(row, *keys, **extra):
    return {**{k: v for k, v in row.items() if k not in keys}, **extra}


@pytest.mark.parametrize(("side", "row", "missing_zh", "missing_en", "named"), [
    ("listing", _without(L, "面积"), "面积", "area", None),
    ("listing", _without(L, "面积", 占地面积="3亩"), "面积", "area", "占地面积"),
    ("listing", _without(L, "租售类型"), "租售类型", "deal", None),
    ("listing", _without(L, "租售类型", 合作方式="出租"), "租售类型", "deal", "合作方式"),
    ("listing", _without(L, "编号", 序号="1"), "编号", "id", "序号"),
    ("listing", _without(L, "镇街"), "镇街/经纬度/地址", "town, coordinates or address", None),
    ("listing", _without(L, "镇街", 经度="121.2"), "镇街/经纬度/地址", "town, coordinates or address", "经度"),
    ("listing", _without(L, "面积", "租售类型"), "租售类型、面积", "deal, area", None),
    ("demand", _without(D, "需求面积"), "需求面积", "area", None),
    ("demand", _without(D, "需求类型"), "需求类型", "deal", None),
    ("demand", _without(D, "编号"), "编号", "id", None),
])
def test_a_file_without_a_required_column_is_refused(side, row, missing_zh, missing_en, named):
    reader = read_listings if side == "listing" else read_demands
    with pytest.raises(InputFileError) as exc:
        reader([row])
    msg = str(exc.value)
    assert exc.value.reason.startswith(f"缺少必填列：{missing_zh}")
    assert f"missing required columns: {missing_en}" in msg
    if named:
        assert f"“{named}”" in msg and repr(named) in msg


@pytest.mark.parametrize("location", [{"地址": "周巷镇环城北路88号"}, {"纬度": "30.17", "经度": "121.15"}])
def test_location_columns_other_than_a_town_satisfy_a_listing(location):
    r = read_listings([{**_without(L, "镇街"), **location}])
    assert r.report.n_accepted == 1 and not math.isnan(r.records.lat[0])


def test_a_required_column_that_is_empty_on_a_row_rejects_only_that_row():
    r = read_listings([L, {**L, "编号": "L2", "面积": ""}])
    assert r.report.rejected_rows == [3] and list(r.records.ids) == ["L1"]


LISTING_SHEET = [{"编号": "L1", "业主": "甲厂", "租售类型": "出租", "镇街": "周巷", "面积": "2000平",
                  "可入驻日期": "现房", "产权证": "有"}]
DEMAND_SHEET = [{"需求编号": "D1", "企业名称": "乙厂", "需求类型": "求租", "需求面积": "800平", "意向镇街": "周巷",
                 "入驻时间": "2027年1月"}]


def test_a_listings_table_read_as_demands_is_refused():
    with pytest.raises(InputFileError, match="这像是房源表，不是需求表"):
        read_demands(LISTING_SHEET)


def test_a_demands_table_read_as_listings_is_refused():
    with pytest.raises(InputFileError, match="这像是需求表，不是房源表"):
        read_listings(DEMAND_SHEET)


def test_a_deal_column_of_the_other_side_is_refused():
    rows = [{"编号": f"D{k}", "租售": deal, "面积": "800平"} for k, deal in enumerate(["出租", "出售", "出租", "求租"])]
    with pytest.raises(InputFileError, match="房源的类型"):
        read_demands(rows)
    # one slip among many is a row error, not a wrong file
    rows = [{"编号": f"D{k}", "租售": deal, "面积": "800平"} for k, deal in enumerate(["求租", "求购", "出租", "求租"])]
    assert read_demands(rows).report.rejected_rows == [4]


# ---------------------------------------------------------------------------
# ids


@pytest.mark.parametrize(("raw", "want"), [
    (" CX-L001 ", "CX-L001"), ("ＣＸ－Ｌ００１", "CX-L001"), ("0012", "0012"), (12, "12"),
    ("x" * ID_MAX_CHARS, "x" * ID_MAX_CHARS), ("厂房 A", "厂房 A"),
])
def test_ids_accepted(raw, want):
    assert list(read_listings([{**L, "编号": raw}]).records.ids) == [want]


@pytest.mark.parametrize(("raw", "reason"), [
    (True, "true/false"), (False, "true/false"), ({"a": 1}, "dict"), ([1], "list"), (12.0, "float"),
    ("a/b", "/"), ("a\\b", "\\"), (".", "'.'"), ("..", "'..'"), ("a\nb", "line break"), ("a\x00b", "control"),
    ("\u200bL1", "control"), ("L\u202e1", "control"), ("x" * (ID_MAX_CHARS + 1), "too long"), ("   ", "missing"),
    ("-", "missing"),
])
def test_ids_rejected_with_a_reason(raw, reason):
    r = read_listings([{**L, "编号": raw}, {**L, "编号": "OK"}])
    assert list(r.records.ids) == ["OK"]
    (p,) = [p for p in r.report if p.row == 2]
    assert p.severity == "error" and p.field == "listing_id" and reason in p.reason_en and p.reason_zh


def test_a_numeric_id_from_a_csv_or_xlsx_cell_is_as_written(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("编号,租售类型,镇街,面积\n007,出租,周巷,100\n12,出租,周巷,100\n", encoding="utf-8")
    assert list(read_listings(path).records.ids) == ["007", "12"]


# ---------------------------------------------------------------------------
# duplicate ids, whatever the order


def test_identical_copies_are_kept_once_and_counted():
    r = read_listings([L, {**L, "编号": "L2"}, L, L])
    assert list(r.records.ids) == ["L1", "L2"]
    assert (r.report.n_rows, r.report.n_accepted, r.report.n_rejected, r.report.n_merged) == (4, 2, 0, 2)
    merged = [p for p in r.report if p.field == "listing_id"]
    assert [p.row for p in merged] == [4, 5] and all("2、4、5" in p.reason_zh for p in merged)


def test_differing_copies_are_all_rejected_naming_the_rows():
    r = read_listings([L, {**L, "编号": "L2"}, {**L, "面积": "900平"}])
    assert list(r.records.ids) == ["L2"] and r.report.rejected_rows == [2, 4]
    for p in r.report.by_severity("error"):
        assert p.reason_zh == "编号重复且内容不一致（第 2、4 行）"
        assert p.reason_en == "duplicate id with different content (rows 2, 4)"


def test_a_copy_rejected_for_another_reason_does_not_make_a_duplicate():
    r = read_listings([L, {**L, "面积": "面议"}])
    assert list(r.records.ids) == ["L1"] and r.report.rejected_rows == [3]


@pytest.mark.parametrize(("dates", "kept_area"), [
    (("2026-01-05", "2026-03-01"), 900),      # the later registration wins
    (("2026年3月1日", "2026-01-05"), 2000),
    (("2026-03-01", "2026-03-01"), None),      # a tie between different contents: none
    (("2026-03-01", "不详"), None),            # a date that cannot be read: none
])
def test_a_registration_date_column_picks_the_latest_copy(dates, kept_area):
    rows = [{**L, "登记日期": dates[0]}, {**L, "面积": "900平", "登记日期": dates[1]}]
    r = read_listings(rows)
    if kept_area is None:
        assert len(r.records) == 0 and r.report.rejected_rows == [2, 3]
    else:
        assert r.records.area_m2.tolist() == [kept_area] and len(r.report.rejected_rows) == 1
        assert "登记日期" in r.records.extra


ROWS = [L, {**L, "编号": "L2"}, {**L, "面积": "900平"}, {**L, "编号": "L2"}, {**L, "编号": "L3", "镇街": "长河"},
        {**L, "编号": "L4", "登记日期": "2026-01-01"}]


def _canonical(result):
    recs = result.records
    order = np.argsort(recs.ids)
    return recs.take(order).text_rows()


def test_every_order_of_the_rows_gives_the_same_records():
    want = _canonical(read_listings(ROWS))
    assert [r["listing_id"] for r in want] == ["L2", "L3", "L4"]
    for perm in itertools.permutations(range(len(ROWS))):
        assert _canonical(read_listings([ROWS[k] for k in perm])) == want


# ---------------------------------------------------------------------------
# text: control characters, line breaks, limits, memory


def test_control_characters_are_removed_with_a_warning_and_line_breaks_become_spaces(tmp_path):
    r = read_listings([{**L, "业主": "慈溪\x07某厂\n二期", "备注": "朝南\x1b[31m\t带办公"}])
    rec = r.records.record(0)
    assert rec["owner"] == "慈溪某厂 二期" and rec["备注"] == "朝南[31m 带办公"
    warned = {p.field: p for p in r.report.by_severity("warning")}
    assert set(warned) == {"owner", "备注"} and "control" in warned["owner"].reason_en
    write_records(r.records, tmp_path / "out.xlsx")  # the Excel writer takes what was read


def test_line_breaks_alone_are_no_warning():
    r = read_listings([{**L, "业主": "慈溪某厂\r\n二期"}])
    assert r.records.owner[0] == "慈溪某厂 二期" and not r.report.by_severity("warning")


def test_long_text_is_cut_with_a_warning_and_a_long_value_is_rejected():
    long = "长" * (TEXT_MAX_CHARS + 500)
    r = read_listings([{**L, "地址": "周巷镇" + long, "备注": long, "层高": "8" * 5000}])
    rec = r.records.record(0)
    assert len(rec["address"]) == len(rec["备注"]) == TEXT_MAX_CHARS
    problems = {p.field: p for p in r.report if p.severity != "info"}
    assert set(problems) == {"address", "备注", "clear_height_m"}
    assert "cut" in problems["address"].reason_en and "too long" in problems["clear_height_m"].reason_en
    assert all(len(p.value) <= 200 for p in r.report)


def test_one_long_cell_costs_memory_for_that_cell_only():
    n = 2000
    rows = [{**L, "编号": f"L{k}", "业主": f"厂{k}", "备注": "短"} for k in range(n)]
    rows[7]["业主"] = rows[7]["备注"] = "长" * TEXT_MAX_CHARS
    recs = read_listings(rows).records
    for col in (recs.owner, recs.address, recs.extra["备注"]):
        assert col.dtype == object and col.nbytes == 8 * n  # pointers, not n fixed-width strings
    assert isinstance(recs.owner[7], str) and len(recs.owner[7]) == TEXT_MAX_CHARS
    # the record operations keep Python str
    sub = recs.take(np.array([7, 1]))
    assert sub.owner.dtype == object and sub.record(0)["owner"] == recs.owner[7]
    both = type(recs).concat([sub, recs.take(np.array([3]))])
    assert both.extra["备注"].dtype == object and both.equals(recs.take(np.array([7, 1, 3])))


# ---------------------------------------------------------------------------
# units written in headers


@pytest.mark.parametrize(("header", "cell", "field", "value"), [
    ("面积（亩）", "3", "area_m2", 2000.0),
    ("面积（亩）", 3, "area_m2", 2000.0),
    ("面积(㎡)", "3亩", "area_m2", 2000.0),  # the cell's own unit wins
    ("面积（必填）", "2000", "area_m2", 2000.0),  # a note, not a unit
    ("租金（元/㎡/天）", "0.5", "rent", 15.0),
    ("租金(元/平/年)", 180, "rent", 15.0),
    ("售价(万元)", "800", "sale_price", 4000.0),  # a total, divided by the area
    ("承重(吨)", "2", "floor_load_kg_m2", 2000.0),
    ("最短租期（年）", "2", "min_lease_months", 24.0),
    ("面积㎡", "2000", "area_m2", 2000.0),
])
def test_a_unit_in_the_header_applies_to_bare_numbers(header, cell, field, value):
    row = {**_without(L, "面积", "租金"), "租售类型": "租售均可", header: cell}
    if field != "area_m2":
        row["面积"] = "2000平"
    r = read_listings([row])
    assert r.report.n_accepted == 1, [p.reason_en for p in r.report]
    assert r.records.record(0)[field] == pytest.approx(value)


# ---------------------------------------------------------------------------
# one line per bad cell, and nothing written read as blank


@pytest.mark.parametrize(("side", "cells", "fields"), [
    ("listing", {"镇街": "北京"}, ["town"]),
    ("listing", {"镇街": "", "纬度": "abc", "经度": "121.1"}, ["lat"]),
    ("listing", {"面积": "面议"}, ["area_m2"]),
    ("listing", {"面积": "面议", "租金": "便宜", "层高": "很高"}, ["area_m2", "rent", "clear_height_m"]),
    ("demand", {"需求面积": "面议"}, ["area"]),
    ("demand", {"需求面积": "面议", "入驻时间": "下个月", "意向镇街": "北京"}, ["area", "move_in_by", "towns"]),
])
def test_one_report_line_per_bad_cell(side, cells, fields):
    base = L if side == "listing" else D
    reader = read_listings if side == "listing" else read_demands
    r = reader([{**base, **cells}])
    assert sorted(p.field for p in r.report if p.severity != "info") == sorted(fields)


def test_written_values_are_kept_not_read_as_blank():
    d = read_demands([{**D, "入驻时间": "尽快", "意向镇街": "周巷/天元", "租金预算": "面议", "行车需求": "需要行车",
                       "行业": "纺织品制造"}]).records
    assert str(d.record(0)["move_in_by"]) == "now" and d.record(0)["towns"] == ["周巷镇"]
    assert d.crane_any[0] and math.isnan(d.crane_t[0])
    assert d.unread["max_rent"][0] == "面议" and d.unread["industry_code"][0] == "纺织品制造"
    assert "move_in_by" not in d.unread and "towns" not in d.unread


def test_new_fields_round_trip_through_files(tmp_path):
    rows = [{**L, "面积": "2000平（可分割）", "行车": "带行车"}, {**L, "编号": "L2", "面积": "2000平，最小500平"}]
    r = read_listings(rows)
    assert r.records.divisible_any.tolist() == [True, False] and r.records.min_unit_m2[1] == 500
    assert r.records.crane_any.tolist() == [True, False]
    (hint,) = [p for p in r.report if p.field == "area_m2"]
    assert hint.severity == "info" and "可分割" in hint.reason_zh
    write_records(r.records, tmp_path / "l.csv")
    back = read_listings(tmp_path / "l.csv")
    assert back.records.equals(r.records) and not list(back.report)


def test_what_the_file_said_survives_a_canonical_round_trip(tmp_path):
    rows = [{**D, "租金预算": "面议", "入驻时间": "下个月", "意向镇街": "北京"},
            {**D, "编号": "D2", "入驻时间": "不限"}]
    d = read_demands(rows).records
    assert d.unread["max_rent"].tolist() == ["面议", ""] and d.unread["move_in_by"].tolist() == ["下个月", "不限"]
    write_records(d, tmp_path / "d.jsonl")
    back = read_demands(tmp_path / "d.jsonl").records
    assert back.equals(d)
    assert {k: v.tolist() for k, v in back.unread.items()} == {k: v.tolist() for k, v in d.unread.items()}


@pytest.mark.parametrize(("area", "unit", "want_unit", "lines"), [
    ("2000平，最小500平", "300平", 300, ["min_unit_m2"]),  # the column wins, the difference is reported
    ("2000平，最小500平", "500平", 500, []),
    ("2000平（可分割）", "400", 400, []),  # the unit is known after all: no "divisible, unit unknown" hint
])
def test_a_unit_column_beside_divisibility_written_in_the_area(area, unit, want_unit, lines):
    r = read_listings([{**L, "面积": area, "最小分割面积": unit}])
    assert r.records.min_unit_m2[0] == want_unit and not r.records.divisible_any[0]
    assert [p.field for p in r.report] == lines
