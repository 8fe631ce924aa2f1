"""Issue 12 at the command line: wrong or incomplete files exit 2 with one line; a sheet
per input; files holding duplicate ids give the same outputs in any row order; the
explanations staff read never call a written field blank."""

import csv
import io

import numpy as np
import openpyxl
import pytest

from matcher import match, read_demands, read_listings
from matcher.cli import main
from tests.matcher.test_cli import SAMPLE


@pytest.fixture
def run(capsys):
    """``changfang`` in this process (the subprocess form is tested in test_cli.py):
    returns (exit code, stdout, stderr)."""

    def call(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call

LISTING_ROWS = [
    ["编号", "业主", "租售类型", "镇街", "面积", "租金", "层高", "可入驻日期", "产权证"],
    ["L1", "甲厂", "出租", "周巷", "2000平", "15元/平/月", "8米", "现房", "有"],
    ["L2", "乙厂", "出租", "长河", "1200平", "13元/平/月", "7米", "2027年1月", "有"],
    ["L3", "丙厂", "出租", "周巷", "900平", "面议", "6米", "现房", "有"],
]
DEMAND_ROWS = [
    ["编号", "企业名称", "需求类型", "需求面积", "意向镇街", "租金预算", "入驻时间", "行业"],
    ["D1", "丁公司", "求租", "800-1200平", "周巷、长河", "面议", "尽快", "纺织品制造"],
    ["D2", "戊公司", "求租", "约2000平", "周巷/天元", "16元/平/月", "2027年3月", "2929"],
]


def _book(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def _csv(path, rows, encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _one_error_line(p):
    code, _, err = p
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("changfang: error:"), err
    return lines[0]


def test_match_of_a_listings_book_with_itself_is_refused(tmp_path, run):
    book = _book(tmp_path / "book.xlsx", [("房源", LISTING_ROWS)])
    line = _one_error_line(run("match", book, book, "--out", tmp_path / "o", "--quiet"))
    assert "这像是房源表，不是需求表" in line and "listings table" in line
    line = _one_error_line(run("validate", "demands", book, "--out", tmp_path / "v"))
    assert "这像是房源表" in line


def test_a_sheet_per_input(tmp_path, run):
    book = _book(tmp_path / "book.xlsx", [("房源", LISTING_ROWS), ("需求", DEMAND_ROWS)])
    code, _, err = run("match", book, book, "--listings-sheet", "房源", "--demands-sheet", "需求", "--out",
                       tmp_path / "o", "--quiet", "--json")
    assert code == 0, err
    # --sheet is the default of both: here it names the listings sheet for the demands too
    line = _one_error_line(run("match", book, book, "--sheet", "房源", "--out", tmp_path / "p", "--quiet"))
    assert "这像是房源表" in line
    line = _one_error_line(run("match", book, book, "--listings-sheet", "没有", "--out", tmp_path / "q", "--quiet"))
    assert "没有名为“没有”的工作表" in line


@pytest.mark.parametrize(("rows", "needle"), [
    ([r[:4] + r[5:] for r in LISTING_ROWS], "缺少必填列：面积"),
    ([["编号", "业主", "租售类型", "镇街", "占地面积"], ["L1", "甲", "出租", "周巷", "3亩"]], "“占地面积”可能是面积"),
    ([["编号", "业主", "面积", "镇街"], ["L1", "甲", "100", "周巷"]], "缺少必填列：租售类型"),
])
def test_an_incomplete_file_exits_2_naming_the_columns(tmp_path, run, rows, needle):
    path = _csv(tmp_path / "l.csv", rows, "gb18030")
    line = _one_error_line(run("validate", "listings", path, "--out", tmp_path / "o"))
    assert needle in line and "missing required columns" in line


def _shuffled(rows, seed):
    body = rows[1:]
    order = np.random.default_rng(seed).permutation(len(body))
    return [rows[0], *(body[k] for k in order)]


def test_duplicates_in_any_row_order_give_byte_identical_outputs(tmp_path, run):
    with open(SAMPLE / "listings.csv", encoding="gb18030", newline="") as fh:
        lrows = list(csv.reader(fh))[1:]  # without the title row
    head = lrows[0]
    col = {h: k for k, h in enumerate(head)}
    by_id = {r[col["编号"]]: r for r in lrows[1:]}
    twin = list(by_id["CX-L005"])  # the same record twice: kept once
    other = list(by_id["CX-L007"])
    other[col["面积"]] = "2600平"  # the same id with other content: both copies refused
    lrows += [twin, other]
    wb = openpyxl.load_workbook(SAMPLE / "demands.xlsx")
    drows = [list(r) for r in wb.active.iter_rows(values_only=True)]
    dcol = {h: k for k, h in enumerate(drows[0])}
    dup = list(next(r for r in drows if r[dcol["编号"]] == "XQ-010"))
    dup[dcol["租金预算"]] = "20元/平/月"
    drows.append(dup)
    outs = []
    for seed in (0, 1):
        lp = _csv(tmp_path / f"l{seed}.csv", _shuffled(lrows, seed), "gb18030")
        dp = _book(tmp_path / f"d{seed}.xlsx", [("需求", _shuffled(drows, seed + 10))])
        code, _, err = run("match", lp, dp, "--out", tmp_path / f"out{seed}", "--quiet", "--top-k", 3)
        assert code == 0, err
        outs.append(tmp_path / f"out{seed}")
    for t in ("pairs", "recommendations", "unmatched"):
        assert (outs[0] / f"{t}.csv").read_bytes() == (outs[1] / f"{t}.csv").read_bytes(), t
    ids = read_listings(tmp_path / "l0.csv").records.ids
    assert "CX-L005" in ids and "CX-L007" not in ids
    assert "XQ-010" not in read_demands(tmp_path / "d0.xlsx").records.ids


def test_explanations_never_call_a_written_field_blank(tmp_path, run):
    lp = _csv(tmp_path / "l.csv", LISTING_ROWS)
    dp = _book(tmp_path / "d.xlsx", [("需求", DEMAND_ROWS)])
    d, l = read_demands(dp).records, read_listings(lp).records
    r = match(d, l, top_k=3)
    said = {}
    for k in range(len(r)):
        said[str(d.demand_id[r.demand[k]])] = r.explain(k).summary("zh")
    assert "D1" in said
    assert "未填" not in said["D1"]
    assert "尽快" in said["D1"] and "“面议”" in said["D1"] and "“纺织品制造”" in said["D1"]
    # the same wording in the tables staff get
    code, _, err = run("match", lp, dp, "--out", tmp_path / "o", "--quiet")
    assert code == 0, err
    for t in ("pairs", "recommendations"):
        with open(tmp_path / "o" / f"{t}.csv", encoding="utf-8-sig", newline="") as fh:
            rows = [x for x in csv.DictReader(fh) if x["demand_id"] == "D1"]
        assert rows and all("未填" not in x["reasons_zh"] and "尽快" in x["reasons_zh"] for x in rows), t
