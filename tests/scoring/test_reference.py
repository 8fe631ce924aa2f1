import numpy as np

from scoring.reference import gazetteer, industries


def test_industry_table_has_the_standard_counts():
    t = industries()
    assert [int(np.sum(t.levels == k)) for k in (1, 2, 3, 4)] == [20, 97, 473, 1381]
    i = t.index("3854")
    assert t.codes[t.parents[i]] == "385" and t.codes[t.parents[t.parents[i]]] == "38"
    assert t.codes[t.parents[t.index("38")]] == "C" and t.parents[t.index("C")] == -1
    assert t.by_name("家用厨房电器具制造") == "3854"


def test_gazetteer():
    g = gazetteer()
    assert len(g) == 25 and set(g.kinds) == {"town", "street", "zone"}
    assert g.names[g.find("周巷")] == "周巷镇" and g.find("浒山") == g.find("浒山街道")
    assert g.find("宁波") is None
    assert np.all((g.lat > 30.0) & (g.lat < 30.4) & (g.lon > 121.0) & (g.lon < 121.6))
    assert g.mentioned("地址：周巷镇环城北路") == [g.find("周巷镇")]
