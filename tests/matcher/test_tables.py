"""Files as they come (issue 12, point 6): delimiters, hidden sheets, merged cells,
formulas without values, damaged sheets and over-long CSV cells."""

import io
import subprocess
import sys
import zipfile

import numpy as np
import openpyxl
import pytest

from matcher import InputFileError, read_listings
from matcher.records import TEXT_MAX_CHARS

HEADER = ["编号", "租售类型", "镇街", "面积", "租金", "备注"]
ROWS = [
    ["L1", "出租", "周巷", "2000平", "15元/平/月", "朝南;带办公;可分割;近高速;水电齐全"],
    ["L2", "出租", "长河", "1000平", "12元/平/月", "独门独院;层高8米;承重2吨"],
    ["L3", "出售", "浒山", "3亩", "", "备注;一;二;三;四;五;六;七"],
]


def _csv(rows, delimiter=","):
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_is_the_one_that_reads_the_header(tmp_path, delimiter):
    # a remark column full of semicolons must not make ";" win over the real delimiter
    path = tmp_path / "l.csv"
    path.write_text(_csv(ROWS, delimiter), encoding="utf-8")
    r = read_listings(path)
    assert list(r.records.ids) == ["L1", "L2", "L3"]
    assert r.records.extra["备注"][0] == ROWS[0][5]


def test_semicolons_in_every_row_and_a_title_row(tmp_path):
    path = tmp_path / "l.csv"
    text = "慈溪市厂房登记表;;;\n" + _csv([[*r[:5], "a;b;c"] for r in ROWS])
    path.write_text(text, encoding="gb18030")
    r = read_listings(path)
    assert list(r.records.ids) == ["L1", "L2", "L3"] and r.records.rows.tolist() == [3, 4, 5]


def _book(path, sheets, hidden=(), merge=None, formula=None):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        if title in hidden:
            ws.sheet_state = "hidden"
        if merge and title == merge[0]:
            ws.merge_cells(merge[1])
        if formula and title == formula[0]:
            ws[formula[1]] = formula[2]
    wb.save(path)
    return path


def test_hidden_sheets_are_skipped_unless_named(tmp_path):
    junk = [["编号", "租售类型", "镇街", "面积"], ["X1", "出租", "周巷", "100"]]
    path = _book(tmp_path / "b.xlsx", [("旧表", junk), ("房源", [HEADER, *ROWS])], hidden=("旧表",))
    assert list(read_listings(path).records.ids) == ["L1", "L2", "L3"]
    assert list(read_listings(path, sheet="旧表").records.ids) == ["X1"]


def test_a_blank_first_sheet_is_passed_over(tmp_path):
    path = _book(tmp_path / "b.xlsx", [("封面", []), ("房源", [HEADER, *ROWS])])
    assert list(read_listings(path).records.ids) == ["L1", "L2", "L3"]


def test_merged_cells_are_filled_from_the_top_left_with_a_warning(tmp_path):
    rows = [["L1", "出租", "周巷", "2000平", "15元/平/月", ""],
            ["L2", "出租", None, "1000平", "12元/平/月", ""],
            ["L3", "出租", None, "1200平", "13元/平/月", ""]]
    path = _book(tmp_path / "b.xlsx", [("房源", [HEADER, *rows])], merge=("房源", "C2:C4"))
    r = read_listings(path)
    assert r.report.n_accepted == 3
    assert len(set(r.records.town.tolist())) == 1  # all three in 周巷
    (note,) = [p for p in r.report if "C2:C4" in p.reason_zh]
    assert note.severity == "warning" and note.field == "镇街" and "merged" in note.reason_en


def test_formula_without_a_value_is_reported_as_a_formula_not_as_missing(tmp_path):
    rows = [["L1", "出租", "周巷", None, "15元/平/月", ""], ["L2", "出租", "长河", "1000平", None, ""]]
    path = _book(tmp_path / "b.xlsx", [("房源", [HEADER, *rows])], formula=("房源", "D2", "=1000*2"))
    wb = openpyxl.load_workbook(path)
    wb["房源"]["E3"] = "=15"
    wb.save(path)
    r = read_listings(path)
    area = [p for p in r.report if p.row == 2 and p.field == "area_m2"]
    rent = [p for p in r.report if p.row == 3 and p.field == "rent"]
    assert [p.severity for p in area] == ["error"] and "公式" in area[0].reason_zh and "formula" in area[0].reason_en
    assert [p.severity for p in rent] == ["warning"] and "=15" in rent[0].value
    assert not any("missing" in p.reason_en for p in r.report)
    assert list(r.records.ids) == ["L2"] and r.records.unread["rent"][0] == "=15"


def _broken_sheet(tmp_path):
    good = _book(tmp_path / "good.xlsx", [("房源", [HEADER, *ROWS])])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) // 2]  # cut in the middle of the XML
            dst.writestr(item, data)
    return bad


def test_a_sheet_that_cannot_be_parsed_is_a_file_error(tmp_path):
    with pytest.raises(InputFileError, match="cannot be parsed"):
        read_listings(_broken_sheet(tmp_path))


def test_a_sheet_that_cannot_be_parsed_exits_2_with_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "matcher", "validate", "listings", str(_broken_sheet(tmp_path)),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "internal error" not in p.stderr


def test_a_csv_cell_longer_than_the_csv_module_limit_is_cut_not_fatal(tmp_path):
    path = tmp_path / "l.csv"
    long = "很长" * 100_000  # 200,000 characters: over the csv module's default field limit
    path.write_text(_csv([[*ROWS[0][:5], long]]), encoding="utf-8")
    r = read_listings(path)
    assert len(r.records.extra["备注"][0]) == TEXT_MAX_CHARS
    assert any(p.field == "备注" and "cut" in p.reason_en for p in r.report)


def test_numbers_and_dates_from_xlsx_cells(tmp_path):
    import datetime as dt

    rows = [[12, "出租", "周巷", 2000, 15, 12.0], [12.5, "出租", "长河", 1500.0, None, None]]
    path = _book(tmp_path / "b.xlsx", [("房源", [HEADER, *rows])])
    wb = openpyxl.load_workbook(path)
    wb["房源"]["G1"] = "可入驻日期"
    wb["房源"]["G2"] = dt.datetime(2027, 1, 5)
    wb.save(path)
    r = read_listings(path)
    assert list(r.records.ids) == ["12", "12.5"]  # ids as written: Excel's 12.0 is "12"
    assert r.records.extra["备注"][0] == "12"
    assert r.records.available_from[0] == np.datetime64("2027-01-05")


def test_every_way_a_blank_placeholder_can_start_is_checked():
    """The table layer skips the blank check for cells whose first character cannot
    start a placeholder; that shortcut must know every such character."""
    import unicodedata

    from matcher.io.normalise import _BLANKS
    from matcher.io.tables import _BLANK_FIRST

    firsts = {b[0] for b in _BLANKS if b}
    starts = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF
              and (chr(c).isspace() or unicodedata.normalize("NFKC", chr(c)).lower()[:1] in firsts)]
    missed = [c for c in starts if c not in _BLANK_FIRST]
    assert missed == []
