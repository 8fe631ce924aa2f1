import json

import pytest

from matcher import write_table


def test_interrupted_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def rows():
        yield ["a", 1]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_table(target, ["x", "y"], rows())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".xlsx"])
def test_formats(tmp_path, suffix):
    path = write_table(tmp_path / f"t{suffix}", ["编号", "面积"], [["L1", "2000"], ["L2", ""]])
    if suffix == ".csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        assert path.read_text(encoding="utf-8-sig").splitlines() == ["编号,面积", "L1,2000", "L2,"]
    elif suffix == ".json":
        want = [{"编号": "L1", "面积": "2000"}, {"编号": "L2", "面积": ""}]
        assert json.loads(path.read_text(encoding="utf-8")) == want
    elif suffix == ".jsonl":
        assert [json.loads(x)["编号"] for x in path.read_text(encoding="utf-8").splitlines()] == ["L1", "L2"]
    else:
        import openpyxl

        ws = openpyxl.load_workbook(path).active
        assert [list(r) for r in ws.iter_rows(values_only=True)][:2] == [["编号", "面积"], ["L1", "2000"]]


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="cannot write"):
        write_table(tmp_path / "t.parquet", ["a"], [])


HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1", "\r=1", "=1+1"]


def test_text_that_would_be_a_formula_stays_text(tmp_path):
    import csv

    import openpyxl

    from matcher.io.export import Column

    cols = [Column("owner"), Column("score", kind="number", digits=2), Column("floor", kind="number")]
    rows = [[h, -1.5, -2] for h in HOSTILE] + [["慈溪", 0.25, 1]]
    c = write_table(tmp_path / "t.csv", cols, rows)
    with open(c, encoding="utf-8-sig", newline="") as fh:
        got = list(csv.reader(fh))[1:]
    want = ["'" + h if not h.startswith("\r") else h.replace("\r", "\n") for h in HOSTILE]
    assert [r[0] for r in got] == [*want, "慈溪"]  # a lone CR is a line break, not a formula
    assert [r[1:] for r in got[:1]] == [["-1.5", "-2"]]  # numbers stay numbers, unescaped
    x = write_table(tmp_path / "t.xlsx", cols, rows)
    ws = openpyxl.load_workbook(x).active
    cells = list(ws.iter_rows(min_row=2))
    assert all(r[0].data_type == "s" for r in cells)  # never "f"
    assert [r[0].value for r in cells] == [h.replace("\r", "\n") for h in HOSTILE] + ["慈溪"]
    assert all(r[1].data_type == "n" for r in cells) and cells[0][1].value == -1.5


def test_formula_like_text_reads_back_as_written(tmp_path):
    from matcher import generate_market, read_listings, write_records

    m = generate_market(len(HOSTILE), 1, seed=2)
    recs = m.listings
    owners = recs.owner.astype(object)
    owners[:] = HOSTILE
    from dataclasses import replace

    recs = replace(recs, owner=owners.astype(str))
    path = write_records(recs, tmp_path / "l.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    back = read_listings(path).records
    assert [str(x) for x in back.owner] == [h.strip() for h in HOSTILE]


def test_files_take_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        p = write_table(tmp_path / "t.csv", ["a"], [["1"]])
        q = write_table(tmp_path / "t.xlsx", ["a"], [["1"]])
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert stat.S_IMODE(q.stat().st_mode) == 0o640


def test_same_rows_same_workbook_bytes(tmp_path):
    rows = [["L1", "周巷镇"], ["L2", "=x"]]
    a = write_table(tmp_path / "a.xlsx", ["id", "town"], rows).read_bytes()
    b = write_table(tmp_path / "b.xlsx", ["id", "town"], rows).read_bytes()
    assert a == b


def test_control_characters_never_break_a_workbook(tmp_path):
    import openpyxl

    p = write_table(tmp_path / "t.xlsx", ["owner"], [["慈溪\x00某\x07公司\x1b"], ["ok\tline\nnext"]])
    ws = openpyxl.load_workbook(p).active
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == ["慈溪某公司", "ok\tline\nnext"]


def test_long_sheets_continue_on_further_sheets(tmp_path):
    import openpyxl

    from matcher.io.export import WorkbookWriter

    with WorkbookWriter(tmp_path / "t.xlsx", constant_memory=True) as wb:
        n = wb.write_sheet("配对结果", ["id"], ([str(k)] for k in range(25)), max_rows=11)
    assert n == 25
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert book.sheetnames == ["配对结果", "配对结果 (2)", "配对结果 (3)"]
    got = [v for ws in book.worksheets for (v,) in ws.iter_rows(min_row=2, values_only=True)]
    assert got == [str(k) for k in range(25)]


def test_every_kind_of_value_reads_back_as_what_it_is(tmp_path):
    """Each cell goes by its value's type, in text and in number columns alike: text as
    text (cleaned), finite numbers as numbers, booleans as 是/否, unknowns as empty."""
    import math

    import numpy as np
    import openpyxl

    from matcher.io.export import Column

    values = ["慈溪", "", 1.25, float("nan"), float("inf"), 7, True, False, None, np.float64(2.5),
              "a\r\nb", "x\ufffey", "长" * 40_000, -0.0, "=1+1", np.str_("周巷")]
    want = ["慈溪", None, 1.25, None, None, 7, "是", "否", None, 2.5, "a\nb", "xy", "长" * 32_767, 0, "=1+1", "周巷"]
    cols = [Column("text"), Column("number", kind="number", digits=2)]
    p = write_table(tmp_path / "t.xlsx", cols, [[v, v] for v in values])
    got = list(openpyxl.load_workbook(p).active.iter_rows(min_row=2, values_only=True))
    assert len(got) == len(values)
    for (a, b), w, v in zip(got, want, values):
        assert a == w and b == w, (v, a, b)
        if isinstance(w, float | int) and not isinstance(w, bool):
            assert type(a) in (int, float) and not (isinstance(v, float) and math.isnan(v))


def test_the_number_format_follows_the_column(tmp_path):
    """A number in a number column takes the column's decimals; in a text column it is
    a number aligned like its text."""
    import openpyxl

    from matcher.io.export import Column

    p = write_table(tmp_path / "t.xlsx", [Column("text"), Column("score", kind="number", digits=3)], [[1.5, 1.5]])
    a, b = next(openpyxl.load_workbook(p).active.iter_rows(min_row=2))
    assert (a.value, b.value) == (1.5, 1.5)
    assert b.number_format == "0.000" and a.number_format == "General"
