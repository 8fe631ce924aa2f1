"""The bundled sample reads as designed: sizes, encoding, and the rows made to fail."""

from pathlib import Path

import pytest

from matcher import read_demands, read_listings

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "cixi-sample"


def test_listings_are_gb18030_not_utf8():
    data = (SAMPLE / "listings.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "编号" in data.decode("gb18030")


def test_sample_listings():
    r = read_listings(SAMPLE / "listings.csv")
    assert r.report.n_rows >= 40 and r.report.n_accepted >= 38
    rejected = {p.id or p.row for p in r.report.by_severity("error")}
    # rows made to fail: a demand type, an out-of-county town, 面议 area, no id, an id twice with different
    # content (both copies, rows 4 and 37)
    assert {"CX-L031", "CX-L032", "CX-L033", "CX-L002"} <= rejected and len(r.report.rejected_rows) == 6
    assert {4, 37} <= set(r.report.rejected_rows) and "CX-L002" not in r.records.ids
    warned = {p.id for p in r.report.by_severity("warning")}
    assert {"CX-L025", "CX-L026", "CX-L027", "CX-L028", "CX-L029", "CX-L030"} <= warned
    assert r.unknown_columns == ("备注",)
    l = r.records
    i = l.index_of("CX-L001")
    assert l.area_m2[i] == 2000 and l.rent[i] == pytest.approx(16.5) and l.crane_t[i] == 10
    assert l.sale_price[l.index_of("CX-L003")] == pytest.approx(8e6 / 2000)


def test_sample_demands():
    r = read_demands(SAMPLE / "demands.xlsx")
    assert r.report.n_rows >= 60 and r.report.n_accepted >= 60
    assert len(r.report.rejected_rows) == 3  # area 面议, a listing's deal type, no id
    # XQ-001 written twice, identically: kept once
    assert r.report.n_merged == 1 and list(r.records.ids).count("XQ-001") == 1
    d = r.records
    i = d.index_of("XQ-049")
    assert d.area_min_m2[i] == d.area_max_m2[i] == 1500
    assert d.industry_code[d.index_of("XQ-003")] == "3854"
