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


def test_chain_links_are_the_graphs_edges_either_way():
    """scoring.industry.chain_links against a plain double loop over the shipped CSV."""
    from scoring.industry import chain_links
    from scoring.reference import industries
    from tests.scoring.reference_scorer import chain_edges

    def under(code, prefix):
        if prefix.isdigit():
            return code.startswith(prefix)
        return industries().section_of(code) == prefix

    edges = chain_edges()
    endpoints = sorted({x for e in edges for x in e})
    codes = [str(c) for c in industries().codes]
    rng = np.random.default_rng(3)
    for n_a, n_b in ((1, 1), (1, 7), (40, 300), (0, 5)):
        # half the codes drawn under an edge's endpoint, so that links are many
        a = [str(rng.choice([c for c in codes if under(c, p)] or codes)) if k % 2 else str(rng.choice(codes))
             for k, p in enumerate(rng.choice(endpoints, n_a))]
        b = [str(rng.choice(codes)) for _ in range(n_b)] + (["C", "13"] if n_b else [])
        want = np.array([[any((under(x, u) and under(y, v)) or (under(x, v) and under(y, u)) for u, v in edges)
                          for y in b] for x in a], dtype=bool).reshape(len(a), len(b))
        got = chain_links(a, b)
        assert got.dtype == bool and got.shape == (len(a), len(b))
        np.testing.assert_array_equal(got, want)
        assert n_a < 40 or want.any()
