"""Issue 14, checked as an attacker would, over real HTTP on a real ``changfang serve``:
ids in match bodies under the file readers' rule, paths without an id, every option
of ``POST /v1/match`` against the library, the headers a browser page may read, and a
delete that is not logged as another process's change."""

import pytest

import scoring
from matcher import match
from matcher.generate import generate_market
from tests.service.conftest import AUTH, market_server

httpx = pytest.importorskip("httpx")

ORIGIN = "http://portal.example"


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """One server process (a CORS origin allowed) holding a generated market, and the
    library's reading of the same records."""
    m = generate_market(45, 40, seed=23)
    rows_l, rows_d = m.listings.text_rows(), m.demands.text_rows()
    with market_server(tmp_path_factory.mktemp("attacks") / "market.db", rows_l, rows_d,
                       "--cors-origin", ORIGIN) as got:
        yield got


def _run(c, body):
    r = c.post("/v1/match", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return c.get(f"/v1/runs/{r.json()['id']}", headers=AUTH).json()  # (runs may become staff-only)


def _pairs(run):
    return {(p["demand_id"], p["listing_id"]) for p in run["pairs"]}


def _lib_pairs(res, D, L):
    return {(str(D.demand_id[i]), str(L.listing_id[j])) for i, j in zip(res.demand, res.listing)}


def test_ids_in_locks_and_exclusions_follow_the_file_readers_rule(market):
    s, L, D = market
    d0, l0 = str(D.demand_id[0]), str(L.listing_id[0])
    with s.client() as c:
        for name in ("locks", "exclude"):
            for bad, why in (("a/b", "/"), ("..", "'..'"), (".", "'.'"), ("x\nFORGED: injected", "line break"),
                             ("  ", "empty"), ("a\\b", "/ or \\")):
                for at, pair in ((0, [bad, l0]), (1, [d0, bad])):
                    r = c.post("/v1/match", json={name: [[d0, l0], pair]}, headers=AUTH)
                    assert r.status_code == 422, (name, bad, r.text)
                    (problem,) = r.json()["detail"]
                    assert problem["loc"] == ["body", name, 1, at] and why in problem["msg"], r.text
                    assert problem["msg_zh"]
            r = c.post("/v1/match", json={name: [["NO-SUCH", l0]]}, headers=AUTH)
            assert r.status_code == 404 and "NO-SUCH" in r.json()["detail"]
        # trimmed and NFKC-normalised as on paths and in files: the lock holds
        run = _run(c, {"method": "one_to_one", "locks": [[f"  {d0}\u3000", f" {l0} "]]})
    assert {(p["demand_id"], p["listing_id"], p["locked"]) for p in run["pairs"] if p["locked"]} == {(d0, l0, True)}
    assert not [line for line in s.log_text().splitlines() if line.startswith("FORGED")]


def test_a_path_without_an_id_is_unknown_not_another_route(market):
    s, _, _ = market
    with s.client(follow_redirects=False) as c:
        for method, path in (("GET", "/v1/listings/"), ("GET", "/v1/demands/"), ("DELETE", "/v1/listings/"),
                             ("DELETE", "/v1/demands/"), ("GET", "/v1/demands//recommendations"),
                             ("GET", "/v1/runs/")):
            r = c.request(method, path, headers=AUTH)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert "items" not in r.json()
        assert c.get("/v1/listings").status_code == 200  # the list itself is where it was


@pytest.mark.parametrize("method", ["one_to_one", "divisible", "stable"])
def test_every_option_of_a_run_is_the_librarys(market, method):
    """method, profile changes, exclusions and top_k, each changing the result, and the
    run equal to ``matcher.match`` with the same options."""
    s, L, D = market
    plain = match(D, L, method=method, top_k=3)
    excluded = [(str(D.demand_id[i]), str(L.listing_id[j])) for i, j in zip(plain.demand[:2], plain.listing[:2])]
    change = {"reservation": 0.5, "weights": {"timing": 0.0, "price": 3.0}}
    want = match(D, L, scoring.load_profile(change), method=method, top_k=3, exclude=excluded)
    with s.client() as c:
        run = _run(c, {"method": method, "profile": change, "exclude": [list(p) for p in excluded], "top_k": 3})
    assert run["method"] == want.method == method
    assert _pairs(run) == _lib_pairs(want, D, L) != _lib_pairs(plain, D, L)
    assert not set(excluded) & _pairs(run)
    assert run["objective"] == pytest.approx(want.objective, abs=1e-5)
    assert {(u["side"], u["id"]) for u in run["unmatched"]} == {(u.side, u.id) for u in want.unmatched}
    tk = want.for_demand
    expected = {(str(D.demand_id[i]), rank + 1, str(L.listing_id[tk.index[i, rank]]))
                for i in range(len(D)) for rank in range(int(tk.count[i]))}
    got = {(r["demand_id"], r["rank"], r["listing_id"]) for r in run["recommendations"]}
    assert got == expected and max(r["rank"] for r in run["recommendations"]) == 3
    assert not {(d, lid) for d, _, lid in got} & set(excluded)


def test_a_page_on_the_allowed_origin_can_read_the_retry_and_auth_headers(market):
    s, _, _ = market
    with s.client() as c:
        r = c.get("/v1/listings", headers={"Origin": ORIGIN, "Authorization": "Bearer stale"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.headers["access-control-allow-origin"] == ORIGIN
        exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
        assert {"retry-after", "www-authenticate"} <= exposed


def test_a_delete_is_not_logged_as_another_process_change(market):
    s, _, _ = market
    row = {"listing_id": "GONE-1", "deal": "出租", "area_m2": 900, "town": "周巷镇"}
    with s.client() as c:
        assert c.put("/v1/listings", json=[row], headers=AUTH).status_code == 200
        assert c.delete("/v1/listings/GONE-1", headers=AUTH).status_code == 204
        assert c.get("/v1/listings/GONE-1").status_code == 404
    log = s.log_text()
    assert "deleted listing GONE-1" in log
    assert "replayed" not in log  # one server process: nothing came from another

