"""A quote left open in a CSV swallows no rows: every physical line ends up a record,
accepted or rejected with a reason; Excel's multi-line cells still read as one cell
(issue 12, second pass)."""

from matcher import read_listings

HEADER = "编号,业主,租售类型,镇街,面积,租金,备注\n"


def _row(k, rent="15元/平/月", note=""):
    return f"L{k},甲,出租,周巷,{1000 + k}平,{rent},{note}\n"


def _read(tmp_path, text):
    p = tmp_path / "listings.csv"
    p.write_text(text, encoding="utf-8")
    return read_listings(p)


def _ids(r):
    return [str(x) for x in r.records.listing_id]


def test_a_stray_quote_in_the_middle_swallows_nothing(tmp_path):
    rows = [_row(k) for k in range(1, 31)]
    rows[3] = 'L4,甲,出租,周巷,1004平,15元/平/月,"见图\n'  # the quote opens the remark
    r = _read(tmp_path, HEADER + "".join(rows))
    assert r.report.n_rows == 30 and r.report.n_accepted == 30
    assert _ids(r) == [f"L{k}" for k in range(1, 31)]
    (p,) = [p for p in r.report if p.severity != "info"]
    assert p.row == 5 and p.id == "L4" and p.severity == "warning"
    assert "引号未闭合" in p.reason_zh and "quote is never closed" in p.reason_en
    assert r.records.record(4)["area_m2"] == 1005.0  # the row after the quote is its own record


def test_a_stray_quote_in_a_price_cell_is_the_tester_file(tmp_path):
    # six columns, the quote opening the last cell (as the tester wrote it)
    rows = [f"L{k},甲,出租,周巷,{1000 + k}平,15元/平/月\n" for k in range(1, 200)]
    rows[3] = 'L4,甲,出租,周巷,1004平,"15元/平/月\n'
    r = _read(tmp_path, HEADER.replace(",备注", "") + "".join(rows))
    assert r.report.n_rows == 199 and r.report.n_accepted == 199
    assert r.records.record(3)["rent"] == 15.0


def test_a_stray_quote_on_the_last_line(tmp_path):
    r = _read(tmp_path, HEADER + _row(1) + _row(2) + 'L3,甲,出租,周巷,1003平,15元/平/月,"见图')
    assert r.report.n_rows == 3 and r.report.n_accepted == 3
    assert [p.row for p in r.report if "引号未闭合" in p.reason_zh] == [4]


def test_a_stray_quote_that_breaks_the_columns_rejects_that_row_only(tmp_path):
    text = HEADER + _row(1) + 'L2,甲,出租,"周巷,1002平,15元/平/月,\n' + _row(3) + _row(4)
    r = _read(tmp_path, text)
    assert r.report.n_rows == 4 and _ids(r) == ["L1", "L3", "L4"]
    (p,) = [p for p in r.report if "引号未闭合" in p.reason_zh]
    assert p.row == 3 and p.severity == "error" and "rejected" in p.reason_en


def test_multi_line_cells_from_excel_still_read_as_one_cell(tmp_path):
    note = '"第一行，说明\n第二行, 含逗号, 两个\n第三行"'
    last = '"最后一格\n也有两行"'
    r = _read(tmp_path, HEADER + _row(1, note=note) + _row(2) + _row(3, note=last))
    assert r.report.n_rows == 3 and r.report.n_accepted == 3
    assert not [p for p in r.report if "引号" in p.reason_zh]
    assert _ids(r) == ["L1", "L2", "L3"]
    # the line breaks inside a cell become spaces (text cleaning), the text is whole
    assert r.records.record(0)["备注"].split() == ["第一行，说明", "第二行,", "含逗号,", "两个", "第三行"]
    assert r.records.record(2)["备注"].split() == ["最后一格", "也有两行"]


def test_many_stray_quotes_each_row_accounted_for(tmp_path):
    rows = [_row(k, note='"坏' if k % 3 == 0 else "好") for k in range(1, 301)]
    r = _read(tmp_path, HEADER + "".join(rows))
    assert r.report.n_rows == 300 and r.report.n_accepted == 300
    assert sorted(p.row for p in r.report if "引号未闭合" in p.reason_zh) == [k + 1 for k in range(3, 301, 3)]
    assert _ids(r) == [f"L{k}" for k in range(1, 301)]
