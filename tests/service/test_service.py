"""The service over real HTTP: every endpoint against the library's own answers, the
token, the size limit, validation, unknown ids, logs without phone numbers, schemathesis."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import scoring
from matcher import generate_market, match, read_demands, read_listings, written
from tests.service.conftest import AUTH, TOKEN, as_dicts, start_server

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def market():
    return generate_market(70, 60, seed=4)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, market):
    """A server holding the generated market, and the library's view of the same records."""
    s = start_server(tmp_path_factory.mktemp("svc") / "market.db", "--cors-origin", "http://a.example",
                     "--cors-origin", "http://b.example", env={"CHANGFANG_CORS_ORIGINS": "http://env.example"})
    with s.client() as c:
        for path, recs in (("/v1/listings", market.listings), ("/v1/demands", market.demands)):
            r = c.put(path, json=as_dicts(recs), headers=AUTH)
            assert r.status_code == 200, r.text
            assert len(r.json()["accepted"]) == len(recs) and r.json()["rejected"] == []
    lib_l = read_listings(as_dicts(market.listings)).records
    lib_d = read_demands(as_dicts(market.demands)).records
    yield s, lib_l, lib_d
    s.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One plain server (no CORS origin) the tests below share: each writes its own ids."""
    s = start_server(tmp_path_factory.mktemp("plain") / "market.db")
    yield s
    s.stop()


def test_health_openapi_and_docs(loaded):
    s, lib_l, lib_d = loaded
    with s.client() as c:
        h = c.get("/healthz").json()
        want = {"status": "ok", "listings": len(lib_l), "demands": len(lib_d)}
        assert {k: h[k] for k in ("status", "listings", "demands")} == want
        assert c.get("/v1/health").json()["skipped"] == []
        paths = c.get("/openapi.json").json()["paths"]
        for p in ("/v1/listings", "/v1/demands", "/v1/listings/{record_id}", "/v1/demands/{record_id}/recommendations",
                  "/v1/listings/{record_id}/recommendations", "/v1/explain", "/v1/match", "/v1/runs",
                  "/v1/runs/{run_id}", "/v1/health", "/healthz"):
            assert p in paths, p
        docs = c.get("/docs")
        assert docs.status_code == 200 and "http" not in docs.text.replace(s.url, "")  # no CDN


def test_recommendations_are_the_library_ranking(loaded):
    s, lib_l, lib_d = loaded
    sc = scoring.Scorer(lib_d, lib_l)
    with s.client() as c:
        for i in (0, 7, 33):
            did = str(lib_d.demand_id[i])
            got = c.get(f"/v1/demands/{did}/recommendations", params={"k": 5}).json()
            want = sc.for_demand(i, 5)
            assert [g["id"] for g in got["recommendations"]] == [str(x) for x in want.ids]
            assert [g["rank"] for g in got["recommendations"]] == list(range(1, len(want.ids) + 1))
            for g, j, score in zip(got["recommendations"], want.index, want.scores):
                assert g["score"] == pytest.approx(float(score), abs=1e-6)
                e = written.explain(sc, i, int(j))  # the library's words, with what the file said
                assert g["reasons_zh"] == e.summary("zh") and g["reasons_en"] == e.summary("en")
                assert g["criteria"] == {p.name: pytest.approx(p.score, abs=1e-6) for p in e.criteria}
        for j in (1, 20):
            lid = str(lib_l.listing_id[j])
            got = c.get(f"/v1/listings/{lid}/recommendations").json()  # k defaults to 10
            want = sc.for_listing(j, 10)
            assert [g["id"] for g in got["recommendations"]] == [str(x) for x in want.ids]


def test_explain_includes_failed_rules(loaded):
    s, lib_l, lib_d = loaded
    res = scoring.score(lib_d, lib_l)
    i, j = map(int, np.argwhere(~res.feasible)[0])
    with s.client() as c:
        got = c.get("/v1/explain", params={"demand_id": lib_d.demand_id[i], "listing_id": lib_l.listing_id[j]}).json()
    e = res.explain(i, j)
    assert got["feasible"] is False and got["failed_rules"] == e.failed_rules and got["failed_rules"]
    assert got["reasons_zh"] == e.summary("zh")
    assert [r["name"] for r in got["rules"]] == [r.name for r in e.rules]


def test_records_come_back_without_contacts(loaded):
    s, lib_l, _ = loaded
    with s.client() as c:
        got = c.get(f"/v1/listings/{lib_l.listing_id[3]}").json()
    want = lib_l.record(3)
    assert "contact" not in got
    assert got["listing_id"] == want["listing_id"] and got["area_m2"] == pytest.approx(want["area_m2"])


def test_match_run_is_the_library_allocation(loaded):
    s, lib_l, lib_d = loaded
    lock = (str(lib_d.demand_id[2]), str(lib_l.listing_id[5]))
    with s.client() as c:
        r = c.post("/v1/match", json={"method": "one_to_one", "locks": [lock]}, headers=AUTH)
        assert r.status_code == 201, r.text
        run = c.get(f"/v1/runs/{r.json()['id']}", headers=AUTH).json()
    want = match(lib_d, lib_l, method="one_to_one", locks=[lock])
    pairs = {(p["demand_id"], p["listing_id"]) for p in run["pairs"]}
    assert pairs == {(str(lib_d.demand_id[i]), str(lib_l.listing_id[j])) for i, j in zip(want.demand, want.listing)}
    assert lock in pairs and run["objective"] == pytest.approx(want.objective, abs=1e-5)
    assert {(u["side"], u["id"]) for u in run["unmatched"]} == {(u.side, u.id) for u in want.unmatched}
    assert all(p["reasons_zh"] for p in run["pairs"])


def test_upsert_keeps_good_records_and_reports_bad_ones(server):
    with server.client() as c:
        n0 = c.get("/healthz").json()["listings"]
        body = [
            {"listing_id": "L1", "area_m2": "约2千平", "town": "周巷镇", "deal": "出租", "rent": "0.5元/㎡/天"},
            {"编号": "L2", "面积": "3亩", "镇街": "长河镇", "交易方式": "出售"},
            {"listing_id": "L3", "area_m2": "abc", "town": "周巷镇", "deal": "出租"},
            {"listing_id": "L4", "area_m2": "900", "town": "周巷镇", "deal": "出租"},
            {"listing_id": "L4", "area_m2": "800", "town": "周巷镇", "deal": "出租"},
        ]
        r = c.put("/v1/listings", json=body, headers=AUTH)
        assert r.status_code == 200
        out = r.json()
        assert "L1" in out["accepted"] and "L3" not in out["accepted"]
        bad = [p for p in out["rejected"] if p["id"] == "L3"]
        assert bad and bad[0]["index"] == 2 and bad[0]["field"] == "area_m2" and bad[0]["value"] == "abc"
        # an id twice in the batch with different content: every copy is rejected, whatever the order
        assert {p["index"] for p in out["rejected"] if p["id"] == "L4"} == {3, 4} and "L4" not in out["accepted"]
        assert any(p["index"] == -1 and p["field"] == "交易方式" for p in out["warnings"])  # unknown field, kept
        got = c.get("/v1/listings/L1").json()
        assert got["area_m2"] == 2000 and got["rent"] == pytest.approx(15.0)  # 0.5 元/㎡/天 × 30
        # an upsert replaces; a delete removes
        r = c.put("/v1/listings", json=[{"listing_id": "L1", "area_m2": "1200", "town": "周巷镇", "deal": "出租"}],
                  headers=AUTH)
        assert r.json()["accepted"] == ["L1"] and c.get("/v1/listings/L1").json()["area_m2"] == 1200
        assert c.delete("/v1/listings/L1", headers=AUTH).status_code == 204
        assert c.get("/v1/listings/L1").status_code == 404
        assert c.delete("/v1/listings/L1", headers=AUTH).status_code == 404
        assert c.get("/healthz").json()["listings"] == n0 + len([x for x in out["accepted"] if x != "L1"])


def test_demands_round_trip(server):
    with server.client() as c:
        n0 = c.get("/healthz").json()["demands"]
        body = [{"需求编号": "D9", "企业名称": "慈溪市某电器有限公司", "面积": "800-1200平",
                 "意向镇街": "周巷镇、长河镇",
                 "类型": "租赁", "联系方式": "13700000000"}]
        r = c.put("/v1/demands", json=body, headers=AUTH)
        assert r.status_code == 200 and r.json()["accepted"] == ["D9"], r.text
        got = c.get("/v1/demands/D9").json()
        assert got["company"] == "慈溪市某电器有限公司" and got["area_min_m2"] == 800 and got["area_max_m2"] == 1200
        assert got["towns"] == ["周巷镇", "长河镇"] and "contact" not in got
        assert c.delete("/v1/demands/D9", headers=AUTH).status_code == 204
        assert c.get("/v1/demands/D9").status_code == 404
        assert c.get("/healthz").json()["demands"] == n0


def test_writes_need_the_token(server):
    with server.client() as c:
        body = [{"listing_id": "T1", "area_m2": "1000", "town": "周巷镇", "deal": "出租"}]
        assert c.put("/v1/listings", json=body).status_code == 401
        r = c.put("/v1/listings", json=body, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.delete("/v1/listings/T1").status_code == 401
        assert c.post("/v1/match", json={}).status_code == 401
        assert c.get("/v1/listings/T1").status_code == 404  # nothing was written
        assert c.put("/v1/listings", json=body, headers=AUTH).status_code == 200
        assert c.get("/v1/listings/T1").status_code == 200  # reads need no token


def test_validation_errors_name_the_field(server):
    with server.client() as c:
        r = c.put("/v1/listings", json={"listing_id": "x"}, headers=AUTH)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "body"
        r = c.put("/v1/listings", json=[1, 2], headers=AUTH)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", 0]
        r = c.put("/v1/listings", content=b"[{not json", headers={**AUTH, "content-type": "application/json"})
        assert r.status_code == 422
        c.put("/v1/listings", json=[{"listing_id": "V1", "area_m2": "1000", "town": "周巷镇", "deal": "出租"}],
              headers=AUTH)
        c.put("/v1/demands", json=[{"demand_id": "W1", "area_min_m2": "800", "towns": "周巷镇", "deal": "租"}],
              headers=AUTH)
        r = c.get("/v1/demands/W1/recommendations", params={"k": 0})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "k"]
        r = c.post("/v1/match", json={"locks": [["W1", "NOPE"]]}, headers=AUTH)
        assert r.status_code == 404 and "NOPE" in r.json()["detail"] and "locks" in r.json()["detail"]
        r = c.post("/v1/match", json={"method": "greedy"}, headers=AUTH)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "method"]
        r = c.post("/v1/match", json={"profile": {"weights": {"area": -1}}}, headers=AUTH)
        assert r.status_code == 422 and "weights.area" in r.json()["detail"][0]["msg"]


def test_unknown_ids_are_404(server):
    with server.client() as c:
        assert c.get("/v1/demands/NOPE/recommendations").status_code == 404
        assert c.get("/v1/listings/NOPE/recommendations").status_code == 404
        assert c.get("/v1/explain", params={"demand_id": "a", "listing_id": "b"}).status_code == 404
        assert c.get("/v1/runs/" + "0" * 32, headers=AUTH).status_code == 404
        assert c.get("/v1/runs/0123", headers=AUTH).status_code == 422  # not a run id
        assert c.get("/v1/runs/" + "0" * 32).status_code == 401  # runs are for staff
        assert c.get("/v1/demands/NOPE").status_code == 404


def test_bodies_over_the_limit_get_413(tmp_path):
    s = start_server(tmp_path / "small.db", "--max-body", "2000")
    try:
        big = [{"listing_id": f"B{k}", "area_m2": "1000", "town": "周巷镇", "deal": "出租"} for k in range(100)]
        with s.client() as c:
            r = c.put("/v1/listings", json=big, headers=AUTH)
            assert r.status_code == 413
            # streamed without a length: counted as it arrives

            def chunks():
                payload = httpx.Request("PUT", "/", json=big).content
                for k in range(0, len(payload), 500):
                    yield payload[k:k + 500]

            r = c.put("/v1/listings", content=chunks(), headers={**AUTH, "content-type": "application/json"})
            assert r.status_code == 413
            assert c.get("/healthz").json()["listings"] == 0
            small = big[:3]
            assert c.put("/v1/listings", json=small, headers=AUTH).status_code == 200
    finally:
        s.stop()


def test_phone_numbers_never_reach_the_log(server):
    s = server
    phone = "13912345678"
    with s.client() as c:
        body = [{"listing_id": "P1", "area_m2": "1000", "town": "周巷镇", "deal": "出租", "contact": phone},
                {"listing_id": "P2", "area_m2": phone + "x", "town": "周巷镇", "deal": "出租", "contact": phone}]
        r = c.put("/v1/listings", json=body, headers=AUTH)
        assert r.status_code == 200 and r.json()["accepted"] == ["P1"]
        c.put("/v1/demands", json=[{"demand_id": "Q1", "contact": f"王先生 {phone}", "area_min_m2": "500",
                                    "towns": "周巷镇", "deal": "租"}], headers=AUTH)
        c.get("/v1/demands/Q1/recommendations")
        c.post("/v1/match", json={}, headers=AUTH)
    text = s.log_text()
    assert "upsert listing: 1 accepted, 1 rejected" in text  # the log is there, and says what happened
    assert phone not in text


def test_no_traceback_reaches_a_client():
    import asyncio

    from matcher.service.app import create_app

    app = create_app(":memory:", token=TOKEN)

    def boom(*a, **k):
        raise RuntimeError("secret internals 13912345678")

    app.state.service.recommendations = boom

    async def get():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get("/v1/demands/x/recommendations")

    r = asyncio.run(get())
    assert r.status_code == 500 and r.json() == {"detail": "internal server error"}
    assert "Traceback" not in r.text and "secret" not in r.text


def test_serve_binds_loopback_by_default_and_documents_itself():
    p = subprocess.run([sys.executable, "-m", "matcher", "serve", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "127.0.0.1" in p.stdout and "CHANGFANG_TOKEN" in p.stdout


def test_cors_origins_come_from_the_options_and_none_by_default(loaded, server):
    s, _, _ = loaded
    preflight = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"}
    with s.client() as c:
        for origin in ("http://a.example", "http://b.example"):  # --cors-origin, repeated
            r = c.options("/v1/listings", headers={"Origin": origin, **preflight})
            assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        r = c.options("/v1/listings", headers={"Origin": "http://env.example", **preflight})  # the options win
        assert "access-control-allow-origin" not in r.headers
    with server.client() as c:  # no origin given: no page elsewhere may call it
        r = c.options("/v1/listings", headers={"Origin": "http://a.example", **preflight})
        assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
        assert r.headers["allow"] == "GET, PUT"  # every method of the path
        assert "access-control-allow-origin" not in c.get("/healthz", headers={"Origin": "http://a.example"}).headers


SCHEMATHESIS_CONFIG = """
[dictionaries.listing_ids]
values = {listings}
[dictionaries.demand_ids]
values = {demands}
[dictionaries.run_ids]
values = ["{run}"]
[[operations]]
include-path-regex = "^/v1/listings/"
parameters = {{ "path.record_id" = {{ dictionary = "listing_ids", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/v1/demands/"
parameters = {{ "path.record_id" = {{ dictionary = "demand_ids", probability = 0.5 }} }}
[[operations]]
include-path = "/v1/runs/{{run_id}}"
parameters = {{ "path.run_id" = {{ dictionary = "run_ids", probability = 0.5 }} }}
[[operations]]
include-path = "/v1/explain"
parameters = {{ "query.demand_id" = {{ dictionary = "demand_ids", probability = 0.5 }}, \
"query.listing_id" = {{ dictionary = "listing_ids", probability = 0.5 }} }}
"""


@pytest.mark.skipif(importlib.util.find_spec("schemathesis") is None, reason="schemathesis not installed")
def test_schemathesis_finds_no_failure_of_any_check(loaded, tmp_path):
    """Every check schemathesis has (server errors, statuses, content types, response
    schemas, invalid data accepted, valid data refused, auth ignored, methods, ...), with
    half the ids drawn from records and a run that exist."""
    s, lib_l, lib_d = loaded
    with s.client() as c:
        run = c.post("/v1/match", json={"top_k": 2}, headers=AUTH).json()["id"]
    config = SCHEMATHESIS_CONFIG.format(listings=json.dumps([str(x) for x in lib_l.listing_id[:5]]),
                                        demands=json.dumps([str(x) for x in lib_d.demand_id[:5]]), run=run)
    (tmp_path / "schemathesis.toml").write_text(config.replace("\\\n", ""), encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "schemathesis.cli", "run", f"{s.url}/openapi.json",
                        "--checks", "all",
                        "-H", f"Authorization: Bearer {TOKEN}", "--max-examples", "10", "--seed", "7",
                        "--phases", "coverage,fuzzing,stateful"],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its state: not in the checkout
    assert p.returncode == 0, p.stdout[-4000:]
    assert "No issues found" in p.stdout and " 500 " not in s.log_text()


def test_recommendations_say_what_the_demand_wrote(server):
    """Issue 12: a move-in date "尽快" and a budget "面议" are not explained as left blank."""
    with server.client() as c:
        listings = [{"编号": "S1", "租售类型": "出租", "镇街": "周巷", "面积": "1000平", "租金": "15元/平/月",
                     "可入驻日期": "2027年1月"}]
        demands = [{"编号": "SD1", "需求类型": "求租", "需求面积": "800-1200平", "意向镇街": "周巷",
                    "入驻时间": "尽快", "租金预算": "面议"}]
        assert c.put("/v1/listings", json=listings, headers=AUTH).status_code == 200
        assert c.put("/v1/demands", json=demands, headers=AUTH).json()["accepted"] == ["SD1"]
        recs = c.get("/v1/demands/SD1/recommendations?k=100").json()["recommendations"]
        rec = next(r for r in recs if r["id"] == "S1")  # (the other tests' listings may be there too)
        e = c.get("/v1/explain?demand_id=SD1&listing_id=S1").json()
        for said in (rec["reasons_zh"], e["reasons_zh"]):
            assert "需求未填入驻时间" not in said and "需求未填预算" not in said
            assert "尽快" in said and "“面议”" in said
            assert "需求未填行业" in said  # left blank indeed: no industry column
