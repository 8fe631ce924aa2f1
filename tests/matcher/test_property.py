"""Property: whatever is in the cells, no exception escapes and accepted + rejected = rows."""

import string

from hypothesis import given
from hypothesis import strategies as st

from matcher import generate_market, read_demands, read_listings
from matcher.io.normalise import is_blank

MARKET = generate_market(30, 30, seed=2)
LISTING_ROWS = MARKET.listings.text_rows()
DEMAND_ROWS = MARKET.demands.text_rows()

junk = st.one_of(
    st.none(),
    st.text(alphabet=string.printable
            + "面积租金元平方米亩约以上至到万千一二三四五六七八九十点甲乙丙丁戊是否镇街㎡～，、；",
            max_size=12),
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["面议", "约2千平", "-5", "2026-02-30", "121.2", "C9999", "北京", "求租", "现房", "0", ""]),
)


def _corrupt(rows, data):
    out = []
    for row in rows:
        row = dict(row)
        for key in data.draw(st.lists(st.sampled_from(sorted(row)), max_size=4)):
            row[key] = data.draw(junk)
        out.append(row)
    return out


def _check(result, rows):
    rep = result.report
    assert rep.n_rows == sum(1 for r in rows if not all(is_blank(v) for v in r.values()))
    assert rep.n_accepted + rep.n_rejected == rep.n_rows
    assert len(result.records) == rep.n_accepted
    assert len(rep.rejected_rows) == rep.n_rejected
    accepted_rows = set(result.records.rows.tolist())
    assert accepted_rows.isdisjoint(rep.rejected_rows)
    for p in rep:
        assert p.severity in ("error", "warning", "info") and p.reason_zh and p.reason_en


@given(st.data())
def test_listings_never_crash(data):
    rows = _corrupt(LISTING_ROWS[:8], data)
    _check(read_listings(rows), rows)


@given(st.data())
def test_demands_never_crash(data):
    rows = _corrupt(DEMAND_ROWS[:8], data)
    _check(read_demands(rows), rows)
