"""The library's own explanations (``scoring.score(...).explain``, ``Scorer.explain_row``,
``explain_many``) say what the file said instead of "left blank" (issue 12, second pass)."""

import pytest

import scoring
from matcher import read_demands, read_listings

BLANK = ("需求未填预算", "需求未填入驻时间", "需求未提设施要求")


@pytest.fixture(scope="module")
def market():
    d = read_demands([
        {"编号": "D1", "需求类型": "求租", "需求面积": "900-1100平", "租金预算": "面议", "入驻时间": "下个月",
         "层高": "高一点", "意向镇街": "周巷"},
        {"编号": "D2", "需求类型": "求租", "需求面积": "900-1100平", "意向镇街": "周巷"},
    ])
    listing = read_listings([{"编号": "L1", "租售类型": "出租", "镇街": "周巷", "面积": "1000平",
                              "租金": "15元/平/月"}])
    assert d.report.n_accepted == 2 and listing.report.n_accepted == 1
    return d.records, listing.records


def test_score_explain_says_what_the_cells_held(market):
    d, listing = market
    text = scoring.score(d, listing).explain(0, 0).summary("zh")
    assert not any(b in text for b in BLANK), text
    for written in ("“面议”", "“下个月”", "“高一点”"):
        assert written in text
    en = scoring.score(d, listing).explain(0, 0).summary("en")
    assert "'面议'" in en and "no budget given" not in en


def test_every_path_amends_and_blank_cells_still_say_blank(market):
    d, listing = market
    s = scoring.Scorer(d, listing)
    for e in (s.explain(0, 0), s.explain_row(0, [0])[0], s.explain_many([0], [0])[0]):
        assert not any(b in e.summary("zh") for b in BLANK)
    rows = [0, 1, 0]  # the tables' summaries too, pair by pair, in both languages
    for sm, e in zip(s.summarize_many(rows, [0, 0, 0]), s.explain_many(rows, [0, 0, 0]), strict=True):
        assert (sm.zh, sm.en) == (e.summary("zh"), e.summary("en"))
    said, blank_ = s.summarize_many([0, 1], [0, 0])
    assert "“面议”" in said.zh and "'面议'" in said.en and not any(b in said.zh for b in BLANK)
    assert all(b in blank_.zh for b in BLANK)
    blank = s.explain(1, 0).summary("zh")  # D2 left these cells empty: saying so is right
    assert all(b in blank for b in BLANK)
